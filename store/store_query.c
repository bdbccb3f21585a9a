/*  store_query — the read side of store (see store_query.h).

    list_incidents  tenant-scoped, filtered, newest first (created_at DESC, id DESC), keyset
                    pagination: the cursor is "<created_at>_<id>" of the last row returned.
    get_incident    the incident, its alerts, its events (oldest first) from one snapshot;
                    another tenant's incident is answered not_found like a missing one.
    snapshot        non-closed incidents of one shard of tenants, by id, with their alerts;
                    the cursor is the last incident id returned.
    events          outbox rows after a sequence, each with the incident as of that event,
                    and the outbox's first/last sequence, all from one snapshot.
    cursor_get      an outbox consumer's committed cursor (store_outbox.h).

    Every page is read with one row more than asked for, so next_cursor is set exactly when
    another page exists.
*/
#include "store_query.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_daemon.h"
#include "lk_log.h"
#include "lk_sock.h"
#include "lk_time.h"
#include "lk_uuid.h"
#include "store_correlation.h"
#include "store_tokens.h"
#include "store_map.h"
#include "store_reply.h"
#include "store_notify.h"
#include "store_outbox.h"
#include "store_status.h"

#define S_MAX_PARAMS 64
#define S_NIL_UUID   "00000000-0000-0000-0000-000000000000"

/* A statement composed from the dialect's constant fragments; values only as params. */
typedef struct {
    char text[4096];
    size_t length;
    bool overflow;
    store_param_t params[S_MAX_PARAMS];
    int count;
} s_statement_t;

/* Appends a dialect fragment whose conversions are %d parameter numbers. */
static void s_append(s_statement_t *statement, const char *fragment, ...)
{
    va_list args;
    va_start(args, fragment);
    size_t room = sizeof(statement->text) - statement->length;
    int written = vsnprintf(statement->text + statement->length, room, fragment, args);
    va_end(args);
    if (written < 0 || (size_t)written >= room)
        statement->overflow = true;
    else
        statement->length += (size_t)written;
}

/* Adds a parameter and returns its 1-based number. */
static int s_param(s_statement_t *statement, store_param_t param)
{
    if (statement->count == S_MAX_PARAMS) {
        statement->overflow = true;
        return S_MAX_PARAMS;
    }
    statement->params[statement->count] = param;
    return ++statement->count;
}

/* Validates a UUID and lower-cases it in place (ids are stored lower-case). */
static bool s_uuid_field(char *uuid)
{
    if (!lk_uuid_valid(uuid))
        return false;
    for (char *cursor = uuid; *cursor; cursor++)
        *cursor = (char)tolower((unsigned char)*cursor);
    return true;
}

/* A Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*. */
static bool s_label_name_valid(const char *name)
{
    if (!name || !(isalpha((unsigned char)*name) || *name == '_'))
        return false;
    for (const char *cursor = name; *cursor; cursor++)
        if (!(isalnum((unsigned char)*cursor) || *cursor == '_') || (cursor - name) > 1024)
            return false;
    return true;
}

/* Parses a list cursor "<created_at>_<id>" exactly as s_list renders it. */
static bool s_list_cursor_parse(const char *cursor, int64_t *created_at, char *id)
{
    const char *underscore = strchr(cursor, '_');
    if (!underscore || underscore == cursor || underscore - cursor > 19)
        return false;
    for (const char *digit = cursor; digit < underscore; digit++)
        if (!isdigit((unsigned char)*digit))
            return false;
    char number[20];
    memcpy(number, cursor, (size_t)(underscore - cursor));
    number[underscore - cursor] = '\0';
    char *end;
    errno = 0;
    long long value = strtoll(number, &end, 10);
    char rendered[24];
    snprintf(rendered, sizeof(rendered), "%lld", value);
    if (errno || *end || strcmp(rendered, number) != 0)
        return false; /* overflow or leading zeros: not a cursor store produced */
    if (strlen(underscore + 1) != LK_UUID_STR_LEN)
        return false;
    memcpy(id, underscore + 1, LK_UUID_STR_LEN + 1);
    if (!s_uuid_field(id))
        return false;
    *created_at = value;
    return true;
}

/* Reads incident rows into reply->incidents, at most max of them; *more tells whether a
   further row exists. */
