-- The event bus (issue 6): indexes for the outbox's consumers and its retention.
-- Must stay equivalent to ../postgres/0004_events_bus.sql.

-- GET /events (SSE) replays one tenant's events after a sequence.
CREATE INDEX events_tenant_sequence ON events (tenant_id, sequence);
-- Outbox retention (LOOKOUT_OUTBOX_RETENTION_S) deletes events older than a cutoff.
CREATE INDEX events_at ON events (at);
