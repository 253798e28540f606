#include "metrics_server.hpp"

#include <httplib.h>

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <stdexcept>
#include <thread>

namespace stream_smarts::runtime {

namespace {
// Scrapes are rare and small: two threads serve them, instead of
// cpp-httplib's default of eight, and each connection ends with its answer:
// an idle keep-alive connection would have a thread polling it every 10 ms.
constexpr std::size_t server_threads = 2;
constexpr std::chrono::seconds io_timeout{2};  // a client that sends or reads nothing holds a thread this long
constexpr const char* prometheus_type = "text/plain; version=0.0.4; charset=utf-8";
} // namespace

struct metrics_server::impl {
  httplib::Server server;
  int port = 0;
  query ask;
  std::thread thread;
  // cpp-httplib's stop() does nothing before the server runs, so stop()
  // first waits for this: set when the listening thread has made its task
  // queue, which it does right after it starts running.
  std::promise<void> running;
  std::future<void> started = running.get_future();
};

metrics_server::metrics_server(const listen_address& address) : impl_(std::make_unique<impl>()) {
  auto& server = impl_->server;
  server.new_task_queue = [this] {
    impl_->running.set_value();
    return new httplib::ThreadPool(server_threads);
  };
  // SO_REUSEADDR lets a restarted service listen again at once; unlike
  // cpp-httplib's default, no SO_REUSEPORT: a second process on the same
  // port must be an error, not a silent share.
  server.set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // GET only: a request body is never read into memory past this (a 400 MB
  // POST to /metrics was, whole: cpp-httplib has no limit of its own).
  server.set_payload_max_length(1024);
  server.set_keep_alive_max_count(1);
  server.set_keep_alive_timeout(io_timeout.count());  // the wait for a request's first byte: 5 s by default
  server.set_read_timeout(io_timeout);
  server.set_write_timeout(io_timeout);
  errno = 0;
  if (address.port == 0) {
    impl_->port = server.bind_to_any_port(address.host);
  } else {
    impl_->port = server.bind_to_port(address.host, address.port) ? address.port : -1;
  }
  if (impl_->port < 0) {
    const int err = errno;
    throw std::runtime_error("cannot listen on " + address.text() +
                             (err != 0 ? std::string(": ") + std::strerror(err) : std::string()));
  }
}

metrics_server::~metrics_server() { stop(); }

int metrics_server::port() const { return impl_->port; }

void metrics_server::serve(query ask) {
  impl_->ask = std::move(ask);
  auto& server = impl_->server;
  server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    const auto m = impl_->ask();
    if (!m) {
      res.status = 503;
      res.set_content("metrics unavailable: the pipeline did not answer in time\n", "text/plain");
      return;
    }
    res.set_content(render_prometheus(*m), prometheus_type);
  });
  server.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    const auto m = impl_->ask();
    const std::string failing = m ? failing_stages(*m) : "pipeline: not answering\n";
    res.status = failing.empty() ? 200 : 503;
    res.set_content(failing.empty() ? "ok\n" : failing, "text/plain; charset=utf-8");
  });
  server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status != 404) return;
    // Another method on a path that is there: 405, saying which one is (RFC 9110).
    if (req.path == "/metrics" || req.path == "/healthz") {
      res.status = 405;
      res.set_header("Allow", "GET, HEAD");
      res.set_content("method not allowed: GET " + req.path + "\n", "text/plain");
      return;
    }
    res.set_content("not found: GET /metrics or /healthz\n", "text/plain");
  });
  impl_->thread = std::thread([this] {
    impl_->server.listen_after_bind();
    try {
      impl_->running.set_value();  // if it ended before it ran
    } catch (const std::future_error&) {
    }
  });
}

void metrics_server::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->started.wait();
  impl_->server.stop();
  impl_->thread.join();
}

} // namespace stream_smarts::runtime
