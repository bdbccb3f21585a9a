"""Tenancy and authentication (docs/http-api.md): tenant B never sees or changes tenant A's
incidents through any endpoint, with the service token or with JWTs; every credential failure
gets its documented status."""

import time
import uuid

import lookout
from lookout import jwt_hs256, new_tenant


class TenancyTest(lookout.LookoutTestCase):

    def setUp(self):
        self.lk = self.start_lookout()
        self.a = new_tenant()
        self.b = new_tenant()
        answer = self.lk.post_alerts(
            {"name": "TenantAOnly", "labels": {"instance": "a-1"},
             "annotations": {"summary": "secret of tenant A"}}, tenant=self.a)
        self.assertStatus(answer, 202, "tenant A's alert")
        self.a_incident = answer.json["alerts"][0]["incident_id"]
        self.a_before = self.lk.incident(self.a_incident, self.a)

    def credentials_for_b(self):
        """(description, headers) for every way tenant B can authenticate."""
        lk = self.lk
        return [
            ("service token + X-Tenant-ID B", lk.headers(tenant=self.b)),
            ("JWT of B", {"Authorization": "Bearer " + lk.jwt(self.b, sub="bob")}),
            ("JWT of B + X-Tenant-ID B",
             {"Authorization": "Bearer " + lk.jwt(self.b, sub="bob"), "X-Tenant-ID": self.b}),
        ]

    def assert_a_unchanged(self):
        after = self.lk.incident(self.a_incident, self.a)
        self.assertEqual(after["incident"], self.a_before["incident"],
                         "tenant A's incident changed")
        self.assertEqual(after["alerts"], self.a_before["alerts"])
        self.assertEqual(after["timeline"], self.a_before["timeline"])

    def test_other_tenant_sees_and_changes_nothing(self):
        lk = self.lk
        for how, headers in self.credentials_for_b():
            with self.subTest(how):
                listed = lk.get("/incidents", headers=headers)
                self.assertStatus(listed, 200, how + ": GET /incidents")
                self.assertNotIn(self.a_incident, [i["id"] for i in listed.json["incidents"]])
                for incident in listed.json["incidents"]:
                    self.assertEqual(incident["tenant_id"], self.b)

                for query in ("status=triggered", "label.alertname=TenantAOnly",
                              "severity=info", "limit=500"):
                    listed = lk.get("/incidents?" + query, headers=headers)
                    self.assertStatus(listed, 200, how + ": GET /incidents?" + query)
                    self.assertNotIn(self.a_incident,
                                     [i["id"] for i in listed.json["incidents"]])

                missing = lk.get("/incidents/%s" % uuid.uuid4(), headers=headers)
                other = lk.get("/incidents/%s" % self.a_incident, headers=headers)
                self.assertErrorBody(other, 404, how + ": GET A's incident")
                self.assertEqual(other.json, missing.json,
                                 "another tenant's incident is distinguishable from a missing one")
                self.assertNotIn(b"secret of tenant A", other.body)

                for action in ("acknowledge", "resolve"):
                    answer = lk.post("/incidents/%s/%s" % (self.a_incident, action),
                                     {"actor": "mallory"}, headers=headers)
                    self.assertErrorBody(answer, 404, "%s: %s A's incident" % (how, action))

                # The same labels under tenant B: B's own incident, A's untouched.
                posted = lk.post_alerts({"name": "TenantAOnly", "labels": {"instance": "a-1"},
                                         "status": "resolved"}, headers=headers)
                self.assertIn(posted.status, (202,), "%s: POST /alerts: %r" % (how, posted))
                for result in posted.json["alerts"]:
                    self.assertNotEqual(result["incident_id"], self.a_incident)
                self.assert_a_unchanged()

        fired = lk.post_alerts({"name": "TenantAOnly", "labels": {"instance": "a-1"}},
                               tenant=self.b)
        self.assertStatus(fired, 202, "B fires A's label set")
        b_incident = fired.json["alerts"][0]["incident_id"]
        self.assertNotEqual(b_incident, self.a_incident)
        self.assertEqual([i["id"] for i in lk.incidents(self.b)], [b_incident])
        self.assertEqual([i["id"] for i in lk.incidents(self.a)], [self.a_incident])
        # And A cannot reach B's incident either.
        self.assertErrorBody(lk.get("/incidents/%s" % b_incident, tenant=self.a), 404,
                             "A reads B's incident")
        self.assert_a_unchanged()

        # A itself can act on its incident; the JWT's sub is the default actor.
        ack = lk.post("/incidents/%s/acknowledge" % self.a_incident,
                      headers={"Authorization": "Bearer " + lk.jwt(self.a, sub="alice")})
        self.assertStatus(ack, 200, "A acknowledges with a JWT")
        self.assertEqual(ack.json["incident"]["acknowledged_by"], "alice")
        self.assertEqual(lk.incident(b_incident, self.b)["incident"]["status"], "triggered")

    def test_authentication_failures(self):
        lk = self.lk
        now = int(time.time())
        incident_path = "/incidents/%s" % self.a_incident
        endpoints = [
            ("GET", "/incidents", None),
            ("GET", incident_path, None),
            ("POST", incident_path + "/acknowledge", {"actor": "x"}),
            ("POST", incident_path + "/resolve", {"actor": "x"}),
            ("POST", "/alerts", {"name": "ShouldNotExist"}),
        ]
        wrong_secret = "not-the-secret-" + uuid.uuid4().hex

        def bearer(token, tenant_header=None):
            headers = {"Authorization": "Bearer " + token}
            if tenant_header is not None:
                headers["X-Tenant-ID"] = tenant_header
            return headers

        cases = [
            ("no credentials", {}, 401),
            ("no credentials, X-Tenant-ID only", {"X-Tenant-ID": self.a}, 401),
            ("wrong service token", bearer("wrong-" + lk.service_token, self.a), 401),
            ("empty bearer", {"Authorization": "Bearer ", "X-Tenant-ID": self.a}, 401),
            ("not a bearer scheme", {"Authorization": "Basic " + lk.service_token,
                                     "X-Tenant-ID": self.a}, 401),
            ("garbage token", bearer("a.b.c", self.a), 401),
            ("JWT with a wrong signature",
             bearer(jwt_hs256(wrong_secret, {"tenant_id": self.a, "exp": now + 3600})), 401),
            ("expired JWT",
             bearer(jwt_hs256(lk.jwt_secret, {"tenant_id": self.a, "exp": now - 3600})), 401),
            ("JWT not yet valid",
             bearer(jwt_hs256(lk.jwt_secret, {"tenant_id": self.a, "nbf": now + 3600,
                                              "exp": now + 7200})), 401),
            ("JWT with alg none",
             bearer(jwt_hs256(lk.jwt_secret, {"tenant_id": self.a, "exp": now + 3600},
                              header={"alg": "none", "typ": "JWT"})), 401),
            ("JWT with alg HS512 header",
             bearer(jwt_hs256(lk.jwt_secret, {"tenant_id": self.a, "exp": now + 3600},
                              header={"alg": "HS512", "typ": "JWT"})), 401),
            ("JWT without tenant_id", bearer(jwt_hs256(lk.jwt_secret, {"exp": now + 3600})), 401),
            ("JWT with a non-UUID tenant_id",
             bearer(jwt_hs256(lk.jwt_secret, {"tenant_id": "acme", "exp": now + 3600})), 401),
            ("JWT signed with the service token",
             bearer(jwt_hs256(lk.service_token, {"tenant_id": self.a, "exp": now + 3600})), 401),
            ("JWT of A with X-Tenant-ID B", bearer(lk.jwt(self.a), self.b), 403),
            ("service token without X-Tenant-ID", bearer(lk.service_token), 400),
            ("service token with a non-UUID X-Tenant-ID", bearer(lk.service_token, "acme"), 400),
        ]
        for how, headers, status in cases:
            for method, path, body in endpoints:
                with self.subTest(how=how, endpoint=method + " " + path):
                    answer = lk.request(method, path, body=body, headers=headers)
                    self.assertErrorBody(answer, status, "%s on %s %s" % (how, method, path))
                    if status == 401 and "Authorization" not in headers:
                        self.assertEqual(answer.json["error"], "missing credentials")
                        self.assertTrue(answer.headers.get("www-authenticate", "")
                                        .startswith("Bearer"), answer.headers)
                    self.assertNotIn(lk.service_token.encode(), answer.body)

        # Nothing above reached the pipeline.
        self.assert_a_unchanged()
        self.assertEqual(lk.incidents(self.b), [])
        self.assertEqual(len(lk.incidents(self.a)), 1)
        self.assertEqual(lk.incidents(lookout.SYSTEM_TENANT), [],
                         "unauthenticated requests reached the system tenant without dev mode")

        # The matching X-Tenant-ID is fine with a JWT; a valid JWT without it too.
        for headers in (bearer(lk.jwt(self.a), self.a), bearer(lk.jwt(self.a))):
            answer = lk.get("/incidents", headers=headers)
            self.assertStatus(answer, 200, "valid JWT of A (%s)" % headers.get("X-Tenant-ID"))
            self.assertEqual([i["id"] for i in answer.json["incidents"]], [self.a_incident])

        # /healthz needs nothing.
        self.assertStatus(lookout.http_request(lk.url + "/healthz"), 200, "/healthz")


if __name__ == "__main__":
    lookout.main()
