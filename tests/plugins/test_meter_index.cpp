// A meter's index read as use (replay's wh_kind = "index"): between its
// records, and resampled at the clock's boundaries.
#include "fixed_zone.hpp"
#include <common/meter_index.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <tuple>

using namespace stream_smarts;
using stream_smarts::testing::fixed_zone;

namespace {

constexpr std::int64_t t0 = 1'704'067'200'000;  // 2024-01-01T00:00:00Z

reading index_at(std::int64_t minutes, double wh, std::string meter = "home") {
  reading r;
  r.meter = std::move(meter);
  r.ts_ms = t0 + minutes * minute_ms;
  r.wh = wh;
  return r;
}

struct fed {
  std::deque<reading> use;
  std::vector<std::string> refused;
};

fed feed(meter_indexes& m, const std::vector<reading>& indexes) {
  fed out;
  for (const reading& r : indexes) {
    std::string why;
    m.add(r, out.use, why);
    if (!why.empty()) out.refused.push_back(why);
  }
  return out;
}

} // namespace

TEST_CASE("an index gives the use between its records, each over its own time", "[replay][index]") {
  const fixed_zone utc(0);
  meter_indexes m(0, utc);
  const auto got = feed(m, {index_at(20, 100), index_at(60, 300), index_at(90, 900)});
  REQUIRE(got.refused.empty());
  REQUIRE(got.use.size() == 2);
  CHECK(got.use[0].ts_ms == t0 + 20 * minute_ms);
  CHECK(got.use[0].span_ms == 40 * minute_ms);
  CHECK(got.use[0].wh == 200);
  CHECK(got.use[1].span_ms == 30 * minute_ms);
  CHECK(got.use[1].wh == 600);
}

TEST_CASE("a resampled index gives the use of each clock hour, interpolated at its boundaries", "[replay][index]") {
  const fixed_zone utc(0);
  meter_indexes m(hour_ms, utc);
  // 00:20 is before the first boundary; 01:00 is one; nothing ends at 01:30;
  // 03:30 completes 01:00-02:00 and 02:00-03:00 (975 and 1125 Wh at them).
  const auto got = feed(m, {index_at(20, 100), index_at(60, 300), index_at(90, 900), index_at(210, 1200)});
  REQUIRE(got.refused.empty());
  REQUIRE(got.use.size() == 2);
  CHECK(got.use[0].ts_ms == t0 + hour_ms);
  CHECK(got.use[0].span_ms == hour_ms);
  CHECK(got.use[0].wh == Approx(675));
  CHECK(got.use[1].ts_ms == t0 + 2 * hour_ms);
  CHECK(got.use[1].wh == Approx(150));
}

TEST_CASE("resampling follows the zone's own hours", "[replay][index]") {
  const fixed_zone india(5 * 3600 + 1800, "Asia/Kolkata");
  meter_indexes m(hour_ms, india);
  // Local hours begin at :30 UTC: 00:30 and 01:30 are boundaries.
  const auto got = feed(m, {index_at(0, 0), index_at(120, 1200)});
  REQUIRE(got.use.size() == 1);
  CHECK(got.use[0].ts_ms == t0 + 30 * minute_ms);
  CHECK(got.use[0].wh == Approx(600));
  CHECK(india.local(got.use[0].ts_ms).minute == 0);
}

TEST_CASE("a fall is a reset counted from 0, a fall that comes back a glitch, a dip a wobble", "[replay][index]") {
  const fixed_zone utc(0);
  meter_indexes m(0, utc);
  const auto got = feed(m, {
                               index_at(0, 500000),
                               index_at(60, 501000),   // 1000 Wh
                               index_at(70, 500990),   // a dip: left out
                               index_at(120, 501500),  // 500 Wh since 01:00
                               index_at(130, 0),       // a glitch, not known yet: a reset, 0 Wh
                               index_at(135, 501600),  // back within the hour: 100 Wh since 02:00
                               index_at(180, 200),     // a daily meter's reset: 200 Wh since 02:15
                               index_at(240, 700),     // 500 Wh
                               index_at(250, 9e6),     // a spike: left out
                               index_at(300, 900),     // 200 Wh since 04:00
                               index_at(300, 900),     // the same record twice
                               index_at(0, 9e6, "b"),
                               index_at(30, 2e6, "b"),     // a new meter: 2 MWh in half an hour is no reset
                               index_at(90, 2000500, "b"),  // 500 Wh
                           });
  CHECK(got.refused == std::vector<std::string>{
                           "index went down from 501000 Wh to 500990 Wh, less than a tenth: the meter's wobble, not a "
                           "reset; the index before stands",
                           "index rose from 700 Wh to 9000000 Wh in 10m, more than a house draws: the index before "
                           "stands",
                           "index went down from 9000000 Wh to 2000000 Wh (a new meter?): counted from 0, more than a "
                           "house draws since the index before; counting starts again from it",
                       });
  std::vector<std::pair<std::int64_t, double>> readings;  // (start minute, Wh)
  for (const reading& r : got.use) readings.emplace_back((r.ts_ms - t0) / minute_ms, r.wh);
  CHECK(readings == std::vector<std::pair<std::int64_t, double>>{
                        {0, 1000}, {60, 500}, {120, 0}, {130, 100}, {135, 200}, {180, 500}, {240, 200}, {30, 500}});
}

