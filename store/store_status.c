/*  store_status — incident updates and the status page's read (see the header).

    Each statement has one text per backend (SQLite ?N placeholders, PostgreSQL $N with
    casts), as in store_correlation.c; s_sql picks the set of the connection's backend. The
    incident ids of a status page travel to the alert and update statements as one JSON
    array parameter, as correlate's snapshot does, so no SQL is ever built from values.
*/
#include "store_status.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_uuid.h"
#include "store_correlation.h"
#include "store_map.h"
#include "store_reply.h"

#define S_UPDATE_COLUMNS                                                                           \
    "id, tenant_id, incident_id, message, visibility, status, title, author, created_at"
#define S_UPDATE_PARAMS 9

typedef struct {
    const char *insert_update;       /* (S_UPDATE_PARAMS) */
    const char *incident_updates;    /* (tenant, incident_id, limit) */
    const char *status_incidents;    /* (tenant, since, limit) → STORE_INCIDENT_COLUMNS */
    const char *status_alert_labels; /* (tenant, JSON ids, limit) → incident_id, labels */
    const char *status_updates;      /* (tenant, JSON ids, limit) → S_UPDATE_COLUMNS */
} s_sql_t;

static const s_sql_t s_sqlite = {
    .insert_update = "INSERT INTO incident_updates (" S_UPDATE_COLUMNS ") SELECT ?1, ?2, ?3, ?4, "
                     "?5, ?6, ?7, ?8, ?9 WHERE EXISTS (SELECT 1 FROM incidents WHERE id = ?3 AND "
                     "tenant_id = ?2) ON CONFLICT (id) DO NOTHING",
    .incident_updates = "SELECT " S_UPDATE_COLUMNS " FROM incident_updates WHERE tenant_id = ?1 "
                        "AND incident_id = ?2 ORDER BY created_at, id LIMIT ?3",
    .status_incidents =
        "SELECT * FROM (SELECT " STORE_INCIDENT_COLUMNS " FROM incidents WHERE "
        "tenant_id = ?1 AND resolved_at IS NULL UNION ALL SELECT " STORE_INCIDENT_COLUMNS
        " FROM incidents WHERE tenant_id = ?1 AND "
        "resolved_at >= ?2) ORDER BY created_at DESC, id DESC LIMIT ?3",
    .status_alert_labels = "SELECT DISTINCT incident_id, labels FROM alerts WHERE tenant_id = ?1 "
                           "AND incident_id IN (SELECT value FROM json_each(?2)) LIMIT ?3",
    .status_updates = "SELECT " S_UPDATE_COLUMNS " FROM incident_updates WHERE tenant_id = ?1 "
                      "AND visibility = 'public' AND incident_id IN (SELECT value FROM "
                      "json_each(?2)) ORDER BY created_at, id LIMIT ?3",
};

static const s_sql_t s_postgres = {
    .insert_update = "INSERT INTO incident_updates (" S_UPDATE_COLUMNS ") SELECT $1::uuid, "
                     "$2::uuid, $3::uuid, $4::text, $5::text, $6::text, $7::text, $8::text, "
                     "$9::bigint WHERE EXISTS (SELECT 1 FROM incidents WHERE id = $3::uuid AND "
                     "tenant_id = $2::uuid) ON CONFLICT (id) DO NOTHING",
    .incident_updates = "SELECT " S_UPDATE_COLUMNS " FROM incident_updates WHERE tenant_id = "
                        "$1::uuid AND incident_id = $2::uuid ORDER BY created_at, id "
                        "LIMIT $3::bigint",
    .status_incidents =
        "SELECT * FROM (SELECT " STORE_INCIDENT_COLUMNS " FROM incidents WHERE "
        "tenant_id = $1::uuid AND resolved_at IS NULL UNION ALL SELECT " STORE_INCIDENT_COLUMNS
        " FROM incidents WHERE tenant_id = $1::uuid AND "
        "resolved_at >= $2::bigint) AS window_incidents "
        "ORDER BY created_at DESC, id DESC LIMIT $3::bigint",
    .status_alert_labels = "SELECT DISTINCT incident_id, labels FROM alerts WHERE tenant_id = "
                           "$1::uuid AND incident_id = ANY (ARRAY(SELECT "
                           "jsonb_array_elements_text($2::jsonb)::uuid)) LIMIT $3::bigint",
    .status_updates = "SELECT " S_UPDATE_COLUMNS " FROM incident_updates WHERE tenant_id = "
                      "$1::uuid AND visibility = 'public' AND incident_id = ANY (ARRAY(SELECT "
                      "jsonb_array_elements_text($2::jsonb)::uuid)) ORDER BY created_at, id "
                      "LIMIT $3::bigint",
};

