"""Correlation through the HTTP API and the real processes: routes (and their reload on
SIGHUP), group_wait, inhibition, silences, flapping, heartbeat monitors, and alerts from
several sources joining one incident."""

import datetime
import re
import signal
import time

import lookout
from correlation_tools import CorrelationTestCase, wait_until
from lookout import fingerprint, new_tenant


def rfc3339(offset_s):
    """Now + offset_s as an RFC 3339 UTC string."""
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_s)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


INHIBIT_CONFIG = """
inhibit_rules:
  - source_matchers: ['alertname="node_down"']
    target_matchers: ['alertname="stream_failure"']
    equal: [node]
"""

ROUTES_CONFIG = """
escalation_policies:
  - name: default
    levels: [{delay: 0s, targets: [{channel: ops}]}]
  - name: video-oncall
    levels: [{delay: 0s, targets: [{channel: ops}]}]
channels:
  - {name: ops, type: slack, url: 'http://127.0.0.1:9/hook'}
route:
  group_by: [alertname]
  escalation_policy: default
  routes:
    - matchers: ['team="video"']
      group_by: [alertname, node]
      escalation_policy: video-oncall
    - matchers: ['team="batch"']
      group_wait: 3s
heartbeats:
  - name: declared-job
    tenant: 00000000-0000-0000-0000-000000000001
    interval: 2s
    labels: {team: storage}
"""


