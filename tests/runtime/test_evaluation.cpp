// The figures of `train`'s hold-out report and of `eval`.
#include "evaluation.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using namespace stream_smarts;
using namespace stream_smarts::runtime;

namespace {

local_fields day(int n) {  // day n from 2008-01-01
  local_fields l;
  l.year = 2008;
  l.month = static_cast<std::int8_t>(1 + n / 28);
  l.day = static_cast<std::int8_t>(1 + n % 28);
  return l;
}

reading at(int n, double wh, std::string label = "-") {
  reading r;
  r.local = day(n);
  r.wh = wh;
  if (label != "-") r.labels.push_back({"label", label});
  return r;
}

} // namespace

TEST_CASE("the hold-out takes about the asked share of days, the same ones for the same seed") {
  int held = 0, same = 0, other_seed = 0;
  for (int n = 0; n < 280; ++n) {
    held += held_out(day(n), 1, 0.2);
    same += held_out(day(n), 1, 0.2) == held_out(day(n), 1, 0.2);
    other_seed += held_out(day(n), 1, 0.2) != held_out(day(n), 2, 0.2);
  }
  CHECK(held > 280 * 0.12);
  CHECK(held < 280 * 0.28);
  CHECK(same == 280);
  CHECK(other_seed > 0);  // another seed holds out other days
  CHECK_FALSE(held_out(day(3), 1, 0.0));
}

TEST_CASE("an event is a run of readings with the same anomalous label, caught by any alert in it") {
  evaluation e(1.0);
  const score_result quiet{0.5, 100, 200}, loud{2.0, 100, 200};
  e.add(at(0, 150, "heater"), quiet);
  e.add(at(0, 300, "heater"), loud);   // caught in its second hour
  e.add(at(0, 300, "heater"), loud);
  e.add(at(0, 300, "oven"), quiet);    // another kind right after: another event, missed
  e.add(at(0, 120, "0"), quiet);
  e.add(at(1, 300, "heater"), quiet);  // a third, missed
  CHECK(e.events() == 3);
  CHECK(e.events_caught() == 1);
}

TEST_CASE("labels: empty and 0 are normal, anything else anomalous") {
  CHECK(labelled_anomalous(at(0, 1, "1")));
  CHECK(labelled_anomalous(at(0, 1, "heater")));
  CHECK_FALSE(labelled_anomalous(at(0, 1, "0")));
  CHECK_FALSE(labelled_anomalous(at(0, 1, "")));
  CHECK_FALSE(labelled_anomalous(at(0, 1)));
}

TEST_CASE("coverage, centre error, precision, recall, F1 and false alerts per week") {
  evaluation e(1.0);
  const score_result in_band{0.5, 100, 200, 120}, above{2.0, 100, 200, 120};
  for (int n = 0; n < 14; ++n) e.add(at(n, 130, "0"), in_band);  // two weeks inside the band, centre off by 10
  e.add(at(0, 300, "1"), above);                                  // a caught anomaly
  e.add(at(1, 300, "0"), above);                                  // a false alert
  e.add(at(2, 150, "1"), in_band);                                // a missed anomaly
  CHECK(e.readings() == 17);
  CHECK(e.weeks() == 2);
  CHECK(e.coverage() == Approx(15.0 / 17));
  CHECK(e.centre_mae() == Approx((14 * 10 + 180 + 180 + 30) / 17.0));
  CHECK(e.alerts() == 2);
  CHECK(e.precision() == Approx(0.5));
  CHECK(e.recall() == Approx(0.5));
  CHECK(e.f1() == Approx(0.5));
  CHECK(e.false_alerts_per_week() == Approx(0.5));
  CHECK(e.alerts_per_week() == Approx(1.0));
  CHECK(e.events() == 2);
  CHECK(e.events_caught() == 1);

  evaluation middle(1.0);  // a scorer without a centre: the middle of its band
  middle.add(at(0, 130), {0.3, 100, 200});
  CHECK(middle.centre_mae() == Approx(20));
  CHECK_FALSE(middle.labelled());
  CHECK(std::isnan(middle.precision()));
  CHECK(std::isnan(middle.false_alerts_per_week()));
}
