// The replay source's pure parts: history file lines -> readings. Kept out of
// replay.cpp so tests can drive every malformed case without a runtime.
// Hot path (one call per line): no allocation beyond the reading's labels.
#pragma once

#include <common/json.hpp>
#include <common/reading_fields.hpp>
#include <stream_smarts/options.hpp>
#include <stream_smarts/reading.hpp>
#include <stream_smarts/time.hpp>
#include <stream_smarts/utf8.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

namespace stream_smarts::replay {

using json::flat_json_parser;
using json::format_number;
using json::json_field;
using reading_fields::parse_span_ms;
using reading_fields::parse_timestamp;
using reading_fields::parse_wh;
using reading_fields::span_field;

enum class file_format { csv, jsonl };

inline bool ends_with_nocase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  s.remove_prefix(s.size() - suffix.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i] >= 'A' && s[i] <= 'Z' ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
    if (c != suffix[i]) return false;
  }
  return true;
}

/// The format a file name implies: .csv, or .jsonl / .ndjson / .json.
inline std::optional<file_format> format_from_extension(std::string_view path) {
  if (ends_with_nocase(path, ".csv")) return file_format::csv;
  for (std::string_view ext : {".jsonl", ".ndjson", ".json"})
    if (ends_with_nocase(path, ext)) return file_format::jsonl;
  return std::nullopt;
}

/// How fast to replay: as fast as possible, or `factor` ms of data per ms of
/// wall time (1 = realtime, 3600 = an hour of data per second).
struct pace {
  bool max = true;
  double factor = 1.0;
};

/// Reads the `speed` option (already type-checked by the runtime: a string or
/// a number). Throws std::invalid_argument with a message for the user.
inline pace pace_from_option(const option_value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) {
    if (*s == "max") return {};
    if (*s == "realtime") return {false, 1.0};
    throw std::invalid_argument("must be \"max\", \"realtime\" or a number above 0; got \"" + *s + "\"");
  }
  const auto* f = std::get_if<double>(&v);
  if (f == nullptr || !(*f > 0) || !std::isfinite(*f))
    throw std::invalid_argument("must be a number above 0 (3600 = an hour of data per second); got " +
                                (f ? format_number(*f) : std::string("nothing")));
  return {false, *f};
}

/// Lines of a FILE*, read in large blocks. A returned line has no '\n' or
/// trailing '\r' and stays valid until the next call. A line longer than
/// `max_line` bytes (a file with no line breaks) is not kept in memory: it is
/// returned empty, with too_long() set.
class line_reader {
public:
  static constexpr std::size_t default_max_line = std::size_t{1} << 20;

  explicit line_reader(std::FILE* file, std::size_t block_size = std::size_t{1} << 20,
                       std::size_t max_line = default_max_line)
      : file_(file), buf_(block_size < 16 ? 16 : block_size), max_line_(max_line) {}

  bool next(std::string_view& line) {
    too_long_ = false;
    for (;;) {
      const char* begin = buf_.data() + begin_;
      if (const void* nl = std::memchr(begin, '\n', end_ - begin_)) {
        const auto len = static_cast<std::size_t>(static_cast<const char*>(nl) - begin);
        begin_ += len + 1;
        return emit(begin, len, line);
      }
      if (eof_) {
        if (begin_ == end_ && !skipping_) return false;
        const std::size_t len = end_ - begin_;
        begin_ = end_;
        return emit(begin, len, line);
      }
      if (end_ - begin_ > max_line_) {
        skipping_ = true;  // drop what there is of it; read on to its end
        begin_ = end_;
      }
      refill();
    }
  }
  /// True if the line last returned was longer than max_line (and is empty).
  bool too_long() const { return too_long_; }
  /// 1-based number of the line last returned.
  std::size_t line_number() const { return line_number_; }
  /// True if reading stopped on an I/O error rather than at end of file.
  bool failed() const { return error_ != 0; }
  int error() const { return error_; }

private:
  bool emit(const char* begin, std::size_t len, std::string_view& line) {
    too_long_ = skipping_ || len > max_line_;
    skipping_ = false;
    if (too_long_) len = 0;
    if (len > 0 && begin[len - 1] == '\r') --len;
    line = std::string_view(begin, len);
    if (line_number_ == 0) line = without_bom(line);  // not part of the first header name or JSON object
    ++line_number_;
    return true;
  }
  void refill() {
    // Keep the partial line, move it to the front; grow only for a line
    // longer than the whole buffer.
    const std::size_t kept = end_ - begin_;
    std::memmove(buf_.data(), buf_.data() + begin_, kept);
    begin_ = 0;
    end_ = kept;
    if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
    const std::size_t n = std::fread(buf_.data() + end_, 1, buf_.size() - end_, file_);
    end_ += n;
    if (n == 0) {
      eof_ = true;
      if (std::ferror(file_)) error_ = errno ? errno : EIO;
    }
  }

