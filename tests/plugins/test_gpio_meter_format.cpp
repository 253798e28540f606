// The gpio_meter source's pulse-file lines (pulse_format.hpp) and its GPIO
// error messages (gpio_messages.hpp), including those for failures this
// machine cannot produce (no permission, a line in use).
#include "fixed_zone.hpp"
#include "gpio_messages.hpp"
#include "pulse_format.hpp"

#include <catch2/catch.hpp>

#include <zone.hpp>

#include <optional>
#include <vector>

using namespace stream_smarts;
using namespace stream_smarts::gpio_meter;
using stream_smarts::testing::fixed_zone;

namespace {

constexpr std::int64_t utc_ns(int y, int mo, int d, int h, int mi = 0, int s = 0) {
  return utc_ms_of(civil_time{y, mo, d, h, mi, s, 0}) * ns_per_ms;
}

struct parsed {
  line_kind kind;
  std::int64_t ts_ns = 0;
  std::string why;
};

parsed parse(std::string_view line, const time_zone& zone = fixed_zone(3600),
             std::optional<std::int64_t> previous_ns = std::nullopt) {
  parsed p{line_kind::ignored, 0, {}};
  p.kind = parse_pulse_line(line, zone, previous_ns, p.ts_ns, p.why);
  return p;
}

std::string reason(std::string_view line) {
  const parsed p = parse(line);
  CHECK(p.kind == line_kind::malformed);
  return p.why;
}

const std::string expected_formats =
    " (expected epoch seconds such as 1718000000.25, or ISO-8601 such as 2024-06-10T08:13:20.250+02:00)";

} // namespace

TEST_CASE("pulse lines: epoch seconds", "[gpio_meter][format]") {
  CHECK(parse("1718000000").ts_ns == 1718000000LL * ns_per_s);
  CHECK(parse("1718000000.25").ts_ns == 1718000000LL * ns_per_s + 250'000'000);
  CHECK(parse("1718000000.123456789").ts_ns == 1718000000LL * ns_per_s + 123'456'789);  // the kernel's resolution
  CHECK(parse("1718000000.000000001").ts_ns == 1718000000LL * ns_per_s + 1);
  CHECK(parse("  1718000000.5\t\r").ts_ns == 1718000000LL * ns_per_s + 500'000'000);
  CHECK(parse("0.5").ts_ns == 500'000'000);
  CHECK(parse("1718000000.5").kind == line_kind::pulse);
}

TEST_CASE("pulse lines: ISO-8601", "[gpio_meter][format]") {
  CHECK(parse("2024-06-10T06:13:20Z").ts_ns == utc_ns(2024, 6, 10, 6, 13, 20));
  CHECK(parse("2024-06-10T06:13:20.250Z").ts_ns == utc_ns(2024, 6, 10, 6, 13, 20) + 250 * ns_per_ms);
  CHECK(parse("2024-06-10T08:13:20+02:00").ts_ns == utc_ns(2024, 6, 10, 6, 13, 20));
  CHECK(parse("2024-06-10 08:13:20.5+02:00").ts_ns == utc_ns(2024, 6, 10, 6, 13, 20) + 500 * ns_per_ms);
  // `date --iso-8601=ns`: a decimal comma, as ISO 8601 allows, and nanoseconds (to the millisecond here).
  CHECK(parse("2024-01-01T08:14:10,123456789+02:00").ts_ns == utc_ns(2024, 1, 1, 6, 14, 10) + 123 * ns_per_ms);
  // No offset: the pipeline's zone (here a fixed +01:00).
  CHECK(parse("2024-06-10T07:13:20").ts_ns == utc_ns(2024, 6, 10, 6, 13, 20));

  SECTION("local times across Europe/Paris's DST changes") {
    const auto paris = runtime::load_time_zone("Europe/Paris");
    CHECK(parse("2024-03-31T01:59:59", *paris).ts_ns == utc_ns(2024, 3, 31, 0, 59, 59));
    CHECK(parse("2024-03-31T03:00:00", *paris).ts_ns == utc_ns(2024, 3, 31, 1, 0, 0));
    // 02:30 happens twice in autumn: with no pulse before it, the earlier instant (CEST), as the SDK documents...
    CHECK(parse("2024-10-27T02:30:00", *paris).ts_ns == utc_ns(2024, 10, 27, 0, 30));
    // ...so a writer that cares writes the offset.
    CHECK(parse("2024-10-27T02:30:00+01:00", *paris).ts_ns == utc_ns(2024, 10, 27, 1, 30));
  }
}

