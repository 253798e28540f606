// State per meter, forgotten once its meter has been silent for long enough
// that the state would be of no use: a Kafka topic's keys come and go (flats,
// rotating device ids), and a scorer, or a sink's alert policy, that runs for
// months must not hold every meter it has ever seen.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>

namespace stream_smarts {

template <class State>
class meter_states {
public:
  /// `forget_after_ms` of reading time without a reading of a meter forgets
  /// it. Its owner chooses it so that forgetting loses nothing: longer than
  /// any gap after which its state starts afresh anyway. Silent by the newest
  /// reading of any meter, and with no reading since the last sweep: one
  /// stray row a year ahead, or a Kafka partition days behind the others,
  /// must not make the meters still reading look silent.
  explicit meter_states(std::int64_t forget_after_ms) : forget_after_ms_(forget_after_ms > 0 ? forget_after_ms : 0) {}

  /// The meter's state (made with `make()` if it has none) for a reading at
  /// `ts_ms`. Pointers and references stay valid until the next call.
  template <class Make>
  State& of(const std::string& meter, std::int64_t ts_ms, Make&& make) {
    count(ts_ms);
    slot* s = lookup(meter);
    if (s == nullptr) s = last_.at = &*states_.emplace(meter, entry{make(), ts_ms, sweeps_}).first;
    return seen(*s, ts_ms);
  }

  /// As `of`, for a reading that makes no state: a meter with nothing to
  /// remember costs nothing. Null if the meter has none.
  State* find(const std::string& meter, std::int64_t ts_ms) {
    count(ts_ms);
    slot* s = lookup(meter);
    return s != nullptr ? &seen(*s, ts_ms) : nullptr;
  }

  /// The meter's state, if it has one, without counting a reading.
  State* known(const std::string& meter) {
    slot* s = lookup(meter);
    return s != nullptr ? &s->second.state : nullptr;
  }

  std::size_t size() const { return states_.size(); }

private:
  struct entry {
    State state;
    std::int64_t last_ms;
    std::uint64_t seen_after_sweep;  // the sweeps before its latest reading
  };
  using slot = std::pair<const std::string, entry>;

  void count(std::int64_t ts_ms) {
    if (ts_ms > newest_ms_) newest_ms_ = ts_ms;
    if (++calls_ >= next_sweep_) sweep();
  }

  slot* lookup(const std::string& meter) {
    if (last_.at != nullptr && last_.at->first == meter) return last_.at;
    auto it = states_.find(meter);
    if (it == states_.end()) return nullptr;
    return last_.at = &*it;
  }

  State& seen(slot& s, std::int64_t ts_ms) const {
    if (ts_ms > s.second.last_ms) s.second.last_ms = ts_ms;
    s.second.seen_after_sweep = sweeps_;
    return s.second.state;
  }

  // The next sweep comes after as many readings as there are meters left
  // (at least 4096): a sweep visits at most twice that many, so its cost per
  // reading stays constant however many meters there are.
  void sweep() {
    calls_ = 0;
    last_.at = nullptr;
    if (newest_ms_ >= std::numeric_limits<std::int64_t>::min() + forget_after_ms_) {
      const std::int64_t before = newest_ms_ - forget_after_ms_;
      for (auto it = states_.begin(); it != states_.end();)
        it = it->second.last_ms < before && it->second.seen_after_sweep < sweeps_ ? states_.erase(it) : std::next(it);
    }
    next_sweep_ = states_.size() > 4096 ? states_.size() : 4096;
    ++sweeps_;
  }

  std::int64_t forget_after_ms_;
  std::unordered_map<std::string, entry> states_;
  std::int64_t newest_ms_ = std::numeric_limits<std::int64_t>::min();
  std::size_t calls_ = 0, next_sweep_ = 4096;
  std::uint64_t sweeps_ = 0;
  // The meter of the last call: readings of one meter come in runs. A copy
  // starts without it (it points into the original's map).
  struct last_meter {
    slot* at = nullptr;
    last_meter() = default;
    last_meter(const last_meter&) {}
    last_meter& operator=(const last_meter&) {
      at = nullptr;
      return *this;
    }
  } last_;
};

} // namespace stream_smarts
