-- DELETE /oncall/overrides/{id} ends an override now; one removed before it began ends where
-- it begins and covers no instant, so an override may have ends_at = starts_at. SQLite cannot
-- change a CHECK constraint in place: the table is rebuilt with the same rows and index.
CREATE TABLE oncall_overrides_new (
    id         TEXT    NOT NULL PRIMARY KEY,
    tenant_id  TEXT    NOT NULL,
    schedule   TEXT    NOT NULL,
    user_name  TEXT    NOT NULL,
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL CHECK (ends_at >= starts_at),
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
INSERT INTO oncall_overrides_new (id, tenant_id, schedule, user_name, starts_at, ends_at,
                                  created_by, created_at)
    SELECT id, tenant_id, schedule, user_name, starts_at, ends_at, created_by, created_at
    FROM oncall_overrides;
DROP TABLE oncall_overrides;
ALTER TABLE oncall_overrides_new RENAME TO oncall_overrides;
CREATE INDEX oncall_overrides_window ON oncall_overrides (tenant_id, ends_at);
