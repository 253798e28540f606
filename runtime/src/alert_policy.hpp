// Which scored readings become notifications: the alert policy people ask of
// home alerts (fewer, better ones). Per scorer and meter: wait until a high
// score is sustained, at most one alert per cooldown, reminders while it
// lasts, one "back to normal" notice, and silence in a sink's quiet hours.
// Each sink runs its own policy, so overrides and quiet hours are per sink.
#pragma once

#include <stream_smarts/meter_states.hpp>
#include <stream_smarts/time.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace stream_smarts::runtime {

struct alert_policy_settings {
  double threshold = 1.0;
  std::int64_t sustain_ms = 0;        ///< above the threshold for at least this long (first to latest reading)
  int sustain_readings = 1;           ///< and for at least this many readings in a row
  std::int64_t cooldown_ms = 0;       ///< at most one raised alert per scorer and meter per this period
  std::int64_t remind_every_ms = 0;   ///< while still above, remind this often; 0 = never
  bool resolved = false;              ///< notify once when a raised alert's meter is back in its band
  std::optional<day_hours> quiet;     ///< no notification in these hours (of a reading's end); a raise, or a back to
                                      ///< normal, waits for their end
};

enum class verdict { quiet, raise, remind, resolve };

/// A decision and the facts behind it; why() words them for the debug log
/// only when someone reads it (the policy runs for every scored reading).
struct decision {
  enum class cause {
    inside, raised, reminded, back_inside, still_on, already_raised, sustain, cooldown, quiet_hours, not_later, no_score
  };
  verdict what = verdict::quiet;
  cause because = cause::inside;
  std::int64_t since_ms = 0;          ///< start of the episode (first reading above in a row)
  std::int64_t began_ms = 0;          ///< when its usage began: since_ms, or when the scorer says (score_result::since_ms)
  int readings = 0;                   ///< readings above in a row, this one included
  std::int64_t elapsed_ms = 0;        ///< since the episode began, or since the last raise (cooldown)
  std::string why(const alert_policy_settings& settings) const;
  decision as(cause c, verdict v = verdict::quiet) const {
    decision d = *this;
    d.because = c;
    d.what = v;
    return d;
  }
};

class alert_policy {
public:
  /// `zone` is the pipeline's, for the local time at which a reading ends.
  alert_policy(alert_policy_settings settings, const time_zone& zone);
  /// Readings of one scorer and meter come in time order. One at or before
  /// the meter's latest, by less than a day (delivered again, out of order),
  /// changes nothing. A gap of more than twice a reading's span (2 h if it
  /// has none) forward, or of more than a day back (a clock set back), ends
  /// an episode. A reading inside the band ends one too, unless its scorer
  /// says the rise behind it is still on (scored_reading::still_on).
  decision decide(const scored_reading& s);

  /// The raise decided for `s` could not be delivered (the sink gave it
  /// up): nobody was told, so the episode is not raised and its next reading
  /// above raises again; the cooldown does not count it. Unless the sink
  /// sends a later reminder of the episode as its raise (`instead_ms`, that
  /// reminder's reading time): the episode stays raised, and the cooldown
  /// counts from then.
  void raise_given_up(const scored_reading& s, std::optional<std::int64_t> instead_ms = std::nullopt);
  const alert_policy_settings& settings() const { return settings_; }
  /// How many meters it keeps state of: those with something to remember
  /// (an episode, a cooldown, for any scorer), until they fall silent.
  std::size_t remembered_meters() const;

private:
  struct episode {                    // a run of readings above the threshold
    std::int64_t since_ms = 0;
    std::int64_t began_ms = 0;        // what the scorer said of the first reading (the rise behind it)
    int readings = 0;
    bool raised = false;
    std::int64_t notified_ms = 0;     // the raise or the latest reminder
  };
  struct meter_state {
    std::optional<episode> current;
    std::optional<std::int64_t> last_raise_ms;
    std::optional<std::int64_t> raise_before_ms;  // the one before it, should it be given up
    std::optional<std::int64_t> last_ms;  // the meter's latest reading
    std::optional<episode> ended_quietly;  // raised, then back to normal in quiet hours: told after them
  };
  meter_state* state_of(const scored_reading& s, bool unusual);
  using by_scorer = std::map<std::string, meter_state, std::less<>>;
  static meter_state* scorers_state(by_scorer* scorers, const std::string& scorer);
  static bool not_later(const meter_state& m, const reading& r);
  static void end_episode_after_gap(meter_state& m, const reading& r);
  decision above(meter_state& m, const scored_reading& s);
  decision below(meter_state& m, const scored_reading& s);
  static decision facts_of(const episode& e, const reading& r);
  bool silent_at(const reading& r) const;

  alert_policy_settings settings_;
  const time_zone* zone_;
  // meter -> scorer -> state: two scorers' opinions of one meter are two
  // streams, forgotten together when the meter falls silent.
  meter_states<by_scorer> meters_;
};

} // namespace stream_smarts::runtime
