/*  handlers_silences — silences, heartbeat monitors and held (suppressed) alerts.

    Silences and heartbeat pings change correlate's live state, so they travel like
    acknowledgements: ingest → correlate (which decides) → store, and the answer comes once
    the change is committed. Reading them (GET /silences, /heartbeats, /alerts/suppressed)
    goes to store's query socket like the incident reads. Everything is scoped to the
    caller's tenant; another tenant's silence is answered exactly like a missing one.

    The silence body follows Alertmanager's API v2 (PostableSilence): matchers [{name, value,
    isRegex, isEqual}], startsAt, endsAt, createdBy, comment, and optionally the id of a
    silence to update.
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "lk_json.h"
#include "lk_log.h"
#include "lk_match.h"
#include "lk_time.h"

#define SILENCE_MATCHERS_MAX   64
#define SILENCE_TEXT_MAX       4096 /* createdBy, comment */
#define HEARTBEAT_LABELS_MAX   32
#define HEARTBEAT_INTERVAL_MAX (366.0 * 86400) /* seconds */
#define LIST_LIMIT_MAX         1000

/* ---- shared ------------------------------------------------------------------------------ */

/* A 400 naming the offending field: {"error": "invalid request body", "detail": {field,
   message}}. Returns -1 for the callers' convenience. */
static int s_bad_field(http_reply_t *reply, const char *field, const char *message)
{
    http_reply_json(reply, 400,
                    json_pack("{s:s, s:{s:s, s:s}}", "error", "invalid request body", "detail",
                              "field", field, "message", message));
    return -1;
}

/* True when the body is only whitespace. */
static bool s_blank(const char *body, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (!isspace((unsigned char)body[i]))
            return false;
    return true;
}

/* Copies a UUID path segment in lower case into out. Returns 0, or -1 with a 400. */
static int s_silence_id(const char *segment, char out[LK_UUID_STR_LEN + 1], http_reply_t *reply)
{
    if (!lk_uuid_valid(segment)) {
        http_reply_error(reply, 400, "invalid silence id", json_string("not a UUID"));
        return -1;
    }
    for (size_t i = 0; i < LK_UUID_STR_LEN; i++)
        out[i] = (char)tolower((unsigned char)segment[i]);
    out[LK_UUID_STR_LEN] = '\0';
    return 0;
}

/* A comma list of names into a bit mask (bit i for names[i]). */
static int s_parse_states(const char *parameter, const char *value, const char *const *names,
                          size_t count, uint32_t *mask, http_reply_t *reply)
{
    char message[160];
    snprintf(message, sizeof message, "expected a comma list of %s%s%s%s%s", names[0],
             count > 1 ? ", " : "", count > 1 ? names[1] : "", count > 2 ? ", " : "",
             count > 2 ? names[2] : "");
    const char *at = value;
    *mask = 0;
    while (true) {
        const char *end = strchr(at, ',');
        size_t length = end ? (size_t)(end - at) : strlen(at);
        size_t index;
        for (index = 0; index < count; index++)
            if (strlen(names[index]) == length && strncmp(at, names[index], length) == 0)
                break;
        if (index == count)
            return handler_bad_parameter(reply, parameter, message);
        *mask |= 1u << index;
        if (!end)
            return 0;
        at = end + 1;
    }
}

/* ---- silences ---------------------------------------------------------------------------- */

/* An RFC 3339 time field into *ms; absent/null leaves *ms. */
static int s_time_field(json_t *body, const char *field, bool required, int64_t *ms,
                        http_reply_t *reply)
{
    json_t *value = json_object_get(body, field);
    if (!value || json_is_null(value)) {
        if (required)
            return s_bad_field(reply, field, "is required (an RFC 3339 time)");
        return 0;
    }
    if (!json_is_string(value) || !lk_time_parse(json_string_value(value), ms) || *ms <= 0)
        return s_bad_field(reply, field, "expected an RFC 3339 time such as 2026-01-02T15:04:05Z");
    return 0;
}

