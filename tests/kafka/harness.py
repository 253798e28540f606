"""Shared helpers of the Kafka end-to-end tests.

Every test starts its own `stream-smarts broker` (librdkafka's mock cluster)
on an ephemeral 127.0.0.1 port, runs `stream-smarts run` on pipeline files
written to a temporary folder, and talks to the broker with kcat or
confluent_kafka. Every wait is bounded in time and in iterations, and every
child process is killed when the test ends, whatever happened.

The binary comes from $STREAM_SMARTS (ctest sets it), the repository from
$STREAM_SMARTS_SOURCE_DIR. Run by hand:

    STREAM_SMARTS=build-e2e/bin/stream-smarts /usr/bin/python3 -m unittest -v test_ksql_compat
"""

import collections
import datetime
import json
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import tomllib
import unittest
import urllib.error
import urllib.request
import uuid
import zoneinfo
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition

SOURCE_DIR = Path(os.environ.get("STREAM_SMARTS_SOURCE_DIR") or Path(__file__).resolve().parents[2])
BINARY = os.environ.get("STREAM_SMARTS") or str(SOURCE_DIR / "build-e2e" / "bin" / "stream-smarts")
MODEL = SOURCE_DIR / "models" / "household-band.toml"
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
HOUR_MS = 3_600_000

# The original Avro schema of raw_power.
ORIGINAL_AVRO_SCHEMA = ('{"type":"record","name":"myrecord","fields":'
                        '[{"name":"hour","type":"float"},{"name":"kwh","type":"float"}]}')

Record = collections.namedtuple("Record", "topic partition offset key value timestamp headers")


# ------------------------------------------------------------------ waiting

def wait_until(predicate, timeout, what, interval=0.1):
    """Calls predicate() until it returns something truthy (returned), at most
    `timeout` seconds and timeout / interval + 1 times; raises AssertionError
    naming `what` (a string, or a callable giving one) otherwise."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / interval) + 1):
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what() if callable(what) else what))


# ------------------------------------------------------------------ the metrics endpoint

def get(port, path):
    """(status, body) of GET http://127.0.0.1:port/path."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def samples(text):
    """{'name{labels}': value} of a Prometheus text page."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            out[series] = float(value)
    return out


# ------------------------------------------------------------------ the model

class Band:
    """models/household-band.toml: [lo, hi] per local hour; score = (wh - lo) / (hi - lo)."""

    def __init__(self, path=MODEL):
        with open(path, "rb") as f:
            model = tomllib.load(f)
        self.rows = [tuple(row) for row in model["band"]]
        assert len(self.rows) == 24 and not model["by_weekday"]

    def score(self, hour, wh):
        lo, hi = self.rows[hour][:2]
        return (wh - lo) / (hi - lo)

    def alerts(self, hour, wh, threshold=1.0):
        return self.score(hour, wh) > threshold


BAND = Band()


def start_of_latest_hour(ts_ms, hour, zone=PARIS):
    """The latest instant at or before ts_ms at which the wall clock in `zone`
    shows hour:00:00 (what the Kafka source does with hour_field)."""
    t = ts_ms - ts_ms % HOUR_MS  # the zones we use are whole hours off UTC
    for _ in range(30):
        local = time_local(t, zone)
        if local.hour == hour and local.minute == 0:
            return t
        t -= HOUR_MS
    raise AssertionError("no %02d:00 in the 30 hours before %d" % (hour, ts_ms))


def time_local(ts_ms, zone=PARIS):
    return datetime.datetime.fromtimestamp(ts_ms / 1000, tz=zone)


def epoch_ms(iso):
    """'2024-01-15T04:00:00+01:00' -> epoch ms."""
    return int(datetime.datetime.fromisoformat(iso).timestamp() * 1000)


def avro_original(hour, kwh, schema_id=1):
    """A raw_power record in the Confluent wire format with the original schema."""
    return b"\x00" + struct.pack(">I", schema_id) + struct.pack("<ff", hour, kwh)


# ------------------------------------------------------------------ processes

class Child:
    """A child process whose stdout and stderr go to files in `folder`."""

    def __init__(self, args, folder, name, env=None, stdin=None, stdout_pipe=False):
        self.name = name
        self.args = [str(a) for a in args]
        self.out_path = Path(folder) / (name + ".out")
        self.err_path = Path(folder) / (name + ".err")
        self._out = None if stdout_pipe else open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        full_env = dict(os.environ)
        full_env.update(env or {})
        # setpriv --pdeathsig: the child is killed even if this test process is (kill -9, a ctest timeout).
        command = (["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []) + self.args
        self.proc = subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE if stdout_pipe else self._out,
                                     stderr=self._err, env=full_env, cwd=folder, start_new_session=True)
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def log(self):
        """What it wrote to stderr so far."""
        return self.err_path.read_text(errors="replace")

    def out(self):
        return self.out_path.read_text(errors="replace") if self._out else ""

    def wait_for_log(self, pattern, timeout, count=1):
        """Waits until `pattern` (a regex) matched `count` times in the log; returns the matches."""
        regex = re.compile(pattern, re.M)

        def found():
            matches = regex.findall(self.log())
            if len(matches) >= count:
                return matches
            if not self.alive():
                raise AssertionError("%s exited (%s) before its log showed %r:\n%s" %
                                     (self.name, self.proc.returncode, pattern, self.tail()))
            return None
        return wait_until(found, timeout, lambda: "%r in the log of %s:\n%s" % (pattern, self.name, self.tail()))

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def wait(self, timeout):
        """The exit code; AssertionError (after killing it) if it takes longer."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("%s did not exit within %.0f s:\n%s" % (self.name, timeout, self.tail()))

    def stop(self, timeout=20):
        """SIGTERM, then the exit code."""
        self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self):
        """SIGKILL, reaped."""
        if self.alive():
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def close(self):
        self.kill()
        for f in (self._out, self._err, self.proc.stdin, self.proc.stdout):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass

    def tail(self, lines=40):
        text = self.log().splitlines()
        return "\n".join("    " + l for l in text[-lines:])


