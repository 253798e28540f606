// End-to-end latency for bench/run: from a reading produced to Kafka to its
// alert consumed from Kafka, through whatever scores in between
// (stream-smarts: kafka_source -> percentile_band -> kafka_sink).
//
//   kafka_e2e_latency --brokers A --input T --output O --model FILE
//       [--timezone ZONE] [--rate N] [--seconds S] [--warmup S] [--meters K]
//       [-P key=value]... [-C key=value]...
//
// One process, one steady clock, two threads:
//   - the producer writes N readings a second (default 1,000) at a steady
//     pace (each due at start + i / N, slept to with an absolute deadline),
//     {"wh":<Wh>,"seq":<i>} keyed "meter-NNNN" (K meters, round robin), with
//     the wall clock as the message timestamp (the reading's time: no
//     ts_field). Readings alternate per meter and in time between inside the
//     band of the model for the current local hour and above it, so every
//     other reading is unusual and, as each one opens a new episode, raises
//     an alert under the default alert policy: N / 2 alerts a second. The
//     steady time just before each rd_kafka_produce is kept per seq.
//   - the consumer reads the output topic (assigned from the beginning, no
//     group: it must be fresh), takes "seq" from each alert's labels (the
//     source makes unmapped fields labels, the sink writes them) and records
//     the steady time it came out of rd_kafka_consumer_poll minus the time
//     that reading was produced.
// Readings produced in the first --warmup seconds are not counted (the
// pipeline's clients are still connecting). With --output the same as
// --input, every reading is its own "alert": the floor of the path through
// the broker with nothing in between. Prints one line of key=value figures;
// exits 1 if an expected alert never arrived.
#include "common.hpp"

#include <zone.hpp>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstring>
#include <ctime>
#include <memory>
#include <thread>

namespace {

using namespace kbench;
namespace ss = stream_smarts;

const char* usage = R"(usage: kafka_e2e_latency --brokers HOST:PORT --input TOPIC --output TOPIC --model FILE
         [--timezone ZONE] [--rate N] [--seconds S] [--warmup S] [--meters K]
         [-P key=value]... [-C key=value]...
  -P: property of the producer of readings, -C: of the consumer of alerts (librdkafka names).
)";

struct settings {
  std::string brokers, input, output, model, timezone = "Europe/Paris";
  double rate = 1000, seconds = 30, warmup = 2;
  int meters = 100;
  properties producer, consumer;
};

settings parse_args(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) die("missing value for " + arg + "\n" + usage);
    const std::string v = argv[++i];
    if (arg == "--brokers") s.brokers = v;
    else if (arg == "--input") s.input = v;
    else if (arg == "--output") s.output = v;
    else if (arg == "--model") s.model = v;
    else if (arg == "--timezone") s.timezone = v;
    else if (arg == "--rate") s.rate = std::stod(v);
    else if (arg == "--seconds") s.seconds = std::stod(v);
    else if (arg == "--warmup") s.warmup = std::stod(v);
    else if (arg == "--meters") s.meters = std::stoi(v);
    else if (arg == "-P") s.producer.push_back(split_property(v));
    else if (arg == "-C") s.consumer.push_back(split_property(v));
    else die("unknown option " + arg + "\n" + usage);
  }
  if (s.brokers.empty() || s.input.empty() || s.output.empty() || s.model.empty() || !(s.rate > 0) ||
      !(s.seconds > 0) || s.warmup < 0 || s.meters <= 0)
    die(std::string("missing or bad options\n") + usage);
  return s;
}

std::int64_t steady_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

void sleep_until_ns(std::int64_t deadline) {
  const timespec t{static_cast<time_t>(deadline / 1000000000), static_cast<long>(deadline % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, nullptr) != 0) {
  }
}

