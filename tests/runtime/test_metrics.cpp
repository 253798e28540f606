// The metrics endpoint's figures as text (Prometheus), health, the listen
// address, and the log's formats and secret removal: the pure parts, without
// actors or HTTP (tests/cli/test_metrics.cpp runs the endpoint).
#include "log.hpp"
#include "metrics.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <sstream>

using namespace stream_smarts;
using namespace stream_smarts::runtime;

namespace {

std::optional<listen_address> address(const std::string& text, std::string& why) {
  why.clear();
  return parse_listen_address(text, why);
}

stage_metrics stage_of(const std::string& name, plugin_kind kind) {
  stage_metrics s;
  s.stage = name;
  s.kind = kind;
  return s;
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

} // namespace

TEST_CASE("metrics address: HOST:PORT with an IP address or localhost") {
  std::string why;
  auto a = address("127.0.0.1:9464", why);
  REQUIRE(a);
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 9464);
  CHECK(a->text() == "127.0.0.1:9464");
  a = address("[::1]:0", why);
  REQUIRE(a);
  CHECK(a->host == "::1");
  CHECK(a->port == 0);
  CHECK(a->text() == "[::1]:0");
  CHECK(address("localhost:80", why));
  CHECK(address("0.0.0.0:65535", why));

  CHECK_FALSE(address("localhost", why));
  CHECK(why == "must be HOST:PORT, e.g. \"127.0.0.1:9464\"");
  CHECK_FALSE(address(":9464", why));
  CHECK_FALSE(address("127.0.0.1:70000", why));
  CHECK(why == "port must be a number from 0 to 65535 (0: any free port), not '70000'");
  CHECK_FALSE(address("127.0.0.1:", why));
  CHECK_FALSE(address("127.0.0.1:94x", why));
  CHECK_FALSE(address("metrics.example.com:9464", why));
  CHECK(why == "host must be an IP address (\"127.0.0.1\", \"0.0.0.0\", \"[::1]\") or localhost, not "
               "'metrics.example.com'");
  CHECK_FALSE(address("[127.0.0.1]:9464", why));
  CHECK(why == "'127.0.0.1' in brackets is not an IPv6 address");
}

TEST_CASE("metrics text: HELP and TYPE per family, every stage's series, by kind of stage") {
  pipeline_metrics m;
  m.pipeline = "power";
  auto source = stage_of("household", plugin_kind::source);
  source.readings = 26280;
  source.warm_ups = 6;
  source.in_flight_batches = 3;
  auto scorer = stage_of("band", plugin_kind::scorer);
  scorer.scored = 26280;
  scorer.restarts = 2;
  auto sink = stage_of("phone", plugin_kind::sink);
  sink.alerts = {12, 3, 1};
  sink.suppressed = {40, 2, 0, 7};
  sink.delivered = 15;
  sink.retries = 4;
  sink.given_up = 1;
  sink.outbox = 5;
  sink.health = stage_health::retrying;
  m.stages = {source, scorer, sink};
  const std::string text = render_prometheus(m);
  INFO(text);
  CHECK(has_line(text, "# HELP stream_smarts_readings_total Readings a source handed on to its scorers, not "
                       "counting those read again to warm up."));
  CHECK(has_line(text, "# TYPE stream_smarts_readings_total counter"));
  CHECK(has_line(text, "stream_smarts_readings_total{stage=\"household\"} 26280"));
  CHECK(has_line(text, "stream_smarts_warm_up_readings_total{stage=\"household\"} 6"));
  CHECK(text.find("stream_smarts_warm_up_readings_total{stage=\"band\"}") == std::string::npos);
  CHECK(text.find("stream_smarts_readings_total{stage=\"band\"}") == std::string::npos);  // sources only
  CHECK(has_line(text, "stream_smarts_scored_total{stage=\"band\"} 26280"));
  CHECK(has_line(text, "stream_smarts_alerts_total{stage=\"phone\",kind=\"raised\"} 12"));
  CHECK(has_line(text, "stream_smarts_alerts_total{stage=\"phone\",kind=\"reminder\"} 3"));
  CHECK(has_line(text, "stream_smarts_alerts_total{stage=\"phone\",kind=\"resolved\"} 1"));
  CHECK(has_line(text, "stream_smarts_alerts_suppressed_total{stage=\"phone\",reason=\"sustain\"} 40"));
  CHECK(has_line(text, "stream_smarts_alerts_suppressed_total{stage=\"phone\",reason=\"cooldown\"} 2"));
  CHECK(has_line(text, "stream_smarts_alerts_suppressed_total{stage=\"phone\",reason=\"quiet_hours\"} 0"));
  CHECK(has_line(text, "stream_smarts_alerts_suppressed_total{stage=\"phone\",reason=\"already_raised\"} 7"));
  CHECK(has_line(text, "stream_smarts_deliveries_total{stage=\"phone\"} 15"));
  CHECK(has_line(text, "stream_smarts_delivery_retries_total{stage=\"phone\"} 4"));
  CHECK(has_line(text, "stream_smarts_delivery_failures_total{stage=\"phone\"} 1"));
  CHECK(has_line(text, "stream_smarts_restarts_total{stage=\"band\"} 2"));
  CHECK(has_line(text, "# TYPE stream_smarts_in_flight_batches gauge"));
  CHECK(has_line(text, "stream_smarts_in_flight_batches{stage=\"household\"} 3"));
  CHECK(has_line(text, "stream_smarts_outbox_alerts{stage=\"phone\"} 5"));
  CHECK(has_line(text, "stream_smarts_stage_healthy{stage=\"household\"} 1"));
  CHECK(has_line(text, "stream_smarts_stage_healthy{stage=\"phone\"} 0"));
  CHECK(has_line(text, "stream_smarts_info{pipeline=\"power\",version=\"" STREAM_SMARTS_VERSION "\"} 1"));

  // Every sample line belongs to the family whose TYPE line came last.
  std::string family;
  std::size_t samples = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      family = line.substr(7, line.find(' ', 7) - 7);
    } else if (line.rfind("#", 0) != 0) {
      ++samples;
      CHECK(line.substr(0, line.find('{')) == family);
    }
  }
  CHECK(samples > 20);
}

