-- Status pages (issue 7): the updates people write on incidents, and an index for the status
-- page's 90-day read. Must stay equivalent to ../postgres/0005_status_pages.sql.

-- One row per update (POST /incidents/{id}/updates). Written by lookout-ingest through store's
-- mutation socket; id is a UUIDv7 chosen by ingest, so a re-sent batch inserts nothing twice.
-- Rows are never changed. Only 'public' rows ever reach a status page.
CREATE TABLE incident_updates (
    id          TEXT    NOT NULL PRIMARY KEY,
    tenant_id   TEXT    NOT NULL,
    incident_id TEXT    NOT NULL REFERENCES incidents (id),
    message     TEXT    NOT NULL,
    visibility  TEXT    NOT NULL CHECK (visibility IN ('public', 'private')),
    status      TEXT    CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved')),
    title       TEXT,                           -- the public title it gives the incident
    author      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
-- GET /incidents/{id} and the status page read an incident's updates in order.
CREATE INDEX incident_updates_incident ON incident_updates (tenant_id, incident_id, created_at);

-- The status page reads a tenant's open incidents (resolved_at IS NULL) and those resolved
-- within its window (resolved_at >= since): two range scans of this index.
CREATE INDEX incidents_tenant_resolved ON incidents (tenant_id, resolved_at);
