"""Test 6: the broker goes down while the pipeline runs and comes back: the
readings produced meanwhile (buffered by their producer) are scored once it
is back, nothing is lost, and the pipeline keeps running and stops cleanly.
Meanwhile /healthz says the source cannot work, and why.

Also: down for half a minute in the middle of a steady stream, with the
pipeline reading, scoring and writing alerts at the moment it goes."""

import collections
import json
import re
import threading
import time
import unittest

import harness
from harness import (BAND, HOUR_MS, KafkaTestCase, band_scorer, epoch_ms, get, inline_table, kafka_sink,
                     pipeline_header, produce, read_topic, samples, toml_string, wait_for_messages)

MESSAGE_TS = epoch_ms("2024-01-15T12:30:00+01:00")


def batch(tag, count=10):
    """`count` readings for hours 0..count-1, every other one far above its band."""
    readings = {}
    for i in range(count):
        readings["%s-%d" % (tag, i)] = (i, 20000 if i % 2 == 0 else 100)
    return readings


def pipeline(brokers, fields='wh_field = "kwh"\nhour_field = "hour"'):
    return (pipeline_header("outage", metrics="127.0.0.1:0") +
            "[[sources]]\nname = \"raw_power\"\nplugin = \"kafka_source\"\nbrokers = %s\ntopics = [\"raw_power\"]\n"
            "%s\nproperties = %s\n\n" %
            (toml_string(brokers), fields, inline_table({"group.id": "e2e-outage"})) +
            band_scorer() + kafka_sink("anomoly_power", brokers, "ANOMOLY_POWER", receive="unusual"))


def messages(readings):
    return [{"key": meter.encode(), "value": json.dumps({"hour": h, "kwh": wh}).encode(), "timestamp": MESSAGE_TS}
            for meter, (h, wh) in readings.items()]


