"""Test 3: raw_power in the Confluent Avro wire format with the original
schema (what kafka-avro-console-producer wrote), read with format = "avro"."""

import json
import math
import unittest

import harness
from harness import (BAND, KafkaTestCase, avro_original, band_scorer, epoch_ms, inline_table, kafka_sink,
                     pipeline_header, produce, read_topic, toml_string, wait_for_messages)

# Every message is stamped 2024-01-15 12:30 in Paris, so each reading is for
# the latest hour:00 at or before that.
MESSAGE_TS = epoch_ms("2024-01-15T12:30:00+01:00")

# meter -> (hour, kwh, EVENT_TS expected on ANOMOLY_POWER, or None: no alert)
READINGS = {
    "m-heater": (4, 20000.0, epoch_ms("2024-01-15T04:00:00+01:00")),
    "m-evening": (19, 7000.0, epoch_ms("2024-01-14T19:00:00+01:00")),   # 19:00 of the day before
    "m-noon": (12, 4800.5, epoch_ms("2024-01-15T12:00:00+01:00")),      # this very hour
    "m-fraction": (4, 3456.78, epoch_ms("2024-01-15T04:00:00+01:00")),  # not exact in a float
    "m-morning": (9, 500.0, None),
    "m-almost": (4, 2900.0, None),
}


def avro_pipeline(brokers):
    return (pipeline_header("avro") +
            "[[sources]]\nname = \"raw_power\"\nplugin = \"kafka_source\"\nbrokers = %s\ntopics = [\"raw_power\"]\n"
            "format = \"avro\"\navro_schema = '''%s'''\nwh_field = \"kwh\"\nhour_field = \"hour\"\n"
            "properties = %s\n\n" % (toml_string(brokers), harness.ORIGINAL_AVRO_SCHEMA,
                                     inline_table({"group.id": "stream-smarts-avro"})) +
            band_scorer() + kafka_sink("anomoly_power", brokers, "ANOMOLY_POWER", receive="unusual"))


class AvroTest(KafkaTestCase):
    def test_original_avro_records_alert(self):
        broker = self.start_broker()
        run = self.run_pipeline(avro_pipeline(broker.address))
        produce(broker.address, "raw_power",
                [{"key": meter.encode(), "value": avro_original(hour, kwh), "timestamp": MESSAGE_TS}
                 for meter, (hour, kwh, _) in READINGS.items()])
        expected = {meter: r for meter, r in READINGS.items() if r[2] is not None}
        for meter, (hour, kwh, _) in READINGS.items():
            self.assertEqual(BAND.alerts(hour, kwh), meter in expected, meter)

        wait_for_messages(broker.address, "ANOMOLY_POWER", len(expected), 40)
        self.assertEqual(run.stop(), 0)  # drained and flushed: nothing more can come
        self.assertIn("[raw_power] stopped after 6 readings, 0 undecodable messages", run.log())
        records = read_topic(broker.address, "ANOMOLY_POWER")
        got = {r.key.decode(): json.loads(r.value) for r in records}
        self.assertEqual(len(records), len(expected))
        self.assertEqual(sorted(got), sorted(expected))
        for meter, (hour, kwh, event_ts) in expected.items():
            with self.subTest(meter=meter):
                alert = got[meter]
                self.assertEqual(alert["EVENT_TS"], event_ts)
                self.assertEqual(alert["HOUR"], hour)
                # The float's shortest decimal, i.e. what the producer wrote (3456.78, not 3456.780029296875).
                self.assertEqual(alert["KWH"], kwh)
                self.assertTrue(math.isclose(alert["FN"], BAND.score(hour, kwh), rel_tol=1e-12), alert)
                self.assertGreater(alert["FN"], 1.0)


if __name__ == "__main__":
    unittest.main()