TEST_CASE("a meter reset each hour counts up past its last total: a reset, not a glitch", "[replay][index]") {
  // Home Assistant's utility_meter with an hourly cycle: 1200 Wh in the
  // first hour, then 0 at 01:00, and 1500 Wh by 02:00, passing 1200 at 01:48.
  const fixed_zone utc(0);
  meter_indexes m(0, utc);
  const auto got = feed(m, {
                               index_at(0, 0),
                               index_at(30, 600),
                               index_at(59, 1200),
                               index_at(60, 0),     // the reset
                               index_at(90, 750),   // counting up from 0: the reset was one
                               index_at(108, 1250),  // past 1200 within the hour: still counting
                               index_at(119, 1500),
                               index_at(130, 5e5, "glitch-meter"),
                               index_at(140, 500100, "glitch-meter"),
                               index_at(150, 0, "glitch-meter"),     // a sensor's 0...
                               index_at(220, 0, "glitch-meter"),     // ...for 70 minutes...
                               index_at(230, 500300, "glitch-meter"),  // ...and straight back: a glitch
                           });
  CHECK(got.refused.empty());
  std::vector<std::tuple<std::string, std::int64_t, double>> readings;  // (meter, start minute, Wh)
  for (const reading& r : got.use) readings.emplace_back(r.meter, (r.ts_ms - t0) / minute_ms, r.wh);
  CHECK(readings == std::vector<std::tuple<std::string, std::int64_t, double>>{
                        {"home", 0, 600},
                        {"home", 30, 600},
                        {"home", 59, 0},
                        {"home", 60, 750},
                        {"home", 90, 500},
                        {"home", 108, 250},
                        {"glitch-meter", 130, 100},
                        {"glitch-meter", 140, 0},
                        {"glitch-meter", 150, 0},
                        {"glitch-meter", 220, 200}});
}

TEST_CASE("a resampled index keeps meters apart, and spans no record moved in as nothing used", "[replay][index]") {
  const fixed_zone utc(0);
  meter_indexes m(30 * minute_ms, utc);
  const auto got = feed(m, {
                               index_at(0, 1000, "a"),
                               index_at(0, 50, "b"),
                               index_at(30, 1100, "a"),           // a boundary: 00:00-00:30 of a
                               index_at(60, 80, "b"),             // b's 00:00-00:30 and 00:30-01:00
                               index_at(30 + 26 * 60, 1100, "a"),  // unmoved for 26 hours: 52 spans of 0 Wh
                               index_at(30 + 52 * 60, 1200, "a"),  // 26 hours on, and moved: a new start
                               index_at(50, 81, "b"),             // before b's index before
                           });
  CHECK(got.refused == std::vector<std::string>{
                           "index 26h after the meter's index before, more than a day: the use between is not one "
                           "reading; left out unless the next index follows it",
                           "index not after the meter's index before: an index is read in time order",
                       });
  REQUIRE(got.use.size() == 3 + 52);
  CHECK((got.use[0].meter == "a" && got.use[0].ts_ms == t0 && got.use[0].wh == Approx(100)));
  CHECK((got.use[1].meter == "b" && got.use[1].ts_ms == t0 && got.use[1].wh == Approx(15)));
  CHECK((got.use[2].meter == "b" && got.use[2].ts_ms == t0 + 30 * minute_ms && got.use[2].wh == Approx(15)));
  for (std::size_t i = 3; i < got.use.size(); ++i) {
    CHECK(got.use[i].wh == 0);
    CHECK(got.use[i].ts_ms == t0 + static_cast<std::int64_t>(i - 2) * 30 * minute_ms);
  }
}

