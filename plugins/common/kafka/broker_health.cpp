#include "broker_health.hpp"

#include <nlohmann/json.hpp>

namespace stream_smarts::kafka {

namespace {

constexpr const char* brokers_up_help =
    "Kafka brokers the stage's client is connected to, from librdkafka's statistics (every "
    "statistics.interval.ms); 0: none answers, and /healthz says so.";

} // namespace

std::optional<int> brokers_up(std::string_view statistics) {
  const auto stats = nlohmann::json::parse(statistics, nullptr, false);
  if (!stats.is_object() || !stats.contains("brokers") || !stats["brokers"].is_object()) return std::nullopt;
  int up = 0;
  for (const auto& broker : stats["brokers"]) {
    if (!broker.is_object()) return std::nullopt;
    up += broker.value("state", "") == "UP" && broker.value("source", "") != "logical";
  }
  return up;
}

void broker_health::error(rd_kafka_resp_err_t err, const char* reason) {
  if (err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__RESOLVE ||
      err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL) {
    latest_failure_ = reason;
    if (down_) say_down();
  } else if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    down_ = true;
    say_down();
  }
}

void broker_health::statistics(std::string_view json) {
  const auto up = brokers_up(json);
  if (!up) {
    context_.log().debug("Kafka: statistics not understood, left out of brokers_up and /healthz");
    return;
  }
  context_.gauge("brokers_up", brokers_up_help, *up);
  if (*up == 0 || !down_) return;
  down_ = false;
  latest_failure_.clear();
  context_.trouble({});
  context_.log().info("Kafka: a broker answers again (" + std::to_string(*up) + " connected)");
}

void broker_health::say_down() {
  context_.trouble("no Kafka broker answers" + (latest_failure_.empty() ? "" : " (latest: " + latest_failure_ + ")"));
}

} // namespace stream_smarts::kafka
