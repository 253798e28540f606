#include "band_model.hpp"

#include <common/atomic_file.hpp>
#include <common/loaded_model.hpp>
#include <common/model_text.hpp>
#include <common/toml_text.hpp>

#include <stream_smarts/time.hpp>

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <sstream>


namespace stream_smarts::percentile_band {

using toml_text::toml_float;
using toml_text::toml_string;
using toml_text::two_digits;

const char* weekday_name(int weekday) {
  static const char* const names[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
  return weekday >= 0 && weekday < days_per_week ? names[weekday] : "?";
}

namespace {


band band_from_row(const std::vector<double>& row, std::string_view what, int hour) {
  const std::string where = std::string(what) + " row for hour " + std::to_string(hour) + ": ";
  if (row.size() != 2 && row.size() != 3)
    throw model_error(where + "expected [lo, hi] or [lo, hi, centre], got " + std::to_string(row.size()) + " numbers");
  band b{row[0], row[1]};
  if (!std::isfinite(b.lo) || !std::isfinite(b.hi)) throw model_error(where + "lo and hi must be finite numbers");
  if (row.size() == 3) {
    b.centre = row[2];
    if (!std::isfinite(b.centre)) throw model_error(where + "centre must be a finite number");
  }
  if (!(b.hi > b.lo))
    throw model_error(where + "hi (" + format_number(b.hi) + ") must be above lo (" + format_number(b.lo) + ")");
  return b;
}

} // namespace

day_bands bands_from_rows(const number_matrix& rows, std::string_view what) {
  if (rows.size() != hours_per_day)
    throw model_error(std::string(what) + " needs 24 [lo, hi] rows, one per hour 0..23; got " +
                      std::to_string(rows.size()));
  day_bands out;
  for (int h = 0; h < hours_per_day; ++h) out[h] = band_from_row(rows[h], what, h);
  return out;
}

band_model model_from_hourly(const day_bands& hourly) {
  band_model m;
  m.bands.fill(hourly);
  return m;
}


namespace {

std::string bucket_name(int bucket, bool by_weekday) {
  const std::string hour = "hour " + two_digits(bucket % hours_per_day);
  return by_weekday ? std::string(weekday_name(bucket / hours_per_day)) + " " + hour : hour;
}

std::size_t bucket_of(const reading& r, bool by_weekday) {
  const int h = r.local.hour, d = r.local.weekday;
  if (h < 0 || h >= hours_per_day || d < 0 || d >= days_per_week)
    throw std::runtime_error("percentile_band: reading at " + std::to_string(r.ts_ms) +
                             " ms has no valid local hour/weekday");
  if (!std::isfinite(r.wh))
    throw std::runtime_error("percentile_band: reading at " + format_local_iso8601(r.local) + " has wh " +
                             format_number(r.wh) + "; need finite values");
  return static_cast<std::size_t>(by_weekday ? d * hours_per_day + h : h);
}

// A bucket of identical values (or a single reading) gives lo == hi, and the
// score's division by hi - lo would blow up. Widen hi by a width far below
// any meaningful Wh difference, so scores stay finite and the band readable.
band widened(band b) {
  if (b.hi <= b.lo) b.hi = b.lo + std::max(1e-9, 1e-6 * std::fabs(b.lo));
  return b;
}

} // namespace

band_model train(const std::vector<reading>& history, double lo_percentile, double hi_percentile, bool by_weekday) {
  check_percentiles(lo_percentile, hi_percentile);
  if (history.empty()) throw std::runtime_error("percentile_band: the history has no readings");
  const int buckets = by_weekday ? days_per_week * hours_per_day : hours_per_day;
  std::vector<std::vector<double>> values(static_cast<std::size_t>(buckets));
  for (const auto& r : history) values[bucket_of(r, by_weekday)].push_back(r.wh);

  band_model m;
  for (int b = 0; b < buckets; ++b) {
    auto& v = values[static_cast<std::size_t>(b)];
    if (v.empty())
      throw std::runtime_error("percentile_band: no reading for " + bucket_name(b, by_weekday) +
                               " in the history; every " + (by_weekday ? "weekday and hour" : "hour of the day") +
                               " needs at least one");
    std::sort(v.begin(), v.end());
    const band learned = widened({percentile(v, lo_percentile), percentile(v, hi_percentile), percentile(v, 50)});
    if (by_weekday) m.bands[b / hours_per_day][b % hours_per_day] = learned;
    else for (auto& day : m.bands) day[b] = learned;
  }
  m.by_weekday = by_weekday;
  m.lo_percentile = lo_percentile;
  m.hi_percentile = hi_percentile;
  loaded_model::record_training_span(m, history);
  return m;
}

// ---------------------------------------------------------------- writing

namespace {

void write_rows(std::ostringstream& out, const day_bands& rows, const std::string& indent) {
  for (int h = 0; h < hours_per_day; ++h) {
    out << indent << "[" << toml_float(rows[h].lo) << ", " << toml_float(rows[h].hi);
    if (std::isfinite(rows[h].centre)) out << ", " << toml_float(rows[h].centre);
    out << "],  # " << two_digits(h) << ":00\n";
  }
}

} // namespace

std::string to_toml(const band_model& m) {
  std::ostringstream out;
  out << "# stream-smarts percentile_band model: expected energy (Wh) per hour of the\n"
         "# day as [lo, hi, median] rows for hours 00..23, local time.\n"
         "# score = (wh - lo) / (hi - lo).\n"
      << model_text::format_lines(model_format, model_format_version, m)
      << "lo_percentile = " << toml_float(m.lo_percentile) << "\n"
      << "hi_percentile = " << toml_float(m.hi_percentile) << "\n"
      << "by_weekday = " << (m.by_weekday ? "true" : "false") << "\n"
      << model_text::training_span_lines(m);
  if (!m.by_weekday) {
    out << "band = [\n";
    write_rows(out, m.bands[0], "  ");
    out << "]\n";
    return out.str();
  }
  out << "band_by_weekday = [\n";
  for (int d = 0; d < days_per_week; ++d) {
    out << "  [  # " << weekday_name(d) << "\n";
    write_rows(out, m.bands[d], "    ");
    out << "  ],\n";
  }
  out << "]\n";
  return out.str();
}

void write_model_file(const band_model& m, const std::string& path) {
  files::write_file_atomically(path, to_toml(m));
}

// ---------------------------------------------------------------- reading

namespace {

// Non-numbers become NaN and non-lists empty rows, so bands_from_rows reports
// them with the row's hour.
number_matrix matrix_of(const toml::array& rows) {
  number_matrix out;
  for (const auto& row : rows) {
    std::vector<double> values;
    if (const auto* a = row.as_array())
      for (const auto& n : *a) values.push_back(n.is_number() ? n.value<double>().value_or(NAN) : NAN);
    out.push_back(std::move(values));
  }
  return out;
}

const toml::array& array_at(const toml::table& t, std::string_view key, std::string_view hint) {
  const toml::node* n = t.get(key);
  if (n == nullptr) throw model_error("no '" + std::string(key) + "' array" + std::string(hint));
  if (!n->is_array()) throw model_error("'" + std::string(key) + "' must be an array of [lo, hi] rows");
  return *n->as_array();
}

void check_format(const toml::table& t) {
  const std::string expected = " (expected format = \"" + std::string(model_format) + "\")";
  const toml::node* f = t.get("format");
  if (f == nullptr) throw model_error("not a percentile_band model: no 'format' key" + expected);
  if (f->value<std::string>() != std::string(model_format))
    throw model_error("not a percentile_band model: format is " +
                      (f->is_string() ? toml_string(*f->value<std::string>()) : std::string("not a string")) +
                      expected);
  const toml::node* v = t.get("format_version");
  if (v == nullptr || !v->is_integer()) throw model_error("no integer 'format_version' key");
  if (const auto version = *v->value<std::int64_t>(); version != model_format_version)
    throw model_error("unsupported format_version " + std::to_string(version) + " (this plugin reads version " +
                      std::to_string(model_format_version) + ")");
}

void read_bands(const toml::table& t, band_model& m) {
  const toml::node* flag = t.get("by_weekday");
  if (flag != nullptr && !flag->is_boolean()) throw model_error("by_weekday must be true or false");
  m.by_weekday = flag != nullptr && *flag->value<bool>();
  if (!m.by_weekday) {
    m.bands.fill(bands_from_rows(matrix_of(array_at(t, "band", " (a truncated file?)")), "band"));
    return;
  }
  const auto& days = array_at(t, "band_by_weekday", " (by_weekday = true needs one)");
  if (days.size() != days_per_week)
    throw model_error("band_by_weekday needs 7 lists of 24 [lo, hi] rows, Monday..Sunday; got " +
                      std::to_string(days.size()));
  for (int d = 0; d < days_per_week; ++d) {
    const std::string what = "band_by_weekday[" + std::to_string(d) + "] (" + weekday_name(d) + ")";
    const auto* rows = days[static_cast<std::size_t>(d)].as_array();
    m.bands[d] = bands_from_rows(rows ? matrix_of(*rows) : number_matrix{}, what);
  }
}

} // namespace

band_model from_toml(std::string_view text, std::string_view source_name) {
  const toml::table t = model_text::parse<model_error>(text, source_name);
  check_format(t);
  band_model m;
  read_bands(t, m);
  // Provenance only: a hand-written model may leave these out.
  m.lo_percentile = t["lo_percentile"].value_or(0.0);
  m.hi_percentile = t["hi_percentile"].value_or(100.0);
  model_text::read_provenance(t, m);
  return m;
}

band_model read_model_file(const std::string& path) {
  return from_toml(model_text::read_file<model_error>(path), path);
}

std::string summary(const band_model& m, const std::string& path) {
  return "percentile_band: " + std::to_string(m.readings) + " readings from " + m.trained_from + " to " +
         m.trained_to + ", band p" + format_number(m.lo_percentile) + "-p" + format_number(m.hi_percentile) +
         (m.by_weekday ? " per weekday and hour" : " per hour") + ", written to " + path;
}

} // namespace stream_smarts::percentile_band
