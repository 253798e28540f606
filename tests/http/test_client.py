"""What the HTTP client does for every notification sink: one connection for
a sink's notifications, the proxy variables, TLS verified (with ca_file for
a certificate of its own), timeouts, and secrets never shown."""

import json
import os
import unittest

from harness import ONE_ALERT, TWO_ALERTS, HttpTestCase, Response, sink_table

TOKEN = "o.Zq8Wm3Rt6Yp1Ux4Ik7Ol0Aj2Sh5Dg9Fc"


class ClientTest(HttpTestCase):
    def pushbullet(self, base_url, readings=ONE_ALERT, env=None, log_level=None, log_format=None, **options):
        text = self.pipeline(sink_table("pushbullet", token="${PUSHBULLET_TOKEN}", base_url=base_url, **options),
                             readings)
        return self.run_pipeline(text, env=dict({"PUSHBULLET_TOKEN": TOKEN}, **(env or {})), log_level=log_level,
                                 log_format=log_format)

    def home_assistant(self, base_url, **options):
        text = self.pipeline(sink_table("ha_tts", token="${HA_TOKEN}", base_url=base_url,
                                        tts_entity="tts.piper", media_player="media_player.kitchen", **options))
        return self.run_pipeline(text, env={"HA_TOKEN": TOKEN})

    def test_one_connection_for_a_sinks_notifications(self):
        server = self.server()
        run = self.pushbullet(server.url, TWO_ALERTS)
        self.assert_delivered(run, 2)
        requests = server.requests()
        self.assertEqual(len(requests), 2)
        self.assertEqual(len({r.client_port for r in requests}), 1, "the second notification reused the connection")

    def test_the_http_proxy_variable_is_honoured(self):
        proxy = self.server()
        run = self.pushbullet("http://api.example.invalid", env={"http_proxy": proxy.url, "no_proxy": "",
                                                                  "NO_PROXY": ""})
        self.assert_delivered(run)
        [request] = proxy.requests()
        # A proxy is sent the whole address in the request line.
        self.assertEqual((request.method, request.path), ("POST", "http://api.example.invalid/v2/pushes"))
        self.assertEqual(request.headers["Host"], "api.example.invalid")
        self.assertEqual(request.headers["Access-Token"], TOKEN)

    def test_a_self_signed_certificate_needs_ca_file(self):
        server = self.server(default=Response(200, []), tls=True)
        run = self.home_assistant(server.url)
        self.assert_gave_up(run, "Home Assistant answered with a TLS certificate that could not be verified (SSL "
                                 "certificate problem: self-signed certificate): if it uses a certificate of its own "
                                 "(self-signed), set ca_file to that certificate (verification cannot be turned off)")
        self.assertEqual(server.requests(), [])
        self.assertGreaterEqual(server.tls_failures, 1)

        run = self.home_assistant(server.url, ca_file=server.cert_path)
        self.assert_delivered(run)
        self.assertEqual(len(server.requests()), 1)

    def test_a_certificate_not_yet_valid_by_this_clock_is_retried_with_a_word_on_the_clock(self):
        # A Pi that booted with the time it shut down at, or 1970, until NTP sets it.
        server = self.server(default=Response(200, []), tls=True, tls_valid_from="20990101000000Z")
        run = self.home_assistant(server.url, ca_file=server.cert_path, max_retries=1, retry_backoff="10ms")
        self.assert_retried(run, "Home Assistant answered with a TLS certificate that is not valid at this "
                                 "machine's time (SSL certificate problem: certificate is not yet valid): check the "
                                 "system clock (NTP): a Raspberry Pi has no clock of its own")
        self.assertEqual(server.requests(), [])

    def test_a_token_over_plain_http_beyond_the_home_network_is_warned_of(self):
        def warnings(plugin, url_option, url, **options):
            path = self.write("p.toml", self.pipeline(sink_table(plugin, **{url_option: url}, **options)))
            r = self.run_binary(["validate", path], {"PUSHBULLET_TOKEN": TOKEN})
            self.assertEqual(r.code, 0, r.err)
            self.assertNotIn(TOKEN, r.err)
            return [l.replace(str(path), "p.toml") for l in r.err.splitlines() if "plain http" in l]

        # At the address, as the runtime's own warnings.
        self.assertEqual(warnings("pushbullet", "base_url", "http://push.example.com:8080/api", token="${PUSHBULLET_TOKEN}"),
                         ["p.toml:20:12: warning: option 'base_url' of sink 'notify' (pushbullet): is plain http:// "
                          "to 'push.example.com', not this machine or your home network: its secret (token, webhook "
                          "address) would travel unencrypted; give https://"])
        self.assertEqual(len(warnings("slack", "webhook_url", "http://hooks.example.com/services/" + TOKEN)), 1)
        # A key in the query of an address with no path is not part of the host said.
        for url in ("http://relay.example.com?key=" + TOKEN, "http://relay.example.com#" + TOKEN):
            self.assertEqual([l[l.index("to '"):l.index("', not")] for l in warnings("slack", "webhook_url", url)],
                             ["to 'relay.example.com"], url)
        # Home Assistant is reached over plain http at home, or through a tunnel that encrypts: no word.
        for url in ("http://homeassistant.local:8123", "http://homeassistant:8123", "http://192.168.1.20:8123",
                    "http://10.0.0.2", "http://172.20.1.1", "http://127.0.0.1:8123", "http://[fd00::5]:8123",
                    "http://[fe80::1]:8123", "http://[::1]:8123", "http://100.101.102.103:8123",
                    "http://ha.tailnet-1234.ts.net", "http://router.lan", "http://ha.home.arpa",
                    "http://user:pw@HomeAssistant.LOCAL:8123", "https://push.example.com"):
            self.assertEqual(warnings("pushbullet", "base_url", url, token="${PUSHBULLET_TOKEN}"), [], url)
        # Just outside the private ranges.
        for url in ("http://172.32.0.1", "http://100.128.0.1", "http://192.169.0.1", "http://[2001:db8::1]"):
            self.assertEqual(len(warnings("pushbullet", "base_url", url, token="${PUSHBULLET_TOKEN}")), 1, url)

    def test_an_address_libcurl_cannot_use_is_refused_by_validate(self):
        # validate said ok, then run gave up every alert ("URL using bad/illegal format").
        def refused(url):
            code, lines = self.validate(self.pipeline(sink_table("pushbullet", token="t", base_url=url)))
            self.assertEqual(code, 2, url)
            return [l.split(": ", 1)[1] for l in lines]

        self.assertEqual(refused("http://127.0.0.1:8123 "), [
            "option 'base_url' of sink 'notify' (pushbullet): has a space in it (one at the end of an environment "
            "variable?); got 'http://127.0.0.1:8123 '"])
        self.assertEqual(refused("http://127.0.0.1:99999"), [
            "option 'base_url' of sink 'notify' (pushbullet): is not an address libcurl can use (Port number was not "
            "a decimal number between 0 and 65535); got 'http://127.0.0.1:99999'"])
        self.assertEqual(refused("http://:8123"), [
            "option 'base_url' of sink 'notify' (pushbullet): is not an address libcurl can use (No host part in the "
            "URL); got 'http://:8123'"])
        # A webhook address is a secret: never quoted.
        url = "https://hooks.slack.com/services/T0/B0/" + TOKEN + " "
        code, lines = self.validate(self.pipeline(sink_table("slack", webhook_url="${SLACK_WEBHOOK_URL}")),
                                    env={"SLACK_WEBHOOK_URL": url})
        self.assertEqual((code, [l.split(": ", 1)[1] for l in lines]), (2, [
            "option 'webhook_url' of sink 'notify' (slack): has a space in it (one at the end of an environment "
            "variable?)"]))

    def test_ca_file_must_hold_a_certificate(self):
        not_pem = self.write("not-a-cert.pem", "hello\n")
        code, lines = self.validate(self.pipeline(sink_table("pushbullet", token="t", ca_file=not_pem)))
        self.assertEqual(code, 2)
        self.assertEqual([l.split(": ", 1)[1] for l in lines], [
            "option 'ca_file' of sink 'notify' (pushbullet): '%s' holds no PEM certificate "
            "(-----BEGIN CERTIFICATE-----)" % not_pem])
        # A CA folder (as /etc/ssl/certs) is named as such, at the option, not as "cannot start".
        folder = os.path.dirname(not_pem)
        code, lines = self.validate(self.pipeline(sink_table("pushbullet", token="t", ca_file=folder)))
        self.assertEqual(code, 2)
        self.assertEqual([l.split(": ", 1)[1] for l in lines], [
            "option 'ca_file' of sink 'notify' (pushbullet): '%s' is a folder; give the PEM file of the "
            "certificates to trust in it" % folder])
        code, lines = self.validate(self.pipeline(sink_table("pushbullet", token="t", ca_file="/dev/zero")))
        self.assertEqual([l.split(": ", 1)[1] for l in lines], [
            "option 'ca_file' of sink 'notify' (pushbullet): '/dev/zero' is not a regular file; give a PEM file"])

    def test_a_server_that_never_answers_times_out(self):
        server = self.server(Response(never=True), default=Response(200, {}))
        run = self.pushbullet(server.url, timeout="1s", retry_backoff="10ms")
        self.assert_retried(run, "Pushbullet did not answer in time (Operation timed out after ")
        self.assert_delivered(run)
        self.assertEqual(len(server.requests()), 2)

    def test_an_answer_cut_off_after_http_200_is_delivered_and_not_sent_again(self):
        # The service had the push: sending it again would buzz the phone twice.
        server = self.server(Response(200, {"iden": "ujpah72o0sjAoRtnM0jc", "active": True}, cut_off=True),
                             default=Response(200, {}))
        run = self.pushbullet(server.url, retry_backoff="10ms")
        self.assert_delivered(run)
        self.assertEqual(len(server.requests()), 1)
        self.assertRegex(run.err, r"warning \[notify\] POST http://127\.0\.0\.1:\d+/v2/pushes: HTTP 200, then "
                                  r"transfer closed with \d+ bytes remaining to read while its answer was read; "
                                  r"counted as delivered, not sent again\n")

    def test_nothing_listening(self):
        server = self.server()
        server.close()  # its port is free again: a refused connection
        run = self.pushbullet(server.url, max_retries=1, retry_backoff="10ms")
        message = "Pushbullet could not be reached (Failed to connect to 127.0.0.1 port %d" % server.port
        self.assert_retried(run, message)
        self.assertIn("gave up delivering the raised alert", run.err)

    def test_secrets_never_show_even_in_debug_logs(self):
        # The server even echoes the token back in its refusal.
        server = self.server(Response(200, {}), Response(401, {"error": {"message": "Bad token " + TOKEN}}))
        run = self.pushbullet(server.url, TWO_ALERTS, log_level="debug")
        self.assertIn("debug   [notify] POST %s/v2/pushes: HTTP 200 in " % server.url, run.err)
        self.assertIn('Pushbullet rejected the access token (HTTP 401, "Bad token [secret]")', run.err)
        for piece in (TOKEN, TOKEN[:8], TOKEN[-8:], TOKEN[10:20]):
            self.assertNotIn(piece, run.out + run.err)
        self.assertEqual([r.headers["Access-Token"] for r in server.requests()], [TOKEN, TOKEN])

    def test_secrets_never_show_in_json_logs_either(self):
        server = self.server(Response(200, {}), Response(401, {"error": {"message": "Bad token " + TOKEN}}))
        run = self.pushbullet(server.url, TWO_ALERTS, log_level="debug", log_format="json")
        lines = [json.loads(line) for line in run.err.splitlines()]
        self.assertTrue(all(sorted(line) == ["level", "message", "stage", "ts"] for line in lines), run.err)
        self.assertIn({"level": "error", "stage": "notify"},
                      [{"level": l["level"], "stage": l["stage"]} for l in lines
                       if 'Pushbullet rejected the access token (HTTP 401, "Bad token [secret]")' in l["message"]])
        self.assertTrue(any(l["level"] == "debug" and l["message"].startswith("POST %s/v2/pushes: HTTP 200 in " %
                                                                              server.url) for l in lines), run.err)
        for piece in (TOKEN, TOKEN[:8], TOKEN[-8:], TOKEN[10:20]):
            self.assertNotIn(piece, run.out + run.err)

    def test_token_file(self):
        server = self.server()
        secret = self.write("pushbullet.token", TOKEN + "\n")
        text = self.pipeline(sink_table("pushbullet", token_file=secret, base_url=server.url))
        run = self.run_pipeline(text, log_level="debug")
        self.assert_delivered(run)
        self.assertEqual(server.requests()[0].headers["Access-Token"], TOKEN)
        self.assertNotIn(TOKEN[:8], run.out + run.err)


if __name__ == "__main__":
    unittest.main()
