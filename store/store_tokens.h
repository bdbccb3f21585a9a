/*  store_tokens — per-tenant ingest tokens (migration 0006; ingest/ingest_token.h).

    Writing: store_writer hands each mutation batch's tokens[] to store_tokens_apply inside
    the group-commit transaction. A token row is an absolute state upserted by id; the only
    change a row ever takes is its revocation (revoked_at goes from 0 to a time and stays),
    so a batch applied twice has the effect of once and a late re-send of the creation can
    never un-revoke a token.

    Reading: store_query hands list_ingest_tokens (the tenant's tokens, newest first) and
    ingest_token_by_hash (which tenant a presented token stands for; no tenant in the
    request, since finding the tenant is the point) to store_tokens_query.
*/
#ifndef STORE_TOKENS_H
#define STORE_TOKENS_H

#include <stdbool.h>

#include "lk_msg.h"
#include "store_db.h"

#define STORE_TOKENS_LIST_MAX 1000 /* tokens one listing returns */
#define STORE_TOKEN_NAME_MAX  128  /* bytes of a token's name */

/* Checks the batch's tokens[] for content the database would refuse (ids, hash, UTF-8,
   lengths); lower-cases their UUIDs in place. Returns false with a reason in err. */
bool store_tokens_valid(lk_msg_t *batch, char *err, size_t err_size);

/* Applies the batch's tokens[] inside the open transaction. Returns STORE_DB_OK, or the
   failing call's code with err set. */
int store_tokens_apply(store_db_t *db, const lk_msg_t *batch, char *err, size_t err_size);

/* Answers list_ingest_tokens and ingest_token_by_hash into reply (a query_reply already
   initialised with status ok). Returns STORE_DB_OK (content problems become reply
   statuses) or STORE_DB_LOST. */
int store_tokens_query(store_db_t *db, lk_msg_t *request, lk_msg_t *reply);

#endif
