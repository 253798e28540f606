"""pipelines/notify.toml as shipped, with its three services on 127.0.0.1:
the phone gets every alert and back-to-normal notice, the speaker stays
silent in its quiet hours, Slack gets cards, and no token is logged even at
debug level.

The month it replays has two unusual hours (see pipelines/power.toml's
output): 2010-10-31 05:00 (2910 Wh, in the speaker's quiet hours) and
2010-11-04 08:00 (4419 Wh); each is over an hour later."""

import unittest

from harness import SOURCE_DIR, HttpTestCase

PUSHBULLET_TOKEN = "o.notifyPipelineToken0123456789"
HA_TOKEN = "eyJhbGciOiJIUzI1NiJ9.notify-pipeline.token"
SLACK_SECRET = "T0000/B0000/notifyPipelineWebhookSecret"


class NotifyPipelineTest(HttpTestCase):
    def test_the_shipped_notify_pipeline(self):
        phone, speaker, slack = self.server(), self.server(), self.server(default=None)
        env = {"PUSHBULLET_TOKEN": PUSHBULLET_TOKEN, "PUSHBULLET_URL": phone.url,
               "HA_URL": speaker.url, "HA_TOKEN": HA_TOKEN,
               "SLACK_WEBHOOK_URL": slack.url + "/services/" + SLACK_SECRET}
        run = self.run_binary(["--log-level", "debug", "run", SOURCE_DIR / "pipelines" / "notify.toml"], env)
        self.assertEqual(run.code, 0, run.err)

        self.assertEqual(sorted(r.json["body"] for r in phone.requests()), [
            "Power usage back to normal: 1931 Wh at 6:00 (unusual since 5:00).",
            "Power usage back to normal: 2249 Wh at 9:00 (unusual since 8:00).",
            "Unusual power usage of 2910 Wh at 5:00. Please check!",
            "Unusual power usage of 4419 Wh at 8:00. Please check!",
        ])
        self.assertTrue(all(r.headers["Access-Token"] == PUSHBULLET_TOKEN for r in phone.requests()))

        # 05:00 is in the speaker's quiet hours (22:00-07:00) and over by 07:00: only 08:00 is spoken.
        [spoken] = speaker.requests()
        self.assertEqual(spoken.path, "/api/services/tts/speak")
        self.assertEqual(spoken.json["media_player_entity_id"], "media_player.kitchen")
        self.assertEqual(spoken.json["message"], "Unusual power use: 4419 watt hours in the hour from 8:00, more than "
                                                 "the usual 4191. Did you leave something on?")
        self.assertIn("[speaker] home 2010-10-31 05:00 (band, 2910 Wh, score 1.07): no notification, suppressed by "
                      "quiet hours 22:00-07:00", run.err)

        self.assertEqual(len(slack.requests()), 4)
        self.assertEqual({r.path for r in slack.requests()}, {"/services/" + SLACK_SECRET})
        self.assertIn("744 readings, 9 alerts delivered", run.err)

        for secret in (PUSHBULLET_TOKEN, HA_TOKEN, SLACK_SECRET, "notifyPipeline"):
            self.assertNotIn(secret, run.err + run.out)


if __name__ == "__main__":
    unittest.main()
