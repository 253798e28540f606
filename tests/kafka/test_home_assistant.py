"""Home Assistant's Kafka integration (apache_kafka) as a source: each state
change of an energy sensor is one gzip-compressed message keyed by the
entity, its "state" the sensor's kWh index as a string, beside nested
"attributes" and "context". kafka_source with wh_kind = "index" and
resample = true reads it as the use of each clock hour, and a restart
between two runs loses no hour: the source commits no further than the
index the hour in progress needs."""

import datetime
import json
import random
import unittest

import harness
from harness import PARIS, KafkaTestCase

ENTITY = "sensor.house_energy"
UTC = datetime.timezone.utc
START = datetime.datetime(2024, 1, 10, 6, 3, 17, 250000, tzinfo=UTC)


def state_changes(count, seed=5):
    """(time, kWh index) of an energy sensor: a change every 1 to 12 minutes, up to 3 kW meanwhile."""
    rng = random.Random(seed)
    t, kwh = START, 1234.5
    out = []
    for _ in range(count):
        out.append((t, round(kwh, 3)))
        minutes = rng.uniform(1, 12)
        t += datetime.timedelta(minutes=minutes)
        kwh += rng.uniform(0, 3) * minutes / 60
    return out


def as_home_assistant_writes(t, kwh):
    """State.as_dict(), as the integration's json.dumps writes it."""
    iso = t.isoformat()
    return json.dumps({"entity_id": ENTITY, "state": "%.3f" % kwh,
                       "attributes": {"state_class": "total_increasing", "unit_of_measurement": "kWh",
                                      "device_class": "energy", "friendly_name": "House energy"},
                       "last_changed": iso, "last_reported": iso, "last_updated": iso,
                       "context": {"id": "01HM%020d" % int(t.timestamp()), "parent_id": None, "user_id": None}})


def hourly_use(changes):
    """Wh of each whole local hour between the first and the last change, the index interpolated at its ends."""
    def index_at(t):
        for (t0, k0), (t1, k1) in zip(changes, changes[1:]):
            if t0 <= t <= t1:
                return k0 + (k1 - k0) * (t - t0) / (t1 - t0)
        raise AssertionError("no change around %s" % t)
    hour = changes[0][0].astimezone(PARIS).replace(minute=0, second=0, microsecond=0) + datetime.timedelta(hours=1)
    out = {}
    while hour + datetime.timedelta(hours=1) <= changes[-1][0]:
        out[int(hour.timestamp() * 1000)] = (index_at(hour + datetime.timedelta(hours=1)) - index_at(hour)) * 1000
        hour += datetime.timedelta(hours=1)
    return out


def pipeline(brokers):
    return (harness.pipeline_header("home-assistant") +
            "[[sources]]\nname = \"raw_power\"\nplugin = \"kafka_source\"\nbrokers = %s\n"
            "topics = [\"home_assistant\"]\nwh_field = \"state\"\nwh_unit = \"kWh\"\nts_field = \"last_updated\"\n"
            "wh_kind = \"index\"\nresample = true\nspan = \"1h\"\nstop_at_end = true\n\n" % harness.toml_string(brokers) +
            harness.band_scorer() +
            harness.kafka_sink("hours", brokers, "hours", receive="all", format="json"))


class HomeAssistantTest(KafkaTestCase):
    def produce(self, broker, changes):
        harness.produce(broker.address, "home_assistant",
                        [{"key": ENTITY.encode(), "value": as_home_assistant_writes(t, kwh).encode()}
                         for t, kwh in changes], conf={"compression.type": "gzip"})

    def run_to_end(self, broker):
        run = self.run_pipeline(pipeline(broker.address), name="ha")
        self.assertEqual(run.wait(90), 0, run.tail())
        return run

    def hours(self, broker):
        return [(r["ts_ms"], r["span_ms"], r["meter"], r["wh"])
                for r in harness.json_values(harness.read_topic(broker.address, "hours"))]

    def test_state_changes_read_as_hours_and_none_lost_across_a_restart(self):
        broker = self.start_broker(topics=["home_assistant"], partitions=1)
        changes = state_changes(120)
        expected = hourly_use(changes)
        self.assertGreater(len(expected), 8)

        # The first run reads up to a change in the middle of an hour, and stops.
        half = 61
        self.produce(broker, changes[:half])
        first = self.run_to_end(broker)
        self.assertRegex(first.log(), r"\[raw_power\] stopped after \d+ readings, 0 undecodable messages, "
                                      r"0 indexes left out")
        got_first = self.hours(broker)
        self.assertTrue(got_first)
        # The second reads on from the commit: the hour in progress at the stop comes whole.
        self.produce(broker, changes[half:])
        self.run_to_end(broker)
        got = self.hours(broker)

        by_hour = {}
        for ts, span, meter, wh in got:
            self.assertEqual((span, meter), (3_600_000, ENTITY))
            by_hour.setdefault(ts, []).append(wh)
        self.assertEqual(sorted(by_hour), sorted(expected))  # every hour, none missing at the restart
        for ts, whs in by_hour.items():
            for wh in whs:  # at least once: an hour read twice is the same hour
                self.assertAlmostEqual(wh, expected[ts], delta=0.01, msg=ts)
        self.assertLessEqual(len(got), len(expected) + 1)

    def test_other_entities_a_wobble_and_a_fast_clock_are_reported_with_their_offset(self):
        broker = self.start_broker(topics=["home_assistant"], partitions=1)
        changes = state_changes(30)
        self.produce(broker, changes[:10])
        harness.produce(broker.address, "home_assistant",
                        [{"key": b"light.kitchen", "value": json.dumps(
                            {"entity_id": "light.kitchen", "state": "on", "attributes": {"brightness": 180},
                             "last_updated": "2024-01-10T07:00:00+00:00"}).encode()}])
        t, kwh = changes[9]
        self.produce(broker, [(t + datetime.timedelta(seconds=1), kwh - 0.05)])  # a wobble, left out
        # A sensor's clock six hours fast: left out, not spread over hours to come.
        self.produce(broker, [(datetime.datetime.now(UTC) + datetime.timedelta(hours=6), kwh + 0.1)])
        self.produce(broker, changes[10:])
        run = self.run_to_end(broker)
        self.assertIn("home_assistant [0] at offset 10: cannot decode: state is not a number: 'on'", run.log())
        self.assertIn("home_assistant [0] at offset 11: index went down from %s Wh to %s Wh, less than a tenth: "
                      "the meter's wobble, not a reset; the index before stands" %
                      (round(kwh * 1000), round((kwh - 0.05) * 1000)), run.log())
        self.assertRegex(run.log(), r"home_assistant \[0\] at offset 12: index stamped 5h59m\d+s ahead of this "
                                    r"machine's clock: left out")
        self.assertRegex(run.log(), r"stopped after \d+ readings, 1 undecodable messages, 2 indexes left out")
        self.assertEqual(sorted(h[0] for h in self.hours(broker)), sorted(hourly_use(changes)))


if __name__ == "__main__":
    unittest.main()