TEST_CASE("one record far off is left out, and the index after it shows whether the count or it was wrong",
          "[replay][index]") {
  const fixed_zone utc(0);
  meter_indexes m(0, utc);
  const std::int64_t year = 365 * 24 * 60;
  const auto got = feed(m, {
                               index_at(0, 1000, "future"),
                               index_at(year, 1010, "future"),  // a clock a year ahead: left out
                               index_at(60, 1500, "future"),    // the count goes on: 500 Wh
                               index_at(0, 0, "zero"),          // a first index of 0 (a sensor starting)
                               index_at(10, 8e6, "zero"),       // more than a house draws: left out
                               index_at(70, 8e6 + 700, "zero"),  // ...but this follows it: the 0 was wrong
                               index_at(130, 8e6 + 900, "zero"),
                               index_at(0, 5000, "gap"),
                               index_at(3000, 9000, "gap"),  // two days on: left out
                               index_at(3060, 9400, "gap"),  // it follows: counting starts again from it
                               index_at(0, 1e5, "dips"),
                               index_at(10, 99e3, "dips"),  // two dips in a row are never a new count,
                               index_at(20, 99e3 + 10, "dips"),
                               index_at(30, 1e5 + 20, "dips"),  // or the dip's depth would be counted as use
                           });
  CHECK(got.refused == std::vector<std::string>{
                           "index 8760h after the meter's index before, more than a day: the use between is not one "
                           "reading; left out unless the next index follows it",
                           "index rose from 0 Wh to 8000000 Wh in 10m, more than a house draws: the index before stands",
                           "index follows the one left out before it (8000000 Wh): counting starts again from that one",
                           "index 50h after the meter's index before, more than a day: the use between is not one "
                           "reading; left out unless the next index follows it",
                           "index follows the one left out before it (9000 Wh): counting starts again from that one",
                           "index went down from 100000 Wh to 99000 Wh, less than a tenth: the meter's wobble, not a "
                           "reset; the index before stands",
                           "index went down from 100000 Wh to 99010 Wh, less than a tenth: the meter's wobble, not a "
                           "reset; the index before stands",
                       });
  std::vector<std::tuple<std::string, std::int64_t, double>> readings;  // (meter, start minute, Wh)
  for (const reading& r : got.use) readings.emplace_back(r.meter, (r.ts_ms - t0) / minute_ms, r.wh);
  CHECK(readings == std::vector<std::tuple<std::string, std::int64_t, double>>{
                        {"future", 0, 500}, {"zero", 10, 700}, {"zero", 70, 200}, {"gap", 3000, 400}, {"dips", 0, 20}});
}

TEST_CASE("hourly statistics rows are read as the index at the end of their hour", "[replay][index]") {
  // Home Assistant's History download: hourly statistics stamped with the
  // hour's start, holding its closing index; then the recorder's own rows.
  const fixed_zone utc(0);
  const auto records = [] {
    std::vector<reading> r{index_at(0, 100), index_at(60, 200), index_at(120, 350), index_at(190, 360),
                           index_at(220, 400), index_at(260, 450)};
    r[3].ts_ms += 123, r[4].ts_ms += 456, r[5].ts_ms += 789;  // the recorder's rows are not on the hour
    return r;
  }();
  meter_indexes statistics(hour_ms, utc, true);
  const auto got = feed(statistics, records);
  REQUIRE(got.refused.empty());
  REQUIRE(got.use.size() == 3);
  CHECK(got.use[0].ts_ms == t0 + hour_ms);  // 01:00-02:00: the rise between the 00:00 and 01:00 rows
  CHECK(got.use[0].wh == 100);
  CHECK(got.use[1].ts_ms == t0 + 2 * hour_ms);
  CHECK(got.use[1].wh == 150);
  CHECK(got.use[2].ts_ms == t0 + 3 * hour_ms);
  CHECK(got.use[2].wh == Approx(400 + 50 * (1'199'544.0 / 2'400'333) - 350));
  meter_indexes as_written(hour_ms, utc);
  const auto unmoved = feed(as_written, records);
  REQUIRE(unmoved.use.size() == 4);
  CHECK(unmoved.use[0].ts_ms == t0);
  CHECK(unmoved.use[0].wh == 100);
}

