/*  store_correlation — held alerts, silences and heartbeat monitors (see the header).

    Each statement has one text per backend (SQLite ?N placeholders, PostgreSQL $N with
    casts, as in store_sqlite.c and store_pg.c); s_sql picks the set of the connection's
    backend. Rows of other shards are filtered here, in C: the shard is a hash of the
    tenant, which the database cannot compute.
*/
#include "store_correlation.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_time.h"
#include "lk_uuid.h"
#include "store_map.h"
#include "store_reply.h"

#define S_HELD_COLUMNS                                                                             \
    "tenant_id, fingerprint, source, name, query, dedup_key, generator_url, labels, "              \
    "annotations, severity, status, value, threshold, starts_at, ends_at, updated_at, state, "     \
    "suppressed_by"
#define S_HELD_PARAMS 18
/* the held columns in STORE_ALERT_COLUMNS order, so store_map_read_alert reads them */
#define S_HELD_AS_ALERT                                                                            \
    "tenant_id, '' AS incident_id, fingerprint, source, name, query, dedup_key, generator_url, "   \
    "labels, annotations, severity, status, value, threshold, starts_at, ends_at, updated_at, "    \
    "state, suppressed_by"
#define S_SILENCE_COLUMNS                                                                          \
    "id, tenant_id, matchers, starts_at, ends_at, created_by, comment, created_at, updated_at"
#define S_SILENCE_PARAMS 9
#define S_HEARTBEAT_COLUMNS                                                                        \
    "tenant_id, name, interval_ms, grace_ms, severity, labels, last_ping_at, missed, "             \
    "created_at, updated_at"
#define S_HEARTBEAT_PARAMS 10

typedef struct {
    const char *upsert_held;         /* (S_HELD_PARAMS) */
    const char *delete_held;         /* (tenant, fingerprint, updated_at) */
    const char *upsert_silence;      /* (S_SILENCE_PARAMS) */
    const char *upsert_heartbeat;    /* (S_HEARTBEAT_PARAMS) */
    const char *list_silences;       /* (tenant, pending?, active?, expired?, now, limit) */
    const char *get_silence;         /* (tenant, id) */
    const char *list_heartbeats;     /* (tenant, limit) */
    const char *list_suppressed;     /* (tenant, inhibited?, silenced?, limit) */
    const char *snapshot_silences;   /* (now) */
    const char *snapshot_heartbeats; /* () */
    const char *snapshot_held;       /* () */
    const char *end_alert;           /* (tenant, incident_id, fingerprint, ends_at, updated_at) */
} s_sql_t;

