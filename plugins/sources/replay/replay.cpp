// The replay source: streams a history file (CSV or JSON lines) as readings,
// as fast as possible or paced by the readings' own timestamps.
#include <common/meter_index.hpp>
#include "replay_format.hpp"

#include <common/reading_fields.hpp>
#include <stream_smarts/plugin.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace {

using namespace stream_smarts;
using namespace stream_smarts::replay;
using steady = std::chrono::steady_clock;

struct file_closer {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using file_ptr = std::unique_ptr<std::FILE, file_closer>;

class replay_source final : public source {
public:
  explicit replay_source(stage_context& ctx)
      : ctx_(ctx),
        path_(file_path(ctx)),
        meter_(ctx.options().string("meter")),
        span_ms_(ctx.options().duration("span").count()),
        pace_(pace_from_option(ctx.options().value("speed"))),
        indexes_(read_index(ctx, span_ms_)),
        ts_marks_end_(ctx.options().string("ts_marks") == "end"),
        parser_(new_parser(ctx.options(), read_format(ctx.options(), path_))),
        start_ms_(read_time(ctx, "start", std::numeric_limits<std::int64_t>::min())),
        end_ms_(read_time(ctx, "end", std::numeric_limits<std::int64_t>::max())) {
    check_fields(ctx.options());
    if (end_ms_ <= start_ms_) throw option_error("end", "must be after start");
    // `validate` constructs stages: open the file (and read a CSV header) now
    // so a wrong path or column name shows up there, not mid-run.
    open(false);
    check_first_lines();
    file_.reset();
    reader_.reset();
  }

  // Once per instance: a restart makes a new one.
  void start() override {
    reading_fields::count_decode_errors(ctx_, 0);
    open(true);
  }

  read_result read(std::vector<reading>& out, std::size_t max) override {
    if (!reader_) throw std::logic_error("replay: read() before start()");
    return pace_.max ? read_max(out, max) : read_paced(out, max);
  }

  void stop() override {
    if (reader_ && !summarized_)  // a paced reading still waiting for its time was never handed on
      ctx_.log().info("stopped after " + std::to_string(replayed_ - (pending_ ? 1 : 0)) + " readings, skipped " +
                      std::to_string(skipped_.count()) + " malformed lines");
    summarized_ = true;
    reader_.reset();
    file_.reset();
  }

private:
  // The history file, from the pipeline file's folder. A folder is said to be
  // one first: its name says nothing of a format, and fopen would take it.
  static std::string file_path(stage_context& ctx) {
    std::string path = ctx.resolve_path(ctx.options().string("path"));
    using type = std::filesystem::file_type;
    std::error_code ec;
    const type found = std::filesystem::status(path, ec).type();  // none: cannot tell (open() says why)
    if (found == type::directory) throw option_error("path", path + ": is a directory");
    // Said before the format, which a misspelt name (.cvs) would be blamed on.
    if (found == type::not_found) throw option_error("path", path + ": cannot open: " + std::strerror(ENOENT));
    // A pipe would give its lines to the check below and none to the replay.
    if (found != type::none && found != type::regular)
      throw option_error("path", path + ": is not a regular file (a pipe or a device?); replay opens its file "
                                        "twice, to check it and to read it");
    return path;
  }

  static file_format read_format(const options& o, const std::string& path) {
    const std::string& f = o.string("format");
    if (f == "csv") return file_format::csv;
    if (f == "jsonl") return file_format::jsonl;
    if (auto by_ext = format_from_extension(path)) return *by_ext;
    throw option_error("format", path + ": cannot tell the format from the file name (.csv, .jsonl, .ndjson, .json); "
                                        "set format = \"csv\" or \"jsonl\"");
  }

