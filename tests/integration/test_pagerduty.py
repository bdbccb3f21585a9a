"""PagerDuty Events API v2 compatibility (POST /v2/enqueue, docs/http-api.md): trigger /
acknowledge / resolve sequences behave as PagerDuty documents them (each dedup_key its own
incident, a trigger after resolve opens a new incident, acknowledge and resolve of an unknown
key are accepted and dropped), answers have PagerDuty's shapes, routing keys map to tenants
and never reach a log."""

import os
import re

import intake_tools
import lookout
from lookout import new_tenant


class PagerDutyTest(lookout.LookoutTestCase):

    def setUp(self):
        self.tenant = new_tenant()
        self.other_tenant = new_tenant()
        self.key = intake_tools.routing_key()
        self.other_key = intake_tools.routing_key()
        config = intake_tools.write_config(self, [
            {"name": "pd-main", "routing_key": self.key, "tenant": self.tenant},
            {"name": "pd-other", "routing_key": self.other_key, "tenant": self.other_tenant},
        ])
        self.lk = self.start_lookout(env={"LOOKOUT_CONFIG": config,
                                          "LOOKOUT_LOG_LEVEL": "debug"})

    # -- helpers --

    def enqueue(self, event, key=None):
        event = dict(event)
        event.setdefault("routing_key", key or self.key)
        return lookout.http_request(self.lk.url + "/v2/enqueue", "POST", event)

    def trigger(self, dedup_key, summary="Disk full on db1", severity="critical", key=None,
                **payload):
        body = {"event_action": "trigger",
                "payload": dict({"summary": summary, "source": "db1.example.com",
                                 "severity": severity}, **payload)}
        if dedup_key is not None:
            body["dedup_key"] = dedup_key
        return self.enqueue(body, key)

    def assert_processed(self, answer, dedup_key):
        self.assertStatus(answer, 202)
        self.assertEqual(answer.json, {"status": "success", "message": "Event processed",
                                       "dedup_key": dedup_key})

    def assert_invalid(self, answer, *expected):
        self.assertStatus(answer, 400)
        self.assertEqual(answer.json["status"], "invalid event")
        self.assertEqual(answer.json["message"], "Event object is invalid")
        self.assertEqual(sorted(answer.json), ["errors", "message", "status"])
        for text in expected:
            self.assertTrue(any(text in error for error in answer.json["errors"]),
                            "no error containing %r in %r" % (text, answer.json["errors"]))

    def incidents_of(self, dedup_key, tenant=None):
        return intake_tools.find_incidents(self.lk, tenant or self.tenant, dedup_key)

    def only_incident(self, dedup_key, tenant=None):
        found = self.incidents_of(dedup_key, tenant)
        self.assertEqual(len(found), 1, "incidents of %s: %r" % (dedup_key, found))
        return found[0]

    # -- tests --

    def test_trigger_acknowledge_resolve_retrigger(self):
        lk = self.lk
        self.assert_processed(self.trigger("db1-disk", component="postgres", group="db",
                                           custom_details={"free": "0%", "load": 7.5},
                                           **{"class": "disk"}), "db1-disk")
        incident = self.only_incident("db1-disk")
        self.assertEqual(incident["status"], "triggered")
        self.assertEqual(incident["severity"], "critical")
        self.assertEqual(incident["summary"], "Disk full on db1")
        detail = lk.incident(incident["id"], self.tenant)
        alert = detail["alerts"][0]
        self.assertEqual(alert["source"], "pagerduty")
        self.assertEqual(alert["dedup_key"], "db1-disk")
        self.assertEqual(alert["fingerprint"], lookout.fingerprint({"dedup_key": "db1-disk"}))
        self.assertEqual(alert["labels"], {"alertname": "db1-disk", "severity": "critical",
                                           "source": "db1.example.com", "component": "postgres",
                                           "group": "db", "class": "disk"})
        self.assertEqual(alert["annotations"]["summary"], "Disk full on db1")
        self.assertEqual(alert["annotations"]["custom_details"], '{"free":"0%","load":7.5}')

        # a second trigger with the same key is the same alert: still one incident
        self.assert_processed(self.trigger("db1-disk", component="postgres", group="db",
                                           custom_details={"free": "0%", "load": 7.5},
                                           **{"class": "disk"}), "db1-disk")
        self.assertEqual(self.only_incident("db1-disk")["id"], incident["id"])

        # acknowledge: the incident is acknowledged by the integration
        self.assert_processed(self.enqueue({"event_action": "acknowledge",
                                            "dedup_key": "db1-disk"}), "db1-disk")
        acked = lk.incident(incident["id"], self.tenant)["incident"]
        self.assertEqual(acked["status"], "acknowledged")
        self.assertEqual(acked["acknowledged_by"], "pagerduty:pd-main")
        # a trigger while acknowledged changes nothing about that
        self.assert_processed(self.trigger("db1-disk", summary="Disk still full"), "db1-disk")
        self.assertEqual(lk.incident(incident["id"], self.tenant)["incident"]["status"],
                         "acknowledged")

        # resolve: resolved; a second resolve is accepted and changes nothing
        self.assert_processed(self.enqueue({"event_action": "resolve", "dedup_key": "db1-disk"}),
                              "db1-disk")
        resolved = lk.incident(incident["id"], self.tenant)
        self.assertEqual(resolved["incident"]["status"], "resolved")
        self.assertEqual(resolved["alerts"][0]["status"], "resolved")
        self.assert_processed(self.enqueue({"event_action": "resolve", "dedup_key": "db1-disk"}),
                              "db1-disk")
        self.assertEqual(lk.incident(incident["id"], self.tenant), resolved)
        # acknowledging a resolved alert is dropped, as PagerDuty drops it
        self.assert_processed(self.enqueue({"event_action": "acknowledge",
                                            "dedup_key": "db1-disk"}), "db1-disk")
        self.assertEqual(lk.incident(incident["id"], self.tenant)["incident"]["status"],
                         "resolved")

        # a trigger after resolve opens a NEW incident; the old one is finished (closed)
        self.assert_processed(self.trigger("db1-disk"), "db1-disk")
        found = self.incidents_of("db1-disk")
        self.assertEqual(len(found), 2, found)
        new = [i for i in found if i["id"] != incident["id"]][0]
        self.assertEqual(new["status"], "triggered")
        self.assertEqual(new["reopen_count"], 0)
        old = lk.incident(incident["id"], self.tenant)["incident"]
        self.assertEqual(old["status"], "closed")
        self.assertEqual(old["reopen_count"], 0)

    def test_each_dedup_key_is_its_own_incident(self):
        for key in ("web-1", "web-2", "web-3"):
            self.assert_processed(self.trigger(key, summary="same summary"), key)
        ids = {self.only_incident(key)["id"] for key in ("web-1", "web-2", "web-3")}
        self.assertEqual(len(ids), 3)
        self.assert_processed(self.enqueue({"event_action": "resolve", "dedup_key": "web-2"}),
                              "web-2")
        self.assertEqual(self.only_incident("web-2")["status"], "resolved")
        self.assertEqual(self.only_incident("web-1")["status"], "triggered")
        self.assertEqual(self.only_incident("web-3")["status"], "triggered")

    def test_generated_dedup_key(self):
        answer = self.trigger(None, summary="no key given")
        self.assertStatus(answer, 202)
        key = answer.json["dedup_key"]
        self.assertRegex(key, r"^[0-9a-f]{32}$")
        self.assertEqual(answer.json["status"], "success")
        self.assertEqual(self.only_incident(key)["status"], "triggered")
        # the same event again without a key is a new alert, as in PagerDuty
        again = self.trigger(None, summary="no key given")
        self.assertNotEqual(again.json["dedup_key"], key)
        self.assert_processed(self.enqueue({"event_action": "resolve", "dedup_key": key}), key)
        self.assertEqual(self.only_incident(key)["status"], "resolved")

    def test_unknown_dedup_key_is_accepted_and_dropped(self):
        for action in ("acknowledge", "resolve"):
            self.assert_processed(self.enqueue({"event_action": action,
                                                "dedup_key": "never-seen"}), "never-seen")
        self.assertEqual(self.incidents_of("never-seen"), [])

    def test_routing_keys_map_to_tenants(self):
        self.assert_processed(self.trigger("shared-key"), "shared-key")
        self.assert_processed(self.trigger("shared-key", key=self.other_key), "shared-key")
        mine = self.only_incident("shared-key")
        theirs = self.only_incident("shared-key", tenant=self.other_tenant)
        self.assertNotEqual(mine["id"], theirs["id"])
        self.assertEqual(theirs["tenant_id"], self.other_tenant)
        # the other integration's resolve touches only its tenant's alert
        self.assert_processed(self.enqueue({"event_action": "resolve", "dedup_key": "shared-key"},
                                           key=self.other_key), "shared-key")
        self.assertEqual(self.only_incident("shared-key")["status"], "triggered")
        self.assertEqual(self.only_incident("shared-key", tenant=self.other_tenant)["status"],
                         "resolved")

    def test_invalid_events(self):
        lk = self.lk
        # a well-formed key nobody configured
        self.assert_invalid(self.trigger("k", key=intake_tools.routing_key()),
                            "Invalid routing key")
        # keys of the wrong form: both of PagerDuty's complaints
        self.assert_invalid(self.trigger("k", key="not-a-key!"),
                            "Length of 'routing_key' is incorrect (should be 32 characters)",
                            "'routing_key' cannot contain non-alphanumeric characters.")
        self.assert_invalid(self.enqueue({"event_action": "trigger", "routing_key": None}),
                            "'routing_key' is missing or blank", "'payload' is missing or blank")
        # every problem of the event in one answer
        answer = self.enqueue({"event_action": "trigger", "dedup_key": "bad-1",
                               "payload": {"summary": "", "severity": "fatal",
                                           "timestamp": "soon"}})
        self.assert_invalid(answer, "'payload.summary' is missing or blank",
                            "'payload.source' is missing or blank",
                            "'payload.severity' is invalid", "'payload.timestamp' is invalid")
        self.assertEqual(len(answer.json["errors"]), 4)
        self.assert_invalid(self.enqueue({"event_action": "snooze", "dedup_key": "k"}),
                            "'event_action' is invalid")
        self.assert_invalid(self.enqueue({"event_action": "resolve"}),
                            "'dedup_key' is missing or blank")
        self.assert_invalid(self.trigger("x" * 256), "Length of 'dedup_key' is incorrect")
        # bodies that are not events
        for body in (b"{not json", b"[]", b"\"trigger\""):
            answer = lookout.http_request(lk.url + "/v2/enqueue", "POST", body)
            self.assert_invalid(answer)
            self.assertTrue(answer.json["errors"], answer)
        answer = lookout.http_request(lk.url + "/v2/enqueue", "POST", b"{\"a\":")
        self.assert_invalid(answer, "Malformed JSON")
        # nothing was created by any of them
        self.assertEqual(lk.incidents(self.tenant), [])
        # links and images are accepted and ignored
        answer = self.enqueue({"event_action": "trigger", "dedup_key": "with-links",
                               "payload": {"summary": "s", "source": "h", "severity": "info",
                                           "timestamp": "2015-07-17T08:42:58.315+0000"},
                               "links": [{"href": "https://example.com", "text": "x"}],
                               "images": [{"src": "https://example.com/a.png"}]})
        self.assert_processed(answer, "with-links")
        alert = lk.incident(self.only_incident("with-links")["id"], self.tenant)["alerts"][0]
        self.assertEqual(alert["starts_at"], "2015-07-17T08:42:58.315Z")

    def test_routing_keys_are_never_logged(self):
        self.assert_processed(self.trigger("log-check"), "log-check")
        self.assert_invalid(self.trigger("log-check", key="Z" * 32), "Invalid routing key")
        self.assert_processed(self.enqueue({"event_action": "acknowledge",
                                            "dedup_key": "log-check"}), "log-check")
        for path in self.lk.log_paths():
            with open(path, "rb") as f:
                text = f.read()
            for secret in (self.key, self.other_key, "Z" * 32):
                self.assertNotIn(secret.encode(), text, "a routing key is in %s" %
                                 os.path.basename(path))
        self.assertTrue(re.fullmatch(r"[A-Za-z0-9]{32}", self.key))


if __name__ == "__main__":
    lookout.main()
