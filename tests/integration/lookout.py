"""Harness for Lookout's end-to-end tests: real programs, real databases, standard library only.

A test asks for a running Lookout with `self.start_lookout(...)` (see LookoutTestCase) and gets a
Cluster: lookout-store, lookout-correlate and lookout-ingest started from the build tree, either
directly as child processes or under supervisord with the repository's supervisord.conf, each
on free 127.0.0.1 ports, with a fresh database (a SQLite file in a temporary directory, or a
new database on the PostgreSQL server named by LOOKOUT_TEST_PG_URL). start() returns once
/healthz answers and an alert for a dedicated probe tenant went through the whole pipeline.

The Cluster offers HTTP helpers with the service token or a JWT, direct database queries,
supervisorctl, and lookout-tap readers. Every process logs into the cluster's directory; when
a test fails, main() prints the tail of each log. Each test file ends with
`if __name__ == "__main__": lookout.main()`, which prints "N passed, N failed" and exits
non-zero on any failure.

Environment: LOOKOUT_BIN_DIR (the CMake build directory; default <repo>/build),
LOOKOUT_SOURCE_DIR (default: two levels above this file), LOOKOUT_TEST_PG_URL (PostgreSQL
tests; unset = those tests fail), LOOKOUT_TEST_KEEP=1 (keep temporary directories and test
databases), LOOKOUT_TEST_LOG_LEVEL (the programs' LOOKOUT_LOG_LEVEL, default info).
"""

import base64
import ctypes
import hashlib
import hmac
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

SOURCE_DIR = os.path.abspath(
    os.environ.get("LOOKOUT_SOURCE_DIR")
    or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BIN_DIR = os.path.abspath(os.environ.get("LOOKOUT_BIN_DIR") or os.path.join(SOURCE_DIR, "build"))
KEEP = os.environ.get("LOOKOUT_TEST_KEEP", "") not in ("", "0", "false")

PROGRAMS = ("lookout-store", "lookout-correlate", "lookout-ingest")
PROBE_TENANT = "ffffffff-ffff-4fff-8fff-ffffffffffff"
SYSTEM_TENANT = "00000000-0000-0000-0000-000000000001"

# Secrets and configuration the programs read: never inherited from the caller's environment.
_CONFIG_PREFIXES = ("LOOKOUT_", "SERVICE_TOKEN", "JWT_SECRET")


class HarnessError(Exception):
    """The environment cannot run this test (missing binary, missing PostgreSQL, ...)."""


def build_setting(name, default=""):
    """The value of a CMake cache entry of the build under test (BIN_DIR), or default."""
    prefix = name + ":"
    try:
        with open(os.path.join(BIN_DIR, "CMakeCache.txt"), encoding="utf-8") as cache:
            for line in cache:
                if line.startswith(prefix):
                    return line.strip().split("=", 1)[1]
    except OSError:
        pass
    return default


# A sanitizer build (LOOKOUT_SANITIZE=ON) runs everything slower.
TIME_SCALE = 3.0 if build_setting("LOOKOUT_SANITIZE") == "ON" else 1.0


def find_binary(name):
    """Path of a program in the build tree (store/, correlate/, ingest/, common/ or top)."""
    for folder in ("store", "correlate", "ingest", "common", "notify", "publish", "", "bin"):
        path = os.path.join(BIN_DIR, folder, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise HarnessError("%s not found under %s (build the project first, or set LOOKOUT_BIN_DIR "
                       "to the CMake build directory)" % (name, BIN_DIR))


# ---- ports, processes -----------------------------------------------------------------------

_port_lock = threading.Lock()
_ports_given = set()


def free_ports(count):
    """count distinct TCP ports free on 127.0.0.1, below the kernel's ephemeral range (so
    outgoing connections do not take them meanwhile) and never handed out twice by this
    process. Sockets stay bound until all are chosen so the picks are distinct."""
    held = []
    ports = []
    with _port_lock:
        try:
            while len(ports) < count:
                port = random.randint(20000, 32000)
                if port in _ports_given:
                    continue
                probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    probe.close()
                    continue
                held.append(probe)
                ports.append(port)
                _ports_given.add(port)
        finally:
            for probe in held:
                probe.close()
    return ports


_libc = None


def _die_with_parent(sig):
    """preexec_fn: the child gets sig when the (spawning thread of the) test process dies, so
    a test killed by ctest's timeout leaves nothing behind."""
    global _libc

    def setup():
        global _libc
        try:
            if _libc is None:
                _libc = ctypes.CDLL(None, use_errno=True)
            _libc.prctl(1, int(sig), 0, 0, 0)  # PR_SET_PDEATHSIG
        except Exception:  # best effort: not every platform has prctl
            pass
    return setup


def stop_stdin_child(proc, timeout):
    """Stops a helper that exits when its stdin closes (the mock Kafka cluster, kafka_tail):
    closes stdin, waits up to timeout seconds, then kills it."""
    if proc.poll() is not None:
        return
    try:
        proc.stdin.close()
    except OSError:
        pass
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _tail(path, lines=150):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        return "(cannot read: %s)" % exc
    text = data.decode("utf-8", "replace").splitlines()
    skipped = len(text) - lines
    shown = text[-lines:]
    head = ["... (%d earlier lines)" % skipped] if skipped > 0 else []
    return "\n".join(head + shown)


# ---- PostgreSQL -------------------------------------------------------------------------------

def pg_admin_url():
    url = os.environ.get("LOOKOUT_TEST_PG_URL", "")
    if not url:
        raise HarnessError(
            "LOOKOUT_TEST_PG_URL is not set: this test needs a PostgreSQL server. Run the tests "
            "with scripts/test.sh (which starts a private one), or export "
            "LOOKOUT_TEST_PG_URL=postgresql://user@host:port/postgres")
    return url


def _pg_url_with_database(url, database):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, ""))