static const s_sql_t *s_sql(const store_db_t *db)
{
    return strcmp(store_db_backend_name(db), "sqlite") == 0 ? &s_sqlite : &s_postgres;
}

/* ---- replies ---------------------------------------------------------------------------- */

/* ---- validation and writing ------------------------------------------------------------- */

/* Validates a UUID and lower-cases it in place, so both backends compare the same text. */
static bool s_uuid_field(char *uuid)
{
    if (!lk_uuid_valid(uuid))
        return false;
    for (char *cursor = uuid; *cursor; cursor++)
        *cursor = (char)tolower((unsigned char)*cursor);
    return true;
}

/* An optional text of at most max bytes that the database can store. */
static bool s_text_ok(const char *text, size_t max)
{
    return !text || (strlen(text) <= max && store_map_utf8_valid(text));
}

bool store_status_valid(lk_msg_t *batch, char *err, size_t err_size)
{
    for (size_t index = 0; index < batch->update_count; index++) {
        lk_incident_update_t *update = &batch->updates[index];
        if (!s_uuid_field(update->id) || !s_uuid_field(update->tenant_id) ||
            !s_uuid_field(update->incident_id)) {
            snprintf(err, err_size, "updates[%zu]: id, tenant and incident_id must be UUIDs",
                     index);
            return false;
        }
        if (!update->message || !*update->message || !update->author || !*update->author) {
            snprintf(err, err_size, "updates[%zu]: message and author are required", index);
            return false;
        }
        if (!s_text_ok(update->message, STORE_UPDATE_MESSAGE_MAX) ||
            !s_text_ok(update->title, STORE_UPDATE_TITLE_MAX) ||
            !s_text_ok(update->author, STORE_UPDATE_AUTHOR_MAX)) {
            snprintf(err, err_size, "updates[%zu]: text too long or not valid UTF-8", index);
            return false;
        }
    }
    return true;
}

int store_status_apply(store_db_t *db, const lk_msg_t *batch, char *err, size_t err_size)
{
    const s_sql_t *sql = s_sql(db);
    for (size_t index = 0; index < batch->update_count; index++) {
        const lk_incident_update_t *update = &batch->updates[index];
        store_param_t params[S_UPDATE_PARAMS] = {
            store_param_text(update->id),
            store_param_text(update->tenant_id),
            store_param_text(update->incident_id),
            store_param_text(update->message),
            store_param_text(lk_update_visibility_name(update->visibility)),
            store_param_text(lk_incident_stage_name(update->stage)), /* NULL when none */
            store_param_text(update->title),
            store_param_text(update->author),
            store_param_int(update->created_at_ms),
        };
        int rc = store_db_exec(db, sql->insert_update, params, S_UPDATE_PARAMS, NULL);
        if (rc != STORE_DB_OK) {
            snprintf(err, err_size, "writing an incident update: %s", store_db_error(db));
            return rc;
        }
    }
    return STORE_DB_OK;
}

/* ---- reading ---------------------------------------------------------------------------- */

/* Reads an S_UPDATE_COLUMNS row into *out (zeroed here). Returns 0, -1 when a stored value
   does not parse or on OOM (out cleared). */
