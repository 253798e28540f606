#include "model_file.hpp"

#include <common/bounded_read.hpp>
#include <common/json.hpp>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <type_traits>


namespace stream_smarts::dlib_regression {

std::uint64_t fnv1a64(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

namespace {

using json::format_number;

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// At most `max` characters of `s` for a message, anything unprintable as '?'.
std::string snippet(std::string_view s, std::size_t max = 40) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    out += c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?';
  }
  if (s.size() > max) out += "...";
  return out;
}

// Header values are single lines; a newline inside one would end the header.
std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

struct header_line {
  std::string value;
  int line = 0;
};
using header_lines = std::map<std::string, header_line, std::less<>>;

const header_line* find(const header_lines& lines, std::string_view key) {
  const auto it = lines.find(key);
  return it == lines.end() ? nullptr : &it->second;
}

const header_line& require(const header_lines& lines, std::string_view key) {
  if (const header_line* l = find(lines, key)) return *l;
  throw model_error("the header has no '" + std::string(key) + " = ...' line");
}

// The whole value as a T (from_chars: no locale, no leading space), or an
// error naming the header line and what was expected. `size`, if not 0, is
// the exact number of characters the value must have.
template <class T>
T parsed(const header_line& l, std::string_view key, const char* expected, int base = 10, std::size_t size = 0) {
  T v{};
  const char* end = l.value.data() + l.value.size();
  std::from_chars_result r{};
  if constexpr (std::is_integral_v<T>) r = std::from_chars(l.value.data(), end, v, base);
  else r = std::from_chars(l.value.data(), end, v);
  if (r.ec != std::errc{} || r.ptr != end || l.value.empty() || (size != 0 && l.value.size() != size))
    throw model_error("header line " + std::to_string(l.line) + ": " + std::string(key) + " is not " + expected +
                      ": '" + snippet(l.value) + "'");
  return v;
}

std::int64_t integer_of(const header_line& l, std::string_view key) { return parsed<std::int64_t>(l, key, "an integer"); }
double number_of(const header_line& l, std::string_view key) { return parsed<double>(l, key, "a number"); }
std::uint64_t hex_of(const header_line& l, std::string_view key) {
  return parsed<std::uint64_t>(l, key, "16 hexadecimal digits", 16, 16);
}

} // namespace

std::string encode_model_file(const model_header& h, std::string_view payload) {
  std::string out;
  auto line = [&](std::string_view key, const std::string& value) {
    out.append(key).append(" = ").append(one_line(value)).append("\n");
  };
  out.append(model_magic).append("\n");
  line("format_version", std::to_string(model_format_version));
  line("features", h.features);
  line("log_offset_wh", format_number(h.log_offset_wh));
  line("timezone", h.timezone);
  line("trained_from", h.trained_from);
  line("trained_to", h.trained_to);
  line("readings", std::to_string(h.readings));
  if (h.reading_span_ms > 0) line("reading_span_ms", std::to_string(h.reading_span_ms));
  line("lo_percentile", format_number(h.lo_percentile));
  line("hi_percentile", format_number(h.hi_percentile));
  line("gamma", format_number(h.gamma));
  line("max_basis", std::to_string(h.max_basis));
  line("payload_bytes", std::to_string(payload.size()));
  line("payload_fnv1a64", hex64(fnv1a64(payload)));
  out.append("\n").append(payload);
  return out;
}

