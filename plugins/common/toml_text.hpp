// Writing TOML values by hand, for the model files the scorers write as
// commented, human-readable documents (toml++ would drop the comments).
#pragma once

#include <common/json.hpp>

#include <cstdio>
#include <string>
#include <string_view>

namespace stream_smarts::toml_text {

/// A number that stays a TOML float ("3.0", not "3"), shortest round-trip form.
inline std::string toml_float(double v) {
  std::string s = json::format_number(v);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

/// A basic TOML string with quotes, backslashes and control characters escaped.
inline std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

/// "07" for 7: hours in model files and messages.
inline std::string two_digits(int n) {
  std::string text = std::to_string(n);
  if (text.size() < 2) text.insert(text.begin(), '0');  // not "0" + text: GCC 12 -O3 warns -Wrestrict there
  return text;
}

} // namespace stream_smarts::toml_text
