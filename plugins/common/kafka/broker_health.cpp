#include "broker_health.hpp"

#include <nlohmann/json.hpp>

#include <set>
#include <utility>

namespace stream_smarts::kafka {

namespace {

constexpr const char* brokers_up_help =
    "Kafka brokers the stage's client is connected to, from librdkafka's statistics (every "
    "statistics.interval.ms); 0 while it connects, and when none answers (then /healthz says so).";

/// A string member of a statistics object; "" if absent or not a string.
std::string text(const nlohmann::json& object, const char* key) {
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

} // namespace

std::optional<int> brokers_up(std::string_view statistics) {
  const auto stats = nlohmann::json::parse(statistics, nullptr, false);
  if (!stats.is_object() || !stats.contains("brokers") || !stats["brokers"].is_object()) return std::nullopt;
  // A bootstrap address (node id -1) is the same broker as one learnt from
  // metadata under the name it advertises: count those only if no learnt one is up.
  std::set<std::int64_t> nodes;
  int bootstrap = 0;
  for (const auto& broker : stats["brokers"]) {
    if (!broker.is_object()) return std::nullopt;
    if (text(broker, "state") != "UP" || text(broker, "source") == "logical") continue;
    const auto node = broker.find("nodeid");
    if (node != broker.end() && node->is_number_integer() && node->get<std::int64_t>() >= 0)
      nodes.insert(node->get<std::int64_t>());
    else
      ++bootstrap;
  }
  return nodes.empty() ? bootstrap : static_cast<int>(nodes.size());
}

void broker_health::watch(client_events& events, const connection& settings) {
  if (settings.property("statistics.interval.ms") == "0") return;
  events.error = [this](rd_kafka_resp_err_t err, const char* reason) { error(err, reason); };
  events.statistics = [this](std::string_view json) { statistics(json); };
}

void broker_health::error(rd_kafka_resp_err_t err, const char* reason) {
  if (err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__RESOLVE ||
      err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL) {
    latest_failure_ = reason;
    // "Disconnected (after 600000ms in state UP)": a connection that worked, closed.
    connect_failed_ = std::string_view(reason).find("in state UP") == std::string_view::npos;
  } else if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    all_down_ = true;
  } else {
    return;
  }
  say();
}

void broker_health::statistics(std::string_view json) {
  const auto up = brokers_up(json);
  if (!up) {
    context_.log().debug("Kafka: statistics not understood, left out of brokers_up and /healthz");
    return;
  }
  context_.gauge("brokers_up", brokers_up_help, *up);
  if (*up == 0) return;
  all_down_ = connect_failed_ = false;
  latest_failure_.clear();
  if (!said_down_) return;
  say();
  context_.log().info("Kafka: a broker answers again (" + std::to_string(*up) + " connected)");
}

void broker_health::waiting(std::string what) {
  waiting_ = std::move(what);
  say();
}

void broker_health::say() {
  const bool down = all_down_ && connect_failed_;
  const std::string brokers = down ? "no Kafka broker answers (latest: " + latest_failure_ + ")" : "";
  if (down && !said_down_) context_.log().warning(brokers);
  said_down_ = down;
  context_.trouble(waiting_.empty() || brokers.empty() ? waiting_ + brokers : waiting_ + ": " + brokers);
}

} // namespace stream_smarts::kafka
