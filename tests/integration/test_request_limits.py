"""Request limits (issue 8, docs/security.md): body size (413), JSON depth (400), batch size
(413), per-tenant intake rate limits (429 with Retry-After from the token bucket), URL and
header size (414/431), and slow clients: a connection that trickles its request head is cut
after LOOKOUT_HTTP_CONNECTION_TIMEOUT_S, while a kept-alive connection that behaves is not."""

import math
import socket
import time

import lookout
import security_tools
from lookout import new_tenant

TIMEOUT_S = 2  # LOOKOUT_HTTP_CONNECTION_TIMEOUT_S of these tests
RATE = 4       # LOOKOUT_TENANT_RATE: slow, so a slow machine cannot refill the bucket by accident
BURST = 40     # LOOKOUT_TENANT_BURST


class RequestLimitsTest(lookout.LookoutTestCase):

    def setUp(self):
        self.lk = self.start_lookout(env={
            "LOOKOUT_HTTP_CONNECTION_TIMEOUT_S": str(TIMEOUT_S),
            "LOOKOUT_TENANT_RATE": str(RATE), "LOOKOUT_TENANT_BURST": str(BURST),
            "LOOKOUT_MAX_BODY_BYTES": "65536", "LOOKOUT_MAX_BATCH": "100",
            "LOOKOUT_MAX_URL_BYTES": "4096", "LOOKOUT_MAX_HEADER_BYTES": "16384"})

    def raw(self, payload):
        return security_tools.raw_exchange(self.lk.http_port, payload, timeout=30)

    def test_body_depth_batch(self):
        lk = self.lk
        tenant = new_tenant()
        big = {"name": "Big", "annotations": {"blob": "x" * 70000}}
        self.assertErrorBody(lk.post_alerts(big, tenant=tenant), 413, "declared length")
        # a body of unknown length (chunked) that grows past the limit
        head = ("POST /alerts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                "X-Tenant-ID: %s\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" % (
                    lk.service_token, tenant)).encode()
        chunk = b"x" * 16384
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(6)) + b"0\r\n\r\n"
        self.assertEqual(security_tools.raw_status(self.raw(head + body)), 413)
        deep = "[" * 40 + "]" * 40
        self.assertErrorBody(lk.post_alerts(deep, tenant=tenant), 400, "nesting")
        batch = [{"name": "B%d" % i} for i in range(101)]
        self.assertErrorBody(lk.post_alerts(batch, tenant=tenant), 413, "batch")

    def test_url_and_header_limits(self):
        long_path = b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        self.assertEqual(security_tools.raw_status(self.raw(long_path)), 414)
        long_line = (b"GET /healthz?q=" + b"a" * 20000 +
                     b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(security_tools.raw_status(self.raw(long_line)), 414)
        big_header = (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 +
                      b"\r\nConnection: close\r\n\r\n")
        self.assertEqual(security_tools.raw_status(self.raw(big_header)), 431)
        many = (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" +
                b"".join(b"X-H%d: v\r\n" % i for i in range(3000)) +
                b"Connection: close\r\n\r\n")
        self.assertEqual(security_tools.raw_status(self.raw(many)), 431)
        self.assertStatus(self.lk.get("/healthz"), 200, "still serving")

    def test_slow_request_head_is_cut(self):
        port = self.lk.http_port
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            sock.settimeout(0.4)
            cut_after = None
            answer = b""
            # a byte every 0.4 s: never idle long enough for an inactivity timeout
            while time.monotonic() - started < 6 * TIMEOUT_S * lookout.TIME_SCALE:
                try:
                    sock.sendall(b"X")
                    data = sock.recv(4096)
                    if not data:
                        cut_after = time.monotonic() - started
                        break
                    answer += data
                except socket.timeout:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    cut_after = time.monotonic() - started
                    break
        self.assertIsNotNone(cut_after, "a trickled request head was never cut")
        self.assertEqual(answer, b"", "the trickled request was answered")
        self.assertGreaterEqual(cut_after, TIMEOUT_S * 0.9)
        # a connection that sends nothing at all is closed too
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.settimeout(6 * TIMEOUT_S * lookout.TIME_SCALE)
            opened = time.monotonic()
            self.assertEqual(sock.recv(10), b"")
            self.assertLess(time.monotonic() - opened, 5 * TIMEOUT_S * lookout.TIME_SCALE)
        # a kept-alive connection whose requests come in time is served throughout
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            for _ in range(3):
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                sock.settimeout(10)
                data = sock.recv(4096)
                self.assertEqual(security_tools.raw_status(data), 200, data)
                time.sleep(TIMEOUT_S * 0.5)
        self.assertStatus(self.lk.get("/healthz"), 200, "still serving")

    def test_tenant_rate_limit(self):
        lk = self.lk
        a, b = new_tenant(), new_tenant()
        alerts = [{"name": "Rate", "labels": {"i": str(i)}} for i in range(BURST)]
        self.assertStatus(lk.post_alerts(alerts, tenant=a), 202, "a full burst")
        # the other intake formats count against the same bucket
        v2 = [{"labels": {"alertname": "Rate", "i": str(i)}} for i in range(20)]
        refused = lk.post("/api/v2/alerts", v2, tenant=a)
        self.assertEqual(refused.status, 429, refused)
        refused = lk.post_alerts(alerts[:10], tenant=a)
        self.assertErrorBody(refused, 429, "over the rate")
        retry_after = int(refused.headers["retry-after"])
        # the bucket refills at RATE/s: 10 alerts need at most ceil(10 / RATE) s
        self.assertGreaterEqual(retry_after, 1)
        self.assertLessEqual(retry_after, math.ceil(10 / RATE) + 1)
        # another tenant is not affected
        self.assertStatus(lk.post_alerts(alerts[:10], tenant=b), 202, "tenant B")
        time.sleep(retry_after)
        self.assertStatus(lk.post_alerts(alerts[:10], tenant=a), 202, "after Retry-After")
        # a batch larger than the burst goes through when the bucket is full, then the debt
        # is paid before the next one
        c = new_tenant()
        huge = [{"name": "Huge", "labels": {"i": str(i)}} for i in range(BURST * 2)]
        self.assertStatus(lk.post_alerts(huge, tenant=c), 202, "a batch over the burst")
        refused = lk.post_alerts(alerts[:1], tenant=c)
        self.assertEqual(refused.status, 429, refused)
        self.assertGreaterEqual(int(refused.headers["retry-after"]), math.floor(BURST / RATE))


if __name__ == "__main__":
    lookout.main()