  static record_parser new_parser(const options& o, file_format format) {
    // Cells are read without the blanks around them, so a name copied with
    // them (" Start" from an Octopus header) is too.
    record_layout layout(format, std::string(trim(o.string("ts_field"))), std::string(trim(o.string("wh_field"))),
                         std::string(trim(o.string("meter_field"))));
    layout.time_field = trim(o.string("time_field"));
    if (format != file_format::csv) refuse_csv_options(o);
    layout.unit = reading_fields::energy_unit_of(o);
    layout.ts_format = read_ts_format(o);
    layout.delimiter = delimiter_of_option(o.string("delimiter"));
    layout.decimal = o.string("decimal").front();
    if (layout.decimal == layout.delimiter && format == file_format::csv)
      throw option_error("decimal", "is also the delimiter: such a file separates its columns with ';' (set "
                                    "delimiter = \";\")");
    layout.columns = o.strings("columns");
    layout.no_reading = o.strings("no_reading");
    try {
      return record_parser(std::move(layout));
    } catch (const std::invalid_argument& e) {
      throw option_error("columns", e.what());
    }
  }

  // What JSON lines write their own way, said for a CSV file, is a mistake.
  static void refuse_csv_options(const options& o) {
    if (!o.string("time_field").empty())
      throw option_error("time_field", "is for CSV files whose date and time are in two columns; in JSON lines "
                                       "ts_field holds both");
    if (!o.strings("columns").empty())
      throw option_error("columns", "is for CSV files without a header row; JSON lines name their fields");
    if (o.string("delimiter") != ",")
      throw option_error("delimiter", "is for CSV files; JSON lines separate their fields with commas");
    if (o.string("decimal") != ".")
      throw option_error("decimal", "is for CSV files; JSON numbers have a decimal point");
  }

  static std::optional<meter_indexes> read_index(stage_context& ctx, std::int64_t span_ms) {
    const options& o = ctx.options();
    if (o.string("wh_kind") == "index" && o.string("ts_marks") == "end")
      throw option_error("ts_marks", "is for readings of a span; an index (wh_kind = \"index\") is read at an instant");
    return meter_indexes_of(o, ctx.zone(), span_ms, o.boolean("hourly_statistics"));
  }

  static timestamp_format read_ts_format(const options& o) {
    try {
      return timestamp_format(o.string("ts_format"), o.string("ts_zone") == "UTC");
    } catch (const std::invalid_argument& e) {
      throw option_error("ts_format", e.what());
    }
  }

  static std::int64_t read_time(stage_context& ctx, const char* name, std::int64_t unset) {
    if (!ctx.options().has(name)) return unset;
    std::int64_t ms = 0;
    const std::string& text = ctx.options().string(name);
    if (!parse_timestamp(text, ctx.zone(), ms))
      throw option_error(name, "not an ISO-8601 time such as 2008-01-01T00:00:00: '" + text + "'");
    return ms;
  }

  // Columns are looked up by their names trimmed (new_parser), so two names
  // are one if they differ only by blanks.
  static void check_fields(const options& o) {
    const auto name = [&](const char* option) { return trim(o.string(option)); };
    for (const char* option : {"ts_field", "wh_field", "meter"})
      if (name(option).empty()) throw option_error(option, "must not be empty");
    if (name("ts_field") == name("wh_field"))
      throw option_error("wh_field", "must differ from ts_field (both are '" + std::string(name("ts_field")) + "')");
    for (const char* field : {"meter_field", "time_field"})
      for (const char* other : {"ts_field", "wh_field", "meter_field"})
        if (field != std::string_view(other) && !name(field).empty() && name(field) == name(other))
          throw option_error(field, "must differ from " + std::string(other) + " (both are '" +
                                        std::string(name(other)) + "')");
  }

  // Opens the file for streaming and, for CSV, reads its header row.
  void open(bool starting) {
    file_.reset(std::fopen(path_.c_str(), "rb"));
    if (!file_) throw option_error("path", path_ + ": cannot open: " + std::strerror(errno));
    reader_.emplace(file_.get());
    parser_ = new_parser(ctx_.options(), parser_.format());
    if (parser_.expects_header()) read_header(starting);
  }

