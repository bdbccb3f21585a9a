"""Alert intake does not hold an HTTP thread while it waits for the pipeline: the handlers of
POST /alerts, /api/v2/alerts, /webhooks/alertmanager and /v2/enqueue suspend their connection
until correlate answers (docs/architecture.md, "ingest's threads").

Each test runs lookout-ingest with a single HTTP thread (LOOKOUT_HTTP_THREADS=1) and stops
lookout-correlate with SIGSTOP, so every alert POST has to wait. While it waits, the same
thread must keep serving other requests; afterwards the POST must get the answer the API
promises: 2xx once correlate is back and the alert is stored, 503 with Retry-After after
LOOKOUT_REQUEST_TIMEOUT_MS, or, when ingest is stopped meanwhile, a clean exit."""

import os
import signal
import threading
import time

import lookout
from lookout import new_tenant

TS = lookout.TIME_SCALE


class Pending:
    """One HTTP request running in a thread; result() waits for its answer."""

    def __init__(self, call):
        self.answer = None
        self.error = None
        self.started = time.monotonic()
        self.ended = None
        self.thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self.thread.start()

    def _run(self, call):
        try:
            self.answer = call()
        except OSError as exc:
            self.error = exc
        self.ended = time.monotonic()

    def done(self):
        return not self.thread.is_alive()

    def result(self, timeout):
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise AssertionError("no answer within %.0f s" % timeout)
        return self.answer


