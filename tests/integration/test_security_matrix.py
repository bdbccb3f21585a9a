"""Security matrix (issue 8): every HTTP endpoint of ingest/routes.c, read from the route table
itself, against every kind of credential — none, malformed, wrong signature, expired JWT,
another tenant's valid token, ingest tokens, the valid one. Tenant A owns data (incidents with
a secret marker, a silence, a heartbeat monitor, an update, an ingest token); tenant B and
anyone without credentials probe every endpoint with A's identifiers. Expected: 401 for bad
credentials, 403 when the credential and X-Tenant-ID disagree, 404 for another tenant's
objects, never 5xx, and never a byte of A's data in an answer to anyone but A. Public
endpoints (health, status pages) are checked to expose nothing private. Endpoints added to
routes.c later are probed generically (credentials, leaks) without an entry here."""

import subprocess
import time
import uuid

import lookout
import notify_tools
import security_tools
import zmtp_tools
from lookout import jwt_hs256, new_tenant

INTEGRATION_KEY_A = "Rsec0123456789abcdefghijklmnopqr"  # 32 letters/digits
STATUS_SLUG = "sec-matrix"
STATUS_HOST = "status.sec-matrix.example"


class SecurityMatrixTest(lookout.LookoutTestCase):

    def setUp(self):
        self.a = new_tenant()
        self.b = new_tenant()
        self.marker = "zqsecret" + uuid.uuid4().hex[:12]
        self.private_component = "PrivateComponent" + uuid.uuid4().hex[:8]
        config = """
integrations:
  - name: sec-matrix-a
    routing_key: %s
    tenant: %s
status_pages:
  - slug: %s
    tenant: %s
    title: Security matrix
    hosts: [%s]
    components:
      - name: Public API
        match: ['service="api"']
      - name: %s
        match: ['service="secretdb"']
        public: false
""" % (INTEGRATION_KEY_A, self.a, STATUS_SLUG, self.a, STATUS_HOST, self.private_component)
        path = security_tools.write_file(config, "lookout.yaml")
        self.lk = self.start_lookout(env={"LOOKOUT_CONFIG": path})
        self.make_tenant_a_data()

    # ---- credentials ----

    def jwt(self, tenant, **claims):
        return self.lk.jwt(tenant, sub="user-" + tenant[:8], **claims)

    def auth(self, token, tenant=None):
        headers = {"Authorization": "Bearer " + token}
        if tenant:
            headers["X-Tenant-ID"] = tenant
        return headers

    def a_headers(self):
        return self.auth(self.jwt(self.a))

    def bad_credentials(self):
        """(kind, headers) every one of which must be refused with 401."""
        now = int(time.time())
        wrong_secret = jwt_hs256("not-the-secret-" + uuid.uuid4().hex,
                                 {"tenant_id": self.a, "sub": "mallory", "exp": now + 3600})
        none_alg = jwt_hs256(self.lk.jwt_secret, {"tenant_id": self.a, "exp": now + 3600},
                             header={"alg": "none", "typ": "JWT"}).rsplit(".", 1)[0] + "."
        return [
            ("no credential", {}),
            ("no credential, tenant header", {"X-Tenant-ID": self.a}),
            ("malformed: scheme only", {"Authorization": "Bearer"}),
            ("malformed: not a JWT", {"Authorization": "Bearer abc.def", "X-Tenant-ID": self.a}),
            ("malformed: basic auth", {"Authorization": "Basic dXNlcjpwYXNz"}),
            ("malformed: ingest token shape", {"Authorization": "Bearer lk_short"}),
            ("malformed: alg none", self.auth(none_alg)),
            ("wrong signature", self.auth(wrong_secret)),
            ("expired JWT", self.auth(jwt_hs256(self.lk.jwt_secret, {
                "tenant_id": self.a, "sub": "alice", "exp": now - 3600}))),
            ("JWT not yet valid", self.auth(jwt_hs256(self.lk.jwt_secret, {
                "tenant_id": self.a, "nbf": now + 3600}))),
            ("JWT without tenant", self.auth(jwt_hs256(self.lk.jwt_secret, {
                "sub": "alice", "exp": now + 3600}))),
            ("wrong service token", self.auth("st-" + uuid.uuid4().hex, self.a)),
            ("A's ingest token revoked", self.auth(self.revoked_token_a)),
        ]

    # ---- tenant A's data ----

    def make_tenant_a_data(self):
        lk = self.lk
        headers = self.a_headers()
        m = self.marker
        answer = lk.post_alerts([
            {"name": "Alert" + m, "labels": {"service": "api", "secret": m},
             "annotations": {"summary": "summary " + m}, "severity": "critical"},
            {"name": "Db" + m, "labels": {"service": "secretdb", "secret": m},
             "severity": "error"},
        ], headers=headers)
        self.assertStatus(answer, 202, "tenant A's alerts")
        self.incident_a = answer.json["alerts"][0]["incident_id"]  # a public component's
        self.incident_db = answer.json["alerts"][1]["incident_id"]  # a private component's
        self.fingerprint_a = answer.json["alerts"][0]["fingerprint"]
        answer = lk.post("/silences", {
            "matchers": [{"name": "secret", "value": m}],
            "endsAt": "2099-01-01T00:00:00Z", "comment": "comment " + m}, headers=headers)
        self.assertStatus(answer, 200, "tenant A's silence")
        self.silence_a = answer.json["silenceID"]
        self.heartbeat_a = "hb-" + uuid.uuid4().hex[:8]  # a name B may use too
        answer = lk.post("/heartbeats/" + self.heartbeat_a,
                         {"interval_s": 3600, "labels": {"secret": m}}, headers=headers)
        self.assertIn(answer.status, (200, 201), "tenant A's heartbeat: %r" % answer)
        answer = lk.post("/incidents/%s/updates" % self.incident_a,
                         {"message": "private note " + m, "visibility": "private"},
                         headers=headers)
        self.assertStatus(answer, 201, "tenant A's private update")
        answer = lk.post("/tokens", {"name": "token " + m,
                                     "scopes": ["alerts:write", "heartbeats:write"]},
                         headers=headers)
        self.assertStatus(answer, 201, "tenant A's ingest token")
        self.token_a = answer.json["token"]
        self.token_a_id = answer.json["id"]
        answer = lk.post("/tokens", {"name": "revoked " + m}, headers=headers)
        self.assertStatus(answer, 201, "tenant A's second ingest token")
        self.revoked_token_a = answer.json["token"]
        self.assertStatus(lk.request("DELETE", "/tokens/" + answer.json["id"], headers=headers),
                          200, "revoking it")
        answer = lk.post("/tokens", {"name": "b's token"}, headers=self.auth(self.jwt(self.b)))
        self.assertStatus(answer, 201, "tenant B's ingest token")
        self.token_b = answer.json["token"]
        # what nobody but A may see; a status page shows the ids of incidents of public
        # components (self.incident_a), never anything else
        self.public_secrets = [m, self.incident_db, self.silence_a, self.token_a_id,
                               self.token_a, self.fingerprint_a, self.private_component]
        self.a_secrets = self.public_secrets + [self.incident_a]

    # ---- probes ----

    def probe_for(self, method, pattern):
        """(path, body) of a request to pattern that names tenant A's objects."""
        ids = {
            "/incidents/{}": [self.incident_a],
            "/incidents/{}/acknowledge": [self.incident_a],
            "/incidents/{}/resolve": [self.incident_a],
            "/incidents/{}/updates": [self.incident_a],
            "/silences/{}": [self.silence_a],
            "/heartbeats/{}": [self.heartbeat_a],
            "/tokens/{}": [self.token_a_id],
            "/status/{}": [STATUS_SLUG],
            "/status/{}/events": [STATUS_SLUG],
        }.get(pattern)
        params = iter(ids or [self.incident_a] * pattern.count("{}"))
        path = "".join(next(params) if part == "{}" else part
                       for part in pattern.replace("{}", "\0{}\0").split("\0"))
        bodies = {
            ("POST", "/alerts"): {"name": "Probe", "labels": {"probe": "1"}},
            ("POST", "/incidents/{}/acknowledge"): {"note": "probe"},
            ("POST", "/incidents/{}/resolve"): {"note": "probe"},
            ("POST", "/incidents/{}/updates"): {"message": "probe", "visibility": "public"},
            ("POST", "/api/v2/alerts"): [{"labels": {"alertname": "Probe"}}],
            ("POST", "/webhooks/alertmanager"): {
                "version": "4", "status": "firing", "receiver": "lookout", "groupKey": "{}",
                "alerts": [{"status": "firing", "labels": {"alertname": "Probe"},
                            "startsAt": "2026-01-01T00:00:00Z"}]},
            ("POST", "/v2/enqueue"): {"routing_key": "X" * 32, "event_action": "trigger",
                                      "payload": {"summary": "probe", "source": "probe",
                                                  "severity": "info"}},
            ("POST", "/silences"): {"matchers": [{"name": "probe", "value": "1"}],
                                    "endsAt": "2099-01-01T00:00:00Z"},
            ("POST", "/heartbeats/{}"): {"interval_s": 60},
            ("POST", "/oncall/overrides"): {"schedule": "primary", "user": "probe",
                                            "start": "2099-01-01T00:00:00Z",
                                            "end": "2099-01-02T00:00:00Z"},
            ("POST", "/tokens"): {"name": "probe"},
        }
        body = bodies.get((method, pattern), {} if method in ("POST", "PUT") else None)
        return path, body

    def send(self, method, path, headers, body=None):
        """One exchange; event streams are read for a moment only."""
        url = self.lk.url + path
        if method == "GET" and (path == "/events" or path.endswith("/events")):
            status, head, data = security_tools.stream_request(url, headers=headers, read_s=1.0)
            return lookout.Response(status, head, data)
        return lookout.http_request(url, method=method, body=body, headers=headers, timeout=30)

    def assert_no_secret(self, answer, what, public=False):
        text = answer.body.decode("utf-8", "replace")
        for secret in (self.public_secrets if public else self.a_secrets):
            self.assertNotIn(secret, text, "%s: tenant A's %r leaked: %r" % (what, secret, answer))

    # ---- the matrix ----

    def test_matrix(self):
        table = security_tools.routes()
        kinds = {}
        for method, pattern, auth, handler in table:
            kinds.setdefault(auth, []).append((method, pattern))
        self.assertIn("ROUTE_AUTH_TENANT", kinds)
        print("routes: %d (%s)" % (len(table), ", ".join(
            "%s %d" % (k, len(v)) for k, v in sorted(kinds.items()))))

        intake = {("POST", "/api/v2/alerts"), ("POST", "/webhooks/alertmanager")}
        public = {("GET", "/healthz"), ("GET", "/"), ("GET", "/status"),
                  ("GET", "/status/{}"), ("GET", "/status/{}/events")}
        probes = 0
        for method, pattern, auth, handler in table:
            path, body = self.probe_for(method, pattern)
            route = "%s %s" % (method, pattern)
            tenant_like = auth == "ROUTE_AUTH_TENANT" or (method, pattern) in intake
            if (method, pattern) in public or auth == "ROUTE_AUTH_NONE":
                for kind, headers in [("anonymous", {})] + self.bad_credentials()[:3]:
                    answer = self.send(method, path, headers, body)
                    probes += 1
                    self.assertLess(answer.status, 500, "%s (%s): %r" % (route, kind, answer))
                    self.assert_no_secret(answer, "%s (%s)" % (route, kind), public=True)
                continue
            # every bad credential: 401, nothing of A
            for kind, headers in self.bad_credentials():
                with self.subTest(route=route, credential=kind):
                    answer = self.send(method, path, headers, body)
                    probes += 1
                    if pattern == "/v2/enqueue":
                        # PagerDuty's credential is the body's routing_key, not a header
                        self.assertEqual(answer.status, 400, "%s: %r" % (kind, answer))
                    elif tenant_like or pattern == "/metrics":
                        self.assertEqual(answer.status, 401, "%s: %r" % (kind, answer))
                        if answer.status == 401:
                            self.assertEqual(answer.headers.get("www-authenticate"), "Bearer")
                    else:
                        self.assertIn(answer.status, (400, 401, 403, 404),
                                      "%s: %r" % (kind, answer))
                    self.assert_no_secret(answer, "%s (%s)" % (route, kind))
            if not tenant_like:
                continue
            # B's valid credentials claiming A's tenant: 403
            for kind, headers in [
                    ("B's JWT + X-Tenant-ID A", self.auth(self.jwt(self.b), self.a)),
                    ("B's ingest token + X-Tenant-ID A", self.auth(self.token_b, self.a))]:
                with self.subTest(route=route, credential=kind):
                    answer = self.send(method, path, headers, body)
                    probes += 1
                    if kind.startswith("B's ingest") and not self.takes_ingest_token(
                            method, pattern):
                        self.assertEqual(answer.status, 401, "%s: %r" % (kind, answer))
                    else:
                        self.assertEqual(answer.status, 403, "%s: %r" % (kind, answer))
                    self.assert_no_secret(answer, "%s (%s)" % (route, kind))
            # B's valid credentials on A's objects: 404 for A's ids, B's own data otherwise
            for kind, headers in [("B's JWT", self.auth(self.jwt(self.b))),
                                  ("B's service token", self.lk.headers(tenant=self.b)),
                                  ("B's ingest token", self.auth(self.token_b))]:
                with self.subTest(route=route, credential=kind):
                    answer = self.send(method, path, headers, body)
                    probes += 1
                    self.assertLess(answer.status, 500, "%s: %r" % (kind, answer))
                    self.assert_no_secret(answer, "%s (%s)" % (route, kind))
                    if kind == "B's ingest token" and not self.takes_ingest_token(method,
                                                                                 pattern):
                        self.assertEqual(answer.status, 401, "%s: %r" % (kind, answer))
                    elif "{}" in pattern and pattern != "/heartbeats/{}":
                        self.assertEqual(answer.status, 404, "%s on A's object: %r" % (
                            kind, answer))
            # A's ingest token works only where ingest tokens are taken
            with self.subTest(route=route, credential="A's ingest token"):
                answer = self.send(method, path, self.auth(self.token_a), body)
                probes += 1
                if self.takes_ingest_token(method, pattern):
                    self.assertLess(answer.status, 300, "A's ingest token: %r" % answer)
                else:
                    self.assertEqual(answer.status, 401, "A's ingest token: %r" % answer)
        print("probes: %d" % probes)
        self.assert_tenant_a_untouched()
        self.check_valid_credentials(table)

    def takes_ingest_token(self, method, pattern):
        return (method, pattern) in {("POST", "/alerts"), ("POST", "/api/v2/alerts"),
                                     ("POST", "/webhooks/alertmanager"),
                                     ("POST", "/heartbeats/{}")}

    def assert_tenant_a_untouched(self):
        """Nothing B or the anonymous did changed A's objects."""
        lk = self.lk
        headers = self.a_headers()
        incident = lk.get("/incidents/" + self.incident_a, headers=headers)
        self.assertStatus(incident, 200)
        self.assertEqual(incident.json["incident"]["status"], "triggered",
                         "someone else acknowledged or resolved A's incident")
        messages = [u.get("message") for u in incident.json.get("updates", [])]
        self.assertNotIn("probe", messages, "someone else posted an update on A's incident")
        silence = lk.get("/silences/" + self.silence_a, headers=headers)
        self.assertStatus(silence, 200)
        self.assertEqual(silence.json["status"]["state"], "active",
                         "someone else expired A's silence")
        tokens = lk.get("/tokens", headers=headers)
        self.assertStatus(tokens, 200)
        mine = [t for t in tokens.json["tokens"] if t["id"] == self.token_a_id]
        self.assertEqual(mine[0]["status"], "active", "someone else revoked A's token")
        self.assertNotIn("token", mine[0], "a listing shows a token value")

    def check_valid_credentials(self, table):
        """A's own credentials reach A's data on every read endpoint."""
        lk = self.lk
        headers = self.a_headers()
        for path, expect in [("/incidents", self.incident_a),
                             ("/incidents/" + self.incident_a, self.marker),
                             ("/silences", self.silence_a), ("/silences/" + self.silence_a,
                                                             self.marker),
                             ("/heartbeats", self.heartbeat_a), ("/tokens", self.token_a_id)]:
            answer = lk.get(path, headers=headers)
            self.assertStatus(answer, 200, "A's GET " + path)
            self.assertIn(expect, answer.body.decode("utf-8"), "A's GET " + path)
        answer = lk.get("/metrics", headers={"Authorization": "Bearer " + lk.service_token})
        self.assertStatus(answer, 200, "GET /metrics with the service token")
        self.assertNotIn(self.marker, answer.body.decode("utf-8"), "metrics show alert content")
        # the event stream of B carries nothing of A, even from the start of the outbox
        status, _, data = security_tools.stream_request(
            lk.url + "/events?since=0", headers=self.auth(self.jwt(self.b)), read_s=1.5)
        self.assertEqual(status, 200)
        self.assertNotIn(self.marker.encode(), data, "B's event stream shows A's events")
        status, _, data = security_tools.stream_request(
            lk.url + "/events?since=0", headers=headers, read_s=1.5)
        self.assertEqual(status, 200)
        self.assertIn(self.incident_a.encode(), data, "A's event stream lacks A's events")

    def test_public_endpoints_show_nothing_private(self):
        lk = self.lk
        checks = [("/healthz", {}), ("/status/" + STATUS_SLUG, {}),
                  ("/status/" + STATUS_SLUG + ".json", {}),
                  ("/status?page=" + STATUS_SLUG, {}), ("/status", {"Host": STATUS_HOST}),
                  ("/", {"Host": STATUS_HOST})]
        seen_page = False
        for path, headers in checks:
            answer = self.send("GET", path, headers)
            self.assertLess(answer.status, 500, "%s: %r" % (path, answer))
            self.assert_no_secret(answer, "public " + path, public=True)
            for label in ("secretdb", "Db" + self.marker, self.b):
                self.assertNotIn(label, answer.body.decode("utf-8", "replace"), path)
            if path.endswith(".json") and answer.status == 200:
                seen_page = True
                self.assertIn("Public API", [c["name"] for c in answer.json["components"]])
        self.assertTrue(seen_page, "the status page JSON was not served")
        status, _, data = security_tools.stream_request(
            lk.url + "/status/%s/events" % STATUS_SLUG, read_s=1.0)
        self.assertLess(status, 500)
        for secret in self.public_secrets:
            self.assertNotIn(secret.encode(), data, "status events leak %r" % secret)
        # an unknown page and another tenant's way in: 404, nothing else
        self.assertStatus(lk.get("/status/no-such-page", headers={}), 404)
        # health says nothing about tenants
        health = lk.get("/healthz", headers={})
        self.assertNotIn(self.a, health.body.decode("utf-8"))

    def test_ingest_tokens_scope_and_revocation(self):
        lk = self.lk
        a = self.a_headers()
        # a heartbeats-only token cannot post alerts
        answer = lk.post("/tokens", {"name": "hb only", "scopes": ["heartbeats:write"]},
                         headers=a)
        self.assertStatus(answer, 201)
        hb_token = answer.json["token"]
        self.assertEqual(answer.json["scopes"], ["heartbeats:write"])
        self.assertErrorBody(lk.post_alerts({"name": "X"}, headers=self.auth(hb_token)), 403,
                             "alerts with a heartbeats:write token")
        self.assertLess(lk.post("/heartbeats/" + self.heartbeat_a, None,
                                headers=self.auth(hb_token)).status, 300)
        # unknown scope, bad names: 400
        for body in ({"name": ""}, {"name": "x", "scopes": ["admin"]}, {"scopes": []}, []):
            self.assertErrorBody(lk.post("/tokens", body, headers=a), 400, repr(body))
        # A's token posts into A, even with no tenant header, and is listed without its value
        answer = lk.post_alerts({"name": "ViaToken" + self.marker}, headers=self.auth(self.token_a))
        self.assertStatus(answer, 202)
        incident = lk.get("/incidents/" + answer.json["alerts"][0]["incident_id"], headers=a)
        self.assertStatus(incident, 200, "the token's alert is tenant A's")
        listing = lk.get("/tokens", headers=a).body.decode("utf-8")
        self.assertNotIn(self.token_a, listing)
        self.assertNotIn(self.token_a[10:], listing)
        # revoking: refused at once by this ingest
        answer = lk.request("DELETE", "/tokens/" + self.token_a_id, headers=a)
        self.assertStatus(answer, 200)
        self.assertEqual(answer.json["token"]["status"], "revoked")
        self.assertErrorBody(lk.post_alerts({"name": "X"}, headers=self.auth(self.token_a)), 401)
        # revoking twice answers the same; an unknown id is 404
        self.assertStatus(lk.request("DELETE", "/tokens/" + self.token_a_id, headers=a), 200)
        self.assertStatus(lk.request("DELETE", "/tokens/%s" % uuid.uuid4(), headers=a), 404)
        # the stored row holds the hash only
        rows = lk.db_query("SELECT token_hash, hint FROM ingest_tokens")
        for token_hash, hint in rows:
            self.assertEqual(len(token_hash), 64)
            self.assertEqual(len(hint), 7)
        for row in lk.db_query("SELECT * FROM ingest_tokens"):
            self.assertNotIn(self.token_a, " ".join(str(v) for v in row))
        # no log line carries a token, a secret or a key
        self.assert_logs_free_of([self.token_a, self.token_b, self.revoked_token_a,
                                  lk.service_token, lk.jwt_secret, INTEGRATION_KEY_A])

    def assert_logs_free_of(self, secrets):
        for name in lookout.PROGRAMS:
            with open("%s/%s.log" % (self.lk.log_dir, name), encoding="utf-8",
                      errors="replace") as f:
                text = f.read()
            for secret in secrets:
                self.assertNotIn(secret, text, "%s logged a secret" % name)


