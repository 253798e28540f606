#include "metrics_server.hpp"

#include "log.hpp"

#include <stream_smarts/reading.hpp>

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <list>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace stream_smarts::runtime {

namespace {
using steady = std::chrono::steady_clock;

// Scrapes are rare and small and come from one or two collectors, so one
// thread serves them all, polling. Whatever connects, the process holds at
// most this many of their sockets (the sinks and Kafka need its files; more
// wait in the kernel's queue), and each gets `exchange_time` to send its
// request and again to take the answer: a client that sends one byte a
// second is dropped like one that sends none.
constexpr std::size_t max_connections = 16;
constexpr auto exchange_time = std::chrono::seconds{2};
constexpr std::size_t max_head = 8 * 1024;
constexpr std::size_t max_body = 1024;  // bodies are never read; a larger one is refused
constexpr std::size_t max_drained = 64 * 1024;  // what a client may still send after its answer
constexpr const char* prometheus_type = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* plain_type = "text/plain; charset=utf-8";

struct answer {
  int status = 200;
  std::string body;
  const char* content_type = plain_type;
  const char* allow = nullptr;  ///< the methods a 405 says are allowed
};

struct request {
  std::string method, path;
  std::size_t body_length = 0;
};

const char* reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 400: return "Bad Request";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 413: return "Content Too Large";
  case 431: return "Request Header Fields Too Large";
  default: return "Service Unavailable";
  }
}

/// The lines of a request head (CRLF or LF), without their ends.
std::vector<std::string_view> head_lines(std::string_view head) {
  std::vector<std::string_view> lines;
  for (std::size_t end; (end = head.find('\n')) != std::string_view::npos; head.remove_prefix(end + 1)) {
    auto line = head.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
  }
  return lines;
}

/// "GET /metrics?x HTTP/1.1" and its headers; nothing if it is not HTTP/1.x.
std::optional<request> parse_request(std::string_view head) {
  const auto lines = head_lines(head);
  const auto first = lines.empty() ? std::string_view() : lines.front();
  const auto space1 = first.find(' '), space2 = first.rfind(' ');
  if (space1 == std::string_view::npos || space1 == space2 || first.substr(space2 + 1).rfind("HTTP/1.", 0) != 0)
    return std::nullopt;
  request r{std::string(first.substr(0, space1)), std::string(first.substr(space1 + 1, space2 - space1 - 1))};
  // The absolute form ("http://host:port/metrics", as a proxy sends it) names the same resource.
  if (const auto scheme = r.path.find("://"); r.path.rfind('/', 0) != 0 && scheme != std::string::npos) {
    const auto slash = r.path.find('/', scheme + 3);
    r.path = slash == std::string::npos ? "/" : r.path.substr(slash);
  }
  r.path = r.path.substr(0, r.path.find('?'));
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto colon = lines[i].find(':');
    if (colon == std::string_view::npos || !detail::equal_ignoring_case(lines[i].substr(0, colon), "Content-Length")) continue;
    const std::string value(lines[i].substr(colon + 1));
    char* end = nullptr;
    errno = 0;
    const auto length = std::strtoull(value.c_str(), &end, 10);
    if (value.find('-') != std::string::npos || errno != 0 || end == value.c_str() ||
        value.find_first_not_of(" \t", static_cast<std::size_t>(end - value.c_str())) != std::string::npos)
      return std::nullopt;
    r.body_length = static_cast<std::size_t>(length);
  }
  return r;
}

answer route(const request& r, const metrics_server::query& ask) {
  if (r.body_length > max_body) return {413, "request body too large: GET /metrics or /healthz take none\n"};
  if (r.path != "/metrics" && r.path != "/healthz") return {404, "not found: GET /metrics or /healthz\n"};
  // Another method on a path that is there: 405, saying which one is (RFC 9110).
  if (r.method != "GET" && r.method != "HEAD")
    return {405, "method not allowed: GET " + r.path + "\n", plain_type, "GET, HEAD"};
  std::optional<pipeline_metrics> m;
  try {
    m = ask();
  } catch (const std::exception&) {  // out of memory: as if the pipeline had not answered
  }
  if (r.path == "/metrics") {
    if (!m) return {503, "metrics unavailable: the pipeline did not answer in time\n"};
    return {200, render_prometheus(*m), prometheus_type};
  }
  const std::string failing = m ? failing_stages(*m) : "pipeline: not answering\n";
  return failing.empty() ? answer{200, "ok\n"} : answer{503, failing};
}

