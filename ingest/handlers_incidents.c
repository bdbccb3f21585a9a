/*  handlers_incidents — the incident API: list, get, acknowledge, resolve.

    Reads go to store's query socket (store serves them on its own connection, so they never
    wait behind writes); acknowledge and resolve go to correlate, which owns live incident
    state, so an operator's command is ordered with the alerts of the same incident. Every
    query is scoped to the caller's tenant; another tenant's incident is answered exactly
    like a missing one.
*/
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "lk_json.h"
#include "lk_log.h"
#include "lk_time.h"

#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX     500
#define CURSOR_MAX_BYTES   256
#define LABEL_VALUE_MAX    4096
#define ACTOR_MAX_BYTES    256
#define NOTE_MAX_BYTES     4096
#define ACK_TIMEOUT_MAX_S  604800 /* an acknowledgement lapses after at most a week */

/* ---- shared ---------------------------------------------------------------------------- */

/* Copies a path segment that must be a UUID into out in canonical lower case. Returns 0, or
   -1 with reply filled (400). */
static int s_incident_id(const char *segment, char out[LK_UUID_STR_LEN + 1], http_reply_t *reply)
{
    if (!lk_uuid_valid(segment)) {
        http_reply_error(reply, 400, "invalid incident id", json_string("not a UUID"));
        return -1;
    }
    for (size_t i = 0; i < LK_UUID_STR_LEN; i++)
        out[i] = (char)tolower((unsigned char)segment[i]);
    out[LK_UUID_STR_LEN] = '\0';
    return 0;
}

/* Sends a query to store; 0 with an OK answer, or -1 with reply filled (handler_ask). */
static int s_store_query(const handler_context_t *context, lk_msg_t *request, lk_msg_t *answer,
                         http_reply_t *reply)
{
    return handler_ask(context, PIPELINE_STORE, request, LK_MSG_QUERY_REPLY, true, answer, reply);
}

/* ---- GET /incidents -------------------------------------------------------------------- */

static bool s_label_name_valid(const char *name)
{
    if (!(isalpha((unsigned char)name[0]) || name[0] == '_'))
        return false;
    for (const char *at = name + 1; *at; at++)
        if (!(isalnum((unsigned char)*at) || *at == '_'))
            return false;
    return true;
}

/* status=triggered,acknowledged → bit mask. */
static int s_parse_status(const char *value, uint32_t *mask, http_reply_t *reply)
{
    char item[32];
    const char *at = value;
    *mask = 0;
    while (true) {
        const char *end = strchr(at, ',');
        size_t length = end ? (size_t)(end - at) : strlen(at);
        lk_incident_status_t status;
        if (length == 0 || length >= sizeof item)
            return handler_bad_parameter(
                reply, "status",
                "expected a comma list of triggered, acknowledged, resolved, "
                "closed");
        memcpy(item, at, length);
        item[length] = '\0';
        if (!lk_incident_status_parse(item, &status))
            return handler_bad_parameter(
                reply, "status",
                "expected a comma list of triggered, acknowledged, resolved, "
                "closed");
        *mask |= 1u << status;
        if (!end)
            return 0;
        at = end + 1;
    }
}

/* Fills query from the arguments. Returns 0, or -1 with reply filled (400 naming the bad
   parameter). Each parameter other than label.* may appear once. */
