#!/usr/bin/env python3
"""Lookout against Alertmanager, side by side on one machine: intake throughput, Lookout's
open-loop capacity, answer latency, alert-to-notification latency, memory with 100,000 active
alerts, and an alert storm.

Run it through bench/run.sh (which builds a Release tree and starts a private PostgreSQL);
directly:

    LOOKOUT_BIN_DIR=build-bench LOOKOUT_TEST_PG_URL=postgresql://... bench/bench.py

Every figure compares systems measured in the same run: the throughput scenarios go round
the systems in turn (Alertmanager, Lookout on SQLite, Lookout on PostgreSQL), several
rounds, each starting once every system is idle (nothing one left behind runs inside the
next one's measurement), so a burst of load from elsewhere on the machine hits all of them
alike; the table shows the median of the rounds, their spread, and the median of the
per-round ratios. The open-loop latency cases run in rounds the same way (--latency-rounds,
3): the percentiles shown are the medians of the rounds', with each round's p99 beside them.

The load comes from bench/loadgen (C, keep-alive connections, epoll): POST /api/v2/alerts
with batches of 64 Prometheus-style alerts, the same bytes for both systems.
Prints a table and writes the figures as JSON (bench/results/<date>.json by default).
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import lookout  # noqa: E402  (path set above)
import notify_tools  # noqa: E402
import prom_tools  # noqa: E402
import storm  # noqa: E402
from correlation_tools import peak_rss_kb, rss_kb  # noqa: E402

TENANT = "6b2f3a10-5c1d-4e2f-8a3b-9c4d5e6f7a8b"
ALERTMANAGER = os.environ.get("LOOKOUT_BENCH_ALERTMANAGER", "/usr/bin/prometheus-alertmanager")
SCENARIOS = ("resend", "new", "mix")
# endsAt of the firing alerts loadgen sends (now + this): an hour, so no phase's alerts end
# during a later phase's measurement. With Prometheus's usual few minutes, the alerts a
# throughput phase sent at 50,000/s would all end a few minutes later, in whatever runs then
# (Lookout resolves them; phase_wave measures that on purpose).
FIRING_FOR_S = 3600


def log(text):
    print("bench: " + text, file=sys.stderr, flush=True)


def loadgen_path():
    path = os.path.join(lookout.BIN_DIR, "bench", "loadgen")
    if not os.access(path, os.X_OK):
        raise lookout.HarnessError("%s not found: build the loadgen target" % path)
    return path


def run_loadgen(url, headers, *args, timeout=600, attempts=2):
    """Runs loadgen against url with the given headers and arguments; returns its JSON. A
    run that fails (loadgen stops at the first failed priming request: a keep-alive
    connection the server closed, a 503 while it still works off an earlier overload) is
    run once more after a pause; a second failure ends the benchmark."""
    command = [loadgen_path(), "--url", url]
    for header in headers:
        command += ["-H", header]
    command += [str(a) for a in args]
    if "--firing-for" not in command:
        command += ["--firing-for", str(FIRING_FOR_S)]
    for attempt in range(attempts):
        proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout)
        if proc.returncode == 0:
            return json.loads(proc.stdout)
        failure = "loadgen failed (%d): %s" % (proc.returncode, proc.stderr.decode()[-2000:])
        if attempt + 1 < attempts:
            log("%s; running it again" % failure.splitlines()[0])
            time.sleep(5)
    raise RuntimeError(failure)


class MemorySampler(threading.Thread):
    """Peak of the sum of the processes' VmRSS, sampled every interval seconds."""

    def __init__(self, pids, interval=0.1):
        super().__init__(daemon=True)
        self.pids, self.interval = list(pids), interval
        self.peak_kb = 0
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            self.peak_kb = max(self.peak_kb, sum(rss_kb(pid) for pid in self.pids))
            self.stopping.wait(self.interval)

    def stop(self):
        self.stopping.set()
        self.join()
        self.peak_kb = max(self.peak_kb, sum(rss_kb(pid) for pid in self.pids))
        return self.peak_kb


# ---- the systems ----------------------------------------------------------------------------

