"""Test 4: messages the source cannot decode are logged with their position
and the reason, copied to the dead-letter topic with the reason in headers,
and do not stop the good ones around them from alerting."""

import json
import unittest

import harness
from harness import (BAND, KafkaTestCase, avro_original, band_scorer, kafka_sink, pipeline_header, produce,
                     read_topic, toml_string, wait_for_messages)

# raw_power (JSON), all on partition 0, in this order: (key, payload, why it
# cannot be decoded, exactly as the log and the header say; None: a good one)
JSON_MESSAGES = [
    (b"m-heater", b'{"hour": 4, "kwh": 20000}', None),
    (b"m-text", b"the heater is on", "bad JSON at column 1: expected '{'"),
    (b"m-nokwh", b'{"hour": 4}', 'missing "kwh"'),
    (b"m-negative", b'{"hour": 4, "kwh": -5}',
     "kwh is negative: '-5' (energy sent to the grid? read the energy drawn from it)"),
    (b"m-hour25", b'{"hour": 25, "kwh": 100}', "hour must be a whole hour of day 0..23, got 25"),
    (b"m-evening", b'{"hour": 19, "kwh": 7000}', None),
    (b"m-string", b'{"hour": 4, "kwh": "lots"}', "kwh is not a number: 'lots'"),
    (b"m-calm", b'{"hour": 9, "kwh": 500}', None),
    (b"m-tombstone", None, "no value (a tombstone), not a reading"),
]
# raw_power_avro (the original Avro schema), partition 0
AVRO_MESSAGES = [
    (b"a-heater", avro_original(4, 20000), None),
    (b"a-json", b'{"hour": 4, "kwh": 1}',
     "not the Confluent Avro wire format: magic byte 0x7b, expected 0x00 (is this JSON?)"),
    (b"a-magic", b"\x01" + avro_original(4, 20000)[1:],
     "not the Confluent Avro wire format: magic byte 0x01, expected 0x00"),
    (b"a-short", avro_original(4, 20000)[:7],
     'Avro record does not match the schema (schema id 1): field "hour": truncated: a float needs 4 bytes, 2 left'),
    (b"a-early", avro_original(3, 3000), None),
]
TOPICS = (("raw_power", JSON_MESSAGES), ("raw_power_avro", AVRO_MESSAGES))
GOOD = {b"m-heater": (4, 20000), b"m-evening": (19, 7000), b"m-calm": (9, 500), b"a-heater": (4, 20000),
        b"a-early": (3, 3000)}
DEAD_LETTERS = "raw_power_dead"


def source(name, brokers, fmt, dead_letter_topic):
    # A group per source: with the default group.id both sources would be
    # members of one group "stream-smarts" and rebalance each other.
    text = ("[[sources]]\nname = %s\nplugin = \"kafka_source\"\nbrokers = %s\ntopics = [%s]\nformat = %s\n"
            "wh_field = \"kwh\"\nhour_field = \"hour\"\nproperties = { \"group.id\" = %s }\n" %
            (toml_string(name), toml_string(brokers), toml_string(name), toml_string(fmt), toml_string("e2e-" + name)))
    if fmt == "avro":
        text += "avro_schema = '''%s'''\n" % harness.ORIGINAL_AVRO_SCHEMA
    if dead_letter_topic:
        text += "dead_letter_topic = %s\n" % toml_string(dead_letter_topic)
    return text + "\n"


def pipeline(brokers, dead_letter_topic=DEAD_LETTERS):
    return (pipeline_header("undecodable") + source("raw_power", brokers, "json", dead_letter_topic) +
            source("raw_power_avro", brokers, "avro", dead_letter_topic) +
            band_scorer().replace('from = ["raw_power"]', 'from = ["raw_power", "raw_power_avro"]') +
            kafka_sink("anomoly_power", brokers, "ANOMOLY_POWER", receive="unusual"))


PRODUCED_MS = 1_700_000_000_000  # each message's own timestamp: this plus its offset