namespace {

/// The header's `key = value` lines, after the magic line, up to the empty
/// line that ends it; `pos` is left at the payload. `ended` is false for a
/// header cut short.
header_lines read_header_lines(std::string_view bytes, std::size_t& pos, bool& ended) {
  header_lines lines;
  ended = false;
  for (int number = 2; pos < bytes.size(); ++number) {
    const std::size_t end = bytes.find('\n', pos);
    if (end == std::string_view::npos) break;  // a last line without its newline: cut short
    const std::string_view text = bytes.substr(pos, end - pos);
    pos = end + 1;
    if (text.empty()) {
      ended = true;
      break;
    }
    const std::size_t eq = text.find(" = ");
    if (eq == std::string_view::npos || eq == 0)
      throw model_error("header line " + std::to_string(number) + " is not 'key = value': '" + snippet(text) + "'");
    const std::string key(text.substr(0, eq));
    if (!lines.emplace(key, header_line{std::string(text.substr(eq + 3)), number}).second)
      throw model_error("header line " + std::to_string(number) + " repeats '" + snippet(key) + "'");
  }
  return lines;
}

/// What the header says of the model; throws for a required key missing or
/// a value the model cannot use. Provenance keys are optional.
model_header header_of(const header_lines& lines) {
  model_header h;
  h.features = require(lines, "features").value;
  const header_line& offset = require(lines, "log_offset_wh");
  h.log_offset_wh = number_of(offset, "log_offset_wh");
  if (!(std::isfinite(h.log_offset_wh) && h.log_offset_wh > 0))
    throw model_error("header line " + std::to_string(offset.line) +
                      ": log_offset_wh must be a finite number above 0; got " + format_number(h.log_offset_wh));
  // Provenance: shown to the user, not needed to score.
  auto text = [&](std::string_view key) {
    const header_line* l = find(lines, key);
    return l ? l->value : std::string();
  };
  h.timezone = text("timezone");
  h.trained_from = text("trained_from");
  h.trained_to = text("trained_to");
  if (const header_line* l = find(lines, "readings")) h.readings = integer_of(*l, "readings");
  if (const header_line* l = find(lines, "reading_span_ms")) h.reading_span_ms = integer_of(*l, "reading_span_ms");
  if (const header_line* l = find(lines, "lo_percentile")) h.lo_percentile = number_of(*l, "lo_percentile");
  if (const header_line* l = find(lines, "hi_percentile")) h.hi_percentile = number_of(*l, "hi_percentile");
  if (const header_line* l = find(lines, "gamma")) h.gamma = number_of(*l, "gamma");
  if (const header_line* l = find(lines, "max_basis")) h.max_basis = integer_of(*l, "max_basis");
  return h;
}

/// The payload, checked against the header's size and checksum.
std::string_view checked_payload(std::string_view payload, const header_lines& lines) {
  const header_line& size = require(lines, "payload_bytes");
  const std::int64_t payload_bytes = integer_of(size, "payload_bytes");
  if (payload_bytes < 0)
    throw model_error("header line " + std::to_string(size.line) + ": payload_bytes must be 0 or more; got " +
                      size.value);
  const std::uint64_t checksum = hex_of(require(lines, "payload_fnv1a64"), "payload_fnv1a64");
  const auto have = static_cast<std::int64_t>(payload.size());
  if (have < payload_bytes)
    throw model_error("truncated: header says " + std::to_string(payload_bytes) + " payload bytes, file has " +
                      std::to_string(have));
  if (have > payload_bytes)
    throw model_error("header says " + std::to_string(payload_bytes) + " payload bytes, file has " +
                      std::to_string(have) + " (something was appended?)");
  if (const std::uint64_t actual = fnv1a64(payload); actual != checksum)
    throw model_error("checksum mismatch: header says payload_fnv1a64 = " + hex64(checksum) + ", the payload's is " +
                      hex64(actual) + " (the file is damaged)");
  return payload;
}

} // namespace

decoded_model_file decode_model_file(std::string_view bytes) {
  if (bytes.empty())
    throw model_error("empty file (expected a model written by `stream-smarts train --scorer dlib_regression`)");
  const std::size_t first_end = bytes.find('\n');
  const std::string_view first = bytes.substr(0, first_end);
  if (first != model_magic)
    throw model_error("not a dlib_regression model file (it starts with '" + snippet(first) + "')");
  std::size_t pos = first_end == std::string_view::npos ? bytes.size() : first_end + 1;
  bool ended = false;
  const header_lines lines = read_header_lines(bytes, pos, ended);
  // The version first: another version may have other keys.
  if (const header_line* v = find(lines, "format_version")) {
    if (const std::int64_t version = integer_of(*v, "format_version"); version != model_format_version)
      throw model_error("unsupported format_version " + std::to_string(version) + " (this plugin reads version " +
                        std::to_string(model_format_version) + ")");
  }
  if (!ended) throw model_error("truncated: the header does not end (no empty line before the payload)");
  require(lines, "format_version");
  decoded_model_file out;
  out.header = header_of(lines);
  out.payload = checked_payload(bytes.substr(pos), lines);
  return out;
}

std::string read_model_bytes(const std::string& path) {
  return bounded_read::file<model_error>(path, max_model_file_bytes, "(a dlib_regression model is a few KiB)");
}

} // namespace stream_smarts::dlib_regression
