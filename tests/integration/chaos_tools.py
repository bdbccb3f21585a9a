"""Helpers for the fault-tolerance tests (test_chaos.py): a load generator of unique alerts
that retries until 2xx, an SSE follower that reconnects with Last-Event-ID, a Kafka reader
(publish/kafka_tail), a private PostgreSQL server a test may stop and start, and resident
memory from /proc.

Standard library only.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import lookout
from sse_tools import SseStream


# ---- load ---------------------------------------------------------------------------------------

class AlertLoad:
    """CLIENTS threads posting unique alerts in batches, each batch for one tenant, retrying the
    same batch on 5xx and connection errors until a 2xx (as a sender must).

    Alert k of a tenant is named "Chaos<k // per_group>", so the tenants' incidents (one per
    group key) keep opening while the load runs. acked: fingerprint -> (tenant, alertname,
    time.monotonic() of the 2xx). answers: status -> count of every answer received (a
    connection error counts as 0). rate: alerts per second at most (None: as fast as
    ingest answers). allowance: how many alerts may be handed out so far (a test raises it
    to keep the load in step with what it does meanwhile)."""

    def __init__(self, cluster, tenants, total, per_group, clients=4, batch=10, deadline_s=300,
                 rate=None):
        self.cluster = cluster
        self.tenants = list(tenants)
        self.total = total
        self.per_group = per_group
        self.batch = batch
        self.deadline_s = deadline_s
        self.interval_s = batch * clients / rate if rate else 0.0
        self.lock = threading.Lock()
        self.acked = {}
        self.answers = {}
        self.problems = []
        self.requests = 0
        self.next_index = 0  # alerts handed out so far (over all tenants)
        self.allowance = total
        self.stop = threading.Event()
        self.pause = threading.Event()  # set: clients wait before their next batch
        self.abandon = threading.Event()
        self.threads = [threading.Thread(target=self._client, args=(n,), daemon=True)
                        for n in range(clients)]

    def start(self):
        self.started = time.monotonic()
        for thread in self.threads:
            thread.start()
        return self

    def _take(self):
        """The next batch: (tenant, [alert, ...]), or None when done (or stopped)."""
        while True:
            with self.lock:
                if self.next_index >= self.total or self.stop.is_set():
                    return None
                if self.next_index < self.allowance:
                    first = self.next_index
                    count = min(self.batch, self.total - first)
                    self.next_index += count
                    break
            time.sleep(0.05)
        # batches go round the tenants; within a tenant alert numbers increase
        round_number, tenant_number = divmod(first // self.batch, len(self.tenants))
        tenant = self.tenants[tenant_number]
        alerts = []
        for offset in range(count):
            index = round_number * self.batch + offset
            name = "Chaos%d" % (index // self.per_group)
            alerts.append({"name": name, "severity": "critical",
                           "labels": {"seq": str(index), "tenant_number": str(tenant_number)},
                           "annotations": {"summary": "chaos test alert %d" % index}})
        return tenant, alerts

    def _post(self, tenant, alerts):
        deadline = time.monotonic() + self.deadline_s * lookout.TIME_SCALE
        last = None
        while True:
            if self.abandon.is_set():
                raise AssertionError("abandoned; last answer: %s" % last)
            with self.lock:
                self.requests += 1
            try:
                answer = self.cluster.post_alerts(alerts, tenant=tenant, timeout=15)
                status = answer.status
                last = repr(answer)
            except OSError as exc:
                answer, status, last = None, 0, str(exc)
            with self.lock:
                self.answers[status] = self.answers.get(status, 0) + 1
            if answer is not None and answer.status < 500:
                return answer
            if time.monotonic() > deadline:
                raise AssertionError("batch not accepted within %.0f s; last: %s" % (
                    self.deadline_s * lookout.TIME_SCALE, last))
            time.sleep(0.2 if status == 503 else 0.1)

    def _client(self, number):
        next_at = time.monotonic()
        while not self.stop.is_set():
            if self.interval_s:
                next_at = max(next_at + self.interval_s, time.monotonic() - 1.0)
                time.sleep(max(0.0, next_at - time.monotonic()))
            while self.pause.is_set() and not self.stop.is_set():
                time.sleep(0.05)
            work = self._take()
            if work is None:
                return
            tenant, alerts = work
            try:
                answer = self._post(tenant, alerts)
            except AssertionError as exc:
                with self.lock:
                    self.problems.append("client %d: %s" % (number, exc))
                return
            now = time.monotonic()
            with self.lock:
                if answer.status != 202 or not isinstance(answer.json, dict):
                    self.problems.append("client %d: %r" % (number, answer))
                    return
                for alert, result in zip(alerts, answer.json["alerts"]):
                    labels = dict(alert["labels"], alertname=alert["name"])
                    if result.get("fingerprint") != lookout.fingerprint(labels):
                        self.problems.append("fingerprint %r for %r" % (result, labels))
                    self.acked[result["fingerprint"]] = (tenant, alert["name"], now)

    def count(self):
        with self.lock:
            return len(self.acked)

    def allow(self, alerts):
        """Lets the load hand out up to alerts alerts in all."""
        with self.lock:
            self.allowance = max(self.allowance, alerts)

    def done(self):
        return not any(thread.is_alive() for thread in self.threads)

    def join(self, timeout):
        for thread in self.threads:
            thread.join(timeout=timeout)
        return self.done()

    def rate(self):
        return self.count() / max(time.monotonic() - self.started, 0.001)


# ---- SSE ----------------------------------------------------------------------------------------

class SseFollower:
    """Follows GET /events of one tenant for as long as it runs: connects with ?since=START,
    and whenever the stream ends (ingest killed, cut off as a slow client) reconnects with
    Last-Event-ID = the last id it received. ids: every event id received, in order, repeats
    included. stalled: set to stop reading (a slow consumer), cleared to go on."""

    def __init__(self, cluster, tenant, since=0):
        self.cluster = cluster
        self.tenant = tenant
        self.since = since
        self.lock = threading.Lock()
        self.ids = []
        self.gaps = []
        self.connects = 0
        self.errors = []
        self.stalled = threading.Event()
        self.stop_event = threading.Event()
        self.stream = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def last_id(self):
        with self.lock:
            return self.ids[-1] if self.ids else None

    def _run(self):
        while not self.stop_event.is_set():
            last = self.last_id()
            headers = self.cluster.headers(tenant=self.tenant)
            path = "/events"
            if last is None:
                path += "?since=%d" % self.since
            else:
                headers["Last-Event-ID"] = str(last)
            try:
                stream = SseStream(self.cluster.url, path, headers, rcvbuf=65536, timeout=30)
            except (OSError, ValueError, IndexError) as exc:
                self.errors.append(str(exc))
                time.sleep(0.3)
                continue
            if stream.status != 200:
                stream.close()
                time.sleep(0.3)
                continue
            self.connects += 1
            self.stream = stream
            self._follow(stream)
            stream.close()

    def _follow(self, stream):
        """Reads the stream by hand (not SseStream.start) so that stalling stops the reads."""
        text = b""
        try:
            while not self.stop_event.is_set():
                if self.stalled.is_set():
                    time.sleep(0.05)
                    continue
                size = int(stream._line().split(b";")[0], 16)
                if size == 0:
                    return
                text += stream._exactly(size)
                stream._exactly(2)
                while b"\n\n" in text:
                    block, text = text.split(b"\n\n", 1)
                    self._dispatch(block.decode("utf-8", "replace"))
        except (EOFError, OSError, ValueError):
            return

    def _dispatch(self, block):
        event_id = None
        kind = None
        for line in block.split("\n"):
            if line.startswith("id:"):
                event_id = line[3:].strip()
            elif line.startswith("event:"):
                kind = line[6:].strip()
        if kind == "gap":
            self.gaps.append(block)
        if event_id:
            with self.lock:
                self.ids.append(int(event_id))

    def received(self):
        with self.lock:
            return list(self.ids)

    def close(self):
        self.stop_event.set()
        stream = self.stream
        if stream is not None:
            try:
                stream.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.thread.join(timeout=40)


# ---- Kafka --------------------------------------------------------------------------------------

class KafkaTail:
    """publish/kafka_tail from the build, reading every partition of topics (names) of the
    mock cluster at bootstrap from their beginning. messages[topic]: parsed JSON values in
    arrival order. A reset offset (the mock cluster dropped what the reader had not read yet)
    is recorded in resets: the reading is then incomplete."""

    def __init__(self, bootstrap, topics, partitions, log_path):
        path = os.path.join(lookout.BIN_DIR, "publish", "kafka_tail")
        if not os.access(path, os.X_OK):
            raise AssertionError("%s not built (target kafka_tail)" % path)
        self.lock = threading.Lock()
        self.messages = {topic: [] for topic in topics}
        self.bad = []
        self._log = open(log_path, "ab")
        self.log_path = log_path
        arguments = [path, bootstrap] + ["%s:%d" % (topic, partitions) for topic in topics]
        self.proc = subprocess.Popen(arguments, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._log,
                                     preexec_fn=lookout._die_with_parent(signal.SIGKILL))
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for raw in self.proc.stdout:
            topic, _, rest = raw.decode("utf-8", "replace").rstrip("\n").partition(" ")
            _, _, rest = rest.partition(" ")
            _, _, value = rest.partition(" ")
            try:
                item = json.loads(value)
            except ValueError:
                item = None
            with self.lock:
                if topic in self.messages and isinstance(item, dict):
                    self.messages[topic].append(item)
                else:
                    self.bad.append(raw[:200])

    def resets(self):
        """Lines of the reader's log that say it lost its place."""
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return [line.strip() for line in f if "offset reset" in line]

    def values(self, topic, field):
        with self.lock:
            return [item.get(field) for item in self.messages[topic]]

    def stop(self):
        lookout.stop_stdin_child(self.proc, 10)
        self.thread.join(timeout=10)
        self._log.close()


