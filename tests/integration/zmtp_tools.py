"""Just enough ZeroMQ (ZMTP 3.1, NULL mechanism) and msgpack, in the standard library, to talk
to Lookout's internal sockets from a test: as a client (DEALER to a ROUTER, PUSH to a PULL)
or as a server that a process connects to (PUSH that a worker's PULL connects to, PUB that a
SUB connects to, PULL for a worker's results). Enough for sending well-formed, malformed and
wrong-type messages and reading replies; not a general ZeroMQ implementation."""

import queue
import socket
import struct
import threading
import time

# ---- msgpack -------------------------------------------------------------------------------


def pack(value):
    """msgpack of None, bool, int, float, str, bytes, list/tuple, dict."""
    if value is None:
        return b"\xc0"
    if value is True:
        return b"\xc3"
    if value is False:
        return b"\xc2"
    if isinstance(value, int):
        if 0 <= value < 128:
            return bytes([value])
        if -32 <= value < 0:
            return struct.pack("b", value)
        if 0 <= value < 2 ** 64:
            return b"\xcf" + struct.pack(">Q", value)
        return b"\xd3" + struct.pack(">q", value)
    if isinstance(value, float):
        return b"\xcb" + struct.pack(">d", value)
    if isinstance(value, str):
        data = value.encode("utf-8")
        return (b"\xdb" + struct.pack(">I", len(data))) + data
    if isinstance(value, (bytes, bytearray)):
        return b"\xc6" + struct.pack(">I", len(value)) + bytes(value)
    if isinstance(value, (list, tuple)):
        return b"\xdd" + struct.pack(">I", len(value)) + b"".join(pack(v) for v in value)
    if isinstance(value, dict):
        return b"\xdf" + struct.pack(">I", len(value)) + b"".join(
            pack(k) + pack(v) for k, v in value.items())
    raise TypeError("cannot pack %r" % type(value))


def unpack(data):
    """Decodes one msgpack object (the common types); raises ValueError otherwise."""
    value, offset = _unpack(data, 0)
    if offset != len(data):
        raise ValueError("trailing bytes")
    return value


def _unpack(data, i):
    b = data[i]
    i += 1
    if b <= 0x7f:
        return b, i
    if b >= 0xe0:
        return b - 0x100, i
    if 0x80 <= b <= 0x8f:
        return _map(data, i, b & 0x0f)
    if 0x90 <= b <= 0x9f:
        return _array(data, i, b & 0x0f)
    if 0xa0 <= b <= 0xbf:
        n = b & 0x1f
        return data[i:i + n].decode("utf-8", "replace"), i + n
    fixed = {0xc0: None, 0xc2: False, 0xc3: True}
    if b in fixed:
        return fixed[b], i
    sizes = {0xcc: ">B", 0xcd: ">H", 0xce: ">I", 0xcf: ">Q", 0xd0: ">b", 0xd1: ">h",
             0xd2: ">i", 0xd3: ">q", 0xca: ">f", 0xcb: ">d"}
    if b in sizes:
        fmt = sizes[b]
        n = struct.calcsize(fmt)
        return struct.unpack(fmt, data[i:i + n])[0], i + n
    lengths = {0xd9: ">B", 0xda: ">H", 0xdb: ">I", 0xc4: ">B", 0xc5: ">H", 0xc6: ">I"}
    if b in lengths:
        fmt = lengths[b]
        n = struct.calcsize(fmt)
        size = struct.unpack(fmt, data[i:i + n])[0]
        i += n
        raw = data[i:i + size]
        return (raw.decode("utf-8", "replace") if b >= 0xd9 else raw), i + size
    if b in (0xdc, 0xdd):
        fmt = ">H" if b == 0xdc else ">I"
        n = struct.calcsize(fmt)
        return _array(data, i + n, struct.unpack(fmt, data[i:i + n])[0])
    if b in (0xde, 0xdf):
        fmt = ">H" if b == 0xde else ">I"
        n = struct.calcsize(fmt)
        return _map(data, i + n, struct.unpack(fmt, data[i:i + n])[0])
    raise ValueError("unsupported msgpack type 0x%02x" % b)


