// What the Kafka source and sink share: the `brokers` and `properties`
// options, librdkafka configuration built from them, and librdkafka's log
// and errors routed to the stage's logger.
#pragma once

#include <stream_smarts/plugin.hpp>

#include <librdkafka/rdkafka.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace stream_smarts::kafka {

class embedded_cluster;

struct conf_deleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using conf_ptr = std::unique_ptr<rd_kafka_conf_t, conf_deleter>;
struct client_deleter {
  void operator()(rd_kafka_t* k) const { rd_kafka_destroy(k); }
};
using client_ptr = std::unique_ptr<rd_kafka_t, client_deleter>;
struct partitions_deleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
using partitions_ptr = std::unique_ptr<rd_kafka_topic_partition_list_t, partitions_deleter>;
struct queue_deleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
using queue_ptr = std::unique_ptr<rd_kafka_queue_t, queue_deleter>;

/// Callbacks a client may want, called on librdkafka's threads or in poll().
/// Set those wanted by name: {.delivery = ...}.
struct client_events {
  std::function<void(rd_kafka_t*, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t*)> rebalance{};
  std::function<void(const rd_kafka_message_t&)> delivery{};
  /// A client-wide error (a broker unreachable), after it is logged.
  std::function<void(rd_kafka_resp_err_t, const char* reason)> error{};
  /// librdkafka's statistics, as JSON, every statistics.interval.ms.
  std::function<void(std::string_view json)> statistics{};
};

struct callback_target;

/// `brokers` and `properties`, documented with the plugin's own defaults.
std::vector<option_spec> connection_options(const string_table& defaults);

/// A stage's connection settings: librdkafka defaults of the plugin, then the
/// user's `properties`, then the bootstrap servers from `brokers`.
class connection {
public:
  /// Checks every property with librdkafka now (throws option_error naming
  /// it), so a typo is reported by `validate`, not at 3 am.
  connection(stage_context& context, const string_table& defaults);
  ~connection();

  /// What librdkafka checks only as it makes a client (a SASL mechanism it
  /// does not have, a login without its password, a CA file it cannot
  /// load): a client of each kind is made and dropped, without brokers, so
  /// nothing connects. Throws option_error. Call it after the plugin's own
  /// checks of `properties`, whose messages say more.
  void check_as_a_whole() const;

  /// Creates a client; starts the embedded cluster on first use. librdkafka's
  /// log and errors go to the stage's logger. Throws std::runtime_error.
  /// The connection must outlive the client.
  client_ptr make_client(rd_kafka_type_t type, client_events events = {});

  /// A librdkafka property as the clients get it: the user's, ours, or librdkafka's default.
  std::string property(const char* key) const;

private:
  stage_context& context_;
  std::vector<std::unique_ptr<callback_target>> targets_;  // one per client, stable addresses
  conf_ptr settings_;  // defaults and the user's properties, checked once; each client gets a copy
  std::string brokers_;
  std::shared_ptr<embedded_cluster> embedded_;
};

/// One thing librdkafka `properties` give away on the network, and the
/// property to change.
struct transport_warning {
  std::string property;
  std::string message;
};

/// What `properties` give away on the network (certificate not verified,
/// credentials sent unencrypted); warned of at the property (warn_option)
/// when a stage is made: at start, and by `validate`.
std::vector<transport_warning> transport_warnings(const string_table& properties);

/// Whether a librdkafka boolean property's value says false: "false", "f"
/// or "0" in any case, as librdkafka reads it.
bool is_false(const std::string& value);

/// "topic [partition] at offset N", the way every message is named in logs.
std::string describe_position(const rd_kafka_message_t& m);

} // namespace stream_smarts::kafka
