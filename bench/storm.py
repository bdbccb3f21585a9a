#!/usr/bin/env python3
"""Alert storm benchmark: N alert samples over S label sets in G groups across T tenants, sent
through the real HTTP path (POST /alerts to lookout-ingest, which hands them to
lookout-correlate, which commits through lookout-store) by C concurrent clients, must fold
into exactly G incidents, each with its S/G alerts.

Prints the elapsed time, the sample rate, the outcomes correlate reported, and memory: the
peak of the sum of the three (or more, with shards) processes' resident sizes sampled every
100 ms from /proc, and each process's own peak (VmHWM).

    bench/storm.py                       # the acceptance storm: 1,000,000 / 10,000 / 100 / 10
    bench/storm.py --samples 100000 --sets 2000 --groups 20 --tenants 5 --shards 2
    bench/storm.py --backend postgresql  # needs LOOKOUT_TEST_PG_URL

Needs a built tree (LOOKOUT_BIN_DIR, default <repo>/build) and python3's standard library; it
uses the integration-test harness (tests/integration/lookout.py) to start the programs on
free ports with a fresh database. Exits non-zero when the result is not exactly G incidents
with S/G alerts each.
"""

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import lookout  # noqa: E402  (path set above)
from correlation_tools import ShardedCluster, rss_kb, peak_rss_kb  # noqa: E402


class Storm:
    """The storm's shape: which label set every sample carries, and the expected result."""

    def __init__(self, samples, sets, groups, tenants, seed=42):
        if groups % tenants or sets % groups:
            raise ValueError("groups must divide among tenants and sets among groups")
        self.samples, self.sets, self.groups, self.tenants = samples, sets, groups, tenants
        self.tenant_ids = [lookout.new_tenant() for _ in range(tenants)]
        self.groups_per_tenant = groups // tenants
        self.sets_per_group = sets // groups
        self.seed = seed

    def label_set(self, index):
        """(tenant, alert) of label set index: group = index // sets_per_group."""
        group = index // self.sets_per_group
        tenant = self.tenant_ids[group // self.groups_per_tenant]
        return tenant, {
            "name": "Storm%03d" % (group % self.groups_per_tenant),
            "labels": {"instance": "host-%05d" % index, "job": "storm",
                       "severity": "critical" if group % 7 == 0 else "warning"},
            "annotations": {"summary": "storm group %d" % group},
        }

    def batches(self, batch_size, worker, workers):
        """This worker's share of the samples as (tenant, body bytes, count): every label set
        is sampled samples/sets times, in a shuffled order; a batch holds one tenant."""
        rng = random.Random(self.seed + worker)
        per_set = self.samples // self.sets
        order = [index for index in range(self.sets) if index % workers == worker]
        pending = {}
        for round_number in range(per_set):
            rng.shuffle(order)
            for index in order:
                tenant, alert = self.label_set(index)
                sample = dict(alert, value=round_number + rng.random())
                queue = pending.setdefault(tenant, [])
                queue.append(sample)
                if len(queue) == batch_size:
                    yield tenant, json.dumps(queue).encode(), len(queue)
                    pending[tenant] = []
        for tenant, queue in pending.items():
            if queue:
                yield tenant, json.dumps(queue).encode(), len(queue)


class MemorySampler(threading.Thread):
    """Samples the sum of the processes' VmRSS every interval seconds; keeps the peak."""

    def __init__(self, pids, interval=0.1):
        super().__init__(daemon=True)
        self.pids, self.interval = pids, interval
        self.peak_kb = 0
        self.stop_event = threading.Event()

    def run(self):
        while not self.stop_event.is_set():
            self.peak_kb = max(self.peak_kb, sum(rss_kb(pid) for pid in self.pids))
            self.stop_event.wait(self.interval)

    def stop(self):
        self.stop_event.set()
        self.join()
        self.peak_kb = max(self.peak_kb, sum(rss_kb(pid) for pid in self.pids))


def post_all(cluster, storm, batch_size, clients, timeout=60):
    """Sends every batch with clients keep-alive connections, retrying on 503 as a sender
    must. Returns (outcome counts, retries, first error)."""
    outcomes = {}
    retries = [0]
    errors = []
    lock = threading.Lock()

    def worker(index):
        connection = http.client.HTTPConnection("127.0.0.1", cluster.http_port, timeout=timeout)
        headers_base = {"Authorization": "Bearer " + cluster.service_token,
                        "Content-Type": "application/json"}
        local = {}
        for tenant, body, count in storm.batches(batch_size, index, clients):
            headers = dict(headers_base, **{"X-Tenant-ID": tenant})
            for attempt in range(200):
                try:
                    connection.request("POST", "/alerts", body=body, headers=headers)
                    answer = connection.getresponse()
                    data = answer.read()
                except (OSError, http.client.HTTPException) as exc:
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", cluster.http_port,
                                                            timeout=timeout)
                    status, data = "error %s" % exc, b""
                else:
                    status = answer.status
                if status == 202:
                    for item in json.loads(data)["alerts"]:
                        local[item["outcome"]] = local.get(item["outcome"], 0) + 1
                    break
                with lock:
                    retries[0] += 1
                if status != 503 and not str(status).startswith("error"):
                    with lock:
                        errors.append("HTTP %s: %s" % (status, data[:300]))
                    return
                time.sleep(0.05)
            else:
                with lock:
                    errors.append("a batch was never accepted")
                return
        connection.close()
        with lock:
            for outcome, count in local.items():
                outcomes[outcome] = outcomes.get(outcome, 0) + count

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes, retries[0], errors[0] if errors else None


