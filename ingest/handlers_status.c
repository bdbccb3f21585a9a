/*  handlers_status — public status pages and incident updates (docs/http-api.md).

    GET /status, GET /status/{slug}, GET /status/{slug}.json, GET /status/{slug}/events and
    GET / (a page by Host) are public (ROUTE_AUTH_HANDLER: the page names the tenant), and
    show only what the tenant marked public (status_model.h); status_service.h caches them.
    POST /incidents/{id}/updates is a tenant's: the update is stored through store's mutation
    socket with its incident_update_posted event in the same transaction, so every ingest's
    status pages and SSE clients hear of it; status "resolved" also resolves the incident
    through correlate first, the way POST /incidents/{id}/resolve does.
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "lk_json.h"
#include "lk_log.h"
#include "lk_time.h"
#include "status_service.h"

#define S_JSON_SUFFIX ".json"
#define S_MESSAGE_MAX (16 * 1024)
#define S_TITLE_MAX   256
#define S_AUTHOR_MAX  256

/* ---- public pages ------------------------------------------------------------------------- */

static bool s_service_ready(const handler_context_t *context, http_reply_t *reply)
{
    if (context->status)
        return true;
    http_reply_error(reply, 503, "status pages unavailable", NULL);
    return false;
}

static void s_page_not_found(http_reply_t *reply)
{
    http_reply_error(reply, 404, "status page not found", NULL);
}

void handle_status(const handler_context_t *context, const auth_identity_t *caller,
                   const http_request_t *request, http_reply_t *reply)
{
    (void)caller;
    if (!s_service_ready(context, reply))
        return;
    const lk_status_page_t *page = NULL;
    const char *slug = NULL;
    for (size_t i = 0; i < request->arg_count; i++)
        if (strcmp(request->args[i].name, "page") == 0)
            slug = request->args[i].value;
    if (slug)
        page = status_service_page(context->status, slug);
    else
        page = status_service_select(context->status, http_request_header(request, "Host"), false);
    if (!page) {
        http_reply_error(reply, 404, "status page not found",
                         json_string(slug ? "no public status page has that slug"
                                          : "several status pages are configured: name one "
                                            "with ?page=<slug> or GET /status/<slug>.json"));
        return;
    }
    status_service_serve_json(context->status, context->pipeline, page,
                              http_request_header(request, "If-None-Match"), reply);
}

void handle_status_page(const handler_context_t *context, const auth_identity_t *caller,
                        const http_request_t *request, http_reply_t *reply)
{
    (void)caller;
    if (!s_service_ready(context, reply))
        return;
    char slug[HTTP_PATH_PARAM_MAX + 1];
    snprintf(slug, sizeof slug, "%s", request->params[0]);
    size_t length = strlen(slug);
    size_t suffix = strlen(S_JSON_SUFFIX);
    bool json = length > suffix && strcmp(slug + length - suffix, S_JSON_SUFFIX) == 0;
    if (json)
        slug[length - suffix] = '\0';
    const lk_status_page_t *page = status_service_page(context->status, slug);
    if (!page) {
        s_page_not_found(reply);
        return;
    }
    const char *if_none_match = http_request_header(request, "If-None-Match");
    if (json)
        status_service_serve_json(context->status, context->pipeline, page, if_none_match, reply);
    else
        status_service_serve_html(context->status, if_none_match, reply);
}

void handle_status_events(const handler_context_t *context, const auth_identity_t *caller,
                          const http_request_t *request, http_reply_t *reply)
{
    (void)caller;
    if (!s_service_ready(context, reply))
        return;
    const lk_status_page_t *page = status_service_page(context->status, request->params[0]);
    if (!page) {
        s_page_not_found(reply);
        return;
    }
    status_service_open_events(context->status, context->sse, page, (void *)request->connection,
                               reply);
}

void handle_status_root(const handler_context_t *context, const auth_identity_t *caller,
                        const http_request_t *request, http_reply_t *reply)
{
    (void)caller;
    const lk_status_page_t *page =
        context->status
            ? status_service_select(context->status, http_request_header(request, "Host"), true)
            : NULL;
    if (!page) {
        http_reply_error(reply, 404, "not found", json_string(request->path));
        return;
    }
    status_service_serve_html(context->status, http_request_header(request, "If-None-Match"),
                              reply);
}

/* ---- POST /incidents/{id}/updates ---------------------------------------------------------- */

/* 400 naming a body field. Returns -1 for the caller's convenience. */
static int s_bad_field(http_reply_t *reply, const char *field, const char *message)
{
    json_t *name = json_string(field);
    http_reply_error(
        reply, 400, "invalid request body",
        json_pack("{s:o, s:s}", "field", name ? name : json_string("?"), "message", message));
    return -1;
}

