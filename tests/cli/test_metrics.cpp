// [pipeline] metrics: a running pipeline's /metrics and /healthz, scraped
// with real HTTP requests on 127.0.0.1 (a port the binary picks, read from
// its log), and the metrics key's errors. Every wait is bounded.
#include "fixture_pipeline.hpp"
#include "http_client.hpp"
#include "process.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <optional>
#include <sstream>
#include <thread>

using namespace test_support;
using namespace std::chrono_literals;

namespace {

std::optional<http_response> http_get(int port, const std::string& path) { return http_request(port, "GET", path); }

/// The port the child says it serves metrics on (it was given port 0).
int metrics_port(const child& c) {
  const std::string marker = "metrics on http://127.0.0.1:";
  std::string err;
  REQUIRE(eventually([&] { return (err = c.err()).find(marker) != std::string::npos; }));
  return std::stoi(err.substr(err.find(marker) + marker.size()));
}

/// The value of the sample `series` (name{labels}) in a scrape, if it is there.
std::optional<double> sample(const std::string& scrape, const std::string& series) {
  std::istringstream lines(scrape);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return std::nullopt;
}

/// The metrics page; asked again while the pipeline is too busy to answer
/// within the server's 2 s (503), as under a sanitizer on a loaded machine.
std::string scrape(int port) {
  std::string page;
  eventually([&] {
    const auto r = http_get(port, "/metrics");
    if (r && r->status == 200) page = r->body;
    return !r || r->status != 503;
  });
  return page;
}

/// True once every `expected` series has its value in one scrape.
bool scrape_shows(int port, const std::map<std::string, double>& expected, std::string& last) {
  last = scrape(port);
  for (const auto& [series, value] : expected)
    if (sample(last, series) != value) return false;
  return true;
}

const std::string pipeline_with_port_0 = "metrics = '127.0.0.1:0'";

/// /healthz once it answers `status` (within eventually's bound), else its latest answer.
std::optional<http_response> healthz_when(int port, int status) {
  std::optional<http_response> health;
  eventually([&] {
    health = http_get(port, "/healthz");
    return health && health->status == status;
  });
  return health;
}

/// history.csv replayed at `speed` into the fixture scorer and sink, metrics on any port.
std::string household_pipeline(const std::string& settings, int speed) {
  return "[pipeline]\nname = 'm'\n" + pipeline_with_port_0 + "\n" + settings +
         "[[sources]]\nname = 'household'\nplugin = 'replay'\npath = 'history.csv'\nspeed = " +
         std::to_string(speed) +
         "\n[[scorers]]\nname = 'ratio'\nplugin = 'fixture_scorer'\nfrom = ['household']\n"
         "[[sinks]]\nname = 'out'\nplugin = 'fixture_sink'\nfrom = ['ratio']\nrecord = 'alerts.txt'\n";
}

} // namespace

