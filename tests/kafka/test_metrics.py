"""The Kafka source's own figures on the metrics endpoint ([pipeline]
metrics): undecodable messages per topic, and the consumer lag of each
partition it reads, next to the runtime's counters; scraped over HTTP on
127.0.0.1 while the pipeline runs."""

import re
import unittest
import urllib.error
import urllib.request

from harness import KafkaTestCase, band_scorer, kafka_sink, pipeline_header, wait_until
from test_undecodable import TOPICS, source, produce_all


def get(port, path):
    """(status, body) of GET http://127.0.0.1:port/path."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def samples(text):
    """{'name{labels}': value} of a Prometheus text page."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            out[series] = float(value)
    return out


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


if __name__ == "__main__":
    unittest.main()
