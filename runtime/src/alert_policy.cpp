#include "alert_policy.hpp"

namespace stream_smarts::runtime {
namespace {

std::string seconds(std::int64_t ms) { return std::to_string(ms / 1000) + " s"; }

} // namespace

decision alert_policy::decide(const scored_reading& s) {
  meter_state& m = meters_[s.reading.meter];
  return s.score > settings_.threshold ? above(m, s.reading.ts_ms) : below(m);
}

decision alert_policy::above(meter_state& m, std::int64_t ts) {
  if (!m.current) m.current = episode{ts, 0, false, 0};
  episode& e = *m.current;
  ++e.readings;
  if (e.raised) {
    if (settings_.remind_every_ms > 0 && ts - e.notified_ms >= settings_.remind_every_ms) {
      e.notified_ms = ts;
      return {verdict::remind, "still above the threshold since " + seconds(ts - e.since_ms) + " ago"};
    }
    return {verdict::quiet, "already raised; no reminder due"};
  }
  if (e.readings < settings_.sustain_readings || ts - e.since_ms < settings_.sustain_ms)
    return {verdict::quiet, "waiting for sustain: " + std::to_string(e.readings) + " of " +
                                std::to_string(settings_.sustain_readings) + " readings, " + seconds(ts - e.since_ms) +
                                " of " + seconds(settings_.sustain_ms)};
  if (m.last_raise_ms && ts - *m.last_raise_ms < settings_.cooldown_ms)
    return {verdict::quiet, "suppressed by cooldown: last alert " + seconds(ts - *m.last_raise_ms) + " ago, cooldown " +
                                seconds(settings_.cooldown_ms)};
  e.raised = true;
  e.notified_ms = ts;
  m.last_raise_ms = ts;
  return {verdict::raise, "above the threshold"};
}

decision alert_policy::below(meter_state& m) {
  const bool was_raised = m.current && m.current->raised;
  m.current.reset();
  if (was_raised && settings_.resolved) return {verdict::resolve, "back inside the expected range"};
  return {verdict::quiet, "inside the expected range"};
}

bool quiet_hours::contains(const local_fields& l) const {
  const int minute = l.hour * 60 + l.minute;
  if (start_minute == end_minute) return false;
  return start_minute < end_minute ? minute >= start_minute && minute < end_minute
                                   : minute >= start_minute || minute < end_minute;
}

} // namespace stream_smarts::runtime
