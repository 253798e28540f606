// A meter's latest reading and the verdict a scorer gave it, so that the
// same reading delivered again (a Kafka rebalance reads the readings since
// the last commit again; a repeated row) gets that verdict again rather than
// being judged as new: a scorer that restarted its windows on it would let a
// spell still on fall to 0 for hours.
#pragma once

#include <stream_smarts/reading.hpp>

#include <cstdint>
#include <optional>

namespace stream_smarts {

template <class Verdict>
class latest_verdict {
public:
  /// The latest verdict if (ts_ms, value) was delivered again: earlier than
  /// the latest by less than a day, or the latest again (same time, same
  /// value). Not for a reading further back (a clock set back), nor another
  /// value at the latest's time (a local time that does not exist, read as
  /// the next hour's): those are judged, as before.
  const Verdict* again(std::int64_t ts_ms, double value) const {
    if (!ts_ms_ || *ts_ms_ - ts_ms >= day_ms) return nullptr;
    return ts_ms < *ts_ms_ || (ts_ms == *ts_ms_ && value == value_) ? &verdict_ : nullptr;
  }

  /// Remembers the verdict of a reading judged; returns it.
  const Verdict& note(std::int64_t ts_ms, double value, const Verdict& verdict) {
    ts_ms_ = ts_ms;
    value_ = value;
    return verdict_ = verdict;
  }

private:
  std::optional<std::int64_t> ts_ms_;
  double value_ = 0;
  Verdict verdict_{};
};

} // namespace stream_smarts