class Broker(Child):
    """`stream-smarts broker`: its bootstrap address is the first stdout line."""

    def __init__(self, folder, topics=(), partitions=None, name="broker", port=None):
        args = [BINARY, "broker"]
        if port is not None:
            args += ["--port", str(port)]
        if partitions is not None:
            args += ["--partitions", str(partitions)]
        for t in topics:
            args += ["--topic", t]
        super().__init__(args, folder, name, stdin=subprocess.PIPE, stdout_pipe=True)
        self.address = self._read_address(timeout=15)

    def _read_address(self, timeout):
        deadline = time.monotonic() + timeout
        line = b""
        for _ in range(1000):
            left = deadline - time.monotonic()
            if left <= 0 or not self.alive():
                break
            ready, _, _ = select.select([self.proc.stdout], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 256)
                if not chunk:
                    break
                line += chunk
                if b"\n" in line:
                    address = line.split(b"\n")[0].decode()
                    assert re.fullmatch(r"127\.0\.0\.1:\d+", address), address
                    return address
        self.kill()
        raise AssertionError("the broker printed no address within %.0f s:\n%s" % (timeout, self.tail()))

    def command(self, word):
        self.proc.stdin.write((word + "\n").encode())
        self.proc.stdin.flush()

    def down(self):
        self._command_confirmed("down")

    def up(self):
        self._command_confirmed("up")

    def _command_confirmed(self, word):
        # Count the confirmations before sending: the broker may answer
        # before this process looks at its log again.
        seen = self.log().count("broker: %s\n" % word)
        self.command(word)
        self.wait_for_log(r"^stream-smarts broker: %s$" % word, 10, count=seen + 1)


# ------------------------------------------------------------------ Kafka clients

def producer(bootstrap, conf=None):
    """A confluent_kafka Producer; `conf`: librdkafka properties on top of ours."""
    settings = {"bootstrap.servers": bootstrap, "queue.buffering.max.messages": 1_000_000,
                "linger.ms": 5, "message.timeout.ms": 30_000}
    settings.update(conf or {})
    return Producer(settings)


def produce(bootstrap, topic, messages, timeout=60, conf=None):
    """Produces `messages` (dicts: value, and optionally key, partition,
    timestamp (ms), headers) and waits until every one is acknowledged.
    Returns [(partition, offset)] in the order given."""
    p = producer(bootstrap, conf)
    results = [None] * len(messages)
    failures = []

    def report(i):
        def on_delivery(err, msg):
            if err is not None:
                failures.append(str(err))
            else:
                results[i] = (msg.partition(), msg.offset())
        return on_delivery

    deadline = time.monotonic() + timeout
    for i, m in enumerate(messages):
        kwargs = {"value": m["value"], "on_delivery": report(i)}
        for k in ("key", "partition", "timestamp", "headers"):
            if m.get(k) is not None:
                kwargs[k] = m[k]
        for _ in range(10_000):
            try:
                p.produce(topic, **kwargs)
                break
            except BufferError:
                p.poll(0.05)
                if time.monotonic() > deadline:
                    raise AssertionError("the producer's queue stayed full")
        if i % 1000 == 0:
            p.poll(0)
    left = p.flush(max(1.0, deadline - time.monotonic()))
    if left or failures:
        raise AssertionError("%d messages not delivered to %s, failures: %s" % (left, topic, failures[:3]))
    return results


