// Runs a validated pipeline as a graph of CAF actors:
//
//   source actor --reading_batch--> scorer actor --scored_batch--> sink actor
//        ^                                                             |
//        +------------------------- handled(seq) ---------------------+
//
// A source has at most max_in_flight batches unacknowledged, so a slow sink
// slows the source and no queue grows without bound; a batch is acknowledged
// (and a durable source may commit it) once every sink downstream is done.
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
/// metrics it serves /metrics and /healthz meanwhile; throws config_error
/// (at the metrics key) if it cannot listen there.
int run_pipeline(const pipeline_spec& pipeline, std::vector<stage>& stages);

} // namespace stream_smarts::runtime
