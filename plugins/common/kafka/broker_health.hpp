// Whether a Kafka client reaches any broker, told by librdkafka's errors and
// statistics: made the stage's trouble (/healthz 503) while none answers, and
// its brokers_up gauge. librdkafka itself retries for ever and says only
// that all brokers went down, never that one came back: its statistics do.
#pragma once

#include "connection.hpp"

#include <stream_smarts/plugin.hpp>

#include <librdkafka/rdkafka.h>

#include <optional>
#include <string>
#include <string_view>

namespace stream_smarts::kafka {

/// How many brokers librdkafka's statistics (JSON) show connected ("UP"),
/// each once (by node id: a bootstrap address is a broker known by another
/// name) and not its logical ones (the group coordinator's alias); nothing
/// if the text is not such statistics.
std::optional<int> brokers_up(std::string_view statistics);

class broker_health {
public:
  explicit broker_health(stage_context& context) : context_(context) {}
  /// Hooks error() and statistics() into the client's `events`, unless the
  /// connection has statistics off (statistics.interval.ms = 0): nothing
  /// would then say a broker is back, so nothing says one is gone either.
  void watch(client_events& events, const connection& settings);
  /// librdkafka's error callback: "all brokers are down" followed by a
  /// failure to connect is the trouble, with that failure as the reason.
  /// Not a connection that was up and closed: librdkafka says all brokers
  /// are down when a broker (or connections.max.idle.ms) closes an idle
  /// one, as between a sink's rare alerts, and connects again when needed.
  void error(rd_kafka_resp_err_t err, const char* reason);
  /// librdkafka's statistics: a broker up ends the trouble.
  void statistics(std::string_view json);
  /// What the stage waits for meanwhile ("still waiting for Kafka to accept
  /// 3 messages ..."), its trouble too, before what is known of the brokers;
  /// "" once it no longer waits. The stage has one trouble: this keeps the
  /// two from clearing each other.
  void waiting(std::string what);

private:
  void say();

  stage_context& context_;
  std::string latest_failure_;  // a connection's last error: why no broker answers
  std::string waiting_;
  bool all_down_ = false;        // librdkafka said so, and no statistics showed one up since
  bool connect_failed_ = false;  // latest_failure_ is a failure to connect, not an open connection closed
  bool said_down_ = false;       // the trouble says no broker answers
};

} // namespace stream_smarts::kafka
