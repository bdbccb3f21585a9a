"""Alerts end by their endsAt, as in Alertmanager (docs/sources.md "endsAt"): a firing alert
posted to /api/v2/alerts whose endsAt passes without a re-send resolves by itself, and its
incident with it; a re-send with a later endsAt postpones the end; a killed and restarted
correlate still ends it (after the restart grace, LOOKOUT_RESOLVE_TIMEOUT_S). Alerts of the
native API without ends_at never end by themselves.

Also here: ingest re-reads the integration keys of its configuration file on SIGHUP
(docs/operations.md "Reloading the configuration")."""

import datetime
import os
import signal
import time

import intake_tools
import lookout
from lookout import new_tenant


def rfc3339(seconds_from_now):
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        seconds=seconds_from_now)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def v2_alert(name, ends_in_s, instance="a"):
    return {"labels": {"alertname": name, "instance": instance, "severity": "error"},
            "annotations": {"summary": name + " is wrong"},
            "startsAt": rfc3339(-5), "endsAt": rfc3339(ends_in_s)}


class EndsAtTest(lookout.LookoutTestCase):

    def start(self, **kw):
        self.tenant = new_tenant()
        self.key = intake_tools.routing_key()
        config = intake_tools.write_config(self, [
            {"name": "ends-at-it", "routing_key": self.key, "tenant": self.tenant}])
        env = {"LOOKOUT_CONFIG": config}
        env.update(kw.pop("env", {}))
        self.lk = self.start_lookout(env=env, **kw)
        return self.lk

    def post_v2(self, alerts):
        answer = lookout.http_request(self.lk.url + "/api/v2/alerts", "POST", alerts,
                                      {"Authorization": "Bearer " + self.key})
        self.assertStatus(answer, 200)
        return answer

    def incident_of(self, name, status=None):
        found = intake_tools.find_incidents(self.lk, self.tenant, name, status)
        return found[0] if found else None

    def wait_resolved(self, name, timeout_s):
        return intake_tools.wait_until(
            "the incident of %s resolved" % name,
            lambda: self.incident_of(name, "resolved"), timeout_s=timeout_s)

    def test_ends_at_passes_and_resend_postpones(self):
        lk = self.start(backend="sqlite")
        # no re-send: the alert ends at its endsAt, then (last firing alert) its incident
        posted = time.monotonic()
        self.post_v2([v2_alert("EndsSoon", 3)])
        incident = self.incident_of("EndsSoon")
        self.assertIsNotNone(incident)
        self.assertEqual(incident["status"], "triggered")
        resolved = self.wait_resolved("EndsSoon", 30)
        self.assertGreaterEqual(time.monotonic() - posted, 2.5, "resolved before its endsAt")
        detail = lk.incident(resolved["id"], self.tenant)
        self.assertEqual(detail["alerts"][0]["status"], "resolved")
        self.assertIsNone(detail["incident"]["resolved_by"])
        types = [event["type"] for event in detail["timeline"]]
        self.assertEqual(types.count("alert_resolved"), 1, types)
        self.assertEqual(types.count("incident_resolved"), 1, types)
        ended = [e for e in detail["timeline"] if e["type"] == "alert_resolved"][0]
        self.assertEqual(ended["fingerprints"], [detail["alerts"][0]["fingerprint"]])

        # a re-send with a later endsAt (same content: acked from memory) moves the end
        self.post_v2([v2_alert("Postponed", 8)])
        answered = time.monotonic()
        self.post_v2([v2_alert("Postponed", 25)])
        if time.monotonic() - answered > 6:
            self.skipTest("the box is too slow for the timing of this check")
        # the native API without ends_at: fires until resolved
        native = lk.post_alerts({"name": "NativeNoEnd", "severity": "error",
                                 "labels": {"instance": "a"}}, tenant=self.tenant)
        self.assertStatus(native, 202)
        intake_tools.wait_until("past the first endsAt", lambda: time.monotonic() - answered > 12)
        self.assertEqual(self.incident_of("Postponed")["status"], "triggered")
        resolved = self.wait_resolved("Postponed", 40)
        self.assertGreaterEqual(time.monotonic() - answered, 20, "resolved before its new endsAt")
        self.assertEqual(self.incident_of("NativeNoEnd")["status"], "triggered")

    def test_a_wave_of_ends_leaves_in_small_batches(self):
        # 3,000 alerts that end together resolve a few per mutation batch (64 when nothing
        # else is pending), not in one batch every request would wait behind; all of them
        # resolve, and lookout_correlate_end_lag_seconds returns to 0
        port = lookout.free_ports(1)[0]
        lk = self.start(backend="sqlite", taps=True,
                        env={"LOOKOUT_CORRELATE_METRICS_PORT": str(port)})
        tap = lk.tap(lk.config["LOOKOUT_CORRELATE_TAP"])

        def batches():
            return tap.matching(lambda l: (l.get("msg") or {}).get("type") == "mutation_batch")

        # a SUB socket joins its PUB some time after connecting: warm up until it shows one
        deadline = time.monotonic() + 20 * lookout.TIME_SCALE
        n = 0
        while not batches():
            self.assertLess(time.monotonic(), deadline, "the correlate tap showed nothing")
            n += 1
            self.post_v2([v2_alert("WaveWarm", 3600, instance="w%d" % n)])
            time.sleep(0.2)
        wave = 3000
        alerts = [v2_alert("Wave%d" % (i // 100), 4, instance="i%d" % i) for i in range(wave)]
        for start in range(0, wave, 500):
            self.post_v2(alerts[start:start + 500])
        intake_tools.wait_until(
            "the wave's alerts resolved",
            lambda: lk.db_scalar("SELECT COUNT(*) FROM alerts WHERE status = 'resolved' AND "
                                 "labels LIKE '%Wave%' AND labels NOT LIKE '%WaveWarm%'")
            == str(wave), timeout_s=60)
        for group in range(0, wave // 100, 7):
            self.assertIsNotNone(self.incident_of("Wave%d" % group, "resolved"), group)
        def ends_per_batch():
            counts = [len(l["msg"].get("alert_ends") or []) for l in batches()]
            return [count for count in counts if count] if sum(counts) >= wave else None

        ends = intake_tools.wait_until("the tap showing every end", ends_per_batch, timeout_s=20)
        self.assertEqual(sum(ends), wave)
        self.assertLessEqual(max(ends), 64, "a batch carried more ends than the pacing allows")
        self.assertGreaterEqual(len(ends), wave // 64)
        intake_tools.wait_until(
            "lookout_correlate_end_lag_seconds back to 0",
            lambda: "\nlookout_correlate_end_lag_seconds 0\n" in lookout.http_request(
                "http://127.0.0.1:%d/metrics" % port, "GET").body.decode(), timeout_s=10)

    def test_end_timer_survives_a_correlate_kill(self):
        # grace 4 s: after the restart nothing ends before 4 s have passed
        lk = self.start(backend="postgresql", supervised=True,
                        env={"LOOKOUT_RESOLVE_TIMEOUT_S": "4"})
        self.post_v2([v2_alert("Survives", 6)])
        incident = self.incident_of("Survives")
        self.assertEqual(incident["status"], "triggered")
        old_pid = lk.pid("lookout-correlate")
        os.kill(old_pid, signal.SIGKILL)
        lk.wait_running("lookout-correlate", not_pid=old_pid)
        resolved = self.wait_resolved("Survives", 60)
        self.assertEqual(resolved["id"], incident["id"])
        detail = lk.incident(resolved["id"], self.tenant)
        self.assertEqual(detail["alerts"][0]["status"], "resolved")
        types = [event["type"] for event in detail["timeline"]]
        self.assertEqual(types.count("alert_resolved"), 1, types)
        # a missing endsAt means now + LOOKOUT_RESOLVE_TIMEOUT_S (here 4 s)
        alert = v2_alert("NoEndsAt", 0)
        del alert["endsAt"]
        self.post_v2([alert])
        self.assertEqual(self.incident_of("NoEndsAt")["status"], "triggered")
        self.wait_resolved("NoEndsAt", 40)


class IntegrationReloadTest(lookout.LookoutTestCase):

    def write(self, path, integrations):
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write("integrations:\n")
            for name, key, tenant in integrations:
                f.write("  - name: %s\n    routing_key: %s\n    tenant: %s\n" % (
                    name, key, tenant))
        os.replace(path + ".tmp", path)

    def enqueue(self, key, dedup_key):
        return lookout.http_request(self.lk.url + "/v2/enqueue", "POST", {
            "routing_key": key, "event_action": "trigger", "dedup_key": dedup_key,
            "payload": {"summary": "reload " + dedup_key, "source": "it",
                        "severity": "warning"}})

    def post_v2(self, key):
        return lookout.http_request(self.lk.url + "/api/v2/alerts", "POST",
                                    [v2_alert("ReloadV2", 300)],
                                    {"Authorization": "Bearer " + key})

    def test_sighup_reloads_integration_keys(self):
        tenant = new_tenant()
        old_key, new_key = intake_tools.routing_key(), intake_tools.routing_key()
        path = intake_tools.write_config(self, [
            {"name": "before", "routing_key": old_key, "tenant": tenant}])
        self.lk = self.start_lookout(env={"LOOKOUT_CONFIG": path})
        ingest = self.lk.procs["lookout-ingest"]
        self.assertStatus(self.enqueue(old_key, "k1"), 202)
        self.assertStatus(self.enqueue(new_key, "k2"), 400)
        self.assertStatus(self.post_v2(new_key), 401)

        self.write(path, [("after", new_key, tenant)])
        ingest.send_signal(signal.SIGHUP)
        intake_tools.wait_until("the new key accepted",
                                lambda: self.enqueue(new_key, "k3").status == 202)
        answer = self.enqueue(old_key, "k4")
        self.assertStatus(answer, 400)
        self.assertIn("Invalid routing key", answer.json["errors"])
        self.assertStatus(self.post_v2(new_key), 200)
        self.assertStatus(self.post_v2(old_key), 401)
        # the new key's alerts carry the new integration's name
        incident = intake_tools.wait_until(
            "the incident of k3", lambda: intake_tools.find_incidents(self.lk, tenant, "k3"))
        self.assertEqual(len(incident), 1)

        # a broken file is refused and logged; the keys stay as they were
        with open(path, "w", encoding="utf-8") as f:
            f.write("integrations:\n  - name: broken\n    routing_key: short\n")
        ingest.send_signal(signal.SIGHUP)
        log = os.path.join(self.lk.log_dir, "lookout-ingest.log")
        intake_tools.wait_until("the refused reload in the log", lambda: "error: ingest: "
                                "configuration reload failed" in open(
                                    log, encoding="utf-8", errors="replace").read())
        self.assertStatus(self.enqueue(new_key, "k5"), 202)
        self.assertStatus(self.enqueue(old_key, "k6"), 400)
        self.assertIsNone(ingest.poll())


if __name__ == "__main__":
    lookout.main()