def psql(url, sql, timeout=60):
    """Runs sql with psql against url; returns the rows as lists of strings (unaligned,
    tuples only). Raises AssertionError with psql's message on failure."""
    if shutil.which("psql") is None:
        raise HarnessError("psql not found (install postgresql-client; scripts/deps.sh does)")
    proc = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-F", "\x1f", "-v", "ON_ERROR_STOP=1", "-d", url,
         "-c", sql],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError("psql failed (%d) for %r: %s" % (
            proc.returncode, sql, proc.stderr.decode("utf-8", "replace").strip()))
    out = proc.stdout.decode("utf-8")
    return [line.split("\x1f") for line in out.split("\n") if line != ""]


class PgDatabase:
    """A fresh database on the test server, dropped again by drop()."""

    _counter = 0

    def __init__(self, admin_url=None):
        self.admin_url = admin_url or pg_admin_url()
        PgDatabase._counter += 1
        self.name = "lookout_t%d_%d_%s" % (os.getpid(), PgDatabase._counter,
                                           uuid.uuid4().hex[:8])
        psql(self.admin_url, 'CREATE DATABASE "%s"' % self.name)
        self.url = _pg_url_with_database(self.admin_url, self.name)

    def drop(self):
        if KEEP:
            print("keeping PostgreSQL database %s" % self.name, file=sys.stderr)
            return
        psql(self.admin_url, 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.name)


# ---- JWT, fingerprints ------------------------------------------------------------------------

def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwt_hs256(secret, claims, header=None):
    """An HS256 JWT over claims (dict), signed with secret. header overrides the JOSE header
    (e.g. {"alg": "none"} for negative tests; the signature stays HS256)."""
    header = header if header is not None else {"alg": "HS256", "typ": "JWT"}
    signing_input = (_b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     _b64url(json.dumps(claims, separators=(",", ":")).encode()))
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64url(signature)


FNV64_OFFSET = 14695981039346656037
FNV64_PRIME = 1099511628211


