// The Kafka source: reads readings from topics as a member of a consumer
// group, and commits an offset only once every sink has handled what was
// read before it (at-least-once). Several processes with the same group.id
// share a topic's partitions: that is how stream-smarts scales out.
#include "offset_tracker.hpp"
#include "payload.hpp"
#include "reading_mapping.hpp"

#include <common/meter_index.hpp>
#include <common/reading_fields.hpp>
#include <broker_health.hpp>
#include <connection.hpp>
#include <stream_smarts/plugin.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <exception>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <utility>

namespace {

using namespace stream_smarts;
using namespace stream_smarts::kafka_source;
using kafka::client_ptr;
using kafka::partitions_ptr;
using kafka::queue_ptr;
using steady = std::chrono::steady_clock;

constexpr int first_poll_timeout_ms = 100;
// How far ahead of this machine's clock a meter's index may be stamped:
// clocks a few minutes apart are common, hours are a clock set wrong.
constexpr std::int64_t most_ahead_ms = 15 * 60'000;
// How often the consumer lag of each assigned partition is reported.
constexpr std::chrono::seconds lag_interval{1};
constexpr int lag_query_timeout_ms = 250;  // asking the broker while paused: idle() must not block for long
// Asking the broker where an assigned partition stands: the rebalance waits for it.
constexpr int assignment_query_timeout_ms = 10000;

// The headers a dead letter carries besides the message's own.
constexpr const char* error_header = "stream-smarts-error";    // why it could not be decoded
constexpr const char* source_header = "stream-smarts-source";  // "topic [partition] at offset N"

constexpr const char* lag_help =
    "Messages in a partition not yet read by the source: the partition's high watermark minus the source's "
    "position, as of the last fetch (asked of the broker while the source is paused).";

const string_table consumer_defaults{
    // Per stage, so two Kafka sources of one pipeline never share a group,
    // while copies of the pipeline in several processes do.
    {"group.id", "stream-smarts-<stage name>"},
    {"auto.offset.reset", "earliest"},
    {"enable.auto.commit", "false"},  // committed by the source, every commit_interval
    {"enable.auto.offset.store", "false"},
    {"enable.partition.eof", "true"},  // how stop_at_end knows a partition is drained
    {"statistics.interval.ms", "5000"},  // how soon /healthz sees a broker answer again; 0: not told
};

string_table defaults_for(const stage_context& ctx) {
  string_table defaults = consumer_defaults;
  defaults["group.id"] = "stream-smarts-" + ctx.stage_name();
  return defaults;
}

std::vector<option_spec> declared_options() {
  std::vector<option_spec> o = kafka::connection_options(consumer_defaults);
  std::vector<option_spec> own{
      required_option("topics", option_type::string_list, "Topics to read readings from."),
      optional_option("format", option_type::string, std::string("json"),
                      "Payload format: one JSON object, or the Confluent Avro wire format.", {"json", "avro"}),
      optional_option("avro_schema", option_type::string, std::string(""),
                      "The Avro record schema (JSON) of the payloads, for format = \"avro\"."),
      optional_option("wh_field", option_type::string, std::string("wh"), "Field with the energy, in wh_unit (Wh by default)."),
      optional_option("ts_field", option_type::string, std::string(""),
                      "Field with the reading's time (ISO-8601, or epoch ms). Empty: the message's Kafka timestamp."),
      optional_option("hour_field", option_type::string, std::string(""),
                      "Field with the hour of day (0-23) the reading is for, as the original producer wrote it. "
                      "The reading is then for the latest such hour at or before the timestamp."),
      optional_option("meter_field", option_type::string, std::string(""),
                      "Field naming the meter (a string, or a number: 42 and 42.0 are one meter). Empty, or not in a message: "
                      "the message key."),
      optional_option("meter", option_type::string, std::string("home"),
                      "The meter of messages with neither a meter_field value nor a key."),
      reading_fields::wh_unit_option(),
      reading_fields::span_option(),
  };
  o.insert(o.end(), own.begin(), own.end());
  const std::vector<option_spec> index = index_options();
  o.insert(o.end(), index.begin(), index.end());
  o.insert(o.end(), {
      optional_option("dead_letter_topic", option_type::string, std::string(""),
                      "Topic to copy undecodable messages to, with the reason in a header; not one of `topics`. "
                      "Empty: only log them."),
      // A history is what the topic holds now: waiting for more would never end a train.
      optional_option("stop_at_end", option_type::boolean, false,
                      "Finish once every assigned partition is read to its end (for backfills and benchmarks).")
          .history_value(true),
      optional_option("commit_interval", option_type::duration, std::chrono::milliseconds{1000},
                      "How often handled offsets are committed. After a crash, at most this much plus the "
                      "in-flight window is read again."),
      optional_option("warm_up", option_type::duration, std::chrono::milliseconds{6 * 3600 * 1000},
                      "A partition taken over (a restart, a rebalance) first reads again what came in this long "
                      "before now, up to its committed offset (by the messages' Kafka timestamps; of the last "
                      "100000 messages at most), so that the stages rebuild what they keep of its meters: "
                      "sustained_load's windows, a spell waiting for sustain or already raised. Those readings are "
                      "scored, never delivered. \"0s\": none. Not with wh_kind = \"index\", whose meters are "
                      "read again from their holds.")
          .history_value(std::chrono::milliseconds{0}),  // the history is the topic from the group's commit on
  });
  return o;
}

std::unique_ptr<payload_decoder> make_decoder(const options& o) {
  if (o.string("format") == "json") return make_json_decoder();
  if (o.string("avro_schema").empty()) throw option_error("avro_schema", "is required with format = \"avro\"");
  try {
    return make_avro_decoder(o.string("avro_schema"));
  } catch (const std::invalid_argument& e) {
    throw option_error("avro_schema", e.what());
  }
}

partitions_ptr list_of(const std::set<partition_key>& partitions) {
  partitions_ptr list{rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()))};
  for (const auto& [topic, partition] : partitions) rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
  return list;
}