  std::FILE* file_;
  std::vector<char> buf_;
  std::size_t begin_ = 0, end_ = 0;
  std::size_t max_line_;
  std::size_t line_number_ = 0;
  bool eof_ = false;
  bool skipping_ = false;  // inside a line longer than max_line_
  bool too_long_ = false;
  int error_ = 0;
};

inline bool is_blank(std::string_view line) { return line.find_first_not_of(" \t") == std::string_view::npos; }

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// One CSV field as written: `text` excludes surrounding quotes; a doubled
/// quote inside stays doubled until unquoted().
struct csv_field {
  std::string_view text;
  bool doubled_quotes = false;
  std::string unquoted() const {
    if (!doubled_quotes) return std::string(text);
    std::string s;
    for (std::size_t i = 0; i < text.size(); ++i) {
      s += text[i];
      if (text[i] == '"') ++i;  // skip the second quote of a pair
    }
    return s;
  }
};

/// Splits a CSV line (RFC 4180 quoting, fields trimmed of spaces) into
/// `fields`, reusing its storage. Returns false and sets `why` on bad quoting.
inline bool split_csv(std::string_view line, std::vector<csv_field>& fields, std::string& why) {
  fields.clear();
  std::size_t pos = 0;
  for (;;) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
    csv_field f;
    std::size_t next;  // position of the ',' ending this field, or npos
    if (pos < line.size() && line[pos] == '"') {
      std::size_t q = pos + 1;
      for (;; q += 2) {
        q = line.find('"', q);
        if (q == std::string_view::npos) {
          why = "unterminated quoted field";
          return false;
        }
        if (q + 1 >= line.size() || line[q + 1] != '"') break;
        f.doubled_quotes = true;
      }
      f.text = line.substr(pos + 1, q - pos - 1);
      next = line.find_first_not_of(" \t", q + 1);
      if (next != std::string_view::npos && line[next] != ',') {
        why = "unexpected text after a quoted field";
        return false;
      }
    } else {
      next = line.find(',', pos);
      f.text = trim(line.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos));
    }
    fields.push_back(f);
    if (next == std::string_view::npos) return true;
    pos = next + 1;
  }
}

/// Turns lines of one history file into readings: CSV (after its header row)
/// or JSON lines. Fills ts_ms, wh and labels, span_ms if the line says it
/// (span_field), and meter if the line names one (meter_field, when not
/// empty); local is left alone.
class record_parser {
public:
  /// `wh_per_unit`: what one of wh_field's numbers is in Wh (1000 for kWh).
  record_parser(file_format format, std::string ts_field, std::string wh_field, std::string meter_field = {},
                double wh_per_unit = 1.0)
      : format_(format), ts_field_(std::move(ts_field)), wh_field_(std::move(wh_field)),
        meter_field_(std::move(meter_field)), wh_per_unit_(wh_per_unit) {}

  file_format format() const { return format_; }
  /// Whether the last reading parsed had its time written without an offset
  /// (a wall-clock time, which the end of summer time repeats), not with one
  /// or in epoch milliseconds.
  bool ts_was_wall_clock() const { return ts_wall_clock_; }
  /// CSV only: the first non-blank line must go to read_header() first.
  bool expects_header() const { return format_ == file_format::csv && names_.empty(); }

