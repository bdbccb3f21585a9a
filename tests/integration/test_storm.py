"""Alert storm: 10,000 samples over 200 label sets in 5 groups fold into exactly 5 incidents and
200 alert rows, on SQLite and on PostgreSQL; then a group resolves (auto) and reopens."""

import concurrent.futures
import json
import random
import threading
import time

import lookout
from lookout import fingerprint, new_tenant

GROUPS = 5
SETS_PER_GROUP = 40  # 200 label sets
SAMPLES = 10000
BATCH = 100
CLIENTS = 4


def sample(group, instance, status="firing"):
    return {
        "name": "Storm%d" % group,
        "labels": {"instance": "host-%03d" % instance, "job": "node",
                   "severity": "critical" if group == 0 else "warning"},
        "annotations": {"summary": "storm group %d" % group},
        "status": status,
        "value": 1.0,
    }


def label_set(group, instance):
    return {"alertname": "Storm%d" % group, "instance": "host-%03d" % instance, "job": "node",
            "severity": "critical" if group == 0 else "warning"}


class StormTest(lookout.LookoutTestCase):

    def test_storm_sqlite(self):
        self.storm(self.start_lookout(backend="sqlite"))

    def test_storm_postgresql(self):
        self.require_pg()
        self.storm(self.start_lookout(backend="postgresql"))

    def storm(self, lk):
        tenant = new_tenant()
        sets = [(g, i) for g in range(GROUPS) for i in range(SETS_PER_GROUP)]
        samples = [sets[n % len(sets)] for n in range(SAMPLES)]
        random.Random(7).shuffle(samples)
        batches = [[sample(g, i) for g, i in samples[n:n + BATCH]]
                   for n in range(0, SAMPLES, BATCH)]

        retries = [0]
        lock = threading.Lock()

        def send(batch):
            answer, attempts = lk.post_alerts_until_accepted(batch, tenant, deadline_s=120)
            with lock:
                retries[0] += attempts - 1
            return answer

        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(pool.map(send, batches))
        elapsed = time.monotonic() - started

        outcomes = {}
        incident_of_group = {}
        for batch, answer in zip(batches, answers):
            self.assertStatus(answer, 202, "storm batch")
            self.assertEqual(answer.json["accepted"], len(batch))
            for item, result in zip(batch, answer.json["alerts"]):
                outcomes[result["outcome"]] = outcomes.get(result["outcome"], 0) + 1
                group = int(item["name"][len("Storm"):])
                self.assertEqual(result["fingerprint"], fingerprint(
                    dict(item["labels"], alertname=item["name"])))
                incident_of_group.setdefault(group, set()).add(result["incident_id"])
        print("\nstorm on %s: %d samples in %d requests, %d clients: %.2f s, %.0f samples/s, "
              "%.1f requests/s, %d retried; outcomes %s" % (
                  lk.backend, SAMPLES, len(batches), CLIENTS, elapsed, SAMPLES / elapsed,
                  len(batches) / elapsed, retries[0], outcomes))
        self.assertEqual(outcomes.get("new"), len(sets), outcomes)
        for group, ids in incident_of_group.items():
            self.assertEqual(len(ids), 1, "group %d answered with incidents %s" % (group, ids))

        # The API: exactly 5 incidents, 40 firing alerts each.
        incidents = lk.incidents(tenant, "limit=500")
        self.assertEqual(len(incidents), GROUPS, [i["group_labels"] for i in incidents])
        by_name = {i["group_labels"]["alertname"]: i for i in incidents}
        self.assertEqual(sorted(by_name), ["Storm%d" % g for g in range(GROUPS)])
        for group in range(GROUPS):
            incident = by_name["Storm%d" % group]
            self.assertEqual(incident["id"], next(iter(incident_of_group[group])))
            self.assertEqual(incident["status"], "triggered")
            self.assertEqual(incident["alert_count"], SETS_PER_GROUP, incident)
            self.assertEqual(incident["firing_count"], SETS_PER_GROUP, incident)
            self.assertEqual(incident["severity"], "critical" if group == 0 else "warning")
        detail = lk.incident(by_name["Storm1"]["id"], tenant)
        self.assertEqual(len(detail["alerts"]), SETS_PER_GROUP)
        self.assertEqual(sorted(a["fingerprint"] for a in detail["alerts"]),
                         sorted(fingerprint(label_set(1, i)) for i in range(SETS_PER_GROUP)))

        # The database itself: 5 incidents, 200 alert rows, no duplicate events.
        where = "WHERE tenant_id = '%s'" % tenant
        self.assertEqual(lk.db_count("SELECT count(*) FROM incidents " + where), GROUPS)
        self.assertEqual(lk.db_count("SELECT count(*) FROM alerts " + where), len(sets))
        self.assertEqual(lk.db_count(
            "SELECT count(DISTINCT fingerprint) FROM alerts " + where), len(sets))
        db_fps = set(row[0] for row in lk.db_query("SELECT fingerprint FROM alerts " + where))
        self.assertEqual(db_fps, set(fingerprint(label_set(g, i)) for g, i in sets))
        self.assertEqual(lk.db_count(
            "SELECT count(*) FROM events %s AND type = 'incident_triggered'" % where), GROUPS)

        # A write-heavy storm: 50 rounds in which every label set's annotations change (so
        # every sample is a change that store must commit), each round's 200 samples in
        # concurrent batches. Afterwards every alert holds the last round's annotations.
        rounds = SAMPLES // len(sets)
        per_batch = len(sets) // CLIENTS
        started = time.monotonic()
        changed_outcomes = {}
        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            for round_number in range(rounds):
                shuffled = list(sets)
                random.Random(round_number).shuffle(shuffled)
                round_batches = []
                for n in range(0, len(shuffled), per_batch):
                    batch = []
                    for g, i in shuffled[n:n + per_batch]:
                        item = sample(g, i)
                        item["annotations"]["round"] = str(round_number)
                        batch.append(item)
                    round_batches.append(batch)
                for answer in pool.map(send, round_batches):
                    self.assertStatus(answer, 202, "changing storm batch")
                    for result in answer.json["alerts"]:
                        changed_outcomes[result["outcome"]] = \
                            changed_outcomes.get(result["outcome"], 0) + 1
        elapsed = time.monotonic() - started
        print("storm of changes on %s: %d samples in %d rounds of %d requests: %.2f s, "
              "%.0f samples/s; outcomes %s" % (lk.backend, rounds * len(sets), rounds,
                                               len(round_batches), elapsed,
                                               rounds * len(sets) / elapsed, changed_outcomes))
        self.assertEqual(changed_outcomes, {"changed": rounds * len(sets)})
        last_round = str(rounds - 1)
        self.assertEqual(lk.db_count("SELECT count(*) FROM alerts " + where), len(sets))
        rounds_stored = set(json.loads(row[0]).get("round")
                            for row in lk.db_query("SELECT annotations FROM alerts " + where))
        self.assertEqual(rounds_stored, {last_round}, "stored annotations are not the last sent")
        detail = lk.incident(by_name["Storm3"]["id"], tenant)
        self.assertEqual(set(a["annotations"]["round"] for a in detail["alerts"]), {last_round})
        self.assertEqual(len(lk.incidents(tenant, "limit=500")), GROUPS)

        # Every alert of group 2 resolves: its incident resolves automatically.
        target = by_name["Storm2"]
        resolved = [sample(2, i, status="resolved") for i in range(SETS_PER_GROUP)]
        answer, _ = lk.post_alerts_until_accepted(resolved, tenant)
        self.assertStatus(answer, 202, "resolving group 2")
        self.assertEqual(set(r["outcome"] for r in answer.json["alerts"]), {"changed"})
        incident = lk.incident(target["id"], tenant)["incident"]
        self.assertEqual(incident["status"], "resolved", incident)
        self.assertIsNone(incident["resolved_by"], "an automatic resolve has no resolved_by")
        self.assertEqual(incident["firing_count"], 0)
        for other in ("Storm0", "Storm1", "Storm3", "Storm4"):
            self.assertEqual(lk.incident(by_name[other]["id"], tenant)["incident"]["status"],
                             "triggered")

        # One of them fires again within the reopen window: the same incident reopens.
        answer, _ = lk.post_alerts_until_accepted(sample(2, 7), tenant)
        self.assertStatus(answer, 202, "re-firing one alert of group 2")
        self.assertEqual(answer.json["alerts"][0]["incident_id"], target["id"])
        detail = lk.incident(target["id"], tenant)
        incident = detail["incident"]
        self.assertEqual(incident["status"], "triggered", incident)
        self.assertEqual(incident["reopen_count"], 1, incident)
        self.assertEqual(incident["firing_count"], 1, incident)
        types = [e["type"] for e in detail["timeline"]]
        self.assertIn("incident_resolved", types)
        self.assertIn("incident_reopened", types)
        self.assertEqual(len(lk.incidents(tenant, "limit=500")), GROUPS)
        self.assertEqual(lk.db_count("SELECT count(*) FROM incidents " + where), GROUPS)
        self.assertEqual(lk.db_count("SELECT count(*) FROM alerts " + where), len(sets))
        self.assertEqual(lk.db_scalar(
            "SELECT reopen_count FROM incidents WHERE id = '%s'" % target["id"]), "1")


if __name__ == "__main__":
    lookout.main()