static int s_read_incidents(store_db_t *db, store_rows_t *rows, lk_msg_t *reply, size_t max,
                            bool *more, const char *what)
{
    *more = false;
    int step;
    while ((step = store_rows_next(rows)) == 1) {
        if (reply->incident_count == max) {
            *more = true;
            break;
        }
        lk_incident_t incident;
        char err[256];
        if (store_map_read_incident(rows, 0, &incident, err, sizeof(err))) {
            store_reply_fail(reply, LK_STATUS_ERROR, "%s", err);
            return STORE_DB_OK;
        }
        int added = lk_msg_add_incident(reply, &incident);
        lk_incident_clear(&incident);
        if (added) {
            store_reply_fail(reply, LK_STATUS_ERROR, "out of memory");
            return STORE_DB_OK;
        }
    }
    if (step < 0)
        return store_reply_db_failed(db, reply, step, what);
    return STORE_DB_OK;
}

/* Checks a list_incidents request (failing reply when it is not acceptable) and extracts
   its cursor and page size. */
static bool s_list_valid(lk_msg_t *request, lk_msg_t *reply, int64_t *cursor_created_at,
                         char *cursor_id, uint32_t *limit)
{
    const lk_query_t *query = &request->query;
    if (!s_uuid_field(request->tenant_id)) {
        store_reply_fail(reply, LK_STATUS_INVALID, "list_incidents needs a tenant");
        return false;
    }
    if (query->status_mask & ~0xfu) {
        store_reply_fail(reply, LK_STATUS_INVALID, "status_mask: unknown status bits");
        return false;
    }
    if (query->severity_min < -1 || query->severity_min > LK_SEV_CRITICAL) {
        store_reply_fail(reply, LK_STATUS_INVALID, "severity_min: out of range");
        return false;
    }
    if (query->since_ms < 0 || query->until_ms < 0) {
        store_reply_fail(reply, LK_STATUS_INVALID, "since/until: negative time");
        return false;
    }
    if (query->labels.count > STORE_LIST_LABELS_MAX) {
        store_reply_fail(reply, LK_STATUS_INVALID, "labels: at most %d label filters",
                         STORE_LIST_LABELS_MAX);
        return false;
    }
    for (size_t index = 0; index < query->labels.count; index++)
        if (!s_label_name_valid(query->labels.items[index].name) ||
            !store_map_utf8_valid(query->labels.items[index].value)) {
            store_reply_fail(reply, LK_STATUS_INVALID, "labels: invalid label name or value");
            return false;
        }
    *cursor_created_at = 0;
    cursor_id[0] = '\0';
    if (query->cursor && *query->cursor &&
        !s_list_cursor_parse(query->cursor, cursor_created_at, cursor_id)) {
        store_reply_fail(reply, LK_STATUS_INVALID, "cursor: not a cursor of this listing");
        return false;
    }
    *limit = query->limit ? query->limit : STORE_LIST_LIMIT_DEFAULT;
    if (*limit > STORE_LIST_LIMIT_MAX)
        *limit = STORE_LIST_LIMIT_MAX;
    return true;
}

/* Composes the list_incidents statement. Only constant fragments of the dialect are
   appended; every value is a parameter. */
static void s_list_compose(const store_dialect_t *sql, const lk_msg_t *request,
                           int64_t cursor_created_at, const char *cursor_id, uint32_t limit,
                           s_statement_t *statement)
{
    const lk_query_t *query = &request->query;
    s_append(statement, sql->list_select, s_param(statement, store_param_text(request->tenant_id)));
    if (query->status_mask) {
        int first = statement->count + 1;
        for (int status = 0; status < 4; status++)
            s_param(statement,
                    query->status_mask & (1u << status)
                        ? store_param_text(lk_incident_status_name((lk_incident_status_t)status))
                        : store_param_null());
        s_append(statement, sql->list_status, first, first + 1, first + 2, first + 3);
    }
    if (query->severity_min > LK_SEV_INFO) {
        int first = statement->count + 1;
        for (int severity = 0; severity < 4; severity++)
            s_param(statement, severity >= query->severity_min
                                   ? store_param_text(lk_severity_name((lk_severity_t)severity))
                                   : store_param_null());
        s_append(statement, sql->list_severity, first, first + 1, first + 2, first + 3);
    }
    if (query->since_ms)
        s_append(statement, sql->list_since, s_param(statement, store_param_int(query->since_ms)));
    if (query->until_ms)
        s_append(statement, sql->list_until, s_param(statement, store_param_int(query->until_ms)));
    for (size_t index = 0; index < query->labels.count; index++) {
        int name = s_param(statement, store_param_text(query->labels.items[index].name));
        int value = s_param(statement, store_param_text(query->labels.items[index].value));
        s_append(statement, sql->list_label, name, value);
    }
    if (cursor_id[0]) {
        int created_at = s_param(statement, store_param_int(cursor_created_at));
        int id = s_param(statement, store_param_text(cursor_id));
        s_append(statement, sql->list_cursor, created_at, id);
    }
    s_append(statement, sql->list_order, s_param(statement, store_param_int(limit + 1)));
}

