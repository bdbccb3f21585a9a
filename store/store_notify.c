/*  store_notify — notifications, escalation steps and on-call overrides (see store_notify.h).

    escalation_state walks the escalations of non-closed incidents by incident id, one page
    at a time, keeping each incident's latest step (highest `step`), and adds the pages's
    incidents and their notifications that still matter to escalate: pending ones (to
    deliver) and delivered triggers (to send acknowledge/resolve mirrors to). All of a page
    is read from one snapshot.
*/
#include "store_notify.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_uuid.h"
#include "store_map.h"
#include "store_reply.h"

#define S_NOTIFICATION_COLUMNS                                                                     \
    "id, tenant_id, incident_id, policy, level, channel, target, kind, attempt, status, "          \
    "response_code, error, idempotency_key, lease_until, next_attempt_at, created_at, updated_at"
#define S_NOTIFICATION_PARAMS 17
#define S_ESCALATION_COLUMNS                                                                       \
    "id, tenant_id, incident_id, policy, step, level, cycle, target, status, note, "               \
    "event_sequence, next_at, created_at, updated_at"
#define S_ESCALATION_PARAMS 14
#define S_OVERRIDE_COLUMNS                                                                         \
    "id, tenant_id, schedule, user_name, created_by, starts_at, ends_at, created_at"
#define S_OVERRIDE_PARAMS 8
#define S_NIL_UUID        "00000000-0000-0000-0000-000000000000"

typedef struct {
    const char *upsert_notification; /* (S_NOTIFICATION_COLUMNS) */
    const char *upsert_escalation;   /* (S_ESCALATION_COLUMNS) */
    const char *insert_override;     /* (S_OVERRIDE_COLUMNS) */
    const char *state_escalations;   /* (after_incident_id, limit) → latest step per incident */
    const char *state_incidents;     /* (JSON array of ids) → STORE_INCIDENT_COLUMNS */
    const char *state_notifications; /* (JSON array of ids) → notifications that matter */
    const char *overrides;           /* (tenant, since, until, limit) */
} s_notify_sql_t;

/* A notification moves forward only (updated_at); a stored final status is kept when an
   older pending state arrives late. Escalation steps are written once, then only their
   status/next_at may change (e.g. an acknowledged step's lapse time). */
static const s_notify_sql_t s_sqlite = {
    .upsert_notification =
        "INSERT INTO notifications (" S_NOTIFICATION_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
        "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) ON CONFLICT (id) DO UPDATE SET "
        "attempt = excluded.attempt, status = excluded.status, "
        "response_code = excluded.response_code, error = excluded.error, "
        "lease_until = excluded.lease_until, next_attempt_at = excluded.next_attempt_at, "
        "updated_at = excluded.updated_at "
        "WHERE excluded.updated_at >= notifications.updated_at "
        "AND excluded.tenant_id = notifications.tenant_id "
        "AND (notifications.status = 'pending' OR excluded.status <> 'pending')",
    .upsert_escalation =
        "INSERT INTO escalations (" S_ESCALATION_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
        "?8, ?9, ?10, ?11, ?12, ?13, ?14) ON CONFLICT (id) DO UPDATE SET "
        "status = excluded.status, note = excluded.note, next_at = excluded.next_at, "
        "updated_at = excluded.updated_at "
        "WHERE excluded.updated_at >= escalations.updated_at "
        "AND excluded.tenant_id = escalations.tenant_id",
    .insert_override =
        "INSERT INTO oncall_overrides (" S_OVERRIDE_COLUMNS ") VALUES (?1, ?2, ?3, "
        "?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO UPDATE SET "
        "ends_at = excluded.ends_at WHERE excluded.ends_at < oncall_overrides.ends_at "
        "AND excluded.tenant_id = oncall_overrides.tenant_id",
    .state_escalations =
        "SELECT " S_ESCALATION_COLUMNS " FROM escalations e WHERE e.incident_id > ?1 "
        "AND e.step = (SELECT MAX(x.step) FROM escalations x WHERE x.incident_id = e.incident_id) "
        "AND EXISTS (SELECT 1 FROM incidents i WHERE i.id = e.incident_id "
        "AND i.status <> 'closed') ORDER BY e.incident_id LIMIT ?2",
    .state_incidents = "SELECT " STORE_INCIDENT_COLUMNS " FROM incidents WHERE id IN "
                       "(SELECT value FROM json_each(?1)) ORDER BY id",
    .state_notifications = "SELECT " S_NOTIFICATION_COLUMNS " FROM notifications "
                           "WHERE incident_id IN (SELECT value FROM json_each(?1)) "
                           "AND (status = 'pending' OR (status = 'sent' AND kind = 'trigger')) "
                           "ORDER BY incident_id, created_at, id",
    .overrides = "SELECT " S_OVERRIDE_COLUMNS " FROM oncall_overrides WHERE tenant_id = ?1 "
                 "AND ends_at > ?2 AND starts_at < ?3 AND ends_at > starts_at "
                 "ORDER BY starts_at, created_at, id LIMIT ?4",
};

