"""pipelines/notify.toml as shipped, with its three services on 127.0.0.1:
the phone gets every alert and back-to-normal notice, the speaker stays
silent in its quiet hours, Slack gets cards, and no token is logged even at
debug level.

The month it replays has four alerts from sustained_load: 2010-10-23 15:00
(still on at 18:00: a reminder; back to normal at 19:00, not at 16:00,
which scores below 1.0 with the rise still there), 2010-10-24 02:00 (in the
speaker's quiet hours; back to normal at 4:00, not 3:00) and 15:00, and
2010-11-04 20:00; each is over an hour later."""

import unittest

from harness import SOURCE_DIR, HttpTestCase

PUSHBULLET_TOKEN = "o.notifyPipelineToken0123456789"
HA_TOKEN = "eyJhbGciOiJIUzI1NiJ9.notify-pipeline.token"
SLACK_SECRET = "T0000/B0000/notifyPipelineWebhookSecret"


class NotifyPipelineTest(HttpTestCase):
    maxDiff = None

    def test_the_shipped_notify_pipeline(self):
        phone, speaker, slack = self.server(), self.server(), self.server(default=None)
        env = {"PUSHBULLET_TOKEN": PUSHBULLET_TOKEN, "PUSHBULLET_URL": phone.url,
               "HA_URL": speaker.url, "HA_TOKEN": HA_TOKEN,
               "SLACK_WEBHOOK_URL": slack.url + "/services/" + SLACK_SECRET}
        run = self.run_binary(["--log-level", "debug", "run", SOURCE_DIR / "pipelines" / "notify.toml"], env)
        self.assertEqual(run.code, 0, run.err)

        # {since} is the first hour of the longest window above the threshold that alerted: when the load came on.
        left_on = "Power use has stayed high since %s: %d Wh in the hour from %s. Has something been left on?"
        back = "Power usage back to normal: %d Wh at %s (unusual since %s)."
        self.assertEqual(sorted(r.json["body"] for r in phone.requests()), sorted([
            left_on % ("13:00", 2490, "15:00"),
            "Power usage has been unusual since 13:00: 2524 Wh at 18:00. Please check!",
            back % (1795, "19:00", "13:00"),
            left_on % ("0:00", 1970, "2:00"), back % (852, "4:00", "0:00"),
            left_on % ("10:00", 1742, "15:00"), back % (1482, "16:00", "10:00"),
            left_on % ("19:00", 4463, "20:00"), back % (3097, "21:00", "19:00"),
        ]))
        self.assertTrue(all(r.headers["Access-Token"] == PUSHBULLET_TOKEN for r in phone.requests()))

        # 02:00 is in the speaker's quiet hours (22:00-07:00) and over by 07:00: it is never spoken.
        spoken = speaker.requests()
        self.assertEqual({r.path for r in spoken}, {"/api/services/tts/speak"})
        self.assertEqual({r.json["media_player_entity_id"] for r in spoken}, {"media_player.kitchen"})
        self.assertEqual(sorted(r.json["message"] for r in spoken), sorted([
            "Power use has stayed high since %s: %d watt hours in the hour from %s. Did you leave something on?"
            % alert for alert in [("13:00", 2490, "15:00"), ("10:00", 1742, "15:00"), ("19:00", 4463, "20:00")]] +
            ["Power use has been unusual since 13:00: 2524 watt hours in the hour from 18:00. Did you leave "
             "something on?"]))
        self.assertIn("[speaker] home 2010-10-24 02:00 (left_on, 1970 Wh, score 1.05): no notification, suppressed "
                      "by quiet hours 22:00-07:00", run.err)

        self.assertIn("[phone] home 2010-10-23 16:00 (left_on, 2546 Wh, score 0.69): no notification, inside the "
                      "expected range, but the scorer says the rise is still on", run.err)

        self.assertEqual(len(slack.requests()), 9)
        self.assertEqual({r.path for r in slack.requests()}, {"/services/" + SLACK_SECRET})
        self.assertIn("744 readings, 22 alerts delivered; by sink: phone 9 alerts, speaker 4 alerts, slack 9 alerts\n",
                      run.err)

        for secret in (PUSHBULLET_TOKEN, HA_TOKEN, SLACK_SECRET, "notifyPipeline"):
            self.assertNotIn(secret, run.err + run.out)


if __name__ == "__main__":
    unittest.main()
