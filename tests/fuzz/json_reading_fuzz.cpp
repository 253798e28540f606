// libFuzzer target: arbitrary bytes as a JSON reading, through the Kafka
// source's JSON decoder (plugins/common/json.hpp's parser) and its field
// mapping, then localized in Europe/Paris as the runtime does. Byte 0 picks
// the mapping ({ts, wh, meter} with ts ISO-8601 or epoch ms, or the original
// producer's {hour, kwh} with the day from the message timestamp) and the
// message timestamp (usual, none, or extreme). A reading
// that is accepted must have a finite, non-negative wh; a refused one must
// say why. `tests/fuzz/run json_reading` builds and runs it.
#include "payload.hpp"
#include "reading_mapping.hpp"
#include "zone.hpp"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <memory>
#include <string>

using namespace stream_smarts;
using namespace stream_smarts::kafka_source;

namespace {

options mapping_options(const char* wh, const char* ts, const char* hour) {
  return options({{"wh_field", std::string(wh)},
                  {"wh_unit", std::string("Wh")},
                  {"ts_field", std::string(ts)},
                  {"hour_field", std::string(hour)},
                  {"meter_field", std::string("meter")},
                  {"meter", std::string("home")},
                  {"span", std::chrono::milliseconds{3'600'000}}});
}

struct state {
  std::unique_ptr<time_zone> zone = runtime::load_time_zone("Europe/Paris");
  std::unique_ptr<payload_decoder> decoder = make_json_decoder();
  reading_mapping mappings[2] = {reading_mapping(mapping_options("wh", "ts", "")),
                                 reading_mapping(mapping_options("kwh", "", "hour"))};
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static state s;
  if (size == 0) return 0;
  // The message's own timestamp, as a broker hands it on: usual, none, or
  // whatever a producer set.
  static const std::optional<std::int64_t> stamps[] = {1200000000000, std::nullopt, INT64_MAX, -62167219200001};
  const reading_mapping& mapping = s.mappings[data[0] % 2];
  const message_meta meta{"key", stamps[data[0] / 2 % 4]};
  const std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<payload_field> fields;
  std::string why;
  if (!s.decoder->decode(payload, fields, why)) {
    if (why.empty()) __builtin_trap();
    return 0;
  }
  reading r;
  if (!mapping.map(fields, meta, *s.zone, r, why)) {
    if (why.empty()) __builtin_trap();
    return 0;
  }
  if (!std::isfinite(r.wh) || r.wh < 0) __builtin_trap();
  runtime::localize(r, *s.zone);
  if (r.local.hour < 0 || r.local.hour > 23 || r.local.weekday < 0 || r.local.weekday > 6) __builtin_trap();
  return 0;
}
