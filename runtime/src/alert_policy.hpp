// Which scored readings become notifications: the alert policy people ask of
// home alerts (fewer, better ones). Per meter: wait until a high score is
// sustained, at most one alert per cooldown, reminders while it lasts, one
// "back to normal" notice; and quiet hours for a sink (no speech at night).
//
// Issue 5 foundation: pure and tested on scripted score sequences, not yet
// wired into the actor graph or the pipeline file (see the notes).
#pragma once

#include <stream_smarts/reading.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace stream_smarts::runtime {

struct alert_policy_settings {
  double threshold = 1.0;
  std::int64_t sustain_ms = 0;        ///< above the threshold for at least this long (first to latest reading)
  int sustain_readings = 1;           ///< and for at least this many readings in a row
  std::int64_t cooldown_ms = 0;       ///< at most one raised alert per meter per this period
  std::int64_t remind_every_ms = 0;   ///< while still above, remind this often; 0 = never
  bool resolved = false;              ///< notify once when a raised alert's meter is back in its band
};

enum class verdict { quiet, raise, remind, resolve };

/// A decision and why, for the debug log ("waiting for sustain: 2 of 3 readings").
struct decision {
  verdict what = verdict::quiet;
  std::string reason;
};

class alert_policy {
public:
  explicit alert_policy(alert_policy_settings settings) : settings_(settings) {}
  /// Readings of one meter must come in time order.
  decision decide(const scored_reading& s);

private:
  struct episode {                    // a run of readings above the threshold
    std::int64_t since_ms = 0;
    int readings = 0;
    bool raised = false;
    std::int64_t notified_ms = 0;     // the raise or the latest reminder
  };
  struct meter_state {
    std::optional<episode> current;
    std::optional<std::int64_t> last_raise_ms;
  };
  decision above(meter_state& m, std::int64_t ts_ms);
  decision below(meter_state& m);

  alert_policy_settings settings_;
  std::map<std::string, meter_state, std::less<>> meters_;
};

/// Local wall-clock minutes [start, end) of a day when a sink stays silent;
/// start > end wraps midnight (22:00-07:00).
struct quiet_hours {
  int start_minute = 0, end_minute = 0;
  bool contains(const local_fields& l) const;
};

} // namespace stream_smarts::runtime
