"""pipelines/pi-power.toml as shipped, fed by a pulse file instead of GPIO
line 17 (as its own comment says), with its phone and speaker on 127.0.0.1
and its Kafka sink on `stream-smarts broker`.

A house drawing 400 W on a winter night, and a 3 kW heater switched on.
gpio_meter emits a reading a minute, stamped with the start of the trailing
hour its Wh covers (the reading of 3:10 says 2:10); power_step, which
watches for steps at night (active_hours), alerts ten minutes after the
switch-on. What the phone and the speaker are told must say when the heater
came on (3:01: the first minute whose power shows it) and the energy of the
hour just gone, not the 2:10 the reading is stamped with; and the speaker
keeps its quiet hours, 22:00 to 07:00 of the clock."""

import datetime
import os
import re
import select
import subprocess
import time
import unittest

from harness import BINARY, SOURCE_DIR, HttpTestCase

PARIS_WINTER = datetime.timezone(datetime.timedelta(hours=1))
HOUSE_W, HEATER_W = 400, 3000


def at(hour, minute=0):
    return datetime.datetime(2008, 1, 16, hour, minute, tzinfo=PARIS_WINTER)  # a Wednesday


def pulses(start, heater_on, heater_off, end):
    """One impulse per Wh (the pipeline's 1000 impulses/kWh), as epoch seconds."""
    lines, t = [], start.timestamp()
    while True:
        watts = HOUSE_W + (HEATER_W if heater_on.timestamp() <= t < heater_off.timestamp() else 0)
        t += 3600 / watts
        if t >= end.timestamp():
            return "".join(lines)
        lines.append("%.3f\n" % t)


class PiPipelineTest(HttpTestCase):
    maxDiff = None

    def broker(self):
        process = subprocess.Popen([BINARY, "broker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL)
        def stop():
            process.terminate()
            process.communicate(timeout=10)  # waits, and closes its pipes
        self.addCleanup(stop)
        # Its first line, 127.0.0.1:PORT; waited for with a deadline, not a blocking readline.
        deadline, line = time.monotonic() + 15, b""
        for _ in range(100):
            left = deadline - time.monotonic()
            if b"\n" in line or left <= 0 or not select.select([process.stdout], [], [], left)[0]:
                break
            chunk = os.read(process.stdout.fileno(), 256)
            if not chunk:
                break
            line += chunk
        self.assertIn(b"\n", line, "the broker printed no address within 15 s")
        return line.split(b"\n")[0].decode()

    def run_heater(self, heater_on, heater_off):
        """Runs the shipped pipeline on the house from midnight and a heater;
        what the phone and the speaker were told."""
        phone, speaker = self.server(), self.server()
        toml = (SOURCE_DIR / "pipelines" / "pi-power.toml").read_text()
        toml, replaced = re.subn(r"(?m)^line = 17 .*$", 'pulse_file = "pulses.txt"', toml)
        self.assertEqual(replaced, 1)
        toml = toml.replace('"../models/', '"%s/models/' % SOURCE_DIR)
        self.write("pulses.txt", pulses(at(0), heater_on, heater_off, heater_off + datetime.timedelta(minutes=30)))
        env = {"KAFKA_BROKERS": self.broker(), "PUSHBULLET_TOKEN": "o.pi", "PUSHBULLET_URL": phone.url,
               "HA_URL": speaker.url, "HA_TOKEN": "pi"}
        run = self.run_pipeline(toml, env)
        self.assertEqual(run.code, 0, run.err)
        self.assertRegex(run.err, r"\d+ alerts? delivered")
        return [r.json["body"] for r in phone.requests()], [r.json["message"] for r in speaker.requests()]

    def assert_hour_wh(self, text, pattern, heater_minutes):
        """`text` matches `pattern`, whose group is the trailing hour's Wh
        `heater_minutes` after the switch-on."""
        told = re.fullmatch(pattern, text)
        self.assertIsNotNone(told, text)
        hour_wh = (HOUSE_W * 60 + HEATER_W * heater_minutes) / 60
        self.assertAlmostEqual(int(told.group(1)), hour_wh, delta=2)

    def test_a_heater_at_3_am_is_on_the_phone_at_3_10_and_the_speaker_stays_quiet(self):
        bodies, spoken = self.run_heater(at(3), at(4))
        self.assertEqual(len(bodies), 2, bodies)
        self.assert_hour_wh(bodies[0], r"Unusual power usage since 3:01: (\d+) Wh in the last hour\. Please check!", 10)
        self.assertEqual(bodies[1], "Power usage back to normal (unusual since 3:01).")
        self.assertEqual(spoken, [])  # off again before the quiet hours end

    def test_a_heater_at_6_am_still_on_at_7_is_spoken_at_7(self):
        bodies, spoken = self.run_heater(at(6), at(7, 30))
        self.assertEqual(len(bodies), 3, bodies)
        self.assert_hour_wh(bodies[0], r"Unusual power usage since 6:01: (\d+) Wh in the last hour\. Please check!", 10)
        self.assert_hour_wh(bodies[1], r"Power usage has been unusual since 6:01: (\d+) Wh in the last hour\. "
                                       r"Please check!", 60)  # 7:10, the hour after the first
        self.assertEqual(bodies[2], "Power usage back to normal (unusual since 6:01).")
        # The first reading read at 7:00 or later, stamped 6:00: 60 minutes of heater.
        self.assertEqual(len(spoken), 1, spoken)  # resolved = false: no "back to normal" from the speaker
        self.assert_hour_wh(spoken[0], r"Unusual power use since 6:01: (\d+) watt hours in the last hour\. "
                                       r"Did you leave something on\?", 60)

if __name__ == "__main__":
    unittest.main()
