// tests/test_supervisor.cpp — the real bucky3 binary: command line, instance
// lock, segments, restarts, crash loop, shutdown, process titles.
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <QtTest>
#include <filesystem>

#include "tests/support/agent.h"

using namespace bucky3::test;
using namespace std::chrono_literals;

namespace {

std::string two_debug_outputs(const std::string& instance, const std::string& extra = "") {
  return "instance: " + instance + "\n" + extra +
         "modules:\n"
         "  dbg1:\n"
         "    type: debug_output\n"
         "    format: json\n"
         "  dbg2:\n"
         "    type: debug_output\n";
}

std::string shm_file(const std::string& instance, const std::string& suffix) {
  return "/dev/shm/bucky3." + instance + "." + suffix;
}

std::string comm(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/comm");
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

int exit_code(const std::optional<int>& status) {
  if (!status) return -100;
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : -WTERMSIG(*status);
}

struct Running {
  TempDir dir;
  Process agent;
  std::string instance = unique_instance();

  void start(const std::string& config_text) {
    const auto path = dir.write("bucky3.yaml", config_text);
    agent.start({bucky3_binary(), path}, dir.path());
  }
  bool wait_modules(const std::vector<std::string>& names) {
    return poll_until(
        [&] {
          for (const auto& n : names)
            if (module_pid(agent.pid(), n) < 0) return false;
          return true;
        },
        10s);
  }
};

}  // namespace

class TestSupervisor : public QObject {
  Q_OBJECT
 private slots:
  void version_and_help() {
    std::string out;
    QCOMPARE(run_command({bucky3_binary(), "--version"}, &out), 0);
    QVERIFY2(out.rfind("bucky3 ", 0) == 0, out.c_str());
    QCOMPARE(run_command({bucky3_binary(), "--help"}, &out), 0);
    QVERIFY(out.find("--check") != std::string::npos);
    QCOMPARE(run_command({bucky3_binary(), "--no-such-flag"}, &out), 2);
  }

  void check_config() {
    TempDir dir;
    const auto good = dir.write("good.yaml", two_debug_outputs("x"));
    std::string out;
    QCOMPARE(run_command({bucky3_binary(), "--check", good}, &out), 0);
    const auto bad = dir.write(
        "bad.yaml", "modules:\n  dbg:\n    type: debug_output\n    flush_interval: 0.05\n");
    QCOMPARE(run_command({bucky3_binary(), "--check", bad}, &out), 2);
    QVERIFY2(out.find(bad + ":4:") != std::string::npos, out.c_str());
    QVERIFY2(out.find("modules.dbg.flush_interval") != std::string::npos, out.c_str());
    QCOMPARE(run_command({bucky3_binary(), "--check", dir.path() + "/missing.yaml"}, &out), 2);
    // A module's own checks (statsd_server's histogram_bins) run at --check too.
    const auto bins = dir.write(
        "bins.yaml", "modules:\n  s:\n    type: statsd_server\n    histogram_bins: [{bins: {}}]\n");
    QCOMPARE(run_command({bucky3_binary(), "--check", bins}, &out), 2);
    QVERIFY2(
        out.find(bins + ":4:29: modules.s.histogram_bins[0].bins: must name at least one bin") !=
            std::string::npos,
        out.c_str());
    // The built-in default is valid.
    const auto builtin = read_file(source_dir() + "/assets/bucky3.yaml");
    const auto copy = dir.write("default.yaml", builtin);
    QCOMPARE(run_command({bucky3_binary(), "--check", copy}, &out), 0);
  }

  void starts_modules_with_titles_and_segments() {
    Running r;
    r.start(two_debug_outputs(r.instance));
    QVERIFY2(r.wait_modules({"dbg1", "dbg2"}), r.agent.err().c_str());
    const pid_t dbg1 = module_pid(r.agent.pid(), "dbg1");
    QCOMPARE(QString::fromStdString(comm(dbg1)), QString("bucky3: dbg1"));
    for (const char* suffix : {"health", "dbg1", "dbg2"}) {
      struct stat st {};
      QVERIFY2(::stat(shm_file(r.instance, suffix).c_str(), &st) == 0, suffix);
      QCOMPARE(int(st.st_mode & 0777), 0600);
    }
    // A second agent on the same instance refuses to start.
    Running second;
    second.instance = r.instance;
    second.start(two_debug_outputs(r.instance));
    QCOMPARE(exit_code(second.agent.wait(10s)), 4);
    QVERIFY(second.agent.err().find("already running") != std::string::npos);
    // The first one is untouched.
    QVERIFY(r.agent.running());
    r.agent.signal(SIGTERM);
    QCOMPARE(exit_code(r.agent.wait(10s)), 0);
  }

  void shm_group_gives_0640() {
    const group* g = ::getgrgid(::getgid());
    QVERIFY(g != nullptr);
    Running r;
    r.start(two_debug_outputs(r.instance, std::string("shm_group: ") + g->gr_name + "\n"));
    QVERIFY2(r.wait_modules({"dbg1"}), r.agent.err().c_str());
    struct stat st {};
    QVERIFY(::stat(shm_file(r.instance, "dbg1").c_str(), &st) == 0);
    QCOMPARE(int(st.st_mode & 0777), 0640);
    QCOMPARE(st.st_gid, g->gr_gid);
    r.agent.signal(SIGTERM);
    QCOMPARE(exit_code(r.agent.wait(10s)), 0);
  }

