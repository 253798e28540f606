// Writing the small JSON bodies notification services take.
#pragma once

#include <common/json.hpp>

#include <string>
#include <string_view>

namespace stream_smarts::http {

/// Appends `"key":` to an object being written, after a comma unless it is
/// the object's first member.
inline void append_key(std::string& out, std::string_view key) {
  if (!out.empty() && out.back() != '{') out += ',';
  json::append_json_string(out, key);
  out += ':';
}

/// At most `bytes` bytes of `text`, cut on a UTF-8 character boundary: for
/// the length limits of services' fields (and of our own excerpts).
inline std::string utf8_prefix(std::string text, std::size_t bytes) {
  if (text.size() <= bytes) return text;
  std::size_t end = bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
  return text;
}

/// Appends `"key":"value"`.
inline void append_member(std::string& out, std::string_view key, std::string_view value) {
  append_key(out, key);
  json::append_json_string(out, value);
}

} // namespace stream_smarts::http
