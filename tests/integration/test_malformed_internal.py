"""Malformed internal messages (issue 8, DESIGN §2): every internal socket of every process —
store's mutation and query ROUTERs, correlate's ROUTER, escalate's results PULL and its
events SUB, a notify worker's jobs PULL, publish's events SUB — receives garbage (bytes that
are not msgpack, msgpack of the wrong shape, unknown types and versions, fields of the wrong
type, over-long strings, trailing bytes, extra and empty frames) and well-formed messages of
a type that socket does not take. Each is logged, counted in
lookout_malformed_messages_total (each process's metrics endpoint), and the process keeps
serving: a valid request on the same socket afterwards is answered, and nothing crashed.

The test speaks ZeroMQ itself (zmtp_tools.py): as a DEALER or PUSH to the processes' bound
sockets, and as the PUSH, PULL and PUB servers a worker and the event subscribers connect to."""

import os
import time
import uuid

import lookout
import notify_tools
import prom_tools
import security_tools
import zmtp_tools
from zmtp_tools import pack, unpack

TENANT = "6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"
CORPUS = os.path.join(lookout.SOURCE_DIR, "fuzz", "corpus", "msg")


def corpus(name):
    """A real encoded message (the fuzz corpus is made by the C codec)."""
    with open(os.path.join(CORPUS, name), "rb") as f:
        return f.read()


def garbage():
    """(what, frames) of messages every receiver must reject as malformed."""
    query = {"type": "query", "v": 1, "req": 7, "tenant": TENANT,
             "query": {"kind": "list_incidents"}}
    return [
        ("not msgpack", [b"\x00garbage\xff\xfe"]),
        ("a msgpack array", [pack([1, 2, 3])]),
        ("a map without type", [pack({"v": 1, "req": 1})]),
        ("an unknown type", [pack({"type": "nonsense", "v": 1, "req": 2})]),
        ("a future version", [pack(dict(query, v=99))]),
        ("req of the wrong type", [pack(dict(query, req="seven"))]),
        ("a string over 64 KiB", [pack(dict(query, query={"kind": "list_incidents",
                                                          "cursor": "c" * 70000}))]),
        ("trailing bytes", [pack(query) + b"\x00"]),
        ("an extra frame", [pack(query), b"extra"]),
        ("an empty frame", [b""]),
    ]


