// stream-smarts broker: librdkafka's mock cluster as a standalone process,
// so kcat, Python clients and pipelines can meet on loopback. The runtime
// dispatches `stream-smarts broker` here; it knows nothing of Kafka itself.
#include "bootstrap_proxy.hpp"
#include "embedded_cluster.hpp"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/signalfd.h>
#include <unistd.h>
#include <vector>

namespace {

using namespace stream_smarts::kafka;

const char* usage = R"(usage: stream-smarts broker [--port N] [--partitions N] [--topic NAME]...

Runs an in-memory Kafka broker (librdkafka's mock cluster) on 127.0.0.1. It
speaks the real Kafka protocol, so kcat, Kafka client libraries and pipelines
can produce and consume against it. It is for local trials and tests only:
nothing is written to disk, each partition keeps only about the last 5 MiB,
and everything is gone when it stops.

  --port N        bootstrap port (default 0: any free port)
  --partitions N  partitions of each --topic (default 3)
  --topic NAME    create NAME at start (repeatable); other topics are created
                  on first use with 4 partitions (the mock cluster's default)

Prints the bootstrap address (127.0.0.1:PORT) as its first line on stdout.
Reads commands on stdin, one per line: "down" takes the broker down (clients
see connections refused), "up" brings it back; "fail API ERROR [COUNT]" makes
the next COUNT (default 1) requests of Kafka API key API fail with error code
ERROR ("fail 12 82": a Heartbeat answered FENCED_INSTANCE_ID). Stops on
SIGINT or SIGTERM.
)";

struct arguments {
  int port = 0;
  int partitions = 3;
  std::vector<std::string> topics;
};

std::optional<int> parse_count(const char* text, int min, int max) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < min || v > max) return std::nullopt;
  return static_cast<int>(v);
}

/// Returns an exit code if it should stop at once (help, bad usage).
std::optional<int> parse(int argc, char** argv, arguments& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      return 0;
    }
    const char* value = i + 1 < argc ? argv[++i] : nullptr;
    std::optional<int> n;
    if (value != nullptr && arg == "--topic") {
      a.topics.emplace_back(value);
      continue;
    }
    if (value != nullptr && arg == "--port" && (n = parse_count(value, 0, 65535))) a.port = *n;
    else if (value != nullptr && arg == "--partitions" && (n = parse_count(value, 1, 1000))) a.partitions = *n;
    else {
      std::cerr << "stream-smarts broker: " << (value ? "bad value '" + std::string(value) + "' for " : "bad option ")
                << arg << "\n" << usage;
      return 2;
    }
  }
  return std::nullopt;
}

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

/// "127.0.0.1:PORT" -> PORT.
int port_of(const std::string& address) { return std::stoi(address.substr(address.rfind(':') + 1)); }

/// Waits for SIGINT/SIGTERM, handling stdin commands meanwhile.
void serve(embedded_cluster& cluster) {
  const sigset_t stop = stop_signals();
  const int signals = signalfd(-1, &stop, SFD_CLOEXEC);
  std::vector<pollfd> fds{{signals, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
  std::string pending;
  for (;;) {
    if (poll(fds.data(), fds.size(), -1) < 0) continue;  // EINTR
    if (fds[0].revents != 0) return;
    if (fds[1].revents == 0) continue;
    char buf[256];
    const ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n <= 0) {
      fds.pop_back();  // stdin closed (or a terminal this background job may not read): go on until a signal
      continue;
    }
    pending.append(buf, static_cast<std::size_t>(n));
    for (std::size_t eol; (eol = pending.find('\n')) != std::string::npos; pending.erase(0, eol + 1)) {
      const std::string command = pending.substr(0, eol);
      int api = 0, error = 0, count = 1;
      if (command == "down" || command == "up") {
        cluster.set_down(command == "down");
        std::cerr << "stream-smarts broker: " << command << "\n";
      } else if (std::sscanf(command.c_str(), "fail %d %d %d", &api, &error, &count) >= 2 && count >= 1 &&
                 count <= 1000) {
        cluster.fail_requests(api, error, count);
        std::cerr << "stream-smarts broker: " << command << "\n";
      } else if (!command.empty()) {
        std::cerr << "stream-smarts broker: unknown command '" << command << "' (down, up, fail API ERROR [COUNT])\n";
      }
    }
  }
}

} // namespace

int main(int argc, char** argv) {
  arguments args;
  if (auto code = parse(argc, argv, args)) return *code;
  // Blocked before librdkafka starts its threads, so only signalfd sees them.
  const sigset_t stop = stop_signals();
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  // Started with & in a terminal, reading its commands would stop the broker
  // (SIGTTIN) the moment something is typed for the shell: the read fails
  // instead, and commands are not read.
  std::signal(SIGTTIN, SIG_IGN);
  try {
    embedded_cluster cluster;
    for (const auto& topic : args.topics) cluster.create_topic(topic, args.partitions);
    std::unique_ptr<bootstrap_proxy> proxy;
    std::string address = cluster.bootstrap();
    if (args.port != 0) {
      proxy = std::make_unique<bootstrap_proxy>(args.port, "127.0.0.1", port_of(address));
      address = "127.0.0.1:" + std::to_string(args.port);
    }
    std::cout << address << std::endl;
    std::cerr << "stream-smarts broker: in-memory Kafka for trials and tests at " << address
              << " (nothing is kept; stop with Ctrl-C)\n";
    serve(cluster);
  } catch (const std::exception& e) {
    std::cerr << "stream-smarts broker: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