def kcat_produce(bootstrap, topic, lines, timeout=30):
    """kcat -P with key:value lines."""
    r = subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", topic, "-K", ":"], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError("kcat -P failed (%d): %s" % (r.returncode, r.stderr))


def kcat_consume(bootstrap, topic, timeout=30):
    """kcat -C -o beginning -e -J: every message now on the topic, as kcat's JSON envelopes."""
    r = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-J", "-q"],
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError("kcat -C failed (%d): %s" % (r.returncode, r.stderr))
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def _consumer(bootstrap):
    return Consumer({"bootstrap.servers": bootstrap, "group.id": "e2e-reader-" + uuid.uuid4().hex,
                     "enable.auto.commit": False, "enable.partition.eof": False})


def _partitions(consumer, topic, timeout=5):
    md = consumer.list_topics(topic, timeout=timeout)
    t = md.topics.get(topic)
    if t is None or t.error is not None:
        return []
    return sorted(t.partitions)


def message_count(bootstrap, topic, consumer=None):
    """Messages on the topic now (sum of high - low watermarks); 0 if it does not exist yet."""
    own = consumer is None
    c = consumer or _consumer(bootstrap)
    try:
        total = 0
        for p in _partitions(c, topic):
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=5)
            total += hi - lo
        return total
    finally:
        if own:
            c.close()


def read_topic(bootstrap, topic, timeout=60):
    """Every message on the topic up to its current end, as Records, by partition and offset."""
    c = _consumer(bootstrap)
    try:
        ends = {}
        for p in _partitions(c, topic):
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=5)
            if hi > lo:
                ends[p] = hi
        if not ends:
            return []
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        out = []
        done = set()
        deadline = time.monotonic() + timeout
        for _ in range(1_000_000):
            if len(done) == len(ends) or time.monotonic() > deadline:
                break
            for m in c.consume(num_messages=10_000, timeout=0.5):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise KafkaException(m.error())
                p = m.partition()
                if p in done or m.offset() >= ends[p]:
                    continue
                out.append(Record(topic, p, m.offset(), m.key(), m.value(), m.timestamp()[1],
                                  dict((k, v) for k, v in (m.headers() or []))))
                if m.offset() + 1 >= ends[p]:
                    done.add(p)
        if len(done) != len(ends):
            raise AssertionError("could not read %s to its end within %.0f s" % (topic, timeout))
        out.sort(key=lambda r: (r.partition, r.offset))
        return out
    finally:
        c.close()


def wait_for_messages(bootstrap, topic, count, timeout, what=None):
    """Waits until the topic holds at least `count` messages; returns them all.
    Some more may still come: to tell that none does, stop the pipeline first
    (it drains and flushes before it exits) and read_topic() to its end."""
    c = _consumer(bootstrap)
    try:
        wait_until(lambda: message_count(bootstrap, topic, c) >= count, timeout,
                   what or (lambda: "%d messages on %s (have %d)" % (count, topic, message_count(bootstrap, topic, c))),
                   interval=0.2)
    finally:
        c.close()
    return read_topic(bootstrap, topic)


def json_values(records):
    return [json.loads(r.value) for r in records]


# ------------------------------------------------------------------ pipeline files

def toml_string(s):
    return json.dumps(str(s))  # a TOML basic string is a JSON string for what we write


def band_scorer(name="anomaly", source="raw_power"):
    return ("[[scorers]]\nname = %s\nplugin = \"percentile_band\"\nfrom = [%s]\nmodel = %s\n\n" %
            (toml_string(name), toml_string(source), toml_string(MODEL)))


def partitions_now(log, added, removed):
    """The partitions of raw_power a process's log says are `added` now
    ("assigned", "paused"), from its lines "[raw_power] <added> raw_power [0], ..."
    and "[raw_power] <removed> ...", in order."""
    now = set()
    # Up to a ";": cooperative rebalances add "; reading ..." or "; still reading ...".
    for kind, listed in re.findall(r"\[raw_power\] (%s|%s) ([^;\n]*)" % (added, removed), log, re.M):
        parts = {int(p) for p in re.findall(r"raw_power \[(\d+)\]", listed)}
        now = now | parts if kind == added else now - parts
    return now


