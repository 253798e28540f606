// A meter's index (wh_kind = "index": its running total, as Emoncms kWh
// feeds and Home Assistant energy sensors record it) as readings of use:
// replay reads it from a file, kafka_source from a topic. Tests drive it
// without either.
#pragma once

#include <common/reading_fields.hpp>
#include <stream_smarts/options.hpp>
#include <stream_smarts/reading.hpp>
#include <stream_smarts/time.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace stream_smarts {

class meter_indexes {
public:
  /// `every_ms` 0: each reading is the use between two indexes, over the
  /// time between them. Otherwise (resample = true) the use over each
  /// `every_ms` of the clock (each hour, in the zone's own hours: at :30
  /// UTC in India), the index at each boundary interpolated between the
  /// indexes either side: irregular records become the readings of one
  /// span that the scorers learn. `every_ms` divides an hour.
  /// `hourly_statistics`: an index stamped exactly on an hour (UTC) is
  /// the one at the end of that hour, as Home Assistant's hourly statistics
  /// stamp their closing state with the hour's start: it is read an hour on.
  meter_indexes(std::int64_t every_ms, const time_zone& zone, bool hourly_statistics = false)
      : every_ms_(every_ms), zone_(zone), hourly_statistics_(hourly_statistics) {}

  /// Takes `index` (its wh the meter's total) and appends to `use` the
  /// readings it completes: none for a meter's first index. Returns false
  /// for an index it leaves out (the index before stands), with `why`; an
  /// index taken that starts the count again also has a `why`, to be told:
  /// - one not after the index before (the same record twice is no news);
  /// - a dip of less than a tenth: the meter's wobble, not a reset;
  /// - a fall is a reset (a daily meter, a new meter) counted on from 0, as
  ///   Home Assistant counts its energy sensors, unless what it says was
  ///   used since is more than a house draws: then counting starts again;
  /// - straight back from where it fell to (its next move, within a day) to
  ///   where the index was before a fall, the fall was a glitch (a sensor
  ///   reporting 0 for a while): counting goes on from before it; any other
  ///   rise of more than a house draws is left out;
  /// - one more than a day after the index before is left out, unless it
  ///   has not moved and is resampled: each span used nothing;
  /// - the index after one left out as a spike or a jump, if it follows
  ///   that one (later, within a day, a rise a house may draw), shows the
  ///   count before was wrong (a first index of 0, a gap of days): counting
  ///   starts again from the one left out. So a single record, however far
  ///   off, is left out, and never stops the meter's count.
  /// `position` tells where the record came from (a Kafka offset): see
  /// replay_from.
  bool add(const reading& record, std::deque<reading>& use, std::string& why, std::int64_t position = 0) {
    why.clear();
    const reading& index = hourly_statistics_ && record.ts_ms % hour_ms == 0 ? an_hour_on(record) : record;
    const auto [at, first] = meters_.try_emplace(index.meter);
    counted& meter = at->second;
    if (first) return restart(meter, index, position), true;
    const std::int64_t gap = index.ts_ms - meter.last.ts_ms;
    if (gap <= 0) {
      if (gap == 0 && index.wh == meter.raw) return true;
      why = "index not after the meter's index before: an index is read in time order";
      return false;
    }
    const outcome taken = take(meter, index, gap, position, use, why);
    if (taken == outcome::dip) return false;
    if (taken != outcome::left_out) {
      meter.left_out.reset();
      return true;
    }
    if (meter.left_out && follows(meter.left_out->index, index))
      return start_from_left_out(meter, index, position, use, why);
    meter.left_out = suspect{index, position};
    return false;
  }

  /// Where to read a meter's records again from after a restart, so that
  /// they give every reading not given yet: `position`, the meter's index
  /// before the span in progress (each record's, without resample; the one
  /// before a fall that may yet prove a glitch). A consumer commits no
  /// further, or a restart would lose that span. `ts_ms`: the time of the
  /// meter's latest index taken.
  struct replay_point {
    std::int64_t position, ts_ms;
  };
  /// None for a meter not seen.
  std::optional<replay_point> replay_from(const std::string& meter) const {
    const auto it = meters_.find(meter);
    if (it == meters_.end()) return std::nullopt;
    return replay_point{it->second.replay_position, it->second.last.ts_ms};
  }

  /// Drops what is known of `meter` (a Kafka partition given up: its next
  /// owner reads it on from replay_from).
  void forget(const std::string& meter) { meters_.erase(meter); }


private:

  // left_out: a spike or a jump, which the next index may prove right; a
  // dip never is (two in a row would count the dip's depth as use).
  enum class outcome { taken, restarted, left_out, dip };

  const reading& an_hour_on(const reading& record) {
    moved_ = record;
    moved_.ts_ms += hour_ms;
    return moved_;
  }

