// The console sink when its stream fills up mid-chunk, on a real pipe: the
// write end is non-blocking, so a full pipe fails at once (EAGAIN) as a full
// disk does (ENOSPC), after the kernel took part of the chunk. A pipe cannot
// take bytes back, so the retry must write only what did not get out.
#include "plugin_harness.hpp"

#include <common/alert_lines.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

using namespace stream_smarts;
using namespace stream_smarts::testing;

namespace {

/// `count` raised alerts an hour apart from `first_ms`.
std::vector<alert> alerts(std::int64_t first_ms, int count) {
  std::vector<alert> out(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    alert& a = out[static_cast<std::size_t>(i)];
    a.scored.reading.meter = "home";
    a.scored.reading.ts_ms = first_ms + i * std::int64_t{3600000};
    a.scored.reading.wh = 1000 + i;
    a.scored.scorer = "band";
  }
  return out;
}

std::string json_lines(const std::vector<alert>& chunk) {
  std::string out;
  for (const auto& a : chunk) alert_lines::append_json_line(out, a);
  return out;
}

/// Everything in the pipe now (its read end is non-blocking).
std::string drain(int fd) {
  std::string out;
  char buffer[4096];
  for (int i = 0; i < 10000; ++i) {  // a pipe holds a few pages: bounded long before
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

/// stderr redirected to a small non-blocking pipe for the scope.
struct full_pipe_on_stderr {
  int fds[2] = {-1, -1};
  int saved = -1;
  full_pipe_on_stderr() {
    REQUIRE(::pipe2(fds, O_NONBLOCK) == 0);
    ::fcntl(fds[1], F_SETPIPE_SZ, 4096);  // one page: a chunk of 100 lines never fits
    std::fflush(stderr);
    saved = ::dup(2);
    ::dup2(fds[1], 2);
  }
  ~full_pipe_on_stderr() {
    ::dup2(saved, 2);
    ::close(saved);
    ::close(fds[0]);
    ::close(fds[1]);
  }
};

/// Writes the chunk and flushes, as the runtime does; the delivery_error if one.
std::optional<delivery_error> deliver(sink& s, const std::vector<alert>& chunk) {
  for (const auto& a : chunk) s.write(a);
  try {
    s.flush();
  } catch (const delivery_error& e) {
    return e;
  }
  return std::nullopt;
}

} // namespace

TEST_CASE("console on a full pipe: retried, and the retry writes only what did not get out", "[stages][console]") {
  const auto& d = load(CONSOLE_PLUGIN);
  temp_dir dir;
  const auto chunk = alerts(1167609600000, 100);
  std::string got, first_failure;
  bool delivered = false;
  {
    full_pipe_on_stderr pipe;
    fake_context ctx(d, {{"stream", std::string("stderr")}, {"format", std::string("json")}}, dir.path);
    auto sink = d.make_sink(ctx);
    for (int attempt = 0; attempt < 100 && !delivered; ++attempt) {  // the reader empties the pipe between
      const auto failed = deliver(*sink, chunk);
      if (failed && first_failure.empty())
        first_failure = std::string(failed->what()) + (failed->retryable() ? " (retryable)" : "");
      delivered = !failed;
      got += drain(pipe.fds[0]);
    }
  }
  CHECK(first_failure == "console: cannot write to stderr: Resource temporarily unavailable (retryable)");
  CHECK(delivered);
  CHECK(got == json_lines(chunk));
}

TEST_CASE("console on a full pipe: a chunk given up leaves no torn line before the next", "[stages][console]") {
  const auto& d = load(CONSOLE_PLUGIN);
  temp_dir dir;
  const auto given_up = alerts(1167609600000, 100);
  const auto next = alerts(1200000000000, 3);
  std::string first, second;
  {
    full_pipe_on_stderr pipe;
    fake_context ctx(d, {{"stream", std::string("stderr")}, {"format", std::string("json")}}, dir.path);
    auto sink = d.make_sink(ctx);
    REQUIRE(deliver(*sink, given_up));  // the runtime gives it up after max_retries: another chunk comes
    first = drain(pipe.fds[0]);
    REQUIRE(!deliver(*sink, next));
    second = drain(pipe.fds[0]);
  }
  REQUIRE(!first.empty());
  CHECK(json_lines(given_up).compare(0, first.size(), first) == 0);  // what got out of the given-up chunk
  CHECK(first.back() != '\n');                                       // ended mid-line...
  CHECK(second == "\n" + json_lines(next));                          // ...which ends before the next chunk
}
