"""Metrics: a real Prometheus (Debian `prometheus`) scrapes the metrics endpoint of every
Lookout process — store, correlate, ingest, escalate, two notify workers, publish (against
librdkafka's mock cluster) and rules — and the key series exist and move when alerts flow:
intake counters by format and tenant (with the tenant cap folding into "other"), dedup
outcomes, open incidents, store commit histograms, HTTP request counters and latency,
notification attempts and failures by channel, publish lag, malformed messages, process start
time and build info. Also: every exposition parses strictly and passes `promtool check
metrics`, GET /metrics on the API port takes the service token, and the repository's
deploy/prometheus files pass `promtool check config` / `check rules`."""

import os
import tempfile
import time

import lookout
import notify_tools
import prom_tools
from lookout import new_tenant

PROGRAMS = ("store", "correlate", "ingest", "escalate", "notify_00", "notify_01", "publish",
            "rules")


def _config(receiver):
    return """
notify_settings:
  allow_private_destinations: true
  timeout: 2s
  max_attempts: 2
  backoff_initial: 100ms
  backoff_max: 200ms
channels:
  - {name: good-hook, type: slack, url: '%s'}
  - {name: bad-hook, type: slack, url: '%s'}
escalation_policies:
  - name: page
    match: {labels: {page: 'yes'}}
    levels:
      - targets: [{channel: good-hook}, {channel: bad-hook}]
""" % (receiver.url("/good"), receiver.url("/bad"))


