// The dlib_regression scorer as built (.so), through the SDK: training on a
// synthetic history, determinism, bit-identical scores after reloading, and
// every way a model file can be unusable. The plugin's dlib code is not
// compiled in here: it is reached only through the .so.
#include "plugin_harness.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

using namespace stream_smarts;
using namespace stream_smarts::testing;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;

namespace {

const std::string how_to_train =
    "train one with `stream-smarts train --scorer dlib_regression --data FILE --out FILE`";

// Low at night, a morning bump, high in the evening; +-10 % of deterministic noise.
double typical_wh(int hour) {
  if (hour < 6) return 150;
  if (hour < 9) return 500;
  if (hour < 17) return 350;
  if (hour < 22) return 1200;
  return 400;
}

std::vector<reading> history(int hours, int step_minutes = 60, int start_day = 1) {
  const fixed_zone zone(3600);
  const std::int64_t t0 = zone.to_utc_ms({2007, 1, start_day, 0, 0, 0, 0});  // a Monday
  std::uint32_t state = 12345;
  std::vector<reading> out;
  for (int i = 0; i < hours; ++i) {
    reading r;
    r.ts_ms = t0 + i * step_minutes * 60000LL;
    r.local = zone.local(r.ts_ms);
    state = state * 1664525u + 1013904223u;
    const double noise = (static_cast<double>(state >> 8) / (1u << 24)) * 2 - 1;  // -1..1
    r.wh = typical_wh(r.local.hour) * (1 + 0.1 * noise);
    out.push_back(r);
  }
  return out;
}

reading at(int day, int hour, int minute, double wh) {
  const fixed_zone zone(3600);
  reading r;
  r.ts_ms = zone.to_utc_ms({2007, 1, day, hour, minute, 0, 0});
  r.local = zone.local(r.ts_ms);
  r.wh = wh;
  return r;
}

std::uint64_t fnv1a64(const std::string& bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::uint64_t bits(double v) {
  std::uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

// A model file taken apart: header text (with its empty line) and payload.
struct model_parts {
  std::string header, payload;
  explicit model_parts(const std::string& file) {
    const auto end = file.find("\n\n");
    REQUIRE(end != std::string::npos);
    header = file.substr(0, end + 2);
    payload = file.substr(end + 2);
  }
  // The header's line for `key` replaced by `key = value`.
  model_parts& set(const std::string& key, const std::string& value) {
    const auto at = header.find("\n" + key + " = ");
    REQUIRE(at != std::string::npos);
    const auto end = header.find('\n', at + 1);
    header.replace(at + 1, end - at - 1, key + " = " + value);
    return *this;
  }
  // Another payload with a header that vouches for it (size and checksum).
  model_parts& with_payload(std::string p) {
    payload = std::move(p);
    char sum[17];
    std::snprintf(sum, sizeof sum, "%016llx", static_cast<unsigned long long>(fnv1a64(payload)));
    return set("payload_bytes", std::to_string(payload.size())).set("payload_fnv1a64", sum);
  }
  std::string file() const { return header + payload; }
};

struct trained {
  const plugin_descriptor& d = load(DLIB_PLUGIN);
  temp_dir dir;
  std::string path = dir.path + "/model.bin";
  std::string summary;
  std::vector<double> progress;
  explicit trained(const std::vector<reading>& h = history(24 * 7 * 8), std::map<std::string, option_value> o = {}) {
    fake_context ctx(d, std::move(o), dir.path);
    summary = d.train(h, ctx, path);
    progress = ctx.progress_;
  }
  std::string bytes() const { return dir.read("model.bin"); }
  // "model: <path>: <what>" for a model file with these bytes, or "no error".
  std::string error_for(const std::string& bytes, const std::string& name = "bad.bin") const {
    dir.write(name, bytes);
    return option_error_of([&] {
      fake_context ctx(d, {{"model", name}}, dir.path);
      d.make_scorer(ctx);
    });
  }
  std::string where(const std::string& name = "bad.bin") const { return "model: " + dir.path + "/" + name + ": "; }
};

} // namespace

TEST_CASE("dlib_regression learns the daily shape of a history", "[stages][dlib]") {
  trained t;
  CHECK(t.d.info.name == "dlib_regression");
  CHECK_THAT(t.summary, StartsWith("dlib_regression: 1344 readings from 2007-01-01T00:00:00+01:00 to "
                                   "2007-02-25T23:00:00+01:00, band p0.5-p99.5 of standardized residuals, "));
  CHECK_THAT(t.summary, EndsWith(" basis vectors, written to " + t.path));

  // Progress: from 0 to 1, never backwards.
  REQUIRE(t.progress.size() >= 5);
  CHECK(t.progress.front() == 0);
  CHECK(t.progress.back() == 1);
  for (std::size_t i = 1; i < t.progress.size(); ++i) CHECK(t.progress[i] >= t.progress[i - 1]);

  fake_context ctx(t.d, {{"model", std::string("model.bin")}}, t.dir.path);
  auto s = t.d.make_scorer(ctx);
  REQUIRE(ctx.log_.lines.size() == 2);  // same zone: no warning
  CHECK_THAT(ctx.log_.lines[0], StartsWith("info: loaded " + t.path + " (1344 readings from 2007-01-01T00:00:00+01:00"));
  // Both functions were fitted on the same samples: one kernel evaluation serves both.
  CHECK_THAT(ctx.log_.lines[1], StartsWith("debug: "));
  CHECK_THAT(ctx.log_.lines[1], EndsWith(" basis vectors, shared by the centre and spread functions"));

  // 2 kW at 4 am is far above a night's band; a usual evening is inside its band.
  const auto night = s->score(at(10, 4, 0, 2000));
  CHECK(night.score > 1);
  CHECK(night.expected_hi < 400);
  CHECK(night.expected == Approx(150).epsilon(0.25));
  const auto evening = s->score(at(10, 19, 0, 1200));
  CHECK(evening.score > 0);
  CHECK(evening.score < 1);
  CHECK(evening.expected_lo > 600);
  CHECK(evening.expected == Approx(1200).epsilon(0.25));
  CHECK(evening.expected_lo < evening.expected);
  CHECK(evening.expected < evening.expected_hi);
  // A quiet evening is below the band.
  CHECK(s->score(at(10, 19, 0, 150)).score < 0);

  // Over the training history itself, the band holds about 99 % of readings.
  int inside = 0;
  const auto h = history(24 * 7 * 8);
  for (const auto& r : h) {
    const double score = s->score(r).score;
    inside += score >= 0 && score <= 1;
  }
  CHECK(inside >= static_cast<int>(h.size() * 0.97));

  reading bad = at(10, 4, 0, 100);
  bad.local.hour = 24;
  CHECK_THROWS_AS(s->score(bad), std::out_of_range);
}

TEST_CASE("dlib_regression training is deterministic", "[stages][dlib]") {
  trained a, b;
  const std::string bytes = a.bytes();
  CHECK(bytes == b.bytes());
  CHECK(a.summary.substr(0, a.summary.find(", written to")) == b.summary.substr(0, b.summary.find(", written to")));
  CHECK_THAT(bytes, StartsWith("stream-smarts/dlib_regression\nformat_version = 1\n"
                               "features = hour_sin,hour_cos,weekday_sin,weekday_cos,year_sin,year_cos\n"
                               "log_offset_wh = 50\ntimezone = Europe/Paris\n"
                               "trained_from = 2007-01-01T00:00:00+01:00\ntrained_to = 2007-02-25T23:00:00+01:00\n"
                               "readings = 1344\nlo_percentile = 0.5\nhi_percentile = 99.5\ngamma = 0.2\n"
                               "max_basis = 50\npayload_bytes = "));

  // Another option gives another model.
  trained c(history(24 * 7 * 8), {{"hi_percentile", 99.0}});
  CHECK(c.bytes() != bytes);
  CHECK_THAT(c.bytes(), Contains("\nhi_percentile = 99\n"));
}

TEST_CASE("dlib_regression scores are bit-identical after reloading", "[stages][dlib]") {
  trained t;
  fake_context c1(t.d, {{"model", std::string("model.bin")}}, t.dir.path);
  fake_context c2(t.d, {{"model", std::string("model.bin")}}, t.dir.path);
  auto s1 = t.d.make_scorer(c1);
  auto s2 = t.d.make_scorer(c2);
  // Every 37 minutes for 200 days: all hours, minutes, weekdays, much of the year.
  int compared = 0;
  for (int i = 0; i < 200 * 24 * 60 / 37; ++i) {
    reading r = at(1, 0, 0, 0);
    const fixed_zone zone(3600);
    r.ts_ms += i * 37 * 60000LL;
    r.local = zone.local(r.ts_ms);
    r.wh = 50 + i % 3000;
    const auto a = s1->score(r), b = s2->score(r);
    INFO(format_local_iso8601(r.local));
    REQUIRE(std::isfinite(a.score));
    REQUIRE(bits(a.score) == bits(b.score));
    REQUIRE(bits(a.expected_lo) == bits(b.expected_lo));
    REQUIRE(bits(a.expected_hi) == bits(b.expected_hi));
    REQUIRE(bits(a.expected) == bits(b.expected));
    REQUIRE(a.expected_hi - a.expected_lo >= 1e-9);
    ++compared;
  }
  CHECK(compared > 7000);
  // Scores right after training equal those of the file: the trainer reads
  // the file it wrote back and compares the bands for the whole history.
}

TEST_CASE("dlib_regression model file problems are option errors on model", "[stages][dlib]") {
  trained t;
  const std::string good = t.bytes();
  const model_parts parts(good);
  CHECK(t.error_for(good) == "no error");

  CHECK(option_error_of([&] {
          fake_context ctx(t.d, {{"model", std::string("missing.bin")}}, t.dir.path);
          t.d.make_scorer(ctx);
        }) == t.where("missing.bin") + "cannot open: No such file or directory");
  CHECK(option_error_of([&] {
          fake_context ctx(t.d, {{"model", std::string(".")}}, t.dir.path);
          t.d.make_scorer(ctx);
        }) == "model: " + t.dir.path + "/.: cannot open: Is a directory");
  CHECK(t.error_for("") == t.where() +
                               "empty file (expected a model written by `stream-smarts train --scorer dlib_regression`)");

  SECTION("too large to be a model") {
    std::string huge = good;
    huge.resize((64u << 20) + 1, 'x');
    CHECK(t.error_for(huge) == t.where() + "too large: over 64 MiB (a dlib_regression model is a few KiB)");
  }
  SECTION("a percentile_band model") {
    const auto& band = load(BAND_PLUGIN);
    fake_context ctx(band, {}, t.dir.path);
    band.train(history(24 * 7), ctx, t.dir.path + "/band.toml");
    const std::string toml = t.dir.read("band.toml");
    const std::string first = toml.substr(0, toml.find('\n'));
    REQUIRE(first.size() > 40);
    CHECK(t.error_for(toml) ==
          t.where() + "not a dlib_regression model file (it starts with '" + first.substr(0, 40) + "...')");
    CHECK(t.error_for("\x7f" "ELF\x02\x01") ==
          t.where() + "not a dlib_regression model file (it starts with '?ELF?" "?')");
  }
  SECTION("cut short") {
    const std::size_t half = good.size() / 2;
    REQUIRE(half > parts.header.size());
    CHECK(t.error_for(good.substr(0, half)) ==
          t.where() + "truncated: header says " + std::to_string(parts.payload.size()) + " payload bytes, file has " +
              std::to_string(half - parts.header.size()));
    CHECK(t.error_for(good.substr(0, 100)) ==
          t.where() + "truncated: the header does not end (no empty line before the payload)");
    CHECK(t.error_for(good + "xyz") ==
          t.where() + "header says " + std::to_string(parts.payload.size()) + " payload bytes, file has " +
              std::to_string(parts.payload.size() + 3) + " (something was appended?)");
  }
  SECTION("a flipped byte in the payload") {
    std::string bad = good;
    bad[parts.header.size() + parts.payload.size() / 2] ^= 0x10;
    CHECK_THAT(t.error_for(bad), StartsWith(t.where() + "checksum mismatch: header says payload_fnv1a64 = "));
    CHECK_THAT(t.error_for(bad), EndsWith(" (the file is damaged)"));
  }
  SECTION("header problems") {
    CHECK(t.error_for(model_parts(good).set("format_version", "2").file()) ==
          t.where() + "unsupported format_version 2 (this plugin reads version 1)");
    CHECK(t.error_for(model_parts(good).set("features", "hour_sin,hour_cos").file()) ==
          t.where() + "features are 'hour_sin,hour_cos' but this plugin computes "
                      "'hour_sin,hour_cos,weekday_sin,weekday_cos,year_sin,year_cos' (a model from another version?)");
    CHECK(t.error_for(model_parts(good).set("log_offset_wh", "fifty").file()) ==
          t.where() + "header line 4: log_offset_wh is not a number: 'fifty'");
    CHECK(t.error_for(model_parts(good).set("log_offset_wh", "-1").file()) ==
          t.where() + "header line 4: log_offset_wh must be a finite number above 0; got -1");
    CHECK(t.error_for(model_parts(good).set("payload_bytes", "-1").file()) ==
          t.where() + "header line 13: payload_bytes must be 0 or more; got -1");
    CHECK(t.error_for(model_parts(good).set("payload_fnv1a64", "xyz").file()) ==
          t.where() + "header line 14: payload_fnv1a64 is not 16 hexadecimal digits: 'xyz'");
    std::string no_version = good;
    no_version.erase(no_version.find("format_version = 1\n"), 19);
    CHECK(t.error_for(no_version) == t.where() + "the header has no 'format_version = ...' line");
    std::string repeated = good;
    repeated.insert(repeated.find("gamma = "), "gamma = 1\n");
    CHECK(t.error_for(repeated) == t.where() + "header line 12 repeats 'gamma'");
    std::string no_equals = good;
    no_equals.insert(no_equals.find("gamma = "), "what\n");
    CHECK(t.error_for(no_equals) == t.where() + "header line 11 is not 'key = value': 'what'");
  }
  SECTION("payloads that pass the checksum but are not a model") {
    CHECK_THAT(t.error_for(model_parts(good).with_payload(std::string(100, 'x')).file()),
               StartsWith(t.where() + "payload cannot be read: "));
    CHECK_THAT(t.error_for(model_parts(good).with_payload("").file()),
               StartsWith(t.where() + "payload cannot be read: "));
    CHECK(t.error_for(model_parts(good).with_payload(parts.payload + "abc").file()) ==
          t.where() + "payload has 3 bytes after the model");
    CHECK_THAT(t.error_for(model_parts(good).with_payload(parts.payload.substr(0, parts.payload.size() - 1)).file()),
               StartsWith(t.where() + "payload cannot be read: "));
  }
  SECTION("a model from another time zone loads with a warning") {
    t.dir.write("paris.bin", model_parts(good).set("timezone", "America/New_York").file());
    fake_context ctx(t.d, {{"model", std::string("paris.bin")}}, t.dir.path);
    t.d.make_scorer(ctx);
    REQUIRE(ctx.log_.lines.size() == 3);
    CHECK(ctx.log_.lines[0] == "warning: model: " + t.dir.path +
                                   "/paris.bin: trained in time zone America/New_York but read in Europe/Paris "
                                   "here (the pipeline's timezone, or --timezone); its hours may be shifted");
  }
}

TEST_CASE("dlib_regression never crashes on a damaged model file", "[stages][dlib]") {
  trained t;
  const std::string good = t.bytes();
  const model_parts parts(good);
  const std::string prefix = t.where();
  int loaded = 0, refused = 0;
  auto attempt = [&](const std::string& bytes) {
    const std::string e = t.error_for(bytes);
    if (e == "no error") ++loaded;
    else {
      INFO(e);
      CHECK_THAT(e, StartsWith(prefix));
      ++refused;
    }
  };
  // Every header byte changed; the payload's bytes changed with a checksum
  // that vouches for them, so dlib's reader sees the damage; cut anywhere.
  for (std::size_t i = 0; i < parts.header.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x21);
    attempt(bad);
  }
  for (std::size_t i = 0; i < parts.payload.size(); i += 7) {
    for (const unsigned char x : {0x01, 0x80, 0xFF}) {
      std::string p = parts.payload;
      p[i] = static_cast<char>(p[i] ^ x);
      attempt(model_parts(good).with_payload(p).file());
    }
  }
  for (std::size_t n = 0; n < good.size(); n += 61) attempt(good.substr(0, n));
  // Many payload changes still make a usable model (a mantissa bit); the
  // rest, and every cut, must be refused with a message.
  CHECK(refused > 500);
  CHECK(loaded > 500);
  CHECK(loaded + refused ==
        static_cast<int>(parts.header.size() + 3 * ((parts.payload.size() + 6) / 7) + (good.size() + 60) / 61));
}

TEST_CASE("dlib_regression option problems", "[stages][dlib]") {
  const auto& d = load(DLIB_PLUGIN);
  auto error = [&](std::map<std::string, option_value> given) {
    if (!given.count("model")) given["model"] = std::string("m.bin");
    return option_error_of([&] {
      fake_context ctx(d, std::move(given), "/nonexistent");
      d.make_scorer(ctx);
    });
  };
  CHECK(error({}) == "model: /nonexistent/m.bin: cannot open: No such file or directory");
  CHECK(option_error_of([&] {
          fake_context ctx(d, {}, "/nonexistent");
          d.make_scorer(ctx);
        }) == "model: model is not set: " + how_to_train);
  CHECK(training_error_of(d, {{"lo_percentile", 120.0}}) == "lo_percentile: must be within 0..100; got 120");
  CHECK(training_error_of(d, {{"hi_percentile", -1.0}}) == "hi_percentile: must be within 0..100; got -1");
  CHECK(training_error_of(d, {{"lo_percentile", 50.0}, {"hi_percentile", 50.0}}) ==
        "hi_percentile: hi_percentile (50) must be above lo_percentile (50)");
  // The ranges of gamma, max_basis and the excess options are the runtime's to check (declared with them).
  CHECK(error({{"excess_baseline_hours", 0.5}}) ==
        "excess_baseline_hours: must be 0 (off) or within 1..10000 hours; got 0.5");
}

TEST_CASE("dlib_regression refuses too little history", "[stages][dlib]") {
  const auto& d = load(DLIB_PLUGIN);
  temp_dir dir;
  auto train_error = [&](const std::vector<reading>& h) -> std::string {
    fake_context ctx(d, {}, dir.path);
    try {
      d.train(h, ctx, dir.path + "/m.bin");
    } catch (const std::exception& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK(train_error(history(167)) ==
        "dlib_regression: the history has 167 readings; training needs at least 168 (a week of hourly readings)");
  CHECK(train_error({}) ==
        "dlib_regression: the history has 0 readings; training needs at least 168 (a week of hourly readings)");
  std::vector<reading> no_three;
  for (const auto& r : history(24 * 14))
    if (r.local.hour != 3) no_three.push_back(r);
  CHECK(train_error(no_three) ==
        "dlib_regression: no reading at hour 03 in the history; every hour of the day needs at least one");
  CHECK(train_error(history(200, 7)) == "dlib_regression: every reading in the history falls on the same weekday; "
                                       "training needs at least two (a week or more of history)");
  auto negative = history(24 * 7);
  negative[30].wh = -5;
  CHECK(train_error(negative) ==
        "dlib_regression: reading at 2007-01-02T06:00:00+01:00 has wh -5; training needs finite values >= 0");
  CHECK(train_error(history(24 * 7)) == "no error");
  // Only the model: no temporary file left behind.
  const auto entries = std::distance(std::filesystem::directory_iterator(dir.path), {});
  CHECK(entries == 1);
}