static const s_sql_t s_sqlite = {
    .upsert_held = "INSERT INTO suppressed_alerts (" S_HELD_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, "
                   "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) "
                   "ON CONFLICT (tenant_id, fingerprint) DO UPDATE SET source = excluded.source, "
                   "name = excluded.name, query = excluded.query, dedup_key = excluded.dedup_key, "
                   "generator_url = excluded.generator_url, labels = excluded.labels, "
                   "annotations = excluded.annotations, severity = excluded.severity, "
                   "status = excluded.status, value = excluded.value, "
                   "threshold = excluded.threshold, starts_at = excluded.starts_at, "
                   "ends_at = excluded.ends_at, updated_at = excluded.updated_at, "
                   "state = excluded.state, suppressed_by = excluded.suppressed_by "
                   "WHERE excluded.updated_at >= suppressed_alerts.updated_at",
    .delete_held = "DELETE FROM suppressed_alerts WHERE tenant_id = ?1 AND fingerprint = ?2 "
                   "AND updated_at <= ?3",
    .upsert_silence = "INSERT INTO silences (" S_SILENCE_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, "
                      "?6, ?7, ?8, ?9) ON CONFLICT (id) DO UPDATE SET matchers = "
                      "excluded.matchers, starts_at = excluded.starts_at, ends_at = "
                      "excluded.ends_at, created_by = excluded.created_by, comment = "
                      "excluded.comment, created_at = excluded.created_at, updated_at = "
                      "excluded.updated_at WHERE excluded.updated_at >= silences.updated_at "
                      "AND excluded.tenant_id = silences.tenant_id",
    .upsert_heartbeat = "INSERT INTO heartbeats (" S_HEARTBEAT_COLUMNS ") VALUES (?1, ?2, ?3, "
                        "?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (tenant_id, name) DO UPDATE "
                        "SET interval_ms = excluded.interval_ms, grace_ms = excluded.grace_ms, "
                        "severity = excluded.severity, labels = excluded.labels, "
                        "last_ping_at = excluded.last_ping_at, missed = excluded.missed, "
                        "created_at = excluded.created_at, updated_at = excluded.updated_at "
                        "WHERE excluded.updated_at >= heartbeats.updated_at",
    .list_silences = "SELECT " S_SILENCE_COLUMNS " FROM silences WHERE tenant_id = ?1 AND "
                     "((?2 = 1 AND starts_at > ?5) OR (?3 = 1 AND starts_at <= ?5 AND "
                     "ends_at > ?5) OR (?4 = 1 AND ends_at <= ?5)) "
                     "ORDER BY created_at DESC, id DESC LIMIT ?6",
    .get_silence = "SELECT " S_SILENCE_COLUMNS " FROM silences WHERE tenant_id = ?1 AND id = ?2",
    .list_heartbeats = "SELECT " S_HEARTBEAT_COLUMNS " FROM heartbeats WHERE tenant_id = ?1 "
                       "ORDER BY name LIMIT ?2",
    .list_suppressed = "SELECT " S_HELD_AS_ALERT " FROM suppressed_alerts WHERE tenant_id = ?1 "
                       "AND ((?2 = 1 AND state = 'inhibited') OR (?3 = 1 AND state = "
                       "'silenced')) ORDER BY starts_at, fingerprint LIMIT ?4",
    .snapshot_silences = "SELECT " S_SILENCE_COLUMNS " FROM silences WHERE ends_at > ?1 "
                         "ORDER BY id",
    .snapshot_heartbeats = "SELECT " S_HEARTBEAT_COLUMNS " FROM heartbeats "
                           "ORDER BY tenant_id, name",
    .snapshot_held = "SELECT " S_HELD_AS_ALERT " FROM suppressed_alerts WHERE status = 'firing' "
                     "ORDER BY tenant_id, fingerprint",
    .end_alert = "UPDATE alerts SET status = 'resolved', ends_at = ?4, updated_at = ?5 "
                 "WHERE tenant_id = ?1 AND incident_id = ?2 AND fingerprint = ?3 "
                 "AND updated_at <= ?5",
};

