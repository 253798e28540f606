// The metrics endpoint's HTTP server on its own, in process, on 127.0.0.1:
// what it answers, and that clients which connect and then send slowly or
// nothing hold neither a scrape, nor more than a few of the process's files,
// nor stop(). Every wait and loop is bounded.
#include "http_client.hpp"
#include "metrics_server.hpp"
#include "process.hpp"

#include <catch2/catch.hpp>

#include <dirent.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace stream_smarts::runtime;
using namespace test_support;
using namespace std::chrono_literals;

namespace {

/// A server on a free port of 127.0.0.1 answering with `figures`.
struct serving {
  metrics_server server{listen_address{"127.0.0.1", 0}};
  explicit serving(std::optional<pipeline_metrics> figures = pipeline_metrics{"home", {}}) {
    server.serve([figures] { return figures; });
  }
  int port() const { return server.port(); }
};

std::size_t open_files() {
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d) != nullptr) ++n;
    ::closedir(d);
  }
  return n;
}

/// Sends GET /healthz on a connected socket, as it is: no client library.
void send_healthz(int fd) {
  const std::string request = "GET /healthz HTTP/1.1\r\n\r\n";
  REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()));
}

/// The first bytes of the answer on `fd` (its status line and more), or "".
std::string answer_start(int fd) {
  char answer[64] = {};
  return ::recv(fd, answer, sizeof answer - 1, MSG_WAITALL) > 0 ? std::string(answer) : std::string();
}

/// Clients that have sent the start of a request and then one more byte of
/// it every 100 ms, each on its own socket, until told to finish (30 s at
/// most). How many of them the server closed is known once they finish.
class tricklers {
public:
  tricklers(int port, int count) {
    for (int i = 0; i < count; ++i) sockets_.push_back(connect_local(port));
    thread_ = std::thread([this] { trickle(); });
  }
  ~tricklers() {
    finish();
    for (int fd : sockets_) ::close(fd);
  }
  int sent() const { return sent_; }
  /// Stops sending; the number of sockets the server has closed.
  int finish() {
    finish_ = true;
    if (thread_.joinable()) thread_.join();
    return closed_;
  }

private:
  void trickle() {
    for (int fd : sockets_) ::send(fd, "GET /metrics HTTP/1.1\r\n", 23, MSG_NOSIGNAL);
    for (int step = 0; step < 300 && !finish_; ++step, std::this_thread::sleep_for(100ms)) {
      closed_ = 0;
      for (int fd : sockets_) closed_ += ::send(fd, "X", 1, MSG_NOSIGNAL) != 1;
      ++sent_;
    }
  }
  std::vector<int> sockets_;
  std::thread thread_;
  std::atomic<bool> finish_{false};
  std::atomic<int> sent_{0}, closed_{0};
};

} // namespace