/* An optional string field of at most max bytes into a heap copy (*out NULL when absent). */
static int s_text_field(json_t *body, const char *field, size_t max, char **out,
                        http_reply_t *reply)
{
    json_t *value = json_object_get(body, field);
    *out = NULL;
    if (!value || json_is_null(value))
        return 0;
    if (!json_is_string(value) || json_string_length(value) > max ||
        strlen(json_string_value(value)) != json_string_length(value)) {
        char message[96];
        snprintf(message, sizeof message, "expected a string of at most %zu bytes", max);
        return s_bad_field(reply, field, message);
    }
    *out = strdup(json_string_value(value));
    if (!*out) {
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        return -1;
    }
    return 0;
}

/* Reads the matchers array into silence. */
static int s_matchers_field(json_t *body, lk_silence_t *silence, http_reply_t *reply)
{
    json_t *matchers = json_object_get(body, "matchers");
    if (!json_is_array(matchers) || json_array_size(matchers) == 0 ||
        json_array_size(matchers) > SILENCE_MATCHERS_MAX)
        return s_bad_field(reply, "matchers",
                           "expected 1 to 64 matchers [{\"name\", \"value\", \"isRegex\", "
                           "\"isEqual\"}]");
    size_t count = json_array_size(matchers);
    silence->matchers = calloc(count, sizeof(lk_matcher_t));
    if (!silence->matchers) {
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        json_t *item = json_array_get(matchers, i);
        char field[64];
        snprintf(field, sizeof field, "matchers[%zu]", i);
        json_t *name = json_object_get(item, "name");
        json_t *value = json_object_get(item, "value");
        json_t *is_regex = json_object_get(item, "isRegex");
        json_t *is_equal = json_object_get(item, "isEqual");
        if (!json_is_object(item) || !json_is_string(name) || !json_is_string(value) ||
            (is_regex && !json_is_boolean(is_regex) && !json_is_null(is_regex)) ||
            (is_equal && !json_is_boolean(is_equal) && !json_is_null(is_equal)))
            return s_bad_field(reply, field,
                               "expected {\"name\": string, \"value\": string, \"isRegex\": "
                               "bool, \"isEqual\": bool (default true)}");
        lk_matcher_t *matcher = &silence->matchers[i];
        silence->matcher_count = i + 1;
        matcher->name = strdup(json_string_value(name));
        matcher->value = strdup(json_string_value(value));
        matcher->is_regex = json_is_true(is_regex);
        matcher->is_equal = !is_equal || json_is_null(is_equal) || json_is_true(is_equal);
        if (!matcher->name || !matcher->value) {
            http_reply_error(reply, 500, "internal error", json_string("out of memory"));
            return -1;
        }
        char reason[256];
        if (strlen(matcher->value) != json_string_length(value) ||
            lk_matcher_check(matcher, reason, sizeof reason) != 0)
            return s_bad_field(reply, field, reason);
    }
    return 0;
}

/* Parses a PostableSilence body into silence. Returns 0 or -1 with reply filled. */
static int s_parse_silence(const http_request_t *http, const auth_identity_t *caller,
                           lk_silence_t *silence, http_reply_t *reply)
{
    json_t *body = http_json_parse(http->body, http->body_size, reply);
    if (!body)
        return -1;
    int rc = -1;
    if (!json_is_object(body)) {
        http_reply_error(reply, 400, "invalid request body",
                         json_string("expected a silence object {\"matchers\": [...], "
                                     "\"startsAt\", \"endsAt\", \"createdBy\", \"comment\"}"));
        goto done;
    }
    json_t *id = json_object_get(body, "id");
    if (id && !json_is_null(id)) {
        if (!json_is_string(id) || !lk_uuid_valid(json_string_value(id))) {
            s_bad_field(reply, "id", "expected the UUID of a silence to update");
            goto done;
        }
        for (size_t i = 0; i < LK_UUID_STR_LEN; i++)
            silence->id[i] = (char)tolower((unsigned char)json_string_value(id)[i]);
    }
    if (s_matchers_field(body, silence, reply) != 0 ||
        s_time_field(body, "startsAt", false, &silence->starts_at_ms, reply) != 0 ||
        s_time_field(body, "endsAt", true, &silence->ends_at_ms, reply) != 0 ||
        s_text_field(body, "createdBy", SILENCE_TEXT_MAX, &silence->created_by, reply) != 0 ||
        s_text_field(body, "comment", SILENCE_TEXT_MAX, &silence->comment, reply) != 0)
        goto done;
    if (silence->starts_at_ms && silence->ends_at_ms <= silence->starts_at_ms) {
        s_bad_field(reply, "endsAt", "must be after startsAt");
        goto done;
    }
    if (!silence->created_by || !*silence->created_by) {
        free(silence->created_by);
        silence->created_by = strdup(caller->actor[0] ? caller->actor : "anonymous");
    }
    if (!silence->comment)
        silence->comment = strdup("");
    if (!silence->created_by || !silence->comment) {
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        goto done;
    }
    rc = 0;
done:
    json_decref(body);
    return rc;
}

