// bench/docker_collect.cpp — CPU time of one Docker collection (listing, an
// inspect per container, cgroup v2 files, net/dev) for 100 and 500 containers
// against the fake engine, beside the per-container stats-call way (listing +
// GET /containers/<id>/stats per container, parsed), on the same fake in the
// same run. CPU is the collecting thread's own (CLOCK_THREAD_CPUTIME_ID): the
// fake engine answers from threads of its own, so its work is not counted.
//
//   bench_docker_collect [collections=20]
#include <time.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "collectors/docker/collector.h"
#include "collectors/docker/engine_client.h"
#include "collectors/docker/engine_json.h"
#include "tests/support/fake_docker_engine.h"

using namespace bucky3;
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

double seconds(clockid_t clock) {
  timespec now{};
  ::clock_gettime(clock, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string id_of(int i) {
  char buffer[65];
  std::snprintf(buffer, sizeof buffer, "%016x%016x%016x%016x", 0xc0ffee00 + i, i * 7919, i * 104729,
                i);
  return buffer;
}

// An inspect answer of the size real ones have (~5 KB), after the Engine API reference.
std::string inspect_json(int i) {
  const auto id = id_of(i);
  std::string env =
      "\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\",\"ENVIRONMENT=prod\"";
  for (int e = 0; e < 12; ++e)
    env += ",\"APP_SETTING_" + std::to_string(e) + "=some-value-of-typical-length\"";
  return R"({"Id":")" + id +
         R"(","Created":"2026-12-01T19:59:59.5Z","Path":"/docker-entrypoint.sh","Args":["nginx","-g","daemon off;"],)" +
         R"("State":{"Status":"running","Running":true,"Paused":false,"Restarting":false,"OOMKilled":false,"Dead":false,"Pid":)" +
         std::to_string(10000 + i) +
         R"(,"ExitCode":0,"Error":"","StartedAt":"2026-12-01T20:00:00.123456789Z","FinishedAt":"0001-01-01T00:00:00Z",)" +
         R"("Health":{"Status":"healthy","FailingStreak":0,"Log":[{"Start":"2026-12-01T21:00:00Z","End":"2026-12-01T21:00:01Z","ExitCode":0,"Output":"ok\n"}]}},)" +
         R"("Image":"sha256:5e2b1b4c6f2e4e1d0a5b9f3e1c7d2a4b6e8f0a1c3e5d7b9f1a3c5e7d9b1f3a5c","ResolvConfPath":"/var/lib/docker/containers/)" +
         id + R"(/resolv.conf","HostnamePath":"/var/lib/docker/containers/)" + id +
         R"(/hostname","LogPath":"/var/lib/docker/containers/)" + id + "/" + id +
         R"(-json.log","Name":"/app-)" + std::to_string(i) +
         R"(","RestartCount":0,"Driver":"overlay2","Platform":"linux","MountLabel":"","ProcessLabel":"","AppArmorProfile":"docker-default","ExecIDs":null,)" +
         R"("HostConfig":{"Binds":["/srv/data:/data:rw"],"ContainerIDFile":"","LogConfig":{"Type":"json-file","Config":{"max-size":"10m"}},"NetworkMode":"bridge",)" +
         R"("PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}]},"RestartPolicy":{"Name":"unless-stopped","MaximumRetryCount":0},"AutoRemove":false,)" +
         R"("CgroupnsMode":"private","Dns":[],"IpcMode":"private","Privileged":false,"ShmSize":67108864,"Runtime":"runc","CpuShares":0,"Memory":536870912,)" +
         R"("NanoCpus":1000000000,"CgroupParent":"","BlkioWeight":0,"CpuPeriod":0,"CpuQuota":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"MemoryReservation":0,)" +
         R"("MemorySwap":1073741824,"OomKillDisable":null,"PidsLimit":null,"Ulimits":[],"MaskedPaths":["/proc/asound","/proc/acpi","/proc/kcore","/proc/keys",)" +
         R"("/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/proc/scsi","/sys/firmware","/sys/devices/virtual/powercap"],)" +
         R"("ReadonlyPaths":["/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"]},)" +
         R"("GraphDriver":{"Data":{"LowerDir":"/var/lib/docker/overlay2/)" + id +
         R"(-init/diff","MergedDir":"/var/lib/docker/overlay2/)" + id +
         R"(/merged","UpperDir":"/var/lib/docker/overlay2/)" + id +
         R"(/diff","WorkDir":"/var/lib/docker/overlay2/)" + id + R"(/work"},"Name":"overlay2"},)" +
         R"("Mounts":[{"Type":"bind","Source":"/srv/data","Destination":"/data","Mode":"rw","RW":true,"Propagation":"rprivate"}],)" +
         R"("Config":{"Hostname":")" + id.substr(0, 12) +
         R"(","Domainname":"","User":"","AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"ExposedPorts":{"80/tcp":{}},"Tty":false,)" +
         R"("OpenStdin":false,"StdinOnce":false,"Env":[)" + env +
         R"(],"Cmd":["nginx","-g","daemon off;"],"Image":"nginx:1.27","Volumes":null,"WorkingDir":"","Entrypoint":["/docker-entrypoint.sh"],)" +
         R"("OnBuild":null,"Labels":{"com.docker.compose.project":"shop","com.docker.compose.service":"app-)" +
         std::to_string(i) +
         R"(","com.docker.compose.version":"2.29.7","maintainer":"NGINX Docker Maintainers"},"StopSignal":"SIGQUIT"},)" +
         R"("NetworkSettings":{"SandboxID":"5c1e9d3a","SandboxKey":"/var/run/docker/netns/5c1e9d3a","Ports":{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}]},)" +
         R"("Networks":{"bridge":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"02:42:ac:11:00:02","NetworkID":"f0e1d2c3",)" +
         R"("EndpointID":"a1b2c3d4","Gateway":"172.17.0.1","IPAddress":"172.17.0.2","IPPrefixLen":16,"DNSNames":null}}}})";
}

