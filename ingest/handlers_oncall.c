/*  handlers_oncall — who is on call: GET /oncall, and the overrides of schedules:
    POST, GET and DELETE /oncall/overrides (docs/http-api.md).

    Schedules and escalation policies come from the configuration file (read once at
    start); overrides made through the API are rows of store (written through its mutation
    socket, read through its query socket). The rotation math is notify/oncall.h, the same
    code lookout-escalate pages with, so the answer here is who would be paged.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "lk_json.h"
#include "lk_time.h"
#include "lk_uuid.h"
#include "oncall.h"

#define S_OVERRIDE_MAX_MS (366LL * 86400 * 1000) /* longest override */
#define S_NAME_MAX        128
#define S_LIST_MAX        1000 /* overrides in one listing (and searched by DELETE) */

/* ---- GET /oncall ----------------------------------------------------------------------- */

/*  The tenant's stored overrides that cover at_ms, into *answer (a query_reply). Returns 0,
    or -1 with reply filled. */
static int s_stored_overrides(const handler_context_t *context, const auth_identity_t *caller,
                              int64_t at_ms, lk_msg_t *answer, http_reply_t *reply)
{
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_QUERY);
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", caller->tenant_id);
    request.query.kind = LK_QUERY_ONCALL_OVERRIDES;
    request.query.since_ms = at_ms;     /* ends after at */
    request.query.until_ms = at_ms + 1; /* starts at or before at */
    int rc =
        handler_ask(context, PIPELINE_STORE, &request, LK_MSG_QUERY_REPLY, true, answer, reply);
    lk_msg_clear(&request);
    return rc;
}

/*  {user, rotation|null, override, from, until} */
static json_t *s_entry_json(const lk_schedule_t *schedule, const oncall_entry_t *entry)
{
    json_t *rotation = json_null();
    if (entry->rotation >= 0) {
        const char *name = schedule->rotations[entry->rotation].name;
        rotation = name && *name ? json_string(name) : json_integer(entry->rotation);
    }
    return json_pack("{s:s, s:o, s:b, s:o, s:o}", "user", entry->user, "rotation", rotation,
                     "override", entry->override, "from", lk_json_time(entry->start_ms), "until",
                     lk_json_time(entry->end_ms));
}

static json_t *s_schedule_json(const lk_schedule_t *schedule, const lk_msg_t *stored, int64_t at_ms)
{
    oncall_entry_t entries[ONCALL_MAX];
    size_t count =
        oncall_at(schedule, stored->overrides, stored->override_count, at_ms, entries, ONCALL_MAX);
    json_t *on_call = json_array();
    for (size_t i = 0; on_call && i < count; i++)
        json_array_append_new(on_call, s_entry_json(schedule, &entries[i]));
    return json_pack("{s:s, s:s, s:o}", "name", schedule->name, "time_zone",
                     schedule->time_zone ? schedule->time_zone : "UTC", "on_call", on_call);
}

static json_t *s_policy_json(const lk_config_t *config, const lk_policy_t *policy,
                             const lk_msg_t *stored, int64_t at_ms)
{
    json_t *levels = json_array();
    for (size_t l = 0; levels && l < policy->level_count; l++) {
        const lk_policy_level_t *level = &policy->levels[l];
        json_t *targets = json_array();
        for (size_t t = 0; targets && t < level->target_count; t++) {
            const lk_policy_target_t *target = &level->targets[t];
            static const char *types[] = {"schedule", "user", "channel"};
            json_t *item =
                json_pack("{s:s, s:s}", "type", types[target->type], "name", target->name);
            json_t *people = json_array();
            if (target->type == LK_TARGET_SCHEDULE) {
                oncall_entry_t entries[ONCALL_MAX];
                size_t count =
                    oncall_at(&config->notify.schedules[target->index], stored->overrides,
                              stored->override_count, at_ms, entries, ONCALL_MAX);
                for (size_t e = 0; people && e < count; e++)
                    json_array_append_new(people, json_string(entries[e].user));
            } else if (target->type == LK_TARGET_USER)
                json_array_append_new(people, json_string(target->name));
            json_object_set_new(item, "on_call", people);
            json_array_append_new(targets, item);
        }
        json_array_append_new(levels,
                              json_pack("{s:i, s:I, s:o}", "level", (int)l + 1, "delay_s",
                                        (json_int_t)(level->delay_ms / 1000), "targets", targets));
    }
    return json_pack("{s:s, s:o, s:i, s:I}", "name", policy->name, "levels", levels, "repeat",
                     (int)policy->repeat, "repeat_delay_s",
                     (json_int_t)(policy->repeat_delay_ms / 1000));
}