/* Sends a silence_command; on success answers 200 with the silence (plus silenceID, as
   Alertmanager's POST answers). On not_found, *not_found is set and reply left empty. */
static void s_silence_command(const handler_context_t *context, const auth_identity_t *caller,
                              lk_silence_action_t action, const lk_silence_t *silence,
                              bool *not_found, http_reply_t *reply)
{
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_SILENCE_COMMAND);
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", caller->tenant_id);
    request.silence_action = action;
    request.actor = strdup(caller->actor[0] ? caller->actor : "anonymous");
    if (!request.actor || lk_msg_add_silence(&request, silence) != 0) {
        lk_msg_clear(&request);
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        return;
    }
    lk_msg_t answer;
    int rc = handler_ask(context, PIPELINE_CORRELATE, &request, LK_MSG_CONTROL_REPLY, false,
                         &answer, reply);
    lk_msg_clear(&request);
    if (rc != 0)
        return;
    if (answer.status == LK_STATUS_NOT_FOUND && not_found)
        *not_found = true;
    else if (answer.status != LK_STATUS_OK)
        http_reply_status(reply, answer.status, answer.error);
    else if (answer.silence_count != 1 ||
             strcmp(answer.silences[0].tenant_id, caller->tenant_id) != 0)
        http_reply_error(reply, 500, "internal error",
                         json_string("correlate confirmed without the silence"));
    else {
        json_t *body = lk_json_silence(&answer.silences[0], lk_now_ms());
        if (body && action == LK_SILENCE_CREATE)
            json_object_set_new(body, "silenceID", json_string(answer.silences[0].id));
        http_reply_json(reply, 200, body);
    }
    lk_msg_clear(&answer);
}

void handle_post_silence(const handler_context_t *context, const auth_identity_t *caller,
                         const http_request_t *http, http_reply_t *reply)
{
    lk_silence_t silence;
    memset(&silence, 0, sizeof silence);
    if (s_parse_silence(http, caller, &silence, reply) == 0) {
        bool not_found = false;
        s_silence_command(context, caller, LK_SILENCE_CREATE, &silence, &not_found, reply);
        if (not_found)
            http_reply_error(reply, 404, "silence not found",
                             json_string("no live silence with this id: an expired silence "
                                         "cannot be updated; create a new one"));
    }
    lk_silence_clear(&silence);
}

/* Asks store for one silence of the caller's tenant. Returns 0 with *answer holding it (at
   least one silence), 1 when it does not exist (reply empty), -1 with reply filled. */
static int s_get_stored(const handler_context_t *context, const auth_identity_t *caller,
                        const char *id, lk_msg_t *answer, http_reply_t *reply)
{
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_QUERY);
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", caller->tenant_id);
    request.query.kind = LK_QUERY_GET_SILENCE;
    snprintf(request.query.silence_id, sizeof request.query.silence_id, "%s", id);
    int rc =
        handler_ask(context, PIPELINE_STORE, &request, LK_MSG_QUERY_REPLY, false, answer, reply);
    lk_msg_clear(&request);
    if (rc != 0)
        return -1;
    if (answer->status == LK_STATUS_NOT_FOUND ||
        (answer->status == LK_STATUS_OK &&
         (answer->silence_count == 0 ||
          strcmp(answer->silences[0].tenant_id, caller->tenant_id) != 0))) {
        lk_msg_clear(answer);
        return 1;
    }
    if (answer->status != LK_STATUS_OK) {
        http_reply_status(reply, answer->status, answer->error);
        lk_msg_clear(answer);
        return -1;
    }
    return 0;
}

