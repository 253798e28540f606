// Whether a Kafka source or sink reaches a broker, as /healthz and brokers_up say:
// librdkafka's "all brokers are down" and a failure to connect start the trouble, its statistics
// (the shape librdkafka 2.0 writes, trimmed) end it. The end to end case,
// a broker taken down and back, is tests/kafka/test_broker_outage.py.
#include "plugin_harness.hpp"

#include <broker_health.hpp>

#include <catch2/catch.hpp>

using namespace stream_smarts;
using stream_smarts::testing::fake_context;

namespace {

std::string statistics(const std::string& state, const std::string& coordinator_state = "UP") {
  return R"({"name":"rdkafka#consumer-2","type":"consumer","ts":293127432,"brokers":{)"
         R"("127.0.0.1:39111/1":{"name":"127.0.0.1:39111/1","nodeid":1,"source":"configured","state":")" +
         state + R"(","stateage":4002777},)"
                 R"("GroupCoordinator":{"name":"GroupCoordinator","nodeid":1,"source":"logical","state":")" +
         coordinator_state + R"("}}})";
}

} // namespace

TEST_CASE("broker health: brokers up in librdkafka's statistics, its logical ones left out") {
  CHECK(kafka::brokers_up(statistics("UP")) == 1);
  CHECK(kafka::brokers_up(statistics("INIT")) == 0);
  CHECK(kafka::brokers_up(statistics("DOWN", "DOWN")) == 0);
  CHECK(kafka::brokers_up(R"({"name":"p","brokers":{}})") == 0);
  CHECK_FALSE(kafka::brokers_up("{\"brokers\":{\"a\":"));  // cut short
  CHECK_FALSE(kafka::brokers_up("[1, 2]"));
  CHECK_FALSE(kafka::brokers_up(R"({"brokers":[]})"));
  CHECK_FALSE(kafka::brokers_up(R"({"brokers":{"a":"UP"}})"));
  CHECK(kafka::brokers_up(R"({"brokers":{"a":{"state":1,"source":["x"]}}})") == 0);  // not strings: not up

  // The default localhost:9092 and the 127.0.0.1 the broker advertises are one broker.
  const std::string one_broker_two_names =
      R"({"brokers":{"localhost:9092/bootstrap":{"nodeid":-1,"source":"configured","state":"UP"},)"
      R"("127.0.0.1:9092/1":{"nodeid":1,"source":"learned","state":"UP"},)"
      R"("GroupCoordinator":{"nodeid":1,"source":"logical","state":"UP"}}})";
  CHECK(kafka::brokers_up(one_broker_two_names) == 1);
  CHECK(kafka::brokers_up(R"({"brokers":{"a:1/bootstrap":{"nodeid":-1,"state":"UP"},"b:1/bootstrap":)"
                          R"({"nodeid":-1,"state":"UP"},"c:1/3":{"nodeid":3,"state":"DOWN"}}})") == 2);
  CHECK(kafka::brokers_up(R"({"brokers":{"a:1/1":{"nodeid":1,"state":"UP"},"b:1/2":{"nodeid":2,"state":"UP"},)"
                          R"("c:1/3":{"nodeid":3,"state":"CONNECT"}}})") == 2);
}