class MetricsTest(lookout.LookoutTestCase):

    def start_everything(self):
        self.receiver = notify_tools.Receiver()
        self.addCleanup(self.receiver.stop)
        self.receiver.respond("/bad", {"status": 400, "body": b'{"ok": false}'})
        directory = tempfile.mkdtemp(prefix="lookout-metrics-")
        lookout._temp_dirs.append(directory)
        config_path = os.path.join(directory, "lookout.yaml")
        with open(config_path, "w") as f:
            f.write(_config(self.receiver))
        self.kafka = prom_tools.MockKafka(self)
        ports = lookout.free_ports(2 + len(PROGRAMS) - 2)
        jobs, results = ports[:2]
        self.metrics_ports = dict(zip([p for p in PROGRAMS if not p.startswith("notify")],
                                      ports[2:]))
        env = {
            "LOOKOUT_CONFIG": config_path,
            "LOOKOUT_NOTIFY_JOBS_ENDPOINT": "tcp://127.0.0.1:%d" % jobs,
            "LOOKOUT_NOTIFY_RESULTS_ENDPOINT": "tcp://127.0.0.1:%d" % results,
            "LOOKOUT_NOTIFY_LEASE_S": "5",
            "LOOKOUT_KAFKA_BROKERS": self.kafka.bootstrap,
            "LOOKOUT_PUBLISH_COMMIT_INTERVAL_MS": "50",
            # the harness's probe tenant is the first tenant ingest labels, tenant A the
            # second; everyone after that is "other"
            "LOOKOUT_METRICS_TENANT_LIMIT": "2",
        }
        for program in ("store", "correlate", "ingest", "escalate", "publish", "rules"):
            env["LOOKOUT_%s_METRICS_PORT" % program.upper()] = str(self.metrics_ports[program])
        # both workers get the same base port; LOOKOUT_PROCESS_NUM moves the second one up
        base = prom_tools.consecutive_free_ports(2)
        self.metrics_ports["notify_00"], self.metrics_ports["notify_01"] = base, base + 1
        env["LOOKOUT_NOTIFY_METRICS_PORT"] = str(base)
        self.lk = self.start_lookout(env=env)
        programs = notify_tools.NotifyPrograms(self.lk, workers=0)  # starts lookout-escalate
        self.addCleanup(programs.stop)
        for index in range(2):
            programs.env["LOOKOUT_PROCESS_NUM"] = str(index)
            programs.start("lookout-notify", "lookout-notify_%02d" % index)
        programs.env["LOOKOUT_PROCESS_NUM"] = "0"
        programs.start("lookout-publish")
        programs.start("lookout-rules")
        self.programs = programs
        return self.lk

    def metrics_url(self, program):
        return "http://127.0.0.1:%d/metrics" % self.metrics_ports[program]

    def wait_endpoints(self):
        deadline = time.monotonic() + 30 * lookout.TIME_SCALE
        for program in PROGRAMS:
            while True:
                self.programs.check_alive()
                try:
                    answer = lookout.http_request(
                        "http://127.0.0.1:%d/healthz" % self.metrics_ports[program], timeout=2)
                    if answer.status == 200:
                        break
                except OSError:
                    pass
                self.assertLess(time.monotonic(), deadline, "%s: no /healthz" % program)
                time.sleep(0.1)

    # ------------------------------------------------------------------------------------------

    def test_prometheus_scrapes_every_process_and_the_series_move(self):
        lk = self.start_everything()
        self.wait_endpoints()

        # every endpoint: the strict parser, promtool's linter, the common families
        for program in PROGRAMS:
            answer, parsed = prom_tools.scrape(self.metrics_url(program))
            self.assertStatus(answer, 200, program)
            self.assertTrue(answer.headers["content-type"].startswith("text/plain; version=0.0.4"))
            status, output = prom_tools.promtool("check", "metrics", stdin=answer.body)
            self.assertEqual(status, 0, "%s: promtool check metrics: %s" % (program, output))
            names = {name for name, _, _ in parsed["samples"]}
            for family in ("process_start_time_seconds", "process_cpu_seconds_total",
                           "process_resident_memory_bytes", "lookout_build_info",
                           "lookout_malformed_messages_total"):
                self.assertIn(family, names, program)

        jobs = {"lookout-" + program.replace("_", "-"): ["127.0.0.1:%d" % port]
                for program, port in self.metrics_ports.items()}
        prometheus = prom_tools.Prometheus(self, jobs)
        prometheus.wait_for('count(up == 1)', lambda v: v == len(PROGRAMS), timeout=60,
                            what="every target up")
        for labels, value in prometheus.query("lookout_build_info"):
            self.assertEqual(value, 1)
        self.assertEqual(
            {labels["program"] for labels, _ in prometheus.query("lookout_build_info")},
            {"lookout-store", "lookout-correlate", "lookout-ingest", "lookout-escalate",
             "lookout-notify", "lookout-publish", "lookout-rules"})
        starts = prometheus.query("process_start_time_seconds")
        self.assertEqual(len(starts), len(PROGRAMS))
        for labels, value in starts:
            self.assertLess(abs(value - time.time()), 600, labels)

        def total(expr):
            return prometheus.value("sum(%s)" % expr) or 0.0

        before = {
            "commits": total("lookout_store_commit_batches_count"),
            "commit_seconds": total("lookout_store_commit_duration_seconds_count"),
            "wal_syncs": total("lookout_store_wal_sync_duration_seconds_count"),
            "http_202": total('lookout_http_requests_total{route="/alerts",status="202"}'),
            "http_latency": total('lookout_http_request_duration_seconds_count{route="/alerts"}'),
            "unchanged": total('lookout_correlate_alerts_total{outcome="unchanged"}'),
            "new": total('lookout_correlate_alerts_total{outcome="new"}'),
            "malformed": total('lookout_malformed_messages_total{job="lookout-store"}'),
            "published": total("lookout_store_events_published_total"),
        }

        # ---- alerts flow -----------------------------------------------------------------
        tenant_a, tenant_b = new_tenant(), new_tenant()
        alerts = [{"name": "MetricsHigh%d" % i, "severity": "critical"} for i in range(3)]
        answer, _ = lk.post_alerts_until_accepted(alerts, tenant=tenant_a)
        self.assertStatus(answer, 202)
        answer, _ = lk.post_alerts_until_accepted(alerts, tenant=tenant_a)  # all unchanged
        self.assertStatus(answer, 202)
        self.assertEqual({a["outcome"] for a in answer.json["alerts"]}, {"unchanged"})
        answer = lk.post_alerts([{"name": "Fine"}, {"labels": {"bad-label": "x"}}],
                                tenant=tenant_a)
        self.assertStatus(answer, 400)
        answer = lk.post("/api/v2/alerts", body=[{"labels": {"alertname": "FromPrometheus"}}],
                         tenant=tenant_a)
        self.assertStatus(answer, 200, "POST /api/v2/alerts")
        answer, _ = lk.post_alerts_until_accepted({"name": "OtherTenant"}, tenant=tenant_b)
        self.assertStatus(answer, 202)
        # escalation policies belong to the system tenant: this one pages both channels
        answer, _ = lk.post_alerts_until_accepted(
            {"name": "MetricsPage", "labels": {"page": "yes"}, "severity": "critical"},
            tenant=lookout.SYSTEM_TENANT)
        self.assertStatus(answer, 202)
        # a malformed internal message: two frames of nonsense to store's mutation ROUTER
        prom_tools.zmq_send_raw(lk.config["LOOKOUT_STORE_ENDPOINT"], [b"\xc1\xc1", b"junk"])

        # ---- the series moved --------------------------------------------------------------
        prometheus.wait_for(
            'lookout_alerts_received_total{format="native",tenant="%s"}' % tenant_a,
            lambda v: v >= 8, what="received (native, tenant A)")
        prometheus.wait_for(
            'lookout_alerts_accepted_total{format="native",tenant="%s"}' % tenant_a,
            lambda v: v >= 7, what="accepted (native, tenant A)")
        prometheus.wait_for(
            'lookout_alerts_rejected_total{format="native",tenant="%s",reason="invalid"}'
            % tenant_a, lambda v: v >= 1, what="rejected invalid")
        prometheus.wait_for(
            'lookout_alerts_accepted_total{format="prometheus",tenant="%s"}' % tenant_a,
            lambda v: v >= 1, what="accepted (prometheus format)")
        # tenant B is past the cap of 2 label values: counted, under "other"
        prometheus.wait_for('lookout_alerts_accepted_total{format="native",tenant="other"}',
                            lambda v: v >= 1, what="tenant cap")
        self.assertEqual(prometheus.query('lookout_alerts_received_total{tenant="%s"}'
                                          % tenant_b), [])
        prometheus.wait_for('sum(lookout_correlate_alerts_total{outcome="unchanged"})',
                            lambda v: v >= before["unchanged"] + 3, what="dedup: unchanged")
        prometheus.wait_for('sum(lookout_correlate_alerts_total{outcome="new"})',
                            lambda v: v >= before["new"] + 5, what="new alerts")
        prometheus.wait_for('lookout_incidents_open{status="triggered"}', lambda v: v >= 5,
                            what="open incidents")
        # alert records come in slabs of 4,096: at least one, and never fewer than the alerts
        prometheus.wait_for("lookout_correlate_alerts", lambda v: v >= 5, what="alerts gauge")
        records = prometheus.value("lookout_correlate_alert_records")
        self.assertEqual(records % 4096, 0, records)
        self.assertGreaterEqual(records, max(4096, prometheus.value("lookout_correlate_alerts")))
        prometheus.wait_for("sum(lookout_store_commit_batches_count)",
                            lambda v: v > before["commits"], what="commit batch histogram")
        prometheus.wait_for("sum(lookout_store_commit_duration_seconds_count)",
                            lambda v: v > before["commit_seconds"], what="commit latency")
        prometheus.wait_for('sum(lookout_store_commit_duration_seconds_bucket{le="+Inf"})',
                            lambda v: v > before["commit_seconds"], what="commit buckets")
        # SQLite (this cluster's store): each durable commit syncs the write-ahead log once
        prometheus.wait_for("sum(lookout_store_wal_sync_duration_seconds_count)",
                            lambda v: v > before["wal_syncs"], what="WAL sync latency")
        prometheus.wait_for('sum(lookout_http_requests_total{route="/alerts",status="202"})',
                            lambda v: v >= before["http_202"] + 3, what="HTTP 202 count")
        prometheus.wait_for('sum(lookout_http_requests_total{route="/alerts",status="400"})',
                            lambda v: v >= 1, what="HTTP 400 count")
        prometheus.wait_for(
            'sum(lookout_http_request_duration_seconds_count{route="/alerts"})',
            lambda v: v >= before["http_latency"] + 4, what="HTTP latency histogram")
        prometheus.wait_for("sum(lookout_store_events_published_total)",
                            lambda v: v > before["published"], what="events published")
        prometheus.wait_for('lookout_malformed_messages_total{job="lookout-store"}',
                            lambda v: v >= before["malformed"] + 1, what="malformed messages")
        # notifications: the MetricsPage incident goes to both channels; bad-hook answers 400
        prometheus.wait_for('sum(lookout_notification_attempts_total{channel="good-hook"})',
                            lambda v: v >= 1, timeout=60, what="attempts over good-hook")
        prometheus.wait_for('sum(lookout_notification_failures_total{channel="bad-hook"})',
                            lambda v: v >= 1, timeout=60, what="failures over bad-hook")
        self.assertEqual(prometheus.query(
            'lookout_notification_failures_total{channel="good-hook"}'), [])
        prometheus.wait_for("lookout_notifications_dispatched_total", lambda v: v >= 2,
                            what="jobs dispatched")
        self.assertIsNotNone(prometheus.value("lookout_notify_jobs_pending"))
        # publish: the head moves and the committed cursor catches up with it (lag 0)
        prometheus.wait_for("lookout_publish_head_sequence", lambda v: v >= 1, timeout=60,
                            what="publish head")
        head = prometheus.value("max(lookout_outbox_last_sequence)")
        prometheus.wait_for("lookout_publish_committed_sequence", lambda v: v >= head,
                            timeout=60, what="publish committed cursor")
        prometheus.wait_for("lookout_publish_lag_events", lambda v: v == 0, timeout=60,
                            what="publish lag back to 0")
        prometheus.wait_for('lookout_outbox_consumer_sequence{consumer="publish"}',
                            lambda v: v >= head, timeout=60, what="cursor seen by store")
        # the rules engine's own block is scraped with the rest
        self.assertIsNotNone(prometheus.value("lookout_rules_config_reloads_total"))

    def test_metrics_on_the_api_port_take_the_service_token(self):
        lk = self.start_lookout()
        answer = lookout.http_request(lk.url + "/metrics")
        self.assertErrorBody(answer, 401, "GET /metrics without credentials")
        answer = lookout.http_request(lk.url + "/metrics",
                                      headers={"Authorization": "Bearer wrong"})
        self.assertErrorBody(answer, 401, "GET /metrics with a wrong token")
        # a tenant's JWT is not enough: the exposition is about every tenant
        answer = lookout.http_request(lk.url + "/metrics", headers={
            "Authorization": "Bearer " + lk.jwt(new_tenant())})
        self.assertErrorBody(answer, 401, "GET /metrics with a JWT")
        answer, parsed = prom_tools.scrape(lk.url + "/metrics", headers={
            "Authorization": "Bearer " + lk.service_token})
        self.assertStatus(answer, 200)
        names = {name for name, _, _ in parsed["samples"]}
        self.assertIn("lookout_http_requests_total", names)
        self.assertIn("lookout_alerts_accepted_total", names)  # the harness's probe alert
        self.assertEqual(parsed["types"]["lookout_http_request_duration_seconds"], "histogram")

    def test_deploy_prometheus_files_pass_promtool(self):
        directory = os.path.join(lookout.SOURCE_DIR, "deploy", "prometheus")
        status, output = prom_tools.promtool(
            "check", "config", os.path.join(directory, "prometheus.yml"))
        self.assertEqual(status, 0, output)
        self.assertIn("SUCCESS", output)
        status, output = prom_tools.promtool(
            "check", "rules", os.path.join(directory, "lookout-rules.yml"))
        self.assertEqual(status, 0, output)
        self.assertRegex(output, r"SUCCESS: \d+ rules found")


if __name__ == "__main__":
    lookout.main()