void handle_get_silence(const handler_context_t *context, const auth_identity_t *caller,
                        const http_request_t *http, http_reply_t *reply)
{
    char id[LK_UUID_STR_LEN + 1];
    if (s_silence_id(http->params[0], id, reply) != 0)
        return;
    lk_msg_t answer;
    int rc = s_get_stored(context, caller, id, &answer, reply);
    if (rc == 1)
        http_reply_error(reply, 404, "silence not found", NULL);
    if (rc != 0)
        return;
    http_reply_json(reply, 200, lk_json_silence(&answer.silences[0], lk_now_ms()));
    lk_msg_clear(&answer);
}

void handle_delete_silence(const handler_context_t *context, const auth_identity_t *caller,
                           const http_request_t *http, http_reply_t *reply)
{
    lk_silence_t silence;
    memset(&silence, 0, sizeof silence);
    if (s_silence_id(http->params[0], silence.id, reply) != 0)
        return;
    bool not_found = false;
    s_silence_command(context, caller, LK_SILENCE_EXPIRE, &silence, &not_found, reply);
    if (!not_found)
        return;
    /* correlate holds only live silences: an expired one is known to store, and expiring it
       again changes nothing */
    lk_msg_t answer;
    int rc = s_get_stored(context, caller, silence.id, &answer, reply);
    if (rc == 1)
        http_reply_error(reply, 404, "silence not found", NULL);
    if (rc != 0)
        return;
    http_reply_json(reply, 200, lk_json_silence(&answer.silences[0], lk_now_ms()));
    lk_msg_clear(&answer);
}

void handle_list_silences(const handler_context_t *context, const auth_identity_t *caller,
                          const http_request_t *http, http_reply_t *reply)
{
    static const char *const states[] = {"pending", "active", "expired"};
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_QUERY);
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", caller->tenant_id);
    request.query.kind = LK_QUERY_LIST_SILENCES;
    request.query.limit = 100;
    for (size_t i = 0; i < http->arg_count; i++) {
        const char *name = http->args[i].name;
        const char *value = http->args[i].value ? http->args[i].value : "";
        int rc = 0;
        if (strcmp(name, "active") == 0) {
            if (*value && strcmp(value, "true") != 0 && strcmp(value, "1") != 0)
                rc =
                    handler_bad_parameter(reply, name, "give it alone (or =true): active silences");
            request.query.status_mask |= 1u << LK_SILENCE_ACTIVE;
        } else if (strcmp(name, "state") == 0) {
            uint32_t mask;
            rc = s_parse_states(name, value, states, 3, &mask, reply);
            request.query.status_mask |= mask;
        } else if (strcmp(name, "limit") == 0)
            rc = handler_parse_limit(value, LIST_LIMIT_MAX, &request.query.limit, reply);
        else
            rc = handler_bad_parameter(reply, name,
                                       "unknown parameter; expected active, state, limit");
        if (rc != 0) {
            lk_msg_clear(&request);
            return;
        }
    }
    lk_msg_t answer;
    int rc =
        handler_ask(context, PIPELINE_STORE, &request, LK_MSG_QUERY_REPLY, true, &answer, reply);
    lk_msg_clear(&request);
    if (rc != 0)
        return;
    int64_t now_ms = lk_now_ms();
    json_t *list = json_array();
    for (size_t i = 0; list && i < answer.silence_count; i++)
        if (strcmp(answer.silences[i].tenant_id, caller->tenant_id) == 0 &&
            json_array_append_new(list, lk_json_silence(&answer.silences[i], now_ms)) != 0) {
            json_decref(list);
            list = NULL;
        }
    http_reply_json(reply, 200, json_pack("{s:o}", "silences", list));
    lk_msg_clear(&answer);
}

/* ---- heartbeats -------------------------------------------------------------------------- */

static bool s_heartbeat_name_valid(const char *name)
{
    size_t length = strlen(name);
    if (length == 0 || length > LK_HEARTBEAT_NAME_MAX)
        return false;
    for (const char *c = name; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '-' || *c == '.'))
            return false;
    return true;
}

