// Writing a file so that a reader sees either the old content or the new,
// never half of it: a running pipeline may load a model while `train`
// writes it. Shared by the scorers that write model files.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace stream_smarts::files {

/// The mode the file at `path` is to have: its own if it exists (a model
/// made private with chmod 600 stays so when retrained), else what the umask
/// leaves of 0666, as for any new file. The umask is read from /proc: umask()
/// reads it only by setting it, which would race with other threads.
inline mode_t mode_for(const std::string& path) {
  struct stat existing {};
  if (::stat(path.c_str(), &existing) == 0) return existing.st_mode & 07777;
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("Umask:", 0) == 0) return 0666 & ~static_cast<mode_t>(std::strtoul(line.c_str() + 6, nullptr, 8));
  return 0644;
}

/// Writes `bytes` to a temporary file in the same folder (creating the
/// folder), syncs it and renames it over `path`. Throws std::runtime_error
/// "cannot write PATH: reason".
inline void write_file_atomically(const std::string& path, std::string_view bytes) {
  const std::filesystem::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path(), ec);
  if (ec) throw std::runtime_error("cannot write " + path + ": " + ec.message());
  // Same folder as the target, so the rename is atomic.
  std::string tmp = path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, mode_for(path)) == 0;  // mkstemp made it 0600
  int err = ok ? 0 : errno;
  for (std::size_t done = 0; ok && done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n > 0) done += static_cast<std::size_t>(n);
    else if (n == 0 || errno != EINTR) {
      ok = false;
      err = n == 0 ? EIO : errno;
    }
  }
  if (ok && ::fsync(fd) != 0) {
    ok = false;
    err = errno;
  }
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && std::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write " + path + ": " + std::strerror(err));
  }
}

} // namespace stream_smarts::files
