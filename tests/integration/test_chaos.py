"""Fault tolerance, proven (DESIGN §2, §6): the full pipeline under supervisord with PostgreSQL
— lookout-store, -correlate, -ingest, -escalate, two lookout-notify workers and lookout-publish
feeding a Kafka mock cluster — while clients post unique alerts for several tenants, retrying
every batch until a 2xx.

test_chaos: a random Lookout process is SIGKILLed every few seconds (every kind several
times) and supervisord restarts it. Afterwards: every alert ingest acknowledged is in the
database once and nothing else is; one incident per group key; the outbox sequence has no
gap and every event reached Kafka (both topics) and a Server-Sent Events client (which
reconnects with Last-Event-ID) — repeats are counted, never missing ones; every incident
got its notification at the local receiver, repeats at most one per notify-worker or
escalate kill.

test_database_outage: the test's own PostgreSQL server is stopped for 30 s under load: no
alert is acknowledged that was not stored (ingest answers 503), and the pipeline accepts
alerts again within seconds of the database's return and then catches up everywhere.

test_slow_consumer: lookout-publish, lookout-escalate, a notify worker and an SSE client are
SIGSTOPped for 30 s under load: the resident memory of the other processes stays bounded,
and after SIGCONT every consumer catches up.

Size (environment): the default is the short form for CI. LOOKOUT_CHAOS_LONG=1 is the long
form (100000 alerts, 42 kills, one every 4 s); LOOKOUT_CHAOS_ALERTS, LOOKOUT_CHAOS_KILLS,
LOOKOUT_CHAOS_KILL_INTERVAL_S, LOOKOUT_CHAOS_TENANTS, LOOKOUT_CHAOS_OUTAGE_S and
LOOKOUT_CHAOS_STOP_S override single figures.
"""

import os
import random
import re
import signal
import tempfile
import time
import uuid

import chaos_tools
import lookout
import notify_tools
import prom_tools

LONG = os.environ.get("LOOKOUT_CHAOS_LONG", "") not in ("", "0", "false")
ALERTS = int(os.environ.get("LOOKOUT_CHAOS_ALERTS") or (100000 if LONG else 5000))
KILLS = int(os.environ.get("LOOKOUT_CHAOS_KILLS") or (42 if LONG else 14))
TENANTS = int(os.environ.get("LOOKOUT_CHAOS_TENANTS") or 8)
OUTAGE_S = float(os.environ.get("LOOKOUT_CHAOS_OUTAGE_S") or 30)
STOP_S = float(os.environ.get("LOOKOUT_CHAOS_STOP_S") or 30)
# Seconds between kills ("every few seconds").
KILL_INTERVAL_S = float(os.environ.get("LOOKOUT_CHAOS_KILL_INTERVAL_S") or (4 if LONG else 3))
# Alerts per incident: incidents keep opening (and notifications keep being due) all along.
PER_GROUP = 100 if LONG else 25

WEBHOOK_SECRET = "whsec-" + uuid.uuid4().hex
TOPICS = ("lookout.incidents", "service_events")
# The mock cluster keeps about 5 MB per partition: spread the topics so that the reader can
# fall behind a burst without the mock dropping what it has not read yet.
PARTITIONS = 32

# The supervisord names of the processes the test kills, and how they appear in its log.
VICTIMS = {
    "lookout-store": "lookout-store",
    "lookout-correlate": "lookout-correlate",
    "lookout-ingest": "lookout-ingest",
    "lookout-escalate": "lookout-escalate",
    "lookout-notify:lookout-notify_00": "lookout-notify_00",
    "lookout-notify:lookout-notify_01": "lookout-notify_01",
    "lookout-publish": "lookout-publish",
}
LIFECYCLE = ("incident_triggered", "incident_acknowledged", "incident_resolved",
             "incident_reopened", "incident_closed")


def _config(receiver, tenants):
    policies = "".join(
        "  - {name: chaos, tenant: '%s', levels: [{targets: [{channel: hook}]}]}\n" % tenant
        for tenant in tenants)
    return """
notify_settings:
  allow_private_destinations: true
  timeout: 5s
  max_attempts: 20
  backoff_initial: 200ms
  backoff_max: 2s
  channel_rate_limit: none
  target_rate_limit: none
channels:
  - {name: hook, type: webhook, url: '%s', secret_file: webhook.secret}
escalation_policies:
%s""" % (receiver.url("/hook"), policies)


