"""The ha_tts sink against a recording server: tts.speak and a legacy *_say
service as Home Assistant's REST API takes them, options that do not fit the
service, a rejected token."""

import unittest

from harness import HttpTestCase, Response, sink_table

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ0ZXN0In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
SPOKEN = ("Unusual power use: 1500 watt hours in the hour from 4:00, where up to 360 watt hours is usual. "
          "Did you leave something on?")


class HomeAssistantTest(HttpTestCase):
    def sink(self, server, **options):
        return sink_table("ha_tts", token="${HA_TOKEN}", base_url=server.url, media_player="media_player.kitchen",
                          **options)

    def run_sink(self, server, **options):
        return self.run_pipeline(self.pipeline(self.sink(server, **options)),
                                 env={"HA_TOKEN": TOKEN})

    def assert_call(self, request, service):
        self.assertEqual((request.method, request.path), ("POST", "/api/services/tts/" + service))
        self.assertEqual(request.headers.get_all("Authorization"), ["Bearer " + TOKEN])
        self.assertEqual(request.headers["Content-Type"], "application/json")

    def test_tts_speak(self):
        server = self.server(default=Response(200, []))  # Home Assistant answers with the states that changed
        run = self.run_sink(server, tts_entity="tts.google_translate_en_com", language="en")
        self.assert_delivered(run)
        [call] = server.requests()
        self.assert_call(call, "speak")
        self.assertEqual(call.json, {"entity_id": "tts.google_translate_en_com",
                                     "media_player_entity_id": "media_player.kitchen",
                                     "message": SPOKEN, "language": "en"})

    def test_legacy_say_service(self):
        server = self.server(default=Response(200, []))
        run = self.run_sink(server, service="google_translate_say",
                            message="Attention: {wh} watt hours at {time}, {{really}}.")
        self.assert_delivered(run)
        [call] = server.requests()
        self.assert_call(call, "google_translate_say")
        self.assertEqual(call.json, {"entity_id": "media_player.kitchen",
                                     "message": "Attention: 1500 watt hours at 4:00, {really}."})

    def test_a_rejected_token_is_one_clear_error_and_one_request(self):
        server = self.server(Response(401, "401: Unauthorized"))
        run = self.run_sink(server, tts_entity="tts.piper")
        self.assert_gave_up(run, 'Home Assistant rejected the access token (HTTP 401, "401: Unauthorized"): check '
                                 'the token option (a long-lived access token from your profile > Security)')
        self.assertEqual(len(server.requests()), 1)

    def test_an_unknown_service_is_retried_as_while_home_assistant_starts_then_given_up(self):
        # Home Assistant answers 400 for a service it does not have (api/__init__.py: ServiceNotFound ->
        # HTTPBadRequest), also while it is starting and has not loaded the TTS integration yet.
        refused = Response(400, {"message": "Service tts.piper_say not found."})
        server = self.server(refused, refused)
        run = self.run_sink(server, service="piper_say", max_retries=1, retry_backoff="10ms")
        message = ('Home Assistant refused the call to tts.piper_say (HTTP 400, "Service tts.piper_say not found."): '
                   'check service, tts_entity, media_player and language, unless Home Assistant is still starting')
        self.assert_retried(run, message)
        self.assert_gave_up(run, message + " (2 attempts)")
        self.assertEqual(len(server.requests()), 2)

        starting = self.server(Response(400, "400: Bad Request"))  # then the integration is loaded
        run = self.run_sink(starting, service="piper_say", retry_backoff="10ms")
        self.assert_delivered(run)
        self.assertEqual(len(starting.requests()), 2)

    def test_options_must_fit_the_service(self):
        for options, expected in [
            ({}, "option 'tts_entity' of sink 'notify' (ha_tts): is required with service = \"speak\": the TTS engine "
                 "entity, e.g. \"tts.google_translate_en_com\" (Settings > Devices & services > Entities)"),
            ({"tts_entity": "google_translate_en_com"},
             "option 'tts_entity' of sink 'notify' (ha_tts): must be a TTS engine entity (tts.something); got "
             "'google_translate_en_com'"),
            ({"service": "google_translate_say", "tts_entity": "tts.piper"},
             "option 'tts_entity' of sink 'notify' (ha_tts): is only for service = \"speak\"; "
             "tts.google_translate_say speaks with its own engine"),
            ({"service": "cloud"}, "option 'service' of sink 'notify' (ha_tts): must be \"speak\" or a legacy service "
                                   "ending in _say (e.g. \"google_translate_say\"); got 'cloud'"),
            ({"tts_entity": "tts.piper", "media_player": "kitchen"},
             "option 'media_player' of sink 'notify' (ha_tts): must be a media player entity "
             "(media_player.something, or several separated by commas); got 'kitchen'"),
        ]:
            with self.subTest(options=options):
                table = sink_table("ha_tts", token="t", **dict({"media_player": "media_player.kitchen"}, **options))
                code, lines = self.validate(self.pipeline(table))
                self.assertEqual(code, 2)
                self.assertEqual([l.split(": ", 1)[1] for l in lines], [expected])

    def test_several_media_players(self):
        code, lines = self.validate(self.pipeline(sink_table(
            "ha_tts", token="${HA_TOKEN}", tts_entity="tts.piper",
            media_player="media_player.kitchen, media_player.hall")), env={"HA_TOKEN": TOKEN})
        self.assertEqual((code, lines), (0, ["p.toml: ok (1 sources, 1 scorers, 1 sinks)"]))


if __name__ == "__main__":
    unittest.main()
