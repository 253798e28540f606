// The data side of bench/kafka/run.
//
//   kafka_bench_data preload --brokers A --topic T --messages N [--meters K]
//       [--alert-share P] [--model FILE] [--timezone ZONE] [--start EPOCH_S]
//     Writes N hourly readings {"ts":"<local ISO-8601 with offset>","wh":<Wh>}
//     keyed "meter-NNNN" (K meters, round robin; each meter's hours in order).
//     Energy follows a daily shape inside the model's band for the local hour;
//     a share P (default 3 %) is drawn above the band's top, so exactly those
//     are alerts (score > 1). Deterministic. Then checks that the broker kept
//     everything (every partition's low watermark is 0, the high ones add up
//     to N) and prints "messages=N expected_alerts=E bytes=B".
//
//   kafka_bench_data check --brokers A --input T --group G --output O
//     Reads the output topic O whole and prints "output_messages=X
//     first_alert_ms=F last_alert_ms=L digest=D committed=Y input_messages=Z":
//     how many alerts O holds, when the first and the last were produced (their
//     CreateTime stamps), a digest of the alerts (key and value, in any order:
//     equal digests = the same alerts), and the offsets group G committed on
//     the input topic T against its end offsets.
#include "common.hpp"

#include <zone.hpp>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstring>
#include <iostream>
#include <memory>

namespace {

using namespace kbench;
namespace ss = stream_smarts;

struct args {
  std::string command, brokers, topic, input, output, group, model, timezone = "Europe/Paris";
  std::uint64_t messages = 0;
  int meters = 200;
  double alert_share = 0.03;
  std::int64_t start_s = 1201820400;  // 2008-02-01T00:00:00+01:00: the range crosses the spring DST change
};

args parse_args(int argc, char** argv) {
  if (argc < 2) die("usage: kafka_bench_data preload|check --brokers HOST:PORT ...");
  args a;
  a.command = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--brokers") a.brokers = v;
    else if (k == "--topic") a.topic = v;
    else if (k == "--input") a.input = v;
    else if (k == "--output") a.output = v;
    else if (k == "--group") a.group = v;
    else if (k == "--model") a.model = v;
    else if (k == "--timezone") a.timezone = v;
    else if (k == "--messages") a.messages = std::stoull(v);
    else if (k == "--meters") a.meters = std::stoi(v);
    else if (k == "--alert-share") a.alert_share = std::stod(v);
    else if (k == "--start") a.start_s = std::stoll(v);
    else die("unknown option " + k);
  }
  if (argc % 2 != 0) die("options come in pairs");
  if (a.brokers.empty()) die("--brokers is required");
  return a;
}

/// splitmix64: a fixed sequence, so every run preloads the same messages.
struct random_source {
  std::uint64_t state = 0x5eed;
  double uniform() {  // [0, 1)
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
  }
};

/// Where in its band a household's use usually sits, by local hour: low at
/// night, a morning and a larger evening peak.
constexpr double daily_shape[24] = {0.10, 0.08, 0.07, 0.07, 0.07, 0.09, 0.20, 0.35, 0.40, 0.30, 0.25, 0.28,
                                    0.33, 0.28, 0.25, 0.26, 0.30, 0.42, 0.55, 0.62, 0.58, 0.45, 0.30, 0.18};

std::pair<std::int64_t, std::int64_t> watermarks(rd_kafka_t* rk, const std::string& topic, int partition) {
  std::int64_t lo = 0, hi = 0;
  if (auto err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &lo, &hi, 10000))
    die("watermarks of " + topic + " [" + std::to_string(partition) + "]: " + rd_kafka_err2str(err));
  return {lo, hi};
}

int partitions_of(rd_kafka_t* rk, const std::string& topic) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  if (auto err = rd_kafka_metadata(rk, 0, t, &md, 10000)) die("metadata of " + topic + ": " + rd_kafka_err2str(err));
  const int n = md->topic_cnt == 1 && !md->topics[0].err ? md->topics[0].partition_cnt : 0;
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(t);
  if (n == 0) die("topic " + topic + " does not exist");
  return n;
}

