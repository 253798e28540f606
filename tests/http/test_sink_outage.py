"""A notification service down for minutes, then back: with the DEFAULT
retry settings (no max_retries, no retry_backoff in the file: what a user's
pipeline has), every alert raised meanwhile arrives, once each, in order, and
the run ends with exit 0.

The pipeline: a replay source paced at 60x (a data minute per second) of a
12-alert history (an unusual reading every 15 s, 04:00 to 06:45 local time,
each followed 5 s later by a calm one, so each is an episode of its own and
raises an alert under the default policy), the percentile_band scorer, and a
pushbullet sink whose base_url is a RecordingServer on 127.0.0.1. The run
lasts ~170 s (its last reading), so alerts are raised before, during and
after the outage.

The outage, as the sink sees it, from its first attempt at t = 0:

1. the service answers 503 (with Connection: close) to the first three
   attempts (t = 0, ~2 s, ~6 s): "maintenance";
2. then nothing listens on its port: every attempt is "connection refused";
3. a few seconds before the 6th retry it is started again on the SAME port,
   answering 200.

Why the 6th retry: the runtime waits retry_backoff (2 s) doubled per failure
in a row before retry k, i.e. 2^k s, each +-25 % (jitter), at most 10 min:
2, 4, 8, 16, 32, 64, 128, 256 s for retries 1..8, so retry k comes
2 + 4 + ... + 2^k = 2^(k+1) - 2 s after the first failure, nominally

    retry:  1  2   3   4   5    6    7    8
    at s:   2  6  14  30  62  126  254  510    (each +-25 %)

and the alert is given up after the 9th failed attempt: an outage shorter
than 0.75 x 510 = 383 s (6.4 min) never loses an alert with the defaults
(alerts raised meanwhile wait behind it in the sink's outbox and are not
attempted, so they spend none of their own retries; each alert's failures in
a row are its own even in one chunk: test_delivery's
test_each_alert_has_its_own_retries_after_the_one_before_got_through).
Delivery resumes at the first retry after the service is back: an outage
ending just after a retry is noticed only at the next one (one of just over
2 minutes: up to 128 s + 25 % = 160 s later still).

The jitter is random, so the test reads the runtime's own schedule from its
log ("retrying in W ms (retry 6 of 8)", written when retry 5 failed at
47-78 s) and brings the service back 5 s before that retry is due: the port
is closed from ~6 s until 90-153 s (126 s nominal: about two minutes), the
alert at the head of the outbox is delivered by the 6th retry at 95-158 s,
the alerts queued behind it follow at once, the later ones as they are
raised, and the run ends at ~170 s. Attempts: 3 answered 503, then 3
connection-refused, then one success per alert.

Exactly once, in this test: the runtime resends an alert only after an
attempt that failed, and from the failed alert on; a 503 or a refused
connection means the service did not take it. In general the design is at
least once: a timeout after the service took the request, or a crash before
the source commits, sends it again (docs/architecture.md).

Also checked while the port is closed: /healthz answers 503 naming the sink
("notify: delivery failed, retrying") and /metrics counts the retries, with
nothing delivered and the outbox holding the alerts; after: 200 ok.
"""

import os
import re
import signal
import shutil
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

from harness import BINARY, HttpTestCase, RecordingServer, Response, sink_table, toml_string

TOKEN = "o.outageTestToken0123456789"
PUSHED = {"active": True, "type": "note"}
ALERTS = 12           # one every 15 data minutes = 15 s at speed 60
SPACING_MIN = 15
MAINTENANCE_ANSWERS = 3  # 503s before the port is closed
BACK_BEFORE_RETRY_S = 5.0  # the service is back this long before the 6th retry is due
RUN_LIMIT_S = 240     # the whole run (its readings last ~170 s)


