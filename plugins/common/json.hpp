// JSON for the shipped plugins: a strict reader for flat objects (a replay
// line, a Kafka message) and the writer of the alert object every JSON
// output shares. Header-only; no allocation on the hot paths beyond the output.
#pragma once

#include <stream_smarts/reading.hpp>
#include <stream_smarts/time.hpp>
#include <stream_smarts/utf8.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace stream_smarts::json {

/// Shortest text that reads back as the same double ("200", "0.1").
inline std::string format_number(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, ec == std::errc{} ? end : buf);
}

template <class... Args>
void append_chars(std::string& out, Args... args) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, args...);
  if (ec == std::errc{}) out.append(buf, end);
}

/// Shortest text that reads back as the same double; JSON has no NaN or
/// infinity, so those become null.
inline void append_json_number(std::string& out, double v) {
  if (!std::isfinite(v)) out += "null";
  else append_chars(out, v);
}

/// A JSON string literal, escaped as append_json_escaped (the SDK's) does.
inline void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  append_json_escaped(out, s);
  out += '"';
}

/// A member of a flat JSON object. `text` is the unescaped string, the number
/// as written, "true"/"false", "null", or a nested object or array as written.
struct json_field {
  enum class kind : std::uint8_t { string, number, boolean, null, nested };
  std::string_view key;
  kind type = kind::null;
  std::string_view text;
  bool in_labels = false;  ///< a member of the object's "labels" object
};

/// A strict parser for one JSON object per line, read for its string,
/// number, bool and null members. A nested object or array is checked and
/// kept whole, as kind::nested: a reading is never in one (Home Assistant
/// puts a sensor's "attributes" and "context" beside its "state"). But for
/// one: a top-level "labels" object of such values, which is how
/// stream-smarts's own JSON (append_alert) writes a reading's labels, so
/// that a recorded stream reads back. Its members are fields too, marked
/// in_labels.
class flat_json_parser {
public:
  /// On success fields() holds the members in order (views valid until the
  /// next parse); on failure `why` says where and what.
  bool parse(std::string_view line, std::string& why) {
    in_ = line;
    pos_ = 0;
    fields_.clear();
    has_labels_ = false;
    scratch_.clear();
    // Unescaped text is never longer than its source, so with this capacity
    // scratch_ never reallocates and views into it stay valid.
    if (scratch_.capacity() < line.size()) scratch_.reserve(line.size());
    skip_ws();
    if (!eat('{')) return fail(why, "expected '{'");
    return parse_members(false, why) && finish(why);
  }

  const std::vector<json_field>& fields() const { return fields_; }

  /// Whether `f` is one of the reading's labels (once its ts and energy are
  /// taken): in stream-smarts's own objects, which have a "labels" object,
  /// its members only (the others, score, scorer, ..., are a verdict, not
  /// the reading); in any other, every member.
  bool is_label(const json_field& f) const { return f.in_labels == has_labels_; }

