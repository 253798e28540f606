// librdkafka's mock cluster: a real implementation of the Kafka protocol,
// in memory, listening on 127.0.0.1. For local trials and tests only: it
// keeps about 5 MiB per partition and nothing survives the process.
#pragma once

#include "connection.hpp"

#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <string>

namespace stream_smarts::kafka {

class embedded_cluster {
public:
  /// Starts a cluster of `brokers` brokers on ephemeral loopback ports.
  explicit embedded_cluster(int brokers = 1);
  ~embedded_cluster();
  embedded_cluster(const embedded_cluster&) = delete;
  embedded_cluster& operator=(const embedded_cluster&) = delete;

  /// "127.0.0.1:PORT[,...]": what clients bootstrap from.
  std::string bootstrap() const;
  /// Creates `topic`; throws std::runtime_error. Topics not created this way
  /// are created on first use with the mock cluster's default of 4 partitions.
  void create_topic(const std::string& topic, int partitions);
  /// Takes every broker down (connections dropped and refused) or up again.
  void set_down(bool down);
  /// The next `count` requests of Kafka API `api_key` (12: Heartbeat) fail
  /// with error code `error` (82: FENCED_INSTANCE_ID), for tests of errors
  /// only a real cluster in trouble gives.
  void fail_requests(int api_key, int error, int count);

private:
  int brokers_;
  client_ptr host_;  // the mock cluster runs on this client's threads
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

/// The process's embedded cluster, started by the first Kafka stage that says
/// brokers = "embedded" and stopped when the last one lets go.
std::shared_ptr<embedded_cluster> shared_embedded_cluster();

} // namespace stream_smarts::kafka
