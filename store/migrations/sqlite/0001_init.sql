-- Lookout store schema, SQLite dialect (the embedded default backend).
-- Must stay equivalent to ../postgres/0001_init.sql: both pass the same store test-suite.
-- Conventions: ids and tenant ids are canonical lower-case UUID text; times are epoch
-- milliseconds (INTEGER), NULL when unset; label sets are JSON objects of string → string.

-- One row per incident: the absolute state correlate last sent, guarded by version.
CREATE TABLE incidents (
    id              TEXT    NOT NULL PRIMARY KEY,
    tenant_id       TEXT    NOT NULL,
    group_key       TEXT    NOT NULL,            -- `{}:{alertname="HighCPU"}`
    title           TEXT    NOT NULL,
    summary         TEXT    NOT NULL,
    acknowledged_by TEXT,
    resolved_by     TEXT,
    group_labels    TEXT    NOT NULL DEFAULT '{}', -- JSON object: the group_by labels
    severity        TEXT    NOT NULL CHECK (severity IN ('info', 'warning', 'error', 'critical')),
    status          TEXT    NOT NULL
                    CHECK (status IN ('triggered', 'acknowledged', 'resolved', 'closed')),
    alert_count     INTEGER NOT NULL DEFAULT 0,
    firing_count    INTEGER NOT NULL DEFAULT 0,
    reopen_count    INTEGER NOT NULL DEFAULT 0,
    version         INTEGER NOT NULL,             -- store keeps the highest seen
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    acknowledged_at INTEGER,
    resolved_at     INTEGER
) STRICT;
-- GET /incidents: a tenant's incidents newest first, keyset-paginated on (created_at, id).
CREATE INDEX incidents_tenant_created ON incidents (tenant_id, created_at, id);
-- Finding the incident of a group.
CREATE INDEX incidents_tenant_group ON incidents (tenant_id, group_key);
-- correlate's snapshot walks the incidents that are not closed, by id.
CREATE INDEX incidents_open ON incidents (id) WHERE status <> 'closed';

-- One row per alert membership of an incident (an alert that re-fires after its incident
-- closed joins a new incident: a new row). Guarded by updated_at.
CREATE TABLE alerts (
    tenant_id     TEXT    NOT NULL,
    incident_id   TEXT    NOT NULL REFERENCES incidents (id),
    fingerprint   TEXT    NOT NULL,               -- %016x Alertmanager fingerprint
    source        TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    query         TEXT,
    dedup_key     TEXT,
    generator_url TEXT,
    labels        TEXT    NOT NULL DEFAULT '{}',  -- JSON object
    annotations   TEXT    NOT NULL DEFAULT '{}',  -- JSON object
    severity      TEXT    NOT NULL CHECK (severity IN ('info', 'warning', 'error', 'critical')),
    status        TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    value         REAL,
    threshold     REAL,
    starts_at     INTEGER NOT NULL,
    ends_at       INTEGER,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, incident_id, fingerprint)
) STRICT;
CREATE INDEX alerts_incident ON alerts (incident_id);

-- The outbox: one row per lifecycle event, written in the transaction of the change.
-- sequence is assigned by store (the single writer), gap-free from 1; consumers replay
-- everything after their cursor. incident is the msgpack incident as of the event.
CREATE TABLE events (
    sequence    INTEGER NOT NULL PRIMARY KEY,
    event_id    TEXT    NOT NULL UNIQUE,          -- UUIDv7 from correlate: idempotency key
    tenant_id   TEXT    NOT NULL,
    incident_id TEXT    NOT NULL REFERENCES incidents (id),
    type        TEXT    NOT NULL,                 -- incident_triggered, alert_added, ...
    actor       TEXT    NOT NULL,
    note        TEXT,
    fingerprint TEXT,
    at          INTEGER NOT NULL,
    incident    BLOB    NOT NULL
) STRICT;
CREATE INDEX events_incident ON events (incident_id, sequence);

-- Escalation progress of an incident (written by escalate through store).
CREATE TABLE escalations (
    id          TEXT    NOT NULL PRIMARY KEY,
    tenant_id   TEXT    NOT NULL,
    incident_id TEXT    NOT NULL REFERENCES incidents (id),
    level       INTEGER NOT NULL,
    target      TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX escalations_incident ON escalations (tenant_id, incident_id);

-- Where each consumer of the events outbox (publish, escalate, ...) has got to.
CREATE TABLE consumer_cursors (
    consumer   TEXT    NOT NULL PRIMARY KEY,
    sequence   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