static int s_parse_list_args(const http_arg_t *args, size_t arg_count, lk_query_t *query,
                             http_reply_t *reply)
{
    bool seen_status = false, seen_severity = false, seen_since = false, seen_until = false;
    bool seen_limit = false, seen_cursor = false;
    query->kind = LK_QUERY_LIST_INCIDENTS;
    query->limit = LIST_LIMIT_DEFAULT;
    for (size_t i = 0; i < arg_count; i++) {
        const char *name = args[i].name;
        const char *value = args[i].value ? args[i].value : "";
        bool *seen = NULL;
        if (strncmp(name, "label.", 6) == 0) {
            const char *label = name + 6;
            if (!s_label_name_valid(label))
                return handler_bad_parameter(reply, name,
                                             "label names match [a-zA-Z_][a-zA-Z0-9_]*");
            if (strlen(value) > LABEL_VALUE_MAX)
                return handler_bad_parameter(reply, name, "label values are at most 4096 bytes");
            if (lk_labels_get(&query->labels, label))
                return handler_bad_parameter(reply, name, "given more than once");
            if (lk_labels_set(&query->labels, label, value) != 0) {
                http_reply_error(reply, 500, "internal error", json_string("out of memory"));
                return -1;
            }
            continue;
        }
        if (strcmp(name, "status") == 0)
            seen = &seen_status;
        else if (strcmp(name, "severity") == 0)
            seen = &seen_severity;
        else if (strcmp(name, "since") == 0)
            seen = &seen_since;
        else if (strcmp(name, "until") == 0)
            seen = &seen_until;
        else if (strcmp(name, "limit") == 0)
            seen = &seen_limit;
        else if (strcmp(name, "cursor") == 0)
            seen = &seen_cursor;
        else
            return handler_bad_parameter(
                reply, name,
                "unknown parameter; expected status, severity, since, until, "
                "label.<name>, limit, cursor");
        if (*seen)
            return handler_bad_parameter(reply, name, "given more than once");
        *seen = true;

        if (seen == &seen_status) {
            if (s_parse_status(value, &query->status_mask, reply) != 0)
                return -1;
        } else if (seen == &seen_severity) {
            lk_severity_t severity;
            if (!lk_severity_parse(value, &severity))
                return handler_bad_parameter(reply, name,
                                             "expected one of info, warning, error, critical");
            query->severity_min = (int32_t)severity;
        } else if (seen == &seen_since || seen == &seen_until) {
            int64_t epoch_ms;
            if (!lk_time_parse(value, &epoch_ms))
                return handler_bad_parameter(
                    reply, name, "expected an RFC 3339 time such as 2026-01-02T15:04:05Z");
            /* 0 means "unbounded" on the wire; the epoch itself is never a useful bound. */
            if (epoch_ms <= 0)
                return handler_bad_parameter(reply, name, "must be after 1970-01-01T00:00:00Z");
            if (seen == &seen_since)
                query->since_ms = epoch_ms;
            else
                query->until_ms = epoch_ms;
        } else if (seen == &seen_limit) {
            if (handler_parse_limit(value, LIST_LIMIT_MAX, &query->limit, reply) != 0)
                return -1;
        } else {
            size_t length = strlen(value);
            if (length == 0 || length > CURSOR_MAX_BYTES)
                return handler_bad_parameter(reply, name,
                                             "expected the next_cursor of a previous page");
            query->cursor = strdup(value);
            if (!query->cursor) {
                http_reply_error(reply, 500, "internal error", json_string("out of memory"));
                return -1;
            }
        }
    }
    return 0;
}

void handle_list_incidents(const handler_context_t *context, const auth_identity_t *caller,
                           const http_request_t *http, http_reply_t *reply)
{
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_QUERY);
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", caller->tenant_id);
    if (s_parse_list_args(http->args, http->arg_count, &request.query, reply) != 0) {
        lk_msg_clear(&request);
        return;
    }
    lk_msg_t answer;
    int rc = s_store_query(context, &request, &answer, reply);
    bool had_cursor = request.query.cursor != NULL;
    lk_msg_clear(&request);
    if (rc != 0) {
        /* The cursor is the only part of a list query store can find wrong that the
           parsing above could not. */
        if (reply->status == 400 && had_cursor)
            handler_bad_parameter(reply, "cursor", "expected the next_cursor of a previous page");
        return;
    }
    json_t *incidents = json_array();
    for (size_t i = 0; incidents && i < answer.incident_count; i++) {
        if (json_array_append_new(incidents, lk_json_incident(&answer.incidents[i])) != 0) {
            json_decref(incidents);
            incidents = NULL;
        }
    }
    http_reply_json(reply, 200,
                    json_pack("{s:o, s:o}", "incidents", incidents, "next_cursor",
                              answer.next_cursor && *answer.next_cursor
                                  ? json_string(answer.next_cursor)
                                  : json_null()));
    lk_msg_clear(&answer);
}