  // A file none of whose first lines is a reading (epoch seconds in a CSV,
  // another export's columns) is the wrong file or format: said by validate,
  // not found after a run that "succeeded" with 0 readings.
  void check_first_lines() {
    constexpr std::size_t probed = 20;
    std::size_t tried = 0, first_line = 0;
    std::string first_why;
    reading r;
    std::string_view line;
    while (tried < probed && reader_->next(line)) {
      if (is_blank(line) && !reader_->too_long()) continue;
      ++tried;
      const bool too_long = reader_->too_long();
      std::string why = too_long ? too_long_text() : std::string();
      if (!too_long && parse(line, r, why)) return;
      if (!too_long && parser_.was_no_reading()) continue;
      if (first_line == 0) {
        first_line = reader_->line_number();
        first_why = why;
      }
    }
    if (first_line == 0) return;  // no readings at all, or none but lines of no reading: nothing wrong to say
    throw option_error("path", path_ + ":" + std::to_string(first_line) + ": " + first_why + "; none of the first " +
                                   std::to_string(tried) + " data lines is a reading (is it the right file, format "
                                   "and ts_field/wh_field?)");
  }

  // The header row: the first non-blank line, or the first among the first
  // 20 that names the columns, after an export's preamble (Enedis's lines
  // of "Identifiant PRM;..." before "Horodate;Valeur"). Not found, the first
  // line's problem is the one said.
  void read_header(bool starting) {
    constexpr std::size_t looked_at = 20;
    std::size_t tried = 0, first_line = 0;
    std::string first_problem;
    std::string_view line;
    while (tried < looked_at && reader_->next(line)) {
      if (reader_->too_long())
        throw option_error("path", path_ + ":" + std::to_string(reader_->line_number()) + ": " + too_long_text() +
                                       " (a CSV history starts with a header row: ts,wh)");
      if (is_blank(line)) continue;
      ++tried;
      try {
        parser_.read_header(line);
        if (starting && first_line != 0)
          ctx_.log().info(path_ + ":" + std::to_string(reader_->line_number()) + ": the header row, after " +
                          std::to_string(reader_->line_number() - 1) + " lines of preamble, which are skipped");
        return;
      } catch (const std::invalid_argument& e) {
        if (first_line == 0) first_line = reader_->line_number(), first_problem = e.what();
      }
    }
    if (reader_->failed()) throw option_error("path", path_ + ": cannot read: " + std::strerror(reader_->error()));
    if (tried == 0) throw option_error("path", path_ + ": empty file; a CSV history needs a header row (ts,wh)");
    throw option_error("path", path_ + ":" + std::to_string(first_line) + ": " + first_problem);
  }

  // One line as a reading of the source's meter and span, unless it says its own.
  bool parse(std::string_view line, reading& r, std::string& why) {
    r.meter = meter_;
    r.span_ms = span_ms_;
    return parser_.parse(line, ctx_.zone(), r, why);
  }

  // The next reading to replay, reporting and skipping malformed lines.
  bool next(reading& r) {
    while (next_use(r)) {
      if (ts_marks_end_ && !start_of_span(r)) continue;
      if (r.ts_ms < start_ms_ || r.ts_ms >= end_ms_) {
        ++outside_;  // the file may be unsorted, so keep scanning to its end
      } else {
        ++replayed_;
        return true;
      }
    }
    if (reader_->failed())
      throw std::runtime_error(path_ + ": read error after line " + std::to_string(reader_->line_number()) + ": " +
                               std::strerror(reader_->error()));
    summarize();
    return false;
  }

  // The next reading of use: a line's, or for an index the use its indexes
  // give (none, one, or with resampling several at once).
  bool next_use(reading& r) {
    if (!indexes_) return next_line(r);
    while (use_.empty()) {
      if (!next_line(r)) return false;
      if (!indexes_->add(r, use_, why_)) report_malformed();
      else if (!why_.empty()) ctx_.log().warning(path_ + ":" + std::to_string(reader_->line_number()) + ": " + why_);
    }
    r = std::move(use_.front());
    use_.pop_front();
    return true;
  }