/* A number of seconds in [min, max] into *ms. */
static int s_seconds_field(json_t *body, const char *field, double min, double max, int64_t *ms,
                           bool *given, http_reply_t *reply)
{
    json_t *value = json_object_get(body, field);
    *given = false;
    if (!value || json_is_null(value))
        return 0;
    double seconds = json_is_number(value) ? json_number_value(value) : -1.0;
    if (!(seconds >= min && seconds <= max)) {
        char message[96];
        snprintf(message, sizeof message, "expected a number of seconds from %g to %g", min, max);
        return s_bad_field(reply, field, message);
    }
    *ms = (int64_t)(seconds * 1000.0 + 0.5);
    *given = true;
    return 0;
}

/* Reads an optional ping body ({interval_s, grace_s, severity, labels}) into ping. */
static int s_parse_ping(const http_request_t *http, lk_heartbeat_t *ping, http_reply_t *reply)
{
    if (s_blank(http->body, http->body_size))
        return 0;
    json_t *body = http_json_parse(http->body, http->body_size, reply);
    if (!body)
        return -1;
    int rc = -1;
    bool given;
    if (!json_is_object(body)) {
        http_reply_error(reply, 400, "invalid request body",
                         json_string("expected {\"interval_s\", \"grace_s\", \"severity\", "
                                     "\"labels\"} or no body"));
        goto done;
    }
    if (s_seconds_field(body, "interval_s", 1, HEARTBEAT_INTERVAL_MAX, &ping->interval_ms, &given,
                        reply) != 0)
        goto done;
    ping->given |= given ? LK_HEARTBEAT_GIVEN_INTERVAL : 0;
    if (s_seconds_field(body, "grace_s", 0, HEARTBEAT_INTERVAL_MAX, &ping->grace_ms, &given,
                        reply) != 0)
        goto done;
    ping->given |= given ? LK_HEARTBEAT_GIVEN_GRACE : 0;
    json_t *severity = json_object_get(body, "severity");
    if (severity && !json_is_null(severity)) {
        if (!json_is_string(severity) ||
            !lk_severity_parse(json_string_value(severity), &ping->severity)) {
            s_bad_field(reply, "severity", "expected info, warning, error or critical");
            goto done;
        }
        ping->given |= LK_HEARTBEAT_GIVEN_SEVERITY;
    }
    json_t *labels = json_object_get(body, "labels");
    if (labels && !json_is_null(labels)) {
        if (!json_is_object(labels) || json_object_size(labels) > HEARTBEAT_LABELS_MAX) {
            s_bad_field(reply, "labels", "expected an object of at most 32 string labels");
            goto done;
        }
        const char *name;
        json_t *value;
        json_object_foreach(labels, name, value)
        {
            bool name_ok = (isalpha((unsigned char)name[0]) || name[0] == '_') &&
                           strcmp(name, "alertname") != 0 && strcmp(name, "monitor") != 0;
            for (const char *c = name; name_ok && *c; c++)
                name_ok = isalnum((unsigned char)*c) || *c == '_';
            if (!name_ok || !json_is_string(value) || json_string_length(value) == 0 ||
                json_string_length(value) > 4096 ||
                strlen(json_string_value(value)) != json_string_length(value)) {
                s_bad_field(reply, "labels",
                            "names [a-zA-Z_][a-zA-Z0-9_]* (not alertname or monitor), values "
                            "non-empty strings of at most 4096 bytes");
                goto done;
            }
            if (lk_labels_set(&ping->labels, name, json_string_value(value)) != 0) {
                http_reply_error(reply, 500, "internal error", json_string("out of memory"));
                goto done;
            }
        }
        ping->given |= LK_HEARTBEAT_GIVEN_LABELS;
    }
    rc = 0;
done:
    json_decref(body);
    return rc;
}

