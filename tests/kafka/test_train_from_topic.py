"""`stream-smarts train --source kafka_source`: history read from a topic
(to its end, stop_at_end) gives the same model as the same history read
from a CSV file, and the consumer group's offsets are left alone."""

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
                                "--data-set", 'topics=["history"]', "--data-set", "ts_field=ts",
                                "--data-set", "stop_at_end=true", "--out", "topic.toml")
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


if __name__ == "__main__":
    unittest.main()
