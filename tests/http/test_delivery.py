"""How the runtime delivers through a notification sink when the service
misbehaves, against real servers on 127.0.0.1 (the pushbullet sink here;
the three sinks share the HTTP client and the runtime's retries):

- 429 with Retry-After: waited out, then delivered;
- 500 for a while: retried with backoff, delivered exactly once;
- a server that never answers: a timeout, retried;
- 401: one clear error, no retry, the pipeline goes on;
- a service that is down does not hold back another sink;
- a stop that cannot drain names the sink that held it up."""

import os
import signal
import subprocess
import time
import unittest

from harness import BINARY, ONE_ALERT, TWO_ALERTS, HttpTestCase, Response, sink_table

TOKEN = "o.deliveryTestToken9876543210"
PUSHED = {"active": True, "type": "note"}
# The alert of ONE_ALERT as the runtime names it in its log.
ALERT = "raised alert for home 2007-01-14 04:00 (band, 1500 Wh, score 5.38)"


def phone(server, **keys):
    """A pushbullet sink; `keys` are written as they are (numbers, quoted strings)."""
    return sink_table("pushbullet", token="${PUSHBULLET_TOKEN}", base_url=server.url) + \
        "".join("%s = %s\n" % kv for kv in keys.items())


class DeliveryTest(HttpTestCase):
    def run_phone(self, server, readings=ONE_ALERT, **keys):
        return self.run_pipeline(self.pipeline(phone(server, **keys), readings), env={"PUSHBULLET_TOKEN": TOKEN},
                                 log_level="debug")

    def test_429_retry_after_is_waited_out(self):
        server = self.server(Response(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "1"}),
                             default=Response(200, PUSHED))
        started = time.monotonic()
        run = self.run_phone(server, retry_backoff='"10ms"')
        self.assert_delivered(run)
        self.assertGreaterEqual(time.monotonic() - started, 1.0)
        self.assertIn("retrying in 1000 ms (retry 1 of 8)", run.err)
        first, second = server.requests()
        self.assertEqual(first.json, second.json)
        self.assertNotIn(TOKEN, run.err + run.out)

    def test_500_for_a_while_then_delivered_exactly_once(self):
        server = self.server(*[Response(500, "oops")] * 3, default=Response(200, PUSHED))
        run = self.run_phone(server, TWO_ALERTS, retry_backoff='"20ms"')
        self.assert_delivered(run, 2)
        bodies = [r.json["body"] for r in server.requests()]
        # The first alert four times (three failures, one success), the second once.
        self.assertEqual(bodies, ["Unusual power usage of 1500 Wh at 4:00. Please check!"] * 4 +
                         ["Unusual power usage of 1600 Wh at 6:00. Please check!"])
        self.assertEqual(run.err.count("delivery failed:"), 3)
        self.assertIn("(retry 3 of 8)", run.err)

    def test_each_alert_has_its_own_retries_after_the_one_before_got_through(self):
        # Both alerts in one chunk (one batch, read at once). The first gets
        # through at its last retry; then one failure of the second starts a
        # new row: retried after retry_backoff, not given up. Before, the
        # first alert's failures still counted: the second was given up at
        # its first failure (and would have waited 2^3 x the backoff).
        server = self.server(*[Response(500, "oops")] * 3, Response(200, PUSHED), Response(503, "busy"),
                             default=Response(200, PUSHED))
        run = self.run_phone(server, TWO_ALERTS, retry_backoff='"20ms"', max_retries=3)
        self.assert_delivered(run, 2)
        bodies = [r.json["body"] for r in server.requests()]
        self.assertEqual(bodies, ["Unusual power usage of 1500 Wh at 4:00. Please check!"] * 4 +
                         ["Unusual power usage of 1600 Wh at 6:00. Please check!"] * 2)
        self.assertEqual(run.err.count("(retry 1 of 3)"), 2, run.err)
        self.assertNotIn("gave up", run.err)

    def test_retries_are_bounded_then_the_alert_is_given_up(self):
        server = self.server(default=Response(503, "maintenance"))
        run = self.run_phone(server, retry_backoff='"1ms"', max_retries=2)
        self.assertEqual(run.code, 0, run.err)
        self.assertEqual(len(server.requests()), 3)
        self.assertIn("gave up delivering the " + ALERT + ": ", run.err)
        self.assertIn("(3 attempts)", run.err)
        self.assertIn("0 alerts delivered, 1 given up", run.err)

    def test_a_server_that_never_answers_is_a_timeout_and_retried(self):
        server = self.server(Response(never=True), default=Response(200, PUSHED))
        run = self.run_phone(server, timeout='"1s"', retry_backoff='"10ms"')
        self.assert_delivered(run)
        self.assertEqual(len(server.requests()), 2)
        self.assertRegex(run.err, r"delivery failed: .*(timed out|timeout).*; retrying in")

    def test_401_is_one_clear_error_and_no_retry(self):
        server = self.server(default=Response(401, {"error": {"message": "Access token is missing or invalid."}}))
        run = self.run_phone(server, TWO_ALERTS)
        self.assertEqual(run.code, 0, run.err)
        self.assertEqual(len(server.requests()), 2)  # one per alert: none retried
        self.assertNotIn("retrying", run.err)
        self.assertIn("gave up delivering the " + ALERT + ": Pushbullet rejected the access token (HTTP 401", run.err)
        self.assertIn("0 alerts delivered, 2 given up", run.err)
        self.assertNotIn(TOKEN, run.err + run.out)

    def test_a_service_that_is_down_does_not_hold_back_the_other_sink(self):
        down, up = self.server(default=Response(503, "down")), self.server(default=Response(200, {"ok": True}))
        # One reading a batch and two batches of credit: a sink that held on to its
        # batches while retrying would stop the source before the second alert.
        text = self.pipeline(phone(down, retry_backoff='"1h"') +
                             sink_table("slack", webhook_url="${SLACK_WEBHOOK_URL}").replace('"notify"', '"slack"'),
                             TWO_ALERTS, batch_size=1, max_in_flight=2, shutdown_timeout="500ms")
        cards = []
        code, err = self.run_until_stopped(text, dict(PUSHBULLET_TOKEN=TOKEN,
                                                      SLACK_WEBHOOK_URL=up.url + "/services/T/B/x"),
                                           lambda: cards.extend(up.wait_for_requests(2, timeout=20)))
        self.assertEqual([c.json["text"] for c in cards], ["Unusual power usage of 1500 Wh at 4:00. Please check!",
                                                           "Unusual power usage of 1600 Wh at 6:00. Please check!"])
        self.assertEqual(len(down.requests()), 1)  # and now waiting an hour for its retry
        # Stopped with the push undelivered: not acknowledged, so a durable source reads it again.
        self.assertEqual(code, 1, err)
        self.assertIn("did not stop within shutdown_timeout (500ms); exiting without draining; source 'household' "
                      "(replay) was waiting for 3 batches it read to be handled by the sinks; sink 'notify' "
                      "(pushbullet) was waiting to retry: Pushbullet had a server error (HTTP 503, \"down\")", err)
        self.assertIn("pipeline 'http' stopped without draining; delivered by sink: notify 0 alerts (2 not delivered), "
                      "slack 2 alerts\n", err)

    def test_a_stop_while_a_push_waits_for_its_answer_names_the_sink(self):
        """A service that took the request and does not answer holds the sink
        inside its plugin for up to `timeout` (30 s), longer than a stop may
        take: the log says which sink was still delivering."""
        silent = self.server(default=Response(never=True))
        text = self.pipeline(phone(silent), shutdown_timeout="500ms")
        code, err = self.run_until_stopped(text, dict(PUSHBULLET_TOKEN=TOKEN),
                                           lambda: silent.wait_for_requests(1, timeout=20))
        self.assertEqual(code, 1, err)
        self.assertIn("did not stop within shutdown_timeout (500ms); exiting without draining; source 'household' "
                      "(replay) was waiting for 1 batch it read to be handled by the sinks; sink 'notify' "
                      "(pushbullet) was still delivering (its plugin had not returned). Alerts not delivered are "
                      "lost", err)
        # Busy in its plugin, it cannot say what it delivered before.
        self.assertIn("pipeline 'http' stopped without draining; delivered by sink: notify not counted (it did not "
                      "answer)\n",
                      err)

    def run_until_stopped(self, text, env, until):
        """Runs the pipeline `text` until `until()` returns, then stops it
        with SIGTERM; its exit code and log."""
        path = self.write("pipeline.toml", text)
        proc = subprocess.Popen([BINARY, "run", str(path)], env=dict(self.env, **env), cwd=self.dir,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            until()
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                _, err = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                _, err = proc.communicate(timeout=10)
        return proc.returncode, err


if __name__ == "__main__":
    unittest.main()