class AlertmanagerSystem:
    """Debian's prometheus-alertmanager on free ports, clustering off, with config_text."""

    def __init__(self, name, config_text):
        if not os.access(ALERTMANAGER, os.X_OK):
            raise lookout.HarnessError("%s not found (apt-get install prometheus-alertmanager)"
                                       % ALERTMANAGER)
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="lookout-bench-am-")
        self.port = lookout.free_ports(1)[0]
        self.url = "http://127.0.0.1:%d/api/v2/alerts" % self.port
        self.headers = []
        config = os.path.join(self.dir, "alertmanager.yml")
        with open(config, "w") as f:
            f.write(config_text)
        self.log = open(os.path.join(self.dir, "alertmanager.log"), "ab")
        self.proc = subprocess.Popen(
            [ALERTMANAGER, "--config.file=" + config, "--storage.path=" + self.dir,
             "--web.listen-address=127.0.0.1:%d" % self.port, "--cluster.listen-address=",
             "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=lookout._die_with_parent(9))
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port,
                                            timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise lookout.HarnessError("Alertmanager did not start; see %s" % self.dir)
            time.sleep(0.1)

    def pids(self):
        return [self.proc.pid]

    def named_pids(self):
        return {"alertmanager": self.pids()}

    def active_alerts(self):
        """The alerts Alertmanager holds (its alertmanager_alerts gauge, every state)."""
        return metric_sum("http://127.0.0.1:%d/metrics" % self.port, "alertmanager_alerts")

    def version(self):
        out = subprocess.run([ALERTMANAGER, "--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT).stdout.decode()
        return out.split("\n")[0].strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


ALERTMANAGER_NULL_CONFIG = """
route:
  receiver: "null"
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1h
  repeat_interval: 4h
receivers:
  - name: "null"
"""
# group_interval 1h: every group (thousands: one per alertname) would otherwise be flushed
# every interval, a burst of seconds of Alertmanager's CPU landing in whichever measurement
# runs then, of either system (Lookout's escalation does not run in those phases either).

ALERTMANAGER_WEBHOOK_CONFIG = """
route:
  receiver: bench
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 4h
receivers:
  - name: bench
    webhook_configs:
      - url: http://127.0.0.1:%d/alertmanager
        send_resolved: false
"""


def proc_stat(pid):
    """(command name, the fields of /proc/PID/stat after it: state, ppid, ...); OSError when
    the process is gone."""
    with open("/proc/%s/stat" % pid) as f:
        head, rest = f.read().rsplit(")", 1)
    return head.split("(", 1)[1], rest.split()


def children(pid):
    """The pids of pid's child processes."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(proc_stat(entry)[1][1]) == pid:
                    found.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return found


PG_SETTINGS = ("shared_buffers", "min_wal_size", "max_wal_size", "wal_init_zero", "fsync",
               "synchronous_commit")


def pg_settings(url):
    """The server settings its figures depend on, as the server reports them, and how many
    recycled WAL segments are ready (None when the role may not list pg_wal); with a note
    when fewer than 64 are (1 GB, about 90 s of a flood's WAL: docs/operations.md,
    "PostgreSQL"), else None."""
    names = ", ".join("'%s'" % name for name in PG_SETTINGS)
    rows = lookout.psql(url, "SELECT name, current_setting(name) FROM pg_settings "
                             "WHERE name IN (%s) ORDER BY name" % names)
    settings = {name: setting for name, setting in rows}
    try:
        rows = lookout.psql(url, "SELECT count(*) FROM pg_ls_waldir() WHERE length(name) = 24 "
                                 "AND name > pg_walfile_name(pg_current_wal_lsn())")
        settings["wal_segments_ahead"] = int(rows[0][0])
    except AssertionError:  # pg_ls_waldir needs a superuser or pg_monitor
        settings["wal_segments_ahead"] = None
    ahead = settings["wal_segments_ahead"]
    if ahead is not None and ahead >= 64:
        return settings, None
    return settings, ("the PostgreSQL server has %s WAL segments ready for reuse: each new one "
                      "is created inside a commit, and its figures include those stalls "
                      "(docs/operations.md, \"PostgreSQL\"; bench/run.sh prepares its server)"
                      % ("an unknown number of" if ahead is None else ahead))


def postmaster_pid(url):
    """The PostgreSQL server's main process when it runs on this machine (the parent of
    its checkpointer), else None."""
    rows = lookout.psql(url, "SELECT pid FROM pg_stat_activity WHERE backend_type = "
                             "'checkpointer'")
    try:
        name, fields = proc_stat(rows[0][0])
        return int(fields[1]) if name == "postgres" else None
    except (OSError, ValueError, IndexError):
        return None


class LookoutSystem:
    """lookout-store, -correlate and -ingest (the harness's Cluster) and, for the
    end-to-end figures, lookout-escalate, lookout-notify and lookout-publish with a Kafka
    mock cluster."""

    def __init__(self, name, backend, env=None, notify_config=None, kafka=False):
        self.name = name
        self.backend = backend
        self.extra = {}
        self.mock = None
        self.notify = None
        # store's /metrics: each round reads its commit-duration histogram (StoreCommits)
        # correlate's: the alerts it holds (active_alerts)
        self.store_metrics_port, self.correlate_metrics_port = lookout.free_ports(2)
        env = dict({"LOOKOUT_LOG_LEVEL": "warn", "LOOKOUT_REQUEST_TIMEOUT_MS": "30000",
                    "LOOKOUT_STORE_METRICS_PORT": str(self.store_metrics_port),
                    "LOOKOUT_CORRELATE_METRICS_PORT": str(self.correlate_metrics_port)},
                   **(env or {}))
        self.dir = tempfile.mkdtemp(prefix="lookout-bench-")
        if notify_config:
            env["LOOKOUT_LOG_LEVEL"] = "info"  # readiness is read from the notify logs
            path = os.path.join(self.dir, "lookout.yaml")
            with open(path, "w") as f:
                f.write(notify_config)
            jobs, results = lookout.free_ports(2)
            env.update({"LOOKOUT_CONFIG": path,
                        "LOOKOUT_NOTIFY_JOBS_ENDPOINT": "tcp://127.0.0.1:%d" % jobs,
                        "LOOKOUT_NOTIFY_RESULTS_ENDPOINT": "tcp://127.0.0.1:%d" % results})
        self.cluster = lookout.Cluster("bench-" + name, backend=backend, env=env)
        self.cluster.start(timeout=120)
        self.postmaster = postmaster_pid(self.cluster.pg.url) if backend == "postgresql" else None
        self.url = self.cluster.url + "/api/v2/alerts"
        self.headers = ["Authorization: Bearer " + self.cluster.service_token,
                        "X-Tenant-ID: " + TENANT]
        if notify_config:
            self.notify = notify_tools.NotifyPrograms(self.cluster, workers=2)
            self.notify.wait_log("lookout-escalate", "following events")
            for index in range(2):
                self.notify.wait_log("lookout-notify_%02d" % index, "jobs from")
        if kafka:
            self._start_kafka()

    def _start_kafka(self):
        self.mock = subprocess.Popen(
            [lookout.find_binary("mock_kafka"), "1"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            preexec_fn=lookout._die_with_parent(9))
        self.bootstrap = self.mock.stdout.readline().decode().strip()
        for topic in ("lookout.incidents", "service_events"):
            self.mock.stdin.write(("topic %s 1 1\n" % topic).encode())
            self.mock.stdin.flush()
            answer = self.mock.stdout.readline().decode().strip()
            if answer != "ok":
                raise lookout.HarnessError("mock_kafka: %s" % answer)
        env = dict(self.cluster.env, LOOKOUT_KAFKA_BROKERS=self.bootstrap)
        log_file = open(os.path.join(self.cluster.log_dir, "lookout-publish.log"), "ab")
        self.extra["lookout-publish"] = subprocess.Popen(
            [lookout.find_binary("lookout-publish")], env=env, cwd=self.cluster.dir,
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
            preexec_fn=lookout._die_with_parent(9))
        log_file.close()

    def pids(self):
        """The intake processes (store, correlate, ingest) and, on a PostgreSQL server of
        this machine, the server's processes: its checkpoints and autovacuum are this
        system's work, so settle() waits for them too and another system's round counts
        them as background work."""
        return [pid for pids in self.named_pids().values() for pid in pids]

    def active_alerts(self):
        """The alerts correlate holds in memory (its lookout_correlate_alerts gauge)."""
        return metric_sum("http://127.0.0.1:%d/metrics" % self.correlate_metrics_port,
                          "lookout_correlate_alerts")

    def named_pids(self):
        """pids() by program (the PostgreSQL server's processes as one)."""
        named = {name: [proc.pid] for name, proc in self.cluster.procs.items()}
        if self.postmaster:
            named["postgresql"] = [self.postmaster] + children(self.postmaster)
        return named

    def stop(self):
        for proc in self.extra.values():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if self.notify:
            self.notify.stop()
        if self.mock:
            self.mock.stdin.close()
            try:
                self.mock.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.mock.kill()
        self.cluster.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def metric_sum(url, name):
    """The sum of a gauge's samples (every label set) in the text exposition at url, or None
    when it cannot be read. (prom_tools' parser checks Lookout's exposition to the letter and
    refuses Alertmanager's summaries; a gauge's lines are all this needs.)"""
    try:
        answer = lookout.http_request(url, timeout=10)
    except OSError:
        return None
    if answer.status != 200:
        return None
    total = None
    for line in answer.body.decode("utf-8", "replace").splitlines():
        if line.startswith(name) and line[len(name):len(name) + 1] in ("{", " "):
            total = (total or 0) + float(line.rsplit(" ", 1)[1])
    return None if total is None else int(total)


def fill(system, alerts, connections, *args):
    """Sends `alerts` new alerts to system, closed loop (firing for FIRING_FOR_S unless args
    say otherwise); returns loadgen's report."""
    return run_loadgen(system.url, system.headers, "--mode", "closed", "--scenario", "new",
                       "--alerts", alerts, "--warmup", 0, "--connections", connections, *args)


# ---- the phases -----------------------------------------------------------------------------

def rotation(systems, round_index):
    """The systems in the order of round round_index: each round starts one further along,
    so none is always measured first (or right after another's load)."""
    shift = round_index % len(systems)
    return systems[shift:] + systems[:shift]


def figure_args(argv):
    """The arguments that decide the figures: argv without --output (where they are written
    is no part of how they were measured, and would name a directory of this machine)."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--output":
            skip = True
        elif not arg.startswith("--output="):
            kept.append(arg)
    return kept


def spread(values):
    """(max - min) / median, the noise of a set of rounds."""
    if len(values) < 2 or not statistics.median(values):
        return 0.0
    return (max(values) - min(values)) / statistics.median(values)


def phase_throughput(systems, rounds, duration, connections):
    """Closed loop, batches of 64, every scenario, round robin over the systems. Each round
    starts with every system idle: what the one before left (SQLite's checkpoint of the WAL
    it grew, Alertmanager's garbage collection of the heap it grew) would otherwise run
    inside the next system's measurement on the shared cores."""
    figures = {}
    for scenario in SCENARIOS:
        per_system = {system.name: [] for system in systems}
        for round_index in range(rounds):
            order = rotation(systems, round_index)
            for system in order:
                settle(system, quiet=systems)
                result = run_loadgen(system.url, system.headers, "--mode", "closed",
                                     "--scenario", scenario, "--duration", duration,
                                     "--warmup", 1, "--connections", connections,
                                     "--pool", 1024, "--lag", 1024)
                if result["errors"]:
                    log("%s %s: %d errors %s" % (system.name, scenario, result["errors"],
                                                 result["status"]))
                per_system[system.name].append(result["alerts_per_s"])
                log("throughput %-6s %-18s round %d: %9.0f alerts/s (p99 %.1f ms)" % (
                    scenario, system.name, round_index + 1, result["alerts_per_s"],
                    result["latency_ms"].get("p99", float("nan"))))
        reference = per_system[systems[0].name]  # Alertmanager
        entry = {}
        for name, values in per_system.items():
            ratios = [value / ref for value, ref in zip(values, reference) if ref]
            entry[name] = {"alerts_per_s": round(statistics.median(values)),
                           "rounds": [round(v) for v in values],
                           "spread": round(spread(values), 3),
                           "ratio_to_alertmanager": round(statistics.median(ratios), 2)
                           if ratios else None}
        figures[scenario] = entry
    return figures


def cpu_seconds(pids):
    """CPU time (user + system) the processes have used so far."""
    ticks = 0
    for pid in pids:
        try:
            fields = proc_stat(pid)[1]
            ticks += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def settle(system, quiet=(), timeout=120.0):
    """Waits until system answers one alert POST within a second, then until its processes
    and those of the systems in quiet are idle (under 5% of a core over a second, all
    together): an overloaded step (the capacity search
    goes past what is sustained on purpose) can leave a backlog that Lookout still commits,
    and ingest no longer caps what waits at its thread count, so the next measurement would
    start behind it (or its priming would be refused with 503); and work a step left behind
    (SQLite's checkpoint of a grown WAL, Alertmanager's garbage collection or the backlog of
    an overloaded run) would land in the next measurement, of either system: they share
    the two cores."""
    deadline = time.monotonic() + timeout
    _settle_answer(system, deadline)
    pids = system.pids() + [pid for other in quiet if other is not system for pid in other.pids()]
    before = cpu_seconds(pids)
    while time.monotonic() < deadline:
        time.sleep(1)
        after = cpu_seconds(pids)
        if after - before < 0.05:
            return
        before = after
    log("%s was not idle within %.0f s" % (system.name, timeout))


def _settle_answer(system, deadline):
    """settle's first step: one alert POST answered within a second."""
    body = json.dumps([{"labels": {"alertname": "BenchSettle", "instance": "settle"},
                        "startsAt": "2026-01-01T00:00:00Z"}]).encode()
    headers = dict(h.split(": ", 1) for h in system.headers)
    headers["Content-Type"] = "application/json"
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            request = urllib.request.Request(system.url, data=body, headers=headers,
                                             method="POST")
            with urllib.request.urlopen(request, timeout=30) as answer:
                answer.read()
            if time.monotonic() - started < 1.0:
                return
        except (OSError, urllib.error.HTTPError):
            pass
        time.sleep(1)
    log("%s did not answer within a second before its deadline" % system.name)


def cpu_per_request(named, before, requests):
    """CPU milliseconds per request of each program in named (name -> pids) since before
    (name -> cpu_seconds), over requests requests, and their sum under "all". Over an
    open-loop round of new alerts (no priming: loadgen's "sent" is every request of it) on
    an otherwise idle system, this is the work one request costs, which a request that
    finds the system idle waits for in full: the floor of its latency."""
    cost = {name: round((cpu_seconds(pids) - before[name]) * 1000.0 / requests, 3)
            for name, pids in named.items()}
    cost["all"] = round(sum(cost.values()), 3)
    return cost


def run_open(system, scenario, rate, duration, connections, warmup=1):
    """Open loop at rate requests (of 64 alerts) per second for duration seconds after
    warmup, from a pool of 1,024 alerts per connection; answers are awaited until 3 s after
    the last request was due."""
    return run_loadgen(system.url, system.headers, "--mode", "open", "--scenario", scenario,
                       "--rate", "%.2f" % rate, "--duration", duration, "--warmup", warmup,
                       "--drain", 3, "--connections", connections, "--pool", 1024)


# phase_latency's first case when it renews the systems for the others
AFTER_EARLIER = "new after the earlier phases"


def phase_latency(systems, throughput, duration, connections, fraction=0.5, capacity=None,
                  rounds=3, renew=None):
    """Open loop at fraction of Lookout's measured saturation (systems[1]), the same offered
    rate for Alertmanager (systems[0]); re-sends at fraction of Alertmanager's; and, given
    Lookout's open-loop capacity (phase_capacity), at fraction of that. Latency from each
    request's intended send time. Each case runs `rounds` times, the systems alternating as
    in phase_throughput; a system's figures are the medians of its rounds (every round's p99
    is kept), so one round disturbed by something else on the machine does not decide them.

    renew(), when given, returns the systems to measure a case on: fresh ones holding a set
    number of alerts (main). Without it a case meets whatever the phases before left, which
    depends on how fast each system was: after the throughput and capacity phases Lookout
    held millions of alerts and Alertmanager fewer, and Lookout's tail grows with what it
    holds (docs/performance.md). With it, the new-alert case at half the closed-loop rate
    runs twice: first on the systems as they are (AFTER_EARLIER), then,
    like every other case, on renewed ones. Each round records the alerts the system held
    when it began (active_alerts)."""
    figures = {}
    cases = [("resend", "resend", throughput["resend"][systems[1].name]["alerts_per_s"]),
             ("new", "new", throughput["new"][systems[1].name]["alerts_per_s"]),
             ("resend at Alertmanager's half", "resend",
              throughput["resend"][systems[0].name]["alerts_per_s"])]
    for scenario in ("new", "resend"):
        if capacity and capacity[scenario]["alerts_per_s"]:
            cases.append(("%s at half the open-loop capacity" % scenario, scenario,
                          capacity[scenario]["alerts_per_s"]))
    if renew:
        # first, the new-alert case on the systems as the earlier phases left them: what the
        # state they built costs (Lookout's is the larger: it took more alerts in)
        cases.insert(0, (AFTER_EARLIER, "new",
                         throughput["new"][systems[1].name]["alerts_per_s"]))
    for index, (key, scenario, saturation) in enumerate(cases):
        if renew and index > 0:
            systems = renew()
        rate = max(1.0, fraction * saturation / 64.0)  # requests of 64 alerts per second
        entry = {"offered_requests_per_s": round(rate, 1),
                 "offered_alerts_per_s": round(rate * 64)}
        results = {system.name: [] for system in systems}
        for round_index in range(rounds):
            order = rotation(systems, round_index)
            for system in order:
                settle(system, quiet=systems)
                others = [pid for other in systems if other is not system
                          for pid in other.pids()]
                others_before = cpu_seconds(others)
                named = system.named_pids()
                own_before = {name: cpu_seconds(pids) for name, pids in named.items()}
                held = system.active_alerts()
                watch = RoundWatch(system)
                result = run_open(system, scenario, rate, duration, connections)
                result.update(watch.finish(result))
                result["active_alerts"] = held
                # CPU the other systems used meanwhile: they were idle when the round
                # began, so this is their background work (a GC, a checkpoint) landing in it
                result["others_cpu_s"] = round(cpu_seconds(others) - others_before, 2)
                if scenario == "new" and not result["incomplete"]:
                    result["cpu_ms_per_request"] = cpu_per_request(named, own_before,
                                                                   result["sent"])
                results[system.name].append(result)
                latency = result["latency_ms"]
                log("latency %-6s %-18s at %.0f req/s, round %d (%s alerts held): p50 %.2f "
                    "p99 %.2f p99.9 %.2f ms, others' CPU %.2f s, disk probe max %.1f ms, "
                    "store's commits of %d ms or more %s, waits for a core (ms) %s%s" % (
                        key, system.name, rate, round_index + 1,
                        "?" if held is None else "{:,}".format(held), latency.get("p50", -1),
                        latency.get("p99", -1), latency.get("p999", -1), result["others_cpu_s"],
                        result["disk_probe"]["max_ms"], SLOW_COMMIT_MS,
                        slow_commits(result["store_commits"]),
                        run_queue_words(result["run_queue"]),
                        " (%d incomplete)" % result["incomplete"] if result["incomplete"] else "")
                    + (", CPU %.2f ms a request" % result["cpu_ms_per_request"]["all"]
                       if "cpu_ms_per_request" in result else ""))
        for system in systems:
            runs = results[system.name]
            figure = {}
            for percentile in ("p50", "p99", "p999"):
                values = [run["latency_ms"][percentile] for run in runs
                          if run["latency_ms"].get(percentile) is not None]
                figure[percentile] = statistics.median(values) if values else None
            figure["max"] = max((run["latency_ms"].get("max") or 0) for run in runs)
            figure["count"] = sum(run["latency_ms"].get("count", 0) for run in runs)
            figure["rounds_p99"] = [run["latency_ms"].get("p99") for run in runs]
            figure["rounds_active_alerts"] = [run["active_alerts"] for run in runs]
            figure["rounds_others_cpu_s"] = [run["others_cpu_s"] for run in runs]
            figure["rounds_disk_probe"] = [run["disk_probe"] for run in runs]
            figure["rounds_store_commits"] = [run["store_commits"] for run in runs]
            figure["rounds_run_queue"] = [run["run_queue"] for run in runs]
            # each program's wait for a core over the round, per request sent (the
            # median of the rounds): beside the CPU a request costs, what queueing for the
            # two cores added
            waits = [{name: ms / run["sent"] for name, ms in run["run_queue"]["wait_ms"].items()}
                     for run in runs if run["sent"]]
            if waits:
                figure["run_queue_ms_per_request"] = {
                    name: round(statistics.median(w.get(name, 0) for w in waits), 3)
                    for name in waits[0]}
            costs = [run["cpu_ms_per_request"] for run in runs if "cpu_ms_per_request" in run]
            if costs:
                figure["cpu_ms_per_request"] = {
                    name: round(statistics.median(cost[name] for cost in costs), 3)
                    for name in costs[0]}
            # requests still unanswered (or never sent) 3 s after the last was due: the
            # system could not keep up; their waits so far are in the percentiles
            figure["incomplete"] = sum(run["incomplete"] for run in runs)
            figure["errors"] = sum(run["errors"] for run in runs)
            entry[system.name] = figure
        figures[key] = entry
    return figures


def phase_wave(systems, rate_alerts, connections, alerts=300000, ends_after_s=15):
    """Answer latency while a wave of alerts ends: each system is filled (closed loop) with
    `alerts` new alerts whose endsAt is ends_after_s after they were sent, then takes new
    alerts open loop at rate_alerts/s until 10 s after the last of them ended. Lookout
    resolves each ended alert (a write and an event); Alertmanager computes resolution when
    asked, so its figure is its plain latency at that rate."""
    rate = max(1.0, rate_alerts / 64.0)
    figures = {"alerts": alerts, "ends_after_s": ends_after_s,
               "offered_alerts_per_s": round(rate * 64)}
    for system in systems:
        settle(system, quiet=systems)
        filled = fill(system, alerts, connections, "--firing-for", ends_after_s)
        watch = RoundWatch(system)
        result = run_open(system, "new", rate, ends_after_s + 10, connections, warmup=0)
        latency = result["latency_ms"]
        figures[system.name] = {key: latency.get(key) for key in ("p50", "p99", "p999", "max")}
        figures[system.name].update(fill_alerts_per_s=round(filled["alerts_per_s"]),
                                    incomplete=result["incomplete"], errors=result["errors"],
                                    **watch.finish(result))
        log("wave %-18s %d alerts ending, new at %.0f/s: p50 %.2f p99 %.2f p99.9 %.2f ms, "
            "disk probe max %.1f ms, store's commits of %d ms or more %s, waits for a core "
            "(ms) %s" % (
                system.name, alerts, rate * 64, latency.get("p50", -1), latency.get("p99", -1),
                latency.get("p999", -1), figures[system.name]["disk_probe"]["max_ms"],
                SLOW_COMMIT_MS, slow_commits(figures[system.name]["store_commits"]),
                run_queue_words(figures[system.name]["run_queue"])))
    return figures


# What an open-loop rate must meet to count as sustained (phase_capacity).
CAPACITY_P99_MS = 100.0


# Halvings of the gap between the last sustained step and the first failed one (x1.3):
# three leave it within about 4%.
CAPACITY_BISECTIONS = 3


def phase_capacity(system, throughput, duration, connections, quiet=()):
    """The highest open-loop rate `system` sustains, per scenario (new, resend): offered rates
    from 30% of its closed-loop saturation up in steps of x1.3, until one is not answered in
    full (something left unanswered 3 s after the last request was due, or an error) or with
    p99 above CAPACITY_P99_MS, twice in a row; then CAPACITY_BISECTIONS steps halve the gap
    between the last rate sustained and the first not (the same rule for each). Closed
    loop, 32 connections share a commit or a correlate wake-up between many requests;
    requests that arrive one by one do not, so this is the better-founded reference for
    "50% of saturation" (both are reported)."""
    figures = {}
    for scenario in ("new", "resend"):
        saturation = throughput[scenario][system.name]["alerts_per_s"]
        steps = []

        def measure(rate, again):
            settle(system, quiet=quiet)
            watch = RoundWatch(system)
            result = run_open(system, scenario, rate, duration, connections)
            seen = watch.finish(result)
            p99 = result["latency_ms"].get("p99")
            ok = (not result["incomplete"] and not result["errors"] and p99 is not None
                  and p99 <= CAPACITY_P99_MS)
            steps.append({"offered_alerts_per_s": round(rate * 64), "p99": p99, "ok": ok,
                          "again": again, **seen})
            log("capacity %-6s %-18s at %.0f alerts/s: p99 %s ms, disk probe max %.1f ms, "
                "store's commits of %d ms or more %s, waits for a core (ms) %s%s" % (
                scenario, system.name, rate * 64, p99, seen["disk_probe"]["max_ms"],
                SLOW_COMMIT_MS, slow_commits(seen["store_commits"]),
                run_queue_words(seen["run_queue"]),
                "" if ok else " (not sustained)" if again else " (measuring it again)"))
            return ok

        def sustains(rate):
            # A step that fails is measured once more: one stall of the machine (the vCPUs
            # of these VMs stop for milliseconds, their disk for up to ~170 ms) must not end
            # the search below the rates that later steps sustain. Both are in `steps`.
            return measure(rate, False) or measure(rate, True)

        rate = max(1.0, 0.3 * saturation / 64.0)
        sustained, failed = None, None
        while rate * 64.0 <= saturation * 1.05:
            if not sustains(rate):
                failed = rate
                break
            sustained = rate
            rate *= 1.3
        if sustained and failed:
            for _ in range(CAPACITY_BISECTIONS):
                middle = (sustained + failed) / 2
                if sustains(middle):
                    sustained = middle
                else:
                    failed = middle
        figures[scenario] = {"alerts_per_s": round(sustained * 64) if sustained else None,
                             "p99_bound_ms": CAPACITY_P99_MS, "steps": steps}
    return figures


NOTIFY_CONFIG = """
notify_settings:
  allow_private_destinations: true
  timeout: 5s
  channel_rate_limit: none
  target_rate_limit: none
channels:
  - {name: slack, type: slack, url: 'http://127.0.0.1:%(port)d/slack'}
escalation_policies:
  - name: bench
    tenant: %(tenant)s
    match: {labels: {bench: e2e}}
    levels:
      - targets: [{channel: slack}]
"""


# The table names a disk probe's slowest fdatasync from this many ms on (its JSON keeps all).
DISK_STALL_MS = 20


class DiskProbe:
    """What the disk does meanwhile: a 4 KiB write and fdatasync every 100 ms in a file of
    the directory given (the system's own file system). A durable system's answers wait for
    the same disk; a round whose probe stalled too is the disk's, one whose probe did not
    is the system's."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "disk-probe")
        self.samples = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while not self.stop.wait(0.1):
                os.pwrite(fd, os.urandom(4096), 0)
                started = time.monotonic()
                os.fdatasync(fd)
                self.samples.append((time.monotonic() - started) * 1000)
        finally:
            os.close(fd)
            os.unlink(self.path)

    def finish(self):
        self.stop.set()
        self.thread.join()
        return {"syncs": len(self.samples), "max_ms": round(max(self.samples, default=0), 1),
                "over_20_ms": sum(1 for v in self.samples if v > 20)}


# A commit of store's counts as slow from this many ms on: a bound of
# lookout_store_commit_duration_seconds's buckets (common/lk_metrics.c).
SLOW_COMMIT_MS = 25


class StoreCommits:
    """What store's own commits did meanwhile, from its histograms (its /metrics) before and
    after: how many commits it made, how many took SLOW_COMMIT_MS or more, and the bucket
    bound the slowest stayed within; on SQLite the same for the syncs of its write-ahead log
    (one per commit), which tells the disk's share of a slow commit from the CPU's. This is
    the stall as the answers met it, where DiskProbe samples the disk every 100 ms beside
    them. None for a system without a store."""

    FAMILIES = {"lookout_store_commit_duration_seconds_bucket": "commits",
                "lookout_store_wal_sync_duration_seconds_bucket": "wal_syncs"}

    def __init__(self, system):
        self.port = getattr(system, "store_metrics_port", None)
        self.before = self._buckets() if self.port else None

    def _buckets(self):
        """{key: {bound: cumulative count}} of the FAMILIES the exposition has."""
        answer, parsed = prom_tools.scrape("http://127.0.0.1:%d/metrics" % self.port)
        if parsed is None:
            raise lookout.HarnessError("store's /metrics answered %d" % answer.status)
        buckets = {}
        for name, labels, value in parsed["samples"]:
            if name in self.FAMILIES:  # "+Inf" parses as inf
                buckets.setdefault(self.FAMILIES[name], {})[float(labels["le"])] = value
        return buckets

    @staticmethod
    def _summary(before, after):
        within = {bound: after[bound] - before.get(bound, 0) for bound in sorted(after)}
        count = within[float("inf")]
        slowest = next(bound for bound, n in within.items() if n == count)
        return {"count": int(count), "slow": int(count - within[SLOW_COMMIT_MS / 1000.0]),
                "slowest_at_most_ms": None if slowest == float("inf")
                else round(slowest * 1000, 1)}

    def finish(self):
        if self.before is None:
            return None
        after = self._buckets()
        figures = {key: self._summary(self.before.get(key, {}), buckets)
                   for key, buckets in after.items()}
        commits = figures.pop("commits")
        return {"commits": commits["count"], "slow": commits["slow"],
                "slowest_at_most_ms": commits["slowest_at_most_ms"],
                "wal_syncs": figures.get("wal_syncs")}


def thread_schedstat(pids):
    """{(pid, tid): (ns on a core, ns waiting for one, thread name)} of every thread of the
    processes, from /proc/PID/task/TID/schedstat (the kernel's CONFIG_SCHED_INFO) and comm;
    a process or thread gone meanwhile is left out."""
    stats = {}
    for pid in pids:
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    on_cpu, waited = f.read().split()[:2]
                with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                    name = f.read().strip()
                stats[(pid, tid)] = (int(on_cpu), int(waited), name)
            except (OSError, ValueError):
                pass
    return stats


def steal_ms():
    """The time the hypervisor has run something else on this machine's cores (steal,
    /proc/stat), in ms, or None."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        return int(fields[8]) * 1000.0 / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class RunQueue:
    """How long the system's threads waited for a core meanwhile, by program (the kernel's
    run_delay summed over each process's threads), beside the time they ran, and how much
    of the machine the hypervisor took (steal). Three processes, the load generator and the
    other system share two cores: a request waits for each process it passes to get one, and
    a round whose programs waited long for a core is one of the CPU, not of the disk. A
    thread that ends during the round is not counted; one that starts is, from zero."""

    def __init__(self, system):
        self.named = system.named_pids()
        self.before = {name: thread_schedstat(pids) for name, pids in self.named.items()}
        self.steal = steal_ms()

    def finish(self, loadgen=None):
        # by_thread: the same by program and thread name (numbers dropped, so a pool's
        # threads are one), e.g. "correlate ZMQbg/IO", the I/O thread of ZeroMQ
        figures = {"wait_ms": {}, "cpu_ms": {}, "by_thread": {}}
        for name, pids in self.named.items():
            before, after = self.before[name], thread_schedstat(pids)
            key = name.replace("lookout-", "")
            figures["cpu_ms"][key] = figures["wait_ms"][key] = 0.0
            for thread, (on_cpu, waited, comm) in after.items():
                was = before.get(thread, (0, 0, comm))
                on_cpu, waited = (on_cpu - was[0]) / 1e6, (waited - was[1]) / 1e6
                figures["cpu_ms"][key] += on_cpu
                figures["wait_ms"][key] += waited
                pool = figures["by_thread"].setdefault(
                    "%s %s" % (key, comm.rstrip("0123456789/-_")),
                    {"threads": 0, "cpu_ms": 0.0, "wait_ms": 0.0})
                pool["threads"] += 1
                pool["cpu_ms"] += on_cpu
                pool["wait_ms"] += waited
        for table in (figures["cpu_ms"], figures["wait_ms"], *figures["by_thread"].values()):
            for field in table:
                table[field] = round(table[field], 1)
        if loadgen and loadgen.get("run_queue_wait_ms") is not None:
            figures["wait_ms"]["loadgen"] = loadgen["run_queue_wait_ms"]
        steal = steal_ms()
        figures["steal_ms"] = (round(steal - self.steal, 1)
                               if steal is not None and self.steal is not None else None)
        return figures


def run_queue_words(run_queue):
    """A round's RunQueue in a few words: each program's wait for a core, and steal."""
    if not run_queue:
        return "-"
    return "%s%s" % (", ".join("%s %s" % (name, fmt(ms, 0))
                               for name, ms in run_queue["wait_ms"].items()),
                     "; steal %s" % fmt(run_queue["steal_ms"], 0)
                     if run_queue.get("steal_ms") else "")


class RoundWatch:
    """A measurement's witnesses, started together: the disk probe beside the system (in
    directory, by default the system's own), store's counts and the programs' waits for a
    core. finish() gives them as the round's "disk_probe", "store_commits" and
    "run_queue" (with the load generator's own wait, from its answer)."""

    def __init__(self, system, directory=None):
        self.probe = DiskProbe(directory or system.dir)
        self.commits = StoreCommits(system)
        self.run_queue = RunQueue(system)

    def finish(self, loadgen=None):
        return {"disk_probe": self.probe.finish(), "store_commits": self.commits.finish(),
                "run_queue": self.run_queue.finish(loadgen)}


def slow_commits(commits):
    """A round's StoreCommits in a few words: its slow commits and the slowest's bound, and
    (SQLite) how many of the log's syncs were as slow."""
    if not commits:
        return "-"
    bound = commits["slowest_at_most_ms"]
    syncs = commits.get("wal_syncs")
    return "%d (slowest %s%s)" % (
        commits["slow"], "over 30 s" if bound is None else "<= %s ms" % fmt(bound),
        "; WAL syncs that slow: %d" % syncs["slow"] if syncs else "")


def e2e_rounds(system, directory, rounds, rate, duration, *loadgen_args):
    """A warm-up second, then rounds of duration seconds at rate, each with its disk probe:
    per round figures, and the median round's p99s as the system's."""
    run_loadgen(system.url, system.headers, "--mode", "e2e", "--rate", rate,
                "--duration", 1, "--connections", 4, "--e2e-wait", 5, *loadgen_args)
    figures = {"rounds": []}
    for _ in range(rounds):
        watch = RoundWatch(system, directory)
        result = run_loadgen(system.url, system.headers, "--mode", "e2e",
                             "--rate", rate, "--duration", duration, "--connections", 4,
                             "--e2e-wait", 15, *loadgen_args)
        figures["rounds"].append({
            "sent": result["e2e_sent"], "answer_ms": result["answer_ms"],
            "notification_ms": result["notification_ms"],
            "kafka_ms": result["kafka_ms"], **watch.finish(result)})
    for key in ("answer_ms", "notification_ms", "kafka_ms"):
        measured = [r[key] for r in figures["rounds"] if r[key].get("p99") is not None]
        if measured:
            figures[key] = {"p50": statistics.median(m["p50"] for m in measured),
                            "p99": statistics.median(m["p99"] for m in measured),
                            "rounds_p99": [m["p99"] for m in measured],
                            "count": sum(m["count"] for m in measured)}
    figures["sent"] = sum(r["sent"] for r in figures["rounds"])
    return figures


def log_e2e(name, e):
    kafka = e.get("kafka_ms")
    log("e2e %s: notification p50 %s p99 %s ms (rounds %s)%s; disk probe max %s ms; store's "
        "commits of %d ms or more %s; waits for a core (ms) %s" % (
            name, e["notification_ms"].get("p50"), e["notification_ms"].get("p99"),
            e["notification_ms"].get("rounds_p99"),
            "; kafka p50 %s p99 %s ms" % (kafka.get("p50"), kafka.get("p99")) if kafka else "",
            [r["disk_probe"]["max_ms"] for r in e["rounds"]], SLOW_COMMIT_MS,
            ", ".join(slow_commits(r.get("store_commits")) for r in e["rounds"]),
            " | ".join(run_queue_words(r.get("run_queue")) for r in e["rounds"])))


def phase_e2e(backends, rate, duration, rounds):
    """Alert POST → Slack-style receiver (and → Kafka message for Lookout), p50/p99: the
    median of the rounds' figures, each round's alongside with the disk probe's."""
    figures = {}
    for backend in backends:
        port = lookout.free_ports(1)[0]
        system = LookoutSystem("lookout-" + backend + "-e2e", backend,
                               notify_config=NOTIFY_CONFIG % {"port": port, "tenant": TENANT},
                               kafka=True)
        try:
            # the warm-up second: the producer's first messages wait for its id and
            # metadata, the consumer's first fetch for its offsets
            e = e2e_rounds(system, system.cluster.dir, rounds, rate, duration,
                           "--receiver-port", port, "--kafka-brokers", system.bootstrap,
                           "--kafka-topic", "lookout.incidents")
        finally:
            system.stop()
        figures["lookout-" + backend] = e
        log_e2e("lookout-" + backend, e)
    port = lookout.free_ports(1)[0]
    system = AlertmanagerSystem("alertmanager-e2e", ALERTMANAGER_WEBHOOK_CONFIG % port)
    try:
        e = e2e_rounds(system, system.dir, rounds, rate, duration, "--receiver-port", port)
    finally:
        system.stop()
    figures["alertmanager"] = e
    log_e2e("alertmanager", e)
    return figures


def phase_memory(backends, alerts, connections):
    """Fresh systems filled with `alerts` active (firing) alerts: peak resident memory."""
    figures = {}
    makers = [("alertmanager", lambda: AlertmanagerSystem("alertmanager",
                                                          ALERTMANAGER_NULL_CONFIG))]
    for backend in backends:
        makers.append(("lookout-" + backend,
                       lambda backend=backend: LookoutSystem("lookout-" + backend + "-memory",
                                                             backend)))
    for name, make in makers:
        system = make()
        try:
            sampler = MemorySampler(system.pids())
            sampler.start()
            started = time.monotonic()
            result = fill(system, alerts, connections)
            elapsed = time.monotonic() - started
            time.sleep(2)  # let a garbage collector or a checkpoint run once more
            peak_sum = sampler.stop()
            hwm = {str(pid): peak_rss_kb(pid) for pid in system.pids()}
            figures[name] = {"alerts": result["alerts"], "fill_s": round(elapsed, 2),
                             "peak_rss_sampled_mib": round(peak_sum / 1024, 1),
                             "peak_rss_hwm_sum_mib": round(sum(hwm.values()) / 1024, 1),
                             "processes": len(hwm)}
            log("memory %-18s %d alerts in %.1f s: peak %.1f MiB (VmHWM sum %.1f MiB)" % (
                name, result["alerts"], elapsed, peak_sum / 1024, sum(hwm.values()) / 1024))
        finally:
            system.stop()
    return figures


def phase_storm(samples):
    """bench/storm.py's storm (native POST /alerts, 4 clients, batches of 1000) on SQLite."""
    sets = max(100, min(10000, samples // 100))
    figures = storm.run(samples=samples, sets=sets, groups=100, tenants=10, quiet=True,
                        owner="bench-storm")
    log("storm: %d samples in %.1f s, peak %.1f MiB%s" % (
        samples, figures["elapsed_s"], figures["peak_rss_sum_mib"],
        "; PROBLEMS: %s" % figures["problems"] if figures["problems"] else ""))
    return {key: figures[key] for key in ("samples", "label_sets", "groups", "elapsed_s",
                                          "samples_per_s", "peak_rss_sum_mib", "peak_rss_mib",
                                          "incidents", "problems")}


# ---- output ---------------------------------------------------------------------------------

def fmt(value, digits=0):
    if value is None:
        return "-"
    return ("%%.%df" % digits) % value


def print_table(report, out=sys.stdout):
    w = out.write
    w("\nLookout vs Alertmanager — %s, %s\n" % (report["date"], report["machine"]))
    w("(median of the rounds; ±: half the spread (max-min)/median of the rounds; (x): median "
      "of the per-round ratios)\n")
    for backend, scenarios in report["throughput"].items():
        w("\nIntake throughput, Lookout on %s, POST /api/v2/alerts, batches of 64 (alerts/s)\n"
          % backend)
        names = list(next(iter(scenarios.values())))
        w("  %-8s" % "scenario" + "".join("%28s" % n for n in names) + "\n")
        for scenario, entry in scenarios.items():
            cells = []
            for index, name in enumerate(names):
                e = entry[name]
                cell = "%s ±%d%%" % (fmt(e["alerts_per_s"]), round(100 * e["spread"] / 2))
                if index:
                    cell += " (%.2fx)" % e["ratio_to_alertmanager"]
                cells.append("%28s" % cell)
            w("  %-8s" % scenario + "".join(cells) + "\n")
        latency = report.get("latency", {}).get(backend)
        if not latency:
            continue
        capacity = report.get("capacity", {}).get(backend)
        if capacity:
            w("Open-loop capacity of Lookout/%s (highest offered rate answered in full with p99 "
              "<= %d ms)\n" % (backend, CAPACITY_P99_MS))
            for scenario, entry in capacity.items():
                failed = [step for step in entry.get("steps", []) if not step["ok"]]
                stalled = [step for step in failed
                           if (step.get("disk_probe") or {}).get("max_ms", 0) >= DISK_STALL_MS]
                slow = [step for step in failed
                        if (step.get("store_commits") or {}).get("slow")]
                w("  %-8s %s alerts/s%s%s\n" % (
                    scenario, fmt(entry["alerts_per_s"]),
                    "  (steps that missed with the disk probe's slowest fdatasync at %d ms or "
                    "more: %d of %d)" % (DISK_STALL_MS, len(stalled), len(failed))
                    if stalled else "",
                    "  (steps that missed with store's commits of %d ms or more: %d of %d)" % (
                        SLOW_COMMIT_MS, len(slow), len(failed)) if slow else ""))
        held = report.get("settings", {}).get("latency_alerts")
        fresh = ""
        if held is not None:
            fresh = "; each case%s from fresh systems holding %s alerts" % (
                " after the first" if AFTER_EARLIER in latency else "", "{:,}".format(held))
        w("Answer latency, open loop at 50%% of Lookout/%s's closed-loop saturation, at 50%% of "
          "its open-loop capacity, and re-sends at 50%% of Alertmanager's (ms)%s\n" % (
              backend, fresh))
        for scenario, entry in latency.items():
            w("  %s at %s alerts/s offered:\n" % (scenario, fmt(entry["offered_alerts_per_s"])))
            for name in names:
                e = entry[name]
                rounds_p99 = e.get("rounds_p99") or []
                others_cpu = e.get("rounds_others_cpu_s") or []
                disk = [probe["max_ms"] for probe in e.get("rounds_disk_probe") or []]
                commits = e.get("rounds_store_commits") or []
                w("    %-20s p50 %8s  p99 %8s  p99.9 %8s  errors %d%s%s%s%s%s\n" % (
                    name, fmt(e["p50"], 2), fmt(e["p99"], 2), fmt(e["p999"], 2), e["errors"],
                    "  (p99 of the rounds: %s)" % ", ".join(fmt(v, 1) for v in rounds_p99)
                    if len(rounds_p99) > 1 else "",
                    # the other system's background work landed in a round
                    "  (the other system's CPU during the rounds: %s s)" % ", ".join(
                        fmt(v, 2) for v in others_cpu) if max(others_cpu, default=0) >= 0.1
                    else "",
                    # the disk itself stalled in a round (DiskProbe)
                    "  (disk probe's slowest fdatasync in the rounds: %s ms)" % ", ".join(
                        fmt(v, 1) for v in disk) if max(disk, default=0) >= DISK_STALL_MS else "",
                    # store's own commits waited that long (StoreCommits)
                    "  (store's commits of %d ms or more in the rounds: %s)" % (
                        SLOW_COMMIT_MS, ", ".join(slow_commits(c) for c in commits))
                    if any(c and c["slow"] for c in commits) else "",
                    "  (could not keep up: %d unanswered)" % e["incomplete"]
                    if e["incomplete"] else ""))
                active = e.get("rounds_active_alerts") or []
                if any(v is not None for v in active):  # None: its /metrics did not answer
                    w("    %-20s alerts held as the rounds began: %s\n" % (
                        "", ", ".join("?" if v is None else "{:,}".format(v) for v in active)))
                cost = e.get("cpu_ms_per_request")
                if cost:
                    w("    %-20s CPU per request %s ms (%s)\n" % (
                        "", fmt(cost["all"], 2), ", ".join(
                            "%s %s" % (n.replace("lookout-", ""), fmt(v, 2))
                            for n, v in cost.items() if n != "all")))
                waits = e.get("run_queue_ms_per_request")
                if waits:
                    w("    %-20s waits for a core per request %s ms (%s)\n" % (
                        "", fmt(sum(waits.values()), 2), ", ".join(
                            "%s %s" % (n, fmt(v, 2)) for n, v in waits.items())))
    if "e2e" in report:
        settings = report.get("settings", {})
        w("\nEnd to end, alert POST → notification (ms; zero grouping delay%s)\n" % (
            "; %d rounds of 10 s at %s alerts/s" % (settings["e2e_rounds"],
                                                    fmt(settings["e2e_rate"], 0))
            if "e2e_rounds" in settings else ""))
        for name, e in report["e2e"].items():
            n = e["notification_ms"]
            line = "  %-20s receiver p50 %7s p99 %7s (%d of %d)" % (
                name, fmt(n.get("p50"), 1), fmt(n.get("p99"), 1), n["count"], e["sent"])
            if "kafka_ms" in e:
                k = e["kafka_ms"]
                line += "   Kafka p50 %7s p99 %7s (%d)" % (fmt(k.get("p50"), 1),
                                                          fmt(k.get("p99"), 1), k["count"])
            w(line + "\n")
            # medians of the rounds: each round's p99, and the disk's own worst sync then
            if len(e.get("rounds", [])) > 1:
                w("  %-20s   rounds' receiver p99 %s; disk probe's slowest fdatasync %s%s\n" % (
                    "", ", ".join(fmt(v, 1) for v in n.get("rounds_p99", [])),
                    ", ".join(fmt(r["disk_probe"]["max_ms"], 1) for r in e["rounds"]),
                    "; store's commits of %d ms or more %s" % (SLOW_COMMIT_MS, ", ".join(
                        slow_commits(r["store_commits"]) for r in e["rounds"]))
                    if any(r.get("store_commits") for r in e["rounds"]) else ""))
    for backend, e in report.get("wave", {}).items():
        w("\nAnswer latency while %s alerts end (endsAt %d s after they were sent), new alerts "
          "at %s/s open loop (ms)\n" % (format(e["alerts"], ","), e["ends_after_s"],
                                        format(e["offered_alerts_per_s"], ",")))
        for name in (n for n in e if isinstance(e[n], dict)):
            x = e[name]
            disk = (x.get("disk_probe") or {}).get("max_ms", 0)
            commits = x.get("store_commits")
            w("  %-20s p50 %8s  p99 %8s  p99.9 %8s  errors %d%s%s%s\n" % (
                name, fmt(x["p50"], 2), fmt(x["p99"], 2), fmt(x["p999"], 2), x["errors"],
                "  (disk probe's slowest fdatasync: %s ms)" % fmt(disk, 1)
                if disk >= DISK_STALL_MS else "",
                "  (store's commits of %d ms or more: %s)" % (SLOW_COMMIT_MS,
                                                              slow_commits(commits))
                if commits and commits["slow"] else "",
                " (%d incomplete)" % x["incomplete"] if x["incomplete"] else ""))
    if "memory" in report:
        w("\nPeak memory with %s active alerts (MiB, processes summed)\n" %
          format(report["settings"]["memory_alerts"], ","))
        for name, e in report["memory"].items():
            w("  %-20s sampled peak %8s   VmHWM sum %8s   (%d processes, filled in %.1f s)\n" % (
                name, fmt(e["peak_rss_sampled_mib"], 1), fmt(e["peak_rss_hwm_sum_mib"], 1),
                e["processes"], e["fill_s"]))
    if "storm" in report:
        s = report["storm"]
        w("\nStorm: %s samples → %d incidents in %.1f s (%s samples/s), peak %.1f MiB%s\n" % (
            format(s["samples"], ","), s["incidents"] - 1, s["elapsed_s"],
            format(s["samples_per_s"], ","), s["peak_rss_sum_mib"],
            "  PROBLEMS: %s" % s["problems"] if s["problems"] else ""))
    w("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds per system")
    parser.add_argument("--duration", type=float, default=4, help="seconds per measurement")
    parser.add_argument("--latency-rounds", type=int, default=3,
                        help="rounds of each open-loop latency case per system (medians)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--http-threads", type=int, default=32,
                        help="LOOKOUT_HTTP_THREADS of the Lookout under test")
    parser.add_argument("--memory-alerts", type=int, default=100000)
    parser.add_argument("--latency-alerts", type=int, default=100000,
                        help="alerts each system holds when a latency case begins (each case "
                        "starts from fresh systems filled with this many)")
    parser.add_argument("--memory-postgresql", action="store_true",
                        help="also measure Lookout's memory on PostgreSQL (server not counted)")
    parser.add_argument("--storm-samples", type=int, default=1000000)
    parser.add_argument("--e2e-rate", type=float, default=20, help="alerts/s in the e2e phase")
    parser.add_argument("--e2e-rounds", type=int, default=3,
                        help="10-second rounds of the e2e phase per system (medians)")
    parser.add_argument("--no-postgresql", action="store_true")
    parser.add_argument("--skip", default="", help="comma list of phases to leave out: "
                        "latency,wave,e2e,memory,storm")
    parser.add_argument("--output", help="JSON file (default bench/results/<date>.json)")
    parser.add_argument("--variant", default="",
                        help="KEY=VALUE[,KEY=VALUE...]: also measure the throughput of a second "
                        "Lookout with these settings added, in the same rounds (e.g. "
                        "LOOKOUT_HTTP_THREADS=4)")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    variant = dict(item.split("=", 1) for item in filter(None, args.variant.split(",")))
    backends = ["sqlite"] if args.no_postgresql else ["sqlite", "postgresql"]
    pg_server = None
    if "postgresql" in backends:
        pg_server, note = pg_settings(lookout.pg_admin_url())  # fails early without a server
        if note:
            print("bench: note: " + note, flush=True)

    started = time.monotonic()
    now = datetime.datetime.now()
    report = {
        "date": now.strftime("%Y-%m-%d %H:%M"),
        "machine": "%s, %d cores, %s" % (platform.machine(), os.cpu_count(),
                                        platform.platform(terse=True)),
        "command": " ".join(["bench/run.sh"] + figure_args(sys.argv[1:])),
        "settings": {"rounds": args.rounds, "latency_rounds": args.latency_rounds,
                     "duration_s": args.duration,
                     "connections": args.connections, "batch": 64,
                     "lookout_http_threads": args.http_threads,
                     "memory_alerts": args.memory_alerts, "latency_alerts": args.latency_alerts,
                     "storm_samples": args.storm_samples,
                     "e2e_rate": args.e2e_rate, "e2e_rounds": args.e2e_rounds},
    }
    if pg_server:
        report["settings"]["postgresql"] = pg_server
    lookout_env = {"LOOKOUT_HTTP_THREADS": str(args.http_threads)}
    # One pass per backend, each with a fresh Alertmanager beside it, so a PostgreSQL server
    # busy with its own checkpoints never runs during the other pass's measurements.
    report["throughput"], report["latency"] = {}, {}
    for backend in backends:
        systems = []

        def start(backend=backend):
            """Fresh systems in `systems` (the ones there stopped): Alertmanager, Lookout on
            backend, and the variant if any."""
            while systems:
                systems.pop().stop()
            systems.append(AlertmanagerSystem("alertmanager", ALERTMANAGER_NULL_CONFIG))
            systems.append(LookoutSystem("lookout-" + backend, backend, env=lookout_env))
            if variant:  # after the main one: the latency phase measures systems[1]
                systems.append(LookoutSystem("lookout-%s+%s" % (backend, args.variant), backend,
                                             env=dict(lookout_env, **variant)))

        def renew():
            """The latency phase's systems for its next case: fresh, each holding
            --latency-alerts alerts."""
            log("latency: fresh systems, %d alerts each" % args.latency_alerts)
            start()
            if args.latency_alerts > 0:
                for system in systems:
                    fill(system, args.latency_alerts, args.connections)
            return systems

        try:
            log("starting Alertmanager and Lookout on %s" % backend)
            start()
            report["alertmanager_version"] = systems[0].version()
            rounds = args.rounds if backend == "sqlite" else max(2, args.rounds - 1)
            report["throughput"][backend] = phase_throughput(systems, rounds, args.duration,
                                                             args.connections)
            if "latency" not in skip:
                capacity = None
                if backend == "sqlite":
                    capacity = phase_capacity(systems[1], report["throughput"][backend],
                                              args.duration, args.connections, quiet=systems)
                    report["capacity"] = {backend: capacity}
                report["latency"][backend] = phase_latency(
                    systems, report["throughput"][backend], args.duration, args.connections,
                    capacity=capacity, rounds=args.latency_rounds, renew=renew)
            if "wave" not in skip and backend == "sqlite":
                # half the open-loop capacity, else (latency skipped) of the closed-loop rate
                reference = ((capacity or {}).get("new", {}).get("alerts_per_s") or
                             report["throughput"][backend]["new"][systems[1].name]["alerts_per_s"])
                report["wave"] = {backend: phase_wave(systems[:2], reference / 2,
                                                      args.connections)}
        finally:
            for system in systems:
                system.stop()
    if "e2e" not in skip:
        report["e2e"] = phase_e2e(backends, args.e2e_rate, 10, args.e2e_rounds)
    if "memory" not in skip:
        # SQLite: the database is inside Lookout's processes, as Alertmanager's state is in
        # its own; a PostgreSQL server's memory would not be counted (--memory-postgresql)
        report["memory"] = phase_memory(backends if args.memory_postgresql else ["sqlite"],
                                        args.memory_alerts, args.connections)
    if "storm" not in skip:
        report["storm"] = phase_storm(args.storm_samples)
    report["elapsed_s"] = round(time.monotonic() - started, 1)

    print_table(report)
    output = args.output or os.path.join(HERE, "results", now.strftime("%Y-%m-%d") + ".json")
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print("figures written to %s (%.0f s)" % (output, report["elapsed_s"]))


if __name__ == "__main__":
    try:
        main()
    finally:
        lookout._cleanup()
