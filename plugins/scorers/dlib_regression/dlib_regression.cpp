// The dlib_regression scorer: an expected band [lo, hi] of Wh for a reading's
// time of day, week and year, learnt from history with dlib's kernel ridge
// regression in log space; score = (wh - lo) / (hi - lo), so a score above
// 1.0 is above the top of the band. No dlib here: see envelope_model.cpp.
#include "envelope_model.hpp"
#include "excess_score.hpp"

#include <common/json.hpp>
#include <common/loaded_model.hpp>
#include <stream_smarts/meter_states.hpp>
#include <common/statistics.hpp>
#include <stream_smarts/plugin.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>

namespace {

using namespace stream_smarts;
using namespace stream_smarts::dlib_regression;
using json::format_number;

/// The training options' values (the runtime checked each one's range).
training_options checked_options(const options& o) {
  training_options t;
  t.lo_percentile = o.number("lo_percentile");
  t.hi_percentile = o.number("hi_percentile");
  t.gamma = o.number("gamma");
  t.max_basis = static_cast<long>(o.integer("max_basis"));
  statistics::check_percentiles(t.lo_percentile, t.hi_percentile);
  return t;
}

/// The accumulated-excess options (scoring only); the runtime checked the
/// ranges but excess_baseline_hours', which is not one.
excess_options checked_excess(const options& o) {
  excess_options e;
  e.excess_wh = o.number("excess_wh");
  e.allowance = o.number("excess_allowance");
  e.baseline_hours = o.number("excess_baseline_hours");
  e.min_hours = o.number("excess_min_hours");
  if (!(e.baseline_hours == 0 || (e.baseline_hours >= 1 && e.baseline_hours <= 10000)))
    throw option_error("excess_baseline_hours", "must be 0 (off) or within 1..10000 hours; got " +
                                                    format_number(e.baseline_hours));
  return e;
}

class dlib_regression_scorer final : public scorer {
public:
  explicit dlib_regression_scorer(stage_context& ctx) {
    excess_ = checked_excess(ctx.options());
    model_ = load_model(ctx);
    excess_.log_offset_wh = model_.header().log_offset_wh;
    span_check_ = loaded_model::span_check(ctx, model_.header().reading_span_ms);
  }

  score_result score(const reading& r) override {
    check_local_fields(r.local);
    span_check_(r);
    const envelope e = model_.predict(r.local);
    const double instant = (r.wh - e.lo) / (e.hi - e.lo);
    if (!(excess_.excess_wh > 0)) return {instant, e.lo, e.hi, e.expected};
    // Excess counts above `excess_allowance` spreads over the centre, so the
    // level follows the house and how erratic that time usually is.
    const double excess = per_meter_.of(r.meter, r.ts_ms, [&] { return excess_accumulator(excess_); }).add(r.ts_ms, r.wh, e.log_centre, e.log_spread);
    return {std::max(instant, excess), e.lo, e.hi, e.expected};
  }

private:
  static envelope_model load_model(stage_context& ctx) {
    const std::string path = loaded_model::model_path(ctx, "dlib_regression");
    envelope_model m = loaded_model::read_model<model_error>(path, envelope_model::read_file);
    const model_header& h = m.header();
    loaded_model::log_loaded(ctx, path, {h.timezone, h.readings, h.trained_from, h.trained_to});
    ctx.log().debug(std::to_string(m.centre_basis()) + "+" + std::to_string(m.spread_basis()) + " basis vectors" +
                    (m.shared_basis() ? ", shared by the centre and spread functions" : ""));
    return m;
  }