  // The next well-formed line's reading.
  bool next_line(reading& r) {
    std::string_view line;
    while (reader_->next(line)) {
      if (reader_->too_long()) {
        why_ = too_long_text();
        report_malformed();
        continue;
      }
      if (is_blank(line)) continue;
      if (!parse(line, r, why_)) {
        if (parser_.was_no_reading()) ++no_reading_;
        else report_malformed();
        continue;
      }
      std::optional<std::int64_t>& previous = previous_of(r.meter);
      take_later_if_repeated(r, previous);
      note_order(r.ts_ms, previous);
      return true;
    }
    return false;
  }

  // A reading stamped at the end of its span (ts_marks = "end") starts a
  // span earlier; after the time as written was placed in a repeated hour.
  bool start_of_span(reading& r) {
    r.ts_ms -= r.span_ms;
    if (reading_fields::ts_in_range(r.ts_ms)) return true;
    why_ = "the reading's span would start before year 0000";
    report_malformed();
    return false;
  }

  // The latest reading time of a meter: in a file of several flats
  // interleaved, one flat's readings do not follow another's.
  std::optional<std::int64_t>& previous_of(const std::string& meter) {
    if (previous_ == nullptr || previous_->first != meter) previous_ = &*previous_ms_.try_emplace(meter).first;
    return previous_->second;
  }

  // The second time round of a local time that the end of summer time
  // repeats follows the meter's reading before. A time written with its
  // offset, or in epoch ms, is what it says.
  void take_later_if_repeated(reading& r, const std::optional<std::int64_t>& previous) const {
    if (parser_.ts_was_wall_clock() && previous)
      r.ts_ms = reading_fields::later_if_repeated(r.ts_ms, *previous, ctx_.zone());
  }

  // Readings are scored in the order they come: a file sorted newest first
  // raises no alert at all, so the summary says how many went back in time.
  void note_order(std::int64_t ts_ms, std::optional<std::int64_t>& previous) {
    if (previous && ts_ms < *previous && earlier_++ == 0) first_earlier_line_ = reader_->line_number();
    previous = ts_ms;
  }

  static std::string too_long_text() {
    return "line longer than " + std::to_string(line_reader::default_max_line >> 20) + " MiB";
  }

  void report_malformed() {
    skipped_.skip(path_ + ":" + std::to_string(reader_->line_number()) + ": " + why_ + ", line skipped");
  }

  void summarize() {
    if (summarized_) return;
    summarized_ = true;
    ctx_.log().info("replayed " + std::to_string(replayed_) + " readings, skipped " + std::to_string(skipped_.count()) +
                    " malformed lines" +
                    (no_reading_ ? " and " + std::to_string(no_reading_) + " of no reading" : std::string()) +
                    (outside_ ? ", left out " + std::to_string(outside_) + " outside start/end" : std::string()));
    if (earlier_ > 0)
      ctx_.log().warning(path_ + ":" + std::to_string(first_earlier_line_) + ": " + std::to_string(earlier_) +
                         (earlier_ == 1 ? " reading was" : " readings were") +
                         " earlier than their meter's reading before; readings are scored in the order they come, so "
                         "sort the "
                         "file by time (oldest first)");
  }

  // "finished" only comes with an empty batch, so no reading can be lost
  // whatever the runtime does with a batch that ends the stream.
  read_result read_max(std::vector<reading>& out, std::size_t max) {
    for (std::size_t n = 0; n < max; ++n) {
      out.emplace_back();
      if (!next(out.back())) {
        out.pop_back();
        return {n == 0, {}};
      }
    }
    return {};
  }

  read_result read_paced(std::vector<reading>& out, std::size_t max) {
    const auto now = steady::now();
    for (std::size_t n = 0; n < max; ++n) {
      if (!pending_ && !(pending_ = take())) return {n == 0, {}};
      const bool gap = skips_gap();  // for every reading: it keeps the latest one's time
      if (!wall_start_ || gap) {
        wall_start_ = now;
        first_ts_ = pending_->ts_ms;
      }
      const auto due = due_time(pending_->ts_ms);
      if (due > now) {
        if (n > 0) return {};
        const auto wait = std::chrono::ceil<std::chrono::milliseconds>(due - now);
        return {false, std::clamp(wait, std::chrono::milliseconds{1}, std::chrono::milliseconds{1000})};
      }
      out.push_back(std::move(*pending_));
      pending_.reset();
    }
    return {};
  }

