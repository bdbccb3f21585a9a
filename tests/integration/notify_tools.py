"""Helpers for the notification tests: local HTTP receivers standing in for Slack, Discord,
PagerDuty, Twilio, webhooks and Deckhand; a real SMTP server (aiosmtpd); and the notify
programs (lookout-escalate, lookout-notify workers) started next to a harness Cluster.

Standard library only (the SMTP server runs under the interpreter that has Debian's
python3-aiosmtpd; see SmtpSink).
"""

import base64
import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import lookout

HERE = os.path.dirname(os.path.abspath(__file__))


# ---- HTTP receivers ---------------------------------------------------------------------------

class Received:
    """One request a receiver got: method, path, headers (lower-case names), body (bytes),
    json / form (parsed when they parse), at (time.time() on arrival), done (answered)."""

    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.at = time.time()
        self.done = False
        self.status = None
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except (ValueError, UnicodeDecodeError):
            self.json = None
        self.form = None
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            self.form = dict(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))

    def __repr__(self):
        return "<%s %s at %.3f: %s>" % (self.method, self.path, self.at,
                                        self.body[:200].decode("utf-8", "replace"))


class Receiver:
    """A threaded HTTP/1.1 server on 127.0.0.1 that records every request and answers by the
    rules given per path (respond()); by default 200 {"ok": true}."""

    def __init__(self):
        self.port = lookout.free_ports(1)[0]
        self.lock = threading.Lock()
        self.requests = []
        self.rules = {}  # path → list of answers; the last one repeats
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body leave in two writes: without this, Nagle's algorithm holds the
            # body until the client's delayed ACK (40 ms per request on Linux)
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                path = self.path.split("?", 1)[0]
                record = Received(self.command, path, headers, body)
                with receiver.lock:
                    receiver.requests.append(record)
                    answers = receiver.rules.get(path) or [{}]
                    answer = answers.pop(0) if len(answers) > 1 else answers[0]
                if answer.get("delay"):
                    time.sleep(answer["delay"])
                status = answer.get("status", 200)
                payload = answer.get("body", b'{"ok": true}')
                try:
                    self.send_response(status)
                    for name, value in answer.get("headers", {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    record.status = status
                    record.done = True
                except OSError:
                    pass  # the client went away (a killed worker)

            do_PUT = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def respond(self, path, *answers):
        """Answers for path in order (dicts: status, headers, body, delay); the last one
        repeats."""
        with self.lock:
            self.rules[path] = [dict(a) for a in answers]

    def received(self, path=None, predicate=None):
        with self.lock:
            found = list(self.requests)
        return [r for r in found
                if (path is None or r.path == path) and (predicate is None or predicate(r))]

    def wait_for(self, path, count, timeout=20.0, predicate=None):
        """Waits until path has received at least count requests (matching predicate)."""
        deadline = time.monotonic() + timeout * lookout.TIME_SCALE
        while True:
            found = self.received(path, predicate)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError("%s received %d requests, expected %d within %.0f s: %r" % (
                    path, len(found), count, timeout, found[-5:]))
            time.sleep(0.02)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ---- SMTP ------------------------------------------------------------------------------------

def _aiosmtpd_python():
    """An interpreter that can import aiosmtpd (Debian's package installs it for the system
    python3, which need not be the one running the tests)."""
    candidates = [sys.executable, "/usr/bin/python3"]
    for candidate in candidates:
        if not os.path.exists(candidate):
            continue
        probe = subprocess.run([candidate, "-c", "import aiosmtpd"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        if probe.returncode == 0:
            return candidate
    raise lookout.HarnessError("no python3 with aiosmtpd (scripts/deps.sh installs "
                               "python3-aiosmtpd)")


class SmtpSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1; messages() parses what it accepted."""

    def __init__(self, directory, log_dir):
        self.port = lookout.free_ports(1)[0]
        self.path = os.path.join(directory, "smtp-messages.jsonl")
        log = open(os.path.join(log_dir, "smtp-sink.log"), "ab")
        self.proc = subprocess.Popen(
            [_aiosmtpd_python(), os.path.join(HERE, "smtp_sink.py"), str(self.port), self.path],
            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
            preexec_fn=lookout._die_with_parent(signal.SIGKILL))
        log.close()
        line = self.proc.stdout.readline().decode().strip()
        if line != "ready":
            self.proc.kill()
            raise AssertionError("the SMTP server did not start (%r); see smtp-sink.log" % line)

    def messages(self):
        """[(record, parsed email.message.EmailMessage)] in arrival order."""
        try:
            with open(self.path, encoding="utf-8") as f:
                records = [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []
        return [(r, email.message_from_string(r["data"], policy=email.policy.default))
                for r in records]

    def wait_for(self, count, timeout=20.0):
        deadline = time.monotonic() + timeout * lookout.TIME_SCALE
        while True:
            found = self.messages()
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError("SMTP server got %d messages, expected %d" % (
                    len(found), count))
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def mail_parts(message):
    """(plain text, html) of a multipart/alternative notification email."""
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return (plain.get_content() if plain else None, html.get_content() if html else None)


def basic_auth(received):
    """(user, password) of a request's Basic Authorization header, or None."""
    value = received.headers.get("authorization", "")
    if not value.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    return user, password


# ---- the notify programs ---------------------------------------------------------------------

class NotifyPrograms:
    """lookout-escalate and N lookout-notify workers started with a Cluster's environment
    (plus env), logging into its log directory. stop() sends SIGTERM and records unclean
    exits in cluster.unclean_exits."""

    def __init__(self, cluster, workers=2, env=None):
        self.cluster = cluster
        self.env = dict(cluster.env, **(env or {}))
        self.procs = {}
        self.start("lookout-escalate")
        for index in range(workers):
            self.start("lookout-notify", "lookout-notify_%02d" % index)

    def start(self, program, name=None):
        name = name or program
        log = open(os.path.join(self.cluster.log_dir, name + ".log"), "ab")
        self.procs[name] = subprocess.Popen(
            [lookout.find_binary(program)], env=self.env, cwd=self.cluster.dir,
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=lookout._die_with_parent(signal.SIGKILL))
        log.close()
        return self.procs[name]

    def check_alive(self):
        for name, proc in self.procs.items():
            if proc.poll() is not None and proc.returncode != -signal.SIGKILL:
                raise AssertionError("%s exited with status %s; its log:\n%s" % (
                    name, proc.returncode,
                    lookout._tail(os.path.join(self.cluster.log_dir, name + ".log"), 60)))

    def wait_log(self, name, text, timeout=30.0):
        """Waits until the program's log contains text."""
        path = os.path.join(self.cluster.log_dir, name + ".log")
        deadline = time.monotonic() + timeout * lookout.TIME_SCALE
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    if text in f.read():
                        return
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        raise AssertionError("%s did not log %r within %.0f s" % (name, text, timeout))

    def log(self, name):
        with open(os.path.join(self.cluster.log_dir, name + ".log"), encoding="utf-8",
                  errors="replace") as f:
            return f.read()

    def kill(self, name):
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait()

    def stop(self):
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                if proc.returncode not in (0, -signal.SIGKILL):
                    self.cluster.unclean_exits.append("%s had exited with status %s" % (
                        name, proc.returncode))
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15 * lookout.TIME_SCALE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                self.cluster.unclean_exits.append("%s did not exit on SIGTERM" % name)
                continue
            if proc.returncode != 0:
                self.cluster.unclean_exits.append("%s exited with status %s on SIGTERM" % (
                    name, proc.returncode))
