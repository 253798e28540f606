// What a sink is given and how its deliveries fare: the alert policy's keys
// in a pipeline file, retries of failures worth retrying, failures given up
// at once, and a sink that is down not holding back the others. The fixture
// sink refuses deliveries as a web service would (see tests/fixtures).
#include "fixture_pipeline.hpp"
#include "process.hpp"

#include <catch2/catch.hpp>

#include <csignal>

using namespace test_support;
using namespace std::chrono_literals;

namespace {

/// Runs the fixture pipeline (100 readings, one an hour, every tenth a spike:
/// 10 unusual ones) with `sink` lines; requires exit 0.
result run_fixture(const temp_dir& dir, const std::string& settings, const std::string& sink,
                   const std::vector<std::string>& flags = {}) {
  std::vector<std::string> args{"run"};
  args.insert(args.end(), flags.begin(), flags.end());
  args.push_back(dir.file("p.toml", fixture_pipeline(settings, "count = 100", "", sink)));
  auto r = run(args, fixture_env, 60s);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return r;
}

/// Runs `pipeline` until its sink has written `lines` lines, then stops it with SIGINT.
result stopped_after(const temp_dir& dir, const std::string& pipeline, std::size_t lines) {
  child c({binary(), "run", dir.file("p.toml", pipeline)}, fixture_env);
  REQUIRE(wait_for_lines(dir, "alerts.txt", lines, 20s));
  c.signal(SIGINT);
  return c.wait(20s);
}

} // namespace

TEST_CASE("a failure worth retrying is retried with backoff and the alert delivered once") {
  temp_dir dir;
  const auto r = run_fixture(dir, "", "unavailable_writes = 3\nretry_backoff = '10ms'\nmax_retries = 5");
  const std::string alerts = dir.read("alerts.txt");
  CHECK(count_lines(alerts, " raised ") == 10);
  CHECK(count_lines(alerts, "home 1167642000000 ") == 1);  // the first alert (09:00), once
  CHECK(count_lines(r.err, "warning [out] delivery failed: fixture service unavailable (HTTP 503); retrying in") == 3);
  CHECK(count_lines(r.err, "(retry 3 of 5)") == 1);
  CHECK(r.err.find("100 readings, 10 alerts delivered\n") != std::string::npos);
}

TEST_CASE("a raise given up is raised again by the next reading above: an outage at its start does not silence the spell") {
  temp_dir dir;
  // With a threshold of 0.4 every reading is unusual: one episode of 100 hours.
  // One reading at a time, as a live meter gives them: each is decided after the one before was delivered.
  const auto r = run_fixture(dir, "alert_threshold = 0.4\nbatch_size = 1\nmax_in_flight = 1",
                             "unavailable_writes = 2\nmax_retries = 1\nretry_backoff = '1ms'");
  INFO(r.err);
  CHECK(count_lines(r.err, "[out] gave up delivering the raised alert for home 2007-01-01 00:00 ") == 1);
  const std::string alerts = dir.read("alerts.txt");
  CHECK(count_lines(alerts, " raised ") == 1);
  CHECK(count_lines(alerts, "home 1167613200000 ") == 1);  // 01:00, the next reading
  CHECK(r.err.find("100 readings, 1 alert delivered, 1 given up\n") != std::string::npos);
}

