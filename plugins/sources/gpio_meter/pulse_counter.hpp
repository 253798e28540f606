// The gpio_meter source's counting and windowing: pulse timestamps in, one
// reading of the trailing hour per interval out. Pure (no I/O, no clock): the
// GPIO path and the pulse-file path feed the same class, and the tests drive
// it directly with made-up timestamps.
//
// All times are UTC nanoseconds since the epoch, as the kernel's line events
// carry them (after event_utc_ns() below).
#pragma once

#include <stream_smarts/options.hpp>
#include <stream_smarts/reading.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <optional>
#include <string>

namespace stream_smarts::gpio_meter {

inline constexpr std::int64_t ns_per_ms = 1'000'000;
inline constexpr std::int64_t ns_per_s = 1'000'000'000;
inline constexpr std::int64_t hour_ns = 3600 * ns_per_s;

inline constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

/// The smallest `phase + k * interval` strictly after `t`.
inline constexpr std::int64_t first_boundary_after(std::int64_t t, std::int64_t interval, std::int64_t phase) {
  return phase + (floor_div(t - phase, interval) + 1) * interval;
}

/// Where reading boundaries fall: at multiples of the interval in the
/// pipeline's local time (so with interval = "1h" a reading covers exactly a
/// local clock hour, also in a zone such as Asia/Kolkata at +05:30). For an
/// interval that divides an hour this is UTC alignment in every zone whose
/// offset is whole hours (Europe/Paris, before and after a DST change).
inline constexpr std::int64_t phase_for(std::int64_t utc_offset_s, std::int64_t interval_ns) {
  const std::int64_t off = utc_offset_s * ns_per_s;
  return off - floor_div(off, interval_ns) * interval_ns;  // in [0, interval)
}

/// Converts a line event's timestamp to UTC. Since Linux 5.7 the kernel stamps
/// uAPI v1 line events with CLOCK_MONOTONIC (ktime_get_ns()); before, with
/// CLOCK_REALTIME. The two clocks are decades apart (monotonic counts from
/// boot), so whichever `event_ns` is nearer to is the clock it was taken
/// with; a monotonic stamp is moved by the offset between the clocks sampled
/// now (realtime now - monotonic now, read back to back).
inline std::int64_t event_utc_ns(std::int64_t event_ns, std::int64_t realtime_now_ns, std::int64_t monotonic_now_ns) {
  const auto distance = [](std::int64_t a, std::int64_t b) { return a > b ? a - b : b - a; };
  if (distance(event_ns, realtime_now_ns) < distance(event_ns, monotonic_now_ns)) return event_ns;
  return event_ns + (realtime_now_ns - monotonic_now_ns);
}

// ---------------------------------------------------------------- polling
//
// libgpiod 1.x speaks the kernel's GPIO uAPI v1. A v1 event request keeps at
// most 16 events (drivers/gpio/gpiolib-cdev.c, struct lineevent_state:
// DECLARE_KFIFO(events, struct gpioevent_data, 16)); when that FIFO is full
// the kernel drops the new event ("event FIFO is full - event dropped", at
// debug level only), and v1 has no sequence numbers to notice it by. v1 has
// no kernel debounce either: every bounce of a contact takes a slot until we
// read it and drop it ourselves.
//
// So the source reads at least every poll_period(): the time in which, at the
// highest pulse rate a house can produce, half the FIFO could fill even if
// every pulse came with 3 bounce edges. With the defaults (1000 impulses/kWh,
// 50 ms debounce): 50 kW is 13.9 pulses/s, x 4 edges = 55.6 events/s, and 8
// events take 144 ms: a read every 144 ms (about 7 wake-ups a second, each a
// non-blocking read() that returns EAGAIN when there is nothing: far below
// 1 % of a core). At that rate the FIFO would overflow only with 8 or more
// edges per pulse at 50 kW. A debounce caps the pulse rate too (at most one
// counted pulse per debounce period), so the rate used is the lower of both.

inline constexpr int kernel_event_fifo = 16;        ///< uAPI v1 events per requested line
inline constexpr double max_household_w = 50'000;   ///< above 3 x 63 A x 230 V (43.5 kW) and 200 A x 240 V (48 kW)
inline constexpr int edges_per_pulse = 4;           ///< a pulse and up to 3 bounces before we drop them
inline constexpr std::chrono::milliseconds min_poll{5}, max_poll{1000};

/// How long a read may wait before the next, so the kernel's FIFO cannot overflow.
inline std::chrono::milliseconds poll_period(double impulses_per_kwh, std::chrono::milliseconds debounce) {
  double pulses_per_s = max_household_w * impulses_per_kwh / 3.6e6;
  if (debounce.count() > 0) pulses_per_s = std::min(pulses_per_s, 1000.0 / static_cast<double>(debounce.count()));
  const double seconds = (kernel_event_fifo / 2.0) / (pulses_per_s * edges_per_pulse);
  const auto ms = std::chrono::milliseconds{std::llround(seconds * 1000.0)};
  return std::clamp(ms, min_poll, max_poll);
}

/// The highest power a debounce lets through: one pulse per debounce period.
inline double max_measurable_w(double impulses_per_kwh, std::chrono::milliseconds debounce) {
  if (debounce.count() <= 0) return INFINITY;
  return (1000.0 / impulses_per_kwh) * 3600.0 / (static_cast<double>(debounce.count()) / 1000.0);
}

// ---------------------------------------------------------------- counting

struct counter_config {
  std::int64_t interval_ns = 60 * ns_per_s;   ///< a reading every interval (1 s .. 1 h)
  std::int64_t debounce_ns = 50 * ns_per_ms;  ///< a pulse sooner than this after the last counted one is bounce
  double impulses_per_kwh = 1000;
  std::int64_t phase_ns = 0;                  ///< boundaries at phase + k * interval; see phase_for()
};

/// One reading: the trailing hour [end_ns - 1 h, end_ns).
struct window {
  std::int64_t end_ns = 0;
  std::size_t pulses = 0;         ///< counted pulses in the hour
  double wh = 0;                  ///< pulses * 1000 / impulses_per_kwh
  std::optional<double> power_w;  ///< from the latest spacing (see pulse_counter::emit); none before two pulses
  double last_pulse_s = 0;        ///< since the latest pulse before end, or since the start if none yet
  double covered_s = 0;           ///< seconds of the hour observed since the start; 3600 = a full hour

