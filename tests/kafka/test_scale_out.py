"""Test 7: two `stream-smarts run` processes in one consumer group share the
partitions of raw_power: each reading is scored exactly once, by the process
that owns its partition; when one stops (committing what it handled), the
other takes its partitions over and scores what comes next, warming up only
the partitions it did not read itself."""

import json
import unittest

import harness
from harness import (HOUR_MS, KafkaTestCase, band_scorer, epoch_ms, inline_table, kafka_sink, pipeline_header,
                     produce, read_topic, toml_string, wait_for_messages)

PARTITIONS = 3
GROUP = "e2e-scale-out"
METERS = ["kitchen", "garage", "flat-1", "flat-2", "flat-3", "shop"]
BASE_TS = epoch_ms("2024-01-01T00:00:00+01:00")


def pipeline(brokers, scorer):
    """Identical in both processes but for the scorer's name, which every
    scored reading carries in the "json" format: it tells who scored it."""
    return (pipeline_header("scale-out") +
            "[[sources]]\nname = \"raw_power\"\nplugin = \"kafka_source\"\nbrokers = %s\ntopics = [\"raw_power\"]\n"
            "ts_field = \"ts\"\nmeter_field = \"meter\"\nproperties = %s\n\n" %
            (toml_string(brokers), inline_table({"group.id": GROUP, "session.timeout.ms": "6000",
                                                 "heartbeat.interval.ms": "1000"})) +
            band_scorer(scorer) +
            kafka_sink("power_scored", brokers, "POWER_SCORED", source=scorer, receive="all", format="json"))


def readings(first, count):
    """Reading i: meter METERS[i % 6], partition i % 3, a distinct hour."""
    return [{"partition": i % PARTITIONS, "key": METERS[i % len(METERS)].encode(),
             "value": json.dumps({"ts": BASE_TS + i * HOUR_MS, "wh": 100 + i % 5000,
                                  "meter": METERS[i % len(METERS)]}).encode()}
            for i in range(first, first + count)]


def assignment(log):
    """The partitions a process owns now, from its "assigned"/"revoked" lines."""
    return harness.partitions_now(log, "assigned", "revoked")


class ScaleOutTest(KafkaTestCase):
    def test_two_processes_share_the_partitions(self):
        broker = self.start_broker(topics=["raw_power"], partitions=PARTITIONS)
        a = self.run_pipeline(pipeline(broker.address, "band_a"), name="a")
        b = self.run_pipeline(pipeline(broker.address, "band_b"), name="b")

        def settled():
            owned_a, owned_b = assignment(a.log()), assignment(b.log())
            if owned_a and owned_b and not owned_a & owned_b and owned_a | owned_b == set(range(PARTITIONS)):
                return owned_a, owned_b
            return None
        owned_a, owned_b = harness.wait_until(settled, 60, lambda: "both processes to own partitions:\n%s\n%s" %
                                              (a.tail(10), b.tail(10)), interval=0.2)

        n = 300
        produce(broker.address, "raw_power", readings(0, n))
        wait_for_messages(broker.address, "POWER_SCORED", n, 60)
        self.assertEqual(settled(), (owned_a, owned_b), "a rebalance happened meanwhile")

        # a leaves (SIGTERM: it drains, and commits what it handled); b takes everything over.
        self.assertEqual(a.stop(), 0)
        harness.wait_until(lambda: assignment(b.log()) == set(range(PARTITIONS)), 60,
                           lambda: "b to own every partition:\n%s" % b.tail(10), interval=0.2)
        # b warms up only what a read: its own partitions came back where it left them.
        takeover = b.log()[b.log().rindex("revoked"):]
        for p in sorted(owned_a):
            self.assertRegex(takeover, r"warming up raw_power \[%d\]: reading again" % p)
        for p in sorted(owned_b):
            self.assertRegex(takeover, r"not warming up raw_power \[%d\]: back at offset \d+, where this process "
                                       r"left it" % p)
        m = 150
        produce(broker.address, "raw_power", readings(n, m))
        wait_for_messages(broker.address, "POWER_SCORED", n + m, 60)
        self.assertTrue(b.alive(), b.tail())
        self.assertEqual(b.stop(), 0)

        # Both have drained and flushed: the topic holds all they will ever write.
        values = [json.loads(r.value) for r in read_topic(broker.address, "POWER_SCORED")]
        self.assertEqual(sorted(v["ts_ms"] for v in values),  # each reading scored exactly once
                         [BASE_TS + i * HOUR_MS for i in range(n + m)])
        by_ts = {v["ts_ms"]: v for v in values}
        for i in range(n + m):
            v = by_ts[BASE_TS + i * HOUR_MS]
            self.assertEqual(v["meter"], METERS[i % len(METERS)])
            self.assertEqual(v["wh"], 100 + i % 5000)
            # the first n by their partition's owner; the rest by b, which had them all
            self.assertEqual(v["scorer"], "band_a" if i < n and i % PARTITIONS in owned_a else "band_b", i)
        by_a = sum(v["scorer"] == "band_a" for v in values)
        self.assertGreater(by_a, 0)
        self.assertGreater(n - by_a, 0)
        self.assertIn("[raw_power] stopped after %d readings" % by_a, a.log())
        print("\na owned %s and scored %d, b owned %s and scored %d, then %d more" %
              (sorted(owned_a), by_a, sorted(owned_b), n - by_a, m))


if __name__ == "__main__":
    unittest.main()