class SuspendTest(lookout.LookoutTestCase):

    def start(self, timeout_ms):
        lk = self.start_lookout(env={"LOOKOUT_HTTP_THREADS": "1",
                                     "LOOKOUT_REQUEST_TIMEOUT_MS": str(int(timeout_ms))})
        return lk

    def stop_correlate(self, lk):
        pid = lk.procs["lookout-correlate"].pid
        os.kill(pid, signal.SIGSTOP)
        self.addCleanup(lookout.sigcont, pid)
        return pid

    def get_promptly(self, lk, path, limit_s, **kw):
        """GET path, answered within limit_s although alert POSTs wait on the only thread."""
        started = time.monotonic()
        try:
            answer = lk.get(path, timeout=limit_s, **kw)
        except OSError as exc:
            self.fail("GET %s not answered within %.0f s while alert POSTs wait (%s): the HTTP "
                      "thread is held" % (path, limit_s, exc))
        self.assertLess(time.monotonic() - started, limit_s, "GET %s" % path)
        self.assertStatus(answer, 200, "GET %s while alert POSTs wait" % path)
        return answer

    def in_flight(self, lk, limit_s):
        """lookout_http_requests_in_flight, read with GET /metrics (itself counted)."""
        answer = self.get_promptly(lk, "/metrics", limit_s,
                                   headers={"Authorization": "Bearer " + lk.service_token})
        for line in answer.body.decode().splitlines():
            if line.startswith("lookout_http_requests_in_flight "):
                return int(float(line.split()[1]))
        self.fail("no lookout_http_requests_in_flight in GET /metrics")

    def wait_waiting(self, lk, count, pendings, limit_s):
        """Waits until count alert POSTs wait inside ingest (in flight besides GET /metrics).
        Every GET /metrics must be answered within limit_s: the thread is free."""
        deadline = time.monotonic() + 30 * TS
        while True:
            for pending in pendings:
                self.assertFalse(pending.done(), "an alert POST ended while correlate was "
                                 "stopped: %r %r" % (pending.answer, pending.error))
            if self.in_flight(lk, limit_s) >= count + 1:
                return
            self.assertLess(time.monotonic(), deadline, "%d alert POSTs not in flight" % count)
            time.sleep(0.05)

    def assert_served(self, lk, limit_s, tenant):
        """Requests that do not need correlate are answered at once on the busy thread."""
        for _ in range(3):
            self.get_promptly(lk, "/healthz", limit_s, headers={})
        # a store query: the blocking path, on the same thread, with store running
        self.get_promptly(lk, "/incidents", limit_s, tenant=tenant)

    def stored(self, lk, tenant, name):
        return lk.db_count("SELECT count(*) FROM alerts WHERE tenant_id = '%s' AND name = '%s'"
                           % (tenant, name))

    def test_waiting_posts_leave_the_thread_free(self):
        lk = self.start(120000 * TS)
        tenant = new_tenant()
        limit_s = 5 * TS
        self.stop_correlate(lk)

        native = Pending(lambda: lk.post_alerts(
            [{"name": "SuspendNative", "labels": {"host": "a"}}], tenant=tenant,
            timeout=300 * TS))
        prometheus = Pending(lambda: lk.post("/api/v2/alerts", [{
            "labels": {"alertname": "SuspendPrometheus", "host": "b"},
            "annotations": {"summary": "waits for correlate"}}], tenant=tenant,
            timeout=300 * TS))
        self.wait_waiting(lk, 2, [native, prometheus], limit_s)
        self.assert_served(lk, limit_s, tenant)
        self.assertFalse(native.done() or prometheus.done(),
                         "an alert POST was answered while correlate was stopped")
        self.assertEqual(self.stored(lk, tenant, "SuspendNative"), 0)

        lookout.sigcont(lk.procs["lookout-correlate"].pid)
        answer = native.result(60 * TS)
        self.assertStatus(answer, 202, "POST /alerts after SIGCONT (error %r)" % native.error)
        self.assertEqual(answer.json["accepted"], 1, answer.json)
        self.assertEqual(len(answer.json["alerts"]), 1, answer.json)
        answer = prometheus.result(60 * TS)
        self.assertStatus(answer, 200, "POST /api/v2/alerts after SIGCONT (error %r)"
                          % prometheus.error)
        # 2xx means committed
        self.assertEqual(self.stored(lk, tenant, "SuspendNative"), 1)
        self.assertEqual(self.stored(lk, tenant, "SuspendPrometheus"), 1)
        self.assertEqual(self.in_flight(lk, limit_s), 1)

    def test_timeout_answers_503_and_the_thread_stays_free(self):
        timeout_s = 8 * TS
        lk = self.start(timeout_s * 1000)
        tenant = new_tenant()
        limit_s = timeout_s / 2
        self.stop_correlate(lk)

        alert = [{"name": "SuspendTimeout", "labels": {"host": "c"}}]
        pending = Pending(lambda: lk.post_alerts(alert, tenant=tenant, timeout=300 * TS))
        self.wait_waiting(lk, 1, [pending], limit_s)
        while not pending.done():
            self.assert_served(lk, limit_s, tenant)
            time.sleep(0.2)
        answer = pending.result(0)
        self.assertIsNotNone(answer, "POST /alerts: %r" % pending.error)
        self.assertErrorBody(answer, 503, "POST /alerts with correlate stopped")
        self.assertEqual(answer.json["error"], "pipeline unavailable")
        self.assertIn("did not answer within", answer.json["detail"])
        self.assertIn("retry-after", answer.headers)
        self.assertGreaterEqual(pending.ended - pending.started, timeout_s - 1)
        self.assertEqual(self.in_flight(lk, limit_s), 1)

        # correlate back: its late answer is dropped, the sender's retry is accepted
        lookout.sigcont(lk.procs["lookout-correlate"].pid)
        answer, _ = lk.post_alerts_until_accepted(alert, tenant, timeout=60 * TS)
        self.assertStatus(answer, 202, "POST /alerts after SIGCONT")
        self.assertEqual(self.stored(lk, tenant, "SuspendTimeout"), 1)

    def test_stop_while_a_post_waits(self):
        lk = self.start(120000 * TS)
        tenant = new_tenant()
        limit_s = 5 * TS
        self.stop_correlate(lk)
        pending = Pending(lambda: lk.post_alerts(
            [{"name": "SuspendStop", "labels": {"host": "d"}}], tenant=tenant,
            timeout=300 * TS))
        self.wait_waiting(lk, 1, [pending], limit_s)

        # the waiting request is failed and its connection resumed before the HTTP server
        # stops: ingest exits cleanly at once, not after the request timeout
        ingest = lk.procs["lookout-ingest"]
        ingest.send_signal(signal.SIGTERM)
        try:
            code = ingest.wait(timeout=15 * TS)
        except Exception:
            self.fail("lookout-ingest did not exit within %.0f s of SIGTERM with an alert POST "
                      "waiting" % (15 * TS))
        self.assertEqual(code, 0, "lookout-ingest exit status")
        pending.result(15 * TS)
        if pending.answer is not None:
            self.assertErrorBody(pending.answer, 503, "POST /alerts while ingest stops")
        self.assertEqual(self.stored(lk, tenant, "SuspendStop"), 0)


if __name__ == "__main__":
    lookout.main()
