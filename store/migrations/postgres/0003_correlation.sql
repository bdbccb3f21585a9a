-- Routes, inhibition, silences, heartbeat monitors and incident sources (PostgreSQL
-- dialect). Must stay equivalent to ../sqlite/0003_correlation.sql. Written by
-- lookout-correlate through store's mutation socket; rows are absolute states guarded by
-- version/updated_at.

-- The escalation policy of the route that opened the incident (NULL = none named), the
-- distinct sources of its alerts (first seen first) and, while the route's group_wait runs,
-- when incident_triggered will be announced (NULL = announced).
ALTER TABLE incidents ADD COLUMN policy text;
ALTER TABLE incidents ADD COLUMN sources jsonb NOT NULL DEFAULT '[]';
ALTER TABLE incidents ADD COLUMN group_wait_until bigint;

-- Whether an alert could open or join an incident when it was last written. Rows of the
-- alerts table are members of an incident, so they are 'active'; held alerts live in
-- suppressed_alerts below.
ALTER TABLE alerts ADD COLUMN state text NOT NULL DEFAULT 'active'
    CHECK (state IN ('active', 'inhibited', 'silenced'));
ALTER TABLE alerts ADD COLUMN suppressed_by text;

-- Held alerts: firing alerts an inhibit rule or a silence keeps out of every incident. One
-- row per (tenant, fingerprint) while held; deleted when the alert resolves or is released
-- (it then joins an incident like a new alert and gets its row in alerts).
CREATE TABLE suppressed_alerts (
    tenant_id     uuid    NOT NULL,
    fingerprint   text    NOT NULL,
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
    state         text    NOT NULL CHECK (state IN ('inhibited', 'silenced')),
    suppressed_by text,
    PRIMARY KEY (tenant_id, fingerprint)
);

-- Silences (POST /silences). Kept after they expire (GET /silences shows them); correlate
-- loads the ones that have not ended yet.
CREATE TABLE silences (
    id          uuid    NOT NULL PRIMARY KEY,
    tenant_id   uuid    NOT NULL,
    matchers    jsonb   NOT NULL,                 -- [{name, value, isRegex, isEqual}]
    starts_at   bigint  NOT NULL,
    ends_at     bigint  NOT NULL,
    created_by  text    NOT NULL,
    comment     text    NOT NULL,
    created_at  bigint  NOT NULL,
    updated_at  bigint  NOT NULL
);
CREATE INDEX silences_tenant ON silences (tenant_id, created_at);
CREATE INDEX silences_ends ON silences (ends_at);

-- Heartbeat monitors (POST /heartbeats/{name}, or `heartbeats:` in the configuration).
CREATE TABLE heartbeats (
    tenant_id    uuid    NOT NULL,
    name         text    NOT NULL,
    interval_ms  bigint  NOT NULL,
    grace_ms     bigint  NOT NULL,
    severity     text    NOT NULL CHECK (severity IN ('info', 'warning', 'error', 'critical')),
    labels       jsonb   NOT NULL DEFAULT '{}',
    last_ping_at bigint,
    missed       bigint  NOT NULL DEFAULT 0,      -- 1 while heartbeat_missed fires
    created_at   bigint  NOT NULL,
    updated_at   bigint  NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
