"""The shipped pipelines/ksql-compat.toml against the original topology's
clients: kcat in and out (test 1), and the original notifier, a
confluent_kafka Consumer reading ANOMOLY_POWER (test 2)."""

import json
import math
import time
import unittest

from confluent_kafka import Consumer

import harness
from harness import BAND, KafkaTestCase, kcat_consume, kcat_produce, wait_for_messages

KSQL_COMPAT = harness.SOURCE_DIR / "pipelines" / "ksql-compat.toml"

# (meter, hour, kwh) as the original producer wrote them: {"hour": h, "kwh": wh}.
READINGS = [
    ("m-heater", 4, 20000),        # far above 04:00's hi (2992.5): FN ~ 6.99
    ("m-night", 0, 6000),          # 00:00's hi is 5073.33: FN ~ 1.19
    ("m-evening", 19, 7000),       # 19:00's hi is 6488: FN ~ 1.08
    ("m-early", 3, 3000),          # 03:00's hi is 2847.33: FN ~ 1.06
    ("m-noon", 12, 4800.5),        # 12:00's hi is 4719.13: FN ~ 1.02, a fraction
    ("m-morning", 9, 500),         # well inside 09:00's band
    ("m-dinner", 17, 6000),        # inside 17:00's band (hi 6333.67): FN ~ 0.94
    ("m-almost", 4, 2900),         # just under 04:00's hi: FN ~ 0.97
    ("m-idle", 23, 0),             # below the band: FN < 0, no alert
]
ALERTING = [r for r in READINGS if BAND.alerts(r[1], r[2])]


def produce_original_readings(bootstrap):
    kcat_produce(bootstrap, "raw_power",
                 ["%s:%s" % (meter, json.dumps({"hour": hour, "kwh": kwh})) for meter, hour, kwh in READINGS])


class ShippedPipelineTest(KafkaTestCase):
    def start(self):
        self.assertEqual(len(ALERTING), 5)  # the readings above are what this test is about
        broker = self.start_broker()
        run = self.run_pipeline(None, name="ksql-compat", file=KSQL_COMPAT, env={"KAFKA_BROKERS": broker.address})
        run.wait_for_log(r"\[raw_power\] assigned raw_power \[0\], raw_power \[1\], raw_power \[2\], raw_power \[3\]$", 30)
        return broker, run


class KcatInteropTest(ShippedPipelineTest):
    def test_kcat_in_kcat_out(self):
        broker, run = self.start()
        produce_original_readings(broker.address)

        # The raw messages' own timestamps decide which day's hour a reading is for.
        raw = {m["key"]: m for m in kcat_consume(broker.address, "raw_power")}
        self.assertEqual(sorted(raw), sorted(r[0] for r in READINGS))

        wait_for_messages(broker.address, "ANOMOLY_POWER", len(ALERTING), 30)
        wait_for_messages(broker.address, "POWER_SCORED", len(READINGS), 30)
        self.assertTrue(run.alive())
        self.assertEqual(run.stop(), 0)  # drained and flushed: what kcat reads is all there will be
        # (The alert count in this line adds up deliveries over both sinks: 5 + 5.)
        self.assertRegex(run.log(), r"pipeline 'ksql-compat' finished: 9 readings, \d+ alerts? delivered")
        alerts = kcat_consume(broker.address, "ANOMOLY_POWER")
        scored = kcat_consume(broker.address, "POWER_SCORED")

        self.assertEqual(sorted(m["key"] for m in alerts), sorted(r[0] for r in ALERTING))
        self.assertEqual(sorted(m["key"] for m in scored), sorted(r[0] for r in READINGS))  # each exactly once
        by_meter = {m["key"]: m for m in scored}
        for meter, hour, kwh in READINGS:
            with self.subTest(meter=meter):
                message_ts = raw[meter]["ts"]
                payload = json.loads(by_meter[meter]["payload"])
                self.assertEqual(list(payload), ["EVENT_TS", "HOUR", "KWH", "FN"])
                self.assertEqual(payload["HOUR"], hour)
                self.assertEqual(payload["KWH"], kwh)
                self.assertTrue(math.isclose(payload["FN"], BAND.score(hour, kwh), rel_tol=1e-12),
                                (payload["FN"], BAND.score(hour, kwh)))
                event_ts = payload["EVENT_TS"]
                self.assertEqual(event_ts, harness.start_of_latest_hour(message_ts, hour))
                self.assertLessEqual(event_ts, message_ts)
                self.assertGreater(event_ts, message_ts - 24 * harness.HOUR_MS)
                local = harness.time_local(event_ts)
                self.assertEqual((local.hour, local.minute, local.second), (hour, 0, 0))
        for m in alerts:
            self.assertEqual(m["payload"], by_meter[m["key"]]["payload"])  # the same record, byte for byte
            self.assertGreater(json.loads(m["payload"])["FN"], 1.0)


class OriginalNotifierTest(ShippedPipelineTest):
    def test_notifier_reads_anomoly_power(self):
        broker, run = self.start()
        produce_original_readings(broker.address)

        # The original notifier, as it was: subscribe, poll, json.loads, ['KWH'], ['HOUR'].
        consumer = Consumer({"bootstrap.servers": broker.address, "group.id": "power-notifier",
                             "auto.offset.reset": "earliest"})
        notifications = []
        try:
            consumer.subscribe(["ANOMOLY_POWER"])
            deadline = time.monotonic() + 40
            for _ in range(400):
                if len(notifications) >= len(ALERTING) or time.monotonic() > deadline:
                    break
                msg = consumer.poll(0.1)
                if msg is None:
                    continue
                self.assertIsNone(msg.error())
                data = json.loads(msg.value())
                notifications.append("Unusual power usage of {} Wh at {}:00".format(data["KWH"], data["HOUR"]))
        finally:
            consumer.close()
        self.assertEqual(sorted(notifications), sorted([
            "Unusual power usage of 20000 Wh at 4:00",
            "Unusual power usage of 6000 Wh at 0:00",
            "Unusual power usage of 7000 Wh at 19:00",
            "Unusual power usage of 3000 Wh at 3:00",
            "Unusual power usage of 4800.5 Wh at 12:00",
        ]))
        self.assertEqual(run.stop(), 0)


if __name__ == "__main__":
    unittest.main()
