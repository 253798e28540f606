"""The pushbullet sink against a recording server: the push as Pushbullet's
API takes it, custom texts, and a rejected token."""

import unittest

from harness import ONE_ALERT, TWO_ALERTS, HttpTestCase, Response, sink_table

TOKEN = "o.Pb7kT2xQ9vLw4sZr8mN3cH6yJ1dF5gA0"


class PushbulletTest(HttpTestCase):
    def sink(self, server, **options):
        return sink_table("pushbullet", token="${PUSHBULLET_TOKEN}", base_url=server.url, **options)

    def run_sink(self, server, readings=ONE_ALERT, **options):
        text = self.pipeline(self.sink(server, **options), readings)
        return self.run_pipeline(text, env={"PUSHBULLET_TOKEN": TOKEN})

    def test_an_alert_is_a_note_pushed_to_every_device(self):
        server = self.server(default=Response(200, {"active": True, "iden": "ujpah72o0sjAoRtnM0jc", "type": "note"}))
        run = self.run_sink(server)
        self.assert_delivered(run)
        [push] = server.requests()
        self.assertEqual((push.method, push.path), ("POST", "/v2/pushes"))
        self.assertEqual(push.headers.get_all("Access-Token"), [TOKEN])
        self.assertEqual(push.headers["Content-Type"], "application/json")
        self.assertEqual(push.json, {"type": "note", "title": "Power usage unusual at home",
                                     "body": "Unusual power usage of 1500 Wh at 4:00. Please check!"})

    def test_reminders_and_back_to_normal(self):
        server = self.server()
        readings = [("2007-01-14T04:00:00", 1500), ("2007-01-14T05:00:00", 1400), ("2007-01-14T06:00:00", 1300),
                    ("2007-01-14T07:00:00", 200), ("2007-01-14T08:00:00", 300)]
        run = self.run_sink(server, readings, remind_every="1h", resolved=True)
        self.assert_delivered(run, 4)
        self.assertEqual([r.json["body"] for r in server.requests()], [
            "Unusual power usage of 1500 Wh at 4:00. Please check!",
            "Power usage has been unusual since 4:00: 1400 Wh at 5:00. Please check!",
            "Power usage has been unusual since 4:00: 1300 Wh at 6:00. Please check!",
            "Power usage back to normal: 200 Wh at 7:00 (unusual since 4:00).",
        ])
        self.assertEqual([r.json["title"] for r in server.requests()], [
            "Power usage unusual at home", "Power usage still unusual at home", "Power usage still unusual at home",
            "Power usage back to normal at home"])

    def test_scored_readings_that_are_not_alerts_are_not_pushed(self):
        server = self.server()
        run = self.run_sink(server, TWO_ALERTS, receive="all")
        self.assertEqual(run.code, 0, run.err)
        self.assertEqual([r.json["body"] for r in server.requests()], [
            "Unusual power usage of 1500 Wh at 4:00. Please check!",
            "Unusual power usage of 1600 Wh at 6:00. Please check!",
        ])

    def test_device_iden_and_own_texts(self):
        server = self.server()
        run = self.run_sink(server, TWO_ALERTS, device_iden="ujpah72o0sjAoRtnM0jc",
                            title="{{power}} {meter} at {hour}h",
                            message="{wh} Wh at {time} on {date}: score {score}, usually {expected_lo} to "
                                    "{expected_hi} ({scorer}, since {since})")
        self.assert_delivered(run, 2)
        self.assertEqual([r.json for r in server.requests()], [
            {"type": "note", "title": "{power} home at 4h", "device_iden": "ujpah72o0sjAoRtnM0jc",
             "body": "1500 Wh at 4:00 on 2007-01-14: score 5.38, usually 100 to 360 (band, since 4:00)"},
            {"type": "note", "title": "{power} home at 6h", "device_iden": "ujpah72o0sjAoRtnM0jc",
             "body": "1600 Wh at 6:00 on 2007-01-14: score 5.77, usually 100 to 360 (band, since 6:00)"},
        ])

    def test_a_rejected_token_is_one_clear_error_and_one_request(self):
        server = self.server(Response(401, {"error": {
            "code": "invalid_access_token", "type": "invalid_request",
            "message": "Access token is missing or invalid.", "cat": "(=^ ^=)"}}))
        run = self.run_sink(server)
        self.assert_gave_up(run, 'Pushbullet rejected the access token (HTTP 401, "Access token is missing or '
                                 'invalid."): check the token option (or token_file, or the variable it names)')
        self.assertEqual(len(server.requests()), 1)

    def test_a_bad_device_is_refused_with_pushbullets_words(self):
        server = self.server(Response(400, {"error": {"code": "invalid_request", "type": "invalid_request",
                                                      "message": "Device not found."}}))
        run = self.run_sink(server, device_iden="nope")
        self.assert_gave_up(run, 'Pushbullet refused the push (HTTP 400, "Device not found."): check device_iden')
        self.assertEqual(len(server.requests()), 1)

    def test_a_refusal_without_device_iden_points_at_nothing_it_does_not_have(self):
        server = self.server(Response(400, {"error": {"code": "invalid_request", "type": "invalid_request",
                                                      "message": "Body too large."}}))
        run = self.run_sink(server)
        self.assert_gave_up(run, 'Pushbullet refused the push (HTTP 400, "Body too large.")')
        self.assertNotIn("device_iden", run.err)

    def test_a_misspelt_field_is_reported_at_its_line(self):
        text = self.pipeline(sink_table("pushbullet", token="o.x", message="{kwh} Wh at {time}"))
        code, lines = self.validate(text)
        self.assertEqual(code, 2)
        self.assertEqual(lines, [
            "p.toml:21:11: option 'message' of sink 'notify' (pushbullet): unknown field {kwh}; the fields are "
            "{wh}, {hour}, {time}, {date}, {score}, {expected_lo}, {expected_hi}, {expected_unit}, {expected_unit_words}, "
            "{scorer}, {meter}, {since}, {end}, {status} ({{ and }} for literal braces)"])

    def test_unclosed_brace_and_bad_base_url(self):
        for options, expected in [
            ({"title": "Power {meter"}, "option 'title' of sink 'notify' (pushbullet): '{' at character 7 is not "
                                        "closed; write {{ for a literal brace"),
            ({"resolved_message": "ok }"}, "option 'resolved_message' of sink 'notify' (pushbullet): '}' at "
                                           "character 4 closes nothing; write }} for a literal brace"),
            ({"base_url": "api.pushbullet.com"}, "option 'base_url' of sink 'notify' (pushbullet): must be an http:// "
                                                 "or https:// address with a host; got 'api.pushbullet.com'"),
            ({"base_url": "http://admin:PROXYPASS77@127.0.0.1:8123/?x=1"},  # the relay's password is not shown
             "option 'base_url' of sink 'notify' (pushbullet): must be an address without ?query or #fragment; "
             "got 'http://[secret]@127.0.0.1:8123/?x=1'"),
            ({"timeout": "0s"}, "option 'timeout' of sink 'notify' (pushbullet) must be above 0s; got 0s"),
        ]:
            with self.subTest(options=options):
                code, lines = self.validate(self.pipeline(sink_table("pushbullet", token="o.x", **options)))
                self.assertEqual(code, 2)
                self.assertEqual([l.split(": ", 1)[1] for l in lines], [expected])


if __name__ == "__main__":
    unittest.main()
