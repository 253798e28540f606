"""A consumer librdkafka can no longer use (a fatal error: here a static
member fenced, as when two processes share a group.instance.id) fails its
stage with the reason and what to do, and the runtime restarts the source
with a new consumer, which reads on. Before, the error was logged as a
warning and the source polled a dead consumer for ever."""

import json
import unittest

from harness import (BAND, KafkaTestCase, band_scorer, epoch_ms, kafka_sink, kafka_source, pipeline_header, produce,
                     read_topic, wait_for_messages)

HEARTBEAT, FENCED_INSTANCE_ID = 12, 82


def messages(tag, count=10):
    """Readings for hours 0..count-1 (2024-01-15, Paris), every other one far above its band."""
    out = {}
    for i in range(count):
        ts = epoch_ms("2024-01-15T%02d:00:00+01:00" % i)
        out["%s-%d" % (tag, i)] = (i, {"ts": ts, "wh": 20000 if i % 2 == 0 else 100})
    return out


class FencedConsumerTest(KafkaTestCase):
    def test_a_fenced_consumer_fails_its_stage_and_a_new_one_reads_on(self):
        broker = self.start_broker(topics=["raw_power"])
        text = (pipeline_header("fenced", restart_backoff="100ms") +
                kafka_source(broker.address, {"group.id": "fenced", "group.instance.id": "pi-1",
                                              # the mock lets the new member in once the old one's session
                                              # has timed out (a real broker: at once)
                                              "session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"}) +
                band_scorer() + kafka_sink("out", broker.address, "OUT", receive="unusual", format="json"))
        run = self.run_pipeline(text)
        run.wait_for_log(r"\[raw_power\] assigned", 40)

        broker.command("fail %d %d" % (HEARTBEAT, FENCED_INSTANCE_ID))
        run.wait_for_log(r"\[raw_power\] (read|idle) failed: Kafka consumer failed for good: .*Static consumer fenced by other "
                         r"consumer with same group\.instance\.id \(two consumers of the group have the same "
                         r"group\.instance\.id: give each process its own, or the restarted one fences the other in "
                         r"turn\); restarting in", 40)
        run.wait_for_log(r"\[raw_power\] assigned", 60, count=2)  # the new consumer has joined

        readings = messages("after")
        produce(broker.address, "raw_power",
                [{"key": meter.encode(), "value": json.dumps(fields).encode()} for meter, (_, fields) in readings.items()])
        alerting = sorted(m for m, (h, f) in readings.items() if BAND.alerts(h, f["wh"]))
        self.assertEqual(len(alerting), 5)
        wait_for_messages(broker.address, "OUT", len(alerting), 60)
        self.assertTrue(run.alive(), run.tail())
        self.assertEqual(run.stop(), 0)
        self.assertEqual(sorted({r.key.decode() for r in read_topic(broker.address, "OUT")}), alerting)


if __name__ == "__main__":
    unittest.main()