class CorrelationTest(CorrelationTestCase):

    def post_ok(self, lk, alerts, tenant):
        answer = lk.post_alerts(alerts, tenant=tenant)
        self.assertStatus(answer, 202, "POST /alerts")
        return answer.json["alerts"]

    def suppressed(self, lk, tenant, query=""):
        answer = lk.get("/alerts/suppressed" + query, tenant=tenant)
        self.assertStatus(answer, 200, "GET /alerts/suppressed")
        return answer.json["alerts"]

    # -- inhibition --

    def test_inhibition(self):
        self.inhibition(self.start_with_config(INHIBIT_CONFIG))

    def test_inhibition_postgresql(self):
        self.require_pg()
        self.inhibition(self.start_with_config(INHIBIT_CONFIG, backend="postgresql"))

    def inhibition(self, lk):
        tenant = new_tenant()
        source = self.post_ok(lk, {"name": "node_down", "labels": {"node": "n1"},
                                   "severity": "critical"}, tenant)[0]
        self.assertIsNotNone(source["incident_id"])

        # stream_failure on the same node: stored and visible, in no incident
        held = self.post_ok(lk, [{"name": "stream_failure",
                                  "labels": {"node": "n1", "stream": "s%d" % i}}
                                 for i in range(3)], tenant)
        for item in held:
            self.assertEqual(item["outcome"], "new")
            self.assertIsNone(item["incident_id"], item)
        listed = self.suppressed(lk, tenant)
        self.assertEqual(sorted(a["fingerprint"] for a in listed),
                         sorted(h["fingerprint"] for h in held))
        for alert in listed:
            self.assertEqual(alert["state"], "inhibited")
            self.assertEqual(alert["suppressed_by"], "inhibit_rules[0]")
            self.assertIsNone(alert["incident_id"])
        self.assertEqual(self.suppressed(lk, tenant, "?state=silenced"), [])
        self.assertEqual(len(self.suppressed(lk, tenant, "?state=inhibited")), 3)
        self.assertEqual(self.suppressed(lk, new_tenant()), [])  # tenant-scoped
        self.assertEqual(lk.db_count(
            "SELECT count(*) FROM suppressed_alerts WHERE tenant_id = '%s'" % tenant), 3)
        names = [i["group_labels"]["alertname"] for i in lk.incidents(tenant)]
        self.assertEqual(names, ["node_down"], "an inhibited alert opened an incident")

        # a re-send of a held alert is acked at once and changes nothing
        again = self.post_ok(lk, {"name": "stream_failure",
                                  "labels": {"node": "n1", "stream": "s0"}}, tenant)[0]
        self.assertEqual(again["outcome"], "unchanged")

        # another node's stream_failure opens an incident as usual
        other = self.post_ok(lk, {"name": "stream_failure",
                                  "labels": {"node": "n2", "stream": "s0"}}, tenant)[0]
        self.assertIsNotNone(other["incident_id"])

        # one of the held ones resolves while held: it is forgotten
        self.post_ok(lk, {"name": "stream_failure", "labels": {"node": "n1", "stream": "s2"},
                          "status": "resolved"}, tenant)
        self.assertEqual(len(self.suppressed(lk, tenant)), 2)

        # the source resolves: the two still firing join their group's incident
        self.post_ok(lk, {"name": "node_down", "labels": {"node": "n1"}, "status": "resolved"},
                     tenant)
        self.assertEqual(self.suppressed(lk, tenant), [])
        detail = lk.incident(other["incident_id"], tenant)
        self.assertEqual(detail["incident"]["alert_count"], 3)
        self.assertEqual(detail["incident"]["firing_count"], 3)
        self.assertEqual(sorted(a["fingerprint"] for a in detail["alerts"]), sorted(
            [other["fingerprint"], held[0]["fingerprint"], held[1]["fingerprint"]]))
        self.assertEqual(lk.db_count(
            "SELECT count(*) FROM suppressed_alerts WHERE tenant_id = '%s'" % tenant), 0)

    # -- silences --

    def test_silences(self):
        self.silences(self.start_lookout())

    def test_silences_postgresql(self):
        self.require_pg()
        self.silences(self.start_lookout(backend="postgresql"))

    def silences(self, lk):
        tenant = new_tenant()

        # validation: 400s naming the problem
        for body, field in (
                ({"matchers": [{"name": "node", "value": "n1"}]}, "endsAt"),
                ({"matchers": [], "endsAt": rfc3339(60)}, "matchers"),
                ({"matchers": [{"name": "node", "value": "(", "isRegex": True}],
                  "endsAt": rfc3339(60)}, "matchers[0]"),
                ({"matchers": [{"name": "9x", "value": "a"}], "endsAt": rfc3339(60)},
                 "matchers[0]"),
                ({"matchers": [{"name": "node", "value": "n1"}], "startsAt": rfc3339(60),
                  "endsAt": rfc3339(30)}, "endsAt")):
            answer = lk.post("/silences", body=body, tenant=tenant)
            self.assertErrorBody(answer, 400, "POST /silences %r" % body)
            self.assertEqual(answer.json["detail"]["field"], field, answer)
        answer = lk.post("/silences", body={"matchers": [{"name": "node", "value": "n1"}],
                                            "endsAt": rfc3339(-60)}, tenant=tenant)
        self.assertErrorBody(answer, 400, "a silence that already ended")

        answer = lk.post("/silences", body={
            "matchers": [{"name": "node", "value": "n[12]", "isRegex": True},
                         {"name": "alertname", "value": "Watchdog", "isEqual": False}],
            "endsAt": rfc3339(3600), "createdBy": "alice", "comment": "maintenance"},
            tenant=tenant)
        self.assertStatus(answer, 200, "POST /silences")
        silence = answer.json
        self.assertEqual(silence["silenceID"], silence["id"])
        self.assertEqual(silence["status"]["state"], "active")
        self.assertEqual(silence["createdBy"], "alice")
        self.assertTrue(lookout.RFC3339_MS.match(silence["startsAt"]))
        # listed, by id, active; another tenant sees nothing
        listed = lk.get("/silences", tenant=tenant).json["silences"]
        self.assertEqual([s["id"] for s in listed], [silence["id"]])
        self.assertEqual(len(lk.get("/silences?active", tenant=tenant).json["silences"]), 1)
        self.assertEqual(lk.get("/silences/" + silence["id"], tenant=tenant).json["id"],
                         silence["id"])
        self.assertErrorBody(lk.get("/silences/" + silence["id"], tenant=new_tenant()), 404)
        self.assertErrorBody(lk.request("DELETE", "/silences/" + silence["id"],
                                        tenant=new_tenant()), 404)
        self.assertEqual(lk.get("/silences", tenant=new_tenant()).json["silences"], [])

        # matching alerts are recorded and open nothing; others open incidents
        quiet = self.post_ok(lk, [{"name": "DiskFull", "labels": {"node": "n1"}},
                                  {"name": "DiskFull", "labels": {"node": "n2"}},
                                  {"name": "Watchdog", "labels": {"node": "n1"}}], tenant)
        self.assertIsNone(quiet[0]["incident_id"])
        self.assertIsNone(quiet[1]["incident_id"])
        self.assertIsNotNone(quiet[2]["incident_id"])  # isEqual false: not silenced
        loud = self.post_ok(lk, {"name": "DiskFull", "labels": {"node": "n3"}}, tenant)[0]
        self.assertIsNotNone(loud["incident_id"])
        held = self.suppressed(lk, tenant)
        self.assertEqual(len(held), 2)
        self.assertEqual(set(a["state"] for a in held), {"silenced"})
        self.assertEqual(set(a["suppressed_by"] for a in held), {silence["id"]})

        # expiring the silence releases them into their group's incident
        answer = lk.request("DELETE", "/silences/" + silence["id"], tenant=tenant)
        self.assertStatus(answer, 200, "DELETE /silences")
        self.assertEqual(answer.json["status"]["state"], "expired")
        self.assertEqual(self.suppressed(lk, tenant), [])
        incident = lk.incident(loud["incident_id"], tenant)["incident"]
        self.assertEqual(incident["alert_count"], 3)
        # expiring again is a no-op answered from store
        answer = lk.request("DELETE", "/silences/" + silence["id"], tenant=tenant)
        self.assertStatus(answer, 200, "DELETE /silences again")
        expired = lk.get("/silences?state=expired", tenant=tenant).json["silences"]
        self.assertEqual([s["id"] for s in expired], [silence["id"]])
        self.assertEqual(lk.get("/silences?active", tenant=tenant).json["silences"], [])
        self.assertEqual(lk.db_count(
            "SELECT count(*) FROM silences WHERE tenant_id = '%s'" % tenant), 1)

        # a maintenance window that ends by itself: the alert opens its incident then
        answer = lk.post("/silences", body={
            "matchers": [{"name": "alertname", "value": "Backup"}],
            "endsAt": rfc3339(3), "comment": "short window"}, tenant=tenant)
        self.assertStatus(answer, 200, "POST /silences (short)")
        window = self.post_ok(lk, {"name": "Backup", "labels": {"job": "nightly"}}, tenant)[0]
        self.assertIsNone(window["incident_id"])
        wait_until(lambda: any(i["group_labels"].get("alertname") == "Backup"
                               for i in lk.incidents(tenant)),
                   timeout=15, what="the Backup incident after the silence ended")
        self.assertEqual(self.suppressed(lk, tenant), [])

        # updating a live silence by id; an unknown id is 404
        answer = lk.post("/silences", body={"matchers": [{"name": "a", "value": "b"}],
                                            "endsAt": rfc3339(600)}, tenant=tenant)
        self.assertStatus(answer, 200)
        update = lk.post("/silences", body={"id": answer.json["id"],
                                            "matchers": [{"name": "a", "value": "c"}],
                                            "endsAt": rfc3339(900), "comment": "wider"},
                         tenant=tenant)
        self.assertStatus(update, 200, "updating a silence")
        self.assertEqual(update.json["id"], answer.json["id"])
        self.assertEqual(update.json["matchers"][0]["value"], "c")
        self.assertErrorBody(lk.post("/silences", body={
            "id": str(lookout.uuid.uuid4()), "matchers": [{"name": "a", "value": "c"}],
            "endsAt": rfc3339(900)}, tenant=tenant), 404)

    # -- flapping --

    def test_flapping(self):
        lk = self.start_lookout(env={"LOOKOUT_REOPEN_WINDOW_S": "600"})
        tenant = new_tenant()
        alert = {"name": "LinkFlap", "labels": {"link": "edge-1"}}
        first = self.post_ok(lk, alert, tenant)[0]
        incident_id = first["incident_id"]
        for flap in (1, 2, 3):
            self.post_ok(lk, dict(alert, status="resolved"), tenant)
            state = lk.incident(incident_id, tenant)["incident"]
            self.assertEqual(state["status"], "resolved")
            again = self.post_ok(lk, alert, tenant)[0]
            self.assertEqual(again["incident_id"], incident_id, "a flap opened a new incident")
            self.assertEqual(again["outcome"], "changed")
        detail = lk.incident(incident_id, tenant)
        self.assertEqual(detail["incident"]["status"], "triggered")
        self.assertEqual(detail["incident"]["reopen_count"], 3)
        notes = [e["note"] for e in detail["timeline"] if e["type"] == "incident_reopened"]
        self.assertEqual(len(notes), 3, detail["timeline"])
        self.assertEqual([int(re.match(r"flap (\d+):", note).group(1)) for note in notes],
                         [1, 2, 3])
        self.assertEqual(len(lk.incidents(tenant)), 1)
        self.assertEqual(lk.db_count(
            "SELECT count(*) FROM incidents WHERE tenant_id = '%s'" % tenant), 1)
        self.assertEqual(lk.db_count(
            "SELECT count(*) FROM events WHERE tenant_id = '%s' AND type = 'incident_reopened'"
            % tenant), 3)

    # -- heartbeats --

    def test_heartbeats(self):
        lk = self.start_with_config(ROUTES_CONFIG)
        tenant = new_tenant()
        # unknown monitor without an interval; bad names and bodies
        self.assertErrorBody(lk.post("/heartbeats/nightly", tenant=tenant), 404)
        self.assertErrorBody(lk.post("/heartbeats/bad%20name", tenant=tenant), 400)
        self.assertErrorBody(lk.post("/heartbeats/nightly", body={"interval_s": 0},
                                     tenant=tenant), 400)
        answer = lk.post("/heartbeats/nightly", body={"interval_s": 1, "grace_s": 1,
                                                      "severity": "error",
                                                      "labels": {"team": "db"}},
                         tenant=tenant)
        self.assertStatus(answer, 200, "first ping")
        monitor = answer.json["heartbeat"]
        self.assertEqual(monitor["status"], "up")
        self.assertEqual(monitor["interval_s"], 1)
        self.assertEqual(monitor["severity"], "error")
        # pings without a body keep it alive
        for _ in range(3):
            time.sleep(0.7)
            self.assertStatus(lk.post("/heartbeats/nightly", tenant=tenant), 200)
        self.assertEqual(lk.incidents(tenant), [])

        # silence: no ping for interval + grace opens heartbeat_missed{monitor=nightly}
        def missed_incident():
            for incident in lk.incidents(tenant):
                if incident["group_labels"].get("alertname") == "heartbeat_missed":
                    return incident
            return None
        incident = wait_until(missed_incident, timeout=10, what="heartbeat_missed incident")
        self.assertEqual(incident["status"], "triggered")
        self.assertEqual(incident["severity"], "error")
        self.assertEqual(incident["sources"], ["heartbeat"])
        alerts = lk.incident(incident["id"], tenant)["alerts"]
        self.assertEqual(alerts[0]["labels"], {"alertname": "heartbeat_missed",
                                               "monitor": "nightly", "team": "db"})
        listed = lk.get("/heartbeats", tenant=tenant).json["heartbeats"]
        self.assertEqual([(m["name"], m["status"]) for m in listed], [("nightly", "missed")])

        # the next ping resolves it
        self.assertStatus(lk.post("/heartbeats/nightly", tenant=tenant), 200)
        self.assertEqual(lk.incident(incident["id"], tenant)["incident"]["status"], "resolved")
        self.assertEqual(lk.get("/heartbeats", tenant=tenant).json["heartbeats"][0]["status"],
                         "up")

        # a monitor declared in the configuration fires without ever being pinged
        system = lookout.SYSTEM_TENANT
        declared = lk.get("/heartbeats", tenant=system).json["heartbeats"]
        self.assertEqual([m["name"] for m in declared], ["declared-job"])
        incident = wait_until(lambda: [i for i in lk.incidents(system)
                                       if i["group_labels"].get("alertname") ==
                                       "heartbeat_missed"],
                              timeout=10, what="the declared monitor's incident")[0]
        alerts = lk.incident(incident["id"], system)["alerts"]
        self.assertEqual(alerts[0]["labels"]["monitor"], "declared-job")
        self.assertEqual(alerts[0]["labels"]["team"], "storage")
        self.assertStatus(lk.post("/heartbeats/declared-job", tenant=system), 200)
        self.assertEqual(lk.incident(incident["id"], system)["incident"]["status"], "resolved")

    # -- routes, group_wait, reload --

    def test_routes_and_reload(self):
        lk = self.start_with_config(ROUTES_CONFIG)
        tenant = new_tenant()
        a = self.post_ok(lk, {"name": "StreamDown", "labels": {"team": "video", "node": "n1"}},
                         tenant)[0]
        b = self.post_ok(lk, {"name": "StreamDown", "labels": {"team": "video", "node": "n2"}},
                         tenant)[0]
        c = self.post_ok(lk, {"name": "StreamDown", "labels": {"team": "web", "node": "n1"}},
                         tenant)[0]
        self.assertNotEqual(a["incident_id"], b["incident_id"])
        video = lk.incident(a["incident_id"], tenant)["incident"]
        self.assertEqual(video["group_key"],
                         '{}/{team="video"}:{alertname="StreamDown", node="n1"}')
        self.assertEqual(video["policy"], "video-oncall")
        self.assertEqual(video["title"], "StreamDown (node=n1)")
        web = lk.incident(c["incident_id"], tenant)["incident"]
        self.assertEqual(web["group_key"], '{}:{alertname="StreamDown"}')
        self.assertEqual(web["policy"], "default")
        self.assertEqual(lk.db_scalar("SELECT policy FROM incidents WHERE id = '%s'"
                                      % a["incident_id"]), "video-oncall")

        # group_wait: the incident exists at once, incident_triggered comes 3 s later
        batch = self.post_ok(lk, {"name": "JobFailed", "labels": {"team": "batch"}}, tenant)[0]
        detail = lk.incident(batch["incident_id"], tenant)
        self.assertIsNotNone(detail["incident"]["group_wait_until"])
        self.assertNotIn("incident_triggered", [e["type"] for e in detail["timeline"]])
        self.post_ok(lk, {"name": "JobFailed", "labels": {"team": "batch", "job": "2"}}, tenant)
        wait_until(lambda: "incident_triggered" in [
            e["type"] for e in lk.incident(batch["incident_id"], tenant)["timeline"]],
            timeout=10, what="incident_triggered after group_wait")
        detail = lk.incident(batch["incident_id"], tenant)
        self.assertIsNone(detail["incident"]["group_wait_until"])
        self.assertEqual(detail["incident"]["alert_count"], 2)

        # reload: video alerts now group by alertname only; existing incidents stay as they are
        with open(lk.config_path, "w", encoding="utf-8") as f:
            f.write(ROUTES_CONFIG.replace("group_by: [alertname, node]", "group_by: [alertname]"))
        lk.procs["lookout-correlate"].send_signal(signal.SIGHUP)

        attempts = [0]

        def regrouped():
            attempts[0] += 1  # a new alert each time: a known one keeps its incident
            answer = lk.post_alerts({"name": "EncoderDown",
                                     "labels": {"team": "video", "node": "n%d" % attempts[0]}},
                                    tenant=tenant)
            if answer.status != 202:
                return None
            item = answer.json["alerts"][0]
            key = lk.incident(item["incident_id"], tenant)["incident"]["group_key"]
            return key if "node" not in key else None
        key = wait_until(regrouped, timeout=20, what="the reloaded routes")
        self.assertEqual(key, '{}/{team="video"}:{alertname="EncoderDown"}')
        # a known alert still belongs to its incident
        again = self.post_ok(lk, {"name": "StreamDown", "labels": {"team": "video",
                                                                    "node": "n1"}}, tenant)[0]
        self.assertEqual(again["incident_id"], a["incident_id"])
        self.assertEqual(again["outcome"], "unchanged")

        # an invalid file is refused and changes nothing
        with open(lk.config_path, "w", encoding="utf-8") as f:
            f.write("route:\n  group_bye: []\n")
        lk.procs["lookout-correlate"].send_signal(signal.SIGHUP)
        wait_until(lambda: "configuration reload failed" in open(
            lk.log_dir + "/lookout-correlate.log", encoding="utf-8").read(),
            timeout=10, what="the reload error in the log")
        self.assertIsNone(lk.procs["lookout-correlate"].poll())
        self.post_ok(lk, {"name": "Still", "labels": {}}, tenant)

    # -- several sources --

    def test_cross_source(self):
        lk = self.start_lookout()
        tenant = new_tenant()
        sources = ["prometheus", "periscope", "purser", "prometheus"]
        ids = set()
        for n, source in enumerate(sources):
            item = self.post_ok(lk, {"name": "EdgeDegraded", "source": source,
                                     "labels": {"edge": "e%d" % n}}, tenant)[0]
            ids.add(item["incident_id"])
        self.assertEqual(len(ids), 1, "alerts of one group from several sources split up")
        incident = lk.incident(ids.pop(), tenant)
        self.assertEqual(incident["incident"]["sources"], ["prometheus", "periscope", "purser"])
        self.assertEqual(incident["incident"]["alert_count"], 4)
        self.assertEqual(sorted(a["source"] for a in incident["alerts"]), sorted(sources))
        self.assertEqual(lk.db_scalar(
            "SELECT sources FROM incidents WHERE id = '%s'" % incident["incident"]["id"]).replace(
                " ", ""), '["prometheus","periscope","purser"]')
        self.assertEqual(sorted(a["fingerprint"] for a in incident["alerts"]), sorted(
            fingerprint({"alertname": "EdgeDegraded", "edge": "e%d" % n}) for n in range(4)))


if __name__ == "__main__":
    lookout.main()