static int s_list(store_db_t *db, lk_msg_t *request, lk_msg_t *reply)
{
    int64_t cursor_created_at;
    char cursor_id[LK_UUID_STR_LEN + 1];
    uint32_t limit;
    if (!s_list_valid(request, reply, &cursor_created_at, cursor_id, &limit))
        return STORE_DB_OK;
    s_statement_t statement = {.length = 0};
    s_list_compose(store_db_dialect(db), request, cursor_created_at, cursor_id, limit, &statement);
    if (statement.overflow) {
        store_reply_fail(reply, LK_STATUS_INVALID, "query too large");
        return STORE_DB_OK;
    }

    store_rows_t *rows;
    int rc = store_db_query(db, statement.text, statement.params, statement.count, &rows);
    if (rc != STORE_DB_OK)
        return store_reply_db_failed(db, reply, rc, "list_incidents");
    bool more;
    rc = s_read_incidents(db, rows, reply, limit, &more, "list_incidents");
    store_rows_destroy(&rows);
    if (rc == STORE_DB_OK && reply->status == LK_STATUS_OK && more && reply->incident_count > 0) {
        const lk_incident_t *last = &reply->incidents[reply->incident_count - 1];
        char cursor[64];
        snprintf(cursor, sizeof(cursor), "%" PRId64 "_%s", last->created_at_ms, last->id);
        reply->next_cursor = strdup(cursor);
    }
    return rc;
}

/* Reads alert rows into reply->alerts. */
static int s_read_alerts(store_db_t *db, store_rows_t *rows, lk_msg_t *reply, const char *what)
{
    int step;
    while ((step = store_rows_next(rows)) == 1) {
        lk_alert_t alert;
        char err[256];
        if (store_map_read_alert(rows, 0, &alert, err, sizeof(err))) {
            store_reply_fail(reply, LK_STATUS_ERROR, "%s", err);
            return STORE_DB_OK;
        }
        int added = lk_msg_add_alert(reply, &alert);
        lk_alert_clear(&alert);
        if (added) {
            store_reply_fail(reply, LK_STATUS_ERROR, "out of memory");
            return STORE_DB_OK;
        }
    }
    return step < 0 ? store_reply_db_failed(db, reply, step, what) : STORE_DB_OK;
}

/* Replaces reply->incidents[index] (a placeholder) with a copy of incident. */
static int s_fill_incident(lk_msg_t *reply, size_t index, const lk_incident_t *incident)
{
    lk_incident_clear(&reply->incidents[index]);
    if (lk_incident_copy(&reply->incidents[index], incident)) {
        store_reply_fail(reply, LK_STATUS_ERROR, "out of memory");
        return -1;
    }
    return 0;
}

/* The snapshot a shared row (an empty blob, store_db.h) stands for, when its own page did not
   reach the row holding it: the next snapshot of that incident in the outbox, else (that row
   removed by retention before it) the incident as stored now. *holder is the sequence it
   came from (INT64_MAX for the stored incident). Returns STORE_DB_OK with reply->status set
   on failure, or the database failure. */
