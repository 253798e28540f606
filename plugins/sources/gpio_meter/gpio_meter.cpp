// The gpio_meter source: counts a meter's impulses (an S0 output or an LED
// photo-sensor on a GPIO input, or pulse timestamps from a file or FIFO) and
// emits the energy of the trailing hour every interval.
//
// This file does I/O only: the GPIO line (libgpiod 1.x, kernel uAPI v1), the
// pulse file and the clocks. Counting and windowing are pulse_counter.hpp,
// parsing is pulse_format.hpp, the GPIO error messages gpio_messages.hpp.
#include "gpio_messages.hpp"
#include "pulse_counter.hpp"
#include "pulse_format.hpp"

#include <common/reading_fields.hpp>
#include <stream_smarts/plugin.hpp>

#include <gpiod.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace {

using namespace stream_smarts;
using namespace stream_smarts::gpio_meter;
using std::chrono::milliseconds;

// A FIFO writer's pulse this far ahead of our clock is refused: accepted, it
// would make every later (correct) pulse until then look out of order. A
// FIFO's writer runs on this machine, by this clock: the margin is for a
// writer that rounds its times up, not for another clock.
constexpr std::int64_t max_ahead_ns = 2 * ns_per_s;
// In a file, a pulse this long after the previous reading's hour is taken as
// a wrong timestamp rather than emitting readings for every interval between.
constexpr std::int64_t max_file_gap_ns = reading_fields::max_gap_ms * 1'000'000;
// In a file, a pulse this long after the one before starts a run of lines
// held until a line shows whether the jump was real (a gap: the lines go on
// from it) or wrong timestamps (a line comes back before it): counted, wrong
// ones would make every pulse after them look out of order. A run of this
// many lines is taken as real.
constexpr std::int64_t jump_ns = 5 * 60 * ns_per_s;
constexpr std::size_t most_held = 64;
// A regular file is read in blocks; one read() call parses at most this much
// before handing back to the runtime, so it never blocks for long.
constexpr std::size_t block_size = 64 * 1024;
constexpr std::size_t file_bytes_per_call = 4 * 1024 * 1024;
// A FIFO: at most this much per call (a pipe holds 64 KiB).
constexpr std::size_t fifo_bytes_per_call = 1024 * 1024;
constexpr int gpio_reads_per_call = 64;  // x 16 events

/// A pulse read from a pulse file, and its line there.
struct file_pulse {
  std::int64_t ts;
  std::size_t line;
};