def fingerprint(labels):
    """Alertmanager's label-set fingerprint: FNV-1a 64 over the pairs sorted by name, each
    name 0xFF value 0xFF, rendered %016x."""
    h = FNV64_OFFSET
    for name in sorted(labels, key=lambda n: n.encode()):
        for byte in name.encode() + b"\xff" + labels[name].encode() + b"\xff":
            h ^= byte
            h = (h * FNV64_PRIME) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def sigcont(pid):
    """Lets a SIGSTOPped process go on; a process that has gone meanwhile is fine."""
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass


def new_tenant():
    return str(uuid.uuid4())


def is_uuid(text):
    return isinstance(text, str) and re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text) is not None


RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


# ---- HTTP -----------------------------------------------------------------------------------

class Response:
    """status, headers (lower-case names), body (bytes), json (parsed or None)."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except (ValueError, UnicodeDecodeError):
            self.json = None

    def __repr__(self):
        text = self.body[:600].decode("utf-8", "replace")
        return "<HTTP %d %s>" % (self.status, text)


def http_request(url, method="GET", body=None, headers=None, timeout=30):
    """One HTTP exchange. body: bytes/str sent as is, anything else JSON-encoded. Returns a
    Response for every HTTP status; raises OSError (URLError, ConnectionError, timeout) when
    no HTTP answer came."""
    headers = dict(headers or {})
    data = None
    if body is not None:
        if isinstance(body, str):
            data = body.encode("utf-8")
        elif isinstance(body, bytes):
            data = body
        else:
            data = json.dumps(body).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return Response(answer.status, dict(answer.headers), answer.read())
    except urllib.error.HTTPError as answer:
        try:
            payload = answer.read()
        finally:
            answer.close()
        return Response(answer.code, dict(answer.headers or {}), payload)


# ---- taps -----------------------------------------------------------------------------------

class TapReader:
    """Runs `lookout-tap ENDPOINT...` and collects its JSON lines ({"at", "label", "msg"})."""

    def __init__(self, endpoints, log_path):
        self.lines = []
        self.bad_lines = []
        self._cond = threading.Condition()
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [find_binary("lookout-tap")] + list(endpoints),
            stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent(signal.SIGKILL))
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for raw in self.proc.stdout:
            text = raw.decode("utf-8", "replace").strip()
            if not text:
                continue
            try:
                item = json.loads(text)
            except ValueError:
                item = None
            with self._cond:
                if isinstance(item, dict):
                    self.lines.append(item)
                else:
                    self.bad_lines.append(text)
                self._cond.notify_all()

    def matching(self, predicate):
        with self._cond:
            return [line for line in self.lines if predicate(line)]

    def wait_for(self, predicate, timeout=10.0, count=1):
        """Waits until at least count lines satisfy predicate; returns them (maybe fewer on
        timeout)."""
        deadline = time.monotonic() + timeout * TIME_SCALE
        with self._cond:
            while True:
                found = [line for line in self.lines if predicate(line)]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    return found
                self._cond.wait(min(left, 0.2))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._thread.join(timeout=5)
        self._log.close()
        return self.proc.returncode


# ---- the cluster ----------------------------------------------------------------------------

_clusters_by_test = {}
_temp_dirs = []


class Cluster:
    """One running Lookout: three programs, their ports, database and logs.

    backend: "sqlite" or "postgresql". supervised: run under supervisord (the repository's
    supervisord.conf) instead of as direct children. taps: bind LOOKOUT_*_TAP endpoints.
    env: extra/overriding variables for the programs. pg_admin_url: the PostgreSQL server for
    the test database (default LOOKOUT_TEST_PG_URL), for a test that runs its own."""

    def __init__(self, owner_id, backend="sqlite", supervised=False, taps=False, env=None,
                 probe=True, pg_admin_url=None):
        assert backend in ("sqlite", "postgresql")
        self.backend = backend
        self.supervised = supervised
        self.probe = probe
        self.procs = {}
        self.supervisord = None
        self.taps = []
        self.unclean_exits = []
        self.pg = None
        self.sqlite_path = None
        self._stopped = False
        if backend == "postgresql":
            self.pg = PgDatabase(pg_admin_url)  # first: a missing server fails early
        self.dir = tempfile.mkdtemp(prefix="lookout-it-")
        _temp_dirs.append(self.dir)
        self.log_dir = os.path.join(self.dir, "log")
        os.makedirs(self.log_dir)
        _clusters_by_test.setdefault(owner_id, []).append(self)

        ports = free_ports(8)
        self.http_port = ports[0]
        self.url = "http://127.0.0.1:%d" % self.http_port
        self.service_token = "st-" + uuid.uuid4().hex
        self.jwt_secret = "js-" + uuid.uuid4().hex + uuid.uuid4().hex
        if backend == "sqlite":
            self.sqlite_path = os.path.join(self.dir, "lookout.db")
            database_url = "sqlite:" + self.sqlite_path
        else:
            database_url = self.pg.url

        env_base = {k: v for k, v in os.environ.items() if not k.startswith(_CONFIG_PREFIXES)}
        config = {
            "LOOKOUT_LOG_LEVEL": os.environ.get("LOOKOUT_TEST_LOG_LEVEL", "info"),
            "LOOKOUT_DATABASE_URL": database_url,
            "LOOKOUT_STORE_ENDPOINT": "tcp://127.0.0.1:%d" % ports[1],
            "LOOKOUT_STORE_QUERY_ENDPOINT": "tcp://127.0.0.1:%d" % ports[2],
            "LOOKOUT_STORE_EVENTS_ENDPOINT": "tcp://127.0.0.1:%d" % ports[3],
            "LOOKOUT_CORRELATE_ENDPOINT": "tcp://127.0.0.1:%d" % ports[4],
            "LOOKOUT_HTTP_ADDRESS": "127.0.0.1",
            "LOOKOUT_HTTP_PORT": str(self.http_port),
            "LOOKOUT_HTTP_THREADS": "8",
            "LOOKOUT_DEV_MODE": "false",
            "SERVICE_TOKEN": self.service_token,
            "JWT_SECRET": self.jwt_secret,
        }
        # Clusters of parallel tests must not compete for the default metrics ports: every
        # program's endpoint is off (port 0) unless the test asks for it through env.
        for program in ("STORE", "CORRELATE", "INGEST", "ESCALATE", "NOTIFY", "PUBLISH", "RULES"):
            config["LOOKOUT_%s_METRICS_PORT" % program] = "0"
        if taps:
            config["LOOKOUT_INGEST_TAP"] = "tcp://127.0.0.1:%d" % ports[5]
            config["LOOKOUT_CORRELATE_TAP"] = "tcp://127.0.0.1:%d" % ports[6]
            config["LOOKOUT_STORE_TAP"] = "tcp://127.0.0.1:%d" % ports[7]
        config.update(env or {})
        self.config = config
        self.env = dict(env_base, **config)
        with open(os.path.join(self.dir, "env"), "w", encoding="utf-8") as f:
            for key in sorted(config):
                f.write("%s=%s\n" % (key, config[key]))

    # -- lifecycle --

    def start(self, timeout=60.0):
        for name in PROGRAMS:
            find_binary(name)  # fail early and clearly when the build is incomplete
        if self.supervised:
            self._start_supervised()
        else:
            for name in PROGRAMS:
                self._start_direct(name)
        self.wait_ready(timeout)
        if self.supervised:
            for name in PROGRAMS:
                self.wait_running(name, timeout=timeout)
        return self

    def _start_direct(self, name):
        log = open(os.path.join(self.log_dir, name + ".log"), "ab")
        proc = subprocess.Popen(
            [find_binary(name)], env=self.env, cwd=self.dir, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent(signal.SIGKILL))
        log.close()
        self.procs[name] = proc

    def _supervisor_env(self):
        return dict(self.env, LOOKOUT_BIN_DIR=BIN_DIR, LOOKOUT_VAR_DIR=self.dir)

    def _start_supervised(self):
        if shutil.which("supervisord") is None:
            raise HarnessError("supervisord not found (scripts/deps.sh installs supervisor)")
        self.conf = os.path.join(SOURCE_DIR, "supervisord.conf")
        log = open(os.path.join(self.log_dir, "supervisord.out"), "ab")
        self.supervisord = subprocess.Popen(
            ["supervisord", "-n", "-c", self.conf], env=self._supervisor_env(), cwd=self.dir,
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent(signal.SIGTERM))
        log.close()

    def _check_alive(self):
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise AssertionError("%s exited with status %s during start-up; its log:\n%s" % (
                    name, proc.returncode, _tail(os.path.join(self.log_dir, name + ".log"), 60)))
        if self.supervisord is not None and self.supervisord.poll() is not None:
            raise AssertionError("supervisord exited with status %s:\n%s" % (
                self.supervisord.returncode,
                _tail(os.path.join(self.log_dir, "supervisord.out"), 60)))

    def wait_ready(self, timeout=60.0):
        """Waits for /healthz, then for a probe alert to be committed (202) and the incident
        list to answer: the whole pipeline works."""
        deadline = time.monotonic() + timeout * TIME_SCALE
        last = "nothing tried"
        stage = "healthz"
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if stage == "healthz":
                    answer = http_request(self.url + "/healthz", timeout=5)
                    last = "GET /healthz: %r" % answer
                    if answer.status == 200:
                        stage = "probe" if self.probe else "list"
                        continue
                elif stage == "probe":
                    answer = self.post_alerts(
                        {"name": "LookoutTestProbe", "labels": {"probe": "1"}},
                        tenant=PROBE_TENANT, timeout=10)
                    last = "POST /alerts (probe): %r" % answer
                    if answer.status == 202:
                        stage = "list"
                        continue
                else:
                    answer = self.get("/incidents", tenant=PROBE_TENANT, timeout=10)
                    last = "GET /incidents (probe): %r" % answer
                    if answer.status == 200:
                        return
            except OSError as exc:
                last = "%s: %s" % (stage, exc)
            time.sleep(0.2)
        raise AssertionError("Lookout did not become ready within %.0f s (stage %s; last: %s)" % (
            timeout * TIME_SCALE, stage, last))

    def stop(self):
        """Stops everything (SIGTERM, then SIGKILL after a grace period), records programs
        that did not exit cleanly on SIGTERM in self.unclean_exits, drops the test database."""
        if self._stopped:
            return
        self._stopped = True
        for tap in self.taps:
            tap.stop()
        if self.supervisord is not None:
            self._stop_supervised()
        for name in reversed(PROGRAMS):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                if proc is not None and proc.returncode != 0:
                    self.unclean_exits.append("%s had already exited with status %s" % (
                        name, proc.returncode))
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15 * TIME_SCALE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                self.unclean_exits.append("%s did not exit within %.0f s of SIGTERM" % (
                    name, 15 * TIME_SCALE))
                continue
            if proc.returncode != 0:
                self.unclean_exits.append("%s exited with status %s on SIGTERM" % (
                    name, proc.returncode))
        if self.pg is not None:
            try:
                self.pg.drop()
            except (AssertionError, OSError, subprocess.SubprocessError) as exc:
                print("warning: could not drop %s: %s" % (self.pg.name, exc), file=sys.stderr)

    def _stop_supervised(self):
        known = {}
        if self.supervisord.poll() is None:
            for name in PROGRAMS:
                try:
                    pid = self.pid(name)
                except (AssertionError, OSError, subprocess.SubprocessError):
                    pid = 0
                if pid:
                    known[name] = pid
            self.supervisord.send_signal(signal.SIGTERM)
            try:
                self.supervisord.wait(timeout=40 * TIME_SCALE)
            except subprocess.TimeoutExpired:
                self.supervisord.kill()
                self.supervisord.wait()
                self.unclean_exits.append("supervisord did not stop within %.0f s" % (
                    40 * TIME_SCALE))
        for name, pid in known.items():
            try:
                os.kill(pid, signal.SIGKILL)
                self.unclean_exits.append("%s (pid %d) outlived supervisord" % (name, pid))
            except ProcessLookupError:
                pass
        # supervisord logs "stopped: NAME (exit status N)" for each program it stopped.
        log = os.path.join(self.log_dir, "supervisord.log")
        try:
            with open(log, encoding="utf-8", errors="replace") as f:
                for line in f:
                    m = re.search(r"stopped: (\S+) \((.*)\)", line)
                    if m and m.group(2) != "exit status 0":
                        self.unclean_exits.append("%s stopped with %s" % (m.group(1),
                                                                           m.group(2)))
        except OSError:
            pass

    def log_paths(self):
        return sorted(os.path.join(self.log_dir, name) for name in os.listdir(self.log_dir))

    def dump_logs(self, lines=150, out=None):
        out = out or sys.stdout
        print("==== Lookout logs in %s (%s, %s) ====" % (
            self.log_dir, self.backend, "supervisord" if self.supervised else "direct"),
            file=out)
        for path in self.log_paths():
            if path.endswith("supervisord.out") and os.path.exists(
                    os.path.join(self.log_dir, "supervisord.log")):
                continue  # the same lines as supervisord.log
            print("---- %s ----" % os.path.basename(path), file=out)
            print(_tail(path, lines), file=out)
        out.flush()

    # -- supervisorctl --

    def supervisorctl(self, *args, check=True):
        """Runs supervisorctl against this cluster's supervisord; returns its stdout."""
        assert self.supervised, "supervisorctl needs a supervised cluster"
        proc = subprocess.run(["supervisorctl", "-c", self.conf] + list(args),
                              env=self._supervisor_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=30)
        out = proc.stdout.decode("utf-8", "replace")
        # supervisorctl exits 3 for "not running" states; that is an answer, not an error.
        if check and proc.returncode not in (0, 3):
            raise AssertionError("supervisorctl %s failed (%d): %s" % (
                " ".join(args), proc.returncode, out))
        return out

    def pid(self, name):
        """The program's pid according to supervisord (0 when not running)."""
        out = self.supervisorctl("pid", name).strip()
        try:
            return int(out.splitlines()[-1])
        except (ValueError, IndexError):
            raise AssertionError("supervisorctl pid %s: unexpected answer %r" % (name, out))

    def state(self, name):
        """supervisord's state of the program: RUNNING, STARTING, BACKOFF, EXITED, ..."""
        out = self.supervisorctl("status", name)
        for line in out.splitlines():
            fields = line.split()
            if len(fields) >= 2 and fields[0] == name:
                return fields[1]
        raise AssertionError("supervisorctl status %s: unexpected answer %r" % (name, out))

    def wait_running(self, name, not_pid=None, timeout=30.0):
        """Waits until supervisord reports name RUNNING with a pid other than not_pid;
        returns that pid."""
        deadline = time.monotonic() + timeout * TIME_SCALE
        state, pid = "?", 0
        while time.monotonic() < deadline:
            state = self.state(name)
            if state == "RUNNING":
                pid = self.pid(name)
                if pid and pid != not_pid:
                    return pid
            time.sleep(0.2)
        raise AssertionError("%s not RUNNING with a new pid within %.0f s (state %s, pid %s, "
                             "old pid %s)" % (name, timeout * TIME_SCALE, state, pid, not_pid))

    # -- HTTP --

    def headers(self, tenant=None, token=None, jwt_claims=None):
        """Auth headers: the service token + X-Tenant-ID (default), a JWT for jwt_claims, or
        token as the bearer value; tenant=None with the service token sends no X-Tenant-ID."""
        headers = {}
        if jwt_claims is not None:
            headers["Authorization"] = "Bearer " + jwt_hs256(self.jwt_secret, jwt_claims)
        else:
            headers["Authorization"] = "Bearer " + (token or self.service_token)
        if tenant is not None:
            headers["X-Tenant-ID"] = tenant
        return headers

    def jwt(self, tenant, sub="test-user", ttl_s=3600, **extra):
        claims = {"tenant_id": tenant, "sub": sub, "iat": int(time.time()),
                  "exp": int(time.time()) + ttl_s}
        claims.update(extra)
        return jwt_hs256(self.jwt_secret, claims)

    def request(self, method, path, body=None, tenant=None, headers=None, timeout=30):
        """HTTP request to ingest. headers=None: service token + X-Tenant-ID tenant; else
        exactly the given headers (auth tests)."""
        if headers is None:
            headers = self.headers(tenant=tenant)
        return http_request(self.url + path, method=method, body=body, headers=headers,
                            timeout=timeout)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def post_alerts(self, alerts, **kw):
        return self.request("POST", "/alerts", body=alerts, **kw)

    def post_alerts_until_accepted(self, alerts, tenant, deadline_s=60.0, timeout=15,
                                   abandon=None):
        """Posts the same body until a 2xx answer (retrying on 5xx and connection errors, as a
        sender must). Returns (response, attempts). A 4xx is returned at once. Raises
        AssertionError after deadline_s, or when the threading.Event abandon is set."""
        deadline = time.monotonic() + deadline_s * TIME_SCALE
        attempts = 0
        last = None
        while True:
            if abandon is not None and abandon.is_set():
                raise AssertionError("abandoned after %d attempts; last: %s" % (attempts, last))
            attempts += 1
            try:
                answer = self.post_alerts(alerts, tenant=tenant, timeout=timeout)
                if answer.status < 500:
                    return answer, attempts
                last = repr(answer)
            except OSError as exc:
                last = str(exc)
            if time.monotonic() > deadline:
                raise AssertionError("alerts not accepted within %.0f s after %d attempts; "
                                     "last: %s" % (deadline_s * TIME_SCALE, attempts, last))
            time.sleep(0.1)

    def incident(self, incident_id, tenant):
        answer = self.get("/incidents/" + incident_id, tenant=tenant)
        assert answer.status == 200, "GET /incidents/%s: %r" % (incident_id, answer)
        return answer.json

    def incidents(self, tenant, query=""):
        """Every incident of tenant (following next_cursor)."""
        found = []
        cursor = None
        for _ in range(1000):
            params = query
            if cursor:
                params += ("&" if params else "") + "cursor=" + urllib.parse.quote(cursor)
            answer = self.get("/incidents" + ("?" + params if params else ""), tenant=tenant)
            assert answer.status == 200, "GET /incidents?%s: %r" % (params, answer)
            found.extend(answer.json["incidents"])
            cursor = answer.json.get("next_cursor")
            if not cursor:
                return found
        raise AssertionError("GET /incidents pagination did not end")

    # -- taps --

    def tap(self, *endpoints):
        """Starts lookout-tap on the given endpoints (default: every tap of this cluster)."""
        if not endpoints:
            endpoints = [self.config[k] for k in
                         ("LOOKOUT_INGEST_TAP", "LOOKOUT_CORRELATE_TAP", "LOOKOUT_STORE_TAP")
                         if k in self.config]
        reader = TapReader(endpoints, os.path.join(self.log_dir, "lookout-tap.err"))
        self.taps.append(reader)
        return reader

    # -- database --

    def db_query(self, sql):
        """Runs a read-only query on the cluster's database; rows as tuples of strings (None
        for NULL on SQLite, "" on PostgreSQL)."""
        if self.backend == "sqlite":
            conn = sqlite3.connect("file:%s?mode=ro" % self.sqlite_path, uri=True, timeout=30)
            try:
                rows = conn.execute(sql).fetchall()
            finally:
                conn.close()
            return [tuple(None if v is None else str(v) for v in row) for row in rows]
        return [tuple(row) for row in psql(self.pg.url, sql)]

    def db_scalar(self, sql):
        rows = self.db_query(sql)
        assert len(rows) == 1 and len(rows[0]) == 1, "%s: expected one value, got %r" % (
            sql, rows[:5])
        return rows[0][0]

    def db_count(self, sql):
        return int(self.db_scalar(sql))