TEST_CASE("metrics server: GET and HEAD of /metrics and /healthz, and what else is asked") {
  serving s;
  const auto metrics = http_request(s.port(), "GET", "/metrics?name=x");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(metrics->head.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8") != std::string::npos);
  CHECK(metrics->body.find("# TYPE stream_smarts_readings_total counter\n") != std::string::npos);
  const auto head = http_request(s.port(), "HEAD", "/metrics");
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->head.find("\r\nContent-Length: " + std::to_string(metrics->body.size())) != std::string::npos);
  CHECK(head->body.empty());
  const auto health = http_request(s.port(), "GET", "/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(health->body == "ok\n");

  const auto posted = http_request(s.port(), "POST", "/metrics");
  REQUIRE(posted);
  CHECK(posted->status == 405);
  CHECK(posted->head.find("\r\nAllow: GET, HEAD") != std::string::npos);
  CHECK(posted->body == "method not allowed: GET /metrics\n");
  CHECK(http_request(s.port(), "GET", "/")->body == "not found: GET /metrics or /healthz\n");
  CHECK(http_request(s.port(), "GET", "/")->status == 404);
  const auto large = http_request(s.port(), "PUT", "/metrics", 1025);
  REQUIRE(large);
  CHECK(large->status == 413);
  CHECK(large->body == "request body too large: GET /metrics or /healthz take none\n");
  // A small body is left unread, and does not cost the client its answer.
  CHECK(http_exchange(s.port(), "GET /healthz HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")->body == "ok\n");
  // Bare LF line ends, as some hand-written clients send; the head ends at
  // its first empty line, whatever the body holds.
  CHECK(http_exchange(s.port(), "GET /healthz HTTP/1.0\n\n")->status == 200);
  CHECK(http_exchange(s.port(), "GET /healthz HTTP/1.1\nContent-Length: 30\n\nContent-Length: 5000\r\n\r\n")
            ->status == 200);
  // A proxy's absolute form, and an empty line before the request line (RFC 9112).
  CHECK(http_exchange(s.port(), "GET http://127.0.0.1:9464/healthz HTTP/1.1\r\n\r\n")->body == "ok\n");
  CHECK(http_exchange(s.port(), "\r\nGET /healthz HTTP/1.1\r\n\r\n")->body == "ok\n");

  CHECK(http_exchange(s.port(), "hello\r\n\r\n")->body == "bad request: GET /metrics or /healthz over HTTP/1.x\n");
  CHECK(http_exchange(s.port(), "GET /metrics HTTP/2\r\n\r\n")->status == 400);
  CHECK(http_exchange(s.port(), "GET /metrics HTTP/1.1\r\nContent-Length: -1\r\n\r\n")->status == 400);
  const auto endless = http_exchange(s.port(), "GET /metrics HTTP/1.1\r\nX: " + std::string(9000, 'x'));
  REQUIRE(endless);
  CHECK(endless->status == 431);
  CHECK(endless->body == "request head too large\n");
  // Too large however it arrives: whole, in one read.
  CHECK(http_exchange(s.port(), "GET /metrics HTTP/1.1\r\nX: " + std::string(9000, 'x') + "\r\n\r\n")->status ==
        431);
}

TEST_CASE("metrics server: 503 when the pipeline does not answer") {
  serving s(std::nullopt);
  const auto metrics = http_request(s.port(), "GET", "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 503);
  CHECK(metrics->body == "metrics unavailable: the pipeline did not answer in time\n");
  const auto health = http_request(s.port(), "GET", "/healthz");
  REQUIRE(health);
  CHECK(health->status == 503);
  CHECK(health->body == "pipeline: not answering\n");
}

TEST_CASE("metrics server: a port in use is said, with the address") {
  serving s;
  const auto taken = "127.0.0.1:" + std::to_string(s.port());
  const auto listen_again = [&] { metrics_server again(listen_address{"127.0.0.1", s.port()}); };
  CHECK_THROWS_WITH(listen_again(), "cannot listen on " + taken + ": Address already in use");
}

TEST_CASE("metrics server: clients sending one byte at a time hold no scrape, and are dropped") {
  serving s;
  // Eight of them: with cpp-httplib's thread per connection, two held both
  // threads for as long as they kept sending.
  tricklers slow(s.port(), 8);
  REQUIRE(eventually([&] { return slow.sent() >= 3; }, 5s));
  const auto metrics = http_request(s.port(), "GET", "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  // Each had 2 s to send its request: they are closed while still sending.
  CHECK(eventually([&] { return slow.sent() >= 40; }, 20s));
  CHECK(slow.finish() == 8);
}

TEST_CASE("metrics server: clients that send nothing take at most 16 of the process's files") {
  serving s;
  const auto before = open_files();
  std::vector<int> idle;
  for (int i = 0; i < 40; ++i) idle.push_back(connect_local(s.port()));
  // 40 of ours and the server's 16: the rest wait in the kernel's queue
  // (cpp-httplib accepted all 40 at once, for its threads to take in turn).
  CHECK(eventually([&] { return open_files() >= before + 40 + 16; }, 2s));
  CHECK(open_files() == before + 40 + 16);
  for (int fd : idle) ::close(fd);
  const auto metrics = http_request(s.port(), "GET", "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
}

TEST_CASE("metrics server: stop() does not wait for a client that keeps sending") {
  std::optional<serving> s(std::in_place);
  tricklers slow(s->port(), 1);
  REQUIRE(eventually([&] { return slow.sent() >= 3; }, 5s));
  s.reset();  // stops, closing the connection at once
  const int sent_when_stopped = slow.sent();
  CHECK(eventually([&] { return slow.sent() >= sent_when_stopped + 2; }, 5s));
  CHECK(slow.finish() == 1);
}

TEST_CASE("metrics server: out of files, it waits for them rather than spinning") {
  serving s;
  rlimit files{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &files) == 0);
  // Room for a few clients of ours, none for the server to accept them.
  rlimit few = files;
  few.rlim_cur = open_files() + 4;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &few) == 0);
  std::vector<int> waiting;
  for (int fd; waiting.size() < 16 && (fd = connect_local(s.port())) >= 0;) waiting.push_back(fd);
  rusage before{}, after{};
  ::getrusage(RUSAGE_SELF, &before);
  std::this_thread::sleep_for(1s);  // a window to measure in, not a wait for anything
  ::getrusage(RUSAGE_SELF, &after);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &files) == 0);
  const auto cpu_us = [](const rusage& u) {
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000000L + u.ru_utime.tv_usec + u.ru_stime.tv_usec;
  };
  REQUIRE_FALSE(waiting.empty());
  CHECK(cpu_us(after) - cpu_us(before) < 300000);  // a thread polling a listener it cannot accept from: a whole second
  // Files again: the clients that waited are answered.
  send_healthz(waiting.front());
  CHECK(answer_start(waiting.front()).rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  for (int fd : waiting) ::close(fd);
}

