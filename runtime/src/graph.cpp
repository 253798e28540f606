#include "graph.hpp"

#include "crash_report.hpp"
#include "metrics_server.hpp"
#include "outbox.hpp"
#include "zone.hpp"

#include <caf/all.hpp>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <optional>
#include <deque>
#include <map>
#include <memory>
#include <pthread.h>
#include <thread>
#include <utility>
#include <unistd.h>

namespace stream_smarts::runtime {
namespace {

// Local-only message types: they never leave the process.
struct batch_origin {
  caf::actor source;
  std::uint64_t seq = 0;
};
struct reading_batch {
  batch_origin origin;
  std::shared_ptr<const std::vector<reading>> readings;
};
struct scored_batch {
  batch_origin origin;
  std::shared_ptr<const std::vector<scored_reading>> readings;
};

} // namespace
} // namespace stream_smarts::runtime

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(stream_smarts::runtime::reading_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(stream_smarts::runtime::scored_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(stream_smarts::runtime::stage_metrics)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(stream_smarts::runtime::pipeline_metrics)

namespace stream_smarts::runtime {
namespace {

using read_atom = caf::atom_constant<caf::atom("read")>;
using released_atom = caf::atom_constant<caf::atom("released")>;
using handled_atom = caf::atom_constant<caf::atom("handled")>;
using resend_atom = caf::atom_constant<caf::atom("resend")>;
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using finished_atom = caf::atom_constant<caf::atom("finished")>;
using failed_atom = caf::atom_constant<caf::atom("failed")>;
using close_atom = caf::atom_constant<caf::atom("close")>;
using closed_atom = caf::atom_constant<caf::atom("closed")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;

std::string ms_text(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

/// What every stage actor has: its plugin instance under a restart policy,
/// and its own figures for the metrics endpoint.
struct supervised_state {
  stage* st = nullptr;
  caf::actor coordinator;
  caf::actor metrics;    ///< where the figures go; none without an endpoint
  restart_policy restarts{0, std::chrono::milliseconds{0}};
  bool started = false;  ///< start() ran on the current instance
  bool paused = false;   ///< waiting to restart after a failure
  bool dead = false;     ///< gave up: the pipeline is stopping
  /// A scorer's or sink's success is the failed batch getting through; a
  /// restarted source starts afresh, so it decides for itself (read_batch).
  bool success_is_progress = true;
  stage_metrics counted;     ///< counted here as things happen
  stage_metrics published;   ///< as last sent to the metrics actor
  std::uint64_t figures_version = 0;
  /// The plugin call under way, for a failure line: "read", or with what it
  /// was handling ("write of the raised alert for ..."), added as it throws.
  std::string call;

  void start_instance() {
    call = "constructor";
    if (!st->as_source && !st->as_scorer && !st->as_sink) st->recreate();
    if (started) return;
    call = "start";
    if (st->as_source) st->as_source->start();
    if (st->as_sink) st->as_sink->start();
    started = true;
  }
};

/// Logs a failure of the stage's plugin, drops the instance and asks for a
/// retry_atom after the backoff (or tells the coordinator the stage is
/// failing for good).
template <class Self>
void stage_failed(Self* self, const std::string& error) {
  supervised_state& s = self->state;
  const std::string failed = s.call + " failed: " + error;
  logger& log = s.st->context->log();
  s.started = false;
  try {
    s.st->destroy();
  } catch (...) {  // a throwing destructor must not take the supervisor down with it
  }
  if (auto delay = s.restarts.failed()) {
    log.error(failed + "; restarting in " + ms_text(*delay) + " (restart " +
              std::to_string(s.restarts.failures_in_a_row()) + " of at most " +
              std::to_string(s.restarts.max_restarts()) + " in a row)");
    s.paused = true;
    self->delayed_send(self, *delay, retry_atom::value);
  } else {
    log.error(failed + "; giving up after " + std::to_string(s.restarts.failures_in_a_row()) + " failures in a row");
    s.dead = true;
    self->send(s.coordinator, failed_atom::value, s.st->spec->describe(), s.call + ": " + error);
  }
}

/// Runs `work`, calling the plugin's `call`, on the stage under its restart
/// policy. True if it succeeded.
template <class Self, class Work>
bool supervised(Self* self, const char* call, Work&& work) {
  supervised_state& s = self->state;
  if (s.paused || s.dead) return false;
  try {
    const running_plugin running(s.st->crash_note.c_str());
    s.start_instance();
    s.call = call;
    work();
    if (s.success_is_progress) s.restarts.succeeded();
    return true;
  } catch (const std::exception& e) {
    stage_failed(self, e.what());
  } catch (...) {  // `throw 7;` in a plugin is a failure like any other, not the end of the actor
    stage_failed(self, std::string(not_an_exception));
  }
  return false;
}

/// A source's or sink's stop() at the end: what goes wrong is logged, as
/// nothing can be retried any more.
template <class Plugin>
void stop_plugin(supervised_state& s, Plugin& plugin) {
  try {
    const running_plugin running(s.st->crash_note.c_str());
    plugin.stop();
  } catch (const std::exception& e) {
    s.st->context->log().error(std::string("stop failed: ") + e.what());
  } catch (...) {
    s.st->context->log().error("stop failed: " + std::string(not_an_exception));
  }
}

/// A stage's answer when a stop cannot drain: what holds it up (empty: nothing),
/// and what a sink delivered so far (delivered_text; empty for other stages).
using stop_status = std::tuple<std::string, std::string>;

/// What a stage answers when a stop could not drain in time: what it was
/// doing (`doing`: "was waiting to retry: ..."), or nothing. A stage busy in
/// its plugin cannot answer; the coordinator says that for it.
std::string why_held_up(const supervised_state& s, const std::string& doing = {}) {
  const std::string what = s.paused ? std::string("was waiting to restart after a failure") : doing;
  return what.empty() ? what : s.st->spec->describe() + " " + what;
}

/// Sends the stage's figures to the metrics actor if they changed: called at
/// the end of every message a stage handles, so the metrics actor always has
/// the latest without asking (a stage may be busy in plugin code for long).
template <class Self>
void publish(Self* self, std::uint64_t in_flight_batches, std::uint64_t outbox = 0,
             stage_health delivery = stage_health::healthy) {
  auto& s = self->state;
  if (!s.metrics) return;
  stage_metrics& m = s.counted;
  m.restarts = s.st->instance > 0 ? s.st->instance - 1 : 0;  // the first instance replaced none
  m.in_flight_batches = in_flight_batches;
  m.outbox = outbox;
  m.trouble = s.st->context->current_trouble();
  m.health = s.dead                                ? stage_health::failed
             : s.paused                            ? stage_health::restarting
             : delivery != stage_health::healthy   ? delivery
             : !m.trouble.empty()                  ? stage_health::troubled
                                                   : stage_health::healthy;
  const figure_book& book = s.st->context->figures();
  if (book.version() != s.figures_version) {
    m.figures = book.figures();
    s.figures_version = book.version();
  }
  if (m == s.published) return;
  s.published = m;
  self->send(s.metrics, m);
}

// ---------------------------------------------------------------- source

/// How long a source goes without credit before its idle() is first called,
/// and how often after that unless it asks for sooner: long enough that a
/// pipeline merely running at its sinks' pace never idles (a Kafka source's
/// idle drops what it prefetched).
constexpr std::chrono::milliseconds idle_interval{1000}, shortest_idle_interval{5};

// Each sink tells a source twice about each batch: "released" once it has
// taken the batch into its outbox (the source may read on: that is the
// credit that bounds memory), "handled" once everything the batch gave it is
// delivered or given up (the source may commit past it). So a sink retrying
// a notification holds back commits, not the other sinks.
struct source_state : supervised_state {
  std::vector<caf::actor> scorers;
  std::size_t sinks_per_batch = 0;  ///< sink deliveries each batch makes
  std::size_t batch_size = 0;
  std::size_t max_in_flight = 0;    ///< batches not yet released by every sink
  struct batch_in_flight {
    std::uint64_t seq;
    std::size_t releases_due;
    std::size_t acks_due;
    std::uint64_t instance;  ///< which plugin instance read it
  };
  std::deque<batch_in_flight> in_flight;  ///< not yet handled by every sink, in read order
  std::size_t unreleased = 0;
  std::uint64_t next_seq = 0;
  bool drained = false;        ///< the plugin said finished
  bool stopping = false;       ///< asked to stop: read no more
  bool read_scheduled = false;
  bool idle_scheduled = false;  ///< an idle_atom is on its way
  std::chrono::milliseconds idle_every = idle_interval;  ///< as the plugin's idle() last asked
  bool reported = false;
  /// The latest reading time read, and what it was when the source last
  /// failed: a restarted replay reads its file again from the start, which
  /// is not progress until it reads past where it failed.
  std::optional<std::int64_t> latest_ms, latest_at_failure_ms;
};
using source_actor = caf::stateful_actor<source_state>;

void maybe_report_finished(source_actor* self) {
  auto& s = self->state;
  if (s.reported || !(s.drained || s.stopping || s.dead) || !s.in_flight.empty()) return;
  s.reported = true;
  if (s.st->as_source && s.started) stop_plugin(s, *s.st->as_source);
  self->send(s.coordinator, finished_atom::value, s.st->spec->name, s.counted.readings, s.counted.warm_ups);
}

void schedule_read(source_actor* self, std::chrono::milliseconds delay = {}) {
  auto& s = self->state;
  if (s.read_scheduled) return;
  s.read_scheduled = true;
  if (delay.count() > 0) self->delayed_send(self, delay, read_atom::value);
  else self->send(self, read_atom::value);
}

/// Batches handled out of order wait in in_flight for the ones before them
/// (commits are in order); this bounds how many, should a sink retry long.
constexpr std::size_t unhandled_per_credit = 4096;

/// A source's failures count as in a row until it reads a reading later
/// than any it had read when it last failed.
void note_progress(source_state& s, const std::vector<reading>& read) {
  for (const auto& r : read)
    if (!s.latest_ms || r.ts_ms > *s.latest_ms) s.latest_ms = r.ts_ms;
  if (s.latest_ms && (!s.latest_at_failure_ms || *s.latest_ms > *s.latest_at_failure_ms)) s.restarts.succeeded();
}

bool has_credit(const source_state& s) {
  return s.unreleased < s.max_in_flight && s.in_flight.size() < s.max_in_flight * unhandled_per_credit;
}

/// Out of credit: a release brings the next read; meanwhile, once a whole
/// interval has passed without a read, the plugin is told it is idle.
void await_credit(source_actor* self) {
  auto& s = self->state;
  if (s.idle_scheduled) return;
  s.idle_scheduled = true;
  self->delayed_send(self, s.idle_every, idle_atom::value, s.next_seq);
}

void idle(source_actor* self, std::uint64_t seq_then) {
  auto& s = self->state;
  s.idle_scheduled = false;
  if (s.drained || s.stopping || has_credit(s)) return;
  if (s.next_seq == seq_then && s.started)
    supervised(self, "idle",
               [&] { s.idle_every = std::clamp(s.st->as_source->idle(), shortest_idle_interval, idle_interval); });
  await_credit(self);
}

void read_batch(source_actor* self) {
  auto& s = self->state;
  if (s.drained || s.stopping) return;
  if (!has_credit(s)) return await_credit(self);
  auto out = std::make_shared<std::vector<reading>>();
  out->reserve(s.batch_size);
  read_result result;
  if (!supervised(self, "read", [&] { result = s.st->as_source->read(*out, s.batch_size); })) {
    s.latest_at_failure_ms = s.latest_ms;
    return;
  }
  note_progress(s, *out);
  const bool got_readings = !out->empty();
  if (got_readings) {
    const time_zone& zone = s.st->context->zone();
    for (auto& r : *out) localize(r, zone);
    const batch_origin origin{caf::actor_cast<caf::actor>(self), s.next_seq};
    s.in_flight.push_back({s.next_seq++, s.sinks_per_batch, s.sinks_per_batch, s.st->instance});
    ++s.unreleased;
    const auto warm_ups = std::count_if(out->begin(), out->end(), [](const reading& r) { return r.warm_up; });
    s.counted.warm_ups += static_cast<std::uint64_t>(warm_ups);
    s.counted.readings += out->size() - static_cast<std::size_t>(warm_ups);
    reading_batch batch{origin, std::move(out)};
    for (const auto& scorer : s.scorers) self->send(scorer, batch);
  }
  if (result.finished) {
    s.drained = true;
    maybe_report_finished(self);
  } else if (got_readings) {
    schedule_read(self);
  } else {
    // Nothing ready: ask again when the plugin says, never in a busy loop.
    schedule_read(self, std::max(result.wait, std::chrono::milliseconds{1}));
  }
}

/// in_flight holds consecutive sequence numbers (pushed in order, popped from
/// the front), so a batch is found by its distance from the front: thousands
/// may be in flight behind a retrying sink.
source_state::batch_in_flight* find_batch(source_state& s, std::uint64_t seq) {
  if (s.in_flight.empty() || seq < s.in_flight.front().seq) return nullptr;
  const std::uint64_t at = seq - s.in_flight.front().seq;
  return at < s.in_flight.size() ? &s.in_flight[at] : nullptr;
}

void release(source_actor* self, std::uint64_t seq) {
  auto& s = self->state;
  auto* b = find_batch(s, seq);
  if (b == nullptr || b->releases_due == 0) return;
  if (--b->releases_due == 0) --s.unreleased;
  schedule_read(self);
}

void acknowledge(source_actor* self, std::uint64_t seq) {
  auto& s = self->state;
  if (auto* b = find_batch(s, seq); b != nullptr && b->acks_due > 0) --b->acks_due;
  // commit(n) speaks of batches the current instance returned from read();
  // those of an instance replaced after a failure are only retired.
  std::size_t done = 0;
  while (!s.in_flight.empty() && s.in_flight.front().acks_due == 0) {
    done += s.in_flight.front().instance == s.st->instance;
    s.in_flight.pop_front();
  }
  if (done > 0 && s.st->as_source && !supervised(self, "commit", [&] { s.st->as_source->commit(done); }))
    s.latest_at_failure_ms = s.latest_ms;
  schedule_read(self);
  maybe_report_finished(self);
}

/// The stage, its coordinator and its restart policy, as every stage actor gets them.
struct stage_setup {
  stage* st;
  caf::actor coordinator;
  caf::actor metrics;
  restart_policy restarts;
};

void init(supervised_state& s, const stage_setup& setup) {
  s.st = setup.st;
  s.coordinator = setup.coordinator;
  s.metrics = setup.metrics;
  s.restarts = setup.restarts;
  s.counted.stage = s.published.stage = setup.st->spec->name;
  s.counted.kind = s.published.kind = setup.st->spec->kind;
}

/// Sources wait for the first read_atom, sent once the whole graph exists.
caf::behavior run_source(source_actor* self, stage_setup setup, std::vector<caf::actor> scorers,
                         std::size_t sinks_per_batch, std::size_t batch_size, std::size_t max_in_flight) {
  init(self->state, setup);
  auto& s = self->state;
  s.success_is_progress = false;
  s.scorers = std::move(scorers);
  s.sinks_per_batch = sinks_per_batch;
  s.batch_size = batch_size;
  s.max_in_flight = max_in_flight;
  s.read_scheduled = true;
  auto published = [self] { publish(self, self->state.in_flight.size()); };
  s.st->context->on_trouble = published;
  return {
      [=](read_atom) {
        self->state.read_scheduled = false;
        read_batch(self);
        published();
      },
      [=](released_atom, std::uint64_t seq) {
        release(self, seq);
        published();
      },
      [=](handled_atom, std::uint64_t seq) {
        acknowledge(self, seq);
        published();
      },
      [=](idle_atom, std::uint64_t seq_then) {
        idle(self, seq_then);
        published();
      },
      [=](retry_atom) {
        self->state.paused = false;
        schedule_read(self);
        published();
      },
      [=](stop_atom) {
        self->state.stopping = true;
        maybe_report_finished(self);
        published();
      },
      [=](status_atom) {
        const auto& s = self->state;
        if (s.reported) return stop_status{};  // finished: it holds nothing up, restarting or not
        const std::size_t n = s.in_flight.size();
        // Stopping, a source waits for what it read to be handled, then stops (a Kafka source commits).
        return stop_status{why_held_up(s, s.stopping && n > 0 ? "was waiting for " + std::to_string(n) +
                                                                    (n == 1 ? " batch" : " batches") +
                                                                    " it read to be handled by the sinks"
                                                              : std::string()),
                           {}};
      },
  };
}

// ---------------------------------------------------------------- scorer

struct scorer_state : supervised_state {
  std::vector<caf::actor> sinks;
  std::deque<reading_batch> queue;  ///< bounded by the sources' in-flight credit
  std::uint64_t unscored = 0;       ///< NaN scores the plugin gave
};
using scorer_actor = caf::stateful_actor<scorer_state>;

/// A NaN score is a plugin's fault the policy reads as no verdict; said at
/// the 1st, 10th, 100th ... so that a scorer giving nothing else is not a flood.
void note_unscored(scorer_state& s, const scored_reading& scored) {
  const std::uint64_t n = ++s.unscored;
  std::uint64_t power = 1;
  while (power * 10 <= n) power *= 10;
  if (n != power) return;
  s.st->context->log().warning("gave no score (NaN) for " + describe(scored) +
                               ": it neither raises nor ends an alert (" + std::to_string(n) +
                               (n == 1 ? " reading" : " readings") + " so far)");
}

void score_batch(scorer_actor* self, const reading_batch& in) {
  auto& s = self->state;
  auto out = std::make_shared<std::vector<scored_reading>>();
  out->reserve(in.readings->size());
  scorer& instance = *s.st->as_scorer;
  for (const auto& r : *in.readings) {
    score_result verdict;
    try {
      verdict = instance.score(r);
    } catch (...) {  // which reading, for the plugin's author
      char wh[32];
      std::snprintf(wh, sizeof wh, "%.0f Wh", r.wh);
      s.call = "score of " + meter_and_time(r) + " (" + wh + ")";
      throw;
    }
    out->push_back(
        scored_reading{r, verdict.score, verdict.expected_lo, verdict.expected_hi, s.st->spec->name, verdict.since_ms,
                       verdict.unit, verdict.still_on});
    if (std::isnan(verdict.score)) note_unscored(s, out->back());
  }
  s.counted.scored += out->size();
  scored_batch batch{in.origin, std::move(out)};
  for (const auto& sink : s.sinks) self->send(sink, batch);
}

template <class Self, class Process>
void drain_queue(Self* self, Process process) {
  auto& s = self->state;
  while (!s.queue.empty() && supervised(self, "score", [&] { process(self, s.queue.front()); })) s.queue.pop_front();
}

caf::behavior run_scorer(scorer_actor* self, stage_setup setup, std::vector<caf::actor> sinks) {
  init(self->state, setup);
  self->state.sinks = std::move(sinks);
  auto published = [self] { publish(self, self->state.queue.size()); };
  self->state.st->context->on_trouble = published;
  return {
      [=](const reading_batch& batch) {
        self->state.queue.push_back(batch);
        drain_queue(self, score_batch);
        published();
      },
      [=](retry_atom) {
        self->state.paused = false;
        drain_queue(self, score_batch);
        published();
      },
      [=](status_atom) { return stop_status{why_held_up(self->state), {}}; },
  };
}

// ---------------------------------------------------------------- sink

/// A sink takes batches in order, lets the alert policy decide what each
/// scored reading becomes, and delivers from its outbox in chunks: write
/// each entry, then flush. A delivery_error is retried with backoff (a
/// retry scheduled as a message, so the actor stays responsive) or given up;
/// any other exception restarts the stage as for every stage.
struct sink_state : supervised_state {
  receive_mode receive = receive_mode::alerts;
  std::optional<alert_policy> policy;
  std::optional<runtime::outbox> outbox;  ///< past its capacity, batches wait unreleased
  std::deque<scored_batch> intake;        ///< received, not yet taken (still the source's credit)
  std::deque<batch_origin> in_outbox;     ///< batches with entries in the outbox, in the order taken
  bool waiting = false;                   ///< a retry is scheduled
  std::string retrying;                   ///< the failure it waits to retry, if waiting
  std::uint64_t failures_in_a_row = 0;    ///< failed attempts since the last chunk delivered
  bool delivery_due = false;              ///< a deliver_atom is on its way to this sink
  bool closing = false;
  bool closed = false;                    ///< its plugin stopped: no more idle()
};
using sink_actor = caf::stateful_actor<sink_state>;

alert_kind kind_of(verdict v) {
  switch (v) {
    case verdict::raise: return alert_kind::raised;
    case verdict::remind: return alert_kind::reminder;
    case verdict::resolve: return alert_kind::resolved;
    case verdict::quiet: break;
  }
  return alert_kind::none;
}

/// Counts why the policy decided on no notification.
void count_suppressed(stage_metrics& m, const decision& d) {
  using cause = decision::cause;
  if (d.what != verdict::quiet) return;  // counted when delivered: it may yet be given up
  switch (d.because) {
    case cause::sustain: ++m.suppressed[static_cast<int>(suppression::sustain)]; break;
    case cause::cooldown: ++m.suppressed[static_cast<int>(suppression::cooldown)]; break;
    case cause::quiet_hours: ++m.suppressed[static_cast<int>(suppression::quiet_hours)]; break;
    case cause::already_raised: ++m.suppressed[static_cast<int>(suppression::already_raised)]; break;
    default: break;  // inside the band: nothing to notify
  }
}

/// What one scored reading becomes for this sink: an alert of some kind, or nothing.
std::optional<alert> decide(sink_state& s, const scored_reading& scored) {
  if (scored.reading.warm_up) {  // the policy learns where its meter stands; the alerts were sent before
    if (s.receive == receive_mode::alerts) s.policy->decide(scored);
    return std::nullopt;
  }
  const double threshold = s.policy->settings().threshold;
  if (s.receive == receive_mode::unusual) {
    if (!(scored.score > threshold)) return std::nullopt;  // NaN too
    return alert{scored, alert_kind::raised, threshold, scored.since_ms};
  }
  const decision d = s.policy->decide(scored);
  count_suppressed(s.counted, d);
  logger& log = s.st->context->log();
  const bool has_story = d.readings > 0 || d.because == decision::cause::not_later;  // not every quiet reading
  if (has_story && log.enabled(log_level::debug))
    log.debug(describe(scored) + ": " + (d.what == verdict::quiet ? "no notification" : to_string(kind_of(d.what))) +
              ", " + d.why(s.policy->settings()));
  if (d.what == verdict::quiet && s.receive != receive_mode::all) return std::nullopt;
  // A reading inside the band (receive = "all") is unusual since no time,
  // though it may end an episode: the since of its record would mislead.
  const bool inside = d.what == verdict::quiet && scored.score <= threshold;
  return alert{scored, kind_of(d.what), threshold, inside ? 0 : d.began_ms};
}

/// Moves waiting batches into the outbox while there is room, in order.
void take_batches(sink_actor* self) {
  auto& s = self->state;
  while (!s.intake.empty() && s.outbox->has_room()) {
    const scored_batch& batch = s.intake.front();
    std::vector<alert> alerts;
    for (const auto& scored : *batch.readings)
      if (auto a = decide(s, scored)) alerts.push_back(std::move(*a));
    self->send(batch.origin.source, released_atom::value, batch.origin.seq);
    if (s.outbox->take(std::move(alerts))) s.in_outbox.push_back(batch.origin);
    else self->send(batch.origin.source, handled_atom::value, batch.origin.seq);
    s.intake.pop_front();
  }
}

/// The chunk is delivered (or given up): acknowledge the batches it completed.
void complete_chunk(sink_actor* self) {
  auto& s = self->state;
  for (std::size_t n = s.outbox->complete_chunk(); n > 0; --n) {
    const batch_origin& done = s.in_outbox.front();
    self->send(done.source, handled_atom::value, done.seq);
    s.in_outbox.pop_front();
  }
}

/// A retryable failure of the chunk's next write (a refusal is given up in
/// deliver_chunk), or any failure of its flush: try again later, or go on
/// past what the outbox gave up.
void retry_or_give_up(sink_actor* self, const delivery_error& e, bool in_flush) {
  auto& s = self->state;
  if (e.retryable()) ++s.failures_in_a_row;  // the service's trouble, not one alert it refuses
  const auto retry = in_flush ? s.outbox->flush_failed(e) : s.outbox->write_failed(e);
  if (!retry) {
    if (in_flush) complete_chunk(self);
    return;
  }
  s.st->context->log().warning(std::string("delivery failed: ") + e.what() + "; retrying in " + ms_text(retry->wait) +
                               " (retry " + std::to_string(retry->number) + " of " +
                               std::to_string(s.st->spec->retries.max_retries) + ")");
  s.waiting = true;
  s.retrying = e.what();
  self->delayed_send(self, retry->wait, resend_atom::value);
}

/// After failures, that deliveries go through again: warnings followed by
/// silence left the user guessing whether the service was still down.
void say_delivering_again(sink_state& s) {
  const std::uint64_t failures = std::exchange(s.failures_in_a_row, 0);
  if (failures == 0) return;
  s.st->context->log().info("delivering again after " + std::to_string(failures) +
                            (failures == 1 ? " failed attempt" : " failed attempts"));
}

/// Writes the rest of the current chunk and flushes it. False if it must wait.
bool deliver_chunk(sink_actor* self) {
  auto& s = self->state;
  s.outbox->begin_chunk();
  bool in_flush = false;
  const bool ok = supervised(self, "write", [&] {
    try {
      sink& instance = *s.st->as_sink;
      while (const alert* a = s.outbox->next()) {
        try {
          instance.write(*a);
        } catch (const delivery_error& failed) {
          if (failed.retryable()) throw;
          s.outbox->refuse(failed.what());  // retrying cannot help: say what to fix, once
        } catch (...) {
          s.call = "write of " + describe(*a);
          throw;
        }
        s.outbox->written();
      }
      in_flush = true;
      s.call = "flush";
      instance.flush();
      complete_chunk(self);
      say_delivering_again(s);
    } catch (const delivery_error& failed) {
      retry_or_give_up(self, failed, in_flush);
    }
  });
  if (!ok) s.outbox->write_chunk_again();  // the instance is gone with what it had not flushed
  return ok && !s.waiting;
}

void close_sink(sink_actor* self);

void publish_sink(sink_actor* self) {
  const auto& s = self->state;
  publish(self, s.intake.size(), s.outbox->size(),
          s.waiting ? stage_health::retrying
          : s.outbox->last_given_up() ? stage_health::delivery_failed : stage_health::healthy);
}

/// Takes what there is room for and delivers until done or waiting.
void pump(sink_actor* self) {
  auto& s = self->state;
  for (;;) {
    take_batches(self);
    if (s.outbox->empty() || s.waiting || s.paused || s.dead) break;
    const bool delivered = deliver_chunk(self);
    // Each chunk's figures at once: the next chunk's flush may wait minutes
    // (a Kafka sink with its broker away), and a give-up must show meanwhile.
    publish_sink(self);
    if (!delivered) break;
  }
  if (s.closing && ((s.intake.empty() && s.outbox->empty()) || s.dead)) close_sink(self);
}

/// "phone 8 alerts (1 given up)", "scores 9058 scored readings": what the
/// sink delivered, in what it receives, for the pipeline's closing line;
/// with `held` (a stop that cannot drain) what is still in its outbox too.
std::string delivered_text(const sink_state& s, std::size_t held = 0) {
  const bool alerts = s.receive == receive_mode::alerts;
  const std::uint64_t n = alerts ? s.outbox->alerts_delivered() : s.counted.delivered;
  const char* what = alerts ? "alert" : s.receive == receive_mode::unusual ? "unusual reading" : "scored reading";
  std::vector<std::string> notes;
  if (const std::uint64_t given_up = s.counted.given_up) notes.push_back(std::to_string(given_up) + " given up");
  if (held) notes.push_back(std::to_string(held) + " not delivered");
  std::string text = s.st->spec->name + " " + std::to_string(n) + " " + what + (n == 1 ? "" : "s");
  for (std::size_t i = 0; i < notes.size(); ++i) text += (i ? ", " : " (") + notes[i];
  return notes.empty() ? text : text + ")";
}

void close_sink(sink_actor* self) {
  auto& s = self->state;
  s.closing = false;
  s.closed = true;
  if (!s.dead && s.started && s.st->as_sink) stop_plugin(s, *s.st->as_sink);
  self->send(s.coordinator, closed_atom::value, s.outbox->alerts_delivered(), s.counted.given_up, delivered_text(s),
             s.receive == receive_mode::alerts);
}

/// Calls the plugin's idle() if it has nothing to deliver now: its outbox
/// empty, or a delivery waiting for its retry. Starts a fresh instance.
void serve_idle(sink_actor* self) {
  auto& s = self->state;
  if (s.closed || s.closing || s.paused || s.dead || !(s.outbox->empty() || s.waiting)) return;
  supervised(self, "idle", [&] { s.st->as_sink->idle(); });
}

/// Every idle_interval from the start until the sink closes: a Kafka
/// producer then notices its brokers going, long before an alert would tell.
void sink_idle(sink_actor* self) {
  if (self->state.closed || self->state.dead) return;
  self->delayed_send(self, idle_interval, idle_atom::value);
  serve_idle(self);
}

caf::behavior run_sink(sink_actor* self, stage_setup setup, std::size_t outbox_capacity, std::size_t max_chunk) {
  init(self->state, setup);
  auto& s = self->state;
  s.receive = setup.st->spec->receive;
  s.policy.emplace(setup.st->spec->policy, s.st->context->zone());
  s.outbox.emplace(outbox::limits{outbox_capacity, max_chunk}, setup.st->spec->retries, s.counted, s.st->context->log(),
                   [&s](const scored_reading& raised, std::optional<std::int64_t> instead_ms) {
                     s.policy->raise_given_up(raised, instead_ms);
                   });
  auto published = [self] { publish_sink(self); };
  s.st->context->on_trouble = published;
  self->delayed_send(self, idle_interval, idle_atom::value);
  return {
      // Takes the batch in at once (its source may read on), and delivers
      // once the batches already in the mailbox are taken in too: a sink
      // slower than its input (an HTTP request or a Kafka produce-and-wait
      // per flush) then sends them in one chunk, where a flush per batch
      // would queue each behind the one before.
      [=](const scored_batch& batch) {
        self->state.intake.push_back(batch);
        // Due before the release goes out: else the next batch, read on that
        // release, could be decided before this one's delivery (a raise given
        // up there makes the next reading above a raise again).
        if (!std::exchange(self->state.delivery_due, true)) self->send(self, deliver_atom::value);
        take_batches(self);
        published();
      },
      [=](deliver_atom) {
        self->state.delivery_due = false;
        pump(self);
        published();
      },
      [=](resend_atom) {
        self->state.waiting = false;
        pump(self);
        published();
      },
      [=](retry_atom) {
        self->state.paused = false;
        pump(self);
        serve_idle(self);  // a restart with nothing to deliver: the fresh instance now, or /healthz says ok without one
        published();
      },
      [=](close_atom) {
        self->state.closing = true;
        pump(self);
        published();
      },
      [=](idle_atom) {
        sink_idle(self);
        published();
      },
      [=](status_atom) {
        const auto& s = self->state;
        return stop_status{why_held_up(s, s.waiting ? "was waiting to retry: " + s.retrying : std::string()),
                           delivered_text(s, s.outbox->size())};
      },
  };
}

// ---------------------------------------------------------------- coordinator

struct coordinator_state {
  std::string pipeline;
  std::vector<caf::actor> sources, scorers, sinks;
  /// Of each stage, sources then scorers then sinks: what it was doing if it
  /// cannot say what held a stop up (it is busy in its plugin).
  std::vector<std::string> busy;
  std::vector<std::string> held_up;  ///< what each stage said held the stop up
  /// Some stage said it held readings or alerts (not a source busy in its
  /// plugin as it stops, a Kafka commit): what it held is not delivered.
  bool alerts_held = false;
  std::size_t answers_due = 0;
  caf::actor main;
  std::size_t sources_running = 0;
  std::size_t sinks_open = 0;
  std::uint64_t readings = 0, warm_ups = 0, alerts = 0, given_up = 0;
  std::vector<std::string> sink_names;  ///< in the pipeline's order, as `sinks`
  std::vector<std::string> delivered;   ///< what each sink delivered (delivered_text) as it closed or answered, as `sinks`
  bool only_alerts = true;              ///< every sink receives alerts (not unusual or all readings)
  std::chrono::milliseconds shutdown_timeout{0};
  int exit_code = 0;
  bool stopping = false, closing = false, drained = true;
};
using coordinator_actor = caf::stateful_actor<coordinator_state>;

/// Where the sinks begin among the stages the coordinator asks (sources, scorers, sinks).
std::size_t first_sink(const coordinator_state& s) { return s.sources.size() + s.scorers.size(); }

void finish(coordinator_actor* self, bool forced) {
  auto& s = self->state;
  for (auto* group : {&s.sources, &s.scorers, &s.sinks})
    for (auto& a : *group) self->send_exit(a, caf::exit_reason::user_shutdown);
  self->send(s.main, done_atom::value, s.exit_code, forced);
  self->quit();
}

void close_sinks(coordinator_actor* self) {
  auto& s = self->state;
  if (s.closing) return;
  s.closing = true;
  s.sinks_open = s.sinks.size();
  for (auto& sink : s.sinks) self->send(sink, close_atom::value);
  if (s.sinks_open == 0) finish(self, false);
}

/// "pipeline 'notify' finished: 744 readings, 22 alerts delivered; by sink:
/// phone 8 alerts, ...": the sinks apart when there are several, when one
/// delivers readings rather than alerts, or when the stop could not drain.
std::string closing_line(const coordinator_state& s) {
  // Sources count their readings when they finish: one still running has
  // not said, and a restarted one counted what it read again.
  const bool failed = s.exit_code != 0 || s.sources_running != 0;
  const std::string warmed = s.warm_ups ? " (and " + std::to_string(s.warm_ups) + " read again to warm up)" : "";
  std::string line = "pipeline '" + s.pipeline + "' " +
                     (!s.drained ? std::string("stopped without draining")
                      : failed   ? std::string("stopped by a failing stage")
                                 : "finished: " + std::to_string(s.readings) + " readings" + warmed);
  // Sinks add to the totals as they close; undrained, they are said by sink, as far as each could answer.
  if (s.drained)
    line += (failed ? ": " : ", ") + std::to_string(s.alerts) + (s.alerts == 1 ? " alert delivered" : " alerts delivered");
  // Given up counts deliveries: alerts only if every sink receives alerts, else said by sink.
  if (s.drained && s.given_up && s.only_alerts) line += ", " + std::to_string(s.given_up) + " given up";
  if (s.delivered.size() < 2 && s.only_alerts && s.drained) return line;
  for (std::size_t i = 0; i < s.delivered.size(); ++i)
    line += (i > 0 ? ", " : s.drained ? "; by sink: " : "; delivered by sink: ") +
            (s.delivered[i].empty() ? s.sink_names[i] + " not counted (it did not answer)" : s.delivered[i]);
  return line;
}

/// Exits after a stop that could not drain in time, saying what held it up.
void exit_undrained(coordinator_actor* self) {
  auto& s = self->state;
  std::string held;
  for (const auto& what : s.held_up)
    if (!what.empty()) held += "; " + what;
  const char* consequence = s.alerts_held ? ". Alerts not delivered are lost, unless the source reads them again "
                                           "(Kafka: from its last commit, at the next start or by another process "
                                           "of its group)"
                            : held.empty() ? ""
                                           : ". A source that reads again from its last commit (Kafka) gives what "
                                             "it had not committed again at the next start: duplicates, not losses";
  runtime_log().error("the pipeline did not stop within shutdown_timeout (" + duration_text(s.shutdown_timeout) +
                      "); exiting without draining" + held + consequence);
  s.exit_code = 1;
  s.drained = false;
  runtime_log().info(closing_line(s));
  finish(self, true);
}

/// How long the stages have to say what held up a stop that could not drain.
constexpr std::chrono::milliseconds status_wait{500};

/// `itself`: the stage answered (not busy in its plugin: `what` is the coordinator's).
void answered(coordinator_actor* self, std::size_t stage, std::string what, const std::string& delivered, bool itself) {
  auto& s = self->state;
  if (!what.empty() && (itself || stage >= s.sources.size())) s.alerts_held = true;
  s.held_up[stage] = std::move(what);
  // A sink still open says what it delivered so far; one busy in its plugin cannot.
  if (stage >= first_sink(s) && !delivered.empty()) s.delivered[stage - first_sink(s)] = delivered;
  if (--s.answers_due == 0) exit_undrained(self);
}

/// Asks every stage what it is waiting for; one busy in its plugin cannot
/// answer, and that is its answer.
void ask_what_held_up(coordinator_actor* self) {
  auto& s = self->state;
  std::vector<caf::actor> stages = s.sources;
  stages.insert(stages.end(), s.scorers.begin(), s.scorers.end());
  stages.insert(stages.end(), s.sinks.begin(), s.sinks.end());
  s.held_up.assign(stages.size(), {});
  s.answers_due = stages.size();
  if (stages.empty()) return exit_undrained(self);
  for (std::size_t i = 0; i < stages.size(); ++i)
    self->request(stages[i], status_wait, status_atom::value)
        .then([=](std::string& what, std::string& delivered) { answered(self, i, std::move(what), delivered, true); },
              [=](caf::error& e) {
                answered(self, i, e == caf::sec::request_timeout ? self->state.busy[i] : std::string(), {}, false);
              });
}

void begin_stop(coordinator_actor* self, const char* why) {
  auto& s = self->state;
  if (s.stopping) return;
  s.stopping = true;
  runtime_log().info(std::string(why) + ": stopping sources, draining in-flight readings");
  for (auto& source : s.sources) self->send(source, stop_atom::value);
  self->delayed_send(self, s.shutdown_timeout, timeout_atom::value);
}

caf::behavior run_coordinator(coordinator_actor* self, std::string pipeline, caf::actor main,
                              std::chrono::milliseconds shutdown_timeout) {
  auto& s = self->state;
  s.pipeline = std::move(pipeline);
  s.main = std::move(main);
  s.shutdown_timeout = shutdown_timeout;
  return {
      [=](const std::vector<caf::actor>& sources, const std::vector<caf::actor>& scorers,
          const std::vector<caf::actor>& sinks, const std::vector<std::string>& sink_names,
          const std::vector<std::string>& busy) {
        auto& s = self->state;
        s.sources = sources;
        s.scorers = scorers;
        s.sinks = sinks;
        s.sink_names = sink_names;
        s.delivered.assign(sinks.size(), {});
        s.busy = busy;
        s.sources_running = sources.size();
      },
      [=](finished_atom, const std::string&, std::uint64_t readings, std::uint64_t warm_ups) {
        auto& s = self->state;
        s.readings += readings;
        s.warm_ups += warm_ups;
        if (--s.sources_running == 0) close_sinks(self);
      },
      [=](closed_atom, std::uint64_t alerts, std::uint64_t given_up, const std::string& delivered, bool alerts_only) {
        auto& s = self->state;
        s.alerts += alerts;
        s.given_up += given_up;
        // Sinks close in any order; the line lists them as the pipeline file does.
        const auto sink = std::find(s.sinks.begin(), s.sinks.end(), caf::actor_cast<caf::actor>(self->current_sender()));
        if (sink != s.sinks.end()) s.delivered[static_cast<std::size_t>(sink - s.sinks.begin())] = delivered;
        s.only_alerts = s.only_alerts && alerts_only;
        if (--s.sinks_open > 0) return;
        runtime_log().info(closing_line(s));
        finish(self, false);
      },
      [=](stop_atom) { begin_stop(self, "stop requested"); },
      [=](failed_atom, const std::string& stage, const std::string& error) {
        auto& s = self->state;
        s.exit_code = 1;
        runtime_log().error(stage + " keeps failing (" + error + "); stopping the pipeline");
        begin_stop(self, "stage failed");
        close_sinks(self);  // no draining: a failed stage will never acknowledge
      },
      [=](timeout_atom) { ask_what_held_up(self); },
  };
}

// ---------------------------------------------------------------- metrics

/// Holds the latest figures of every stage, as the stages send them, and
/// hands a copy to whoever asks (the metrics server's thread). It never
/// waits on a stage, so a stage busy in plugin code cannot hold up a scrape.
struct metrics_state {
  pipeline_metrics latest;
  std::map<std::string, std::size_t> index;  ///< stage name -> position in latest.stages
};
using metrics_actor = caf::stateful_actor<metrics_state>;

caf::behavior run_metrics(metrics_actor* self, pipeline_metrics initial) {
  auto& s = self->state;
  for (std::size_t i = 0; i < initial.stages.size(); ++i) s.index[initial.stages[i].stage] = i;
  s.latest = std::move(initial);
  return {
      [=](const stage_metrics& m) {
        auto& s = self->state;
        if (auto it = s.index.find(m.stage); it != s.index.end()) s.latest.stages[it->second] = m;
      },
      [=](get_atom) { return self->state.latest; },
  };
}

/// Every stage at zero, so each series exists from the start.
pipeline_metrics initial_metrics(const pipeline_spec& pipeline) {
  pipeline_metrics m;
  m.pipeline = pipeline.settings.name;
  for (const auto& spec : pipeline.stages) {
    stage_metrics s;
    s.stage = spec.name;
    s.kind = spec.kind;
    m.stages.push_back(std::move(s));
  }
  return m;
}

/// What the metrics server asks on its own thread: the metrics actor's copy.
metrics_server::query ask_metrics(caf::actor_system& system, caf::actor metrics) {
  return [&system, metrics]() -> std::optional<pipeline_metrics> {
    caf::scoped_actor asker{system};
    std::optional<pipeline_metrics> out;
    asker->request(metrics, std::chrono::seconds{2}, get_atom::value)
        .receive([&](const pipeline_metrics& m) { out = m; }, [&](caf::error&) {});
    return out;
  };
}

// ---------------------------------------------------------------- wiring

/// SIGINT/SIGTERM are blocked in every thread and taken by one thread with
/// sigwait, so handling them is ordinary code (a message to the coordinator),
/// not an async-signal handler. SIGUSR1 tells that thread to end. SIGHUP,
/// whose default would end the process at once, undrained and as a "clean"
/// exit to systemd's Restart=on-failure (a logrotate postrotate, a closed
/// terminal), is said and ignored: there is nothing to reload.
constexpr int watched_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1};

class signal_watcher {
public:
  explicit signal_watcher(caf::actor coordinator) {
    sigemptyset(&set_);
    for (int sig : watched_signals) sigaddset(&set_, sig);
    thread_ = std::thread([this, coordinator] { watch(coordinator); });
  }
  ~signal_watcher() {
    pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
  }
private:
  void watch(const caf::actor& coordinator) {
    // `timeout` and `kill` of a process group signal the process and then its
    // group: one stop, twice, a moment apart. Only a signal after that moment
    // is someone asking again.
    constexpr auto same_stop = std::chrono::milliseconds{500};
    std::optional<std::chrono::steady_clock::time_point> first;
    for (;;) {
      int sig = 0;
      if (sigwait(&set_, &sig) != 0 || sig == SIGUSR1) return;
      if (sig == SIGHUP) {
        runtime_log().warning("SIGHUP ignored: the pipeline file is read only at start (restart to apply a "
                              "change); SIGINT or SIGTERM stop");
        continue;
      }
      const auto now = std::chrono::steady_clock::now();
      if (!first) {
        first = now;
        caf::anon_send(coordinator, stop_atom::value);
      } else if (now - *first >= same_stop) {
        runtime_log().error("second stop signal: exiting at once");
        std::fflush(stdout);
        _exit(130);
      }
    }
  }
  sigset_t set_;
  std::thread thread_;
};

std::size_t sinks_downstream(const pipeline_spec& p, const stage_spec& source) {
  std::size_t n = 0;
  for (const auto* scorer : p.consumers_of(source.name)) n += p.consumers_of(scorer->name).size();
  return n;
}

std::vector<caf::actor> actors_of(const std::vector<const stage_spec*>& specs,
                                  const std::map<std::string, caf::actor>& actors) {
  std::vector<caf::actor> out;
  for (const auto* spec : specs) out.push_back(actors.at(spec->name));
  return out;
}

/// The stages' actors, by kind.
struct stage_actors {
  std::vector<caf::actor> sources, scorers, sinks;
};

/// Spawns every stage, downstream first, so each knows the actors it feeds.
/// Sinks and sources may block in plugin code (I/O) and get threads of their
/// own; scorers are pure computation and share the scheduler's threads.
stage_actors spawn_stages(caf::actor_system& system, const pipeline_spec& pipeline, std::vector<stage>& stages,
                          const stage_setup& base) {
  const auto& settings = pipeline.settings;
  auto setup_for = [&](stage& st) {
    stage_setup s = base;
    s.st = &st;
    return s;
  };
  std::map<std::string, caf::actor> actors;
  stage_actors out;
  for (auto& st : stages)
    if (st.spec->kind == plugin_kind::sink)
      out.sinks.push_back(actors[st.spec->name] = system.spawn<caf::detached>(
                              run_sink, setup_for(st), settings.batch_size * settings.max_in_flight,
                              settings.batch_size));
  for (auto& st : stages)
    if (st.spec->kind == plugin_kind::scorer)
      out.scorers.push_back(actors[st.spec->name] = system.spawn(
                                run_scorer, setup_for(st), actors_of(pipeline.consumers_of(st.spec->name), actors)));
  for (auto& st : stages)
    if (st.spec->kind == plugin_kind::source)
      out.sources.push_back(actors[st.spec->name] = system.spawn<caf::detached>(
                                run_source, setup_for(st), actors_of(pipeline.consumers_of(st.spec->name), actors),
                                sinks_downstream(pipeline, *st.spec), settings.batch_size, settings.max_in_flight));
  return out;
}

/// The sinks' names, in the order the coordinator holds their actors.
std::vector<std::string> sink_names(const pipeline_spec& pipeline) {
  std::vector<std::string> out;
  for (const auto* spec : pipeline.of_kind(plugin_kind::sink)) out.push_back(spec->name);
  return out;
}

/// What each stage was doing, sources then scorers then sinks as the
/// coordinator holds them, should it not answer when a stop cannot drain: it
/// is busy in its plugin (a request waiting for a service's answer).
std::vector<std::string> busy_texts(const pipeline_spec& pipeline) {
  std::vector<std::string> out;
  using doing = std::pair<plugin_kind, const char*>;
  for (const auto& [kind, what] : {doing{plugin_kind::source, "reading or stopping"},
                                   doing{plugin_kind::scorer, "scoring"}, doing{plugin_kind::sink, "delivering"}})
    for (const auto* spec : pipeline.of_kind(kind))
      out.push_back(spec->describe() + " was still " + what + " (its plugin had not returned)");
  return out;
}

int run_graph(const pipeline_spec& pipeline, std::vector<stage>& stages, metrics_server* server) {
  caf::actor_system_config config;
  // An idle worker sleeps on a condition variable (woken by new work) and
  // checks for work to steal only this often: at the default 10 ms, two idle
  // workers kept 0.85 % of a core busy on an x86 server (more on a Pi).
  config.set("work-stealing.relaxed-sleep-duration", caf::timespan{std::chrono::seconds{1}});
  caf::actor_system system{config};
  caf::scoped_actor self{system};
  const auto& settings = pipeline.settings;
  auto coordinator = system.spawn(run_coordinator, settings.name, caf::actor{self}, settings.shutdown_timeout);
  caf::actor metrics;
  // The server's thread asks through `system`: it must stop before `system`
  // goes, however this function ends (an exception included).
  struct stop_serving {
    metrics_server* server;
    ~stop_serving() {
      if (server != nullptr) server->stop();
    }
  } serving{server};
  if (server != nullptr) {
    metrics = system.spawn(run_metrics, initial_metrics(pipeline));
    server->serve(ask_metrics(system, metrics));
    runtime_log().info("metrics on http://" + listen_address{settings.metrics->host, server->port()}.text() +
                       "/metrics, health on /healthz");
  }
  const stage_setup base{nullptr, coordinator, metrics, {settings.max_restarts, settings.restart_backoff}};
  const stage_actors spawned = spawn_stages(system, pipeline, stages, base);
  // The coordinator learns the graph before any source reads, so no
  // "finished" can reach it first.
  self->send(coordinator, spawned.sources, spawned.scorers, spawned.sinks, sink_names(pipeline), busy_texts(pipeline));
  for (auto& source : spawned.sources) self->send(source, read_atom::value);

  signal_watcher watcher{coordinator};
  int exit_code = 1;
  bool forced = false;
  self->receive([&](done_atom, int code, bool was_forced) {
    exit_code = code;
    forced = was_forced;
  });
  if (forced) {  // a stage is stuck in plugin code: the actor system could never join it
    std::fflush(stdout);
    std::fflush(stderr);
    _exit(exit_code);
  }
  if (server != nullptr) {
    // Stopped here as well as by `serving`: its handlers ask the metrics
    // actor, which must still be there, and that actor is told to exit next
    // so that the actor system can join it. (stop() twice is harmless.)
    server->stop();
    self->send_exit(metrics, caf::exit_reason::user_shutdown);
  }
  return exit_code;
}

} // namespace

int run_pipeline(const pipeline_spec& pipeline, std::vector<stage>& stages) {
  // Listening is the last check of the pipeline file: a port already in use
  // is reported at the metrics key, before anything starts.
  std::unique_ptr<metrics_server> server;
  if (const auto& address = pipeline.settings.metrics) {
    try {
      server = std::make_unique<metrics_server>(*address);
    } catch (const std::runtime_error& e) {
      diagnostics problems;
      problems.error(pipeline.settings.metrics_place, std::string("[pipeline] metrics: ") + e.what());
      throw metrics_unavailable(problems);
    }
    for (auto& st : stages) st.context->figures().enable();
  }
  runtime_log().info("pipeline '" + pipeline.settings.name + "' starting: " + std::to_string(stages.size()) +
                     " stages, time zone " + pipeline.settings.timezone);
  return run_graph(pipeline, stages, server.get());
}

void hold_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : watched_signals) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

} // namespace stream_smarts::runtime