  std::optional<reading> take() {
    reading r;
    if (!next(r)) return std::nullopt;
    return r;
  }

  // A paced replay waits through the file's time, but not through a gap of
  // more than 31 days (a stray row stamped 1970, as gpio_meter's pulse files
  // are not): at speed = "realtime" that would be decades of silence.
  bool skips_gap() {
    const std::int64_t ts = pending_->ts_ms;
    const std::int64_t before = std::exchange(last_paced_ms_, ts).value_or(ts);
    if (ts - before <= reading_fields::max_gap_ms) return false;
    ctx_.log().warning(path_ + ":" + std::to_string(reader_->line_number()) + ": " +
                       std::to_string((ts - before) / day_ms) +
                       " days after the reading before it; a paced replay does not wait through gaps of more than " +
                       reading_fields::max_gap_text);
    return true;
  }

  // Readings earlier than the first one (an unsorted file) are simply due now.
  steady::time_point due_time(std::int64_t ts_ms) const {
    // At most ~30 years either way (as good as never): centuries apart would
    // not fit steady_clock's nanoseconds.
    const std::chrono::duration<double, std::milli> offset{
        std::clamp(static_cast<double>(ts_ms - first_ts_) / pace_.factor, -1e12, 1e12)};
    return *wall_start_ + std::chrono::duration_cast<steady::duration>(offset);
  }

