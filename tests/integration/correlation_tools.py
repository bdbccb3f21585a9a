"""Helpers for the correlation tests (routes, inhibition, silences, heartbeats, shards, storms).

ShardedCluster runs lookout-store, N lookout-correlate shards and lookout-ingest (whose
LOOKOUT_CORRELATE_ENDPOINT lists the shards' endpoints in shard order) as direct children,
with the same environment, logs and helpers as lookout.Cluster. shard_of() is the tenant →
shard function of common/lk_msg.c (lk_shard_of), so a test can pick tenants of each shard.
"""

import os
import signal
import subprocess
import time
import uuid

import lookout
from lookout import HarnessError, find_binary, free_ports

FNV64_OFFSET = 14695981039346656037
FNV64_PRIME = 1099511628211


def shard_of(tenant_id, shard_count):
    """lk_shard_of: FNV-1a 64 of the tenant id text, modulo shard_count."""
    if shard_count <= 1:
        return 0
    h = FNV64_OFFSET
    for byte in tenant_id.encode():
        h ^= byte
        h = (h * FNV64_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h % shard_count


def tenants_of_shard(shard, shard_count, count):
    """count fresh tenant ids that shard `shard` of shard_count owns."""
    found = []
    while len(found) < count:
        tenant = str(uuid.uuid4())
        if shard_of(tenant, shard_count) == shard:
            found.append(tenant)
    return found


def write_config(directory, text, name="lookout.yaml"):
    """Writes a configuration file into directory; returns its path."""
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def wait_until(predicate, timeout=15.0, interval=0.1, what="condition"):
    """Polls predicate() until it returns a truthy value (returned); fails after timeout."""
    deadline = time.monotonic() + timeout * lookout.TIME_SCALE
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("%s not reached within %.0f s (last: %r)" % (
        what, timeout * lookout.TIME_SCALE, last))


def rss_kb(pid):
    """Resident set size of a process in KiB (VmRSS), 0 when it is gone."""
    try:
        with open("/proc/%d/status" % pid, encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_rss_kb(pid):
    """Peak resident set size of a process in KiB (VmHWM), 0 when it is gone."""
    try:
        with open("/proc/%d/status" % pid, encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class ShardedCluster(lookout.Cluster):
    """A Cluster with shard_count correlate processes (names lookout-correlate-0, -1, ...)."""

    def __init__(self, owner_id, shard_count=2, **kw):
        super().__init__(owner_id, **kw)
        self.shard_count = shard_count
        ports = free_ports(shard_count)
        self.shard_endpoints = ["tcp://127.0.0.1:%d" % port for port in ports]
        self.config["LOOKOUT_CORRELATE_ENDPOINT"] = ",".join(self.shard_endpoints)
        self.env["LOOKOUT_CORRELATE_ENDPOINT"] = self.config["LOOKOUT_CORRELATE_ENDPOINT"]
        self.env["LOOKOUT_CORRELATE_SHARD_COUNT"] = str(shard_count)

    def shard_name(self, index):
        return "lookout-correlate-%d" % index

    def start_shard(self, index):
        """Starts (or restarts) correlate shard index."""
        env = dict(self.env, LOOKOUT_CORRELATE_ENDPOINT=self.shard_endpoints[index],
                   LOOKOUT_CORRELATE_SHARD_INDEX=str(index))
        name = self.shard_name(index)
        log = open(os.path.join(self.log_dir, name + ".log"), "ab")
        proc = subprocess.Popen(
            [find_binary("lookout-correlate")], env=env, cwd=self.dir, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=lookout._die_with_parent(signal.SIGKILL))
        log.close()
        self.procs[name] = proc
        return proc

    def kill_shard(self, index):
        """SIGKILLs shard index and waits for it to be gone."""
        proc = self.procs.pop(self.shard_name(index))
        proc.kill()
        proc.wait()

    def start(self, timeout=60.0):
        for name in lookout.PROGRAMS:
            find_binary(name)
        self._start_direct("lookout-store")
        for index in range(self.shard_count):
            self.start_shard(index)
        self._start_direct("lookout-ingest")
        self.wait_ready(timeout)
        return self

    def stop(self):
        """Stops ingest, the shards, then store (SIGTERM; unclean exits are recorded)."""
        if self._stopped:
            return
        order = ["lookout-ingest"] + [self.shard_name(i) for i in range(self.shard_count)] + [
            "lookout-store"]
        for name in order:
            proc = self.procs.get(name)
            if proc is None:
                continue
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15 * lookout.TIME_SCALE)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    self.unclean_exits.append("%s did not exit on SIGTERM" % name)
                    continue
            if proc.returncode != 0:
                self.unclean_exits.append("%s exited with status %s" % (name, proc.returncode))
        self._stopped = True
        if self.pg is not None:
            try:
                self.pg.drop()
            except (AssertionError, OSError, subprocess.SubprocessError) as exc:
                print("warning: could not drop %s: %s" % (self.pg.name, exc))


class CorrelationTestCase(lookout.LookoutTestCase):
    """LookoutTestCase with a configuration file and sharded clusters."""

    def start_with_config(self, yaml_text, **kw):
        """A started Cluster whose programs read yaml_text as LOOKOUT_CONFIG; the cluster's
        config_path attribute names the file (rewrite it and SIGHUP correlate to reload)."""
        import tempfile
        directory = tempfile.mkdtemp(prefix="lookout-config-")
        lookout._temp_dirs.append(directory)
        path = write_config(directory, yaml_text)
        env = dict(kw.pop("env", {}) or {}, LOOKOUT_CONFIG=path)
        cluster = self.start_lookout(env=env, **kw)
        cluster.config_path = path
        return cluster

    def start_sharded(self, shard_count=2, timeout=60.0, **kw):
        """A started ShardedCluster, stopped after the test."""
        problem = None
        try:
            cluster = ShardedCluster(self.id(), shard_count=shard_count, **kw)
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