TEST_CASE("metrics server: a request sent in time is answered while another's query holds the thread") {
  // The first query takes 2.5 s, past every connection's 2 s.
  std::atomic<int> asked{0};
  metrics_server server(listen_address{"127.0.0.1", 0});
  server.serve([&]() -> std::optional<pipeline_metrics> {
    if (asked++ == 0) std::this_thread::sleep_for(2500ms);  // a pipeline slow to answer, on purpose
    return pipeline_metrics{"home", {}};
  });
  // Both held by the server before the query begins, the slow one first:
  // the other's request arrives while the thread is held, and is read after.
  const auto before = open_files();
  const int slow = connect_local(server.port()), waiting = connect_local(server.port());
  REQUIRE(slow >= 0);
  REQUIRE(waiting >= 0);
  REQUIRE(eventually([&] { return open_files() == before + 4; }, 5s));
  send_healthz(slow);
  REQUIRE(eventually([&] { return asked.load() == 1; }, 5s));
  send_healthz(waiting);
  for (int fd : {slow, waiting}) {
    CHECK(answer_start(fd).rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    ::close(fd);
  }
}

TEST_CASE("metrics server: a client that goes on sending after its answer is closed on") {
  serving s;
  const int fd = connect_local(s.port());
  REQUIRE(fd >= 0);
  send_healthz(fd);
  // 64 KiB of it are read and dropped, then the connection is closed and a
  // send fails: after what the sockets' buffers hold, not after all a
  // client can send in its 2 s (gigabytes on loopback, read at a core's cost).
  const std::string more(16 * 1024, 'x');
  std::size_t sent = 0;
  for (ssize_t n = 0; sent < (std::size_t{64} << 20) && n >= 0; sent += static_cast<std::size_t>(std::max<ssize_t>(n, 0)))
    n = ::send(fd, more.data(), more.size(), MSG_NOSIGNAL);
  CHECK(sent < (std::size_t{64} << 20));
  ::close(fd);
}
