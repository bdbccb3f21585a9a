"""Debugging taps: with LOOKOUT_{INGEST,CORRELATE,STORE}_TAP set, `lookout-tap` prints every
message of an alert's trip (alert_batch, mutation_batch, mutation_ack, alert_reply) as JSON
lines {"at", "label", "msg"} with the message's fields."""

import time

import lookout
from lookout import RFC3339_MS, fingerprint, new_tenant


def process_of(label):
    """"ingest>correlate" -> ("ingest", ">", "correlate")."""
    for sep in (">", "<"):
        if sep in label:
            left, right = label.split(sep, 1)
            return left, sep, right
    return label, "", ""


class TapTest(lookout.LookoutTestCase):

    def test_tap_shows_an_alerts_trip(self):
        lk = self.start_lookout(taps=True)
        tenant = new_tenant()
        tap = lk.tap()

        # A SUB socket joins each PUB some time after connecting, and not all at once: post
        # warm-up alerts until every process's tap has shown traffic, then follow one marked
        # alert end to end.
        deadline = time.monotonic() + 20 * lookout.TIME_SCALE
        n = 0

        def all_taps_joined():
            seen = set(process_of(l.get("label", ""))[0] for l in tap.matching(lambda l: True))
            return {"ingest", "correlate", "store"} <= seen

        while not all_taps_joined():
            self.assertLess(time.monotonic(), deadline, "lookout-tap printed nothing; lines %r "
                            "bad %r" % (tap.lines[:5], tap.bad_lines[:5]))
            n += 1
            self.assertStatus(lk.post_alerts({"name": "TapWarmUp", "labels": {"n": str(n)}},
                                             tenant=tenant), 202, "warm-up alert")
            tap.wait_for(lambda l: True, timeout=0.3)

        labels = {"alertname": "TapMarker", "instance": "tap-1"}
        marker_fp = fingerprint(labels)
        answer = lk.post_alerts({"name": "TapMarker", "labels": {"instance": "tap-1"},
                                 "severity": "error"}, tenant=tenant)
        self.assertStatus(answer, 202, "marker alert")
        incident_id = answer.json["alerts"][0]["incident_id"]

        def msg_type(kind):
            return lambda line: (line.get("msg") or {}).get("type") == kind

        def has_marker_alert(line):
            alerts = (line.get("msg") or {}).get("alerts") or []
            return any(isinstance(a, dict) and (a.get("labels") or {}).get("alertname")
                       == "TapMarker" for a in alerts)

        batches = tap.wait_for(lambda l: msg_type("alert_batch")(l) and has_marker_alert(l),
                               count=2)
        self.assertTrue(batches, "no alert_batch with the marker alert")
        for line in batches:
            self.assertIsInstance(line.get("at"), str)
            self.assertRegex(line["at"], RFC3339_MS)
            msg = line["msg"]
            self.assertEqual(msg["v"], 1, msg)
            self.assertIsInstance(msg["req"], int, msg)
            self.assertEqual(msg["tenant"], tenant, msg)
            self.assertEqual(len(msg["alerts"]), 1, msg)
            alert = msg["alerts"][0]
            self.assertEqual(alert["name"], "TapMarker")
            self.assertEqual(alert["labels"], labels)
            self.assertEqual(alert["severity"], "error")
            self.assertEqual(alert["status"], "firing")
            self.assertIsInstance(alert["starts_at"], int)
        batch_sides = set(process_of(l["label"])[0] for l in batches)
        self.assertEqual(batch_sides, {"ingest", "correlate"},
                         "alert_batch not seen on both the ingest and correlate taps: %r" %
                         [l["label"] for l in batches])
        for line in batches:
            self.assertIn(process_of(line["label"]), (("ingest", ">", "correlate"),
                                                      ("correlate", "<", "ingest")))
        alert_req = batches[0]["msg"]["req"]

        mutations = tap.wait_for(lambda l: msg_type("mutation_batch")(l) and has_marker_alert(l),
                                 count=2)
        self.assertTrue(mutations, "no mutation_batch with the marker alert")
        for line in mutations:
            msg = line["msg"]
            self.assertEqual(msg["v"], 1)
            alert = [a for a in msg["alerts"] if a["labels"].get("alertname") == "TapMarker"][0]
            self.assertEqual(alert["fingerprint"], marker_fp)
            self.assertEqual(alert["incident_id"], incident_id)
            self.assertEqual(alert["tenant"], tenant)
            incidents = [i for i in msg["incidents"] if i["id"] == incident_id]
            self.assertEqual(len(incidents), 1, msg["incidents"])
            self.assertEqual(incidents[0]["status"], "triggered")
            self.assertEqual(incidents[0]["severity"], "error")
            self.assertEqual(incidents[0]["group_labels"], {"alertname": "TapMarker"})
            self.assertGreaterEqual(incidents[0]["version"], 1)
            events = [e for e in msg["events"] if e["incident_id"] == incident_id]
            self.assertIn("incident_triggered", [e["type"] for e in events], msg["events"])
            for event in events:
                self.assertTrue(lookout.is_uuid(event["event_id"]), event)
        mutation_sides = set(process_of(l["label"])[0] for l in mutations)
        self.assertEqual(mutation_sides, {"correlate", "store"},
                         "mutation_batch not seen on both the correlate and store taps: %r" %
                         [l["label"] for l in mutations])
        mutation_req = mutations[0]["msg"]["req"]

        acks = tap.wait_for(lambda l: msg_type("mutation_ack")(l)
                            and l["msg"].get("req") == mutation_req, count=2)
        self.assertTrue(acks, "no mutation_ack for req %s" % mutation_req)
        for line in acks:
            self.assertEqual(line["msg"]["status"], "ok", line)
        self.assertEqual(set(process_of(l["label"])[0] for l in acks), {"store", "correlate"})

        replies = tap.wait_for(lambda l: msg_type("alert_reply")(l)
                               and l["msg"].get("req") == alert_req, count=2)
        self.assertTrue(replies, "no alert_reply for req %s" % alert_req)
        for line in replies:
            msg = line["msg"]
            self.assertEqual(msg["status"], "ok", msg)
            self.assertEqual(len(msg["results"]), 1, msg)
            self.assertEqual(msg["results"][0]["outcome"], "new")
            self.assertEqual(msg["results"][0]["fingerprint"], marker_fp)
            self.assertEqual(msg["results"][0]["incident_id"], incident_id)
        self.assertEqual(set(process_of(l["label"])[0] for l in replies), {"correlate", "ingest"})

        # Order of the trip as the taps saw it: batch, mutation, ack, reply.
        order = [l for l in tap.lines if l in batches + mutations + acks + replies]
        kinds = [l["msg"]["type"] for l in order]
        self.assertLess(kinds.index("alert_batch"), kinds.index("mutation_batch"))
        self.assertLess(kinds.index("mutation_batch"), kinds.index("mutation_ack"))
        self.assertLess(kinds.index("mutation_ack"), kinds.index("alert_reply"))
        self.assertEqual(tap.bad_lines, [], "lookout-tap printed lines that are not JSON")

        # A query (GET /incidents) is tapped too.
        self.assertStatus(lk.get("/incidents", tenant=tenant), 200, "GET /incidents")
        queries = tap.wait_for(msg_type("query"), count=1)
        self.assertTrue(queries, "no query message on the taps")


if __name__ == "__main__":
    lookout.main()