std::int64_t clock_ns(clockid_t id) {
  timespec ts{};
  ::clock_gettime(id, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * ns_per_s + ts.tv_nsec;
}

// Back to back, so that their differences are the clocks' offsets.
clock_readings read_clocks() {
  clock_readings c;
  c.monotonic_ns = clock_ns(CLOCK_MONOTONIC);
  c.boottime_ns = clock_ns(CLOCK_BOOTTIME);
  c.realtime_ns = clock_ns(CLOCK_REALTIME);
  return c;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

struct chip_closer {
  void operator()(gpiod_chip* c) const { ::gpiod_chip_close(c); }
};
using chip_ptr = std::unique_ptr<gpiod_chip, chip_closer>;

/// A file descriptor closed with its owner.
class fd_handle {
public:
  fd_handle() = default;
  explicit fd_handle(int fd) : fd_(fd) {}
  fd_handle(const fd_handle&) = delete;
  fd_handle& operator=(const fd_handle&) = delete;
  ~fd_handle() { reset(); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

private:
  int fd_ = -1;
};

constexpr const char* silence_help =
    "Seconds watched without an impulse, as of the latest reading (reading live): a house always draws something, "
    "so hours of it are a sensor off the meter (silent_after makes /healthz say so).";

class gpio_meter_source final : public source {
public:
  explicit gpio_meter_source(stage_context& ctx)
      : ctx_(ctx),
        meter_(ctx.options().string("meter")),
        chip_(ctx.options().string("chip")),
        falling_(ctx.options().string("edge") == "falling"),
        bias_(ctx.options().string("bias")),
        debounce_(ctx.options().duration("debounce")),
        interval_(ctx.options().duration("interval")),
        silent_after_(ctx.options().duration("silent_after")),
        impulses_per_kwh_(ctx.options().number("impulses_per_kwh")) {
    const options& o = ctx.options();
    if (meter_.empty()) throw option_error("meter", "must not be empty");
    if (debounce_ >= interval_)
      throw option_error("debounce", "must be shorter than interval (" + duration_text(interval_) + "); got " +
                                         duration_text(debounce_));
    if (silent_after_.count() > 0 && silent_after_ < 2 * interval_)  // a house's own gaps would flap it on and off
      throw option_error("silent_after", "must be at least twice interval (" + duration_text(2 * interval_) +
                                             "), or \"0s\" for never; got " + duration_text(silent_after_));
    if (o.has("pulse_file")) {
      if (o.has("line")) throw option_error("pulse_file", "give either line (a GPIO input) or pulse_file, not both");
      if (o.string("pulse_file").empty()) throw option_error("pulse_file", "must not be empty");
      path_ = ctx.resolve_path(o.string("pulse_file"));
      struct stat st {};
      if (::stat(path_.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))
        throw option_error("pulse_file", path_ + ": is " + (S_ISDIR(st.st_mode) ? "a directory" : "not a regular file") +
                                             "; give a file of pulse timestamps or a FIFO (mkfifo)");
    } else {
      if (!o.has("line"))
        throw option_error("line", "is required unless pulse_file is given: the GPIO line the meter is wired to, as "
                                   "an offset (line = 17) or a line name (line = \"GPIO17\")");
      if (chip_.empty()) throw option_error("chip", "must not be empty");
      read_line_option(o);
      // validate runs where the service will: a chip missing there is said then, not only when run fails.
      if (names_a_device() && ::access(chip_path().c_str(), F_OK) != 0 && errno == ENOENT)
        ctx.warn_option("chip", chip_open_error(chip_, chip_path(), ENOENT));
    }
    // A pulse file is debounced as a GPIO line is, so the same cap applies.
    const double cap = max_measurable_w(impulses_per_kwh_, debounce_);
    if (cap < 25000)
      ctx.warn_option("debounce", duration_text(debounce_) + " with " + format_decimal(impulses_per_kwh_, 3) +
                                      " impulses/kWh drops pulses closer than that, so power above " +
                                      format_decimal(cap / 1000, 1) +
                                      " kW cannot be measured; lower debounce if the house can draw more");
    poll_ = poll_period(impulses_per_kwh_, debounce_);
  }

  ~gpio_meter_source() override { release(); }

  void start() override {
    reading_fields::count_decode_errors(ctx_, 0);
    release();
    counter_.reset();
    splitter_ = line_splitter{};
    file_eof_ = finished_ = writer_seen_ = summarized_ = false;
    pending_.clear();
    held_.clear();
    readings_ = 0;
    silent_at_count_.reset();
    if (path_.empty()) {
      open_gpio();
      mode_ = mode::gpio;
      begin_live(clock_ns(CLOCK_REALTIME));
      ctx_.log().info("counting " + std::string(falling_ ? "falling" : "rising") + " edges on " + line_text_ +
                      " of GPIO chip \"" + chip_ + "\" (bias " + bias_ + ", debounce " + duration_text(debounce_) +
                      "): a reading of the trailing hour every " + duration_text(interval_) +
                      "; events are read every " + std::to_string(poll_.count()) + " ms");
      return;
    }
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) {
      const int err = errno;
      throw std::runtime_error("pulse_file " + path_ + ": " + std::strerror(err) +
                               (err == ENOENT ? "; create the FIFO with mkfifo, or fix the path" : ""));
    }
    if (!S_ISFIFO(st.st_mode) && !S_ISREG(st.st_mode))
      throw std::runtime_error("pulse_file " + path_ + ": not a regular file or a FIFO");
    // A FIFO is opened non-blocking: open() does not wait for a writer, read() never waits for data.
    const bool fifo = S_ISFIFO(st.st_mode);
    file_.reset(::open(path_.c_str(), O_RDONLY | O_CLOEXEC | (fifo ? O_NONBLOCK : 0)));
    if (!file_) throw std::runtime_error("pulse_file " + path_ + ": cannot open: " + std::strerror(errno));
    mode_ = fifo ? mode::fifo : mode::file;
    if (fifo) {
      begin_live(clock_ns(CLOCK_REALTIME));
      ctx_.log().info("reading pulses from the FIFO " + path_ + ": a reading of the trailing hour every " +
                      duration_text(interval_));
    }
  }

  read_result read(std::vector<reading>& out, std::size_t max) override {
    if (mode_ == mode::none) throw std::logic_error("gpio_meter: read() before start()");
    if (mode_ == mode::file) return read_file(out, max);
    return read_live(out, max);
  }

  /// The sinks hold the pipeline back, so read() is not called: the kernel's
  /// queue is still drained into the counter, every poll period as read()
  /// would, or it would drop impulses; the readings follow once read() is
  /// called again.
  std::chrono::milliseconds idle() override {
    if (mode_ == mode::gpio || mode_ == mode::fifo) take_events();
    return poll_;
  }

  void stop() override {
    if (mode_ != mode::none) summarize();
    release();
  }

private:
  enum class mode { none, gpio, file, fifo };

  void read_line_option(const options& o) {
    if (o.holds<std::int64_t>("line")) {
      const std::int64_t n = o.integer("line");
      if (n < 0 || n > 0xFFFF) throw option_error("line", "must be a line offset 0..65535 or a line name; got " +
                                                              std::to_string(n));
      offset_ = static_cast<unsigned>(n);
    } else {
      const std::string& s = o.string("line");
      if (s.empty()) throw option_error("line", "must not be empty: a line offset (17) or name (\"GPIO17\")");
      if (!all_digits(s)) line_name_ = s;
      else if (s.size() > 5 || std::stoul(s) > 0xFFFF)
        throw option_error("line", "must be a line offset 0..65535 or a line name; got " + s);
      else offset_ = static_cast<unsigned>(std::stoul(s));
    }
    line_text_ = line_name_.empty() ? "line " + std::to_string(offset_) : "line \"" + line_name_ + "\"";
  }

  void begin_live(std::int64_t now_ns) {
    counter_.emplace(config_at(now_ns));
    counter_->begin(now_ns);
    clock_ = clock_watch{};
  }

  counter_config config_at(std::int64_t t_ns) const {
    counter_config c;
    c.interval_ns = interval_.count() * ns_per_ms;
    c.debounce_ns = debounce_.count() * ns_per_ms;
    c.impulses_per_kwh = impulses_per_kwh_;
    c.phase_ns = phase_for(ctx_.zone().local(floor_div(t_ns, ns_per_ms)).utc_offset_s, c.interval_ns);
    return c;
  }

  std::string local_text(std::int64_t t_ns) const {
    return format_local_iso8601(ctx_.zone().local(floor_div(t_ns, ns_per_ms)));
  }

  // ------------------------------------------------------------ GPIO

  /// The chip option as a device: "0", "gpiochip0" and "/dev/gpiochip0" are /dev/gpiochip0.
  std::string chip_path() const {
    return chip_.front() == '/' ? chip_ : all_digits(chip_) ? "/dev/gpiochip" + chip_ : "/dev/" + chip_;
  }
  /// Whether the chip option names a device rather than, perhaps, a chip's label.
  bool names_a_device() const { return chip_.front() == '/' || all_digits(chip_) || chip_.rfind("gpiochip", 0) == 0; }

  void open_gpio() {
    const std::string path = chip_path();
    errno = 0;
    chip_ptr chip(::gpiod_chip_open(path.c_str()));
    if (!chip) {
      const int err = errno;
      if (err != ENOENT || names_a_device()) throw std::runtime_error(chip_open_error(chip_, path, err));
      // Not a device name: perhaps the chip's label ("pinctrl-bcm2711").
      errno = 0;
      chip.reset(::gpiod_chip_open_by_label(chip_.c_str()));
      if (!chip) throw std::runtime_error(chip_label_error(chip_, path, errno));
    }
    gpiod_line* line = nullptr;
    if (!line_name_.empty()) {
      errno = 0;
      line = ::gpiod_chip_find_line(chip.get(), line_name_.c_str());
      if (line == nullptr) {
        if (errno == ENOENT || errno == 0) throw std::runtime_error(line_name_error(chip_, line_name_));
        throw std::runtime_error("cannot look up line \"" + line_name_ + "\" of GPIO chip \"" + chip_ +
                                 "\": " + std::strerror(errno));
      }
      line_text_ = "line \"" + line_name_ + "\" (offset " + std::to_string(::gpiod_line_offset(line)) + ")";
    } else {
      const unsigned lines = ::gpiod_chip_num_lines(chip.get());
      if (offset_ >= lines) throw std::runtime_error(line_offset_error(chip_, offset_, lines));
      line = ::gpiod_chip_get_line(chip.get(), offset_);
      if (line == nullptr)
        throw std::runtime_error("cannot get " + line_text_ + " of GPIO chip \"" + chip_ + "\": " + std::strerror(errno));
    }
    const std::string consumer = ("stream-smarts:" + ctx_.stage_name()).substr(0, 31);
    gpiod_line_request_config config{};
    config.consumer = consumer.c_str();
    config.request_type = falling_ ? GPIOD_LINE_REQUEST_EVENT_FALLING_EDGE : GPIOD_LINE_REQUEST_EVENT_RISING_EDGE;
    config.flags = bias_ == "pull-up"     ? GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP
                   : bias_ == "pull-down" ? GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN
                   : bias_ == "disabled"  ? GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE
                                          : 0;
    if (::gpiod_line_request(line, &config, 0) != 0) {
      const int err = errno;
      std::string holder;
      if (err == EBUSY && ::gpiod_line_update(line) == 0 && ::gpiod_line_consumer(line) != nullptr)
        holder = ::gpiod_line_consumer(line);
      throw std::runtime_error(request_error(chip_, line_text_, err, holder));
    }
    const int fd = ::gpiod_line_event_get_fd(line);
    const int flags = fd < 0 ? -1 : ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
      const int err = errno;
      ::gpiod_line_release(line);
      throw std::runtime_error("cannot make the events of " + line_text_ + " non-blocking: " + std::strerror(err));
    }
    chip_handle_ = std::move(chip);
    line_ = line;
    event_fd_ = fd;
  }

  // Everything the kernel has queued, without waiting.
  void drain_gpio(std::int64_t realtime_ns, std::int64_t monotonic_ns) {
    gpiod_line_event events[kernel_event_fifo];
    for (int i = 0; i < gpio_reads_per_call; ++i) {
      const int n = ::gpiod_line_event_read_fd_multiple(event_fd_, events, kernel_event_fifo);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        throw std::runtime_error("reading the events of " + line_text_ + " of GPIO chip \"" + chip_ +
                                 "\" failed: " + std::strerror(errno));
      }
      for (int k = 0; k < n; ++k) {
        const std::int64_t event_ns = static_cast<std::int64_t>(events[k].ts.tv_sec) * ns_per_s + events[k].ts.tv_nsec;
        const auto verdict = counter_->add(event_utc_ns(event_ns, realtime_ns, monotonic_ns));
        if (verdict != pulse_verdict::counted && ctx_.log().enabled(log_level::debug))
          ctx_.log().debug(std::string(verdict == pulse_verdict::bounce ? "bounce" : "out-of-order edge") + " at " +
                           local_text(event_utc_ns(event_ns, realtime_ns, monotonic_ns)) + " dropped");
      }
      if (n < kernel_event_fifo) return;
    }
  }

  // ------------------------------------------------------------ live (GPIO, FIFO)

  read_result read_live(std::vector<reading>& out, std::size_t max) {
    const std::size_t first = out.size(), limit = first + max;  // appends at most max
    const std::int64_t now = take_events();
    if (counter_->next_boundary() <= now - hour_ns) {
      const std::int64_t from = counter_->next_boundary();
      const auto skipped = counter_->restart_at(now);
      ctx_.log().warning("no reading since " + local_text(from - counter_->config().interval_ns) + " (the clock jumped, "
                         "or the source was not read for over an hour: pulses may have been lost); skipped " +
                         std::to_string(skipped) + " readings, counting restarts now");
    }
    while (out.size() < limit && counter_->next_boundary() <= now) emit(out);
    if (out.size() > first) return {};
    const auto until_next = std::chrono::ceil<milliseconds>(std::chrono::nanoseconds(counter_->next_boundary() - now));
    return {false, std::clamp(std::min(poll_, until_next), milliseconds{1}, poll_)};
  }

  /// Counts what the line or FIFO has queued; returns the time now.
  std::int64_t take_events() {
    const clock_readings clocks = read_clocks();
    warn_of(follow_clocks(clock_, clocks, *counter_));
    if (mode_ == mode::gpio) drain_gpio(clocks.realtime_ns, clocks.monotonic_ns);
    else drain_fifo(clocks.realtime_ns);
    return clocks.realtime_ns;
  }

  void warn_of(const clock_change& c) {
    if (c.stepped_ns != 0)
      ctx_.log().warning("the system clock was set " + std::string(c.stepped_ns < 0 ? "back" : "forward") + " by " +
                         clock_amount_text(c.stepped_ns) + " (NTP, or by hand): the pulses counted so far moved with "
                         "it, and readings go on by the corrected clock from " + local_text(counter_->next_boundary()));
    if (c.suspended_ns != 0)
      ctx_.log().warning("the machine was suspended for " + clock_amount_text(c.suspended_ns) + " (impulses in that "
                         "time were not seen); skipped " + std::to_string(c.skipped) + " readings, counting restarts "
                         "now");
  }

  void emit(std::vector<reading>& out) {
    const window hour = counter_->emit();
    if (mode_ != mode::file) {
      const std::int64_t silence_ms = counter_->silence_ns(hour.end_ns) / ns_per_ms;  // "4.2", not "4.2000297..."
      ctx_.gauge("meter_silence_seconds", silence_help, static_cast<double>(silence_ms) / 1000);
      if (silent_after_.count() > 0) watch_silence(hour.end_ns);
    }
    out.push_back(to_reading(hour, meter_));
    ++readings_;
  }

  /// A house always draws something (a fridge, a router's few watts), so
  /// hours without an impulse are a sensor off the meter or without power,
  /// which would otherwise read as a quiet house that never alerts. Only an
  /// impulse ends it: not a restart of the count (a suspend, a clock step).
  void watch_silence(std::int64_t end_ns) {
    if (silent_at_count_) {
      if (counter_->counted() == *silent_at_count_) return;
      silent_at_count_.reset();
      ctx_.trouble({});
      ctx_.log().info("impulses again, after a silence of over " + duration_text(silent_after_));
      return;
    }
    if (counter_->silence_ns(end_ns) < silent_after_.count() * ns_per_ms) return;
    silent_at_count_ = counter_->counted();
    const auto last = counter_->last_pulse();
    const std::string what =
        "no impulse " + (last ? "since " + local_text(*last) : std::string("since counting began")) +
        " (silent_after " + duration_text(silent_after_) + "): " +
        (mode_ == mode::fifo ? "is the program writing " + path_ + " still running, and its sensor on the meter?"
                             : "is the sensor still on the meter's LED or S0 output, wired and powered?");
    ctx_.log().warning(what);
    ctx_.trouble(what);
  }

  void drain_fifo(std::int64_t now_ns) {
    char block[block_size];
    for (std::size_t total = 0; total < fifo_bytes_per_call;) {
      const ssize_t n = ::read(file_.get(), block, sizeof block);
      if (n > 0) {
        writer_seen_ = true;
        splitter_.feed(block, static_cast<std::size_t>(n));
        total += static_cast<std::size_t>(n);
        take_fifo_lines(now_ns, false);
        continue;
      }
      if (n == 0) {
        // No writer (none yet, or the last one closed it). Not the end: the
        // next writer's lines arrive on this same descriptor.
        take_fifo_lines(now_ns, true);
        if (writer_seen_) ctx_.log().info("the writer closed " + path_ + "; waiting for the next one");
        writer_seen_ = false;
        return;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      throw std::runtime_error("pulse_file " + path_ + ": read error: " + std::strerror(errno));
    }
  }

  void take_fifo_lines(std::int64_t now_ns, bool writer_gone) {
    std::string line;
    bool overlong = false;
    while (splitter_.next(line, overlong) || (writer_gone && splitter_.flush(line, overlong))) {
      std::int64_t ts = 0;
      if (!parse(line, overlong, ts)) continue;
      if (ts > now_ns + max_ahead_ns) {
        report(std::to_string((ts - now_ns) / ns_per_s) + " s ahead of this machine's clock (" + local_text(ts) +
               "; check the writer's clock)");
        continue;
      }
      add_pulse(ts);
    }
  }

  // ------------------------------------------------------------ regular file

  // Replayed by the pulses' own time, as fast as possible: every boundary a
  // pulse's time passes emits the reading before it, then the pulse counts.
  // At the end, one last reading (the boundary after the last pulse), then
  // `finished` with an empty batch.
  read_result read_file(std::vector<reading>& out, std::size_t max) {
    const std::size_t first = out.size(), limit = first + max;  // appends at most max
    std::size_t budget = file_bytes_per_call;
    for (;;) {
      if (!count_pending(out, limit)) return {};  // the batch is full
      if (take_next_line()) continue;
      if (file_eof_) return finish(out, first);
      if (budget == 0) return {};  // parsed enough for one call; the runtime asks again at once
      budget -= std::min(budget, read_block());
    }
  }

  /// Counts the queued pulses, emitting the readings their times pass;
  /// false once `out` holds `limit` (the rest wait for the next call).
  bool count_pending(std::vector<reading>& out, std::size_t limit) {
    while (!pending_.empty()) {
      const auto [ts, line_number] = pending_.front();
      if (!counter_) {
        counter_.emplace(config_at(ts));
        counter_->begin(ts);
      } else if (ts - counter_->next_boundary() > max_file_gap_ns) {
        ctx_.log().warning(path_ + ":" + std::to_string(line_number) + ": pulse at " + local_text(ts) +
                           " is more than " + reading_fields::max_gap_text +
                           " after the previous one; no readings for the gap, counting restarts here");
        counter_->restart_at(ts);
      }
      while (counter_->next_boundary() <= ts) {
        if (out.size() >= limit) return false;
        emit(out);
      }
      add_pulse(ts, line_number);
      pending_.pop_front();
    }
    return out.size() < limit;
  }

  /// Takes the next whole line read (the last one, unended, at the end of
  /// the file), or at the end the pulse held for the line after it; false
  /// when there is none until more is read.
  bool take_next_line() {
    bool overlong = false;
    if (splitter_.next(text_line_, overlong) || (file_eof_ && splitter_.flush(text_line_, overlong))) {
      std::int64_t ts = 0;
      if (parse(text_line_, overlong, ts)) take_parsed({ts, splitter_.line_number()});
      return true;
    }
    if (!file_eof_ || held_.empty()) return false;
    release_held();  // the file's last lines: nothing after them says they are wrong
    return true;
  }

  /// The last reading (the boundary after the last pulse) and the summary,
  /// once; then `finished`, with an empty batch.
  read_result finish(std::vector<reading>& out, std::size_t first) {
    if (!finished_) {
      if (counter_) emit(out);
      else ctx_.log().warning(path_ + ": no pulses in the file, so no readings");
      finished_ = true;
      summarize();
    }
    return {out.size() == first, {}};
  }

  /// Reads the next block of the file into the line splitter; its size (0 at the end).
  std::size_t read_block() {
    char block[block_size];
    for (;;) {
      const ssize_t n = ::read(file_.get(), block, sizeof block);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        throw std::runtime_error("pulse_file " + path_ + ": read error after line " +
                                 std::to_string(splitter_.line_number()) + ": " + std::strerror(errno));
      if (n == 0) file_eof_ = true;
      splitter_.feed(block, static_cast<std::size_t>(n));
      return static_cast<std::size_t>(n);
    }
  }

  /// Queues a file's pulse to be counted. One far after the pulse before
  /// (jump_ns) starts a run that is held: a line that comes back to before
  /// the run, but not before the pulse before it, shows the run was wrong,
  /// and its lines are left out; most_held lines show it was real.
  void take_parsed(file_pulse p) {
    if (!held_.empty()) {
      if (p.ts >= held_.front().ts) {  // the run goes on
        held_.push_back(p);
        if (held_.size() >= most_held) release_held();
        return;
      }
      if (p.ts < held_before_) {  // p is behind the pulse before the run too: p is the wrong one
        pending_.push_back(p);
        return;
      }
      for (const auto& h : held_)
        report_at(h.line, "pulse at " + local_text(h.ts) + " is later than the one at line " + std::to_string(p.line) +
                              " (" + local_text(p.ts) + "), line skipped");
      held_.clear();
    }
    const std::optional<std::int64_t> before = latest_pulse();
    if (before && p.ts - *before > jump_ns) {
      held_before_ = *before;
      held_.push_back(p);
    } else {
      pending_.push_back(p);
    }
  }

  void release_held() {
    pending_.insert(pending_.end(), held_.begin(), held_.end());
    held_.clear();
  }

  /// The latest pulse read: held, queued or counted.
  std::optional<std::int64_t> latest_pulse() const {
    if (!held_.empty()) return held_.back().ts;
    if (!pending_.empty()) return pending_.back().ts;
    return counter_ ? counter_->last_pulse() : std::nullopt;
  }

  // ------------------------------------------------------------ both pulse-file kinds

  bool parse(const std::string& line, bool overlong, std::int64_t& ts) {
    if (overlong) {
      report("line longer than " + std::to_string(splitter_.max_line()) + " bytes, skipped");
      return false;
    }
    // The pulse before, held or queued too: a local time the end of summer
    // time repeats is read as the one after it.
    switch (parse_pulse_line(line, ctx_.zone(), latest_pulse(), ts, why_)) {
      case line_kind::pulse: return true;
      case line_kind::ignored: return false;
      case line_kind::malformed: report(why_ + ", line skipped"); return false;
    }
    return false;
  }

  // `line`: the pulse file's line it was read from (the line being read by default).
  void add_pulse(std::int64_t ts, std::optional<std::size_t> line = std::nullopt) {
    const auto previous = counter_->last_pulse();
    if (counter_->add(ts) == pulse_verdict::out_of_order)
      report_at(line.value_or(splitter_.line_number()), "pulse at " + local_text(ts) +
                                                            " is earlier than the one before it (" +
                                                            local_text(*previous) + "), line skipped");
  }

  void report(const std::string& why) { report_at(splitter_.line_number(), why); }

  void report_at(std::size_t line, const std::string& why) {
    skipped_.skip(path_ + ":" + std::to_string(line) + ": " + why);
  }

  void summarize() {
    if (summarized_) return;
    summarized_ = true;
    const std::uint64_t counted = counter_ ? counter_->counted() : 0, bounces = counter_ ? counter_->bounces() : 0;
    std::string text = (mode_ == mode::file && finished_ ? "replayed " : "stopped after ") + std::to_string(readings_) +
                       " readings: " + std::to_string(counted) + " pulses counted, " + std::to_string(bounces) +
                       " dropped as bounce (closer than debounce " + duration_text(debounce_) + ")";
    if (!path_.empty()) text += ", skipped " + std::to_string(skipped_.count()) + " lines";
    ctx_.log().info(text);
  }

  void release() {
    if (line_ != nullptr) ::gpiod_line_release(line_);
    line_ = nullptr;
    event_fd_ = -1;
    chip_handle_.reset();
    file_.reset();
    mode_ = mode::none;
  }

  stage_context& ctx_;
  std::string meter_, chip_;
  bool falling_;
  std::string bias_;
  milliseconds debounce_, interval_, silent_after_;
  double impulses_per_kwh_;
  std::string path_;  // pulse_file, resolved; empty: GPIO
  unsigned offset_ = 0;
  std::string line_name_, line_text_;
  milliseconds poll_{1000};

  mode mode_ = mode::none;
  std::optional<pulse_counter> counter_;
  clock_watch clock_;  // live modes: steps of the wall clock, suspends
  std::optional<std::uint64_t> silent_at_count_;  // silent for silent_after, said as trouble: impulses counted then
  std::size_t readings_ = 0;
  // GPIO
  chip_ptr chip_handle_;
  gpiod_line* line_ = nullptr;  // owned by the chip
  int event_fd_ = -1;           // owned by the line request
  // pulse file / FIFO
  fd_handle file_;
  line_splitter splitter_;
  std::string why_;
  bool file_eof_ = false, finished_ = false, writer_seen_ = false, summarized_ = false;
  std::deque<file_pulse> pending_;    // a file's pulses, read but not yet counted (at most two)
  std::vector<file_pulse> held_;      // a run far after the pulse before it (take_parsed)
  std::int64_t held_before_ = 0;      // the pulse before that run
  std::string text_line_;             // the pulse file's line being parsed, its buffer kept
  reading_fields::skipped_records skipped_{ctx_, "skipped lines"};
};

} // namespace