# ---- a private PostgreSQL server -----------------------------------------------------------------

def _pg_bin():
    base = "/usr/lib/postgresql"
    try:
        versions = sorted(os.listdir(base), key=lambda v: [int(p) for p in v.split(".")
                                                             if p.isdigit()], reverse=True)
    except OSError:
        versions = []
    for version in versions:
        path = os.path.join(base, version, "bin")
        if os.access(os.path.join(path, "initdb"), os.X_OK):
            return path
    initdb = shutil.which("initdb")
    if initdb:
        return os.path.dirname(initdb)
    raise lookout.HarnessError("PostgreSQL server binaries (initdb, pg_ctl) not found")


class PrivatePostgres:
    """A PostgreSQL server of the test's own, in directory, on a free port: the test may stop
    and start it without disturbing other tests. As root it runs as the postgres user (which
    the server requires). admin_url: its postgres database."""

    def __init__(self, directory):
        self.bin = _pg_bin()
        self.dir = directory
        self.data = os.path.join(directory, "data")
        self.log = os.path.join(directory, "postgresql.log")
        self.port = lookout.free_ports(1)[0]
        self.as_user = []
        os.makedirs(directory, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(directory, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-sync")
        self.admin_url = "postgresql://postgres@127.0.0.1:%d/postgres" % self.port
        self.start()

    def _run(self, program, *args, timeout=120):
        proc = subprocess.run(self.as_user + [os.path.join(self.bin, program)] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        if proc.returncode != 0:
            raise AssertionError("%s failed (%d): %s\n%s" % (
                program, proc.returncode, proc.stdout.decode("utf-8", "replace"),
                lookout._tail(self.log, 40)))
        return proc

    def start(self):
        self._run("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "-o",
                  "-c listen_addresses=127.0.0.1 -p %d -c unix_socket_directories=%s "
                  "-c fsync=off -c full_page_writes=off -c max_connections=100"
                  % (self.port, self.dir), "start")

    def stop(self, mode="fast"):
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def running(self):
        return os.path.exists(os.path.join(self.data, "postmaster.pid"))

    def destroy(self):
        if self.running():
            try:
                self.stop("immediate")
            except (AssertionError, OSError, subprocess.SubprocessError):
                pass


# ---- memory --------------------------------------------------------------------------------------

def rss_kib(pid):
    """Resident set size of pid in KiB (VmRSS), or 0 when it is gone."""
    try:
        with open("/proc/%d/status" % pid, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
