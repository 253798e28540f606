// At-least-once bookkeeping: an offset may be committed only once the batch
// it was read in, and every batch read before it, has been handled by every
// sink downstream. Pure, so tests drive it without a broker.
#pragma once

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
  /// One read(): the next offset of each partition it consumed from.
  /// `went_downstream` false (every message undecodable) makes it done at once.
  /// A read that went downstream counts even with no offsets (its partitions
  /// were revoked during the read): the runtime's commit(n) counts it.
  void read(offsets next, bool went_downstream) {
    if (next.empty() && !went_downstream) return;
    reads_.push_back({std::move(next), !went_downstream});
    collect();
  }

  /// The runtime's commit(n): the n oldest reads that went downstream are handled.
  void handled(std::size_t batches) {
    for (auto& r : reads_) {
      if (batches == 0) break;
      if (!r.done) {
        r.done = true;
        --batches;
      }
    }
    collect();
  }

  /// Offsets that became committable since the last call.
  offsets take_done() { return std::exchange(done_, {}); }

  /// A revoked partition: its in-flight reads will be re-read by its new owner.
  void forget(const partition_key& p) {
    done_.erase(p);
    for (auto& r : reads_) r.next.erase(p);
  }

  /// Reads that went downstream and are not handled yet.
  std::size_t in_flight() const {
    std::size_t n = 0;
    for (const auto& r : reads_) n += !r.done;
    return n;
  }

private:
  struct pending_read {
    offsets next;
    bool done;
  };

  void collect() {
    while (!reads_.empty() && reads_.front().done) {
      for (const auto& [p, next] : reads_.front().next) done_[p] = std::max(done_[p], next);
      reads_.pop_front();
    }
  }

  std::deque<pending_read> reads_;
  offsets done_;
};

} // namespace stream_smarts::kafka_source