static const s_sql_t s_postgres = {
    .upsert_held = "INSERT INTO suppressed_alerts (" S_HELD_COLUMNS ") VALUES ($1::uuid, $2, $3, "
                   "$4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $11, $12::double precision, "
                   "$13::double precision, $14::bigint, $15::bigint, $16::bigint, $17, $18) "
                   "ON CONFLICT (tenant_id, fingerprint) DO UPDATE SET source = excluded.source, "
                   "name = excluded.name, query = excluded.query, dedup_key = excluded.dedup_key, "
                   "generator_url = excluded.generator_url, labels = excluded.labels, "
                   "annotations = excluded.annotations, severity = excluded.severity, "
                   "status = excluded.status, value = excluded.value, "
                   "threshold = excluded.threshold, starts_at = excluded.starts_at, "
                   "ends_at = excluded.ends_at, updated_at = excluded.updated_at, "
                   "state = excluded.state, suppressed_by = excluded.suppressed_by "
                   "WHERE excluded.updated_at >= suppressed_alerts.updated_at",
    .delete_held = "DELETE FROM suppressed_alerts WHERE tenant_id = $1::uuid AND fingerprint = "
                   "$2::text AND updated_at <= $3::bigint",
    .upsert_silence = "INSERT INTO silences (" S_SILENCE_COLUMNS ") VALUES ($1::uuid, $2::uuid, "
                      "$3::jsonb, $4::bigint, $5::bigint, $6, $7, $8::bigint, $9::bigint) "
                      "ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers, starts_at = "
                      "excluded.starts_at, ends_at = excluded.ends_at, created_by = "
                      "excluded.created_by, comment = excluded.comment, created_at = "
                      "excluded.created_at, updated_at = excluded.updated_at "
                      "WHERE excluded.updated_at >= silences.updated_at "
                      "AND excluded.tenant_id = silences.tenant_id",
    .upsert_heartbeat = "INSERT INTO heartbeats (" S_HEARTBEAT_COLUMNS ") VALUES ($1::uuid, $2, "
                        "$3::bigint, $4::bigint, $5, $6::jsonb, $7::bigint, $8::bigint, "
                        "$9::bigint, $10::bigint) ON CONFLICT (tenant_id, name) DO UPDATE "
                        "SET interval_ms = excluded.interval_ms, grace_ms = excluded.grace_ms, "
                        "severity = excluded.severity, labels = excluded.labels, "
                        "last_ping_at = excluded.last_ping_at, missed = excluded.missed, "
                        "created_at = excluded.created_at, updated_at = excluded.updated_at "
                        "WHERE excluded.updated_at >= heartbeats.updated_at",
    .list_silences = "SELECT " S_SILENCE_COLUMNS " FROM silences WHERE tenant_id = $1::uuid AND "
                     "(($2::bigint = 1 AND starts_at > $5::bigint) OR ($3::bigint = 1 AND "
                     "starts_at <= $5::bigint AND ends_at > $5::bigint) OR ($4::bigint = 1 AND "
                     "ends_at <= $5::bigint)) ORDER BY created_at DESC, id DESC LIMIT $6::bigint",
    .get_silence = "SELECT " S_SILENCE_COLUMNS " FROM silences WHERE tenant_id = $1::uuid AND "
                   "id = $2::uuid",
    .list_heartbeats = "SELECT " S_HEARTBEAT_COLUMNS " FROM heartbeats WHERE tenant_id = "
                       "$1::uuid ORDER BY name LIMIT $2::bigint",
    .list_suppressed = "SELECT " S_HELD_AS_ALERT " FROM suppressed_alerts WHERE tenant_id = "
                       "$1::uuid AND (($2::bigint = 1 AND state = 'inhibited') OR ($3::bigint = 1 "
                       "AND state = 'silenced')) ORDER BY starts_at, fingerprint LIMIT $4::bigint",
    .snapshot_silences = "SELECT " S_SILENCE_COLUMNS " FROM silences WHERE ends_at > $1::bigint "
                         "ORDER BY id",
    .snapshot_heartbeats = "SELECT " S_HEARTBEAT_COLUMNS " FROM heartbeats "
                           "ORDER BY tenant_id, name",
    .snapshot_held = "SELECT " S_HELD_AS_ALERT " FROM suppressed_alerts WHERE status = 'firing' "
                     "ORDER BY tenant_id, fingerprint",
    .end_alert = "UPDATE alerts SET status = 'resolved', ends_at = $4::bigint, updated_at = "
                 "$5::bigint WHERE tenant_id = $1::uuid AND incident_id = $2::uuid AND "
                 "fingerprint = $3::text AND updated_at <= $5::bigint",
};

static const s_sql_t *s_sql(const store_db_t *db)
{
    return strcmp(store_db_backend_name(db), "sqlite") == 0 ? &s_sqlite : &s_postgres;
}

/* ---- validation -------------------------------------------------------------------------- */