  std::int64_t start_ns() const { return end_ns - hour_ns; }
  bool partial() const { return covered_s < 3600; }
};

enum class pulse_verdict {
  counted,
  bounce,        ///< sooner than debounce after the last counted pulse: dropped
  out_of_order,  ///< earlier than the last counted pulse: dropped
};

/// Counts pulses and produces, at every interval boundary E, the energy of
/// the hour before it: pulses with E - 1 h <= ts < E (a pulse exactly at E
/// belongs to the next hour, as with hourly data). The caller decides when E
/// has come: by the pulses' own time for a file, by the wall clock live.
class pulse_counter {
public:
  explicit pulse_counter(counter_config config) : config_(config) {}

  const counter_config& config() const { return config_; }

  /// Observation starts at `start_ns`: the first boundary is the first after
  /// it, and the hour counts as fully observed only from start + 1 h.
  void begin(std::int64_t start_ns) {
    start_ = start_ns;
    next_ = first_boundary_after(start_ns, config_.interval_ns, config_.phase_ns);
    begun_ = true;
  }
  bool begun() const { return begun_; }
  /// The end of the next reading's hour. Meaningful once begun.
  std::int64_t next_boundary() const { return next_; }

  pulse_verdict add(std::int64_t ts_ns) {
    if (!pulses_.empty()) {
      const std::int64_t last = pulses_.back();
      if (ts_ns < last) {
        ++out_of_order_;
        return pulse_verdict::out_of_order;
      }
      if (ts_ns - last < config_.debounce_ns) {
        ++bounces_;
        return pulse_verdict::bounce;
      }
    }
    pulses_.push_back(ts_ns);
    ++counted_;
    return pulse_verdict::counted;
  }

  /// The latest counted pulse, if any.
  std::optional<std::int64_t> last_pulse() const {
    if (pulses_.empty()) return std::nullopt;
    return pulses_.back();
  }

