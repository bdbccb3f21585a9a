-- Issue 11 (performance): the alerts key without tenant_id.
-- Must stay equivalent to ../sqlite/0010_alerts_key.sql (see there for why).
ALTER TABLE alerts DROP CONSTRAINT alerts_pkey;
ALTER TABLE alerts ADD PRIMARY KEY (incident_id, fingerprint);
