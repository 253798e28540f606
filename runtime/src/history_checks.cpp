#include "history_checks.hpp"

#include "log.hpp"
#include "offline.hpp"

#include <stream_smarts/options.hpp>
#include <stream_smarts/time.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdint>
#include <iterator>
#include <set>
#include <utility>

namespace stream_smarts::runtime {
namespace {

// No household draws less on a typical hour (a fridge alone draws more), nor
// more than its supply (most_household_w).
constexpr double least_household_w = 5;

double watts(const reading& r) { return r.wh * static_cast<double>(hour_ms) / static_cast<double>(r.span_ms); }

std::string when(const reading& r) { return format_local_iso8601(r.local); }

template <class T>
T median(std::vector<T> values) {
  const auto middle = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

/// Those of several meters interleaved look, to a command judging one, like
/// a house whose readings come twice as often: spells of no length, a day
/// drawn twice over, windows that never fill.
void refuse_empty_or_mixed(const std::vector<reading>& history) {
  if (history.empty()) throw unusable_input("the history has no readings");
  std::set<std::string> meters;
  for (const auto& r : history) meters.insert(r.meter);
  if (meters.size() == 1) return;
  std::string names;
  for (auto it = meters.begin(); it != meters.end() && std::distance(meters.begin(), it) < 3; ++it)
    names += (names.empty() ? "" : ", ") + *it;
  throw unusable_input("the history holds readings of " + std::to_string(meters.size()) + " meters (" + names +
                       (meters.size() > 3 ? ", ..." : "") + "); train, eval, report and inject work on one "
                       "meter's history: give each meter's readings a file of their own");
}

/// A history in kWh read as Wh trains a model that can never alert, and
/// injected events dwarf it, while eval calls it perfect.
void refuse_kwh_as_wh(const std::vector<reading>& history) {
  std::vector<double> power;
  for (const reading& r : history)
    if (r.span_ms > 0) power.push_back(watts(r));
  if (power.size() < 24) return;
  const double typical_w = median(std::move(power));
  // A median of 0 is a house that draws nothing most hours (solar, away), not kWh.
  if (typical_w >= least_household_w || typical_w == 0) return;
  char typical[32];
  std::snprintf(typical, sizeof typical, "%.3g", typical_w);
  throw unusable_input("the history's median reading is " + std::string(typical) +
                       " Wh an hour, less than any household uses: if its numbers are kWh, give --data-set "
                       "wh_unit=kWh (or wh_unit=Wh if they are Wh)");
}

/// Durations (steps between readings, spans) and how many of them are not
/// their median: more than a tenth, and they are not one duration.
struct durations {
  std::int64_t median = 0;
  std::size_t count = 0, other = 0;
  bool irregular() const { return other * 10 > count; }
};

durations durations_of(const std::vector<std::int64_t>& values) {
  if (values.empty()) return {};
  const std::int64_t usual = median(values);
  const auto other = std::count_if(values.begin(), values.end(), [&](std::int64_t v) { return v != usual; });
  return {usual, values.size(), static_cast<std::size_t>(other)};
}

/// Readings whose times are not one step apart, as a sensor's changes are.
bool irregular_times(const std::vector<reading>& history) {
  std::vector<std::int64_t> steps;
  for (std::size_t i = 1; i < history.size(); ++i) steps.push_back(history[i].ts_ms - history[i - 1].ts_ms);
  return durations_of(steps).irregular();
}

/// A running total (Home Assistant's energy sensors, a utility's index)
/// read as each reading's use: hourly use goes down every night, an index
/// never, or only to start again from near 0 (a "today's energy" sensor, reset
/// each midnight).
void refuse_meter_index(const std::vector<reading>& history) {
  if (history.size() < 48 || history.back().ts_ms - history.front().ts_ms < 72 * hour_ms) return;
  std::size_t up = 0, down = 0, resets = 0;
  const reading* first_reset = nullptr;
  for (std::size_t i = 1; i < history.size(); ++i) {
    const double before = history[i - 1].wh, now = history[i].wh;
    up += now > before;
    const bool reset = now < before / 10;
    resets += reset;
    down += now < before && !reset;
    if (reset && first_reset == nullptr) first_reset = &history[i];
  }
  // At most one reset a day: hourly use falls by nine tenths on many evenings, but it also goes down otherwise.
  const auto days = static_cast<std::size_t>((history.back().ts_ms - history.front().ts_ms) / (24 * hour_ms)) + 1;
  if (down * 100 > history.size() || up * 2 < history.size() || resets > days) return;
  const std::string what =
      resets == 0 ? "never go down (" + fixed(history.front().wh, 0) + " Wh at " + when(history.front()) + ", " +
                        fixed(history.back().wh, 0) + " Wh at " + when(history.back()) + "): that is a meter's index"
                  : "go down only to start again from near 0 (" + std::to_string(resets) + " times, first at " +
                        when(*first_reset) + "): that is a counter reset each day or so (a \"today's energy\" "
                        "sensor)";
  throw unusable_input("the history's readings " + what + ", the total so far, not what each "
                       "reading used; read it as one (--data-set wh_kind=index: each reading is then the use "
                       "since the one before" +
                       (irregular_times(history) ? "; its times are irregular, as a sensor's changes are: add "
                                             "--data-set resample=true for one reading per hour)"
                                           : ")"));
}

/// 15-minute energies read with the default hour's span are each taken as
/// an hour's, a quarter of the real power: a model trained on them stays
/// silent, and inject spreads an event's energy 4 times over. Minute
/// readings of a trailing hour (gpio_meter's) overlap by design, and look
/// the same here: the warning says how to say so.
void warn_span_overlap(const std::vector<reading>& history) {
  std::vector<std::int64_t> steps, spans;
  for (std::size_t i = 1; i < history.size(); ++i)
    if (history[i].ts_ms > history[i - 1].ts_ms) steps.push_back(history[i].ts_ms - history[i - 1].ts_ms);
  for (const reading& r : history)
    if (r.span_ms > 0) spans.push_back(r.span_ms);
  if (steps.size() < 24 || spans.empty()) return;
  const std::int64_t step = median(steps), span = median(spans);
  if (step >= span) return;
  const std::string every = duration_text(std::chrono::milliseconds{step});
  runtime_log().warning("readings come every " + every + ", each read as the energy of " +
                        duration_text(std::chrono::milliseconds{span}) + " (the source's span): if each is the "
                        "energy of its own " + every + ", give --data-set span=" + every + "; if each is a "
                        "trailing hour's, give span=1h to say so");
}

/// An index recorded at each change of its sensor (Home Assistant's) read
/// between its records gives a reading per record, each of its own span:
/// the scorers learn and judge readings of one span, so a few seconds' use
/// is judged as if it were an hour's.
void warn_irregular_spans(const std::vector<reading>& history) {
  std::vector<std::int64_t> spans;
  for (const reading& r : history)
    if (r.span_ms > 0) spans.push_back(r.span_ms);
  const durations of_spans = durations_of(spans);
  if (spans.size() < 24 || !of_spans.irregular()) return;
  const auto [shortest, longest] = std::minmax_element(spans.begin(), spans.end());
  const auto text = [](std::int64_t ms) {  // about: 12m, not 729029ms
    const std::int64_t unit = ms >= 60'000 ? 60'000 : ms >= 1000 ? 1000 : 1;
    return duration_text(std::chrono::milliseconds{(ms + unit / 2) / unit * unit});
  };
  runtime_log().warning(std::to_string(of_spans.other) + " of " + std::to_string(of_spans.count) +
                        " readings cover another span than the median, " + text(of_spans.median) + " (from " +
                        text(*shortest) +
                        " to " + text(*longest) + "), but a model learns and judges readings of one span: if the "
                        "history is a meter's index recorded at irregular times (Home Assistant's), give "
                        "--data-set resample=true for one reading per hour");
}

/// A meter's outage exported as zeros is learnt as usage.
void warn_zero_runs(const std::vector<reading>& history) {
  std::size_t best_first = 0, best_count = 0;
  for (std::size_t i = 0; i < history.size();) {
    std::size_t j = i;
    while (j < history.size() && history[j].wh == 0) ++j;
    if (j - i > best_count) best_first = i, best_count = j - i;
    i = j + 1;
  }
  if (best_count == 0) return;
  const reading &first = history[best_first], &last = history[best_first + best_count - 1];
  if (end_ms(last) - first.ts_ms < 12 * hour_ms) return;
  runtime_log().warning(std::to_string(best_count) + " readings of 0 Wh in a row, " + when(first) + " to " +
                        when(last) + ": no house uses nothing for half a day; if the meter was off, leave "
                        "those lines out (a missing reading is skipped, a zero is learnt as usage)");
}

/// One meter glitch of 10^7 Wh widens an hour's band for good.
void warn_beyond_supply(const std::vector<reading>& history) {
  const reading* first = nullptr;
  std::size_t count = 0;
  for (const reading& r : history)
    if (r.span_ms > 0 && watts(r) > most_household_w) {
      if (first == nullptr) first = &r;
      ++count;
    }
  if (first == nullptr) return;
  runtime_log().warning(std::to_string(count) + " reading" + (count == 1 ? " is" : "s are") +
                        " above 60 kW, more than a house's supply (the first: " + fixed(first->wh, 0) + " Wh at " +
                        when(*first) + "): meter glitches? leave them out, or the model learns them as usual");
}

/// A repeated row is judged twice: its hour weighs double. Not a local time
/// that does not exist (02:00 when summer time begins), which is read as
/// the hour after it: the row is real, only the clock skipped it.
void warn_repeated_times(const std::vector<reading>& history, const time_zone& zone) {
  const auto clock_skipped = [&](const reading& r) {
    return zone.local(r.ts_ms - hour_ms).utc_offset_s != r.local.utc_offset_s;
  };
  const reading* first = nullptr;
  std::size_t count = 0;
  for (std::size_t i = 1; i < history.size(); ++i)
    if (history[i].ts_ms == history[i - 1].ts_ms && !clock_skipped(history[i])) {
      if (first == nullptr) first = &history[i];
      ++count;
    }
  if (first == nullptr) return;
  runtime_log().warning(std::to_string(count) + " reading" + (count == 1 ? " repeats" : "s repeat") +
                        " the time of the reading before (the first: " + when(*first) +
                        "): each is judged as a reading of its own; leave the repeats out");
}

} // namespace

void check_history(const std::vector<reading>& history, const history_givens& given, const time_zone& zone) {
  refuse_empty_or_mixed(history);
  if (!given.wh_unit) refuse_kwh_as_wh(history);
  refuse_meter_index(history);
  if (!given.span) warn_span_overlap(history);
  warn_irregular_spans(history);
  warn_zero_runs(history);
  warn_beyond_supply(history);
  warn_repeated_times(history, zone);
}

} // namespace stream_smarts::runtime
