"""Helpers of the security tests (test_security_matrix.py, test_hostile_input.py,
test_malformed_internal.py): raw HTTP exchanges the urllib-based harness cannot make
(streams read for a while, trickled headers, oversized request lines), the route table as
ingest/routes.c declares it, and checks on process logs."""

import http.client
import os
import re
import socket
import tempfile
import time

import lookout

ROUTES_C = os.path.join(lookout.SOURCE_DIR, "ingest", "routes.c")
_ROUTE = re.compile(r'\{\s*"(GET|POST|PUT|DELETE|PATCH)"\s*,\s*"([^"]+)"\s*,\s*(ROUTE_AUTH_\w+)\s*,'
                    r'\s*(\w+)\s*\}')


def routes():
    """Every (method, pattern, auth, handler) of ingest/routes.c, in table order."""
    with open(ROUTES_C, encoding="utf-8") as f:
        text = f.read()
    found = [m.groups() for m in _ROUTE.finditer(text)]
    if len(found) < 10:
        raise AssertionError("could not read the route table from %s (%d routes)" % (
            ROUTES_C, len(found)))
    return found


def stream_request(url, method="GET", headers=None, body=None, read_s=1.0, max_bytes=1 << 20):
    """Sends one request and reads the answer for at most read_s seconds (for event streams
    that never end). Returns (status, headers with lower-case names, body bytes read)."""
    parsed = lookout.urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        path = parsed.path + ("?" + parsed.query if parsed.query else "")
        conn.request(method, path, body=body, headers=headers or {})
        sock = conn.sock
        answer = conn.getresponse()
        head = {k.lower(): v for k, v in answer.getheaders()}
        data = b""
        deadline = time.monotonic() + read_s
        try:
            sock.settimeout(0.2)  # a stream that never ends is read for read_s only
        except OSError:
            pass  # already closed: the answer is complete
        while len(data) < max_bytes and time.monotonic() < deadline:
            try:
                chunk = answer.read1(65536)
            except (socket.timeout, TimeoutError):
                continue
            except (http.client.HTTPException, OSError):
                break
            if not chunk:
                break
            data += chunk
        return answer.status, head, data
    finally:
        conn.close()


def raw_exchange(port, payload, timeout=30.0, host="127.0.0.1"):
    """Writes payload (bytes) on a fresh connection and reads until the server closes it or
    timeout passes. Returns the bytes read (b"" when the server closed without answering)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        try:
            sock.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(timeout)
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            data += chunk
        return data


def raw_status(data):
    """The HTTP status code of a raw answer, or None."""
    match = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return int(match.group(1)) if match else None


def write_file(text, name):
    directory = tempfile.mkdtemp(prefix="lookout-sec-")
    lookout._temp_dirs.append(directory)
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


CRASH_MARKERS = ("AddressSanitizer", "UndefinedBehaviorSanitizer", "runtime error:",
                 "Assertion", "assertion", "Segmentation fault", "SIGSEGV", "SIGABRT",
                 "stack-buffer", "heap-buffer", "LeakSanitizer", " fatal:")


def assert_alive_and_clean(test, cluster):
    """Every program of the cluster still runs and no log line reports a crash, a sanitizer
    finding or a fatal error."""
    for name, proc in cluster.procs.items():
        test.assertIsNone(proc.poll(), "%s exited with status %s" % (name, proc.returncode))
    for name in cluster.procs:
        path = os.path.join(cluster.log_dir, name + ".log")
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        for marker in CRASH_MARKERS:
            test.assertNotIn(marker, text, "%s's log reports %r" % (name, marker))
