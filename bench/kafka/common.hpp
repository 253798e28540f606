// What the two programs of bench/kafka share: librdkafka configuration from
// command-line "key=value" pairs, the band table (the percentile_band
// scorer's own model code), and wall-clock milliseconds for reports.
#pragma once

#include <scorers/percentile_band/band_model.hpp>

#include <librdkafka/rdkafka.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace kbench {

namespace pb = stream_smarts::percentile_band;

[[noreturn]] inline void die(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  std::exit(1);
}

using properties = std::vector<std::pair<std::string, std::string>>;

/// "key=value" -> {key, value}; exits on anything else.
inline std::pair<std::string, std::string> split_property(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) die("expected key=value, got '" + text + "'");
  return {text.substr(0, eq), text.substr(eq + 1)};
}

inline rd_kafka_conf_t* make_conf(const properties& props) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char why[512];
  for (const auto& [key, value] : props)
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), why, sizeof why) != RD_KAFKA_CONF_OK)
      die("librdkafka property '" + key + "': " + why);
  return conf;
}

inline rd_kafka_t* make_client(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char why[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, why, sizeof why);
  if (rk == nullptr) die(std::string("cannot create a Kafka client: ") + why);
  return rk;
}

/// weekday * 24 + hour -> band, exactly as the percentile_band scorer lays it out.
using band_table = std::array<pb::band, pb::days_per_week * pb::hours_per_day>;

inline band_table load_bands(const std::string& model_path) {
  const pb::band_model m = pb::read_model_file(model_path);
  band_table t{};
  for (int d = 0; d < pb::days_per_week; ++d)
    for (int h = 0; h < pb::hours_per_day; ++h) t[d * pb::hours_per_day + h] = m.bands[d][h];
  return t;
}

/// Wall-clock milliseconds (with a fraction), comparable with the runtime's log stamps.
inline double wall_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(system_clock::now().time_since_epoch()).count();
}

} // namespace kbench
