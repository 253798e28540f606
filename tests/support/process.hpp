// Runs the stream-smarts binary the way a user would, with a time limit,
// capturing what it prints. Used by the command-line tests.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace test_support {

struct result {
  int exit_code = -1;      ///< -1 if it had to be killed
  int signal = 0;          ///< the signal that ended it, if one did
  bool timed_out = false;
  std::string out, err;
};

/// A child process started in the background; stop() or wait() it.
class child {
public:
  child(const std::vector<std::string>& args, const std::map<std::string, std::string>& env);
  ~child();
  void signal(int sig);
  /// Waits at most `limit`; kills the child (SIGKILL) if it is still running.
  result wait(std::chrono::milliseconds limit);
  int pid() const { return pid_; }
  /// What it has written to stderr so far.
  std::string err() const;

private:
  int pid_ = -1;
  std::string out_path_, err_path_;
  bool reaped_ = false;
};

/// Runs to completion (at most `limit`).
result run(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
           std::chrono::milliseconds limit = std::chrono::seconds(60));

/// The binary under test and the folders the build put things in.
std::string binary();
std::string fixtures(const std::string& set);   ///< build/tests/fixtures/<set>
std::string source_dir();                       ///< the repository
std::string plugin_dir();                       ///< build/lib/stream-smarts/plugins

/// A fresh folder for one test, removed when it goes out of scope.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name, const std::string& content) const;  ///< writes, returns its path
  std::string read(const std::string& name) const;

private:
  std::string path_;
};

/// Calls `done` every `interval` until it is true: at most `limit` in time and
/// limit / interval + 1 calls, so every waiting loop of a test is bounded in
/// both. True if `done` came true.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(20),
                std::chrono::milliseconds interval = std::chrono::milliseconds(20));

/// Waits (bounded) until `name` in `dir` has at least `lines` lines.
bool wait_for_lines(const temp_dir& dir, const std::string& name, std::size_t lines, std::chrono::milliseconds limit);

/// Waits (bounded) until the child's stderr contains `needle`.
bool wait_for_log(const child& c, const std::string& needle, std::chrono::milliseconds limit);

} // namespace test_support
