"""The README walk-through, end to end over HTTP (docs/http-api.md): post an alert, list and
read incidents, acknowledge, resolve; invalid and malformed bodies; /healthz."""

import uuid

import lookout
from lookout import RFC3339_MS, fingerprint, is_uuid, new_tenant


class WalkthroughTest(lookout.LookoutTestCase):

    def setUp(self):
        self.lk = self.start_lookout()
        self.tenant = new_tenant()

    def post(self, body):
        return self.lk.post_alerts(body, tenant=self.tenant)

    def test_readme_walkthrough(self):
        """The curl commands of README.md's walk-through, in order."""
        lk, tenant = self.lk, self.tenant

        answer = self.post([
            {"name": "HighCPU", "labels": {"instance": "edge-1"}, "severity": "warning",
             "annotations": {"summary": "CPU above 90% on edge-1"}, "value": 97.5,
             "threshold": 90},
            {"name": "HighCPU", "labels": {"instance": "edge-2"}, "severity": "critical"}])
        self.assertStatus(answer, 202, "two alerts of one group")
        self.assertEqual((answer.json["accepted"], answer.json["rejected"]), (2, 0))
        self.assertEqual([a["index"] for a in answer.json["alerts"]], [0, 1])
        self.assertEqual([a["outcome"] for a in answer.json["alerts"]], ["new", "new"])
        ids = set(a["incident_id"] for a in answer.json["alerts"])
        self.assertEqual(len(ids), 1, "two alerts of one group made %d incidents" % len(ids))
        incident_id = ids.pop()

        triggered = lk.incidents(tenant, "status=triggered")
        self.assertEqual([i["id"] for i in triggered], [incident_id])
        self.assertEqual(triggered[0]["severity"], "critical", "severity is the alerts' highest")
        self.assertEqual(triggered[0]["alert_count"], 2)
        self.assertEqual(triggered[0]["summary"], "CPU above 90% on edge-1")

        detail = lk.incident(incident_id, tenant)
        self.assertEqual(sorted(a["labels"]["instance"] for a in detail["alerts"]),
                         ["edge-1", "edge-2"])
        self.assertTrue(detail["timeline"])

        ack = lk.post("/incidents/%s/acknowledge" % incident_id,
                      {"actor": "alice", "note": "on it"}, tenant=tenant)
        self.assertStatus(ack, 200, "acknowledge")
        self.assertEqual((ack.json["changed"], ack.json["incident"]["status"]),
                         (True, "acknowledged"))
        resolve = lk.post("/incidents/%s/resolve" % incident_id, {"actor": "alice"},
                          tenant=tenant)
        self.assertStatus(resolve, 200, "resolve")
        self.assertEqual((resolve.json["changed"], resolve.json["incident"]["status"],
                          resolve.json["incident"]["resolved_by"]), (True, "resolved", "alice"))

        fired = self.post({"name": "DiskFull", "labels": {"instance": "db-1"}})
        self.assertStatus(fired, 202, "DiskFull firing")
        disk_incident = fired.json["alerts"][0]["incident_id"]
        self.assertNotEqual(disk_incident, incident_id)
        cleared = self.post({"name": "DiskFull", "labels": {"instance": "db-1"},
                             "status": "resolved"})
        self.assertStatus(cleared, 202, "DiskFull resolved")
        self.assertEqual(cleared.json["alerts"][0]["outcome"], "changed")
        self.assertEqual(cleared.json["alerts"][0]["incident_id"], disk_incident)
        incident = lk.incident(disk_incident, tenant)["incident"]
        self.assertEqual(incident["status"], "resolved", incident)
        self.assertIsNone(incident["resolved_by"])
        self.assertEqual(incident["firing_count"], 0)

        bad = self.post([{"name": "Ok"}, {"labels": {"bad-name": "x"}, "status": "maybe"}])
        self.assertErrorBody(bad, 400, "README's bad batch")
        self.assertEqual((bad.json["accepted"], bad.json["rejected"]), (1, 1))
        fields = sorted(e["field"] for e in bad.json["detail"])
        self.assertTrue(all(e["index"] == 1 for e in bad.json["detail"]), bad.json["detail"])
        for field in ("labels.bad-name", "status", "name"):
            self.assertIn(field, fields, "the 400 does not name %r: %r" % (field, fields))
        self.assertEqual(len(lk.incidents(tenant, "label.alertname=Ok")), 1)

    def test_alert_to_resolved_incident(self):
        lk, tenant = self.lk, self.tenant
        alert = {
            "name": "HighCPU",
            "labels": {"instance": "web-1", "severity": "critical"},
            "annotations": {"summary": "CPU above 90% on web-1"},
            "value": 97.5,
            "threshold": 90,
            "source": "periscope",
        }
        expected_fp = fingerprint({"alertname": "HighCPU", "instance": "web-1",
                                   "severity": "critical"})

        # POST /alerts: 202, one new alert, its fingerprint and incident.
        answer = self.post(alert)
        self.assertStatus(answer, 202, "POST /alerts")
        self.assertTrue(answer.headers.get("content-type", "").startswith("application/json"))
        body = answer.json
        self.assertEqual(body["accepted"], 1, body)
        self.assertEqual(body["rejected"], 0, body)
        self.assertEqual(body["errors"], [], body)
        self.assertEqual(len(body["alerts"]), 1, body)
        result = body["alerts"][0]
        self.assertEqual(result["index"], 0)
        self.assertEqual(result["outcome"], "new", body)
        self.assertEqual(result["fingerprint"], expected_fp,
                         "fingerprint is not the Alertmanager fingerprint of the labels")
        incident_id = result["incident_id"]
        self.assertTrue(is_uuid(incident_id), incident_id)

        # The same alert again (a Prometheus re-send) changes nothing.
        again = self.post(alert)
        self.assertStatus(again, 202, "re-sent alert")
        self.assertEqual(again.json["alerts"][0]["outcome"], "unchanged", again.json)
        self.assertEqual(again.json["alerts"][0]["incident_id"], incident_id)
        self.assertEqual(again.json["alerts"][0]["fingerprint"], expected_fp)

        # GET /incidents lists it.
        answer = lk.get("/incidents", tenant=tenant)
        self.assertStatus(answer, 200, "GET /incidents")
        self.assertIn("next_cursor", answer.json)
        self.assertIsNone(answer.json["next_cursor"])
        incidents = answer.json["incidents"]
        self.assertEqual([i["id"] for i in incidents], [incident_id])
        incident = incidents[0]
        self.check_incident_shape(incident)
        self.assertEqual(incident["tenant_id"], tenant)
        self.assertEqual(incident["status"], "triggered")
        self.assertEqual(incident["severity"], "critical")
        self.assertEqual(incident["group_labels"], {"alertname": "HighCPU"})
        self.assertEqual(incident["alert_count"], 1)
        self.assertEqual(incident["firing_count"], 1)
        self.assertEqual(incident["reopen_count"], 0)
        self.assertIn("HighCPU", incident["title"])
        self.assertEqual(incident["summary"], "CPU above 90% on web-1")
        self.assertIsNone(incident["acknowledged_at"])
        self.assertIsNone(incident["resolved_at"])

        # Filters: status and severity.
        self.assertEqual(len(lk.incidents(tenant, "status=triggered")), 1)
        self.assertEqual(len(lk.incidents(tenant, "status=resolved,closed")), 0)
        self.assertEqual(len(lk.incidents(tenant, "severity=critical")), 1)
        self.assertEqual(len(lk.incidents(tenant, "label.alertname=HighCPU")), 1)
        self.assertEqual(len(lk.incidents(tenant, "label.alertname=Other")), 0)
        bad = lk.get("/incidents?status=bogus", tenant=tenant)
        self.assertErrorBody(bad, 400, "GET /incidents?status=bogus")
        self.assertIn("status", str(bad.json), "the 400 does not name the bad parameter")

        # GET /incidents/{id}: the incident, its alert, its timeline.
        detail = lk.incident(incident_id, tenant)
        self.assertEqual(detail["incident"]["id"], incident_id)
        self.assertEqual(len(detail["alerts"]), 1, detail["alerts"])
        stored = detail["alerts"][0]
        self.check_alert_shape(stored)
        self.assertEqual(stored["fingerprint"], expected_fp)
        self.assertEqual(stored["incident_id"], incident_id)
        self.assertEqual(stored["tenant_id"], tenant)
        self.assertEqual(stored["name"], "HighCPU")
        self.assertEqual(stored["status"], "firing")
        self.assertEqual(stored["severity"], "critical")
        self.assertEqual(stored["source"], "periscope")
        self.assertEqual(stored["labels"], {"alertname": "HighCPU", "instance": "web-1",
                                            "severity": "critical"})
        self.assertEqual(stored["annotations"], {"summary": "CPU above 90% on web-1"})
        self.assertEqual(stored["value"], 97.5)
        self.assertEqual(stored["threshold"], 90)
        timeline = detail["timeline"]
        self.assertTrue(timeline, "empty timeline")
        for event in timeline:
            self.check_event_shape(event)
            self.assertEqual(event["incident_id"], incident_id)
        self.assertEqual(timeline[0]["type"], "incident_triggered", timeline)
        sequences = [e["sequence"] for e in timeline]
        self.assertEqual(sequences, sorted(sequences), "timeline is not oldest first")
        self.assertEqual(len(set(e["event_id"] for e in timeline)), len(timeline))
        version_before_ack = detail["incident"]["version"]

        # Acknowledge, then again: changed false, same incident.
        ack = lk.post("/incidents/%s/acknowledge" % incident_id,
                      {"actor": "alice", "note": "looking"}, tenant=tenant)
        self.assertStatus(ack, 200, "acknowledge")
        self.assertIs(ack.json["changed"], True)
        self.assertEqual(ack.json["incident"]["status"], "acknowledged")
        self.assertEqual(ack.json["incident"]["acknowledged_by"], "alice")
        self.assertRegex(ack.json["incident"]["acknowledged_at"] or "", RFC3339_MS)
        self.assertGreater(ack.json["incident"]["version"], version_before_ack)
        ack2 = lk.post("/incidents/%s/acknowledge" % incident_id, {"actor": "bob"},
                       tenant=tenant)
        self.assertStatus(ack2, 200, "second acknowledge")
        self.assertIs(ack2.json["changed"], False)
        self.assertEqual(ack2.json["incident"]["acknowledged_by"], "alice")
        self.assertEqual(ack2.json["incident"]["version"], ack.json["incident"]["version"])

        detail = lk.incident(incident_id, tenant)
        self.assertEqual(detail["incident"]["status"], "acknowledged")
        acks = [e for e in detail["timeline"] if e["type"] == "incident_acknowledged"]
        self.assertEqual(len(acks), 1, detail["timeline"])
        self.assertEqual(acks[0]["actor"], "alice")
        self.assertEqual(acks[0]["note"], "looking")

        # Resolve (no body: the service token's actor), then again: unchanged.
        resolve = lk.post("/incidents/%s/resolve" % incident_id, tenant=tenant)
        self.assertStatus(resolve, 200, "resolve")
        self.assertIs(resolve.json["changed"], True)
        self.assertEqual(resolve.json["incident"]["status"], "resolved")
        self.assertEqual(resolve.json["incident"]["resolved_by"], "service")
        self.assertRegex(resolve.json["incident"]["resolved_at"] or "", RFC3339_MS)
        resolve2 = lk.post("/incidents/%s/resolve" % incident_id, {"actor": "carol"},
                           tenant=tenant)
        self.assertStatus(resolve2, 200, "second resolve")
        self.assertIs(resolve2.json["changed"], False)
        self.assertEqual(resolve2.json["incident"]["resolved_by"], "service")

        # Acknowledging a resolved incident is a conflict.
        self.assertErrorBody(lk.post("/incidents/%s/acknowledge" % incident_id, tenant=tenant),
                             409, "acknowledge after resolve")

        detail = lk.incident(incident_id, tenant)
        self.assertEqual(detail["incident"]["status"], "resolved")
        types = [e["type"] for e in detail["timeline"]]
        self.assertEqual(types.count("incident_resolved"), 1, types)
        self.assertEqual(lk.incidents(tenant, "status=resolved")[0]["id"], incident_id)

    def test_invalid_alerts_in_a_batch(self):
        lk, tenant = self.lk, self.tenant
        batch = [
            {"name": "DiskFull", "labels": {"mount": "/var"}},
            {"name": "Bad", "labels": {"bad-name": "x"}},
            {"name": "Bad", "severity": "bogus"},
            {"name": "Bad", "status": "sideways"},
            {"labels": {"instance": "no-name"}},
        ]
        answer = self.post(batch)
        self.assertErrorBody(answer, 400, "batch with invalid alerts")
        body = answer.json
        self.assertEqual(body["accepted"], 1, body)
        self.assertEqual(body["rejected"], 4, body)
        self.assertIsInstance(body["detail"], list, body)
        self.assertEqual(body["errors"], body["detail"])
        by_index = {}
        for error in body["detail"]:
            self.assertIsInstance(error.get("message"), str, error)
            by_index.setdefault(error["index"], []).append(error["field"])
        self.assertEqual(sorted(by_index), [1, 2, 3, 4], body["detail"])
        self.assertIn("labels.bad-name", by_index[1])
        self.assertIn("severity", by_index[2])
        self.assertIn("status", by_index[3])
        self.assertIn("name", by_index[4])
        self.assertEqual([a["index"] for a in body["alerts"]], [0], body["alerts"])
        self.assertEqual(body["alerts"][0]["outcome"], "new")
        valid_incident = body["alerts"][0]["incident_id"]

        # The valid alert was committed anyway.
        incidents = lk.incidents(tenant)
        self.assertEqual([i["id"] for i in incidents], [valid_incident])
        self.assertEqual(incidents[0]["group_labels"], {"alertname": "DiskFull"})
        detail = lk.incident(valid_incident, tenant)
        self.assertEqual(detail["alerts"][0]["labels"], {"alertname": "DiskFull", "mount": "/var"})

    def test_malformed_bodies(self):
        lk, tenant = self.lk, self.tenant
        answer = lk.post_alerts('{"name": ', tenant=tenant)
        self.assertErrorBody(answer, 400, "truncated JSON")
        self.assertEqual(answer.json["error"], "invalid JSON")
        self.assertIn("line 1", str(answer.json["detail"]))
        for body in ("42", '"text"', "null", "not json at all"):
            self.assertErrorBody(lk.post_alerts(body, tenant=tenant), 400, "body %r" % body)

        too_many = [{"name": "Many", "labels": {"i": str(i)}} for i in range(1001)]
        self.assertErrorBody(lk.post_alerts(too_many, tenant=tenant), 413, "1001 alerts")
        self.assertEqual(lk.incidents(tenant), [], "a rejected body created incidents")

        self.assertErrorBody(lk.get("/incidents/not-a-uuid", tenant=tenant), 400, "bad id")
        self.assertErrorBody(lk.get("/incidents/%s" % uuid.uuid4(), tenant=tenant), 404,
                             "unknown id")
        for action in ("acknowledge", "resolve"):
            self.assertErrorBody(lk.post("/incidents/%s/%s" % (uuid.uuid4(), action),
                                         tenant=tenant), 404, "%s unknown id" % action)

    def test_healthz(self):
        answer = lookout.http_request(self.lk.url + "/healthz")
        self.assertStatus(answer, 200, "GET /healthz without credentials")
        self.assertEqual(answer.json, {"status": "ok"})

    # -- shapes (common/lk_json.h) --

    def check_incident_shape(self, incident):
        for key in ("id", "tenant_id", "status", "severity", "title", "summary", "group_key",
                    "group_labels", "alert_count", "firing_count", "reopen_count", "version",
                    "created_at", "updated_at", "acknowledged_at", "acknowledged_by",
                    "resolved_at", "resolved_by"):
            self.assertIn(key, incident, "incident lacks %r: %r" % (key, incident))
        self.assertRegex(incident["created_at"], RFC3339_MS)
        self.assertRegex(incident["updated_at"], RFC3339_MS)

    def check_alert_shape(self, alert):
        for key in ("fingerprint", "incident_id", "tenant_id", "source", "name", "status",
                    "severity", "labels", "annotations", "value", "threshold", "query",
                    "dedup_key", "generator_url", "starts_at", "ends_at", "updated_at"):
            self.assertIn(key, alert, "alert lacks %r: %r" % (key, alert))
        self.assertRegex(alert["starts_at"], RFC3339_MS)

    def check_event_shape(self, event):
        for key in ("sequence", "event_id", "incident_id", "tenant_id", "type", "actor",
                    "note", "fingerprints", "at"):
            self.assertIn(key, event, "event lacks %r: %r" % (key, event))
        self.assertTrue(is_uuid(event["event_id"]), event)
        self.assertRegex(event["at"], RFC3339_MS)


if __name__ == "__main__":
    lookout.main()
