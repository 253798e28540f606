#include "outbox.hpp"

#include "log.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace stream_smarts::runtime {

outbox::outbox(limits sizes, retry_settings retries, stage_metrics& counted, logger& log,
               raise_given_up_fn raise_given_up)
    : sizes_(sizes), retries_(retries), counted_(&counted), log_(&log), raise_given_up_(std::move(raise_given_up)) {}

bool outbox::take(std::vector<alert> alerts) {
  if (alerts.empty()) return false;
  for (alert& a : alerts) entries_.push_back({std::move(a)});
  entries_.back().last_of_batch = true;
  return true;
}

void outbox::begin_chunk() {
  if (chunk_ == 0) chunk_ = std::min(entries_.size(), sizes_.max_chunk);
}

const alert* outbox::next() {
  for (; written_ < chunk_; written())
    if (entries_[written_].sent()) return &entries_[written_].what;
  return nullptr;
}

void outbox::written() {
  // The entry that kept failing is through: the next failure starts a
  // new row (its own max_retries, from retry_backoff), not the 9th.
  if (failures_ > 0 && written_ == failed_at_) failures_ = 0;
  ++written_;
}

void outbox::refuse(const std::string& why) { give_up(written_, written_ + 1, why); }

void outbox::write_chunk_again() { written_ = 0; }

std::optional<outbox::retry> outbox::write_failed(const delivery_error& e) {
  if (auto again = retry_at(written_, e)) return again;
  give_up(written_, written_ + 1, why_given_up(e));
  ++written_;
  failures_ = 0;
  return std::nullopt;
}

std::optional<outbox::retry> outbox::flush_failed(const delivery_error& e) {
  if (auto again = retry_at(chunk_, e)) {
    written_ = 0;  // which of the chunk got through is unknown: write it all again
    return again;
  }
  const std::string why = why_given_up(e);
  for (std::size_t i = 0; i < chunk_; ++i)
    if (entries_[i].sent()) give_up(i, chunk_, why);
  return std::nullopt;
}

std::size_t outbox::complete_chunk() {
  std::size_t batches = 0;
  for (std::size_t i = 0; i < chunk_; ++i) {
    const entry& e = entries_.front();
    if (e.sent() && e.what.kind != alert_kind::none) {
      ++alerts_delivered_;
      counted_->count_alert(e.what.kind);  // as sent: a reminder sent as the raise is a raise
    }
    if (e.sent()) {
      ++counted_->delivered;
      last_given_up_ = false;
    }
    if (e.last_of_batch) ++batches;
    entries_.pop_front();
  }
  chunk_ = written_ = 0;
  failures_ = 0;
  return batches;
}

/// Counts a failure at entry `at` of the chunk (chunk_: its flush); the
/// retry, unless the failure is not retryable or the retries are spent.
std::optional<outbox::retry> outbox::retry_at(std::size_t at, const delivery_error& e) {
  if (!e.retryable() || ++failures_ > retries_.max_retries) return std::nullopt;
  failed_at_ = at;
  ++counted_->retries;
  return retry{retry_wait(e), failures_};
}

/// retry_backoff doubled per failure in a row, +-25 % so that sinks failing
/// together do not retry together, at least the service's Retry-After, at
/// most ten minutes.
std::chrono::milliseconds outbox::retry_wait(const delivery_error& e) {
  constexpr double longest_ms = 10 * 60 * 1000;
  const double doubled = static_cast<double>(retries_.backoff.count()) * std::pow(2.0, std::min(failures_ - 1, 20));
  const double jittered = doubled * std::uniform_real_distribution<double>(0.75, 1.25)(jitter_);
  const double wait = std::max(jittered, static_cast<double>(e.retry_after().count()));
  return std::chrono::milliseconds{static_cast<std::int64_t>(std::min(wait, longest_ms))};
}

std::string outbox::why_given_up(const delivery_error& e) const {
  if (!e.retryable()) return e.what();
  const std::string attempts = std::to_string(failures_) + (failures_ == 1 ? " attempt" : " attempts");
  return std::string(e.what()) + " (" + attempts + ")";
}

/// Gives up entry `at`; entries from `first_unsent` on have not been written yet.
void outbox::give_up(std::size_t at, std::size_t first_unsent, const std::string& why) {
  entry& e = entries_[at];
  e.given_up = true;
  if (e.what.kind == alert_kind::raised) raise_given_up_(e.what.scored, raise_instead(e.what.scored, first_unsent));
  ++counted_->given_up;
  last_given_up_ = true;
  log_->error("gave up delivering " + describe(e.what) + ": " + why);
}

/// A raise given up was heard by nobody. What is queued after it for the same
/// scorer and meter, before their next raise, is of its episode: its first
/// reminder becomes the raise (usage was still unusual then; the reminder
/// would have said "still" of an alert nobody got); with none, its "back to
/// normal" is withdrawn. Returns when the raise is now, if it is.
std::optional<std::int64_t> outbox::raise_instead(const scored_reading& raised, std::size_t first_unsent) {
  for (std::size_t i = first_unsent; i < entries_.size(); ++i) {
    entry& later = entries_[i];
    const scored_reading& r = later.what.scored;
    if (!later.sent() || r.scorer != raised.scorer || r.reading.meter != raised.reading.meter) continue;
    if (later.what.kind == alert_kind::raised) break;
    if (later.what.kind == alert_kind::reminder) {
      later.what.kind = alert_kind::raised;
      log_->info("the reminder for " + describe(r) + " is sent as the raise, which was given up");
      return r.reading.ts_ms;
    }
    if (later.what.kind == alert_kind::resolved) {
      later.withdrawn = true;
      log_->info("withdrew the resolved alert for " + describe(r) + ": its raise was given up");
      break;
    }
  }
  return std::nullopt;
}

} // namespace stream_smarts::runtime
