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

/// Reads the `speed` option as the runtime validated it: "max", "realtime"
/// (its choices) or a number above 0 (its range).
inline pace pace_from_option(const option_value& v) {
  if (const auto* f = std::get_if<double>(&v)) return {false, *f};
  return std::get<std::string>(v) == "realtime" ? pace{false, 1.0} : pace{};
}

/// How a history writes its timestamps: ISO-8601 (the default; in JSON lines
/// a number is then epoch milliseconds), epoch seconds or milliseconds, or a
/// pattern of %Y %m %d %H %M %S and literal text ("%d/%m/%Y %H:%M"), read as
/// wall-clock time in the pipeline's zone unless it has an offset (%z), or
/// as UTC if the export writes UTC without saying so (`utc_unless_said`).
class timestamp_format {
public:
  enum class kind { iso8601, epoch_s, epoch_ms, pattern };

  timestamp_format() = default;
  /// Throws std::invalid_argument with the reason for a bad pattern.
  explicit timestamp_format(std::string text, bool utc_unless_said = false)
      : text_(std::move(text)), utc_unless_said_(utc_unless_said) {
    if (text_ == "iso8601") kind_ = kind::iso8601;
    else if (text_ == "epoch_s") kind_ = kind::epoch_s;
    else if (text_ == "epoch_ms") kind_ = kind::epoch_ms;
    else read_pattern();
  }

  kind which() const { return kind_; }
  /// As the option has it: "iso8601", or the pattern.
  const std::string& text() const { return text_; }

  /// Parses `text`, the field `field`'s. `wall_clock` says whether it was a
  /// local time without an offset, which the end of summer time repeats.
  bool parse(std::string_view text, std::string_view field, const time_zone& zone, std::int64_t& ts_ms,
             std::string& why, bool& wall_clock) const {
    wall_clock = false;
    switch (kind_) {
      case kind::iso8601: return parse_iso(text, zone, ts_ms, why, wall_clock);
      case kind::epoch_ms: return reading_fields::parse_epoch_ms(text, field, ts_ms, why, epoch_s_remedy);
      case kind::epoch_s: return parse_epoch_s(text, field, ts_ms, why);
      case kind::pattern: break;
    }
    civil_time c;
    std::optional<int> offset_s;
    if (!match(text, c, offset_s)) {
      why = "bad timestamp '" + std::string(text) + "' (expected ts_format '" + text_ + "')";
      return false;
    }
    ts_ms = instant({c, offset_s}, zone, wall_clock);
    return true;
  }

  /// What to do about epoch seconds given as milliseconds.
  static constexpr std::string_view epoch_s_remedy = "set ts_format = \"epoch_s\"";

private:
  // A pattern's parts: literal text, or a field ("%d": 'd'; "%z": 'z').
  struct part {
    char field = 0;
    std::string literal;
  };
  static constexpr std::string_view fields = "YmdHMSz";

  // Each of %Y %m %d %H once, %M %S %z at most once; %% is a '%'. A zone
  // written as text ("Z", "UTC", "+01:00") is %z's, or it would be read as
  // local time.
  void read_pattern() {
    kind_ = kind::pattern;
    int seen[fields.size()] = {};
    for (std::size_t i = 0; i < text_.size(); ++i) {
      if (text_[i] != '%' || (i + 1 < text_.size() && text_[i + 1] == '%')) {
        if (parts_.empty() || parts_.back().field) parts_.emplace_back();
        parts_.back().literal += text_[i];
        i += text_[i] == '%';
        continue;
      }
      const char f = i + 1 < text_.size() ? text_[++i] : '\0';
      const auto at = fields.find(f);
      if (f == '\0' || at == std::string_view::npos)
        throw std::invalid_argument("'" + text_ + "' is not \"iso8601\", \"epoch_s\", \"epoch_ms\" or a pattern of "
                                    "%Y %m %d %H %M %S %z (such as \"%d/%m/%Y %H:%M\"): it has '%" +
                                    std::string(f ? 1 : 0, f) + "'");
      if (++seen[at] > 1) throw std::invalid_argument("'" + text_ + "' has %" + std::string(1, f) + " twice");
      parts_.push_back({f, {}});
    }
    for (std::size_t i = 0; i < 4; ++i)
      if (seen[i] == 0)
        throw std::invalid_argument("'" + text_ + "' has no %" + std::string(1, fields[i]) +
                                    ": a pattern needs the date and hour (%Y %m %d %H)");
    for (const part& p : parts_)
      for (std::string_view zone : {"Z", "UTC", "GMT", "+"})
        if (p.literal.find(zone) != std::string::npos)
          throw std::invalid_argument("'" + text_ + "' has '" + std::string(zone) + "' as text: write the zone as "
                                      "%z (Z, UTC, +01:00, +0100), or it is read as local time");
  }

