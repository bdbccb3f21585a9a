/*  store_tokens — ingest token rows (see the header).

    Each statement has one text per backend (SQLite ?N placeholders, PostgreSQL $N with
    casts), as in store_correlation.c.
*/
#include "store_tokens.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_uuid.h"
#include "store_map.h"
#include "store_reply.h"

#define S_TOKEN_COLUMNS                                                                            \
    "id, tenant_id, name, token_hash, hint, scopes, created_by, created_at, revoked_at"
#define S_TOKEN_PARAMS 9

typedef struct {
    const char *upsert;  /* (S_TOKEN_PARAMS) */
    const char *list;    /* (tenant, limit) */
    const char *by_hash; /* (hash) */
} s_sql_t;

static const s_sql_t s_sqlite = {
    .upsert = "INSERT INTO ingest_tokens (" S_TOKEN_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
              "?7, ?8, ?9) ON CONFLICT (id) DO UPDATE SET revoked_at = excluded.revoked_at "
              "WHERE ingest_tokens.revoked_at = 0 AND excluded.tenant_id = "
              "ingest_tokens.tenant_id",
    .list = "SELECT " S_TOKEN_COLUMNS " FROM ingest_tokens WHERE tenant_id = ?1 "
            "ORDER BY created_at DESC, id DESC LIMIT ?2",
    .by_hash = "SELECT " S_TOKEN_COLUMNS " FROM ingest_tokens WHERE token_hash = ?1",
};

static const s_sql_t s_postgres = {
    .upsert = "INSERT INTO ingest_tokens (" S_TOKEN_COLUMNS ") VALUES ($1::uuid, $2::uuid, $3, "
              "$4, $5, $6, $7, $8::bigint, $9::bigint) ON CONFLICT (id) DO UPDATE SET "
              "revoked_at = excluded.revoked_at WHERE ingest_tokens.revoked_at = 0 AND "
              "excluded.tenant_id = ingest_tokens.tenant_id",
    .list = "SELECT " S_TOKEN_COLUMNS " FROM ingest_tokens WHERE tenant_id = $1::uuid "
            "ORDER BY created_at DESC, id DESC LIMIT $2::bigint",
    .by_hash = "SELECT " S_TOKEN_COLUMNS " FROM ingest_tokens WHERE token_hash = $1::text",
};

/* The statements of the connection's backend. */
static const s_sql_t *s_sql(const store_db_t *db)
{
    return strcmp(store_db_backend_name(db), "sqlite") == 0 ? &s_sqlite : &s_postgres;
}

/* ---- validation ------------------------------------------------------------------------ */

