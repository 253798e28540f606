// The Kafka sink: writes alerts (or, with receive = "all", every scored
// reading) to a topic, keyed by meter. A batch is acknowledged upstream only
// once the broker has acknowledged every message of it, so the Kafka source
// commits nothing that is not safely written.
#include "alert_format.hpp"

#include <broker_health.hpp>
#include <connection.hpp>
#include <stream_smarts/plugin.hpp>

#include <chrono>
#include <utility>

namespace {

using namespace stream_smarts;
using steady = std::chrono::steady_clock;

constexpr int flush_slice_ms = 1000;
// The first "still waiting" comes within the default shutdown_timeout (10 s),
// so a stop that cannot drain shows which sink held it; then every 30 s.
constexpr auto first_patience_report = std::chrono::seconds(5);
constexpr auto patience_report_interval = std::chrono::seconds(30);

const string_table producer_defaults{
    {"enable.idempotence", "true"},  // retries never duplicate or reorder within a partition
    {"statistics.interval.ms", "5000"},  // how soon /healthz sees a broker answer again; 0: not told
};

std::vector<option_spec> declared_options() {
  std::vector<option_spec> o = kafka::connection_options(producer_defaults);
  o.push_back(required_option("topic", option_type::string, "Topic to write to."));
  o.push_back(optional_option("format", option_type::string, std::string("json"),
                              "\"json\": the stream-smarts alert object; \"ksql\": the original KSQL query's "
                              "{EVENT_TS, HOUR, KWH, FN}, for its existing consumers.",
                              {"json", "ksql"}));
  return o;
}

/// Properties that would break how the sink delivers, refused at their line.
/// librdkafka finds a clash of acks and idempotence only when the producer
/// is made, at start after validate said the file is fine; and acks = 0
/// would end the sink's promise that the broker has every alert it passed on.
void check_delivery_properties(const string_table& properties) {
  // A transactional producer refuses every message outside a transaction,
  // and the sink writes none: found only at the first alert, otherwise.
  if (properties.count("transactional.id"))
    throw option_error("properties", "transactional.id: the sink does not write in transactions (the broker "
                                     "acknowledges each alert, and the idempotent producer writes none twice); "
                                     "remove it");
  const auto acks_it = properties.count("acks") ? properties.find("acks") : properties.find("request.required.acks");
  if (acks_it == properties.end()) return;
  const std::string& acks = acks_it->second;
  if (acks == "0")
    throw option_error("properties", acks_it->first + " = 0: the broker would never confirm an alert, so one could be "
                                     "lost unseen; use all (the default) or 1");
  const auto idempotence = properties.find("enable.idempotence");
  const bool idempotent = idempotence == properties.end() || !kafka::is_false(idempotence->second);
  if (idempotent && acks != "all" && acks != "-1")
    throw option_error("properties", acks_it->first + " = " + acks + " needs enable.idempotence = false as well: "
                                     "an idempotent producer (the sink's default) requires acks = all");
}

class kafka_alert_sink final : public sink {
public:
  explicit kafka_alert_sink(stage_context& ctx)
      : ctx_(ctx),
        connection_(ctx, producer_defaults),
        topic_(ctx.options().string("topic")),
        ksql_(ctx.options().string("format") == "ksql"),
        format_(ksql_ ? kafka_sink::append_ksql : json::append_alert) {
    if (topic_.empty()) throw option_error("topic", "must name a topic");
    check_delivery_properties(ctx.options().table("properties"));
    connection_.check_as_a_whole();
  }

  void start() override {
    kafka::client_events events{.delivery = [this](const rd_kafka_message_t& m) {
      if (!m.err) return;
      if (failures_++ == 0) first_failure_ = m.err;
      // One the broker refuses for its size fails again however often it is sent.
      if (m.err != RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) worth_retrying_ = true;
    }};
    brokers_.watch(events, connection_);
    producer_ = connection_.make_client(RD_KAFKA_PRODUCER, std::move(events));
    warm_up_metadata();
  }

  /// Alerts are rare: between them, the producer's events say whether a
  /// broker still answers (/healthz), not the next alert, weeks later.
  void idle() override { rd_kafka_poll(producer_.get(), 0); }