TEST_CASE("broker health: trouble from all brokers down until statistics show one up") {
  fake_context ctx(plugin_descriptor{}, {}, "/nonexistent");
  kafka::broker_health health(ctx);
  // A connection failing now and then is not trouble: librdkafka reconnects.
  health.error(RD_KAFKA_RESP_ERR__TRANSPORT, "127.0.0.1:9092/1: Connect to ipv4#127.0.0.1:9092 failed");
  health.statistics(statistics("INIT"));  // connecting at start: not trouble either
  CHECK(ctx.troubles_.back().empty());
  CHECK(ctx.gauges_.at("brokers_up") == 0);

  health.error(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "1/1 brokers are down");
  CHECK(ctx.troubles_.back() == "no Kafka broker answers (latest: 127.0.0.1:9092/1: Connect to ipv4#127.0.0.1:9092 "
                                "failed)");
  CHECK(ctx.log_.lines.back() == "warning: " + ctx.troubles_.back());  // once, as it begins
  health.error(RD_KAFKA_RESP_ERR__RESOLVE, "b:9092/bootstrap: Failed to resolve 'b:9092': Name or service not known "
                                           "(after 5ms in state CONNECT)");
  CHECK(ctx.troubles_.back() == "no Kafka broker answers (latest: b:9092/bootstrap: Failed to resolve 'b:9092': Name "
                                "or service not known (after 5ms in state CONNECT))");
  const auto lines = ctx.log_.lines.size();
  health.error(RD_KAFKA_RESP_ERR__MAX_POLL_EXCEEDED, "not about brokers");
  health.statistics(statistics("DOWN", "UP"));  // the coordinator's alias is no broker of its own
  health.statistics("not statistics");
  CHECK(ctx.troubles_.back().find("no Kafka broker answers") == 0);
  CHECK(ctx.log_.lines.size() == lines + 1);
  CHECK(ctx.log_.lines.back() == "debug: Kafka: statistics not understood, left out of brokers_up and /healthz");

  health.statistics(statistics("UP"));
  CHECK(ctx.troubles_.back().empty());
  CHECK(ctx.gauges_.at("brokers_up") == 1);
  CHECK(ctx.log_.lines.back() == "info: Kafka: a broker answers again (1 connected)");
  health.statistics(statistics("UP"));
  CHECK(ctx.log_.lines.size() == lines + 2);  // said once

  // Down again: the earlier failure is not given as the reason, and a
  // connection that worked and closed is no reason at all (below).
  health.error(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "1/1 brokers are down");
  CHECK(ctx.troubles_.back().empty());
  health.error(RD_KAFKA_RESP_ERR__TRANSPORT, "a:9092/1: Connect to ipv4#127.0.0.1:9092 failed: Connection refused "
                                             "(after 0ms in state CONNECT)");
  CHECK(ctx.troubles_.back() == "no Kafka broker answers (latest: a:9092/1: Connect to ipv4#127.0.0.1:9092 failed: "
                                "Connection refused (after 0ms in state CONNECT))");
}

TEST_CASE("broker health: a connection closed while idle is no outage, until connecting again fails") {
  // Between a sink's rare alerts, a broker closes its idle connection (connections.max.idle.ms, 10 minutes by
  // default), and librdkafka says all brokers are down; it connects again when it needs to.
  fake_context ctx(plugin_descriptor{}, {}, "/nonexistent");
  kafka::broker_health health(ctx);
  health.statistics(statistics("UP"));
  health.error(RD_KAFKA_RESP_ERR__TRANSPORT, "a:9092/1: Disconnected (after 600012ms in state UP)");
  health.error(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "1/1 brokers are down");
  CHECK(ctx.troubles_.back().empty());
  health.statistics(statistics("UP"));  // connected again: nothing was said, so no "answers again" either
  CHECK(ctx.log_.lines.empty());
  health.error(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "1/1 brokers are down");  // closed by the client's own setting
  CHECK(ctx.troubles_.back().empty());
  // The broker really went: connecting again fails.
  health.error(RD_KAFKA_RESP_ERR__TRANSPORT, "a:9092/1: Connect to ipv4#127.0.0.1:9092 failed: Connection refused "
                                             "(after 0ms in state CONNECT)");
  CHECK(ctx.troubles_.back() == "no Kafka broker answers (latest: a:9092/1: Connect to ipv4#127.0.0.1:9092 failed: "
                                "Connection refused (after 0ms in state CONNECT))");
}

TEST_CASE("broker health: what the stage waits for and the brokers' state make one trouble, neither clears the other") {
  fake_context ctx(plugin_descriptor{}, {}, "/nonexistent");
  kafka::broker_health health(ctx);
  health.waiting("still waiting for Kafka to accept 3 messages for topic 'alerts' (5 s so far)");
  CHECK(ctx.troubles_.back() == "still waiting for Kafka to accept 3 messages for topic 'alerts' (5 s so far)");
  health.error(RD_KAFKA_RESP_ERR__TRANSPORT, "b:9092/1: Connection refused");
  health.error(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "1/1 brokers are down");
  CHECK(ctx.troubles_.back() == "still waiting for Kafka to accept 3 messages for topic 'alerts' (5 s so far): "
                                "no Kafka broker answers (latest: b:9092/1: Connection refused)");
  health.waiting({});  // the sink's flush ends (given up): the brokers are still away
  CHECK(ctx.troubles_.back() == "no Kafka broker answers (latest: b:9092/1: Connection refused)");
  health.waiting("still waiting for Kafka to accept 1 messages for topic 'alerts' (5 s so far)");
  health.statistics(statistics("UP"));  // back: the wait may go on a little, as the broker takes them
  CHECK(ctx.troubles_.back() == "still waiting for Kafka to accept 1 messages for topic 'alerts' (5 s so far)");
  health.waiting({});
  CHECK(ctx.troubles_.back().empty());
}
