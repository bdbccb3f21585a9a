"""Escalation and notification, end to end: lookout-store, -correlate, -ingest, -escalate and
two lookout-notify workers, against a real SMTP server (aiosmtpd) and local HTTP receivers
standing in for Slack, Discord, PagerDuty, Twilio, a signed webhook and Deckhand.

Covers: the exact requests each channel receives, their count and their order across
escalation levels; acknowledge (stops escalation, mirrored to PagerDuty and the webhook) and
resolve (resolve messages where the channel has one); an acknowledgement timeout that
resumes escalation; 429 + Retry-After retried after that delay; 400 not retried; two
workers sharing the load and a SIGKILLed worker losing nothing; GET /oncall and
POST /oncall/overrides against a hand-computed rotation; and delivery latency over 200
incidents (printed).
"""

import datetime
import hashlib
import hmac
import json
import os
import signal
import tempfile
import time
import uuid

import lookout
import notify_tools

PD_KEY = "0123456789abcdef0123456789abcdef"
WEBHOOK_SECRET = "whsec-" + uuid.uuid4().hex
TWILIO_TOKEN = "twilio-" + uuid.uuid4().hex
DECKHAND_TOKEN = "deckhand-" + uuid.uuid4().hex
SYSTEM = lookout.SYSTEM_TENANT


def _config(receiver, smtp_port, channel_rate="none", target_rate="none"):
    r = receiver.url
    return """
notify_settings:
  allow_private_destinations: true
  timeout: 5s
  max_attempts: 5
  backoff_initial: 200ms
  backoff_max: 2s
  channel_rate_limit: %(channel_rate)s
  target_rate_limit: %(target_rate)s
  public_url: https://lookout.example.com
channels:
  - {name: slack, type: slack, url: '%(slack)s'}
  - {name: discord, type: discord, url: '%(discord)s'}
  - {name: pagerduty, type: pagerduty, url: '%(pagerduty)s', routing_key_file: pd.key}
  - {name: email, type: email, url: 'smtp://127.0.0.1:%(smtp)d', tls: none,
     from: lookout@example.com}
  - {name: sms, type: sms, url: '%(twilio)s', account_sid: AC0123456789,
     auth_token_env: LOOKOUT_TEST_TWILIO_TOKEN, from: '+15550001111'}
  - {name: webhook, type: webhook, url: '%(webhook)s', secret_file: webhook.secret}
  - {name: deckhand, type: deckhand, url: '%(deckhand)s', token_env: LOOKOUT_TEST_DECKHAND_TOKEN}
  - {name: resume-hook, type: webhook, url: '%(resume)s', secret_file: webhook.secret}
  - {name: limited, type: webhook, url: '%(limited)s', secret_file: webhook.secret}
  - {name: refused, type: webhook, url: '%(refused)s', secret_file: webhook.secret}
  - {name: slow, type: webhook, url: '%(slow)s', secret_file: webhook.secret}
  - {name: fast, type: slack, url: '%(fast)s'}
  - {name: restart-hook, type: webhook, url: '%(restart_hook)s', secret_file: webhook.secret}
  - {name: restart-slack, type: slack, url: '%(restart_slack)s'}
users:
  - {name: alice, email: alice@example.com, phone: '+31600000001', slack_id: UALICE,
     channels: [email, sms]}
  - {name: bob, email: bob@example.com, discord_id: '4242', channels: [discord]}
  - {name: carol, email: carol@example.com, channels: [email]}
schedules:
  - name: primary
    time_zone: UTC
    rotations:
      - {members: [alice, bob, carol], shift_length: 1d, handoff_time: '09:00',
         start: 2024-01-01}
escalation_policies:
  - name: full
    match: {labels: {scenario: full}}
    levels:
      - targets: [{schedule: primary}, {channel: slack}]
      - {delay: 1s, targets: [{user: bob}, {channel: pagerduty}]}
      - {delay: 1s, targets: [{channel: webhook}, {channel: deckhand}]}
  - name: resume
    match: {labels: {scenario: resume}}
    levels:
      - targets: [{channel: resume-hook}]
      - {delay: 1h, targets: [{channel: slack}]}
  - {name: limited, match: {labels: {scenario: limited}}, levels: [{targets: [{channel: limited}]}]}
  - {name: refused, match: {labels: {scenario: refused}}, levels: [{targets: [{channel: refused}]}]}
  - {name: slow, match: {labels: {scenario: slow}}, levels: [{targets: [{channel: slow}]}]}
  - {name: fast, match: {labels: {scenario: fast}}, levels: [{targets: [{channel: fast}]}]}
  - {name: oncall, match: {labels: {scenario: oncall}}, levels: [{targets: [{schedule: primary}]}]}
  - name: restart
    match: {labels: {scenario: restart}}
    levels:
      - targets: [{channel: restart-hook}]
      - {delay: 4s, targets: [{channel: restart-slack}]}
""" % {"slack": r("/slack"), "discord": r("/discord"), "pagerduty": r("/pagerduty"),
       "smtp": smtp_port, "twilio": r("/twilio/2010-04-01/Accounts/AC0123456789/Messages.json"),
       "webhook": r("/webhook"), "deckhand": r("/deckhand"), "resume": r("/resume"),
       "limited": r("/limited"), "refused": r("/refused"), "slow": r("/slow"),
       "fast": r("/fast"), "restart_hook": r("/restart-hook"),
       "channel_rate": channel_rate, "target_rate": target_rate,
       "restart_slack": r("/restart-slack")}