  void write(const alert& a) override {
    if (ksql_ && !kafka_sink::ksql_writes(a)) return;
    payload_.clear();
    format_(payload_, a);
    const std::string& key = a.scored.reading.meter;
    for (;;) {
      const auto err = rd_kafka_producev(producer_.get(), RD_KAFKA_V_TOPIC(topic_.c_str()),
                                         RD_KAFKA_V_KEY(key.data(), key.size()),
                                         RD_KAFKA_V_VALUE(payload_.data(), payload_.size()),
                                         RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)  // no retry or restart makes it fit: give this one up
        throw delivery_error("a message of " + std::to_string(payload_.size()) + " bytes is more than topic '" +
                                 topic_ + "' takes from this producer (message.max.bytes in properties)",
                             false);
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        if (err) throw std::runtime_error("cannot write to topic '" + topic_ + "': " + rd_kafka_err2str(err));
        return;
      }
      rd_kafka_poll(producer_.get(), 100);  // the local queue is full: wait for the broker to take some
    }
  }

  void flush() override {
    // Waits as long as librdkafka keeps trying (message.timeout.ms): while the
    // broker is away this sink pauses here, and says so in the log and /healthz.
    const auto began = steady::now();
    auto next_report = began + first_patience_report;
    while (rd_kafka_flush(producer_.get(), flush_slice_ms) == RD_KAFKA_RESP_ERR__TIMED_OUT) {
      if (steady::now() < next_report) continue;
      const auto waited = std::chrono::duration_cast<std::chrono::seconds>(steady::now() - began);
      const std::string waiting = "still waiting for Kafka to accept " +
                                  std::to_string(rd_kafka_outq_len(producer_.get())) + " messages for topic '" +
                                  topic_ + "' (" + std::to_string(waited.count()) + " s so far)";
      ctx_.log().warning(waiting);
      brokers_.waiting(waiting);
      next_report = steady::now() + patience_report_interval;
    }
    brokers_.waiting({});
    if (failures_ == 0) return;
    const std::string message = std::to_string(failures_) + " messages could not be written to topic '" + topic_ +
                                "': " + rd_kafka_err2str(first_failure_);
    failures_ = 0;
    const bool retry = std::exchange(worth_retrying_, false);
    // A delivery failure, not a broken stage: the runtime retries it with
    // the sink's max_retries and retry_backoff, then gives it up, while the
    // other sinks go on (a restart would only wait out the same broker).
    // Retried if any failure may pass next time, even when the first was a
    // size: giving the chunk up would lose the messages that only timed out.
    throw delivery_error(message, retry);
  }

  void stop() override {
    if (producer_) flush();
    producer_.reset();
  }

private:
  /// Without this, the first message waits for librdkafka's metadata scan (~1 s).
  void warm_up_metadata() {
    rd_kafka_topic_t* handle = rd_kafka_topic_new(producer_.get(), topic_.c_str(), nullptr);
    const rd_kafka_metadata_t* metadata = nullptr;
    if (rd_kafka_metadata(producer_.get(), 0, handle, &metadata, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR)
      rd_kafka_metadata_destroy(metadata);
    else ctx_.log().warning("no metadata for topic '" + topic_ + "' yet (is the broker up?); going on");
    rd_kafka_topic_destroy(handle);
  }

  stage_context& ctx_;
  kafka::connection connection_;
  std::string topic_;
  bool ksql_;                                   // format = "ksql"
  void (*format_)(std::string&, const alert&);  // chosen once from `format`
  kafka::broker_health brokers_{ctx_};  // before producer_: its callbacks use it until the producer is gone
  kafka::client_ptr producer_;
  std::string payload_;  // reused for every message
  std::uint64_t failures_ = 0;
  rd_kafka_resp_err_t first_failure_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  bool worth_retrying_ = false;  ///< a failure of this chunk other than a message too large
};

} // namespace

STREAM_SMARTS_PLUGIN(stream_smarts::sink_plugin<kafka_alert_sink>(
    {"kafka_sink", {}, "0.1.0", "Writes alerts (or every scored reading) to a Kafka topic, keyed by meter",
     declared_options()}))