/* Validates a UUID and lower-cases it in place, so both backends compare the same text. */
static bool s_uuid_field(char *uuid)
{
    if (!lk_uuid_valid(uuid))
        return false;
    for (char *cursor = uuid; *cursor; cursor++)
        *cursor = (char)tolower((unsigned char)*cursor);
    return true;
}

static bool s_heartbeat_name_valid(const char *name)
{
    size_t length = name ? strlen(name) : 0;
    if (length == 0 || length > LK_HEARTBEAT_NAME_MAX)
        return false;
    for (const char *c = name; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '-' || *c == '.'))
            return false;
    return true;
}

bool store_correlation_valid(lk_msg_t *batch, char *err, size_t err_size)
{
    for (size_t index = 0; index < batch->alert_end_count; index++) {
        lk_alert_end_t *end = &batch->alert_ends[index];
        if (!s_uuid_field(end->tenant_id) || !s_uuid_field(end->incident_id) ||
            !end->fingerprint[0]) {
            snprintf(err, err_size, "alert_ends[%zu]: tenant, incident_id and fingerprint needed",
                     index);
            return false;
        }
    }
    for (size_t index = 0; index < batch->silence_count; index++) {
        lk_silence_t *silence = &batch->silences[index];
        if (!s_uuid_field(silence->id) || !s_uuid_field(silence->tenant_id)) {
            snprintf(err, err_size, "silences[%zu]: id and tenant must be UUIDs", index);
            return false;
        }
        bool text_ok =
            store_map_utf8_valid(silence->created_by) && store_map_utf8_valid(silence->comment);
        for (size_t m = 0; text_ok && m < silence->matcher_count; m++)
            text_ok = silence->matchers[m].name && silence->matchers[m].value &&
                      store_map_utf8_valid(silence->matchers[m].name) &&
                      store_map_utf8_valid(silence->matchers[m].value);
        if (!text_ok) {
            snprintf(err, err_size, "silences[%zu]: text is not valid UTF-8", index);
            return false;
        }
    }
    for (size_t index = 0; index < batch->heartbeat_count; index++) {
        lk_heartbeat_t *heartbeat = &batch->heartbeats[index];
        if (!s_uuid_field(heartbeat->tenant_id) || !s_heartbeat_name_valid(heartbeat->name)) {
            snprintf(err, err_size,
                     "heartbeats[%zu]: tenant must be a UUID and name 1..%d of "
                     "[A-Za-z0-9_.-]",
                     index, LK_HEARTBEAT_NAME_MAX);
            return false;
        }
    }
    return true;
}

/* ---- writing ----------------------------------------------------------------------------- */

static int s_failed(store_db_t *db, int rc, const char *what, char *err, size_t err_size)
{
    snprintf(err, err_size, "%s: %s", what, store_db_error(db));
    return rc;
}

int store_correlation_apply_held(store_db_t *db, const lk_alert_t *alert, char *err,
                                 size_t err_size)
{
    const s_sql_t *sql = s_sql(db);
    bool held = alert->state != LK_ALERT_ACTIVE && alert->status == LK_ALERT_FIRING;
    if (!held) {
        store_param_t params[] = {store_param_text(alert->tenant_id),
                                  store_param_text(alert->fingerprint),
                                  store_param_int(alert->updated_at_ms)};
        int rc = store_db_exec(db, sql->delete_held, params, 3, NULL);
        return rc == STORE_DB_OK ? rc : s_failed(db, rc, "releasing a held alert", err, err_size);
    }
    store_param_t alert_params[STORE_ALERT_PARAMS];
    store_map_json_t json;
    if (store_map_alert_params(alert, alert_params, &json)) {
        snprintf(err, err_size, "held alert %s: cannot encode labels", alert->fingerprint);
        return STORE_DB_ERROR;
    }
    /* the alert parameters without incident_id (index 1) */
    store_param_t params[S_HELD_PARAMS];
    params[0] = alert_params[0];
    memcpy(&params[1], &alert_params[2], (S_HELD_PARAMS - 1) * sizeof(store_param_t));
    int rc = store_db_exec(db, sql->upsert_held, params, S_HELD_PARAMS, NULL);
    store_map_json_clear(&json);
    return rc == STORE_DB_OK ? rc : s_failed(db, rc, "writing a held alert", err, err_size);
}