TEST_CASE("resampling keeps all the energy between the first and the last boundary", "[replay][index]") {
  // Records at random times, as Home Assistant writes a sensor's changes:
  // the hours' use adds up to the index's rise between their boundaries,
  // none is negative, and each hour comes once, in order.
  const fixed_zone paris(3600);
  meter_indexes m(hour_ms, paris);
  std::mt19937 random(7);
  std::vector<reading> indexes;
  double total = 5e6;
  std::int64_t minutes = 13;
  for (int i = 0; i < 500; ++i) {
    indexes.push_back(index_at(minutes, total));
    const auto gap = 1 + static_cast<std::int64_t>(random() % 180);
    minutes += gap;
    total += static_cast<double>(random() % 3000) * static_cast<double>(gap) / 60;  // up to 3 kW
  }
  const auto got = feed(m, indexes);
  REQUIRE(got.refused.empty());
  REQUIRE(got.use.size() > 100);
  double sum = 0;
  for (std::size_t i = 0; i < got.use.size(); ++i) {
    CHECK(got.use[i].wh >= 0);
    CHECK(got.use[i].span_ms == hour_ms);
    if (i > 0) CHECK(got.use[i].ts_ms == got.use[i - 1].ts_ms + hour_ms);
    sum += got.use[i].wh;
  }
  const auto index_when = [&](std::int64_t ts) {  // the records' index at ts, interpolated
    for (std::size_t i = 1; i < indexes.size(); ++i)
      if (indexes[i].ts_ms >= ts) {
        const double f = static_cast<double>(ts - indexes[i - 1].ts_ms) /
                         static_cast<double>(indexes[i].ts_ms - indexes[i - 1].ts_ms);
        return indexes[i - 1].wh + (indexes[i].wh - indexes[i - 1].wh) * f;
      }
    FAIL("no index after the time");
    return 0.0;
  };
  const std::int64_t first = got.use.front().ts_ms, last = got.use.back().ts_ms + hour_ms;
  CHECK(sum == Approx(index_when(last) - index_when(first)));
  CHECK(first == t0 + hour_ms);  // the first boundary after 00:13
  CHECK(last > indexes.back().ts_ms - hour_ms);
}

TEST_CASE("read again from replay_from, the records after any point give every reading not given yet",
          "[replay][index][kafka]") {
  // What kafka_source commits: after a restart at any record, nothing of a
  // meter's use is lost (the same reading twice may be: at least once).
  const fixed_zone paris(3600);
  std::mt19937 random(11);
  std::vector<reading> indexes;
  double total = 1e6;
  std::int64_t minutes = 7;
  for (int i = 0; i < 120; ++i) {
    // Meter a's sensor reads 0 for a moment, once; and once a spike.
    const double wh = i == 40 ? 0 : i == 70 ? total * 50 : total;
    indexes.push_back(index_at(minutes, wh, i % 3 ? "a" : "b"));
    // The 0 comes two minutes after a's index before, and the comeback 20
    // minutes later, over a boundary of the quarter hours.
    const auto gap = i == 38 || i == 39 ? 1 : i == 40 ? 20 : 1 + static_cast<std::int64_t>(random() % 50);
    minutes += gap;
    total += static_cast<double>(random() % 2000) * static_cast<double>(gap) / 60;
  }
  for (const std::int64_t every_ms : {std::int64_t{0}, 15 * minute_ms, hour_ms}) {
    meter_indexes whole(every_ms, paris);
    std::vector<std::deque<reading>> given(indexes.size());
    std::vector<std::int64_t> from(indexes.size());
    for (std::size_t i = 0; i < indexes.size(); ++i) {
      std::string why;
      CHECK(whole.add(indexes[i], given[i], why, static_cast<std::int64_t>(i)) == (i != 70));
      // Each meter's position, the earliest of the two as a partition holds them.
      const auto a = whole.replay_from("a"), b = whole.replay_from("b");
      from[i] = std::min(a ? a->position : 0, b ? b->position : 0);
    }
    for (std::size_t cut = 0; cut + 1 < indexes.size(); ++cut) {
      meter_indexes again(every_ms, paris);
      std::deque<reading> reread;
      for (auto i = static_cast<std::size_t>(from[cut]); i < indexes.size(); ++i) {
        std::string why;
        again.add(indexes[i], reread, why, static_cast<std::int64_t>(i));
      }
      for (std::size_t i = cut + 1; i < indexes.size(); ++i)
        for (const reading& r : given[i]) {
          const bool found = std::any_of(reread.begin(), reread.end(), [&](const reading& x) {
            return x.meter == r.meter && x.ts_ms == r.ts_ms && x.span_ms == r.span_ms && x.wh == Approx(r.wh);
          });
          INFO("every " << every_ms << " ms, cut after record " << cut << ", reading of " << r.meter << " at "
                        << r.ts_ms);
          CHECK(found);
        }
    }
  }
}