  struct point {
    std::int64_t ts_ms;
    double wh;  // the index counted on through resets
  };
  struct fall {
    double raw, offset;  // the meter's index as recorded, and its offset, before the fall
    std::int64_t ts_ms;
    std::int64_t position;  // of the index before the fall
    double fallen;          // the index it fell to
  };
  struct suspect {
    reading index;  // left out as a spike or a jump
    std::int64_t position;
  };
  struct counted {
    point last{};                     // the meter's index before, counted on
    double raw = 0;                   // that index as recorded
    double offset = 0;                // what resets took off the record
    std::optional<point> boundary;    // the index at the latest boundary passed (resampling)
    std::optional<fall> before_fall;  // the latest reset, while the index stays where it fell to
    std::int64_t last_position = 0;    // where `last` came from
    std::int64_t replay_position = 0;  // replay_from
    std::optional<suspect> left_out;   // the latest record, if it was left out as a spike or a jump
  };

  // The index, if it fits the meter's count (the readings it completes added
  // to `use`), else why not; a new meter's fall restarts the count.
  outcome take(counted& meter, const reading& index, std::int64_t gap, std::int64_t position, std::deque<reading>& use,
               std::string& why) const {
    if (gap > reading_fields::max_span_ms && !(every_ms_ && index.wh == meter.raw && gap <= reading_fields::max_gap_ms)) {
      why = "index " + duration_text(std::chrono::milliseconds{gap}) +
            " after the meter's index before, more than a day: the use between is not one reading; left out unless "
            "the next index follows it";
      return outcome::left_out;
    }
    if (index.wh < meter.raw) {
      const outcome fell = take_fall(meter, index, gap, position, why);
      if (fell != outcome::taken) return fell;
    }
    // Read again from after a fall, a comeback would be a spike: from before it.
    const std::int64_t before_fall = meter.before_fall ? meter.before_fall->position : position;
    if (!take_rise(meter, index, gap, why)) return outcome::left_out;
    const point now{index.ts_ms, index.wh + meter.offset};
    if (every_ms_ == 0) {
      use.push_back(use_between(index, meter.last, now));
      meter.replay_position = std::min(before_fall, position);
    } else {
      add_spans(index, meter, now, std::min(before_fall, meter.last_position), use);
    }
    meter.last = now;
    meter.last_position = position;
    meter.raw = index.wh;
    return outcome::taken;
  }

  // The index before `index` was left out, and `index` follows it: the
  // count before was wrong, and starts again from that one.
  bool start_from_left_out(counted& meter, const reading& index, std::int64_t position, std::deque<reading>& use,
                           std::string& why) const {
    const suspect s = *meter.left_out;
    restart(meter, s.index, s.position);
    take(meter, index, index.ts_ms - s.index.ts_ms, position, use, why);
    why = "index follows the one left out before it (" + wh_text(s.index.wh) + " Wh): counting starts again from "
          "that one";
    return true;
  }

  // `next` follows `index` as a meter's count would: later, within a day, up
  // by what a house may draw meanwhile.
  static bool follows(const reading& index, const reading& next) {
    const std::int64_t gap = next.ts_ms - index.ts_ms;
    return gap > 0 && gap <= reading_fields::max_span_ms && next.wh >= index.wh && fits_a_house(next.wh - index.wh, gap);
  }

  // Energy a house may draw over `span_ms` (most_household_w), over a
  // minute at least, as a sensor's records a moment apart each carry a step
  // of its resolution.
  static bool fits_a_house(double wh, std::int64_t span_ms) {
    return wh <= most_household_w * static_cast<double>(std::max(span_ms, minute_ms)) / static_cast<double>(hour_ms);
  }

  // An index in full: 9000000, not 9e+06.
  static std::string wh_text(double wh) {
    char text[32];
    std::snprintf(text, sizeof text, "%.12g", wh);
    return text;
  }

  void restart(counted& meter, const reading& index, std::int64_t position) const {
    meter = counted{};
    meter.last_position = meter.replay_position = position;
    meter.last = {index.ts_ms, index.wh};
    meter.raw = index.wh;
    meter.boundary = boundary_at(meter.last);
  }

  // An index lower than the one before.
  outcome take_fall(counted& meter, const reading& index, std::int64_t gap, std::int64_t position,
                    std::string& why) const {
    const std::string fell = "index went down from " + wh_text(meter.raw) + " Wh to " + wh_text(index.wh) + " Wh";
    if (index.wh >= meter.raw * 0.9) {
      why = fell + ", less than a tenth: the meter's wobble, not a reset; the index before stands";
      return outcome::dip;
    }
    if (!fits_a_house(index.wh, gap)) {
      why = fell + " (a new meter?): counted from 0, more than a house draws since the index before; counting "
                   "starts again from it";
      return restart(meter, index, position), outcome::restarted;
    }
    meter.before_fall = fall{meter.raw, meter.offset, index.ts_ms, meter.last_position, index.wh};
    meter.offset += meter.raw;
    return outcome::taken;
  }