def _array(data, i, count):
    items = []
    for _ in range(count):
        value, i = _unpack(data, i)
        items.append(value)
    return items, i


def _map(data, i, count):
    items = {}
    for _ in range(count):
        key, i = _unpack(data, i)
        value, i = _unpack(data, i)
        items[key] = value
    return items, i


# ---- ZMTP 3.1 --------------------------------------------------------------------------------

def _greeting():
    return (b"\xff" + b"\x00" * 8 + b"\x7f" + bytes([3, 1]) + b"NULL".ljust(20, b"\x00") +
            b"\x00" + b"\x00" * 31)


def _command(name, body=b""):
    payload = bytes([len(name)]) + name + body
    if len(payload) <= 255:
        return bytes([0x04, len(payload)]) + payload
    return bytes([0x06]) + struct.pack(">Q", len(payload)) + payload


class ZmtpPeer:
    """One ZMTP connection (either side). socket_type: the ZeroMQ type this end plays. A
    reader thread answers the peer's heartbeats (PING) at once, so a connection the test
    leaves alone for a while is not dropped, and queues the messages that arrive."""

    def __init__(self, sock, socket_type):
        self.sock = sock
        self.socket_type = socket_type.encode()
        self._lock = threading.Lock()
        self._messages = queue.Queue()
        self.closed = False
        sock.settimeout(10)
        sock.sendall(_greeting())
        greeting = self._read_exact(64)
        if greeting[0] != 0xff or greeting[9] != 0x7f or greeting[10] < 3:
            raise ConnectionError("not a ZMTP 3 peer: %r" % greeting[:12])
        if greeting[12:16] != b"NULL":
            raise ConnectionError("peer wants mechanism %r" % greeting[12:32])
        properties = (bytes([11]) + b"Socket-Type" + struct.pack(">I", len(self.socket_type)) +
                      self.socket_type)
        if socket_type in ("DEALER", "ROUTER", "REQ"):
            properties += bytes([8]) + b"Identity" + struct.pack(">I", 0)
        sock.sendall(_command(b"READY", properties))
        flags, body = self._read_frame()
        if not flags & 0x04 or not body[1:6] == b"READY":
            raise ConnectionError("expected READY, got %r" % body[:16])
        sock.settimeout(None)
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    @classmethod
    def connect(cls, host, port, socket_type):
        return cls(socket.create_connection((host, port), timeout=10), socket_type)

    def _read_exact(self, count):
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("peer closed the connection")
            data += chunk
        return data

    def _read_frame(self):
        flags = self._read_exact(1)[0]
        if flags & 0x02:
            size = struct.unpack(">Q", self._read_exact(8))[0]
        else:
            size = self._read_exact(1)[0]
        return flags, self._read_exact(size)

    def _read_loop(self):
        frames = []
        try:
            while True:
                flags, body = self._read_frame()
                if flags & 0x04:
                    name = body[1:1 + body[0]]
                    if name == b"PING":
                        context = body[1 + body[0] + 2:]
                        with self._lock:
                            self.sock.sendall(_command(b"PONG", context))
                    continue
                frames.append(body)
                if not flags & 0x01:
                    self._messages.put(frames)
                    frames = []
        except (ConnectionError, OSError):
            self.closed = True

    def send(self, frames):
        """Sends one message of the given frames (bytes)."""
        out = b""
        for index, frame in enumerate(frames):
            more = 0x01 if index + 1 < len(frames) else 0x00
            if len(frame) > 255:
                out += bytes([0x02 | more]) + struct.pack(">Q", len(frame)) + frame
            else:
                out += bytes([more, len(frame)]) + frame
        with self._lock:
            self.sock.sendall(out)

    def recv(self, timeout=10.0):
        """The next message (list of frames), or None after timeout seconds."""
        try:
            return self._messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


class ZmtpServer:
    """Listens on 127.0.0.1 (a free port) and accepts one peer at a time."""

    def __init__(self, socket_type):
        self.socket_type = socket_type
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.endpoint = "tcp://127.0.0.1:%d" % self.port

    def accept(self, timeout=30.0):
        self.listener.settimeout(timeout)
        conn, _ = self.listener.accept()
        return ZmtpPeer(conn, self.socket_type)

    def close(self):
        self.listener.close()
