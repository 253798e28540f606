"""Test 9: `stream-smarts validate` reports mistakes in the Kafka stages'
options as file:line:column: message, before anything connects."""

import os
import subprocess
import unittest

import harness
from harness import KafkaTestCase

# Line numbers matter: the messages point into this text.
TEMPLATE = """[pipeline]
name = "bad"
timezone = "Europe/Paris"

[[sources]]
name = "raw_power"
plugin = "kafka_source"
brokers = "127.0.0.1:1"
topics = %(topics)s
wh_field = "kwh"
%(source)s

[[scorers]]
name = "anomaly"
plugin = "percentile_band"
from = ["raw_power"]
model = %(model)s

[[sinks]]
name = "out"
plugin = "kafka_sink"
from = ["anomaly"]
brokers = "127.0.0.1:1"
topic = "ANOMOLY_POWER"
%(sink)s
"""


class ValidateTest(KafkaTestCase):
    def errors(self, source="", sink="", topics='["raw_power"]'):
        """validate's exit code and its file:line:column lines but warnings (a password written in the file),
        with the file name shortened to 'bad.toml'."""
        text = TEMPLATE % {"source": source, "sink": sink, "topics": topics,
                           "model": harness.toml_string(harness.MODEL)}
        code, out, err, path = self.validate(text)
        lines = [l.replace(str(path), "bad.toml") for l in (out + err).splitlines()
                 if l.startswith(str(path)) and ": warning: " not in l]
        return code, lines

    def test_a_good_file_validates(self):
        code, lines = self.errors(source='properties = { "group.id" = "g", "fetch.wait.max.ms" = "100" }',
                                  sink='properties = { "linger.ms" = "20" }\nformat = "ksql"')
        self.assertEqual((code, lines), (0, ["bad.toml: ok (1 sources, 1 scorers, 1 sinks)"]))

    def test_the_shipped_ksql_compat_pipeline_validates(self):
        path = harness.SOURCE_DIR / "pipelines" / "ksql-compat.toml"
        r = subprocess.run([harness.BINARY, "validate", str(path)], capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, KAFKA_BROKERS="127.0.0.1:1"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("%s: ok (1 sources, 1 scorers, 2 sinks)" % path, r.stdout + r.stderr)

    def test_unknown_librdkafka_property(self):
        code, lines = self.errors(source='properties = { "group.id" = "g", "fetch.wait.max.msx" = "100" }',
                                  sink='properties = { "linger.ms" = "lots" }')
        self.assertEqual(code, 2)
        self.assertEqual(lines, [
            "bad.toml:11:14: option 'properties' of source 'raw_power' (kafka_source): librdkafka property "
            "'fetch.wait.max.msx': No such configuration property: \"fetch.wait.max.msx\"",
            # librdkafka names the property by its canonical name (linger.ms is an alias).
            "bad.toml:25:14: option 'properties' of sink 'out' (kafka_sink): librdkafka property 'linger.ms': "
            "Invalid value for configuration property \"queue.buffering.max.ms\"",
        ])

    def test_avro_without_schema(self):
        code, lines = self.errors(source='format = "avro"')
        self.assertEqual(code, 2)
        # Not in the file, so reported at the stage's table.
        self.assertEqual(lines, ["bad.toml:5:1: option 'avro_schema' of source 'raw_power' (kafka_source): "
                                 "is required with format = \"avro\""])

    def test_invalid_avro_schema(self):
        code, lines = self.errors(
            source="format = \"avro\"\navro_schema = '{\"type\":\"record\",\"name\":\"r\",\"fields\":"
                   "[{\"name\":\"kwh\",\"type\":\"flot\"}]}'")
        self.assertEqual(code, 2)
        self.assertEqual(lines, ["bad.toml:12:15: option 'avro_schema' of source 'raw_power' (kafka_source): "
                                 "invalid Avro schema: Unknown Avro \"type\": flot"])
        code, lines = self.errors(source="format = \"avro\"\navro_schema = 'not json'")
        self.assertEqual(lines, ["bad.toml:12:15: option 'avro_schema' of source 'raw_power' (kafka_source): "
                                 "invalid Avro schema: Error parsing JSON: invalid token near 'not'"])

    def test_a_meter_index_options_that_do_not_go_together(self):
        code, lines = self.errors(source='resample = true')
        self.assertEqual((code, lines), (2, ["bad.toml:11:12: option 'resample' of source 'raw_power' (kafka_source): "
                                             "is for a meter's index (wh_kind = \"index\"); readings of use are taken "
                                             "as they are"]))
        code, lines = self.errors(source='wh_kind = "index"\nresample = true\nspan = "45m"')
        self.assertEqual((code, lines), (2, ["bad.toml:13:8: option 'span' of source 'raw_power' (kafka_source): "
                                             "with resample = true, the span of each reading must divide an hour "
                                             "(\"1h\", \"30m\", \"15m\", \"1m\"), not \"45m\""]))
        code, lines = self.errors(source='wh_kind = "index"\nwh_unit = "W"')
        self.assertEqual((code, lines), (2, ["bad.toml:11:11: option 'wh_kind' of source 'raw_power' (kafka_source): "
                                             "an index is energy: wh_unit must be \"Wh\" or \"kWh\", not \"W\""]))
        code, lines = self.errors(source='wh_kind = "index"\nresample = true\nwh_unit = "kWh"')
        self.assertEqual((code, lines), (0, ["bad.toml: ok (1 sources, 1 scorers, 1 sinks)"]))

    def test_enable_auto_offset_store_must_stay_false(self):
        code, lines = self.errors(source='properties = { "group.id" = "g", "enable.auto.offset.store" = "true" }')
        self.assertEqual(code, 2)
        self.assertEqual(lines, ["bad.toml:11:14: option 'properties' of source 'raw_power' (kafka_source): "
                                 "enable.auto.offset.store must stay false: the source stores an offset only once "
                                 "every sink has handled the reading"])

    def test_an_empty_group_id_and_a_transactional_sink_are_refused(self):
        code, lines = self.errors(source='properties = { "group.id" = "" }',
                                  sink='properties = { "transactional.id" = "alerts-1" }')
        self.assertEqual(code, 2)
        self.assertEqual(lines, [
            "bad.toml:11:14: option 'properties' of source 'raw_power' (kafka_source): group.id must not be empty: "
            "the source commits what it has handled in its group; leave it out for stream-smarts-raw_power, or "
            "name one",
            "bad.toml:25:14: option 'properties' of sink 'out' (kafka_sink): transactional.id: the sink does not "
            "write in transactions (the broker acknowledges each alert, and the idempotent producer writes none "
            "twice); remove it"])

    def test_enable_partition_eof_must_stay_true_with_stop_at_end(self):
        code, lines = self.errors(source='stop_at_end = true\nproperties = { "enable.partition.eof" = "false" }')
        self.assertEqual(code, 2)
        self.assertEqual(lines, ["bad.toml:12:14: option 'properties' of source 'raw_power' (kafka_source): "
                                 "enable.partition.eof must stay true with stop_at_end: it is how the source knows "
                                 "it has read a partition to its end"])
        # "f" is false to librdkafka too: the pipeline would never finish.
        code, lines = self.errors(source='stop_at_end = true\nproperties = { "enable.partition.eof" = "F" }')
        self.assertEqual(code, 2)
        code, lines = self.errors(source='properties = { "enable.partition.eof" = "false", '
                                         '"enable.auto.offset.store" = "f" }')
        self.assertEqual(code, 0, lines)

    def test_sink_acks_that_break_its_promise_or_clash_with_idempotence(self):
        code, lines = self.errors(sink='properties = { "acks" = "0", "enable.idempotence" = "false" }')
        self.assertEqual(code, 2)
        self.assertEqual(lines, ["bad.toml:25:14: option 'properties' of sink 'out' (kafka_sink): acks = 0: the "
                                 "broker would never confirm an alert, so one could be lost unseen; use all (the "
                                 "default) or 1"])
        code, lines = self.errors(sink='properties = { "acks" = "1" }')
        self.assertEqual(lines, ["bad.toml:25:14: option 'properties' of sink 'out' (kafka_sink): acks = 1 needs "
                                 "enable.idempotence = false as well: an idempotent producer (the sink's default) "
                                 "requires acks = all"])
        code, lines = self.errors(sink='properties = { "acks" = "1", "enable.idempotence" = "false" }')
        self.assertEqual(code, 0, lines)

    def test_brokers_only_through_the_brokers_option(self):
        code, lines = self.errors(source='properties = { "bootstrap.servers" = "127.0.0.1:2" }')
        self.assertEqual(code, 2)
        self.assertEqual(lines, ["bad.toml:11:14: option 'properties' of source 'raw_power' (kafka_source): "
                                 "set the brokers with the 'brokers' option, not 'bootstrap.servers'"])

    def test_properties_librdkafka_refuses_together_are_found_by_validate(self):
        # Each passes librdkafka's check of one property; run used to fail at start, five times over.
        cases = [
            ('"security.protocol" = "SASL_SSL", "sasl.mechanism" = "PLAINX", "sasl.username" = "u", '
             '"sasl.password" = "p"', "Unsupported SASL mechanism: PLAINX"),
            ('"security.protocol" = "SASL_SSL", "sasl.mechanism" = "PLAIN"',
             "sasl.username and sasl.password must be set"),
            ('"security.protocol" = "SSL", "ssl.ca.location" = "/nonexistent/ca.pem"', "ssl.ca.location failed"),
        ]
        for properties, why in cases:
            with self.subTest(properties=properties):
                code, lines = self.errors(sink="properties = { %s }" % properties)
                self.assertEqual(code, 2)
                self.assertEqual(len(lines), 1, lines)
                self.assertTrue(lines[0].startswith("bad.toml:25:14: option 'properties' of sink 'out' (kafka_sink): "
                                                    "librdkafka refuses them together: " + why), lines[0])

    def test_a_dead_letter_topic_the_source_reads_is_refused(self):
        # Each message copied there would be read, refused and copied again without end.
        code, lines = self.errors(source='dead_letter_topic = "raw_power"')
        self.assertEqual(code, 2)
        self.assertEqual(lines, ["bad.toml:11:21: option 'dead_letter_topic' of source 'raw_power' (kafka_source): "
                                 "'raw_power' is read by this source (topics holds 'raw_power'): each message copied "
                                 "there would be read, refused and copied again without end; name another topic"])
        code, lines = self.errors(source='dead_letter_topic = "raw_power_rejected"', topics='["^raw_.*"]')
        self.assertEqual(code, 2)
        self.assertIn("(topics holds '^raw_.*')", lines[0])
        code, lines = self.errors(source='dead_letter_topic = "rejected"', topics='["^raw_.*", "raw_power"]')
        self.assertEqual(code, 0, lines)
        code, lines = self.errors(topics='["raw_power", ""]')
        self.assertEqual(lines, ["bad.toml:9:10: option 'topics' of source 'raw_power' (kafka_source): "
                                 "must not hold an empty topic name"])
        # validate said ok, then run could not subscribe ("Invalid argument"), five times over, and exited 1.
        code, lines = self.errors(topics='["raw_power", "raw_power"]')
        self.assertEqual(lines, ["bad.toml:9:10: option 'topics' of source 'raw_power' (kafka_source): "
                                 "names 'raw_power' twice"])

    def test_a_broker_port_librdkafka_would_misread_is_refused(self):
        # "abc" became port 0, and 99999 wrapped round to 34463: another service's, maybe.
        def with_brokers(brokers):
            text = TEMPLATE % {"source": "", "sink": "", "topics": '["raw_power"]',
                               "model": harness.toml_string(harness.MODEL)}
            code, out, err, path = self.validate(text.replace('brokers = "127.0.0.1:1"', 'brokers = "%s"' % brokers, 1))
            return code, [l.replace(str(path), "bad.toml") for l in (out + err).splitlines()
                          if l.startswith(str(path)) and ": warning: " not in l]

        for brokers, problem in [("127.0.0.1:99999", "'127.0.0.1:99999' has no port from 1 to 65535 after its ':'"),
                                 ("a:9092, 127.0.0.1:abc", "'127.0.0.1:abc' has no port from 1 to 65535 after its ':'"),
                                 ("a:9092,,b:9092", "an empty entry in the list")]:
            code, lines = with_brokers(brokers)
            self.assertEqual((code, len(lines)), (2, 1), lines)
            self.assertTrue(lines[0].endswith("option 'brokers' of source 'raw_power' (kafka_source): must be "
                                              "host:port, separated by commas: " + problem), lines[0])
        for brokers in ("[::1]:9092", "SSL://kafka.lan:9093", "kafka.lan", "a:1, b:65535"):
            self.assertEqual(with_brokers(brokers)[0], 0, brokers)


if __name__ == "__main__":
    unittest.main()
