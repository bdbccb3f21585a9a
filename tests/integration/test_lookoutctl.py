"""lookoutctl against the running programs: incidents (table, filters, --json, paging),
show, ack and resolve (with notes, unchanged repeats, a 409 printed with exit status 1),
silences (add with every matcher form, list, expire), on-call from a schedule in the
configuration, tail of the SSE feed (history with --since and live events), and where
configuration comes from (flags over LOOKOUT_URL / LOOKOUT_TOKEN / LOOKOUT_TENANT, a JWT from
--token-file, SERVICE_TOKEN as the fallback) with exit statuses 0, 1 and 2."""

import datetime
import json
import os
import re
import subprocess
import tempfile
import time

import lookout
from lookout import new_tenant

CONFIG = """
channels:
  - {name: hook, type: slack, url: 'http://127.0.0.1:9/unused'}
users:
  - {name: alice, email: alice@example.com, channels: [hook]}
  - {name: bob, email: bob@example.com, channels: [hook]}
schedules:
  - name: primary
    time_zone: UTC
    rotations:
      - {members: [alice, bob], shift_length: 1d, handoff_time: '09:00', start: 2024-01-01}
escalation_policies:
  - name: critical
    match: {labels: {severity: critical}}
    levels:
      - targets: [{schedule: primary}]
"""


def _on_call(at):
    """alice and bob take 1-day turns from 2024-01-01 09:00 UTC."""
    origin = datetime.datetime(2024, 1, 1, 9, tzinfo=datetime.timezone.utc)
    return ("alice", "bob")[int((at - origin).total_seconds() // 86400) % 2]


class Ctl:
    """Runs the built lookoutctl with a clean environment plus env."""

    def __init__(self, env):
        self.path = os.path.join(lookout.BIN_DIR, "ctl", "lookoutctl")
        if not os.access(self.path, os.X_OK):
            raise AssertionError("%s not built (target lookoutctl)" % self.path)
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("LOOKOUT_", "SERVICE_TOKEN", "JWT_SECRET"))}
        self.env = dict(base, **env)

    def run(self, *args, env=None, timeout=30):
        proc = subprocess.run([self.path] + list(args), env=dict(self.env, **(env or {})),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout * lookout.TIME_SCALE)
        return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")