# ---- test cases and the runner --------------------------------------------------------------

class LookoutTestCase(unittest.TestCase):
    """Base class: start_lookout() gives a started Cluster that is stopped after the test;
    a program that does not exit cleanly on SIGTERM fails the test."""

    maxDiff = 4000

    def start_lookout(self, timeout=60.0, **kw):
        """A started Cluster (keyword arguments as for Cluster); stopped after the test."""
        problem = None
        try:
            cluster = Cluster(self.id(), **kw)
        except HarnessError as exc:
            problem = str(exc)
        if problem:
            self.fail(problem)
        self.addCleanup(self._stop_cluster, cluster)
        try:
            cluster.start(timeout=timeout)
        except HarnessError as exc:
            problem = str(exc)
        if problem:
            self.fail(problem)
        return cluster

    def _stop_cluster(self, cluster):
        cluster.stop()
        if cluster.unclean_exits:
            self.fail("unclean shutdown: " + "; ".join(cluster.unclean_exits))

    def require_pg(self):
        try:
            return pg_admin_url()
        except HarnessError as exc:
            self.fail(str(exc))

    def assertStatus(self, answer, status, what=""):
        if answer.status != status:
            self.fail("%sexpected HTTP %d, got %r" % (what + ": " if what else "", status, answer))

    def assertErrorBody(self, answer, status, what=""):
        """answer is status with the documented error shape {"error": str, "detail": ...}."""
        self.assertStatus(answer, status, what)
        self.assertIsInstance(answer.json, dict, "%s: error body is not a JSON object: %r" % (
            what, answer))
        self.assertIsInstance(answer.json.get("error"), str, "%s: no 'error' string: %r" % (
            what, answer))
        self.assertIn("detail", answer.json, "%s: no 'detail' member: %r" % (what, answer))
        self.assertTrue(answer.headers.get("content-type", "").startswith("application/json"),
                        "%s: Content-Type %r" % (what, answer.headers.get("content-type")))