/* Validates a UUID and lower-cases it in place, so both backends compare the same text. */
static bool s_uuid_field(char *uuid)
{
    if (!lk_uuid_valid(uuid))
        return false;
    for (char *c = uuid; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return true;
}

/* True for UTF-8 text of at most max bytes. */
static bool s_text_ok(const char *text, size_t max)
{
    return text && strlen(text) <= max && store_map_utf8_valid(text);
}

bool store_tokens_valid(lk_msg_t *batch, char *err, size_t err_size)
{
    for (size_t index = 0; index < batch->token_count; index++) {
        lk_ingest_token_t *token = &batch->tokens[index];
        if (!s_uuid_field(token->id) || !s_uuid_field(token->tenant_id)) {
            snprintf(err, err_size, "tokens[%zu]: id and tenant must be UUIDs", index);
            return false;
        }
        if (strlen(token->hash) != LK_TOKEN_HASH_LEN) {
            snprintf(err, err_size, "tokens[%zu]: hash must be %d hex digits", index,
                     LK_TOKEN_HASH_LEN);
            return false;
        }
        if (!s_text_ok(token->name, STORE_TOKEN_NAME_MAX) || !token->name[0] ||
            !s_text_ok(token->hint, 64) || !s_text_ok(token->scopes, 1024) ||
            !s_text_ok(token->created_by, 1024)) {
            snprintf(err, err_size,
                     "tokens[%zu]: name (1..%d bytes), hint, scopes and created_by must be "
                     "UTF-8 text",
                     index, STORE_TOKEN_NAME_MAX);
            return false;
        }
        if (token->revoked_at_ms < 0) {
            snprintf(err, err_size, "tokens[%zu]: revoked_at must not be negative", index);
            return false;
        }
    }
    return true;
}

/* ---- writing --------------------------------------------------------------------------- */

int store_tokens_apply(store_db_t *db, const lk_msg_t *batch, char *err, size_t err_size)
{
    const s_sql_t *sql = s_sql(db);
    for (size_t index = 0; index < batch->token_count; index++) {
        const lk_ingest_token_t *token = &batch->tokens[index];
        store_param_t params[S_TOKEN_PARAMS] = {
            store_param_text(token->id),           store_param_text(token->tenant_id),
            store_param_text(token->name),         store_param_text(token->hash),
            store_param_text(token->hint),         store_param_text(token->scopes),
            store_param_text(token->created_by),   store_param_int(token->created_at_ms),
            store_param_int(token->revoked_at_ms),
        };
        int rc = store_db_exec(db, sql->upsert, params, S_TOKEN_PARAMS, NULL);
        if (rc != STORE_DB_OK) {
            /* the id only: the error text names no secret, and the hash is not one either,
               but nothing about a credential belongs in a log */
            snprintf(err, err_size, "writing ingest token %s: %s", token->id, store_db_error(db));
            return rc;
        }
    }
    return STORE_DB_OK;
}

/* ---- reading --------------------------------------------------------------------------- */

/* Copies a text column into a heap string ("" for NULL). Returns false on OOM. */
static bool s_column(store_rows_t *rows, int column, char **out)
{
    const char *text = store_rows_text(rows, column);
    *out = strdup(text ? text : "");
    return *out != NULL;
}

/* Reads one S_TOKEN_COLUMNS row. Returns 0, or -1 when it does not fit the model. */
static int s_read_token(store_rows_t *rows, lk_ingest_token_t *token)
{
    memset(token, 0, sizeof *token);
    const char *id = store_rows_text(rows, 0);
    const char *tenant = store_rows_text(rows, 1);
    const char *hash = store_rows_text(rows, 3);
    if (!id || strlen(id) != LK_UUID_STR_LEN || !tenant || strlen(tenant) != LK_UUID_STR_LEN ||
        !hash || strlen(hash) != LK_TOKEN_HASH_LEN)
        return -1;
    memcpy(token->id, id, LK_UUID_STR_LEN + 1);
    memcpy(token->tenant_id, tenant, LK_UUID_STR_LEN + 1);
    memcpy(token->hash, hash, LK_TOKEN_HASH_LEN + 1);
    if (!s_column(rows, 2, &token->name) || !s_column(rows, 4, &token->hint) ||
        !s_column(rows, 5, &token->scopes) || !s_column(rows, 6, &token->created_by)) {
        lk_ingest_token_clear(token);
        return -1;
    }
    token->created_at_ms = store_rows_int(rows, 7);
    token->revoked_at_ms = store_rows_int(rows, 8);
    return 0;
}

/* Runs a statement and appends its token rows to reply. */
static int s_select(store_db_t *db, const char *sql, const store_param_t *params, int count,
                    lk_msg_t *reply, const char *what)
{
    store_rows_t *rows;
    int rc = store_db_query(db, sql, params, count, &rows);
    if (rc != STORE_DB_OK) {
        store_reply_fail(reply, LK_STATUS_ERROR, "%s failed: %s", what, store_db_error(db));
        return rc == STORE_DB_LOST ? STORE_DB_LOST : STORE_DB_OK;
    }
    int step = 0;
    while (reply->status == LK_STATUS_OK && (step = store_rows_next(rows)) == 1) {
        lk_ingest_token_t token;
        if (s_read_token(rows, &token) != 0) {
            store_reply_fail(reply, LK_STATUS_ERROR, "%s: a stored token does not parse", what);
            break;
        }
        if (lk_msg_add_token(reply, &token) != 0)
            store_reply_fail(reply, LK_STATUS_ERROR, "out of memory");
        lk_ingest_token_clear(&token);
    }
    if (reply->status == LK_STATUS_OK && step < 0) {
        store_reply_fail(reply, LK_STATUS_ERROR, "%s failed: %s", what, store_db_error(db));
        rc = step;
    }
    store_rows_destroy(&rows);
    return rc == STORE_DB_LOST ? STORE_DB_LOST : STORE_DB_OK;
}

int store_tokens_query(store_db_t *db, lk_msg_t *request, lk_msg_t *reply)
{
    const s_sql_t *sql = s_sql(db);
    if (request->query.kind == LK_QUERY_INGEST_TOKEN_BY_HASH) {
        if (strlen(request->query.token_hash) != LK_TOKEN_HASH_LEN) {
            store_reply_fail(reply, LK_STATUS_INVALID, "token_hash: %d hex digits required",
                             LK_TOKEN_HASH_LEN);
            return STORE_DB_OK;
        }
        store_param_t params[] = {store_param_text(request->query.token_hash)};
        int rc = s_select(db, sql->by_hash, params, 1, reply, "ingest_token_by_hash");
        if (rc == STORE_DB_OK && reply->status == LK_STATUS_OK && reply->token_count == 0)
            store_reply_fail(reply, LK_STATUS_NOT_FOUND, "no such token");
        return rc;
    }
    if (!s_uuid_field(request->tenant_id)) {
        store_reply_fail(reply, LK_STATUS_INVALID, "this query needs a tenant");
        return STORE_DB_OK;
    }
    store_param_t params[] = {store_param_text(request->tenant_id),
                              store_param_int(STORE_TOKENS_LIST_MAX)};
    return s_select(db, sql->list, params, 2, reply, "list_ingest_tokens");
}