class MalformedInternalTest(lookout.LookoutTestCase):

    def setUp(self):
        ports = lookout.free_ports(9)
        self.metrics = dict(zip(("store", "correlate", "ingest", "escalate", "publish",
                                 "notify"), ports[:6]))
        self.jobs_port, self.results_port = ports[6], ports[7]
        env = {"LOOKOUT_NOTIFY_JOBS_ENDPOINT": "tcp://127.0.0.1:%d" % ports[6],
               "LOOKOUT_NOTIFY_RESULTS_ENDPOINT": "tcp://127.0.0.1:%d" % ports[7]}
        for name, port in self.metrics.items():
            env["LOOKOUT_%s_METRICS_PORT" % name.upper()] = str(port)
        self.lk = self.start_lookout(env=env)
        self.peers = []

    def tearDown(self):
        for peer in self.peers:
            peer.close()

    # ---- helpers ----

    def malformed_total(self, program):
        deadline = time.monotonic() + 20 * lookout.TIME_SCALE
        while True:
            try:
                answer = lookout.http_request(
                    "http://127.0.0.1:%d/metrics" % self.metrics[program], timeout=5)
                if answer.status == 200:
                    for line in answer.body.decode().splitlines():
                        if line.startswith("lookout_malformed_messages_total "):
                            return float(line.split()[1])
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.fail("no lookout_malformed_messages_total from %s" % program)
            time.sleep(0.1)

    def wait_total(self, program, expected):
        deadline = time.monotonic() + 20 * lookout.TIME_SCALE
        while True:
            value = self.malformed_total(program)
            if value >= expected or time.monotonic() > deadline:
                self.assertEqual(value, expected, "%s counted %s malformed messages, expected "
                                 "%s" % (program, value, expected))
                return
            time.sleep(0.05)

    def log_count(self, logname, label):
        with open(os.path.join(self.lk.log_dir, logname + ".log"), encoding="utf-8",
                  errors="replace") as f:
            text = f.read()
        return sum(1 for line in text.splitlines()
                   if ("malformed message on %s rejected" % label) in line
                   or (" on %s rejected" % label in line and "unexpected" in line))

    def connect(self, endpoint_var, socket_type):
        port = int(self.lk.config[endpoint_var].rsplit(":", 1)[1])
        peer = zmtp_tools.ZmtpPeer.connect("127.0.0.1", port, socket_type)
        self.peers.append(peer)
        return peer

    def bombard(self, peer, wrong_type, router):
        """Sends every garbage message, then the well-formed message wrong_type (bytes, or
        None), through peer. Returns how many were sent. (router: the far end is a ROUTER,
        which adds the identity frame itself.)"""
        sent = 0
        for what, frames in garbage():
            peer.send(frames)
            sent += 1
        if wrong_type is not None:
            peer.send([wrong_type])
            sent += 1
        return sent

    def request(self, peer, body, req, timeout=20.0):
        """Sends body and returns the decoded reply carrying req (others are skipped)."""
        peer.send([pack(body)])
        deadline = time.monotonic() + timeout * lookout.TIME_SCALE
        while time.monotonic() < deadline:
            frames = peer.recv(timeout=1.0)
            if not frames:
                continue
            reply = unpack(frames[-1])
            if reply.get("req") == req:
                return reply
        self.fail("no reply to req %d" % req)

    def check_logged(self, logname, label, count):
        deadline = time.monotonic() + 10 * lookout.TIME_SCALE
        while self.log_count(logname, label) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.log_count(logname, label), count,
                         "%s logged %d rejections on %s, expected %d" % (
                             logname, self.log_count(logname, label), label, count))

    # ---- the sockets ----

    def test_store_correlate_routers(self):
        ack = pack({"type": "mutation_ack", "v": 1, "req": 5, "status": "ok"})
        cases = [
            ("store", "lookout-store", "LOOKOUT_STORE_QUERY_ENDPOINT", "store<query",
             {"type": "query", "v": 1, "req": 1001, "tenant": TENANT,
              "query": {"kind": "list_incidents"}}, "query_reply", "ok"),
            ("store", "lookout-store", "LOOKOUT_STORE_ENDPOINT", "store<correlate",
             {"type": "mutation_batch", "v": 1, "req": 1002, "alerts": [], "incidents": [],
              "events": []}, "mutation_ack", "ok"),
            ("correlate", "lookout-correlate", "LOOKOUT_CORRELATE_ENDPOINT", "correlate<ingest",
             {"type": "command", "v": 1, "req": 1003, "tenant": TENANT,
              "action": "acknowledge", "incident_id": str(uuid.uuid4()), "actor": "test"},
             "command_reply", "not_found"),
        ]
        for program, logname, variable, label, valid, reply_type, status in cases:
            with self.subTest(socket=label):
                before = self.malformed_total(program)
                logged = self.log_count(logname, label)
                peer = self.connect(variable, "DEALER")
                sent = self.bombard(peer, ack, router=True)
                reply = self.request(peer, valid, valid["req"])
                self.assertEqual(reply["type"], reply_type, reply)
                self.assertEqual(reply["status"], status, reply)
                self.wait_total(program, before + sent)
                self.check_logged(logname, label, logged + sent)
        # and the whole pipeline still works
        answer = self.lk.post_alerts({"name": "AfterGarbage"}, tenant=TENANT)
        self.assertStatus(answer, 202, "the pipeline after the garbage")
        security_tools.assert_alive_and_clean(self, self.lk)

    def test_notify_and_subscribers(self):
        lk = self.lk
        # escalate's results PULL is bound by escalate; its events SUB and the jobs of a
        # worker are served by this test's fake store PUB and fake escalate
        # one server per subscriber, so each connection is known to be whose
        escalate_pub = zmtp_tools.ZmtpServer("PUB")
        publish_pub = zmtp_tools.ZmtpServer("PUB")
        jobs = zmtp_tools.ZmtpServer("PUSH")
        results = zmtp_tools.ZmtpServer("PULL")
        for server in (escalate_pub, publish_pub, jobs, results):
            self.addCleanup(server.close)
        kafka = prom_tools.MockKafka(self)
        programs = notify_tools.NotifyPrograms(lk, workers=0, env={
            "LOOKOUT_STORE_EVENTS_ENDPOINT": escalate_pub.endpoint,
            "LOOKOUT_KAFKA_BROKERS": kafka.bootstrap})
        self.addCleanup(programs.stop)
        programs.env["LOOKOUT_NOTIFY_JOBS_ENDPOINT"] = jobs.endpoint
        programs.env["LOOKOUT_NOTIFY_RESULTS_ENDPOINT"] = results.endpoint
        programs.start("lookout-notify")
        programs.env["LOOKOUT_STORE_EVENTS_ENDPOINT"] = publish_pub.endpoint
        programs.start("lookout-publish")
        escalate_events = escalate_pub.accept()
        publish_events = publish_pub.accept()
        worker_jobs = jobs.accept()
        worker_results = results.accept()
        self.peers += [escalate_events, publish_events, worker_jobs, worker_results]
        # this test's PUB sends to whoever is connected: no subscription to wait for
        programs.wait_log("lookout-escalate", "ready")
        programs.wait_log("lookout-publish", "ready")
        programs.wait_log("lookout-notify", "ready")

        query_reply = pack({"type": "query_reply", "v": 1, "req": 6, "status": "ok",
                            "incidents": [], "alerts": [], "events": []})
        # escalate: results PULL (bound by escalate) and events SUB
        before = self.malformed_total("escalate")
        logged_results = self.log_count("lookout-escalate", "escalate<notify")
        logged_events = self.log_count("lookout-escalate", "escalate<events")
        results_push = self.connect("LOOKOUT_NOTIFY_RESULTS_ENDPOINT", "PUSH")
        on_results = self.bombard(results_push, query_reply, router=False)
        results_push.send([corpus("notify_result")])  # valid: a result for no known job
        on_events = self.bombard(escalate_events, query_reply, router=False)
        escalate_events.send([corpus("event")])  # valid: an event escalate then follows up
        self.wait_total("escalate", before + on_results + on_events)
        self.check_logged("lookout-escalate", "escalate<notify", logged_results + on_results)
        self.check_logged("lookout-escalate", "escalate<events", logged_events + on_events)

        # the worker: garbage and a wrong type on its jobs PULL, then a real job, which it
        # works on and reports on its results PUSH
        before = self.malformed_total("notify")
        sent = self.bombard(worker_jobs, query_reply, router=False)
        worker_jobs.send([corpus("notify_job")])
        result = worker_results.recv(timeout=30 * lookout.TIME_SCALE)
        self.assertIsNotNone(result, "the worker did not report the valid job")
        decoded = unpack(result[-1])
        self.assertEqual(decoded["type"], "notify_result", decoded)
        self.wait_total("notify", before + sent)
        self.check_logged("lookout-notify", "notify<escalate", sent)

        # publish: garbage on its events SUB (it takes events only; other types it ignores)
        before = self.malformed_total("publish")
        sent = self.bombard(publish_events, None, router=False)
        publish_events.send([corpus("event")])
        self.wait_total("publish", before + sent)

        programs.check_alive()
        for name in ("lookout-escalate", "lookout-notify", "lookout-publish"):
            text = programs.log(name)
            for marker in security_tools.CRASH_MARKERS:
                self.assertNotIn(marker, text, "%s's log reports %r" % (name, marker))
        security_tools.assert_alive_and_clean(self, lk)


if __name__ == "__main__":
    lookout.main()
