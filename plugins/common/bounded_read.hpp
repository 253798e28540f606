// Files read whole, up to a cap: a model or a certificate file is small,
// and a path to /dev/zero (or a log file given by mistake) must not fill
// the memory of a Raspberry Pi.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <istream>
#include <string>
#include <system_error>

namespace stream_smarts::bounded_read {

/// The rest of `in`, but at most `most_bytes` + 1 bytes: one byte past the
/// cap tells "too large" from "exactly the cap".
inline std::string at_most(std::istream& in, std::size_t most_bytes) {
  std::string bytes;
  char buf[65536];
  while (bytes.size() <= most_bytes && in) {
    in.read(buf, sizeof buf);
    bytes.append(buf, static_cast<std::size_t>(in.gcount()));
  }
  return bytes;
}

/// The whole file; throws Error("cannot open: No such file or directory"),
/// or Error("too large: over N MiB " + what_it_should_be).
template <class Error>
std::string file(const std::string& path, std::size_t most_bytes, const std::string& what_it_should_be) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(std::string("cannot open: ") + std::strerror(EISDIR));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(std::string("cannot open: ") + std::strerror(errno));
  std::string bytes = at_most(in, most_bytes);
  if (in.bad()) throw Error(std::string("cannot read: ") + std::strerror(errno));
  if (bytes.size() > most_bytes)
    throw Error("too large: over " + std::to_string(most_bytes >> 20) + " MiB " + what_it_should_be);
  return bytes;
}

} // namespace stream_smarts::bounded_read
