"""The benchmark tools still work: bench/loadgen drives a running Lookout for a second in each
mode, its JSON report adds up, and what it sent is in the database. (The benchmark itself,
bench/run.sh, is not a test and is never run by ctest.)
"""

import json
import os
import subprocess
import time

import lookout

TENANT = "0b5e2a8c-3f41-4d6a-9e07-6c1d2b3a4f50"


def loadgen_path():
    path = os.path.join(lookout.BIN_DIR, "bench", "loadgen")
    if not os.access(path, os.X_OK):
        raise lookout.HarnessError("%s not found (build the loadgen target)" % path)
    return path


class BenchSmokeTest(lookout.LookoutTestCase):

    def loadgen(self, cluster, *args):
        command = [loadgen_path(), "--url", cluster.url + "/api/v2/alerts",
                   "-H", "Authorization: Bearer " + cluster.service_token,
                   "-H", "X-Tenant-ID: " + TENANT, "--connections", "2", "--warmup", "0",
                   "--duration", "1"] + [str(a) for a in args]
        proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=120 * lookout.TIME_SCALE)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        report = json.loads(proc.stdout)
        self.assertEqual(report["errors"], 0, report)
        self.assertGreater(report["requests"], 0, report)
        self.assertEqual(report["status"].get("200"), report["requests"], report)
        self.assertEqual(report["latency_ms"]["count"], report["requests"], report)
        return report

    def test_loadgen_modes(self):
        try:
            loadgen_path()
        except lookout.HarnessError as exc:
            self.fail(str(exc))
        cluster = self.start_lookout()

        sent_ms = time.time() * 1000
        new = self.loadgen(cluster, "--scenario", "new", "--run-id", "smokenew",
                           "--group-size", "50", "--firing-for", "3600")
        self.assertEqual(new["alerts"], 64 * new["requests"])
        # --firing-for: endsAt an hour after each request (the bench's setting)
        ends = cluster.db_query("SELECT MIN(ends_at), MAX(ends_at) FROM alerts WHERE tenant_id "
                                "= '%s' AND name LIKE 'Bench_smokenew_%%'" % TENANT)[0]
        self.assertGreaterEqual(int(ends[0]), sent_ms + 3599000, ends)
        self.assertLessEqual(int(ends[1]), time.time() * 1000 + 3600000, ends)
        # every new alert is one row; answers that came after the measured second are not
        # counted (at most one request per connection)
        stored = cluster.db_count("SELECT count(*) FROM alerts WHERE tenant_id = '%s' AND "
                                  "name LIKE 'Bench_smokenew_%%'" % TENANT)
        self.assertGreaterEqual(stored, new["alerts"])
        self.assertLessEqual(stored, new["alerts"] + 2 * 64)

        resend = self.loadgen(cluster, "--scenario", "resend", "--run-id", "smokeresend",
                              "--pool", "128")
        self.assertGreater(resend["prime_s"], 0)
        # "sent" leaves the priming requests out; at most one per connection is in flight
        # when the measured second ends
        self.assertGreaterEqual(resend["sent"], resend["requests"])
        self.assertLessEqual(resend["sent"], resend["requests"] + 2)
        # re-sends change nothing: only the primed pool is stored (2 connections x 128)
        self.assertEqual(cluster.db_count(
            "SELECT count(*) FROM alerts WHERE tenant_id = '%s' AND name LIKE "
            "'Bench_smokeresend_%%'" % TENANT), 256)

        mixed = self.loadgen(cluster, "--scenario", "mix", "--run-id", "smokemix", "--pool",
                             "64", "--lag", "128")
        resolved = cluster.db_count("SELECT count(*) FROM alerts WHERE tenant_id = '%s' AND "
                                    "name LIKE 'Bench_smokemix_%%' AND status = 'resolved'" %
                                    TENANT)
        self.assertGreaterEqual(resolved, 16 * mixed["requests"])
        self.assertLessEqual(resolved, 16 * (mixed["requests"] + 2))

        paced = self.loadgen(cluster, "--mode", "open", "--rate", "20", "--scenario", "new",
                             "--run-id", "smokeopen")
        self.assertEqual(paced["requests"], 20)
        self.assertEqual(paced["sent"], 20)
        self.assertGreater(paced["latency_ms"]["p50"], 0)


if __name__ == "__main__":
    lookout.main()
