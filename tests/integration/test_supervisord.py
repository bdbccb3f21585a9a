"""supervisord.conf scaling, run exactly as README "Scaling under supervisord" documents:
spare ingest copies (lookout-ingest-extra) share the HTTP port with lookout-ingest through
SO_REUSEPORT and both serve requests; spare notify workers (lookout-notify-extra) start and
stop on their own while everything runs; a new numprocs for lookout-notify applied with
`supervisorctl update`; every copy serves metrics on its base port plus its process number.
The test runs a copy of the repository's supervisord.conf (so it can edit numprocs) with the
harness's supervised cluster."""

import os
import re
import shutil
import tempfile
import time

import lookout
import prom_tools
from lookout import new_tenant


class SupervisordTest(lookout.LookoutTestCase):

    def setUp(self):
        # the harness runs SOURCE_DIR/supervisord.conf: point it at an editable copy
        self.conf_dir = tempfile.mkdtemp(prefix="lookout-supervisord-")
        lookout._temp_dirs.append(self.conf_dir)
        shutil.copy(os.path.join(lookout.SOURCE_DIR, "supervisord.conf"), self.conf_dir)
        self.conf = os.path.join(self.conf_dir, "supervisord.conf")
        saved = lookout.SOURCE_DIR
        lookout.SOURCE_DIR = self.conf_dir
        self.addCleanup(setattr, lookout, "SOURCE_DIR", saved)

    def start(self):
        ports = lookout.free_ports(3)
        self.ingest_base = prom_tools.consecutive_free_ports(4)
        self.notify_base = prom_tools.consecutive_free_ports(8)
        env = {
            "LOOKOUT_NOTIFY_JOBS_ENDPOINT": "tcp://127.0.0.1:%d" % ports[0],
            "LOOKOUT_NOTIFY_RESULTS_ENDPOINT": "tcp://127.0.0.1:%d" % ports[1],
            "LOOKOUT_INGEST_METRICS_PORT": str(self.ingest_base),
            "LOOKOUT_NOTIFY_METRICS_PORT": str(self.notify_base),
            "LOOKOUT_STORE_METRICS_PORT": "0",
            "LOOKOUT_CORRELATE_METRICS_PORT": "0",
            "LOOKOUT_ESCALATE_METRICS_PORT": str(ports[2]),
            "LOOKOUT_PUBLISH_METRICS_PORT": "0",
        }
        self.lk = self.start_lookout(supervised=True, env=env)
        return self.lk

    def metrics(self, port):
        """The parsed exposition on port, or None when nothing answers there."""
        try:
            answer, parsed = prom_tools.scrape("http://127.0.0.1:%d/metrics" % port)
        except OSError:
            return None
        return parsed if answer.status == 200 else None

    def wait_metrics(self, port, up=True, timeout=30.0):
        deadline = time.monotonic() + timeout * lookout.TIME_SCALE
        while time.monotonic() < deadline:
            if (self.metrics(port) is not None) == up:
                return
            time.sleep(0.1)
        self.fail("metrics port %d %s within %.0f s" % (port, "never answered" if up else
                                                        "still answers", timeout))

    def running(self, pattern):
        """Names of RUNNING processes whose name matches pattern."""
        out = self.lk.supervisorctl("status")
        return sorted(line.split()[0] for line in out.splitlines()
                      if len(line.split()) > 1 and line.split()[1] == "RUNNING" and
                      re.search(pattern, line.split()[0]))

    def wait_running(self, pattern, count, timeout=30.0):
        deadline = time.monotonic() + timeout * lookout.TIME_SCALE
        while time.monotonic() < deadline:
            found = self.running(pattern)
            if len(found) == count:
                return found
            time.sleep(0.2)
        self.fail("expected %d RUNNING %s, status:\n%s" % (count, pattern,
                                                           self.lk.supervisorctl("status")))

    @staticmethod
    def requests_served(parsed):
        return sum(v for name, labels, v in parsed["samples"]
                   if name == "lookout_http_requests_total" and labels.get("route") == "/alerts")

    # ------------------------------------------------------------------------------------------

    def test_two_ingest_copies_share_the_port(self):
        lk = self.start()
        self.wait_metrics(self.ingest_base)
        self.assertIsNone(self.metrics(self.ingest_base + 1))  # spare copies start stopped
        out = lk.supervisorctl("start", "lookout-ingest-extra:lookout-ingest-extra_01")
        self.assertIn("started", out)
        self.wait_running(r"^lookout-ingest", 2)
        self.wait_metrics(self.ingest_base + 1)
        # new connections spread over both listeners: post until both have answered some
        tenant = new_tenant()
        deadline = time.monotonic() + 60 * lookout.TIME_SCALE
        served = (0, 0)
        n = 0
        while time.monotonic() < deadline:
            n += 1
            answer, _ = lk.post_alerts_until_accepted({"name": "Spread%d" % (n % 5)},
                                                       tenant=tenant)
            self.assertStatus(answer, 202)
            if n % 10 == 0:
                served = tuple(self.requests_served(self.metrics(self.ingest_base + i))
                               for i in (0, 1))
                if min(served) > 0:
                    break
        self.assertGreater(min(served), 0, "after %d requests, served per copy: %r" % (
            n, served))
        # the second copy stops on its own; the port keeps serving
        lk.supervisorctl("stop", "lookout-ingest-extra:*")
        self.wait_metrics(self.ingest_base + 1, up=False)
        answer, _ = lk.post_alerts_until_accepted({"name": "AfterStop"}, tenant=tenant)
        self.assertStatus(answer, 202)
        self.assertEqual(lk.state("lookout-ingest"), "RUNNING")

    def test_scaling_notify_workers(self):
        lk = self.start()
        workers = self.wait_running(r"^lookout-notify", 2)
        self.assertEqual(workers, ["lookout-notify:lookout-notify_00",
                                   "lookout-notify:lookout-notify_01"])
        for offset in (0, 1):
            self.wait_metrics(self.notify_base + offset)
        # up, without touching the running workers: the spare group
        pids = {name: lk.supervisorctl("pid", name).strip() for name in workers}
        out = lk.supervisorctl("start", "lookout-notify-extra:*")
        self.assertEqual(out.count("started"), 6, out)
        self.wait_running(r"^lookout-notify", 8)
        for offset in range(2, 8):
            self.wait_metrics(self.notify_base + offset)
        self.assertEqual({name: lk.supervisorctl("pid", name).strip() for name in workers}, pids)
        # down again
        lk.supervisorctl("stop", "lookout-notify-extra:lookout-notify-extra_05",
                         "lookout-notify-extra:lookout-notify-extra_06",
                         "lookout-notify-extra:lookout-notify-extra_07")
        self.wait_running(r"^lookout-notify", 5)
        self.wait_metrics(self.notify_base + 7, up=False)
        lk.supervisorctl("stop", "lookout-notify-extra:*")
        self.wait_running(r"^lookout-notify", 2)

        # a new permanent count: edit numprocs, then supervisorctl update
        with open(self.conf, encoding="utf-8") as f:
            text = f.read()
        section = text.index("\n[program:lookout-notify]\n")
        end = text.index("\n[program:", section + 1)
        edited = text[section:end].replace("numprocs=2\n", "numprocs=3\n", 1)
        self.assertNotEqual(edited, text[section:end], "numprocs=2 not found")
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(text[:section] + edited + text[end:])
        out = lk.supervisorctl("update", "lookout-notify")
        self.assertIn("lookout-notify", out)
        workers = self.wait_running(r"^lookout-notify:", 3)
        self.assertEqual(workers[-1], "lookout-notify:lookout-notify_02")
        self.wait_metrics(self.notify_base + 2)
        # and back to one
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(text[:section] + text[section:end].replace("numprocs=2\n", "numprocs=1\n", 1)
                    + text[end:])
        lk.supervisorctl("update", "lookout-notify")
        self.assertEqual(self.wait_running(r"^lookout-notify:", 1),
                         ["lookout-notify:lookout-notify_00"])
        self.wait_metrics(self.notify_base + 1, up=False)
        # the rest of the service was not touched
        for name in ("lookout-store", "lookout-correlate", "lookout-ingest"):
            self.assertEqual(lk.state(name), "RUNNING")


if __name__ == "__main__":
    lookout.main()
