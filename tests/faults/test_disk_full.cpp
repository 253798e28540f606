// A disk that fills up under the file sink and is freed again, for real: a
// 64 KiB tmpfs mounted for the test and filled but for one page, so that a
// chunk of lines gets partly in before the disk is full. The sink must
// retry, and once the filler is deleted every line must be in the file
// exactly once, whole. Mounting needs root (CAP_SYS_ADMIN); elsewhere (a
// user, a container without it) main() prints why and exits 77, which ctest
// reports as skipped.
#define CATCH_CONFIG_RUNNER
#include "fixture_pipeline.hpp"
#include "process.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>
#include <string>
#include <thread>

using namespace test_support;
using namespace std::chrono_literals;

namespace {

/// A tmpfs of `size` on `dir`, unmounted at the end of the scope whatever happened.
class tmpfs {
public:
  tmpfs(const std::string& dir, const std::string& size) : dir_(dir) {
    const std::string options = "size=" + size + ",mode=0755";
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) != 0) error_ = std::strerror(errno);
  }
  ~tmpfs() {
    if (error_.empty()) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  tmpfs(const tmpfs&) = delete;
  tmpfs& operator=(const tmpfs&) = delete;
  /// "" once mounted, else why not.
  const std::string& error() const { return error_; }

private:
  std::string dir_, error_;
};

std::string why_unavailable() {
  temp_dir probe;
  const tmpfs disk(probe.path(), "64k");
  if (!disk.error().empty()) return "cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): " + disk.error();
  return "";
}

/// Fills the disk under `path` with it, then gives back the last page: the
/// disk has 4 KiB free.
void fill_but_one_page(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  const std::string page(4096, 'x');
  off_t size = 0;
  for (int i = 0; i < 1000; ++i) {  // 64 KiB is 16 pages: bounded long before
    const ssize_t n = ::write(fd, page.data(), page.size());
    if (n <= 0) break;
    size += n;
  }
  const int err = errno;
  CHECK(err == ENOSPC);
  REQUIRE(size >= 4096);
  REQUIRE(::ftruncate(fd, size - 4096) == 0);
  ::close(fd);
}

} // namespace

TEST_CASE("a full disk under the file sink is retried, and once freed every line is in the file exactly once") {
  temp_dir dir;
  const tmpfs disk(dir.path(), "64k");
  REQUIRE(disk.error().empty());
  // Every scored reading (100, of which 10 raised), in JSON lines of about
  // 190 bytes, 10 a batch: two batches fit in the free page, the third only
  // in part. The pipeline file is on the disk too: written before it fills.
  const std::string p = dir.file(
      "p.toml",
      "[pipeline]\nname = 't'\nbatch_size = 10\n"
      "[[sources]]\nname = 'in'\nplugin = 'fixture_source'\ncount = 100\n"
      "[[scorers]]\nname = 'ratio'\nplugin = 'fixture_scorer'\nfrom = ['in']\n"
      "[[sinks]]\nname = 'log'\nplugin = 'file'\nfrom = ['ratio']\npath = 'alerts.log'\nformat = 'json'\n"
      "receive = 'all'\nretry_backoff = '50ms'\nmax_retries = 10\n");
  fill_but_one_page(dir.path() + "/filler");
  child c({binary(), "run", p}, fixture_env);
  const std::string warning =
      "warning [log] delivery failed: file: cannot write " + dir.path() + "/alerts.log: No space left on device; retrying";
  const bool full = wait_for_log(c, warning, 20s);
  REQUIRE(::unlink((dir.path() + "/filler").c_str()) == 0);  // the disk is freed
  const auto r = c.wait(60s);
  INFO(r.err);
  CHECK(full);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("gave up") == std::string::npos);
  CHECK(r.err.find("restarting") == std::string::npos);

  // Every reading once, in order, each line whole: nothing torn, nothing repeated.
  std::istringstream lines(dir.read("alerts.log"));
  std::set<std::string> seen;
  int raised = 0, count = 0;
  std::string previous_ts;
  for (std::string line; std::getline(lines, line) && count < 1000;) {
    ++count;
    INFO(line);
    REQUIRE(!line.empty());
    REQUIRE(line.front() == '{');
    REQUIRE(line.back() == '}');
    const auto at = line.find("\"ts_ms\":") + 8;
    const std::string ts = line.substr(at, line.find(',', at) - at);
    CHECK(seen.insert(ts).second);
    CHECK(ts > previous_ts);  // same number of digits: text order is time order
    previous_ts = ts;
    raised += line.find("\"alert\":\"raised\"") != std::string::npos;
  }
  CHECK(count == 100);
  CHECK(raised == 10);
}

int main(int argc, char** argv) {
  const std::string why = why_unavailable();
  if (!why.empty()) {
    std::printf("disk-full test skipped: %s\n", why.c_str());
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
