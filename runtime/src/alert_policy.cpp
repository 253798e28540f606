#include "alert_policy.hpp"

#include <stream_smarts/options.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdlib>
#include <utility>

namespace stream_smarts::runtime {
namespace {

std::string span(std::int64_t ms) { return duration_text(std::chrono::milliseconds{ms}); }

} // namespace

std::string decision::why(const alert_policy_settings& s) const {
  switch (because) {
    case cause::inside: return "inside the expected range";
    case cause::raised:
      return readings == 1 ? "above the threshold"
                           : "above the threshold for " + std::to_string(readings) + " readings, " + span(elapsed_ms);
    case cause::reminded: return "still above the threshold after " + span(elapsed_ms);
    case cause::back_inside: return "back inside the expected range after " + span(elapsed_ms);
    case cause::still_on: return "inside the expected range, but the scorer says the rise is still on";
    case cause::already_raised: return "already raised; no reminder due";
    case cause::sustain:
      return "waiting for sustain: " + (s.sustain_ms > 0 ? span(elapsed_ms) + " of " + span(s.sustain_ms)
                                                         : std::to_string(readings) + " of " +
                                                               std::to_string(s.sustain_readings) + " readings");
    case cause::cooldown:
      return "suppressed by cooldown: last alert " +
             (elapsed_ms >= 0 ? span(elapsed_ms) + " ago" : span(-elapsed_ms) + " after this reading's time") +
             ", cooldown " + span(s.cooldown_ms);
    case cause::quiet_hours: return "suppressed by quiet hours " + (s.quiet ? s.quiet->text() : std::string());
    case cause::not_later: return "not after the meter's latest reading (delivered again?): changes nothing";
    case cause::no_score: return "the scorer gave no score (NaN): changes nothing";
  }
  return {};
}

// A meter silent for longer than the cooldown plus two days (twice the
// longest span: the gap that ends an episode) has nothing left to remember:
// forgotten, so meters that come and go (Kafka keys) do not pile up.
alert_policy::alert_policy(alert_policy_settings settings, const time_zone& zone)
    : settings_(settings), zone_(&zone),
      meters_(settings.cooldown_ms < std::numeric_limits<std::int64_t>::max() - 2 * day_ms
                  ? settings.cooldown_ms + 2 * day_ms
                  : std::numeric_limits<std::int64_t>::max()) {}

// A meter inside its band with no state has no episode to end and no
// cooldown to keep: it gets none (a fleet of quiet meters costs nothing).
alert_policy::meter_state* alert_policy::state_of(const scored_reading& s, bool unusual) {
  const reading& r = s.reading;
  if (unusual) return &meters_.of(r.meter, r.ts_ms, [] { return by_scorer{}; })[s.scorer];
  return scorers_state(meters_.find(r.meter, r.ts_ms), s.scorer);
}

alert_policy::meter_state* alert_policy::scorers_state(by_scorer* scorers, const std::string& scorer) {
  if (scorers == nullptr) return nullptr;
  const auto state = scorers->find(scorer);
  return state != scorers->end() ? &state->second : nullptr;
}

std::size_t alert_policy::remembered_meters() const { return meters_.size(); }

decision alert_policy::decide(const scored_reading& s) {
  // NaN is neither above nor below: it must not end an episode as "back to normal".
  if (std::isnan(s.score)) return decision{}.as(decision::cause::no_score);
  const bool unusual = s.score > settings_.threshold;
  meter_state* m = state_of(s, unusual);
  if (m == nullptr) return {};
  if (not_later(*m, s.reading)) return decision{}.as(decision::cause::not_later);
  end_episode_after_gap(*m, s.reading);
  return unusual ? above(*m, s) : below(*m, s);
}

// A reading at or before the meter's latest, by less than a day, is one
// delivered again (a Kafka rebalance) or out of order: counted again, it
// would sustain a spell twice, or end a spell that is still on with a false
// "back to normal". Further back, the meter's clock was set back.
bool alert_policy::not_later(const meter_state& m, const reading& r) {
  return m.last_ms && r.ts_ms <= *m.last_ms && *m.last_ms - r.ts_ms < day_ms;
}

// An episode is a run of readings in a row. After a gap in a meter's
// readings (it was offline, or its clock was set forward or back) whatever
// was on may have been switched off meanwhile: the run ends, without a
// back-to-normal notice, which would claim to know when.
void alert_policy::end_episode_after_gap(meter_state& m, const reading& r) {
  const std::int64_t gap = std::llabs(r.ts_ms - m.last_ms.value_or(r.ts_ms));  // back: a day or more (not_later)
  m.last_ms = r.ts_ms;
  const std::int64_t longest = r.span_ms > 0 ? 2 * r.span_ms : 2 * hour_ms;
  if (gap > longest) {
    m.current.reset();
    m.ended_quietly.reset();
  }
}

decision alert_policy::above(meter_state& m, const scored_reading& s) {
  const reading& r = s.reading;
  const std::int64_t ts = r.ts_ms;
  if (!m.current) m.current = episode{ts, s.since_ms != 0 ? s.since_ms : ts, 0, false, 0};
  episode& e = *m.current;
  ++e.readings;
  using cause = decision::cause;
  decision d{verdict::quiet, cause::already_raised, e.since_ms, e.began_ms, e.readings, ts - e.since_ms};
  if (e.raised) {
    if (settings_.remind_every_ms <= 0 || ts - e.notified_ms < settings_.remind_every_ms) return d;
    if (silent_at(r)) return d.as(cause::quiet_hours);
    e.notified_ms = ts;
    return d.as(cause::reminded, verdict::remind);
  }
  if (e.readings < settings_.sustain_readings || ts - e.since_ms < settings_.sustain_ms) return d.as(cause::sustain);
  // Either way in time: a reading delivered again (Kafka after a rebalance)
  // is as near the last alert as it was; one stamped a year off is not.
  if (m.last_raise_ms && std::llabs(ts - *m.last_raise_ms) < settings_.cooldown_ms) {
    d.elapsed_ms = ts - *m.last_raise_ms;
    return d.as(cause::cooldown);
  }
  if (silent_at(r)) return d.as(cause::quiet_hours);  // raised when the quiet ends, if still above
  m.ended_quietly.reset();  // a new raise tells more than the old spell's end
  e.raised = true;
  e.notified_ms = ts;
  m.raise_before_ms = std::exchange(m.last_raise_ms, ts);
  return d.as(cause::raised, verdict::raise);
}

void alert_policy::raise_given_up(const scored_reading& s, std::optional<std::int64_t> instead_ms) {
  meter_state* m = scorers_state(meters_.known(s.reading.meter), s.scorer);
  if (m == nullptr || m->last_raise_ms != s.reading.ts_ms) return;
  if (instead_ms) {
    m->last_raise_ms = *instead_ms;
    return;
  }
  // Its episode, if still on, is the current one (a later raise would have
  // moved last_raise_ms). Any reminder of it was queued behind the raise, so
  // none was delivered: given up with it in one chunk, or there would be
  // `instead_ms`.
  m->last_raise_ms = std::exchange(m->raise_before_ms, std::nullopt);
  if (m->current) m->current->raised = false;
}

// Quiet hours are those of the clock when the reading is complete and its
// notification can go out: 07:10 for the trailing hour read at 07:10 (ts
// 06:10), 08:00 for the hour from 07:00.
bool alert_policy::silent_at(const reading& r) const {
  if (!settings_.quiet) return false;
  return settings_.quiet->contains(end_local(r, *zone_));
}

// A scorer that follows a rise (sustained_load) may score a heater still on
// below the threshold at an hour that allows more: it says so (still_on), and
// the episode goes on without a "back to normal" until the rise has gone.
// Such a reading counts towards sustain (the rise has lasted), but does not
// raise: its own Wh may be inside what is usual at its hour, and a message
// saying so would contradict itself.
decision alert_policy::below(meter_state& m, const scored_reading& s) {
  const reading& r = s.reading;
  if (!m.current) {
    // A back to normal held through quiet hours goes out at the first usual reading after them.
    if (!m.ended_quietly || silent_at(r)) return {};
    const episode ended = *std::exchange(m.ended_quietly, std::nullopt);
    return facts_of(ended, r).as(decision::cause::back_inside, verdict::resolve);
  }
  episode& e = *m.current;
  if (s.still_on) {
    ++e.readings;
    return facts_of(e, r).as(decision::cause::still_on);
  }
  const episode ended = *std::exchange(m.current, std::nullopt);
  if (!ended.raised || !settings_.resolved) return facts_of(ended, r);
  if (silent_at(r)) {
    m.ended_quietly = ended;
    return facts_of(ended, r).as(decision::cause::quiet_hours);
  }
  return facts_of(ended, r).as(decision::cause::back_inside, verdict::resolve);
}

// Episode `e` as it stands at reading `r`, below the threshold: no notification yet.
decision alert_policy::facts_of(const episode& e, const reading& r) {
  return {verdict::quiet, decision::cause::inside, e.since_ms, e.began_ms, e.readings, r.ts_ms - e.since_ms};
}

} // namespace stream_smarts::runtime
