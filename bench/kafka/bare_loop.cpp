// The baseline of bench/kafka/run: what a competent engineer would write
// without stream-smarts. One thread, librdkafka's C API:
//
//   consume a batch (group member, subscribe) -> parse each JSON payload
//   (the plugins' flat_json_parser) -> local hour in Europe/Paris (the
//   runtime's own time zone code) -> band lookup (the percentile_band
//   model code) -> score = (wh - lo) / (hi - lo) -> alerts (score > the
//   threshold) produced as the Kafka sink's JSON, keyed by meter
//
// with the Kafka source's commit policy: a batch's offsets are stored only
// once every alert produced from it (and from every batch before it) is
// acknowledged by the broker, and stored offsets are committed every
// commit interval (1 s), then synchronously at the end. Auto commit and auto
// offset store are off; the producer is idempotent. Deliveries are awaited
// without stalling the consumer (delivery reports are counted per batch);
// --flush-each-batch waits for them synchronously instead, as the
// stream-smarts Kafka sink does in flush().
//
// Prints one line of key=value figures (times are wall-clock ms, like the
// runtime's log stamps) and exits 0 when every assigned partition is read
// to its end (enable.partition.eof is forced on).
#include "common.hpp"

#include <common/json.hpp>
#include <common/reading_fields.hpp>
#include <zone.hpp>

#include <charconv>
#include <cinttypes>
#include <cstring>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <set>

namespace {

using namespace kbench;
namespace ss = stream_smarts;
using steady = std::chrono::steady_clock;

const char* usage = R"(usage: kafka_bare_loop --brokers HOST:PORT --input TOPIC --output TOPIC --group ID
         --model FILE [--timezone ZONE] [--threshold X] [--batch N] [--commit-interval-ms N]
         [--scorer-name NAME] [--flush-each-batch] [-C key=value]... [-P key=value]...
  -C: consumer property, -P: producer property (librdkafka names).
)";

struct settings {
  std::string brokers, input, output, group, model, timezone = "Europe/Paris", scorer_name = "band";
  double threshold = 1.0;
  std::size_t batch = 1024;
  std::chrono::milliseconds commit_interval{1000};
  bool flush_each_batch = false;
  properties consumer, producer;
};

settings parse_args(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--flush-each-batch") {
      s.flush_each_batch = true;
      continue;
    }
    if (i + 1 >= argc) die("missing value for " + arg + "\n" + usage);
    const std::string v = argv[++i];
    if (arg == "--brokers") s.brokers = v;
    else if (arg == "--input") s.input = v;
    else if (arg == "--output") s.output = v;
    else if (arg == "--group") s.group = v;
    else if (arg == "--model") s.model = v;
    else if (arg == "--timezone") s.timezone = v;
    else if (arg == "--scorer-name") s.scorer_name = v;
    else if (arg == "--threshold") s.threshold = std::stod(v);
    else if (arg == "--batch") s.batch = std::stoul(v);
    else if (arg == "--commit-interval-ms") s.commit_interval = std::chrono::milliseconds(std::stol(v));
    else if (arg == "-C") s.consumer.push_back(split_property(v));
    else if (arg == "-P") s.producer.push_back(split_property(v));
    else die("unknown option " + arg + "\n" + usage);
  }
  if (s.brokers.empty() || s.input.empty() || s.output.empty() || s.group.empty() || s.model.empty() || s.batch == 0)
    die(std::string("missing options\n") + usage);
  return s;
}

/// Offsets of one consumed batch, and how many of its alerts await the broker's acknowledgement.
struct pending_batch {
  std::map<std::int32_t, std::int64_t> next;  ///< partition -> next offset to read
  std::size_t outstanding = 0;
};

class bare_loop {
public:
  explicit bare_loop(settings s)
      : s_(std::move(s)), zone_(ss::runtime::load_time_zone(s_.timezone)), bands_(load_bands(s_.model)) {}

  int run() {
    start_clients();
    consume_until_end();
    finish();
    std::printf("messages=%" PRIu64 " alerts=%" PRIu64 " undecodable=%" PRIu64 " assigned_ms=%.3f first_ms=%.3f "
                "last_ms=%.3f end_ms=%.3f commits=%" PRIu64 "\n",
                messages_, delivered_, undecodable_, assigned_ms_, first_ms_, last_ms_, end_ms_, commits_);
    return 0;
  }

private:
  // ------------------------------------------------------------ clients