/// The "seq" label of an alert: "labels":{...,"seq":"123",...}.
bool seq_of(const char* payload, std::size_t len, std::uint64_t& seq) {
  static constexpr char needle[] = "\"seq\":";
  const char* end = payload + len;
  const char* at = std::search(payload, end, needle, needle + sizeof needle - 1);
  if (at == end) return false;
  at += sizeof needle - 1;
  if (at < end && *at == '"') ++at;
  std::uint64_t v = 0;
  const char* digits = at;
  for (; at < end && *at >= '0' && *at <= '9'; ++at) v = v * 10 + static_cast<std::uint64_t>(*at - '0');
  if (at == digits) return false;
  seq = v;
  return true;
}

class probe {
public:
  explicit probe(settings s)
      : s_(std::move(s)),
        zone_(ss::runtime::load_time_zone(s_.timezone)),
        bands_(load_bands(s_.model)),
        total_(static_cast<std::uint64_t>(s_.rate * s_.seconds)),
        warmup_(static_cast<std::uint64_t>(s_.rate * s_.warmup)),
        sent_ns_(new std::atomic<std::int64_t>[total_]),
        latency_ns_(total_, -1) {
    for (std::uint64_t i = 0; i < total_; ++i) sent_ns_[i].store(-1, std::memory_order_relaxed);
  }

