"""An alert larger than the producer may send (message.max.bytes) is given
up alone, with its reason; the alerts before and after it are written and
the pipeline ends normally, instead of restarting the sink until it stops."""

import json
import unittest

from harness import KafkaTestCase, band_scorer, kafka_sink, pipeline_header, read_topic


class OversizedAlertTest(KafkaTestCase):
    def test_an_alert_too_large_is_given_up_alone(self):
        broker = self.start_broker(topics=["alerts"], partitions=1)
        # 9000 Wh at 04:00 on three days: each far above the band. The second
        # carries a label long enough to pass message.max.bytes (1000).
        notes = ["short", "x" * 2000, "short too"]
        self.write("h.csv", "ts,wh,note\n" + "".join(
            "2024-01-%02dT04:00:00,9000,%s\n" % (15 + i, note) for i, note in enumerate(notes)))
        run = self.run_pipeline(
            pipeline_header("oversized") +
            "[[sources]]\nname = \"raw_power\"\nplugin = \"replay\"\npath = \"h.csv\"\n\n" + band_scorer() +
            kafka_sink("alerts", broker.address, "alerts", receive="unusual", format="json",
                       properties={"message.max.bytes": "1000"}))
        self.assertEqual(run.wait(60), 0, run.tail())
        log = run.log()
        self.assertIn("a message of ", log)
        self.assertIn(" bytes is more than topic 'alerts' takes from this producer (message.max.bytes in "
                      "properties)", log)
        self.assertIn("gave up delivering", log)
        self.assertNotIn("restarting in", log)
        written = [json.loads(r.value) for r in read_topic(broker.address, "alerts", timeout=30)]
        self.assertEqual([a["labels"]["note"] for a in written], ["short", "short too"])


if __name__ == "__main__":
    unittest.main()
