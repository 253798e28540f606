// Writing bytes to a file descriptor with write(2), knowing exactly how many
// got out when it fails: what the console and file sinks need to retry a
// full disk without losing or repeating a line. stdio cannot say that: after
// a failed fwrite, part of what it accepted may still sit in its buffer.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <string_view>

namespace stream_smarts::files {

/// How a write_all went: every byte (error 0), or `written` of them and the
/// errno that stopped the rest.
struct write_outcome {
  std::size_t written = 0;
  int error = 0;
};

inline write_outcome write_all(int fd, std::string_view bytes) {
  write_outcome r;
  while (r.written < bytes.size()) {  // each pass writes something, ends, or was interrupted
    const ssize_t n = ::write(fd, bytes.data() + r.written, bytes.size() - r.written);
    if (n > 0) r.written += static_cast<std::size_t>(n);
    else if (n < 0 && errno == EINTR) continue;
    else {
      r.error = n < 0 ? errno : EIO;  // 0 bytes for a non-empty write: the device took nothing
      break;
    }
  }
  return r;
}

} // namespace stream_smarts::files
