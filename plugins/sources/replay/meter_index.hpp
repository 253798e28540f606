// A meter's index (wh_kind = "index": its running total, as Emoncms kWh
// feeds and Home Assistant energy sensors record it) as readings of use.
// Kept out of replay.cpp so tests can drive it without a file.
#pragma once

#include <common/json.hpp>
#include <common/reading_fields.hpp>
#include <stream_smarts/options.hpp>
#include <stream_smarts/reading.hpp>
#include <stream_smarts/time.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

namespace stream_smarts::replay {

class meter_indexes {
public:
  /// `every_ms` 0: each reading is the use between two indexes, over the
  /// time between them. Otherwise (resample = true) the use over each
  /// `every_ms` of the clock (each hour, in the zone's own hours: at :30
  /// UTC in India), the index at each boundary interpolated between the
  /// indexes either side: irregular records become the readings of one
  /// span that the scorers learn. `every_ms` divides an hour.
  meter_indexes(std::int64_t every_ms, const time_zone& zone) : every_ms_(every_ms), zone_(zone) {}

  /// Takes `index` (its wh the meter's total) and appends to `use` the
  /// readings it completes: none for a meter's first index. An index not
  /// after the meter's index before is refused; one lower than it (a new
  /// meter) or more than a day after it starts the count again. Both return
  /// false with `why`.
  bool add(const reading& index, std::deque<reading>& use, std::string& why) {
    const point now{index.ts_ms, index.wh};
    const auto [at, first] = meters_.try_emplace(index.meter, counted{now, boundary_at(now)});
    counted& meter = at->second;
    if (first) return true;
    const std::int64_t gap = now.ts_ms - meter.last.ts_ms;
    if (gap <= 0) {  // the index before stands
      why = "index not after the meter's index before: an index is read in time order";
      return false;
    }
    if (now.wh < meter.last.wh || gap > reading_fields::max_span_ms) {
      why = restart_reason(meter.last, now) + "; counting starts again from it";
      meter = counted{now, boundary_at(now)};
      return false;
    }
    if (every_ms_ == 0)
      use.push_back(use_between(index, meter.last, now));
    else
      add_spans(index, meter, now, use);
    meter.last = now;
    return true;
  }

private:
  struct point {
    std::int64_t ts_ms;
    double wh;
  };
  struct counted {
    point last;                     // the meter's index before
    std::optional<point> boundary;  // its index at the latest boundary passed (resampling)
  };

  static std::string restart_reason(const point& before, const point& now) {
    using json::format_number;
    if (now.wh < before.wh)
      return "index went down from " + format_number(before.wh) + " Wh to " + format_number(now.wh) +
             " Wh (a new meter, or a reset?)";
    return "index " + duration_text(std::chrono::milliseconds{now.ts_ms - before.ts_ms}) +
           " after the meter's index before, more than a day: the use between is not one reading";
  }

  static reading use_between(const reading& index, const point& from, const point& to) {
    reading r = index;
    r.ts_ms = from.ts_ms;
    r.span_ms = to.ts_ms - from.ts_ms;
    r.wh = std::max(0.0, to.wh - from.wh);  // interpolation may round a flat index a hair below itself
    return r;
  }

  // One reading for each span of the clock that ends by `now`, from the
  // boundary before it (none for the first boundary after a restart).
  void add_spans(const reading& index, counted& meter, const point& now, std::deque<reading>& use) const {
    for (std::int64_t b = boundary_after(meter.last.ts_ms); b <= now.ts_ms; b = boundary_after(b)) {
      const double fraction = static_cast<double>(b - meter.last.ts_ms) / static_cast<double>(now.ts_ms - meter.last.ts_ms);
      const point at_b{b, meter.last.wh + (now.wh - meter.last.wh) * fraction};
      // A zone whose offset moved by a part of the span (Paris's 9 minutes 21
      // seconds in 1911) has no span of the clock here.
      if (meter.boundary && b - meter.boundary->ts_ms == every_ms_)
        use.push_back(use_between(index, *meter.boundary, at_b));
      meter.boundary = at_b;
    }
  }

  // The first boundary of the clock after `ts_ms`: a multiple of every_ms_
  // in local time. Offsets change by whole hours, which every_ms_ divides,
  // or nearly all do.
  std::int64_t boundary_after(std::int64_t ts_ms) const {
    const std::int64_t offset = static_cast<std::int64_t>(zone_.local(ts_ms).utc_offset_s) * 1000;
    const std::int64_t local = ts_ms + offset;
    const std::int64_t floor = local / every_ms_ * every_ms_ - (local % every_ms_ < 0 ? every_ms_ : 0);
    return floor + every_ms_ - offset;
  }

  // An index read exactly at a boundary is the first boundary's.
  std::optional<point> boundary_at(const point& p) const {
    if (every_ms_ == 0 || boundary_after(p.ts_ms - 1) != p.ts_ms) return std::nullopt;
    return p;
  }

  std::int64_t every_ms_;
  const time_zone& zone_;
  std::unordered_map<std::string, counted> meters_;
};

} // namespace stream_smarts::replay
