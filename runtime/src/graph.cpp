#include "graph.hpp"

#include "zone.hpp"

#include <caf/all.hpp>

#include <csignal>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <pthread.h>
#include <thread>
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

namespace stream_smarts::runtime {
namespace {

using read_atom = caf::atom_constant<caf::atom("read")>;
using handled_atom = caf::atom_constant<caf::atom("handled")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using finished_atom = caf::atom_constant<caf::atom("finished")>;
using failed_atom = caf::atom_constant<caf::atom("failed")>;
using close_atom = caf::atom_constant<caf::atom("close")>;
using closed_atom = caf::atom_constant<caf::atom("closed")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;

std::string ms_text(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

/// What every stage actor has: its plugin instance under a restart policy.
struct supervised_state {
  stage* st = nullptr;
  caf::actor coordinator;
  restart_policy restarts{0, std::chrono::milliseconds{0}};
  bool started = false;  ///< start() ran on the current instance
  bool paused = false;   ///< waiting to restart after a failure
  bool dead = false;     ///< gave up: the pipeline is stopping

  void start_instance() {
    if (!st->as_source && !st->as_scorer && !st->as_sink) st->recreate();
    if (started) return;
    if (st->as_source) st->as_source->start();
    if (st->as_sink) st->as_sink->start();
    started = true;
  }
};

/// Runs `work` on the stage; on an exception, logs it with the stage name,
/// drops the instance and asks for a retry_atom after the backoff (or tells
/// the coordinator the stage is failing for good). True if the work succeeded.
template <class Self, class Work>
bool supervised(Self* self, Work&& work) {
  supervised_state& s = self->state;
  if (s.paused || s.dead) return false;
  try {
    s.start_instance();
    work();
    s.restarts.succeeded();
    return true;
  } catch (const std::exception& e) {
    const std::string what = e.what();
    logger& log = s.st->context->log();
    s.started = false;
    try {
      s.st->destroy();
    } catch (...) {  // a throwing destructor must not take the supervisor down with it
    }
    if (auto delay = s.restarts.failed()) {
      log.error("failed: " + what + "; restarting in " + ms_text(*delay) + " (failure " +
                std::to_string(s.restarts.failures_in_a_row()) + " of at most " +
                std::to_string(s.restarts.max_restarts()) + " in a row)");
      s.paused = true;
      self->delayed_send(self, *delay, retry_atom::value);
    } else {
      log.error("failed " + std::to_string(s.restarts.failures_in_a_row()) + " times in a row, giving up: " + what);
      s.dead = true;
      self->send(s.coordinator, failed_atom::value, s.st->spec->name, what);
    }
    return false;
  }
}

// ---------------------------------------------------------------- source

struct source_state : supervised_state {
  std::vector<caf::actor> scorers;
  std::size_t acks_per_batch = 0;   ///< sink deliveries each batch makes
  std::size_t batch_size = 0;
  std::size_t max_in_flight = 0;
  struct batch_in_flight {
    std::uint64_t seq;
    std::size_t acks_due;
    std::uint64_t instance;  ///< which plugin instance read it
  };
  std::deque<batch_in_flight> in_flight;
  std::uint64_t next_seq = 0;
  std::uint64_t readings = 0;
  bool drained = false;        ///< the plugin said finished
  bool stopping = false;       ///< asked to stop: read no more
  bool read_scheduled = false;
  bool reported = false;
};
using source_actor = caf::stateful_actor<source_state>;

void maybe_report_finished(source_actor* self) {
  auto& s = self->state;
  if (s.reported || !(s.drained || s.stopping || s.dead) || !s.in_flight.empty()) return;
  s.reported = true;
  if (s.st->as_source && s.started) {
    try {
      s.st->as_source->stop();
    } catch (const std::exception& e) {
      s.st->context->log().error(std::string("stop failed: ") + e.what());
    }
  }
  self->send(s.coordinator, finished_atom::value, s.st->spec->name, s.readings);
}

void schedule_read(source_actor* self, std::chrono::milliseconds delay = {}) {
  auto& s = self->state;
  if (s.read_scheduled) return;
  s.read_scheduled = true;
  if (delay.count() > 0) self->delayed_send(self, delay, read_atom::value);
  else self->send(self, read_atom::value);
}

void read_batch(source_actor* self) {
  auto& s = self->state;
  if (s.drained || s.stopping || s.in_flight.size() >= s.max_in_flight) return;
  auto out = std::make_shared<std::vector<reading>>();
  out->reserve(s.batch_size);
  read_result result;
  if (!supervised(self, [&] { result = s.st->as_source->read(*out, s.batch_size); })) return;
  const bool got_readings = !out->empty();
  if (got_readings) {
    const time_zone& zone = s.st->context->zone();
    for (auto& r : *out) localize(r, zone);
    const batch_origin origin{caf::actor_cast<caf::actor>(self), s.next_seq};
    s.in_flight.push_back({s.next_seq++, s.acks_per_batch, s.st->instance});
    s.readings += out->size();
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

void acknowledge(source_actor* self, std::uint64_t seq) {
  auto& s = self->state;
  for (auto& b : s.in_flight)
    if (b.seq == seq && b.acks_due > 0) --b.acks_due;
  // commit(n) speaks of batches the current instance returned from read();
  // those of an instance replaced after a failure are only retired.
  std::size_t done = 0;
  while (!s.in_flight.empty() && s.in_flight.front().acks_due == 0) {
    done += s.in_flight.front().instance == s.st->instance;
    s.in_flight.pop_front();
  }
  if (done > 0 && s.st->as_source) supervised(self, [&] { s.st->as_source->commit(done); });
  schedule_read(self);
  maybe_report_finished(self);
}

/// The stage, its coordinator and its restart policy, as every stage actor gets them.
struct stage_setup {
  stage* st;
  caf::actor coordinator;
  restart_policy restarts;
};

void init(supervised_state& s, const stage_setup& setup) {
  s.st = setup.st;
  s.coordinator = setup.coordinator;
  s.restarts = setup.restarts;
}

/// Sources wait for the first read_atom, sent once the whole graph exists.
caf::behavior run_source(source_actor* self, stage_setup setup, std::vector<caf::actor> scorers,
                         std::size_t acks_per_batch, std::size_t batch_size, std::size_t max_in_flight) {
  init(self->state, setup);
  auto& s = self->state;
  s.scorers = std::move(scorers);
  s.acks_per_batch = acks_per_batch;
  s.batch_size = batch_size;
  s.max_in_flight = max_in_flight;
  s.read_scheduled = true;
  return {
      [=](read_atom) {
        self->state.read_scheduled = false;
        read_batch(self);
      },
      [=](handled_atom, std::uint64_t seq) { acknowledge(self, seq); },
      [=](retry_atom) {
        self->state.paused = false;
        schedule_read(self);
      },
      [=](stop_atom) {
        self->state.stopping = true;
        maybe_report_finished(self);
      },
  };
}

// ---------------------------------------------------------------- scorer

struct scorer_state : supervised_state {
  std::vector<caf::actor> sinks;
  std::deque<reading_batch> queue;  ///< bounded by the sources' in-flight credit
};
using scorer_actor = caf::stateful_actor<scorer_state>;

void score_batch(scorer_actor* self, const reading_batch& in) {
  auto& s = self->state;
  auto out = std::make_shared<std::vector<scored_reading>>();
  out->reserve(in.readings->size());
  scorer& instance = *s.st->as_scorer;
  for (const auto& r : *in.readings) {
    const score_result verdict = instance.score(r);
    out->push_back(scored_reading{r, verdict.score, verdict.expected_lo, verdict.expected_hi, s.st->spec->name});
  }
  scored_batch batch{in.origin, std::move(out)};
  for (const auto& sink : s.sinks) self->send(sink, batch);
}

template <class Self, class Process>
void drain_queue(Self* self, Process process) {
  auto& s = self->state;
  while (!s.queue.empty() && supervised(self, [&] { process(self, s.queue.front()); })) s.queue.pop_front();
}

caf::behavior run_scorer(scorer_actor* self, stage_setup setup, std::vector<caf::actor> sinks) {
  init(self->state, setup);
  self->state.sinks = std::move(sinks);
  return {
      [=](const reading_batch& batch) {
        self->state.queue.push_back(batch);
        drain_queue(self, score_batch);
      },
      [=](retry_atom) {
        self->state.paused = false;
        drain_queue(self, score_batch);
      },
  };
}

// ---------------------------------------------------------------- sink

struct sink_state : supervised_state {
  double threshold = 0;  // set from [pipeline] alert_threshold
  bool receive_all = false;
  std::deque<scored_batch> queue;
  std::uint64_t alerts = 0;
};
using sink_actor = caf::stateful_actor<sink_state>;

void deliver_batch(sink_actor* self, const scored_batch& in) {
  auto& s = self->state;
  sink& instance = *s.st->as_sink;
  std::uint64_t alerts = 0;
  for (const auto& scored : *in.readings) {
    const bool unusual = scored.score > s.threshold;
    if (!unusual && !s.receive_all) continue;
    alerts += unusual;
    instance.write(alert{scored, unusual ? alert_kind::raised : alert_kind::none, s.threshold});
  }
  instance.flush();
  s.alerts += alerts;  // counted once delivered, so a retried batch is not counted twice
  self->send(in.origin.source, handled_atom::value, in.origin.seq);
}

void close_sink(sink_actor* self) {
  auto& s = self->state;
  if (!s.dead && s.started && s.st->as_sink) {
    try {
      s.st->as_sink->stop();
    } catch (const std::exception& e) {
      s.st->context->log().error(std::string("stop failed: ") + e.what());
    }
  }
  self->send(s.coordinator, closed_atom::value, s.st->spec->name, s.alerts);
}

caf::behavior run_sink(sink_actor* self, stage_setup setup, double threshold, bool receive_all) {
  init(self->state, setup);
  self->state.threshold = threshold;
  self->state.receive_all = receive_all;
  return {
      [=](const scored_batch& batch) {
        self->state.queue.push_back(batch);
        drain_queue(self, deliver_batch);
      },
      [=](retry_atom) {
        self->state.paused = false;
        drain_queue(self, deliver_batch);
      },
      [=](close_atom) { close_sink(self); },
  };
}

// ---------------------------------------------------------------- coordinator

struct coordinator_state {
  std::string pipeline;
  std::vector<caf::actor> sources, scorers, sinks;
  caf::actor main;
  std::size_t sources_running = 0;
  std::size_t sinks_open = 0;
  std::uint64_t readings = 0, alerts = 0;
  std::chrono::milliseconds shutdown_timeout{0};
  int exit_code = 0;
  bool stopping = false, closing = false;
};
using coordinator_actor = caf::stateful_actor<coordinator_state>;

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
          const std::vector<caf::actor>& sinks) {
        auto& s = self->state;
        s.sources = sources;
        s.scorers = scorers;
        s.sinks = sinks;
        s.sources_running = sources.size();
      },
      [=](finished_atom, const std::string&, std::uint64_t readings) {
        auto& s = self->state;
        s.readings += readings;
        if (--s.sources_running == 0) close_sinks(self);
      },
      [=](closed_atom, const std::string&, std::uint64_t alerts) {
        auto& s = self->state;
        s.alerts += alerts;
        if (--s.sinks_open > 0) return;
        runtime_log().info("pipeline '" + s.pipeline + "' finished: " + std::to_string(s.readings) + " readings, " +
                           std::to_string(s.alerts) + " alerts delivered");
        finish(self, false);
      },
      [=](stop_atom) { begin_stop(self, "stop requested"); },
      [=](failed_atom, const std::string& stage, const std::string& error) {
        auto& s = self->state;
        s.exit_code = 1;
        runtime_log().error("stage '" + stage + "' keeps failing (" + error + "); stopping the pipeline");
        begin_stop(self, "stage failed");
        close_sinks(self);  // no draining: a failed stage will never acknowledge
      },
      [=](timeout_atom) {
        auto& s = self->state;
        runtime_log().error("the pipeline did not stop within shutdown_timeout (" + ms_text(s.shutdown_timeout) +
                            "); exiting without draining");
        s.exit_code = 1;
        finish(self, true);
      },
  };
}

// ---------------------------------------------------------------- wiring

/// SIGINT/SIGTERM are blocked in every thread and taken by one thread with
/// sigwait, so handling them is ordinary code (a message to the coordinator),
/// not an async-signal handler. SIGUSR1 tells that thread to end.
class signal_watcher {
public:
  explicit signal_watcher(caf::actor coordinator) {
    sigemptyset(&set_);
    for (int sig : {SIGINT, SIGTERM, SIGUSR1}) sigaddset(&set_, sig);
    thread_ = std::thread([this, coordinator] { watch(coordinator); });
  }
  ~signal_watcher() {
    pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
  }
  /// Call before any other thread starts, so they all inherit the mask.
  static void block_signals(sigset_t* previous) {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGINT, SIGTERM, SIGUSR1}) sigaddset(&set, sig);
    pthread_sigmask(SIG_BLOCK, &set, previous);
  }

private:
  void watch(const caf::actor& coordinator) {
    int stops = 0;
    for (;;) {
      int sig = 0;
      if (sigwait(&set_, &sig) != 0 || sig == SIGUSR1) return;
      if (++stops == 1) {
        caf::anon_send(coordinator, stop_atom::value);
      } else {
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

int run_graph(const pipeline_spec& pipeline, std::vector<stage>& stages) {
  caf::actor_system_config config;
  caf::actor_system system{config};
  caf::scoped_actor self{system};
  const auto& settings = pipeline.settings;
  auto coordinator = system.spawn(run_coordinator, settings.name, caf::actor{self}, settings.shutdown_timeout);
  const stage_setup base{nullptr, coordinator, {settings.max_restarts, settings.restart_backoff}};
  auto setup_for = [&](stage& st) {
    stage_setup s = base;
    s.st = &st;
    return s;
  };

  // Spawned downstream first, so each stage knows the actors it feeds.
  // Sinks and sources may block in plugin code (I/O) and get threads of their
  // own; scorers are pure computation and share the scheduler's threads.
  std::map<std::string, caf::actor> actors;
  std::vector<caf::actor> sources, scorers, sinks;
  for (auto& st : stages)
    if (st.spec->kind == plugin_kind::sink)
      sinks.push_back(actors[st.spec->name] = system.spawn<caf::detached>(
                          run_sink, setup_for(st), settings.alert_threshold, st.spec->receive_all));
  for (auto& st : stages)
    if (st.spec->kind == plugin_kind::scorer)
      scorers.push_back(actors[st.spec->name] = system.spawn(
                            run_scorer, setup_for(st), actors_of(pipeline.consumers_of(st.spec->name), actors)));
  for (auto& st : stages)
    if (st.spec->kind == plugin_kind::source)
      sources.push_back(actors[st.spec->name] = system.spawn<caf::detached>(
                            run_source, setup_for(st), actors_of(pipeline.consumers_of(st.spec->name), actors),
                            sinks_downstream(pipeline, *st.spec), settings.batch_size, settings.max_in_flight));
  // The coordinator learns the graph before any source reads, so no
  // "finished" can reach it first.
  self->send(coordinator, sources, scorers, sinks);
  for (auto& source : sources) self->send(source, read_atom::value);

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
  return exit_code;
}

} // namespace

int run_pipeline(const pipeline_spec& pipeline, std::vector<stage>& stages) {
  sigset_t previous;
  signal_watcher::block_signals(&previous);
  const int code = run_graph(pipeline, stages);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return code;
}

} // namespace stream_smarts::runtime