struct message_deleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using message_ptr = std::unique_ptr<rd_kafka_message_t, message_deleter>;

std::string describe(const rd_kafka_topic_partition_list_t& list) {
  std::string out;
  for (int i = 0; i < list.cnt; ++i)
    out += (i ? ", " : "") + std::string(list.elems[i].topic) + " [" + std::to_string(list.elems[i].partition) + "]";
  return out.empty() ? "none" : out;
}

/// The entry of `topics` that reads `topic` (a name, or a "^" pattern, as
/// librdkafka subscribes), if any.
const std::string* topic_read(const std::vector<std::string>& topics, const std::string& topic) {
  if (topic.empty()) return nullptr;
  for (const auto& t : topics) {
    if (t == topic) return &t;
    if (t.front() != '^') continue;
    try {
      if (std::regex_search(topic, std::regex(t, std::regex::extended))) return &t;
    } catch (const std::regex_error&) {
      // librdkafka reports a pattern it cannot use when it subscribes
    }
  }
  return nullptr;
}

class kafka_consumer_source final : public source {
public:
  explicit kafka_consumer_source(stage_context& ctx)
      : ctx_(ctx),
        connection_(ctx, defaults_for(ctx)),
        topics_(ctx.options().strings("topics")),
        decoder_(make_decoder(ctx.options())),
        mapping_(ctx.options()),
        indexes_(meter_indexes_of(ctx.options(), ctx.zone(), ctx.options().duration("span").count())),
        dead_letter_topic_(ctx.options().string("dead_letter_topic")),
        stop_at_end_(ctx.options().boolean("stop_at_end")),
        commit_interval_(ctx.options().duration("commit_interval")),
        warm_up_(indexes_ ? std::chrono::milliseconds{0} : ctx.options().duration("warm_up")) {
    if (topics_.empty()) throw option_error("topics", "must name at least one topic");
    if (std::find(topics_.begin(), topics_.end(), "") != topics_.end())
      throw option_error("topics", "must not hold an empty topic name");
    for (auto it = topics_.begin(); it != topics_.end(); ++it)
      if (std::find(std::next(it), topics_.end(), *it) != topics_.end())  // librdkafka refuses to subscribe
        throw option_error("topics", "names '" + *it + "' twice");
    if (const auto* read = topic_read(topics_, dead_letter_topic_))
      throw option_error("dead_letter_topic", "'" + dead_letter_topic_ + "' is read by this source (topics holds '" +
                                                  *read + "'): each message copied there would be read, refused "
                                                  "and copied again without end; name another topic");
    const auto& properties = ctx.options().table("properties");
    if (auto it = properties.find("group.id"); it != properties.end() && it->second.empty())
      throw option_error("properties", "group.id must not be empty: the source commits what it has handled in its "
                                       "group; leave it out for stream-smarts-" + ctx.stage_name() + ", or name one");
    if (auto it = properties.find("enable.auto.offset.store"); it != properties.end() && !kafka::is_false(it->second))
      throw option_error("properties", "enable.auto.offset.store must stay false: the source stores an offset only "
                                       "once every sink has handled the reading");
    if (auto it = properties.find("enable.partition.eof"); stop_at_end_ && it != properties.end() && kafka::is_false(it->second))
      throw option_error("properties", "enable.partition.eof must stay true with stop_at_end: it is how the source "
                                       "knows it has read a partition to its end");
    connection_.check_as_a_whole();
  }

