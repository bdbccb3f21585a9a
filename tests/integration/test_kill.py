"""Fault test (DESIGN §2, §6): under supervisord, while clients post unique alerts (retrying
until 2xx, as senders must), lookout-correlate and lookout-store are SIGKILLed several times.
Afterwards every alert that got a 2xx is in the database exactly once, nothing is duplicated
(incidents, alert rows, events), the outbox sequence has no gap, and every kill was followed
by a restart."""

import json
import os
import re
import signal
import threading
import time

import lookout
from lookout import fingerprint, new_tenant

CLIENTS = 4
BATCH = 5
GROUPS = 5
ROUNDS = 5
VICTIMS = ("lookout-correlate", "lookout-store")


class KillTest(lookout.LookoutTestCase):

    def test_kill_postgresql(self):
        self.require_pg()
        self.kill_under_load("postgresql")

    def test_kill_sqlite(self):
        self.kill_under_load("sqlite")

    def kill_under_load(self, backend):
        lk = self.start_lookout(backend=backend, supervised=True, env={
            "LOOKOUT_REQUEST_TIMEOUT_MS": "3000",
            "LOOKOUT_STORE_TIMEOUT_MS": "1000",
        })
        tenant = new_tenant()
        lock = threading.Lock()
        acked = {}           # fingerprint -> labels (with alertname) of every 2xx'd alert
        ack_info = {}        # fingerprint -> how it was acknowledged, for failure reports
        problems = []
        attempts = [0, 0]    # requests, retried requests
        stop = threading.Event()
        abandon = threading.Event()  # the test failed: clients stop retrying at once

        def client(number):
            seq = 0
            while not stop.is_set():
                batch = []
                for _ in range(BATCH):
                    group = (number + seq) % GROUPS
                    batch.append({"name": "Kill%d" % group,
                                  "labels": {"client": str(number), "seq": str(seq)},
                                  "annotations": {"summary": "kill test group %d" % group}})
                    seq += 1
                try:
                    answer, tries = lk.post_alerts_until_accepted(batch, tenant, deadline_s=120,
                                                                  abandon=abandon)
                except AssertionError as exc:
                    with lock:
                        problems.append("client %d: %s" % (number, exc))
                    return
                with lock:
                    attempts[0] += tries
                    attempts[1] += tries - 1
                    if answer.status != 202:
                        problems.append("client %d: %r" % (number, answer))
                        return
                    for item, result in zip(batch, answer.json["alerts"]):
                        labels = dict(item["labels"], alertname=item["name"])
                        if result["fingerprint"] != fingerprint(labels):
                            problems.append("fingerprint %s for %r" % (result["fingerprint"],
                                                                      labels))
                        acked[result["fingerprint"]] = labels
                        ack_info[result["fingerprint"]] = "acked %s after %d attempt(s): %s" % (
                            time.strftime("%H:%M:%S", time.gmtime()) + ".%03dZ" % (
                                int(time.time() * 1000) % 1000), tries, result)

        ingest_pid = lk.pid("lookout-ingest")
        threads = [threading.Thread(target=client, args=(n,), daemon=True)
                   for n in range(CLIENTS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()

        def wait_progress(what, more=20, timeout=60.0):
            with lock:
                target = len(acked) + more
            deadline = time.monotonic() + timeout * lookout.TIME_SCALE
            while time.monotonic() < deadline:
                with lock:
                    if len(acked) >= target or problems:
                        break
                if not any(t.is_alive() for t in threads):
                    break
                time.sleep(0.1)
            with lock:
                self.assertEqual(problems, [])
                self.assertGreaterEqual(len(acked), target, "no progress " + what)

        kills = []
        try:
            wait_progress("before the first kill")
            for round_number in range(ROUNDS):
                for name in VICTIMS:
                    old_pid = lk.pid(name)
                    self.assertGreater(old_pid, 0, "%s not running before kill" % name)
                    killed_at = time.monotonic()
                    os.kill(old_pid, signal.SIGKILL)
                    new_pid = lk.wait_running(name, not_pid=old_pid, timeout=60)
                    kills.append((name, old_pid, new_pid, time.monotonic() - killed_at))
                    # Load goes on between kills, and the pipeline must recover each time.
                    wait_progress("after killing %s (round %d)" % (name, round_number + 1))
        except BaseException:
            abandon.set()
            raise
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=180 * lookout.TIME_SCALE)
        elapsed = time.monotonic() - started
        self.assertFalse(any(t.is_alive() for t in threads), "a client is still retrying")
        self.assertEqual(problems, [])

        print("\nkill test on %s: %d alerts acknowledged in %.1f s (%d requests, %d retried); "
              "kills: %s" % (backend, len(acked), elapsed, attempts[0], attempts[1], ", ".join(
                  "%s %d->%d in %.1fs" % k for k in kills)))

        # Every kill was followed by a restart; ingest was never touched.
        for name in lookout.PROGRAMS:
            self.assertEqual(lk.state(name), "RUNNING", name)
        self.assertEqual(lk.pid("lookout-ingest"), ingest_pid)
        for name, old_pid, new_pid, _ in kills:
            self.assertNotEqual(old_pid, new_pid)
        with open(os.path.join(lk.log_dir, "supervisord.log"), encoding="utf-8") as log:
            text = log.read()
        for name in VICTIMS:
            self.assertEqual(len(re.findall(r"exited: %s \(terminated by SIGKILL" % name, text)),
                             ROUNDS, "supervisord did not see every kill of %s" % name)

        # Nothing acknowledged is lost, nothing is duplicated.
        where = "WHERE tenant_id = '%s'" % tenant
        rows = lk.db_query("SELECT fingerprint, labels FROM alerts " + where)
        stored = {}
        duplicates = []
        for fp, labels in rows:
            if fp in stored:
                duplicates.append(fp)
            stored[fp] = json.loads(labels)
        missing = sorted(set(acked) - set(stored))
        self.assertEqual(missing, [], "%d acknowledged alerts are not in the database (of %d):\n%s"
                         % (len(missing), len(acked),
                            "\n".join("%s %s" % (fp, ack_info[fp]) for fp in missing[:20])))
        self.assertEqual(duplicates, [], "alerts stored more than once")
        self.assertEqual(sorted(set(stored) - set(acked)), [],
                         "alerts in the database that were never acknowledged")
        for fp, labels in acked.items():
            self.assertEqual(stored[fp], labels, "labels of %s" % fp)

        incidents = lk.incidents(tenant, "limit=500")
        self.assertEqual(sorted(i["group_labels"]["alertname"] for i in incidents),
                         ["Kill%d" % g for g in range(GROUPS)],
                         "restarts split a group into several incidents")
        self.assertEqual(lk.db_count("SELECT count(*) FROM incidents " + where), GROUPS)
        self.assertEqual(sum(i["alert_count"] for i in incidents), len(acked))
        for incident in incidents:
            self.assertEqual(incident["firing_count"], incident["alert_count"], incident)
            self.assertEqual(incident["status"], "triggered")
        self.assertEqual(lk.db_count(
            "SELECT count(*) FROM events %s AND type = 'incident_triggered'" % where), GROUPS)
        # each acknowledged alert added once (an event names one or more, in `fingerprints`)
        added = [fingerprint for row in lk.db_query(
            "SELECT fingerprints FROM events %s AND type = 'alert_added'" % where)
            for fingerprint in row[0].split(" ")]
        self.assertEqual(sorted(added), sorted(acked))

        # The outbox sequence is gap-free from 1 across every restart.
        count, first, last = lk.db_query("SELECT count(*), min(sequence), max(sequence) "
                                         "FROM events")[0]
        self.assertEqual((int(first), int(last)), (1, int(count)),
                         "events sequence has gaps or does not start at 1")


if __name__ == "__main__":
    lookout.main()
