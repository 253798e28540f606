// libFuzzer target: arbitrary bytes as a replay history file, read as the
// replay source reads it (plugins/sources/replay/replay_format.hpp): lines
// from a small-block line_reader, a CSV header or JSON lines, every data line
// parsed and the reading localized in Europe/Paris as the runtime does.
// Byte 0 picks the layout: CSV or JSON lines, the delimiter, a decimal
// comma, the ts_format, a time_field, and a load curve's mean W.
// An accepted reading must have a finite, non-negative wh; a skipped line
// must say why. Accepted readings are also read as a meter's index
// resampled to half hours (wh_kind = "index", resample = true): each use
// must be finite, non-negative, and of a local half hour.
// `tests/fuzz/run replay`.
#include <common/meter_index.hpp>
#include "replay_format.hpp"
#include "zone.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>

using namespace stream_smarts;
using namespace stream_smarts::replay;

namespace {

// The replay options a history may be read with, from one byte.
record_layout layout_of(std::uint8_t bits) {
  record_layout layout(bits & 1 ? file_format::jsonl : file_format::csv);
  layout.delimiter = delimiters[(bits >> 1) & 3];
  if (bits & 8 && layout.delimiter != ',') layout.decimal = ',';  // the source refuses ',' for both
  static const char* const formats[] = {"iso8601", "epoch_s", "epoch_ms", "%d/%m/%Y %H:%M"};
  layout.ts_format = timestamp_format(formats[(bits >> 4) & 3]);
  if (bits & 64 && layout.format == file_format::csv) layout.time_field = "time";  // a header without it is refused
  if (bits & 128) layout.unit = {1.0, true, "W"};
  layout.no_reading = {"?", "unavailable"};
  return layout;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::unique_ptr<time_zone> zone = runtime::load_time_zone("Europe/Paris");
  if (size < 2) return 0;  // fmemopen takes no empty buffer
  const record_layout layout = layout_of(data[0]);
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::FILE* file = fmemopen(bytes.data(), bytes.size(), "rb");
  if (file == nullptr) __builtin_trap();
  // A 16-byte block makes most lines cross a refill, long ones grow it, and
  // past 64 bytes a line is skipped as too long.
  line_reader lines(file, 16, 64);
  record_parser parser{layout};
  constexpr std::int64_t half_hour_ms = 1'800'000;
  meter_indexes indexes(half_hour_ms, *zone);
  std::deque<reading> use;
  std::string_view line;
  std::string why;
  reading r;
  while (lines.next(line)) {
    if (lines.too_long()) {
      if (!line.empty()) __builtin_trap();
      continue;
    }
    if (line.size() > 64) __builtin_trap();
    if (is_blank(line)) continue;
    if (parser.expects_header()) {
      try {
        parser.read_header(line);
      } catch (const std::invalid_argument& e) {
        if (std::string_view(e.what()).empty()) __builtin_trap();
        break;  // the source refuses the file
      }
      continue;
    }
    r.span_ms = 1'800'000;  // as the source's span option sets it before each line
    if (!parser.parse(line, *zone, r, why)) {
      if (why.empty()) __builtin_trap();
      continue;  // skipped and counted
    }
    if (!std::isfinite(r.wh) || r.wh < 0) __builtin_trap();
    runtime::localize(r, *zone);
    if (r.local.hour < 0 || r.local.hour > 23) __builtin_trap();
    why.clear();
    if (!indexes.add(r, use, why) && why.empty()) __builtin_trap();
    for (; !use.empty(); use.pop_front()) {
      const reading& u = use.front();
      const local_fields l = zone->local(u.ts_ms);
      if (!std::isfinite(u.wh) || u.wh < 0 || u.span_ms != half_hour_ms || l.minute % 30 || l.second) __builtin_trap();
    }
  }
  std::fclose(file);
  return 0;
}