  // Numbers next to each other with nothing between ("%Y%m%d%H") take two
  // digits each, or "2024111" would be read one way of several.
  bool match(std::string_view s, civil_time& c, std::optional<int>& offset_s) const {
    int* values[] = {&c.year, &c.month, &c.day, &c.hour, &c.minute, &c.second};
    for (std::size_t i = 0; i < parts_.size(); ++i) {
      const part& p = parts_[i];
      if (!p.field) {
        if (s.substr(0, p.literal.size()) != p.literal) return false;
        s.remove_prefix(p.literal.size());
      } else if (p.field == 'z') {
        if (!take_offset(s, offset_s)) return false;
      } else {
        const bool packed = (i > 0 && parts_[i - 1].field) || (i + 1 < parts_.size() && parts_[i + 1].field);
        int& value = *values[fields.find(p.field)];
        const std::size_t digits = p.field == 'Y' ? 4 : packed || two_digits(s) ? 2 : 1;
        if (!detail::take_int(s, digits, value)) return false;
      }
    }
    return s.empty() && c.month >= 1 && c.month <= 12 && c.day >= 1 &&
           c.day <= detail::days_in_month(c.year, c.month) && detail::end_of_day_read(c);
  }

  // "7" or "07", as exports write days and months.
  static bool two_digits(std::string_view s) { return s.size() >= 2 && s[1] >= '0' && s[1] <= '9'; }

  // "Z", "UTC", "GMT", or +HH:MM / +HHMM / +HH (or -).
  static bool take_offset(std::string_view& s, std::optional<int>& offset_s) {
    for (std::string_view utc : {"UTC", "GMT", "Z"})
      if (s.substr(0, utc.size()) == utc) {
        s.remove_prefix(utc.size());
        offset_s = 0;
        return true;
      }
    if (s.empty() || (s[0] != '+' && s[0] != '-')) return false;
    const int sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
    int hours = 0, minutes = 0;
    if (!detail::take_int(s, 2, hours)) return false;
    detail::take_char(s, ':');
    if (two_digits(s) && !detail::take_int(s, 2, minutes)) return false;
    if (hours > 23 || minutes > 59) return false;
    offset_s = sign * (hours * 3600 + minutes * 60);
    return true;
  }

  // ISO-8601, with what to set when the text is a number of epoch seconds
  // or milliseconds (a header-less export read with the default format).
  bool parse_iso(std::string_view text, const time_zone& zone, std::int64_t& ts_ms, std::string& why,
                 bool& wall_clock) const {
    if (const auto t = parse_iso8601(text)) {
      ts_ms = instant(*t, zone, wall_clock);
      return true;
    }
    why = reading_fields::not_iso8601(text);
    if (text.size() >= 9 && text.size() <= 13 && text.find_first_not_of("0123456789") == std::string_view::npos)
      why += "; epoch seconds or milliseconds? set ts_format = \"epoch_s\" or \"epoch_ms\"";
    return false;
  }

