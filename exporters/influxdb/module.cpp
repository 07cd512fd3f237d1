// influxdb_client glue: encoder + push machinery on the module's loop. docs/INFLUXDB.md.
#include "exporters/influxdb/module.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "common/log.h"
#include "daemon/runtime/runtime.h"
#include "exporters/influxdb/line_protocol.h"
#include "exporters/push/http_client.h"
#include "exporters/push/push.h"
#include "exporters/push/transports.h"

namespace bucky3::influxdb {

namespace {

std::string url_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

std::string base64(std::string_view text) {
  static constexpr char table[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < text.size(); i += 3) {
    const auto n = (std::uint32_t(std::uint8_t(text[i])) << 16) |
                   (std::uint32_t(std::uint8_t(text[i + 1])) << 8) | std::uint8_t(text[i + 2]);
    out += {table[n >> 18], table[(n >> 12) & 63], table[(n >> 6) & 63], table[n & 63]};
  }
  if (i + 1 == text.size()) {
    const auto n = std::uint32_t(std::uint8_t(text[i])) << 16;
    out += {table[n >> 18], table[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == text.size()) {
    const auto n = (std::uint32_t(std::uint8_t(text[i])) << 16) |
                   (std::uint32_t(std::uint8_t(text[i + 1])) << 8);
    out += {table[n >> 18], table[(n >> 12) & 63], table[(n >> 6) & 63], '='};
  }
  return out;
}

// What the encoder dropped, into the module's counters.
struct Drops {
  std::uint64_t values = 0;  // NaN / Inf values left out of a line
  std::uint64_t lines = 0;   // metrics with nothing to write
  std::uint64_t too_long = 0;
};

}  // namespace

int run_influxdb_client(runtime::ModuleRuntime& runtime) {
  const auto& module = runtime.module();
  const auto& options = module.options;
  const auto protocol = options.get_string("protocol");
  const bool udp = protocol == "udp";
  const auto udp_payload = static_cast<std::size_t>(options.get_int("udp_payload"));
  const bool v2 = options.has("token");

  push::PushOptions push_options;
  push_options.buffer_limit = module.buffer_limit;
  push::Pusher pusher(runtime.io(), push_options,
                      {[&runtime] { runtime.resume_consuming(); },
                       [&runtime](shm::Counter c, std::uint64_t n) { runtime.count(c, n); },
                       [&runtime](std::string_view reason, std::string_view text) {
                         runtime.record_error(reason, text);
                       }});

  // The request of one payload, and the setup (CREATE DATABASE) of 1.x.
  std::string target;
  std::vector<std::pair<std::string, std::string>> auth;
  if (v2) {
    target = "/api/v2/write?org=" + url_encode(options.get_string("org")) +
             "&bucket=" + url_encode(options.get_string("influx_bucket")) + "&precision=ns";
    auth.emplace_back("Authorization", "Token " + options.get_string("token"));
  } else {
    target = "/write?db=" + url_encode(options.get_string("database")) + "&precision=ns";
    if (options.has("retention_policy"))
      target += "&rp=" + url_encode(options.get_string("retention_policy"));
    if (options.has("username")) {
      const auto password =
          options.has("password") ? options.get_string("password") : std::string();
      auth.emplace_back("Authorization",
                        "Basic " + base64(options.get_string("username") + ":" + password));
    }
  }
  const bool gzip = options.get_bool("gzip");
  const auto build = [&](const push::Payload& payload) {
    push::HttpRequest request;
    request.target = target;
    request.headers = auth;
    request.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    request.body = payload.bytes;
    request.gzip = gzip;
    return request;
  };
  const push::Splitter split = [](const push::Payload& payload) {
    std::vector<push::PayloadPtr> parts;
    auto halves = split_lines_in_two(payload.bytes);
    if (halves.size() != 2) return parts;
    const auto lines_in = [](const std::string& s) {
      return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
    };
    for (auto& half : halves) {
      const auto lines = lines_in(half);
      parts.push_back(push::make_payload(std::move(half), lines));
    }
    return parts;
  };
  const auto classify = [&, split](const push::HttpResponse& response,
                                   const push::Payload& payload) {
    if (response.status == 404) {
      // 1.x: the database is missing (dropped since the start?): create it, retry.
      // 2.x: org or bucket missing: nothing we can create; retry slowly.
      auto outcome = push::Outcome::retry_after("HTTP 404: " + response.body.substr(0, 200));
      if (v2) {
        outcome.slow = true;
        outcome.log_once = true;
      } else {
        outcome.setup_again = true;
      }
      return outcome;
    }
    return push::classify_response(response, payload, split);
  };

  if (auto* out = runtime.replay_output()) {
    pusher.add_host(push::make_replay_transport(*out));
  } else {
    push::HttpClientOptions http_options;
    http_options.timeout =
        std::chrono::milliseconds(static_cast<std::int64_t>(options.get_seconds("timeout") * 1000));
    if (options.has("tls_ca_file")) http_options.ca_file = options.get_string("tls_ca_file");
    for (const auto& text : options.get_string_list("remote_hosts")) {
      auto target_host = push::split_host_port(text, udp ? 8089 : 8086);
      if (!target_host) throw std::runtime_error("remote_hosts: cannot parse " + text);
      if (udp) {
        pusher.add_host(push::make_udp_transport(runtime.io(), *target_host, "influxdb"));
        continue;
      }
      push::Url url;
      url.tls = protocol == "https";
      url.origin = *target_host;
      auto transport = std::make_unique<push::HttpTransport>(runtime.io(), url, http_options, build,
                                                             classify, "influxdb");
      if (!v2) {
        const auto database = options.get_string("database");
        std::string escaped;
        for (const char c : database) {
          if (c == '"' || c == '\\') escaped += '\\';
          escaped += c;
        }
        transport->set_setup([auth, escaped] {
          push::HttpRequest request;
          request.target = "/query?q=" + url_encode("CREATE DATABASE \"" + escaped + "\"");
          request.headers = auth;
          return std::optional<push::HttpRequest>(std::move(request));
        });
      }
      pusher.add_host(std::move(transport));
    }
  }

  Drops drops;
  std::string lines;
  const auto encode_lines = [&](auto&& for_each_metric) {
    lines.clear();
    EncodeStats stats;
    for_each_metric([&](const shm::MetricView& metric) { append_line(metric, lines, stats); });
    drops.values += stats.values_dropped;
    drops.lines += stats.lines_dropped;
    if (stats.lines_dropped) runtime.count(shm::Counter::drops_other, stats.lines_dropped);
    std::vector<push::PayloadPtr> payloads;
    if (lines.empty()) return payloads;
    if (udp) {
      std::size_t too_long = 0;
      for (auto& datagram : pack_datagrams(lines, udp_payload, too_long)) {
        payloads.push_back(push::make_payload(std::move(datagram.bytes), datagram.lines));
      }
      if (too_long) {
        drops.too_long += too_long;
        runtime.count(shm::Counter::drops_other, too_long);
        runtime.record_recent("line longer than udp_payload", lines.substr(0, 200));
      }
    } else {
      payloads.push_back(push::make_payload(lines, stats.lines));
    }
    return payloads;
  };

  runtime.consume([&](std::string_view source, const shm::DecodedBatch& batch) {
    return pusher.offer(source, [&] {
      return encode_lines([&](auto&& add) {
        for (const auto& metric : batch.metrics) add(metric);
      });
    });
  });
  runtime.on_self_report([&](std::vector<Metric>& metrics) {
    std::vector<std::byte> record;
    shm::encode_batch(metrics, record);
    shm::DecodedBatch batch;
    if (shm::decode_batch(record, batch)) return;
    pusher.send_untracked(encode_lines([&](auto&& add) {
      for (const auto& metric : batch.metrics) add(metric);
    }));
  });
  runtime.add_self_report_values([&](std::vector<Field>& values) {
    values.push_back({"values_dropped_nonfinite", static_cast<std::int64_t>(drops.values)});
    values.push_back({"lines_dropped_too_long", static_cast<std::int64_t>(drops.too_long)});
  });
  log::info(
      "influxdb_client: ", udp ? "UDP" : (v2 ? "HTTP, InfluxDB 2.x API" : "HTTP, InfluxDB 1.x API"),
      " to ", pusher.host_count(), runtime.replay_output() ? " replay output" : " host(s)");
  return runtime.run();
}

}  // namespace bucky3::influxdb
