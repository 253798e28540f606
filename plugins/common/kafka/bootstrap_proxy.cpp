#include "bootstrap_proxy.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace stream_smarts::kafka {
namespace {

sockaddr_in loopback(const std::string& host, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  return addr;
}

int connect_to(const std::string& host, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_in addr = loopback(host, port);
  if (fd >= 0 && connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return fd;
  if (fd >= 0) close(fd);
  return -1;
}

/// Copies what is readable on `from` to `to`; false when either side is done.
bool pump(int from, int to) {
  char buf[65536];
  const ssize_t n = read(from, buf, sizeof buf);
  if (n <= 0) return false;
  for (ssize_t sent = 0; sent < n;) {
    const ssize_t w = write(to, buf + sent, static_cast<std::size_t>(n - sent));
    if (w <= 0) return false;
    sent += w;
  }
  return true;
}

} // namespace

bootstrap_proxy::bootstrap_proxy(int port, std::string target_host, int target_port)
    : target_host_(std::move(target_host)), target_port_(target_port) {
  listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int yes = 1;
  setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  const sockaddr_in addr = loopback("127.0.0.1", port);
  if (bind(listener_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 || listen(listener_, 64) != 0) {
    const std::string why = std::strerror(errno);
    close(listener_);
    throw std::runtime_error("cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + why);
  }
  if (pipe2(wake_, O_CLOEXEC) != 0) throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
  thread_ = std::thread([this] { serve(); });
}

bootstrap_proxy::~bootstrap_proxy() {
  const char stop = 0;
  (void)!write(wake_[1], &stop, 1);
  thread_.join();
  for (int fd : {listener_, wake_[0], wake_[1]}) close(fd);
}

void bootstrap_proxy::serve() {
  // fds[0] the wake pipe, fds[1] the listener, then pairs: client, broker.
  std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {listener_, POLLIN, 0}};
  auto close_pair = [&](std::size_t first) {
    close(fds[first].fd);
    close(fds[first + 1].fd);
    fds.erase(fds.begin() + static_cast<std::ptrdiff_t>(first), fds.begin() + static_cast<std::ptrdiff_t>(first) + 2);
  };
  for (;;) {
    if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) break;
    if (fds[1].revents & POLLIN) {
      const int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      const int broker = client >= 0 ? connect_to(target_host_, target_port_) : -1;
      if (broker >= 0) {
        fds.push_back({client, POLLIN, 0});
        fds.push_back({broker, POLLIN, 0});
      } else if (client >= 0) {
        close(client);  // the broker is down: the client sees a refused connection and retries
      }
    }
    for (std::size_t i = 2; i < fds.size();) {
      const bool client_ok = fds[i].revents == 0 || pump(fds[i].fd, fds[i + 1].fd);
      const bool broker_ok = fds[i + 1].revents == 0 || pump(fds[i + 1].fd, fds[i].fd);
      if (client_ok && broker_ok) i += 2;
      else close_pair(i);
    }
  }
  for (std::size_t i = 2; i < fds.size(); ++i) close(fds[i].fd);
}

} // namespace stream_smarts::kafka