int preload(const args& a) {
  if (a.topic.empty() || a.messages == 0 || a.model.empty() || a.meters <= 0) die("preload needs --topic, --messages, --model");
  const auto zone = ss::runtime::load_time_zone(a.timezone);
  const band_table bands = load_bands(a.model);
  rd_kafka_t* p = make_client(RD_KAFKA_PRODUCER, make_conf({{"bootstrap.servers", a.brokers},
                                                            {"linger.ms", "50"},
                                                            {"batch.num.messages", "10000"},
                                                            {"queue.buffering.max.messages", "1000000"},
                                                            {"queue.buffering.max.kbytes", "1048576"}}));
  rd_kafka_topic_t* t = rd_kafka_topic_new(p, a.topic.c_str(), nullptr);
  random_source rnd;
  std::uint64_t alerts = 0, bytes = 0;
  char key[32], value[128];
  for (std::uint64_t i = 0; i < a.messages; ++i) {
    const int meter = static_cast<int>(i % static_cast<std::uint64_t>(a.meters));
    const std::int64_t ts_ms = (a.start_s + static_cast<std::int64_t>(i / static_cast<std::uint64_t>(a.meters)) * 3600) * 1000;
    const ss::local_fields local = zone->local(ts_ms);
    const pb::band& b = bands[static_cast<std::size_t>(local.weekday * pb::hours_per_day + local.hour)];
    double wh;
    if (rnd.uniform() < a.alert_share) {
      wh = b.hi * (1.02 + 0.5 * rnd.uniform());  // above the band: an alert, even once rounded
      ++alerts;
    } else {
      wh = b.lo + (b.hi - b.lo) * std::min(0.95, daily_shape[local.hour] * (0.5 + rnd.uniform()));
    }
    const int klen = std::snprintf(key, sizeof key, "meter-%04d", meter);
    const int vlen = std::snprintf(value, sizeof value, "{\"ts\":\"%s\",\"wh\":%.2f}",
                                   ss::format_local_iso8601(local).c_str(), wh);
    bytes += static_cast<std::uint64_t>(klen + vlen);
    while (rd_kafka_produce(t, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, value, static_cast<std::size_t>(vlen), key,
                            static_cast<std::size_t>(klen), nullptr) != 0) {
      if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) die(rd_kafka_err2str(rd_kafka_last_error()));
      rd_kafka_poll(p, 10);
    }
    rd_kafka_poll(p, 0);
  }
  if (rd_kafka_flush(p, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) die("preload: flush timed out");
  // The mock cluster silently drops a partition's oldest data past ~5 MiB:
  // make sure all of it is still there.
  std::int64_t kept = 0;
  const int partitions = partitions_of(p, a.topic);
  for (int i = 0; i < partitions; ++i) {
    const auto [lo, hi] = watermarks(p, a.topic, i);
    if (lo != 0) die("partition " + std::to_string(i) + " dropped its first " + std::to_string(lo) +
                     " messages (retention): use fewer messages per partition");
    kept += hi;
  }
  if (kept != static_cast<std::int64_t>(a.messages))
    die("the topic holds " + std::to_string(kept) + " messages, not " + std::to_string(a.messages) +
        " (not a fresh topic?)");
  rd_kafka_topic_destroy(t);
  rd_kafka_destroy(p);
  std::printf("messages=%" PRIu64 " expected_alerts=%" PRIu64 " bytes=%" PRIu64 " partitions=%d\n", a.messages, alerts,
              bytes, partitions);
  return 0;
}

/// Reads a whole topic from the beginning (assigned, no group): how many
/// messages, their earliest and latest timestamps (the producer's CreateTime:
/// when each alert was produced), and a digest of the multiset of key/value
/// pairs, so two runs can be shown to have written the same alerts.
struct topic_summary {
  std::int64_t messages = 0, first_ts = -1, last_ts = -1;
  std::uint64_t digest = 0;
};

topic_summary summarize(const args& a, const std::string& topic) {
  rd_kafka_t* c = make_client(RD_KAFKA_CONSUMER, make_conf({{"bootstrap.servers", a.brokers},
                                                            {"group.id", "kbench-check"},
                                                            {"enable.auto.commit", "false"},
                                                            {"enable.partition.eof", "true"}}));
  const int n = partitions_of(c, topic);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(n);
  int to_read = 0;
  for (int i = 0; i < n; ++i) {
    const auto [lo, hi] = watermarks(c, topic, i);
    if (hi > lo) {
      rd_kafka_topic_partition_list_add(list, topic.c_str(), i)->offset = lo;
      ++to_read;
    }
  }
  rd_kafka_assign(c, list);
  rd_kafka_topic_partition_list_destroy(list);
  topic_summary s;
  std::vector<std::string> pairs;
  while (to_read > 0) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 10000);
    if (m == nullptr) die("reading " + topic + ": timed out");
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) --to_read;
    else if (m->err) die("reading " + topic + ": " + rd_kafka_message_errstr(m));
    else {
      ++s.messages;
      const std::int64_t ts = rd_kafka_message_timestamp(m, nullptr);
      if (s.first_ts < 0 || ts < s.first_ts) s.first_ts = ts;
      if (ts > s.last_ts) s.last_ts = ts;
      pairs.emplace_back(std::string(static_cast<const char*>(m->key), m->key_len) + '\0' +
                         std::string(static_cast<const char*>(m->payload), m->len));
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  std::sort(pairs.begin(), pairs.end());
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a over the sorted pairs
  for (const auto& p : pairs)
    for (const char ch : p + '\n') h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ULL;
  s.digest = h;
  return s;
}

int check(const args& a) {
  if (a.input.empty() || a.output.empty() || a.group.empty()) die("check needs --input, --output, --group");
  const topic_summary out = summarize(a, a.output);
  rd_kafka_t* c = make_client(RD_KAFKA_CONSUMER, make_conf({{"bootstrap.servers", a.brokers}, {"group.id", a.group}}));
  std::int64_t committed = 0, input = 0;
  const int n = partitions_of(c, a.input);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(n);
  for (int i = 0; i < n; ++i) {
    rd_kafka_topic_partition_list_add(list, a.input.c_str(), i);
    input += watermarks(c, a.input, i).second;
  }
  if (auto err = rd_kafka_committed(c, list, 10000)) die(std::string("committed offsets: ") + rd_kafka_err2str(err));
  for (int i = 0; i < list->cnt; ++i)
    if (list->elems[i].offset >= 0) committed += list->elems[i].offset;
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_destroy(c);
  std::printf("output_messages=%" PRId64 " first_alert_ms=%" PRId64 " last_alert_ms=%" PRId64
              " digest=%016" PRIx64 " committed=%" PRId64 " input_messages=%" PRId64 "\n",
              out.messages, out.first_ts, out.last_ts, out.digest, committed, input);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  try {
    const args a = parse_args(argc, argv);
    if (a.command == "preload") return preload(a);
    if (a.command == "check") return check(a);
    die("unknown command '" + a.command + "' (preload, check)");
  } catch (const std::exception& e) {
    die(e.what());
  }
}
