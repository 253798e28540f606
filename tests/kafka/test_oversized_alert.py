"""An alert larger than the producer may send (message.max.bytes) is given
up alone, with its reason; the alerts before and after it are written and
the pipeline ends normally, instead of restarting the sink until it stops."""

import json
import unittest

from harness import KafkaTestCase, band_scorer, kafka_sink, pipeline_header, read_topic


class OversizedAlertTest(KafkaTestCase):
    def test_an_alert_too_large_is_given_up_alone(self):
        # With receive = "all" a reading inside its band is sent too, not as an
        # alert: given up, the log says it was a scored reading.
        for receive, second_wh, what in (("unusual", 9000, "raised alert"), ("all", 100, "scored reading")):
            with self.subTest(receive=receive):
                self.given_up_alone(receive, second_wh, what)

    def given_up_alone(self, receive, second_wh, what):
        broker = self.start_broker(topics=["alerts-" + receive], partitions=1, name="broker-" + receive)
        # At 04:00 on three days: 9000 Wh is far above the band. The second
        # carries a label long enough to pass message.max.bytes (1000).
        readings = [(9000, "short"), (second_wh, "x" * 2000), (9000, "short too")]
        self.write("h.csv", "ts,wh,note\n" + "".join(
            "2024-01-%02dT04:00:00,%d,%s\n" % (15 + i, wh, note) for i, (wh, note) in enumerate(readings)))
        run = self.run_pipeline(
            pipeline_header("oversized") +
            "[[sources]]\nname = \"raw_power\"\nplugin = \"replay\"\npath = \"h.csv\"\n\n" + band_scorer() +
            kafka_sink("alerts", broker.address, "alerts-" + receive, receive=receive, format="json",
                       properties={"message.max.bytes": "1000"}), name="oversized-" + receive)
        self.assertEqual(run.wait(60), 0, run.tail())
        log = run.log()
        self.assertIn("[alerts] gave up delivering the %s for home 2024-01-16 04:00 (anomaly, %d Wh, score " %
                      (what, second_wh), log)
        self.assertIn(" bytes is more than topic 'alerts-%s' takes from this producer (message.max.bytes in "
                      "properties)" % receive, log)
        self.assertNotIn("restarting in", log)
        written = [json.loads(r.value) for r in read_topic(broker.address, "alerts-" + receive, timeout=30)]
        self.assertEqual([a["labels"]["note"] for a in written], ["short", "short too"])

if __name__ == "__main__":
    unittest.main()
