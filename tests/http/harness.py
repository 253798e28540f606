"""Shared helpers of the notification sinks' end-to-end tests.

Each test starts a RecordingServer (recording_server.py) on 127.0.0.1, writes
a pipeline to a temporary folder (a replay source of a tiny CSV, the
percentile_band scorer with an inline band, the sink under test with its
base_url at the server), runs `stream-smarts run` to its end, and checks what
the server received and what the binary said. Every run is bounded in time
and its process killed whatever happens.

The binary comes from $STREAM_SMARTS (ctest sets it). By hand:

    cd tests/http && STREAM_SMARTS=build-http/bin/stream-smarts /usr/bin/python3 -m unittest -v test_pushbullet
"""

import collections
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from recording_server import RecordingServer, Response  # noqa: F401 (tests import them from here)

SOURCE_DIR = Path(os.environ.get("STREAM_SMARTS_SOURCE_DIR") or Path(__file__).resolve().parents[2])
BINARY = os.environ.get("STREAM_SMARTS") or str(SOURCE_DIR / "build-http" / "bin" / "stream-smarts")
RUN_TIMEOUT_S = 60

# Every hour's band is [100, 360] Wh: 1500 Wh scores (1500 - 100) / 260 = 5.38.
BAND = "[" + ", ".join(["[100, 360]"] * 24) + "]"
# Local times in Europe/Paris. A calm hour between the two unusual ones makes
# them two episodes, so whatever the alert policy, each is a raised alert.
ONE_ALERT = [("2007-01-14T04:00:00", 1500), ("2007-01-14T05:00:00", 200)]
TWO_ALERTS = ONE_ALERT + [("2007-01-14T06:00:00", 1600)]

Run = collections.namedtuple("Run", "code out err")


# The first alert of ONE_ALERT and TWO_ALERTS, as the runtime names it in its log.
FIRST_ALERT = "raised alert for home 2007-01-14 04:00 (band, 1500 Wh, score 5.38)"


def toml_string(s):
    return json.dumps(str(s))  # a TOML basic string is a JSON string for what we write


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v) if isinstance(v, (int, float)) else toml_string(v)


def sink_table(plugin, **options):
    """A [[sinks]] table named "notify" reading the scorer "band"; `options`
    are the plugin's and the runtime's sink keys (max_retries, ...)."""
    text = "[[sinks]]\nname = \"notify\"\nplugin = %s\nfrom = [\"band\"]\n" % toml_string(plugin)
    for key, value in options.items():
        text += "%s = %s\n" % (key, toml_value(value))
    return text


class HttpTestCase(unittest.TestCase):
    """A temporary folder, servers closed and the folder removed at the end."""

    def setUp(self):
        if not Path(BINARY).exists():
            self.fail("no stream-smarts binary at %s (set STREAM_SMARTS)" % BINARY)
        self.dir = Path(tempfile.mkdtemp(prefix="stream-smarts-http-"))
        self.addCleanup(shutil.rmtree, self.dir, True)
        # The servers are on 127.0.0.1: a proxy from the environment must not
        # stand in between (the proxy test sets its own).
        self.env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
        self.env["no_proxy"] = self.env["NO_PROXY"] = "127.0.0.1,localhost"

    def server(self, *responses, default=None, tls=False, tls_valid_from=None):
        s = RecordingServer(responses, default=default, tls=tls, tls_valid_from=tls_valid_from)
        self.addCleanup(s.close)
        return s

    def write(self, name, text):
        path = self.dir / name
        path.write_text(text)
        return path

    def pipeline(self, sink, readings=ONE_ALERT, **settings):
        """The pipeline file's text: `sink` is a [[sinks]] table; `settings` go to [pipeline]."""
        csv = self.write("readings.csv", "ts,wh\n" + "".join("%s,%s\n" % r for r in readings))
        text = "[pipeline]\nname = \"http\"\ntimezone = \"Europe/Paris\"\n"
        for key, value in settings.items():
            text += "%s = %s\n" % (key, toml_value(value))
        text += ("\n[[sources]]\nname = \"household\"\nplugin = \"replay\"\npath = %s\n\n"
                 "[[scorers]]\nname = \"band\"\nplugin = \"percentile_band\"\nfrom = [\"household\"]\nband = %s\n\n"
                 % (toml_string(csv), BAND))
        return text + sink

    def run_binary(self, args, env=None):
        """The binary with `args`, to its end (killed after RUN_TIMEOUT_S)."""
        full_env = dict(self.env)
        full_env.update(env or {})
        # setpriv --pdeathsig: the child dies with this process (a ctest timeout, kill -9).
        command = (["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []) + [BINARY] + args
        try:
            r = subprocess.run([str(a) for a in command], capture_output=True, text=True, env=full_env,
                               cwd=self.dir, timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired as e:
            raise AssertionError("stream-smarts %s did not end within %d s:\n%s" % (args[0], RUN_TIMEOUT_S, e.stderr))
        return Run(r.returncode, r.stdout, r.stderr)

    def run_pipeline(self, text, env=None, log_level=None, log_format=None):
        path = self.write("pipeline.toml", text)
        return self.run_binary((["--log-level", log_level] if log_level else []) +
                               (["--log-format", log_format] if log_format else []) + ["run", path], env)

    def validate(self, text, env=None):
        """validate's exit code and its lines about the file but its warnings (a token written in it), the
        file named 'p.toml'."""
        path = self.write("p.toml", text)
        r = self.run_binary(["validate", path], env)
        lines = [l.replace(str(path), "p.toml") for l in (r.out + r.err).splitlines()
                 if l.startswith(str(path)) and ": warning: " not in l]
        return r.code, lines

    def assert_delivered(self, run, count=1):
        self.assertEqual(run.code, 0, run.err)
        self.assertIn("%d %s delivered" % (count, "alert" if count == 1 else "alerts"), run.err)

    def assert_gave_up(self, run, message, alert=FIRST_ALERT):
        """The runtime gave up delivering `alert`, for `message` (once, in
        one line), and the pipeline went on to its end. The test counts the
        requests: a refusal that waiting cannot mend is never retried."""
        self.assertEqual(run.code, 0, run.err)
        line = "error   [notify] gave up delivering the %s: %s" % (alert, message)
        self.assertEqual([l for l in run.err.splitlines() if "gave up" in l],
                         [l for l in run.err.splitlines() if line in l], run.err)
        self.assertEqual(len([l for l in run.err.splitlines() if line in l]), 1, run.err)

    def assert_retried(self, run, message):
        """A failure worth retrying, whose message starts with `message`: the
        runtime said so and retried."""
        self.assertRegex(run.err, r"warning \[notify\] delivery failed: %s.*; retrying in " % re.escape(message))

