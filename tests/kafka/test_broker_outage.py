"""Test 6: the broker goes down while the pipeline runs and comes back: the
readings produced meanwhile (buffered by their producer) are scored once it
is back, nothing is lost, and the pipeline keeps running and stops cleanly."""

import json
import time
import unittest

import harness
from harness import (BAND, KafkaTestCase, band_scorer, epoch_ms, inline_table, kafka_sink, pipeline_header,
                     produce, toml_string, wait_for_messages)

MESSAGE_TS = epoch_ms("2024-01-15T12:30:00+01:00")


def batch(tag, count=10):
    """`count` readings for hours 0..count-1, every other one far above its band."""
    readings = {}
    for i in range(count):
        readings["%s-%d" % (tag, i)] = (i, 20000 if i % 2 == 0 else 100)
    return readings


def pipeline(brokers):
    return (pipeline_header("outage") +
            "[[sources]]\nname = \"raw_power\"\nplugin = \"kafka_source\"\nbrokers = %s\ntopics = [\"raw_power\"]\n"
            "wh_field = \"kwh\"\nhour_field = \"hour\"\nproperties = %s\n\n" %
            (toml_string(brokers), inline_table({"group.id": "e2e-outage"})) +
            band_scorer() + kafka_sink("anomoly_power", brokers, "ANOMOLY_POWER", receive="unusual"))


def messages(readings):
    return [{"key": meter.encode(), "value": json.dumps({"hour": h, "kwh": wh}).encode(), "timestamp": MESSAGE_TS}
            for meter, (h, wh) in readings.items()]


class BrokerOutageTest(KafkaTestCase):
    def test_down_and_back_up(self):
        broker = self.start_broker()
        run = self.run_pipeline(pipeline(broker.address))
        first, second = batch("before"), batch("during")
        alerting = lambda readings: sorted(m for m, (h, wh) in readings.items() if BAND.alerts(h, wh))
        self.assertEqual(len(alerting(first)), 5)

        produce(broker.address, "raw_power", messages(first))
        records = wait_for_messages(broker.address, "ANOMOLY_POWER", 5, 40, settle=0.5)
        self.assertEqual(sorted(r.key.decode() for r in records), alerting(first))

        broker.down()
        outage_started = time.monotonic()
        # The producer keeps the second batch until the broker is back.
        producer = harness.producer(broker.address, {"message.timeout.ms": 120_000, "log_level": 2})
        failures = []
        for m in messages(second):
            producer.produce("raw_power", key=m["key"], value=m["value"], timestamp=m["timestamp"],
                             on_delivery=lambda err, msg: failures.append(err) if err else None)
        producer.poll(0)
        time.sleep(5)
        self.assertGreaterEqual(len(producer), len(second), "the producer delivered while the broker was down")
        self.assertTrue(run.alive(), run.tail())
        broker.up()
        self.assertEqual(producer.flush(60), 0)
        self.assertEqual(failures, [])
        self.assertGreaterEqual(time.monotonic() - outage_started, 5)

        expected = alerting(first) + alerting(second)
        records = wait_for_messages(broker.address, "ANOMOLY_POWER", len(expected), 90, settle=1.0)
        keys = [r.key.decode() for r in records]
        self.assertEqual(sorted(set(keys)), sorted(expected))  # nothing lost, nothing else
        print("\n%d alerts, %d of them duplicates" % (len(keys), len(keys) - len(set(keys))))
        for r in records:
            hour, wh = (first | second)[r.key.decode()]
            alert = json.loads(r.value)
            self.assertEqual((alert["HOUR"], alert["KWH"]), (hour, wh))

        self.assertTrue(run.alive(), run.tail())
        self.assertEqual(run.stop(), 0)
        self.assertIn("[raw_power] stopped after", run.log())


if __name__ == "__main__":
    unittest.main()
