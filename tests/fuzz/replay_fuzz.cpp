// libFuzzer target: arbitrary bytes as a replay history file, read as the
// replay source reads it (plugins/sources/replay/replay_format.hpp): lines
// from a small-block line_reader, a CSV header or JSON lines, every data line
// parsed and the reading localized in Europe/Paris as the runtime does.
// Byte 0 picks CSV or JSON lines. An accepted reading must have a finite,
// non-negative wh; a skipped line must say why. `tests/fuzz/run replay`.
#include "replay_format.hpp"
#include "zone.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

using namespace stream_smarts;
using namespace stream_smarts::replay;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::unique_ptr<time_zone> zone = runtime::load_time_zone("Europe/Paris");
  if (size < 2) return 0;  // fmemopen takes no empty buffer
  const file_format format = data[0] % 2 ? file_format::jsonl : file_format::csv;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::FILE* file = fmemopen(bytes.data(), bytes.size(), "rb");
  if (file == nullptr) __builtin_trap();
  // A 16-byte block makes most lines cross a refill, long ones grow it, and
  // past 64 bytes a line is skipped as too long.
  line_reader lines(file, 16, 64);
  record_parser parser(format, "ts", "wh");
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
    if (!parser.parse(line, *zone, r, why)) {
      if (why.empty()) __builtin_trap();
      continue;  // skipped and counted
    }
    if (!std::isfinite(r.wh) || r.wh < 0) __builtin_trap();
    runtime::localize(r, *zone);
    if (r.local.hour < 0 || r.local.hour > 23) __builtin_trap();
  }
  std::fclose(file);
  return 0;
}
