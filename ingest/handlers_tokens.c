/*  handlers_tokens — per-tenant ingest tokens (docs/http-api.md, "Ingest tokens").

      POST   /tokens        {name, scopes?}: 201 with the token, shown this once
      GET    /tokens        the tenant's tokens (never their values), revoked ones too
      DELETE /tokens/{id}   revokes: the token stops working here at once, on other ingest
                            copies within LOOKOUT_TOKEN_CACHE_S

    All three take the tenant credentials (service token + X-Tenant-ID, or a JWT); an ingest
    token cannot manage tokens. The rows live in store (store_tokens.h): creation and
    revocation are mutation batches on store's mutation socket, listing a query. The token
    value never leaves this file except in the one creation reply; logs name the id.
*/
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "ingest_token.h"
#include "lk_json.h"
#include "lk_log.h"
#include "lk_time.h"
#include "lk_uuid.h"
#include "tokens.h"

#define S_TOKEN_NAME_MAX 128

/* The public shape of a token row: {id, name, hint, scopes[], created_at, created_by,
   revoked_at|null, status active|revoked}. */
static json_t *s_token_json(const lk_ingest_token_t *token)
{
    json_t *scopes = json_array();
    uint32_t bits = ingest_scopes_parse_list(token->scopes);
    for (uint32_t bit = 1; scopes && bit && bit <= INGEST_SCOPE_ALL; bit <<= 1)
        if ((bits & bit) && ingest_scope_name(bit))
            json_array_append_new(scopes, json_string(ingest_scope_name(bit)));
    return json_pack(
        "{s:s, s:s, s:s, s:o, s:o, s:s, s:o, s:s}", "id", token->id, "name",
        token->name ? token->name : "", "hint", token->hint ? token->hint : "", "scopes",
        scopes ? scopes : json_array(), "created_at", lk_json_time(token->created_at_ms),
        "created_by", token->created_by ? token->created_by : "", "revoked_at",
        lk_json_time(token->revoked_at_ms), "status", token->revoked_at_ms ? "revoked" : "active");
}

/* Stores one token row through store's mutation socket. Returns 0, or -1 with reply set. */
static int s_write(const handler_context_t *context, const lk_ingest_token_t *token,
                   http_reply_t *reply)
{
    lk_msg_t batch;
    lk_msg_init(&batch, LK_MSG_MUTATION_BATCH);
    if (lk_msg_add_token(&batch, token) != 0) {
        lk_msg_clear(&batch);
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        return -1;
    }
    lk_msg_t answer;
    int rc = handler_ask(context, PIPELINE_STORE_WRITE, &batch, LK_MSG_MUTATION_ACK, true, &answer,
                         reply);
    lk_msg_clear(&batch);
    if (rc == 0)
        lk_msg_clear(&answer);
    return rc;
}

/* Reads the tenant's tokens into *answer (a query_reply). Returns 0, or -1 with reply set. */
static int s_list(const handler_context_t *context, const char *tenant_id, lk_msg_t *answer,
                  http_reply_t *reply)
{
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_QUERY);
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", tenant_id);
    request.query.kind = LK_QUERY_LIST_INGEST_TOKENS;
    int rc =
        handler_ask(context, PIPELINE_STORE, &request, LK_MSG_QUERY_REPLY, true, answer, reply);
    lk_msg_clear(&request);
    return rc;
}