TEST_CASE("a raise given up after later readings were decided: its first reminder is the raise, or its all-clear is withdrawn") {
  temp_dir dir;
  // All 100 readings are decided before the raise is given up (a backlog):
  // one episode of 100 hours, reminded every 10 hours.
  auto r = run_fixture(dir, "alert_threshold = 0.4\nremind_every = '10h'\nresolved = true",
                       "unavailable_writes = 2\nmax_retries = 1\nretry_backoff = '1ms'");
  INFO(r.err);
  CHECK(count_lines(r.err, "[out] gave up delivering the raised alert for home 2007-01-01 00:00 ") == 1);
  CHECK(count_lines(r.err, "[out] the reminder for home 2007-01-01 10:00 (ratio, ") == 1);
  std::string alerts = dir.read("alerts.txt");
  CHECK(count_lines(alerts, " raised") == 1);
  CHECK(count_lines(alerts, "home 1167645600000 ") == 1);  // 10:00, the first reminder, sent as the raise
  CHECK(count_lines(alerts, " reminder") == 8);            // 20:00 ... 90:00: "still unusual" of an alert received
  CHECK(r.err.find("100 readings, 9 alerts delivered, 1 given up\n") != std::string::npos);

  // Spikes alone (10 one-hour episodes), no reminders: the first raise is
  // given up, and the "back to normal" of that episode with it.
  temp_dir spikes;
  r = run_fixture(spikes, "resolved = true", "unavailable_writes = 2\nmax_retries = 1\nretry_backoff = '1ms'");
  INFO(r.err);
  CHECK(count_lines(r.err, "[out] withdrew the resolved alert for home 2007-01-01 10:00 (ratio, ") == 1);
  alerts = spikes.read("alerts.txt");
  CHECK(count_lines(alerts, " raised") == 9);
  CHECK(count_lines(alerts, " resolved") == 8);  // the last spike, at the last reading, has none
  CHECK(alerts.find("home 1167645600000 ") == std::string::npos);  // 10:00, the all-clear of the alert given up
  CHECK(r.err.find("100 readings, 17 alerts delivered, 1 given up\n") != std::string::npos);
}

TEST_CASE("a raise given up with its reminder in one refused flush: the next reading above raises again") {
  temp_dir dir;
  // Batches of 20 hourly readings, one in flight: the first chunk holds the
  // raise (00:00) and its reminder (10:00), both given up when the flush is.
  const auto r = run_fixture(dir, "alert_threshold = 0.4\nremind_every = '10h'\nbatch_size = 20\nmax_in_flight = 1",
                             "reject_flushes = true");
  INFO(r.err);
  CHECK(count_lines(r.err, "[out] gave up delivering the raised alert for home 2007-01-01 00:00 ") == 1);
  CHECK(count_lines(r.err, "[out] gave up delivering the reminder alert for home 2007-01-01 10:00 ") == 1);
  // Nobody was told: not "still unusual" at 20:00, a raise.
  CHECK(count_lines(r.err, "[out] gave up delivering the raised alert for home 2007-01-01 20:00 ") == 1);
}

TEST_CASE("a service's Retry-After is waited out") {
  temp_dir dir;
  const auto r = run_fixture(dir, "", "unavailable_writes = 1\nretry_after = '300ms'\nretry_backoff = '1ms'");
  CHECK(count_lines(r.err, "retrying in 300 ms (retry 1 of 8)") == 1);
  CHECK(count_lines(dir.read("alerts.txt"), " raised ") == 10);
}

TEST_CASE("a failure not worth retrying is given up at once, with the sink's message") {
  temp_dir dir;
  const auto r = run_fixture(dir, "", "reject_writes = true");
  CHECK(count_lines(r.err, "retrying") == 0);
  CHECK(count_lines(r.err, "[out] gave up delivering the raised alert for home ") == 10);
  CHECK(r.err.find("[out] gave up delivering the raised alert for home 2007-01-01 09:00 (ratio, 500 Wh, score "
                   "5.00): fixture service rejected the token (HTTP 401): check FIXTURE_TOKEN\n") != std::string::npos);
  CHECK(r.err.find("100 readings, 0 alerts delivered, 10 given up\n") != std::string::npos);
}

TEST_CASE("a flush not worth retrying gives up its batch at once, as a write would its alert") {
  temp_dir dir;
  const auto r = run_fixture(dir, "", "reject_flushes = true");
  CHECK(count_lines(r.err, "retrying") == 0);
  CHECK(count_lines(r.err, "[out] gave up delivering the raised alert for home ") == 10);
  CHECK(r.err.find("(ratio, 500 Wh, score 5.00): fixture broker refused the batch (message too large)\n") !=
        std::string::npos);
  CHECK(r.err.find("100 readings, 0 alerts delivered, 10 given up\n") != std::string::npos);
}

TEST_CASE("retries are bounded: after max_retries the alert is given up and the next one goes on") {
  temp_dir dir;
  const auto r = run_fixture(dir, "", "unavailable_writes = 4\nmax_retries = 2\nretry_backoff = '1ms'");
  // The first alert fails 3 times and is given up; the second fails once more, then all get through.
  CHECK(count_lines(r.err, "gave up delivering") == 1);
  CHECK(r.err.find("fixture service unavailable (HTTP 503) (3 attempts)") != std::string::npos);
  CHECK(count_lines(dir.read("alerts.txt"), " raised ") == 9);
  CHECK(r.err.find("9 alerts delivered, 1 given up") != std::string::npos);
  // After the warnings, a word that the service takes deliveries again.
  CHECK(count_lines(r.err, "info    [out] delivering again after 4 failed attempts") == 1);
}