class BrokerOutageTest(KafkaTestCase):
    def test_down_and_back_up(self):
        broker = self.start_broker()
        run = self.run_pipeline(pipeline(broker.address))
        port = int(run.wait_for_log(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", 30)[0])
        brokers_up = lambda stage: samples(get(port, "/metrics")[1]).get('stream_smarts_brokers_up{stage="%s"}' % stage)
        first, second = batch("before"), batch("during")
        alerting = lambda readings: sorted(m for m, (h, wh) in readings.items() if BAND.alerts(h, wh))
        self.assertEqual(len(alerting(first)), 5)

        produce(broker.address, "raw_power", messages(first))
        records = wait_for_messages(broker.address, "ANOMOLY_POWER", 5, 40)
        self.assertEqual(sorted({r.key.decode() for r in records}), alerting(first))

        broker.down()
        # The producer keeps the second batch until the broker is back.
        producer = harness.producer(broker.address, {"message.timeout.ms": 120_000, "log_level": 2})
        failures = []
        for m in messages(second):
            producer.produce("raw_power", key=m["key"], value=m["value"], timestamp=m["timestamp"],
                             on_delivery=lambda err, msg: failures.append(err) if err else None)
        producer.poll(0)
        # The outage, five seconds of it at least: what is tested is that they lose nothing.
        outage_ends = time.monotonic() + 5
        # Both stages say so, the sink too though it has nothing to deliver (its idle() serves its producer).
        status, body = harness.wait_until(
            lambda: (lambda answer: answer[0] == 503 and answer[1].count("\n") == 2 and answer)(get(port, "/healthz")),
            30, "/healthz saying the source and the sink cannot work")
        # The latest connection error, of the broker or of the coordinator's alias.
        latest = r"( \(latest: [^\n]*127\.0\.0\.1:\d+[^\n]*\))?\n"
        self.assertRegex(body, r"^raw_power: cannot work now: no Kafka broker answers" + latest +
                               r"anomoly_power: cannot work now: no Kafka broker answers" + latest + "$")
        for stage in ("raw_power", "anomoly_power"):
            self.assertEqual(harness.wait_until(lambda: brokers_up(stage) == 0 and "none", 30, "brokers_up 0"), "none")
        time.sleep(max(0, outage_ends - time.monotonic()))
        self.assertRegex(run.log(), r"warning \[raw_power\] no Kafka broker answers \(latest: ")  # once, as it began
        self.assertGreaterEqual(len(producer), len(second), "the producer delivered while the broker was down")
        self.assertTrue(run.alive(), run.tail())
        broker.up()
        self.assertEqual(producer.flush(60), 0)
        self.assertEqual(failures, [])
        # Within a statistics interval (5 s) of the broker answering again.
        harness.wait_until(lambda: get(port, "/healthz") == (200, "ok\n"), 30, "/healthz healthy again")
        for stage in ("raw_power", "anomoly_power"):
            self.assertGreaterEqual(brokers_up(stage), 1)
            self.assertIn("[%s] Kafka: a broker answers again (" % stage, run.log())

        expected = alerting(first) + alerting(second)
        wait_for_messages(broker.address, "ANOMOLY_POWER", len(expected), 90)
        self.assertTrue(run.alive(), run.tail())
        self.assertEqual(run.stop(), 0)  # drained and flushed: the topic holds all there will be
        self.assertIn("[raw_power] stopped after", run.log())
        records = read_topic(broker.address, "ANOMOLY_POWER")
        keys = [r.key.decode() for r in records]
        self.assertEqual(sorted(set(keys)), sorted(expected))  # nothing lost, nothing else
        print("\n%d alerts, %d of them duplicates" % (len(keys), len(keys) - len(set(keys))))
        for r in records:
            hour, wh = (first | second)[r.key.decode()]
            alert = json.loads(r.value)
            self.assertEqual((alert["HOUR"], alert["KWH"]), (hour, wh))

    def test_an_idle_connection_closed_is_no_outage(self):
        """Between rare alerts the sink's connection is idle, and a broker
        closes idle connections (connections.max.idle.ms, 10 minutes by
        default; here the client's own, 1.5 s): librdkafka then says all
        brokers are down, and reconnects at once. That is not trouble:
        /healthz stays ok and the log says no broker is gone."""
        broker = self.start_broker(topics=["raw_power", "ANOMOLY_POWER"])
        text = pipeline(broker.address).replace(
            'topic = "ANOMOLY_POWER"', 'topic = "ANOMOLY_POWER"\nproperties = %s' %
            inline_table({"connections.max.idle.ms": "1500", "statistics.interval.ms": "60000"}))
        run = self.run_pipeline(text, options=["--log-level", "debug"])
        port = int(run.wait_for_log(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", 30)[0])
        closes = r"debug +\[anomoly_power\] Kafka: 1/1 brokers are down"
        answers = []
        deadline = time.monotonic() + 20
        for _ in range(400):  # 20 s at most: several idle closes
            answers.append(get(port, "/healthz"))
            if time.monotonic() > deadline or len(re.findall(closes, run.log())) >= 3:
                break
            time.sleep(0.05)
        self.assertGreaterEqual(len(re.findall(closes, run.log())), 3, run.tail())
        self.assertEqual([a for a in answers if a != (200, "ok\n")], [])
        self.assertNotIn("no Kafka broker answers", run.log())
        self.assertNotRegex(run.log(), r"warning +\[anomoly_power\]")
        self.assertTrue(run.alive(), run.tail())
        self.assertEqual(run.stop(), 0)

    def test_a_broker_gone_for_good_is_a_failed_delivery_and_the_other_sinks_go_on(self):
        """A sink whose broker never answers retries, then gives its alerts up
        with an error naming them; it neither stops the pipeline nor holds up
        a sink whose broker is there."""
        broker = self.start_broker()
        text = (pipeline(broker.address) +
                kafka_sink("gone", "127.0.0.1:1", "gone_alerts", receive="unusual",
                           properties={"message.timeout.ms": "1000"}) +
                "max_retries = 1\nretry_backoff = \"10ms\"\n")
        run = self.run_pipeline(text)
        readings = batch("before")
        produce(broker.address, "raw_power", messages(readings))
        alerting = sorted(m for m, (h, wh) in readings.items() if BAND.alerts(h, wh))
        wait_for_messages(broker.address, "ANOMOLY_POWER", len(alerting), 40)
        run.wait_for_log(r"\[gone\] gave up delivering", 60)
        self.assertTrue(run.alive(), run.tail())
        self.assertEqual(run.stop(), 0)
        log = run.log()
        self.assertRegex(log, r"warning \[gone\] delivery failed: \d+ messages could not be written to topic "
                              r"'gone_alerts': Local: Message timed out; retrying in ")
        self.assertNotIn("restarting in", log)
        self.assertEqual(sorted(r.key.decode() for r in read_topic(broker.address, "ANOMOLY_POWER")), alerting)

    def test_down_for_half_a_minute_mid_stream(self):
        """A producer sends 1,000 readings/s for 45 s, one in 50 alerting; the
        broker is down from 5 s to 35 s in. Everyone keeps what they hold
        (the producer its readings, the pipeline's sink its alerts: librdkafka
        waits up to message.timeout.ms, 5 minutes by default) and every alert
        comes out once the broker is back, at least once."""
        broker = self.start_broker(topics=["raw_power"], partitions=3)
        run = self.run_pipeline(pipeline(broker.address, fields='ts_field = "ts"'))
        base = epoch_ms("2000-01-01T00:00:00+00:00")
        total, rate, alert_every = 45_000, 1000, 50
        stream = SteadyProducer(broker.address, base, total, rate, alert_every)
        stream.start()
        harness.wait_until(lambda: stream.sent >= 5 * rate, 30, "the producer's first 5 s", interval=0.05)
        broker.down()
        harness.wait_until(lambda: stream.sent >= 35 * rate, 60, "30 s of the stream, the broker down", interval=0.1)
        self.assertTrue(run.alive(), run.tail())
        broker.up()
        stream.join(120)
        self.assertFalse(stream.is_alive(), "the producer did not finish")
        self.assertEqual(stream.failures, [])

        expected = {base + i * HOUR_MS for i in range(0, total, alert_every)}
        harness.wait_until(lambda: self.message_count(broker.address, "ANOMOLY_POWER") >= len(expected), 120,
                           lambda: "all %d alerts:\n%s" % (len(expected), run.tail()), interval=0.5)
        alerts = collections.Counter(json.loads(r.value)["EVENT_TS"] for r in read_topic(broker.address, "ANOMOLY_POWER"))
        self.assertEqual(set(alerts), expected)  # nothing lost, nothing else
        print("\n%d alerts, %d duplicates" % (sum(alerts.values()), sum(alerts.values()) - len(expected)))
        self.assertTrue(run.alive(), run.tail())
        self.assertEqual(run.stop(), 0)

    def test_a_stop_held_up_by_a_sink_whose_broker_is_down_shows_which(self):
        """The readings' broker is up, the alerts' broker is down: a stop
        cannot drain, and ends after shutdown_timeout (10 s) with exit 1. The
        sink says it is waiting within 5 s, in the log and /healthz, and the
        last line names it as what held the stop up."""
        readings_broker = self.start_broker(name="readings_broker")
        alerts_broker = self.start_broker(name="alerts_broker")
        run = self.run_pipeline(pipeline(readings_broker.address).replace(
            "brokers = %s\ntopic = \"ANOMOLY_POWER\"" % toml_string(readings_broker.address),
            "brokers = %s\ntopic = \"ANOMOLY_POWER\"" % toml_string(alerts_broker.address)))
        port = int(run.wait_for_log(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", 30)[0])
        first = batch("first")
        produce(readings_broker.address, "raw_power", messages(first))
        wait_for_messages(alerts_broker.address, "ANOMOLY_POWER", 5, 40)  # every other reading alerts
        alerts_broker.down()
        produce(readings_broker.address, "raw_power", messages(batch("second")))
        run.wait_for_log(r"warning \[anomoly_power\] still waiting for Kafka to accept \d+ messages for topic "
                         r"'ANOMOLY_POWER' \(\d+ s so far\)", 30)
        # /healthz says so while the sink waits (until the stop, 30 s on), not once its wait is over.
        status, body = harness.wait_until(lambda: (lambda answer: answer[0] == 503 and answer)(get(port, "/healthz")),
                                          10, "/healthz saying the sink is waiting")
        self.assertRegex(body, r"^anomoly_power: cannot work now: still waiting for Kafka to accept \d+ messages for "
                               r"topic 'ANOMOLY_POWER' \(\d+ s so far\)(: no Kafka broker answers[^\n]*)?\n$")
        self.assertEqual(run.stop(timeout=40), 1)
        log = run.log()
        self.assertRegex(log, r"the pipeline did not stop within shutdown_timeout \(10s\); exiting without draining; "
                              r"source 'raw_power' \(kafka_source\) was waiting for \d+ batch(es)? it read to be "
                              r"handled by the sinks; sink 'anomoly_power' \(kafka_sink\) was still delivering \(its "
                              r"plugin had not returned\)")
        self.assertLess(log.index("still waiting for Kafka"), log.index("did not stop within shutdown_timeout"))


class SteadyProducer(threading.Thread):
    """Readings i = 0..total-1 at `rate` a second, one an hour apart in data
    time, 20 kWh (far above any band) when i % alert_every == 0, else 1 kWh."""

    def __init__(self, brokers, base_ts, total, rate, alert_every):
        super().__init__(daemon=True)
        self.producer = harness.producer(brokers, {"message.timeout.ms": 120_000, "log_level": 2})
        self.base_ts, self.total, self.rate, self.alert_every = base_ts, total, rate, alert_every
        self.sent, self.failures = 0, []

    def run(self):
        started = time.monotonic()
        for i in range(self.total):
            wait = started + i / self.rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)  # pacing the load, not synchronisation
            wh = 20000 if i % self.alert_every == 0 else 1000
            self.producer.produce("raw_power", key=b"m%d" % (i % 7), partition=i % 3,
                                  value=b'{"ts":%d,"wh":%d}' % (self.base_ts + i * HOUR_MS, wh),
                                  on_delivery=lambda err, msg: self.failures.append(str(err)) if err else None)
            self.producer.poll(0)
            self.sent = i + 1
        self.producer.flush(100)


if __name__ == "__main__":
    unittest.main()