std::string summary_json(int i) {
  return R"({"Id":")" + id_of(i) + R"(","Names":["/app-)" + std::to_string(i) +
         R"("],"Image":"nginx:1.27","ImageID":"sha256:5e2b","Command":"/docker-entrypoint.sh nginx","Created":1764619199,)" +
         R"("Ports":[{"PrivatePort":80,"Type":"tcp"}],"Labels":{"com.docker.compose.project":"shop"},"State":"running",)" +
         R"j("Status":"Up 2 hours (healthy)","HostConfig":{"NetworkMode":"bridge"},"NetworkSettings":{"Networks":{}},"Mounts":[]})j";
}

// GET /containers/<id>/stats?stream=false, after the Engine API reference.
std::string stats_json(int i) {
  std::string percpu;
  for (int c = 0; c < 8; ++c)
    percpu += std::string(c ? "," : "") + std::to_string(1000000 * (c + 1) + i);
  const auto cpu =
      R"({"cpu_usage":{"total_usage":)" + std::to_string(123456789 + i) + R"(,"percpu_usage":[)" +
      percpu +
      R"(],"usage_in_kernelmode":20000000,"usage_in_usermode":100000000},"system_cpu_usage":9876543210000,"online_cpus":8,)" +
      R"("throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}})";
  return std::string(
             R"({"read":"2026-12-01T21:00:00.000000000Z","preread":"2026-12-01T20:59:59.000000000Z","pids_stats":{"current":5,"limit":18446744073709551615},)") +
         R"("blkio_stats":{"io_service_bytes_recursive":[{"major":8,"minor":0,"op":"read","value":4096000},{"major":8,"minor":0,"op":"write","value":8192000}],)" +
         R"("io_serviced_recursive":null,"io_queue_recursive":null,"io_service_time_recursive":null,"io_wait_time_recursive":null,"io_merged_recursive":null,)" +
         R"("io_time_recursive":null,"sectors_recursive":null},"num_procs":0,"storage_stats":{},"cpu_stats":)" +
         cpu + R"(,"precpu_stats":)" + cpu +
         R"(,"memory_stats":{"usage":52428800,"stats":{"active_anon":4096,"active_file":9437184,"anon":31457280,"anon_thp":0,"file":19922944,)" +
         R"("file_dirty":0,"file_mapped":4096000,"file_writeback":0,"inactive_anon":31453184,"inactive_file":10485760,"kernel_stack":65536,)" +
         R"("pgactivate":0,"pgdeactivate":0,"pgfault":12345,"pglazyfree":0,"pglazyfreed":0,"pgmajfault":12,"pgrefill":0,"pgscan":0,"pgsteal":0,)" +
         R"("shmem":0,"slab":1048576,"slab_reclaimable":524288,"slab_unreclaimable":524288,"sock":0,"thp_collapse_alloc":0,"thp_fault_alloc":0,)" +
         R"("unevictable":0,"workingset_activate":0,"workingset_nodereclaim":0,"workingset_refault":0},"limit":536870912},)" +
         R"("name":"/app-)" + std::to_string(i) + R"(","id":")" + id_of(i) +
         R"(","networks":{"eth0":{"rx_bytes":987654,"rx_packets":4321,"rx_errors":0,"rx_dropped":0,"tx_bytes":123456,"tx_packets":1234,"tx_errors":0,"tx_dropped":0}}})";
}

