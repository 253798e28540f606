// The gpio_meter plugin against a real kernel GPIO chip: the gpio-sim module
// (Linux 5.17+). A simulated chip is made through configfs; "pulling" its
// line down and up again through sysfs makes the falling edges a meter's S0
// output would, and the plugin must count them through libgpiod and the
// kernel's event timestamps.
//
// Needs root, configfs and gpio-sim. Where they cannot be set up (a
// container, a kernel without CONFIG_GPIO_SIM) main() prints why and exits
// 77, which ctest reports as skipped.
#define CATCH_CONFIG_RUNNER
#include "plugin_harness.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <system_error>
#include <thread>

using namespace stream_smarts;
using namespace stream_smarts::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const fs::path configfs = "/sys/kernel/config";
const fs::path sim_root = configfs / "gpio-sim";

/// Empty if gpio-sim is usable (loading the module and mounting configfs if
/// needed and possible); otherwise why not.
std::string why_unavailable() {
  std::error_code ec;
  if (fs::exists(sim_root, ec)) return ::geteuid() == 0 ? "" : "needs root to make a chip in " + sim_root.string();
  if (::geteuid() != 0) return "needs root to load gpio-sim and mount configfs (not root here)";
  if (fs::exists(configfs, ec) && fs::is_empty(configfs, ec))
    (void)std::system("mount -t configfs none /sys/kernel/config >/dev/null 2>&1");
  (void)std::system("modprobe gpio-sim >/dev/null 2>&1");
  if (fs::exists(sim_root, ec)) return "";
  if (!fs::exists(configfs, ec))
    return "no " + configfs.string() + ": this kernel (or container) has no configfs, which gpio-sim is set up with";
  return "no " + sim_root.string() +
         ": the gpio-sim module (CONFIG_GPIO_SIM, Linux 5.17+) is not loaded and `modprobe gpio-sim` did not load it";
}

void write_attr(const fs::path& path, const std::string& value) {
  std::ofstream out(path);
  out << value << std::flush;
  INFO(path.string() << " = " << value);
  REQUIRE(out.good());
}

std::string read_attr(const fs::path& path) {
  std::ifstream in(path);
  std::string value;
  std::getline(in, value);
  return value;
}

/// One simulated chip with `lines` lines; line 0 is named "meter".
class sim_chip {
public:
  explicit sim_chip(unsigned lines) : dev_(sim_root / ("stream-smarts-test-" + std::to_string(::getpid()))) {
    fs::create_directory(dev_);
    fs::create_directory(dev_ / "bank0");
    write_attr(dev_ / "bank0" / "num_lines", std::to_string(lines));
    fs::create_directory(dev_ / "bank0" / "line0");
    write_attr(dev_ / "bank0" / "line0" / "name", "meter");
    write_attr(dev_ / "live", "1");
    chip_ = read_attr(dev_ / "bank0" / "chip_name");
    sysfs_ = fs::path("/sys/devices/platform") / read_attr(dev_ / "dev_name") / chip_;
    REQUIRE(!chip_.empty());
  }
  ~sim_chip() {
    std::ofstream(dev_ / "live") << "0" << std::flush;
    std::error_code ec;
    fs::remove(dev_ / "bank0" / "line0", ec);
    fs::remove(dev_ / "bank0", ec);
    fs::remove(dev_, ec);
  }
  sim_chip(const sim_chip&) = delete;
  sim_chip& operator=(const sim_chip&) = delete;

  const std::string& chip() const { return chip_; }
  /// What the meter does: the line's pull, "pull-up" (idle) or "pull-down" (an impulse).
  void pull(unsigned offset, const char* value) const {
    write_attr(sysfs_ / ("sim_gpio" + std::to_string(offset)) / "pull", value);
  }

private:
  fs::path dev_, sysfs_;
  std::string chip_;
};

std::string label_of(const reading& r, const std::string& key) {
  for (const auto& l : r.labels)
    if (l.key == key) return l.value;
  return "(none)";
}

/// Reads as the runtime would, at most `limit`, until a reading has `n` pulses.
std::optional<reading> reading_with(source& src, int n, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (int calls = 0; calls < 100'000 && std::chrono::steady_clock::now() < deadline; ++calls) {
    std::vector<reading> out;
    const read_result r = src.read(out, 100);
    for (const auto& reading : out)
      if (label_of(reading, "pulses") == std::to_string(n)) return reading;
    if (out.empty()) std::this_thread::sleep_for(r.wait);
  }
  return std::nullopt;
}

} // namespace

