// UTF-8 well-formedness, for every writer of text that must stay valid
// (JSON outputs, JSON log lines) when a label or a message holds bytes from a
// Latin-1 file.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace stream_smarts {

/// Length of the well-formed UTF-8 sequence `s` starts with (its first byte
/// is 0x80 or above), or 0: no overlong forms, surrogates or code points past
/// U+10FFFF (RFC 3629).
inline std::size_t utf8_sequence_length(std::string_view s) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = byte(0);
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < n || byte(1) < lo || byte(1) > hi) return 0;
  for (std::size_t i = 2; i < n; ++i)
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  return n;
}

/// A file's first line without the UTF-8 byte order mark that spreadsheets
/// and Windows editors write before it: no part of the line's text.
inline std::string_view without_bom(std::string_view first_line) {
  if (first_line.substr(0, 3) == "\xEF\xBB\xBF") first_line.remove_prefix(3);  // C++17: no starts_with
  return first_line;
}

/// Where byte `at` of `s` is, counted in characters from 1, for messages
/// that point into a user's text ("'{' at character 5"): a UTF-8
/// continuation byte belongs to the character before it.
inline std::size_t character_position(std::string_view s, std::size_t at) {
  std::size_t n = 1;
  for (std::size_t i = 0; i < at && i < s.size(); ++i) n += (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
  return n;
}

/// `s` as the inside of a JSON string (no quotes): quote and backslash
/// escaped, \b \f \n \r \t and other control characters as \u00XX; UTF-8
/// passes through, and each byte that is not part of a well-formed sequence
/// (a label from a Latin-1 file) becomes \ufffd, so the output is always
/// valid JSON. The one JSON escaping of the runtime's logs and the plugins.
inline void append_json_escaped(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      default: break;
    }
    if (u < 0x20) {
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 0xF];
    } else if (u < 0x80) {
      out += c;
    } else if (const std::size_t n = utf8_sequence_length(s.substr(i))) {
      out.append(s.substr(i, n));
      i += n - 1;
    } else {
      out += "\\ufffd";
    }
  }
}

/// A well-formed UTF-8 sequence that is a C1 control (U+0080..U+009F: a
/// terminal acts on CSI, U+009B) or a line or paragraph separator (U+2028,
/// U+2029), which some readers take as a line break.
inline bool breaks_text(std::string_view seq) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(seq[i]); };
  if (seq.size() == 2) return b(0) == 0xC2 && b(1) <= 0x9F;
  return seq.size() == 3 && b(0) == 0xE2 && b(1) == 0x80 && (b(2) == 0xA8 || b(2) == 0xA9);
}

/// `s` for a line of text (a log line, a console or file sink's line): a
/// line break, carriage return or other control character (an escape
/// sequence) as \n, \r or \xNN, and a C1 control or line separator in UTF-8
/// (breaks_text) as \uXXXX, so that a meter name or message from a Kafka key
/// cannot forge or hide lines; a byte that is not part of a well-formed UTF-8
/// sequence (a Latin-1 file's) as \xNN too, so that the line stays text for
/// grep and journald; tabs and other UTF-8 as they are. The one text escaping
/// of the runtime's logs and the plugins.
inline void append_text_escaped(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const auto byte = static_cast<unsigned char>(c);
    const std::size_t utf8 = byte >= 0x80 ? utf8_sequence_length(s.substr(i)) : 0;
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (utf8 != 0 && !breaks_text(s.substr(i, utf8))) {
      out.append(s.substr(i, utf8));
      i += utf8 - 1;
    } else if (utf8 != 0) {  // as the code point it is
      out += "\\u";
      const unsigned cp = utf8 == 2 ? (byte & 0x1Fu) << 6 | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu)
                                    : 0x2000u | (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
      for (int shift = 12; shift >= 0; shift -= 4) out += hex[(cp >> shift) & 0xF];
      i += utf8 - 1;
    } else if ((byte < 0x20 && c != '\t') || byte >= 0x7f) {
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0xF];
    } else {
      out += c;
    }
  }
}

} // namespace stream_smarts