TEST_CASE("pulse lines: the local hour the end of summer time repeats follows the pulse before it",
          "[gpio_meter][format]") {
  const auto paris = runtime::load_time_zone("Europe/Paris");
  const std::int64_t first_0259 = utc_ns(2024, 10, 27, 0, 59);  // 02:59 CEST; 03:00 CEST becomes 02:00 CET
  // 02:00 after the first 02:59: the second 02:00 (CET), an hour after the first.
  CHECK(parse("2024-10-27T02:00:00", *paris, first_0259).ts_ns == utc_ns(2024, 10, 27, 1, 0));
  CHECK(parse("2024-10-27T02:30:00.5", *paris, utc_ns(2024, 10, 27, 1, 29)).ts_ns ==
        utc_ns(2024, 10, 27, 1, 30) + 500 * ns_per_ms);
  // The first time round (after 01:59 CEST, or with no pulse before): the earlier instant.
  CHECK(parse("2024-10-27T02:00:00", *paris, utc_ns(2024, 10, 26, 23, 59)).ts_ns == utc_ns(2024, 10, 27, 0, 0));
  CHECK(parse("2024-10-27T02:00:00", *paris).ts_ns == utc_ns(2024, 10, 27, 0, 0));
  // A time with its offset, or in epoch seconds, is what it says (the counter drops it as earlier).
  CHECK(parse("2024-10-27T02:00:00+02:00", *paris, first_0259).ts_ns == utc_ns(2024, 10, 27, 0, 0));
  CHECK(parse("1729987200", *paris, first_0259).ts_ns == utc_ns(2024, 10, 27, 0, 0));
  // Earlier outside the repeated hour, or earlier even the second time round: left earlier.
  CHECK(parse("2024-10-27T01:30:00", *paris, first_0259).ts_ns == utc_ns(2024, 10, 26, 23, 30));
  CHECK(parse("2024-10-27T02:00:00", *paris, utc_ns(2024, 10, 27, 1, 30)).ts_ns == utc_ns(2024, 10, 27, 0, 0));
}

TEST_CASE("pulse lines: blank lines and comments are ignored", "[gpio_meter][format]") {
  CHECK(parse("").kind == line_kind::ignored);
  CHECK(parse("   \t").kind == line_kind::ignored);
  CHECK(parse("# written by pulse-logger 1.2").kind == line_kind::ignored);
  CHECK(parse("  # indented").kind == line_kind::ignored);
}

