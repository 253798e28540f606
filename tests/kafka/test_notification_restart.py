"""A notification still being retried when the process is killed is not
lost: the Kafka source commits past a reading only once every sink has
delivered (or given up) what it gave, so after kill -9 and a restart with the
same group the reading is read again and the push goes out.

Also: while the phone's service is down, the other sink (Kafka) goes on."""

import json
import sys
import unittest
from pathlib import Path

import harness
from harness import KafkaTestCase, band_scorer, epoch_ms, kafka_sink, kafka_source, pipeline_header, produce, pushbullet_sink

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "http"))
from recording_server import RecordingServer, Response  # noqa: E402

GROUP = "e2e-notification-restart"
TOKEN = "o.restart-test-token"
PROPERTIES = {"group.id": GROUP, "session.timeout.ms": "3000", "heartbeat.interval.ms": "1000"}
# 04:00 in Paris, 20 kWh: far above the band; then calm hours.
READINGS = [(epoch_ms("2007-01-14T04:00:00+01:00") + h * harness.HOUR_MS, 20000 if h == 0 else 100) for h in range(6)]


def pipeline(brokers, push_url):
    return (pipeline_header("notify-restart", batch_size=1, max_in_flight=2) +
            kafka_source(brokers, PROPERTIES, commit_interval="0s") + band_scorer() + pushbullet_sink(push_url) +
            kafka_sink("scored", brokers, "POWER_SCORED", receive="all", format="json"))


class NotificationRestartTest(KafkaTestCase):
    def test_an_alert_being_retried_survives_kill_9(self):
        broker = self.start_broker(topics=["raw_power"], partitions=1)
        produce(broker.address, "raw_power",
                [{"key": b"home", "value": b'{"ts":%d,"wh":%d}' % r} for r in READINGS])
        down = RecordingServer(default=Response(503, "maintenance"))
        self.addCleanup(down.close)
        env = {"PUSHBULLET_TOKEN": TOKEN, "no_proxy": "127.0.0.1", "NO_PROXY": "127.0.0.1"}

        first = self.run_pipeline(pipeline(broker.address, down.url), name="first", env=env)
        down.wait_for_requests(3, timeout=40)  # retrying...
        # ...while the Kafka sink is not held back: every reading is scored.
        harness.wait_until(lambda: self.message_count(broker.address, "POWER_SCORED") >= len(READINGS), 40,
                           lambda: "all readings scored while the phone is down:\n" + first.tail())
        first.kill()
        self.assertNotIn(TOKEN, first.log())

        up = RecordingServer(default=Response(200, {"active": True, "type": "note"}))
        self.addCleanup(up.close)
        second = self.run_pipeline(pipeline(broker.address, up.url), name="second", env=env)
        [push] = up.wait_for_requests(1, timeout=60)
        self.assertEqual(push.json["body"], "Unusual power usage of 20000 Wh at 4:00. Please check!")
        self.assertEqual(second.stop(), 0)
        self.assertEqual(len(up.requests()), 1)  # the calm hours read again raise nothing
        self.assertNotIn(TOKEN, second.log())


if __name__ == "__main__":
    unittest.main()
