#include "zone.hpp"

#include <catch2/catch.hpp>

using namespace stream_smarts;
using namespace stream_smarts::runtime;

namespace {
std::int64_t utc(int y, int mo, int d, int h, int mi = 0) { return utc_ms_of({y, mo, d, h, mi, 0, 0}); }
} // namespace

TEST_CASE("hour of day follows the zone's offset, across daylight saving") {
  const auto paris = load_time_zone("Europe/Paris");
  // Winter: UTC+1.
  CHECK(paris->local(utc(2007, 1, 15, 3)).hour == 4);
  CHECK(paris->local(utc(2007, 1, 15, 3)).utc_offset_s == 3600);
  // 2007-03-25 01:00 UTC the clocks jump from 02:00 to 03:00.
  CHECK(paris->local(utc(2007, 3, 25, 0, 59)).hour == 1);
  CHECK(paris->local(utc(2007, 3, 25, 1)).hour == 3);
  // Summer: UTC+2.
  CHECK(paris->local(utc(2007, 7, 1, 2)).hour == 4);
  // 2007-10-28 01:00 UTC the clocks go back from 03:00 to 02:00: 02:xx happens twice.
  CHECK(paris->local(utc(2007, 10, 28, 0, 30)).hour == 2);
  CHECK(paris->local(utc(2007, 10, 28, 1, 30)).hour == 2);
  CHECK(paris->local(utc(2007, 10, 28, 2)).hour == 3);
}

TEST_CASE("calendar fields: weekday, day of year, date across midnight") {
  const auto paris = load_time_zone("Europe/Paris");
  const auto f = paris->local(utc(2007, 12, 31, 23, 30));  // 00:30 on 1 January 2008 in Paris
  CHECK(f.year == 2008);
  CHECK(f.month == 1);
  CHECK(f.day == 1);
  CHECK(f.hour == 0);
  CHECK(f.minute == 30);
  CHECK(f.weekday == 1);  // a Tuesday
  CHECK(f.day_of_year == 0);
  CHECK(paris->local(utc(2008, 12, 31, 12)).day_of_year == 365);  // a leap year
}

TEST_CASE("local wall-clock times map to UTC: ambiguous to the earlier, missing with the old offset") {
  const auto paris = load_time_zone("Europe/Paris");
  CHECK(paris->to_utc_ms({2007, 1, 15, 4, 0, 0, 0}) == utc(2007, 1, 15, 3));
  CHECK(paris->to_utc_ms({2007, 10, 28, 2, 30, 0, 0}) == utc(2007, 10, 28, 0, 30));  // first 02:30 (summer time)
  CHECK(paris->to_utc_ms({2007, 3, 25, 2, 30, 0, 0}) == utc(2007, 3, 25, 1, 30));    // does not exist: read as winter time
  const auto vancouver = load_time_zone("America/Vancouver");
  CHECK(vancouver->local(utc(2013, 7, 1, 11)).hour == 4);  // UTC-7 in summer
}

TEST_CASE("an unknown zone is an error naming it") {
  CHECK_THROWS_WITH(load_time_zone("Europe/Pariss"),
                    Catch::Contains("unknown time zone 'Europe/Pariss'"));
}

TEST_CASE("ISO-8601 timestamps, with and without offsets") {
  const auto utc_zone = load_time_zone("UTC");
  const auto a = parse_iso8601("2007-01-01T04:00:00");
  REQUIRE(a);
  CHECK_FALSE(a->utc_offset_s);
  CHECK(to_utc_ms(*a, *utc_zone) == utc(2007, 1, 1, 4));
  const auto b = parse_iso8601("2007-01-01T04:00:00+01:00");
  REQUIRE(b);
  CHECK(to_utc_ms(*b, *utc_zone) == utc(2007, 1, 1, 3));
  CHECK(parse_iso8601("2007-01-01 04:00Z"));
  CHECK(parse_iso8601("2007-01-01T04:00:00.250Z")->civil.millisecond == 250);
  // A comma for the point, as ISO 8601 allows and `date --iso-8601=ns` writes; past the millisecond is dropped.
  CHECK(parse_iso8601("2007-01-01T04:00:00,250Z")->civil.millisecond == 250);
  CHECK(parse_iso8601("2007-01-01T04:00:00,123456789+02:00")->civil.millisecond == 123);
  CHECK_FALSE(parse_iso8601("2007-01-01T04:00:00,Z"));
  CHECK_FALSE(parse_iso8601("2007-01-01T04:00,5"));  // a fraction of seconds only
  CHECK_FALSE(parse_iso8601("2007-02-30T04:00:00"));
  CHECK_FALSE(parse_iso8601("2007-01-01T25:00:00"));
  CHECK_FALSE(parse_iso8601("2007-01-01T04:60:00"));
  CHECK_FALSE(parse_iso8601("2007-01-01"));
  CHECK_FALSE(parse_iso8601("2007-01-01T04:00:00 junk"));
}

TEST_CASE("24:00 is the end of the day, the next day's 00:00, as ISO 8601 allows") {
  const auto paris = load_time_zone("Europe/Paris");
  const auto midnight = [](std::string_view text) {
    const auto t = parse_iso8601(text);
    REQUIRE(t);
    return t->civil;
  };
  const auto c = midnight("2007-01-01T24:00");
  CHECK((c.year == 2007 && c.month == 1 && c.day == 2 && c.hour == 0));
  const auto year_end = midnight("2007-12-31 24:00:00.000+01:00");
  CHECK((year_end.year == 2008 && year_end.month == 1 && year_end.day == 1));
  const auto leap = midnight("2008-02-28T24:00:00");
  CHECK((leap.month == 2 && leap.day == 29));
  CHECK(to_utc_ms(*parse_iso8601("2024-03-30T24:00"), *paris) == utc(2024, 3, 30, 23));  // winter time, midnight
  CHECK_FALSE(parse_iso8601("2007-01-01T24:00:01"));
  CHECK_FALSE(parse_iso8601("2007-01-01T24:30"));
  CHECK_FALSE(parse_iso8601("2007-01-01T24:00:00.5"));
  CHECK_FALSE(parse_iso8601("9999-12-31T24:00"));  // past the last instant a reading may have
  CHECK(parse_iso8601("9999-12-30T24:00"));
}