  void start_clients() {
    properties c{{"bootstrap.servers", s_.brokers},
                 {"client.id", "bare-loop-consumer"},
                 {"group.id", s_.group},
                 {"auto.offset.reset", "earliest"},
                 {"enable.auto.commit", "false"},
                 {"enable.auto.offset.store", "false"},
                 {"enable.partition.eof", "true"}};
    c.insert(c.end(), s_.consumer.begin(), s_.consumer.end());
    rd_kafka_conf_t* cc = make_conf(c);
    rd_kafka_conf_set_opaque(cc, this);
    rd_kafka_conf_set_rebalance_cb(cc, [](rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                          rd_kafka_topic_partition_list_t* list, void* self) {
      static_cast<bare_loop*>(self)->rebalance(rk, err, list);
    });
    consumer_ = make_client(RD_KAFKA_CONSUMER, cc);
    rd_kafka_poll_set_consumer(consumer_);
    queue_ = rd_kafka_queue_get_consumer(consumer_);

    properties p{{"bootstrap.servers", s_.brokers}, {"client.id", "bare-loop-producer"}, {"enable.idempotence", "true"}};
    p.insert(p.end(), s_.producer.begin(), s_.producer.end());
    rd_kafka_conf_t* pc = make_conf(p);
    rd_kafka_conf_set_opaque(pc, this);
    rd_kafka_conf_set_dr_msg_cb(pc, [](rd_kafka_t*, const rd_kafka_message_t* m, void* self) {
      static_cast<bare_loop*>(self)->delivered(*m);
    });
    producer_ = make_client(RD_KAFKA_PRODUCER, pc);
    // The output topic's metadata first, or the first alert waits ~1 s for a metadata scan.
    output_ = rd_kafka_topic_new(producer_, s_.output.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(producer_, 0, output_, &md, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
      die("no metadata for topic '" + s_.output + "'");
    rd_kafka_metadata_destroy(md);

    rd_kafka_topic_partition_list_t* sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, s_.input.c_str(), RD_KAFKA_PARTITION_UA);
    if (auto err = rd_kafka_subscribe(consumer_, sub)) die(std::string("subscribe: ") + rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(sub);
    last_commit_ = steady::now();
  }

  void rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* list) {
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      if (assigned_ms_ == 0) assigned_ms_ = wall_ms();
      for (int i = 0; i < list->cnt; ++i) assigned_.insert(list->elems[i].partition);
      rd_kafka_assign(rk, list);
      return;
    }
    // Revoked (at close, in this benchmark): commit what is delivered while the partitions are ours.
    if (!rd_kafka_assignment_lost(rk)) {
      drain_deliveries();
      commit_now(false);
    }
    for (int i = 0; i < list->cnt; ++i) {
      assigned_.erase(list->elems[i].partition);
      at_end_.erase(list->elems[i].partition);
    }
    rd_kafka_assign(rk, nullptr);
  }

  // ------------------------------------------------------------ the loop

  void consume_until_end() {
    std::vector<rd_kafka_message_t*> msgs(s_.batch);
    while (!at_end()) {
      // Take what is queued without waiting for a full batch; when nothing
      // is, block on one message (this also serves the rebalance callback).
      std::size_t n = take_batch(msgs.data(), msgs.size());
      if (n == 0) {
        rd_kafka_message_t* first = rd_kafka_consumer_poll(consumer_, 100);
        if (first == nullptr) continue;
        msgs[0] = first;
        n = 1 + take_batch(msgs.data() + 1, msgs.size() - 1);
      }
      pending_.emplace_back();
      const std::uint64_t seq = first_seq_ + pending_.size() - 1;
      for (std::size_t i = 0; i < n; ++i) {
        handle(*msgs[i], seq);
        rd_kafka_message_destroy(msgs[i]);
      }
      if (pending_.back().next.empty() && pending_.back().outstanding == 0) pending_.pop_back();  // only EOF events
      if (s_.flush_each_batch) flush_producer();
      rd_kafka_poll(producer_, 0);  // delivery reports: completes batches
      store_done();
    }
  }

  std::size_t take_batch(rd_kafka_message_t** out, std::size_t max) {
    if (max == 0) return 0;
    const ssize_t n = rd_kafka_consume_batch_queue(queue_, 0, out, max);
    if (n < 0) die(std::string("consume: ") + rd_kafka_err2str(rd_kafka_last_error()));
    return static_cast<std::size_t>(n);
  }

  void handle(const rd_kafka_message_t& m, std::uint64_t seq) {
    if (m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end_.insert(m.partition);
      return;
    }
    if (m.err) {
      std::fprintf(stderr, "Kafka: %s\n", rd_kafka_message_errstr(&m));
      return;
    }
    if (messages_++ == 0) first_ms_ = wall_ms();
    at_end_.erase(m.partition);
    pending_.back().next[m.partition] = m.offset + 1;
    score(m, seq);
  }

