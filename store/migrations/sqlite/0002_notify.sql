-- Notifications, escalation steps and on-call overrides (SQLite dialect).
-- Must stay equivalent to ../postgres/0002_notify.sql. Written by lookout-escalate and
-- lookout-ingest through store's mutation socket; rows are absolute states (applying one
-- twice has the effect of once).

-- When an acknowledgement given with a timeout lapses (correlate keeps it across restarts);
-- NULL = no timeout.
ALTER TABLE incidents ADD COLUMN ack_expires_at INTEGER;

-- One row per level step escalate took for an incident (and per pause, resume and stop),
-- numbered by step within the incident. The latest row of a non-closed incident is its
-- escalation state: escalate rebuilds its timers from it at start.
ALTER TABLE escalations ADD COLUMN policy TEXT NOT NULL DEFAULT '';
ALTER TABLE escalations ADD COLUMN step INTEGER NOT NULL DEFAULT 0;    -- 1, 2, 3... per incident
ALTER TABLE escalations ADD COLUMN cycle INTEGER NOT NULL DEFAULT 0;   -- repeats done so far
ALTER TABLE escalations ADD COLUMN next_at INTEGER;                    -- next step or resume due
ALTER TABLE escalations ADD COLUMN event_sequence INTEGER NOT NULL DEFAULT 0; -- event it follows
ALTER TABLE escalations ADD COLUMN note TEXT;
-- status: notified (a level's targets were notified), acknowledged (paused; next_at = when
-- the acknowledgement lapses, NULL = never), resolved (stopped), exhausted (every level
-- and repeat done).
CREATE INDEX escalations_step ON escalations (incident_id, step);

-- One row per message to one target over one channel: a job with a lease (DESIGN §2.4).
-- pending rows are delivered (again) by escalate; a worker's result makes them final.
CREATE TABLE notifications (
    id              TEXT    NOT NULL PRIMARY KEY,
    tenant_id       TEXT    NOT NULL,
    incident_id     TEXT    NOT NULL REFERENCES incidents (id),
    policy          TEXT    NOT NULL,
    level           INTEGER NOT NULL,
    channel         TEXT    NOT NULL,                -- a channels: name of the configuration
    target          TEXT    NOT NULL,                -- a users: name, '' for the channel itself
    kind            TEXT    NOT NULL CHECK (kind IN ('trigger', 'acknowledge', 'resolve')),
    attempt         INTEGER NOT NULL,                -- 1 for the first delivery
    status          TEXT    NOT NULL
                    CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
    response_code   INTEGER,                         -- HTTP status or SMTP reply code
    error           TEXT,
    idempotency_key TEXT    NOT NULL,                -- PagerDuty dedup_key, webhook delivery id
    lease_until     INTEGER,                         -- a dispatched job is re-sent after this
    next_attempt_at INTEGER,                         -- back-off / Retry-After / rate limit
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX notifications_incident ON notifications (incident_id, created_at);

-- On-call overrides made through POST /oncall/overrides: user takes schedule's shift
-- during [starts_at, ends_at).
CREATE TABLE oncall_overrides (
    id         TEXT    NOT NULL PRIMARY KEY,
    tenant_id  TEXT    NOT NULL,
    schedule   TEXT    NOT NULL,
    user_name  TEXT    NOT NULL,
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL CHECK (ends_at > starts_at),
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX oncall_overrides_window ON oncall_overrides (tenant_id, ends_at);
