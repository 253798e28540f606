"""Test 7: `stream-smarts run` processes in one consumer group share the
partitions of raw_power: each reading is scored exactly once, by the process
that owns its partition; when one stops (committing what it handled), the
other takes its partitions over and scores what comes next, warming up only
the partitions it did not read itself; a member reading another topic
joins, and every partition comes back to it without a warm-up, those it
warmed up too; a third joins and leaves, and the partitions the first kept
come back to it without a warm-up each time."""

import json
import re
import unittest

from confluent_kafka import Consumer, TopicPartition

import harness
from harness import (HOUR_MS, KafkaTestCase, band_scorer, epoch_ms, get, inline_table, kafka_sink, pipeline_header,
                     produce, read_topic, samples, toml_string, wait_for_messages)

PARTITIONS = 3
GROUP = "e2e-scale-out"
METERS = ["kitchen", "garage", "flat-1", "flat-2", "flat-3", "shop"]
BASE_TS = epoch_ms("2024-01-01T00:00:00+01:00")


def pipeline(brokers, scorer, topic="raw_power"):
    """Identical in every process but for the scorer's name, which every
    scored reading carries in the "json" format: it tells who scored it."""
    return (pipeline_header("scale-out", metrics="127.0.0.1:0") +
            "[[sources]]\nname = \"raw_power\"\nplugin = \"kafka_source\"\nbrokers = %s\ntopics = [%s]\n"
            "ts_field = \"ts\"\nmeter_field = \"meter\"\nproperties = %s\n\n" %
            (toml_string(brokers), toml_string(topic),
             inline_table({"group.id": GROUP, "session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"})) +
            band_scorer(scorer) +
            kafka_sink("power_scored", brokers, "POWER_SCORED", source=scorer, receive="all", format="json"))


def readings(first, count):
    """Reading i: meter METERS[i % 6], partition i % 3, a distinct hour."""
    return [{"partition": i % PARTITIONS, "key": METERS[i % len(METERS)].encode(),
             "value": json.dumps({"ts": BASE_TS + i * HOUR_MS, "wh": 100 + i % 5000,
                                  "meter": METERS[i % len(METERS)]}).encode()}
            for i in range(first, first + count)]


def committed(brokers):
    """The group's committed offsets of raw_power, by partition (asked as a
    consumer that does not join the group)."""
    group = Consumer({"bootstrap.servers": brokers, "group.id": GROUP})
    try:
        return {tp.partition: tp.offset
                for tp in group.committed([TopicPartition("raw_power", p) for p in range(PARTITIONS)], timeout=10)}
    finally:
        group.close()


def assignment(log):
    """The partitions a process owns now, from its "assigned"/"revoked" lines."""
    return harness.partitions_now(log, "assigned", "revoked")


def warm_ups(log):
    """Since a process's last "revoked" line: the partitions it warmed up, and
    those it read on without (back where it left them)."""
    since = log[log.rindex("revoked"):] if "revoked" in log else log
    return ({int(p) for p in re.findall(r"\] warming up raw_power \[(\d+)\]", since)},
            {int(p) for p in re.findall(r"\] not warming up raw_power \[(\d+)\]", since)})