def produce_all(bootstrap, topics=TOPICS):
    for topic, messages in topics:
        produce(bootstrap, topic, [{"key": k, "value": v, "partition": 0, "timestamp": PRODUCED_MS + i,
                                    "headers": [("trace", b"t-" + k)]} for i, (k, v, _) in enumerate(messages)])


class UndecodableTest(KafkaTestCase):
    def test_logged_dead_lettered_and_the_good_ones_alert(self):
        broker = self.start_broker()
        run = self.run_pipeline(pipeline(broker.address))
        produce_all(broker.address)
        bad = [(topic, offset, key, value, why) for topic, messages in TOPICS
               for offset, (key, value, why) in enumerate(messages) if why is not None]
        self.assertEqual(len(bad), 9)
        self.assertEqual(sorted(k for _, messages in TOPICS for k, _, why in messages if why is None), sorted(GOOD))

        alerting = sorted(k for k, (hour, kwh) in GOOD.items() if BAND.alerts(hour, kwh))
        self.assertEqual(alerting, [b"a-early", b"a-heater", b"m-evening", b"m-heater"])
        wait_for_messages(broker.address, "ANOMOLY_POWER", len(alerting), 40)
        wait_for_messages(broker.address, DEAD_LETTERS, len(bad), 20)
        run.wait_for_log(r"cannot decode: ", 10, count=len(bad))
        self.assertEqual(run.stop(), 0)  # drained and flushed: the topics hold all there will be
        log = run.log()
        self.assertIn("[raw_power] stopped after 3 readings, 6 undecodable messages", log)
        self.assertIn("[raw_power_avro] stopped after 2 readings, 3 undecodable messages", log)

        alerts = read_topic(broker.address, "ANOMOLY_POWER")
        self.assertEqual(sorted(r.key for r in alerts), alerting)
        for r in alerts:
            alert = json.loads(r.value)
            self.assertEqual((alert["HOUR"], alert["KWH"]), GOOD[r.key])

        # The log names every bad message: topic [partition] at offset N, and why.
        for topic, offset, key, value, why in bad:
            self.assertIn("warning [%s] %s [0] at offset %d: cannot decode: %s; copying it to %s\n" % (
                topic, topic, offset, why, DEAD_LETTERS), log)
        self.assertEqual(log.count("cannot decode: "), len(bad))

        # The dead-letter topic holds each bad message once, as it was, with why and where in headers.
        dead = read_topic(broker.address, DEAD_LETTERS)
        self.assertEqual(len(dead), len(bad))
        by_source = {r.headers.get("stream-smarts-source"): r for r in dead}
        for topic, offset, key, value, why in bad:
            with self.subTest(topic=topic, offset=offset):
                r = by_source.get(("%s [0] at offset %d" % (topic, offset)).encode())
                self.assertIsNotNone(r, sorted(by_source))
                self.assertEqual(r.key, key)
                self.assertEqual(r.value, value)
                self.assertEqual(r.headers["stream-smarts-error"], why.encode())
                self.assertEqual(r.headers["trace"], b"t-" + key)  # its own headers and time, kept
                self.assertEqual(r.timestamp, PRODUCED_MS + offset)

    def test_without_dead_letter_topic_only_the_log_tells(self):
        broker = self.start_broker()
        run = self.run_pipeline(pipeline(broker.address, dead_letter_topic=""))
        produce_all(broker.address, TOPICS[:1])
        wait_for_messages(broker.address, "ANOMOLY_POWER", 2, 40)
        run.wait_for_log(r"cannot decode: ", 10, count=6)
        self.assertEqual(run.stop(), 0)
        alerts = read_topic(broker.address, "ANOMOLY_POWER")
        self.assertEqual(sorted(r.key for r in alerts), [b"m-evening", b"m-heater"])
        log = run.log()
        self.assertIn("warning [raw_power] raw_power [0] at offset 1: cannot decode: "
                      "bad JSON at column 1: expected '{'\n", log)
        self.assertIn("warning [raw_power] raw_power [0] at offset 4: cannot decode: "
                      "hour must be a whole hour of day 0..23, got 25\n", log)
        self.assertNotIn("copying it to", log)
        self.assertEqual(harness.message_count(broker.address, DEAD_LETTERS), 0)

    def test_a_bad_message_too_large_to_copy_is_told_and_the_stream_goes_on(self):
        """A dead letter the producer can never send (here over its 1 MB
        message.max.bytes) once stopped the source at that offset for good:
        each restart read it again and failed again."""
        broker = self.start_broker()
        run = self.run_pipeline(pipeline(broker.address))
        big = b'{"hour": 4, "kwh": "' + b"x" * (2 * 1024 * 1024) + b'"}'
        produce(broker.address, "raw_power", [{"key": k, "value": v, "partition": 0} for k, v in
                                              ((b"m-heater", b'{"hour": 4, "kwh": 20000}'), (b"m-big", big),
                                               (b"m-evening", b'{"hour": 19, "kwh": 7000}'))],
                conf={"message.max.bytes": 10_000_000})
        wait_for_messages(broker.address, "ANOMOLY_POWER", 2, 40)
        run.wait_for_log(r"not copied to ", 10)
        self.assertEqual(run.stop(), 0)
        log = run.log()
        self.assertIn("warning [raw_power] raw_power [0] at offset 1: not copied to %s: Broker: Message size too "
                      "large (%d bytes; the dead-letter producer's limit is message.max.bytes in properties, the "
                      "topic's its max.message.bytes); skipped\n" % (DEAD_LETTERS, len(big)), log)
        self.assertNotIn("failed:", log)
        self.assertIn("[raw_power] stopped after 2 readings, 1 undecodable messages", log)
        self.assertEqual(sorted(r.key for r in read_topic(broker.address, "ANOMOLY_POWER")), [b"m-evening", b"m-heater"])
        self.assertEqual(harness.message_count(broker.address, DEAD_LETTERS), 0)

    def test_a_time_field_left_unused_is_told_once(self):
        """Without ts_field a reading is timed by when its message was
        produced; a payload saying "ts" gets one warning naming the fix, as a
        backfilled topic would otherwise all land at "now"."""
        broker = self.start_broker()
        text = (pipeline_header("time-field") +
                "[[sources]]\nname = \"raw_power\"\nplugin = \"kafka_source\"\nbrokers = %s\n"
                "topics = [\"raw_power\"]\nproperties = { \"group.id\" = \"e2e-time-field\" }\n\n" %
                toml_string(broker.address) + band_scorer() +
                "[[sinks]]\nname = \"out\"\nplugin = \"console\"\nfrom = [\"anomaly\"]\nreceive = \"all\"\n")
        run = self.run_pipeline(text)
        produce(broker.address, "raw_power", [{"key": b"flat", "partition": 0,
                                               "value": json.dumps({"ts": "2007-01-14T04:00:00", "wh": 3500 + i})}
                                              for i in range(3)])
        run.wait_for_log(r"readings are timed by the Kafka message timestamp", 40)
        self.assertEqual(run.stop(), 0)
        log = run.log()
        self.assertIn("warning [raw_power] raw_power [0] at offset 0: the message has a 'ts' field, but ts_field is "
                      "not set: readings are timed by the Kafka message timestamp, when the message was produced "
                      "(set ts_field = \"ts\" to time them by the field)\n", log)
        self.assertEqual(log.count("but ts_field is not set"), 1)

    def test_dead_letter_producer_does_not_warn_about_consumer_properties(self):
        # The dead-letter producer shares the stage's properties with the
        # consumer; librdkafka's notices that it ignores consumer-only ones
        # are expected, so they are not warnings.
        broker = self.start_broker()
        run = self.run_pipeline(pipeline(broker.address))
        run.wait_for_log(r"\] assigned raw_power \[0\]", 30)
        self.assertNotIn("CONFWARN", run.log())
        self.assertEqual(run.stop(), 0)


if __name__ == "__main__":
    unittest.main()
