-- Per-tenant ingest tokens (issue 8): credentials a tenant hands to its alert senders.
-- Must stay equivalent to ../postgres/0006_ingest_tokens.sql.

-- One row per token (POST /tokens). Written by lookout-ingest through store's mutation
-- socket (store_tokens.c). The token itself is never stored: token_hash is the SHA-256 of
-- its text (lower-case hex), what ingest looks a presented token up by. hint is the token's
-- first characters, for people to tell tokens apart. Revoking (DELETE /tokens/{id}) sets
-- revoked_at, which then never changes again; rows are kept, so a listing shows revoked
-- tokens and an id is never reused.
CREATE TABLE ingest_tokens (
    id          TEXT    NOT NULL PRIMARY KEY,
    tenant_id   TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    token_hash  TEXT    NOT NULL UNIQUE,
    hint        TEXT    NOT NULL,
    scopes      TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER NOT NULL DEFAULT 0
);
-- GET /tokens lists a tenant's tokens, newest first.
CREATE INDEX ingest_tokens_tenant ON ingest_tokens (tenant_id, created_at);
