"""Helpers for the operability tests (metrics, lookoutctl, supervisord, deploy files):
a real Prometheus (Debian `prometheus`) with a generated scrape configuration and its HTTP
query API, promtool, the Prometheus text format, a Kafka cluster from librdkafka's mock API
(the build's publish/mock_kafka), and a raw ZeroMQ sender (libzmq through ctypes) for
malformed internal messages.

Standard library only; every server is a child process stopped by the test's cleanup.
"""

import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse

import lookout

PROMETHEUS_BINARIES = ("/usr/bin/prometheus",)
PROMTOOL_BINARIES = ("/usr/bin/promtool",)


def _binary(candidates, package):
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    found = shutil.which(os.path.basename(candidates[0]))
    if found:
        return found
    raise AssertionError("%s is not installed (Debian package %s; scripts/deps.sh installs it)"
                         % (candidates[0], package))


def consecutive_free_ports(count):
    """The first of count consecutive free ports on 127.0.0.1 (for a base port that copies
    of a program offset by their process number), reserved like lookout.free_ports'."""
    import random
    import socket
    with lookout._port_lock:
        for _ in range(1000):
            base = random.randint(20000, 32000 - count)
            wanted = range(base, base + count)
            if any(port in lookout._ports_given for port in wanted):
                continue
            held = []
            try:
                for port in wanted:
                    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    held.append(probe)
                    probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            finally:
                for probe in held:
                    probe.close()
            lookout._ports_given.update(wanted)
            return base
    raise AssertionError("no %d consecutive free ports" % count)


def promtool(*args, stdin=None, timeout=60):
    """Runs promtool with args; returns (exit status, combined output)."""
    proc = subprocess.run([_binary(PROMTOOL_BINARIES, "prometheus")] + list(args),
                          input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=timeout)
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


# ---- the text exposition format ----------------------------------------------------------

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text):
    """Parses Prometheus text format 0.0.4 strictly enough to catch our mistakes: returns
    {"types": {family: type}, "samples": [(name, {labels}, float)]}; raises AssertionError
    on a malformed line, a sample before its family's TYPE, or a histogram whose buckets are
    not cumulative or whose +Inf bucket differs from _count."""
    types, helps, samples = {}, {}, []
    for number, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert name not in helps, "line %d: second HELP for %s" % (number, name)
            helps[name] = True
            continue
        if line.startswith("# TYPE "):
            parts = line.split(" ")
            assert len(parts) == 4 and parts[3] in ("counter", "gauge", "histogram", "summary",
                                                    "untyped"), "line %d: %r" % (number, line)
            assert parts[2] not in types, "line %d: second TYPE for %s" % (number, parts[2])
            types[parts[2]] = parts[3]
            continue
        if line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        assert match, "line %d is not a sample: %r" % (number, line)
        name, label_text, value = match.group(1), match.group(3) or "", match.group(4)
        labels = {}
        rest = label_text
        while rest:
            lm = _LABEL.match(rest)
            assert lm, "line %d: bad labels %r" % (number, label_text)
            labels[lm.group(1)] = lm.group(2).encode().decode("unicode_escape")
            rest = rest[lm.end():]
            if rest.startswith(","):
                rest = rest[1:]
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and types.get(name[:-len(suffix)]) == "histogram":
                family = name[:-len(suffix)]
        assert family in types, "line %d: sample %s before its TYPE" % (number, name)
        samples.append((name, labels, float(value.replace("+Inf", "inf"))))
    # histograms: cumulative buckets, +Inf == _count
    for family, kind in types.items():
        if kind != "histogram":
            continue
        series = {}
        for name, labels, value in samples:
            if name == family + "_bucket":
                key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
                series.setdefault(key, []).append((float(labels["le"].replace("+Inf", "inf")),
                                                   value))
        for key, buckets in series.items():
            counts = [v for _, v in sorted(buckets)]
            assert counts == sorted(counts), "%s%s: buckets not cumulative" % (family, key)
            assert sorted(buckets)[-1][0] == float("inf"), "%s%s: no +Inf bucket" % (family, key)
            count = [v for name, labels, v in samples if name == family + "_count" and
                     tuple(sorted(labels.items())) == key]
            assert count == [counts[-1]], "%s%s: _count %r != +Inf %r" % (
                family, key, count, counts[-1])
    return {"types": types, "samples": samples}


def scrape(url, headers=None):
    """GETs an exposition; returns (Response, parsed or None)."""
    answer = lookout.http_request(url, headers=headers or {}, timeout=10)
    parsed = parse_exposition(answer.body.decode("utf-8")) if answer.status == 200 else None
    return answer, parsed


# ---- Prometheus ------------------------------------------------------------------------------