  /// How long up to `end_ns` the counter has watched without a pulse: since
  /// the latest one, or since observation (re)started if later (a suspend,
  /// hours unread), as time not watched is no silence seen.
  std::int64_t silence_ns(std::int64_t end_ns) const {
    return end_ns - (pulses_.empty() ? start_ : std::max(pulses_.back(), start_));
  }

  /// The reading for next_boundary(); moves on to the following boundary.
  ///
  /// power_w comes from the spacing of the two latest pulses before the end:
  /// one pulse's energy over that time. When the silence since the latest
  /// pulse is already longer than that spacing, the power cannot be higher
  /// than one pulse's energy over the silence, so that is used instead: after
  /// a load is switched off the value falls toward 0 instead of staying at
  /// the last level.
  window emit() {
    window w;
    w.end_ns = next_;
    const auto from = std::lower_bound(pulses_.begin(), pulses_.end(), w.start_ns());
    const auto to = std::lower_bound(from, pulses_.end(), w.end_ns);
    w.pulses = static_cast<std::size_t>(to - from);
    w.wh = static_cast<double>(w.pulses) * wh_per_pulse();
    if (to != pulses_.begin()) {
      const std::int64_t last = *(to - 1);
      const std::int64_t silence = w.end_ns - last;
      w.last_pulse_s = static_cast<double>(silence) / ns_per_s;
      if (to - pulses_.begin() >= 2) {
        const std::int64_t spacing = std::max(last - *(to - 2), silence);
        if (spacing > 0) w.power_w = wh_per_pulse() * 3600.0 * ns_per_s / static_cast<double>(spacing);
      }
    } else {
      w.last_pulse_s = static_cast<double>(w.end_ns - start_) / ns_per_s;
    }
    w.covered_s = std::min<double>(3600.0, static_cast<double>(w.end_ns - start_) / ns_per_s);
    next_ += config_.interval_ns;
    trim();
    return w;
  }

  /// Gives up on the readings due before `now_ns` (the machine was
  /// suspended, the clock jumped, or nothing was read for over an hour:
  /// pulses may have been lost): the next reading is at the first boundary
  /// after it, and observation restarts there, so the readings of the
  /// following hour say they are partial.
  /// Returns how many readings were skipped.
  std::int64_t restart_at(std::int64_t now_ns) {
    const std::int64_t old_next = next_;
    begin(now_ns);
    return old_next < next_ ? (next_ - old_next) / config_.interval_ns : 0;  // both on the same grid
  }

  /// The wall clock was stepped by `delta_ns` (NTP set it right, or `date
  /// -s`): the pulses counted so far happened at their time plus delta by
  /// the corrected clock, so they move with it, as does the start of
  /// observation; the next reading is at the first boundary after `now_ns`
  /// (the corrected time). No pulse is lost and no reading covers time that
  /// did not pass.
  void clock_stepped(std::int64_t delta_ns, std::int64_t now_ns) {
    for (auto& p : pulses_) p += delta_ns;
    start_ += delta_ns;
    next_ = first_boundary_after(now_ns, config_.interval_ns, config_.phase_ns);
  }

  double wh_per_pulse() const { return 1000.0 / config_.impulses_per_kwh; }

  std::uint64_t counted() const { return counted_; }
  std::uint64_t bounces() const { return bounces_; }
  std::uint64_t out_of_order() const { return out_of_order_; }
  /// Pulses kept in memory (the trailing hour and a little): for tests.
  std::size_t kept() const { return pulses_.size(); }

private:
  // Drops pulses no later window can count, keeping the two latest before
  // the next boundary for power_w.
  void trim() {
    const std::int64_t keep_from = next_ - hour_ns;
    while (pulses_.size() >= 3 && pulses_[0] < keep_from && pulses_[2] < next_) pulses_.pop_front();
  }