  envelope_model model_;
  excess_options excess_;
  loaded_model::span_check span_check_;
  // One running sum per meter. Its sum restarts after a gap anyway; its
  // recent level is of no use after four weeks without a reading.
  meter_states<excess_accumulator> per_meter_{28 * day_ms};
};

std::string train_model(const std::vector<reading>& history, stage_context& ctx, const std::string& out_path) {
  const training_options t = checked_options(ctx.options());
  const auto start = std::chrono::steady_clock::now();
  const envelope_model m =
      envelope_model::train(history, t, ctx.zone().name(), [&ctx](double done) { ctx.progress(done); });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.write_file(out_path);

  // What the file says is what was trained: read it back and compare the
  // bands for the whole history, bit for bit.
  const envelope_model loaded = envelope_model::read_file(out_path);
  for (const reading& r : history) {
    const envelope a = m.predict(r.local), b = loaded.predict(r.local);
    if (std::memcmp(&a, &b, sizeof a) != 0)
      throw std::runtime_error("dlib_regression: " + out_path + " read back gives another band at " +
                               format_local_iso8601(r.local) + " than the model trained (a dlib serialization bug?)");
  }
  ctx.progress(1);
  char took[32];
  std::snprintf(took, sizeof took, "%.2f", seconds);
  ctx.log().info(std::string("trained in ") + took + " s");
  return summary(m, out_path);
}

} // namespace

STREAM_SMARTS_PLUGIN(stream_smarts::scorer_plugin<dlib_regression_scorer>(
    {"dlib_regression",
     stream_smarts::plugin_kind::scorer,
     "0.1.0",
     "Expected [lo, hi] Wh by time of day, week and year, learnt with dlib kernel ridge regression; "
     "score = (wh - lo) / (hi - lo)",
     {
         stream_smarts::optional_option("model", stream_smarts::option_type::string, {},
                                        "Model file written by `stream-smarts train --scorer dlib_regression`. "
                                        "Required to score."),
         stream_smarts::training_option("lo_percentile", stream_smarts::option_type::number, 0.5,
                                        "the percentile of the training readings' standardized "
                                        "residuals taken as the bottom of the band (0.5: one reading in 200 "
                                        "falls below it).")
             .within(statistics::least_percentile, statistics::most_percentile),
         stream_smarts::training_option("hi_percentile", stream_smarts::option_type::number, 99.5,
                                        "the percentile of the training readings' standardized "
                                        "residuals taken as the top of the band (99.5: one reading in 200 "
                                        "rises above it).")
             .within(statistics::least_percentile, statistics::most_percentile),
         stream_smarts::training_option("gamma", stream_smarts::option_type::number, 0.2,
                                        "width of the radial basis kernel on the normalized time "
                                        "features; larger follows the history more closely, smaller is smoother.")
             .above(0),
         stream_smarts::training_option("max_basis", stream_smarts::option_type::integer, std::int64_t{50},
                                        "most basis vectors per fitted function; more can fit finer shapes but "
                                        "scores more slowly.")
             .within(1, max_basis_limit),
         stream_smarts::optional_option("excess_wh", stream_smarts::option_type::number, 0.0,
                                        "Scoring: energy (Wh) above the usual level, accumulated over consecutive "
                                        "readings, that scores 1.0: a heater left on for hours adds up even when "
                                        "each hour alone looks ordinary. The score is then the larger of the "
                                        "hour's own score and accumulated / excess_wh. 0 = off (each reading on "
                                        "its own).")
             .at_least(0),
         stream_smarts::optional_option("excess_allowance", stream_smarts::option_type::number, 1.5,
                                        "Scoring, with excess_wh: the usual level that excess is counted above, "
                                        "in typical deviations above the expected value (0 = the expected value "
                                        "itself; larger counts only what is further above it).")
             .within(0, 10),
         stream_smarts::optional_option("excess_min_hours", stream_smarts::option_type::number, 3.0,
                                        "Scoring, with excess_wh: each hour adds at most excess_wh / "
                                        "excess_min_hours, so that many hours of excess at least are needed to "
                                        "reach 1.0 and one busy hour cannot (1 = no such limit).")
             .within(1, 100),
         stream_smarts::optional_option("excess_baseline_hours", stream_smarts::option_type::number, 24.0,
                                        "Scoring, with excess_wh: hours over which the house's recent level is "
                                        "followed, so that a cold week or a full house is not counted as excess "
                                        "(0 = the model's expected value as it is)."),
     }},
    train_model))
