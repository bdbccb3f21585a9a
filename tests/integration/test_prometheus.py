"""Prometheus → Lookout without Alertmanager (POST /api/v2/alerts, docs/http-api.md): a real
Prometheus (Debian `prometheus`) scrapes a local exporter and evaluates a rule file, its
`alerting.alertmanagers` pointing at Lookout. The incident opens when the rule fires and
resolves when it stops; Prometheus's re-sends every second change nothing; a tenant JWT and
an integration key both authenticate it. The endpoint's own contract (Alertmanager's answers,
defaults, per-alert validation that keeps the valid alerts) is checked with direct posts."""

import datetime
import time

import intake_tools
import lookout
from lookout import new_tenant

RULES = """groups:
  - name: lookout-it
    rules:
      - alert: LookoutITGaugeHigh
        expr: lookout_intake_test_gauge > 0
        for: 2s
        labels:
          severity: critical
        annotations:
          summary: "gauge is {{ $value }}"
"""


def rfc3339(seconds_from_now):
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        seconds=seconds_from_now)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class PrometheusTest(lookout.LookoutTestCase):

    def setUp(self):
        self.jwt_tenant = new_tenant()
        self.key_tenant = new_tenant()
        self.key = intake_tools.routing_key()
        config = intake_tools.write_config(self, [
            {"name": "prometheus-it", "routing_key": self.key, "tenant": self.key_tenant}])
        self.lk = self.start_lookout(env={"LOOKOUT_CONFIG": config,
                                          "LOOKOUT_RESOLVE_TIMEOUT_S": "120"})

    def post_v2(self, body, headers):
        return lookout.http_request(self.lk.url + "/api/v2/alerts", "POST", body, headers)

    def jwt_headers(self, tenant):
        return {"Authorization": "Bearer " + self.lk.jwt(tenant, sub="prometheus",
                                                            ttl_s=24 * 3600)}

    def test_rule_fires_and_resolves(self):
        lk = self.lk
        exporter = intake_tools.Exporter(self)
        jwt = self.lk.jwt(self.jwt_tenant, sub="prometheus", ttl_s=24 * 3600)
        target = "127.0.0.1:%d" % lk.http_port
        prometheus = intake_tools.start_prometheus(
            self, exporter, RULES, [(target, jwt), (target, self.key)])
        intake_tools.wait_until("a scrape of the exporter", lambda: exporter.scrapes > 0)

        exporter.value = 1
        for tenant in (self.jwt_tenant, self.key_tenant):
            incidents = intake_tools.wait_until(
                "the incident of tenant %s" % tenant,
                lambda tenant=tenant: intake_tools.find_incidents(lk, tenant,
                                                                  "LookoutITGaugeHigh"),
                timeout_s=60)
            self.assertEqual(len(incidents), 1, incidents)
            incident = incidents[0]
            self.assertEqual(incident["status"], "triggered")
            self.assertEqual(incident["severity"], "critical")
            self.assertEqual(incident["summary"], "gauge is 1")
            detail = lk.incident(incident["id"], tenant)
            self.assertEqual(len(detail["alerts"]), 1)
            alert = detail["alerts"][0]
            labels = {"alertname": "LookoutITGaugeHigh", "severity": "critical",
                      "instance": "127.0.0.1:%d" % exporter.port, "job": "exporter",
                      "cluster": "it"}
            self.assertEqual(alert["labels"], labels)
            self.assertEqual(alert["fingerprint"], lookout.fingerprint(labels))
            self.assertEqual(alert["source"], "prometheus")
            self.assertEqual(alert["status"], "firing")
            self.assertIn("/graph?g0.expr=", alert["generator_url"])

        # Prometheus re-sends the firing alert every second with a later endsAt: nothing
        # changes (no new timeline events, the alert row is not rewritten)
        incident = intake_tools.find_incidents(lk, self.jwt_tenant, "LookoutITGaugeHigh")[0]
        before = lk.incident(incident["id"], self.jwt_tenant)
        time.sleep(4)
        after = lk.incident(incident["id"], self.jwt_tenant)
        self.assertEqual(after["timeline"], before["timeline"])
        self.assertEqual(after["alerts"], before["alerts"])
        self.assertEqual(after["incident"]["version"], before["incident"]["version"])

        # the rule stops firing: Prometheus sends the alert with endsAt = now, Lookout resolves
        exporter.value = 0
        for tenant in (self.jwt_tenant, self.key_tenant):
            resolved = intake_tools.wait_until(
                "the resolve of tenant %s" % tenant,
                lambda tenant=tenant: intake_tools.find_incidents(
                    lk, tenant, "LookoutITGaugeHigh", status="resolved"), timeout_s=60)
            self.assertEqual(len(resolved), 1)
            detail = lk.incident(resolved[0]["id"], tenant)
            self.assertEqual(detail["alerts"][0]["status"], "resolved")
            self.assertIsNotNone(detail["alerts"][0]["ends_at"])
            self.assertIsNone(detail["incident"]["resolved_by"])  # resolved by its alerts
            types = [event["type"] for event in detail["timeline"]]
            self.assertEqual(types.count("incident_resolved"), 1, types)
        # resolved alerts are re-sent too: still nothing new
        before = lk.incident(incident["id"], self.jwt_tenant)
        time.sleep(3)
        self.assertEqual(lk.incident(incident["id"], self.jwt_tenant), before)
        self.assertIsNone(prometheus.proc.poll())

    def test_alertmanager_contract(self):
        lk = self.lk
        tenant = self.jwt_tenant
        headers = self.jwt_headers(tenant)
        # what Prometheus posts: 200 with an empty body, as Alertmanager answers
        answer = self.post_v2([{"labels": {"alertname": "V2Firing", "job": "api", "empty": ""},
                                "annotations": {"summary": "firing via v2"},
                                "startsAt": rfc3339(-60), "endsAt": rfc3339(60),
                                "generatorURL": "http://prom/graph"}], headers)
        self.assertStatus(answer, 200)
        self.assertEqual(answer.body, b"")
        incident = intake_tools.find_incidents(lk, tenant, "V2Firing")[0]
        alert = lk.incident(incident["id"], tenant)["alerts"][0]
        # the empty label is dropped before the identity is taken, as Alertmanager does
        self.assertEqual(alert["labels"], {"alertname": "V2Firing", "job": "api"})
        self.assertEqual(alert["fingerprint"],
                         lookout.fingerprint({"alertname": "V2Firing", "job": "api"}))
        # re-sent with endsAt moved on: same incident, nothing rewritten
        before = lk.incident(incident["id"], tenant)
        answer = self.post_v2([{"labels": {"alertname": "V2Firing", "job": "api", "empty": ""},
                                "annotations": {"summary": "firing via v2"},
                                "startsAt": rfc3339(-60), "endsAt": rfc3339(120),
                                "generatorURL": "http://prom/graph"}], headers)
        self.assertStatus(answer, 200)
        self.assertEqual(lk.incident(incident["id"], tenant), before)
        # endsAt in the past: resolved
        answer = self.post_v2([{"labels": {"alertname": "V2Firing", "job": "api"},
                                "annotations": {"summary": "firing via v2"},
                                "startsAt": rfc3339(-60), "endsAt": rfc3339(-1)}], headers)
        self.assertStatus(answer, 200)
        self.assertEqual(lk.incident(incident["id"], tenant)["incident"]["status"], "resolved")

        # no times at all: firing from now (endsAt = now + resolve timeout)
        answer = self.post_v2([{"labels": {"alertname": "V2NoTimes"}}], headers)
        self.assertStatus(answer, 200)
        self.assertEqual(intake_tools.find_incidents(lk, tenant, "V2NoTimes")[0]["status"],
                         "triggered")

        # an integration key works as the Bearer credential, for its own tenant
        answer = self.post_v2([{"labels": {"alertname": "V2ByKey"}}],
                              {"Authorization": "Bearer " + self.key})
        self.assertStatus(answer, 200)
        self.assertEqual(len(intake_tools.find_incidents(lk, self.key_tenant, "V2ByKey")), 1)
        self.assertEqual(intake_tools.find_incidents(lk, tenant, "V2ByKey"), [])
        # a tenant header that names another tenant than the key's is refused
        answer = self.post_v2([{"labels": {"alertname": "V2ByKey"}}],
                              {"Authorization": "Bearer " + self.key, "X-Tenant-ID": tenant})
        self.assertErrorBody(answer, 403)
        # and the service token with X-Tenant-ID too
        answer = self.post_v2([{"labels": {"alertname": "V2ByService"}}],
                              lk.headers(tenant=tenant))
        self.assertStatus(answer, 200)
        # bad credentials
        for bad in ({}, {"Authorization": "Bearer " + intake_tools.routing_key()},
                    {"Authorization": "Bearer not-a-jwt"}):
            answer = self.post_v2([{"labels": {"alertname": "V2Denied"}}], bad)
            self.assertErrorBody(answer, 401, repr(bad))
        self.assertEqual(intake_tools.find_incidents(lk, tenant, "V2Denied"), [])

    def test_invalid_alerts_keep_the_valid_ones(self):
        lk = self.lk
        tenant = self.jwt_tenant
        headers = self.jwt_headers(tenant)
        answer = self.post_v2([
            {"labels": {"alertname": "V2Good1"}},
            {"labels": {}},
            {"labels": {"bad-name": "x", "alertname": "V2Bad"}},
            {"labels": {"alertname": "V2Bad"}, "startsAt": rfc3339(-10),
             "endsAt": rfc3339(-20)},
            {"labels": {"alertname": "V2Bad"}, "startsAt": "yesterday"},
            "not an alert",
            {"annotations": {"summary": "no labels"}},
            {"labels": {"alertname": "V2Good2"}},
        ], headers)
        # Alertmanager's answer: 400 with a JSON string naming each problem
        self.assertStatus(answer, 400)
        self.assertIsInstance(answer.json, str, answer)
        for text in ("alerts[1].labels: at least one label pair required",
                     "alerts[2].labels.bad-name:", "alerts[3].endsAt: start time must be "
                     "before end time", "alerts[4].startsAt:", "alerts[5]: must be an object",
                     "alerts[6].labels: is required"):
            self.assertIn(text, answer.json)
        # the valid ones were committed before the answer
        for name in ("V2Good1", "V2Good2"):
            self.assertEqual(len(intake_tools.find_incidents(lk, tenant, name)), 1, name)
        self.assertEqual(intake_tools.find_incidents(lk, tenant, "V2Bad"), [])

        # bodies Alertmanager cannot read: 400 {"code": 400, "message": ...}
        for body in (b"{\"labels\": {\"a\": \"b\"}}", b"[{", b"", b"42"):
            answer = self.post_v2(body, headers)
            self.assertStatus(answer, 400, repr(body))
            self.assertEqual(answer.json["code"], 400)
            self.assertIn("parsing alerts body", answer.json["message"])
        answer = self.post_v2([], headers)
        self.assertStatus(answer, 200)


if __name__ == "__main__":
    lookout.main()