  /// Finds the ts and wh columns by name, and span_field's if there is one;
  /// every other column becomes a label.
  /// Throws std::invalid_argument with the reason.
  void read_header(std::string_view line) {
    std::string why;
    if (!split_csv(line, fields_, why)) throw std::invalid_argument("header row: " + why);
    std::vector<std::string> names;
    for (const auto& f : fields_) {
      std::string name = f.unquoted();
      for (const auto& seen : names)  // (columns without a name, a spreadsheet's trailing ",,", are never read)
        if (seen == name && !name.empty()) throw std::invalid_argument("header row: duplicate column '" + name + "'");
      names.push_back(std::move(name));
    }
    ts_column_ = column_of(names, "ts_field", ts_field_, line);
    wh_column_ = column_of(names, "wh_field", wh_field_, line);
    span_column_ = meter_column_ = no_column;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (i == ts_column_ || i == wh_column_) continue;
      if (names[i] == span_field) span_column_ = i;
      else if (!meter_field_.empty() && names[i] == meter_field_) meter_column_ = i;
    }
    names_ = std::move(names);
  }

  /// Parses one data line into `out`. Returns false with the reason in `why`.
  bool parse(std::string_view line, const time_zone& zone, reading& out, std::string& why) {
    out.labels.clear();
    return format_ == file_format::csv ? parse_csv(line, zone, out, why) : parse_json(line, zone, out, why);
  }

