// The sustained_load scorer: how far above its usual level the house has
// stayed for the last few hours, against what that hour's history allows.
// score = floor / threshold, the highest among the windows of `hours`, so a
// score above 1.0 means every reading of the last hours of one window was that
// much above its usual level: something left on.
// See sustained_model.hpp for why the floor, and README.md for the options.
#include "sustained_model.hpp"

#include <common/json.hpp>
#include <common/loaded_model.hpp>
#include <stream_smarts/meter_states.hpp>
#include <stream_smarts/plugin.hpp>

#include <cmath>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using namespace stream_smarts;
using namespace stream_smarts::sustained_load;

/// `hours = 3` or `hours = [2, 3, 6]`: whole hours.
std::vector<std::int64_t> windows_of(const options& o) {
  if (o.holds<std::int64_t>("hours")) return {o.integer("hours")};
  std::vector<std::int64_t> hours;
  for (double h : o.numbers("hours")) {
    if (h != std::floor(h) || !std::isfinite(h))
      throw option_error("hours", "must be whole numbers of hours; got " + json::format_number(h));
    hours.push_back(static_cast<std::int64_t>(h));
  }
  return hours;
}

/// The training options, range checked with an option_error naming the one at fault.
settings checked_settings(const options& o) {
  settings s;
  s.hours = windows_of(o);
  s.baseline_days = o.integer("baseline_days");
  s.by_weekday = o.boolean("by_weekday");
  s.alerts_per_week = o.number("alerts_per_week");
  s.min_excess_wh = o.number("min_excess_wh");
  s.budget_days = o.integer("budget_days");
  return model_errors::checked_as_options(s, check);
}

class sustained_load_scorer final : public scorer {
public:
  explicit sustained_load_scorer(stage_context& ctx)
      : model_(load_model(ctx)), span_check_(ctx, model_.reading_span_ms) {}

  score_result score(const reading& r) override {
    if (r.local.hour < 0 || r.local.hour >= hours_per_day)
      throw std::out_of_range("sustained_load: reading without a valid local hour");
    span_check_(r);
    meter& m = per_meter_.of(r.meter, r.ts_ms, [&] { return meter{meter_state(model_.trained), {}}; });
    const meter_state::step s = m.state.next(r, model_.usual);
    const verdict v = judge(model_, s, s.hour);
    const double threshold = model_.threshold[v.window][static_cast<std::size_t>(s.hour)];
    score_result result{v.score, s.usual_wh, s.usual_wh + threshold, s.usual_wh,
                        m.state.rise_start_ms(s, v.window, threshold)};
    result.still_on = m.rise.still_on(model_, s, v);
    return result;
  }

private:
  static sustained_model load_model(stage_context& ctx) {
    const std::string path = loaded_model::model_path(ctx, "sustained_load");
    sustained_model m = loaded_model::read_model<model_error>(path, read_model_file);
    loaded_model::log_loaded(ctx, path, {m.timezone, m.readings, m.trained_from, m.trained_to},
                             windows_text(m.trained.hours));
    return m;
  }

  struct meter {
    meter_state state;
    followed_rise rise;
  };
  sustained_model model_;
  loaded_model::span_check span_check_;
  // Silent for baseline_days, a meter's usual level and windows are empty again anyway.
  meter_states<meter> per_meter_{model_.trained.baseline_days * day_ms};
};

std::string train_model(const std::vector<reading>& history, stage_context& ctx, const std::string& out_path) {
  sustained_model m =
      train(history, checked_settings(ctx.options()), {ctx.rehearsal_count(), [&](int i) { return ctx.rehearsal(i); }});
  m.timezone = ctx.zone().name();
  write_model_file(m, out_path);
  return summary(m, out_path);
}

} // namespace

STREAM_SMARTS_PLUGIN(stream_smarts::scorer_plugin<sustained_load_scorer>(
    {"sustained_load",
     stream_smarts::plugin_kind::scorer,
     "0.1.0",
     "Usage that stays above its usual level for hours (a heater left on); score = the smallest excess "
     "of the last hours / the threshold for the hour",
     {
         stream_smarts::optional_option("model", stream_smarts::option_type::string, {},
                                        "Model file written by `stream-smarts train --scorer sustained_load`. "
                                        "Required to score."),
         stream_smarts::training_option("hours",
                                        stream_smarts::option_type::integer | stream_smarts::option_type::number_list,
                                        std::vector<double>{2, 3, 6},
                                        "how many hours in a row usage must stay above its usual "
                                        "level: one window, or up to 6 side by side in increasing order, each "
                                        "with its own thresholds (each 1..24). A short window catches a short "
                                        "event sooner, a long one a small load left on all day."),
         stream_smarts::training_option("baseline_days", stream_smarts::option_type::integer, std::int64_t{28},
                                        "the usual level of an hour is the median of that hour over "
                                        "the meter's last this many days, so it follows the seasons.")
             .within(least_baseline_days, most_baseline_days),
         stream_smarts::training_option("by_weekday", stream_smarts::option_type::boolean, true,
                                        "the usual level of an hour on a weekday is taken from "
                                        "weekdays only, and on Saturday or Sunday from weekends only."),
         stream_smarts::training_option("alerts_per_week", stream_smarts::option_type::number, 1.0,
                                        "how many alert-hours a week the thresholds allow on the "
                                        "training history's last budget_days: the false-alarm budget. "
                                        "`train` spends it at the hours where it catches the most events of "
                                        "its rehearsals (--rehearsals, --kinds), or evenly with --rehearsals 0.")
             .above(0)
             .at_most(most_alerts_per_week),
         stream_smarts::training_option("min_excess_wh", stream_smarts::option_type::number, 200.0,
                                        "the lowest threshold, in Wh above the usual level, so a "
                                        "quiet, regular hour cannot alert on a few watts; for an hour's "
                                        "reading, and its share for shorter ones (3.3 Wh for a minute's).")
             .above(0),
         stream_smarts::training_option("budget_days", stream_smarts::option_type::integer, std::int64_t{365},
                                        "alerts_per_week is met on the last this many days of the "
                                        "history (14..3660; 0: all of it), because a house changes over the "
                                        "years; which hours get the budget is learnt from all of it."),
     }},
    train_model))