  // Closing runs the rebalance callback, which uses the members declared
  // after consumer_: close it while they still exist.
  ~kafka_consumer_source() override {
    queue_.reset();
    if (consumer_) rd_kafka_consumer_close(consumer_.get());
  }

  void start() override {
    for (const auto& topic : topics_) reading_fields::count_decode_errors(ctx_, 0, {{"topic", topic}});
    kafka::client_events events{
        .rebalance = [this](rd_kafka_t* rk, rd_kafka_resp_err_t err,
                            rd_kafka_topic_partition_list_t* list) { rebalance(rk, err, *list); }};
    brokers_.watch(events, connection_);
    consumer_ = connection_.make_client(RD_KAFKA_CONSUMER, std::move(events));
    rd_kafka_poll_set_consumer(consumer_.get());
    queue_.reset(rd_kafka_queue_get_consumer(consumer_.get()));
    partitions_ptr subscription{rd_kafka_topic_partition_list_new(static_cast<int>(topics_.size()))};
    for (const auto& t : topics_) rd_kafka_topic_partition_list_add(subscription.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
    if (auto err = rd_kafka_subscribe(consumer_.get(), subscription.get()))
      throw std::runtime_error(std::string("cannot subscribe: ") + rd_kafka_err2str(err));
    if (!dead_letter_topic_.empty())
      dead_letters_ = connection_.make_client(RD_KAFKA_PRODUCER, {.delivery = [this](const rd_kafka_message_t& m) {
                                                if (m.err) dead_letter_failed(m);
                                              }});
    last_commit_ = steady::now();
  }

  read_result read(std::vector<reading>& out, std::size_t max) override {
    if (idle_) {
      resume(assigned_);
      idle_ = false;
    }
    const std::size_t before = out.size();
    // Wait a little for the first message, then take what is already fetched
    // in one call: per-message polls cost a third more.
    if (messages_.size() < max) messages_.resize(max);
    std::size_t n = 0;
    if (rd_kafka_message_t* first = rd_kafka_consumer_poll(consumer_.get(), first_poll_timeout_ms)) {
      messages_[0] = first;
      const ssize_t more = max > 1 ? rd_kafka_consume_batch_queue(queue_.get(), 0, messages_.data() + 1, max - 1) : 0;
      n = 1 + static_cast<std::size_t>(std::max<ssize_t>(more, 0));
    }
    positions_.clear();
    for (std::size_t i = 0; i < n; ++i) take(*messages_[i], out);
    offsets next;
    for (const auto& pos : positions_) next[{rd_kafka_topic_name(pos.topic), pos.partition}] = pos.next;
    for (std::size_t i = 0; i < n; ++i) rd_kafka_message_destroy(messages_[i]);
    if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
    // A rebalance during the polls may have revoked some of these partitions.
    std::erase_if(next, [this](const auto& entry) { return !assigned_.count(entry.first); });
    for (const auto& [p, offset] : next) read_to_[p] = std::max(read_to_[p], offset);
    tracker_.read(next, out.size() > before);
    store_done();
    commit_if_due();
    report_lag();
    return {stop_at_end_ && at_end(), std::chrono::milliseconds{0}};
  }

  void commit(std::size_t batches) override {
    tracker_.handled(batches);
    store_done();
    commit_if_due();
  }

  /// A sink is behind: stop fetching, but go on polling, so that a rebalance
  /// of the group does not wait for this member (up to max.poll.interval.ms)
  /// and the member is not dropped from the group for not polling. Pausing
  /// drops what librdkafka prefetched; resuming fetches from the next offset
  /// not yet read, so nothing is lost or read twice.
  std::chrono::milliseconds idle() override {
    if (!idle_) pause(assigned_);
    idle_ = true;
    // With every partition paused only events come, and rebalances are served.
    if (rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_.get(), 0)) {
      const message_ptr message{m};
      if (!event(*m))  // cannot happen; if it did, a restart reads it again from the last commit
        throw std::runtime_error(kafka::describe_position(*m) + ": a message came from a paused partition");
    }
    if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
    store_done();
    commit_if_due();
    report_lag();
    return std::chrono::seconds{1};  // resuming drops nothing, but pausing again would refetch: not sooner
  }

