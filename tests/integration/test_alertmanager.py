"""Alertmanager → Lookout (POST /webhooks/alertmanager, docs/http-api.md): a real Alertmanager
(Debian `prometheus-alertmanager`) with a webhook receiver pointed at Lookout. Alerts posted
to Alertmanager's own API become incidents whose alerts carry exactly the fingerprints
Alertmanager reports (GET /api/v2/alerts), and resolve when Alertmanager sends the resolved
notification. Malformed notifications get a 400 naming each problem; valid alerts of the same
notification are kept."""

import datetime

import intake_tools
import lookout
from lookout import new_tenant


def rfc3339(seconds_from_now):
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        seconds=seconds_from_now)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AlertmanagerTest(lookout.LookoutTestCase):

    def setUp(self):
        self.tenant = new_tenant()
        self.key = intake_tools.routing_key()
        config = intake_tools.write_config(self, [
            {"name": "alertmanager-it", "routing_key": self.key, "tenant": self.tenant}])
        self.lk = self.start_lookout(env={"LOOKOUT_CONFIG": config})

    def post_webhook(self, body, headers=None):
        if headers is None:
            headers = {"Authorization": "Bearer " + self.key}
        return lookout.http_request(self.lk.url + "/webhooks/alertmanager", "POST", body, headers)

    def lookout_alerts(self, alertname):
        """Every alert row of the tenant's incidents of alertname: fingerprint → alert."""
        found = {}
        for incident in intake_tools.find_incidents(self.lk, self.tenant, alertname):
            for alert in self.lk.incident(incident["id"], self.tenant)["alerts"]:
                found[alert["fingerprint"]] = alert
        return found

    def test_notifications_become_incidents_with_alertmanagers_fingerprints(self):
        lk = self.lk
        am = intake_tools.start_alertmanager(self, lk.url + "/webhooks/alertmanager", self.key)
        alerts = [
            {"labels": {"alertname": "AMDiskFull", "instance": "db1:9100", "severity": "critical",
                        "device": "sda1"},
             "annotations": {"summary": "disk full on db1"},
             "generatorURL": "http://prometheus.example/graph?g0.expr=disk"},
            {"labels": {"alertname": "AMDiskFull", "instance": "db2:9100", "severity": "warning",
                        "device": "sdb1", "empty": ""},
             "annotations": {"summary": "disk almost full on db2"}},
            {"labels": {"alertname": "AMLatency", "service": "checkout", "quantile": "0.99"},
             "annotations": {"summary": "p99 latency"}},
        ]
        answer = lookout.http_request(am.url + "/api/v2/alerts", "POST", alerts)
        self.assertStatus(answer, 200, "POST to Alertmanager")
        reported = lookout.http_request(am.url + "/api/v2/alerts").json
        am_fingerprints = {a["labels"]["instance"] if "instance" in a["labels"] else
                           a["labels"]["service"]: a["fingerprint"] for a in reported}
        self.assertEqual(len(am_fingerprints), 3, reported)

        disk = intake_tools.wait_until(
            "both AMDiskFull alerts in Lookout",
            lambda: (lambda found: found if len(found) == 2 else None)(
                self.lookout_alerts("AMDiskFull")), timeout_s=60)
        latency = intake_tools.wait_until(
            "the AMLatency alert in Lookout",
            lambda: self.lookout_alerts("AMLatency") or None, timeout_s=60)
        # the same fingerprints Alertmanager reports, for the same label sets
        self.assertEqual(set(disk), {am_fingerprints["db1:9100"], am_fingerprints["db2:9100"]})
        self.assertEqual(set(latency), {am_fingerprints["checkout"]})
        for fingerprint, alert in list(disk.items()) + list(latency.items()):
            self.assertEqual(alert["fingerprint"], lookout.fingerprint(alert["labels"]))
            self.assertEqual(alert["source"], "alertmanager")
            self.assertEqual(alert["status"], "firing")
            self.assertNotIn("empty", alert["labels"])
        db1 = disk[am_fingerprints["db1:9100"]]
        self.assertEqual(db1["generator_url"], "http://prometheus.example/graph?g0.expr=disk")
        self.assertEqual(db1["annotations"], {"summary": "disk full on db1"})
        self.assertEqual(db1["severity"], "critical")

        # Lookout groups by alertname (LOOKOUT_GROUP_BY): one incident per alert group
        incidents = intake_tools.find_incidents(lk, self.tenant, "AMDiskFull")
        self.assertEqual(len(incidents), 1)
        self.assertEqual(incidents[0]["alert_count"], 2)
        self.assertEqual(incidents[0]["severity"], "critical")

        # resolve one alert at Alertmanager: its resolved notification resolves it here
        resolved = [dict(alerts[0], endsAt=rfc3339(-1))]
        self.assertStatus(lookout.http_request(am.url + "/api/v2/alerts", "POST", resolved), 200)
        intake_tools.wait_until(
            "db1's alert resolved in Lookout",
            lambda: self.lookout_alerts("AMDiskFull")[am_fingerprints["db1:9100"]]["status"]
            == "resolved", timeout_s=60)
        self.assertEqual(intake_tools.find_incidents(lk, self.tenant, "AMDiskFull")[0]["status"],
                         "triggered")
        # and the rest: every incident resolves
        resolved = [dict(alert, endsAt=rfc3339(-1)) for alert in alerts]
        self.assertStatus(lookout.http_request(am.url + "/api/v2/alerts", "POST", resolved), 200)
        for alertname in ("AMDiskFull", "AMLatency"):
            intake_tools.wait_until(
                "%s resolved in Lookout" % alertname,
                lambda alertname=alertname: intake_tools.find_incidents(
                    lk, self.tenant, alertname, status="resolved"), timeout_s=60)
        self.assertIsNone(am.proc.poll())

    def test_jwt_authenticates_too(self):
        lk = self.lk
        tenant = new_tenant()
        jwt = lk.jwt(tenant, sub="alertmanager", ttl_s=24 * 3600)
        am = intake_tools.start_alertmanager(self, lk.url + "/webhooks/alertmanager", jwt)
        answer = lookout.http_request(am.url + "/api/v2/alerts", "POST",
                                      [{"labels": {"alertname": "AMByJwt"}}])
        self.assertStatus(answer, 200)
        found = intake_tools.wait_until(
            "the incident of the JWT's tenant",
            lambda: intake_tools.find_incidents(lk, tenant, "AMByJwt"), timeout_s=60)
        self.assertEqual(found[0]["tenant_id"], tenant)
        self.assertEqual(intake_tools.find_incidents(lk, self.tenant, "AMByJwt"), [])

    def test_malformed_notifications(self):
        lk = self.lk
        good = {"status": "firing", "labels": {"alertname": "WHGood", "n": "1"},
                "annotations": {}, "startsAt": rfc3339(-5), "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "", "fingerprint": lookout.fingerprint(
                    {"alertname": "WHGood", "n": "1"})}
        notification = {
            "version": "4", "groupKey": "{}:{alertname=\"WHGood\"}", "status": "firing",
            "receiver": "lookout", "groupLabels": {}, "commonLabels": {},
            "commonAnnotations": {}, "externalURL": "http://am", "truncatedAlerts": 0,
            "alerts": [
                good,
                {"status": "pending", "labels": {"alertname": "WHBad"}},
                {"status": "firing", "labels": {"alertname": "WHBad", "bad-label": "x"}},
                {"status": "resolved", "labels": {"alertname": "WHBad"},
                 "startsAt": rfc3339(-5), "endsAt": "later"},
                {"status": "firing"},
                dict(good, labels={"alertname": "WHGood", "n": "2"},
                     fingerprint="0000000000000000"),
            ]}
        answer = self.post_webhook(notification)
        self.assertErrorBody(answer, 400)
        self.assertEqual(answer.json["accepted"], 2)
        self.assertEqual(answer.json["rejected"], 4)
        problems = {(e["index"], e["field"]) for e in answer.json["detail"]}
        self.assertEqual(problems, {(1, "status"), (2, "labels.bad-label"), (3, "endsAt"),
                                    (4, "labels")})
        # the valid ones are committed, with our fingerprint even where the sender's differs
        kept = {a["index"]: a for a in answer.json["alerts"]}
        self.assertEqual(sorted(kept), [0, 5])
        self.assertEqual(kept[5]["fingerprint"],
                         lookout.fingerprint({"alertname": "WHGood", "n": "2"}))
        incident = intake_tools.find_incidents(lk, self.tenant, "WHGood")
        self.assertEqual(len(incident), 1)
        self.assertEqual(incident[0]["alert_count"], 2)
        self.assertEqual(intake_tools.find_incidents(lk, self.tenant, "WHBad"), [])
        ingest_log = [p for p in lk.log_paths() if p.endswith("lookout-ingest.log")][0]
        with open(ingest_log, encoding="utf-8", errors="replace") as f:
            self.assertIn("fingerprint that is not the one of their labels", f.read())

        # a good notification: 200 with the per-alert results
        answer = self.post_webhook(dict(notification, alerts=[good]))
        self.assertStatus(answer, 200)
        self.assertEqual(answer.json["accepted"], 1)
        self.assertEqual(answer.json["alerts"][0]["outcome"], "unchanged")

        # whole bodies that are not notifications
        for body, what in ((b"[]", "an array"), (b"{\"version\":\"3\",\"alerts\":[]}", "version"),
                           (b"{\"version\":\"4\"}", "no alerts"), (b"{oops", "not JSON")):
            answer = self.post_webhook(body)
            self.assertErrorBody(answer, 400, what)
        # credentials: none, or a key nobody configured
        self.assertErrorBody(self.post_webhook(notification, headers={}), 401)
        self.assertErrorBody(self.post_webhook(
            notification, headers={"Authorization": "Bearer " + intake_tools.routing_key()}), 401)


if __name__ == "__main__":
    lookout.main()
