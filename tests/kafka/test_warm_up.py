"""A partition taken over (a restart, a rebalance) is first read again from
before its committed offset (kafka_source's warm_up): the alert policy and
the scorers rebuild what they kept of its meters, and nothing read again is
delivered again. Without it, a spell waiting for `sustain` across a restart
was never raised, and a spell already raised was raised a second time."""

import unittest

from harness import (HOUR_MS, KafkaTestCase, band_scorer, epoch_ms, inline_table, kafka_sink, pipeline_header,
                     produce, read_topic, toml_string)

BASE_TS = epoch_ms("2023-11-15T00:00:00+00:00")
UNUSUAL, USUAL = 20000, 300  # Wh in an hour: far above the band at any hour, and inside it


def pipeline(brokers, group, warm_up=None, sustain=1):
    source = ("[[sources]]\nname = \"raw_power\"\nplugin = \"kafka_source\"\nbrokers = %s\ntopics = [\"raw_power\"]\n"
              "ts_field = \"ts\"\ncommit_interval = \"0s\"\nstop_at_end = true\n%sproperties = %s\n\n" %
              (toml_string(brokers), "warm_up = %s\n" % toml_string(warm_up) if warm_up else "",
               # A member gone is noticed within 3 s (the mock's coordinator waits out its session).
               inline_table({"group.id": group, "enable.partition.eof": "true", "session.timeout.ms": "3000",
                             "heartbeat.interval.ms": "1000"})))
    return (pipeline_header("warm-up", sustain=sustain) + source + band_scorer() +
            kafka_sink("alerts", brokers, "ALERTS", format="json"))


class WarmUpTest(KafkaTestCase):
    def hours(self, broker, first, whs):
        produce(broker.address, "raw_power",
                [{"key": b"home", "value": b'{"ts":%d,"wh":%d}' % (BASE_TS + (first + i) * HOUR_MS, wh)}
                 for i, wh in enumerate(whs)])

    def run_to_end(self, broker, group, name, **settings):
        run = self.run_pipeline(pipeline(broker.address, group, **settings), name=name)
        self.assertEqual(run.wait(60), 0, run.tail())
        return run.log()

    def alerts(self, broker):
        return len(read_topic(broker.address, "ALERTS", timeout=10))

    def test_a_spell_waiting_for_sustain_across_a_restart_is_raised(self):
        for warm_up, expected in [(None, 1), ("0s", 0)]:
            with self.subTest(warm_up=warm_up):
                broker = self.start_broker(topics=["raw_power", "ALERTS"], name="broker-%s" % warm_up)
                self.hours(broker, 0, [UNUSUAL, UNUSUAL])
                self.run_to_end(broker, "g", "first-%s" % warm_up, warm_up=warm_up, sustain=3)
                self.assertEqual(self.alerts(broker), 0)  # two of the three hours sustain asks
                self.hours(broker, 2, [UNUSUAL, UNUSUAL, USUAL])
                log = self.run_to_end(broker, "g", "second-%s" % warm_up, warm_up=warm_up, sustain=3)
                self.assertEqual(self.alerts(broker), expected)
                if warm_up is None:
                    self.assertRegex(log, r"warming up raw_power \[\d\]: reading again what came in the last 6h before "
                                      r"offset 2, scored but not delivered")
                    self.assertRegex(log, r"stopped after 3 readings \(and 2 read again to warm up\)")
                    self.assertRegex(log, r"pipeline 'warm-up' finished: 3 readings \(and 2 read again to warm up\), "
                                          r"1 alert delivered")
                broker.close()

    def test_a_spell_already_raised_is_not_raised_again_after_a_restart(self):
        for warm_up, expected in [(None, 1), ("0s", 2)]:
            with self.subTest(warm_up=warm_up):
                broker = self.start_broker(topics=["raw_power", "ALERTS"], name="broker-%s" % warm_up)
                self.hours(broker, 0, [UNUSUAL])
                self.run_to_end(broker, "g", "first-%s" % warm_up, warm_up=warm_up)
                self.assertEqual(self.alerts(broker), 1)
                self.hours(broker, 1, [UNUSUAL])  # the same spell, still on
                self.run_to_end(broker, "g", "second-%s" % warm_up, warm_up=warm_up)
                self.assertEqual(self.alerts(broker), expected)
                broker.close()

    def test_a_group_with_no_commit_has_nothing_to_warm_up(self):
        broker = self.start_broker(topics=["raw_power", "ALERTS"])
        self.hours(broker, 0, [UNUSUAL, USUAL])
        log = self.run_to_end(broker, "new", "first")
        self.assertNotIn("warming up", log)
        self.assertEqual(self.alerts(broker), 1)


if __name__ == "__main__":
    unittest.main()