TEST_CASE("gpio-sim: falling edges on a simulated line are counted, with the kernel's timestamps") {
  const auto& d = load(GPIO_METER_PLUGIN);
  sim_chip sim(4);
  temp_dir dir;
  fake_context ctx(d,
                   {{"chip", sim.chip()}, {"line", std::int64_t{0}}, {"interval", std::chrono::milliseconds{1000}},
                    {"debounce", std::chrono::milliseconds{10}}},
                   dir.path);
  auto src = d.make_source(ctx);
  src->start();  // bias pull-up: the line idles high, as with an S0 output
  for (int i = 0; i < 5; ++i) {
    sim.pull(0, "pull-down");  // the impulse begins: a falling edge
    std::this_thread::sleep_for(30ms);
    sim.pull(0, "pull-up");
    std::this_thread::sleep_for(30ms);
  }
  const auto r = reading_with(*src, 5, 5s);
  REQUIRE(r);
  CHECK(r->wh == 5.0);
  // Converted from CLOCK_MONOTONIC: the last pulse was moments ago, not decades.
  CHECK(std::stod(label_of(*r, "last_pulse_s")) < 3.0);
  CHECK(label_of(*r, "power_w") != "(none)");
  src->stop();
}

TEST_CASE("gpio-sim: contact bounce within debounce is dropped") {
  const auto& d = load(GPIO_METER_PLUGIN);
  sim_chip sim(4);
  temp_dir dir;
  fake_context ctx(d, {{"chip", sim.chip()}, {"line", std::string("meter")}, {"interval", std::chrono::milliseconds{1000}}},
                   dir.path);  // debounce 50ms, the line by name
  auto src = d.make_source(ctx);
  src->start();
  for (int i = 0; i < 3; ++i) {
    for (int bounce = 0; bounce < 3; ++bounce) {  // three falling edges within a few ms
      sim.pull(0, "pull-down");
      sim.pull(0, "pull-up");
    }
    std::this_thread::sleep_for(150ms);
  }
  const auto r = reading_with(*src, 3, 5s);
  REQUIRE(r);
  CHECK(r->wh == 3.0);
  src->stop();
  bool named = false;
  for (const auto& l : ctx.log_.lines) named = named || l.find("line \"meter\" (offset 0)") != std::string::npos;
  CHECK(named);
}

TEST_CASE("gpio-sim: a line in use, a line that does not exist") {
  const auto& d = load(GPIO_METER_PLUGIN);
  sim_chip sim(4);
  temp_dir dir;
  fake_context first_ctx(d, {{"chip", sim.chip()}, {"line", std::int64_t{1}}}, dir.path);
  auto first = d.make_source(first_ctx);
  first->start();
  fake_context second_ctx(d, {{"chip", sim.chip()}, {"line", std::int64_t{1}}}, dir.path);
  auto second = d.make_source(second_ctx);
  CHECK_THROWS_WITH(second->start(), "line 1 of GPIO chip \"" + sim.chip() +
                                         "\" is already in use by \"stream-smarts:test\": stop the program or driver "
                                         "holding it (gpioinfo " + sim.chip() +
                                         " shows the consumer) or wire the meter to another line");
  first->stop();

  fake_context past_ctx(d, {{"chip", sim.chip()}, {"line", std::int64_t{7}}}, dir.path);
  auto past = d.make_source(past_ctx);
  CHECK_THROWS_WITH(past->start(), "GPIO chip \"" + sim.chip() + "\" has no line 7: its 4 lines are 0..3 (gpioinfo " +
                                       sim.chip() + " lists them)");
  fake_context name_ctx(d, {{"chip", sim.chip()}, {"line", std::string("GPIO99")}}, dir.path);
  auto named = d.make_source(name_ctx);
  CHECK_THROWS_WITH(named->start(), "GPIO chip \"" + sim.chip() + "\" has no line named \"GPIO99\" (gpioinfo " +
                                        sim.chip() + " lists the names; or give the line's offset, e.g. line = 17)");
}

int main(int argc, char** argv) {
  const std::string why = why_unavailable();
  if (!why.empty()) {
    std::printf("gpio-sim test skipped: %s\n", why.c_str());
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