TEST_CASE("a sink that is down does not hold back the other sinks") {
  temp_dir dir;
  // Small credit: a sink that held on to its batches would stall the source after
  // 16 readings, before the second alert. The speaker's outbox holds 4 x 4 alerts.
  const std::string text = fixture_pipeline("batch_size = 4\nmax_in_flight = 4\nshutdown_timeout = '500ms'",
                                            "count = 100", "", "") +
                           "[[sinks]]\nname = 'speaker'\nplugin = 'fixture_sink'\nfrom = ['ratio']\n"
                           "record = 'speaker.txt'\nunavailable_writes = 1000000\nretry_backoff = '1h'\n";
  child c({binary(), "run", dir.file("p.toml", text)}, fixture_env);
  const bool phone_got_all = wait_for_lines(dir, "alerts.txt", 10, 20s);
  c.signal(SIGINT);
  const auto r = c.wait(20s);
  INFO(r.err);
  CHECK(phone_got_all);
  CHECK(count_lines(r.err, "[speaker] delivery failed") == 1);  // and then waiting for its retry
  CHECK(r.exit_code == 1);  // the speaker's alert was never delivered: not drained, not acknowledged
  // The source waits for what the speaker holds (how many batches depends on how far it read).
  CHECK(r.err.find("did not stop within shutdown_timeout (500ms); exiting without draining; source 'in' "
                   "(fixture_source) was waiting for ") != std::string::npos);
  CHECK(r.err.find(" it read to be handled by the sinks; sink 'speaker' (fixture_sink) was waiting to retry: fixture "
                   "service unavailable (HTTP 503). Alerts not delivered are lost, unless the source reads them again "
                   "(Kafka: from its last commit, at the next start or by another process of its group)") !=
        std::string::npos);
  // What each sink delivered is still said, though none could close.
  CHECK_THAT(r.err, Catch::Matchers::EndsWith("pipeline 't' stopped without draining; delivered by sink: out 10 "
                                              "alerts, speaker 0 alerts (10 not delivered)\n"));
}

TEST_CASE("a stop held up by a sink waiting to restart after a failure names it") {
  temp_dir dir;
  child c({binary(), "run",
           dir.file("p.toml", fixture_pipeline("restart_backoff = '1h'\nshutdown_timeout = '500ms'", "count = 100",
                                               "", "fail_always = true"))},
          fixture_env);
  const bool failed = wait_for_log(c, "restarting in 3600000 ms", 20s);
  c.signal(SIGINT);
  const auto r = c.wait(20s);
  INFO(r.err);
  CHECK(failed);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("exiting without draining; source 'in' (fixture_source) was waiting for 1 batch it read to be "
                   "handled by the sinks; sink 'out' (fixture_sink) was waiting to restart after a failure. "
                   "Alerts not delivered are lost") != std::string::npos);
}

TEST_CASE("a stop held up by a slow sink names the source waiting for what it read") {
  // A reading a batch, each flush taking 200 ms: when the stop runs out of
  // time the sink may be in its plugin or just out of it, with nothing to
  // say; the source still waits for batches on their way to it.
  temp_dir dir;
  const auto r = stopped_after(dir,
                               fixture_pipeline("batch_size = 1\nmax_in_flight = 8\nshutdown_timeout = '500ms'",
                                                "count = 100", "", "receive = 'all'\ndelay = '200ms'"),
                               1);
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("exiting without draining; source 'in' (fixture_source) was waiting for ") != std::string::npos);
  CHECK(r.err.find(" it read to be handled by the sinks") != std::string::npos);
  CHECK(r.err.find(". Alerts not delivered are lost, unless the source reads them again") != std::string::npos);
}