class LookoutctlTest(lookout.LookoutTestCase):

    def setUp(self):
        directory = tempfile.mkdtemp(prefix="lookout-ctl-")
        lookout._temp_dirs.append(directory)
        self.directory = directory
        config = os.path.join(directory, "lookout.yaml")
        with open(config, "w") as f:
            f.write(CONFIG)
        self.lk = self.start_lookout(env={"LOOKOUT_CONFIG": config})
        self.tenant = new_tenant()
        self.ctl = Ctl({"LOOKOUT_URL": self.lk.url, "SERVICE_TOKEN": self.lk.service_token,
                        "LOOKOUT_TENANT": self.tenant})

    def ok(self, *args, **kw):
        status, out, err = self.ctl.run(*args, **kw)
        self.assertEqual(status, 0, "lookoutctl %s: exit %d\nstdout: %s\nstderr: %s" % (
            " ".join(args), status, out, err))
        return out

    def post(self, alerts, tenant=None):
        answer, _ = self.lk.post_alerts_until_accepted(alerts, tenant=tenant or self.tenant)
        self.assertStatus(answer, 202)
        return answer.json["alerts"]

    @staticmethod
    def rows(table):
        """The data lines of a table, split on runs of 2+ spaces."""
        lines = table.rstrip("\n").split("\n")
        return [re.split(r"\s{2,}", line.rstrip()) for line in lines[1:]]

    # ------------------------------------------------------------------------------------------

    def test_incidents_show_ack_resolve(self):
        results = self.post([{"name": "DiskFull", "severity": "critical",
                              "labels": {"host": "db-1"}, "annotations": {"summary": "disk"}},
                             {"name": "SlowQueries", "severity": "warning"}])
        disk = results[0]["incident_id"]
        slow = results[1]["incident_id"]

        out = self.ok("incidents")
        header = out.split("\n")[0]
        self.assertEqual(re.split(r"\s{2,}", header.strip()),
                         ["ID", "STATUS", "SEVERITY", "FIRING", "CREATED", "UPDATED", "TITLE"])
        rows = {row[0]: row for row in self.rows(out)}
        self.assertEqual(set(rows), {disk, slow})
        self.assertEqual(rows[disk][1:4], ["triggered", "critical", "1/1"])
        self.assertRegex(rows[disk][4], r"^(just now|\d+s ago)$")
        # columns line up: every row's second column starts where the header's does
        column = header.index("STATUS")
        for line in out.strip().split("\n")[1:]:
            self.assertEqual(line[column - 2:column], "  ")
            self.assertNotEqual(line[column], " ")

        # filters go to the API; --json is the API's answer
        out = self.ok("incidents", "--severity", "critical")
        self.assertEqual([row[0] for row in self.rows(out)], [disk])
        listed = json.loads(self.ok("--json", "incidents"))
        api = self.lk.get("/incidents?limit=50", tenant=self.tenant).json
        self.assertEqual(listed, api)
        paged = json.loads(self.ok("incidents", "--limit", "1", "--all", "--json"))
        self.assertEqual({i["id"] for i in paged["incidents"]}, {disk, slow})
        status, out, err = self.ctl.run("incidents", "--limit", "1")
        self.assertEqual(status, 0)
        self.assertEqual(len(self.rows(out)), 1)
        self.assertIn("--all", err)

        out = self.ok("show", disk)
        self.assertRegex(out, r"Incident\s+%s" % disk)
        self.assertRegex(out, r"Title\s+DiskFull")
        self.assertRegex(out, r"Status\s+triggered")
        self.assertIn("host=db-1", out)
        self.assertIn("incident_triggered", out)
        shown = json.loads(self.ok("show", disk, "--json"))
        self.assertEqual(shown["incident"]["id"], disk)

        out = self.ok("ack", disk, "--note", "on it", "--actor", "alice")
        self.assertEqual(out.strip(), "%s acknowledged" % disk)
        out = self.ok("ack", disk)
        self.assertEqual(out.strip(), "%s unchanged: already acknowledged" % disk)
        incident = self.lk.incident(disk, self.tenant)
        self.assertEqual(incident["incident"]["acknowledged_by"], "alice")
        self.assertIn("on it", [e["note"] for e in incident["timeline"]])
        self.assertEqual(self.ok("resolve", disk, "--note", "cleaned up").strip(),
                         "%s resolved" % disk)
        answer = json.loads(self.ok("--json", "resolve", disk))
        self.assertFalse(answer["changed"])
        out = self.ok("incidents", "--status", "resolved")
        self.assertEqual([row[0] for row in self.rows(out)], [disk])

        # API errors: exit 1 with the error body on stderr
        status, out, err = self.ctl.run("ack", disk)
        self.assertEqual(status, 1, out + err)
        self.assertIn("HTTP 409", err)
        self.assertIn('"error"', err)
        status, out, err = self.ctl.run("show", "00000000-0000-4000-8000-000000000000")
        self.assertEqual(status, 1)
        self.assertIn("HTTP 404", err)
        # the acknowledgement timeout is a duration
        self.assertEqual(self.ok("ack", slow, "--timeout", "30m").strip(),
                         "%s acknowledged" % slow)

        # new alerts of one group in one request share one alert_added event
        answer = self.lk.post_alerts([{"name": "CtlFlood", "labels": {"host": "h%d" % i}}
                                      for i in range(3)], tenant=self.tenant)
        self.assertStatus(answer, 202, "POST /alerts")
        out = self.ok("show", answer.json["alerts"][0]["incident_id"])
        self.assertIn("alert_added (3 alerts)", out)

    def test_silences(self):
        out = self.ok("silences")
        self.assertEqual(out.strip(), "no silences")
        silence = self.ok("silences", "add", "--matcher", "alertname=Noisy",
                          "--matcher", "job=~api-.*", "--matcher", "env!=dev",
                          "--matcher", "team!~ops|sre", "--duration", "2h",
                          "--comment", "maintenance window", "--created-by", "alice").strip()
        self.assertTrue(lookout.is_uuid(silence), silence)
        stored = self.lk.get("/silences/" + silence, tenant=self.tenant).json
        self.assertEqual(stored["matchers"], [
            {"name": "alertname", "value": "Noisy", "isRegex": False, "isEqual": True},
            {"name": "job", "value": "api-.*", "isRegex": True, "isEqual": True},
            {"name": "env", "value": "dev", "isRegex": False, "isEqual": False},
            {"name": "team", "value": "ops|sre", "isRegex": True, "isEqual": False}])
        self.assertEqual(stored["createdBy"], "alice")
        ends = datetime.datetime.fromisoformat(stored["endsAt"].replace("Z", "+00:00"))
        starts = datetime.datetime.fromisoformat(stored["startsAt"].replace("Z", "+00:00"))
        self.assertAlmostEqual((ends - starts).total_seconds(), 7200, delta=30)

        rows = self.rows(self.ok("silences", "list"))
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0][:2], [silence, "active"])
        self.assertIn('alertname="Noisy"', rows[0][2])
        self.assertIn('job=~"api-.*"', rows[0][2])
        self.assertRegex(rows[0][4], r"^in 1h59m$|^in 2h$")
        self.assertEqual(rows[0][5:], ["alice", "maintenance window"])

        # a silenced alert is held, not an incident
        results = self.post({"name": "Noisy", "labels": {"job": "api-1", "env": "prod"}})
        self.assertIsNone(results[0]["incident_id"])

        out = self.ok("silences", "expire", silence)
        self.assertEqual(out.strip(), "%s expired" % silence)
        self.assertEqual(self.ok("silences").strip(), "no silences")
        rows = self.rows(self.ok("silences", "--all"))
        self.assertEqual(rows[0][:2], [silence, "expired"])
        listed = json.loads(self.ok("--json", "silences", "list", "--all"))
        self.assertEqual([s["id"] for s in listed["silences"]], [silence])

        # a silence that starts later, ending at a given time
        later = self.ok("silences", "add", "--matcher", "alertname=Later", "--start", "+1h",
                        "--end", "+3h").strip()
        rows = self.rows(self.ok("silences"))
        self.assertEqual(rows[0][:2], [later, "pending"])
        self.assertRegex(rows[0][3], r"^in (59m|1h)$")

        for bad in (["silences", "add", "--matcher", "no-operator", "--duration", "1h"],
                    ["silences", "add", "--matcher", "a=b"],
                    ["silences", "add", "--matcher", "a=b", "--duration", "soon"],
                    ["silences", "frobnicate"]):
            status, out, err = self.ctl.run(*bad)
            self.assertEqual(status, 2, "%s: %s %s" % (bad, out, err))
            self.assertIn("lookoutctl:", err)
        status, out, err = self.ctl.run("silences", "expire",
                                        "00000000-0000-4000-8000-000000000000")
        self.assertEqual(status, 1)
        self.assertIn("HTTP 404", err)

    def test_oncall(self):
        # the configuration's schedule belongs to the system tenant
        system = {"LOOKOUT_TENANT": lookout.SYSTEM_TENANT}
        now = datetime.datetime.now(datetime.timezone.utc)
        out = self.ok("oncall", env=system)
        self.assertIn("On call at ", out)
        rows = [r for r in self.rows(out.split("\n", 2)[2]) if r and r[0] == "primary"]
        self.assertEqual(len(rows), 1, out)
        self.assertEqual(rows[0][1], _on_call(now))
        self.assertEqual(rows[0][4], "no")
        self.assertIn("critical", out)
        self.assertIn("schedule:primary", out)
        # a day later the other one
        at = now + datetime.timedelta(days=1)
        out = self.ok("oncall", "--at", at.strftime("%Y-%m-%dT%H:%M:%SZ"), env=system)
        self.assertIn(" " + _on_call(at) + " ", out)
        data = json.loads(self.ok("oncall", "--at", "+24h", "--json", env=system))
        self.assertEqual(data["schedules"][0]["on_call"][0]["user"], _on_call(at))
        # another tenant has no schedules
        self.assertIn("no schedules", self.ok("oncall"))
        status, out, err = self.ctl.run("oncall", "--at", "tomorrow")
        self.assertEqual(status, 2)

    def test_tail(self):
        results = self.post({"name": "Before"})
        # history: every event of the tenant from the start
        out = self.ok("tail", "--since", "0", "--count", "2")
        lines = out.strip().split("\n")
        self.assertTrue(lines[0].startswith("AT"), out)
        self.assertEqual(len(lines), 3, out)
        self.assertIn("incident_triggered", lines[1])
        self.assertIn(results[0]["incident_id"], lines[1])
        self.assertIn("Before", lines[1])
        events = [json.loads(line) for line in
                  self.ok("--json", "tail", "--since", "0", "--count", "2").strip().split("\n")]
        self.assertEqual([e["event"]["type"] for e in events],
                         ["incident_triggered", "alert_added"])

        # live: a tail started before the alert shows it
        proc = subprocess.Popen([self.ctl.path, "--json", "tail", "--count", "1"],
                                env=self.ctl.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, preexec_fn=lookout._die_with_parent(9))
        try:
            deadline = time.monotonic() + 20 * lookout.TIME_SCALE
            incident = None
            while proc.poll() is None and time.monotonic() < deadline:
                # the stream starts "from now": keep posting until the tail sees one
                incident = self.post({"name": "Live%d" % int(time.monotonic() * 1000)}
                                     )[0]["incident_id"]
                try:
                    proc.wait(timeout=0.5)
                except subprocess.TimeoutExpired:
                    pass
            out, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 0, err)
        event = json.loads(out.decode().strip())
        self.assertEqual(event["event"]["type"], "incident_triggered")
        self.assertEqual(event["incident"]["tenant_id"], self.tenant)
        self.assertIsNotNone(incident)

        # a stream the API refuses is an API error
        status, out, err = self.ctl.run("tail", "--count", "1",
                                        env={"SERVICE_TOKEN": "wrong"}, timeout=15)
        self.assertEqual(status, 1)
        self.assertIn("HTTP 401", err)

    def test_configuration_and_exit_statuses(self):
        self.post({"name": "Configured"})
        # flags win over the environment
        status, out, err = self.ctl.run("--url", self.lk.url, "--tenant", self.tenant,
                                        "--token", self.lk.service_token, "incidents",
                                        env={"LOOKOUT_URL": "http://127.0.0.1:9",
                                             "LOOKOUT_TENANT": new_tenant(),
                                             "SERVICE_TOKEN": "wrong"})
        self.assertEqual(status, 0, err)
        self.assertIn("Configured", out)
        # LOOKOUT_TOKEN (a user JWT, from a file) comes before SERVICE_TOKEN; a JWT names its
        # tenant, so no LOOKOUT_TENANT is needed
        token_file = os.path.join(self.directory, "jwt")
        with open(token_file, "w") as f:
            f.write(self.lk.jwt(self.tenant, sub="carol") + "\n")
        out = self.ok("incidents", env={"LOOKOUT_TOKEN_FILE": token_file,
                                        "LOOKOUT_TENANT": "", "SERVICE_TOKEN": "wrong"})
        self.assertIn("Configured", out)
        out = self.ok("--token-file", token_file, "incidents", env={"LOOKOUT_TENANT": ""})
        self.assertIn("Configured", out)
        incident = json.loads(self.ok("--token-file", token_file, "--json", "incidents",
                                      env={"LOOKOUT_TENANT": ""}))["incidents"][0]["id"]
        self.ok("--token-file", token_file, "ack", incident, env={"LOOKOUT_TENANT": ""})
        self.assertEqual(self.lk.incident(incident, self.tenant)["incident"]["acknowledged_by"],
                         "carol")

        # 1: the API refused (body on stderr), or nobody answered
        status, out, err = self.ctl.run("incidents", env={"SERVICE_TOKEN": "wrong"})
        self.assertEqual(status, 1)
        self.assertRegex(err, r'HTTP 401: \{"error":')
        status, out, err = self.ctl.run("incidents", env={"LOOKOUT_TENANT": ""})
        self.assertEqual(status, 1)
        self.assertIn("HTTP 400", err)
        port = lookout.free_ports(1)[0]
        status, out, err = self.ctl.run("--url", "http://127.0.0.1:%d" % port, "incidents")
        self.assertEqual(status, 1)
        self.assertIn("no answer", err)
        # 2: usage
        for bad in ([], ["frobnicate"], ["show"], ["show", "a/b"], ["ack"],
                    ["incidents", "--limit", "0"], ["incidents", "--bogus"],
                    ["ack", "x", "--timeout", "soon"], ["tail", "--since", "-1"],
                    ["--url"]):
            status, out, err = self.ctl.run(*bad)
            self.assertEqual(status, 2, "%s: %s %s" % (bad, out, err))
        status, out, err = self.ctl.run("--help")
        self.assertEqual(status, 0)
        self.assertIn("usage: lookoutctl", out)


if __name__ == "__main__":
    lookout.main()