class _Result(unittest.TextTestResult):
    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.failed_ids = set()

    def addError(self, test, err):
        super().addError(test, err)
        self.failed_ids.add(test.id())

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.failed_ids.add(test.id())

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self.failed_ids.add(test.id())

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.failed_ids.add(test.id())


def _interrupted(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def _cleanup():
    for clusters in _clusters_by_test.values():
        for cluster in clusters:
            try:
                cluster.stop()  # normally done already by the test's cleanup
            except Exception as exc:  # keep cleaning up the others
                print("warning: stopping a cluster failed: %s" % exc, file=sys.stderr)
    if not KEEP:
        for path in _temp_dirs:
            shutil.rmtree(path, ignore_errors=True)
    elif _temp_dirs:
        print("kept: %s" % " ".join(_temp_dirs))


def main():
    """Runs the calling module's tests; prints logs of failed tests' clusters, then
    "N passed, N failed"; exits 1 on any failure (or when no test ran). SIGTERM (a ctest
    timeout) stops every process the tests started before exiting."""
    signal.signal(signal.SIGTERM, _interrupted)
    runner = unittest.TextTestRunner(verbosity=2, resultclass=_Result, stream=sys.stdout)
    try:
        program = unittest.main(module="__main__", testRunner=runner, exit=False)
    except KeyboardInterrupt as exc:
        print("\ninterrupted (%s): stopping everything" % exc)
        _cleanup()
        print("0 passed, 1 failed")
        sys.exit(1)
    result = program.result
    for test_id in sorted(result.failed_ids):
        for cluster in _clusters_by_test.get(test_id, []):
            print("\n#### logs of %s" % test_id)
            cluster.dump_logs()
    _cleanup()
    failed = len(result.failed_ids)
    passed = result.testsRun - failed - len(result.skipped)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or result.testsRun == 0 else 0)