class ChaosTest(lookout.LookoutTestCase):

    # ---- the stack --------------------------------------------------------------------------

    def start_stack(self, tenants, pg_admin_url=None, env=None):
        """Receiver, Kafka mock cluster, configuration, and the whole pipeline under
        supervisord; returns the Cluster once every program runs."""
        self.receiver = notify_tools.Receiver()
        self.addCleanup(self.receiver.stop)
        self.kafka = prom_tools.MockKafka(self, topics=())
        for topic in TOPICS:
            self.kafka.command("topic %s %d 1" % (topic, PARTITIONS))
        directory = tempfile.mkdtemp(prefix="lookout-chaos-")
        lookout._temp_dirs.append(directory)
        with open(os.path.join(directory, "webhook.secret"), "w") as f:
            f.write(WEBHOOK_SECRET + "\n")
        config_path = os.path.join(directory, "lookout.yaml")
        with open(config_path, "w") as f:
            f.write(_config(self.receiver, tenants))
        jobs, results = lookout.free_ports(2)
        stack_env = {
            "LOOKOUT_CONFIG": config_path,
            "LOOKOUT_NOTIFY_JOBS_ENDPOINT": "tcp://127.0.0.1:%d" % jobs,
            "LOOKOUT_NOTIFY_RESULTS_ENDPOINT": "tcp://127.0.0.1:%d" % results,
            "LOOKOUT_NOTIFY_LEASE_S": "5",
            "LOOKOUT_KAFKA_BROKERS": self.kafka.bootstrap,
            "LOOKOUT_REQUEST_TIMEOUT_MS": "3000",
            "LOOKOUT_STORE_TIMEOUT_MS": "1000",
            "LOOKOUT_SSE_HEARTBEAT_S": "2",
        }
        stack_env.update(env or {})
        lk = self.start_lookout(backend="postgresql", supervised=True, env=stack_env,
                                pg_admin_url=pg_admin_url, timeout=90)
        for name in VICTIMS:
            lk.wait_running(name, timeout=60)
        self.kafka_tail = chaos_tools.KafkaTail(self.kafka.bootstrap, TOPICS, PARTITIONS,
                                                os.path.join(lk.log_dir, "kafka_tail.log"))
        self.addCleanup(self.kafka_tail.stop)
        return lk

    def pids(self, lk):
        return {name: lk.pid(name) for name in VICTIMS}

    # ---- what must hold afterwards ----------------------------------------------------------

    def wait_until(self, what, condition, timeout):
        """Polls condition() (returns a true value when met) until timeout seconds (scaled)
        have passed; returns (value, seconds taken) or fails with what."""
        started = time.monotonic()
        deadline = started + timeout * lookout.TIME_SCALE
        while True:
            value = condition()
            if value:
                return value, time.monotonic() - started
            if time.monotonic() > deadline:
                self.fail("%s within %.0f s" % (what, timeout * lookout.TIME_SCALE))
            time.sleep(0.25)

    def check_alerts(self, lk, load):
        """Every acknowledged alert is stored once; nothing unacknowledged is stored."""
        rows = lk.db_query("SELECT tenant_id, fingerprint FROM alerts WHERE tenant_id <> '%s'"
                           % lookout.PROBE_TENANT)
        stored = {}
        repeats = 0
        for tenant, fp in rows:
            if fp in stored:
                repeats += 1
            stored[fp] = tenant
        acked = load.acked
        missing = sorted(set(acked) - set(stored))
        self.assertEqual(missing, [], "%d of %d acknowledged alerts are not in the database: %s"
                         % (len(missing), len(acked), missing[:10]))
        self.assertEqual(repeats, 0, "alerts stored more than once")
        self.assertEqual(sorted(set(stored) - set(acked)), [],
                         "alerts in the database that were never acknowledged")
        for fp, (tenant, _, _) in acked.items():
            self.assertEqual(stored[fp], tenant, "tenant of %s" % fp)
        return len(stored)

    def check_incidents(self, lk, load):
        """One incident per group key, holding exactly the alerts acknowledged for it."""
        rows = lk.db_query("SELECT tenant_id, group_key, count(*) FROM incidents "
                           "WHERE tenant_id <> '%s' GROUP BY tenant_id, group_key"
                           % lookout.PROBE_TENANT)
        duplicated = [row for row in rows if int(row[2]) != 1]
        self.assertEqual(duplicated, [], "group keys with more than one incident")
        expected = {(tenant, name) for tenant, name, _ in load.acked.values()}
        self.assertEqual(len(rows), len(expected), "incidents vs group keys of acked alerts")
        counts = lk.db_query("SELECT i.tenant_id, i.group_key, count(a.*) FROM incidents i "
                             "JOIN alerts a ON a.incident_id = i.id WHERE i.tenant_id <> '%s' "
                             "GROUP BY i.tenant_id, i.group_key" % lookout.PROBE_TENANT)
        self.assertEqual(sum(int(row[2]) for row in counts), len(load.acked))
        return len(rows)

    def check_outbox(self, lk):
        """The outbox sequence is gap-free from 1; returns (count, last)."""
        count, first, last = lk.db_query("SELECT count(*), min(sequence), max(sequence) "
                                         "FROM events")[0]
        self.assertEqual((int(first), int(last)), (1, int(count)),
                         "the events sequence has gaps or does not start at 1")
        return int(count), int(last)

    def wait_kafka(self, lk, timeout=120):
        """Every outbox event on lookout.incidents (by sequence) and every lifecycle event on
        service_events (by event_id); returns (duplicates per topic, seconds waited)."""
        total, _ = self.check_outbox(lk)
        lifecycle = {row[0] for row in lk.db_query(
            "SELECT event_id FROM events WHERE type LIKE 'incident_%'")}

        def caught_up():
            sequences = self.kafka_tail.values("lookout.incidents", "sequence")
            ids = self.kafka_tail.values("service_events", "event_id")
            if len(set(sequences)) == total and set(ids) >= lifecycle:
                return sequences, ids
            return None

        started = time.monotonic()
        deadline = started + timeout * lookout.TIME_SCALE
        while True:
            found = caught_up()
            if found:
                break
            if time.monotonic() > deadline:
                sequences = set(self.kafka_tail.values("lookout.incidents", "sequence"))
                missing = sorted(set(range(1, total + 1)) - sequences)
                ids = set(self.kafka_tail.values("service_events", "event_id"))
                self.fail("Kafka is missing %d of %d events (first: %s) and %d of %d lifecycle "
                          "events on service_events, %.0f s after the load; reader resets: %s"
                          % (len(missing), total, missing[:10], len(lifecycle - ids),
                             len(lifecycle), timeout * lookout.TIME_SCALE,
                             self.kafka_tail.resets()[:3]))
            time.sleep(0.25)
        waited = time.monotonic() - started
        sequences, ids = found
        self.assertEqual(self.kafka_tail.resets(), [], "the Kafka reader lost its place")
        self.assertFalse(set(sequences) - set(range(1, total + 1)), "unknown sequences")
        self.assertFalse(set(ids) - lifecycle, "unknown event ids on service_events")
        # within one partition, each re-publish restarts at the committed cursor: in order
        # apart from such restarts, which only repeat
        return {"lookout.incidents": len(sequences) - len(set(sequences)),
                "service_events": len(ids) - len(set(ids))}, waited

    def wait_sse(self, lk, follower, timeout=120):
        """The follower saw every event of its tenant; returns (repeats, seconds waited)."""
        expected = [int(row[0]) for row in lk.db_query(
            "SELECT sequence FROM events WHERE tenant_id = '%s' ORDER BY sequence"
            % follower.tenant)]

        def caught_up():
            return set(follower.received()) >= set(expected)

        started = time.monotonic()
        deadline = started + timeout * lookout.TIME_SCALE
        while not caught_up():
            if time.monotonic() > deadline:
                missing = sorted(set(expected) - set(follower.received()))
                self.fail("SSE client is missing %d of %d events of its tenant (first: %s); "
                          "connects %d, gaps %r" % (len(missing), len(expected), missing[:10],
                                                    follower.connects, follower.gaps[:3]))
            time.sleep(0.25)
        received = follower.received()
        self.assertEqual(follower.gaps, [], "the SSE stream reported a retention gap")
        self.assertFalse(set(received) - set(expected), "events of another tenant on SSE")
        return len(received) - len(set(received)), time.monotonic() - started

    def wait_notifications(self, lk, tenants, timeout=120):
        """Every incident of the configured tenants was notified at the receiver; returns
        (incidents, deliveries, repeats, seconds waited)."""
        required = {row[0] for row in lk.db_query(
            "SELECT id FROM incidents WHERE tenant_id IN (%s)"
            % ",".join("'%s'" % t for t in tenants))}

        def received():
            ids = []
            for request in self.receiver.received("/hook"):
                body = request.json or {}
                if body.get("event") == "triggered" or body.get("incident"):
                    ids.append(body.get("incident", {}).get("id"))
            return ids

        started = time.monotonic()
        deadline = started + timeout * lookout.TIME_SCALE
        while not set(received()) >= required:
            if time.monotonic() > deadline:
                missing = required - set(received())
                pending = lk.db_query("SELECT status, count(*) FROM notifications "
                                      "GROUP BY status")
                self.fail("%d of %d incidents were never notified (notifications by status: "
                          "%r)" % (len(missing), len(required), pending))
            time.sleep(0.25)
        waited = time.monotonic() - started
        ids = received()
        self.assertFalse(set(ids) - required, "notifications for unknown incidents")
        # the database agrees: one notification per incident, all sent
        rows = lk.db_query("SELECT status, count(*), count(DISTINCT incident_id) FROM "
                           "notifications GROUP BY status")
        by_status = {row[0]: (int(row[1]), int(row[2])) for row in rows}
        self.assertEqual(set(by_status), {"sent"}, "notification states: %r" % by_status)
        self.assertEqual(by_status["sent"], (len(required), len(required)),
                         "notification rows per incident: %r" % by_status)
        return len(required), len(ids), len(ids) - len(set(ids)), waited

    def catch_up(self, lk, follower, tenants, since, timeout=60):
        """Waits until Kafka, the SSE follower and the notification receiver have everything
        the database holds now; returns the seconds from since (time.monotonic()) at which
        each had, as {"kafka": s, "sse": s, "notify": s}."""
        target = int(lk.db_scalar("SELECT COALESCE(MAX(sequence), 0) FROM events"))
        tenant_events = {int(row[0]) for row in lk.db_query(
            "SELECT sequence FROM events WHERE tenant_id = '%s' AND sequence <= %d"
            % (follower.tenant, target))}
        incidents = {row[0] for row in lk.db_query(
            "SELECT id FROM incidents WHERE tenant_id IN (%s)"
            % ",".join("'%s'" % t for t in tenants))}
        checks = {
            "kafka": lambda: set(self.kafka_tail.values("lookout.incidents", "sequence"))
            >= set(range(1, target + 1)),
            "sse": lambda: set(follower.received()) >= tenant_events,
            "notify": lambda: {(r.json or {}).get("incident", {}).get("id")
                               for r in self.receiver.received("/hook")} >= incidents,
        }
        reached = {}
        deadline = time.monotonic() + timeout * lookout.TIME_SCALE
        while len(reached) < len(checks):
            for name, check in checks.items():
                if name not in reached and check():
                    reached[name] = time.monotonic() - since
            if time.monotonic() > deadline:
                self.fail("not caught up within %.0f s: only %r" % (
                    timeout * lookout.TIME_SCALE, reached))
            time.sleep(0.1)
        return reached

    def wait_all_running(self, lk, timeout=60):
        for name in VICTIMS:
            lk.wait_running(name, timeout=timeout)

    def supervisord_kills(self, lk):
        with open(os.path.join(lk.log_dir, "supervisord.log"), encoding="utf-8") as log:
            text = log.read()
        return {name: len(re.findall(r"exited: %s \(terminated by SIGKILL" % re.escape(short),
                                     text))
                for name, short in VICTIMS.items()}

    def report(self, title, figures):
        print("\n%s:" % title)
        for key, value in figures:
            print("  %-34s %s" % (key, value))

    # ---- the tests --------------------------------------------------------------------------

    def test_chaos(self):
        self.require_pg()
        started = time.monotonic()
        tenants = [lookout.new_tenant() for _ in range(TENANTS)]
        lk = self.start_stack(tenants)
        follower = chaos_tools.SseFollower(lk, tenants[0])
        self.addCleanup(follower.close)
        # Every kill happens under load: the load is paced to last as long as the kills take,
        # and kept in step with them (slice n + 1 of the alerts is allowed once kill n is
        # done; kill n waits until half of slice n is acknowledged), however fast or slow
        # (sanitizers) the pipeline is.
        load = chaos_tools.AlertLoad(lk, tenants, ALERTS, PER_GROUP, clients=4, batch=10,
                                     deadline_s=300,
                                     rate=ALERTS / ((KILLS + 2) * KILL_INTERVAL_S))
        # every kind KILLS // 7 times (at least once), the rest of random kinds, in random order
        kinds = list(VICTIMS)
        plan = kinds * max(1, KILLS // len(kinds))
        plan += random.sample(kinds, KILLS - len(plan)) if KILLS > len(plan) else []
        random.shuffle(plan)
        kills = []  # (name, old pid, new pid, seconds until RUNNING again)
        slices = len(plan) + 1
        load.allowance = ALERTS // slices
        load.start()
        try:
            for number, name in enumerate(plan):
                # one kill every KILL_INTERVAL_S, at least a second after the last restart,
                # in the middle of its slice of the load
                not_before = max(load.started + (number + 1) * KILL_INTERVAL_S,
                                 time.monotonic() + 1.0)
                middle = ALERTS * (2 * number + 1) // (2 * slices)
                while time.monotonic() < not_before or load.count() < middle:
                    self.assertEqual(load.problems, [])
                    self.assertFalse(load.done(), "the load ended before kill %d" % (number + 1))
                    time.sleep(0.05)
                old_pid = lk.pid(name)
                self.assertGreater(old_pid, 0, "%s not running before its kill" % name)
                killed_at = time.monotonic()
                os.kill(old_pid, signal.SIGKILL)
                new_pid = lk.wait_running(name, not_pid=old_pid, timeout=90)
                kills.append((name, old_pid, new_pid, time.monotonic() - killed_at))
                load.allow(ALERTS * (number + 2) // slices)
            self.assertTrue(load.join(timeout=600 * lookout.TIME_SCALE), "clients still busy")
        except BaseException:
            load.abandon.set()
            raise
        finally:
            load.stop.set()
        load_seconds = time.monotonic() - load.started
        self.assertEqual(load.problems, [])
        self.assertEqual(load.count(), ALERTS)
        self.wait_all_running(lk)

        stored = self.check_alerts(lk, load)
        incidents = self.check_incidents(lk, load)
        events, _ = self.check_outbox(lk)
        kafka_repeats, kafka_wait = self.wait_kafka(lk)
        sse_repeats, _ = self.wait_sse(lk, follower)
        required, deliveries, notify_repeats, notify_wait = self.wait_notifications(lk, tenants)

        # every kill was seen by supervisord, and duplicates stay within what the kills explain
        seen = self.supervisord_kills(lk)
        per_kind = {name: sum(1 for k in kills if k[0] == name) for name in VICTIMS}
        self.assertEqual(seen, per_kind, "SIGKILLs supervisord saw vs kills sent")
        redispatch_kills = sum(per_kind[n] for n in VICTIMS
                               if n.startswith("lookout-notify") or n == "lookout-escalate")
        self.assertLessEqual(notify_repeats, redispatch_kills,
                             "more repeated notifications than notify-worker/escalate kills")
        # a publish restart repeats at most its window (LOOKOUT_PUBLISH_WINDOW, default 2000)
        for topic, repeats in kafka_repeats.items():
            self.assertLessEqual(repeats, 2000 * per_kind["lookout-publish"],
                                 "repeats on %s beyond the publish window per kill" % topic)
        rss = {name: chaos_tools.rss_kib(lk.pid(name)) // 1024 for name in VICTIMS}
        restart_times = sorted(k[3] for k in kills)
        self.report("chaos test (%s)" % ("long form" if LONG else "short form"), [
            ("alerts acknowledged / stored", "%d / %d" % (load.count(), stored)),
            ("tenants, incidents (= group keys)", "%d, %d" % (TENANTS, incidents)),
            ("load", "%.1f s, %.0f alerts/s, %d requests, answers %r" % (
                load_seconds, load.rate(), load.requests, load.answers)),
            ("kills (per kind)", "%d %r" % (len(kills), {VICTIMS[n]: c
                                                         for n, c in per_kind.items()})),
            ("restart to RUNNING (median / max)", "%.1f s / %.1f s" % (
                restart_times[len(restart_times) // 2], restart_times[-1])),
            ("outbox events", events),
            ("Kafka repeats", "%r (waited %.1f s for the last)" % (kafka_repeats,
                                                                       kafka_wait)),
            ("SSE events / repeats / reconnects", "%d / %d / %d" % (
                len(follower.received()), sse_repeats, follower.connects)),
            ("notifications required / received", "%d / %d (repeats %d, waited %.1f s for "
             "the last)" % (required, deliveries, notify_repeats, notify_wait)),
            ("RSS at the end (MiB)", {VICTIMS[n]: v for n, v in rss.items()}),
            ("duration", "%.1f s" % (time.monotonic() - started)),
        ])

    def test_database_outage(self):
        pg = chaos_tools.PrivatePostgres(tempfile.mkdtemp(prefix="lookout-chaos-pg-"))
        lookout._temp_dirs.append(pg.dir)
        self.addCleanup(pg.destroy)
        tenants = [lookout.new_tenant() for _ in range(4)]
        lk = self.start_stack(tenants, pg_admin_url=pg.admin_url)
        # The database is dropped after the test, by which time the server may be down:
        # the server goes with its directory instead.
        lk.pg.drop = lambda: None
        follower = chaos_tools.SseFollower(lk, tenants[0])
        self.addCleanup(follower.close)
        load = chaos_tools.AlertLoad(lk, tenants, 10 ** 9, PER_GROUP, clients=4, batch=5,
                                     deadline_s=OUTAGE_S + 120, rate=200)
        load.start()
        try:
            self.wait_until("load before the outage", lambda: load.count() >= 500, 60)
            before_stop = load.count()
            stop_at = time.monotonic()
            pg.stop("fast")
            down_at = time.monotonic()
            time.sleep(OUTAGE_S)
            up_at = time.monotonic()
            pg.start()
            back_at = time.monotonic()
            answers_down = dict(load.answers)
            # the first alert acknowledged after the database came back
            self.wait_until("alerts accepted after the database came back",
                            lambda: any(t > back_at for _, _, t in list(load.acked.values())),
                            60)
            recovered_at = min(t for _, _, t in list(load.acked.values()) if t > back_at)
            caught_up = self.catch_up(lk, follower, tenants, back_at)
            target = load.count() + 500
            self.wait_until("load after the outage", lambda: load.count() >= target, 60)
        except BaseException:
            load.abandon.set()
            raise
        finally:
            load.stop.set()
        self.assertTrue(load.join(timeout=120 * lookout.TIME_SCALE), "clients still busy")
        self.assertEqual(load.problems, [])
        # nothing was acknowledged while the database was away (a commit that finished just
        # before the stop may be answered a moment later)
        during = sorted(t - down_at for _, _, t in load.acked.values()
                        if down_at + 2.0 < t < up_at)
        self.assertEqual(during, [], "alerts acknowledged while the database was down")
        self.assertGreater(answers_down.get(503, 0) + answers_down.get(0, 0), 0,
                           "no 503 (or refused connection) during the outage")
        self.wait_all_running(lk, timeout=60)
        recovery_s = recovered_at - back_at
        self.assertLess(recovery_s, 5 * lookout.TIME_SCALE,
                        "alerts accepted %.1f s after the database came back" % recovery_s)
        for name, seconds in caught_up.items():
            self.assertLess(seconds, 10 * lookout.TIME_SCALE,
                            "%s caught up %.1f s after the database came back" % (name, seconds))
        stored = self.check_alerts(lk, load)
        incidents = self.check_incidents(lk, load)
        events, _ = self.check_outbox(lk)
        kafka_repeats, kafka_wait = self.wait_kafka(lk, timeout=60)
        sse_repeats, _ = self.wait_sse(lk, follower, timeout=60)
        required, deliveries, _, _ = self.wait_notifications(
            lk, tenants, timeout=60)
        self.report("database outage", [
            ("outage", "%.1f s (stop took %.1f s, start %.1f s)" % (
                up_at - down_at, down_at - stop_at, back_at - up_at)),
            ("alerts acknowledged / stored", "%d / %d (%d before the stop)" % (
                load.count(), stored, before_stop)),
            ("answers", "%r" % load.answers),
            ("first 2xx after the database's return", "%.1f s" % recovery_s),
            ("caught up after the return (s)", ", ".join(
                "%s %.1f" % item for item in sorted(caught_up.items()))),
            ("incidents, outbox events", "%d, %d" % (incidents, events)),
            ("Kafka repeats", "%r (waited %.1f s for the last)" % (kafka_repeats,
                                                                       kafka_wait)),
            ("SSE repeats / reconnects", "%d / %d" % (sse_repeats, follower.connects)),
            ("notifications required / received", "%d / %d" % (required, deliveries)),
        ])

    def test_slow_consumer(self):
        self.require_pg()
        tenants = [lookout.new_tenant() for _ in range(4)]
        lk = self.start_stack(tenants)
        follower = chaos_tools.SseFollower(lk, tenants[0])
        self.addCleanup(follower.close)
        load = chaos_tools.AlertLoad(lk, tenants, 10 ** 9, PER_GROUP, clients=4, batch=10,
                                     deadline_s=120, rate=400)
        stopped = ["lookout-publish", "lookout-escalate", "lookout-notify:lookout-notify_00"]
        watched = ["lookout-store", "lookout-correlate", "lookout-ingest",
                   "lookout-notify:lookout-notify_01"]
        load.start()
        pids = {}
        samples = {name: [] for name in watched}
        try:
            self.wait_until("load before the stop", lambda: load.count() >= 1000, 60)
            pids = self.pids(lk)
            baseline = {name: chaos_tools.rss_kib(pids[name]) for name in watched}
            for name in stopped:
                os.kill(pids[name], signal.SIGSTOP)
            follower.stalled.set()
            before = load.count()
            stop_at = time.monotonic()
            while time.monotonic() < stop_at + STOP_S:
                for name in watched:
                    samples[name].append(chaos_tools.rss_kib(pids[name]))
                self.assertEqual(load.problems, [])
                time.sleep(0.5)
            during = load.count() - before
        finally:
            for name in stopped:
                if pids.get(name):
                    os.kill(pids[name], signal.SIGCONT)
            follower.stalled.clear()
        cont_at = time.monotonic()
        try:
            caught_up = self.catch_up(lk, follower, tenants, cont_at)
            target = load.count() + 500
            self.wait_until("load after SIGCONT", lambda: load.count() >= target, 60)
        except BaseException:
            load.abandon.set()
            raise
        finally:
            load.stop.set()
        self.assertTrue(load.join(timeout=120 * lookout.TIME_SCALE), "clients still busy")
        self.assertEqual(load.problems, [])
        # intake went on while the consumers stood still
        self.assertGreater(during, 500, "alerts acknowledged while the consumers were stopped")
        # nobody was restarted: a stopped consumer is slow, not dead
        self.assertEqual(self.pids(lk), pids, "a process was restarted")
        for name, seconds in caught_up.items():
            self.assertLess(seconds, 60 * lookout.TIME_SCALE,
                            "%s caught up %.1f s after SIGCONT" % (name, seconds))
        growth_mib = {name: (max(samples[name]) - baseline[name]) / 1024.0 for name in watched}
        bound = 64 * (8 if lookout.TIME_SCALE > 1 else 1)
        for name, growth in growth_mib.items():
            self.assertLess(growth, bound, "%s grew by %.1f MiB while consumers were stopped"
                            % (name, growth))
        self.check_alerts(lk, load)
        self.check_incidents(lk, load)
        events, _ = self.check_outbox(lk)
        kafka_repeats, _ = self.wait_kafka(lk, timeout=90)
        sse_repeats, _ = self.wait_sse(lk, follower, timeout=90)
        required, deliveries, notify_repeats, _ = self.wait_notifications(
            lk, tenants, timeout=90)
        self.report("slow consumer", [
            ("stopped for", "%.0f s: %s + an SSE client" % (STOP_S, ", ".join(stopped))),
            ("alerts acknowledged meanwhile / total", "%d / %d" % (during, load.count())),
            ("RSS baseline -> max (MiB)", {n: "%.0f -> %.0f" % (baseline[n] / 1024.0,
                                                                 max(samples[n]) / 1024.0)
                                           for n in watched}),
            ("outbox events", events),
            ("caught up after SIGCONT (s)", ", ".join(
                "%s %.1f" % item for item in sorted(caught_up.items()))),
            ("repeats: Kafka, SSE, notifications", "%r, %d, %d" % (
                kafka_repeats, sse_repeats, notify_repeats)),
            ("SSE reconnects, notifications", "%d, %d/%d" % (follower.connects, deliveries,
                                                             required)),
        ])


if __name__ == "__main__":
    lookout.main()