/* An optional string field of 1..max bytes (no NUL). *out stays NULL when absent or null. */
static int s_string_field(json_t *body, const char *field, size_t max, const char **out,
                          http_reply_t *reply)
{
    json_t *value = json_object_get(body, field);
    *out = NULL;
    if (!value || json_is_null(value))
        return 0;
    char message[96];
    snprintf(message, sizeof message, "must be a non-empty string of at most %zu bytes", max);
    if (!json_is_string(value) || json_string_length(value) == 0 ||
        json_string_length(value) > max ||
        strlen(json_string_value(value)) != json_string_length(value))
        return s_bad_field(reply, field, message);
    *out = json_string_value(value);
    return 0;
}

/* Reads the update's fields from the body into update. Returns 0, or -1 with reply filled. */
static int s_parse_update(const http_request_t *request, const auth_identity_t *caller,
                          lk_incident_update_t *update, http_reply_t *reply)
{
    json_t *body = http_json_parse(request->body, request->body_size, reply);
    if (!body)
        return -1;
    int rc = -1;
    const char *message, *visibility, *stage, *title, *author;
    const char *key;
    json_t *value;
    if (!json_is_object(body)) {
        http_reply_error(reply, 400, "invalid request body",
                         json_string("expected an object such as {\"message\": \"We are "
                                     "investigating\", \"visibility\": \"public\"}"));
        goto done;
    }
    static const char *const known[] = {"message", "visibility", "status", "title", "author", NULL};
    json_object_foreach(body, key, value)
    {
        bool listed = false;
        for (size_t i = 0; known[i] && !listed; i++)
            listed = strcmp(key, known[i]) == 0;
        if (!listed) {
            s_bad_field(reply, key, "unknown field");
            goto done;
        }
    }
    if (s_string_field(body, "message", S_MESSAGE_MAX, &message, reply) != 0 ||
        s_string_field(body, "visibility", 16, &visibility, reply) != 0 ||
        s_string_field(body, "status", 16, &stage, reply) != 0 ||
        s_string_field(body, "title", S_TITLE_MAX, &title, reply) != 0 ||
        s_string_field(body, "author", S_AUTHOR_MAX, &author, reply) != 0)
        goto done;
    if (!message) {
        s_bad_field(reply, "message", "is required");
        goto done;
    }
    update->visibility = LK_UPDATE_PRIVATE; /* publishing is always explicit */
    if (visibility && (strcmp(visibility, "public") != 0 && strcmp(visibility, "private") != 0)) {
        s_bad_field(reply, "visibility", "expected public or private");
        goto done;
    }
    if (visibility)
        lk_update_visibility_parse(visibility, &update->visibility);
    update->stage = LK_STAGE_NONE;
    if (stage && (!lk_incident_stage_parse(stage, &update->stage) ||
                  strcmp(stage, lk_incident_stage_name(update->stage)) != 0)) {
        s_bad_field(reply, "status", "expected investigating, identified, monitoring or resolved");
        goto done;
    }
    if (!author)
        author = caller->actor[0] ? caller->actor : "anonymous";
    update->message = strdup(message);
    update->title = title ? strdup(title) : NULL;
    update->author = strdup(author);
    if (!update->message || !update->author || (title && !update->title)) {
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        goto done;
    }
    rc = 0;
done:
    json_decref(body);
    return rc;
}

/* Reads the caller's incident (404 when it is not theirs). Returns 0 with *incident filled
   (caller clears), or -1 with reply filled. */
static int s_read_incident(const handler_context_t *context, const char *tenant_id,
                           const char *incident_id, lk_incident_t *incident, http_reply_t *reply)
{
    lk_msg_t request, answer;
    lk_msg_init(&request, LK_MSG_QUERY);
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", tenant_id);
    request.query.kind = LK_QUERY_GET_INCIDENT;
    snprintf(request.query.incident_id, sizeof request.query.incident_id, "%s", incident_id);
    int rc =
        handler_ask(context, PIPELINE_STORE, &request, LK_MSG_QUERY_REPLY, false, &answer, reply);
    lk_msg_clear(&request);
    if (rc != 0)
        return -1;
    rc = -1;
    if (answer.status == LK_STATUS_NOT_FOUND ||
        (answer.status == LK_STATUS_OK &&
         (answer.incident_count == 0 || strcmp(answer.incidents[0].tenant_id, tenant_id) != 0)))
        http_reply_error(reply, 404, "incident not found", NULL);
    else if (answer.status != LK_STATUS_OK)
        http_reply_status(reply, answer.status, answer.error);
    else if (lk_incident_copy(incident, &answer.incidents[0]) != 0)
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
    else
        rc = 0;
    lk_msg_clear(&answer);
    return rc;
}

/* Resolves the incident through correlate (status "resolved"). Returns 0 with *incident
   replaced by the resolved one, or -1 with reply filled. */
