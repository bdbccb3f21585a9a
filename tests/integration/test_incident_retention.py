"""Incident retention (LOOKOUT_INCIDENT_RETENTION_S, docs/operations.md "Disk"): with both
retentions at one second and a reopen window of zero, an incident that is resolved closes at
correlate's next tick, its events leave the outbox, and then store deletes it with its alerts
and updates: GET /incidents/{id} answers 404. An incident posted with it that stays open is
kept, and so is the closed one's newest event until a newer one exists."""

import lookout
from intake_tools import wait_until
from lookout import new_tenant

# the rows that name an incident (every table with REFERENCES incidents)
TABLES = ("alerts", "escalations", "notifications", "incident_updates", "events")


class IncidentRetentionTest(lookout.LookoutTestCase):

    def test_retention_sqlite(self):
        self.retention("sqlite")

    def test_retention_postgresql(self):
        self.require_pg()
        self.retention("postgresql")

    def retention(self, backend):
        metrics_port = lookout.free_ports(1)[0]
        lk = self.start_lookout(backend=backend, env={
            "LOOKOUT_INCIDENT_RETENTION_S": "1",
            "LOOKOUT_OUTBOX_RETENTION_S": "1",
            "LOOKOUT_REOPEN_WINDOW_S": "0",
            "LOOKOUT_STORE_METRICS_PORT": str(metrics_port)})
        tenant = new_tenant()
        posted = lk.post_alerts([{"name": "RetentionGoes", "labels": {"instance": "a"}},
                                 {"name": "RetentionStays", "labels": {"instance": "b"}}],
                                tenant=tenant)
        self.assertStatus(posted, 202)
        goes, stays = [alert["incident_id"] for alert in posted.json["alerts"]]
        self.assertNotEqual(goes, stays)
        update = lk.post("/incidents/%s/updates" % goes,
                         {"message": "found it", "visibility": "public"}, tenant=tenant)
        self.assertStatus(update, 201, "update")
        self.assertStatus(lk.post("/incidents/%s/resolve" % goes, {"actor": "alice"},
                                  tenant=tenant), 200, "resolve")

        # closed at correlate's next tick; its incident_closed is the newest event, which
        # the outbox keeps, so it is still there to be seen
        wait_until("the resolved incident closed",
                   lambda: lk.incident(goes, tenant)["incident"]["status"] == "closed",
                   timeout_s=20)
        # a newer event: the closed incident's events may all go now, and then the incident
        self.assertStatus(lk.post("/incidents/%s/acknowledge" % stays, {"actor": "bob"},
                                  tenant=tenant), 200, "acknowledge")
        wait_until("the closed incident deleted",
                   lambda: lk.get("/incidents/" + goes, tenant=tenant).status == 404,
                   timeout_s=30)
        for table in TABLES:
            self.assertEqual(lk.db_count("SELECT COUNT(*) FROM %s WHERE incident_id = '%s'"
                                         % (table, goes)), 0, table)
        self.assertEqual([i["id"] for i in lk.incidents(tenant)], [stays])

        detail = lk.incident(stays, tenant)
        self.assertEqual(detail["incident"]["status"], "acknowledged")
        self.assertEqual([a["labels"]["instance"] for a in detail["alerts"]], ["b"])
        self.assertTrue(detail["timeline"], "the open incident's newest event is kept")
        metrics = lookout.http_request("http://127.0.0.1:%d/metrics" % metrics_port).body
        self.assertIn(b"\nlookout_store_incidents_expired_total 1\n", metrics)


if __name__ == "__main__":
    lookout.main()
