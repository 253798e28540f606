// A sink's outbox: the alerts it has taken and not yet delivered, and the
// bookkeeping of delivering them in chunks (write each entry, then flush),
// retrying failures with backoff or giving entries up. Plain bookkeeping:
// the sink actor (graph.cpp) calls the plugin, schedules the retries and
// tells the sources which of their batches are handled.
#pragma once

#include "metrics.hpp"
#include "pipeline_file.hpp"

#include <stream_smarts/plugin.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace stream_smarts::runtime {

class outbox {
public:
  struct limits {
    std::size_t capacity = 0;   ///< entries; past it, no batch is taken
    std::size_t max_chunk = 0;  ///< entries written before a flush
  };
  /// A failure to retry: after `wait`, as retry `number` (of max_retries).
  struct retry {
    std::chrono::milliseconds wait{0};
    int number = 0;
  };
  /// Told of a raise given up, with the reading time of the reminder sent
  /// as the raise instead, if any (alert_policy::raise_given_up).
  using raise_given_up_fn = std::function<void(const scored_reading& raised, std::optional<std::int64_t> instead_ms)>;

  /// Counts delivered and given-up entries and retries into `counted`;
  /// logs what it gives up, and why, into `log`.
  outbox(limits sizes, retry_settings retries, stage_metrics& counted, logger& log, raise_given_up_fn raise_given_up);

  bool has_room() const { return entries_.size() < sizes_.capacity; }
  bool empty() const { return entries_.empty(); }
  std::size_t size() const { return entries_.size(); }

  /// A batch's alerts, in order. False if there are none: the batch is
  /// complete already, and complete_chunk() will not count it.
  bool take(std::vector<alert> alerts);

  /// Makes the next entries (up to max_chunk) the chunk, unless one is on.
  void begin_chunk();
  /// The chunk's next alert to write, passing over entries given up or
  /// withdrawn; nullptr once the whole chunk is written.
  const alert* next();
  /// The alert next() gave is written (or refused): on to the next.
  void written();
  /// The alert next() gave was refused for good: given up at once (then
  /// written(), as for any other).
  void refuse(const std::string& why);
  /// The plugin instance is gone with what it had not flushed.
  void write_chunk_again();

  /// Writing the alert next() gave failed: the retry, or nothing if the
  /// alert is given up (retries spent, or not retryable) and the chunk goes on.
  std::optional<retry> write_failed(const delivery_error& e);
  /// The chunk's flush failed: the retry (of the whole chunk: which of it
  /// got through is unknown), or nothing if every entry sent is given up;
  /// complete_chunk() then.
  std::optional<retry> flush_failed(const delivery_error& e);

  /// The chunk is delivered (or given up): counts it and drops it. Returns
  /// how many of the batches taken, the oldest first, it completed.
  std::size_t complete_chunk();

  /// The latest delivery was given up (none succeeded since).
  bool last_given_up() const { return last_given_up_; }
  /// Alerts delivered, where stage_metrics::delivered counts every entry.
  std::uint64_t alerts_delivered() const { return alerts_delivered_; }

private:
  struct entry {
    alert what;
    bool last_of_batch = false;  // delivering it completes the batch
    bool given_up = false;
    bool withdrawn = false;      // not to be sent: the "back to normal" of a raise given up
    bool sent() const { return !given_up && !withdrawn; }
  };
  std::optional<retry> retry_at(std::size_t at, const delivery_error& e);
  std::chrono::milliseconds retry_wait(const delivery_error& e);
  std::string why_given_up(const delivery_error& e) const;
  void give_up(std::size_t at, std::size_t first_unsent, const std::string& why);
  std::optional<std::int64_t> raise_instead(const scored_reading& raised, std::size_t first_unsent);

  limits sizes_;
  retry_settings retries_;
  stage_metrics* counted_;
  logger* log_;
  raise_given_up_fn raise_given_up_;
  std::deque<entry> entries_;
  std::size_t chunk_ = 0;      // entries at the front in the current chunk
  std::size_t written_ = 0;    // of which written since the chunk began
  int failures_ = 0;           // failed attempts in a row (at the entry failed_at_)
  std::size_t failed_at_ = 0;  // entry of the chunk that failed (chunk_: its flush), if failures_ > 0
  bool last_given_up_ = false;
  std::uint64_t alerts_delivered_ = 0;
  std::minstd_rand jitter_{std::random_device{}()};
};

} // namespace stream_smarts::runtime