def _oncall_now(now=None):
    """The primary schedule's on-call user: members take 1-day turns from 2024-01-01 09:00 UTC."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    origin = datetime.datetime(2024, 1, 1, 9, tzinfo=datetime.timezone.utc)
    return ("alice", "bob", "carol")[int((now - origin).total_seconds() // 86400) % 3]


def _webhook_signature_ok(received):
    timestamp = received.headers.get("x-lookout-timestamp", "")
    expected = "v1=" + hmac.new(WEBHOOK_SECRET.encode(), timestamp.encode() + b"." + received.body,
                                hashlib.sha256).hexdigest()
    return hmac.compare_digest(received.headers.get("x-lookout-signature", ""), expected)


class NotifyTest(lookout.LookoutTestCase):

    def start_stack(self, workers=2, env=None, backend="sqlite", **config):
        """Receivers, SMTP server, configuration, the core cluster and the notify programs."""
        self.receiver = notify_tools.Receiver()
        self.addCleanup(self.receiver.stop)
        directory = tempfile.mkdtemp(prefix="lookout-notify-")
        lookout._temp_dirs.append(directory)
        self.smtp = notify_tools.SmtpSink(directory, directory)
        self.addCleanup(self.smtp.stop)
        with open(os.path.join(directory, "pd.key"), "w") as f:
            f.write(PD_KEY + "\n")
        with open(os.path.join(directory, "webhook.secret"), "w") as f:
            f.write(WEBHOOK_SECRET + "\n")
        config_path = os.path.join(directory, "lookout.yaml")
        with open(config_path, "w") as f:
            f.write(_config(self.receiver, self.smtp.port, **config))
        self.config_path = config_path
        jobs, results = lookout.free_ports(2)
        stack_env = {
            "LOOKOUT_CONFIG": config_path,
            "LOOKOUT_TEST_TWILIO_TOKEN": TWILIO_TOKEN,
            "LOOKOUT_TEST_DECKHAND_TOKEN": DECKHAND_TOKEN,
            "LOOKOUT_NOTIFY_JOBS_ENDPOINT": "tcp://127.0.0.1:%d" % jobs,
            "LOOKOUT_NOTIFY_RESULTS_ENDPOINT": "tcp://127.0.0.1:%d" % results,
            "LOOKOUT_NOTIFY_LEASE_S": "3",
        }
        stack_env.update(env or {})
        self.cluster = self.start_lookout(env=stack_env, backend=backend)
        self.programs = notify_tools.NotifyPrograms(self.cluster, workers=workers)
        self.addCleanup(self.programs.stop)
        self.programs.wait_log("lookout-escalate", "following events")
        for index in range(workers):
            self.programs.wait_log("lookout-notify_%02d" % index, "jobs from")
        return self.cluster

    def post_alert(self, name, scenario, **extra):
        alert = {"name": name, "severity": "critical",
                 "labels": dict({"scenario": scenario}, **extra.pop("labels", {})),
                 "annotations": {"summary": "%s is failing" % name,
                                 "runbook_url": "https://runbooks.example.com/" + name}}
        alert.update(extra)
        answer, _ = self.cluster.post_alerts_until_accepted(alert, tenant=SYSTEM)
        self.assertStatus(answer, 202, "POST /alerts")
        return answer.json["alerts"][0]["incident_id"]

    def notifications(self, incident_id):
        return self.cluster.db_query(
            "SELECT kind, channel, target, status, attempt, response_code, level FROM "
            "notifications WHERE incident_id = '%s' ORDER BY created_at, id" % incident_id)

    def wait_settled(self, incident_id, timeout=20.0):
        """Waits until none of the incident's notifications is pending."""
        deadline = time.monotonic() + timeout * lookout.TIME_SCALE
        while time.monotonic() < deadline:
            rows = self.notifications(incident_id)
            if rows and all(row[3] != "pending" for row in rows):
                return rows
            time.sleep(0.1)
        self.fail("notifications still pending: %r" % self.notifications(incident_id))

    # ------------------------------------------------------------------------------------------

    def test_levels_acknowledge_and_resolve(self):
        """Every channel gets exactly its requests, level by level; acknowledge stops the
        escalation and is mirrored to PagerDuty and the webhook; resolve sends resolve
        messages where the channel has one (not SMS)."""
        self.start_stack()
        now = datetime.datetime.now(datetime.timezone.utc)
        seconds_to_handoff = (9 * 3600 - (now.hour * 3600 + now.minute * 60 + now.second)) % 86400
        if seconds_to_handoff < 15:
            time.sleep(seconds_to_handoff + 1)  # keep the on-call person fixed for the test
        on_call = _oncall_now()
        incident = self.post_alert("NotifyFull", "full",
                                   labels={"customer_facing": "true", "job": "api"})
        r = self.receiver
        level3 = r.wait_for("/deckhand", 1) + r.wait_for("/webhook", 1)
        answer = self.cluster.post("/incidents/%s/acknowledge" % incident,
                                   body={"actor": "alice", "note": "on it"}, tenant=SYSTEM)
        self.assertStatus(answer, 200, "acknowledge")
        acked_at = time.time()
        r.wait_for("/pagerduty", 2)
        r.wait_for("/webhook", 2)
        time.sleep(1.5)  # a level that was not stopped would fire now
        answer = self.cluster.post("/incidents/%s/resolve" % incident, body={"actor": "alice"},
                                   tenant=SYSTEM)
        self.assertStatus(answer, 200, "resolve")
        email_triggers = 1 if on_call in ("alice", "carol") else 0
        discord_triggers = 2 if on_call == "bob" else 1
        r.wait_for("/pagerduty", 3)
        r.wait_for("/webhook", 3)
        r.wait_for("/deckhand", 2)
        r.wait_for("/slack", 2)
        r.wait_for("/discord", discord_triggers + 1)
        self.smtp.wait_for(2 * email_triggers)
        rows = self.wait_settled(incident)
        time.sleep(1.0)  # anything extra would arrive now

        # -- Slack: the trigger (level 1), then the resolve message
        slack = r.received("/slack")
        self.assertEqual(len(slack), 2, slack)
        self.assertIn("[CRITICAL] NotifyFull", slack[0].json["text"])
        self.assertEqual(slack[0].json["blocks"][0]["type"], "header")
        self.assertIn("scenario=full", json.dumps(slack[0].json["blocks"]))
        self.assertIn("https://lookout.example.com/incidents/" + incident,
                      json.dumps(slack[0].json["blocks"]))
        self.assertIn("/acknowledge", json.dumps(slack[0].json["blocks"]))
        self.assertIn("[RESOLVED] NotifyFull", slack[1].json["text"])
        # -- Discord: bob at level 2 (and level 1 when he is on call), one resolve
        discord = r.received("/discord")
        self.assertEqual(len(discord), discord_triggers + 1, discord)
        for trigger in discord[:-1]:
            self.assertTrue(trigger.json["content"].startswith("<@4242> [CRITICAL] NotifyFull"))
            self.assertEqual(trigger.json["allowed_mentions"]["users"], ["4242"])
            self.assertEqual(trigger.json["embeds"][0]["color"], 0xe01e5a)
        self.assertIn("[RESOLVED]", discord[-1].json["embeds"][0]["title"])
        # -- PagerDuty: trigger, acknowledge, resolve under one dedup_key
        pagerduty = r.received("/pagerduty")
        self.assertEqual([p.json["event_action"] for p in pagerduty],
                         ["trigger", "acknowledge", "resolve"])
        for event in pagerduty:
            self.assertEqual(event.json["dedup_key"], incident)
            self.assertEqual(event.json["routing_key"], PD_KEY)
        self.assertEqual(pagerduty[0].json["payload"]["severity"], "critical")
        self.assertLessEqual(len(pagerduty[0].json["payload"]["summary"]), 1024)
        self.assertEqual(pagerduty[0].json["payload"]["custom_details"]["labels"]["job"], "api")
        # -- the webhook: signed, triggered → acknowledged → resolved
        webhook = r.received("/webhook")
        self.assertEqual([w.json["event"] for w in webhook],
                         ["incident.triggered", "incident.acknowledged", "incident.resolved"])
        for delivery in webhook:
            self.assertTrue(_webhook_signature_ok(delivery), delivery.headers)
            self.assertEqual(delivery.json["incident"]["id"], incident)
            self.assertEqual(delivery.headers["x-lookout-delivery"], delivery.json["delivery_id"])
        self.assertEqual(webhook[1].json["incident"]["acknowledged_by"], "alice")
        # -- Deckhand: a customer-facing ticket, opened then resolved
        deckhand = r.received("/deckhand")
        self.assertEqual([d.json["event"] for d in deckhand], ["opened", "resolved"])
        for ticket in deckhand:
            self.assertEqual(ticket.headers["authorization"], "Bearer " + DECKHAND_TOKEN)
            self.assertEqual(ticket.json["external_id"], incident)
            self.assertTrue(ticket.json["customer_facing"])
        # -- Twilio (alice on call): one SMS, no "resolved" text
        twilio = r.received("/twilio/2010-04-01/Accounts/AC0123456789/Messages.json")
        self.assertEqual(len(twilio), 1 if on_call == "alice" else 0, twilio)
        for sms in twilio:
            self.assertEqual(notify_tools.basic_auth(sms), ("AC0123456789", TWILIO_TOKEN))
            self.assertEqual(sms.form["To"], "+31600000001")
            self.assertEqual(sms.form["From"], "+15550001111")
            self.assertIn("[CRITICAL] NotifyFull", sms.form["Body"])
            self.assertLessEqual(len(sms.form["Body"]), 1600)
        # -- email (alice or carol on call): trigger and resolve, plain + HTML
        mails = self.smtp.messages()
        self.assertEqual(len(mails), 2 * email_triggers, [m[0]["rcpt_tos"] for m in mails])
        for record, message in mails:
            self.assertEqual(record["rcpt_tos"], ["%s@example.com" % on_call])
            self.assertEqual(record["mail_from"], "lookout@example.com")
            plain, html = notify_tools.mail_parts(message)
            self.assertIn("NotifyFull", plain)
            self.assertIn("<html>", html)
        if mails:
            self.assertIn("[CRITICAL] NotifyFull", mails[0][1]["subject"])
            self.assertIn("[RESOLVED] NotifyFull", mails[1][1]["subject"])

        # -- order across levels: every level-1 request before level 2, before level 3
        level1 = [slack[0].at] + [t.at for t in twilio] + \
            [m[0]["at"] for m in mails[:email_triggers]] + \
            ([discord[0].at] if on_call == "bob" else [])
        level2 = [pagerduty[0].at, discord[-2].at]
        level3 = [webhook[0].at, deckhand[0].at]
        self.assertGreater(min(level2) - max(level1), 0.7, (level1, level2))
        self.assertGreater(min(level3) - max(level2), 0.7, (level2, level3))
        self.assertLess(max(level1) - min(level1), 0.7 * lookout.TIME_SCALE, level1)
        # no trigger was sent after the acknowledgement: it stopped the escalation
        triggers = level1 + level2 + level3
        self.assertLess(max(triggers), acked_at)
        # -- the database: one row per step, every notification sent
        steps = self.cluster.db_query(
            "SELECT step, level, status FROM escalations WHERE incident_id = '%s' ORDER BY step"
            % incident)
        self.assertEqual([(s[1], s[2]) for s in steps],
                         [("0", "notified"), ("1", "notified"), ("2", "notified"),
                          ("2", "acknowledged"), ("2", "resolved")])
        self.assertTrue(all(row[3] == "sent" for row in rows), rows)
        kinds = sorted((row[0], row[1]) for row in rows)
        self.assertEqual(kinds.count(("acknowledge", "pagerduty")), 1)
        self.assertEqual(kinds.count(("acknowledge", "webhook")), 1)
        self.assertNotIn(("resolve", "sms"), kinds)

    def test_acknowledgement_timeout_resumes(self):
        """An acknowledgement with ack_timeout_s lapses and escalation starts over."""
        self.start_stack()
        incident = self.post_alert("NotifyResume", "resume")
        r = self.receiver
        r.wait_for("/resume", 1)
        answer = self.cluster.post("/incidents/%s/acknowledge" % incident,
                                   body={"ack_timeout_s": 2}, tenant=SYSTEM)
        self.assertStatus(answer, 200, "acknowledge with a timeout")
        acked = time.time()
        hooks = r.wait_for("/resume", 3, timeout=15)
        self.assertEqual([h.json["event"] for h in hooks[:3]],
                         ["incident.triggered", "incident.acknowledged", "incident.triggered"])
        waited = hooks[2].at - acked
        self.assertGreaterEqual(waited, 1.9, "resumed too early")
        self.assertLess(waited, 4.0 * lookout.TIME_SCALE, "resumed too late")
        # acknowledging again without a timeout stops it for good
        answer = self.cluster.post("/incidents/%s/acknowledge" % incident, body={},
                                   tenant=SYSTEM)
        self.assertStatus(answer, 200, "acknowledge again")
        self.assertTrue(answer.json["changed"])
        r.wait_for("/resume", 4)
        time.sleep(3)
        self.assertEqual(len(r.received("/resume")), 4)
        bad = self.cluster.post("/incidents/%s/acknowledge" % incident,
                                body={"ack_timeout_s": "soon"}, tenant=SYSTEM)
        self.assertErrorBody(bad, 400, "ack_timeout_s not a number")
        steps = [row[0] for row in self.cluster.db_query(
            "SELECT status FROM escalations WHERE incident_id = '%s' ORDER BY step" % incident)]
        self.assertEqual(steps, ["notified", "acknowledged", "notified", "acknowledged"])

    def test_429_retry_after_and_400(self):
        """429 with Retry-After: 2 is retried after two seconds; 400 is not retried."""
        self.start_stack()
        r = self.receiver
        r.respond("/limited", {"status": 429, "headers": {"Retry-After": "2"}}, {"status": 200})
        r.respond("/refused", {"status": 400, "body": b'{"error": "bad payload"}'})
        limited = self.post_alert("NotifyLimited", "limited")
        refused = self.post_alert("NotifyRefused", "refused")
        tries = r.wait_for("/limited", 2, timeout=15)
        gap = tries[1].at - tries[0].at
        self.assertGreaterEqual(gap, 1.95, "retried before Retry-After")
        self.assertLess(gap, 3.5 * lookout.TIME_SCALE, "retried long after Retry-After")
        print("\n429 Retry-After: 2 → retried after %.2f s" % gap)
        rows = self.wait_settled(limited)
        self.assertEqual([(row[3], row[4], row[5]) for row in rows], [("sent", "2", "200")])
        r.wait_for("/refused", 1)
        rows = self.wait_settled(refused)
        time.sleep(2.5)
        self.assertEqual(len(r.received("/refused")), 1, "a 400 was retried")
        self.assertEqual([(row[3], row[4], row[5]) for row in rows], [("failed", "1", "400")])
        error = self.cluster.db_scalar(
            "SELECT error FROM notifications WHERE incident_id = '%s'" % refused)
        self.assertIn("HTTP 400", error)

    def test_two_workers_and_a_killed_one(self):
        """Two workers share the jobs; SIGKILL one while it delivers and every notification
        is still delivered (the lease brings its jobs back)."""
        self.start_stack()
        r = self.receiver
        r.respond("/slow", {"delay": 1.0})
        alerts = [{"name": "NotifySlow%02d" % i, "severity": "critical",
                   "labels": {"scenario": "slow"}} for i in range(12)]
        answer, _ = self.cluster.post_alerts_until_accepted(alerts, tenant=SYSTEM)
        self.assertStatus(answer, 202)
        incidents = {a["incident_id"] for a in answer.json["alerts"]}
        self.assertEqual(len(incidents), 12)
        # wait until both workers have delivered and both are in the middle of a delivery
        # (two requests in progress at the receiver), then kill one of them
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            shared = all("notify: trigger" in self.programs.log(w)
                         for w in ("lookout-notify_00", "lookout-notify_01"))
            busy = r.received("/slow", lambda x: not x.done)
            if shared and len(busy) >= 2:
                break
            time.sleep(0.01)
        else:
            self.fail("the two workers did not share the work: %r" % r.received("/slow"))
        self.programs.kill("lookout-notify_00")
        killed_at = time.time()
        delivered = set()
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and delivered != incidents:
            delivered = {x.json["incident"]["id"] for x in r.received("/slow", lambda x: x.done)}
            time.sleep(0.1)
        self.assertEqual(delivered, incidents, "not every notification was delivered")
        for incident in incidents:
            rows = self.wait_settled(incident)
            self.assertEqual([row[3] for row in rows], ["sent"], (incident, rows))
        # the killed worker was cut off mid-delivery, and it had delivered before
        cut_off = [x for x in r.received("/slow") if not x.done and x.at < killed_at]
        self.assertGreaterEqual(len(cut_off), 1)
        for worker in ("lookout-notify_00", "lookout-notify_01"):
            self.assertIn("notify: trigger", self.programs.log(worker),
                          "%s delivered nothing" % worker)
        redelivered = self.cluster.db_count(
            "SELECT COUNT(*) FROM notifications WHERE channel = 'slow' AND attempt > 1")
        self.assertGreaterEqual(redelivered, 1)
        print("\nkill test: %d requests for 12 notifications, %d re-dispatched after the lease"
              % (len(r.received("/slow")), redelivered))

    def test_oncall(self):
        """GET /oncall matches a hand-computed rotation across a hand-off and an override;
        escalation pages the overriding user."""
        cluster = self.start_stack()
        # members take 1-day turns from 2024-01-01 09:00 UTC: 2024-01-01 alice, 01-02 bob
        answer = cluster.get("/oncall?at=2024-01-02T08:59:59Z", tenant=SYSTEM)
        self.assertStatus(answer, 200)
        primary = answer.json["schedules"][0]
        self.assertEqual(primary["name"], "primary")
        self.assertEqual(primary["on_call"], [{
            "user": "alice", "rotation": 0, "override": False,
            "from": "2024-01-01T09:00:00.000Z", "until": "2024-01-02T09:00:00.000Z"}])
        answer = cluster.get("/oncall?at=2024-01-02T09:00:00Z", tenant=SYSTEM)
        self.assertEqual(answer.json["schedules"][0]["on_call"][0]["user"], "bob")
        # 2030-06-15 12:00 is 2357 days and 3 hours after the first hand-off: 2357 mod 3 = 2
        answer = cluster.get("/oncall?at=2030-06-15T12:00:00Z", tenant=SYSTEM)
        self.assertEqual(answer.json["schedules"][0]["on_call"][0]["user"], "carol")
        # an override: bob from 10:00 to 14:00 that day
        created = cluster.post("/oncall/overrides", body={
            "schedule": "primary", "user": "bob", "start": "2030-06-15T10:00:00Z",
            "end": "2030-06-15T14:00:00Z"}, tenant=SYSTEM)
        self.assertStatus(created, 201, "POST /oncall/overrides")
        self.assertEqual(created.json["override"]["user"], "bob")
        self.assertEqual(created.json["override"]["created_by"], "service")
        answer = cluster.get("/oncall?at=2030-06-15T12:00:00Z", tenant=SYSTEM)
        self.assertEqual(answer.json["schedules"][0]["on_call"], [{
            "user": "bob", "rotation": None, "override": True,
            "from": "2030-06-15T10:00:00.000Z", "until": "2030-06-15T14:00:00.000Z"}])
        policy = [p for p in answer.json["policies"] if p["name"] == "oncall"][0]
        self.assertEqual(policy["levels"][0]["targets"],
                         [{"type": "schedule", "name": "primary", "on_call": ["bob"]}])
        answer = cluster.get("/oncall?at=2030-06-15T14:00:00Z", tenant=SYSTEM)
        self.assertEqual(answer.json["schedules"][0]["on_call"][0]["user"], "carol")
        # listing and removing overrides
        listed = cluster.get("/oncall/overrides", tenant=SYSTEM)
        self.assertStatus(listed, 200, "GET /oncall/overrides")
        self.assertEqual(listed.json["overrides"], [created.json["override"]])
        self.assertEqual(cluster.get("/oncall/overrides?schedule=nope&limit=5",
                                     tenant=SYSTEM).json["overrides"], [])
        self.assertErrorBody(cluster.get("/oncall/overrides?colour=red", tenant=SYSTEM), 400)
        self.assertErrorBody(cluster.get("/oncall/overrides?limit=0", tenant=SYSTEM), 400)
        bob_id = created.json["override"]["id"]
        outsider = lookout.new_tenant()
        self.assertEqual(cluster.get("/oncall/overrides", tenant=outsider).json["overrides"], [])
        self.assertErrorBody(cluster.request("DELETE", "/oncall/overrides/" + bob_id,
                                             tenant=outsider), 404, "another tenant's override")
        removed = cluster.request("DELETE", "/oncall/overrides/" + bob_id, tenant=SYSTEM)
        self.assertStatus(removed, 200, "DELETE /oncall/overrides/{id}")
        self.assertEqual(removed.json["override"]["end"], "2030-06-15T10:00:00.000Z",
                         "an override that has not begun ends where it begins")
        answer = cluster.get("/oncall?at=2030-06-15T12:00:00Z", tenant=SYSTEM)
        self.assertEqual(answer.json["schedules"][0]["on_call"][0]["user"], "carol",
                         "the rotation again once the override is removed")
        self.assertEqual(cluster.get("/oncall/overrides", tenant=SYSTEM).json["overrides"], [])
        self.assertErrorBody(cluster.request("DELETE", "/oncall/overrides/" + bob_id,
                                             tenant=SYSTEM), 404, "removed twice")
        self.assertErrorBody(cluster.request("DELETE", "/oncall/overrides/not-a-uuid",
                                             tenant=SYSTEM), 404)
        # validation, and tenancy: another tenant has no schedule of that name
        for body, status in (
                ({"schedule": "nope", "user": "bob", "start": "2030-01-01T00:00:00Z",
                  "end": "2030-01-02T00:00:00Z"}, 422),
                ({"schedule": "primary", "user": "zed", "start": "2030-01-01T00:00:00Z",
                  "end": "2030-01-02T00:00:00Z"}, 422),
                ({"schedule": "primary", "user": "bob", "start": "2030-01-02T00:00:00Z",
                  "end": "2030-01-01T00:00:00Z"}, 400),
                ({"schedule": "primary", "user": "bob", "start": "2020-01-01T00:00:00Z",
                  "end": "2020-01-02T00:00:00Z"}, 400),
                ({"schedule": "primary", "user": "bob", "start": "tomorrow",
                  "end": "2030-01-02T00:00:00Z"}, 400),
                ({"schedule": "primary", "user": "bob", "start": "2030-01-01T00:00:00Z",
                  "end": "2030-01-02T00:00:00Z", "colour": "red"}, 400)):
            self.assertErrorBody(cluster.post("/oncall/overrides", body=body, tenant=SYSTEM),
                                 status, json.dumps(body))
        other = lookout.new_tenant()
        self.assertErrorBody(cluster.post("/oncall/overrides", body={
            "schedule": "primary", "user": "bob", "start": "2030-01-01T00:00:00Z",
            "end": "2030-01-02T00:00:00Z"}, tenant=other), 422, "another tenant's schedule")
        answer = cluster.get("/oncall", tenant=other)
        self.assertEqual((answer.json["schedules"], answer.json["policies"]), ([], []))
        self.assertErrorBody(cluster.get("/oncall?at=yesterday", tenant=SYSTEM), 400, "bad at")
        # escalation pages whoever the schedule says now, overrides included: carol by override
        now = datetime.datetime.now(datetime.timezone.utc)
        created = cluster.post("/oncall/overrides", body={
            "schedule": "primary", "user": "carol",
            "start": (now - datetime.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": (now + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")},
            tenant=SYSTEM)
        self.assertStatus(created, 201)
        self.assertEqual(cluster.get("/oncall", tenant=SYSTEM).json["schedules"][0]["on_call"][0]
                         ["user"], "carol")
        self.post_alert("NotifyOnCall", "oncall")
        record, message = self.smtp.wait_for(1)[0]
        self.assertEqual(record["rcpt_tos"], ["carol@example.com"])
        self.assertIn("NotifyOnCall", message["subject"])
        # removing a current override ends it now: the rotation's user is on call again
        removed = cluster.request("DELETE", "/oncall/overrides/" + created.json["override"]["id"],
                                  tenant=SYSTEM)
        self.assertStatus(removed, 200)
        ended = datetime.datetime.strptime(removed.json["override"]["end"],
                                           "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                                               tzinfo=datetime.timezone.utc)
        self.assertLess(abs((ended - now).total_seconds()), 120)
        self.assertEqual(cluster.get("/oncall", tenant=SYSTEM).json["schedules"][0]["on_call"][0]
                         ["user"], _oncall_now())

    def test_rate_limit(self):
        """channel_rate_limit 2/2s: a burst of two goes at once, then one per second; the
        rest wait in escalate (pending), none is dropped."""
        self.start_stack(channel_rate="2/2s")
        r = self.receiver
        alerts = [{"name": "NotifyRate%d" % i, "severity": "critical",
                   "labels": {"scenario": "fast"}} for i in range(5)]
        answer, _ = self.cluster.post_alerts_until_accepted(alerts, tenant=SYSTEM)
        self.assertStatus(answer, 202)
        posted = time.time()
        arrivals = sorted(x.at - posted for x in r.wait_for("/fast", 5, timeout=20))
        print("\nrate limit 2/2s, 5 notifications: arrivals at %s s" %
              ", ".join("%.2f" % a for a in arrivals))
        self.assertLess(arrivals[1], 0.8 * lookout.TIME_SCALE, "the burst was held back")
        for earlier, later in zip(arrivals[1:], arrivals[2:]):
            self.assertGreaterEqual(later - earlier, 0.85, "the rate was exceeded")
        self.assertLess(arrivals[4], 5.0 * lookout.TIME_SCALE)
        time.sleep(1)
        self.assertEqual(len(r.received("/fast")), 5)

    def test_sighup_reloads_policies_and_channels(self):
        """SIGHUP makes lookout-escalate and lookout-notify read the file again: a policy and
        a channel added to it are used for the next incident, without a restart; a file that
        does not load is refused and the configuration before it stays."""
        self.start_stack(workers=1)
        programs = ("lookout-escalate", "lookout-notify_00")

        def reload(expect):
            marks = {name: self.programs.log(name).count(expect) for name in programs}
            for name in programs:
                self.programs.procs[name].send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 20 * lookout.TIME_SCALE
            for name in programs:
                while self.programs.log(name).count(expect) <= marks[name]:
                    self.programs.check_alive()
                    self.assertLess(time.monotonic(), deadline, "%s did not log %r" % (name, expect))
                    time.sleep(0.05)

        before = self.post_alert("ReloadBefore", "reloaded")
        self.wait_settled_or_none(before)
        self.assertEqual(self.notifications(before), [], "no policy matches before the reload")

        with open(self.config_path, "a") as f:
            f.write("  - {name: reloaded, match: {labels: {scenario: reloaded}},"
                    " levels: [{targets: [{channel: reloaded-hook}]}]}\n")
        text = open(self.config_path).read().replace(
            "channels:\n", "channels:\n  - {name: reloaded-hook, type: webhook, url: '%s',"
            " secret_file: webhook.secret}\n" % self.receiver.url("/reloaded"), 1)
        with open(self.config_path, "w") as f:
            f.write(text)
        reload("reload: OK")

        after = self.post_alert("ReloadAfter", "reloaded")
        got = self.receiver.wait_for("/reloaded", 1)
        self.assertTrue(_webhook_signature_ok(got[0]), "signed with the reloaded secret")
        self.assertEqual(json.loads(got[0].body)["incident"]["id"], after)
        rows = self.wait_settled(after)
        self.assertEqual([(r[0], r[1], r[3]) for r in rows], [("trigger", "reloaded-hook", "sent")])

        with open(self.config_path, "w") as f:
            f.write(text.replace("escalation_policies:", "escalation_policies: [", 1))
        reload("reload refused")
        again = self.post_alert("ReloadRefused", "reloaded")
        self.receiver.wait_for("/reloaded", 2)
        rows = self.wait_settled(again)
        self.assertEqual([(r[1], r[3]) for r in rows], [("reloaded-hook", "sent")],
                         "the configuration before the refused file stays")

    def wait_settled_or_none(self, incident_id, quiet_s=1.5):
        """Gives escalate time to act on a new incident that should produce nothing."""
        time.sleep(quiet_s * lookout.TIME_SCALE)
        return self.notifications(incident_id)

    def test_escalate_restart_rebuilds_timers(self):
        """SIGKILL lookout-escalate between two levels: the restarted one rebuilds the timer
        from the database and takes the next level on time, once; nothing is sent twice."""
        self.start_stack()
        r = self.receiver
        posted = time.time()
        incident = self.post_alert("NotifyRestart", "restart")
        r.wait_for("/restart-hook", 1)
        self.programs.wait_log("lookout-escalate", "policy restart level 1")
        time.sleep(0.5)  # the step and its notification are committed
        self.programs.kill("lookout-escalate")
        self.programs.start("lookout-escalate")
        self.programs.wait_log("lookout-escalate", "rebuilt 1 escalations")
        second = r.wait_for("/restart-slack", 1, timeout=15)[0]
        self.assertGreaterEqual(second.at - posted, 3.9, "level 2 came early")
        self.assertLess(second.at - posted, 7.0 * lookout.TIME_SCALE, "level 2 came late")
        time.sleep(1.5)
        self.assertEqual(len(r.received("/restart-hook")), 1, "level 1 was sent again")
        self.assertEqual(len(r.received("/restart-slack")), 1)
        steps = self.cluster.db_query(
            "SELECT level, status FROM escalations WHERE incident_id = '%s' ORDER BY step"
            % incident)
        self.assertEqual(steps, [("0", "notified"), ("1", "notified")])

    def test_escalation_on_postgresql(self):
        """The same steps and rows with the production database."""
        self.require_pg()
        self.start_stack(backend="postgresql")
        r = self.receiver
        incident = self.post_alert("NotifyPg", "full", labels={"customer_facing": "true"})
        r.wait_for("/deckhand", 1)
        self.assertStatus(self.cluster.post("/incidents/%s/resolve" % incident, body={},
                                            tenant=SYSTEM), 200)
        pagerduty = r.wait_for("/pagerduty", 2)
        self.assertEqual([p.json["event_action"] for p in pagerduty], ["trigger", "resolve"])
        self.assertEqual([d.json["event"] for d in r.wait_for("/deckhand", 2)],
                         ["opened", "resolved"])
        self.wait_settled(incident)
        steps = self.cluster.db_query(
            "SELECT level, status FROM escalations WHERE incident_id = '%s' ORDER BY step"
            % incident)
        self.assertEqual([(str(a), b) for a, b in steps],
                         [("0", "notified"), ("1", "notified"), ("2", "notified"),
                          ("2", "resolved")])

    def test_delivery_latency(self):
        """200 incidents, each alert POSTed on its own: time from the POST to the receiver."""
        self.start_stack()
        r = self.receiver
        started = {}
        for i in range(200):
            name = "NotifyLatency%03d" % i
            started[name] = time.time()
            self.post_alert(name, "fast")
        r.wait_for("/fast", 200, timeout=60)
        arrived = {}
        for x in r.received("/fast"):
            name = x.json["text"].split("] ", 1)[1].split(" ", 1)[0]
            arrived.setdefault(name, x.at)
        self.assertEqual(set(arrived), set(started))
        latencies = sorted((arrived[n] - started[n]) * 1000 for n in started)
        p50 = latencies[len(latencies) // 2]
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        print("\ndelivery latency, alert POST → Slack receiver, 200 incidents: p50 %.1f ms, "
              "p99 %.1f ms, max %.1f ms" % (p50, p99, latencies[-1]))
        self.assertEqual(len(r.received("/fast")), 200, "duplicates")


if __name__ == "__main__":
    lookout.main()