  // A time written without an offset is local, or UTC for an export that
  // writes UTC without saying so.
  std::int64_t instant(iso_timestamp t, const time_zone& zone, bool& wall_clock) const {
    if (!t.utc_offset_s && utc_unless_said_) t.utc_offset_s = 0;
    wall_clock = !t.utc_offset_s;
    return to_utc_ms(t, zone);
  }

  // Whole or fractional epoch seconds of years 0000 to 9999.
  static bool parse_epoch_s(std::string_view text, std::string_view field, std::int64_t& ts_ms, std::string& why) {
    double seconds = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (text.empty() || end != text.data() + text.size() || ec == std::errc::invalid_argument) {
      why = std::string(field) + " is not a number of epoch seconds: '" + std::string(text) + "'";
      return false;
    }
    const double ms = std::round(seconds * 1000);
    const auto in_range = [](double v) {
      return v >= static_cast<double>(reading_fields::min_ts_ms) && v <= static_cast<double>(reading_fields::max_ts_ms);
    };
    if (ec != std::errc{} || !in_range(ms)) {
      why = std::string(field) + " is out of range: " + std::string(text) + " (epoch seconds of " +
            reading_fields::ts_range_text + ")";
      if (ec == std::errc{} && in_range(seconds))
        why += "; it looks like epoch milliseconds: set ts_format = \"epoch_ms\"";
      return false;
    }
    ts_ms = static_cast<std::int64_t>(ms);
    return true;
  }

  std::string text_ = "iso8601";
  bool utc_unless_said_ = false;
  kind kind_ = kind::iso8601;
  std::vector<part> parts_;  // a pattern's
};

/// The column separators a CSV history may have, and how the `delimiter`
/// option names each ("tab" for '\t', which a TOML file would hide).
inline constexpr std::string_view delimiters = ",;\t|";
inline std::string delimiter_option_value(char delimiter) { return delimiter == '\t' ? "tab" : std::string(1, delimiter); }
inline char delimiter_of_option(const std::string& value) { return value == "tab" ? '\t' : value.front(); }
inline std::vector<std::string> delimiter_choices() {
  std::vector<std::string> choices;
  for (const char c : delimiters) choices.push_back(delimiter_option_value(c));
  return choices;
}

/// How one history file writes its readings: the replay source's options
/// that say where each field is and how it is written.
struct record_layout {
  explicit record_layout(file_format format_ = file_format::csv, std::string ts_field_ = "ts",
                         std::string wh_field_ = "wh", std::string meter_field_ = {})
      : format(format_), ts_field(std::move(ts_field_)), wh_field(std::move(wh_field_)),
        meter_field(std::move(meter_field_)) {}

  file_format format;
  std::string ts_field, wh_field;
  std::string meter_field;  ///< empty: no reading names its meter
  std::string time_field;   ///< CSV only: the time of day's column, when ts_field holds only the date
  std::vector<std::string> columns;  ///< CSV only: the names of a file without a header row's columns
  reading_fields::energy_unit unit;
  timestamp_format ts_format;
  char delimiter = ',';       ///< CSV only
  char decimal = '.';         ///< CSV only: ',' in many European exports
  /// wh values that say the meter gave no reading ("unavailable" in Home
  /// Assistant's history, "?" in the UCI file): such lines are not malformed.
  std::vector<std::string> no_reading;
};

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

/// A space, or a tab unless tabs separate the columns. (A loop over it is
/// faster than find_first_not_of on the hot path.)
inline bool is_blank_in(char c, char delimiter) { return c == ' ' || (c == '\t' && delimiter != '\t'); }