// A host with `count` running containers: engine answers and a cgroup v2 tree.
struct Host {
  fs::path root;
  test::EngineData data;

  Host(const fs::path& where, int count) : root(where) {
    write(root / "proc/meminfo", "MemTotal:       24683620 kB\nMemFree:        23602252 kB\n");
    write(root / "proc/stat",
          "cpu  1 0 1 1 0 0 0 0 0 0\ncpu0 1 0 1 1 0 0 0 0 0 0\ncpu1 1 0 1 1 0 0 0 0 0 0\n");
    const auto cgroup = root / "sys/fs/cgroup";
    write(cgroup / "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
    std::string list = "[";
    for (int i = 0; i < count; ++i) {
      const auto id = id_of(i);
      const auto pid = std::to_string(10000 + i);
      const auto folder = cgroup / ("system.slice/docker-" + id + ".scope");
      write(folder / "cpu.stat",
            "usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\ncore_sched.force_idle_usec "
            "0\nnr_periods 0\n"
            "nr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n");
      write(folder / "memory.current", "52428800\n");
      std::string stat;
      for (const char* key : {"anon",
                              "file",
                              "kernel",
                              "kernel_stack",
                              "pagetables",
                              "sec_pagetables",
                              "percpu",
                              "sock",
                              "vmalloc",
                              "shmem",
                              "zswap",
                              "zswapped",
                              "file_mapped",
                              "file_dirty",
                              "file_writeback",
                              "swapcached",
                              "anon_thp",
                              "file_thp",
                              "shmem_thp",
                              "inactive_anon",
                              "active_anon",
                              "inactive_file",
                              "active_file",
                              "unevictable",
                              "slab_reclaimable",
                              "slab_unreclaimable",
                              "slab",
                              "workingset_refault_anon",
                              "workingset_refault_file",
                              "pgscan",
                              "pgsteal",
                              "pgfault",
                              "pgmajfault",
                              "pgrefill",
                              "pgactivate",
                              "pgdeactivate",
                              "thp_fault_alloc"}) {
        stat += std::string(key) + " 1048576\n";
      }
      write(folder / "memory.stat", stat);
      write(folder / "memory.swap.current", "0\n");
      write(folder / "memory.peak", "73400320\n");
      write(folder / "memory.events",
            "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
      write(folder / "io.stat",
            "8:0 rbytes=4096000 wbytes=8192000 rios=1000 wios=2000 dbytes=0 dios=0\n");
      write(folder / "pids.current", "5\n");
      write(folder / "pids.max", "max\n");
      for (const char* resource : {"cpu", "memory", "io"}) {
        write(folder / (std::string(resource) + ".pressure"),
              "some avg10=0.00 avg60=0.00 avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 "
              "avg300=0.00 total=0\n");
      }
      write(root / "proc" / pid / "cgroup", "0::/system.slice/docker-" + id + ".scope\n");
      write(root / "proc" / pid / "net/dev",
            "Inter-|   Receive                                                |  Transmit\n"
            " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
            "errs drop fifo colls "
            "carrier compressed\n"
            "    lo:    1234      12    0    0    0     0          0         0     1234      12    "
            "0    0    0     0 "
            "      0          0\n"
            "  eth0:  987654    4321    0    0    0     0          0         0   123456    1234    "
            "0    0    0     0 "
            "      0          0\n");
      list += (i ? "," : "") + summary_json(i);
      data.inspect[id] = inspect_json(i);
      data.stats[id] = stats_json(i);
    }
    data.containers = list + "]";
    data.version =
        R"({"Version":"29.1.2","ApiVersion":"1.52","MinAPIVersion":"1.44","Os":"linux","Arch":"amd64"})";
  }
};

// The stats-call way: what a collector built on GET /containers/<id>/stats
// does per container (the API's own numbers, one request each), parsed into
// the same kind of metrics. Labels, env and limits would need an inspect more.
asio::awaitable<void> stats_collection(docker::EngineClient& client, std::vector<Metric>& out) {
  const auto listing = co_await client.get("/v1.52/containers/json?all=true");
  const auto parsed = docker::parse_container_list(listing.body);
  for (const auto& container : std::get<std::vector<docker::ContainerSummary>>(parsed)) {
    const auto answer = co_await client.get("/v1.52/containers/" + container.id +
                                            "/stats?stream=false&one-shot=true");
    boost::system::error_code ec;
    const auto json = boost::json::parse(answer.body, ec);
    if (ec || !json.is_object()) continue;
    const auto& stats = json.get_object();
    Metric cpu;
    cpu.bucket = "docker_cpu";
    cpu.metadata = {{"docker_id", container.id.substr(0, 12)}, {"docker_name", container.name}};
    const auto* usage =
        stats.at("cpu_stats").as_object().at("cpu_usage").as_object().if_contains("total_usage");
    cpu.values.push_back({"usage", usage ? usage->to_number<std::int64_t>() : 0});
    out.push_back(std::move(cpu));
    Metric memory;
    memory.bucket = "docker_memory";
    memory.metadata = out.back().metadata;
    memory.values.push_back(
        {"usage_bytes",
         stats.at("memory_stats").as_object().at("usage").to_number<std::int64_t>()});
    out.push_back(std::move(memory));
    for (const auto& [name, counters] : stats.at("networks").as_object()) {
      Metric interface;
      interface.bucket = "docker_interface";
      interface.metadata = out.back().metadata;
      interface.set_tag("name", name);
      for (const auto& [field, value] : counters.as_object()) {
        interface.values.push_back({std::string(field), value.to_number<std::int64_t>()});
      }
      out.push_back(std::move(interface));
    }
  }
}

struct Result {
  double cpu_ms = 0, wall_ms = 0;
  std::size_t metrics = 0;
  double requests = 0;
};

// Per collection: CPU of this thread, wall time, metrics and requests.
Result measure(int collections, asio::io_context& io,
               const std::function<asio::awaitable<void>(std::vector<Metric>&)>& run,
               const std::function<std::uint64_t()>& requests) {
  Result result;
  const auto once = [&] {
    std::vector<Metric> out;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { co_await run(out); }, asio::detached);
    io.restart();
    io.run();
    return out.size();
  };
  once();  // connects, negotiates, fills caches and page cache
  const auto requests_before = requests();
  const double cpu = seconds(CLOCK_THREAD_CPUTIME_ID), wall = seconds(CLOCK_MONOTONIC);
  for (int i = 0; i < collections; ++i) result.metrics = once();
  result.cpu_ms = (seconds(CLOCK_THREAD_CPUTIME_ID) - cpu) * 1e3 / collections;
  result.wall_ms = (seconds(CLOCK_MONOTONIC) - wall) * 1e3 / collections;
  result.requests = static_cast<double>(requests() - requests_before) / collections;
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  const int collections = argc > 1 ? std::atoi(argv[1]) : 20;
  char pattern[] = "/tmp/bench_docker_XXXXXX";
  const fs::path scratch = ::mkdtemp(pattern);
  std::printf(
      "docker_stats, one collection, cgroup v2, fake engine on a Unix socket (%d collections "
      "each)\n",
      collections);
  std::printf("%-10s %-34s %10s %10s %9s %9s\n", "containers", "way", "CPU ms", "wall ms",
              "requests", "metrics");
  for (const int count : {100, 500}) {
    const Host host(scratch / std::to_string(count), count);
    test::FakeDockerEngine engine((scratch / "docker.sock").string(), host.data);
    asio::io_context io;
    docker::DockerOptions options;
    options.docker_socket = engine.socket_path();
    options.procfs_root = (host.root / "proc").string();
    options.sysfs_root = (host.root / "sys").string();
    options.env_mapping = {{"ENVIRONMENT", "env"}};
    docker::DockerCollector collector(io.get_executor(), options);
    const auto ours = measure(
        collections, io, [&](std::vector<Metric>& out) { return collector.collect(out); },
        [&] { return collector.requests(); });
    docker::EngineClient client(io.get_executor(), engine.socket_path(), std::chrono::seconds(5));
    const auto stats = measure(
        collections, io, [&](std::vector<Metric>& out) { return stats_collection(client, out); },
        [&] { return client.requests(); });
    std::printf("%-10d %-34s %10.2f %10.2f %9.0f %9zu\n", count, "docker_stats (inspect + cgroups)",
                ours.cpu_ms, ours.wall_ms, ours.requests, ours.metrics);
    std::printf("%-10d %-34s %10.2f %10.2f %9.0f %9zu\n", count, "stats call per container",
                stats.cpu_ms, stats.wall_ms, stats.requests, stats.metrics);
  }
  fs::remove_all(scratch);
  return 0;
}
