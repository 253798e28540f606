// Runs a validated pipeline as a graph of CAF actors:
//
//   source actor --reading_batch--> scorer actor --scored_batch--> sink actor
//        ^                                                             |
//        +---------------- released(seq), handled(seq) ----------------+
//
// A source has at most max_in_flight batches not yet released (taken into
// every sink's outbox), so a slow sink slows the source and no queue grows
// without bound; a durable source commits a batch once every sink has
// handled it (delivered or given up all it gave them).
#pragma once

#include "pipeline_file.hpp"
#include "stage.hpp"

#include <vector>

namespace stream_smarts::runtime {

/// Runs until every source is drained, SIGINT/SIGTERM has been handled (the
/// sources stop, in-flight readings drain, sinks flush), or a stage keeps
/// failing. Returns the exit code: 0 when drained or stopped cleanly, 1 when a
/// stage failed for good or the stop did not finish within shutdown_timeout.
/// `stages` must outlive the call (the actors use them). With [pipeline]
/// metrics it serves /metrics and /healthz meanwhile; throws
/// metrics_unavailable (at the metrics key) if it cannot listen there.
/// hold_stop_signals() must have been called.
int run_pipeline(const pipeline_spec& pipeline, std::vector<stage>& stages);

/// The metrics port is taken (or not ours to take): said at the key, like a
/// problem of the file, but not one: worth starting again (exit 1), where a
/// service manager gives up on a file that cannot work (exit 2).
class metrics_unavailable : public config_error {
public:
  using config_error::config_error;
};

/// Holds SIGINT, SIGTERM and SIGHUP (and SIGUSR1, which ends the watcher
/// of the others) for run_pipeline to take: call first
/// thing, before any thread starts (threads inherit it). Never released: a
/// signal while the pipeline file is read is taken once the pipeline runs,
/// and one after it has finished changes nothing about how it ended (the
/// default action would end the process as killed, not with its exit code).
void hold_stop_signals();

} // namespace stream_smarts::runtime
