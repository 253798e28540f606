// The alert policy on scripted score sequences: one reading a minute unless
// said otherwise; `run` returns the verdict letters (. quiet, R raise,
// M remind, B back to normal).
#include "alert_policy.hpp"

#include <catch2/catch.hpp>

using namespace stream_smarts;
using namespace stream_smarts::runtime;

namespace {

constexpr std::int64_t minute = 60'000;

scored_reading at(std::int64_t minutes, double score, std::string meter = "home") {
  scored_reading s;
  s.reading.meter = std::move(meter);
  s.reading.ts_ms = minutes * minute;
  s.score = score;
  return s;
}

/// Scores one a minute from minute 0; returns one letter per verdict.
std::string run(alert_policy& p, const std::vector<double>& scores) {
  std::string out;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const auto v = p.decide(at(static_cast<std::int64_t>(i), scores[i])).what;
    out += v == verdict::raise ? 'R' : v == verdict::remind ? 'M' : v == verdict::resolve ? 'B' : '.';
  }
  return out;
}

} // namespace

TEST_CASE("policy: by default every episode above the threshold raises once") {
  alert_policy p({});
  CHECK(run(p, {0.5, 2, 2, 2, 0.5, 3, 0.2}) == ".R...R.");
}

TEST_CASE("policy: sustain waits for readings in a row and for time") {
  alert_policy by_count({1.0, 0, 3});
  CHECK(run(by_count, {2, 2, 0.5, 2, 2, 2, 2}) == ".....R.");
  alert_policy by_time({1.0, 10 * minute, 1});
  CHECK(run(by_time, std::vector<double>(12, 2.0)) == "..........R.");
  const auto d = alert_policy({1.0, 0, 3}).decide(at(0, 2));
  CHECK(d.what == verdict::quiet);
  CHECK(d.reason == "waiting for sustain: 1 of 3 readings, 0 s of 0 s");
}

TEST_CASE("policy: cooldown allows one raise per meter per period") {
  alert_policy p({1.0, 0, 1, 5 * minute});
  CHECK(run(p, {2, 0, 2, 0, 0, 0, 2, 0}) == "R.....R.");
  alert_policy q({1.0, 0, 1, 5 * minute});
  q.decide(at(0, 2));
  q.decide(at(1, 0));
  const auto d = q.decide(at(2, 2));
  CHECK(d.what == verdict::quiet);
  CHECK(d.reason == "suppressed by cooldown: last alert 120 s ago, cooldown 300 s");
  CHECK(q.decide(at(2, 2, "garage")).what == verdict::raise);  // another meter has its own
}

TEST_CASE("policy: reminders while still above, a notice when back to normal") {
  alert_policy p({1.0, 0, 1, 0, 3 * minute, true});
  CHECK(run(p, {2, 2, 2, 2, 2, 2, 2, 0.5, 0.5}) == "R..M..MB.");
  alert_policy no_notice({1.0, 0, 1, 0, 0, false});
  CHECK(run(no_notice, {2, 2, 0.5}) == "R..");
  alert_policy never_raised({1.0, 0, 3, 0, 0, true});
  CHECK(run(never_raised, {2, 2, 0.5}) == "...");  // nothing raised, nothing to resolve
}

TEST_CASE("quiet hours, across midnight") {
  const quiet_hours night{22 * 60, 7 * 60};
  auto at_local = [](int h, int m) {
    local_fields l;
    l.hour = static_cast<std::int8_t>(h);
    l.minute = static_cast<std::int8_t>(m);
    return l;
  };
  CHECK(night.contains(at_local(22, 0)));
  CHECK(night.contains(at_local(23, 59)));
  CHECK(night.contains(at_local(0, 0)));
  CHECK(night.contains(at_local(6, 59)));
  CHECK_FALSE(night.contains(at_local(7, 0)));
  CHECK_FALSE(night.contains(at_local(21, 59)));
  const quiet_hours lunch{12 * 60, 14 * 60};
  CHECK(lunch.contains(at_local(13, 0)));
  CHECK_FALSE(lunch.contains(at_local(14, 0)));
  CHECK_FALSE(quiet_hours{}.contains(at_local(3, 0)));
}