def readings():
    """(local time, Wh): alert k is 1500 + 10 k Wh at 04:00 + 15 k min, a calm 200 Wh 5 min later."""
    out = []
    for k in range(ALERTS):
        minute = 4 * 60 + SPACING_MIN * k
        out.append(("2007-01-14T%02d:%02d:00" % divmod(minute, 60), 1500 + 10 * k))
        out.append(("2007-01-14T%02d:%02d:00" % divmod(minute + 5, 60), 200))
    return out


def expected_bodies():
    return ["Unusual power usage of %d Wh at %d:%02d. Please check!" % ((1500 + 10 * k,) + divmod(4 * 60 + 15 * k, 60))
            for k in range(ALERTS)]


DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy from the environment


def get(port, path):
    """(status, body) of GET http://127.0.0.1:port/path."""
    try:
        with DIRECT.open("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(page, name, stage="notify"):
    m = re.search(r'^%s\{stage="%s"\} (\S+)$' % (re.escape(name), stage), page, re.M)
    return float(m.group(1)) if m else None


class SinkOutageTest(HttpTestCase):
    def setUp(self):
        super().setUp()
        self.proc = None
        self.addCleanup(self._kill)

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def log(self):
        return (self.dir / "run.err").read_text(errors="replace")

    def wait_log(self, pattern, timeout):
        """The first match of `pattern` in the run's log, polled every 0.1 s for at most `timeout` s."""
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout * 10) + 1):
            m = re.search(pattern, self.log(), re.M)
            if m:
                return m
            if self.proc.poll() is not None:
                self.fail("stream-smarts exited (%s) before its log showed %r:\n%s" % (self.proc.returncode, pattern,
                                                                                       self.log()))
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.fail("no %r in the log within %.0f s:\n%s" % (pattern, timeout, self.log()))

    def wait_for(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout * 5) + 1):
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.fail("timed out after %.0f s waiting for %s:\n%s" % (timeout, what() if callable(what) else what,
                                                                  self.log()))

    def test_a_service_down_for_minutes_then_back_loses_no_alert_with_default_retries(self):
        maintenance = self.server(*[Response(503, "maintenance", headers={"Connection": "close"})] *
                                  MAINTENANCE_ANSWERS, default=Response(200, PUSHED))
        port = maintenance.port
        csv = self.write("readings.csv", "ts,wh\n" + "".join("%s,%s\n" % r for r in readings()))
        # No max_retries, no retry_backoff: the defaults (8, "2s").
        text = ("[pipeline]\nname = \"outage\"\ntimezone = \"Europe/Paris\"\nmetrics = \"127.0.0.1:0\"\n\n"
                "[[sources]]\nname = \"household\"\nplugin = \"replay\"\npath = %s\nspeed = 60\n\n"
                "[[scorers]]\nname = \"band\"\nplugin = \"percentile_band\"\nfrom = [\"household\"]\nband = %s\n\n"
                % (toml_string(csv), "[" + ", ".join(["[100, 360]"] * 24) + "]") +
                sink_table("pushbullet", token="${PUSHBULLET_TOKEN}", base_url=maintenance.url))
        self.assertNotIn("max_retries", text)
        self.assertNotIn("retry_backoff", text)
        path = self.write("pipeline.toml", text)
        env = dict(self.env, PUSHBULLET_TOKEN=TOKEN)
        command = (["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []) + \
            [BINARY, "run", str(path)]
        with open(self.dir / "run.err", "wb") as err:
            self.proc = subprocess.Popen(command, env=env, cwd=self.dir, stdout=subprocess.DEVNULL, stderr=err,
                                         start_new_session=True)
        started = time.monotonic()
        metrics_port = int(self.wait_log(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", 30).group(1))

        # 1. Maintenance: three 503s (t = 0, ~2 s, ~6 s), then the port is closed.
        maintenance.wait_for_requests(MAINTENANCE_ANSWERS, timeout=30)
        maintenance.close()
        closed_at = time.monotonic()
        self.wait_log(r"\(retry %d of 8\)" % MAINTENANCE_ANSWERS, 10)

        # 2. Down: /healthz names the sink, /metrics counts the retries.
        status, body = get(metrics_port, "/healthz")
        self.assertEqual((status, body), (503, "notify: delivery failed, retrying\n"))
        page = get(metrics_port, "/metrics")[1]
        self.assertGreaterEqual(metric(page, "stream_smarts_delivery_retries_total"), MAINTENANCE_ANSWERS, page)
        self.assertEqual(metric(page, "stream_smarts_deliveries_total"), 0, page)
        self.assertEqual(metric(page, "stream_smarts_delivery_failures_total"), 0, page)
        self.assertGreaterEqual(metric(page, "stream_smarts_outbox_alerts"), 1, page)

        # Refused at retries 3, 4 and 5; the 6th failure schedules retry 6, 48-80 s on.
        sixth = self.wait_log(r"delivery failed: (.*); retrying in (\d+) ms \(retry 6 of 8\)", 120)
        due = time.monotonic() + int(sixth.group(2)) / 1000.0
        self.assertIn("could not be reached", sixth.group(1))
        page = get(metrics_port, "/metrics")[1]
        self.assertEqual(metric(page, "stream_smarts_delivery_retries_total"), 6, page)
        self.assertEqual(metric(page, "stream_smarts_deliveries_total"), 0, page)
        self.assertGreaterEqual(metric(page, "stream_smarts_outbox_alerts"), 4, page)  # raised at 0, 15, 30, 45 s
        self.assertEqual(get(metrics_port, "/healthz")[0], 503)
        time.sleep(max(0.0, due - BACK_BEFORE_RETRY_S - time.monotonic()))  # the outage itself

        # 3. Back on the same port: retry 6 delivers the head of the outbox, the rest follows.
        back_at = time.monotonic()
        service = RecordingServer(default=Response(200, PUSHED), port=port)
        self.addCleanup(service.close)
        first = service.wait_for_requests(1, timeout=BACK_BEFORE_RETRY_S + 15)[0]
        resumed_at = time.monotonic()
        resumed_after = resumed_at - back_at
        self.assertEqual(first.json["body"], expected_bodies()[0])
        self.wait_for(lambda: get(metrics_port, "/healthz") == (200, "ok\n"), 20, "/healthz to say ok")

        try:
            code = self.proc.wait(timeout=RUN_LIMIT_S)
        except subprocess.TimeoutExpired:
            self.fail("the run did not end within %d s:\n%s" % (RUN_LIMIT_S, self.log()))
        ended_at = time.monotonic()
        log = self.log()
        print("\n  503 to 3 attempts, port closed at %.0f s, back at %.0f s, delivery resumed at %.0f s (retry 6), "
              "run ended at %.0f s" % tuple(t - started for t in (closed_at, back_at, resumed_at, ended_at)),
              file=sys.stderr)
        self.assertEqual(code, 0, log)

        # Every alert once, in order; the maintenance server only ever saw the first.
        self.assertEqual([r.json["body"] for r in service.requests()], expected_bodies(), log)
        self.assertEqual([r.json["body"] for r in maintenance.requests()],
                         [expected_bodies()[0]] * MAINTENANCE_ANSWERS)
        self.assertTrue(all(r.headers["Access-Token"] == TOKEN for r in service.requests()))
        failed = [l for l in log.splitlines() if "delivery failed:" in l]
        self.assertEqual(len(failed), 6, log)
        self.assertTrue(all("HTTP 503" in l for l in failed[:3]), failed)
        self.assertTrue(all("could not be reached" in l for l in failed[3:]), failed)
        self.assertNotIn("(retry 7 of 8)", log)
        self.assertNotIn("gave up", log)
        self.assertIn("%d alerts delivered\n" % ALERTS, log)
        self.assertNotIn(TOKEN, log)
        self.assertLess(resumed_after, BACK_BEFORE_RETRY_S + 10)


if __name__ == "__main__":
    unittest.main()