/// The whole answer; HEAD's without its body. Every connection ends with
/// its answer: scrapes are seconds apart.
std::string render(const answer& a, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(a.status) + " " + reason(a.status) +
                    "\r\nContent-Type: " + a.content_type + "\r\nContent-Length: " + std::to_string(a.body.size()) +
                    "\r\nConnection: close\r\n";
  if (a.allow != nullptr) out += std::string("Allow: ") + a.allow + "\r\n";
  out += "\r\n";
  if (!head_only) out += a.body;
  return out;
}

/// The answer to what a client has sent, once there is one to give.
std::optional<std::string> answer_to(const std::string& received, const metrics_server::query& ask) {
  // Empty lines before the request line are skipped (RFC 9112, 2.2); the
  // head ends at the first empty line, CRLF or LF.
  const auto start = std::min(received.find_first_not_of("\r\n"), received.size());
  const auto blank = std::min(received.find("\n\n", start), received.find("\n\r\n", start));
  if ((blank == std::string::npos ? received.size() : blank + 1) > max_head)
    return render({431, "request head too large\n"}, false);
  if (blank == std::string::npos) return std::nullopt;
  const auto r = parse_request(std::string_view(received).substr(start, blank + 1 - start));
  if (!r) return render({400, "bad request: GET /metrics or /healthz over HTTP/1.x\n"}, false);
  return render(route(*r, ask), r->method == "HEAD");
}

class unique_fd {
public:
  explicit unique_fd(int fd = -1) : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~unique_fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

private:
  int fd_;
};

/// One client: its request as it arrives, then its answer as it leaves, then
/// (with our side shut) whatever it still sends, read and dropped until it
/// closes, so that an unread body cannot reset the connection before the
/// client has read the answer.
struct connection {
  unique_fd fd;
  steady::time_point deadline;
  std::string received;
  std::optional<std::string> reply;
  std::size_t sent = 0, drained = 0;
  bool draining = false;

  short wanted() const { return reply && !draining ? POLLOUT : POLLIN; }
  /// Takes its turn, with what the poll at `polled_at` saw; false once it is over.
  bool step(short events, steady::time_point polled_at, const metrics_server::query& ask);

private:
  bool receive(const metrics_server::query& ask);
  bool send_reply();
  bool drain();
};

bool connection::step(short events, steady::time_point polled_at, const metrics_server::query& ask) {
  // Past its deadline as the poll saw it, not as the clock says now: what a
  // client sent while this thread was held by another request's query is
  // read at the next poll, not lost.
  const bool open = events == 0 || (!reply ? receive(ask) : draining ? drain() : send_reply());
  return open && polled_at < deadline;
}

bool connection::receive(const metrics_server::query& ask) {
  char buffer[2048];
  const auto n = ::recv(fd.get(), buffer, sizeof buffer, 0);
  if (n <= 0) return n < 0 && (errno == EAGAIN || errno == EINTR);
  received.append(buffer, static_cast<std::size_t>(n));
  reply = answer_to(received, ask);
  if (reply) {
    received.clear();
    deadline = steady::now() + exchange_time;  // the query may have taken a while
  }
  return true;
}

bool connection::send_reply() {
  const auto n = ::send(fd.get(), reply->data() + sent, reply->size() - sent, MSG_NOSIGNAL);
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  sent += static_cast<std::size_t>(n);
  if (sent == reply->size()) {
    ::shutdown(fd.get(), SHUT_WR);
    draining = true;
  }
  return true;
}

bool connection::drain() {
  char buffer[4096];
  const auto n = ::recv(fd.get(), buffer, sizeof buffer, 0);
  if (n > 0) drained += static_cast<std::size_t>(n);
  // A client that goes on sending is closed on: draining it would keep a core busy.
  return (n > 0 && drained <= max_drained) || (n < 0 && (errno == EAGAIN || errno == EINTR));
}

