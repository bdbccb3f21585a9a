"""Public status pages (issue 7): the JSON, the HTML page in headless Chromium, live updates.

Starts the real processes with a configuration of two tenants' status pages, opens incidents
through the API (public, private-only, another tenant's), writes public and private updates,
then checks:
  - the JSON: components, statuses, incidents, history, uptime bars; ETag, Cache-Control,
    304; page selection by slug, ?page=, Host; nothing private or of another tenant;
  - the page in headless Chromium (cdp.py, Chrome DevTools protocol over a hand-written
    WebSocket), on a phone-sized and a desktop viewport: rendered components, the incident
    and its latest update, 90 uptime bars per component (30 shown on the phone), no error,
    no private component; screenshots saved as artifacts (paths printed; copied to
    <build>/artifacts when it can be created);
  - live: with the same page open (never reloaded), opening an incident and resolving
    another change the rendered page, through the /status/<slug>/events stream.
"""

import http.client
import json
import os
import shutil
import socket
import tempfile
import time
import unittest

import cdp
import lookout

SECRETS = ("Internal DB", "db-secret-7", "DbReplicaLag", "secret root cause", "OtherTenantOutage",
           "ApiErrors", "other-page-title")


def _yaml(tenant, other_tenant):
    return """
status_pages:
  - slug: acme
    tenant: %s
    title: Acme Cloud status
    hosts: [status.acme.test]
    components:
      - name: API
        description: REST API and webhooks
        match: ['service="api"']
      - name: Website
        match: ['service="web"']
      - name: Internal DB
        match: ['service="db"']
        public: false
  - slug: other
    tenant: %s
    title: other-page-title
    components:
      - name: API
        match: ['service="api"']
  - slug: draft
    tenant: %s
    public: false
""" % (tenant, other_tenant, tenant)


def _alert(name, service, severity, status="firing", **labels):
    labels.update({"service": service})
    return {"name": name, "labels": labels, "severity": severity, "status": status,
            "annotations": {"summary": "%s on %s" % (name, service)}}


def _artifact_dir():
    """<build>/artifacts when it can be created, else None."""
    path = os.path.join(lookout.BIN_DIR, "artifacts")
    try:
        os.makedirs(path, exist_ok=True)
        return path
    except OSError:
        return None