class Prometheus:
    """A Prometheus scraping jobs ({job: [host:port, ...]}) every second; query() and
    wait_for() use its HTTP API."""

    def __init__(self, test, jobs, rule_files=()):
        binary = _binary(PROMETHEUS_BINARIES, "prometheus")
        self.dir = tempfile.mkdtemp(prefix="lookout-prometheus-")
        test.addCleanup(shutil.rmtree, self.dir, True)
        lines = ["global:", "  scrape_interval: 1s", "  scrape_timeout: 1s",
                 "  evaluation_interval: 1s"]
        if rule_files:
            lines.append("rule_files:")
            for path in rule_files:
                lines.append("  - %s" % json.dumps(path))
        lines.append("scrape_configs:")
        for job, targets in sorted(jobs.items()):
            lines += ["  - job_name: %s" % json.dumps(job),
                      "    static_configs:",
                      "      - targets: %s" % json.dumps(list(targets))]
        self.config_path = os.path.join(self.dir, "prometheus.yml")
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        self.port = lookout.free_ports(1)[0]
        self.url = "http://127.0.0.1:%d" % self.port
        self.log_path = os.path.join(self.dir, "prometheus.log")
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [binary, "--config.file=" + self.config_path, "--storage.tsdb.path=data",
             "--web.listen-address=127.0.0.1:%d" % self.port],
            cwd=self.dir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=lookout._die_with_parent(signal.SIGKILL))
        log.close()
        test.addCleanup(self.stop)
        deadline = time.monotonic() + 60 * lookout.TIME_SCALE
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("prometheus exited with %s:\n%s" % (
                    self.proc.returncode, self.log_tail()))
            try:
                if lookout.http_request(self.url + "/-/ready", timeout=2).status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("prometheus not ready:\n%s" % self.log_tail())
            time.sleep(0.2)

    def log_tail(self, lines=40):
        return lookout._tail(self.log_path, lines)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def query(self, expr):
        """Instant query; returns [(labels, value)]."""
        answer = lookout.http_request(
            self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}), timeout=10)
        assert answer.status == 200 and answer.json and answer.json.get("status") == "success", \
            "query %r: %r" % (expr, answer)
        return [(item["metric"], float(item["value"][1]))
                for item in answer.json["data"]["result"]]

    def value(self, expr):
        """The single value of expr, None when it has no series (several: their sum)."""
        result = self.query(expr)
        return sum(v for _, v in result) if result else None

    def wait_for(self, expr, predicate, timeout=30.0, what=None):
        """Waits until predicate(value(expr)) holds; returns the value."""
        deadline = time.monotonic() + timeout * lookout.TIME_SCALE
        value = None
        while time.monotonic() < deadline:
            value = self.value(expr)
            if value is not None and predicate(value):
                return value
            time.sleep(0.25)
        raise AssertionError("%s: %s stayed at %r for %.0f s" % (
            what or "condition", expr, value, timeout * lookout.TIME_SCALE))

    def targets(self):
        answer = lookout.http_request(self.url + "/api/v1/targets", timeout=10)
        assert answer.status == 200, answer
        return answer.json["data"]["activeTargets"]


# ---- Kafka (librdkafka mock cluster) ---------------------------------------------------------

class MockKafka:
    """publish/mock_kafka from the build: one broker; .bootstrap is its address."""

    def __init__(self, test, topics=("lookout.incidents", "service_events")):
        path = os.path.join(lookout.BIN_DIR, "publish", "mock_kafka")
        if not os.access(path, os.X_OK):
            raise AssertionError("%s not built (target mock_kafka)" % path)
        self.proc = subprocess.Popen([path, "1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL,
                                     preexec_fn=lookout._die_with_parent(signal.SIGKILL))
        test.addCleanup(self.stop)
        self.bootstrap = self.proc.stdout.readline().decode().strip()
        assert self.bootstrap, "mock_kafka printed no bootstrap servers"
        for topic in topics:
            self.command("topic %s 1 1" % topic)

    def command(self, line):
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().decode().strip()
        assert answer == "ok", "mock_kafka %r: %r" % (line, answer)

    def stop(self):
        lookout.stop_stdin_child(self.proc, 5)


# ---- raw ZeroMQ ------------------------------------------------------------------------------

_ZMQ_DEALER = 5
_ZMQ_LINGER = 17


def zmq_send_raw(endpoint, frames, linger_ms=2000):
    """Connects a DEALER to endpoint (tcp://host:port) and sends frames (bytes) as one
    message: for feeding a process bytes that are not an lk_msg."""
    libzmq = ctypes.CDLL("libzmq.so.5")
    libzmq.zmq_ctx_new.restype = ctypes.c_void_p
    libzmq.zmq_socket.restype = ctypes.c_void_p
    libzmq.zmq_socket.argtypes = [ctypes.c_void_p, ctypes.c_int]
    libzmq.zmq_connect.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    libzmq.zmq_send.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
    libzmq.zmq_setsockopt.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                                      ctypes.c_size_t]
    libzmq.zmq_close.argtypes = [ctypes.c_void_p]
    libzmq.zmq_ctx_term.argtypes = [ctypes.c_void_p]
    context = libzmq.zmq_ctx_new()
    socket = libzmq.zmq_socket(context, _ZMQ_DEALER)
    linger = ctypes.c_int(linger_ms)
    libzmq.zmq_setsockopt(socket, _ZMQ_LINGER, ctypes.byref(linger), ctypes.sizeof(linger))
    assert libzmq.zmq_connect(socket, endpoint.encode()) == 0, "zmq_connect %s" % endpoint
    for index, frame in enumerate(frames):
        more = 2 if index + 1 < len(frames) else 0  # ZMQ_SNDMORE
        assert libzmq.zmq_send(socket, frame, len(frame), more) == len(frame)
    libzmq.zmq_close(socket)  # linger: delivered before the context ends
    libzmq.zmq_ctx_term(context)
