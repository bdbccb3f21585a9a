/*  tokens — the ingest-token cache and request authentication (see the header). */
#include "tokens.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest_token.h"
#include "lk_log.h"
#include "lk_time.h"

typedef struct {
    bool used;
    bool valid; /* false: unknown or revoked (a negative answer is cached too) */
    char hash[INGEST_TOKEN_HASH_LEN + 1];
    char tenant_id[LK_UUID_STR_LEN + 1];
    char name[64]; /* for the actor; cut when longer */
    uint32_t scopes;
    int64_t expires_mono_ms;
} s_entry_t;

struct ingest_tokens_t {
    int64_t ttl_ms;
    pthread_mutex_t mutex;
    s_entry_t slots[TOKENS_CACHE_SLOTS];
};

ingest_tokens_t *tokens_new(int64_t ttl_ms)
{
    ingest_tokens_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ttl_ms = ttl_ms;
    pthread_mutex_init(&self->mutex, NULL);
    return self;
}

void tokens_destroy(ingest_tokens_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ingest_tokens_t *self = *self_p;
    pthread_mutex_destroy(&self->mutex);
    OPENSSL_cleanse(self->slots, sizeof self->slots);
    free(self);
    *self_p = NULL;
}

/* The slot of a hash: its first 8 hex digits are uniformly distributed already. */
static s_entry_t *s_slot(ingest_tokens_t *self, const char *hash)
{
    uint32_t index = 0;
    for (int i = 0; i < 8; i++) {
        char c = hash[i];
        index = index * 16 + (uint32_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return &self->slots[index % TOKENS_CACHE_SLOTS];
}

/* Looks the hash up. Returns 1 and fills *out for a fresh entry, 0 when not cached. */
static int s_lookup(ingest_tokens_t *self, const char *hash, s_entry_t *out)
{
    int found = 0;
    pthread_mutex_lock(&self->mutex);
    s_entry_t *slot = s_slot(self, hash);
    if (slot->used && lk_mono_ms() < slot->expires_mono_ms &&
        CRYPTO_memcmp(slot->hash, hash, INGEST_TOKEN_HASH_LEN) == 0) {
        *out = *slot;
        found = 1;
    }
    pthread_mutex_unlock(&self->mutex);
    return found;
}

/* Puts entry in its slot (replacing whoever held it), fresh for ttl_ms. */
static void s_store(ingest_tokens_t *self, const s_entry_t *entry)
{
    pthread_mutex_lock(&self->mutex);
    s_entry_t *slot = s_slot(self, entry->hash);
    *slot = *entry;
    slot->used = true;
    slot->expires_mono_ms = lk_mono_ms() + self->ttl_ms;
    pthread_mutex_unlock(&self->mutex);
}

void tokens_remember(ingest_tokens_t *self, const char *hash, const char *tenant_id,
                     const char *name, uint32_t scopes)
{
    s_entry_t entry;
    memset(&entry, 0, sizeof entry);
    entry.valid = true;
    memcpy(entry.hash, hash, INGEST_TOKEN_HASH_LEN);
    snprintf(entry.tenant_id, sizeof entry.tenant_id, "%s", tenant_id);
    snprintf(entry.name, sizeof entry.name, "%s", name ? name : "");
    entry.scopes = scopes;
    s_store(self, &entry);
}

void tokens_forget(ingest_tokens_t *self, const char *hash)
{
    pthread_mutex_lock(&self->mutex);
    s_entry_t *slot = s_slot(self, hash);
    if (slot->used && CRYPTO_memcmp(slot->hash, hash, INGEST_TOKEN_HASH_LEN) == 0)
        memset(slot, 0, sizeof *slot);
    pthread_mutex_unlock(&self->mutex);
}

/* Extracts the Bearer credential; false for any other shape. */
static bool s_bearer(const char *authorization, const char **token, size_t *len)
{
    if (!authorization)
        return false;
    const char *cursor = authorization;
    while (*cursor == ' ' || *cursor == '\t')
        cursor++;
    if (strncasecmp(cursor, "Bearer", 6) != 0 || (cursor[6] != ' ' && cursor[6] != '\t'))
        return false;
    cursor += 6;
    while (*cursor == ' ' || *cursor == '\t')
        cursor++;
    size_t length = strlen(cursor);
    while (length > 0 && (cursor[length - 1] == ' ' || cursor[length - 1] == '\t'))
        length--;
    *token = cursor;
    *len = length;
    return true;
}

/* Asks store which token has this hash. Returns 0 with *entry filled (valid or not), -1
   when store could not answer (detail set). */
static int s_ask_store(pipeline_t *pipeline, const char *hash, s_entry_t *entry, char *detail,
                       size_t detail_size)
{
    memset(entry, 0, sizeof *entry);
    memcpy(entry->hash, hash, INGEST_TOKEN_HASH_LEN);
    lk_msg_t request, answer;
    lk_msg_init(&request, LK_MSG_QUERY);
    request.query.kind = LK_QUERY_INGEST_TOKEN_BY_HASH;
    memcpy(request.query.token_hash, hash, INGEST_TOKEN_HASH_LEN + 1);
    int rc = pipeline_request(pipeline, PIPELINE_STORE, &request, &answer, detail, detail_size);
    lk_msg_clear(&request);
    if (rc != 0)
        return -1;
    rc = 0;
    if (answer.type != LK_MSG_QUERY_REPLY ||
        (answer.status != LK_STATUS_OK && answer.status != LK_STATUS_NOT_FOUND)) {
        snprintf(detail, detail_size, "store could not look the token up: %s",
                 answer.error ? answer.error : lk_status_name(answer.status));
        rc = -1;
    } else if (answer.status == LK_STATUS_OK && answer.token_count == 1 &&
               answer.tokens[0].revoked_at_ms == 0 &&
               CRYPTO_memcmp(answer.tokens[0].hash, hash, INGEST_TOKEN_HASH_LEN) == 0) {
        const lk_ingest_token_t *token = &answer.tokens[0];
        entry->valid = true;
        memcpy(entry->tenant_id, token->tenant_id, sizeof entry->tenant_id);
        snprintf(entry->name, sizeof entry->name, "%s", token->name ? token->name : "");
        entry->scopes = ingest_scopes_parse_list(token->scopes);
    }
    lk_msg_clear(&answer);
    return rc;
}

tokens_result_t tokens_authenticate(ingest_tokens_t *self, pipeline_t *pipeline,
                                    const char *authorization, const char *tenant_header,
                                    uint32_t scope, auth_identity_t *caller, http_reply_t *reply)
{
    const char *token = NULL;
    size_t length = 0;
    if (!s_bearer(authorization, &token, &length) || !ingest_token_claimed(token, length))
        return TOKENS_NOT_A_TOKEN;
    char hash[INGEST_TOKEN_HASH_LEN + 1];
    if (!ingest_token_hash(token, length, hash)) {
        http_reply_error(reply, 401, "invalid token", NULL);
        return TOKENS_REFUSED;
    }
    s_entry_t entry;
    if (!s_lookup(self, hash, &entry)) {
        char detail[256];
        if (s_ask_store(pipeline, hash, &entry, detail, sizeof detail) != 0) {
            /* cannot tell: the sender should retry, as for any unavailable downstream */
            http_reply_error(reply, 503, "pipeline unavailable", json_string(detail));
            return TOKENS_REFUSED;
        }
        s_store(self, &entry);
    }
    OPENSSL_cleanse(hash, sizeof hash);
    if (!entry.valid) {
        http_reply_error(reply, 401, "invalid token", json_string("unknown or revoked"));
        return TOKENS_REFUSED;
    }
    if (!(entry.scopes & scope)) {
        http_reply_errorf(reply, 403, "forbidden", "the token lacks the scope %s",
                          ingest_scope_name(scope) ? ingest_scope_name(scope) : "required");
        return TOKENS_REFUSED;
    }
    /* as with a JWT: a tenant header, if sent, must name the token's tenant */
    if (tenant_header && *tenant_header && strcasecmp(tenant_header, entry.tenant_id) != 0) {
        http_reply_error(reply, 403, "X-Tenant-ID does not match the token's tenant", NULL);
        return TOKENS_REFUSED;
    }
    memset(caller, 0, sizeof *caller);
    memcpy(caller->tenant_id, entry.tenant_id, sizeof caller->tenant_id);
    snprintf(caller->actor, sizeof caller->actor, "token:%s", entry.name);
    return TOKENS_OK;
}