static const s_notify_sql_t s_postgres = {
    .upsert_notification =
        "INSERT INTO notifications (" S_NOTIFICATION_COLUMNS ") VALUES ($1::uuid, $2::uuid, "
        "$3::uuid, $4::text, $5::bigint, $6::text, $7::text, $8::text, $9::bigint, $10::text, "
        "$11::bigint, $12::text, $13::text, $14::bigint, $15::bigint, $16::bigint, $17::bigint) "
        "ON CONFLICT (id) DO UPDATE SET "
        "attempt = excluded.attempt, status = excluded.status, "
        "response_code = excluded.response_code, error = excluded.error, "
        "lease_until = excluded.lease_until, next_attempt_at = excluded.next_attempt_at, "
        "updated_at = excluded.updated_at "
        "WHERE excluded.updated_at >= notifications.updated_at "
        "AND excluded.tenant_id = notifications.tenant_id "
        "AND (notifications.status = 'pending' OR excluded.status <> 'pending')",
    .upsert_escalation =
        "INSERT INTO escalations (" S_ESCALATION_COLUMNS ") VALUES ($1::uuid, $2::uuid, "
        "$3::uuid, $4::text, $5::bigint, $6::integer, $7::bigint, $8::text, $9::text, $10::text, "
        "$11::bigint, $12::bigint, $13::bigint, $14::bigint) ON CONFLICT (id) DO UPDATE SET "
        "status = excluded.status, note = excluded.note, next_at = excluded.next_at, "
        "updated_at = excluded.updated_at "
        "WHERE excluded.updated_at >= escalations.updated_at "
        "AND excluded.tenant_id = escalations.tenant_id",
    .insert_override =
        "INSERT INTO oncall_overrides (" S_OVERRIDE_COLUMNS ") VALUES ($1::uuid, "
        "$2::uuid, $3::text, $4::text, $5::text, $6::bigint, $7::bigint, "
        "$8::bigint) ON CONFLICT (id) DO UPDATE SET "
        "ends_at = excluded.ends_at WHERE excluded.ends_at < oncall_overrides.ends_at "
        "AND excluded.tenant_id = oncall_overrides.tenant_id",
    .state_escalations =
        "SELECT " S_ESCALATION_COLUMNS " FROM escalations e WHERE e.incident_id > $1::uuid "
        "AND e.step = (SELECT MAX(x.step) FROM escalations x WHERE x.incident_id = e.incident_id) "
        "AND EXISTS (SELECT 1 FROM incidents i WHERE i.id = e.incident_id "
        "AND i.status <> 'closed') ORDER BY e.incident_id LIMIT $2::bigint",
    .state_incidents = "SELECT " STORE_INCIDENT_COLUMNS " FROM incidents WHERE id IN "
                       "(SELECT jsonb_array_elements_text($1::jsonb)::uuid) ORDER BY id",
    .state_notifications =
        "SELECT " S_NOTIFICATION_COLUMNS " FROM notifications "
        "WHERE incident_id IN (SELECT jsonb_array_elements_text($1::jsonb)::uuid) "
        "AND (status = 'pending' OR (status = 'sent' AND kind = 'trigger')) "
        "ORDER BY incident_id, created_at, id",
    .overrides = "SELECT " S_OVERRIDE_COLUMNS " FROM oncall_overrides WHERE tenant_id = $1::uuid "
                 "AND ends_at > $2::bigint AND starts_at < $3::bigint AND ends_at > starts_at "
                 "ORDER BY starts_at, created_at, id LIMIT $4::bigint",
};

static const s_notify_sql_t *s_sql(const store_db_t *db)
{
    return strcmp(store_db_backend_name(db), "sqlite") == 0 ? &s_sqlite : &s_postgres;
}

/* ---- validation ------------------------------------------------------------------------ */

bool store_notify_present(const lk_msg_t *batch)
{
    return batch->notification_count || batch->escalation_count || batch->override_count;
}