void handle_post_token(const handler_context_t *context, const auth_identity_t *caller,
                       const http_request_t *request, http_reply_t *reply)
{
    json_t *body = http_json_parse(request->body, request->body_size, reply);
    if (!body)
        return;
    const char *field = NULL, *problem = NULL;
    const json_t *name = json_object_get(body, "name");
    const json_t *scopes = json_object_get(body, "scopes");
    uint32_t bits = 0;
    if (!json_is_object(body)) {
        problem = "must be an object";
    } else if (!json_is_string(name) || json_string_length(name) == 0 ||
               json_string_length(name) > S_TOKEN_NAME_MAX ||
               strlen(json_string_value(name)) != json_string_length(name)) {
        field = "name";
        problem = "required: 1 to 128 bytes of text";
    } else if (scopes && !json_is_null(scopes)) {
        if (!json_is_array(scopes) || json_array_size(scopes) == 0) {
            field = "scopes";
            problem = "must be a non-empty array of alerts:write, heartbeats:write";
        } else {
            size_t i;
            const json_t *item;
            json_array_foreach(scopes, i, item)
            {
                uint32_t bit = ingest_scope_parse(json_string_value(item));
                if (!bit) {
                    field = "scopes";
                    problem = "unknown scope; known: alerts:write, heartbeats:write";
                    break;
                }
                bits |= bit;
            }
        }
    }
    if (problem) {
        json_t *detail = field ? json_pack("{s:s, s:s}", "field", field, "message", problem)
                               : json_string(problem);
        http_reply_error(reply, 400, "invalid request body", detail);
        json_decref(body);
        return;
    }
    if (!bits)
        bits = INGEST_SCOPE_DEFAULT;

    char secret[INGEST_TOKEN_LEN + 1];
    lk_ingest_token_t token;
    memset(&token, 0, sizeof token);
    if (ingest_token_generate(secret, token.hash) != 0) {
        json_decref(body);
        http_reply_error(reply, 500, "internal error", json_string("no randomness available"));
        return;
    }
    char scope_text[128];
    char hint[INGEST_TOKEN_HINT_LEN + 1];
    memcpy(hint, secret, INGEST_TOKEN_HINT_LEN);
    hint[INGEST_TOKEN_HINT_LEN] = '\0';
    lk_uuid7(token.id);
    memcpy(token.tenant_id, caller->tenant_id, sizeof token.tenant_id);
    token.name = strdup(json_string_value(name));
    token.hint = strdup(hint);
    token.scopes = strdup(ingest_scopes_format(bits, scope_text, sizeof scope_text));
    token.created_by = strdup(caller->actor);
    token.created_at_ms = lk_now_ms();
    json_decref(body);
    if (!token.name || !token.hint || !token.scopes || !token.created_by) {
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
    } else if (s_write(context, &token, reply) == 0) {
        if (context->tokens)
            tokens_remember(context->tokens, token.hash, token.tenant_id, token.name, bits);
        json_t *shown = s_token_json(&token);
        if (shown)
            json_object_set_new(shown, "token", json_string(secret));
        http_reply_json(reply, 201, shown);
        lk_info("ingest: tenant %s created ingest token %s", token.tenant_id, token.id);
    }
    OPENSSL_cleanse(secret, sizeof secret);
    lk_ingest_token_clear(&token);
}

void handle_list_tokens(const handler_context_t *context, const auth_identity_t *caller,
                        const http_request_t *request, http_reply_t *reply)
{
    lk_msg_t answer;
    if (s_list(context, caller->tenant_id, &answer, reply) != 0)
        return;
    json_t *list = json_array();
    for (size_t i = 0; list && i < answer.token_count; i++)
        if (json_array_append_new(list, s_token_json(&answer.tokens[i])) != 0) {
            json_decref(list);
            list = NULL;
        }
    lk_msg_clear(&answer);
    http_reply_json(reply, 200, list ? json_pack("{s:o}", "tokens", list) : NULL);
}

void handle_delete_token(const handler_context_t *context, const auth_identity_t *caller,
                         const http_request_t *request, http_reply_t *reply)
{
    const char *id = request->params[0];
    if (!lk_uuid_valid(id)) {
        /* as for a token of another tenant: nothing says whether it exists */
        http_reply_error(reply, 404, "not found", json_string("no such token"));
        return;
    }
    lk_msg_t answer;
    if (s_list(context, caller->tenant_id, &answer, reply) != 0)
        return;
    lk_ingest_token_t *token = NULL;
    for (size_t i = 0; i < answer.token_count; i++)
        if (strcasecmp(answer.tokens[i].id, id) == 0)
            token = &answer.tokens[i];
    if (!token) {
        http_reply_error(reply, 404, "not found", json_string("no such token"));
    } else if (token->revoked_at_ms) {
        http_reply_json(reply, 200, json_pack("{s:o}", "token", s_token_json(token)));
    } else {
        token->revoked_at_ms = lk_now_ms();
        if (s_write(context, token, reply) == 0) {
            if (context->tokens)
                tokens_forget(context->tokens, token->hash);
            http_reply_json(reply, 200, json_pack("{s:o}", "token", s_token_json(token)));
            lk_info("ingest: tenant %s revoked ingest token %s", token->tenant_id, token->id);
        }
    }
    lk_msg_clear(&answer);
}