static int s_shared_snapshot(store_db_t *db, lk_msg_t *reply, const lk_event_t *event,
                             lk_incident_t *incident, int64_t *holder)
{
    const store_dialect_t *sql = store_db_dialect(db);
    char err[256];
    store_param_t params[] = {store_param_text(event->incident_id),
                              store_param_int((int64_t)event->sequence)};
    store_rows_t *rows;
    int rc = store_db_query(db, sql->event_snapshot, params, 2, &rows);
    if (rc != STORE_DB_OK)
        return store_reply_db_failed(db, reply, rc, "events snapshot");
    int step = store_rows_next(rows);
    if (step == 1) {
        size_t size;
        const void *blob = store_rows_blob(rows, 1, &size);
        *holder = store_rows_int(rows, 0);
        if (!blob || lk_incident_decode(blob, size, incident, err, sizeof(err)))
            store_reply_fail(reply, LK_STATUS_ERROR, "stored event %" PRId64 ": bad incident: %s",
                             *holder, blob ? err : "none");
    }
    store_rows_destroy(&rows);
    if (step < 0)
        return store_reply_db_failed(db, reply, step, "events snapshot");
    if (step == 1)
        return STORE_DB_OK;
    store_param_t key[] = {store_param_text(event->tenant_id),
                           store_param_text(event->incident_id)};
    rc = store_db_query(db, sql->select_incident, key, 2, &rows);
    if (rc != STORE_DB_OK)
        return store_reply_db_failed(db, reply, rc, "events incident");
    step = store_rows_next(rows);
    *holder = INT64_MAX;
    if (step == 0)
        store_reply_fail(reply, LK_STATUS_ERROR, "stored event %" PRIu64 ": no incident %s",
                         event->sequence, event->incident_id);
    else if (step == 1 && store_map_read_incident(rows, 0, incident, err, sizeof(err)))
        store_reply_fail(reply, LK_STATUS_ERROR, "%s", err);
    store_rows_destroy(&rows);
    return step < 0 ? store_reply_db_failed(db, reply, step, "events incident") : STORE_DB_OK;
}

/* Fills the placeholders of the shared rows whose snapshot row was not among the rows read
   (the page ended between them), in sequence order; rows of one incident before the same
   holder share one lookup. */
static int s_fill_shared(store_db_t *db, lk_msg_t *reply, const size_t *pending, size_t count)
{
    lk_incident_t incident = {0};
    int64_t holder = 0;
    const char *holder_of = NULL;
    int rc = STORE_DB_OK;
    for (size_t next = 0; next < count && rc == STORE_DB_OK; next++) {
        const lk_event_t *event = &reply->events[pending[next]];
        if (!holder_of || strcmp(holder_of, event->incident_id) != 0 ||
            (int64_t)event->sequence >= holder) {
            lk_incident_clear(&incident);
            holder_of = NULL;
            rc = s_shared_snapshot(db, reply, event, &incident, &holder);
            if (rc != STORE_DB_OK || reply->status != LK_STATUS_OK)
                break;
            holder_of = event->incident_id;
        }
        if (s_fill_incident(reply, pending[next], &incident))
            break;
    }
    lk_incident_clear(&incident);
    return rc;
}

/* Reads event rows into reply->events; with_incident: column 9 is the incident blob,
   decoded into reply->incidents in parallel. A shared row (an empty blob) gets a placeholder
   that the snapshot it stands for replaces: the next row of its incident with a snapshot,
   mostly on the same page, else s_fill_shared. */
