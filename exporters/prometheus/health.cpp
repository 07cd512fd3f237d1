// The agent's own health families; see health.h.
#include "exporters/prometheus/health.h"

#include <string_view>

#include "exporters/prometheus/exposition.h"

namespace bucky3::prometheus {

namespace {

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out += name;
  out.push_back(' ');
  out += help;
  out += "\n# TYPE ";
  out += name;
  out.push_back(' ');
  out += type;
  out.push_back('\n');
}

void module_labels(std::string& out, const ModuleHealth& m) {
  out += "module=\"";
  append_label_value(out, m.name);
  out += "\",type=\"";
  append_label_value(out, m.type);
  out.push_back('"');
}

void sample(std::string& out, std::string_view name, std::string_view labels, const Number& v) {
  append_sample(out, name, labels, {}, v, std::nullopt);
}

Number count(std::uint64_t v) {
  return static_cast<std::int64_t>(v);
}

template <class Get>
void module_family(std::string& out, std::span<const ModuleHealth> modules, std::string_view name,
                   std::string_view type, std::string_view help, Get get) {
  if (modules.empty()) return;
  header(out, name, type, help);
  std::string labels;
  for (const auto& m : modules) {
    labels.clear();
    module_labels(labels, m);
    sample(out, name, labels, get(m));
  }
}

template <class Get>
void ring_family(std::string& out, std::span<const RingHealth> rings, std::string_view name,
                 std::string_view type, std::string_view help, Get get) {
  if (rings.empty()) return;
  header(out, name, type, help);
  std::string labels;
  for (const auto& r : rings) {
    labels = "source=\"";
    append_label_value(labels, r.source);
    labels += "\",destination=\"";
    append_label_value(labels, r.destination);
    labels.push_back('"');
    sample(out, name, labels, get(r));
  }
}

}  // namespace

void render_agent_health(std::span<const ModuleHealth> modules, std::span<const RingHealth> rings,
                         const ExporterHealth& exporter, std::string& out) {
  using M = const ModuleHealth&;
  module_family(out, modules, "bucky3_module_up", "gauge", "1 when the module process is running.",
                [](M m) { return count(m.up ? 1 : 0); });
  module_family(out, modules, "bucky3_module_restarts_total", "counter",
                "Restarts of the module by the supervisor.", [](M m) { return count(m.restarts); });
  module_family(out, modules, "bucky3_module_heartbeat_age_seconds", "gauge",
                "Seconds since the module's last heartbeat.",
                [](M m) { return Number{m.heartbeat_age_seconds}; });
  module_family(out, modules, "bucky3_module_metrics_in_total", "counter",
                "Metrics received or collected by the module.",
                [](M m) { return count(m.metrics_in); });
  module_family(out, modules, "bucky3_module_metrics_out_total", "counter",
                "Metrics sent on by the module.", [](M m) { return count(m.metrics_out); });
  if (!modules.empty()) {
    header(out, "bucky3_module_drops_total", "counter", "Metrics or batches dropped, by cause.");
    std::string labels;
    for (const auto& m : modules) {
      const std::pair<std::string_view, std::uint64_t> causes[] = {
          {"kernel", m.drops_kernel},
          {"series_cap", m.drops_series_cap},
          {"ring_full", m.drops_ring_full},
          {"buffer", m.drops_buffer}};
      for (const auto& [cause, value] : causes) {
        labels.clear();
        module_labels(labels, m);
        labels += ",cause=\"";
        labels += cause;
        labels.push_back('"');
        sample(out, "bucky3_module_drops_total", labels, count(value));
      }
    }
  }
  module_family(out, modules, "bucky3_module_errors_total", "counter",
                "Errors counted by the module (invalid input, failed sends).",
                [](M m) { return count(m.errors); });
  module_family(out, modules, "bucky3_module_cpu_seconds_total", "counter",
                "User and system CPU time of the module process.",
                [](M m) { return Number{m.cpu_seconds}; });
  module_family(out, modules, "bucky3_module_resident_memory_bytes", "gauge",
                "Resident memory of the module process.",
                [](M m) { return count(m.resident_memory_bytes); });

  using R = const RingHealth&;
  ring_family(out, rings, "bucky3_ring_used_bytes", "gauge", "Bytes waiting in the ring.",
              [](R r) { return count(r.used_bytes); });
  ring_family(out, rings, "bucky3_ring_capacity_bytes", "gauge", "Size of the ring.",
              [](R r) { return count(r.capacity_bytes); });
  ring_family(out, rings, "bucky3_ring_dropped_batches_total", "counter",
              "Batches the producer dropped because the ring was full.",
              [](R r) { return count(r.dropped_batches); });

  header(out, "bucky3_exporter_scrapes_total", "counter", "Scrapes of the metrics page served.");
  sample(out, "bucky3_exporter_scrapes_total", {}, count(exporter.scrapes));
  header(out, "bucky3_exporter_sent_bytes_total", "counter", "Bytes sent to HTTP clients.");
  sample(out, "bucky3_exporter_sent_bytes_total", {}, count(exporter.sent_bytes));
  header(out, "bucky3_exporter_series", "gauge", "Series held by the exporter.");
  sample(out, "bucky3_exporter_series", {}, count(exporter.series));
  header(out, "bucky3_exporter_series_dropped_total", "counter",
         "New series refused because max_series was reached.");
  sample(out, "bucky3_exporter_series_dropped_total", {}, count(exporter.series_dropped));
  header(out, "bucky3_exporter_series_evicted_total", "counter",
         "Series removed after values_timeout without a refresh.");
  sample(out, "bucky3_exporter_series_evicted_total", {}, count(exporter.series_evicted));
  header(out, "bucky3_exporter_page_bytes", "gauge", "Size of the uncompressed series text.");
  sample(out, "bucky3_exporter_page_bytes", {}, count(exporter.page_bytes));
}

}  // namespace bucky3::prometheus
