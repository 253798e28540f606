#include "process.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace test_support {

namespace fs = std::filesystem;

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
} // namespace

child::child(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  char tmpl[] = "/tmp/ss-child-XXXXXX";
  const std::string base = mkdtemp(tmpl);
  out_path_ = base + "/out";
  err_path_ = base + "/err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    if (!env.count(entry.substr(0, entry.find('=')))) env_strings.push_back(entry);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data()) != 0)
    throw std::runtime_error("cannot start " + args[0]);
  posix_spawn_file_actions_destroy(&actions);
}

child::~child() {
  if (!reaped_) wait(std::chrono::milliseconds(0));
  fs::remove_all(fs::path(out_path_).parent_path());
}

void child::signal(int sig) { kill(pid_, sig); }

std::string child::err() const { return slurp(err_path_); }

result child::wait(std::chrono::milliseconds limit) {
  result r;
  int status = 0;
  const bool exited = eventually([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, limit,
                                 std::chrono::milliseconds(10));
  if (!exited) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    r.timed_out = true;
  }
  reaped_ = true;
  if (!r.timed_out && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (!r.timed_out && WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.out = slurp(out_path_);
  r.err = slurp(err_path_);
  return r;
}

result run(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
           std::chrono::milliseconds limit) {
  std::vector<std::string> full{binary()};
  full.insert(full.end(), args.begin(), args.end());
  return child(full, env).wait(limit);
}

std::string binary() { return STREAM_SMARTS_BINARY; }
std::string fixtures(const std::string& set) { return std::string(STREAM_SMARTS_FIXTURES) + "/" + set; }
std::string source_dir() { return STREAM_SMARTS_SOURCE_DIR; }
std::string plugin_dir() { return STREAM_SMARTS_PLUGINS; }

temp_dir::temp_dir() {
  char tmpl[] = "/tmp/ss-test-XXXXXX";
  path_ = mkdtemp(tmpl);
}
temp_dir::~temp_dir() { fs::remove_all(path_); }

std::string temp_dir::file(const std::string& name, const std::string& content) const {
  const std::string p = path_ + "/" + name;
  std::ofstream(p) << content;
  return p;
}

std::string temp_dir::read(const std::string& name) const { return slurp(path_ + "/" + name); }

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit,
                std::chrono::milliseconds interval) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  const auto calls = limit / std::max(interval, std::chrono::milliseconds(1)) + 1;
  for (std::int64_t i = 0; i < calls; ++i) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
  return done();
}

bool wait_for_lines(const temp_dir& dir, const std::string& name, std::size_t lines, std::chrono::milliseconds limit) {
  return eventually(
      [&] {
        const std::string text = dir.read(name);
        return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) >= lines;
      },
      limit);
}

bool wait_for_log(const child& c, const std::string& needle, std::chrono::milliseconds limit) {
  return eventually([&] { return c.err().find(needle) != std::string::npos; }, limit);
}

} // namespace test_support