static int s_read_events(store_db_t *db, store_rows_t *rows, lk_msg_t *reply, bool with_incident,
                         const char *what)
{
    size_t *pending = NULL, pending_count = 0, pending_capacity = 0;
    int step;
    while ((step = store_rows_next(rows)) == 1) {
        lk_event_t event;
        char err[256];
        if (store_map_read_event(rows, 0, &event, err, sizeof(err))) {
            store_reply_fail(reply, LK_STATUS_ERROR, "%s", err);
            break;
        }
        int added = lk_msg_add_event(reply, &event);
        lk_event_clear(&event);
        if (!added && with_incident) {
            const lk_event_t *stored = &reply->events[reply->event_count - 1];
            size_t size;
            const void *blob = store_rows_blob(rows, 9, &size);
            lk_incident_t incident = {0};
            if (!store_rows_null(rows, 9) && size == 0) {
                /* shared: a placeholder until the row holding its snapshot */
                if (pending_count == pending_capacity) {
                    size_t capacity = pending_capacity ? pending_capacity * 2 : 64;
                    size_t *grown = realloc(pending, capacity * sizeof(*pending));
                    if (!grown) {
                        store_reply_fail(reply, LK_STATUS_ERROR, "out of memory");
                        break;
                    }
                    pending = grown;
                    pending_capacity = capacity;
                }
                pending[pending_count++] = reply->event_count - 1;
                added = lk_msg_add_incident(reply, &incident);
            } else if (!blob || lk_incident_decode(blob, size, &incident, err, sizeof(err))) {
                store_reply_fail(reply, LK_STATUS_ERROR,
                                 "stored event %" PRIu64 ": bad incident: %s", stored->sequence,
                                 blob ? err : "none");
                break;
            } else {
                added = lk_msg_add_incident(reply, &incident);
                /* the shared rows of this incident read so far stand for this snapshot */
                size_t kept = 0;
                for (size_t next = 0; next < pending_count && !added; next++) {
                    if (strcmp(reply->events[pending[next]].incident_id, stored->incident_id))
                        pending[kept++] = pending[next];
                    else
                        added = s_fill_incident(reply, pending[next], &incident);
                }
                pending_count = added ? pending_count : kept;
                lk_incident_clear(&incident);
                if (added && reply->status != LK_STATUS_OK)
                    break;
            }
        }
        if (added) {
            store_reply_fail(reply, LK_STATUS_ERROR, "out of memory");
            break;
        }
    }
    int rc = STORE_DB_OK;
    if (step < 0)
        rc = store_reply_db_failed(db, reply, step, what);
    else if (reply->status == LK_STATUS_OK && pending_count)
        rc = s_fill_shared(db, reply, pending, pending_count);
    free(pending);
    return rc;
}

/* Runs a query and feeds its rows to one of the readers above. */
typedef enum { S_ROWS_INCIDENTS, S_ROWS_ALERTS, S_ROWS_EVENTS, S_ROWS_EVENTS_BLOB } s_rows_kind_t;

static int s_select(store_db_t *db, const char *sql, const store_param_t *params, int count,
                    s_rows_kind_t kind, lk_msg_t *reply, const char *what)
{
    store_rows_t *rows;
    int rc = store_db_query(db, sql, params, count, &rows);
    if (rc != STORE_DB_OK)
        return store_reply_db_failed(db, reply, rc, what);
    bool more;
    if (kind == S_ROWS_INCIDENTS)
        rc = s_read_incidents(db, rows, reply, SIZE_MAX, &more, what);
    else if (kind == S_ROWS_ALERTS)
        rc = s_read_alerts(db, rows, reply, what);
    else
        rc = s_read_events(db, rows, reply, kind == S_ROWS_EVENTS_BLOB, what);
    store_rows_destroy(&rows);
    return rc;
}

/* Starts a read snapshot; the answer functions below run between this and s_end_read. */
static int s_begin_read(store_db_t *db, lk_msg_t *reply)
{
    int rc = store_db_exec(db, store_db_dialect(db)->begin_read, NULL, 0, NULL);
    return rc == STORE_DB_OK ? rc : store_reply_db_failed(db, reply, rc, "begin");
}

/* Ends the read snapshot (commit when the reply is ok, else roll back). */
static int s_end_read(store_db_t *db, lk_msg_t *reply, int rc)
{
    if (rc == STORE_DB_LOST)
        return rc;
    const store_dialect_t *sql = store_db_dialect(db);
    int end = store_db_exec(db, reply->status == LK_STATUS_OK ? sql->commit : sql->rollback, NULL,
                            0, NULL);
    if (end != STORE_DB_OK)
        return store_reply_db_failed(db, reply, end, "end of read");
    return STORE_DB_OK;
}

