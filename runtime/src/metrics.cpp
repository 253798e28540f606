#include "metrics.hpp"

#include "log.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <functional>
#include <set>

namespace stream_smarts::runtime {

std::string listen_address::text() const {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

std::optional<listen_address> parse_listen_address(std::string_view text, std::string& why) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    why = "must be HOST:PORT, e.g. \"127.0.0.1:9464\"";
    return std::nullopt;
  }
  listen_address a;
  std::string_view host = text.substr(0, colon), port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    in6_addr v6{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), &v6) != 1) {
      // Appended rather than "'" + std::string(host) + ...: GCC 12 warns on that (-Wrestrict, a false positive).
      why.assign("'").append(host).append("' in brackets is not an IPv6 address");
      return std::nullopt;
    }
  } else {
    in_addr v4{};
    if (host != "localhost" && inet_pton(AF_INET, std::string(host).c_str(), &v4) != 1) {
      why = "host must be an IP address (\"127.0.0.1\", \"0.0.0.0\", \"[::1]\") or localhost, not '" +
            std::string(host) + "'";
      return std::nullopt;
    }
  }
  a.host = std::string(host);
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || a.port < 0 || a.port > 65535) {
    why = "port must be a number from 0 to 65535 (0: any free port), not '" + std::string(port) + "'";
    return std::nullopt;
  }
  return a;
}

// ---------------------------------------------------------------- figure_book

figure_family& figure_book::family(std::string_view name, std::string_view help, bool counter) {
  auto it = figures_.find(name);
  if (it == figures_.end())
    it = figures_.emplace(std::string(name), figure_family{counter, std::string(help), {}}).first;
  return it->second;
}

void figure_book::count(std::string_view name, std::string_view help, double increment, const metric_labels& labels) {
  if (!enabled_) return;
  figure_family& f = family(name, help, true);
  if (!f.counter || !(increment >= 0)) return;  // a gauge's name, or a counter going down: not a counter's figure
  f.series[labels] += increment;
  ++version_;
}

void figure_book::gauge(std::string_view name, std::string_view help, double value, const metric_labels& labels) {
  if (!enabled_) return;
  figure_family& f = family(name, help, false);
  if (f.counter) return;
  if (std::isnan(value)) f.series.erase(labels);
  else f.series[labels] = value;
  ++version_;
}

void figure_book::forget_gauges() {
  bool changed = false;
  for (auto& [name, f] : figures_)
    if (!f.counter && !f.series.empty()) {
      f.series.clear();
      changed = true;
    }
  version_ += changed;
}

const char* describe(stage_health health) {
  switch (health) {
    case stage_health::healthy: return "healthy";
    case stage_health::restarting: return "failed, restarting";
    case stage_health::failed: return "failed too often, stopping the pipeline";
    case stage_health::retrying: return "delivery failed, retrying";
    case stage_health::delivery_failed: return "delivery failed, given up";
    case stage_health::troubled: return "cannot work now";
  }
  return "?";
}

// ---------------------------------------------------------------- Prometheus text

namespace {

/// [a-zA-Z_:][a-zA-Z0-9_:]*, anything else as '_'.
std::string metric_name(std::string_view name, bool label) {
  std::string out;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    (c == ':' && !label);
    out += ok ? c : '_';
  }
  if (out.empty() || (out[0] >= '0' && out[0] <= '9')) out.insert(out.begin(), '_');
  return out;
}

std::string label_value(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string help_text(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char text[32];
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) std::snprintf(text, sizeof text, "%.0f", v);
  else return std::string(text, std::to_chars(text, text + sizeof text, v).ptr);  // the shortest that reads back: 4.2
  return text;
}

class writer {
public:
  /// Starts a family: its HELP and TYPE lines.
  void family(const std::string& name, std::string_view type, std::string_view help) {
    out_ += "# HELP " + name + " " + help_text(help) + "\n# TYPE " + name + " " + std::string(type) + "\n";
    name_ = name;
  }
  void sample(const std::string& labels, const std::string& value) {
    out_ += name_ + "{" + labels + "} " + value + "\n";
  }
  std::string take() { return std::move(out_); }

private:
  std::string out_, name_;
};

std::string stage_label(const stage_metrics& s) { return "stage=\"" + label_value(s.stage) + "\""; }

using selector = std::function<bool(const stage_metrics&)>;
bool is_source(const stage_metrics& s) { return s.kind == plugin_kind::source; }
bool is_scorer(const stage_metrics& s) { return s.kind == plugin_kind::scorer; }
bool is_sink(const stage_metrics& s) { return s.kind == plugin_kind::sink; }
bool any_stage(const stage_metrics&) { return true; }

/// The runtime's own families: name, type, help, which stages, value.
struct own_family {
  const char* name;
  const char* type;
  const char* help;
  selector applies;
  std::function<double(const stage_metrics&)> value;
};