static int s_resolve(const handler_context_t *context, const lk_incident_update_t *update,
                     lk_incident_t *incident, http_reply_t *reply)
{
    lk_msg_t command, answer;
    lk_msg_init(&command, LK_MSG_COMMAND);
    snprintf(command.tenant_id, sizeof command.tenant_id, "%s", update->tenant_id);
    snprintf(command.incident_id, sizeof command.incident_id, "%s", update->incident_id);
    command.action = LK_ACTION_RESOLVE;
    command.actor = strdup(update->author);
    command.note = strdup("status update: resolved");
    if (!command.actor || !command.note) {
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        lk_msg_clear(&command);
        return -1;
    }
    int rc = handler_ask(context, PIPELINE_CORRELATE, &command, LK_MSG_COMMAND_REPLY, false,
                         &answer, reply);
    lk_msg_clear(&command);
    if (rc != 0)
        return -1;
    rc = -1;
    if (answer.status == LK_STATUS_CONFLICT)
        rc = 0; /* closed already: nothing to resolve, the update still stands */
    else if (answer.status != LK_STATUS_OK)
        http_reply_status(reply, answer.status, answer.error);
    else if (answer.incident_count == 1 &&
             strcmp(answer.incidents[0].tenant_id, update->tenant_id) == 0) {
        lk_incident_clear(incident);
        rc = lk_incident_copy(incident, &answer.incidents[0]);
        if (rc != 0)
            http_reply_error(reply, 500, "internal error", json_string("out of memory"));
    } else
        http_reply_error(reply, 404, "incident not found", NULL);
    lk_msg_clear(&answer);
    return rc;
}

/* Stores the update with its incident_update_posted event. Returns 0, or -1 with reply
   filled. */
static int s_store_update(const handler_context_t *context, const lk_incident_update_t *update,
                          http_reply_t *reply)
{
    lk_msg_t batch, answer;
    lk_msg_init(&batch, LK_MSG_MUTATION_BATCH);
    lk_event_t event = {.at_ms = update->created_at_ms};
    lk_uuid7(event.event_id);
    snprintf(event.tenant_id, sizeof event.tenant_id, "%s", update->tenant_id);
    snprintf(event.incident_id, sizeof event.incident_id, "%s", update->incident_id);
    event.type = "incident_update_posted";
    event.actor = update->author;
    event.note = update->message;
    if (lk_msg_add_update(&batch, update) != 0 || lk_msg_add_event(&batch, &event) != 0) {
        lk_msg_clear(&batch);
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        return -1;
    }
    int rc = handler_ask(context, PIPELINE_STORE_WRITE, &batch, LK_MSG_MUTATION_ACK, true, &answer,
                         reply);
    lk_msg_clear(&batch);
    if (rc == 0)
        lk_msg_clear(&answer);
    return rc;
}

void handle_post_incident_update(const handler_context_t *context, const auth_identity_t *caller,
                                 const http_request_t *request, http_reply_t *reply)
{
    lk_incident_update_t update;
    memset(&update, 0, sizeof update);
    if (!lk_uuid_valid(request->params[0])) {
        http_reply_error(reply, 400, "invalid incident id", json_string("not a UUID"));
        return;
    }
    for (size_t i = 0; i < LK_UUID_STR_LEN; i++)
        update.incident_id[i] = (char)tolower((unsigned char)request->params[0][i]);
    snprintf(update.tenant_id, sizeof update.tenant_id, "%s", caller->tenant_id);
    if (s_parse_update(request, caller, &update, reply) != 0) {
        lk_incident_update_clear(&update);
        return;
    }
    lk_incident_t incident;
    memset(&incident, 0, sizeof incident);
    if (s_read_incident(context, caller->tenant_id, update.incident_id, &incident, reply) != 0) {
        lk_incident_update_clear(&update);
        return;
    }
    /* resolve first: a failure then leaves nothing stored, and the client's retry of the
       whole request resolves (unchanged) and stores the update once */
    bool open =
        incident.status == LK_INCIDENT_TRIGGERED || incident.status == LK_INCIDENT_ACKNOWLEDGED;
    if (update.stage == LK_STAGE_RESOLVED && open &&
        s_resolve(context, &update, &incident, reply) != 0) {
        lk_incident_clear(&incident);
        lk_incident_update_clear(&update);
        return;
    }
    lk_uuid7(update.id);
    update.created_at_ms = lk_now_ms();
    if (s_store_update(context, &update, reply) == 0)
        http_reply_json(reply, 201,
                        json_pack("{s:o, s:o}", "update", lk_json_incident_update(&update),
                                  "incident", lk_json_incident(&incident)));
    lk_incident_clear(&incident);
    lk_incident_update_clear(&update);
}
