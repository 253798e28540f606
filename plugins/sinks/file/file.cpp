// The file sink: appends one line per event to a file, the same lines as the
// console sink, and survives a full or failing disk without losing or
// repeating a line.
#include <common/sink_lines.hpp>
#include <common/write_all.hpp>

#include <stream_smarts/plugin.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace stream_smarts;

std::string quoted(const std::string& path) { return "'" + path + "'"; }

/// Why `path` cannot be appended to, or "" if it can. Checked without
/// creating the file, so that `validate` leaves nothing behind.
std::string why_not_appendable(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return quoted(path) + " is a folder; give a file in it, e.g. " + quoted(path + "/alerts.log");
    if (::access(path.c_str(), W_OK) != 0) return "cannot append to " + quoted(path) + ": " + std::strerror(errno);
    return "";
  }
  if (errno != ENOENT && errno != ENOTDIR) return "cannot append to " + quoted(path) + ": " + std::strerror(errno);
  const std::string folder = std::filesystem::path(path).parent_path().string();
  if (::stat(folder.c_str(), &st) != 0)
    return "cannot create " + quoted(path) + ": folder " + quoted(folder) +
           (errno == ENOENT ? std::string(" does not exist") : std::string(": ") + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return "cannot create " + quoted(path) + ": " + quoted(folder) + " is a file, not a folder";
  if (::access(folder.c_str(), W_OK | X_OK) != 0)
    return "cannot create " + quoted(path) + " in " + quoted(folder) + ": " + std::strerror(errno);
  return "";
}

class file_sink final : public sink {
public:
  explicit file_sink(stage_context& ctx)
      : path_(ctx.resolve_path(ctx.options().string("path"))),
        fsync_(ctx.options().boolean("fsync")),
        line_(ctx.options(), ctx.zone()) {
    if (ctx.options().string("path").empty()) throw option_error("path", "must name a file, e.g. \"alerts.log\"");
    if (const std::string why = why_not_appendable(path_); !why.empty()) throw option_error("path", why);
  }

  void write(const alert& a) override { line_.append(lines_, a); }

  // The file is opened for each chunk and closed after it, not kept open: a
  // file that logrotate moved, someone deleted, or whose disk was remounted
  // after a fault is found again by its name at the next chunk, with no
  // reopening logic to get wrong. A chunk is at most batch_size lines, and
  // alerts are rare: the open costs nothing that matters.
  void flush() override {
    const std::string lines = std::exchange(lines_, {});  // after a failure the runtime writes the chunk again, whole
    if (!lines.empty()) append(lines);
  }

private:
  void append(const std::string& lines) {
    const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);  // mode as a shell's >>
    if (fd < 0) fail(errno, "");
    struct stat before {};
    const bool regular = ::fstat(fd, &before) == 0 && S_ISREG(before.st_mode);
    int err = files::write_all(fd, lines).error;
    // fsync only where it means something: a FIFO or a device refuses it.
    if (err == 0 && fsync_ && regular && ::fsync(fd) != 0) err = errno;
    const std::string kept = err != 0 && regular ? take_back(fd, before.st_size) : "";
    // close() reports nothing more on a local disk; on NFS it may report a
    // failed write-back, after which what reached the server is unknown, and
    // a retry may repeat lines (at least once, as everywhere).
    if (::close(fd) != 0 && err == 0) err = errno;
    if (err != 0) fail(err, kept);
  }

  // A failed write may have put part of the chunk in the file, ending in a
  // torn line. The runtime will write the whole chunk again, so cut the file
  // back to its size before the chunk: the retry then neither repeats the
  // lines that got in nor continues the torn one. Shrinking needs no space,
  // so it works on a full disk. The file is the sink's own: another writer
  // appending meanwhile would lose its lines too.
  static std::string take_back(int fd, off_t size) {
    if (::ftruncate(fd, size) == 0) return "";
    return std::string(" (and the partly written lines could not be removed: ") + std::strerror(errno) + ")";
  }

  // Every failure of the file is worth retrying: a full disk gets freed, a
  // read-only remount or a permission gets fixed, a missing folder made.
  // After max_retries the runtime gives the alerts up and says so.
  [[noreturn]] void fail(int err, const std::string& kept) const {
    throw delivery_error("file: cannot write " + path_ + ": " + std::strerror(err) + kept, true);
  }

  std::string path_;
  bool fsync_;
  alert_lines::line_writer line_;
  std::string lines_;  ///< the chunk's lines, appended at flush
};

std::vector<option_spec> declared_options() {
  return alert_lines::with_message_options({
      required_option("path", option_type::string,
                      "File the lines are appended to (created if missing; its folder must exist), relative to "
                      "the pipeline file."),
      alert_lines::format_option(),
      optional_option("fsync", option_type::boolean, false,
                      "Sync the file to the disk at every batch before acknowledging it: survives a power cut, "
                      "costs a flash write per batch."),
  });
}

} // namespace

STREAM_SMARTS_PLUGIN(stream_smarts::sink_plugin<file_sink>(
    {"file",
     stream_smarts::plugin_kind::sink,
     "0.1.0",
     "Appends one line per alert (or scored reading) to a file, as text or JSON, as the console prints them",
     declared_options()}))
