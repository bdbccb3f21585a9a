"""A minimal headless Chromium driver for the integration tests: standard library only.

Starts Debian's `chromium` headless with a fresh profile and a DevTools port, and speaks the
Chrome DevTools Protocol to one page over a WebSocket written by hand (RFC 6455 handshake,
masked client frames, fragmented and control frames from the server).

    browser = Browser.start(tmp_dir)            # raises BrowserError when it cannot start
    page = browser.page()
    page.viewport(390, 844, mobile=True)
    page.navigate("http://127.0.0.1:18013/status/acme")
    page.wait_for("document.body.dataset.state === 'ready'", timeout=20)
    page.evaluate("document.title")
    page.screenshot("/tmp/shot.png")
    browser.close()
"""

import base64
import ctypes
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
    "--disable-dev-shm-usage", "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]


class BrowserError(Exception):
    """Chromium is missing, does not start, or the protocol failed."""


def _die_with_parent():
    """In the child: be killed when the test process dies, whatever way it dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise BrowserError("chromium not found (scripts/deps.sh installs Debian's chromium)")


class WebSocket:
    """A client WebSocket (text frames only) on a blocking socket."""

    def __init__(self, url, timeout=30.0):
        parts = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        path = parts.path + ("?" + parts.query if parts.query else "")
        request = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n" % (path, parts.hostname, parts.port, key))
        self.sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise BrowserError("WebSocket handshake: connection closed")
            head += chunk
        head, self.buffer = head.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            raise BrowserError("WebSocket handshake refused: %r" % status)

    def send(self, text):
        payload = text.encode()
        header = bytes([0x81])  # FIN, text
        length = len(payload)
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", length)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", length)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _read(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(max(65536, count - len(self.buffer)))
            if not chunk:
                raise BrowserError("WebSocket closed by the browser")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def _frame(self):
        first, second = self._read(2)
        opcode = first & 0x0F
        length = second & 0x7F
        if length == 126:
            length = struct.unpack(">H", self._read(2))[0]
        elif length == 127:
            length = struct.unpack(">Q", self._read(8))[0]
        mask = self._read(4) if second & 0x80 else None
        payload = self._read(length)
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return bool(first & 0x80), opcode, payload

    def receive(self):
        """The next text message (control frames are handled on the way)."""
        message = b""
        while True:
            fin, opcode, payload = self._frame()
            if opcode == 0x9:  # ping: answer with the same payload
                frame = bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload
                self.sock.sendall(frame)
                continue
            if opcode == 0xA:
                continue
            if opcode == 0x8:
                raise BrowserError("WebSocket closed by the browser")
            message += payload
            if fin:
                return message.decode("utf-8", "replace")

    def close(self):
        try:
            self.sock.sendall(bytes([0x88, 0x80]) + b"\0\0\0\0")
        except OSError:
            pass
        self.sock.close()


class Page:
    """One page target, driven over its own DevTools WebSocket."""

    def __init__(self, ws_url):
        self.ws = WebSocket(ws_url)
        self.next_id = 0
        self.events = []
        self.call("Page.enable")
        self.call("Runtime.enable")

    def call(self, method, timeout=30.0, **params):
        self.next_id += 1
        ident = self.next_id
        self.ws.sock.settimeout(timeout)
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == ident:
                if "error" in message:
                    raise BrowserError("%s: %s" % (method, message["error"]))
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)
                del self.events[:-1000]

    def evaluate(self, expression, timeout=30.0):
        """The JSON value of a JavaScript expression (promises are awaited)."""
        result = self.call("Runtime.evaluate", timeout=timeout, expression=expression,
                           returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError("%s: %s" % (expression, result["exceptionDetails"]))
        return result.get("result", {}).get("value")

    def viewport(self, width, height, mobile=False, scale=1):
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=scale, mobile=mobile)

    def navigate(self, url):
        self.call("Page.navigate", url=url)

    def wait_for(self, expression, timeout=20.0, interval=0.1):
        """Waits until expression is truthy; returns its value. Raises AssertionError with the
        last value on timeout."""
        deadline = time.monotonic() + timeout
        value = None
        while True:
            try:
                value = self.evaluate(expression)
            except BrowserError as exc:
                value = str(exc)
            if value and not (isinstance(value, str) and value.startswith("Runtime.evaluate")):
                return value
            if time.monotonic() > deadline:
                raise AssertionError("timed out after %.0f s waiting for %s (last: %r)"
                                     % (timeout, expression, value))
            time.sleep(interval)

    def console_errors(self):
        """Exceptions and console errors the page reported so far."""
        found = []
        for event in self.events:
            if event["method"] == "Runtime.exceptionThrown":
                found.append(json.dumps(event["params"]["exceptionDetails"])[:500])
            elif (event["method"] == "Runtime.consoleAPICalled"
                  and event["params"].get("type") == "error"):
                found.append(json.dumps(event["params"].get("args"))[:500])
        return found

    def screenshot(self, path, full_page=True):
        """Saves a PNG of the page (its whole height when full_page) and returns path."""
        if full_page:
            size = self.evaluate("[document.documentElement.clientWidth, "
                                 "Math.ceil(document.documentElement.scrollHeight)]")
            clip = {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}
            data = self.call("Page.captureScreenshot", format="png", clip=clip,
                             captureBeyondViewport=True)["data"]
        else:
            data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as out:
            out.write(base64.b64decode(data))
        return path

    def close(self):
        self.ws.close()


class Browser:
    """A headless Chromium with a fresh profile in its own temporary directory."""

    def __init__(self, proc, profile, port):
        self.proc = proc
        self.profile = profile
        self.port = port
        self.pages = []

    @classmethod
    def start(cls, parent_dir=None, timeout=30.0):
        binary = find_chromium()
        profile = tempfile.mkdtemp(prefix="chromium-", dir=parent_dir)
        log = open(os.path.join(profile, "chromium.log"), "wb")
        proc = subprocess.Popen([binary] + FLAGS + ["--user-data-dir=" + profile, "about:blank"],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=_die_with_parent)
        log.close()
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.monotonic() + timeout
        port = None
        while port is None:
            if proc.poll() is not None:
                raise BrowserError("chromium exited with %s: %s" % (
                    proc.returncode, cls._log_tail(profile)))
            try:
                with open(port_file, encoding="utf-8") as f:
                    first = f.readline().strip()
                port = int(first) if first else None
            except (OSError, ValueError):
                port = None
            if port is None:
                if time.monotonic() > deadline:
                    cls._kill(proc)
                    raise BrowserError("chromium did not open its DevTools port within %.0f s: %s"
                                       % (timeout, cls._log_tail(profile)))
                time.sleep(0.1)
        return cls(proc, profile, port)

    @staticmethod
    def _log_tail(profile):
        try:
            with open(os.path.join(profile, "chromium.log"), "rb") as f:
                return f.read()[-2000:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    @staticmethod
    def _kill(proc):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.wait()

    def _json(self, path, method="GET"):
        request = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path),
                                         method=method)
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read().decode())

    def version(self):
        return self._json("/json/version")

    def page(self):
        """A new page target (about:blank)."""
        target = self._json("/json/new?about:blank", method="PUT")
        page = Page(target["webSocketDebuggerUrl"])
        self.pages.append(page)
        return page

    def close(self):
        for page in self.pages:
            page.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._kill(self.proc)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # helpers (zygote, renderers) too
        except OSError:
            pass
        shutil.rmtree(self.profile, ignore_errors=True)