  void score(const rd_kafka_message_t& m, std::uint64_t seq) {
    const std::string_view payload(static_cast<const char*>(m.payload), m.len);
    if (!parser_.parse(payload, why_)) return undecodable();
    const auto* ts = parser_.find("ts");
    const auto* wh = parser_.find("wh");
    if (ts == nullptr || wh == nullptr || ts->type != ss::json::json_field::kind::string ||
        wh->type != ss::json::json_field::kind::number)
      return undecodable();
    std::int64_t ts_ms = 0;
    double energy = 0;
    if (!ss::reading_fields::parse_timestamp(ts->text, *zone_, ts_ms) ||
        !ss::reading_fields::parse_wh(wh->text, "wh", energy, why_))
      return undecodable();
    const ss::local_fields local = zone_->local(ts_ms);
    const pb::band& b = bands_[static_cast<std::size_t>(local.weekday * pb::hours_per_day + local.hour)];
    const double score = (energy - b.lo) / (b.hi - b.lo);
    if (!(score > s_.threshold)) return;
    // The Kafka sink's JSON alert object, byte for byte.
    ss::alert a;
    a.scored.reading.meter.assign(static_cast<const char*>(m.key), m.key_len);
    a.scored.reading.ts_ms = ts_ms;
    a.scored.reading.span_ms = 3'600'000;  // the kafka_source's `span` default: these are hourly readings
    a.scored.reading.wh = energy;
    a.scored.reading.local = local;
    a.scored.score = score;
    a.scored.expected_lo = b.lo;
    a.scored.expected_hi = b.hi;
    a.scored.scorer = s_.scorer_name;
    a.threshold = s_.threshold;
    payload_.clear();
    ss::json::append_alert(payload_, a);
    produce(m.key, m.key_len, seq);
  }

  void produce(const void* key, std::size_t key_len, std::uint64_t seq) {
    for (;;) {
      const int rc = rd_kafka_produce(output_, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, payload_.data(),
                                      payload_.size(), key, key_len, reinterpret_cast<void*>(seq));
      if (rc == 0) break;
      if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL)
        die(std::string("produce: ") + rd_kafka_err2str(rd_kafka_last_error()));
      rd_kafka_poll(producer_, 10);  // the local queue is full: let the broker take some
    }
    ++pending_[seq - first_seq_].outstanding;
  }

  void delivered(const rd_kafka_message_t& m) {
    // A benchmark stops here: its batch would stay pending, and nothing past it be committed.
    if (m.err) die(std::string("delivery failed: ") + rd_kafka_err2str(m.err));
    ++delivered_;
    const auto seq = reinterpret_cast<std::uintptr_t>(m._private);
    --pending_[seq - first_seq_].outstanding;
  }

  void undecodable() { ++undecodable_; }

  // ------------------------------------------------------------ offsets

  /// Stores the offsets of the oldest batches whose alerts are all delivered.
  void store_done() {
    std::map<std::int32_t, std::int64_t> done;
    while (!pending_.empty() && pending_.front().outstanding == 0) {
      for (const auto& [p, next] : pending_.front().next) done[p] = next;
      pending_.pop_front();
      ++first_seq_;
      last_ms_ = wall_ms();
    }
    if (!done.empty()) {
      rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(done.size()));
      for (const auto& [p, next] : done) rd_kafka_topic_partition_list_add(list, s_.input.c_str(), p)->offset = next;
      rd_kafka_offsets_store(consumer_, list);
      rd_kafka_topic_partition_list_destroy(list);
      stored_ = true;
    }
    if (stored_ && steady::now() - last_commit_ >= s_.commit_interval) commit_now(true);
  }

  void commit_now(bool async) {
    if (!stored_) return;
    const auto err = rd_kafka_commit(consumer_, nullptr, async ? 1 : 0);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) std::fprintf(stderr, "commit: %s\n", rd_kafka_err2str(err));
    else stored_ = false;
    ++commits_;
    last_commit_ = steady::now();
  }

  void flush_producer() {
    while (rd_kafka_flush(producer_, 1000) == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    }
  }

  void drain_deliveries() {
    flush_producer();
    store_done();
  }

  bool at_end() const {
    if (assigned_.empty()) return false;
    for (const auto p : assigned_)
      if (!at_end_.count(p)) return false;
    return true;
  }

  void finish() {
    drain_deliveries();
    commit_now(false);
    rd_kafka_queue_destroy(queue_);
    rd_kafka_consumer_close(consumer_);
    rd_kafka_destroy(consumer_);
    rd_kafka_topic_destroy(output_);
    rd_kafka_destroy(producer_);
    end_ms_ = wall_ms();
  }

  settings s_;
  std::unique_ptr<ss::time_zone> zone_;
  band_table bands_;
  ss::json::flat_json_parser parser_;
  std::string why_, payload_;

  rd_kafka_t* consumer_ = nullptr;
  rd_kafka_t* producer_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;
  rd_kafka_topic_t* output_ = nullptr;
  std::set<std::int32_t> assigned_, at_end_;
  std::deque<pending_batch> pending_;
  std::uint64_t first_seq_ = 0;  ///< sequence number of pending_.front()
  steady::time_point last_commit_;
  bool stored_ = false;

  std::uint64_t messages_ = 0, delivered_ = 0, undecodable_ = 0, commits_ = 0;
  double assigned_ms_ = 0, first_ms_ = 0, last_ms_ = 0, end_ms_ = 0;
};

} // namespace

int main(int argc, char** argv) {
  try {
    return bare_loop(parse_args(argc, argv)).run();
  } catch (const std::exception& e) {
    die(e.what());
  }
}
