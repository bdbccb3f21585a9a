-- Notifications, escalation steps and on-call overrides (PostgreSQL dialect).
-- Must stay equivalent to ../sqlite/0002_notify.sql. Written by lookout-escalate and
-- lookout-ingest through store's mutation socket; rows are absolute states (applying one
-- twice has the effect of once).

-- When an acknowledgement given with a timeout lapses (correlate keeps it across restarts);
-- NULL = no timeout.
ALTER TABLE incidents ADD COLUMN ack_expires_at bigint;

-- One row per level step escalate took for an incident (and per pause, resume and stop),
-- numbered by step within the incident. The latest row of a non-closed incident is its
-- escalation state: escalate rebuilds its timers from it at start.
ALTER TABLE escalations ADD COLUMN policy text NOT NULL DEFAULT '';
ALTER TABLE escalations ADD COLUMN step bigint NOT NULL DEFAULT 0;     -- 1, 2, 3... per incident
ALTER TABLE escalations ADD COLUMN cycle bigint NOT NULL DEFAULT 0;    -- repeats done so far
ALTER TABLE escalations ADD COLUMN next_at bigint;                     -- next step or resume due
ALTER TABLE escalations ADD COLUMN event_sequence bigint NOT NULL DEFAULT 0; -- event it follows
ALTER TABLE escalations ADD COLUMN note text;
-- status: notified (a level's targets were notified), acknowledged (paused; next_at = when
-- the acknowledgement lapses, NULL = never), resolved (stopped), exhausted (every level
-- and repeat done).
CREATE INDEX escalations_step ON escalations (incident_id, step);

-- One row per message to one target over one channel: a job with a lease (DESIGN §2.4).
-- pending rows are delivered (again) by escalate; a worker's result makes them final.
CREATE TABLE notifications (
    id              uuid    NOT NULL PRIMARY KEY,
    tenant_id       uuid    NOT NULL,
    incident_id     uuid    NOT NULL REFERENCES incidents (id),
    policy          text    NOT NULL,
    level           bigint  NOT NULL,
    channel         text    NOT NULL,                -- a channels: name of the configuration
    target          text    NOT NULL,                -- a users: name, '' for the channel itself
    kind            text    NOT NULL CHECK (kind IN ('trigger', 'acknowledge', 'resolve')),
    attempt         bigint  NOT NULL,                -- 1 for the first delivery
    status          text    NOT NULL
                    CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
    response_code   bigint,                          -- HTTP status or SMTP reply code
    error           text,
    idempotency_key text    NOT NULL,                -- PagerDuty dedup_key, webhook delivery id
    lease_until     bigint,                          -- a dispatched job is re-sent after this
    next_attempt_at bigint,                          -- back-off / Retry-After / rate limit
    created_at      bigint  NOT NULL,
    updated_at      bigint  NOT NULL
);
CREATE INDEX notifications_incident ON notifications (incident_id, created_at);

-- On-call overrides made through POST /oncall/overrides: user takes schedule's shift
-- during [starts_at, ends_at).
CREATE TABLE oncall_overrides (
    id         uuid    NOT NULL PRIMARY KEY,
    tenant_id  uuid    NOT NULL,
    schedule   text    NOT NULL,
    user_name  text    NOT NULL,
    starts_at  bigint  NOT NULL,
    ends_at    bigint  NOT NULL CHECK (ends_at > starts_at),
    created_by text    NOT NULL,
    created_at bigint  NOT NULL
);
CREATE INDEX oncall_overrides_window ON oncall_overrides (tenant_id, ends_at);
