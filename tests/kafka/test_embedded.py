"""Test 8: brokers = "embedded": one process replays a CSV, writes the alerts
to a topic of its in-process broker, reads them back from it with a second
chain and prints them. No broker process, no network but loopback."""

import json
import math
import re
import subprocess
import unittest

import harness
from harness import BAND, KafkaTestCase, toml_string

CSV = """ts,wh
2007-01-14T04:00:00,20000
2007-01-14T09:00:00,500
2007-01-14T19:00:00,7000
2007-01-15T03:00:00,1000
2007-01-15T12:00:00,4800.5
"""
# (local ts as the kafka_sink's "json" format writes it, hour, wh) of the alerts.
ALERTS = [
    ("2007-01-14T04:00:00+01:00", 4, 20000),
    ("2007-01-14T19:00:00+01:00", 19, 7000),
    ("2007-01-15T12:00:00+01:00", 12, 4800.5),
]


def pipeline(csv_path, model):
    return """[pipeline]
name = "embedded"
timezone = "Europe/Paris"

[[sources]]
name = "history"
plugin = "replay"
path = %(csv)s

[[scorers]]
name = "band"
plugin = "percentile_band"
from = ["history"]
model = %(model)s

[[sinks]]
name = "to_kafka"
plugin = "kafka_sink"
from = ["band"]
brokers = "embedded"
topic = "alerts"
format = "json"

[[sources]]
name = "from_kafka"
plugin = "kafka_source"
brokers = "embedded"
topics = ["alerts"]
ts_field = "ts"
wh_field = "wh"
meter_field = "meter"

[[scorers]]
name = "band_again"
plugin = "percentile_band"
from = ["from_kafka"]
model = %(model)s

[[sinks]]
name = "console"
plugin = "console"
from = ["band_again"]
format = "json"
receive = "unusual"
""" % {"csv": toml_string(csv_path), "model": toml_string(model)}


class EmbeddedBrokerTest(KafkaTestCase):
    def test_alerts_go_round_through_the_in_process_broker(self):
        self.assertEqual([BAND.alerts(h, wh) for _, h, wh in ALERTS], [True] * 3)
        csv = self.write("history.csv", CSV)
        run = self.run_pipeline(pipeline(csv, harness.MODEL))
        harness.wait_until(lambda: run.out().count("\n") >= len(ALERTS), 40,
                           lambda: "%d console lines:\n%s\n%s" % (len(ALERTS), run.out(), run.tail()))
        self.assertEqual(run.stop(), 0)

        lines = [json.loads(line) for line in run.out().splitlines()]
        self.assertEqual(len(lines), len(ALERTS))  # the two calm readings never reached the topic
        for (ts, hour, wh), line in zip(ALERTS, sorted(lines, key=lambda l: l["ts_ms"])):
            with self.subTest(ts=ts):
                self.assertEqual(line["ts"], ts)
                self.assertEqual(line["ts_ms"], harness.epoch_ms(ts))
                self.assertEqual((line["meter"], line["hour"], line["wh"]), ("home", hour, wh))
                self.assertEqual((line["scorer"], line["alert"]), ("band_again", "raised"))
                self.assertTrue(math.isclose(line["score"], BAND.score(hour, wh), rel_tol=1e-12))
                # The first chain's record read back as the reading it was: its span, its
                # labels (none), not its verdict.
                self.assertEqual(line["span_ms"], 3600000)
                self.assertEqual(line["labels"], {})

        log = run.log()
        addresses = re.findall(r"^\S+ info +\[(\w+)\] embedded Kafka broker \(in memory, for trials only\) at "
                               r"(127\.0\.0\.1:\d+)$", log, re.M)
        self.assertEqual(sorted(stage for stage, _ in addresses), ["from_kafka", "to_kafka"], log)
        self.assertEqual(len({address for _, address in addresses}), 1, "one broker shared by both stages")
        self.assertIn("[history] replayed 5 readings, skipped 0 malformed lines", log)
        self.assertIn("[from_kafka] stopped after 3 readings, 0 undecodable messages", log)


class BrokerCommandTest(KafkaTestCase):
    def test_port_zero_is_any_free_port_and_a_bad_port_is_refused(self):
        broker = self.start_broker(topics=["t"], port=0)
        self.assertNotEqual(broker.address, "127.0.0.1:0")
        self.assertEqual(harness.message_count(broker.address, "t"), 0)  # it answers there
        bad = subprocess.run([harness.BINARY, "broker", "--port", "70000"], capture_output=True, text=True,
                             timeout=30)
        self.assertEqual(bad.returncode, 2)
        self.assertTrue(bad.stderr.startswith("stream-smarts broker: bad value '70000' for --port\n"), bad.stderr)

    def test_started_with_ampersand_in_a_terminal_it_goes_on_serving(self):
        """As the README starts it: `stream-smarts broker --port 9092 &` in an
        interactive shell. Reading its commands from the terminal stopped it
        (SIGTTIN) once something was typed, so kcat then timed out."""
        address_file = self.dir / "address"
        script = self.write("terminal.sh", (
            "%s broker >%s &\n"
            "for i in $(seq 100); do [ -s %s ] && break; sleep 0.1; done\n"
            "sleep 1\n"  # the line typed below reaches the terminal meanwhile
            "echo '{\"hour\": 4, \"kwh\": 9000}' | timeout 20 kcat -P -b \"$(head -1 %s)\" -t raw_power\n"
            "echo \"kcat exit $?\"\n"
            "jobs -l\n"
            "kill %%1\n") % (harness.BINARY, address_file, address_file, address_file))
        # `script` gives bash -i a terminal, so that & makes a background job of the broker.
        run = subprocess.run(["script", "-qec", "bash -i %s" % script, "/dev/null"], input="typed for the shell\n",
                             capture_output=True, text=True, timeout=60)
        self.assertIn("kcat exit 0", run.stdout, run.stdout + run.stderr)
        self.assertNotIn("Stopped", run.stdout)


if __name__ == "__main__":
    unittest.main()