/*  Validates a UUID and lower-cases it in place. */
static bool s_uuid_field(char *uuid)
{
    if (!lk_uuid_valid(uuid))
        return false;
    for (char *cursor = uuid; *cursor; cursor++)
        *cursor = (char)tolower((unsigned char)*cursor);
    return true;
}

/*  A non-empty valid UTF-8 string of at most max bytes. */
static bool s_text(const char *text, size_t max)
{
    return text && *text && strlen(text) <= max && store_map_utf8_valid(text);
}

static bool s_invalid(char *err, size_t err_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static bool s_invalid(char *err, size_t err_size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(err, err_size, format, args);
    va_end(args);
    return false;
}

bool store_notify_valid(lk_msg_t *batch, char *err, size_t err_size)
{
    for (size_t index = 0; index < batch->notification_count; index++) {
        lk_notification_t *item = &batch->notifications[index];
        if (!s_uuid_field(item->id) || !s_uuid_field(item->tenant_id) ||
            !s_uuid_field(item->incident_id))
            return s_invalid(err, err_size,
                             "notifications[%zu]: id, tenant and incident_id must be UUIDs", index);
        if (!s_text(item->channel, 256) || !s_text(item->idempotency_key, 256) ||
            !store_map_utf8_valid(item->policy) || !store_map_utf8_valid(item->target) ||
            !store_map_utf8_valid(item->error) || !item->policy || !item->target)
            return s_invalid(err, err_size,
                             "notifications[%zu]: bad channel, target, policy, "
                             "error or idempotency key",
                             index);
        if (item->status == LK_NOTIFY_RETRY || (unsigned)item->status > LK_NOTIFY_RETRY ||
            (unsigned)item->kind > LK_NOTIFY_RESOLVE)
            return s_invalid(err, err_size, "notifications[%zu]: status %s is never stored", index,
                             lk_notify_status_name(item->status));
    }
    for (size_t index = 0; index < batch->escalation_count; index++) {
        lk_escalation_t *item = &batch->escalations[index];
        if (!s_uuid_field(item->id) || !s_uuid_field(item->tenant_id) ||
            !s_uuid_field(item->incident_id))
            return s_invalid(err, err_size,
                             "escalations[%zu]: id, tenant and incident_id must be UUIDs", index);
        if (!s_text(item->status, 32) || !store_map_utf8_valid(item->policy) || !item->policy ||
            !item->target || !store_map_utf8_valid(item->target) ||
            !store_map_utf8_valid(item->note) || item->step == 0)
            return s_invalid(err, err_size,
                             "escalations[%zu]: bad status, policy, target, note or step", index);
    }
    for (size_t index = 0; index < batch->override_count; index++) {
        lk_oncall_override_t *item = &batch->overrides[index];
        if (!s_uuid_field(item->id) || !s_uuid_field(item->tenant_id))
            return s_invalid(err, err_size, "overrides[%zu]: id and tenant must be UUIDs", index);
        if (!s_text(item->schedule, 256) || !s_text(item->user, 256) ||
            !s_text(item->created_by, 256))
            return s_invalid(err, err_size, "overrides[%zu]: schedule, user and created_by needed",
                             index);
        if (item->ends_at_ms < item->starts_at_ms) /* equal: removed before it began */
            return s_invalid(err, err_size, "overrides[%zu]: ends before it starts", index);
    }
    return true;
}

/* ---- writes ---------------------------------------------------------------------------- */

/*  0 means unset for these columns: stored as NULL. */
static store_param_t s_time_or_null(int64_t value)
{
    return value ? store_param_int(value) : store_param_null();
}

int store_notify_apply(store_db_t *db, const lk_msg_t *batch, char *err, size_t err_size)
{
    const s_notify_sql_t *sql = s_sql(db);
    for (size_t index = 0; index < batch->notification_count; index++) {
        const lk_notification_t *item = &batch->notifications[index];
        store_param_t params[S_NOTIFICATION_PARAMS] = {
            store_param_text(item->id),
            store_param_text(item->tenant_id),
            store_param_text(item->incident_id),
            store_param_text(item->policy),
            store_param_int(item->level),
            store_param_text(item->channel),
            store_param_text(item->target),
            store_param_text(lk_notify_kind_name(item->kind)),
            store_param_int(item->attempt),
            store_param_text(lk_notify_status_name(item->status)),
            s_time_or_null(item->response_code),
            store_param_text(item->error),
            store_param_text(item->idempotency_key),
            s_time_or_null(item->lease_until_ms),
            s_time_or_null(item->next_attempt_at_ms),
            store_param_int(item->created_at_ms),
            store_param_int(item->updated_at_ms),
        };
        int rc = store_db_exec(db, sql->upsert_notification, params, S_NOTIFICATION_PARAMS, NULL);
        if (rc != STORE_DB_OK) {
            snprintf(err, err_size, "writing a notification: %s", store_db_error(db));
            return rc;
        }
    }
    for (size_t index = 0; index < batch->escalation_count; index++) {
        const lk_escalation_t *item = &batch->escalations[index];
        store_param_t params[S_ESCALATION_PARAMS] = {
            store_param_text(item->id),
            store_param_text(item->tenant_id),
            store_param_text(item->incident_id),
            store_param_text(item->policy),
            store_param_int(item->step),
            store_param_int(item->level),
            store_param_int(item->cycle),
            store_param_text(item->target),
            store_param_text(item->status),
            store_param_text(item->note),
            store_param_int(item->event_sequence > INT64_MAX ? INT64_MAX
                                                             : (int64_t)item->event_sequence),
            s_time_or_null(item->next_at_ms),
            store_param_int(item->created_at_ms),
            store_param_int(item->updated_at_ms),
        };
        int rc = store_db_exec(db, sql->upsert_escalation, params, S_ESCALATION_PARAMS, NULL);
        if (rc != STORE_DB_OK) {
            snprintf(err, err_size, "writing an escalation step: %s", store_db_error(db));
            return rc;
        }
    }
    for (size_t index = 0; index < batch->override_count; index++) {
        const lk_oncall_override_t *item = &batch->overrides[index];
        store_param_t params[S_OVERRIDE_PARAMS] = {
            store_param_text(item->id),         store_param_text(item->tenant_id),
            store_param_text(item->schedule),   store_param_text(item->user),
            store_param_text(item->created_by), store_param_int(item->starts_at_ms),
            store_param_int(item->ends_at_ms),  store_param_int(item->created_at_ms),
        };
        int rc = store_db_exec(db, sql->insert_override, params, S_OVERRIDE_PARAMS, NULL);
        if (rc != STORE_DB_OK) {
            snprintf(err, err_size, "writing an on-call override: %s", store_db_error(db));
            return rc;
        }
    }
    return STORE_DB_OK;
}

/* ---- reads ----------------------------------------------------------------------------- */

/*  Heap copy of a text column; NULL stays NULL. False on OOM. */
static bool s_dup(store_rows_t *rows, int column, char **out)
{
    const char *text = store_rows_text(rows, column);
    *out = text ? strdup(text) : NULL;
    return !text || *out;
}

static int s_read_notification(store_rows_t *rows, lk_notification_t *out)
{
    memset(out, 0, sizeof *out);
    const char *kind = store_rows_text(rows, 7);
    const char *status = store_rows_text(rows, 9);
    if (!store_rows_copy(rows, 0, out->id, sizeof out->id) ||
        !store_rows_copy(rows, 1, out->tenant_id, sizeof out->tenant_id) ||
        !store_rows_copy(rows, 2, out->incident_id, sizeof out->incident_id) ||
        !s_dup(rows, 3, &out->policy) || !s_dup(rows, 5, &out->channel) ||
        !s_dup(rows, 6, &out->target) || !s_dup(rows, 11, &out->error) ||
        !s_dup(rows, 12, &out->idempotency_key) || !lk_notify_kind_parse(kind, &out->kind) ||
        !lk_notify_status_parse(status, &out->status)) {
        lk_notification_clear(out);
        return -1;
    }
    out->level = (uint32_t)store_rows_int(rows, 4);
    out->attempt = (uint32_t)store_rows_int(rows, 8);
    out->response_code = (int32_t)store_rows_int(rows, 10);
    out->lease_until_ms = store_rows_int(rows, 13);
    out->next_attempt_at_ms = store_rows_int(rows, 14);
    out->created_at_ms = store_rows_int(rows, 15);
    out->updated_at_ms = store_rows_int(rows, 16);
    return 0;
}

static int s_read_escalation(store_rows_t *rows, lk_escalation_t *out)
{
    memset(out, 0, sizeof *out);
    if (!store_rows_copy(rows, 0, out->id, sizeof out->id) ||
        !store_rows_copy(rows, 1, out->tenant_id, sizeof out->tenant_id) ||
        !store_rows_copy(rows, 2, out->incident_id, sizeof out->incident_id) ||
        !s_dup(rows, 3, &out->policy) || !s_dup(rows, 7, &out->target) ||
        !s_dup(rows, 8, &out->status) || !s_dup(rows, 9, &out->note) || !out->policy ||
        !out->target || !out->status) {
        lk_escalation_clear(out);
        return -1;
    }
    out->step = (uint32_t)store_rows_int(rows, 4);
    out->level = (uint32_t)store_rows_int(rows, 5);
    out->cycle = (uint32_t)store_rows_int(rows, 6);
    out->event_sequence = (uint64_t)store_rows_int(rows, 10);
    out->next_at_ms = store_rows_int(rows, 11);
    out->created_at_ms = store_rows_int(rows, 12);
    out->updated_at_ms = store_rows_int(rows, 13);
    return 0;
}

static int s_read_override(store_rows_t *rows, lk_oncall_override_t *out)
{
    memset(out, 0, sizeof *out);
    if (!store_rows_copy(rows, 0, out->id, sizeof out->id) ||
        !store_rows_copy(rows, 1, out->tenant_id, sizeof out->tenant_id) ||
        !s_dup(rows, 2, &out->schedule) || !s_dup(rows, 3, &out->user) ||
        !s_dup(rows, 4, &out->created_by) || !out->schedule || !out->user || !out->created_by) {
        lk_oncall_override_clear(out);
        return -1;
    }
    out->starts_at_ms = store_rows_int(rows, 5);
    out->ends_at_ms = store_rows_int(rows, 6);
    out->created_at_ms = store_rows_int(rows, 7);
    return 0;
}

typedef enum {
    S_ROWS_NOTIFICATIONS,
    S_ROWS_ESCALATIONS,
    S_ROWS_OVERRIDES,
    S_ROWS_INCIDENTS
} s_rows_t;

/*  Runs a query and appends every row to the reply's array of kind. */
static int s_select(store_db_t *db, const char *sql, const store_param_t *params, int count,
                    s_rows_t kind, lk_msg_t *reply, const char *what)
{
    store_rows_t *rows;
    int rc = store_db_query(db, sql, params, count, &rows);
    if (rc != STORE_DB_OK)
        return store_reply_db_failed(db, reply, rc, what);
    int step;
    while ((step = store_rows_next(rows)) == 1) {
        int added = -1;
        if (kind == S_ROWS_NOTIFICATIONS) {
            lk_notification_t item;
            if (s_read_notification(rows, &item) == 0) {
                added = lk_msg_add_notification(reply, &item);
                lk_notification_clear(&item);
            }
        } else if (kind == S_ROWS_ESCALATIONS) {
            lk_escalation_t item;
            if (s_read_escalation(rows, &item) == 0) {
                added = lk_msg_add_escalation(reply, &item);
                lk_escalation_clear(&item);
            }
        } else if (kind == S_ROWS_OVERRIDES) {
            lk_oncall_override_t item;
            if (s_read_override(rows, &item) == 0) {
                added = lk_msg_add_override(reply, &item);
                lk_oncall_override_clear(&item);
            }
        } else {
            lk_incident_t item;
            char err[256];
            if (store_map_read_incident(rows, 0, &item, err, sizeof err) == 0) {
                added = lk_msg_add_incident(reply, &item);
                lk_incident_clear(&item);
            }
        }
        if (added != 0) {
            store_rows_destroy(&rows);
            store_reply_fail(reply, LK_STATUS_ERROR, "%s: a stored row does not parse", what);
            return STORE_DB_OK;
        }
    }
    store_rows_destroy(&rows);
    return step < 0 ? store_reply_db_failed(db, reply, step, what) : STORE_DB_OK;
}

/*  The JSON array of the page's incident ids (UUIDs: no escaping needed). */
static char *s_ids_json(const lk_msg_t *reply)
{
    size_t size = 3 + reply->escalation_count * (LK_UUID_STR_LEN + 3);
    char *json = malloc(size);
    if (!json)
        return NULL;
    size_t length = 0;
    json[length++] = '[';
    for (size_t index = 0; index < reply->escalation_count; index++)
        length += (size_t)snprintf(json + length, size - length, "%s\"%s\"", index ? "," : "",
                                   reply->escalations[index].incident_id);
    json[length++] = ']';
    json[length] = '\0';
    return json;
}

static int s_escalation_state(store_db_t *db, lk_msg_t *request, lk_msg_t *reply)
{
    const s_notify_sql_t *sql = s_sql(db);
    const lk_query_t *query = &request->query;
    char after[LK_UUID_STR_LEN + 1] = S_NIL_UUID;
    if (query->cursor && *query->cursor) {
        if (strlen(query->cursor) != LK_UUID_STR_LEN) {
            store_reply_fail(reply, LK_STATUS_INVALID, "cursor: not a cursor of escalation_state");
            return STORE_DB_OK;
        }
        memcpy(after, query->cursor, sizeof after);
        if (!s_uuid_field(after)) {
            store_reply_fail(reply, LK_STATUS_INVALID, "cursor: not a cursor of escalation_state");
            return STORE_DB_OK;
        }
    }
    uint32_t limit = query->limit ? query->limit : STORE_ESCALATION_LIMIT_DEFAULT;
    if (limit > STORE_ESCALATION_LIMIT_MAX)
        limit = STORE_ESCALATION_LIMIT_MAX;

    const store_dialect_t *dialect = store_db_dialect(db);
    int rc = store_db_exec(db, dialect->begin_read, NULL, 0, NULL);
    if (rc != STORE_DB_OK)
        return store_reply_db_failed(db, reply, rc, "begin");
    store_param_t params[] = {store_param_text(after), store_param_int((int64_t)limit + 1)};
    rc = s_select(db, sql->state_escalations, params, 2, S_ROWS_ESCALATIONS, reply,
                  "escalation_state");
    bool more = false;
    if (rc == STORE_DB_OK && reply->status == LK_STATUS_OK && reply->escalation_count > limit) {
        more = true;
        lk_escalation_clear(&reply->escalations[--reply->escalation_count]);
    }
    if (rc == STORE_DB_OK && reply->status == LK_STATUS_OK && reply->escalation_count > 0) {
        char *ids = s_ids_json(reply);
        if (!ids)
            store_reply_fail(reply, LK_STATUS_ERROR, "out of memory");
        else {
            store_param_t param = store_param_text(ids);
            rc = s_select(db, sql->state_incidents, &param, 1, S_ROWS_INCIDENTS, reply,
                          "escalation_state incidents");
            if (rc == STORE_DB_OK && reply->status == LK_STATUS_OK)
                rc = s_select(db, sql->state_notifications, &param, 1, S_ROWS_NOTIFICATIONS, reply,
                              "escalation_state notifications");
            free(ids);
        }
    }
    if (rc == STORE_DB_OK && reply->status == LK_STATUS_OK && more)
        reply->next_cursor = strdup(reply->escalations[reply->escalation_count - 1].incident_id);
    if (rc == STORE_DB_LOST)
        return rc;
    int end = store_db_exec(db, reply->status == LK_STATUS_OK ? dialect->commit : dialect->rollback,
                            NULL, 0, NULL);
    return end == STORE_DB_OK ? STORE_DB_OK : store_reply_db_failed(db, reply, end, "end of read");
}

static int s_overrides(store_db_t *db, lk_msg_t *request, lk_msg_t *reply)
{
    if (!s_uuid_field(request->tenant_id)) {
        store_reply_fail(reply, LK_STATUS_INVALID, "oncall_overrides needs a tenant");
        return STORE_DB_OK;
    }
    const lk_query_t *query = &request->query;
    uint32_t limit = query->limit ? query->limit : STORE_OVERRIDES_LIMIT_DEFAULT;
    if (limit > STORE_OVERRIDES_LIMIT_MAX)
        limit = STORE_OVERRIDES_LIMIT_MAX;
    store_param_t params[] = {store_param_text(request->tenant_id),
                              store_param_int(query->since_ms ? query->since_ms : INT64_MIN),
                              store_param_int(query->until_ms ? query->until_ms : INT64_MAX),
                              store_param_int(limit)};
    return s_select(db, s_sql(db)->overrides, params, 4, S_ROWS_OVERRIDES, reply,
                    "oncall_overrides");
}

int store_notify_answer(store_db_t *db, lk_msg_t *request, lk_msg_t *reply)
{
    if (request->query.kind == LK_QUERY_ESCALATION_STATE)
        return s_escalation_state(db, request, reply);
    if (request->query.kind == LK_QUERY_ONCALL_OVERRIDES)
        return s_overrides(db, request, reply);
    store_reply_fail(reply, LK_STATUS_INVALID, "unknown query kind");
    return STORE_DB_OK;
}
