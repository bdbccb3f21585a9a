/*  tokens — per-tenant ingest tokens on the request path: who a presented token stands for.

    A sender presents `Authorization: Bearer lk_…` (ingest_token.h). ingest hashes it and
    asks store which token has that hash (query ingest_token_by_hash), then remembers the
    answer — valid with its tenant and scopes, or unknown/revoked — for ttl_ms, so a busy
    sender costs one store query per token per ttl, not one per request. A revocation is
    therefore effective at once on the ingest copy that carried it out (tokens_forget) and
    within ttl_ms (LOOKOUT_TOKEN_CACHE_S, default 5 s) on every other copy.

    The cache is a fixed direct-mapped table keyed by the hash (a newcomer replaces whoever
    held its slot), so memory is bounded whatever tokens arrive; the full hash is compared in
    constant time. Thread-safe: every libmicrohttpd worker uses it.
*/
#ifndef INGEST_TOKENS_H
#define INGEST_TOKENS_H

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "http_reply.h"
#include "pipeline.h"

#define TOKENS_CACHE_SLOTS 4096

typedef struct ingest_tokens_t ingest_tokens_t;

/* A cache whose answers are trusted for ttl_ms. Returns NULL on OOM. */
ingest_tokens_t *tokens_new(int64_t ttl_ms);
void tokens_destroy(ingest_tokens_t **self_p);

/* Result of tokens_authenticate. */
typedef enum {
    TOKENS_NOT_A_TOKEN = 0, /* the credential is no ingest token: try the other schemes */
    TOKENS_OK,              /* *caller names the token's tenant; actor "token:<name>" */
    TOKENS_REFUSED,         /* reply is filled: 401 unknown or revoked, 403 scope or
                               X-Tenant-ID mismatch, 503 store unavailable */
} tokens_result_t;

/* Authenticates an intake request by an ingest token. authorization and tenant_header are
   the raw header values (or NULL); scope is the INGEST_SCOPE_* bit the endpoint needs. A
   Bearer credential starting with "lk_" is always treated as an ingest token (a malformed
   one is refused, never tried as a JWT). May ask store (through pipeline) on a cache miss. */
tokens_result_t tokens_authenticate(ingest_tokens_t *self, pipeline_t *pipeline,
                                    const char *authorization, const char *tenant_header,
                                    uint32_t scope, auth_identity_t *caller, http_reply_t *reply);

/* Remembers a token this process just created (valid at once, no store round trip). */
void tokens_remember(ingest_tokens_t *self, const char *hash, const char *tenant_id,
                     const char *name, uint32_t scopes);

/* Forgets whatever is known about the token with this hash (after revoking it here). */
void tokens_forget(ingest_tokens_t *self, const char *hash);

#endif
