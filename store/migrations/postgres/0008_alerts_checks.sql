-- Issue 11 (performance): one index less to update per alert.
-- Must stay equivalent to ../sqlite/0008_alerts_checks.sql (which also rewrites the alerts
-- CHECKs, a SQLite-only cost; PostgreSQL evaluates IN lists in place).
--
-- The primary key leads with incident_id (same columns, other order), so it also serves the
-- lookups by incident alone and the separate alerts_incident index goes. Every query on
-- alerts names incident_id (store_db.h).
ALTER TABLE alerts DROP CONSTRAINT alerts_pkey;
ALTER TABLE alerts ADD PRIMARY KEY (incident_id, fingerprint, tenant_id);
DROP INDEX alerts_incident;
