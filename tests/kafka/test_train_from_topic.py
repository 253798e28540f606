"""`stream-smarts train --source kafka_source`: history read from a topic
(to its end: stop_at_end is implied) gives the same model as the same history read
from a CSV file, and the consumer group's offsets are left alone. A topic
kafka_sink wrote with receive = "all" (a Pi's recorded readings) reads back
as the history it was."""

import datetime
import json
import subprocess
import tomllib
import unittest

from confluent_kafka import Consumer, TopicPartition

import harness
from harness import PARIS, KafkaTestCase

DAYS = 14


def history():
    """(local ISO time, wh): two weeks of hours, each hour's usage varying by day."""
    start = datetime.datetime(2024, 1, 8, tzinfo=PARIS)
    for d in range(DAYS):
        for h in range(24):
            t = start + datetime.timedelta(days=d, hours=h)
            yield t.isoformat(), 100 + 20 * h + (d * 37 % 11) * 5


class TrainFromTopic(KafkaTestCase):
    def train(self, *args):
        r = subprocess.run([harness.BINARY, "train", "--scorer", "percentile_band", "--timezone", "Europe/Paris",
                            "--holdout", "0", *args], capture_output=True, text=True, timeout=120, cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def test_model_from_topic_equals_model_from_file(self):
        broker = self.start_broker(topics=["history"], partitions=1)
        readings = list(history())
        harness.produce(broker.address, "history",
                        [{"value": json.dumps({"ts": ts, "wh": wh}).encode()} for ts, wh in readings])
        self.write("history.csv", "ts,wh\n" + "".join("%s,%s\n" % r for r in readings))

        from_topic = self.train("--source", "kafka_source", "--data-set", "brokers=" + broker.address,
                                "--data-set", 'topics=["history"]', "--data-set", "ts_field=ts", "--out", "topic.toml")
        from_file = self.train("--data", "history.csv", "--out", "file.toml")
        self.assertIn("percentile_band: %d readings" % len(readings), from_topic.stdout)

        def bands(name):
            with open(self.dir / name, "rb") as f:
                return tomllib.load(f)["band"]
        self.assertEqual(bands("topic.toml"), bands("file.toml"))
        self.assertEqual(bands("topic.toml")[5][:2], [200.0, 250.0])  # hour 5: 100 + 20 * 5 + 0..50

        # Training reads; it does not consume: the source's group has no committed offsets.
        group = Consumer({"bootstrap.servers": broker.address, "group.id": "stream-smarts-history"})
        self.addCleanup(group.close)
        committed = group.committed([TopicPartition("history", 0)], timeout=10)
        self.assertLess(committed[0].offset, 0)

    def test_what_kafka_sink_recorded_reads_back_as_the_history_it_was(self):
        broker = self.start_broker(topics=["recorded"], partitions=1)
        # Two days of a Pi's readings, one a minute: the trailing hour's Wh and gpio_meter's labels.
        start = datetime.datetime(2024, 1, 8)
        rows = ["%s,%d,%d,%d" % ((start + datetime.timedelta(minutes=m)).isoformat(), 400 + m % 7, 400 + m % 7,
                                 300 + m % 5) for m in range(2 * 24 * 60)]
        self.write("pi.csv", "ts,wh,pulses,power_w\n" + "\n".join(rows) + "\n")
        band = "[" + ", ".join(["[0, 3000]"] * 24) + "]"
        recorder = self.run_pipeline(
            '[pipeline]\nname = "record"\ntimezone = "Europe/Paris"\n'
            '[[sources]]\nname = "meter"\nplugin = "replay"\npath = "pi.csv"\n'
            '[[scorers]]\nname = "band"\nplugin = "percentile_band"\nfrom = ["meter"]\nband = %s\n'
            '[[sinks]]\nname = "broker"\nplugin = "kafka_sink"\nfrom = ["band"]\nbrokers = "%s"\n'
            'topic = "recorded"\nreceive = "all"\n' % (band, broker.address))
        self.assertEqual(recorder.wait(60), 0, recorder.tail())

        def inject(*source):
            r = subprocess.run([harness.BINARY, "inject", "--timezone", "Europe/Paris", "--kind", "k:2000:1-1:1-1",
                                "--kinds", "k", "--per-week", "6", *source, "--out", "out.csv"],
                               capture_output=True, text=True, timeout=120, cwd=self.dir)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("injected 1 events into %d readings" % len(rows), r.stderr)
            return (self.dir / "out.csv").read_text()

        from_file = inject("--data", "pi.csv")
        from_topic = inject("--source", "kafka_source", "--data-set", "brokers=" + broker.address,
                            "--data-set", 'topics=["recorded"]', "--data-set", "ts_field=ts",
                            "--data-set", "meter_field=meter")
        self.assertTrue(from_file.startswith("ts,wh,pulses,power_w,label\n"), from_file[:80])
        self.assertEqual(from_topic, from_file)  # the readings and their labels, nothing of the verdict


if __name__ == "__main__":
    unittest.main()
