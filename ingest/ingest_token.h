/*  ingest_token — per-tenant ingest tokens: their text form, hash and scopes (pure).

    A tenant creates tokens for its alert senders (POST /tokens, docs/http-api.md): the value
    is shown once, "lk_" followed by 32 random bytes in unpadded base64url (46 characters),
    and only its SHA-256 is stored. A sender presents it as `Authorization: Bearer lk_…`;
    ingest hashes what it was given and looks the hash up (handlers_tokens.c), so the
    stored value can never be replayed and no comparison ever touches the secret itself.

    Scopes say which intake a token may feed: alerts:write (POST /alerts, /api/v2/alerts,
    /webhooks/alertmanager) and heartbeats:write (POST /heartbeats/{name}).
*/
#ifndef INGEST_TOKEN_H
#define INGEST_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INGEST_TOKEN_PREFIX       "lk_"
#define INGEST_TOKEN_PREFIX_LEN   3
#define INGEST_TOKEN_SECRET_BYTES 32
#define INGEST_TOKEN_LEN          (INGEST_TOKEN_PREFIX_LEN + 43) /* 46 */
#define INGEST_TOKEN_HASH_LEN     64                             /* SHA-256 as lower-case hex */
/* What a listing shows of a token so people can tell theirs apart: "lk_" + 4 characters. */
#define INGEST_TOKEN_HINT_LEN 7

/* Scope bits. */
#define INGEST_SCOPE_ALERTS_WRITE     (1u << 0)
#define INGEST_SCOPE_HEARTBEATS_WRITE (1u << 1)
#define INGEST_SCOPE_ALL              (INGEST_SCOPE_ALERTS_WRITE | INGEST_SCOPE_HEARTBEATS_WRITE)
#define INGEST_SCOPE_DEFAULT          INGEST_SCOPE_ALERTS_WRITE

/* Makes a new token from the system's CSPRNG into token[INGEST_TOKEN_LEN + 1] and its hash
   into hash[INGEST_TOKEN_HASH_LEN + 1]. Returns 0, or -1 when no randomness is available. */
int ingest_token_generate(char *token, char *hash);

/* True when text[0..len) has the shape of an ingest token (prefix, length, alphabet, and
   the one canonical encoding of 32 bytes); then writes its SHA-256 hex into
   hash[INGEST_TOKEN_HASH_LEN + 1]. Anything else (a JWT, the service token, an integration
   key) returns false without hashing. */
bool ingest_token_hash(const char *text, size_t len, char *hash);

/* True when text looks like it is meant as an ingest token (starts with the prefix), so
   that a malformed one is refused as such instead of being tried as a JWT. */
bool ingest_token_claimed(const char *text, size_t len);

/* Scope names <-> bits. ingest_scope_parse returns the bit, 0 for an unknown name. */
uint32_t ingest_scope_parse(const char *name);
/* Writes "alerts:write,heartbeats:write" style text into buf; returns buf. */
const char *ingest_scopes_format(uint32_t scopes, char *buf, size_t buf_size);
/* Parses that comma list (as stored); unknown names are ignored. */
uint32_t ingest_scopes_parse_list(const char *text);

/* The name of a scope bit, for error messages; NULL when not exactly one known bit. */
const char *ingest_scope_name(uint32_t scope);

#endif
