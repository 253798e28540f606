"""A process whose sink is stalled (its phone service down) does not hold up
its consumer group: its source pauses its partitions and goes on polling, so
a process joining the group gets its share at once, not after the stalled
one's max.poll.interval.ms (5 minutes by default). When the service is back
the stalled process reads on from where it paused, losing nothing, and
pushes each reading of the partition it kept once: the eager protocol gave
that partition up and back (twice: as another process joined, then left),
but what the process had read of it is still in its outbox, not read again."""

import collections
import re
import sys
import unittest
from pathlib import Path

import harness
from harness import KafkaTestCase, band_scorer, epoch_ms, kafka_source, pipeline_header, produce, pushbullet_sink
from test_scale_out import assignment

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "http"))
from recording_server import RecordingServer, Response  # noqa: E402

PARTITIONS = 2
PER_PARTITION = 20
TOKEN = "o.stalled-sink-test-token"
# max.poll.interval.ms stays librdkafka's default (300000): the rebalances
# below must not wait for it.
PROPERTIES = {"session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"}
# Both rebalance protocols: the default revokes everything and assigns
# anew; cooperative-sticky (which docs/kafka.md advises) moves only the
# partitions that change owner.
STRATEGIES = {"eager": "range,roundrobin", "cooperative": "cooperative-sticky"}
PUSHED = Response(200, {"active": True, "type": "note"})


def reading(i):
    """Reading i: partition i % 2, 04:00 on day i, 20000 + i Wh (far above the band)."""
    ts = epoch_ms("2024-01-01T04:00:00+01:00") + i * 24 * harness.HOUR_MS
    return {"partition": i % PARTITIONS, "key": b"home", "value": b'{"ts":%d,"wh":%d}' % (ts, 20000 + i)}


def pipeline(brokers, push_url, protocol):
    # One reading a batch and 16 in flight: a sink that cannot deliver stops
    # the source after about 33 of the 40 readings, so it has read some of
    # each partition, whichever it keeps.
    properties = dict(PROPERTIES, **{"group.id": "e2e-stalled-sink-" + protocol,
                                     "partition.assignment.strategy": STRATEGIES[protocol]})
    return (pipeline_header("stalled-sink", batch_size=1, max_in_flight=16) +
            kafka_source(brokers, properties, commit_interval="0s") + band_scorer() +
            pushbullet_sink(push_url, receive="unusual"))


def wh_of(request):
    return int(re.search(r"of (\d+) Wh", request.json["body"]).group(1))


def pushed_wh(server):
    """The readings a server was asked to push (answered or not), by their Wh."""
    return {wh_of(r) for r in server.requests()}


def delivered(server):
    """How many times each reading, by its Wh, was pushed and answered 200."""
    return collections.Counter(wh_of(r) for r in server.requests() if r.status == 200)


def paused(log):
    """The partitions a process has paused now, from its "paused"/"resumed" lines."""
    return harness.partitions_now(log, "paused", "resumed")


def of_partition(p, later=False):
    first = PARTITIONS * PER_PARTITION if later else 0
    return {20000 + i for i in range(first, first + PARTITIONS * PER_PARTITION) if i % PARTITIONS == p}


class StalledSinkTest(KafkaTestCase):
    def test_a_stalled_member_does_not_hold_up_the_group(self):
        for protocol in STRATEGIES:
            with self.subTest(protocol=protocol):
                self.stalled_member(protocol)

    def stalled_member(self, protocol):
        broker = self.start_broker(topics=["raw_power"], partitions=PARTITIONS, name="broker-" + protocol)
        produce(broker.address, "raw_power", [reading(i) for i in range(PARTITIONS * PER_PARTITION)])
        env = {"PUSHBULLET_TOKEN": TOKEN, "no_proxy": "127.0.0.1", "NO_PROXY": "127.0.0.1"}
        down = RecordingServer(default=Response(503, "maintenance"))
        self.addCleanup(down.close)

        a = self.run_pipeline(pipeline(broker.address, down.url, protocol), name="a-" + protocol, env=env)
        a.wait_for_log(r"\[raw_power\] paused raw_power \[0\], raw_power \[1\] until the sinks catch up$", 60)
        self.assertEqual(assignment(a.log()), {0, 1})

        up = RecordingServer(default=PUSHED)
        self.addCleanup(up.close)
        b = self.run_pipeline(pipeline(broker.address, up.url, protocol), name="b-" + protocol, env=env)

        def settled():
            owned_a, owned_b = assignment(a.log()), assignment(b.log())
            if len(owned_a) == 1 and owned_a | owned_b == set(range(PARTITIONS)):
                return owned_a.pop(), owned_b.pop()
            return None
        # Well inside the 300 s a member that does not poll would make the group wait.
        p_a, p_b = harness.wait_until(settled, 45, lambda: "the group to share the partitions while a is stalled:"
                                      "\n%s\n%s" % (a.tail(12), b.tail(12)), interval=0.2)
        if protocol == "cooperative":  # only what moves is revoked, and the log says what is still read
            self.assertRegex(a.log(), r"\[raw_power\] revoked raw_power \[%d\]; still reading raw_power \[%d\]\n"
                             % (p_b, p_a))
        else:  # all revoked; the one a gets back it reads on after what it read, still in its outbox
            self.assertRegex(a.log(), r"\[raw_power\] not warming up raw_power \[%d\]: back with no offset "
                             r"committed, where this process left it; reading on from offset [1-9]\d*, where it had "
                             r"read to \(what it read is not read again\)\n" % p_a)
        up.wait_for_requests(PER_PARTITION, 60)
        self.assertEqual(pushed_wh(up), of_partition(p_b))
        # a keeps its partition paused while its sink is still down.
        self.assertEqual(paused(a.log()), {p_a}, a.tail(12))
        self.assertTrue(a.alive(), a.tail())

        # b leaves while a is still stalled: a takes over the partition it
        # gave up while paused (librdkafka would keep it paused), and with
        # the eager protocol gives its own up and gets it back once more.
        self.assertEqual(b.stop(), 0)
        harness.wait_until(lambda: assignment(a.log()) == {0, 1}, 60, lambda: "a to own both:\n" + a.tail(12),
                           interval=0.2)

        # The service is back: a resumes where it paused, pushes every reading
        # of its partition, and reads what comes next.
        down.default = PUSHED
        harness.wait_until(lambda: of_partition(p_a) <= pushed_wh(down), 60,
                           lambda: "a to push all of partition %d: %s\n%s" % (p_a, sorted(pushed_wh(down)), a.tail()))
        produce(broker.address, "raw_power",
                [reading(i) for i in range(PARTITIONS * PER_PARTITION, 2 * PARTITIONS * PER_PARTITION)])
        later = of_partition(0, later=True) | of_partition(1, later=True)
        harness.wait_until(lambda: later <= pushed_wh(down), 60,
                           lambda: "a to push what came later: %s\n%s" % (sorted(pushed_wh(down)), a.tail()))
        self.assertEqual(paused(a.log()), set(), a.tail(12))
        self.assertEqual(a.stop(), 0)
        # Each partition is read in order, so what came later being pushed
        # means anything read again before it was pushed too. What a held of
        # p_b as it moved is pushed by b as well: at least once, not exactly.
        once = {wh: 1 for wh in of_partition(p_a) | later}
        self.assertEqual({wh: n for wh, n in delivered(down).items() if wh in once}, once, a.log())
        for run in (a, b):
            self.assertNotIn(TOKEN, run.log())


if __name__ == "__main__":
    unittest.main()