TEST_CASE("pulse lines: every malformed case has its reason", "[gpio_meter][format]") {
  CHECK(reason("abc") == "not a timestamp: 'abc'" + expected_formats);
  CHECK(reason("1718000000.") == "not a timestamp: '1718000000.'" + expected_formats);
  CHECK(reason(".5") == "not a timestamp: '.5'" + expected_formats);
  CHECK(reason("-1718000000") == "not a timestamp: '-1718000000'" + expected_formats);
  CHECK(reason("+1718000000") == "not a timestamp: '+1718000000'" + expected_formats);
  CHECK(reason("1.718e9") == "not a timestamp: '1.718e9'" + expected_formats);
  CHECK(reason("1718000000,5") == "not a timestamp: '1718000000,5'" + expected_formats);
  CHECK(reason("1718000000 1718000001") == "not a timestamp: '1718000000 1718000001'" + expected_formats);
  CHECK(reason("2024-13-01T00:00:00") == "not a timestamp: '2024-13-01T00:00:00'" + expected_formats);
  CHECK(reason("2024-06-10") == "not a timestamp: '2024-06-10'" + expected_formats);
  CHECK(reason("1718000000.1234567891") == "more than 9 decimals (nanoseconds) in '1718000000.1234567891'");
  CHECK(reason("1718000000123") ==
        "epoch seconds out of range: '1718000000123' (milliseconds? write seconds with a fraction, e.g. 1718000000.123)");
  CHECK(reason("9999999999") == "epoch seconds out of range: '9999999999'");
  // int64 nanoseconds hold 1678 to 2262; beyond, the product overflowed and flooded the pipeline
  CHECK(reason("2300-01-01T00:00:00Z") == "time out of range: '2300-01-01T00:00:00Z' (pulses are from 1970 to 2255)");
  CHECK(reason("1600-01-01T00:00:00Z") == "time out of range: '1600-01-01T00:00:00Z' (pulses are from 1970 to 2255)");
}

TEST_CASE("line splitter: lines however the blocks fall", "[gpio_meter][format]") {
  line_splitter s(16);
  std::vector<std::string> lines;
  std::string line;
  bool overlong = false;
  auto take = [&] {
    while (s.next(line, overlong)) lines.push_back(overlong ? "<overlong>" : line);
  };
  const std::string text = "1.5\r\n2.5\n\n" + std::string(40, '9') + "\n3.5\n4";
  for (char c : text) {  // one byte at a time
    s.feed(&c, 1);
    take();
  }
  CHECK(lines == std::vector<std::string>{"1.5", "2.5", "", "<overlong>", "3.5"});
  CHECK(s.line_number() == 5);
  REQUIRE(s.flush(line, overlong));  // the unterminated last line
  CHECK(line == "4");
  CHECK_FALSE(overlong);
  CHECK(s.line_number() == 6);
  CHECK_FALSE(s.flush(line, overlong));

  SECTION("an overlong unterminated rest is reported once at the end") {
    const std::string junk(100, 'x');
    s.feed(junk.data(), junk.size());
    CHECK_FALSE(s.next(line, overlong));
    REQUIRE(s.flush(line, overlong));
    CHECK(overlong);
    CHECK(s.line_number() == 7);
    CHECK_FALSE(s.flush(line, overlong));
  }
  SECTION("the splitter goes on after a flush (a FIFO's next writer)") {
    s.feed("7.5\n", 4);
    REQUIRE(s.next(line, overlong));
    CHECK(line == "7.5");
    CHECK(s.line_number() == 7);
  }
}

TEST_CASE("line splitter: a UTF-8 byte order mark before the first line is no part of it", "[gpio_meter][format]") {
  const std::string bom = "\xEF\xBB\xBF";
  std::string line;
  bool overlong = false;
  line_splitter s;
  const std::string text = bom + "1718000000.5\r\n" + bom + "1718000001.5\n";
  s.feed(text.data(), text.size());
  REQUIRE(s.next(line, overlong));
  CHECK(line == "1718000000.5");
  CHECK(parse(line).kind == line_kind::pulse);
  REQUIRE(s.next(line, overlong));
  CHECK(line == bom + "1718000001.5");  // only the first line's: elsewhere it is text, and not a timestamp
  CHECK(parse(line).kind == line_kind::malformed);

  line_splitter unterminated;  // a file of one line without a newline
  unterminated.feed((bom + "# pulses").data(), bom.size() + 8);
  REQUIRE(unterminated.flush(line, overlong));
  CHECK(line == "# pulses");
}