  stage_context& ctx_;
  std::string path_;
  std::string meter_;
  std::int64_t span_ms_;
  pace pace_;
  std::optional<meter_indexes> indexes_;  // wh_kind = "index"
  std::deque<reading> use_;               // what the indexes gave, not yet replayed
  bool ts_marks_end_;  // ts is the end of each reading's span (a load curve's "Horodate")
  record_parser parser_;
  file_ptr file_;
  std::optional<line_reader> reader_;
  std::string why_;  // reused for each malformed line's reason
  std::int64_t start_ms_, end_ms_;  // replay only [start, end)
  std::size_t replayed_ = 0, outside_ = 0, no_reading_ = 0;
  reading_fields::skipped_records skipped_{ctx_, "malformed lines"};
  bool summarized_ = false;
  std::optional<reading> pending_;  // paced: read, but not yet due
  std::optional<steady::time_point> wall_start_;
  std::int64_t first_ts_ = 0;
  std::optional<std::int64_t> last_paced_ms_;  // the latest reading paced
  std::unordered_map<std::string, std::optional<std::int64_t>> previous_ms_;  // each meter's latest reading parsed
  std::pair<const std::string, std::optional<std::int64_t>>* previous_ = nullptr;  // the last one looked up
  std::size_t earlier_ = 0, first_earlier_line_ = 0;  // readings that went back in time
};

std::vector<option_spec> declared_options() {
  std::vector<option_spec> o{
    required_option("path", option_type::string,
                    "History file to replay (CSV with a header row, or JSON lines); relative "
                    "to the pipeline file.")
        .history_file(),
    optional_option("format", option_type::string, std::string("auto"),
                    "File format; \"auto\" goes by extension (.csv; .jsonl, .ndjson, .json).",
                    {"auto", "csv", "jsonl"}),
    optional_option(
        "speed", option_type::string | option_type::number, std::string("max"),
        "\"max\" = as fast as possible, \"realtime\" = the readings' own spacing, or a multiplier "
        "(3600 = an hour of data per second).",
        {"max", "realtime"})
        .above(0)
        .history_value(std::string("max")),  // realtime would take the history's own length to read
    optional_option("meter", option_type::string, std::string("home"),
                    "Meter name of readings that do not name their own (meter_field)."),
    optional_option("meter_field", option_type::string, std::string("meter"),
                    "CSV column / JSON key naming each reading's meter, as stream-smarts's "
                    "own records do (a string, or a number: in JSON 42 and 42.0 are one "
                    "meter); empty: every reading is `meter`'s."),
    optional_option("ts_field", option_type::string, std::string("ts"),
                    "CSV column / JSON key of the timestamp, written as ts_format says."),
    optional_option("columns", option_type::string_list,
                    std::vector<std::string>{},
                    "CSV: the names of the columns of a file without a header row (an "
                    "Emoncms export: [\"ts\", \"wh\"]); its first line is then a reading. "
                    "Empty: the first line is the header row."),
    optional_option("time_field", option_type::string, std::string(),
                    "CSV: the column of the time of day, when the date and the time are in two "
                    "columns (ts_field then names the date's); read joined by a space, as "
                    "ts_format says (\"%d/%m/%Y %H:%M:%S\")."),
    optional_option(
        "ts_format", option_type::string, std::string("iso8601"),
        "How timestamps are written: \"iso8601\" (2007-01-01T04:00:00, local unless it has an offset; in "
        "JSON a number is epoch ms), \"epoch_s\", \"epoch_ms\", or a pattern of %Y %m %d %H %M %S "
        "(\"%d/%m/%Y %H:%M\"), read as local time unless it has %z (Z, UTC, +01:00)."),
    optional_option("ts_zone", option_type::string, std::string("local"),
                    "The zone of timestamps written without an offset: \"local\", the "
                    "pipeline's timezone, or \"UTC\" for an export that writes UTC without "
                    "saying so (Shelly's energy meters, under \"Date/time UTC\").",
                    {"local", "UTC"}),
    optional_option("ts_marks", option_type::string, std::string("start"),
                    "Whether a timestamp is the start of the reading's span, or its end (as "
                    "load curves such as Enedis's stamp each interval).",
                    {"start", "end"}),
    optional_option("wh_field", option_type::string, std::string("wh"),
                    "CSV column / JSON key of the energy, in wh_unit (Wh by default)."),
    reading_fields::wh_unit_option(),
    optional_option("no_reading", option_type::string_list,
                    std::vector<std::string>{},
                    "wh_field values that mean the meter gave no reading ([\"unavailable\", "
                    "\"unknown\"] in Home Assistant's history, [\"?\"] in the UCI file; \"null\" is "
                    "also JSON's null): such lines are skipped and counted in the summary, "
                    "not reported one by one."),
  };
  const std::vector<option_spec> index = index_options();
  o.insert(o.end(), index.begin(), index.end());
  o.insert(o.end(), {
    optional_option(
        "hourly_statistics", option_type::boolean, false,
        "With wh_kind = \"index\": an index stamped exactly on an hour (hh:00:00.000 UTC) is Home Assistant's "
        "hourly statistics row, which holds the index at the end of that hour: it is read an hour on. For a "
        "History download of more days than Home Assistant's recorder keeps."),
    optional_option("delimiter", option_type::string, std::string(","),
                    "CSV: what separates the columns (\";\" in many European exports).",
                    replay::delimiter_choices()),
    optional_option("decimal", option_type::string, std::string("."),
                    "CSV: the decimal separator of wh_field's numbers (\",\" in many European "
                    "exports, which then separate columns with \";\").",
                    {".", ","}),
    reading_fields::span_option(),
    optional_option("start", option_type::string, {},
                    "Replay only readings at or after this ISO-8601 time (local unless it has "
                    "an offset)."),
    optional_option("end", option_type::string, {},
                    "Replay only readings before this ISO-8601 time, e.g. to train on the first "
                    "years and replay the rest."),
  });
  return o;
}

} // namespace

STREAM_SMARTS_PLUGIN(stream_smarts::source_plugin<replay_source>(
    {"replay",
     stream_smarts::plugin_kind::source,
     "0.1.0",
     "Replays a history file (CSV or JSON lines) as readings, as fast as possible or paced by its timestamps",
     declared_options()}))
