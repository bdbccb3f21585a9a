"""Two correlate shards behind one ingest: each tenant's alerts go to the shard that owns it
(lk_shard_of); SIGKILL one shard under load: the other keeps serving its tenants (every one
of their requests answered 2xx during the outage), no alert acknowledged to a sender is lost
(checked in the database), and the restarted shard rebuilds its tenants' state from store."""

import threading
import time

import lookout
from correlation_tools import CorrelationTestCase, shard_of, tenants_of_shard, wait_until
from lookout import fingerprint

SHARDS = 2
TENANTS_PER_SHARD = 2


class ShardTest(CorrelationTestCase):

    def test_shards_and_outage(self):
        lk = self.start_sharded(shard_count=SHARDS,
                                env={"LOOKOUT_REQUEST_TIMEOUT_MS": "4000"})
        tenants = {shard: tenants_of_shard(shard, SHARDS, TENANTS_PER_SHARD)
                   for shard in range(SHARDS)}

        # every shard serves its own tenants; an alert of each opens an incident there
        first = {}
        for shard, owned in tenants.items():
            for tenant in owned:
                answer = lk.post_alerts({"name": "ShardProbe", "labels": {"t": tenant}},
                                        tenant=tenant)
                self.assertStatus(answer, 202, "tenant of shard %d" % shard)
                first[tenant] = answer.json["alerts"][0]
        for tenant, item in first.items():
            self.assertEqual(lk.incident(item["incident_id"], tenant)["incident"]["status"],
                             "triggered")
        # each shard's log names only its own tenants' traffic: the other shard never
        # loaded or created them (it would refuse them: "not served by correlate shard")
        for shard in range(SHARDS):
            log = open("%s/%s.log" % (lk.log_dir, lk.shard_name(shard)), encoding="utf-8").read()
            self.assertNotIn("not served by correlate shard", log)

        # load on both shards; SIGKILL shard 1 in the middle
        acked = {tenant: [] for owned in tenants.values() for tenant in owned}
        failures = {shard: [] for shard in range(SHARDS)}
        outage = {"start": None, "end": None}
        stop = threading.Event()
        lock = threading.Lock()

        def sender(shard, tenant, worker):
            n = 0
            while not stop.is_set():
                n += 1
                batch = [{"name": "ShardLoad", "labels": {"worker": str(worker),
                                                          "n": "%d-%d" % (n, k)}}
                         for k in range(20)]
                started = time.monotonic()
                try:
                    answer = lk.post_alerts(batch, tenant=tenant, timeout=10)
                    status = answer.status
                except OSError as exc:
                    answer, status = None, "error %s" % exc
                with lock:
                    if status == 202:
                        acked[tenant].extend(item["fingerprint"] for item in answer.json["alerts"])
                    else:
                        in_outage = outage["start"] is not None and outage["end"] is None
                        failures[shard].append((started, status, in_outage))
                time.sleep(0.02)

        threads = []
        for shard, owned in tenants.items():
            for worker, tenant in enumerate(owned):
                thread = threading.Thread(target=sender, args=(shard, tenant, worker), daemon=True)
                thread.start()
                threads.append(thread)
        time.sleep(2.0 * lookout.TIME_SCALE)
        with lock:
            outage["start"] = time.monotonic()
        lk.kill_shard(1)
        time.sleep(4.0 * lookout.TIME_SCALE)
        with lock:
            acked_during_outage_0 = sum(len(acked[t]) for t in tenants[0])
        lk.start_shard(1)
        # shard 1 is back once one of its tenants is accepted again
        wait_until(lambda: lk.post_alerts({"name": "ShardBack", "labels": {}},
                                          tenant=tenants[1][0], timeout=10).status == 202,
                   timeout=30, what="shard 1 serving again")
        with lock:
            outage["end"] = time.monotonic()
        time.sleep(1.0 * lookout.TIME_SCALE)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

        # shard 0 never failed a request, before, during or after the outage
        self.assertEqual(failures[0], [], "shard 0's tenants got errors: %r" % failures[0][:5])
        self.assertGreater(acked_during_outage_0, 0)
        # shard 1's tenants were refused (503) while it was down, not before
        self.assertTrue(all(in_outage for _, _, in_outage in failures[1]), failures[1][:5])
        print("\nshards: acked %s alerts; shard 1 refused %d requests during its outage" % (
            {t[:8]: len(v) for t, v in acked.items()}, len(failures[1])))

        # nothing acknowledged is missing from the database
        for tenant, fingerprints in acked.items():
            self.assertGreater(len(fingerprints), 0, "tenant %s got nothing through" % tenant)
            stored = set(row[0] for row in lk.db_query(
                "SELECT fingerprint FROM alerts WHERE tenant_id = '%s'" % tenant))
            missing = set(fingerprints) - stored
            self.assertEqual(missing, set(), "acknowledged alerts lost for tenant %s (shard %d)"
                             % (tenant, shard_of(tenant, SHARDS)))

        # the restarted shard rebuilt its tenants from store: a resolve of an alert it
        # acknowledged before the kill is a change, not an unknown alert
        for tenant in tenants[1]:
            answer = lk.post_alerts({"name": "ShardProbe", "labels": {"t": tenant},
                                     "status": "resolved"}, tenant=tenant)
            self.assertStatus(answer, 202)
            self.assertEqual(answer.json["alerts"][0]["outcome"], "changed")
            self.assertEqual(answer.json["alerts"][0]["incident_id"], first[tenant]["incident_id"])
            self.assertEqual(answer.json["alerts"][0]["fingerprint"],
                             fingerprint({"alertname": "ShardProbe", "t": tenant}))


if __name__ == "__main__":
    lookout.main()