class StatusPageTest(lookout.LookoutTestCase):

    def setUp(self):
        self.tenant = lookout.new_tenant()
        self.other = lookout.new_tenant()
        self.dir = tempfile.mkdtemp(prefix="status-page-test-")
        self.addCleanup(self._cleanup_dir)
        config = os.path.join(self.dir, "lookout.yaml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(_yaml(self.tenant, self.other))
        # the default LOOKOUT_STATUS_CACHE_MS (5 s): live changes must not wait for it
        self.lk = self.start_lookout(env={"LOOKOUT_CONFIG": config})

    def _cleanup_dir(self):
        if not lookout.KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- helpers --

    def open_incident(self, alert, tenant=None):
        tenant = tenant or self.tenant
        answer, _ = self.lk.post_alerts_until_accepted([alert], tenant=tenant)
        self.assertStatus(answer, 202, "POST /alerts")
        incident_id = answer.json["alerts"][0]["incident_id"]
        self.assertTrue(lookout.is_uuid(incident_id), answer.json)
        return incident_id

    def post_update(self, incident_id, body, tenant=None, status=201):
        answer = self.lk.post("/incidents/%s/updates" % incident_id, body=body,
                              tenant=tenant or self.tenant)
        self.assertStatus(answer, status, "POST /incidents/%s/updates %r" % (incident_id, body))
        return answer

    def page_json(self, path="/status/acme.json", headers=None):
        answer = lookout.http_request(self.lk.url + path, headers=headers or {})
        return answer

    def wait_json(self, predicate, what, timeout=30.0):
        deadline = time.monotonic() + timeout * lookout.TIME_SCALE
        last = None
        while time.monotonic() < deadline:
            answer = self.page_json()
            if answer.status == 200:
                last = answer.json
                if predicate(last):
                    return last
            time.sleep(0.2)
        self.fail("%s: not within %.0f s; last JSON: %s" % (what, timeout,
                                                             json.dumps(last)[:3000]))

    def assert_no_secrets(self, text, where):
        for secret in SECRETS:
            self.assertNotIn(secret, text, "%s shows %r" % (where, secret))

    # -- the test --

    def test_status_page(self):
        api_incident = self.open_incident(_alert("ApiErrors", "api", "critical"))
        db_incident = self.open_incident(
            _alert("DbReplicaLag", "db", "critical", instance="db-secret-7"))
        other_incident = self.open_incident(_alert("OtherTenantOutage", "api", "critical"),
                                            tenant=self.other)
        web_incident = self.open_incident(_alert("WebSlow", "web", "error"))
        resolved = self.lk.post("/incidents/%s/resolve" % web_incident, body={"actor": "ops"},
                                tenant=self.tenant)
        self.assertStatus(resolved, 200, "resolve WebSlow")

        # updates: validation, tenancy, public and private
        self.post_update(api_incident, {"message": "x", "visibility": "everyone"}, status=400)
        self.post_update(api_incident, {"message": ""}, status=400)
        self.post_update(api_incident, {"message": "x", "colour": "red"}, status=400)
        self.post_update(api_incident, {"message": "x", "status": "Fixed"}, status=400)
        self.post_update("not-a-uuid", {"message": "x"}, status=400)
        self.post_update(other_incident, {"message": "not mine"}, status=404)
        public = self.post_update(api_incident, {
            "message": "We are investigating elevated API error rates.",
            "visibility": "public", "status": "investigating",
            "title": "Elevated API error rates"})
        self.assertEqual(public.json["update"]["visibility"], "public")
        self.assertEqual(public.json["update"]["status"], "investigating")
        self.assertEqual(public.json["incident"]["id"], api_incident)
        self.post_update(api_incident, {"message": "secret root cause: db-secret-7 disk full"})
        self.post_update(db_incident, {"message": "secret root cause of DbReplicaLag"})
        detail = self.lk.incident(api_incident, self.tenant)
        self.assertEqual([u["visibility"] for u in detail["updates"]], ["public", "private"])
        self.assertIn("incident_update_posted", [e["type"] for e in detail["timeline"]])

        # the JSON
        data = self.wait_json(lambda d: d["incidents"] and d["history"], "JSON with incidents")
        answer = self.page_json()
        self.assert_no_secrets(answer.body.decode(), "/status/acme.json")
        self.assertEqual([c["name"] for c in data["components"]], ["API", "Website"])
        api = data["components"][0]
        self.assertEqual(api["status"], "major_outage")
        self.assertEqual(data["components"][1]["status"], "operational")
        self.assertEqual(data["status"]["level"], "major_outage")
        self.assertEqual(len(api["uptime_days"]), 90)
        self.assertEqual(len(data["days"]), 90)
        self.assertLess(api["uptime_days"][-1], 100.0)
        self.assertEqual([i["id"] for i in data["incidents"]], [api_incident])
        incident = data["incidents"][0]
        self.assertEqual(incident["title"], "Elevated API error rates")
        self.assertEqual(incident["status"], "investigating")
        self.assertEqual(incident["latest_update"]["message"],
                         "We are investigating elevated API error rates.")
        self.assertEqual([i["id"] for i in data["history"]], [web_incident])
        self.assertEqual(data["history"][0]["title"], "Website: partial outage")

        # caching headers, 304, selection
        self.assertTrue(answer.headers.get("etag", "").startswith('W/"'), answer.headers)
        self.assertEqual(answer.headers.get("cache-control"), "public, max-age=5")
        again = self.page_json(headers={"If-None-Match": answer.headers["etag"]})
        self.assertIn(again.status, (200, 304))
        etag = again.headers.get("etag")
        revalidated = self.page_json(headers={"If-None-Match": etag})
        self.assertEqual(revalidated.status, 304, revalidated)
        self.assertEqual(revalidated.body, b"")
        by_query = self.page_json("/status?page=acme")
        self.assertEqual(by_query.json["page"]["slug"], "acme")
        by_host = self.page_json("/status", headers={"Host": "status.acme.test"})
        self.assertEqual(by_host.json["page"]["slug"], "acme")
        self.assertErrorBody(self.page_json("/status"), 404, "GET /status with two pages")
        self.assertErrorBody(self.page_json("/status/draft.json"), 404, "a private page")
        self.assertErrorBody(self.page_json("/status/nope"), 404, "an unknown page")
        root = self.page_json("/", headers={"Host": "status.acme.test:8080"})
        self.assertStatus(root, 200, "GET / by Host")
        self.assertIn(b"<!doctype html>", root.body[:100])
        self.assertErrorBody(self.page_json("/"), 404, "GET / without a page's Host")
        other = self.wait_json_of("/status/other.json", lambda d: d["incidents"])
        self.assertEqual([i["id"] for i in other["incidents"]], [other_incident])
        html = self.page_json("/status/acme")
        self.assertStatus(html, 200, "GET /status/acme")
        self.assertTrue(html.headers["content-type"].startswith("text/html"))
        self.assertNotIn(b"http://", html.body.replace(b"http://www.w3.org", b""))
        self.assertNotIn(b"https://", html.body)
        self.assertEqual(self.page_json("/status/acme", headers={
            "If-None-Match": html.headers["etag"]}).status, 304)

        self.events_stream_check()
        self.browser_checks(api_incident)

    def events_stream_check(self):
        """/status/acme/events says "changed" on an incident event, and nothing else of it."""
        connection = http.client.HTTPConnection("127.0.0.1", self.lk.http_port, timeout=30)
        self.addCleanup(connection.close)
        connection.request("GET", "/status/acme/events")
        stream = connection.getresponse()
        self.assertEqual(stream.status, 200)
        self.assertTrue(stream.getheader("Content-Type").startswith("text/event-stream"))
        self.assertErrorBody(self.page_json("/status/draft/events"), 404, "a private page")
        self.open_incident(_alert("StreamProbe", "db", "warning", instance="db-secret-7"))
        received = b""
        deadline = time.monotonic() + 20 * lookout.TIME_SCALE
        while b"event: changed" not in received:
            if time.monotonic() > deadline:
                self.fail("no changed event; got %r" % received)
            try:
                received += stream.fp.read1(4096)
            except socket.timeout:
                pass
        self.assertNotIn(b"StreamProbe", received)
        self.assertNotIn(b"db-secret-7", received)
        self.assertNotIn(b"incident", received)
        connection.close()

    def wait_json_of(self, path, predicate, timeout=30.0):
        deadline = time.monotonic() + timeout * lookout.TIME_SCALE
        while True:
            answer = self.page_json(path)
            if answer.status == 200 and predicate(answer.json):
                return answer.json
            if time.monotonic() > deadline:
                self.fail("%s: %r" % (path, answer))
            time.sleep(0.2)

    def browser_checks(self, api_incident):
        try:
            browser = cdp.Browser.start(self.dir)
        except cdp.BrowserError as exc:
            self.fail("headless Chromium: %s" % exc)
        self.addCleanup(browser.close)
        page = browser.page()
        shots = []

        def shoot(name):
            path = page.screenshot(os.path.join(self.dir, name))
            shots.append(path)
            print("screenshot: %s%s" % (path, "" if lookout.KEEP else
                                         " (removed after the test unless LOOKOUT_TEST_KEEP=1)"))
            artifacts = _artifact_dir()
            if artifacts:
                shutil.copy(path, os.path.join(artifacts, name))
                print("screenshot: %s" % os.path.join(artifacts, name))

        def rendered():
            return page.evaluate("""(() => ({
                state: document.body.dataset.state,
                error: getComputedStyle(document.getElementById('error')).display !== 'none',
                overall: document.getElementById('overall').dataset.level,
                components: [...document.querySelectorAll('#components .component')].map(c => ({
                    name: c.dataset.name, status: c.dataset.status,
                    bars: c.querySelectorAll('.bar').length,
                    visible: [...c.querySelectorAll('.bar')].filter(
                        b => b.getBoundingClientRect().width > 0).length})),
                incidents: [...document.querySelectorAll('#incidents .incident')].map(i => ({
                    id: i.dataset.id, title: i.querySelector('.incident-title').textContent,
                    text: i.textContent})),
                history: [...document.querySelectorAll('#history .incident')].map(i => i.dataset.id),
                live: document.getElementById('live').textContent,
                marker: window.__testMarker || null,
                text: document.body.innerText}))()""")

        # a phone first
        page.viewport(390, 844, mobile=True, scale=2)
        page.navigate(self.lk.url + "/status/acme")
        page.wait_for("document.body && document.body.dataset.state !== 'loading'",
                      timeout=20 * lookout.TIME_SCALE)
        view = rendered()
        self.assertEqual(view["state"], "ready", view)
        self.assertFalse(view["error"], "the page shows an error")
        self.assert_no_secrets(view["text"], "the rendered page")
        self.assertEqual([c["name"] for c in view["components"]], ["API", "Website"])
        self.assertEqual(view["components"][0]["status"], "major_outage")
        for component in view["components"]:
            self.assertEqual(component["bars"], 90, component)
            self.assertEqual(component["visible"], 30, component)  # the phone shows 30 days
        self.assertEqual([i["id"] for i in view["incidents"]], [api_incident])
        self.assertEqual(view["incidents"][0]["title"], "Elevated API error rates")
        self.assertIn("We are investigating elevated API error rates.",
                      view["incidents"][0]["text"])
        self.assertEqual(view["overall"], "major_outage")
        self.assertEqual(len(view["history"]), 1)
        page.wait_for("document.getElementById('live').textContent === 'live'",
                      timeout=20 * lookout.TIME_SCALE)
        shoot("status-page-phone.png")

        # the desktop: all 90 days
        page.viewport(1280, 900, mobile=False, scale=1)
        page.wait_for("document.querySelector('#components .bar').getBoundingClientRect().width"
                      " > 0 && [...document.querySelectorAll('#components .component')][0]"
                      ".querySelectorAll('.bar').length === 90")
        visible = page.evaluate("[...document.querySelector('#components .component')"
                                ".querySelectorAll('.bar')].filter(b => b.getBoundingClientRect()"
                                ".width > 0).length")
        self.assertEqual(visible, 90)
        tooltip = page.evaluate("""(() => {
            const bars = document.querySelectorAll('#components .component .bar');
            bars[bars.length - 1].dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
            const tip = document.getElementById('tooltip');
            return getComputedStyle(tip).display + ' ' + tip.textContent; })()""")
        self.assertRegex(tooltip, r"^block .*\d+\.\d\d% uptime", "the bar's tooltip")
        page.evaluate("document.dispatchEvent(new MouseEvent('mouseout', {bubbles: true}))")
        shoot("status-page-desktop.png")

        # live: the same page, never reloaded, follows an incident opening and another one
        # resolving
        page.evaluate("window.__testMarker = 'same-page'")
        started = time.monotonic()
        web_incident = self.open_incident(_alert("WebDown", "web", "critical"))
        page.wait_for("""(() => {
            const web = document.querySelector('#components .component[data-name="Website"]');
            return web && web.dataset.status === 'major_outage' &&
                   document.querySelectorAll('#incidents .incident').length === 2; })()""",
                      timeout=30 * lookout.TIME_SCALE)
        opened_s = time.monotonic() - started
        started = time.monotonic()
        resolved = self.lk.post("/incidents/%s/updates" % api_incident, body={
            "message": "Fixed: API error rates are back to normal.", "visibility": "public",
            "status": "resolved"}, tenant=self.tenant)
        self.assertStatus(resolved, 201, "resolving update")
        self.assertEqual(resolved.json["incident"]["status"], "resolved")
        page.wait_for("""(() => {
            const api = document.querySelector('#components .component[data-name="API"]');
            const ids = [...document.querySelectorAll('#incidents .incident')].map(i => i.dataset.id);
            return api && api.dataset.status === 'operational' && !ids.includes('%s') &&
                   [...document.querySelectorAll('#history .incident')].some(
                       i => i.dataset.id === '%s'); })()""" % (api_incident, api_incident),
                      timeout=30 * lookout.TIME_SCALE)
        resolved_s = time.monotonic() - started
        view = rendered()
        self.assertEqual(view["marker"], "same-page", "the page was reloaded")
        self.assertEqual(view["live"], "live", view["live"])
        self.assertFalse(view["error"])
        self.assertIn(web_incident, [i["id"] for i in view["incidents"]])
        self.assertIn("Fixed: API error rates are back to normal.", view["text"])
        self.assert_no_secrets(view["text"], "the rendered page after the changes")
        print("live: opened incident shown after %.1f s, resolved one after %.1f s"
              % (opened_s, resolved_s))
        shoot("status-page-live.png")
        errors = page.console_errors()
        self.assertEqual(errors, [], "the page logged errors")


if __name__ == "__main__":
    lookout.main()
