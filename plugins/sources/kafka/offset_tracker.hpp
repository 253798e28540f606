// At-least-once bookkeeping: an offset may be committed only once the batch
// it was read in, and every batch read before it, has been handled by every
// sink downstream. Pure, so tests drive it without a broker.
#pragma once

#include <stream_smarts/reading.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

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
  /// `went_downstream` false (every message undecodable; or a partition back
  /// where this process left it, read on from there) makes it done as soon
  /// as every read before it is.
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

/// A partition taken over is read again from before its committed offset,
/// so that the stages rebuild what they keep of its meters (warm_up): those
/// messages give readings marked warm_up, and nothing is committed at or
/// below the committed offset again (a restart would read more twice). Pure.
class warm_up_marks {
public:
  /// Messages of `p` before `committed` are read again only to warm up:
  /// those stamped from `since_ms` on (a broker need not find offsets by
  /// time, so the older ones are read and passed over).
  void start(const partition_key& p, std::int64_t committed, std::int64_t since_ms) {
    until_[p] = {committed, since_ms};
    floor_[p] = committed;
  }

  enum class mark {
    live,     ///< read for the first time (as far as this process knows)
    warm_up,  ///< read again to warm up
    too_old   ///< read again, but older than the warm-up: passed over
  };
  /// What the message at `offset` of `p`, stamped `timestamp_ms` (-1: none), is.
  mark of(const partition_key& p, std::int64_t offset, std::int64_t timestamp_ms) {
    const auto it = until_.find(p);
    if (it == until_.end()) return mark::live;
    if (offset >= it->second.committed) {
      until_.erase(it);  // past it: nothing more of this partition is warm-up
      return mark::live;
    }
    return timestamp_ms >= 0 && timestamp_ms < it->second.since_ms ? mark::too_old : mark::warm_up;
  }
  /// Whether any partition is warming up (a cheap test before of()).
  bool any() const { return !until_.empty(); }
  /// Whether `p`, read up to `next` (the next offset to read), has not yet
  /// read all it reads again: a partition at its end is done at its
  /// committed offset, though no message after it has come to say so.
  bool warming(const partition_key& p, std::int64_t next) const {
    const auto it = until_.find(p);
    return it != until_.end() && next < it->second.committed;
  }

  /// `done` without what would commit a partition back to, or below, the
  /// offset it was committed at.
  offsets above_floor(offsets done) {
    for (auto it = done.begin(); it != done.end();) {
      const auto floor = floor_.find(it->first);
      if (floor == floor_.end()) {
        ++it;
      } else if (it->second > floor->second) {
        floor_.erase(floor);
        ++it;
      } else {
        it = done.erase(it);
      }
    }
    return done;
  }

  /// A revoked partition.
  void forget(const partition_key& p) {
    until_.erase(p);
    floor_.erase(p);
  }

private:
  struct window {
    std::int64_t committed, since_ms;
  };
  std::map<partition_key, window> until_;
  std::map<partition_key, std::int64_t> floor_;
};

/// With wh_kind = "index" a reading of use needs the meter's index before
/// it, which may be in a message already handled: an offset is committed no
/// further than the earliest message some meter of its partition needs read
/// again after a restart (meter_indexes::replay_from). Pure, as above.
class index_holds {
public:
  /// `meter`, of partition `p`, needs `offset` read again; its latest index
  /// taken is of `ts_ms`. A meter whose latest index is more than three
  /// hours older than its partition's newest holds nothing more: a sensor
  /// that publishes only when its count moves (Home Assistant's) has used
  /// next to nothing meanwhile, and a silent one must not make each restart
  /// send its partition's other meters' readings again for hours.
  void hold(const partition_key& p, const std::string& meter, std::int64_t offset, std::int64_t ts_ms) {
    partition& at = partitions_[p];
    at.newest_ts_ms = std::max(at.newest_ts_ms, ts_ms);
    at.meters[meter] = {offset, ts_ms};
    for (auto& [name, held] : at.meters) held.holding = held.holding && at.newest_ts_ms - held.ts_ms <= most_held_ms;
  }

  /// Of the offsets handled so far (`done`, tracker's take_done(), added to
  /// those before), those that became committable: each no further than its
  /// partition's holds.
  offsets take_committable(const offsets& done) {
    for (const auto& [p, next] : done) handled_[p] = std::max(handled_[p], next);
    offsets out;
    for (const auto& [p, next] : handled_) {
      std::int64_t limit = next;
      if (const auto it = partitions_.find(p); it != partitions_.end())
        for (const auto& [meter, held] : it->second.meters)
          if (held.holding) limit = std::min(limit, held.offset);
      if (auto [given, first] = given_.try_emplace(p, limit); first || limit > given->second) {
        given->second = limit;
        out[p] = limit;
      }
    }
    return out;
  }

  /// A revoked partition: its meters, which its new owner counts.
  std::vector<std::string> forget(const partition_key& p) {
    std::vector<std::string> meters;
    if (const auto it = partitions_.find(p); it != partitions_.end())
      for (const auto& [meter, held] : it->second.meters) meters.push_back(meter);
    partitions_.erase(p);
    handled_.erase(p);
    given_.erase(p);
    return meters;
  }

private:
  static constexpr std::int64_t most_held_ms = 3 * hour_ms;
  struct held {
    std::int64_t offset, ts_ms;
    bool holding = true;
  };
  struct partition {
    std::int64_t newest_ts_ms = std::numeric_limits<std::int64_t>::min();
    std::map<std::string, held> meters;
  };
  std::map<partition_key, partition> partitions_;
  offsets handled_, given_;
};

} // namespace stream_smarts::kafka_source
