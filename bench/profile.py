#!/usr/bin/env python3
"""Instructions per alert of one Lookout process on one intake path, counted by valgrind's
callgrind: reproducible on a busy machine where timings are not.

    bench/profile.py lookout-correlate resend        # re-sends of firing alerts
    bench/profile.py lookout-store new --alerts 20000
    bench/profile.py lookout-ingest mix --top 30

Starts lookout-store, -correlate and -ingest (the integration harness, a fresh SQLite
database) with the chosen program under `valgrind --tool=callgrind`, warms it up, zeroes the
counters, sends --alerts alerts with bench/loadgen (POST /api/v2/alerts, batches of 64),
and prints the program's instructions per alert and its most expensive functions
(inclusive). The callgrind file is kept for callgrind_annotate / kcachegrind. Needs a built
tree (LOOKOUT_BIN_DIR, default <repo>/build; a Release build gives the figures that matter)
and valgrind.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import lookout  # noqa: E402  (path set above)

TENANT = "6b2f3a10-5c1d-4e2f-8a3b-9c4d5e6f7a8b"
FOLDERS = {"lookout-store": "store", "lookout-correlate": "correlate",
           "lookout-ingest": "ingest"}


def wrapper_dir(program, out_file):
    """A directory that looks like a build tree: the three programs, `program` wrapped in
    callgrind."""
    root = tempfile.mkdtemp(prefix="lookout-profile-")
    for name, folder in FOLDERS.items():
        os.makedirs(os.path.join(root, folder))
        real = lookout.find_binary(name)
        path = os.path.join(root, folder, name)
        with open(path, "w") as f:
            if name == program:
                f.write("#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file=%s "
                        "%s \"$@\"\n" % (out_file, real))
            else:
                f.write("#!/bin/sh\nexec %s \"$@\"\n" % real)
        os.chmod(path, 0o755)
    return root


LOADGEN = os.path.join(lookout.BIN_DIR, "bench", "loadgen")


def loadgen(cluster, *args):
    command = [LOADGEN, "--url",
               cluster.url + "/api/v2/alerts", "-H", "Authorization: Bearer " +
               cluster.service_token, "-H", "X-Tenant-ID: " + TENANT] + [str(a) for a in args]
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True, timeout=1800)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("program", choices=sorted(FOLDERS))
    parser.add_argument("scenario", choices=("resend", "new", "mix"))
    parser.add_argument("--alerts", type=int, default=20000, help="alerts measured")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--top", type=int, default=25, help="functions listed")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("profile.py: valgrind not found (apt-get install valgrind)")

    out_file = os.path.join(tempfile.gettempdir(), "callgrind.%s.%s.%d" % (
        args.program, args.scenario, os.getpid()))
    root = wrapper_dir(args.program, out_file)
    lookout.BIN_DIR = root
    cluster = lookout.Cluster("profile", env={"LOOKOUT_LOG_LEVEL": "warn",
                                              "LOOKOUT_REQUEST_TIMEOUT_MS": "60000"})
    try:
        cluster.start(timeout=180)
        pid = cluster.procs[args.program].pid
        common = ["--connections", args.connections, "--warmup", 0]
        # the same run id and startsAt in both runs: the second re-sends the first's pool
        same = ["--run-id", "profile", "--starts-at", int(time.time() * 1000) - 60000,
                "--pool", max(64, args.alerts // args.connections)]
        # warm-up: caches, allocator, database pages; for resend and mix it also fires the
        # pool the measured run re-sends
        loadgen(cluster, *common, "--scenario", "new", "--alerts", max(64, args.alerts // 4),
                "--run-id", "warmup")
        if args.scenario != "new":
            loadgen(cluster, *common, *same, "--scenario", args.scenario, "--alerts", 64)
        subprocess.run(["callgrind_control", "-z", str(pid)], stdout=subprocess.DEVNULL,
                       check=True)
        started = time.monotonic()
        measured = args.alerts
        if args.scenario == "new":
            loadgen(cluster, *common, "--scenario", "new", "--alerts", args.alerts,
                    "--run-id", "profile")
        else:
            # the priming pass re-sends the pool too: counted
            loadgen(cluster, *common, *same, "--scenario", args.scenario, "--alerts",
                    args.alerts)
            measured += max(64, args.alerts // args.connections) * args.connections
            if args.scenario == "mix":
                measured += 1024 * args.connections  # the primed lag (loadgen's --lag)
        elapsed = time.monotonic() - started
    finally:
        cluster.stop()
        lookout._cleanup()
        shutil.rmtree(root, ignore_errors=True)

    total = 0
    with open(out_file, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"(summary|totals): (\d+)", line)
            if m:
                total = max(total, int(m.group(2)))
    print("%s, %s: %s instructions for %d alerts = %d per alert (%.0f s under valgrind)" % (
        args.program, args.scenario, format(total, ","), measured, total // measured, elapsed))
    annotate = subprocess.run(["callgrind_annotate", "--inclusive=yes", out_file],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    rows = [line for line in annotate.stdout.splitlines() if re.match(r"\s*[\d,]+ \(", line)]
    print("\n".join(rows[:args.top + 4]))
    print("callgrind file: %s" % out_file)


if __name__ == "__main__":
    main()