void handle_get_oncall(const handler_context_t *context, const auth_identity_t *caller,
                       const http_request_t *request, http_reply_t *reply)
{
    int64_t at_ms = lk_now_ms();
    for (size_t i = 0; i < request->arg_count; i++) {
        if (strcmp(request->args[i].name, "at") != 0) {
            http_reply_error(reply, 400, "invalid query parameter",
                             json_pack("{s:s, s:s}", "parameter", "(unknown)", "message",
                                       "GET /oncall takes only ?at=RFC3339"));
            return;
        }
        if (!lk_time_parse(request->args[i].value, &at_ms)) {
            http_reply_error(reply, 400, "invalid query parameter",
                             json_pack("{s:s, s:s}", "parameter", "at", "message",
                                       "expected an RFC 3339 time like 2026-11-22T09:00:00Z"));
            return;
        }
    }
    lk_msg_t stored;
    if (s_stored_overrides(context, caller, at_ms, &stored, reply) != 0)
        return;
    const lk_config_t *config = context->file_config;
    json_t *schedules = json_array();
    json_t *policies = json_array();
    for (size_t i = 0; config && i < config->notify.schedule_count; i++)
        if (strcmp(config->notify.schedules[i].tenant_id, caller->tenant_id) == 0)
            json_array_append_new(schedules,
                                  s_schedule_json(&config->notify.schedules[i], &stored, at_ms));
    for (size_t i = 0; config && i < config->notify.policy_count; i++)
        if (strcmp(config->notify.policies[i].tenant_id, caller->tenant_id) == 0)
            json_array_append_new(
                policies, s_policy_json(config, &config->notify.policies[i], &stored, at_ms));
    lk_msg_clear(&stored);
    http_reply_json(reply, 200,
                    json_pack("{s:o, s:o, s:o}", "at", lk_json_time(at_ms), "schedules", schedules,
                              "policies", policies));
}

/* ---- POST /oncall/overrides ------------------------------------------------------------ */

/*  A required string member of at most max bytes; NULL with reply filled when missing. */
static const char *s_member(json_t *body, const char *name, size_t max, http_reply_t *reply)
{
    json_t *value = json_object_get(body, name);
    if (!json_is_string(value) || json_string_length(value) == 0 ||
        json_string_length(value) > max ||
        strlen(json_string_value(value)) != json_string_length(value)) {
        char message[96];
        snprintf(message, sizeof message, "a non-empty string of at most %zu bytes is required",
                 max);
        http_reply_error(reply, 400, "invalid request body",
                         json_pack("{s:s, s:s}", "field", name, "message", message));
        return NULL;
    }
    return json_string_value(value);
}

/*  A required RFC 3339 time member. */
static int s_time_member(json_t *body, const char *name, int64_t *out, http_reply_t *reply)
{
    const char *text = s_member(body, name, 64, reply);
    if (!text)
        return -1;
    if (!lk_time_parse(text, out)) {
        http_reply_error(reply, 400, "invalid request body",
                         json_pack("{s:s, s:s}", "field", name, "message",
                                   "expected an RFC 3339 time like 2026-11-22T09:00:00Z"));
        return -1;
    }
    return 0;
}

static json_t *s_override_json(const lk_oncall_override_t *override)
{
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:o}", "id", override->id, "schedule",
                     override->schedule, "user", override->user, "start",
                     lk_json_time(override->starts_at_ms), "end",
                     lk_json_time(override->ends_at_ms), "created_by", override->created_by,
                     "created_at", lk_json_time(override->created_at_ms));
}