/* The JSON text of a silence's matchers, in the API's shape. Heap string or NULL on OOM. */
static char *s_matchers_json(const lk_silence_t *silence)
{
    json_t *array = json_array();
    for (size_t i = 0; array && i < silence->matcher_count; i++) {
        const lk_matcher_t *matcher = &silence->matchers[i];
        json_t *item =
            json_pack("{s:s, s:s, s:b, s:b}", "name", matcher->name, "value", matcher->value,
                      "isRegex", matcher->is_regex, "isEqual", matcher->is_equal);
        if (!item || json_array_append_new(array, item) != 0) {
            json_decref(array);
            array = NULL;
        }
    }
    char *text = array ? json_dumps(array, JSON_COMPACT) : NULL;
    json_decref(array);
    return text;
}

static int s_apply_silence(store_db_t *db, const lk_silence_t *silence, char *err, size_t err_size)
{
    char *matchers = s_matchers_json(silence);
    if (!matchers) {
        snprintf(err, err_size, "silence %s: cannot encode matchers", silence->id);
        return STORE_DB_ERROR;
    }
    store_param_t params[S_SILENCE_PARAMS] = {
        store_param_text(silence->id),
        store_param_text(silence->tenant_id),
        store_param_text(matchers),
        store_param_int(silence->starts_at_ms),
        store_param_int(silence->ends_at_ms),
        store_param_text(silence->created_by ? silence->created_by : ""),
        store_param_text(silence->comment ? silence->comment : ""),
        store_param_int(silence->created_at_ms),
        store_param_int(silence->updated_at_ms),
    };
    int rc = store_db_exec(db, s_sql(db)->upsert_silence, params, S_SILENCE_PARAMS, NULL);
    free(matchers);
    return rc == STORE_DB_OK ? rc : s_failed(db, rc, "writing a silence", err, err_size);
}

static int s_apply_heartbeat(store_db_t *db, const lk_heartbeat_t *heartbeat, char *err,
                             size_t err_size)
{
    char *labels = store_map_labels_json(&heartbeat->labels);
    if (!labels) {
        snprintf(err, err_size, "heartbeat %s: cannot encode labels", heartbeat->name);
        return STORE_DB_ERROR;
    }
    store_param_t params[S_HEARTBEAT_PARAMS] = {
        store_param_text(heartbeat->tenant_id),
        store_param_text(heartbeat->name),
        store_param_int(heartbeat->interval_ms),
        store_param_int(heartbeat->grace_ms),
        store_param_text(lk_severity_name(heartbeat->severity)),
        store_param_text(labels),
        heartbeat->last_ping_at_ms ? store_param_int(heartbeat->last_ping_at_ms)
                                   : store_param_null(),
        store_param_int(heartbeat->missed ? 1 : 0),
        store_param_int(heartbeat->created_at_ms),
        store_param_int(heartbeat->updated_at_ms),
    };
    int rc = store_db_exec(db, s_sql(db)->upsert_heartbeat, params, S_HEARTBEAT_PARAMS, NULL);
    free(labels);
    return rc == STORE_DB_OK ? rc : s_failed(db, rc, "writing a heartbeat monitor", err, err_size);
}

/* An alert whose endsAt passed: status, ends_at and updated_at of its row, unless the row
   is newer (a later write won) or absent (nothing to end). */
