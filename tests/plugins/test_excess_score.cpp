// dlib_regression's accumulated-excess score (excess_score.hpp), a pure
// class compiled in directly: what adds up, what does not, and what restarts
// the sum. A flat model (centre and spread the same every hour) makes the
// reference level easy to state.
#include "excess_score.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>

using namespace stream_smarts::dlib_regression;
using stream_smarts::hour_ms;
using Catch::Matchers::WithinAbs;

namespace {

constexpr double offset = 50;
// A quiet house: 300 Wh expected every hour, spread 0.2 in log space.
const double m = std::log(300 + offset), s = 0.2;
// With the default allowance (1.5 spreads) excess counts above exp(m + 0.3) - 50 = 422 Wh.
const double reference = std::exp(m + 1.5 * s) - offset;

excess_options with(double excess_wh) {
  excess_options o;
  o.excess_wh = excess_wh;
  return o;
}

} // namespace

TEST_CASE("excess: off by default, as today's scorer", "[excess]") {
  excess_accumulator a;
  for (int h = 0; h < 24; ++h) CHECK(a.add(h * hour_ms, 5000, m, s) == 0);
}

TEST_CASE("excess: a flat 1 kW excess over 6 h crosses 1.0", "[excess]") {
  excess_accumulator a(with(3000));
  std::int64_t t = 0;
  for (int h = 0; h < 24; ++h, t += hour_ms) CHECK(a.add(t, 300, m, s) < 0.01);  // an ordinary day
  double score = 0;
  int first_above = -1;
  for (int h = 0; h < 6; ++h, t += hour_ms) {
    score = a.add(t, 1300, m, s);
    if (score > 1.0 && first_above < 0) first_above = h;
  }
  // Each hour adds 1300 - 422 = 878 Wh: 3,513 Wh after 4 hours.
  CHECK(first_above == 3);
  CHECK(score > 1.0);
  CHECK(score <= 1.5);  // held at cap * excess_wh
  // Back to normal: the sum restarts, the score with it.
  CHECK(a.add(t, 280, m, s) == 0);
}

TEST_CASE("excess: a single 2 kWh spike does not alert", "[excess]") {
  excess_accumulator a(with(3000));
  std::int64_t t = 0;
  for (int h = 0; h < 12; ++h, t += hour_ms) a.add(t, 300, m, s);
  const double spike = a.add(t, 2300, m, s);
  t += hour_ms;
  // At most excess_wh / min_hours (1000 Wh) an hour: a third of the way.
  CHECK_THAT(spike, WithinAbs(1.0 / 3, 1e-9));
  // Even a 5 kWh hour adds no more.
  CHECK_THAT(a.add(t, 5300, m, s), WithinAbs(2.0 / 3, 1e-9));
  t += hour_ms;
  CHECK(a.add(t, 310, m, s) < 2.0 / 3);  // above expected, below the reference: the sum falls
}

TEST_CASE("excess: the score means accumulated Wh / excess_wh", "[excess]") {
  excess_options o = with(2000);
  o.min_hours = 1;
  o.baseline_hours = 0;
  excess_accumulator a(o);
  CHECK_THAT(a.add(0, reference + 500, m, s), WithinAbs(0.25, 1e-9));
  CHECK_THAT(a.add(hour_ms, reference + 1000, m, s), WithinAbs(0.75, 1e-9));
  CHECK_THAT(a.add(2 * hour_ms, reference + 700, m, s), WithinAbs(1.1, 1e-9));
  CHECK_THAT(a.sum_wh(), WithinAbs(2200, 1e-6));
  // Between expected and the reference: the sum falls, never below 0.
  CHECK_THAT(a.add(3 * hour_ms, reference - 100, m, s), WithinAbs(1.05, 1e-9));
  CHECK(a.add(4 * hour_ms, 300.5, m, s) > 0.9);
}

TEST_CASE("excess: a gap in the readings restarts the sum", "[excess]") {
  excess_options o = with(3000);
  o.baseline_hours = 0;  // the reference stays put
  excess_accumulator a(o);
  std::int64_t t = 0;
  double before = 0;
  for (int h = 0; h < 3; ++h, t += hour_ms) before = a.add(t, 1300, m, s);
  CHECK(before > 0.8);
  // The next reading 2 h after the last: a reading is missing.
  t += hour_ms;
  const double after = a.add(t, 1300, m, s);
  CHECK(after < 0.3);
  CHECK_THAT(a.sum_wh(), WithinAbs(1300 - reference, 1e-6));
  // A day back (a clock set back) restarts it too.
  a.add(t + hour_ms, 1300, m, s);
  CHECK(a.add(t - 24 * hour_ms, 1300, m, s) < 0.3);
}

TEST_CASE("excess: a reading delivered again gets the latest score and changes nothing", "[excess]") {
  excess_options o = with(3000);
  o.baseline_hours = 0;
  excess_accumulator a(o);
  std::int64_t t = 0;
  double latest = 0;
  for (int h = 0; h < 4; ++h, t += hour_ms) latest = a.add(t, 1300, m, s);
  REQUIRE(latest > 1.0);
  // A Kafka rebalance reads the last three hours again, then the spell goes on.
  for (int h = 3; h >= 1; --h) CHECK(a.add(t - h * hour_ms, 1300, m, s) == latest);
  CHECK(a.add(t - hour_ms, 1300, m, s) == latest);  // the latest itself again
  CHECK(a.add(t, 1300, m, s) >= latest);
  // Another Wh at the latest's time is judged (a local time that does not exist reads so): it restarts.
  CHECK(a.add(t, 1400, m, s) < 0.4);
}

TEST_CASE("excess: readings closer than an hour add their share", "[excess]") {
  excess_options o = with(3000);
  o.baseline_hours = 0;
  excess_accumulator a(o);
  // 15-minute readings of a quiet house (75 Wh expected) with 1 kW on: 250 Wh each.
  const double m15 = std::log(75 + offset);
  double score = 0;
  for (int q = 0; q < 4 * 6; ++q) score = a.add(q * hour_ms / 4, 75 + 250, m15, s);
  // (325 - (exp(m15 + 0.3) - 50)) * 24 readings, well within each quarter's cap of 250 Wh.
  CHECK_THAT(a.sum_wh(), WithinAbs(std::min(4500.0, 24 * (325 - (std::exp(m15 + 0.3) - offset))), 1e-6));
  CHECK(score > 1.0);
}

TEST_CASE("excess: the recent level follows a house that uses more for days", "[excess]") {
  excess_accumulator a(with(3000));
  // A week at 1.5 times the model's expectation: no sustained alert once followed.
  std::int64_t t = 0;
  int above = 0;
  for (int h = 0; h < 24 * 7; ++h, t += hour_ms)
    if (a.add(t, 1.5 * 300 + 25, m, s) > 1.0) ++above;  // log residual log(1.5)
  CHECK(above == 0);
  CHECK_THAT(a.level(), WithinAbs(std::log(1.5), 0.01));
  // And a 1 kW heater on top of that level still adds up.
  double score = 0;
  for (int h = 0; h < 6; ++h, t += hour_ms) score = a.add(t, 1.5 * 300 + 25 + 1000, m, s);
  CHECK(score > 1.0);
}