static int s_get(store_db_t *db, lk_msg_t *request, lk_msg_t *reply)
{
    const store_dialect_t *sql = store_db_dialect(db);
    if (!s_uuid_field(request->tenant_id)) {
        store_reply_fail(reply, LK_STATUS_INVALID, "get_incident needs a tenant");
        return STORE_DB_OK;
    }
    if (!s_uuid_field(request->query.incident_id)) {
        store_reply_fail(reply, LK_STATUS_INVALID, "incident_id: not a UUID");
        return STORE_DB_OK;
    }
    int rc = s_begin_read(db, reply);
    if (rc != STORE_DB_OK || reply->status != LK_STATUS_OK)
        return rc;
    store_param_t params[] = {store_param_text(request->tenant_id),
                              store_param_text(request->query.incident_id),
                              store_param_int(STORE_TIMELINE_MAX)};
    rc = s_select(db, sql->select_incident, params, 2, S_ROWS_INCIDENTS, reply, "get_incident");
    if (rc == STORE_DB_OK && reply->status == LK_STATUS_OK && reply->incident_count == 0)
        store_reply_fail(reply, LK_STATUS_NOT_FOUND, "no such incident");
    if (rc == STORE_DB_OK && reply->status == LK_STATUS_OK)
        rc = s_select(db, sql->select_incident_alerts, params, 3, S_ROWS_ALERTS, reply,
                      "get_incident alerts");
    if (rc == STORE_DB_OK && reply->status == LK_STATUS_OK)
        rc = s_select(db, sql->select_incident_events, params, 3, S_ROWS_EVENTS, reply,
                      "get_incident timeline");
    if (rc == STORE_DB_OK && reply->status == LK_STATUS_OK) /* store_status.h */
        rc = store_status_incident_updates(db, request->tenant_id, request->query.incident_id,
                                           reply);
    return s_end_read(db, reply, rc);
}

/* The JSON array of the reply's incident ids (UUIDs: no escaping needed). */
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

static int s_snapshot(store_db_t *db, lk_msg_t *request, lk_msg_t *reply)
{
    const lk_query_t *query = &request->query;
    const store_dialect_t *sql = store_db_dialect(db);
    uint32_t shards = query->shard_count > 1 ? query->shard_count : 1;
    if (shards > 1 && query->shard_index >= shards) {
        store_reply_fail(reply, LK_STATUS_INVALID, "shard_index: must be below shard_count");
        return STORE_DB_OK;
    }
    char after[LK_UUID_STR_LEN + 1] = S_NIL_UUID;
    if (query->cursor && *query->cursor) {
        if (strlen(query->cursor) != LK_UUID_STR_LEN) {
            store_reply_fail(reply, LK_STATUS_INVALID, "cursor: not a cursor of this snapshot");
            return STORE_DB_OK;
        }
        memcpy(after, query->cursor, sizeof(after));
        if (!s_uuid_field(after)) {
            store_reply_fail(reply, LK_STATUS_INVALID, "cursor: not a cursor of this snapshot");
            return STORE_DB_OK;
        }
    }
    uint32_t limit = query->limit ? query->limit : STORE_SNAPSHOT_LIMIT_DEFAULT;
    if (limit > STORE_SNAPSHOT_LIMIT_MAX)
        limit = STORE_SNAPSHOT_LIMIT_MAX;

    int rc = s_begin_read(db, reply);
    if (rc != STORE_DB_OK || reply->status != LK_STATUS_OK)
        return rc;
    /* Walk the open incidents by id in chunks, keeping the ones of our shard, until the
       page is full and one more of ours is seen (then there is a next page) or none is
       left. The shard is a hash of the tenant, which the database cannot compute. */
    bool more = false;
    bool exhausted = false;
    uint64_t page_alerts = 0;
    const int64_t chunk = limit + 1 > 256 ? limit + 1 : 256;
    while (rc == STORE_DB_OK && reply->status == LK_STATUS_OK && !more && !exhausted) {
        store_param_t params[] = {store_param_text(after), store_param_int(chunk)};
        store_rows_t *rows;
        rc = store_db_query(db, sql->snapshot_incidents, params, 2, &rows);
        if (rc != STORE_DB_OK) {
            rc = store_reply_db_failed(db, reply, rc, "snapshot");
            break;
        }
        int64_t seen = 0;
        int step = 0;
        while (!more && (step = store_rows_next(rows)) == 1) {
            seen++;
            lk_incident_t incident;
            char err[256];
            if (store_map_read_incident(rows, 0, &incident, err, sizeof(err))) {
                store_reply_fail(reply, LK_STATUS_ERROR, "%s", err);
                break;
            }
            memcpy(after, incident.id, sizeof(after));
            if (shards == 1 || lk_shard_of(incident.tenant_id, shards) == query->shard_index) {
                /* A page also ends before its alerts would pass STORE_SNAPSHOT_ALERTS_MAX
                   (alert_count counts every alert the incident ever had, an upper bound),
                   so a reply stays far below what one message may carry. */
                if (reply->incident_count == limit ||
                    (reply->incident_count > 0 &&
                     page_alerts + incident.alert_count > STORE_SNAPSHOT_ALERTS_MAX))
                    more = true;
                else if (lk_msg_add_incident(reply, &incident))
                    store_reply_fail(reply, LK_STATUS_ERROR, "out of memory");
                else
                    page_alerts += incident.alert_count;
            }
            lk_incident_clear(&incident);
            if (reply->status != LK_STATUS_OK)
                break;
        }
        if (!more && reply->status == LK_STATUS_OK && step < 0)
            rc = store_reply_db_failed(db, reply, step, "snapshot");
        store_rows_destroy(&rows);
        exhausted = seen < chunk;
    }
    if (rc == STORE_DB_OK && reply->status == LK_STATUS_OK && reply->incident_count > 0) {
        char *ids = s_incident_ids_json(reply);
        if (!ids)
            store_reply_fail(reply, LK_STATUS_ERROR, "out of memory");
        else {
            store_param_t param = store_param_text(ids);
            rc = s_select(db, sql->snapshot_alerts, &param, 1, S_ROWS_ALERTS, reply,
                          "snapshot alerts");
            free(ids);
        }
    }
    /* the first page also carries the shard's silences, monitors and held alerts
       (store_correlation.h), read in the same snapshot */
    if (rc == STORE_DB_OK && reply->status == LK_STATUS_OK && !(query->cursor && *query->cursor))
        rc = store_correlation_snapshot(db, shards, query->shard_index, lk_now_ms(), reply);
    if (rc == STORE_DB_OK && reply->status == LK_STATUS_OK && more)
        reply->next_cursor = strdup(reply->incidents[reply->incident_count - 1].id);
    return s_end_read(db, reply, rc);
}