static int s_apply_alert_end(store_db_t *db, const lk_alert_end_t *end, char *err, size_t err_size)
{
    store_param_t params[] = {
        store_param_text(end->tenant_id),    store_param_text(end->incident_id),
        store_param_text(end->fingerprint),  store_param_int(end->ends_at_ms),
        store_param_int(end->updated_at_ms),
    };
    int rc = store_db_exec(db, s_sql(db)->end_alert, params, 5, NULL);
    return rc == STORE_DB_OK ? rc : s_failed(db, rc, "ending an alert", err, err_size);
}

int store_correlation_apply(store_db_t *db, const lk_msg_t *batch, char *err, size_t err_size)
{
    for (size_t index = 0; index < batch->alert_end_count; index++) {
        int rc = s_apply_alert_end(db, &batch->alert_ends[index], err, err_size);
        if (rc != STORE_DB_OK)
            return rc;
    }
    for (size_t index = 0; index < batch->silence_count; index++) {
        int rc = s_apply_silence(db, &batch->silences[index], err, err_size);
        if (rc != STORE_DB_OK)
            return rc;
    }
    for (size_t index = 0; index < batch->heartbeat_count; index++) {
        int rc = s_apply_heartbeat(db, &batch->heartbeats[index], err, err_size);
        if (rc != STORE_DB_OK)
            return rc;
    }
    return STORE_DB_OK;
}

/* ---- reading ----------------------------------------------------------------------------- */

/* Parses the stored matchers JSON. Returns 0 or -1. */
static int s_matchers_parse(const char *text, lk_silence_t *silence)
{
    json_t *array = text ? json_loads(text, 0, NULL) : NULL;
    if (!json_is_array(array)) {
        json_decref(array);
        return -1;
    }
    int rc = 0;
    size_t count = json_array_size(array);
    if (count) {
        silence->matchers = calloc(count, sizeof(lk_matcher_t));
        rc = silence->matchers ? 0 : -1;
    }
    for (size_t i = 0; rc == 0 && i < count; i++) {
        json_t *item = json_array_get(array, i);
        const char *name = json_string_value(json_object_get(item, "name"));
        const char *value = json_string_value(json_object_get(item, "value"));
        if (!name || !value) {
            rc = -1;
            break;
        }
        lk_matcher_t *matcher = &silence->matchers[i];
        matcher->name = strdup(name);
        matcher->value = strdup(value);
        matcher->is_regex = json_is_true(json_object_get(item, "isRegex"));
        matcher->is_equal = json_is_true(json_object_get(item, "isEqual"));
        silence->matcher_count = i + 1;
        if (!matcher->name || !matcher->value)
            rc = -1;
    }
    json_decref(array);
    return rc;
}

static int s_read_silence(store_rows_t *rows, lk_silence_t *out)
{
    memset(out, 0, sizeof *out);
    const char *created_by = store_rows_text(rows, 5);
    const char *comment = store_rows_text(rows, 6);
    if (!store_rows_copy(rows, 0, out->id, sizeof out->id) ||
        !store_rows_copy(rows, 1, out->tenant_id, sizeof out->tenant_id) ||
        s_matchers_parse(store_rows_text(rows, 2), out) != 0 ||
        !(out->created_by = strdup(created_by ? created_by : "")) ||
        !(out->comment = strdup(comment ? comment : ""))) {
        lk_silence_clear(out);
        return -1;
    }
    out->starts_at_ms = store_rows_int(rows, 3);
    out->ends_at_ms = store_rows_int(rows, 4);
    out->created_at_ms = store_rows_int(rows, 7);
    out->updated_at_ms = store_rows_int(rows, 8);
    return 0;
}