/* ---- GET /incidents/{id} --------------------------------------------------------------- */

static int s_event_order(const void *a, const void *b)
{
    const lk_event_t *left = a, *right = b;
    if (left->sequence != right->sequence)
        return left->sequence < right->sequence ? -1 : 1;
    return (left->at_ms > right->at_ms) - (left->at_ms < right->at_ms);
}

void handle_get_incident(const handler_context_t *context, const auth_identity_t *caller,
                         const http_request_t *http, http_reply_t *reply)
{
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_QUERY);
    if (s_incident_id(http->params[0], request.query.incident_id, reply) != 0) {
        lk_msg_clear(&request);
        return;
    }
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", caller->tenant_id);
    request.query.kind = LK_QUERY_GET_INCIDENT;
    lk_msg_t answer;
    int rc = s_store_query(context, &request, &answer, reply);
    lk_msg_clear(&request);
    if (rc != 0)
        return;
    /* The tenant comparison repeats store's scoping on purpose: a slip there must not show
       one tenant's incident to another. */
    if (answer.incident_count == 0 ||
        strcmp(answer.incidents[0].tenant_id, caller->tenant_id) != 0) {
        http_reply_error(reply, 404, "incident not found", NULL);
        lk_msg_clear(&answer);
        return;
    }
    /* The timeline is oldest first whatever order the rows arrived in. */
    if (answer.event_count > 1)
        qsort(answer.events, answer.event_count, sizeof *answer.events, s_event_order);
    json_t *alerts = json_array();
    for (size_t i = 0; alerts && i < answer.alert_count; i++)
        if (json_array_append_new(alerts, lk_json_alert(&answer.alerts[i])) != 0) {
            json_decref(alerts);
            alerts = NULL;
        }
    json_t *timeline = json_array();
    for (size_t i = 0; timeline && i < answer.event_count; i++)
        if (json_array_append_new(timeline, lk_json_event(&answer.events[i])) != 0) {
            json_decref(timeline);
            timeline = NULL;
        }
    /* the updates people wrote (POST /incidents/{id}/updates), oldest first */
    json_t *updates = json_array();
    for (size_t i = 0; updates && i < answer.update_count; i++)
        if (json_array_append_new(updates, lk_json_incident_update(&answer.updates[i])) != 0) {
            json_decref(updates);
            updates = NULL;
        }
    http_reply_json(reply, 200,
                    json_pack("{s:o, s:o, s:o, s:o}", "incident",
                              lk_json_incident(&answer.incidents[0]), "alerts", alerts, "timeline",
                              timeline, "updates", updates));
    lk_msg_clear(&answer);
}

/* ---- POST /incidents/{id}/acknowledge|resolve ------------------------------------------ */

/* Reads an optional string field of the command body. Returns 0 with *out pointing into
   body (or left alone when absent/null), -1 with reply filled. */
static int s_body_string(json_t *body, const char *field, size_t max_bytes, const char **out,
                         http_reply_t *reply)
{
    json_t *value = json_object_get(body, field);
    if (!value || json_is_null(value))
        return 0;
    if (!json_is_string(value) || json_string_length(value) == 0 ||
        json_string_length(value) > max_bytes ||
        strlen(json_string_value(value)) != json_string_length(value)) {
        char message[96];
        snprintf(message, sizeof message, "must be a non-empty string of at most %zu bytes",
                 max_bytes);
        http_reply_json(reply, 400,
                        json_pack("{s:s, s:{s:s, s:s}}", "error", "invalid request body", "detail",
                                  "field", field, "message", message));
        return -1;
    }
    *out = json_string_value(value);
    return 0;
}

/* True when the body holds nothing but whitespace: such a body means "no options". */
static bool s_body_blank(const char *body, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (!isspace((unsigned char)body[i]))
            return false;
    return true;
}

