"""Hostile inputs (issue 8): SQL metacharacters, NUL bytes, invalid UTF-8, huge numbers,
10 MB bodies, deep nesting, long label names and values, duplicate keys, control and
non-Latin characters — through every intake format and the write endpoints, on SQLite and on
PostgreSQL. Each is answered with a 4xx, or stored exactly: read back through the API it is
byte-for-byte what was sent. Never a 5xx, never a crash: afterwards every process runs and no
log reports a crash, a sanitizer finding or a fatal error."""

import json
import urllib.parse

import lookout
import security_tools
from lookout import new_tenant

# Text that must be stored as it is: quoting, comments, wildcards, escapes, non-ASCII, controls.
SQL = [
    "Robert'); DROP TABLE alerts;--",
    "\" OR \"1\"=\"1",
    "' OR '1'='1' /*",
    "%_\\%\\_ LIKE '%'",
    "$1; SELECT pg_sleep(10); --",
    "\\x00\\'\\\"",
    "; ATTACH DATABASE '/tmp/x' AS x; --",
]
UNICODE = ["Zürich ☃ 🚨", "שלום مرحبا", "e\u0301\u200d\ufeff", "\U0010fffd", "tab\there\nnew\rline\u0001\u001f"]


class HostileInputTest(lookout.LookoutTestCase):

    def test_hostile_sqlite(self):
        self.run_suite(self.start_lookout(backend="sqlite"))

    def test_hostile_postgresql(self):
        self.require_pg()
        self.run_suite(self.start_lookout(backend="postgresql"))

    # ---- helpers ----

    def post(self, path, body, tenant, raw=False):
        """POSTs body (JSON-encoded unless raw bytes) and checks the answer is not a 5xx."""
        headers = self.lk.headers(tenant=tenant)
        headers["Content-Type"] = "application/json"
        data = body if raw else json.dumps(body, ensure_ascii=False).encode("utf-8")
        answer = lookout.http_request(self.lk.url + path, method="POST", body=data,
                                      headers=headers, timeout=60)
        self.assertLess(answer.status, 500, "%s %r: %r" % (path, data[:200], answer))
        self.answers += 1
        return answer

    def alert_back(self, tenant, incident_id, fingerprint):
        got = self.lk.get("/incidents/" + incident_id, tenant=tenant)
        self.assertStatus(got, 200, "reading back incident %s" % incident_id)
        for alert in got.json["alerts"]:
            if alert["fingerprint"] == fingerprint:
                return alert
        self.fail("alert %s not in incident %s" % (fingerprint, incident_id))

    def native_roundtrip(self, tenant, alert, what):
        """Posts one native alert: 4xx, or stored exactly (name, labels, annotations)."""
        answer = self.post("/alerts", alert, tenant)
        if answer.status >= 400:
            self.assertEqual(answer.json.get("error") is not None, True, what)
            return None
        self.assertEqual(answer.status, 202, "%s: %r" % (what, answer))
        result = answer.json["alerts"][0]
        stored = self.alert_back(tenant, result["incident_id"], result["fingerprint"])
        expected_labels = dict(alert.get("labels") or {})
        expected_labels["alertname"] = alert["name"]
        self.assertEqual(stored["name"], alert["name"], what)
        self.assertEqual(stored["labels"], expected_labels, what)
        self.assertEqual(stored["annotations"], alert.get("annotations") or {}, what)
        if "value" in alert:
            self.assertEqual(stored["value"], alert["value"], what)
        self.stored += 1
        return stored

    # ---- the suite ----

    def run_suite(self, lk):
        self.lk = lk
        self.answers = 0
        self.stored = 0
        tenant = new_tenant()
        self.native_texts(tenant)
        self.native_refusals(tenant)
        self.other_formats(tenant)
        self.write_endpoints(tenant)
        self.queries(tenant)
        self.oversized(tenant)
        print("%s: %d answers, %d stored byte-for-byte" % (lk.backend, self.answers,
                                                           self.stored))
        security_tools.assert_alive_and_clean(self, lk)
        # and the pipeline still works
        answer = lk.post_alerts({"name": "AfterHostile"}, tenant=tenant)
        self.assertStatus(answer, 202, "after the hostile suite")

    def native_texts(self, tenant):
        for i, text in enumerate(SQL + UNICODE):
            alert = {"name": "Hostile%d %s" % (i, text),
                     "labels": {"field": text, "sql_%d" % i: text + text},
                     "annotations": {"summary": text, text[:40] or "k": "v"}}
            self.native_roundtrip(tenant, alert, "text %r" % text)
        # limits: exactly at the limit is stored, one past is 400
        at = {"name": "Limits", "labels": {"a" * 1024: "v" * 4096},
              "annotations": {"big": "w" * 16384}}
        self.assertIsNotNone(self.native_roundtrip(tenant, at, "at the limits"), "at the limits")
        for alert in ({"name": "TooLongName", "labels": {"a" * 1025: "v"}},
                      {"name": "TooLongValue", "labels": {"a": "v" * 4097}},
                      {"name": "TooLongAnnotation", "annotations": {"x": "w" * 16385}},
                      {"name": "x" * 257},
                      {"name": "LongAnnotationName", "annotations": {"n" * 300: "v"}},
                      {"name": "EmptyAnnotationName", "annotations": {"": "v"}}):
            answer = self.post("/alerts", alert, tenant)
            self.assertEqual(answer.status, 400, "%r: %r" % (list(alert), answer))
        # numbers: finite extremes are stored exactly, the rest refused
        for value in (1.7976931348623157e308, -2.2250738585072014e-308, 0.1, -0.0, 123456789):
            self.native_roundtrip(tenant, {"name": "Value", "labels": {"v": repr(value)},
                                           "value": value}, "value %r" % value)
        for raw in (b'{"name":"Huge","value":1e400}', b'{"name":"Huge","value":-1e400}',
                    b'{"name":"Huge","value":18446744073709551616}',
                    b'{"name":"Huge","value":99999999999999999999999999999999}',
                    b'{"name":"Huge","starts_at":"99999-01-01T00:00:00Z"}',
                    b'{"name":"Huge","value":NaN}', b'{"name":"Huge","value":Infinity}'):
            answer = self.post("/alerts", raw, tenant, raw=True)
            self.assertEqual(answer.status, 400, "%r: %r" % (raw, answer))
        # duplicate keys: the last one counts (as Go's encoding/json), consistently
        answer = self.post("/alerts", b'{"name":"DupFirst","name":"DupLast",'
                           b'"labels":{"k":"1","k":"2"}}', tenant, raw=True)
        if answer.status == 202:
            result = answer.json["alerts"][0]
            stored = self.alert_back(tenant, result["incident_id"], result["fingerprint"])
            self.assertEqual(stored["name"], "DupLast")
            self.assertEqual(stored["labels"]["k"], "2")
        else:
            self.assertEqual(answer.status, 400, answer)

    def native_refusals(self, tenant):
        cases = [
            b'{"name":"Nul\\u0000Byte"}',
            b'{"name":"NulLabel","labels":{"a":"x\\u0000y"}}',
            b'{"name":"NulName","labels":{"a\\u0000b":"x"}}',
            b'{"name":"NulAnnotation","annotations":{"s":"\\u0000"}}',
            b'{"name":"Bad\xff\xfeUtf8"}',
            b'{"name":"Overlong\xc0\xafSlash"}',
            b'{"name":"Surrogate\xed\xa0\x80"}',
            b'{"name":"LoneSurrogate\\ud800"}',
            b'{"name":"Truncated',
            b'\xef\xbb\xbf{"name":"Bom"}',
            b'',
            b'null', b'"string"', b'42', b'[[]]', b'[null]',
            b'{"name":{"nested":"object"}}', b'{"name":["array"]}', b'{"labels":"nope"}',
            b'{"name":"Deep","labels":' + b'{"a":' * 200 + b'"x"' + b'}' * 201,
            b'[' * 100000 + b']' * 100000,
            b'{"name":"Trailing"} garbage',
        ]
        for raw in cases:
            answer = self.post("/alerts", raw, tenant, raw=True)
            self.assertIn(answer.status, (400, 413), "%r: %r" % (raw[:80], answer))

    def other_formats(self, tenant):
        for text in SQL + UNICODE[:3]:
            name = "V2 " + text
            answer = self.post("/api/v2/alerts", [{"labels": {"alertname": name, "f": text},
                                                   "annotations": {"s": text}}], tenant)
            self.assertEqual(answer.status, 200, "%r: %r" % (text, answer))
            found = self.lk.get("/incidents?label.alertname=" + urllib.parse.quote(name),
                                tenant=tenant)
            self.assertStatus(found, 200)
            self.assertEqual(len(found.json["incidents"]), 1, "v2 %r" % text)
            incident = self.lk.get("/incidents/" + found.json["incidents"][0]["id"],
                                   tenant=tenant).json
            labels = [a["labels"] for a in incident["alerts"]]
            self.assertIn({"alertname": name, "f": text}, labels)
            self.stored += 1
        for raw in (b'[{"labels":{"alertname":"x\\u0000"}}]', b'[{"labels":{"a":1e400}}]',
                    b'[{"labels":{"alertname":"\xff"}}]', b'{"version":"4","alerts":' + b'[' * 5000,
                    b'[{"labels":{"' + b'a' * 2000 + b'":"x"}}]'):
            for path in ("/api/v2/alerts", "/webhooks/alertmanager"):
                answer = self.post(path, raw, tenant, raw=True)
                self.assertEqual(answer.status, 400, "%s %r: %r" % (path, raw[:60], answer))
        for raw in (b'{"routing_key":"\'; DROP TABLE x;--","event_action":"trigger"}',
                    b'{"routing_key":"' + b'R' * 32 + b'","event_action":"trigger",'
                    b'"payload":{"summary":"\\u0000","source":"s","severity":"info"}}',
                    b'{"routing_key":1e400}', b'\xff\xfe'):
            answer = self.post("/v2/enqueue", raw, tenant, raw=True)
            self.assertEqual(answer.status, 400, "%r: %r" % (raw[:60], answer))

    def write_endpoints(self, tenant):
        lk = self.lk
        answer = self.post("/alerts", {"name": "Target"}, tenant)
        incident = answer.json["alerts"][0]["incident_id"]
        for text in SQL + UNICODE:
            answer = self.post("/silences", {
                "matchers": [{"name": "field", "value": text}],
                "endsAt": "2099-01-01T00:00:00Z", "comment": text, "createdBy": text}, tenant)
            self.assertEqual(answer.status, 200, "silence %r: %r" % (text, answer))
            back = lk.get("/silences/" + answer.json["silenceID"], tenant=tenant)
            self.assertEqual(back.json["comment"], text)
            self.assertEqual(back.json["createdBy"], text)
            self.assertEqual(back.json["matchers"][0]["value"], text)
            answer = self.post("/incidents/%s/updates" % incident,
                               {"message": text, "author": text}, tenant)
            self.assertEqual(answer.status, 201, "update %r: %r" % (text, answer))
            answer = self.post("/tokens", {"name": text[:128] or "t"}, tenant)
            self.assertEqual(answer.status, 201, "token %r: %r" % (text, answer))
            self.stored += 3
        updates = [u["message"] for u in lk.incident(incident, tenant)["updates"]]
        for text in SQL + UNICODE:
            self.assertIn(text, updates)
        names = [t["name"] for t in lk.get("/tokens", tenant=tenant).json["tokens"]]
        for text in SQL + UNICODE:
            self.assertIn(text[:128], names)
        for path, raw in (("/silences", b'{"matchers":[{"name":"a","value":"\\u0000"}],'
                                        b'"endsAt":"2099-01-01T00:00:00Z"}'),
                          ("/silences", b'{"matchers":[],"endsAt":"99999-01-01T00:00:00Z"}'),
                          ("/incidents/%s/updates" % incident, b'{"message":"\\u0000"}'),
                          ("/tokens", b'{"name":"\\u0000"}'),
                          ("/tokens", b'{"name":"' + b'n' * 200 + b'"}'),
                          ("/heartbeats/hostile", b'{"interval_s":1e400}'),
                          ("/heartbeats/hostile", b'{"interval_s":-1}'),
                          ("/heartbeats/hostile", b'{"interval_s":18446744073709551616}'),
                          ("/heartbeats/" + urllib.parse.quote("a'; DROP"), b'{}'),
                          ("/oncall/overrides", b'{"schedule":"\'; DROP","user":"\\u0000"}'),
                          ("/incidents/%s/acknowledge" % incident, b'{"note":"\\u0000"}')):
            answer = self.post(path, raw, tenant, raw=True)
            self.assertIn(answer.status, (400, 404, 422), "%s %r: %r" % (path, raw[:60], answer))

    def queries(self, tenant):
        lk = self.lk
        for text in SQL:
            answer = lk.get("/incidents?label.alertname=" + urllib.parse.quote(text),
                            tenant=tenant)
            self.assertStatus(answer, 200, "label query %r" % text)
            self.assertEqual(answer.json["incidents"], [])
            self.answers += 1
        for query in ("limit=99999999999999999999", "limit=-1", "since=1e400",
                      "since=" + urllib.parse.quote("'; DROP TABLE incidents;--"),
                      "status=" + urllib.parse.quote("triggered' OR '1'='1"),
                      "cursor=" + urllib.parse.quote("' OR 1=1 --"), "cursor=%00%ff",
                      "severity=%00"):
            answer = lk.get("/incidents?" + query, tenant=tenant)
            self.assertEqual(answer.status, 400, "%s: %r" % (query, answer))
            self.answers += 1
        for path in ("/incidents/..%2f..%2fetc%2fpasswd", "/incidents/%00",
                     "/incidents/" + urllib.parse.quote("' OR '1'='1"),
                     "/silences/" + urllib.parse.quote("1; DROP"), "/tokens/%ff%fe"):
            answer = lk.get(path, tenant=tenant)
            self.assertIn(answer.status, (400, 404, 405), "%s: %r" % (path, answer))
            self.answers += 1
        # a tenant header that is not a UUID
        answer = lk.get("/incidents", headers={"Authorization": "Bearer " + lk.service_token,
                                               "X-Tenant-ID": "'; DROP TABLE incidents;--"})
        self.assertEqual(answer.status, 400, answer)

    def oversized(self, tenant):
        head = ("POST /alerts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                "X-Tenant-ID: %s\r\nContent-Type: application/json\r\n"
                "Content-Length: %d\r\nConnection: close\r\n\r\n")
        body = b'{"name":"Ten","annotations":{"a":"' + b"x" * (10 * 1024 * 1024) + b'"}}'
        data = security_tools.raw_exchange(
            self.lk.http_port, (head % (self.lk.service_token, tenant, len(body))).encode() +
            body, timeout=60)
        self.assertEqual(security_tools.raw_status(data), 413, data[:200])
        self.answers += 1


if __name__ == "__main__":
    lookout.main()