STREAM_SMARTS_PLUGIN(stream_smarts::source_plugin<gpio_meter_source>(
    {"gpio_meter",
     stream_smarts::plugin_kind::source,
     "0.1.0",
     "Counts a meter's impulses (S0 output or LED sensor) on a GPIO line, or from a pulse file, and emits the "
     "energy of the trailing hour every interval",
     {
         stream_smarts::optional_option("chip", stream_smarts::option_type::string, std::string("gpiochip0"),
                                        "GPIO chip: a name such as \"gpiochip0\" (gpiodetect lists them), a /dev "
                                        "path, a chip number or label. Not used with pulse_file."),
         stream_smarts::optional_option("line", stream_smarts::option_type::string | stream_smarts::option_type::integer,
                                        {},
                                        "The input the meter is wired to: an offset on the chip (17) or a line name "
                                        "(\"GPIO17\"; gpioinfo lists them). Required unless pulse_file is given."),
         stream_smarts::optional_option(
             "edge", stream_smarts::option_type::string, std::string("falling"),
             "The edge that is one impulse. \"falling\": an S0 output or a photo-sensor module with a pull-up idles "
             "high and pulls the line low when an impulse begins, so the falling edge is its start.",
             {"rising", "falling"}),
         stream_smarts::optional_option(
             "bias", stream_smarts::option_type::string, std::string("pull-up"),
             "The line's internal resistor. \"pull-up\" suits an S0 output wired between the pin and GND (open "
             "collector); \"as-is\" leaves it to the hardware (an external resistor, a module's own output).",
             {"pull-up", "pull-down", "disabled", "as-is"}),
         stream_smarts::optional_option(
             "debounce", stream_smarts::option_type::duration, std::chrono::milliseconds{50},
             "Minimum time between two impulses; an edge sooner after the last counted one is contact bounce and "
             "dropped. 50ms: longer than a contact bounces, shorter than the impulse spacing at 72 kW (1000 "
             "impulses/kWh)."),
         stream_smarts::optional_option("impulses_per_kwh", stream_smarts::option_type::number, 1000.0,
                                        "Impulses per kWh, as printed on the meter (1000: one impulse per Wh).")
             .above(0),
         stream_smarts::optional_option("interval", stream_smarts::option_type::duration, std::chrono::milliseconds{60000},
                                        "How often a reading is emitted; each reading is the energy of the trailing "
                                        "hour, so a longer interval would leave impulses uncounted.")
             .within(std::chrono::seconds{1}, std::chrono::hours{1}),
         stream_smarts::optional_option(
             "silent_after", stream_smarts::option_type::duration, std::chrono::milliseconds{3 * 3600 * 1000},
             "Reading live (GPIO or FIFO), no impulse for this long makes /healthz answer 503 and logs a warning: a "
             "house always draws something, so a sensor is off the meter or without power. At least twice interval; "
             "\"0s\": never.")
             .within(std::chrono::milliseconds{0}, std::chrono::hours{7 * 24}),
         stream_smarts::optional_option("meter", stream_smarts::option_type::string, std::string("home"),
                                        "Meter name given to every reading."),
         stream_smarts::optional_option(
             "pulse_file", stream_smarts::option_type::string, {},
             "Read impulse timestamps from this file or FIFO instead of GPIO, one per line (epoch seconds such as "
             "1718000000.25, or ISO-8601). A regular file is replayed as fast as possible; a FIFO is read live. "
             "Relative to the pipeline file."),
     }}))