TEST_CASE("a stop held up by a source as it stops names it, and says no alert is lost") {
  // Its stop() comes once every batch it read was handled: a Kafka source commits then.
  temp_dir dir;
  const auto r =
      stopped_after(dir, fixture_pipeline("shutdown_timeout = '500ms'", "count = 0\nstop_takes = '10s'", "", ""), 5);
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("exiting without draining; source 'in' (fixture_source) was still reading or stopping (its "
                   "plugin had not returned). A source that reads again from its last commit (Kafka) gives what it "
                   "had not committed again at the next start: duplicates, not losses") != std::string::npos);
  CHECK(r.err.find("Alerts not delivered are lost") == std::string::npos);
}

TEST_CASE("the alert policy's keys: sustain, reminders, back to normal, per sink") {
  temp_dir dir;
  // With a threshold of 0.4 every reading is unusual: one episode of 100 hours.
  const auto r = run_fixture(dir, "alert_threshold = 0.4\nsustain = '3h'\nremind_every = '1d'",
                             "receive = 'alerts'", {"--log-level", "debug"});
  const std::string alerts = dir.read("alerts.txt");
  CHECK(count_lines(alerts, " raised ") == 1);
  CHECK(alerts.find("home 1167620400000 ") == 0);  // 03:00, three hours after the first reading
  CHECK(count_lines(alerts, " reminder ") == 4);   // 03:00 the next day, and three more
  CHECK(r.err.find("[out] home 2007-01-01 01:00 (ratio, 50 Wh, score 0.50): no notification, waiting for sustain: "
                   "1h of 3h\n") != std::string::npos);
  CHECK(r.err.find("[out] home 2007-01-01 03:00 (ratio, 50 Wh, score 0.50): raised, above the threshold for 4 "
                   "readings, 3h\n") != std::string::npos);
  CHECK(r.err.find("[out] home 2007-01-02 03:00 (ratio, 50 Wh, score 0.50): reminder, still above the threshold "
                   "after 1d") == std::string::npos);  // hours, as a pipeline file would say
  CHECK(r.err.find("[out] home 2007-01-02 03:00 (ratio, 50 Wh, score 0.50): reminder, still above the threshold "
                   "after 27h\n") != std::string::npos);

  // A sink's own keys win over [pipeline]'s; resolved sends the back-to-normal notice.
  temp_dir other;
  run_fixture(other, "sustain = '3h'", "sustain = 1\nresolved = true");
  const std::string own = other.read("alerts.txt");
  CHECK(count_lines(own, " raised ") == 10);
  CHECK(count_lines(own, " resolved ") == 9);  // the last spike is the last reading
}

TEST_CASE("with receive = 'all', a reading inside the band is unusual since no time, though it ends a spell") {
  temp_dir dir;
  std::string band = "band = [";
  for (int h = 0; h < 24; ++h) band += std::string(h ? ", " : "") + "[0, 100]";
  dir.file("h.csv", "ts,wh\n2007-01-14T04:00:00Z,500\n2007-01-14T05:00:00Z,500\n2007-01-14T06:00:00Z,50\n");
  const auto r = run({"run", dir.file("p.toml", "[pipeline]\nname = 't'\nsustain = 2\n"
                                                "[[sources]]\nname = 'in'\nplugin = 'replay'\npath = 'h.csv'\n"
                                                "[[scorers]]\nname = 'band'\nplugin = 'percentile_band'\n"
                                                "from = ['in']\n" + band + "]\n"
                                                "[[sinks]]\nname = 'out'\nplugin = 'console'\nfrom = ['band']\n"
                                                "format = 'json'\nreceive = 'all'\n")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(count_lines(r.out, "") == 3);
  const std::string since_four = "\"since_ms\":1168747200000";  // 04:00Z
  CHECK(count_lines(r.out, "\"alert\":\"raised\",\"threshold\":1," + since_four) == 1);  // 05:00
  CHECK(count_lines(r.out, "since_ms") == 1);  // not the 06:00 reading's, back inside the band
}

TEST_CASE("quiet hours silence a sink's alert whose episode is over before they end") {
  temp_dir dir;
  // Spikes at 09:00, 19:00, 05:00 (day 2), ...; quiet 04:00-06:00 silences the 05:00 one for good
  // (it is over by 06:00), a raise at 19:00 is outside.
  run_fixture(dir, "", "quiet_hours = '04:00-06:00'", {"--log-level", "debug"});
  const std::string alerts = dir.read("alerts.txt");
  CHECK(count_lines(alerts, " raised ") == 9);
  CHECK(count_lines(alerts, "home 1167714000000 ") == 0);  // 2007-01-02 05:00
}