static int s_events(store_db_t *db, lk_msg_t *request, lk_msg_t *reply)
{
    const lk_query_t *query = &request->query;
    const store_dialect_t *sql = store_db_dialect(db);
    bool scoped = request->tenant_id[0] != '\0';
    if (scoped && !s_uuid_field(request->tenant_id)) {
        store_reply_fail(reply, LK_STATUS_INVALID, "tenant: not a UUID");
        return STORE_DB_OK;
    }
    uint32_t limit = query->limit ? query->limit : STORE_EVENTS_LIMIT_DEFAULT;
    if (limit > STORE_EVENTS_LIMIT_MAX)
        limit = STORE_EVENTS_LIMIT_MAX;
    int64_t after = query->after_sequence > INT64_MAX ? INT64_MAX : (int64_t)query->after_sequence;
    /* one snapshot: the bounds must describe the outbox the rows were read from */
    int rc = s_begin_read(db, reply);
    if (rc != STORE_DB_OK || reply->status != LK_STATUS_OK)
        return rc;
    if (scoped) {
        store_param_t params[] = {store_param_text(request->tenant_id), store_param_int(after),
                                  store_param_int(limit)};
        rc = s_select(db, sql->events_after_tenant, params, 3, S_ROWS_EVENTS_BLOB, reply, "events");
    } else {
        store_param_t params[] = {store_param_int(after), store_param_int(limit)};
        rc = s_select(db, sql->events_after, params, 2, S_ROWS_EVENTS_BLOB, reply, "events");
    }
    if (rc == STORE_DB_OK && reply->status == LK_STATUS_OK) {
        rc = store_outbox_bounds(db, &reply->first_sequence, &reply->last_sequence);
        if (rc != STORE_DB_OK)
            rc = store_reply_db_failed(db, reply, rc, "events bounds");
    }
    return s_end_read(db, reply, rc);
}

