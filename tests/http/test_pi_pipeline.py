"""pipelines/pi-power.toml as shipped, fed by a pulse file instead of GPIO
line 17 (as its own comment says), with its phone and speaker on 127.0.0.1
and its Kafka sink on `stream-smarts broker`.

A house drawing 400 W, and a 3 kW heater switched on at 3:00 on a winter
night for an hour. gpio_meter emits a reading a minute, stamped with the
start of the trailing hour its Wh covers (the reading of 3:10 says 2:10);
power_step, which watches for steps at night (active_hours), alerts ten
minutes after the switch-on. What the phone is told must say when the
heater came on (3:01: the first minute whose power shows it) and the energy
of the hour just gone, not the 2:10 the reading is stamped with. The
speaker keeps its quiet hours: the heater is off again before they end."""

import datetime
import re
import subprocess
import unittest

from harness import BINARY, SOURCE_DIR, HttpTestCase

PARIS_WINTER = datetime.timezone(datetime.timedelta(hours=1))
START = datetime.datetime(2008, 1, 16, 0, 0, tzinfo=PARIS_WINTER)  # a Wednesday
HEATER_ON = datetime.datetime(2008, 1, 16, 3, 0, tzinfo=PARIS_WINTER)
HEATER_OFF = datetime.datetime(2008, 1, 16, 4, 0, tzinfo=PARIS_WINTER)
END = datetime.datetime(2008, 1, 16, 4, 30, tzinfo=PARIS_WINTER)
HOUSE_W, HEATER_W = 400, 3000


def pulses():
    """One impulse per Wh (the pipeline's 1000 impulses/kWh), as epoch seconds."""
    lines, t, end = [], START.timestamp(), END.timestamp()
    while True:
        watts = HOUSE_W + (HEATER_W if HEATER_ON.timestamp() <= t < HEATER_OFF.timestamp() else 0)
        t += 3600 / watts
        if t >= end:
            return "".join(lines)
        lines.append("%.3f\n" % t)


class PiPipelineTest(HttpTestCase):
    maxDiff = None

    def broker(self):
        process = subprocess.Popen([BINARY, "broker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
        def stop():
            process.terminate()
            process.communicate(timeout=10)  # waits, and closes its pipes
        self.addCleanup(stop)
        return process.stdout.readline().strip()  # its first line: 127.0.0.1:PORT

    def test_the_shipped_pi_pipeline_tells_the_phone_when_a_night_heater_came_on(self):
        phone, speaker = self.server(), self.server()
        toml = (SOURCE_DIR / "pipelines" / "pi-power.toml").read_text()
        toml, replaced = re.subn(r"(?m)^line = 17 .*$", 'pulse_file = "pulses.txt"', toml)
        self.assertEqual(replaced, 1)
        toml = toml.replace('"../models/', '"%s/models/' % SOURCE_DIR)
        toml = toml.replace('token = "${PUSHBULLET_TOKEN}"', 'token = "${PUSHBULLET_TOKEN}"\nbase_url = "%s"' % phone.url)
        self.write("pulses.txt", pulses())
        env = {"KAFKA_BROKERS": self.broker(), "PUSHBULLET_TOKEN": "o.pi", "HA_URL": speaker.url, "HA_TOKEN": "pi"}
        run = self.run_pipeline(toml, env)
        self.assertEqual(run.code, 0, run.err)

        # The trailing hour at 3:10: 50 minutes of the house and 10 of house and heater.
        hour_wh = (HOUSE_W * 50 + (HOUSE_W + HEATER_W) * 10) / 60
        bodies = [r.json["body"] for r in phone.requests()]
        self.assertEqual(len(bodies), 2, bodies)
        raised = re.fullmatch(r"Unusual power usage since 3:01: (\d+) Wh in the last hour\. Please check!", bodies[0])
        self.assertIsNotNone(raised, bodies[0])
        self.assertAlmostEqual(int(raised.group(1)), hour_wh, delta=2)
        self.assertEqual(bodies[1], "Power usage back to normal (unusual since 3:01).")
        self.assertEqual(speaker.requests(), [])  # quiet hours 22:00-07:00
        self.assertIn("alerts delivered", run.err)


if __name__ == "__main__":
    unittest.main()
