#include "embedded_cluster.hpp"

#include <mutex>
#include <stdexcept>
#include <vector>

namespace stream_smarts::kafka {

embedded_cluster::embedded_cluster(int brokers) : brokers_(brokers) {
  conf_ptr conf{rd_kafka_conf_new()};
  char why[512];
  // The host client only carries the cluster's threads: it has no brokers of
  // its own to connect to, so silence its "no bootstrap.servers" notice.
  rd_kafka_conf_set(conf.get(), "log_level", "3", why, sizeof why);
  rd_kafka_t* host = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), why, sizeof why);
  if (host == nullptr) throw std::runtime_error(std::string("cannot start the embedded Kafka broker: ") + why);
  conf.release();
  host_.reset(host);
  cluster_ = rd_kafka_mock_cluster_new(host, brokers);
  if (cluster_ == nullptr) throw std::runtime_error("cannot start the embedded Kafka broker (no loopback listener?)");
}

embedded_cluster::~embedded_cluster() {
  rd_kafka_mock_cluster_destroy(cluster_);  // before its host client
}

std::string embedded_cluster::bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

void embedded_cluster::create_topic(const std::string& topic, int partitions) {
  const rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error("cannot create topic '" + topic + "': " + rd_kafka_err2str(err));
}

void embedded_cluster::set_down(bool down) {
  for (int id = 1; id <= brokers_; ++id) {
    if (down) rd_kafka_mock_broker_set_down(cluster_, id);
    else rd_kafka_mock_broker_set_up(cluster_, id);
  }
}

void embedded_cluster::fail_requests(int api_key, int error, int count) {
  const std::vector<rd_kafka_resp_err_t> errors(static_cast<std::size_t>(count),
                                                static_cast<rd_kafka_resp_err_t>(error));
  rd_kafka_mock_push_request_errors_array(cluster_, static_cast<int16_t>(api_key), errors.size(), errors.data());
}

std::shared_ptr<embedded_cluster> shared_embedded_cluster() {
  // A registry of one: stages of a pipeline are separate plugins, and this
  // library is the one thing they share.
  static std::mutex mutex;
  static std::weak_ptr<embedded_cluster> current;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto cluster = current.lock()) return cluster;
  auto cluster = std::make_shared<embedded_cluster>();
  current = cluster;
  return cluster;
}

} // namespace stream_smarts::kafka
