"""The slack sink against a recording server: an incoming webhook and a bot
token with chat.postMessage, Slack's errors in both, and the choice of mode."""

import unittest

from harness import SOURCE_DIR, HttpTestCase, Response, sink_table, toml_string

BOT_TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
WEBHOOK_PATH = "/services/T0123ABCD/B0456EFGH/kLmNoPqRsTuVwXyZ01234567"
MESSAGE = "Unusual power usage of 1500 Wh at 4:00. Please check!"


def card(message=MESSAGE, title="Power usage unusual at home",
         context="2007-01-14 4:00 · meter *home* · scorer *band* · score *5.38* · expected 100–360 Wh"):
    return [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
        {"type": "section", "text": {"type": "mrkdwn", "text": message}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
    ]


class WebhookTest(HttpTestCase):
    def run_webhook(self, server, **options):
        table = sink_table("slack", webhook_url="${SLACK_WEBHOOK}", **options)
        return self.run_pipeline(self.pipeline(table), env={"SLACK_WEBHOOK": server.url + WEBHOOK_PATH})

    def test_a_card_posted_to_the_webhook(self):
        server = self.server(default=Response(200, "ok"))
        run = self.run_webhook(server)
        self.assert_delivered(run)
        [post] = server.requests()
        self.assertEqual((post.method, post.path), ("POST", WEBHOOK_PATH))
        self.assertEqual(post.headers["Content-Type"], "application/json")
        self.assertIsNone(post.headers["Authorization"])  # the address is the credential
        self.assertEqual(post.json, {"text": MESSAGE, "blocks": card()})

    def test_own_texts_are_escaped_for_slack(self):
        server = self.server(default=Response(200, "ok"))
        run = self.run_webhook(server, title="<Power> & {meter}", message="*{wh} Wh* at {time} <check> & see")
        self.assert_delivered(run)
        [post] = server.requests()
        self.assertEqual(post.json, {"text": "*1500 Wh* at 4:00 &lt;check&gt; &amp; see",
                                     "blocks": card("*1500 Wh* at 4:00 &lt;check&gt; &amp; see", "<Power> & home")})

    def test_a_long_meter_name_is_cut_to_what_slack_takes_not_refused(self):
        # Slack answers invalid_blocks to a section or context text over 3000 characters.
        server = self.server(default=Response(200, "ok"))
        meter = "flat " + "\u00e9" * 2000  # 4005 bytes
        text = self.pipeline(sink_table("slack", webhook_url="${SLACK_WEBHOOK}", message="{meter} is unusual"))
        self.write("readings.csv", "ts,wh,meter\n2007-01-14T04:00:00,1500,%s\n2007-01-14T05:00:00,200,%s\n" %
                   (meter, meter))
        run = self.run_pipeline(text, env={"SLACK_WEBHOOK": server.url + WEBHOOK_PATH})
        self.assert_delivered(run)
        [post] = server.requests()
        header, section, context = post.json["blocks"]
        for block in (section["text"]["text"], context["elements"][0]["text"]):
            self.assertLessEqual(len(block.encode()), 3000)
        self.assertTrue(section["text"]["text"].startswith("flat \u00e9\u00e9"))
        self.assertTrue(context["elements"][0]["text"].startswith("2007-01-14 4:00 \u00b7 meter *flat \u00e9"))
        self.assertEqual(post.json["text"], meter + " is unusual")  # the notification text is whole

    def test_a_cut_text_ends_before_an_escape_not_in_it(self):
        # 2998 bytes of text, then "&" escaped as "&amp;": cut at 3000, "&a" would show.
        server = self.server(default=Response(200, "ok"))
        meter = "x" * 2998 + "&&&"
        text = self.pipeline(sink_table("slack", webhook_url="${SLACK_WEBHOOK}", message="{meter}"))
        self.write("readings.csv", "ts,wh,meter\n2007-01-14T04:00:00,1500,%s\n2007-01-14T05:00:00,200,%s\n" %
                   (meter, meter))
        run = self.run_pipeline(text, env={"SLACK_WEBHOOK": server.url + WEBHOOK_PATH})
        self.assert_delivered(run)
        [post] = server.requests()
        self.assertEqual(post.json["blocks"][1]["text"]["text"], "x" * 2998)

    def test_a_card_for_a_step_in_power_gives_its_range_in_watts(self):
        # A Pi's readings, one a minute from 02:00: the trailing hour's Wh and the power at its end, 300 W, then a
        # 2 kW heater from 03:40; power_step (the shipped model: 1500 W at 03:00) tells it once it has held 10 min.
        # Its stage keeps the name "band", which sink_table reads from.
        rows = ["2007-01-14T02:%02d:00,300,%d" % (m, 300 if m < 40 else 2300) for m in range(55)]
        self.write("minutes.csv", "ts,wh,power_w\n" + "\n".join(rows) + "\n")
        text = self.pipeline(sink_table("slack", webhook_url="${SLACK_WEBHOOK}"))
        text = text[:text.index("[[sources]]")] + (
            "[[sources]]\nname = \"meter\"\nplugin = \"replay\"\npath = \"minutes.csv\"\n\n"
            "[[scorers]]\nname = \"band\"\nplugin = \"power_step\"\nfrom = [\"meter\"]\nmodel = %s\n\n"
            % toml_string(SOURCE_DIR / "models" / "household-power-step.toml")) + text[text.index("[[sinks]]"):]
        server = self.server(default=Response(200, "ok"))
        run = self.run_pipeline(text, env={"SLACK_WEBHOOK": server.url + WEBHOOK_PATH})
        self.assert_delivered(run)
        [post] = server.requests()
        self.assertEqual(post.json["blocks"][2]["elements"][0]["text"],
                         "2007-01-14 2:49 · meter *home* · scorer *band* · score *1.33* · expected 300–1800 W")

    def test_a_removed_webhook_is_refused_with_slacks_words_and_never_shown(self):
        server = self.server(Response(404, "no_service"))
        run = self.run_webhook(server)
        self.assert_gave_up(run, 'Slack does not know the webhook (HTTP 404, "no_service"): check webhook_url: '
                                 'were the webhook or its app removed?')
        self.assertEqual(len(server.requests()), 1)
        self.assertNotIn("kLmNoPqRsTuVwXyZ", run.err + run.out)

    def test_a_refused_webhook_says_to_check_it(self):
        for status in (401, 403):
            with self.subTest(status=status):
                server = self.server(Response(status, "invalid_token"))
                run = self.run_webhook(server)
                self.assert_gave_up(run, 'Slack refused the webhook (HTTP %d, "invalid_token"): check webhook_url '
                                         "(the app's Incoming Webhooks page)" % status)

    def test_a_webhook_not_reached_names_its_host_not_its_path(self):
        # The path is the credential; the host is what a person needs to see to mend "could not be reached".
        server = self.server()
        server.close()  # its port is free again: a refused connection
        run = self.run_pipeline(self.pipeline(sink_table("slack", webhook_url="${SLACK_WEBHOOK}", max_retries=0)),
                                env={"SLACK_WEBHOOK": server.url + WEBHOOK_PATH}, log_level="debug")
        self.assertIn("Slack could not be reached (Failed to connect to 127.0.0.1 port %d" % server.port, run.err)
        self.assertIn("POST http://127.0.0.1:%d[secret]" % server.port, run.err)
        self.assertNotIn("kLmNoPqRsTuVwXyZ", run.err + run.out)
        self.assertNotIn("T0123ABCD/B0456EFGH", run.err + run.out)

    def test_an_archived_channel(self):
        server = self.server(Response(410, "channel_is_archived"))
        run = self.run_webhook(server)
        self.assert_gave_up(run, 'Slack says the webhook\'s channel is archived (HTTP 410, "channel_is_archived"): '
                                 'unarchive it, or make a webhook for another channel')
        self.assertEqual(len(server.requests()), 1)


class BotTest(HttpTestCase):
    def run_bot(self, server, **options):
        table = sink_table("slack", bot_token="${SLACK_BOT_TOKEN}", channel="#power", base_url=server.url, **options)
        return self.run_pipeline(self.pipeline(table), env={"SLACK_BOT_TOKEN": BOT_TOKEN})

    def test_chat_post_message(self):
        server = self.server(default=Response(200, {"ok": True, "channel": "C0123456789", "ts": "1168743600.000100",
                                                    "message": {"text": MESSAGE}}))
        run = self.run_bot(server)
        self.assert_delivered(run)
        [post] = server.requests()
        self.assertEqual((post.method, post.path), ("POST", "/chat.postMessage"))
        self.assertEqual(post.headers.get_all("Authorization"), ["Bearer " + BOT_TOKEN])
        self.assertEqual(post.headers["Content-Type"], "application/json")
        self.assertEqual(post.json, {"channel": "#power", "text": MESSAGE, "blocks": card()})

    def test_an_answer_too_long_to_keep_is_a_post_made_not_one_to_make_again(self):
        # Slack echoes the message it posted, non-ASCII as \\uXXXX: with a long
        # text the answer passes the 64 KiB kept and no longer parses as JSON.
        server = self.server(default=Response(200, {"ok": True, "channel": "C0123456789", "ts": "1168743600.000100",
                                                    "message": {"text": "\u00e9" * 40000}}))
        run = self.run_bot(server, retry_backoff="10ms")
        self.assert_delivered(run)
        self.assertEqual(len(server.requests()), 1)

    def test_ok_false_errors_that_waiting_does_not_mend(self):
        for error, expected in [
            ("invalid_auth", 'Slack rejected the bot token (invalid_auth): check the bot_token option (or '
                             'bot_token_file, or the variable it names): the xoxb- token of an app installed in the '
                             'workspace'),
            ("channel_not_found", "Slack has no channel '#power' the bot can see (channel_not_found): check the "
                                  "channel option (#name or an ID like C0123456789; a private channel must invite "
                                  "the bot)"),
            ("not_in_channel", "Slack says the bot is not in channel '#power' (not_in_channel): invite it there "
                               "(/invite @your-app in the channel)"),
        ]:
            with self.subTest(error=error):
                # Slack says it with HTTP 200.
                server = self.server(Response(200, {"ok": False, "error": error,
                                                    "response_metadata": {"messages": ["[ERROR] " + error]}}))
                run = self.run_bot(server)
                self.assert_gave_up(run, expected)
                self.assertEqual(len(server.requests()), 1)
                self.assertNotIn(BOT_TOKEN[5:15], run.err + run.out)

    def test_an_error_not_known_to_pass_is_given_up_at_once(self):
        # An xapp- token pasted for the bot's was retried for 8 minutes, holding back the alerts behind it.
        for error, expected in [
            ("not_allowed_token_type", "Slack rejected the bot token (not_allowed_token_type): check the bot_token "
                                       "option (or bot_token_file, or the variable it names): the xoxb- token of an "
                                       "app installed in the workspace"),
            ("as_user_not_supported", "Slack did not post the message (as_user_not_supported): see Slack's list of "
                                      "chat.postMessage errors (api.slack.com/methods/chat.postMessage)"),
        ]:
            with self.subTest(error=error):
                server = self.server(Response(200, {"ok": False, "error": error}))
                run = self.run_bot(server, retry_backoff="10ms")
                self.assert_gave_up(run, expected)
                self.assertEqual(len(server.requests()), 1)

    def test_other_ok_false_errors_are_worth_a_retry(self):
        server = self.server(Response(200, {"ok": False, "error": "internal_error"}), default=Response(200, {"ok": True}))
        run = self.run_bot(server, retry_backoff="10ms")
        self.assert_retried(run, "Slack did not post the message (internal_error)")
        self.assert_delivered(run)
        self.assertEqual(len(server.requests()), 2)


class ModeTest(HttpTestCase):
    def errors(self, **options):
        code, lines = self.validate(self.pipeline(sink_table("slack", **options)))
        self.assertEqual(code, 2)
        return [l.split(": ", 1)[1] for l in lines]

    def test_exactly_one_mode(self):
        either = "give webhook_url (an incoming webhook), or bot_token and channel"
        self.assertEqual(self.errors(), ["option 'webhook_url' of sink 'notify' (slack): " + either])
        self.assertEqual(self.errors(webhook_url="https://hooks.slack.com/services/T0/B0/secretsecret",
                                     bot_token="xoxb-secret"),
                         ["option 'bot_token' of sink 'notify' (slack): cannot go with webhook_url: " + either])
        self.assertEqual(self.errors(bot_token="xoxb-secret"),
                         ["option 'channel' of sink 'notify' (slack): is required with bot_token: #name, or an ID "
                          "like C0123456789"])
        self.assertEqual(self.errors(webhook_url="https://hooks.slack.com/services/T0/B0/secretsecret",
                                     channel="#power"),
                         ["option 'channel' of sink 'notify' (slack): is only for bot_token: a webhook posts to the "
                          "channel it was made for"])

    def test_a_webhook_that_is_not_an_address_is_not_shown(self):
        lines = self.errors(webhook_url="hooks.slack.com/services/T0/B0/secretsecret")
        self.assertEqual(lines, ["option 'webhook_url' of sink 'notify' (slack): must be the webhook's https:// "
                                 "address (https://hooks.slack.com/services/...)"])


if __name__ == "__main__":
    unittest.main()