TEST_CASE("metrics text: plugin figures, label escaping, names the runtime keeps") {
  figure_book book;
  book.count("decode_errors", "ignored before enable()", 1, {});
  CHECK(book.figures().empty());
  book.enable();
  book.count("decode_errors", "Records a source skipped.", 1, {{"topic", "raw_power"}});
  book.count("decode_errors", "another help: the first stays", 2, {{"topic", "raw_power"}});
  book.gauge("consumer_lag", "Messages not yet read.", 42, {{"topic", "raw_power"}, {"partition", "0"}});
  book.gauge("consumer_lag", "Messages not yet read.", 7, {{"topic", "raw_power"}, {"partition", "1"}});
  book.gauge("meter_silence_seconds", "Seconds without an impulse.", 4.2, {});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  book.gauge("consumer_lag", "", nan, {{"topic", "raw_power"}, {"partition", "1"}});
  book.count("readings", "a plugin taking a runtime name", 1, {{"stage", "x"}, {"odd label-name", "a\"b\\c\nd"}});
  book.count("consumer_lag", "a gauge's name as a counter: ignored", 1, {});
  auto source = stage_of("kafka", plugin_kind::source);
  source.figures = book.figures();
  const std::string text = render_prometheus({"p", {source}});
  INFO(text);
  CHECK(has_line(text, "# HELP stream_smarts_decode_errors_total Records a source skipped."));
  CHECK(has_line(text, "# TYPE stream_smarts_decode_errors_total counter"));
  CHECK(has_line(text, "stream_smarts_decode_errors_total{stage=\"kafka\",topic=\"raw_power\"} 3"));
  CHECK(has_line(text, "# TYPE stream_smarts_consumer_lag gauge"));
  CHECK(has_line(text, "stream_smarts_consumer_lag{stage=\"kafka\",topic=\"raw_power\",partition=\"0\"} 42"));
  CHECK(text.find("partition=\"1\"") == std::string::npos);  // NaN removed it
  CHECK(has_line(text, "stream_smarts_meter_silence_seconds{stage=\"kafka\"} 4.2"));  // not 4.2000000000000002
  CHECK(has_line(text, "stream_smarts_plugin_readings_total{stage=\"kafka\",plugin_stage=\"x\","
                       "odd_label_name=\"a\\\"b\\\\c\\nd\"} 1"));

  // A plugin that puts a secret in a label (a URL with its token) shows it masked.
  set_log_secrets({"o.Zq8Wm3Rt6Yp1"});
  figure_book leaky;
  leaky.enable();
  leaky.count("deliveries", "Pushes sent.", 1, {{"url", "https://x/?token=o.Zq8Wm3Rt6Yp1"}});
  auto sink = stage_of("phone", plugin_kind::sink);
  sink.figures = leaky.figures();
  const std::string masked = render_prometheus({"p", {sink}});
  set_log_secrets({});
  CHECK(masked.find("o.Zq8Wm3Rt6Yp1") == std::string::npos);
  CHECK(masked.find("url=\"https://x/?token=[secret]\"") != std::string::npos);

  // Counters outlive the instance; gauges go with it.
  book.forget_gauges();
  CHECK(book.figures().at("decode_errors").series.size() == 1);
  CHECK(book.figures().at("consumer_lag").series.empty());
}