static int s_read_heartbeat(store_rows_t *rows, lk_heartbeat_t *out)
{
    memset(out, 0, sizeof *out);
    const char *name = store_rows_text(rows, 1);
    const char *severity = store_rows_text(rows, 4);
    if (!store_rows_copy(rows, 0, out->tenant_id, sizeof out->tenant_id) || !name ||
        !(out->name = strdup(name)) ||
        !lk_severity_parse(severity ? severity : "", &out->severity) ||
        store_map_labels_parse(store_rows_text(rows, 5), &out->labels) != 0) {
        lk_heartbeat_clear(out);
        return -1;
    }
    out->interval_ms = store_rows_int(rows, 2);
    out->grace_ms = store_rows_int(rows, 3);
    out->last_ping_at_ms = store_rows_null(rows, 6) ? 0 : store_rows_int(rows, 6);
    out->missed = store_rows_int(rows, 7) != 0;
    out->created_at_ms = store_rows_int(rows, 8);
    out->updated_at_ms = store_rows_int(rows, 9);
    return 0;
}

typedef enum { S_SILENCES, S_HEARTBEATS, S_HELD } s_kind_t;

/* Runs a statement and appends its rows to reply, keeping those of the shard (0/1 = all). */
static int s_select(store_db_t *db, const char *sql, const store_param_t *params, int count,
                    s_kind_t kind, uint32_t shard_count, uint32_t shard_index, lk_msg_t *reply,
                    const char *what)
{
    store_rows_t *rows;
    int rc = store_db_query(db, sql, params, count, &rows);
    if (rc != STORE_DB_OK)
        return store_reply_db_failed(db, reply, rc, what);
    int step = 0;
    while (reply->status == LK_STATUS_OK && (step = store_rows_next(rows)) == 1) {
        int added = 0;
        const char *tenant = store_rows_text(rows, 0);
        if (kind == S_SILENCES)
            tenant = store_rows_text(rows, 1);
        if (shard_count > 1 && (!tenant || lk_shard_of(tenant, shard_count) != shard_index))
            continue;
        if (kind == S_SILENCES) {
            lk_silence_t silence;
            if (s_read_silence(rows, &silence) != 0) {
                store_reply_fail(reply, LK_STATUS_ERROR, "%s: a stored silence does not parse",
                                 what);
                break;
            }
            added = lk_msg_add_silence(reply, &silence);
            lk_silence_clear(&silence);
        } else if (kind == S_HEARTBEATS) {
            lk_heartbeat_t heartbeat;
            if (s_read_heartbeat(rows, &heartbeat) != 0) {
                store_reply_fail(reply, LK_STATUS_ERROR, "%s: a stored monitor does not parse",
                                 what);
                break;
            }
            added = lk_msg_add_heartbeat(reply, &heartbeat);
            lk_heartbeat_clear(&heartbeat);
        } else {
            lk_alert_t alert;
            char err[256];
            if (store_map_read_alert(rows, 0, &alert, err, sizeof err) != 0) {
                store_reply_fail(reply, LK_STATUS_ERROR, "%s: %s", what, err);
                break;
            }
            added = lk_msg_add_alert(reply, &alert);
            lk_alert_clear(&alert);
        }
        if (added != 0)
            store_reply_fail(reply, LK_STATUS_ERROR, "out of memory");
    }
    if (reply->status == LK_STATUS_OK && step < 0)
        rc = store_reply_db_failed(db, reply, step, what);
    store_rows_destroy(&rows);
    return rc == STORE_DB_LOST ? rc : STORE_DB_OK;
}

bool store_correlation_handles(lk_query_kind_t kind)
{
    return kind == LK_QUERY_LIST_SILENCES || kind == LK_QUERY_GET_SILENCE ||
           kind == LK_QUERY_LIST_HEARTBEATS || kind == LK_QUERY_LIST_SUPPRESSED;
}

