// The percentile_band scorer (the original design's): for each hour of the
// day a band [lo, hi] of expected Wh; score = (wh - lo) / (hi - lo), so a
// score above 1.0 is above the top of the band.
#include "band_model.hpp"

#include <common/loaded_model.hpp>
#include <stream_smarts/plugin.hpp>

#include <array>
#include <string>

namespace {

using namespace stream_smarts;
using namespace stream_smarts::percentile_band;

class percentile_band_scorer final : public scorer {
public:
  explicit percentile_band_scorer(stage_context& ctx) {
    const options& o = ctx.options();
    const bool has_band = o.has("band"), has_model = o.has("model");
    if (has_band && has_model) throw option_error("band", "band and model are both set; give exactly one of them");
    if (!has_band && !has_model)
      throw option_error("band", "neither band nor model is set; give exactly one of them "
                                 "(band = 24 [lo, hi] rows, or model = a trained model file)");
    const band_model m = has_band ? inline_model(o) : load_model(ctx);
    span_check_ = loaded_model::span_check(ctx, m.reading_span_ms);
    for (int d = 0; d < days_per_week; ++d)
      for (int h = 0; h < hours_per_day; ++h) table_[d * hours_per_day + h] = m.bands[d][h];
  }

  score_result score(const reading& r) override {
    const auto hour = static_cast<unsigned>(r.local.hour), day = static_cast<unsigned>(r.local.weekday);
    if (hour >= hours_per_day || day >= days_per_week)
      throw std::out_of_range("percentile_band: reading without valid local hour/weekday");
    span_check_(r);
    const band& b = table_[day * hours_per_day + hour];
    return {(r.wh - b.lo) / (b.hi - b.lo), b.lo, b.hi, b.centre};
  }

private:
  static band_model inline_model(const options& o) {
    try {
      return model_from_hourly(bands_from_rows(o.matrix("band"), "band"));
    } catch (const model_error& e) {
      throw option_error("band", e.what());
    }
  }

  static band_model load_model(stage_context& ctx) {
    const std::string path = loaded_model::model_path(ctx, "percentile_band");
    band_model m = loaded_model::read_model<model_error>(path, read_model_file);
    loaded_model::log_loaded(ctx, path, {m.timezone, m.readings, m.trained_from, m.trained_to});
    return m;
  }

  // weekday * 24 + hour: one lookup per reading, no branch on by_weekday.
  std::array<band, days_per_week * hours_per_day> table_{};
  loaded_model::span_check span_check_;
};

std::string train_model(const std::vector<reading>& history, stage_context& ctx, const std::string& out_path) {
  const options& o = ctx.options();
  band_model m = train(history, o.number("lo_percentile"), o.number("hi_percentile"), o.boolean("by_weekday"));
  m.timezone = ctx.zone().name();
  write_model_file(m, out_path);
  return summary(m, out_path);
}

} // namespace

STREAM_SMARTS_PLUGIN(stream_smarts::scorer_plugin<percentile_band_scorer>(
    {"percentile_band",
     stream_smarts::plugin_kind::scorer,
     "0.1.0",
     "Expected [lo, hi] Wh per hour of day (or weekday x hour); score = (wh - lo) / (hi - lo)",
     {
         stream_smarts::optional_option("band", stream_smarts::option_type::number_matrix, {},
                                        "24 [lo, hi] rows of expected Wh for hours 0..23. Give exactly one of band and model."),
         stream_smarts::optional_option("model", stream_smarts::option_type::string, {},
                                        "Model file written by `stream-smarts train`. Give exactly one of band and model."),
         stream_smarts::training_option("lo_percentile", stream_smarts::option_type::number, 0.0,
                                        "the percentile of each hour's readings taken as lo (0 = the minimum).")
             .within(statistics::least_percentile, statistics::most_percentile),
         stream_smarts::training_option("hi_percentile", stream_smarts::option_type::number, 100.0,
                                        "the percentile of each hour's readings taken as hi (100 = the maximum).")
             .within(statistics::least_percentile, statistics::most_percentile),
         stream_smarts::training_option("by_weekday", stream_smarts::option_type::boolean, false,
                                        "one band per weekday and hour instead of one per hour."),
     }},
    train_model))