const std::vector<own_family>& own_families() {
  static const std::vector<own_family> families{
      {"stream_smarts_readings_total", "counter",
       "Readings a source handed on to its scorers, not counting those read again to warm up.", is_source,
       [](const stage_metrics& s) { return static_cast<double>(s.readings); }},
      {"stream_smarts_warm_up_readings_total", "counter",
       "Readings a source read again only to rebuild what the stages keep of their meters (kafka_source's "
       "warm_up): scored, never delivered.", is_source,
       [](const stage_metrics& s) { return static_cast<double>(s.warm_ups); }},
      {"stream_smarts_scored_total", "counter", "Readings a scorer scored, those read again to warm up included.", is_scorer,
       [](const stage_metrics& s) { return static_cast<double>(s.scored); }},
      {"stream_smarts_deliveries_total", "counter",
       "Alerts (with receive = \"all\", scored readings) a sink delivered: written and flushed.", is_sink,
       [](const stage_metrics& s) { return static_cast<double>(s.delivered); }},
      {"stream_smarts_delivery_retries_total", "counter",
       "Failed deliveries of a sink that it tries again after retry_backoff.", is_sink,
       [](const stage_metrics& s) { return static_cast<double>(s.retries); }},
      {"stream_smarts_delivery_failures_total", "counter",
       "Alerts a sink gave up delivering: the failure was not worth retrying, or max_retries were spent.", is_sink,
       [](const stage_metrics& s) { return static_cast<double>(s.given_up); }},
      {"stream_smarts_restarts_total", "counter",
       "Fresh plugin instances a stage was given after its plugin threw.", any_stage,
       [](const stage_metrics& s) { return static_cast<double>(s.restarts); }},
      {"stream_smarts_in_flight_batches", "gauge",
       "Batches in the pipeline: for a source, read and not yet handled by every sink; for a scorer, waiting to "
       "be scored; for a sink, received and waiting for room in its outbox.",
       any_stage, [](const stage_metrics& s) { return static_cast<double>(s.in_flight_batches); }},
      {"stream_smarts_outbox_alerts", "gauge", "Alerts in a sink's outbox, waiting to be delivered.", is_sink,
       [](const stage_metrics& s) { return static_cast<double>(s.outbox); }},
      {"stream_smarts_stage_healthy", "gauge",
       "1 if the stage is healthy, 0 if it is failing (as /healthz says: restarting, given up, a sink whose "
       "latest delivery failed, or a stage that cannot work now, such as a Kafka source no broker answers).",
       any_stage, [](const stage_metrics& s) { return s.health == stage_health::healthy ? 1.0 : 0.0; }},
  };
  return families;
}

/// The runtime's names, which plugin figures must not take.
bool taken(const std::string& name) {
  static const std::set<std::string> names = [] {
    std::set<std::string> n{"stream_smarts_alerts_total", "stream_smarts_alerts_suppressed_total",
                            "stream_smarts_info"};
    for (const auto& f : own_families()) n.insert(f.name);
    return n;
  }();
  return names.count(name) > 0;
}

void render_plugin_figures(writer& w, const pipeline_metrics& m) {
  struct merged {
    const char* type = nullptr;
    std::string help;
    std::vector<std::pair<std::string, double>> samples;  // labels, value
  };
  std::map<std::string, merged> families;
  for (const auto& s : m.stages)
    for (const auto& [raw, f] : s.figures) {
      std::string name = "stream_smarts_" + metric_name(raw, false) + (f.counter ? "_total" : "");
      if (taken(name)) name = "stream_smarts_plugin_" + metric_name(raw, false) + (f.counter ? "_total" : "");
      auto& out = families[name];
      if (out.type == nullptr) out = {f.counter ? "counter" : "gauge", f.help, {}};
      if (out.type != std::string_view(f.counter ? "counter" : "gauge")) continue;  // the same name, another type
      for (const auto& [labels, value] : f.series) {
        std::string text = stage_label(s);
        for (const auto& [k, v] : labels) {
          const std::string key = metric_name(k, true);
          text += "," + (key == "stage" ? "plugin_stage" : key) + "=\"" + label_value(without_secrets(v)) + "\"";
        }
        out.samples.emplace_back(std::move(text), value);
      }
    }
  for (const auto& [name, f] : families) {
    w.family(name, f.type, f.help);
    for (const auto& [labels, value] : f.samples) w.sample(labels, number(value));
  }
}

} // namespace

std::string render_prometheus(const pipeline_metrics& m) {
  writer w;
  w.family("stream_smarts_info", "gauge", "The pipeline this process runs, and the stream-smarts version.");
  w.sample("pipeline=\"" + label_value(m.pipeline) + "\",version=\"" STREAM_SMARTS_VERSION "\"", "1");
  for (const auto& f : own_families()) {
    w.family(f.name, f.type, f.help);
    for (const auto& s : m.stages)
      if (f.applies(s)) w.sample(stage_label(s), number(f.value(s)));
  }
  w.family("stream_smarts_alerts_total", "counter",
           "Notifications a sink delivered, by kind (those given up are delivery failures); with receive = "
           "\"unusual\" every reading above the threshold is one raised.");
  for (const auto& s : m.stages)
    if (is_sink(s))
      for (std::size_t k = 0; k < counted_alert_kinds.size(); ++k)
        w.sample(stage_label(s) + ",kind=\"" + to_string(counted_alert_kinds[k]) + "\"",
                 number(static_cast<double>(s.alerts[k])));
  w.family("stream_smarts_alerts_suppressed_total", "counter",
           "Readings above the threshold (and back-to-normal notices) the alert policy did not notify, by reason: "
           "sustain not reached yet, cooldown, quiet hours, or already raised with no reminder due.");
  for (const auto& s : m.stages)
    if (is_sink(s))
      for (std::size_t r = 0; r < suppression_names.size(); ++r)
        w.sample(stage_label(s) + ",reason=\"" + suppression_names[r] + "\"",
                 number(static_cast<double>(s.suppressed[r])));
  render_plugin_figures(w, m);
  return w.take();
}

std::string failing_stages(const pipeline_metrics& m) {
  std::string out;
  for (const auto& s : m.stages)
    if (s.health == stage_health::troubled)  // the plugin's words: on their line, without a secret
      out += s.stage + ": " + describe(s.health) + ": " + text_escape(without_secrets(s.trouble)) + "\n";
    else if (s.health != stage_health::healthy)
      out += s.stage + ": " + describe(s.health) + "\n";
  return out;
}

} // namespace stream_smarts::runtime