def check(cluster, storm):
    """Compares the database with the expected result; returns a list of problems."""
    problems = []
    expected_alerts = storm.sets_per_group
    for tenant in storm.tenant_ids:
        rows = cluster.db_query(
            "SELECT group_key, alert_count, firing_count, status FROM incidents "
            "WHERE tenant_id = '%s'" % tenant)
        if len(rows) != storm.groups_per_tenant:
            problems.append("tenant %s: %d incidents, expected %d" % (
                tenant, len(rows), storm.groups_per_tenant))
        for group_key, alert_count, firing_count, status in rows:
            if (int(alert_count), int(firing_count), status) != (
                    expected_alerts, expected_alerts, "triggered"):
                problems.append("tenant %s %s: %s alerts, %s firing, %s" % (
                    tenant, group_key, alert_count, firing_count, status))
        stored = cluster.db_count("SELECT count(*) FROM alerts WHERE tenant_id = '%s'" % tenant)
        if stored != storm.sets // storm.tenants:
            problems.append("tenant %s: %d alert rows, expected %d" % (
                tenant, stored, storm.sets // storm.tenants))
    return problems


def run(samples=1_000_000, sets=10_000, groups=100, tenants=10, batch=1000, clients=4,
        backend="sqlite", shards=1, owner="storm", quiet=False):
    """Runs one storm on a fresh cluster. Returns a dict of figures and problems."""
    storm = Storm(samples, sets, groups, tenants)
    env = {"LOOKOUT_LOG_LEVEL": "warn", "LOOKOUT_MAX_BATCH": str(max(batch, 1000)),
           "LOOKOUT_REQUEST_TIMEOUT_MS": "30000"}
    if shards > 1:
        cluster = ShardedCluster(owner, shard_count=shards, backend=backend, env=env)
    else:
        cluster = lookout.Cluster(owner, backend=backend, env=env)
    try:
        cluster.start()
        pids = [proc.pid for proc in cluster.procs.values()]
        sampler = MemorySampler(pids)
        sampler.start()
        started = time.monotonic()
        outcomes, retries, error = post_all(cluster, storm, batch, clients)
        elapsed = time.monotonic() - started
        sampler.stop()
        problems = [error] if error else []
        expected = {"new": sets, "unchanged": samples - sets}
        if outcomes != expected:
            problems.append("outcomes %s, expected %s" % (outcomes, expected))
        problems += check(cluster, storm)
        figures = {
            "samples": samples, "label_sets": sets, "groups": groups, "tenants": tenants,
            "batch": batch, "clients": clients, "backend": backend, "shards": shards,
            "elapsed_s": round(elapsed, 2), "samples_per_s": round(samples / elapsed),
            "retries": retries, "outcomes": outcomes,
            "peak_rss_sum_mib": round(sampler.peak_kb / 1024, 1),
            "peak_rss_mib": {name: round(peak_rss_kb(proc.pid) / 1024, 1)
                             for name, proc in cluster.procs.items()},
            "incidents": cluster.db_count("SELECT count(*) FROM incidents"),
            "alert_rows": cluster.db_count("SELECT count(*) FROM alerts"),
            "problems": problems,
        }
        if not quiet:
            print(json.dumps(figures, indent=2))
        return figures
    except Exception:
        cluster.dump_logs(lines=40)
        raise
    finally:
        cluster.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--sets", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--batch", type=int, default=1000, help="alerts per request")
    parser.add_argument("--clients", type=int, default=4, help="concurrent senders")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--shards", type=int, default=1, help="correlate shards")
    args = parser.parse_args()
    figures = run(args.samples, args.sets, args.groups, args.tenants, args.batch, args.clients,
                  args.backend, args.shards)
    # the incidents of the probe tenant the harness uses to check readiness are extra
    expected = args.groups + 1
    if figures["problems"] or figures["incidents"] != expected:
        print("FAILED: %s" % (figures["problems"] or "%d incidents" % figures["incidents"]))
        sys.exit(1)
    print("OK: %d incidents of %d alerts each" % (args.groups, args.sets // args.groups))


if __name__ == "__main__":
    main()