  int run() {
    start_consumer();
    std::thread consumer([this] { consume(); });
    const std::uint64_t expected = produce();
    // Every alert of a reading produced should arrive; give the last ones time.
    const std::int64_t give_up = steady_ns() + 10'000'000'000LL;
    while (received_.load() < expected && steady_ns() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stop_.store(true);
    consumer.join();
    rd_kafka_consumer_close(consumer_);
    rd_kafka_destroy(consumer_);
    return report(expected);
  }

private:
  /// Reading its own input topic: the floor, producer -> broker -> consumer with nothing in between.
  bool passthrough() const { return s_.input == s_.output; }

  void start_consumer() {
    properties c{{"bootstrap.servers", s_.brokers},
                 {"client.id", "e2e-latency-consumer"},
                 {"group.id", "e2e-latency-probe"},  // required by librdkafka; partitions are assigned, not subscribed
                 {"enable.auto.commit", "false"}};
    c.insert(c.end(), s_.consumer.begin(), s_.consumer.end());
    consumer_ = make_client(RD_KAFKA_CONSUMER, make_conf(c));
    rd_kafka_topic_t* t = rd_kafka_topic_new(consumer_, s_.output.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(consumer_, 0, t, &md, 10000) || md->topic_cnt != 1 || md->topics[0].err)
      die("no metadata for topic '" + s_.output + "'");
    const int partitions = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; ++p)
      rd_kafka_topic_partition_list_add(list, s_.output.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    if (auto err = rd_kafka_assign(consumer_, list)) die(std::string("assign: ") + rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(list);
  }

  void consume() {
    while (!stop_.load(std::memory_order_relaxed)) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_, 100);
      if (m == nullptr) continue;
      const std::int64_t now = steady_ns();
      std::uint64_t seq = 0;
      if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) std::fprintf(stderr, "consumer: %s\n", rd_kafka_message_errstr(m));
      } else if (!seq_of(static_cast<const char*>(m->payload), m->len, seq) || seq >= total_) {
        ++foreign_;
      } else {
        const std::int64_t sent = sent_ns_[seq].load(std::memory_order_acquire);
        if (sent < 0) ++foreign_;
        else if (latency_ns_[seq] >= 0) ++duplicates_;
        else {
          latency_ns_[seq] = now - sent;
          if (seq >= warmup_) received_.fetch_add(1, std::memory_order_relaxed);
        }
      }
      rd_kafka_message_destroy(m);
    }
  }

  /// Produces every reading at its due time; returns how many alerts to expect.
  std::uint64_t produce() {
    properties p{{"bootstrap.servers", s_.brokers}, {"client.id", "e2e-latency-producer"}};
    p.insert(p.end(), s_.producer.begin(), s_.producer.end());
    rd_kafka_t* producer = make_client(RD_KAFKA_PRODUCER, make_conf(p));
    // Metadata first, or the first readings wait for a topic lookup.
    rd_kafka_topic_t* topic = rd_kafka_topic_new(producer, s_.input.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(producer, 0, topic, &md, 10000)) die("no metadata for topic '" + s_.input + "'");
    rd_kafka_metadata_destroy(md);

    const auto period_ns = static_cast<std::int64_t>(1e9 / s_.rate);
    const std::int64_t start = steady_ns() + 10'000'000;
    std::uint64_t expected = 0;
    char key[32], value[96];
    for (std::uint64_t i = 0; i < total_; ++i) {
      sleep_until_ns(start + static_cast<std::int64_t>(i) * period_ns);
      const auto meters = static_cast<std::uint64_t>(s_.meters);
      const std::uint64_t meter = i % meters;
      // Alternates per meter (every other reading of a meter) and in time (every other reading).
      const bool unusual = ((i / meters) + meter) % 2 == 1;
      const auto ts_ms = static_cast<std::int64_t>(wall_ms());
      const ss::local_fields local = zone_->local(ts_ms);
      const pb::band& b = bands_[static_cast<std::size_t>(local.weekday * pb::hours_per_day + local.hour)];
      const double wh = unusual ? b.hi * 1.2 + 10 : b.lo + 0.3 * (b.hi - b.lo);
      const int klen = std::snprintf(key, sizeof key, "meter-%04" PRIu64, meter);
      const int vlen = std::snprintf(value, sizeof value, "{\"wh\":%.2f,\"seq\":%" PRIu64 "}", wh, i);
      if ((unusual || passthrough()) && i >= warmup_) ++expected;
      sent_ns_[i].store(steady_ns(), std::memory_order_release);
      rd_kafka_resp_err_t err;
      while ((err = rd_kafka_producev(producer, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_KEY(key, static_cast<std::size_t>(klen)),
                                      RD_KAFKA_V_VALUE(value, static_cast<std::size_t>(vlen)),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(ts_ms),
                                      RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(producer, 1);
      if (err) die(std::string("produce: ") + rd_kafka_err2str(err));
      rd_kafka_poll(producer, 0);
    }
    produce_seconds_ = static_cast<double>(steady_ns() - start) / 1e9;
    if (rd_kafka_flush(producer, 30000)) die("producer: flush timed out");
    rd_kafka_topic_destroy(topic);
    rd_kafka_destroy(producer);
    return expected;
  }

  int report(std::uint64_t expected) {
    std::vector<double> us;
    for (std::uint64_t i = warmup_; i < total_; ++i)
      if (latency_ns_[i] >= 0) us.push_back(static_cast<double>(latency_ns_[i]) / 1000.0);
    std::sort(us.begin(), us.end());
    const auto pct = [&](double p) {
      return us.empty() ? 0.0 : us[static_cast<std::size_t>(p * static_cast<double>(us.size() - 1))];
    };
    std::printf("readings=%" PRIu64 " produce_rate=%.1f expected_alerts=%" PRIu64 " measured=%zu missing=%" PRIu64
                " duplicates=%" PRIu64 " foreign=%" PRIu64 " p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f\n",
                total_, static_cast<double>(total_) / produce_seconds_, expected, us.size(),
                expected > us.size() ? expected - us.size() : 0, duplicates_, foreign_, pct(0.50), pct(0.90),
                pct(0.99), us.empty() ? 0.0 : us.back());
    return us.size() >= expected ? 0 : 1;
  }

  settings s_;
  std::unique_ptr<ss::time_zone> zone_;
  band_table bands_;
  const std::uint64_t total_, warmup_;
  std::unique_ptr<std::atomic<std::int64_t>[]> sent_ns_;  ///< steady ns just before each reading's produce
  std::vector<std::int64_t> latency_ns_;                  ///< per seq; written by the consumer thread only
  rd_kafka_t* consumer_ = nullptr;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> received_{0};  ///< alerts of readings past the warm-up
  std::uint64_t duplicates_ = 0, foreign_ = 0;
  double produce_seconds_ = 0;
};

} // namespace

int main(int argc, char** argv) {
  try {
    return probe(parse_args(argc, argv)).run();
  } catch (const std::exception& e) {
    die(e.what());
  }
}
