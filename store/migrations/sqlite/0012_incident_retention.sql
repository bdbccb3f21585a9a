-- Incident retention (LOOKOUT_INCIDENT_RETENTION_S): the indexes that deleting closed
-- incidents needs. Must stay equivalent to ../postgres/0012_incident_retention.sql.
--
-- correlate sets updated_at when it closes an incident and never writes the incident again,
-- so for a closed incident it is the time it closed. Retention (store_retention.c) takes the
-- oldest closed incidents before its cutoff, a chunk at a time, in (updated_at, id) order:
-- the same chunk for each of its statements, read from this index in its order instead of a
-- scan of the table. Only closed incidents are in it, so writing an open one costs nothing.
CREATE INDEX incidents_closed ON incidents (updated_at, id) WHERE status = 'closed';

-- Deleting an incident has the database check each table that references it for rows that
-- still do, by incident_id alone. Every such table has an index that starts with
-- incident_id but incident_updates (its index starts with tenant_id): without this one each
-- deleted incident scanned the whole table (500 incidents and 50,000 updates: 1.25 s on
-- SQLite, 1.4 s on PostgreSQL; 0.01 s and 0.03 s with it). Updates are written by people,
-- rarely: the index costs their writes next to nothing.
CREATE INDEX incident_updates_incident_id ON incident_updates (incident_id);
