-- Incident retention (LOOKOUT_INCIDENT_RETENTION_S): the indexes that deleting closed
-- incidents needs. Must stay equivalent to ../sqlite/0012_incident_retention.sql (see there
-- for why).
CREATE INDEX incidents_closed ON incidents (updated_at, id) WHERE status = 'closed';
CREATE INDEX incident_updates_incident_id ON incident_updates (incident_id);
