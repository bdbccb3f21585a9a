"""Helpers for the ecosystem intake tests (Prometheus, Alertmanager, PagerDuty): a Lookout
configuration with integration keys, a tiny Prometheus exporter whose gauge a test flips, and
real Prometheus / Alertmanager servers started from the Debian packages. Standard library only.

Servers started here are children of the test and are stopped by the test's cleanup; a server
that cannot start fails the test (never skips it)."""

import http.server
import json
import os
import secrets
import shutil
import signal
import string
import subprocess
import tempfile
import threading
import time

import lookout

PROMETHEUS_BINARIES = ("/usr/bin/prometheus",)
ALERTMANAGER_BINARIES = ("/usr/bin/prometheus-alertmanager", "/usr/bin/alertmanager")


def routing_key():
    """A fresh 32-character integration key (letters and digits, like PagerDuty's)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


def write_config(test, integrations):
    """Writes a Lookout YAML file with an `integrations:` section (list of dicts with name,
    routing_key, tenant) into a temporary directory removed after the test; returns its
    path, for LOOKOUT_CONFIG."""
    directory = tempfile.mkdtemp(prefix="lookout-intake-")
    test.addCleanup(shutil.rmtree, directory, True)
    path = os.path.join(directory, "lookout.yaml")
    lines = ["integrations:"]
    for entry in integrations:
        lines.append("  - name: %s" % entry["name"])
        lines.append("    routing_key: %s" % entry["routing_key"])
        lines.append("    tenant: %s" % entry["tenant"])
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def wait_until(what, predicate, timeout_s=30.0, interval_s=0.2):
    """Calls predicate until it returns something true; returns that. Fails with what and
    the last value after timeout_s (scaled for sanitizer builds)."""
    deadline = time.monotonic() + timeout_s * lookout.TIME_SCALE
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s (last: %r)" % (
                timeout_s * lookout.TIME_SCALE, what, last))
        time.sleep(interval_s)


def find_incidents(lk, tenant, alertname, status=None):
    """The tenant's incidents whose group label alertname is alertname (newest first)."""
    query = "label.alertname=" + alertname + ("&status=" + status if status else "")
    return lk.incidents(tenant, query)


# ---- a Prometheus exporter --------------------------------------------------------------------

class Exporter:
    """Serves /metrics in the Prometheus text format with one gauge the test sets."""

    def __init__(self, test, metric="lookout_intake_test_gauge"):
        self.metric = metric
        self.value = 0.0
        self.scrapes = 0
        exporter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                exporter.scrapes += 1
                body = ("# HELP %s A value the test flips.\n# TYPE %s gauge\n%s %s\n" % (
                    exporter.metric, exporter.metric, exporter.metric,
                    repr(exporter.value))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.port = lookout.free_ports(1)[0]
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        test.addCleanup(self.stop)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ---- servers from the Debian packages ---------------------------------------------------------

def _binary(candidates, package):
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise AssertionError("%s is not installed (Debian package %s; scripts/deps.sh installs it)"
                         % (candidates[0], package))


class Server:
    """A child process with its log in a temporary directory; stopped by the test's cleanup."""

    def __init__(self, test, name, argv, directory, ready_url, timeout_s=30.0):
        self.name = name
        self.directory = directory
        self.log_path = os.path.join(directory, name + ".log")
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(argv, cwd=directory, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT,
                                     preexec_fn=lookout._die_with_parent(signal.SIGKILL))
        log.close()
        test.addCleanup(self.stop)
        deadline = time.monotonic() + timeout_s * lookout.TIME_SCALE
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("%s exited with status %s during start-up:\n%s" % (
                    name, self.proc.returncode, self.log_tail()))
            try:
                if lookout.http_request(ready_url, timeout=2).status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("%s did not become ready at %s:\n%s" % (
                    name, ready_url, self.log_tail()))
            time.sleep(0.2)

    def log_tail(self, lines=60):
        try:
            with open(self.log_path, "rb") as f:
                return b"".join(f.readlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _yaml_string(text):
    """A double-quoted YAML scalar (JSON strings are valid YAML)."""
    return json.dumps(text)


def start_prometheus(test, exporter, rules_yaml, alertmanagers):
    """Starts Prometheus scraping exporter every second, evaluating rules_yaml (a rule file's
    text) every second and notifying each of alertmanagers, a list of (host:port,
    bearer credentials). Returns the Server with .url."""
    binary = _binary(PROMETHEUS_BINARIES, "prometheus")
    directory = tempfile.mkdtemp(prefix="lookout-prometheus-")
    test.addCleanup(shutil.rmtree, directory, True)
    with open(os.path.join(directory, "rules.yml"), "w", encoding="utf-8") as f:
        f.write(rules_yaml)
    lines = [
        "global:",
        "  scrape_interval: 1s",
        "  evaluation_interval: 1s",
        "  external_labels:",
        "    cluster: it",
        "rule_files: [rules.yml]",
        "scrape_configs:",
        "  - job_name: exporter",
        "    static_configs:",
        "      - targets: ['127.0.0.1:%d']" % exporter.port,
        "alerting:",
        "  alertmanagers:",
    ]
    for target, credentials in alertmanagers:
        lines += [
            "    - api_version: v2",
            "      timeout: 5s",
            "      authorization:",
            "        type: Bearer",
            "        credentials: %s" % _yaml_string(credentials),
            "      static_configs:",
            "        - targets: ['%s']" % target,
        ]
    with open(os.path.join(directory, "prometheus.yml"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    port = lookout.free_ports(1)[0]
    url = "http://127.0.0.1:%d" % port
    server = Server(test, "prometheus", [
        binary, "--config.file=prometheus.yml", "--storage.tsdb.path=data",
        "--web.listen-address=127.0.0.1:%d" % port,
        # re-send firing alerts every second (default 1m) and evaluate "for" exactly
        "--rules.alert.resend-delay=1s", "--rules.alert.for-grace-period=1s",
        "--log.level=debug",
    ], directory, url + "/-/ready")
    server.url = url
    return server


def start_alertmanager(test, webhook_url, credentials, group_by=("alertname",)):
    """Starts Alertmanager (no clustering) routing every alert to a webhook receiver at
    webhook_url with Bearer credentials, sending resolved notifications too, with the
    shortest waits. Returns the Server with .url."""
    binary = _binary(ALERTMANAGER_BINARIES, "prometheus-alertmanager")
    directory = tempfile.mkdtemp(prefix="lookout-alertmanager-")
    test.addCleanup(shutil.rmtree, directory, True)
    config = "\n".join([
        "route:",
        "  receiver: lookout",
        "  group_by: [%s]" % ", ".join(group_by),
        "  group_wait: 0s",
        "  group_interval: 1s",
        "  repeat_interval: 1h",
        "receivers:",
        "  - name: lookout",
        "    webhook_configs:",
        "      - url: %s" % _yaml_string(webhook_url),
        "        send_resolved: true",
        "        http_config:",
        "          authorization:",
        "            type: Bearer",
        "            credentials: %s" % _yaml_string(credentials),
    ]) + "\n"
    with open(os.path.join(directory, "alertmanager.yml"), "w", encoding="utf-8") as f:
        f.write(config)
    port = lookout.free_ports(1)[0]
    url = "http://127.0.0.1:%d" % port
    server = Server(test, "alertmanager", [
        binary, "--config.file=alertmanager.yml", "--storage.path=data",
        "--web.listen-address=127.0.0.1:%d" % port, "--cluster.listen-address=",
        "--log.level=debug",
    ], directory, url + "/-/ready")
    server.url = url
    return server
