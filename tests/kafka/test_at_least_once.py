"""Test 5: kill -9 in the middle of a backfill, restart with the same group:
every reading is scored and every alert written at least once, and the
readings scored twice are bounded by the in-flight window.

Also: stop_at_end on its own (see StopAtEndTest for the bug it shows)."""

import collections
import json
import math
import unittest

import harness
from harness import (BAND, HOUR_MS, KafkaTestCase, band_scorer, epoch_ms, inline_table, kafka_sink, message_count,
                     pipeline_header, produce, read_topic, toml_string)

N = 200_000
PARTITIONS = 3
ALERT_EVERY = 50               # reading i alerts iff i % 50 == 0
BATCH_SIZE = 256
MAX_IN_FLIGHT = 8
BASE_TS = epoch_ms("2000-01-01T00:00:00+00:00")
GROUP = "e2e-at-least-once"

# librdkafka consumer settings for the mock cluster: a member killed with -9
# is noticed after session.timeout.ms (45 s by default). enable.partition.eof
# is what stop_at_end needs to see the end (see StopAtEndTest).
CONSUMER_PROPERTIES = {"group.id": GROUP, "session.timeout.ms": "3000", "heartbeat.interval.ms": "1000",
                       "enable.partition.eof": "true"}


def reading(i):
    ts = BASE_TS + i * HOUR_MS
    return ts, (20000 if i % ALERT_EVERY == 0 else 1000)


def pipeline(brokers, stop_at_end, properties=CONSUMER_PROPERTIES):
    return (pipeline_header("at-least-once", batch_size=BATCH_SIZE, max_in_flight=MAX_IN_FLIGHT) +
            "[[sources]]\nname = \"raw_power\"\nplugin = \"kafka_source\"\nbrokers = %s\ntopics = [\"raw_power\"]\n"
            "ts_field = \"ts\"\ncommit_interval = \"0s\"\nstop_at_end = %s\nproperties = %s\n\n" %
            (toml_string(brokers), "true" if stop_at_end else "false", inline_table(properties)) +
            band_scorer() +
            kafka_sink("anomoly_power", brokers, "ANOMOLY_POWER", receive="unusual") +
            # 200k scored readings: compressed, so the mock's ~5 MiB per partition keeps them all.
            kafka_sink("power_scored", brokers, "POWER_SCORED", receive="all", properties={"compression.type": "lz4"}))


class KillAndRestartTest(KafkaTestCase):
    def test_kill_9_and_restart_loses_nothing(self):
        broker = self.start_broker(topics=["raw_power"], partitions=PARTITIONS)
        messages = []
        for i in range(N):
            ts, wh = reading(i)
            messages.append({"key": b"m%d" % (i % 7), "partition": i % PARTITIONS,
                             "value": b'{"ts":%d,"wh":%d}' % (ts, wh)})
        produce(broker.address, "raw_power", messages, conf={"compression.type": "lz4"})
        del messages
        self.assertEqual(message_count(broker.address, "raw_power"), N)

        first = self.run_pipeline(pipeline(broker.address, stop_at_end=False), name="first")
        harness.wait_until(lambda: self.message_count(broker.address, "POWER_SCORED") >= N // 5, 60,
                           lambda: "the first run to score %d readings:\n%s" % (N // 5, first.tail()), interval=0.05)
        first.kill()  # SIGKILL: no stop(), no last commit
        scored_at_kill = self.message_count(broker.address, "POWER_SCORED")
        self.assertLess(scored_at_kill, N, "killed too late to test anything")
        print("\nkilled after %d of %d readings were scored" % (scored_at_kill, N))

        second = self.run_pipeline(pipeline(broker.address, stop_at_end=True), name="second")
        self.assertEqual(second.wait(90), 0)
        log = second.log()
        self.assertRegex(log, r"pipeline 'at-least-once' finished: \d+ readings")

        # Every reading scored at least once; the re-scored ones within the bound.
        scored = read_topic(broker.address, "POWER_SCORED")
        times = collections.Counter(json.loads(r.value)["EVENT_TS"] for r in scored)
        expected_times = {reading(i)[0] for i in range(N)}
        self.assertEqual(set(times), expected_times)
        scored_twice = len(scored) - N
        # What the first run had read but not committed when it died: at most
        # max_in_flight batches on their way to the sinks, plus a sink's outbox
        # of as many readings (taken, not yet delivered), plus the batch whose
        # (asynchronous, commit_interval = 0s) commit may not have reached the broker.
        bound = 2 * MAX_IN_FLIGHT * BATCH_SIZE + BATCH_SIZE
        self.assertLessEqual(max(times.values()), 2)
        self.assertLessEqual(scored_twice, bound)

        # Every expected alert at least once, no other; duplicates only from readings
        # read again. The alert sink may have delivered readings the busier scored
        # sink had not when the process died: their alerts come twice, the scored
        # readings once, so alerts_twice is bounded by the window, not by scored_twice.
        alerts = read_topic(broker.address, "ANOMOLY_POWER")
        alert_times = collections.Counter(json.loads(r.value)["EVENT_TS"] for r in alerts)
        expected_alerts = {reading(i)[0] for i in range(0, N, ALERT_EVERY)}
        self.assertEqual(set(alert_times), expected_alerts)
        alerts_twice = len(alerts) - len(expected_alerts)
        self.assertLessEqual(alerts_twice, bound // ALERT_EVERY + 1)
        for r in alerts[:: max(1, len(alerts) // 200)]:
            a = json.loads(r.value)
            hour = harness.time_local(a["EVENT_TS"]).hour
            self.assertEqual((a["HOUR"], a["KWH"]), (hour, 20000))
            self.assertTrue(math.isclose(a["FN"], BAND.score(hour, 20000), rel_tol=1e-12))
        print("re-scored readings: %d (bound %d); duplicate alerts: %d of %d" %
              (scored_twice, bound, alerts_twice, len(expected_alerts)))


class StopAtEndTest(KafkaTestCase):
    def test_stop_at_end_finishes_with_default_properties(self):
        # stop_at_end relies on librdkafka's end-of-partition events, which
        # the source's default properties turn on.
        broker = self.start_broker(topics=["raw_power"], partitions=PARTITIONS)
        produce(broker.address, "raw_power", [
            {"partition": i % PARTITIONS, "value": b'{"ts":%d,"wh":%d}' % reading(i)} for i in range(10)])
        run = self.run_pipeline(pipeline(broker.address, stop_at_end=True, properties={"group.id": "e2e-stop-at-end"}))
        try:
            self.assertEqual(run.wait(12), 0)  # ~3 s to join the group, then 10 readings
        finally:
            run.kill()
        self.assertIn("pipeline 'at-least-once' finished: 10 readings", run.log())


if __name__ == "__main__":
    unittest.main()
