// percentile_band: band validation, percentile math, training and the model
// file (round trip, and the messages for files that are not usable models).
#include "band_model.hpp"
#include "fixed_zone.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sys/stat.h>
#include <unistd.h>

using namespace stream_smarts;
using namespace stream_smarts::percentile_band;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using stream_smarts::testing::fixed_zone;

namespace {

number_matrix rows(int n, double lo = 100, double hi = 200) {
  number_matrix m;
  for (int h = 0; h < n; ++h) m.push_back({lo + h, hi + h});
  return m;
}

// `days` days of hourly readings from Monday 2007-01-01 00:00 local (+01:00);
// wh = 100 * hour + day, so every hour's values are day 0..days-1 above 100 * hour.
std::vector<reading> history(int days, int skip_hour = -1) {
  const fixed_zone zone(3600);
  std::vector<reading> out;
  for (int d = 0; d < days; ++d)
    for (int h = 0; h < 24; ++h) {
      if (h == skip_hour) continue;
      reading r;
      r.meter = "home";
      r.ts_ms = zone.to_utc_ms(civil_time{2007, 1, 1 + d, h, 0, 0, 0});
      r.wh = 100.0 * h + d;
      r.local = zone.local(r.ts_ms);
      out.push_back(r);
    }
  return out;
}

std::string temp_dir() {
  auto dir = std::filesystem::temp_directory_path() / ("band_model_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::string model_error_of(const std::string& text) {
  try {
    from_toml(text);
  } catch (const model_error& e) {
    return e.what();
  }
  FAIL("no model_error for:\n" << text);
  return {};
}

std::string valid_header() {
  return "format = \"stream-smarts/percentile_band\"\nformat_version = 1\n";
}

} // namespace

TEST_CASE("band rows are checked with messages for the user", "[band]") {
  const day_bands b = bands_from_rows(rows(24), "band");
  CHECK(b[0].lo == 100);
  CHECK(b[23].hi == 223);

  CHECK_THROWS_WITH(bands_from_rows(rows(23), "band"), "band needs 24 [lo, hi] rows, one per hour 0..23; got 23");
  CHECK_THROWS_WITH(bands_from_rows({}, "band"), "band needs 24 [lo, hi] rows, one per hour 0..23; got 0");

  auto m = rows(24);
  m[3] = {300, 200};
  CHECK_THROWS_WITH(bands_from_rows(m, "band"), "band row for hour 3: hi (200) must be above lo (300)");
  m[3] = {250.5, 250.5};
  CHECK_THROWS_WITH(bands_from_rows(m, "band"), "band row for hour 3: hi (250.5) must be above lo (250.5)");
  m[3] = {1, 3, 2};
  CHECK(bands_from_rows(m, "band")[3].centre == 2);
  CHECK(std::isnan(bands_from_rows(m, "band")[4].centre));
  m[3] = {1, 3, NAN};
  CHECK_THROWS_WITH(bands_from_rows(m, "band"), "band row for hour 3: centre must be a finite number");
  m[3] = {1, 2, 3, 4};
  CHECK_THROWS_WITH(bands_from_rows(m, "band"), "band row for hour 3: expected [lo, hi] or [lo, hi, centre], got 4 numbers");
  m[3] = {1};
  CHECK_THROWS_WITH(bands_from_rows(m, "band"), "band row for hour 3: expected [lo, hi] or [lo, hi, centre], got 1 numbers");
  m[3] = {0, std::numeric_limits<double>::infinity()};
  CHECK_THROWS_WITH(bands_from_rows(m, "band"), "band row for hour 3: lo and hi must be finite numbers");
  CHECK_THROWS_AS(bands_from_rows(m, "band"), model_error);
}

TEST_CASE("percentile options", "[band]") {
  CHECK_NOTHROW(check_percentiles(0, 100));
  CHECK_NOTHROW(check_percentiles(1, 99));
  auto option_of = [](double lo, double hi) {
    try {
      check_percentiles(lo, hi);
    } catch (const option_error& e) {
      return e.option() + ": " + e.what();
    }
    return std::string("no error");
  };
  CHECK(option_of(-1, 99) == "lo_percentile: must be within 0..100; got -1");
  CHECK(option_of(1, 100.5) == "hi_percentile: must be within 0..100; got 100.5");
  CHECK(option_of(50, 50) == "hi_percentile: hi_percentile (50) must be above lo_percentile (50)");
  CHECK(option_of(std::nan(""), 50) == "lo_percentile: must be within 0..100; got nan");
}

TEST_CASE("percentiles interpolate linearly between closest ranks", "[band]") {
  const std::vector<double> v{10, 20, 30, 40};
  CHECK(percentile(v, 0) == 10);    // the minimum
  CHECK(percentile(v, 100) == 40);  // the maximum
  CHECK(percentile(v, 50) == Approx(25));
  CHECK(percentile(v, 25) == Approx(17.5));  // rank 0.75
  CHECK(percentile({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90) == Approx(9.1));
  CHECK(percentile({42}, 0) == 42);
  CHECK(percentile({42}, 99) == 42);
  CHECK_THROWS(percentile({}, 50));
}

TEST_CASE("training per hour", "[band][train]") {
  const band_model m = train(history(10), 0, 100, false);
  CHECK_FALSE(m.by_weekday);
  CHECK(m.readings == 240);
  CHECK(m.trained_from == "2007-01-01T00:00:00+01:00");
  CHECK(m.trained_to == "2007-01-10T23:00:00+01:00");
  for (int h = 0; h < 24; ++h) {
    CHECK(m.bands[0][h].lo == 100.0 * h);      // p0 = minimum
    CHECK(m.bands[0][h].hi == 100.0 * h + 9);  // p100 = maximum
    CHECK(m.bands[0][h].centre == 100.0 * h + 4.5);  // the median
    CHECK(m.bands[6][h].lo == m.bands[0][h].lo);
  }
  const band_model p = train(history(10), 10, 90, false);
  CHECK(p.bands[0][5].lo == Approx(500.9));
  CHECK(p.bands[0][5].hi == Approx(508.1));
  CHECK(summary(p, "out.toml") ==
        "percentile_band: 240 readings from 2007-01-01T00:00:00+01:00 to 2007-01-10T23:00:00+01:00, "
        "band p10-p90 per hour, written to out.toml");
}

TEST_CASE("training per weekday and hour", "[band][train]") {
  const band_model m = train(history(14), 0, 100, true);
  CHECK(m.by_weekday);
  // Monday is day 0 and day 7 of the history; Sunday days 6 and 13.
  CHECK(m.bands[0][4].lo == 400);
  CHECK(m.bands[0][4].hi == 407);
  CHECK(m.bands[6][4].lo == 406);
  CHECK(m.bands[6][4].hi == 413);
  CHECK_THAT(summary(m, "f"), Contains("band p0-p100 per weekday and hour"));

  CHECK_THROWS_WITH(train(history(6), 0, 100, true),
                    "percentile_band: no reading for Sunday hour 00 in the history; every weekday and hour needs at "
                    "least one");
}

TEST_CASE("training problems", "[band][train]") {
  CHECK_THROWS_WITH(train({}, 0, 100, false), "percentile_band: the history has no readings");
  CHECK_THROWS_WITH(train(history(3, 5), 0, 100, false),
                    "percentile_band: no reading for hour 05 in the history; every hour of the day needs at least one");
  CHECK_THROWS_AS(train(history(3), 60, 40, false), option_error);
}

TEST_CASE("a flat hour gets a tiny positive width", "[band][train]") {
  const band_model one_day = train(history(1), 0, 100, false);  // one reading per hour: lo == hi
  CHECK(one_day.bands[0][0].lo == 0);
  CHECK(one_day.bands[0][0].hi == 1e-9);
  CHECK(one_day.bands[0][10].lo == 1000);
  CHECK(one_day.bands[0][10].hi == Approx(1000.001));
  CHECK(one_day.bands[0][10].hi > one_day.bands[0][10].lo);
}

TEST_CASE("model text round trip", "[band][file]") {
  band_model m = train(history(14), 2.5, 97.5, false);
  m.timezone = "Europe/Paris";
  const std::string text = to_toml(m);
  CHECK_THAT(text, StartsWith("# stream-smarts percentile_band model"));
  CHECK_THAT(text, Contains("format = \"stream-smarts/percentile_band\"\nformat_version = 1\n"));
  CHECK_THAT(text, Contains("timezone = \"Europe/Paris\"\nlo_percentile = 2.5\nhi_percentile = 97.5\nby_weekday = false\n"));
  CHECK_THAT(text, Contains("[0.325, 12.675, 6.5],  # 00:00\n"));

  const band_model back = from_toml(text);
  CHECK(back.by_weekday == m.by_weekday);
  CHECK(back.timezone == m.timezone);
  CHECK(back.lo_percentile == 2.5);
  CHECK(back.hi_percentile == 97.5);
  CHECK(back.trained_from == m.trained_from);
  CHECK(back.trained_to == m.trained_to);
  CHECK(back.readings == m.readings);
  for (int d = 0; d < 7; ++d)
    for (int h = 0; h < 24; ++h) {
      CHECK(back.bands[d][h].lo == m.bands[d][h].lo);  // exact: shortest round-trip numbers
      CHECK(back.bands[d][h].hi == m.bands[d][h].hi);
      CHECK(back.bands[d][h].centre == m.bands[d][h].centre);
    }

  band_model w = train(history(21), 0, 100, true);
  const band_model wb = from_toml(to_toml(w));
  CHECK(wb.by_weekday);
  for (int d = 0; d < 7; ++d)
    for (int h = 0; h < 24; ++h) CHECK(wb.bands[d][h].hi == w.bands[d][h].hi);
}

TEST_CASE("model files are written atomically and read back", "[band][file]") {
  const std::string dir = temp_dir();
  const std::string path = dir + "/models/band.toml";  // the folder does not exist yet
  const band_model m = train(history(7), 0, 100, false);
  write_model_file(m, path);
  write_model_file(m, path);  // replacing works too
  CHECK(read_model_file(path).bands[0][12].hi == m.bands[0][12].hi);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/models")) {
    (void)e;
    ++files;
  }
  CHECK(files == 1);  // no temporary file left behind

  CHECK_THROWS_WITH(read_model_file(dir + "/missing.toml"), "cannot open: No such file or directory");
  CHECK_THROWS_WITH(read_model_file(dir), "cannot open: Is a directory");
  // model = "/dev/zero" read until memory ran out.
  CHECK_THROWS_WITH(read_model_file("/dev/zero"), "too large: over 16 MiB (a model file is a few KiB)");
  CHECK_THROWS_AS(write_model_file(m, dir + "/models/band.toml/x"), std::runtime_error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a model file gets the umask's mode when new, and keeps its own when retrained", "[band][file]") {
  // A household's hourly profile says when people are home: a user who keeps
  // it private (umask 077, chmod 600) must not find it world-readable.
  const std::string dir = temp_dir();
  const std::string path = dir + "/band.toml";
  const band_model m = train(history(7), 0, 100, false);
  const auto mode_of = [&] { return std::filesystem::status(path).permissions() & std::filesystem::perms::all; };
  using p = std::filesystem::perms;
  const mode_t before = ::umask(077);
  write_model_file(m, path);
  ::umask(before);
  CHECK(mode_of() == (p::owner_read | p::owner_write));
  std::filesystem::permissions(path, p::owner_read | p::owner_write | p::group_read);
  write_model_file(m, path);  // retrained under another umask: its own mode stays
  CHECK(mode_of() == (p::owner_read | p::owner_write | p::group_read));
  std::filesystem::remove(path);
  const mode_t usual = ::umask(022);
  write_model_file(m, path);
  ::umask(usual);
  CHECK(mode_of() == (p::owner_read | p::owner_write | p::group_read | p::others_read));
  std::filesystem::remove_all(dir);
}

TEST_CASE("files that are not usable models", "[band][file]") {
  const std::string good = to_toml(train(history(7), 0, 100, false));

  SECTION("truncated") {
    CHECK_THAT(model_error_of(good.substr(0, good.size() / 2)), StartsWith("not valid TOML (line "));
    const auto cut = good.find("band = [");
    CHECK(model_error_of(good.substr(0, cut)) == "no 'band' array (a truncated file?)");
  }
  SECTION("foreign") {
    CHECK(model_error_of("title = \"my config\"\n") ==
          "not a percentile_band model: no 'format' key (expected format = \"stream-smarts/percentile_band\")");
    CHECK(model_error_of("format = \"stream-smarts/other\"\nformat_version = 1\n") ==
          "not a percentile_band model: format is \"stream-smarts/other\" (expected format = "
          "\"stream-smarts/percentile_band\")");
    CHECK(model_error_of("format = 3\n") ==
          "not a percentile_band model: format is not a string (expected format = \"stream-smarts/percentile_band\")");
    CHECK_THAT(model_error_of("{\"format\": 1}"), StartsWith("not valid TOML (line 1, column 1): "));
    std::string deep = "a";  // ~35,000 parts overflowed toml++ 3.3's stack
    for (int i = 0; i < 100'000; ++i) deep += ".a";
    CHECK(model_error_of("format = \"stream-smarts/percentile_band\"\n" + deep + " = 1\n") ==
          "not valid TOML (line 2, column 1): a key of more than 1024 dotted parts");
  }
  SECTION("versions") {
    CHECK(model_error_of("format = \"stream-smarts/percentile_band\"\nformat_version = 2\n") ==
          "unsupported format_version 2 (this plugin reads version 1)");
    CHECK(model_error_of("format = \"stream-smarts/percentile_band\"\n") == "no integer 'format_version' key");
  }
  SECTION("bad bands") {
    std::string text = valid_header() + "band = [\n";
    for (int h = 0; h < 24; ++h) text += h == 3 ? "[300, 200],\n" : "[1, 2],\n";
    CHECK(model_error_of(text + "]\n") == "band row for hour 3: hi (200) must be above lo (300)");
    CHECK(model_error_of(valid_header() + "band = [[1, 2]]\n") ==
          "band needs 24 [lo, hi] rows, one per hour 0..23; got 1");
    CHECK(model_error_of(valid_header() + "band = 5\n") == "'band' must be an array of [lo, hi] rows");
    std::string strings = valid_header() + "band = [";
    for (int h = 0; h < 24; ++h) strings += "[\"a\", 2],";
    CHECK(model_error_of(strings + "]\n") == "band row for hour 0: lo and hi must be finite numbers");
    CHECK(model_error_of(valid_header() + "by_weekday = true\nband = []\n") ==
          "no 'band_by_weekday' array (by_weekday = true needs one)");
    CHECK(model_error_of(valid_header() + "by_weekday = true\nband_by_weekday = [[]]\n") ==
          "band_by_weekday needs 7 lists of 24 [lo, hi] rows, Monday..Sunday; got 1");
    CHECK(model_error_of(valid_header() + "by_weekday = true\nband_by_weekday = [[],[],[],[],[],[],[]]\n") ==
          "band_by_weekday[0] (Monday) needs 24 [lo, hi] rows, one per hour 0..23; got 0");
    CHECK(model_error_of(valid_header() + "by_weekday = \"yes\"\n") == "by_weekday must be true or false");
  }
  SECTION("a minimal hand-written model with integers is fine") {
    std::string text = valid_header() + "band = [";
    for (int h = 0; h < 24; ++h) text += "[100, 2000], ";
    const band_model m = from_toml(text + "]\n");
    CHECK(m.bands[4][7].lo == 100);
    CHECK(m.bands[4][7].hi == 2000);
    CHECK(m.timezone.empty());
  }
  SECTION("NaN and infinity are refused; unknown keys and mistyped provenance are not") {
    // docs/reliability.md: NaN/inf, wrong types and unknown fields in a model file.
    for (const char* bad : {"[nan, 2000]", "[100, inf]", "[100, 2000, -nan]"}) {
      std::string text = valid_header() + "band = [";
      for (int h = 0; h < 24; ++h) text += h == 5 ? std::string(bad) + ", " : "[100, 2000], ";
      INFO(bad);
      CHECK_THAT(model_error_of(text + "]\n"), StartsWith("band row for hour 5: "));
    }
    std::string text = valid_header() + "written_by = \"a newer version\"\nreadings = \"many\"\nband = [";
    for (int h = 0; h < 24; ++h) text += "[100, 2000], ";
    const band_model m = from_toml(text + "]\n");
    CHECK(m.bands[0][5].hi == 2000);
    CHECK(m.readings == 0);
  }
}