/// `s` without the blanks around it.
inline std::string_view trim(std::string_view s, char delimiter = ',') {
  while (!s.empty() && is_blank_in(s.front(), delimiter)) s.remove_prefix(1);
  while (!s.empty() && is_blank_in(s.back(), delimiter)) s.remove_suffix(1);
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

/// Splits a CSV line (RFC 4180 quoting, fields trimmed of spaces) at
/// `delimiter` into `fields`, reusing its storage. Returns false and sets
/// `why` on bad quoting.
inline bool split_csv(std::string_view line, std::vector<csv_field>& fields, std::string& why, char delimiter = ',') {
  fields.clear();
  std::size_t pos = 0;
  for (;;) {
    while (pos < line.size() && is_blank_in(line[pos], delimiter)) ++pos;
    csv_field f;
    std::size_t next;  // position of the delimiter ending this field, or npos
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
      for (next = q + 1; next < line.size() && is_blank_in(line[next], delimiter);) ++next;
      if (next == line.size()) next = std::string_view::npos;
      if (next != std::string_view::npos && line[next] != delimiter) {
        why = "unexpected text after a quoted field";
        return false;
      }
    } else {
      next = line.find(delimiter, pos);
      f.text = trim(line.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos), delimiter);
    }
    fields.push_back(f);
    if (next == std::string_view::npos) return true;
    pos = next + 1;
  }
}

/// Turns lines of one history file into readings: CSV (after its header row)
/// or JSON lines, as its record_layout says. Fills ts_ms, wh and labels,
/// span_ms if the line says it (span_field), and meter if the line names one
/// (meter_field, when not empty); local is left alone. `span_ms` must hold
/// the source's span on the way in: a power needs it.
class record_parser {
public:
  /// Throws std::invalid_argument if the layout's `columns` lack a field.
  explicit record_parser(record_layout layout) : layout_(std::move(layout)) {
    if (layout_.format == file_format::csv && !layout_.columns.empty())
      use_columns(layout_.columns, [&](const char* option, const std::string& field, const std::vector<std::string>&) {
        return "names no '" + field + "' column: set " + option + " to one of its names, or name that column '" +
               field + "'";
      });
  }

  file_format format() const { return layout_.format; }
  /// Whether the last reading parsed had its time written without an offset
  /// (a wall-clock time, which the end of summer time repeats), not with one
  /// or in epoch milliseconds.
  bool ts_was_wall_clock() const { return ts_wall_clock_; }
  /// Whether the last line parse() refused says the meter gave no reading
  /// (its wh is one of the layout's no_reading), rather than being malformed.
  bool was_no_reading() const { return no_reading_; }
  /// CSV only: the first non-blank line must go to read_header() first.
  bool expects_header() const { return layout_.format == file_format::csv && names_.empty(); }

  /// Finds the ts and wh columns by name, and span_field's if there is one;
  /// every other column becomes a label.
  /// Throws std::invalid_argument with the reason.
  void read_header(std::string_view line) {
    std::string why;
    if (!split_csv(line, fields_, why, layout_.delimiter)) throw std::invalid_argument("header row: " + why);
    std::vector<std::string> names;
    for (const auto& f : fields_) names.push_back(f.unquoted());
    use_columns(std::move(names), [&](const char* option, const std::string& field,
                                      const std::vector<std::string>& named) {
      return missing_in_header(option, field, named, line);
    });
  }