  void stop() override {
    if (!consumer_) return;
    store_done();
    if (const auto failed = commit_now(false))
      ctx_.log().warning(std::string("offset commit at stop failed: ") + rd_kafka_err2str(failed) +
                         "; the next run reads again from the last commit (duplicate alerts, no lost readings)");
    queue_.reset();
    rd_kafka_consumer_close(consumer_.get());
    ctx_.log().info("stopped after " + std::to_string(readings_) + " readings" +
                    (warmed_ ? " (and " + std::to_string(warmed_) + " read again to warm up)" : "") + ", " +
                    std::to_string(skipped_.count()) +
                    " undecodable messages" +
                    (indexes_ ? ", " + std::to_string(indexes_left_out_.count()) + " indexes left out" : ""));
    consumer_.reset();
    dead_letters_.reset();
  }

private:
  /// An end of partition or an error, not a message: handled here. False for a message.
  bool event(const rd_kafka_message_t& m) {
    if (m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (stop_at_end_) at_end_.insert({rd_kafka_topic_name(m.rkt), m.partition});
    } else if (m.err == RD_KAFKA_RESP_ERR__FATAL) {
      // This consumer can take nothing more (librdkafka: only a new one can
      // go on): a failure of the stage, which the runtime restarts.
      failure_ = std::make_exception_ptr(std::runtime_error(fatal_error()));
    } else if (m.err) {
      ctx_.log().warning("Kafka: " + std::string(rd_kafka_message_errstr(&m)));
    }
    return m.err != RD_KAFKA_RESP_ERR_NO_ERROR;
  }

  std::string fatal_error() const {
    char why[512] = "";
    const rd_kafka_resp_err_t err = rd_kafka_fatal_error(consumer_.get(), why, sizeof why);
    std::string text = std::string("Kafka consumer failed for good: ") + why;
    if (err == RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID)
      text += " (two consumers of the group have the same group.instance.id: give each process its own, or the "
              "restarted one fences the other in turn)";
    return text;
  }

  void take(const rd_kafka_message_t& m, std::vector<reading>& out) {
    if (event(m)) return;
    // Only stop_at_end asks which partitions are at their end: a live
    // consumer, nearly always at the end of one, builds no key per message.
    if (!at_end_.empty()) at_end_.erase({rd_kafka_topic_name(m.rkt), m.partition});
    position_of(m).next = m.offset + 1;
    using mark = warm_up_marks::mark;
    const mark marked = warm_.any() ? warm_.of({rd_kafka_topic_name(m.rkt), m.partition}, m.offset,
                                               rd_kafka_message_timestamp(&m, nullptr))
                                    : mark::live;
    if (marked == mark::too_old) return;
    const bool warming = marked == mark::warm_up;
    reading r;
    std::string why;
    if (!decode(m, r, why)) return warming ? void() : undecodable(m, why);  // told, and copied, the first time
    if (!time_field_checked_) tell_unused_time_field(m);
    if (indexes_) return take_index(m, r, out);
    r.warm_up = warming;
    out.push_back(std::move(r));
    ++(warming ? warmed_ : readings_);
  }

  // A meter's index (wh_kind = "index"): the readings of use it completes,
  // and where its partition must be read again from after a restart. One
  // stamped ahead of this machine's clock (a sensor's clock hours fast) is
  // left out: taken, it would spread its meter's use over hours to come.
  void take_index(const rd_kafka_message_t& m, const reading& index, std::vector<reading>& out) {
    const std::int64_t ahead_ms = index.ts_ms - std::chrono::duration_cast<std::chrono::milliseconds>(
                                                    std::chrono::system_clock::now().time_since_epoch()).count();
    if (ahead_ms > most_ahead_ms)
      return indexes_left_out_.skip(kafka::describe_position(m) + ": index stamped " +
                                    duration_text(std::chrono::milliseconds{ahead_ms / 1000 * 1000}) +
                                    " ahead of this machine's clock: left out");
    std::string why;
    use_.clear();
    if (!indexes_->add(index, use_, why, m.offset))
      indexes_left_out_.skip(kafka::describe_position(m) + ": " + why);
    else if (!why.empty())
      ctx_.log().warning(kafka::describe_position(m) + ": " + why);
    const auto from = *indexes_->replay_from(index.meter);
    holds_.hold({rd_kafka_topic_name(m.rkt), m.partition}, index.meter, from.position, from.ts_ms);
    readings_ += use_.size();
    out.insert(out.end(), std::make_move_iterator(use_.begin()), std::make_move_iterator(use_.end()));
  }

  bool decode(const rd_kafka_message_t& m, reading& r, std::string& why) {
    if (m.payload == nullptr) {
      why = "no value (a tombstone), not a reading";
      return false;
    }
    const std::string_view payload(static_cast<const char*>(m.payload), m.len);
    if (!decoder_->decode(payload, fields_, why)) return false;
    const std::int64_t ts = rd_kafka_message_timestamp(&m, nullptr);
    message_meta meta{{static_cast<const char*>(m.key), m.key_len}, std::nullopt};
    if (ts >= 0) meta.timestamp_ms = ts;
    return mapping_.map(fields_, meta, ctx_.zone(), r, why);
  }