  void restarts_a_killed_module() {
    Running r;
    r.start(two_debug_outputs(r.instance));
    QVERIFY(r.wait_modules({"dbg1", "dbg2"}));
    const pid_t before = module_pid(r.agent.pid(), "dbg1");
    const pid_t other = module_pid(r.agent.pid(), "dbg2");
    ::kill(before, SIGKILL);
    QVERIFY2(poll_until(
                 [&] {
                   const pid_t now = module_pid(r.agent.pid(), "dbg1");
                   return now > 0 && now != before;
                 },
                 10s),
             r.agent.err().c_str());
    QCOMPARE(module_pid(r.agent.pid(), "dbg2"), other);
    QVERIFY(r.agent.err().find("dbg1 killed by signal") != std::string::npos);
    // SIGHUP to a module restarts that module; the supervisor ignores its own.
    const pid_t second = module_pid(r.agent.pid(), "dbg1");
    ::kill(second, SIGHUP);
    QVERIFY(poll_until(
        [&] {
          const pid_t now = module_pid(r.agent.pid(), "dbg1");
          return now > 0 && now != second;
        },
        10s));
    r.agent.signal(SIGHUP);
    std::this_thread::sleep_for(300ms);
    QVERIFY(r.agent.running());
    QCOMPARE(module_pid(r.agent.pid(), "dbg2"), other);
    r.agent.signal(SIGTERM);
    QCOMPARE(exit_code(r.agent.wait(10s)), 0);
  }

  void sigterm_stops_cleanly() {
    Running r;
    r.start(two_debug_outputs(r.instance));
    QVERIFY(r.wait_modules({"dbg1", "dbg2"}));
    const auto modules = children_of(r.agent.pid());
    r.agent.signal(SIGTERM);
    QCOMPARE(exit_code(r.agent.wait(10s)), 0);
    for (const pid_t pid : modules) QVERIFY(!process_exists(pid));
    QVERIFY(segments_of(r.instance).empty());
  }

  void sigint_stops_cleanly() {
    Running r;
    r.start(two_debug_outputs(r.instance));
    QVERIFY(r.wait_modules({"dbg1", "dbg2"}));
    r.agent.signal(SIGINT);
    QCOMPARE(exit_code(r.agent.wait(10s)), 0);
    QVERIFY(segments_of(r.instance).empty());
  }

  void kills_a_module_that_does_not_stop() {
    Running r;
    r.start(two_debug_outputs(r.instance));
    QVERIFY(r.wait_modules({"dbg1", "dbg2"}));
    const pid_t stuck = module_pid(r.agent.pid(), "dbg1");
    // A stopped process cannot act on SIGTERM: the supervisor has to SIGKILL it.
    ::kill(stuck, SIGSTOP);
    r.agent.signal(SIGTERM);
    QCOMPARE(exit_code(r.agent.wait(15s)), 1);
    QVERIFY(!process_exists(stuck));
    QVERIFY(r.agent.err().find("SIGKILL") != std::string::npos);
    QVERIFY(segments_of(r.instance).empty());
  }

  void crash_loop_exits_3() {
    Running r;
    r.start(two_debug_outputs(r.instance));
    QVERIFY(r.wait_modules({"dbg1", "dbg2"}));
    // Six starts within five minutes: the initial one and five restarts.
    pid_t last = -1;
    for (int i = 0; i < 6; ++i) {
      pid_t pid = -1;
      QVERIFY2(poll_until(
                   [&] {
                     pid = module_pid(r.agent.pid(), "dbg1");
                     return pid > 0 && pid != last;
                   },
                   15s),
               r.agent.err().c_str());
      last = pid;
      ::kill(pid, SIGKILL);
    }
    QCOMPARE(exit_code(r.agent.wait(15s)), 3);
    QVERIFY(r.agent.err().find("crash loop") != std::string::npos);
    QVERIFY(children_of(r.agent.pid()).empty());
    QVERIFY(segments_of(r.instance).empty());
  }

  void no_orphans_after_supervisor_sigkill() {
    Running r;
    r.start(two_debug_outputs(r.instance));
    QVERIFY(r.wait_modules({"dbg1", "dbg2"}));
    const auto modules = children_of(r.agent.pid());
    QCOMPARE(modules.size(), std::size_t{2});
    r.agent.signal(SIGKILL);
    r.agent.wait(5s);
    QVERIFY(poll_until(
        [&] {
          for (const pid_t pid : modules)
            if (process_exists(pid)) return false;
          return true;
        },
        5s));
    // The stale segments do not stop a new agent on the same instance.
    QVERIFY(!segments_of(r.instance).empty());
    Running again;
    again.instance = r.instance;
    again.start(two_debug_outputs(r.instance));
    QVERIFY2(again.wait_modules({"dbg1", "dbg2"}), again.agent.err().c_str());
    again.agent.signal(SIGTERM);
    QCOMPARE(exit_code(again.agent.wait(10s)), 0);
    QVERIFY(segments_of(r.instance).empty());
  }
};

QTEST_GUILESS_MAIN(TestSupervisor)
#include "test_supervisor.moc"
