-- Per-tenant ingest tokens (issue 8): credentials a tenant hands to its alert senders.
-- Must stay equivalent to ../sqlite/0006_ingest_tokens.sql.

-- One row per token (POST /tokens). Written by lookout-ingest through store's mutation
-- socket (store_tokens.c). The token itself is never stored: token_hash is the SHA-256 of
-- its text (lower-case hex), what ingest looks a presented token up by. hint is the token's
-- first characters, for people to tell tokens apart. Revoking (DELETE /tokens/{id}) sets
-- revoked_at, which then never changes again; rows are kept, so a listing shows revoked
-- tokens and an id is never reused.
CREATE TABLE ingest_tokens (
    id          uuid    NOT NULL PRIMARY KEY,
    tenant_id   uuid    NOT NULL,
    name        text    NOT NULL,
    token_hash  text    NOT NULL UNIQUE,
    hint        text    NOT NULL,
    scopes      text    NOT NULL,
    created_by  text    NOT NULL,
    created_at  bigint  NOT NULL,
    revoked_at  bigint  NOT NULL DEFAULT 0
);
-- GET /tokens lists a tenant's tokens, newest first.
CREATE INDEX ingest_tokens_tenant ON ingest_tokens (tenant_id, created_at);