void handle_post_oncall_override(const handler_context_t *context, const auth_identity_t *caller,
                                 const http_request_t *request, http_reply_t *reply)
{
    json_t *body = http_json_parse(request->body, request->body_size, reply);
    if (!body)
        return;
    if (!json_is_object(body)) {
        http_reply_error(reply, 400, "invalid request body",
                         json_string("expected an object such as {\"schedule\": \"primary\", "
                                     "\"user\": \"bob\", \"start\": \"...\", \"end\": \"...\"}"));
        json_decref(body);
        return;
    }
    static const char *const known[] = {"schedule", "user", "start", "end", "created_by", NULL};
    const char *key;
    json_t *value;
    json_object_foreach(body, key, value)
    {
        bool listed = false;
        for (size_t i = 0; known[i] && !listed; i++)
            listed = strcmp(key, known[i]) == 0;
        if (!listed) {
            json_t *field = json_string(key);
            http_reply_error(reply, 400, "invalid request body",
                             json_pack("{s:o, s:s}", "field", field ? field : json_string("?"),
                                       "message", "unknown field"));
            json_decref(body);
            return;
        }
    }
    lk_oncall_override_t override = {.created_at_ms = lk_now_ms()};
    const char *schedule = s_member(body, "schedule", S_NAME_MAX, reply);
    const char *user = schedule ? s_member(body, "user", S_NAME_MAX, reply) : NULL;
    if (!schedule || !user || s_time_member(body, "start", &override.starts_at_ms, reply) != 0 ||
        s_time_member(body, "end", &override.ends_at_ms, reply) != 0) {
        json_decref(body);
        return;
    }
    const char *created_by = caller->actor[0] ? caller->actor : "anonymous";
    if (json_object_get(body, "created_by") &&
        !(created_by = s_member(body, "created_by", 256, reply))) {
        json_decref(body);
        return;
    }
    const lk_config_t *config = context->file_config;
    const char *problem = NULL, *field = NULL;
    int status = 400;
    if (!lk_config_find_schedule(config, caller->tenant_id, schedule)) {
        field = "schedule";
        problem = "no such schedule for this tenant";
        status = 422;
    } else if (!lk_config_find_user(config, user)) {
        field = "user";
        problem = "no such user";
        status = 422;
    } else if (override.ends_at_ms <= override.starts_at_ms) {
        field = "end";
        problem = "must be after start";
    } else if (override.ends_at_ms - override.starts_at_ms > S_OVERRIDE_MAX_MS) {
        field = "end";
        problem = "an override lasts at most 366 days";
    } else if (override.ends_at_ms <= override.created_at_ms) {
        field = "end";
        problem = "is in the past";
    }
    if (problem) {
        http_reply_error(reply, status, "invalid request body",
                         json_pack("{s:s, s:s}", "field", field, "message", problem));
        json_decref(body);
        return;
    }
    lk_uuid7(override.id);
    snprintf(override.tenant_id, sizeof override.tenant_id, "%s", caller->tenant_id);
    override.schedule = strdup(schedule);
    override.user = strdup(user);
    override.created_by = strdup(created_by);
    json_decref(body);
    lk_msg_t batch;
    lk_msg_init(&batch, LK_MSG_MUTATION_BATCH);
    if (!override.schedule || !override.user || !override.created_by ||
        lk_msg_add_override(&batch, &override) != 0) {
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        lk_oncall_override_clear(&override);
        lk_msg_clear(&batch);
        return;
    }
    lk_msg_t answer;
    int rc = handler_ask(context, PIPELINE_STORE_WRITE, &batch, LK_MSG_MUTATION_ACK, true, &answer,
                         reply);
    lk_msg_clear(&batch);
    if (rc == 0) {
        http_reply_json(reply, 201, json_pack("{s:o}", "override", s_override_json(&override)));
        lk_msg_clear(&answer);
    }
    lk_oncall_override_clear(&override);
}

/* ---- GET /oncall/overrides, DELETE /oncall/overrides/{id} ------------------------------ */

/*  The tenant's overrides that have not ended at now_ms (current and future), oldest start
    first, at most limit, into *answer. Returns 0, or -1 with reply filled. */
