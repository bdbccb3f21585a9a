"""GET /events (docs/events.md): Server-Sent Events of the caller's tenant. A client that
disconnects and reconnects with Last-Event-ID misses nothing and sees only its tenant's events;
a client that stops reading is cut off (its buffer is bounded) and catches up when it comes
back, while a reading client gets every event of bursts larger than its buffer; heartbeats
arrive; streams are limited in number."""

import os
import time

import lookout
from lookout import new_tenant
from sse_tools import SseStream


def max_sequence(lk):
    return int(lk.db_scalar("SELECT COALESCE(MAX(sequence), 0) FROM events"))


def tenant_sequences(lk, tenant, after):
    rows = lk.db_query("SELECT sequence FROM events WHERE tenant_id = '%s' AND sequence > %d "
                       "ORDER BY sequence" % (tenant, after))
    return [int(row[0]) for row in rows]


def post(lk, tenant, names, status="firing"):
    answer = lk.post_alerts([{"name": name, "labels": {"instance": "i-1"}, "status": status,
                              "annotations": {"summary": "sse test " + name}}
                             for name in names], tenant=tenant)
    assert answer.status == 202, "POST /alerts: %r" % answer
    return [alert["incident_id"] for alert in answer.json["alerts"]]


class SseTest(lookout.LookoutTestCase):

    def assert_events_of(self, stream, tenant):
        for event in stream.events:
            if "id" not in event:
                continue
            data = event["data"]
            self.assertEqual(data["incident"]["tenant_id"], tenant)
            self.assertEqual(data["event"]["tenant_id"], tenant)
            self.assertEqual(data["sequence"], int(event["id"]))
            self.assertEqual(data["event"]["sequence"], int(event["id"]))
            self.assertEqual(event["event"], data["event"]["type"])

    def test_reconnect_misses_nothing_and_sees_only_its_tenant(self):
        lk = self.start_lookout()
        a, b = new_tenant(), new_tenant()
        start = max_sequence(lk)
        first = SseStream(lk.url, "/events?since=%d" % start, lk.headers(tenant=a)).start()
        other = SseStream(lk.url, "/events?since=%d" % start,
                          {"Authorization": "Bearer " + lk.jwt(b)}).start()
        incidents = post(lk, a, ["SseA%d" % i for i in range(10)])
        post(lk, b, ["SseB%d" % i for i in range(10)])
        for incident in incidents[:3]:
            answer = lk.post("/incidents/%s/acknowledge" % incident, tenant=a)
            self.assertStatus(answer, 200, "acknowledge")
        first.wait_for(lambda events, _: len(events) >= 10)
        first.close()
        last = first.ids()[-1]

        # while it is away: more of both tenants, and lifecycle changes
        post(lk, a, ["SseA%d" % i for i in range(10, 20)])
        post(lk, b, ["SseB%d" % i for i in range(10, 20)])
        post(lk, a, ["SseA%d" % i for i in range(5)], status="resolved")
        answer = lk.post("/incidents/%s/resolve" % incidents[9], tenant=a)
        self.assertStatus(answer, 200, "resolve")

        second = SseStream(lk.url, "/events",
                           dict(lk.headers(tenant=a), **{"Last-Event-ID": str(last)})).start()
        expected = tenant_sequences(lk, a, start)
        second.wait_for(lambda events, _: second.ids() and second.ids()[-1] >= expected[-1])
        # what came before the disconnect and after the reconnect is every event, once
        self.assertEqual(first.ids() + second.ids(), expected)
        self.assert_events_of(first, a)
        self.assert_events_of(second, a)
        types = {event["event"] for event in first.events + second.events if "id" in event}
        self.assertTrue({"incident_triggered", "incident_acknowledged",
                         "incident_resolved"} <= types, types)

        expected_b = tenant_sequences(lk, b, start)
        other.wait_for(lambda events, _: other.ids() and other.ids()[-1] >= expected_b[-1])
        self.assertEqual(other.ids(), expected_b)
        self.assert_events_of(other, b)
        self.assertFalse(set(other.ids()) & set(expected))

        # ?since=0: everything of the tenant from the oldest event kept
        everything = SseStream(lk.url, "/events?since=0", lk.headers(tenant=a)).start()
        all_a = tenant_sequences(lk, a, 0)
        everything.wait_for(lambda events, _: everything.ids()
                            and everything.ids()[-1] >= all_a[-1])
        self.assertEqual(everything.ids(), all_a)
        for stream in (second, other, everything):
            stream.close()

    def test_alerts_of_one_change_share_an_event(self):
        """A request of five new alerts of one group is one alert_added event naming the
        five in the order sent; resolving them is one alert_resolved (docs/events.md)."""
        lk = self.start_lookout()
        tenant = new_tenant()
        stream = SseStream(lk.url, "/events?since=%d" % max_sequence(lk),
                           lk.headers(tenant=tenant)).start()
        alerts = [{"name": "SseFlood", "labels": {"instance": "i-%d" % i}} for i in range(5)]
        answer = lk.post_alerts(alerts, tenant=tenant)
        self.assertStatus(answer, 202, "POST /alerts")
        fingerprints = [alert["fingerprint"] for alert in answer.json["alerts"]]
        self.assertEqual(len(set(fingerprints)), 5)
        answer = lk.post_alerts([dict(alert, status="resolved") for alert in alerts],
                                tenant=tenant)
        self.assertStatus(answer, 202, "POST /alerts (resolved)")
        stream.wait_for(lambda events, _: "incident_resolved" in
                        [event.get("event") for event in events])
        stream.close()
        self.assert_events_of(stream, tenant)
        data = [event["data"] for event in stream.events if "id" in event]
        self.assertEqual([(d["event"]["type"], d["event"]["fingerprints"]) for d in data],
                         [("incident_triggered", []), ("alert_added", fingerprints),
                          ("alert_resolved", fingerprints), ("incident_resolved", [])])
        self.assertEqual(data[1]["event"]["incident_id"], answer.json["alerts"][0]["incident_id"])
        # the incident as of the event: all five added, all five firing
        self.assertEqual((data[1]["incident"]["alert_count"],
                          data[1]["incident"]["firing_count"]), (5, 5))

    def test_from_now_heartbeats_and_limits(self):
        lk = self.start_lookout(env={"LOOKOUT_SSE_HEARTBEAT_S": "1",
                                     "LOOKOUT_SSE_MAX_CLIENTS": "2"})
        a = new_tenant()
        post(lk, a, ["Old"])
        now = SseStream(lk.url, "/events", lk.headers(tenant=a)).start()
        # a stream without a position starts from now: it sees heartbeats, not "Old"
        now.wait_for(lambda _, comments: comments.count("keepalive") >= 2, timeout=15)
        post(lk, a, ["New"])
        now.wait_for(lambda events, _: any("id" in e for e in events))
        self.assertEqual({e["data"]["incident"]["title"].split()[0] for e in now.events
                          if "id" in e}, {"New"})

        second = SseStream(lk.url, "/events", lk.headers(tenant=a)).start()
        third = SseStream(lk.url, "/events", lk.headers(tenant=a))
        self.assertEqual(third.status, 503)
        self.assertIn("retry-after", third.headers)
        third.close()
        # a closed stream frees its place (noticed at the next heartbeat write)
        second.close()
        deadline = time.monotonic() + 15
        while True:
            again = SseStream(lk.url, "/events", lk.headers(tenant=a))
            if again.status == 200:
                again.close()
                break
            again.close()
            self.assertLess(time.monotonic(), deadline, "the closed stream's place stayed taken")
            time.sleep(0.3)

        bad = SseStream(lk.url, "/events", dict(lk.headers(tenant=a), **{"Last-Event-ID": "x"}))
        self.assertEqual(bad.status, 400)
        bad.close()
        bad = SseStream(lk.url, "/events?since=-1", lk.headers(tenant=a))
        self.assertEqual(bad.status, 400)
        bad.close()
        anonymous = SseStream(lk.url, "/events", {})
        self.assertEqual(anonymous.status, 401)
        anonymous.close()
        now.close()

    def test_slow_client_is_cut_off_and_catches_up(self):
        # small buffers (bursts of 20 events overflow them) and a 2 s stall limit
        lk = self.start_lookout(env={"LOOKOUT_SSE_CLIENT_BUFFER_BYTES": "16384",
                                     "LOOKOUT_SSE_HEARTBEAT_S": "1"})
        a = new_tenant()
        start = max_sequence(lk)
        # a client that reads nothing, with a small receive window
        slow = SseStream(lk.url, "/events?since=%d" % start, lk.headers(tenant=a), rcvbuf=4096)
        self.assertEqual(slow.status, 200)
        healthy = SseStream(lk.url, "/events?since=%d" % start, lk.headers(tenant=a)).start()
        log_path = os.path.join(lk.log_dir, "lookout-ingest.log")

        def cut_off():
            with open(log_path, encoding="utf-8", errors="replace") as log:
                return log.read().count("stopped reading")

        # flood until the kernel's socket buffers are full too and the stall shows (how much
        # they hold depends on the machine's TCP autotuning)
        for batch in range(600):
            post(lk, a, ["Flood%d_%d" % (batch, i) for i in range(20)])
            if batch >= 50 and batch % 10 == 0 and cut_off():
                break
        deadline = time.monotonic() + 10
        while not cut_off() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(cut_off(), 1, "the stream that reads nothing is cut off, only it")
        expected = tenant_sequences(lk, a, start)
        self.assertGreaterEqual(len(expected), 1000)
        healthy.wait_for(lambda events, _: healthy.ids() and healthy.ids()[-1] >= expected[-1],
                         timeout=60)
        self.assertEqual(healthy.ids(), expected)

        # the slow one reads what the network held, then finds its stream ended
        slow.start()
        self.assertTrue(slow.ended.wait(60), "the slow stream was not cut off")
        self.assertFalse(slow.clean_end)
        got = slow.ids()
        self.assertLess(len(got), len(expected))
        self.assertEqual(got, expected[:len(got)])
        self.assertEqual(cut_off(), 1, "only the stream that reads nothing is cut off")

        # back with Last-Event-ID: replay is paced by what it reads; nothing is missing
        resumed = SseStream(lk.url, "/events",
                            dict(lk.headers(tenant=a),
                                 **{"Last-Event-ID": str(got[-1] if got else start)})).start()
        resumed.wait_for(lambda events, _: resumed.ids() and resumed.ids()[-1] >= expected[-1],
                         timeout=60)
        self.assertEqual(got + resumed.ids(), expected)
        for stream in (slow, healthy, resumed):
            stream.close()


if __name__ == "__main__":
    lookout.main()