  const json_field* find(std::string_view key) const {
    for (const auto& f : fields_)
      if (f.key == key) return &f;
    return nullptr;
  }

private:
  char peek() const { return pos_ < in_.size() ? in_[pos_] : '\0'; }
  bool eat(char c) {
    if (peek() != c) return false;  // peek() is '\0' at the end, never a wanted c
    ++pos_;
    return true;
  }
  void skip_ws() {
    while (pos_ < in_.size() && (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\r' || in_[pos_] == '\n'))
      ++pos_;
  }
  bool fail(std::string& why, const std::string& what) { return fail(why, what, pos_); }
  bool fail(std::string& why, const std::string& what, std::size_t at) {
    why = "bad JSON at column " + std::to_string(at + 1) + ": " + what;
    return false;
  }
  bool finish(std::string& why) {
    skip_ws();
    return pos_ == in_.size() || fail(why, "unexpected text after the object");
  }

  // pos_ is after an object's '{': its members, up to its '}'. At the top
  // level a "labels" object's members are parsed as members too.
  bool parse_members(bool in_labels, std::string& why) {
    // A reading has a few; each key is checked against those before it, so
    // 80k keys in a message under Kafka's 1 MB took 15 s of a source's time.
    constexpr std::size_t most_members = 1000;
    skip_ws();
    if (eat('}')) return true;
    for (;;) {
      skip_ws();
      if (fields_.size() == most_members)
        return fail(why, "more than " + std::to_string(most_members) + " members (a reading has a few)");
      json_field f;
      f.in_labels = in_labels;
      const std::size_t key_pos = pos_;
      if (peek() != '"') return fail(why, "expected a string key");
      if (!parse_string(f.key, why)) return false;
      if (find(f.key) || (f.key == "labels" && has_labels_))
        return fail(why, "duplicate key \"" + std::string(f.key) + "\"", key_pos);
      skip_ws();
      if (!eat(':')) return fail(why, "expected ':'");
      skip_ws();
      if (!in_labels && f.key == "labels" && eat('{')) {
        has_labels_ = true;
        if (!parse_members(true, why)) return false;
      } else {
        if (!parse_value(f, why)) return false;
        fields_.push_back(f);
      }
      skip_ws();
      if (eat(',')) continue;
      if (eat('}')) return true;
      return fail(why, "expected ',' or '}'");
    }
  }

  bool parse_value(json_field& f, std::string& why) {
    const char c = peek();
    if (c == '"') {
      f.type = json_field::kind::string;
      return parse_string(f.text, why);
    }
    if (c == '{' || c == '[') {
      const std::size_t start = pos_;
      if (!skip_nested(0, why)) return false;
      f.type = json_field::kind::nested;
      f.text = in_.substr(start, pos_ - start);
      return true;
    }
    for (std::string_view word : {"true", "false", "null"}) {
      if (in_.substr(pos_, word.size()) == word) {
        f.type = word == "null" ? json_field::kind::null : json_field::kind::boolean;
        f.text = in_.substr(pos_, word.size());
        pos_ += word.size();
        return true;
      }
    }
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number(f, why);
    return fail(why, "expected a value");
  }

  // pos_ is at a nested object's '{' or array's '[': past its end, its
  // grammar checked. Deeper than a reading's payload ever nests is refused,
  // so a hostile message cannot exhaust the stack.
  bool skip_nested(int depth, std::string& why) {
    constexpr int most_depth = 64;
    if (depth == most_depth) return fail(why, "nested more than " + std::to_string(most_depth) + " deep");
    const char close = in_[pos_++] == '{' ? '}' : ']';
    skip_ws();
    if (eat(close)) return true;
    for (;;) {
      skip_ws();
      if (close == '}') {
        std::string_view key;
        if (peek() != '"') return fail(why, "expected a string key");
        if (!parse_string(key, why)) return false;
        skip_ws();
        if (!eat(':')) return fail(why, "expected ':'");
        skip_ws();
      }
      json_field member;
      if (peek() == '{' || peek() == '[') {
        if (!skip_nested(depth + 1, why)) return false;
      } else if (!parse_value(member, why)) {
        return false;
      }
      skip_ws();
      if (eat(',')) continue;
      if (eat(close)) return true;
      return fail(why, std::string("expected ',' or '") + close + "'");
    }
  }

  bool digits() {
    const std::size_t start = pos_;
    while (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  // JSON's grammar exactly: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
  bool parse_number(json_field& f, std::string& why) {
    const std::size_t start = pos_;
    eat('-');
    if (eat('0')) {
    } else if (peek() < '1' || peek() > '9' || !digits()) {
      return fail(why, "invalid number");
    }
    if (eat('.') && !digits()) return fail(why, "invalid number");
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (!eat('+')) eat('-');
      if (!digits()) return fail(why, "invalid number");
    }
    f.type = json_field::kind::number;
    f.text = in_.substr(start, pos_ - start);
    return true;
  }

  // pos_ is at the opening quote. Without escapes the result views the line.
  bool parse_string(std::string_view& out, std::string& why) {
    const std::size_t start = ++pos_;
    while (pos_ < in_.size() && in_[pos_] != '"' && in_[pos_] != '\\' &&
           static_cast<unsigned char>(in_[pos_]) >= 0x20)
      ++pos_;
    if (peek() == '"') {
      out = in_.substr(start, pos_++ - start);
      return true;
    }
    const std::size_t scratch_start = scratch_.size();
    scratch_.append(in_.substr(start, pos_ - start));
    for (;;) {
      if (pos_ >= in_.size()) return fail(why, "unterminated string");
      const char c = in_[pos_];
      if (c == '"') break;
      if (static_cast<unsigned char>(c) < 0x20) return fail(why, "control character in string");
      if (c != '\\') {
        scratch_ += c;
        ++pos_;
      } else if (!unescape(why)) {
        return false;
      }
    }
    ++pos_;
    out = std::string_view(scratch_).substr(scratch_start);
    return true;
  }

  bool unescape(std::string& why) {
    const char c = pos_ + 1 < in_.size() ? in_[pos_ + 1] : '\0';
    static constexpr std::string_view from = "\"\\/bfnrt", to = "\"\\/\b\f\n\r\t";
    if (const auto i = from.find(c); c != '\0' && i != std::string_view::npos) {
      scratch_ += to[i];
      pos_ += 2;
      return true;
    }
    if (c != 'u') return fail(why, std::string("invalid escape '\\") + (c ? std::string(1, c) : "") + "'");
    std::uint32_t cp = 0;
    if (!hex4(pos_ + 2, cp)) return fail(why, "invalid \\u escape");
    pos_ += 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(why, "unpaired surrogate in \\u escape", pos_ - 6);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      std::uint32_t low = 0;
      if (in_.substr(pos_, 2) != "\\u" || !hex4(pos_ + 2, low) || low < 0xDC00 || low > 0xDFFF)
        return fail(why, "unpaired surrogate in \\u escape", pos_ - 6);
      pos_ += 6;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(cp);
    return true;
  }

  bool hex4(std::size_t at, std::uint32_t& cp) const {
    if (at + 4 > in_.size()) return false;
    const char* b = in_.data() + at;
    return std::from_chars(b, b + 4, cp, 16).ptr == b + 4;
  }

  void append_utf8(std::uint32_t cp) {
    if (cp < 0x80) {
      scratch_ += static_cast<char>(cp);
    } else if (cp < 0x800) {
      scratch_ += static_cast<char>(0xC0 | (cp >> 6));
      scratch_ += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      scratch_ += static_cast<char>(0xE0 | (cp >> 12));
      scratch_ += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      scratch_ += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      scratch_ += static_cast<char>(0xF0 | (cp >> 18));
      scratch_ += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      scratch_ += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      scratch_ += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  std::vector<json_field> fields_;
  bool has_labels_ = false;
  std::string scratch_;
};

/// Whether the alert's usage began at another time than its reading's: a
/// rise that has stayed up for hours, or a step in a Pi's power within the
/// trailing hour its reading is stamped with. Only then do its lines say
/// since when.
inline bool says_since(const alert& a) { return a.since_ms != 0 && a.since_ms != a.scored.reading.ts_ms; }

/// Whether that began a day or more before the reading, so that "since"
/// needs its date: a spell of days is not "since 4:00".
inline bool says_since_date(const alert& a) {
  return says_since(a) && a.scored.reading.ts_ms - a.since_ms >= day_ms;
}

/// An alert as one JSON object, keys in a fixed order; "span_ms" only if the
/// reading says its span, "expected_unit" only if the range is not in Wh,
/// "since_ms" only if the usage began at another time than the reading's.
/// "labels" always, {} if none: it is how a reader (flat_json_parser) tells
/// our records, whose other keys are a verdict, from a plain reading.
/// The console sink's json lines and the Kafka sink's messages are this.
inline void append_alert(std::string& out, const alert& a) {
  const scored_reading& s = a.scored;
  const reading& r = s.reading;
  out += "{\"ts\":";
  append_json_string(out, format_local_iso8601(r.local));
  out += ",\"ts_ms\":";
  append_chars(out, r.ts_ms);
  if (r.span_ms > 0) {  // what the Wh covers, so a consumer knows when the reading ended
    out += ",\"span_ms\":";
    append_chars(out, r.span_ms);
  }
  out += ",\"meter\":";
  append_json_string(out, r.meter);
  out += ",\"hour\":";
  append_chars(out, static_cast<int>(r.local.hour));
  out += ",\"wh\":";
  append_json_number(out, r.wh);
  out += ",\"score\":";
  append_json_number(out, s.score);
  out += ",\"expected_lo\":";
  append_json_number(out, s.expected_lo);
  out += ",\"expected_hi\":";
  append_json_number(out, s.expected_hi);
  if (s.unit != band_unit::wh) {
    out += ",\"expected_unit\":";
    append_json_string(out, to_string(s.unit));
  }
  out += ",\"scorer\":";
  append_json_string(out, s.scorer);
  out += ",\"alert\":";
  append_json_string(out, to_string(a.kind));
  out += ",\"threshold\":";
  append_json_number(out, a.threshold);
  if (says_since(a)) {
    out += ",\"since_ms\":";
    append_chars(out, a.since_ms);
  }
  if (s.still_on) out += ",\"still_on\":true";
  out += ",\"labels\":{";
  for (std::size_t i = 0; i < r.labels.size(); ++i) {
    if (i > 0) out += ',';
    append_json_string(out, r.labels[i].key);
    out += ':';
    append_json_string(out, r.labels[i].value);
  }
  out += "}}";
}

} // namespace stream_smarts::json
