// night_owl: an out-of-tree scorer built only against the installed
// stream-smarts SDK. Most homes use little power at night; this scorer holds
// each hour to a ceiling for its period (night or day):
//   score = wh / max   (above 1.0: more than the ceiling, i.e. unusual)
//   expected band = [0, max]
// The night runs from night_start (inclusive) to night_end (exclusive), in
// wall-clock hours of the pipeline's time zone; it may wrap past midnight.
#include <stream_smarts/plugin.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace {

using namespace stream_smarts;

class night_owl_scorer final : public scorer {
public:
  // Options arrive validated against the declaration below (types, ranges,
  // required, defaults); the constructor only checks what a declaration
  // cannot express: two options that must differ.
  // It also runs for `stream-smarts validate`, so mistakes show up there,
  // reported at the option's line in the pipeline file.
  explicit night_owl_scorer(stage_context& ctx) {
    const options& o = ctx.options();
    night_start_ = static_cast<int>(o.integer("night_start"));
    night_end_ = static_cast<int>(o.integer("night_end"));
    if (night_start_ == night_end_)
      throw option_error("night_end", "must differ from night_start (both are " + std::to_string(night_start_) +
                                          "); the night needs at least one hour");
    night_max_ = o.number("night_max_wh");
    day_max_ = o.number("day_max_wh");
    ctx.log().debug("night is " + std::to_string(night_start_) + ":00-" + std::to_string(night_end_) +
                    ":00 (" + ctx.zone().name() + ")");
  }

  score_result score(const reading& r) override {
    const int hour = r.local.hour;  // filled by the runtime in the pipeline's time zone
    if (hour < 0 || hour > 23) throw std::out_of_range("night_owl: reading without a valid local hour");
    const double max = is_night(hour) ? night_max_ : day_max_;
    return {r.wh / max, 0.0, max};
  }

private:
  bool is_night(int hour) const {
    return night_start_ < night_end_ ? hour >= night_start_ && hour < night_end_   // e.g. 1..5
                                     : hour >= night_start_ || hour < night_end_;  // e.g. 23..5
  }

  int night_start_ = 23, night_end_ = 6;
  double night_max_ = 0, day_max_ = 0;
};

} // namespace

STREAM_SMARTS_PLUGIN(stream_smarts::scorer_plugin<night_owl_scorer>(
    {"night_owl",
     stream_smarts::plugin_kind::scorer,
     "1.0.0",
     "Flags hours above a Wh ceiling, with a low one at night; score = wh / ceiling",
     {
         stream_smarts::optional_option("night_start", stream_smarts::option_type::integer, std::int64_t{23},
                                        "first hour of the night (local time)")
             .within(0, 23),
         stream_smarts::optional_option("night_end", stream_smarts::option_type::integer, std::int64_t{6},
                                        "hour the night ends, exclusive (local time); may be below night_start")
             .within(0, 23),
         stream_smarts::required_option("night_max_wh", stream_smarts::option_type::number,
                                        "highest usual Wh in one night hour; more is unusual")
             .above(0),
         stream_smarts::optional_option("day_max_wh", stream_smarts::option_type::number, 1e9,
                                        "highest usual Wh in one day hour (default: effectively no limit)")
             .above(0),
     }}))