/* Acknowledge or resolve: both travel to correlate, which owns live incident state. */
static void s_incident_command(const handler_context_t *context, const auth_identity_t *caller,
                               lk_action_t action, const char *incident_id, const char *body,
                               size_t body_size, http_reply_t *reply)
{
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_COMMAND);
    if (s_incident_id(incident_id, request.incident_id, reply) != 0) {
        lk_msg_clear(&request);
        return;
    }
    const char *actor = caller->actor[0] ? caller->actor : "anonymous";
    const char *note = NULL;
    json_t *options = NULL;
    if (!s_body_blank(body, body_size)) {
        options = http_json_parse(body, body_size, reply);
        if (!options) {
            lk_msg_clear(&request);
            return;
        }
        if (!json_is_object(options)) {
            http_reply_error(reply, 400, "invalid request body",
                             json_string("expected an object such as {\"actor\": \"alice\", "
                                         "\"note\": \"looking\"}"));
            json_decref(options);
            lk_msg_clear(&request);
            return;
        }
        if (s_body_string(options, "actor", ACTOR_MAX_BYTES, &actor, reply) != 0 ||
            s_body_string(options, "note", NOTE_MAX_BYTES, &note, reply) != 0) {
            json_decref(options);
            lk_msg_clear(&request);
            return;
        }
        /* acknowledge only: the acknowledgement lapses after this and escalation resumes */
        json_t *timeout = json_object_get(options, "ack_timeout_s");
        if (timeout && !json_is_null(timeout)) {
            if (action != LK_ACTION_ACKNOWLEDGE || !json_is_integer(timeout) ||
                json_integer_value(timeout) < 1 ||
                json_integer_value(timeout) > ACK_TIMEOUT_MAX_S) {
                http_reply_json(reply, 400,
                                json_pack("{s:s, s:{s:s, s:s}}", "error", "invalid request body",
                                          "detail", "field", "ack_timeout_s", "message",
                                          "acknowledge only: whole seconds from 1 to 604800"));
                json_decref(options);
                lk_msg_clear(&request);
                return;
            }
            request.ack_timeout_s = (uint32_t)json_integer_value(timeout);
        }
    }
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", caller->tenant_id);
    request.action = action;
    request.actor = strdup(actor);
    request.note = note ? strdup(note) : NULL;
    json_decref(options);
    if (!request.actor || (note && !request.note)) {
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        lk_msg_clear(&request);
        return;
    }

    lk_msg_t answer;
    int rc = handler_ask(context, PIPELINE_CORRELATE, &request, LK_MSG_COMMAND_REPLY, true, &answer,
                         reply);
    lk_msg_clear(&request);
    if (rc != 0)
        return;
    if (answer.incident_count == 0)
        http_reply_error(reply, 500, "internal error",
                         json_string("correlate confirmed the command without the incident"));
    else if (strcmp(answer.incidents[0].tenant_id, caller->tenant_id) != 0)
        http_reply_error(reply, 404, "incident not found", NULL);
    else
        http_reply_json(reply, 200,
                        json_pack("{s:o, s:b}", "incident", lk_json_incident(&answer.incidents[0]),
                                  "changed", answer.changed));
    lk_msg_clear(&answer);
}

void handle_acknowledge_incident(const handler_context_t *context, const auth_identity_t *caller,
                                 const http_request_t *request, http_reply_t *reply)
{
    s_incident_command(context, caller, LK_ACTION_ACKNOWLEDGE, request->params[0], request->body,
                       request->body_size, reply);
}

void handle_resolve_incident(const handler_context_t *context, const auth_identity_t *caller,
                             const http_request_t *request, http_reply_t *reply)
{
    s_incident_command(context, caller, LK_ACTION_RESOLVE, request->params[0], request->body,
                       request->body_size, reply);
}

/* ---- GET /healthz ---------------------------------------------------------------------- */

void handle_healthz(const handler_context_t *context, const auth_identity_t *caller,
                    const http_request_t *request, http_reply_t *reply)
{
    http_reply_json(reply, 200, json_pack("{s:s}", "status", "ok"));
}