void handle_heartbeat_ping(const handler_context_t *context, const auth_identity_t *caller,
                           const http_request_t *http, http_reply_t *reply)
{
    const char *name = http->params[0];
    if (!s_heartbeat_name_valid(name)) {
        http_reply_error(reply, 400, "invalid heartbeat name",
                         json_string("1 to 128 letters, digits, '_', '-' or '.'"));
        return;
    }
    lk_heartbeat_t ping;
    memset(&ping, 0, sizeof ping);
    if (s_parse_ping(http, &ping, reply) != 0) {
        lk_heartbeat_clear(&ping);
        return;
    }
    snprintf(ping.tenant_id, sizeof ping.tenant_id, "%s", caller->tenant_id);
    ping.name = strdup(name);
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_HEARTBEAT_PING);
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", caller->tenant_id);
    int added = ping.name ? lk_msg_add_heartbeat(&request, &ping) : -1;
    lk_heartbeat_clear(&ping);
    if (added != 0) {
        lk_msg_clear(&request);
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        return;
    }
    lk_msg_t answer;
    int rc = handler_ask(context, PIPELINE_CORRELATE, &request, LK_MSG_CONTROL_REPLY, true, &answer,
                         reply);
    lk_msg_clear(&request);
    if (rc != 0)
        return;
    if (answer.heartbeat_count != 1)
        http_reply_error(reply, 500, "internal error",
                         json_string("correlate confirmed the ping without the monitor"));
    else
        http_reply_json(reply, 200,
                        json_pack("{s:o}", "heartbeat", lk_json_heartbeat(&answer.heartbeats[0])));
    lk_msg_clear(&answer);
}

void handle_list_heartbeats(const handler_context_t *context, const auth_identity_t *caller,
                            const http_request_t *http, http_reply_t *reply)
{
    if (http->arg_count > 0) {
        handler_bad_parameter(reply, http->args[0].name, "this endpoint takes no parameters");
        return;
    }
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_QUERY);
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", caller->tenant_id);
    request.query.kind = LK_QUERY_LIST_HEARTBEATS;
    lk_msg_t answer;
    int rc =
        handler_ask(context, PIPELINE_STORE, &request, LK_MSG_QUERY_REPLY, true, &answer, reply);
    lk_msg_clear(&request);
    if (rc != 0)
        return;
    json_t *list = json_array();
    for (size_t i = 0; list && i < answer.heartbeat_count; i++)
        if (strcmp(answer.heartbeats[i].tenant_id, caller->tenant_id) == 0 &&
            json_array_append_new(list, lk_json_heartbeat(&answer.heartbeats[i])) != 0) {
            json_decref(list);
            list = NULL;
        }
    http_reply_json(reply, 200, json_pack("{s:o}", "heartbeats", list));
    lk_msg_clear(&answer);
}

/* ---- held alerts ------------------------------------------------------------------------- */

void handle_list_suppressed(const handler_context_t *context, const auth_identity_t *caller,
                            const http_request_t *http, http_reply_t *reply)
{
    static const char *const states[] = {"active", "inhibited", "silenced"};
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_QUERY);
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", caller->tenant_id);
    request.query.kind = LK_QUERY_LIST_SUPPRESSED;
    request.query.limit = 100;
    for (size_t i = 0; i < http->arg_count; i++) {
        const char *name = http->args[i].name;
        const char *value = http->args[i].value ? http->args[i].value : "";
        int rc = 0;
        if (strcmp(name, "state") == 0) {
            uint32_t mask;
            rc = s_parse_states(name, value, states + 1, 2, &mask, reply);
            request.query.status_mask |= mask << 1; /* bit (1u << lk_alert_state_t) */
        } else if (strcmp(name, "limit") == 0)
            rc = handler_parse_limit(value, LIST_LIMIT_MAX, &request.query.limit, reply);
        else
            rc = handler_bad_parameter(reply, name, "unknown parameter; expected state, limit");
        if (rc != 0) {
            lk_msg_clear(&request);
            return;
        }
    }
    lk_msg_t answer;
    int rc =
        handler_ask(context, PIPELINE_STORE, &request, LK_MSG_QUERY_REPLY, true, &answer, reply);
    lk_msg_clear(&request);
    if (rc != 0)
        return;
    json_t *list = json_array();
    for (size_t i = 0; list && i < answer.alert_count; i++) {
        if (strcmp(answer.alerts[i].tenant_id, caller->tenant_id) != 0)
            continue;
        json_t *item = lk_json_alert(&answer.alerts[i]);
        if (item)
            json_object_set_new(item, "incident_id", json_null()); /* held: in no incident */
        if (json_array_append_new(list, item) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    http_reply_json(reply, 200, json_pack("{s:o}", "alerts", list));
    lk_msg_clear(&answer);
}