class ScaleOutTest(KafkaTestCase):
    def test_processes_share_the_partitions(self):
        broker = self.start_broker(topics=["raw_power"], partitions=PARTITIONS)
        a = self.run_pipeline(pipeline(broker.address, "band_a"), name="a")
        b = self.run_pipeline(pipeline(broker.address, "band_b"), name="b")

        def settled(x, y):
            owned_x, owned_y = assignment(x.log()), assignment(y.log())
            if owned_x and owned_y and not owned_x & owned_y and owned_x | owned_y == set(range(PARTITIONS)):
                return owned_x, owned_y
            return None

        def wait_settled(x, y):
            return harness.wait_until(lambda: settled(x, y), 60, lambda: "both processes to own partitions:\n%s\n%s" %
                                      (x.tail(10), y.tail(10)), interval=0.2)

        def wait_warm_ups(warmed, not_warmed):
            harness.wait_until(lambda: warm_ups(b.log()) == (warmed, not_warmed), 60,
                               lambda: "b to warm up %s and not %s:\n%s" % (sorted(warmed), sorted(not_warmed),
                                                                            b.tail(10)), interval=0.2)
        owned_a, owned_b = wait_settled(a, b)

        n = 300
        produce(broker.address, "raw_power", readings(0, n))
        wait_for_messages(broker.address, "POWER_SCORED", n, 60)
        self.assertEqual(settled(a, b), (owned_a, owned_b), "a rebalance happened meanwhile")

        # a leaves (SIGTERM: it drains, and commits what it handled); b takes everything over,
        # warming up only what a read: its own partitions come back where it left them.
        self.assertEqual(a.stop(), 0)
        wait_warm_ups(owned_a, owned_b)
        self.assertEqual(assignment(b.log()), set(range(PARTITIONS)))
        # A member of the group reading another topic joins and leaves: b gives every partition
        # up and gets it back where it left it, those it warmed up and read to their end too.
        d = self.run_pipeline(pipeline(broker.address, "band_d", topic="other_power"), name="d")
        wait_warm_ups(set(), set(range(PARTITIONS)))
        assigned_before = b.log().count("] assigned ")
        self.assertEqual(d.stop(), 0)
        # d's leaving is one more such rebalance: over before anything new comes (a commit
        # refused during a rebalance has the next owner read again, by design).
        harness.wait_until(lambda: b.log().count("] assigned ") > assigned_before and
                           warm_ups(b.log()) == (set(), set(range(PARTITIONS))), 60,
                           lambda: "b to get every partition back as d leaves:\n" + b.tail(10), interval=0.2)
        m = 150
        produce(broker.address, "raw_power", readings(n, m))
        wait_for_messages(broker.address, "POWER_SCORED", n + m, 60)
        # Committed before c joins: a commit falling due during the rebalance would be refused.
        done = {p: (n + m) // PARTITIONS for p in range(PARTITIONS)}
        harness.wait_until(lambda: committed(broker.address) == done, 30, lambda: "b to commit %s: %s" %
                           (done, committed(broker.address)), interval=0.5)

        # c joins: what b keeps comes back where b left it; c warms up the rest.
        c = self.run_pipeline(pipeline(broker.address, "band_c"), name="c")
        kept, owned_c = wait_settled(b, c)
        wait_warm_ups(set(), kept)
        # c leaves, having read nothing new: b gets every partition back, and what it kept comes
        # back where it left it again, though b stored nothing of it meanwhile.
        self.assertEqual(c.stop(), 0)
        wait_warm_ups(owned_c, kept)
        self.assertEqual(assignment(b.log()), set(range(PARTITIONS)))
        # Every partition b reads has a lag, those read on with nothing consumed since too: 0, all read.
        port = int(b.wait_for_log(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", 5)[0])
        lag = {p: 'stream_smarts_consumer_lag{stage="raw_power",topic="raw_power",partition="%d"}' % p
               for p in range(PARTITIONS)}
        harness.wait_until(lambda: all(samples(get(port, "/metrics")[1]).get(lag[p]) == 0 for p in lag), 10,
                           lambda: "a lag of 0 for every partition:\n" + get(port, "/metrics")[1])
        self.assertTrue(b.alive(), b.tail())
        self.assertEqual(b.stop(), 0)

        # All have drained and flushed: the topic holds all they will ever write.
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
        self.assertIn("[raw_power] stopped after 0 readings (and ", c.log())  # it only warmed up
        print("\na owned %s and scored %d, b owned %s and scored %d, then %d more; b kept %s when c joined" %
              (sorted(owned_a), by_a, sorted(owned_b), n - by_a, m, sorted(kept)))


if __name__ == "__main__":
    unittest.main()