TEST_CASE("GPIO errors name the chip and line and say what to do", "[gpio_meter][messages]") {
  CHECK(chip_open_error("gpiochip9", "/dev/gpiochip9", ENOENT) ==
        "GPIO chip \"gpiochip9\" (/dev/gpiochip9) not found: /dev/gpiochip9 does not exist. Check the chip option "
        "(gpiodetect, in Debian's gpiod package, lists the chips) and that the GPIO driver is loaded; without GPIO "
        "hardware, give pulse_file instead");
  CHECK(chip_open_error("/dev/gpiochip0", "/dev/gpiochip0", EACCES) ==
        "no permission to open GPIO chip \"/dev/gpiochip0\": add the user running stream-smarts to the gpio group "
        "(sudo usermod -aG gpio USER, then log in again), or give that group the device with a udev rule");
  // A label: libgpiod opens every chip to read the labels, so without permission the lookup fails with EACCES.
  CHECK(chip_label_error("pinctrl-bcm2711", "/dev/pinctrl-bcm2711", EACCES) ==
        "no permission to open the GPIO chips (/dev/gpiochip*) to look for the one labelled \"pinctrl-bcm2711\": add "
        "the user running stream-smarts to the gpio group (sudo usermod -aG gpio USER, then log in again), or give "
        "that group the device with a udev rule");
  CHECK(chip_label_error("pinctrl-bcm2711", "/dev/pinctrl-bcm2711", ENOENT) ==  // no chip has that label
        "GPIO chip \"pinctrl-bcm2711\" not found: /dev/pinctrl-bcm2711 does not exist, and no chip is labelled "
        "\"pinctrl-bcm2711\". Check the chip option (gpiodetect, in Debian's gpiod package, lists the chips and their "
        "labels) and that the GPIO driver is loaded; without GPIO hardware, give pulse_file instead");
  CHECK(chip_open_error("/srv", "/srv", EISDIR) ==
        "/srv is not a GPIO chip (chip = \"/srv\"): give a gpiochip device such as gpiochip0 (gpiodetect lists them)");
  CHECK(chip_open_error("/dev/null", "/dev/null", ENOTTY) ==
        "/dev/null is not a GPIO chip (chip = \"/dev/null\"): give a gpiochip device such as gpiochip0 (gpiodetect "
        "lists them)");
  CHECK(chip_open_error("gpiochip0", "/dev/gpiochip0", EIO) ==
        "cannot open GPIO chip \"gpiochip0\" (/dev/gpiochip0): " + std::string(std::strerror(EIO)));

  CHECK(line_offset_error("gpiochip0", 60, 54) ==
        "GPIO chip \"gpiochip0\" has no line 60: its 54 lines are 0..53 (gpioinfo gpiochip0 lists them)");
  CHECK(line_name_error("gpiochip0", "GPIO99") ==
        "GPIO chip \"gpiochip0\" has no line named \"GPIO99\" (gpioinfo gpiochip0 lists the names; or give the "
        "line's offset, e.g. line = 17)");

  CHECK(request_error("gpiochip0", "line 17", EBUSY, "pigpio") ==
        "line 17 of GPIO chip \"gpiochip0\" is already in use by \"pigpio\": stop the program or driver holding it "
        "(gpioinfo gpiochip0 shows the consumer) or wire the meter to another line");
  CHECK(request_error("gpiochip0", "line 17", EBUSY, "").find("is already in use: stop") != std::string::npos);
  CHECK(request_error("gpiochip0", "line \"GPIO17\" (offset 17)", EACCES, "") ==
        "no permission to use line \"GPIO17\" (offset 17) of GPIO chip \"gpiochip0\": add the user running "
        "stream-smarts to the gpio group (sudo usermod -aG gpio USER, then log in again), or give that group the "
        "device with a udev rule");
  CHECK(request_error("gpiochip0", "line 4", EINVAL, "").find("set bias = \"as-is\"") != std::string::npos);
  CHECK(request_error("gpiochip0", "line 4", ENXIO, "").find("cannot report edges") != std::string::npos);
}