  counter_config config_;
  std::deque<std::int64_t> pulses_;  // counted pulses, ascending
  std::int64_t start_ = 0, next_ = 0;
  bool begun_ = false;
  std::uint64_t counted_ = 0, bounces_ = 0, out_of_order_ = 0;
};

/// The clocks, read back to back: the wall clock; CLOCK_BOOTTIME, which
/// counts on while the machine is suspended; CLOCK_MONOTONIC, which stops
/// then (and stamps the kernel's line events).
struct clock_readings {
  std::int64_t realtime_ns = 0, boottime_ns = 0, monotonic_ns = 0;
};

/// What the clocks did since the last look; 0 for what did not happen.
struct clock_change {
  std::int64_t stepped_ns = 0;    ///< the wall clock was set by this much (NTP, or by hand)
  std::int64_t suspended_ns = 0;  ///< the machine was suspended this long
  std::int64_t skipped = 0;       ///< readings skipped for the suspend (follow_clocks)
};

/// Tells a step of the wall clock and a suspend of the machine from the
/// clocks' steady run. Realtime minus boottime stays put while the clock runs
/// (NTP slews it by at most 0.5 ms a second) and through a suspend, and jumps
/// when the clock is set: a Raspberry Pi has no clock of its own, boots with
/// the time it shut down at, and NTP sets it right later, by hours or days,
/// either way. Boottime minus monotonic grows only by the time suspended.
class clock_watch {
public:
  /// The changes of more than a second since the last look.
  clock_change look(const clock_readings& now) {
    clock_change c;
    if (last_) {
      c.stepped_ns = jump(now.realtime_ns - now.boottime_ns - (last_->realtime_ns - last_->boottime_ns));
      c.suspended_ns = jump(now.boottime_ns - now.monotonic_ns - (last_->boottime_ns - last_->monotonic_ns));
    }
    last_ = now;
    return c;
  }

private:
  static std::int64_t jump(std::int64_t moved_ns) { return moved_ns > ns_per_s || moved_ns < -ns_per_s ? moved_ns : 0; }

  std::optional<clock_readings> last_;
};

/// Looks at the clocks and keeps `counter` right. A step of the wall clock
/// moves the pulses counted so far with it (pulse_counter::clock_stepped). A
/// suspend leaves them at their time: no impulse was seen while the machine
/// slept, so the readings due meanwhile are skipped and counting restarts now
/// (the next hour's readings say they are partial).
inline clock_change follow_clocks(clock_watch& watch, const clock_readings& now, pulse_counter& counter) {
  clock_change c = watch.look(now);
  if (c.stepped_ns != 0) counter.clock_stepped(c.stepped_ns, now.realtime_ns);
  if (c.suspended_ns != 0) c.skipped = counter.restart_at(now.realtime_ns);
  return c;
}

/// How far a clock moved, as a pipeline file writes durations ("2h", "90s"):
/// to the whole second, since a step measured between two looks is off by
/// the microseconds between reading the clocks.
inline std::string clock_amount_text(std::int64_t ns) {
  return duration_text(std::chrono::seconds{(std::llabs(ns) + ns_per_s / 2) / ns_per_s});
}

// ---------------------------------------------------------------- readings

/// A number with at most `decimals` decimals and no trailing zeros: "2000", "1.8".
inline std::string format_decimal(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

/// The reading a window becomes. ts_ms is the start of the hour the energy
/// covers (the SDK's convention for hourly data) and span_ms that hour, i.e.
/// the reading emitted at 04:30 has ts 03:30 and the energy of 03:30..04:30.
///
/// Labels (values are decimal text):
///   pulses        pulses counted in the hour
///   power_w       instantaneous power in W from the latest pulse spacing, at
///                 the reading's end (absent before the second pulse)
///   last_pulse_s  seconds from the latest pulse to the end of the hour; with
///                 no pulse since the start, seconds since the start
///   covered_s     seconds of the hour observed since the start (whole
///                 seconds, rounded down); below 3600 the reading is partial:
///                 the source started less than an hour before, so wh is a
///                 lower bound of the hour's energy
inline reading to_reading(const window& w, const std::string& meter) {
  reading r;
  r.meter = meter;
  r.ts_ms = floor_div(w.start_ns(), ns_per_ms);
  r.span_ms = hour_ns / ns_per_ms;
  r.wh = w.wh;
  r.labels.push_back({"pulses", std::to_string(w.pulses)});
  if (w.power_w) r.labels.push_back({std::string(power_label), format_decimal(*w.power_w, 1)});
  r.labels.push_back({"last_pulse_s", format_decimal(w.last_pulse_s, 1)});
  r.labels.push_back({"covered_s", std::to_string(static_cast<std::int64_t>(std::floor(w.covered_s)))});
  return r;
}

} // namespace stream_smarts::gpio_meter