static int s_read_update(store_rows_t *rows, lk_incident_update_t *out)
{
    memset(out, 0, sizeof *out);
    const char *message = store_rows_text(rows, 3);
    const char *visibility = store_rows_text(rows, 4);
    const char *stage = store_rows_text(rows, 5);
    const char *title = store_rows_text(rows, 6);
    const char *author = store_rows_text(rows, 7);
    if (!store_rows_copy(rows, 0, out->id, sizeof out->id) ||
        !store_rows_copy(rows, 1, out->tenant_id, sizeof out->tenant_id) ||
        !store_rows_copy(rows, 2, out->incident_id, sizeof out->incident_id) || !message ||
        !author || !lk_update_visibility_parse(visibility, &out->visibility) ||
        (stage && !lk_incident_stage_parse(stage, &out->stage)) ||
        !(out->message = strdup(message)) || !(out->author = strdup(author)) ||
        (title && !(out->title = strdup(title)))) {
        lk_incident_update_clear(out);
        return -1;
    }
    out->created_at_ms = store_rows_int(rows, 8);
    return 0;
}

typedef enum { S_ROWS_UPDATES, S_ROWS_INCIDENTS, S_ROWS_LABELS } s_rows_t;

/* Runs a statement and appends its rows (of kind) to reply. */
static int s_select(store_db_t *db, const char *sql, const store_param_t *params, int count,
                    s_rows_t kind, lk_msg_t *reply, const char *what)
{
    store_rows_t *rows;
    int rc = store_db_query(db, sql, params, count, &rows);
    if (rc != STORE_DB_OK)
        return store_reply_db_failed(db, reply, rc, what);
    int step = 0;
    while (reply->status == LK_STATUS_OK && (step = store_rows_next(rows)) == 1) {
        int added = 0;
        char err[256];
        if (kind == S_ROWS_UPDATES) {
            lk_incident_update_t update;
            if (s_read_update(rows, &update) != 0) {
                store_reply_fail(reply, LK_STATUS_ERROR, "%s: a stored update does not parse",
                                 what);
                break;
            }
            added = lk_msg_add_update(reply, &update);
            lk_incident_update_clear(&update);
        } else if (kind == S_ROWS_INCIDENTS) {
            lk_incident_t incident;
            if (store_map_read_incident(rows, 0, &incident, err, sizeof err) != 0) {
                store_reply_fail(reply, LK_STATUS_ERROR, "%s: %s", what, err);
                break;
            }
            added = lk_msg_add_incident(reply, &incident);
            lk_incident_clear(&incident);
        } else {
            /* Only what component matching needs: the rest of the alert stays empty. */
            lk_alert_t alert;
            memset(&alert, 0, sizeof alert);
            snprintf(alert.tenant_id, sizeof alert.tenant_id, "%s", reply->tenant_id);
            if (!store_rows_copy(rows, 0, alert.incident_id, sizeof alert.incident_id) ||
                store_map_labels_parse(store_rows_text(rows, 1), &alert.labels) != 0) {
                store_reply_fail(reply, LK_STATUS_ERROR, "%s: stored labels do not parse", what);
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

int store_status_incident_updates(store_db_t *db, const char *tenant_id, const char *incident_id,
                                  lk_msg_t *reply)
{
    store_param_t params[] = {store_param_text(tenant_id), store_param_text(incident_id),
                              store_param_int(STORE_UPDATES_PER_INCIDENT_MAX)};
    return s_select(db, s_sql(db)->incident_updates, params, 3, S_ROWS_UPDATES, reply,
                    "incident updates");
}

/* The JSON array of the reply's incident ids (canonical UUIDs: nothing to escape), or NULL
   on OOM. */
static char *s_incident_ids_json(const lk_msg_t *reply)
{
    size_t size = 3 + reply->incident_count * (LK_UUID_STR_LEN + 3);
    char *json = malloc(size);
    if (!json)
        return NULL;
    size_t length = 0;
    json[length++] = '[';
    for (size_t index = 0; index < reply->incident_count; index++)
        length += (size_t)snprintf(json + length, size - length, "%s\"%s\"", index ? "," : "",
                                   reply->incidents[index].id);
    json[length++] = ']';
    json[length] = '\0';
    return json;
}

/* The reads of a status page, inside the caller's snapshot. */
static int s_status_reads(store_db_t *db, lk_msg_t *request, lk_msg_t *reply, uint32_t limit)
{
    const s_sql_t *sql = s_sql(db);
    store_param_t window[] = {store_param_text(request->tenant_id),
                              store_param_int(request->query.since_ms), store_param_int(limit)};
    int rc = s_select(db, sql->status_incidents, window, 3, S_ROWS_INCIDENTS, reply,
                      "status_page incidents");
    if (rc != STORE_DB_OK || reply->status != LK_STATUS_OK)
        return rc;
    if (reply->incident_count > 0) {
        char *ids = s_incident_ids_json(reply);
        if (!ids) {
            store_reply_fail(reply, LK_STATUS_ERROR, "out of memory");
            return STORE_DB_OK;
        }
        store_param_t labels[] = {store_param_text(request->tenant_id), store_param_text(ids),
                                  store_param_int(STORE_STATUS_ALERTS_MAX)};
        rc = s_select(db, sql->status_alert_labels, labels, 3, S_ROWS_LABELS, reply,
                      "status_page alerts");
        if (rc == STORE_DB_OK && reply->status == LK_STATUS_OK) {
            store_param_t updates[] = {store_param_text(request->tenant_id), store_param_text(ids),
                                       store_param_int(STORE_STATUS_UPDATES_MAX)};
            rc = s_select(db, sql->status_updates, updates, 3, S_ROWS_UPDATES, reply,
                          "status_page updates");
        }
        free(ids);
        if (rc != STORE_DB_OK || reply->status != LK_STATUS_OK)
            return rc;
    }
    /* maintenance: the tenant's pending and active silences, read by their own module */
    lk_msg_t silences;
    lk_msg_init(&silences, LK_MSG_QUERY);
    snprintf(silences.tenant_id, sizeof silences.tenant_id, "%s", request->tenant_id);
    silences.query.kind = LK_QUERY_LIST_SILENCES;
    silences.query.status_mask = (1u << LK_SILENCE_PENDING) | (1u << LK_SILENCE_ACTIVE);
    silences.query.limit = STORE_STATUS_SILENCES_MAX;
    rc = store_correlation_query(db, &silences, reply);
    lk_msg_clear(&silences);
    return rc;
}

int store_status_page(store_db_t *db, lk_msg_t *request, lk_msg_t *reply)
{
    if (!s_uuid_field(request->tenant_id)) {
        store_reply_fail(reply, LK_STATUS_INVALID, "status_page needs a tenant");
        return STORE_DB_OK;
    }
    if (request->query.since_ms <= 0) {
        store_reply_fail(reply, LK_STATUS_INVALID, "status_page needs since (the window's start)");
        return STORE_DB_OK;
    }
    snprintf(reply->tenant_id, sizeof reply->tenant_id, "%s", request->tenant_id);
    uint32_t limit = request->query.limit ? request->query.limit : STORE_STATUS_INCIDENTS_DEFAULT;
    if (limit > STORE_STATUS_INCIDENTS_MAX)
        limit = STORE_STATUS_INCIDENTS_MAX;
    /* one snapshot: statuses, uptime and the incident list must describe the same moment */
    const store_dialect_t *dialect = store_db_dialect(db);
    int rc = store_db_exec(db, dialect->begin_read, NULL, 0, NULL);
    if (rc != STORE_DB_OK)
        return store_reply_db_failed(db, reply, rc, "begin");
    rc = s_status_reads(db, request, reply, limit);
    if (rc == STORE_DB_LOST)
        return rc;
    int end = store_db_exec(db, reply->status == LK_STATUS_OK ? dialect->commit : dialect->rollback,
                            NULL, 0, NULL);
    if (end != STORE_DB_OK)
        return store_reply_db_failed(db, reply, end, "end of read");
    return STORE_DB_OK;
}
