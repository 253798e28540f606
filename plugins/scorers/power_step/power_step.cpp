// The power_step scorer: a large load switched on and still on, told within
// minutes. score = (lowest power of the last `hold` - the level before it) /
// the threshold for the hour, so a score above 1.0 means the power rose by
// more than that hour's history allows and has stayed up. See step_model.hpp
// for why the floor, and README.md for the options.
#include "step_model.hpp"

#include <common/loaded_model.hpp>
#include <stream_smarts/meter_states.hpp>
#include <stream_smarts/plugin.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace {

using namespace stream_smarts;
using namespace stream_smarts::power_step;

/// The training options, range checked with an option_error naming the one at fault.
settings checked_settings(const options& o) {
  settings s;
  s.hold_ms = o.duration("hold").count();
  s.before_ms = o.duration("before").count();
  s.alerts_per_week = o.number("alerts_per_week");
  s.min_step_w = o.number("min_step_w");
  return model_errors::checked_as_options(s, check);
}

class power_step_scorer final : public scorer {
public:
  explicit power_step_scorer(stage_context& ctx)
      : model_(load_model(ctx)),
        power_label_(ctx.options().string("power_label")),
        active_hours_(active_hours_of(ctx.options())),
        zone_(ctx.zone()),
        span_check_(ctx, model_.reading_span_ms) {}

  score_result score(const reading& r) override {
    span_check_(r);
    const power_sample p = power_of(r, power_label_);
    const local_fields drawn = drawn_local(r, p, zone_);  // one zone lookup a reading, for both uses
    if (drawn.hour < 0 || drawn.hour >= hours_per_day)
      throw std::out_of_range("power_step: reading without a valid local hour");
    const double threshold = model_.threshold[static_cast<std::size_t>(drawn.hour)];
    const bool watching = !active_hours_ || active_hours_->contains(drawn);
    meter_state& state = per_meter_.of(r.meter, r.ts_ms, [&] { return meter_state(model_.trained); });
    const meter_state::scored s = state.next(p.ts_ms, p.w, threshold, watching);
    return {s.score, s.before_w, s.before_w + s.threshold_w, s.before_w, s.since_ms, band_unit::w};
  }

private:
  /// Empty: all day.
  static std::optional<day_hours> active_hours_of(const options& o) {
    const std::string& text = o.string("active_hours");
    if (text.empty()) return std::nullopt;
    if (const std::string why = day_hours::problem(text); !why.empty()) throw option_error("active_hours", why);
    return day_hours::parse(text);
  }

  static step_model load_model(stage_context& ctx) {
    const std::string path = loaded_model::model_path(ctx, "power_step");
    step_model m = loaded_model::read_model<model_error>(path, read_model_file);
    loaded_model::log_loaded(ctx, path, {m.timezone, m.readings, m.trained_from, m.trained_to},
                             "a step held " + duration_text(std::chrono::milliseconds(m.trained.hold_ms)));
    return m;
  }

  step_model model_;
  std::string power_label_;
  std::optional<day_hours> active_hours_;
  const time_zone& zone_;  // the pipeline's; the context outlives this scorer
  loaded_model::span_check span_check_;
  // After a gap of more than an hour a meter's step window starts afresh; a day is ample.
  meter_states<meter_state> per_meter_{day_ms};
};

std::string train_model(const std::vector<reading>& history, stage_context& ctx, const std::string& out_path) {
  step_model m = train(history, checked_settings(ctx.options()), ctx.zone(), ctx.options().string("power_label"));
  m.timezone = ctx.zone().name();
  write_model_file(m, out_path);
  return summary(m, out_path);
}

} // namespace

STREAM_SMARTS_PLUGIN(stream_smarts::scorer_plugin<power_step_scorer>(
    {"power_step",
     stream_smarts::plugin_kind::scorer,
     "0.1.0",
     "A large load switched on and still on, within minutes of its start; score = (lowest power of the last "
     "`hold` - the level before) / the threshold for the hour",
     {
         stream_smarts::optional_option("model", stream_smarts::option_type::string, {},
                                        "Model file written by `stream-smarts train --scorer power_step`. "
                                        "Required to score."),
         stream_smarts::optional_option("power_label", stream_smarts::option_type::string, std::string(power_label),
                                        "Label holding the reading's power in W (gpio_meter's instantaneous "
                                        "power_w), taken as the power at the reading's end (its ts plus its span), "
                                        "when it was emitted; a reading without it is taken as an hour's Wh, its "
                                        "mean power."),
         stream_smarts::optional_option("active_hours", stream_smarts::option_type::string, std::string(),
                                        "Local hours \"HH:MM-HH:MM\" in which a new step is told, e.g. "
                                        "\"22:00-07:00\" (by day a house itself switches on big loads every day). "
                                        "A step found in them is followed until it ends. Empty: all day."),
         stream_smarts::training_option("hold", stream_smarts::option_type::duration,
                                        std::chrono::milliseconds(10 * minute_ms),
                                        "how long the power must stay up. Shorter tells sooner, but of "
                                        "more ordinary appliances (an oven heating up).")
             .within(std::chrono::milliseconds{least_hold_ms}, std::chrono::milliseconds{most_hold_ms}),
         stream_smarts::training_option("before", stream_smarts::option_type::duration,
                                        std::chrono::milliseconds(30 * minute_ms),
                                        "the level before is the median power of this period ahead "
                                        "of the hold; with hourly readings, the hour before.")
             .within(std::chrono::milliseconds{least_before_ms}, std::chrono::milliseconds{most_before_ms}),
         stream_smarts::training_option("alerts_per_week", stream_smarts::option_type::number, 1.0,
                                        "how many alerting readings a week the thresholds allow on the "
                                        "training history: the false-alarm budget.")
             .above(0)
             .at_most(most_alerts_per_week),
         stream_smarts::training_option("min_step_w", stream_smarts::option_type::number, 1500.0,
                                        "the lowest threshold in W, so that ordinary appliances "
                                        "(a fridge, a television) never alert, whatever the history.")
             .above(0),
     }},
    train_model))
