-- Lookout store schema, PostgreSQL dialect (the production backend).
-- Must stay equivalent to ../sqlite/0001_init.sql: both pass the same store test-suite.
-- Conventions: times are epoch milliseconds (bigint), NULL when unset; label sets are jsonb
-- objects of string → string.

-- One row per incident: the absolute state correlate last sent, guarded by version.
CREATE TABLE incidents (
    id              uuid    NOT NULL PRIMARY KEY,
    tenant_id       uuid    NOT NULL,
    group_key       text    NOT NULL,            -- `{}:{alertname="HighCPU"}`
    title           text    NOT NULL,
    summary         text    NOT NULL,
    acknowledged_by text,
    resolved_by     text,
    group_labels    jsonb   NOT NULL DEFAULT '{}', -- the group_by labels
    severity        text    NOT NULL CHECK (severity IN ('info', 'warning', 'error', 'critical')),
    status          text    NOT NULL
                    CHECK (status IN ('triggered', 'acknowledged', 'resolved', 'closed')),
    alert_count     bigint  NOT NULL DEFAULT 0,
    firing_count    bigint  NOT NULL DEFAULT 0,
    reopen_count    bigint  NOT NULL DEFAULT 0,
    version         bigint  NOT NULL,             -- store keeps the highest seen
    created_at      bigint  NOT NULL,
    updated_at      bigint  NOT NULL,
    acknowledged_at bigint,
    resolved_at     bigint
);
-- GET /incidents: a tenant's incidents newest first, keyset-paginated on (created_at, id).
CREATE INDEX incidents_tenant_created ON incidents (tenant_id, created_at, id);
-- Finding the incident of a group.
CREATE INDEX incidents_tenant_group ON incidents (tenant_id, group_key);
-- correlate's snapshot walks the incidents that are not closed, by id.
CREATE INDEX incidents_open ON incidents (id) WHERE status <> 'closed';

-- One row per alert membership of an incident (an alert that re-fires after its incident
-- closed joins a new incident: a new row). Guarded by updated_at.
CREATE TABLE alerts (
    tenant_id     uuid    NOT NULL,
    incident_id   uuid    NOT NULL REFERENCES incidents (id),
    fingerprint   text    NOT NULL,               -- %016x Alertmanager fingerprint
    source        text    NOT NULL,
    name          text    NOT NULL,
    query         text,
    dedup_key     text,
    generator_url text,
    labels        jsonb   NOT NULL DEFAULT '{}',
    annotations   jsonb   NOT NULL DEFAULT '{}',
    severity      text    NOT NULL CHECK (severity IN ('info', 'warning', 'error', 'critical')),
    status        text    NOT NULL CHECK (status IN ('firing', 'resolved')),
    value         double precision,
    threshold     double precision,
    starts_at     bigint  NOT NULL,
    ends_at       bigint,
    updated_at    bigint  NOT NULL,
    PRIMARY KEY (tenant_id, incident_id, fingerprint)
);
CREATE INDEX alerts_incident ON alerts (incident_id);

-- The outbox: one row per lifecycle event, written in the transaction of the change.
-- sequence is assigned by store (the single writer), gap-free from 1; consumers replay
-- everything after their cursor. incident is the msgpack incident as of the event.
CREATE TABLE events (
    sequence    bigint  NOT NULL PRIMARY KEY,
    event_id    uuid    NOT NULL UNIQUE,          -- UUIDv7 from correlate: idempotency key
    tenant_id   uuid    NOT NULL,
    incident_id uuid    NOT NULL REFERENCES incidents (id),
    type        text    NOT NULL,                 -- incident_triggered, alert_added, ...
    actor       text    NOT NULL,
    note        text,
    fingerprint text,
    at          bigint  NOT NULL,
    incident    bytea   NOT NULL
);
CREATE INDEX events_incident ON events (incident_id, sequence);

-- Escalation progress of an incident (written by escalate through store).
CREATE TABLE escalations (
    id          uuid    NOT NULL PRIMARY KEY,
    tenant_id   uuid    NOT NULL,
    incident_id uuid    NOT NULL REFERENCES incidents (id),
    level       integer NOT NULL,
    target      text    NOT NULL,
    status      text    NOT NULL,
    created_at  bigint  NOT NULL,
    updated_at  bigint  NOT NULL
);
CREATE INDEX escalations_incident ON escalations (tenant_id, incident_id);

-- Where each consumer of the events outbox (publish, escalate, ...) has got to.
CREATE TABLE consumer_cursors (
    consumer   text    NOT NULL PRIMARY KEY,
    sequence   bigint  NOT NULL,
    updated_at bigint  NOT NULL
);