/// A socket listening on `address`, or throws saying why it cannot.
unique_fd listen_on(const listen_address& address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  // localhost is 127.0.0.1: one address, where clients of "localhost" look
  // first or next, never ::1 alone (as /etc/hosts may list it first).
  const std::string host = address.host == "localhost" ? "127.0.0.1" : address.host;
  const int looked_up = ::getaddrinfo(host.c_str(), std::to_string(address.port).c_str(), &hints, &found);
  if (looked_up != 0) throw std::runtime_error("cannot listen on " + address.text() + ": " + ::gai_strerror(looked_up));
  int err = 0;
  unique_fd sock;
  for (const addrinfo* a = found; a != nullptr && sock.get() < 0; a = a->ai_next) {
    unique_fd candidate(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    // SO_REUSEADDR lets a restarted service listen again at once; no
    // SO_REUSEPORT: a second process on the same port must be an error.
    int yes = 1;
    if (candidate.get() >= 0 && ::setsockopt(candidate.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) == 0 &&
        ::bind(candidate.get(), a->ai_addr, a->ai_addrlen) == 0 &&
        ::listen(candidate.get(), SOMAXCONN) == 0)
      sock = std::move(candidate);
    else
      err = errno;
  }
  ::freeaddrinfo(found);
  if (sock.get() < 0) throw std::runtime_error("cannot listen on " + address.text() + ": " + std::strerror(err));
  return sock;
}

int port_of(int sock) {
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(sock, reinterpret_cast<sockaddr*>(&bound), &length);
  return ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6&>(bound).sin6_port
                                           : reinterpret_cast<const sockaddr_in&>(bound).sin_port);
}
} // namespace

struct metrics_server::impl {
  unique_fd listener;
  unique_fd wake_read, wake_write;  // stop() writes a byte: the poll wakes at once
  int port = 0;
  query ask;
  std::list<connection> connections;
  steady::time_point accept_paused_until;  ///< after accept failed for want of files
  std::thread thread;

  void serve();
  /// Accepts what is waiting, up to max_connections in all.
  void accept_waiting();
  /// Polls until something is ready or the nearest deadline; false once stopped.
  bool wait(std::vector<pollfd>& polled);
};

metrics_server::metrics_server(const listen_address& address) : impl_(std::make_unique<impl>()) {
  impl_->listener = listen_on(address);
  impl_->port = port_of(impl_->listener.get());
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  impl_->wake_read = unique_fd(ends[0]);
  impl_->wake_write = unique_fd(ends[1]);
}

metrics_server::~metrics_server() { stop(); }

int metrics_server::port() const { return impl_->port; }

void metrics_server::serve(query ask) {
  impl_->ask = std::move(ask);
  impl_->thread = std::thread([this] { impl_->serve(); });
}

void metrics_server::stop() {
  if (!impl_->thread.joinable()) return;
  const char byte = 0;
  [[maybe_unused]] const auto written = ::write(impl_->wake_write.get(), &byte, 1);
  impl_->thread.join();
  impl_->connections.clear();
}

bool metrics_server::impl::wait(std::vector<pollfd>& polled) {
  polled.assign({{wake_read.get(), POLLIN, 0}, {listener.get(), POLLIN, 0}});
  const auto now = steady::now();
  // Full, or out of files: the rest wait in the kernel's queue.
  if (connections.size() >= max_connections || now < accept_paused_until) polled[1].fd = -1;
  auto nearest = now < accept_paused_until ? accept_paused_until : now + std::chrono::hours{1};
  for (const auto& c : connections) {
    polled.push_back({c.fd.get(), c.wanted(), 0});
    nearest = std::min(nearest, c.deadline);
  }
  const auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(nearest - now).count();
  if (::poll(polled.data(), polled.size(), static_cast<int>(std::max<long long>(wait_ms, 0))) < 0 && errno != EINTR) {
    // Not known to happen (ENOMEM): said, so a scrape that stops answering has a reason in the log.
    runtime_log().error(std::string("metrics: poll failed: ") + std::strerror(errno) + "; /metrics no longer answers");
    return false;
  }
  return polled[0].revents == 0;
}

void metrics_server::impl::accept_waiting() {
  while (connections.size() < max_connections) {
    unique_fd fd(::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (fd.get() < 0) {
      // Out of files or memory, the connection stays queued and the listener
      // ready: polled again at once, it would keep a core busy.
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
        accept_paused_until = steady::now() + std::chrono::seconds{1};
      return;
    }
    auto& c = connections.emplace_back();
    c.fd = std::move(fd);
    c.deadline = steady::now() + exchange_time;
  }
}

void metrics_server::impl::serve() {
  std::vector<pollfd> polled;
  while (wait(polled)) {
    const auto polled_at = steady::now();
    // polled[2 + i] is connections' i-th: the ones accepted next come after.
    auto c = connections.begin();
    for (std::size_t i = 2; i < polled.size(); ++i)
      c = c->step(polled[i].revents, polled_at, ask) ? std::next(c) : connections.erase(c);
    if (polled[1].revents != 0) accept_waiting();
  }
}

} // namespace stream_smarts::runtime
