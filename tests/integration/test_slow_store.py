"""A store that is alive but slow is not buried under re-sends of the batch it is working on
(docs/architecture.md, "Reliability").

correlate re-sends its unacknowledged mutation batch when store makes no progress for
LOOKOUT_STORE_TIMEOUT_MS: that recovers a batch lost with a store restart. When store is
merely slow, every re-send is one more copy of the same batch in its queue. The test stops
lookout-store with SIGSTOP while alerts wait for their commit, then lets it go on, and
checks that

  - correlate backs off: the silence before each re-send doubles, so a few seconds bring a
    handful of re-sends, not one per timeout;
  - store applies the batch once: the copies are acknowledged with the original's status
    (lookout_store_duplicate_batches_total), every alert and event is stored exactly once
    and the event sequence has no gap;
  - the waiting POSTs get their 202 and store is at once ready for the next one."""

import os
import signal
import threading
import time

import lookout
import prom_tools
from lookout import new_tenant

TS = lookout.TIME_SCALE
TIMEOUT_MS = 200
# Not scaled for sanitized builds: the re-sends follow the clock, and a stop longer than
# ZeroMQ's heartbeat timeout (5 s, lk_sock.c) drops the connection; the reconnection then
# re-sends at once and starts the back-off over, as it should for a restarted store.
STOP_S = 4.0


def metric(url, name):
    answer, parsed = prom_tools.scrape(url)
    assert answer.status == 200, "GET %s: %d" % (url, answer.status)
    return sum(value for sample, _, value in parsed["samples"] if sample == name)


class SlowStoreTest(lookout.LookoutTestCase):

    def test_resends_back_off_and_store_applies_once(self):
        store_port, correlate_port = lookout.free_ports(2)
        store_url = "http://127.0.0.1:%d/metrics" % store_port
        correlate_url = "http://127.0.0.1:%d/metrics" % correlate_port
        lk = self.start_lookout(env={
            "LOOKOUT_STORE_TIMEOUT_MS": str(TIMEOUT_MS),
            "LOOKOUT_REQUEST_TIMEOUT_MS": str(int(120000 * TS)),
            "LOOKOUT_STORE_METRICS_PORT": str(store_port),
            "LOOKOUT_CORRELATE_METRICS_PORT": str(correlate_port)})
        tenant = new_tenant()
        answer = lk.post_alerts([{"name": "SlowStoreWarm", "labels": {"host": "w"}}],
                                tenant=tenant)
        self.assertStatus(answer, 202, "POST /alerts before the stop")
        resends_before = metric(correlate_url, "lookout_correlate_batch_resends_total")
        duplicates_before = metric(store_url, "lookout_store_duplicate_batches_total")
        self.assertEqual(duplicates_before, 0)

        pid = lk.procs["lookout-store"].pid
        os.kill(pid, signal.SIGSTOP)
        self.addCleanup(lookout.sigcont, pid)
        answers = [None] * 4
        alerts = [[{"name": "SlowStore", "labels": {"host": "h%d-%d" % (post, index)}}
                   for index in range(16)] for post in range(len(answers))]

        def post(index):
            answers[index] = lk.post_alerts(alerts[index], tenant=tenant, timeout=300 * TS)

        threads = [threading.Thread(target=post, args=(index,), daemon=True)
                   for index in range(len(answers))]
        for thread in threads:
            thread.start()
        time.sleep(STOP_S)
        for index, thread in enumerate(threads):
            self.assertTrue(thread.is_alive(), "POST %d answered while store was stopped: %r"
                            % (index, answers[index]))
        resends = metric(correlate_url, "lookout_correlate_batch_resends_total") - resends_before
        os.kill(pid, signal.SIGCONT)

        for index, thread in enumerate(threads):
            thread.join(60 * TS)
            self.assertFalse(thread.is_alive(), "POST %d not answered after SIGCONT" % index)
            self.assertStatus(answers[index], 202, "POST %d after SIGCONT" % index)
            self.assertEqual(answers[index].json["accepted"], 16, answers[index].json)

        # Without the back-off a 200 ms timeout means one re-send per 200 ms: about 20 in
        # 4 s. With it (200, 400, 800, 1600 ms, ...) at most 5, and at least one: the stop
        # lasted far longer than the timeout.
        self.assertGreaterEqual(resends, 1, "no re-send while store was stopped")
        self.assertLessEqual(resends, 5 if TS == 1 else 6,
                             "correlate re-sent %d times in %.0f s" % (resends, STOP_S))
        # every copy reached store and was recognised; none was applied
        deadline = time.monotonic() + 10 * TS
        while True:
            duplicates = metric(store_url, "lookout_store_duplicate_batches_total")
            if duplicates >= resends or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        total_resends = (metric(correlate_url, "lookout_correlate_batch_resends_total")
                         - resends_before)
        self.assertGreaterEqual(duplicates, resends, "copies not recognised by store")
        self.assertLessEqual(duplicates, total_resends,
                             "store took a batch for a copy that was never re-sent")

        stored = lk.db_count("SELECT count(*) FROM alerts WHERE tenant_id = '%s' AND name = "
                             "'SlowStore'" % tenant)
        self.assertEqual(stored, 64)
        events = lk.db_query("SELECT sequence FROM events ORDER BY sequence")
        sequences = [int(row[0]) for row in events]
        self.assertEqual(sequences, list(range(sequences[0], sequences[0] + len(sequences))),
                         "event sequence has a gap or a repeat")
        added = [fingerprint for row in lk.db_query(
            "SELECT fingerprints FROM events WHERE tenant_id = '%s' AND type = 'alert_added'"
            % tenant) for fingerprint in row[0].split(" ")]
        self.assertEqual(len(added), 65, "alerts added (the warm-up alert and 64)")
        self.assertEqual(len(set(added)), 65, "an alert added twice")

        # store is not busy with copies: the next POST is answered promptly
        started = time.monotonic()
        answer = lk.post_alerts([{"name": "SlowStoreAfter", "labels": {"host": "a"}}],
                                tenant=tenant)
        self.assertStatus(answer, 202, "POST /alerts after the recovery")
        self.assertLess(time.monotonic() - started, 2 * TS)


if __name__ == "__main__":
    lookout.main()