  // Straight back from where it fell to at least where it was (within a
  // day, up by what a house may draw since): the fall was a glitch, a
  // sensor reporting 0 for a while. Once the index moves on from where it
  // fell to, the fall was a reset: a daily or hourly meter counts up from 0
  // and may pass its last total within the hour. A rise of more than a
  // house draws otherwise is a spike.
  bool take_rise(counted& meter, const reading& index, std::int64_t gap, std::string& why) const {
    auto& f = meter.before_fall;
    if (f && index.wh != f->fallen) {
      const std::int64_t since = index.ts_ms - f->ts_ms;
      const bool comeback = meter.raw == f->fallen && index.wh >= f->raw && since <= reading_fields::max_span_ms &&
                            fits_a_house(index.wh - f->raw, since);
      if (comeback) meter.offset = f->offset;
      f.reset();
      if (comeback) return true;
    }
    if (fits_a_house(index.wh + meter.offset - meter.last.wh, gap)) return true;
    why = "index rose from " + wh_text(meter.raw) + " Wh to " + wh_text(index.wh) + " Wh in " +
          duration_text(std::chrono::milliseconds{gap}) + ", more than a house draws: the index before stands";
    return false;
  }

  static reading use_between(const reading& index, const point& from, const point& to) {
    reading r = index;
    r.ts_ms = from.ts_ms;
    r.span_ms = to.ts_ms - from.ts_ms;
    r.wh = std::max(0.0, to.wh - from.wh);  // interpolation may round a flat index a hair below itself
    return r;
  }

  // One reading for each span of the clock that ends by `now`, from the
  // boundary before it (none for the first boundary after a restart);
  // `replay_from` once a boundary is passed.
  void add_spans(const reading& index, counted& meter, const point& now, std::int64_t replay_from,
                 std::deque<reading>& use) const {
    for (std::int64_t b = boundary_after(meter.last.ts_ms); b <= now.ts_ms; b = boundary_after(b)) {
      const double fraction = static_cast<double>(b - meter.last.ts_ms) / static_cast<double>(now.ts_ms - meter.last.ts_ms);
      const point at_b{b, meter.last.wh + (now.wh - meter.last.wh) * fraction};
      // A zone whose offset moved by a part of the span (Paris's 9 minutes 21
      // seconds in 1911) has no span of the clock here.
      if (meter.boundary && b - meter.boundary->ts_ms == every_ms_)
        use.push_back(use_between(index, *meter.boundary, at_b));
      meter.boundary = at_b;
      meter.replay_position = replay_from;
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
  bool hourly_statistics_;
  reading moved_;  // a statistics row, an hour on
  std::unordered_map<std::string, counted> meters_;
};

/// wh_kind and resample, as each source that reads a meter's index declares them.
inline std::vector<option_spec> index_options() {
  return {
      optional_option("wh_kind", option_type::string, std::string("use"),
                      "\"use\": each number is the energy used over the reading's span; \"index\": the meter's total "
                      "so far (its register, as Emoncms kWh feeds and Home Assistant energy sensors record it), each "
                      "reading then the use since the meter's index before, over the time between them (at most a "
                      "day), or over each span of the clock with resample.",
                      {"use", "index"}),
      optional_option("resample", option_type::boolean, false,
                      "With wh_kind = \"index\": read the index at each boundary of `span` on the clock (each hour "
                      "with span = \"1h\"), interpolated between the indexes either side, so that a record at "
                      "irregular times (Home Assistant's history of an energy sensor) becomes one reading per span, as "
                      "the scorers learn. The span must divide an hour."),
  };
}

/// The meter_indexes that index_options() ask for (and replay's
/// hourly_statistics), none for readings of use. Throws option_error for
/// options that do not go together.
inline std::optional<meter_indexes> meter_indexes_of(const options& o, const time_zone& zone, std::int64_t span_ms,
                                                     bool hourly_statistics = false) {
  if (o.string("wh_kind") != "index") {
    for (const auto& [option, set] : {std::pair{"resample", o.boolean("resample")}, {"hourly_statistics", hourly_statistics}})
      if (set)
        throw option_error(option, "is for a meter's index (wh_kind = \"index\"); readings of use are taken as they "
                                   "are");
    return std::nullopt;
  }
  if (reading_fields::energy_unit_of(o).power)
    throw option_error("wh_kind", "an index is energy: wh_unit must be \"Wh\" or \"kWh\", not \"" +
                                      o.string("wh_unit") + "\"");
  if (!o.boolean("resample")) return meter_indexes(0, zone, hourly_statistics);
  if (span_ms <= 0 || hour_ms % span_ms != 0)
    throw option_error("span", "with resample = true, the span of each reading must divide an hour (\"1h\", \"30m\", "
                               "\"15m\", \"1m\"), not \"" + duration_text(std::chrono::milliseconds{span_ms}) + "\"");
  return meter_indexes(span_ms, zone, hourly_statistics);
}

} // namespace stream_smarts
