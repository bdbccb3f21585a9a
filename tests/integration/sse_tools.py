"""A Server-Sent Events client for the GET /events tests, on a raw socket so a test controls
exactly when it reads (a slow client is one that stops reading).

SseStream(url, path, headers) connects, sends the request and reads the status line and
headers. start() then reads in a background thread, decoding chunked transfer encoding and the
text/event-stream format: events (dicts with "id", "event", "data" — data parsed as JSON when it
is JSON) and comments (": keepalive") are collected. wait_for() waits on a predicate over the
events seen; `ended` is set when the server closed the stream, `clean_end` when it did so with
the terminating zero-length chunk.
"""

import json
import socket
import threading
import time
import urllib.parse


class SseStream:

    def __init__(self, base_url, path, headers=None, rcvbuf=None, timeout=30.0):
        parts = urllib.parse.urlsplit(base_url)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            # set before connect, so the advertised window stays small
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((parts.hostname, parts.port))
        lines = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (parts.hostname, parts.port),
                 "Accept: text/event-stream"]
        for name, value in (headers or {}).items():
            lines.append("%s: %s" % (name, value))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buffer = b""
        self.status = None
        self.headers = {}
        self.body = b""  # the body of a non-200 answer
        self.events = []
        self.comments = []
        self.bytes_received = 0
        self.ended = threading.Event()
        self.clean_end = False
        self.error = None
        self.lock = threading.Condition()
        self.thread = None
        self._read_head()

    # -- raw reading --

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.bytes_received += len(data)
        self.buffer += data

    def _line(self):
        while b"\r\n" not in self.buffer:
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _exactly(self, size):
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _read_head(self):
        status_line = self._line().decode()
        self.status = int(status_line.split()[1])
        while True:
            line = self._line().decode()
            if not line:
                break
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        if self.status != 200:
            length = int(self.headers.get("content-length", "0"))
            self.body = self._exactly(length) if length else b""

    def json_body(self):
        return json.loads(self.body.decode()) if self.body else None

    # -- the event stream --

    def start(self):
        assert self.status == 200, "GET /events answered %d: %r" % (self.status, self.body)
        assert self.headers.get("content-type", "").startswith("text/event-stream")
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self):
        text = b""
        try:
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    self.clean_end = True
                    break
                text += self._exactly(size)
                self._exactly(2)  # CRLF after the chunk
                while b"\n\n" in text:
                    block, text = text.split(b"\n\n", 1)
                    self._dispatch(block.decode())
        except (EOFError, OSError, ValueError) as exc:
            self.error = exc
        finally:
            with self.lock:
                self.ended.set()
                self.lock.notify_all()

    def _dispatch(self, block):
        event = {}
        data = []
        for line in block.split("\n"):
            if line.startswith(":"):
                with self.lock:
                    self.comments.append(line[1:].strip())
                    self.lock.notify_all()
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data.append(value)
            elif name in ("id", "event", "retry"):
                event[name] = value
        if not data:
            return
        text = "\n".join(data)
        try:
            event["data"] = json.loads(text)
        except ValueError:
            event["data"] = text
        with self.lock:
            self.events.append(event)
            self.lock.notify_all()

    def wait_for(self, predicate, timeout=30.0):
        """Waits until predicate(events, comments) is true; returns it, or raises."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                result = predicate(self.events, self.comments)
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0 or self.ended.is_set():
                    raise AssertionError(
                        "SSE: condition not met (%d events, %d comments, ended=%s, error=%s)"
                        % (len(self.events), len(self.comments), self.ended.is_set(),
                           self.error))
                self.lock.wait(min(left, 0.2))

    def ids(self):
        with self.lock:
            return [int(e["id"]) for e in self.events if "id" in e]

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        if self.thread:
            self.thread.join(timeout=10)