TEST_CASE("health: the failing stages, one line each") {
  pipeline_metrics m{"p", {stage_of("in", plugin_kind::source), stage_of("ratio", plugin_kind::scorer),
                           stage_of("out", plugin_kind::sink)}};
  CHECK(failing_stages(m).empty());
  m.stages[1].health = stage_health::restarting;
  m.stages[2].health = stage_health::delivery_failed;
  CHECK(failing_stages(m) == "ratio: failed, restarting\nout: delivery failed, given up\n");

  // A plugin's own words, on their line, without a secret.
  m.stages[1].health = stage_health::healthy;
  m.stages[0].health = stage_health::troubled;
  m.stages[0].trouble = "no broker answers\nok (login o.Zq8Wm3Rt6Yp1 refused)";
  m.stages[2].trouble = "not said: the delivery is what fails";
  set_log_secrets({"o.Zq8Wm3Rt6Yp1"});
  const std::string lines = failing_stages(m);
  set_log_secrets({});
  CHECK(lines ==
        "in: cannot work now: no broker answers\\nok (login [secret] refused)\nout: delivery failed, given up\n");
}

TEST_CASE("log lines: text and JSON, with proper escaping") {
  CHECK(format_log_line(log_format::text, "2026-11-21T10:00:00.123Z", log_level::info, "band", "loaded") ==
        "2026-11-21T10:00:00.123Z info    [band] loaded");
  CHECK(format_log_line(log_format::text, "2026-11-21T10:00:00.123Z", log_level::warning, "in\nput",
                        "bad wh '1\r2026-11-21T10:00:00.124Z error   [runtime] forged', '\x1b[31mred\x1b[0m'\t\x7f") ==
        "2026-11-21T10:00:00.123Z warning [in\\nput] bad wh '1\\r2026-11-21T10:00:00.124Z error   [runtime] forged', "
        "'\\x1b[31mred\\x1b[0m'\t\\x7f");
  // A Latin-1 file's byte made the line binary to grep and a blob to journald; UTF-8 stays as it is.
  CHECK(format_log_line(log_format::text, "2026-11-21T10:00:00.123Z", log_level::warning, "meter",
                        "p.txt:3: 'caf\xE9 \xFF\xFE', caf\xC3\xA9 \xE2\x82\xAC, cut \xE2\x82") ==
        "2026-11-21T10:00:00.123Z warning [meter] p.txt:3: 'caf\\xe9 \\xff\\xfe', caf\xC3\xA9 \xE2\x82\xAC, cut "
        "\\xe2\\x82");
  // C1 controls (CSI, U+009B, starts a terminal's escape sequence; NEL) and line separators, though UTF-8.
  CHECK(format_log_line(log_format::text, "2026-11-21T10:00:00.123Z", log_level::warning, "meter",
                        "c1 \xC2\x9B" "31mred \xC2\x85 \xE2\x80\xA8 \xE2\x80\xA9 \xC2\xA0") ==
        "2026-11-21T10:00:00.123Z warning [meter] c1 \\u009b31mred \\u0085 \\u2028 \\u2029 \xC2\xA0");
  CHECK(format_log_line(log_format::json, "2026-11-21T10:00:00.123Z", log_level::warning, "in\"put",
                        "a \"quote\", a \\ and\na\ttab\x01") ==
        "{\"ts\":\"2026-11-21T10:00:00.123Z\",\"level\":\"warning\",\"stage\":\"in\\\"put\",\"message\":"
        "\"a \\\"quote\\\", a \\\\ and\\na\\ttab\\u0001\"}");
  CHECK(json_escape("caf\xC3\xA9 \xE2\x82\xAC") == "caf\xC3\xA9 \xE2\x82\xAC");           // UTF-8 kept
  CHECK(json_escape("bad \xFF byte, cut \xE2\x82") == "bad \\ufffd byte, cut \\ufffd\\ufffd");
  CHECK(json_escape("\xC0\xAF overlong, \xED\xA0\x80 surrogate") ==
        "\\ufffd\\ufffd overlong, \\ufffd\\ufffd\\ufffd surrogate");
  CHECK(parse_log_format("json") == log_format::json);
  CHECK(parse_log_format("text") == log_format::text);
  CHECK_FALSE(parse_log_format("xml"));
}

TEST_CASE("log lines: the pipeline's secrets are replaced, however they are embedded") {
  set_log_secrets({"o.Zq8Wm3Rt6Yp1", "short", "abc", "o.Zq8Wm3Rt6Yp1Ux4Ik7", "pin4"});
  CHECK(without_secrets("token o.Zq8Wm3Rt6Yp1Ux4Ik7 and o.Zq8Wm3Rt6Yp1, short") ==
        "token [secret] and [secret], [secret]");
  CHECK(without_secrets("abc stays: too brief to hide anything") == "abc stays: too brief to hide anything");
  CHECK(without_secrets("pin4 is not") == "[secret] is not");  // min_secret_length is enough
  CHECK(without_secrets("shortshort") == "[secret][secret]");
  set_log_secrets({});
  CHECK(without_secrets("short") == "short");
}
