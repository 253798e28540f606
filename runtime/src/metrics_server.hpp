// The metrics endpoint's HTTP server: GET /metrics (Prometheus text) and GET
// /healthz. The only HTTP code of the runtime: one thread, a few connections
// at a time, each with a deadline (docs/architecture.md says why it is not
// a library's). What it serves comes from a query function, so it knows
// nothing of actors.
#pragma once

#include "metrics.hpp"

#include <functional>
#include <memory>
#include <optional>

namespace stream_smarts::runtime {

class metrics_server {
public:
  /// The latest figures, or nothing if they could not be had in time.
  using query = std::function<std::optional<pipeline_metrics>()>;

  /// Listens on `address` at once (nothing is served before serve()).
  /// Throws std::runtime_error saying why it cannot ("address already in use").
  explicit metrics_server(const listen_address& address);
  ~metrics_server();  ///< stops
  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;

  /// The port listened on: the free one chosen for port 0.
  int port() const;
  /// Serves requests on a thread of its own until stop().
  void serve(query ask);
  /// Stops serving and waits for the server's threads; idempotent.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace stream_smarts::runtime