  // On the first reading only (a topic's messages have one shape; no work a
  // message): the payload names a time the mapping leaves as a label.
  void tell_unused_time_field(const rd_kafka_message_t& m) {
    time_field_checked_ = true;
    const std::string_view field = mapping_.unused_time_field(fields_);
    if (field.empty()) return;
    const std::string name(field);
    ctx_.log().warning(kafka::describe_position(m) + ": the message has a '" + name + "' field, but ts_field is not "
                       "set: readings are timed by the Kafka message timestamp, when the message was produced (set "
                       "ts_field = \"" + name + "\" to time them by the field)");
  }

  void undecodable(const rd_kafka_message_t& m, const std::string& why) {
    const std::string position = kafka::describe_position(m);
    skipped_.skip(position + ": cannot decode: " + why + (dead_letters_ ? "; copying it to " + dead_letter_topic_ : ""),
                  {{"topic", rd_kafka_topic_name(m.rkt)}});
    if (!dead_letters_) return;
    // The copy keeps the message's own headers and timestamp, as it was.
    rd_kafka_headers_t* original = nullptr;
    rd_kafka_headers_t* headers = rd_kafka_message_headers(&m, &original) == RD_KAFKA_RESP_ERR_NO_ERROR
                                      ? rd_kafka_headers_copy(original)
                                      : rd_kafka_headers_new(2);
    rd_kafka_header_add(headers, error_header, -1, why.data(), static_cast<ssize_t>(why.size()));
    rd_kafka_header_add(headers, source_header, -1, position.data(), static_cast<ssize_t>(position.size()));
    const std::int64_t ts = rd_kafka_message_timestamp(&m, nullptr);
    const auto err = rd_kafka_producev(
        dead_letters_.get(), RD_KAFKA_V_TOPIC(dead_letter_topic_.c_str()), RD_KAFKA_V_VALUE(m.payload, m.len),
        RD_KAFKA_V_KEY(m.key, m.key_len), RD_KAFKA_V_HEADERS(headers),
        RD_KAFKA_V_TIMESTAMP(std::max<std::int64_t>(ts, 0)),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (!err) return;
    rd_kafka_headers_destroy(headers);  // producev takes them only when it succeeds
    copy_failed(position, m.len, err);
  }

  /// A dead letter the broker refused, told by its delivery report: the
  /// original's position is in the copy's header.
  void dead_letter_failed(const rd_kafka_message_t& copy) {
    const void* value = nullptr;
    std::size_t size = 0;
    rd_kafka_headers_t* headers = nullptr;
    std::string position = "a message";
    if (rd_kafka_message_headers(&copy, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(headers, source_header, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR)
      position.assign(static_cast<const char*>(value), size);
    copy_failed(position, copy.len, copy.err);
  }

  /// A copy that can never be written (too large, an invalid record) is told
  /// and left: it must not stop the stream for good. Any other failure stops
  /// the source, which reads again from the last commit and copies again.
  void copy_failed(const std::string& position, std::size_t bytes, rd_kafka_resp_err_t err) {
    const bool only_this_message = err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
                                   err == RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE ||
                                   err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE ||
                                   err == RD_KAFKA_RESP_ERR_INVALID_RECORD;
    if (!only_this_message) {
      if (dead_letter_failure_.empty()) dead_letter_failure_ = rd_kafka_err2str(err);
      return;
    }
    ctx_.log().warning(position + ": not copied to " + dead_letter_topic_ + ": " + rd_kafka_err2str(err) + " (" +
                       std::to_string(bytes) + " bytes; the dead-letter producer's limit is message.max.bytes in "
                       "properties, the topic's its max.message.bytes); skipped");
  }

  /// This read's entry for the message's partition: a few per read, so a
  /// linear search beats building a topic-name key per message.
  struct position {
    rd_kafka_topic_t* topic;
    std::int32_t partition;
    std::int64_t next;
  };
  position& position_of(const rd_kafka_message_t& m) {
    for (auto& p : positions_)
      if (p.topic == m.rkt && p.partition == m.partition) return p;
    return positions_.emplace_back(position{m.rkt, m.partition, 0});
  }

  /// Stores the offsets that became committable, once their dead letters are
  /// delivered; the caller commits them (now, or when due).
  void store_done() {
    offsets done = tracker_.take_done();
    if (indexes_) done = holds_.take_committable(done);
    done = warm_.above_floor(std::move(done));
    if (done.empty()) return;
    if (dead_letters_ && rd_kafka_outq_len(dead_letters_.get()) > 0 &&
        rd_kafka_flush(dead_letters_.get(), 30000) == RD_KAFKA_RESP_ERR__TIMED_OUT && dead_letter_failure_.empty())
      dead_letter_failure_ = "copies not delivered within 30 s";  // not committed past them
    if (!dead_letter_failure_.empty())
      throw std::runtime_error("cannot write to dead_letter_topic '" + dead_letter_topic_ + "': " + dead_letter_failure_);
    partitions_ptr list{rd_kafka_topic_partition_list_new(static_cast<int>(done.size()))};
    for (const auto& [p, next] : done)
      rd_kafka_topic_partition_list_add(list.get(), p.first.c_str(), p.second)->offset = next;
    // A partition revoked meanwhile is refused here; its new owner re-reads it.
    rd_kafka_offsets_store(consumer_.get(), list.get());
    for (int i = 0; i < list->cnt; ++i)
      if (const auto& p = list->elems[i]; !p.err) stored_at_[{p.topic, p.partition}] = p.offset;
    stored_ = true;
  }

  void commit_if_due() {
    if (stored_ && steady::now() - last_commit_ >= commit_interval_) commit_or_retry_later();
  }

  /// Commits what is stored; the error, if it failed (it stays stored).
  /// Synchronous ones (giving partitions up, stopping) always ask: an
  /// earlier asynchronous commit may have failed unseen (a rebalance in
  /// progress), and librdkafka commits what is stored and not committed.
  rd_kafka_resp_err_t commit_now(bool async) {
    if (!stored_ && async) return RD_KAFKA_RESP_ERR_NO_ERROR;
    auto err = rd_kafka_commit(consumer_.get(), nullptr, async ? 1 : 0);
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!err) stored_ = false;
    last_commit_ = steady::now();
    return err;
  }

  void commit_or_retry_later() {
    if (const auto err = commit_now(true))
      ctx_.log().warning(std::string("offset commit failed (retried at the next commit): ") + rd_kafka_err2str(err));
  }

  /// Consumer lag per assigned partition, from the high watermark librdkafka
  /// caches with every fetch (no broker round trip), at most once a second.
  /// Before librdkafka has a position (nothing consumed since assignment),
  /// how far this process had read it (a partition read on) or its commit
  /// at assignment stands in; with neither, no figure.
  /// Paused (idle), nothing is fetched and the cache stands still while the
  /// lag grows, just when someone looks at it: the broker is asked instead.
  void report_lag() {
    const auto now = steady::now();
    if (assigned_.empty() || now - last_lag_ < lag_interval) return;
    last_lag_ = now;
    const partitions_ptr list = list_of(assigned_);
    if (rd_kafka_position(consumer_.get(), list.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
    for (int i = 0; i < list->cnt; ++i) {
      const auto& p = list->elems[i];
      std::int64_t low = 0, high = 0;
      const std::int64_t position = p.offset >= 0 ? p.offset : known_position({p.topic, p.partition});
      if (position < 0) continue;
      const auto err = idle_ ? rd_kafka_query_watermark_offsets(consumer_.get(), p.topic, p.partition, &low, &high,
                                                                lag_query_timeout_ms)
                             : rd_kafka_get_watermark_offsets(consumer_.get(), p.topic, p.partition, &low, &high);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR && idle_) return;  // the broker is away: not one wait per partition
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR || high < 0) continue;
      ctx_.gauge("consumer_lag", lag_help, static_cast<double>(std::max<std::int64_t>(0, high - position)),
                 {{"topic", p.topic}, {"partition", std::to_string(p.partition)}});
    }
  }

  /// The next offset this process reads of `p`, without librdkafka's position; negative: not known.
  std::int64_t known_position(const partition_key& p) const {
    if (const auto read = read_to_.find(p); read != read_to_.end()) return read->second;
    const auto stored = stored_at_.find(p);
    return stored != stored_at_.end() ? stored->second : -1;
  }

  void rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, const rd_kafka_topic_partition_list_t& list) {
    const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    auto* mutable_list = const_cast<rd_kafka_topic_partition_list_t*>(&list);
    std::set<partition_key> changed;
    for (int i = 0; i < list.cnt; ++i) changed.insert({list.elems[i].topic, list.elems[i].partition});
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      assigned_.insert(changed.begin(), changed.end());
      // Incremental: the list is only what changed, maybe nothing; say what is read now.
      ctx_.log().info("assigned " + (cooperative ? (list.cnt ? describe(list) : "no more partitions") +
                                                       "; reading " + describe(*list_of(assigned_))
                                                 : describe(list)));
      if (warm_up_.count() > 0) start_warm_up(rk, *mutable_list);
      if (cooperative) rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, mutable_list));
      else rd_kafka_assign(rk, mutable_list);
      if (idle_) pause(changed);
      return;
    }
    // Revoked: commit what is handled while the partitions are still ours.
    // This runs inside rd_kafka_consumer_poll(): nothing may throw through C.
    if (!rd_kafka_assignment_lost(rk)) {
      try {
        store_done();
        if (const auto failed = commit_now(false))
          ctx_.log().warning("offset commit before giving up " + describe(list) + " failed: " +
                             rd_kafka_err2str(failed) + "; their new owner reads again from the last commit "
                             "(duplicate alerts, no lost readings)");
        else
          for (const auto& p : changed) {  // one still warming up must warm up again: its meters are not whole
            const auto stored = stored_at_.find(p);
            const std::int64_t read_to = read_to_.count(p) ? read_to_[p] : -1;
            if (stored != stored_at_.end() && !warm_.warming(p, read_to))
              left_at_[p] = {stored->second, std::max(read_to, stored->second)};
          }
      } catch (...) {
        failure_ = std::current_exception();
      }
    }
    std::set<partition_key> kept = assigned_;
    for (const auto& p : changed) kept.erase(p);
    ctx_.log().info("revoked " + describe(list) + (cooperative ? "; still reading " + describe(*list_of(kept)) : ""));
    // librdkafka keeps a partition paused across a rebalance: one given up
    // paused would come back paused, and never be read, if assigned again.
    resume(changed);
    for (const auto& p : changed) {
      tracker_.forget(p);
      warm_.forget(p);
      stored_at_.erase(p);
      read_to_.erase(p);
      if (indexes_)
        for (const auto& meter : holds_.forget(p)) indexes_->forget(meter);
      assigned_.erase(p);
      ctx_.gauge("consumer_lag", lag_help, std::numeric_limits<double>::quiet_NaN(),
                 {{"topic", p.first}, {"partition", std::to_string(p.second)}});
      at_end_.erase(p);
    }
    if (cooperative) rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, mutable_list));
    else rd_kafka_assign(rk, nullptr);
  }

  /// Where this process left a partition it gave up: its committed offset
  /// (RD_KAFKA_OFFSET_INVALID: none) and the next offset it would have read.
  struct given_up {
    std::int64_t committed, read_to;
  };

  /// Each partition of `list` (just assigned) with a committed offset starts
  /// up to most_warm_up_messages before it instead (not before the oldest
  /// the broker keeps): what it reads up to the committed offset, stamped
  /// within `warm_up` of now, is read again to warm up. Asked of the broker,
  /// as a rebalance waits for it: one that does not answer leaves the
  /// partitions cold, as it says. A partition back at the offset this
  /// process committed when it gave it up (or with no commit, as then) was
  /// committed past by no one else, and the stages still hold its meters:
  /// it is read on (the eager protocol gives up every partition at each
  /// rebalance; range and round-robin give most back to the same member).
  void start_warm_up(rd_kafka_t* rk, rd_kafka_topic_partition_list_t& list) {
    constexpr std::int64_t most_warm_up_messages = 100000;
    const auto left_at = std::exchange(left_at_, {});  // only the last revocation's
    const partitions_ptr committed{rd_kafka_topic_partition_list_copy(&list)};
    if (const auto err = rd_kafka_committed(rk, committed.get(), assignment_query_timeout_ms))
      return cold(list, rd_kafka_err2str(err));
    const std::int64_t since_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch() - warm_up_).count();
    for (int i = 0; i < list.cnt; ++i) {
      auto& p = list.elems[i];
      const partition_key key{p.topic, p.partition};
      if (committed->elems[i].err) continue;
      const std::int64_t at = committed->elems[i].offset;  // RD_KAFKA_OFFSET_INVALID: no commit yet
      stored_at_[key] = at;  // still so at the next revocation if nothing is stored meanwhile
      if (const auto left = left_at.find(key); left != left_at.end() && left->second.committed == at) {
        read_on(rk, p, left->second);
        continue;
      }
      if (at <= 0) continue;  // no commit yet (a new group): as it is
      std::int64_t oldest = 0, end = 0;
      if (const auto err = rd_kafka_query_watermark_offsets(rk, p.topic, p.partition, &oldest, &end,
                                                            assignment_query_timeout_ms))
        return cold(list, rd_kafka_err2str(err));
      const std::int64_t from = std::max(oldest, at - most_warm_up_messages);
      if (from >= at) continue;
      p.offset = from;
      warm_.start(key, at, since_ms);
      ctx_.log().info("warming up " + std::string(p.topic) + " [" + std::to_string(p.partition) + "]: reading again " +
                      "what came in the last " + duration_text(warm_up_) + " before offset " + std::to_string(at) +
                      ", scored but not delivered");
    }
  }

  /// `p` is back where this process left it: read on after what this
  /// process read of it, which its sinks still hold when they are behind (a
  /// stalled phone service) and deliver; read again, it would be delivered
  /// twice. Committed once every read before now is handled, as if never
  /// given up. Not past what the log holds now (a topic made again, a log
  /// cut short): a commit there would stand for messages yet to come.
  void read_on(rd_kafka_t* rk, rd_kafka_topic_partition_t& p, const given_up& at) {
    const partition_key key{p.topic, p.partition};
    std::int64_t oldest = 0, end = -1;
    const bool read_past = at.read_to > std::max<std::int64_t>(at.committed, 0) &&
                           !rd_kafka_query_watermark_offsets(rk, p.topic, p.partition, &oldest, &end,
                                                             assignment_query_timeout_ms) &&
                           oldest <= at.read_to && at.read_to <= end;
    if (read_past) {
      p.offset = at.read_to;
      read_to_[key] = at.read_to;  // where it is left again, should it go before reading more
      tracker_.read(offsets{{key, at.read_to}}, false);
    }
    if (at.committed <= 0 && !read_past) return;  // nothing committed, nothing to read on after: as it is
    ctx_.log().info("not warming up " + std::string(p.topic) + " [" + std::to_string(p.partition) + "]: back " +
                    (at.committed > 0 ? "at offset " + std::to_string(at.committed) : "with no offset committed") +
                    ", where this process left it" +
                    (read_past ? "; reading on from offset " + std::to_string(at.read_to) +
                                     ", where it had read to (what it read is not read again)"
                               : ""));
  }

  void cold(const rd_kafka_topic_partition_list_t& list, const std::string& why) {
    ctx_.log().warning("cannot warm up " + describe(list) + ": " + why + "; read on from the committed offsets, "
                       "what the stages keep of their meters starts afresh");
  }

  /// Pauses these assigned partitions (librdkafka drops what it prefetched).
  void pause(const std::set<partition_key>& partitions) {
    if (partitions.empty()) return;
    const partitions_ptr list = list_of(partitions);
    rd_kafka_pause_partitions(consumer_.get(), list.get());
    paused_.insert(partitions.begin(), partitions.end());
    ctx_.log().info("paused " + describe(*list) + " until the sinks catch up");
  }

  /// Resumes those of `partitions` that idle() paused: fetching goes on from
  /// the next offset not yet read.
  void resume(const std::set<partition_key>& partitions) {
    std::set<partition_key> these;
    for (const auto& p : partitions)
      if (paused_.erase(p) > 0) these.insert(p);
    if (these.empty()) return;
    const partitions_ptr list = list_of(these);
    rd_kafka_resume_partitions(consumer_.get(), list.get());
    ctx_.log().info("resumed " + describe(*list));
  }

  bool at_end() const {
    if (assigned_.empty()) return false;
    for (const auto& p : assigned_)
      if (!at_end_.count(p)) return false;
    return true;
  }

  stage_context& ctx_;
  kafka::connection connection_;
  kafka::broker_health brokers_{ctx_};
  std::vector<std::string> topics_;
  std::unique_ptr<payload_decoder> decoder_;
  reading_mapping mapping_;
  std::optional<meter_indexes> indexes_;  // wh_kind = "index"
  std::string dead_letter_topic_;
  bool stop_at_end_;
  std::chrono::milliseconds commit_interval_;
  std::chrono::milliseconds warm_up_;  // 0: none

  client_ptr consumer_, dead_letters_;
  queue_ptr queue_;  // the consumer's queue, for batch reads; released before the consumer
  std::vector<rd_kafka_message_t*> messages_;  // one read's messages
  std::vector<position> positions_;            // one read's partitions
  std::vector<payload_field> fields_;  // reused for every message
  offset_tracker tracker_;
  index_holds holds_;         // wh_kind = "index"
  warm_up_marks warm_;
  std::deque<reading> use_;   // the readings one index completes
  std::set<partition_key> assigned_, at_end_;
  offsets stored_at_;  // the offset last stored per partition, committed by the next commit
  offsets read_to_;    // the next offset to read per partition, as far as this process has read
  std::map<partition_key, given_up> left_at_;  // where this process left the partitions it gave up
  std::set<partition_key> paused_;  // by idle(), until the next read() or their revocation
  bool idle_ = false;               // idle() since the last read(): partitions assigned now are paused too
  std::string dead_letter_failure_;
  std::exception_ptr failure_;  // from a rebalance callback, rethrown by read()
  steady::time_point last_commit_;
  steady::time_point last_lag_{};
  bool stored_ = false;
  std::uint64_t readings_ = 0, warmed_ = 0;
  reading_fields::skipped_records skipped_{ctx_, "undecodable messages"};
  reading_fields::skipped_records indexes_left_out_{ctx_, "indexes left out", false};
  bool time_field_checked_ = false;
};

} // namespace

STREAM_SMARTS_PLUGIN(stream_smarts::source_plugin<kafka_consumer_source>(
    {"kafka_source", {}, "0.1.0", "Reads readings from Kafka topics as a consumer group member, at least once",
     declared_options()}))
