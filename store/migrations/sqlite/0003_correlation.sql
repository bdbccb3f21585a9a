-- Routes, inhibition, silences, heartbeat monitors and incident sources (SQLite dialect).
-- Must stay equivalent to ../postgres/0003_correlation.sql. Written by lookout-correlate
-- through store's mutation socket; rows are absolute states guarded by version/updated_at.

-- The escalation policy of the route that opened the incident (NULL = none named), the
-- distinct sources of its alerts (JSON array of strings, first seen first) and, while the
-- route's group_wait runs, when incident_triggered will be announced (NULL = announced).
ALTER TABLE incidents ADD COLUMN policy TEXT;
ALTER TABLE incidents ADD COLUMN sources TEXT NOT NULL DEFAULT '[]';
ALTER TABLE incidents ADD COLUMN group_wait_until INTEGER;

-- Whether an alert could open or join an incident when it was last written. Rows of the
-- alerts table are members of an incident, so they are 'active'; held alerts live in
-- suppressed_alerts below.
ALTER TABLE alerts ADD COLUMN state TEXT NOT NULL DEFAULT 'active'
    CHECK (state IN ('active', 'inhibited', 'silenced'));
ALTER TABLE alerts ADD COLUMN suppressed_by TEXT;

-- Held alerts: firing alerts an inhibit rule or a silence keeps out of every incident. One
-- row per (tenant, fingerprint) while held; deleted when the alert resolves or is released
-- (it then joins an incident like a new alert and gets its row in alerts).
CREATE TABLE suppressed_alerts (
    tenant_id     TEXT    NOT NULL,
    fingerprint   TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    query         TEXT,
    dedup_key     TEXT,
    generator_url TEXT,
    labels        TEXT    NOT NULL DEFAULT '{}',
    annotations   TEXT    NOT NULL DEFAULT '{}',
    severity      TEXT    NOT NULL CHECK (severity IN ('info', 'warning', 'error', 'critical')),
    status        TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    value         REAL,
    threshold     REAL,
    starts_at     INTEGER NOT NULL,
    ends_at       INTEGER,
    updated_at    INTEGER NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('inhibited', 'silenced')),
    suppressed_by TEXT,
    PRIMARY KEY (tenant_id, fingerprint)
) STRICT;

-- Silences (POST /silences). Kept after they expire (GET /silences shows them); correlate
-- loads the ones that have not ended yet.
CREATE TABLE silences (
    id          TEXT    NOT NULL PRIMARY KEY,
    tenant_id   TEXT    NOT NULL,
    matchers    TEXT    NOT NULL,                 -- JSON [{name, value, isRegex, isEqual}]
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL,
    created_by  TEXT    NOT NULL,
    comment     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX silences_tenant ON silences (tenant_id, created_at);
CREATE INDEX silences_ends ON silences (ends_at);

-- Heartbeat monitors (POST /heartbeats/{name}, or `heartbeats:` in the configuration).
CREATE TABLE heartbeats (
    tenant_id    TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    interval_ms  INTEGER NOT NULL,
    grace_ms     INTEGER NOT NULL,
    severity     TEXT    NOT NULL CHECK (severity IN ('info', 'warning', 'error', 'critical')),
    labels       TEXT    NOT NULL DEFAULT '{}',
    last_ping_at INTEGER,
    missed       INTEGER NOT NULL DEFAULT 0,      -- 1 while heartbeat_missed fires
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name)
) STRICT;