class CurveClusterTest(lookout.LookoutTestCase):
    """The processes over tcp with CURVE required (docs/security.md): certificates made by
    lookout-keygen, the pipeline works end to end (escalation and a notify worker too), and a
    plaintext ZeroMQ peer gets no further than the greeting."""

    def curve_env(self):
        directory = security_tools.write_file("", "placeholder").rsplit("/", 1)[0] + "/curve"
        made = subprocess.run([lookout.find_binary("lookout-keygen"), directory, "server",
                               "client"], capture_output=True, text=True, timeout=30)
        self.assertEqual(made.returncode, 0, made.stderr)
        with open(directory + "/client.cert_secret", encoding="utf-8") as f:
            secret = [line.split('"')[1] for line in f if "secret-key" in line]
        self.assertEqual(len(secret), 1)
        self.assertNotIn(secret[0], made.stdout + made.stderr, "lookout-keygen printed a key")
        return {"LOOKOUT_CURVE_SERVER_CERT": directory + "/server.cert",
                "LOOKOUT_CURVE_CLIENT_CERT": directory + "/client.cert",
                "LOOKOUT_CURVE_AUTHORIZED_DIR": directory + "/authorized",
                "LOOKOUT_CURVE_REQUIRED": "true"}

    def test_notifications_over_curve(self):
        """lookout-escalate binds its jobs and results sockets with CURVE; a notify worker
        connects with its client certificate; escalation reaches a receiver, twice in a row
        (the second incident proves the results socket keeps working after the first)."""
        receiver = notify_tools.Receiver()
        self.addCleanup(receiver.stop)
        config = security_tools.write_file("""
notify_settings: {allow_private_destinations: true, max_attempts: 3, backoff_initial: 200ms}
channels:
  - {name: hook, type: slack, url: '%s'}
escalation_policies:
  - {name: all, levels: [{targets: [{channel: hook}]}]}
""" % receiver.url("/hook"), "lookout.yaml")
        jobs, results = lookout.free_ports(2)
        lk = self.start_lookout(env=dict(self.curve_env(), **{
            "LOOKOUT_CONFIG": config,
            "LOOKOUT_NOTIFY_JOBS_ENDPOINT": "tcp://127.0.0.1:%d" % jobs,
            "LOOKOUT_NOTIFY_RESULTS_ENDPOINT": "tcp://127.0.0.1:%d" % results}))
        programs = notify_tools.NotifyPrograms(lk, workers=1)
        self.addCleanup(programs.stop)
        programs.wait_log("lookout-escalate", "following events")
        for number in (1, 2):
            answer, _ = lk.post_alerts_until_accepted(
                {"name": "CurveNotify%d" % number, "severity": "critical"}, lookout.SYSTEM_TENANT)
            self.assertStatus(answer, 202)
            got = receiver.wait_for("/hook", number, timeout=30)
            self.assertIn("CurveNotify%d" % number, got[-1].body.decode())
        deadline = time.monotonic() + 20 * lookout.TIME_SCALE
        while lk.db_count("SELECT COUNT(*) FROM notifications WHERE status = 'sent'") < 2:
            self.assertLess(time.monotonic(), deadline, "escalate did not take the results")
            time.sleep(0.1)
        with self.assertRaises(ConnectionError):
            zmtp_tools.ZmtpPeer.connect("127.0.0.1", jobs, "PULL")
        programs.check_alive()

    def test_pipeline_over_curve(self):
        lk = self.start_lookout(env=self.curve_env())
        tenant = new_tenant()
        answer = lk.post_alerts({"name": "OverCurve"}, tenant=tenant)
        self.assertStatus(answer, 202, "an alert through CURVE-secured sockets")
        self.assertStatus(lk.get("/incidents", tenant=tenant), 200)
        port = int(lk.config["LOOKOUT_STORE_QUERY_ENDPOINT"].rsplit(":", 1)[1])
        with self.assertRaises(ConnectionError):
            zmtp_tools.ZmtpPeer.connect("127.0.0.1", port, "DEALER")
        security_tools.assert_alive_and_clean(self, lk)


if __name__ == "__main__":
    lookout.main()
