// At-least-once bookkeeping: an offset may be committed only once the batch
// it was read in, and every batch read before it, has been handled by every
// sink downstream. Pure, so tests drive it without a broker.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>

namespace stream_smarts::kafka_source {

using partition_key = std::pair<std::string, std::int32_t>;  ///< topic, partition
using offsets = std::map<partition_key, std::int64_t>;        ///< next offset to read, per partition

class offset_tracker {
public:
  /// Reads remembered apart, at most. A sink retrying for an hour lets the
  /// runtime hold thousands of batches in flight; beyond this the newest reads
  /// share one entry, whose offsets commit once all of them are handled (a
  /// little later than they could, never earlier), so memory stays bounded.
  static constexpr std::size_t most_entries = 256;

  /// One read(): the next offset of each partition it consumed from.
  /// `went_downstream` false (every message undecodable) makes it done at once.
  /// A read that went downstream counts even with no offsets (its partitions
  /// were revoked during the read): the runtime's commit(n) counts it.
  void read(const offsets& next, bool went_downstream) {
    if (next.empty() && !went_downstream) return;
    if (reads_.size() < most_entries) reads_.emplace_back();
    entry& e = reads_.back();
    for (const auto& [p, offset] : next) e.next[p] = std::max(e.next[p], offset);
    e.unhandled += went_downstream;
    collect();
  }

  /// The runtime's commit(n): the n oldest reads that went downstream are handled.
  void handled(std::size_t batches) {
    for (auto& e : reads_) {
      const std::size_t now = std::min(batches, e.unhandled);
      e.unhandled -= now;
      batches -= now;
      if (batches == 0) break;
    }
    collect();
  }

  /// Offsets that became committable since the last call.
  offsets take_done() { return std::exchange(done_, {}); }

  /// A revoked partition: its in-flight reads will be re-read by its new owner.
  void forget(const partition_key& p) {
    done_.erase(p);
    for (auto& e : reads_) e.next.erase(p);
  }

  /// Reads that went downstream and are not handled yet.
  std::size_t in_flight() const {
    std::size_t n = 0;
    for (const auto& e : reads_) n += e.unhandled;
    return n;
  }

  /// Entries kept for the reads in flight (at most most_entries).
  std::size_t entries() const { return reads_.size(); }

private:
  struct entry {
    offsets next;               ///< the highest next offset per partition of its reads
    std::size_t unhandled = 0;  ///< its reads that went downstream and are not handled yet
  };

  void collect() {
    while (!reads_.empty() && reads_.front().unhandled == 0) {
      for (const auto& [p, next] : reads_.front().next) done_[p] = std::max(done_[p], next);
      reads_.pop_front();
    }
  }

  std::deque<entry> reads_;
  offsets done_;
};

} // namespace stream_smarts::kafka_source