static int s_open_overrides(const handler_context_t *context, const char *tenant_id, int64_t now_ms,
                            uint32_t limit, lk_msg_t *answer, http_reply_t *reply)
{
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_QUERY);
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", tenant_id);
    request.query.kind = LK_QUERY_ONCALL_OVERRIDES;
    request.query.since_ms = now_ms;
    request.query.until_ms = INT64_MAX;
    request.query.limit = limit;
    int rc =
        handler_ask(context, PIPELINE_STORE, &request, LK_MSG_QUERY_REPLY, true, answer, reply);
    lk_msg_clear(&request);
    return rc;
}

void handle_list_oncall_overrides(const handler_context_t *context, const auth_identity_t *caller,
                                  const http_request_t *request, http_reply_t *reply)
{
    const char *schedule = NULL;
    uint32_t limit = 100;
    for (size_t i = 0; i < request->arg_count; i++) {
        const char *name = request->args[i].name;
        const char *value = request->args[i].value;
        int rc = 0;
        if (strcmp(name, "schedule") == 0 && *value)
            schedule = value;
        else if (strcmp(name, "limit") == 0)
            rc = handler_parse_limit(value, S_LIST_MAX, &limit, reply);
        else
            rc = handler_bad_parameter(reply, name, "expected schedule=<name>, limit=1..1000");
        if (rc != 0)
            return;
    }
    lk_msg_t answer;
    if (s_open_overrides(context, caller->tenant_id, lk_now_ms(), limit, &answer, reply) != 0)
        return;
    json_t *list = json_array();
    for (size_t i = 0; list && i < answer.override_count; i++) {
        const lk_oncall_override_t *item = &answer.overrides[i];
        if (strcmp(item->tenant_id, caller->tenant_id) != 0 ||
            (schedule && strcmp(item->schedule, schedule) != 0))
            continue;
        if (json_array_append_new(list, s_override_json(item)) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    http_reply_json(reply, 200, json_pack("{s:o}", "overrides", list));
    lk_msg_clear(&answer);
}

void handle_delete_oncall_override(const handler_context_t *context, const auth_identity_t *caller,
                                   const http_request_t *request, http_reply_t *reply)
{
    const char *id = request->params[0];
    if (!lk_uuid_valid(id)) {
        http_reply_error(reply, 404, "override not found", NULL);
        return;
    }
    int64_t now_ms = lk_now_ms();
    lk_msg_t answer;
    if (s_open_overrides(context, caller->tenant_id, now_ms, S_LIST_MAX, &answer, reply) != 0)
        return;
    const lk_oncall_override_t *found = NULL;
    for (size_t i = 0; !found && i < answer.override_count; i++)
        if (strcasecmp(answer.overrides[i].id, id) == 0 &&
            strcmp(answer.overrides[i].tenant_id, caller->tenant_id) == 0)
            found = &answer.overrides[i];
    if (!found) { /* unknown, another tenant's, or over already */
        http_reply_error(reply, 404, "override not found", NULL);
        lk_msg_clear(&answer);
        return;
    }
    /* The same row, ending now (or, when it has not begun, where it begins: it never
       covers an instant). Store only ever lets an override end earlier, so this write is
       safe to repeat and cannot lengthen one. */
    lk_oncall_override_t ended;
    if (lk_oncall_override_copy(&ended, found) != 0) {
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        lk_msg_clear(&answer);
        return;
    }
    lk_msg_clear(&answer);
    ended.ends_at_ms = now_ms > ended.starts_at_ms ? now_ms : ended.starts_at_ms;
    lk_msg_t batch;
    lk_msg_init(&batch, LK_MSG_MUTATION_BATCH);
    if (lk_msg_add_override(&batch, &ended) != 0) {
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
    } else if (handler_ask(context, PIPELINE_STORE_WRITE, &batch, LK_MSG_MUTATION_ACK, true,
                           &answer, reply) == 0) {
        http_reply_json(reply, 200, json_pack("{s:o}", "override", s_override_json(&ended)));
        lk_msg_clear(&answer);
    }
    lk_msg_clear(&batch);
    lk_oncall_override_clear(&ended);
}