def kafka_source(brokers, properties, commit_interval=None):
    """A source "raw_power" of the "raw_power" topic, timed by the payload's "ts"."""
    return ("[[sources]]\nname = \"raw_power\"\nplugin = \"kafka_source\"\nbrokers = %s\ntopics = [\"raw_power\"]\n"
            "ts_field = \"ts\"\n%sproperties = %s\n\n" %
            (toml_string(brokers), "commit_interval = %s\n" % toml_string(commit_interval) if commit_interval else "",
             inline_table(properties)))


def pushbullet_sink(push_url, receive=None):
    """A Pushbullet sink "phone" of the band's alerts, its token from PUSHBULLET_TOKEN, retrying every 200 ms."""
    return ("[[sinks]]\nname = \"phone\"\nplugin = \"pushbullet\"\nfrom = [\"anomaly\"]\n%s"
            "token = \"${PUSHBULLET_TOKEN}\"\nbase_url = %s\nretry_backoff = \"200ms\"\nmax_retries = 1000\n\n" %
            ("receive = %s\n" % toml_string(receive) if receive else "", toml_string(push_url)))


def kafka_sink(name, brokers, topic, source="anomaly", receive=None, format="ksql", properties=None):
    text = ("[[sinks]]\nname = %s\nplugin = \"kafka_sink\"\nfrom = [%s]\nbrokers = %s\ntopic = %s\nformat = %s\n" %
            (toml_string(name), toml_string(source), toml_string(brokers), toml_string(topic), toml_string(format)))
    if receive:
        text += "receive = %s\n" % toml_string(receive)
    if properties:
        text += "properties = %s\n" % inline_table(properties)
    return text + "\n"


def inline_table(d):
    return "{ " + ", ".join("%s = %s" % (toml_string(k), toml_string(v)) for k, v in d.items()) + " }"


def pipeline_header(name="e2e", **settings):
    text = "[pipeline]\nname = %s\ntimezone = \"Europe/Paris\"\n" % toml_string(name)
    for k, v in settings.items():
        text += "%s = %s\n" % (k, toml_string(v) if isinstance(v, str) else v)
    return text + "\n"


# ------------------------------------------------------------------ the test case

class KafkaTestCase(unittest.TestCase):
    """Gives each test a temporary folder and kills every child it started."""

    def setUp(self):
        if not Path(BINARY).exists():
            self.fail("no stream-smarts binary at %s (set STREAM_SMARTS)" % BINARY)
        self.dir = Path(tempfile.mkdtemp(prefix="stream-smarts-kafka-"))
        self.children = []
        self._counters = {}
        self.addCleanup(self._clean_up)

    def _clean_up(self):
        failed = self._failed()
        for child in reversed(self.children):
            child.close()
        for consumer in self._counters.values():
            consumer.close()
        if failed:
            for child in self.children:
                sys.stderr.write("\n--- %s (%s) stderr:\n%s\n" % (child.name, " ".join(child.args[1:3]), child.tail(60)))
        if failed and os.environ.get("KEEP_TEST_DIRS"):
            sys.stderr.write("kept %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _failed(self):
        result = getattr(getattr(self, "_outcome", None), "result", None)
        if result is None:
            return False
        return any(test is self for test, _ in list(result.failures) + list(result.errors))

    def start_broker(self, topics=(), partitions=None, name="broker", port=None):
        b = Broker(self.dir, topics, partitions, name, port)
        self.children.append(b)
        return b

    def write(self, name, text):
        path = self.dir / name
        path.write_text(text)
        return path

    def run_pipeline(self, text, name="pipeline", env=None, file=None, options=()):
        """Starts `stream-smarts [options] run` on `text` (or on `file`, if given)."""
        path = file or self.write(name + ".toml", text)
        child = Child([BINARY, *options, "run", path], self.dir, name, env=env)
        self.children.append(child)
        return child

    def validate(self, text, name="bad.toml"):
        path = self.write(name, text)
        r = subprocess.run([BINARY, "validate", str(path)], capture_output=True, text=True, timeout=30, cwd=self.dir)
        return r.returncode, r.stdout, r.stderr, path

    def message_count(self, bootstrap, topic):
        """Messages on `topic` now, with one reusable client per broker (for polling loops)."""
        if bootstrap not in self._counters:
            self._counters[bootstrap] = _consumer(bootstrap)
        return message_count(bootstrap, topic, self._counters[bootstrap])