int store_correlation_query(store_db_t *db, lk_msg_t *request, lk_msg_t *reply)
{
    const s_sql_t *sql = s_sql(db);
    const lk_query_t *query = &request->query;
    if (!s_uuid_field(request->tenant_id)) {
        store_reply_fail(reply, LK_STATUS_INVALID, "this query needs a tenant");
        return STORE_DB_OK;
    }
    uint32_t mask = query->status_mask;
    switch (query->kind) {
    case LK_QUERY_LIST_SILENCES: {
        uint32_t limit = query->limit ? query->limit : STORE_SILENCES_LIMIT_DEFAULT;
        if (limit > STORE_SILENCES_LIMIT_MAX)
            limit = STORE_SILENCES_LIMIT_MAX;
        if (mask == 0)
            mask = 0x7;
        store_param_t params[] = {
            store_param_text(request->tenant_id),
            store_param_int((mask >> LK_SILENCE_PENDING) & 1),
            store_param_int((mask >> LK_SILENCE_ACTIVE) & 1),
            store_param_int((mask >> LK_SILENCE_EXPIRED) & 1),
            store_param_int(lk_now_ms()),
            store_param_int(limit),
        };
        return s_select(db, sql->list_silences, params, 6, S_SILENCES, 0, 0, reply,
                        "list_silences");
    }
    case LK_QUERY_GET_SILENCE: {
        char id[LK_UUID_STR_LEN + 1];
        memcpy(id, query->silence_id, sizeof id);
        if (!s_uuid_field(id)) {
            store_reply_fail(reply, LK_STATUS_INVALID, "silence_id: not a UUID");
            return STORE_DB_OK;
        }
        store_param_t params[] = {store_param_text(request->tenant_id), store_param_text(id)};
        int rc = s_select(db, sql->get_silence, params, 2, S_SILENCES, 0, 0, reply, "get_silence");
        if (rc == STORE_DB_OK && reply->status == LK_STATUS_OK && reply->silence_count == 0)
            store_reply_fail(reply, LK_STATUS_NOT_FOUND, "no such silence");
        return rc;
    }
    case LK_QUERY_LIST_HEARTBEATS: {
        store_param_t params[] = {store_param_text(request->tenant_id),
                                  store_param_int(STORE_HEARTBEATS_MAX)};
        return s_select(db, sql->list_heartbeats, params, 2, S_HEARTBEATS, 0, 0, reply,
                        "list_heartbeats");
    }
    case LK_QUERY_LIST_SUPPRESSED: {
        uint32_t limit = query->limit ? query->limit : STORE_SUPPRESSED_LIMIT_DEFAULT;
        if (limit > STORE_SUPPRESSED_LIMIT_MAX)
            limit = STORE_SUPPRESSED_LIMIT_MAX;
        if (mask == 0)
            mask = (1u << LK_ALERT_INHIBITED) | (1u << LK_ALERT_SILENCED);
        store_param_t params[] = {
            store_param_text(request->tenant_id),
            store_param_int((mask >> LK_ALERT_INHIBITED) & 1),
            store_param_int((mask >> LK_ALERT_SILENCED) & 1),
            store_param_int(limit),
        };
        return s_select(db, sql->list_suppressed, params, 4, S_HELD, 0, 0, reply,
                        "list_suppressed");
    }
    default:
        store_reply_fail(reply, LK_STATUS_INVALID, "unknown query kind");
        return STORE_DB_OK;
    }
}

int store_correlation_snapshot(store_db_t *db, uint32_t shard_count, uint32_t shard_index,
                               int64_t now_ms, lk_msg_t *reply)
{
    const s_sql_t *sql = s_sql(db);
    store_param_t now = store_param_int(now_ms);
    int rc = s_select(db, sql->snapshot_silences, &now, 1, S_SILENCES, shard_count, shard_index,
                      reply, "snapshot silences");
    if (rc == STORE_DB_OK && reply->status == LK_STATUS_OK)
        rc = s_select(db, sql->snapshot_heartbeats, NULL, 0, S_HEARTBEATS, shard_count, shard_index,
                      reply, "snapshot heartbeats");
    if (rc == STORE_DB_OK && reply->status == LK_STATUS_OK)
        rc = s_select(db, sql->snapshot_held, NULL, 0, S_HELD, shard_count, shard_index, reply,
                      "snapshot held alerts");
    return rc;
}
