// Rehearsals as `train` hands them to a trainer (stage_context::rehearsal):
// made anew on each call, so the same i must give the same events every time.
#include "injection.hpp"
#include "stage.hpp"
#include "zone.hpp"

#include <catch2/catch.hpp>

using namespace stream_smarts;
using namespace stream_smarts::runtime;

namespace {

/// Twelve weeks of hourly readings of 300 Wh from 2007-01-01 in Paris.
std::vector<reading> quiet_weeks(const time_zone& zone) {
  std::vector<reading> history;
  const std::int64_t start = utc_ms_of({2007, 1, 1, 0, 0, 0, 0});
  for (std::int64_t h = 0; h < 12 * 7 * 24; ++h) {
    reading r;
    r.ts_ms = start + h * 3600000;
    r.wh = 300;
    localize(r, zone);
    history.push_back(r);
  }
  return history;
}

/// The positions of the readings an event was added to.
std::vector<std::size_t> labelled(const std::vector<reading>& readings) {
  std::vector<std::size_t> at;
  for (std::size_t i = 0; i < readings.size(); ++i)
    if (!event_label(readings[i]).empty()) at.push_back(i);
  return at;
}

} // namespace

TEST_CASE("a rehearsal is the history with about one event a week, the same each time it is made") {
  const auto paris = load_time_zone("Europe/Paris");
  const std::vector<reading> history = quiet_weeks(*paris);
  const auto kinds = builtin_kinds();
  const auto first = rehearsal(history, kinds, 0, 7, *paris);
  REQUIRE(first.size() == history.size());
  CHECK(labelled(history).empty());  // the history itself is left alone
  const auto events = labelled(first);
  CHECK(events.size() >= 11 * 2);  // 12 weeks, an event of at least 2 hours in (nearly) each
  CHECK(events.size() <= 12 * 10);
  for (std::size_t i : events) CHECK(first[i].wh > history[i].wh);
  // Made again: the same events, so a trainer may take a rehearsal twice.
  CHECK(labelled(rehearsal(history, kinds, 0, 7, *paris)) == events);
  // The next one is placed by the next seed: other events.
  CHECK(labelled(rehearsal(history, kinds, 1, 7, *paris)) != events);
  CHECK(labelled(rehearsal(history, kinds, 0, 8, *paris)) == labelled(rehearsal(history, kinds, 1, 7, *paris)));
}

TEST_CASE("a trainer asking for a rehearsal that is not there is told how many there are") {
  stage_spec spec;
  spec.name = "load";
  pipeline_spec pipeline;
  pipeline.settings.timezone = "UTC";
  stage_context_impl context(spec, pipeline);
  CHECK(context.rehearsal_count() == 0);
  CHECK_THROWS_WITH(context.rehearsal(0), "no rehearsal 0: there are none outside `stream-smarts train`");
  context.rehearsals = 2;  // as `train --rehearsals 2` offers them
  context.make_rehearsal = [](int i) { return std::vector<reading>(static_cast<std::size_t>(i) + 1); };
  CHECK(context.rehearsal(1).size() == 2);
  CHECK_THROWS_WITH(context.rehearsal(2), "no rehearsal 2: `train` has 2 (--rehearsals), numbered from 0");
  CHECK_THROWS_WITH(context.rehearsal(-1), "no rehearsal -1: `train` has 2 (--rehearsals), numbered from 0");
}