TEST_CASE("metrics: a running pipeline's counters match its input, and /healthz says ok") {
  temp_dir dir;
  // Paced at ten hours a second: the six readings pass in half a second, then
  // the replay waits (72 s: 30 days of the file's time) for its last
  // reading, so the pipeline keeps running until SIGINT. Spikes at 01:00 (raised), 02:00 (already raised)
  // and 04:00 (within the cooldown); two lines are malformed.
  dir.file("history.csv", "ts,wh\n2007-01-01T00:00:00,50\n2007-01-01T01:00:00,500\n2007-01-01T02:00:00,500\n"
                          "2007-01-01T03:00:00,50\n2007-01-01T04:00:00,500\n2007-01-01T05:00:00,50\n"
                          "not a reading\n2007-01-01T06:00:00,lots\n2007-01-31T00:00:00,50\n");
  child c({binary(), "run", dir.file("p.toml", household_pipeline("cooldown = '1d'\n", 36000))}, fixture_env);
  const int port = metrics_port(c);
  std::string last;
  const bool counted = eventually([&] {
    return scrape_shows(port,
                        {{"stream_smarts_readings_total{stage=\"household\"}", 6},
                         {"stream_smarts_decode_errors_total{stage=\"household\"}", 2},
                         {"stream_smarts_scored_total{stage=\"ratio\"}", 6},
                         {"stream_smarts_alerts_total{stage=\"out\",kind=\"raised\"}", 1},
                         {"stream_smarts_alerts_total{stage=\"out\",kind=\"reminder\"}", 0},
                         {"stream_smarts_alerts_suppressed_total{stage=\"out\",reason=\"already_raised\"}", 1},
                         {"stream_smarts_alerts_suppressed_total{stage=\"out\",reason=\"cooldown\"}", 1},
                         {"stream_smarts_alerts_suppressed_total{stage=\"out\",reason=\"sustain\"}", 0},
                         {"stream_smarts_deliveries_total{stage=\"out\"}", 1},
                         {"stream_smarts_delivery_retries_total{stage=\"out\"}", 0},
                         {"stream_smarts_delivery_failures_total{stage=\"out\"}", 0},
                         {"stream_smarts_in_flight_batches{stage=\"household\"}", 0},
                         {"stream_smarts_outbox_alerts{stage=\"out\"}", 0},
                         {"stream_smarts_restarts_total{stage=\"ratio\"}", 0},
                         {"stream_smarts_stage_healthy{stage=\"out\"}", 1}},
                        last);
  });
  INFO(last);
  CHECK(counted);
  CHECK(last.find("# TYPE stream_smarts_readings_total counter\n") != std::string::npos);
  CHECK(last.find("# HELP stream_smarts_decode_errors_total ") != std::string::npos);
  const auto health = http_get(port, "/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(health->body == "ok\n");
  const auto missing = http_get(port, "/other");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  const auto posted = http_request(port, "POST", "/healthz");
  REQUIRE(posted);
  CHECK(posted->status == 405);
  CHECK(posted->head.find("\r\nAllow: GET, HEAD") != std::string::npos);
  CHECK(posted->body == "method not allowed: GET /healthz\n");
  // A body is never taken in: a 400 MB POST was read into memory whole.
  const auto huge = http_request(port, "POST", "/metrics", 400u << 20);
  REQUIRE(huge);
  CHECK(huge->status == 413);

  c.signal(SIGINT);
  const auto r = c.wait(20s);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(count_lines(dir.read("alerts.txt"), " raised ") == 1);
}

TEST_CASE("metrics: a source's decode errors are there from the start, at 0") {
  temp_dir dir;
  // A clean file, paced so that the pipeline runs until SIGINT.
  dir.file("history.csv", "ts,wh\n2007-01-01T00:00:00,50\n2007-01-31T00:00:00,50\n");
  child c({binary(), "run", dir.file("p.toml", household_pipeline("", 3600))}, fixture_env);
  const int port = metrics_port(c);
  std::string last;
  CHECK(eventually([&] {
    return scrape_shows(port,
                        {{"stream_smarts_readings_total{stage=\"household\"}", 1},
                         {"stream_smarts_decode_errors_total{stage=\"household\"}", 0}},
                        last);
  }));
  INFO(last);
  c.signal(SIGINT);
  CHECK(c.wait(20s).exit_code == 0);
}

TEST_CASE("metrics: /healthz is 503 naming a stage that keeps failing and restarting") {
  temp_dir dir;
  const auto file = dir.file(
      "p.toml", fixture_pipeline(pipeline_with_port_0 + "\nmax_restarts = 100\nrestart_backoff = '20ms'\n"
                                                        "shutdown_timeout = '500ms'",
                                 "count = 0", "", "fail_always = true"));
  child c({binary(), "run", file}, fixture_env);
  const int port = metrics_port(c);
  std::string last;
  std::optional<http_response> health;
  const bool failing = eventually([&] {
    last = scrape(port);
    health = http_get(port, "/healthz");
    return sample(last, "stream_smarts_restarts_total{stage=\"out\"}").value_or(0) >= 2 && health &&
           health->status == 503;
  });
  INFO(last);
  CHECK(failing);
  REQUIRE(health);
  CHECK(health->body == "out: failed, restarting\n");
  CHECK(sample(last, "stream_smarts_stage_healthy{stage=\"out\"}") == 0);
  CHECK(sample(last, "stream_smarts_stage_healthy{stage=\"in\"}") == 1);
  c.signal(SIGINT);
  CHECK_FALSE(c.wait(20s).timed_out);
}

TEST_CASE("metrics: a stage's own trouble is 503 in its words, until a fresh instance replaces it") {
  // A Kafka source no broker answers, a meter with no impulse for hours: the plugin waits it out, throwing nothing.
  temp_dir dir;
  const auto file = dir.file("p.toml", fixture_pipeline(pipeline_with_port_0 + "\nrestart_backoff = '20ms'",
                                                        "count = 0\ntrouble = \"sensor off the meter\\nok\"\n"
                                                        "trouble_for = '3s'",
                                                        "", ""));
  child c({binary(), "run", file}, fixture_env);
  const int port = metrics_port(c);
  auto health = healthz_when(port, 503);
  REQUIRE(health);
  CHECK(health->body == "in: cannot work now: sensor off the meter\\nok\n");  // on one line, as written
  CHECK(sample(scrape(port), "stream_smarts_stage_healthy{stage=\"in\"}") == 0);
  // The instance fails; the fresh one has no trouble of its own.
  health = healthz_when(port, 200);
  REQUIRE(health);
  CHECK(health->body == "ok\n");
  const std::string last = scrape(port);
  CHECK(sample(last, "stream_smarts_restarts_total{stage=\"in\"}") == 1);
  CHECK(sample(last, "stream_smarts_stage_healthy{stage=\"in\"}") == 1);
  c.signal(SIGINT);
  CHECK(c.wait(20s).exit_code == 0);
  CHECK(c.err().find("[in] read failed: fixture source fails after its trouble; restarting in 20 ms") !=
        std::string::npos);
}

TEST_CASE("metrics: a trouble said inside a long call shows while the call lasts") {
  // A Kafka sink waits inside its flush while the broker is away, maybe minutes: its words must not wait with it.
  temp_dir dir;
  const auto file = dir.file("p.toml", fixture_pipeline(pipeline_with_port_0, "count = 10\nthen_idle = true", "",
                                                        "delay = '4s'\nwaiting_says = 'broker away'"));
  child c({binary(), "run", file}, fixture_env);
  const int port = metrics_port(c);
  auto health = healthz_when(port, 503);
  REQUIRE(health);
  CHECK(health->body == "out: cannot work now: broker away\n");
  CHECK(sample(scrape(port), "stream_smarts_stage_healthy{stage=\"out\"}") == 0);
  health = healthz_when(port, 200);  // the call is over: it said so as it ended
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(sample(scrape(port), "stream_smarts_deliveries_total{stage=\"out\"}") == 1);
  c.signal(SIGINT);
  CHECK(c.wait(20s).exit_code == 0);
}

TEST_CASE("metrics: a sink with no alert to deliver is still served, and can say what keeps it from working") {
  // A Kafka sink of rare alerts whose broker went away: without idle() nothing would tell until the next alert.
  temp_dir dir;
  const auto file = dir.file("p.toml", fixture_pipeline(pipeline_with_port_0, "count = 0\nspike_wh = 50", "",
                                                        "idle_says = 'no broker'"));
  child c({binary(), "run", file}, fixture_env);
  const int port = metrics_port(c);
  const auto health = healthz_when(port, 503);
  REQUIRE(health);
  CHECK(health->body == "out: cannot work now: no broker\n");
  CHECK(sample(scrape(port), "stream_smarts_deliveries_total{stage=\"out\"}") == 0);  // no alert: no write, no flush
  c.signal(SIGINT);
  CHECK(c.wait(20s).exit_code == 0);
  CHECK(dir.read("alerts.txt") == "stopped\n");  // started and stopped, as a sink with alerts would be
}

TEST_CASE("metrics: a sink waiting to retry a delivery is unhealthy and holds its batch in flight") {
  temp_dir dir;
  const auto file = dir.file("p.toml", fixture_pipeline(pipeline_with_port_0 + "\nshutdown_timeout = '500ms'",
                                                        "count = 100", "",
                                                        "unavailable_writes = 1000000\nretry_backoff = '1h'"));
  child c({binary(), "run", file}, fixture_env);
  const int port = metrics_port(c);
  std::string last;
  const bool waiting = eventually([&] {
    return scrape_shows(port,
                        {{"stream_smarts_delivery_retries_total{stage=\"out\"}", 1},
                         {"stream_smarts_deliveries_total{stage=\"out\"}", 0},
                         {"stream_smarts_outbox_alerts{stage=\"out\"}", 10},
                         {"stream_smarts_in_flight_batches{stage=\"in\"}", 1},
                         {"stream_smarts_stage_healthy{stage=\"out\"}", 0}},
                        last);
  });
  INFO(last);
  CHECK(waiting);
  const auto health = http_get(port, "/healthz");
  REQUIRE(health);
  CHECK(health->status == 503);
  CHECK(health->body == "out: delivery failed, retrying\n");
  c.signal(SIGINT);
  CHECK_FALSE(c.wait(20s).timed_out);
}

TEST_CASE("metrics: a delivery given up makes the sink unhealthy until one succeeds") {
  temp_dir dir;
  const auto file = dir.file("p.toml", fixture_pipeline(pipeline_with_port_0, "count = 100\nthen_idle = true", "",
                                                        "reject_writes = true"));
  child c({binary(), "run", file}, fixture_env);
  const int port = metrics_port(c);
  std::string last;
  CHECK(eventually([&] {
    return scrape_shows(port,
                        {{"stream_smarts_delivery_failures_total{stage=\"out\"}", 10},
                         {"stream_smarts_stage_healthy{stage=\"out\"}", 0}},
                        last);
  }));
  const auto health = http_get(port, "/healthz");
  REQUIRE(health);
  CHECK(health->status == 503);
  CHECK(health->body == "out: delivery failed, given up\n");
  c.signal(SIGINT);
  CHECK(c.wait(20s).exit_code == 0);
}

TEST_CASE("metrics: each chunk given up shows at once, while the sink still works through the ones behind it") {
  // A Kafka sink with its broker away gave up a chunk, then waited out the next one's flush before the figure
  // moved: minutes with the default message.timeout.ms. Here: chunks of one reading, each flush 1 s, each given
  // up; before, the count went from 1 to 8 at once (the batches in flight), seconds after the second was given up.
  temp_dir dir;
  const auto file = dir.file("p.toml", fixture_pipeline(pipeline_with_port_0 + "\nbatch_size = 1",
                                                        "count = 20\nthen_idle = true", "",
                                                        "receive = \"all\"\nreject_flushes = true\ndelay = \"1s\""));
  child c({binary(), "run", file}, fixture_env);
  const int port = metrics_port(c);
  std::string last;
  const auto failures = [&] {
    last = scrape(port);
    return sample(last, "stream_smarts_delivery_failures_total{stage=\"out\"}").value_or(0);
  };
  double seen = 0;
  CHECK(eventually([&] { return (seen = failures()) >= 2; }, 15s, 100ms));
  INFO(last);
  CHECK(seen < 5);  // one at a time, as each is given up
  c.signal(SIGINT);
  c.wait(40s);
}

TEST_CASE("metrics: alerts are counted as delivered: a reminder sent as the raise given up is a raise") {
  temp_dir dir;
  // Every reading unusual: one episode of 100 hours, reminded every 10 hours.
  // The raise at 00:00 is given up after the 100 readings were decided.
  const auto file = dir.file(
      "p.toml", fixture_pipeline(pipeline_with_port_0 + "\nalert_threshold = 0.4\nremind_every = '10h'",
                                 "count = 100\nthen_idle = true", "",
                                 "unavailable_writes = 2\nmax_retries = 1\nretry_backoff = '300ms'"));
  child c({binary(), "run", file}, fixture_env);
  const int port = metrics_port(c);
  std::string last;
  CHECK(eventually([&] {
    return scrape_shows(port,
                        {{"stream_smarts_alerts_total{stage=\"out\",kind=\"raised\"}", 1},
                         {"stream_smarts_alerts_total{stage=\"out\",kind=\"reminder\"}", 8},
                         {"stream_smarts_deliveries_total{stage=\"out\"}", 9},
                         {"stream_smarts_delivery_failures_total{stage=\"out\"}", 1}},
                        last);
  }));
  INFO(last);
  c.signal(SIGINT);
  CHECK(c.wait(20s).exit_code == 0);
  CHECK(count_lines(c.err(), "[out] the reminder for home 2007-01-01 10:00 (ratio, ") == 1);
}

TEST_CASE("metrics: unusable values are reported at the key, a port in use when run") {
  temp_dir dir;
  auto invalid = [&](const std::string& value) {
    const auto file = dir.file("p.toml", fixture_pipeline("metrics = " + value, "", "", ""));
    const auto r = run({"validate", file}, fixture_env);
    CHECK(r.exit_code == 2);
    return r.err;
  };
  CHECK(invalid("'localhost'") == dir.path() + "/p.toml:3:11: [pipeline] metrics = \"localhost\": must be HOST:PORT, "
                                               "e.g. \"127.0.0.1:9464\"\n");
  CHECK(invalid("'127.0.0.1:99999'") ==
        dir.path() + "/p.toml:3:11: [pipeline] metrics = \"127.0.0.1:99999\": port must be a number from 0 to 65535 "
                     "(0: any free port), not '99999'\n");
  CHECK(invalid("'metrics.example.com:9464'") ==
        dir.path() + "/p.toml:3:11: [pipeline] metrics = \"metrics.example.com:9464\": host must be an IP address "
                     "(\"127.0.0.1\", \"0.0.0.0\", \"[::1]\") or localhost, not 'metrics.example.com'\n");
  CHECK(invalid("9464") == dir.path() + "/p.toml:3:11: option 'metrics' of [pipeline] must be a string, not an "
                                        "integer\n");

  // Someone else listens on the port: `run` says so at its value and starts
  // nothing, with exit 1 (to be started again), not 2 (a file that cannot work).
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  socklen_t length = sizeof address;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  const std::string taken = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  const auto file = dir.file("p.toml", fixture_pipeline("metrics = '" + taken + "'", "count = 100", "", ""));
  const auto r = run({"run", file}, fixture_env);
  ::close(fd);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find(file + ":3:11: [pipeline] metrics: cannot listen on " + taken + ": Address already in use\n") !=
        std::string::npos);
  CHECK(r.err.find("starting") == std::string::npos);  // nothing did
  CHECK(dir.read("alerts.txt").empty());
  // validate checks the file only: the service itself may hold the port.
  CHECK(run({"validate", file}, fixture_env).exit_code == 0);
}
