"""The Kafka source's own figures on the metrics endpoint ([pipeline]
metrics): undecodable messages per topic, and the consumer lag of each
partition it reads, next to the runtime's counters; scraped over HTTP on
127.0.0.1 while the pipeline runs. The lag goes on growing while a stalled
sink has the source's partitions paused."""

import re
import sys
import unittest
from pathlib import Path

from harness import (KafkaTestCase, band_scorer, get, kafka_sink, kafka_source, pipeline_header, produce,
                     pushbullet_sink, samples, wait_until)
from test_stalled_sink import reading
from test_undecodable import TOPICS, source, produce_all

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "http"))
from recording_server import RecordingServer, Response  # noqa: E402

LAG = 'stream_smarts_consumer_lag{stage="raw_power",topic="raw_power",partition="0"}'


class MetricsTest(KafkaTestCase):
    def test_decode_errors_per_topic_and_lag_per_partition(self):
        broker = self.start_broker()
        text = (pipeline_header("metrics", metrics="127.0.0.1:0") + source("raw_power", broker.address, "json", "") +
                source("raw_power_avro", broker.address, "avro", "") +
                band_scorer().replace('from = ["raw_power"]', 'from = ["raw_power", "raw_power_avro"]') +
                kafka_sink("anomoly_power", broker.address, "ANOMOLY_POWER", receive="unusual"))
        run = self.run_pipeline(text)
        port = int(run.wait_for_log(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", 30)[0])
        produce_all(broker.address)
        self.assertEqual([sum(why is not None for _, _, why in m) for _, m in TOPICS], [6, 3])

        expected = {
            'stream_smarts_decode_errors_total{stage="raw_power",topic="raw_power"}': 6,
            'stream_smarts_decode_errors_total{stage="raw_power_avro",topic="raw_power_avro"}': 3,
            'stream_smarts_readings_total{stage="raw_power"}': 3,
            'stream_smarts_readings_total{stage="raw_power_avro"}': 2,
            'stream_smarts_consumer_lag{stage="raw_power",topic="raw_power",partition="0"}': 0,
            'stream_smarts_consumer_lag{stage="raw_power_avro",topic="raw_power_avro",partition="0"}': 0,
            'stream_smarts_deliveries_total{stage="anomoly_power"}': 4,
        }
        last = {}

        def shown():
            status, body = get(port, "/metrics")
            last["page"] = body
            found = samples(body) if status == 200 else {}
            return all(found.get(k) == v for k, v in expected.items())
        wait_until(shown, 40, lambda: "the figures %s in:\n%s" % (expected, last.get("page")))
        page = last["page"]
        self.assertIn("# TYPE stream_smarts_consumer_lag gauge\n", page)
        self.assertIn("# TYPE stream_smarts_decode_errors_total counter\n", page)
        self.assertTrue(re.search(r"^# HELP stream_smarts_consumer_lag Messages in a partition not yet read", page, re.M))
        self.assertEqual(get(port, "/healthz"), (200, "ok\n"))
        self.assertEqual(run.stop(), 0)

    def test_the_lag_goes_on_growing_while_the_partitions_are_paused(self):
        """Paused, the source fetches nothing, so librdkafka's cached high
        watermark stood still and the lag with it (before: frozen at what it
        was when the sink stalled)."""
        broker = self.start_broker(topics=["raw_power"], partitions=1)
        down = RecordingServer(default=Response(503, "maintenance"))
        self.addCleanup(down.close)
        text = (pipeline_header("lag", metrics="127.0.0.1:0", batch_size=1, max_in_flight=2) +
                kafka_source(broker.address, {"group.id": "lag"}) + band_scorer() +
                pushbullet_sink(down.url, receive="unusual"))
        run = self.run_pipeline(text, env={"PUSHBULLET_TOKEN": "o.lag-test-token", "no_proxy": "127.0.0.1"})
        port = int(run.wait_for_log(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", 30)[0])
        readings = [dict(reading(2 * i), partition=0) for i in range(20)]
        produce(broker.address, "raw_power", readings[:10])
        run.wait_for_log(r"\[raw_power\] paused raw_power \[0\] until the sinks catch up$", 60)

        def lag():
            status, body = get(port, "/metrics")
            return samples(body).get(LAG) if status == 200 else None
        wait_until(lambda: lag() is not None and lag() > 0, 30, lambda: "a lag figure after the pause")
        before = lag()
        produce(broker.address, "raw_power", readings[10:])
        wait_until(lambda: lag() == before + 10, 30,
                   lambda: "the lag to grow by the 10 readings produced while paused: %s, then %s" % (before, lag()))
        self.assertTrue(run.alive(), run.tail())


if __name__ == "__main__":
    unittest.main()
