// The state a scorer or a sink keeps per meter, and when it is forgotten.
#include <catch2/catch.hpp>
#include <stream_smarts/meter_states.hpp>

#include <algorithm>
#include <string>

using namespace stream_smarts;

TEST_CASE("per-meter state is forgotten once its meter has been silent long enough, and only then", "[meter_states]") {
  // 37 KB a meter, kept for every Kafka key ever seen, before.
  constexpr std::int64_t day = 86'400'000;
  meter_states<int> states(28 * day);
  int made = 0;
  auto make = [&] { return ++made; };
  states.of("gone", 0, make) = 7;
  CHECK(states.of("gone", day, make) == 7);  // the same state, not a new one
  for (int i = 0; i < 5'000; ++i) states.of("stays", 20 * day + i, make);
  CHECK(states.size() == 2);  // 20 days silent: kept
  for (int i = 0; i < 5'000; ++i) states.of("stays", 30 * day + i, make);
  CHECK(states.size() == 1);  // 29 days silent: forgotten
  CHECK(states.of("gone", 30 * day, make) == made);  // starts afresh
  CHECK(made == 3);
  CHECK(states.of("stays", 31 * day, make) == 2);
}

TEST_CASE("a meter still reading is not forgotten for a stray row a year ahead, or another far ahead of it", "[meter_states]") {
  // The newest reading of any meter says how long the others have been
  // silent: one row stamped a year on made every meter look silent, and each
  // sweep (every 4096 readings) started them afresh.
  constexpr std::int64_t day = 86'400'000;
  meter_states<int> states(28 * day);
  int made = 0;
  auto make = [&] { return ++made; };
  states.of("clock-not-set", 365 * day, make);
  for (int i = 0; i < 20'000; ++i) states.of("home", day + i * 60'000LL, make);
  CHECK(made == 2);
  CHECK(states.size() == 2);
}

TEST_CASE("meters that come and go are swept as fast as they come, however many", "[meter_states]") {
  // One new meter an hour for two years, each read once: 672 hours' worth
  // are kept, plus what comes in the two sweeps' intervals a meter outlives
  // (it is forgotten at the first sweep after one it had no reading in).
  constexpr std::int64_t hour = 3'600'000;
  meter_states<int> states(28 * 24 * hour);
  std::size_t most = 0;
  for (int i = 0; i < 20'000; ++i) {
    states.of("unit-" + std::to_string(i), i * hour, [] { return 0; });
    most = std::max(most, states.size());
  }
  CHECK(most <= 2 * 4096 + 673);
}

TEST_CASE("find counts a reading but makes no state and known counts none", "[meter_states]") {
  // A sink's alert policy keeps nothing for a meter inside its band, yet its
  // readings must still tell how long the others have been silent.
  constexpr std::int64_t day = 86'400'000;
  meter_states<int> states(28 * day);
  CHECK(states.find("quiet", 0) == nullptr);
  CHECK(states.known("quiet") == nullptr);
  CHECK(states.size() == 0);
  states.of("heater", 0, [] { return 5; });
  REQUIRE(states.find("heater", day) != nullptr);
  CHECK(*states.find("heater", day) == 5);
  *states.known("heater") = 6;
  CHECK(states.of("heater", day, [] { return 0; }) == 6);
  // Readings of a meter that keeps no state sweep away one silent for 29 days
  // (at the first sweep after a whole interval without it).
  bool made = false;
  for (int i = 0; i < 10'000; ++i) made = made || states.find("quiet", 30 * day + i) != nullptr;
  CHECK_FALSE(made);
  CHECK(states.known("heater") == nullptr);
  CHECK(states.size() == 0);
}

TEST_CASE("known counts no reading", "[meter_states]") {
  // raise_given_up looks a meter up: that is no reading of it, and must
  // neither keep it nor bring a sweep nearer.
  constexpr std::int64_t day = 86'400'000;
  meter_states<int> states(28 * day);
  states.of("gone", 0, [] { return 1; });
  states.of("home", 30 * day, [] { return 2; });
  for (int i = 0; i < 10'000; ++i) states.known("gone");
  CHECK(states.size() == 2);  // no sweep: known counted nothing
  for (int i = 0; i < 10'000; ++i) states.find("home", 30 * day + i);
  CHECK(states.size() == 1);  // two sweeps by readings: "gone" forgotten
}

TEST_CASE("a copy of meter_states is its own", "[meter_states]") {
  // It remembers the meter of the last call as a pointer into its map: a
  // copy that kept it wrote into the original's state.
  meter_states<int> original(1000);
  original.of("home", 0, [] { return 1; });
  meter_states<int> copy = original;
  copy.of("home", 1, [] { return 0; }) = 42;
  CHECK(*original.known("home") == 1);
  CHECK(*copy.known("home") == 42);
  {
    meter_states<int> gone = copy;
    gone.of("home", 2, [] { return 0; });
    copy = gone;
  }
  CHECK(copy.of("home", 3, [] { return 0; }) == 42);
}