private:
  std::size_t column_of(const std::vector<std::string>& names, std::string_view option, const std::string& field,
                        std::string_view line) {
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == field) return i;
    const auto near = std::find_if(names.begin(), names.end(),
                                   [&](const std::string& name) { return detail::equal_ignoring_case(name, field); });
    constexpr std::size_t shown = 200;  // a file with no line breaks is one "header" of up to 1 MiB
    std::string message = "header row has no '" + field + "' column: '" + std::string(line.substr(0, shown)) +
                          (line.size() > shown ? "...'" : "'");
    if (line.find('\r') != std::string_view::npos)
      message += "; its lines end in a carriage return alone (an old Mac export?): convert them to line feeds";
    else if (names.size() == 1 && line.find_first_of(";\t") != std::string_view::npos)
      message += "; it has one column: columns are separated by commas here, not by '" +
                 std::string(line.find(';') != std::string_view::npos ? ";" : "\\t") + "'";
    else if (near != names.end())
      message += "; names are matched exactly: set " + std::string(option) + " to " + *near;
    else
      message += "; name its columns with ts_field and wh_field";
    throw std::invalid_argument(message);
  }

  bool parse_csv(std::string_view line, const time_zone& zone, reading& out, std::string& why) {
    if (!split_csv(line, fields_, why)) return false;
    // Fewer cells are empty ones at the end, as spreadsheets write them, if ts and wh are among them.
    if (fields_.size() > names_.size() || std::max(ts_column_, wh_column_) >= fields_.size()) {
      why = "expected " + std::to_string(names_.size()) + " fields, got " + std::to_string(fields_.size());
      if (fields_.size() == names_.size() + 1 && wh_column_ + 1 < fields_.size() &&
          is_digits(fields_[wh_column_].text) && is_digits(fields_[wh_column_ + 1].text))
        why += " (a decimal comma? write 1.5, not 1,5)";
      return false;
    }
    const std::string_view ts = fields_[ts_column_].text;
    // (a '"' in it is never ISO-8601)
    if (!parse_timestamp(ts, zone, out.ts_ms, why, &ts_wall_clock_)) return false;
    if (!parse_wh(fields_[wh_column_].text, wh_field_, out.wh, why, wh_per_unit_)) return false;
    for (std::size_t i = 0; i < fields_.size(); ++i) {
      if (i == ts_column_ || i == wh_column_ || fields_[i].text.empty() || names_[i].empty()) continue;
      if (i == span_column_) {
        if (!parse_span_ms(fields_[i].text, out.span_ms, why)) return false;
      } else if (i == meter_column_) {
        out.meter = fields_[i].unquoted();
      } else {
        out.labels.push_back({names_[i], fields_[i].unquoted()});
      }
    }
    return true;
  }

  static bool is_digits(std::string_view text) {
    return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
  }

  bool parse_json(std::string_view line, const time_zone& zone, reading& out, std::string& why) {
    if (!json_.parse(line, why)) return false;
    const json_field* ts = json_.find(ts_field_);
    const json_field* wh = json_.find(wh_field_);
    if (ts == nullptr || wh == nullptr) {
      why = "missing \"" + (ts == nullptr ? ts_field_ : wh_field_) + "\"";
      return false;
    }
    if (!json_timestamp(*ts, zone, out.ts_ms, why)) return false;
    if (wh->type != json_field::kind::number) {
      why = wh_field_ + " must be a number, got " + std::string(kind_name(wh->type));
      return false;
    }
    if (!parse_wh(wh->text, wh_field_, out.wh, why, wh_per_unit_)) return false;
    const json_field* span = json_.find(span_field);
    if (span == ts || span == wh) span = nullptr;
    if (span && !json_span(*span, out.span_ms, why)) return false;
    const json_field* meter = meter_field_.empty() ? nullptr : json_.find(meter_field_);
    if (meter == ts || meter == wh || meter == span) meter = nullptr;
    if (meter && !json_meter(*meter, out.meter, why)) return false;
    for (const auto& f : json_.fields())
      if (&f != ts && &f != wh && &f != span && &f != meter && f.type != json_field::kind::null && json_.is_label(f))
        out.labels.push_back({std::string(f.key), std::string(f.text)});
    return true;
  }

  // Unsaid (null, ""): the source's meter option stands.
  bool json_meter(const json_field& f, std::string& meter, std::string& why) const {
    return reading_fields::read_meter(meter_field_, f.type == json_field::kind::boolean,
                                      f.type == json_field::kind::number, f.type == json_field::kind::null, f.text,
                                      meter, why) != reading_fields::meter_value::refused;
  }

  // null is not saying: the source's span option stands.
  static bool json_span(const json_field& f, std::int64_t& span_ms, std::string& why) {
    if (f.type == json_field::kind::null) return true;
    if (f.type == json_field::kind::number) return parse_span_ms(f.text, span_ms, why);
    why = std::string(span_field) + " must be a number, got " + std::string(kind_name(f.type));
    return false;
  }

  // A string is ISO-8601; a number is epoch milliseconds (a whole number).
  bool json_timestamp(const json_field& f, const time_zone& zone, std::int64_t& ts_ms, std::string& why) {
    ts_wall_clock_ = false;
    if (f.type == json_field::kind::string)
      return reading_fields::parse_timestamp(f.text, zone, ts_ms, why, &ts_wall_clock_);
    if (f.type == json_field::kind::number) return reading_fields::parse_epoch_ms(f.text, ts_field_, ts_ms, why);
    why = reading_fields::timestamp_kind_problem(ts_field_, kind_name(f.type));
    return false;
  }

  static std::string_view kind_name(json_field::kind k) {
    switch (k) {
      case json_field::kind::string: return "a string";
      case json_field::kind::number: return "a number";
      case json_field::kind::boolean: return "a boolean";
      case json_field::kind::null: return "null";
    }
    return "?";
  }

  file_format format_;
  std::string ts_field_, wh_field_, meter_field_;
  double wh_per_unit_;
  std::vector<std::string> names_;  // CSV header
  std::size_t ts_column_ = 0, wh_column_ = 1;
  static constexpr std::size_t no_column = static_cast<std::size_t>(-1);
  std::size_t span_column_ = no_column, meter_column_ = no_column;
  bool ts_wall_clock_ = false;
  std::vector<csv_field> fields_;   // reused for every CSV line
  flat_json_parser json_;
};

} // namespace stream_smarts::replay