  /// Parses one data line into `out`. Returns false with the reason in `why`.
  bool parse(std::string_view line, const time_zone& zone, reading& out, std::string& why) {
    out.labels.clear();
    no_reading_ = false;
    return layout_.format == file_format::csv ? parse_csv(line, zone, out, why) : parse_json(line, zone, out, why);
  }

private:
  // Names the columns; `missing(option, field, names)` is the reason when a
  // field names none of them.
  template <class Missing>
  void use_columns(std::vector<std::string> names, Missing missing) {
    for (std::size_t i = 0; i < names.size(); ++i)  // (columns without a name, a spreadsheet's trailing ",,", are never read)
      if (!names[i].empty() && std::find(names.begin(), names.begin() + i, names[i]) != names.begin() + i)
        throw std::invalid_argument(std::string(layout_.columns.empty() ? "header row" : "columns") +
                                    ": duplicate column '" + names[i] + "'");
    const auto column_of = [&](const char* option, const std::string& field) {
      const auto at = std::find(names.begin(), names.end(), field);
      if (at == names.end()) throw std::invalid_argument(missing(option, field, names));
      return static_cast<std::size_t>(at - names.begin());
    };
    ts_column_ = column_of("ts_field", layout_.ts_field);
    wh_column_ = column_of("wh_field", layout_.wh_field);
    time_column_ = layout_.time_field.empty() ? no_column : column_of("time_field", layout_.time_field);
    span_column_ = meter_column_ = no_column;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (i == ts_column_ || i == wh_column_ || i == time_column_) continue;
      if (names[i] == span_field) span_column_ = i;
      else if (!layout_.meter_field.empty() && names[i] == layout_.meter_field) meter_column_ = i;
    }
    names_ = std::move(names);
  }

  // Why a header row has no column named `field`, with what would read it.
  std::string missing_in_header(std::string_view option, const std::string& field,
                                const std::vector<std::string>& names, std::string_view line) const {
    const auto near = std::find_if(names.begin(), names.end(),
                                   [&](const std::string& name) { return detail::equal_ignoring_case(name, field); });
    constexpr std::size_t shown = 200;  // a file with no line breaks is one "header" of up to 1 MiB
    std::string message = "header row has no '" + field + "' column: '" + std::string(line.substr(0, shown)) +
                          (line.size() > shown ? "...'" : "'");
    if (line.find('\r') != std::string_view::npos)
      message += "; its lines end in a carriage return alone (an old Mac export?): convert them to line feeds";
    else if (const char other = other_delimiter(names, line))
      message += "; it has one column: its columns are separated by '" +
                 std::string(other == '\t' ? "\\t" : std::string(1, other)) + "': set delimiter = \"" +
                 delimiter_option_value(other) + "\"";
    else if (near != names.end())
      message += "; names are matched exactly: set " + std::string(option) + " to " + *near;
    else if (std::string_view(option) == "time_field")
      message += "; set time_field to the name of the column with the time of day";
    else if (looks_like_data(line))
      message += "; it looks like data: a file without a header row needs its columns named (columns = [\"" +
                 layout_.ts_field + "\", \"" + layout_.wh_field + "\"])";
    else
      message += "; name its columns with ts_field and wh_field";
    return message;
  }

  // A first line that starts with a digit (a time or a number) is no header.
  static bool looks_like_data(std::string_view line) {
    const auto first = line.find_first_not_of(" \t\"");
    return first != std::string_view::npos && line[first] >= '0' && line[first] <= '9';
  }

  // The separator a one-column header holds instead of the delimiter, if any.
  char other_delimiter(const std::vector<std::string>& names, std::string_view line) const {
    if (names.size() != 1) return 0;
    for (const char c : delimiters)
      if (c != layout_.delimiter && line.find(c) != std::string_view::npos) return c;
    return 0;
  }

  bool parse_csv(std::string_view line, const time_zone& zone, reading& out, std::string& why) {
    if (!split_csv(line, fields_, why, layout_.delimiter)) return false;
    // Fewer cells are empty ones at the end, as spreadsheets write them, if ts and wh are among them.
    const std::size_t needed = std::max({ts_column_, wh_column_, time_column_ == no_column ? 0 : time_column_});
    if (fields_.size() > names_.size() || needed >= fields_.size()) {
      why = "expected " + std::to_string(names_.size()) + " fields, got " + std::to_string(fields_.size());
      if (layout_.delimiter == ',' && fields_.size() == names_.size() + 1 && wh_column_ + 1 < fields_.size() &&
          is_digits(fields_[wh_column_].text) && is_digits(fields_[wh_column_ + 1].text))
        why += " (a decimal comma? write 1.5, not 1,5)";
      return false;
    }
    const std::string_view wh = fields_[wh_column_].text;
    if (says_no_reading(wh, why)) return false;
    // The span first: a power, or a ts at the reading's end, needs it.
    if (span_column_ < fields_.size() && !fields_[span_column_].text.empty() &&
        !parse_span_ms(fields_[span_column_].text, out.span_ms, why))
      return false;
    if (!layout_.ts_format.parse(timestamp_text(), layout_.ts_field, zone, out.ts_ms, why, ts_wall_clock_))
      return false;
    if (!reading_fields::parse_energy(wh, layout_.wh_field, layout_.unit, out.span_ms, out.wh, why, layout_.decimal)) {
      if (layout_.decimal == '.' && wh.find(',') != std::string_view::npos) why += comma_hint(wh);
      else why += no_reading_hint(wh);
      return false;
    }
    for (std::size_t i = 0; i < fields_.size(); ++i) {
      if (i == ts_column_ || i == wh_column_ || i == time_column_ || i == span_column_ || fields_[i].text.empty() ||
          names_[i].empty())
        continue;
      if (i == meter_column_) out.meter = fields_[i].unquoted();
      else out.labels.push_back({names_[i], fields_[i].unquoted()});
    }
    return true;
  }

  bool says_no_reading(std::string_view wh, std::string& why) {
    const auto& marks = layout_.no_reading;
    if (marks.empty() || std::find(marks.begin(), marks.end(), wh) == marks.end()) return false;
    no_reading_ = true;
    why = "no reading ('" + std::string(wh) + "')";
    return true;
  }

  // How exports commonly say a reading is missing: named, the option that
  // skips such lines without a warning each.
  static std::string no_reading_hint(std::string_view wh) {
    static constexpr std::string_view marks[] = {"unavailable", "unknown", "?", "-", "--", "n/a", "na", "null", "none"};
    const bool known = std::any_of(std::begin(marks), std::end(marks),
                                   [&](std::string_view m) { return detail::equal_ignoring_case(wh, m); });
    return known ? "; if that means no reading, set no_reading = [\"" + std::string(wh) + "\"]" : std::string();
  }

  // What a ',' in a number read with a decimal point may be.
  std::string comma_hint(std::string_view wh) const {
    if (wh.find('.') != std::string_view::npos) return " (a thousands separator? write the number without it)";
    if (layout_.delimiter == ',') return " (a decimal comma or a thousands separator? write 1234.5)";
    return " (a decimal comma? set decimal = \",\")";
  }

  // The ts cell, or the date and time cells joined by a space (time_field).
  // (a '"' in it is never a timestamp)
  std::string_view timestamp_text() {
    if (time_column_ == no_column) return fields_[ts_column_].text;
    joined_.assign(fields_[ts_column_].text).append(1, ' ').append(fields_[time_column_].text);
    return joined_;
  }

  static bool is_digits(std::string_view text) {
    return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
  }

  bool parse_json(std::string_view line, const time_zone& zone, reading& out, std::string& why) {
    if (!json_.parse(line, why)) return false;
    const json_field* ts = json_.find(layout_.ts_field);
    const json_field* wh = json_.find(layout_.wh_field);
    if (ts == nullptr || wh == nullptr) {
      why = "missing \"" + (ts == nullptr ? layout_.ts_field : layout_.wh_field) + "\"";
      return false;
    }
    const json_field* span = json_.find(span_field);
    if (span == ts || span == wh) span = nullptr;
    if (span && !json_span(*span, out.span_ms, why)) return false;
    // A mark is a string, or JSON's own null, which no_reading names "null".
    const bool null = wh->type == json_field::kind::null;
    const std::string_view wh_text = null ? std::string_view("null") : std::string_view(wh->text);
    if ((null || wh->type == json_field::kind::string) && says_no_reading(wh_text, why)) return false;
    if (!json_timestamp(*ts, zone, out.ts_ms, why)) return false;
    // A number, or a string holding one, as Home Assistant writes a state.
    if (wh->type != json_field::kind::number && wh->type != json_field::kind::string) {
      why = layout_.wh_field + " must be a number, got " + std::string(kind_name(wh->type));
      if (null) why += no_reading_hint(wh_text);
      return false;
    }
    if (!reading_fields::parse_energy(wh->text, layout_.wh_field, layout_.unit, out.span_ms, out.wh, why)) {
      if (wh->type == json_field::kind::string) why += no_reading_hint(wh_text);
      return false;
    }
    const json_field* meter = layout_.meter_field.empty() ? nullptr : json_.find(layout_.meter_field);
    if (meter == ts || meter == wh || meter == span) meter = nullptr;
    if (meter && !json_meter(*meter, out.meter, why)) return false;
    for (const auto& f : json_.fields())
      if (&f != ts && &f != wh && &f != span && &f != meter && is_scalar(f) && json_.is_label(f))
        out.labels.push_back({std::string(f.key), std::string(f.text)});
    return true;
  }

  // Unsaid (null, ""): the source's meter option stands.
  bool json_meter(const json_field& f, std::string& meter, std::string& why) const {
    const bool names = f.type != json_field::kind::boolean && f.type != json_field::kind::nested;
    return reading_fields::read_meter(layout_.meter_field, names ? "" : kind_name(f.type),
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

  // As ts_format says; in ISO-8601 a number is epoch milliseconds (a whole
  // number), and epoch seconds or milliseconds may be a number or a string.
  bool json_timestamp(const json_field& f, const time_zone& zone, std::int64_t& ts_ms, std::string& why) {
    ts_wall_clock_ = false;
    const timestamp_format& format = layout_.ts_format;
    const bool epoch = format.which() == timestamp_format::kind::epoch_s ||
                       format.which() == timestamp_format::kind::epoch_ms;
    if (f.type == json_field::kind::number && format.which() == timestamp_format::kind::iso8601)
      return reading_fields::parse_epoch_ms(f.text, layout_.ts_field, ts_ms, why, timestamp_format::epoch_s_remedy);
    if (f.type == json_field::kind::string || (f.type == json_field::kind::number && epoch))
      return format.parse(f.text, layout_.ts_field, zone, ts_ms, why, ts_wall_clock_);
    if (format.which() == timestamp_format::kind::iso8601)
      why = reading_fields::timestamp_kind_problem(layout_.ts_field, kind_name(f.type));
    else
      why = layout_.ts_field + " must be " + (epoch ? "a number" : "a string") + " (ts_format = \"" + format.text() +
            "\"), got " + std::string(kind_name(f.type));
    return false;
  }

  // A value a label may hold: not null, not a nested object or array.
  static bool is_scalar(const json_field& f) {
    return f.type != json_field::kind::null && f.type != json_field::kind::nested;
  }

  static std::string_view kind_name(json_field::kind k) {
    switch (k) {
      case json_field::kind::string: return "a string";
      case json_field::kind::number: return "a number";
      case json_field::kind::boolean: return "a boolean";
      case json_field::kind::null: return "null";
      case json_field::kind::nested: return "a nested object or array";
    }
    return "?";
  }

  record_layout layout_;
  std::vector<std::string> names_;  // CSV header
  std::size_t ts_column_ = 0, wh_column_ = 1;
  static constexpr std::size_t no_column = static_cast<std::size_t>(-1);
  std::size_t span_column_ = no_column, meter_column_ = no_column, time_column_ = no_column;
  std::string joined_;  // reused: a date and a time cell joined
  bool ts_wall_clock_ = false;
  bool no_reading_ = false;  // the last line said the meter gave none
  std::vector<csv_field> fields_;   // reused for every CSV line
  flat_json_parser json_;
};

} // namespace stream_smarts::replay