static int s_cursor_get(store_db_t *db, lk_msg_t *request, lk_msg_t *reply)
{
    const char *consumer = request->query.consumer;
    if (!consumer || !*consumer || strlen(consumer) > STORE_CONSUMER_MAX) {
        store_reply_fail(reply, LK_STATUS_INVALID, "consumer: 1 to %d bytes", STORE_CONSUMER_MAX);
        return STORE_DB_OK;
    }
    bool found;
    int rc = store_outbox_cursor_get(db, consumer, &found, &reply->sequence);
    if (rc != STORE_DB_OK)
        return store_reply_db_failed(db, reply, rc, "cursor_get");
    if (!found)
        store_reply_fail(reply, LK_STATUS_NOT_FOUND, "no cursor committed for %s", consumer);
    return STORE_DB_OK;
}

int store_query_answer(store_db_t *db, lk_msg_t *request, lk_msg_t *reply)
{
    lk_msg_init(reply, LK_MSG_QUERY_REPLY);
    reply->req = request->req;
    reply->status = LK_STATUS_OK;
    if (request->type != LK_MSG_QUERY) {
        store_reply_fail(reply, LK_STATUS_INVALID, "expected query, got %s",
                         lk_msg_type_name(request->type));
        return STORE_DB_OK;
    }
    switch (request->query.kind) {
    case LK_QUERY_LIST_INCIDENTS:
        return s_list(db, request, reply);
    case LK_QUERY_GET_INCIDENT:
        return s_get(db, request, reply);
    case LK_QUERY_SNAPSHOT:
        return s_snapshot(db, request, reply);
    case LK_QUERY_EVENTS:
        return s_events(db, request, reply);
    case LK_QUERY_CURSOR_GET:
        return s_cursor_get(db, request, reply);
    case LK_QUERY_ESCALATION_STATE: /* store_notify.h */
    case LK_QUERY_ONCALL_OVERRIDES:
        return store_notify_answer(db, request, reply);
    case LK_QUERY_LIST_SILENCES: /* store_correlation.h */
    case LK_QUERY_GET_SILENCE:
    case LK_QUERY_LIST_HEARTBEATS:
    case LK_QUERY_LIST_SUPPRESSED:
        return store_correlation_query(db, request, reply);
    case LK_QUERY_STATUS_PAGE: /* store_status.h */
        return store_status_page(db, request, reply);
    case LK_QUERY_LIST_INGEST_TOKENS: /* store_tokens.h */
    case LK_QUERY_INGEST_TOKEN_BY_HASH:
        return store_tokens_query(db, request, reply);
    }
    store_reply_fail(reply, LK_STATUS_INVALID, "unknown query kind");
    return STORE_DB_OK;
}

void store_query_actor(zsock_t *pipe, void *args)
{
    store_query_config_t *config = args;
    char err[512];
    store_db_t *db = store_db_open(config->database_url, true, err, sizeof(err));
    if (!db)
        lk_fatal("store: query connection: %s", err);
    zsock_t *router = lk_sock_new(ZMQ_ROUTER, config->endpoint);
    if (!router)
        lk_fatal("store: cannot bind the query endpoint %s", config->endpoint);
    zpoller_t *poller = zpoller_new(pipe, router, NULL);
    assert(poller);
    zsock_signal(pipe, 0);

    while (true) {
        zsock_t *which = zpoller_wait(poller, -1);
        if (!which) {
            if (zpoller_terminated(poller))
                break;
            continue;
        }
        if (which == pipe) {
            char *command = zstr_recv(pipe);
            bool term = !command || streq(command, "$TERM");
            zstr_free(&command);
            if (term)
                break;
            continue;
        }
        zframe_t *identity = NULL;
        lk_msg_t request;
        int received = lk_sock_recv(router, &identity, &request, config->tap, "store<query");
        if (received == -2 && lk_daemon_interrupted())
            break;
        if (received != 0) {
            zframe_destroy(&identity);
            continue;
        }
        /* anything but a query is answered "invalid"; logged and counted here */
        if (request.type != LK_MSG_QUERY)
            lk_sock_unexpected(&request, "store<query");
        lk_msg_t reply;
        if (store_query_answer(db, &request, &reply) == STORE_DB_LOST)
            lk_fatal("store: lost the database (query connection): %s", store_db_error(db));
        if (lk_sock_send(router, identity, &reply, config->tap, "store>query") != 0)
            lk_warn("store: could not send a query_reply (req %" PRIu64 ")", reply.req);
        lk_msg_clear(&reply);
        lk_msg_clear(&request);
        zframe_destroy(&identity);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&router);
    store_db_destroy(&db);
}
