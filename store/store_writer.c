/*  store_writer — group commit of mutation batches (see store_writer.h).

    The events inserted by the open transaction are kept as ready-to-publish messages; a
    rollback drops the ones it undid, so only committed events are ever published.
*/
#include "store_writer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_log.h"
#include "lk_time.h"
#include "lk_uuid.h"
#include "store_correlation.h"
#include "store_tokens.h"
#include "store_map.h"
#include "store_notify.h"
#include "store_outbox.h"
#include "store_status.h"

/* Rows per multi-row alert upsert and event insert. A statement's fixed costs (SQLite:
   opening its cursors, the constraint set-up, its statement journal; PostgreSQL: a round
   trip) are paid once per statement, so a flood of new alerts goes in statements of 32 rows;
   the rest in 8s and 1s. Few distinct sizes keep the prepared-statement cache small. */
#define S_ALERT_ROWS_MAX 32
static const size_t S_ALERT_ROWS[2] = {S_ALERT_ROWS_MAX, 8};

struct store_writer_t {
    store_db_t *db;
    const store_dialect_t *sql;
    uint64_t last_sequence;
    store_published_t *published; /* event messages; [0, committed) committed, the rest
                                     pending */
    size_t published_count;
    size_t published_capacity;
    size_t committed;
    /* the alert upsert and the event insert for S_ALERT_ROWS[i] rows per statement (NULL:
       one at a time) */
    char *alert_rows_sql[2];
    char *event_rows_sql[2];
    /* the parameters of one alert upsert: kept here rather than zeroed on the stack for
       each statement (29 KB, 1.2% of store's instructions per new alert) */
    store_param_t alert_params[S_ALERT_ROWS_MAX * STORE_ALERT_PARAMS];
};

/* Reloads the last sequence from the database (after start and every rollback, since a
   rollback undoes the sequences the transaction handed out). */
static int s_reload_sequence(store_writer_t *self)
{
    int64_t value = 0;
    int rc = store_db_query_int(self->db, self->sql->max_sequence, NULL, 0, &value);
    if (rc == STORE_DB_OK)
        self->last_sequence = (uint64_t)value;
    return rc;
}

/* A single-row INSERT (`INSERT ... VALUES (<tuple>) ON CONFLICT ...`, with `params`
   placeholders ?1..?N or $1..$N) rewritten with `rows` copies of the tuple, the k-th with
   its placeholders renumbered past the ones before: heap string, or NULL when the statement
   does not have that shape or on OOM (the writer then writes one row per statement). Both
   backends apply the rows in order, each under the ON CONFLICT clause. */
static char *s_rows_sql(const char *single, int params, size_t rows)
{
    const char *tuple = strstr(single, "VALUES (");
    const char *conflict = tuple ? strstr(tuple, ") ON CONFLICT") : NULL;
    if (!tuple || !conflict)
        return NULL;
    tuple += strlen("VALUES ");
    size_t tuple_size = (size_t)(conflict + 1 - tuple);
    /* every renumbered placeholder grows by at most 4 digits (rows * params < 10^5) */
    size_t size = strlen(single) + rows * (tuple_size + 2 + (size_t)params * 4) + 1;
    char *sql = malloc(size);
    if (!sql)
        return NULL;
    size_t used = (size_t)(tuple - single);
    memcpy(sql, single, used);
    for (size_t row = 0; row < rows; row++) {
        if (row)
            used += (size_t)snprintf(sql + used, size - used, ", ");
        for (const char *cursor = tuple; cursor < tuple + tuple_size;) {
            if ((*cursor == '?' || *cursor == '$') && cursor[1] >= '0' && cursor[1] <= '9') {
                char *after;
                unsigned long number = strtoul(cursor + 1, &after, 10);
                used += (size_t)snprintf(sql + used, size - used, "%c%zu", *cursor,
                                         number + row * (size_t)params);
                cursor = after;
            } else
                sql[used++] = *cursor++;
        }
    }
    snprintf(sql + used, size - used, "%s", conflict + 1);
    return sql;
}

store_writer_t *store_writer_new(store_db_t *db, int *rc)
{
    store_writer_t *self = calloc(1, sizeof(*self));
    if (!self) {
        *rc = STORE_DB_ERROR;
        return NULL;
    }
    self->db = db;
    self->sql = store_db_dialect(db);
    for (size_t size = 0; size < sizeof(S_ALERT_ROWS) / sizeof(S_ALERT_ROWS[0]); size++) {
        self->alert_rows_sql[size] =
            s_rows_sql(self->sql->upsert_alert, STORE_ALERT_PARAMS, S_ALERT_ROWS[size]);
        self->event_rows_sql[size] =
            s_rows_sql(self->sql->insert_event, STORE_EVENT_PARAMS, S_ALERT_ROWS[size]);
    }
    *rc = s_reload_sequence(self);
    if (*rc != STORE_DB_OK) {
        for (size_t size = 0; size < sizeof(S_ALERT_ROWS) / sizeof(S_ALERT_ROWS[0]); size++) {
            free(self->alert_rows_sql[size]);
            free(self->event_rows_sql[size]);
        }
        free(self);
        return NULL;
    }
    return self;
}

/* Frees every published message and empties the list. */
static void s_published_reset(store_writer_t *self)
{
    for (size_t index = 0; index < self->published_count; index++)
        free(self->published[index].data);
    self->published_count = 0;
    self->committed = 0;
}

void store_writer_destroy(store_writer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_writer_t *self = *self_p;
    s_published_reset(self);
    free(self->published);
    for (size_t size = 0; size < sizeof(S_ALERT_ROWS) / sizeof(S_ALERT_ROWS[0]); size++) {
        free(self->alert_rows_sql[size]);
        free(self->event_rows_sql[size]);
    }
    free(self);
    *self_p = NULL;
}

const store_published_t *store_writer_published(const store_writer_t *self, size_t *count)
{
    *count = self->committed;
    return self->published;
}

uint64_t store_writer_last_sequence(const store_writer_t *self)
{
    return self->last_sequence;
}

/* Drops the event messages of the transaction that was rolled back. */
static void s_published_rollback(store_writer_t *self)
{
    while (self->published_count > self->committed)
        free(self->published[--self->published_count].data);
}

/* Validates a UUID field and lower-cases it in place, so both backends store (and
   compare) the same canonical text. */
static bool s_uuid_field(char *uuid)
{
    if (!lk_uuid_valid(uuid))
        return false;
    for (char *cursor = uuid; *cursor; cursor++)
        if (*cursor >= 'A' && *cursor <= 'F') /* ASCII only: tolower consults the locale */
            *cursor = (char)(*cursor - 'A' + 'a');
    return true;
}

/* Checks what the database would refuse for reasons of content rather than state, so both
   backends refuse the same batches. Returns false with a reason in err. */
static bool s_validate(const store_writer_t *self, lk_msg_t *batch, char *err, size_t err_size)
{
    if (batch->type == LK_MSG_CURSOR_COMMIT) /* an outbox consumer's cursor (store_outbox.h) */
        return store_outbox_cursor_valid(batch, self->last_sequence, err, err_size);
    if (batch->type != LK_MSG_MUTATION_BATCH) {
        snprintf(err, err_size, "expected mutation_batch, got %s", lk_msg_type_name(batch->type));
        return false;
    }
    for (size_t index = 0; index < batch->incident_count; index++) {
        lk_incident_t *incident = &batch->incidents[index];
        if (!s_uuid_field(incident->id) || !s_uuid_field(incident->tenant_id)) {
            snprintf(err, err_size, "incidents[%zu]: id and tenant must be UUIDs", index);
            return false;
        }
        if (!store_map_utf8_valid(incident->group_key) || !store_map_utf8_valid(incident->title) ||
            !store_map_utf8_valid(incident->summary) ||
            !store_map_utf8_valid(incident->acknowledged_by) ||
            !store_map_utf8_valid(incident->resolved_by)) {
            snprintf(err, err_size, "incidents[%zu]: text is not valid UTF-8", index);
            return false;
        }
    }
    for (size_t index = 0; index < batch->alert_count; index++) {
        lk_alert_t *alert = &batch->alerts[index];
        /* incident_id "": a held alert (store_correlation.h) */
        if (!s_uuid_field(alert->tenant_id) ||
            (alert->incident_id[0] && !s_uuid_field(alert->incident_id)) ||
            alert->fingerprint[0] == '\0') {
            snprintf(err, err_size, "alerts[%zu]: tenant, incident_id and fingerprint needed",
                     index);
            return false;
        }
        if (!store_map_utf8_valid(alert->fingerprint) || !store_map_utf8_valid(alert->source) ||
            !store_map_utf8_valid(alert->name) || !store_map_utf8_valid(alert->query) ||
            !store_map_utf8_valid(alert->dedup_key) ||
            !store_map_utf8_valid(alert->generator_url)) {
            snprintf(err, err_size, "alerts[%zu]: text is not valid UTF-8", index);
            return false;
        }
    }
    for (size_t index = 0; index < batch->event_count; index++) {
        lk_event_t *event = &batch->events[index];
        if (!s_uuid_field(event->event_id) || !s_uuid_field(event->tenant_id) ||
            !s_uuid_field(event->incident_id)) {
            snprintf(err, err_size, "events[%zu]: event_id, tenant, incident_id must be UUIDs",
                     index);
            return false;
        }
        if (!store_map_utf8_valid(event->type) || !store_map_utf8_valid(event->actor) ||
            !store_map_utf8_valid(event->note) || !store_map_utf8_valid(event->fingerprints)) {
            snprintf(err, err_size, "events[%zu]: text is not valid UTF-8", index);
            return false;
        }
    }
    /* held alerts, silences, heartbeat monitors (store_correlation.h) */
    if (!store_correlation_valid(batch, err, err_size))
        return false;
    /* incident updates (store_status.h) */
    if (!store_status_valid(batch, err, err_size))
        return false;
    /* ingest tokens (store_tokens.h) */
    if (!store_tokens_valid(batch, err, err_size))
        return false;
    /* notifications, escalation steps, on-call overrides (store_notify.h) */
    return store_notify_valid(batch, err, err_size);
}

/* Notes a failed statement in err (for the ack) and passes its code on. */
static int s_failed(store_writer_t *self, int rc, const char *what, char *err, size_t err_size)
{
    snprintf(err, err_size, "%s: %s", what, store_db_error(self->db));
    return rc;
}

/* Appends the event message for a freshly inserted event, its incident given as the
   encoded bytes the row holds (no copy of the incident, no second encoding). Returns 0 or
   -1 on OOM. */
static int s_published_add(store_writer_t *self, const lk_event_t *event, uint64_t sequence,
                           const char *blob, size_t blob_size)
{
    if (self->published_count == self->published_capacity) {
        size_t capacity = self->published_capacity ? self->published_capacity * 2 : 64;
        store_published_t *grown = realloc(self->published, capacity * sizeof(*grown));
        if (!grown)
            return -1;
        self->published = grown;
        self->published_capacity = capacity;
    }
    store_published_t *published = &self->published[self->published_count];
    if (lk_event_msg_encode(event, sequence, blob, blob_size, &published->data, &published->size))
        return -1;
    self->published_count++;
    return 0;
}

/* The incident an event belongs to: from the batch when it carries it, else as stored.
   *loaded is set when it came from the database (the caller clears it). Returns
   STORE_DB_OK with *incident set, or a failure with err set. */
static int s_event_incident(store_writer_t *self, const lk_msg_t *batch, const lk_event_t *event,
                            lk_incident_t *loaded, const lk_incident_t **incident, char *err,
                            size_t err_size)
{
    for (size_t index = 0; index < batch->incident_count; index++)
        if (strcmp(batch->incidents[index].id, event->incident_id) == 0 &&
            strcmp(batch->incidents[index].tenant_id, event->tenant_id) == 0) {
            *incident = &batch->incidents[index];
            return STORE_DB_OK;
        }
    store_param_t params[] = {store_param_text(event->tenant_id),
                              store_param_text(event->incident_id)};
    store_rows_t *rows;
    int rc = store_db_query(self->db, self->sql->select_incident, params, 2, &rows);
    if (rc != STORE_DB_OK)
        return s_failed(self, rc, "reading the incident of an event", err, err_size);
    rc = store_rows_next(rows);
    if (rc == 1) {
        rc = store_map_read_incident(rows, 0, loaded, err, err_size) ? STORE_DB_ERROR : STORE_DB_OK;
        *incident = loaded;
    } else if (rc == 0) {
        snprintf(err, err_size, "event %s: incident %s unknown", event->event_id,
                 event->incident_id);
        rc = STORE_DB_ERROR;
    } else
        s_failed(self, rc, "reading the incident of an event", err, err_size);
    store_rows_destroy(&rows);
    return rc;
}

/* The encoded incident of the batch's last event: the events of one batch that belong to
   the same incident (a flood of alert_added) all carry the incident as the batch has it, so
   it is encoded once for them. */
typedef struct {
    const lk_incident_t *incident; /* an incident of the batch, or NULL */
    char *blob;
    size_t blob_size;
} s_blob_cache_t;

static void s_blob_cache_clear(s_blob_cache_t *cache)
{
    free(cache->blob);
    memset(cache, 0, sizeof(*cache));
}

/* Inserts one event unless its event_id is known, under the next sequence. */
static int s_apply_event(store_writer_t *self, const lk_msg_t *batch, const lk_event_t *event,
                         s_blob_cache_t *cache, char *err, size_t err_size)
{
    lk_incident_t loaded;
    memset(&loaded, 0, sizeof(loaded));
    const lk_incident_t *incident = NULL;
    int rc = s_event_incident(self, batch, event, &loaded, &incident, err, err_size);
    if (rc != STORE_DB_OK)
        return rc;
    char *blob = NULL;
    size_t blob_size = 0;
    if (incident == cache->incident) {
        blob = cache->blob;
        blob_size = cache->blob_size;
    } else if (lk_incident_encode(incident, &blob, &blob_size)) {
        lk_incident_clear(&loaded);
        snprintf(err, err_size, "out of memory encoding an incident");
        return STORE_DB_ERROR;
    } else if (incident != &loaded) {
        s_blob_cache_clear(cache);
        cache->incident = incident;
        cache->blob = blob;
        cache->blob_size = blob_size;
    }
    uint64_t sequence = self->last_sequence + 1;
    store_param_t params[STORE_EVENT_PARAMS];
    store_map_event_params(event, sequence, blob, blob_size, params);
    int64_t changes = 0;
    rc = store_db_exec(self->db, self->sql->insert_event, params, STORE_EVENT_PARAMS, &changes);
    if (rc != STORE_DB_OK)
        s_failed(self, rc, "inserting an event", err, err_size);
    else if (changes == 1) {
        self->last_sequence = sequence;
        if (s_published_add(self, event, sequence, blob, blob_size)) {
            snprintf(err, err_size, "out of memory");
            rc = STORE_DB_ERROR;
        }
    }
    if (blob != cache->blob)
        free(blob);
    lk_incident_clear(&loaded);
    return rc;
}

/* The incident of the batch an event belongs to, or NULL when it is not in the batch. */
static const lk_incident_t *s_batch_incident(const lk_msg_t *batch, const lk_event_t *event)
{
    for (size_t index = 0; index < batch->incident_count; index++)
        if (strcmp(batch->incidents[index].id, event->incident_id) == 0 &&
            strcmp(batch->incidents[index].tenant_id, event->tenant_id) == 0)
            return &batch->incidents[index];
    return NULL;
}

/* Inserts the events from *index on with one multi-row INSERT when the next S_ALERT_ROWS
   events all belong to incidents of the batch (a flood of alert_added), under the next
   sequences, and advances *index. When one of them is already stored (a batch applied
   again), ON CONFLICT skips it and its sequence would be a gap: the rows just inserted are
   deleted again, *index stays and *refused is set, so the caller inserts the rest one by
   one. Returns STORE_DB_OK (inserted, or not: *index unchanged) or a failure with err set. */
static int s_apply_events_rows(store_writer_t *self, const lk_msg_t *batch, size_t *index,
                               bool *refused, char *err, size_t err_size)
{
    size_t left = batch->event_count - *index;
    const char *sql = NULL;
    size_t rows = 0;
    for (size_t size = 0; size < sizeof(S_ALERT_ROWS) / sizeof(S_ALERT_ROWS[0]); size++)
        if (self->event_rows_sql[size] && left >= S_ALERT_ROWS[size]) {
            sql = self->event_rows_sql[size];
            rows = S_ALERT_ROWS[size];
            break;
        }
    if (!sql)
        return STORE_DB_OK;
    const lk_incident_t *incidents[S_ALERT_ROWS_MAX];
    for (size_t row = 0; row < rows; row++)
        if (!(incidents[row] = s_batch_incident(batch, &batch->events[*index + row])))
            return STORE_DB_OK;
    /* each distinct incident encoded once */
    s_blob_cache_t blobs[S_ALERT_ROWS_MAX];
    size_t blob_count = 0;
    size_t blob_of[S_ALERT_ROWS_MAX];
    size_t last_row_of[S_ALERT_ROWS_MAX]; /* per blob: the last row that has it */
    int rc = STORE_DB_OK;
    for (size_t row = 0; row < rows && rc == STORE_DB_OK; row++) {
        size_t found = 0;
        while (found < blob_count && blobs[found].incident != incidents[row])
            found++;
        if (found == blob_count) {
            blobs[found].incident = incidents[row];
            if (lk_incident_encode(incidents[row], &blobs[found].blob, &blobs[found].blob_size)) {
                snprintf(err, err_size, "out of memory encoding an incident");
                rc = STORE_DB_ERROR;
                break;
            }
            blob_count++;
        }
        blob_of[row] = found;
        last_row_of[found] = row;
    }
    store_param_t params[S_ALERT_ROWS_MAX * STORE_EVENT_PARAMS];
    if (rc == STORE_DB_OK) {
        /* the snapshot is stored once per incident and statement, on its last row; the
           rows before it keep an empty blob that stands for it (store_db.h) */
        for (size_t row = 0; row < rows; row++) {
            const s_blob_cache_t *blob = &blobs[blob_of[row]];
            store_map_event_params(&batch->events[*index + row], self->last_sequence + 1 + row,
                                   blob->blob,
                                   last_row_of[blob_of[row]] == row ? blob->blob_size : 0,
                                   &params[row * STORE_EVENT_PARAMS]);
        }
        int64_t changes = 0;
        rc = store_db_exec(self->db, sql, params, (int)(rows * STORE_EVENT_PARAMS), &changes);
        if (rc != STORE_DB_OK)
            s_failed(self, rc, "inserting events", err, err_size);
        else if (changes == (int64_t)rows) {
            for (size_t row = 0; row < rows && rc == STORE_DB_OK; row++)
                if (s_published_add(self, &batch->events[*index + row],
                                    self->last_sequence + 1 + row, blobs[blob_of[row]].blob,
                                    blobs[blob_of[row]].blob_size)) {
                    snprintf(err, err_size, "out of memory");
                    rc = STORE_DB_ERROR;
                }
            self->last_sequence += rows;
            *index += rows;
        } else {
            *refused = true;
            store_param_t after = store_param_int((int64_t)self->last_sequence);
            rc = store_db_exec(self->db, self->sql->delete_events_after, &after, 1, NULL);
            if (rc != STORE_DB_OK)
                s_failed(self, rc, "undoing a partial insert of events", err, err_size);
        }
    }
    for (size_t blob = 0; blob < blob_count; blob++)
        s_blob_cache_clear(&blobs[blob]);
    return rc;
}

/* True when two of the count alerts share a row key (incident, fingerprint): PostgreSQL
   refuses an upsert that meets one row twice. */
static bool s_alerts_repeat(const lk_alert_t *alerts, size_t count)
{
    for (size_t first = 0; first < count; first++)
        for (size_t second = first + 1; second < count; second++)
            if (strcmp(alerts[first].fingerprint, alerts[second].fingerprint) == 0 &&
                strcmp(alerts[first].incident_id, alerts[second].incident_id) == 0)
                return true;
    return false;
}

/* Upserts the run of incident member alerts that starts at *index (up to the next held
   alert) with as few statements as the sizes in S_ALERT_ROWS allow; advances *index past
   what it wrote. */
static int s_apply_alerts(store_writer_t *self, const lk_msg_t *batch, size_t *index, char *err,
                          size_t err_size)
{
    size_t run = 0;
    while (*index + run < batch->alert_count && batch->alerts[*index + run].incident_id[0])
        run++;
    const char *sql = self->sql->upsert_alert;
    size_t rows = 1;
    for (size_t size = 0; size < sizeof(S_ALERT_ROWS) / sizeof(S_ALERT_ROWS[0]); size++)
        if (self->alert_rows_sql[size] && run >= S_ALERT_ROWS[size] &&
            !s_alerts_repeat(&batch->alerts[*index], S_ALERT_ROWS[size])) {
            sql = self->alert_rows_sql[size];
            rows = S_ALERT_ROWS[size];
            break;
        }
    store_param_t *params = self->alert_params;
    store_map_json_t json[S_ALERT_ROWS_MAX];
    size_t filled = 0;
    int rc = STORE_DB_OK;
    for (; filled < rows; filled++)
        if (store_map_alert_params(&batch->alerts[*index + filled],
                                   &params[filled * STORE_ALERT_PARAMS], &json[filled])) {
            snprintf(err, err_size, "alerts[%zu]: cannot encode labels", *index + filled);
            rc = STORE_DB_ERROR;
            break;
        }
    if (rc == STORE_DB_OK) {
        rc = store_db_exec(self->db, sql, params, (int)(rows * STORE_ALERT_PARAMS), NULL);
        if (rc != STORE_DB_OK)
            s_failed(self, rc, "writing an alert", err, err_size);
    }
    for (size_t row = 0; row < filled; row++)
        store_map_json_clear(&json[row]);
    *index += rows;
    return rc;
}

/* Applies one validated batch inside the open transaction: incidents first (alerts and
   events refer to them), then alerts, then events. */
static int s_apply_batch(store_writer_t *self, const lk_msg_t *batch, char *err, size_t err_size)
{
    if (batch->type == LK_MSG_CURSOR_COMMIT)
        return store_outbox_cursor_commit(self->db, batch, lk_now_ms(), err, err_size);
    store_param_t params[STORE_INCIDENT_PARAMS > STORE_ALERT_PARAMS ? STORE_INCIDENT_PARAMS
                                                                    : STORE_ALERT_PARAMS];
    store_map_json_t json;
    for (size_t index = 0; index < batch->incident_count; index++) {
        if (store_map_incident_params(&batch->incidents[index], params, &json)) {
            snprintf(err, err_size, "incidents[%zu]: cannot encode group labels", index);
            return STORE_DB_ERROR;
        }
        int rc = store_db_exec(self->db, self->sql->upsert_incident, params, STORE_INCIDENT_PARAMS,
                               NULL);
        store_map_json_clear(&json);
        if (rc != STORE_DB_OK)
            return s_failed(self, rc, "writing an incident", err, err_size);
    }
    for (size_t index = 0; index < batch->alert_count;) {
        if (!batch->alerts[index].incident_id[0]) {
            int rc = store_correlation_apply_held(self->db, &batch->alerts[index], err, err_size);
            if (rc != STORE_DB_OK)
                return rc;
            index++;
            continue;
        }
        int rc = s_apply_alerts(self, batch, &index, err, err_size);
        if (rc != STORE_DB_OK)
            return rc;
    }
    s_blob_cache_t cache = {0};
    bool refused = false;
    for (size_t index = 0; index < batch->event_count;) {
        size_t before = index;
        int rc = refused ? STORE_DB_OK
                         : s_apply_events_rows(self, batch, &index, &refused, err, err_size);
        if (rc == STORE_DB_OK && index == before)
            rc = s_apply_event(self, batch, &batch->events[index++], &cache, err, err_size);
        if (rc != STORE_DB_OK) {
            s_blob_cache_clear(&cache);
            return rc;
        }
    }
    s_blob_cache_clear(&cache);
    if (batch->silence_count || batch->heartbeat_count || batch->alert_end_count) {
        int rc = store_correlation_apply(self->db, batch, err, err_size);
        if (rc != STORE_DB_OK)
            return rc;
    }
    if (batch->update_count) {
        int rc = store_status_apply(self->db, batch, err, err_size);
        if (rc != STORE_DB_OK)
            return rc;
    }
    if (batch->token_count) {
        int rc = store_tokens_apply(self->db, batch, err, err_size);
        if (rc != STORE_DB_OK)
            return rc;
    }
    if (store_notify_present(batch))
        return store_notify_apply(self->db, batch, err, err_size);
    return STORE_DB_OK;
}

/* Rolls the open transaction back and resynchronises the sequence. */
static int s_rollback(store_writer_t *self)
{
    int rc = store_db_exec(self->db, self->sql->rollback, NULL, 0, NULL);
    s_published_rollback(self);
    if (rc == STORE_DB_OK)
        rc = s_reload_sequence(self);
    return rc;
}

/* Applies the items still marked ok in one transaction. Returns STORE_DB_OK when it
   committed, STORE_DB_ERROR when it was rolled back, STORE_DB_LOST. */
static int s_apply_group(store_writer_t *self, store_writer_item_t *items, size_t count)
{
    int rc = store_db_exec(self->db, self->sql->begin_write, NULL, 0, NULL);
    if (rc != STORE_DB_OK)
        return STORE_DB_LOST; /* a writer that cannot even begin has lost its database */
    char err[256];
    for (size_t index = 0; index < count && rc == STORE_DB_OK; index++)
        if (items[index].status == LK_STATUS_OK)
            rc = s_apply_batch(self, &items[index].msg, err, sizeof(err));
    if (rc == STORE_DB_OK)
        rc = store_db_exec(self->db, self->sql->commit, NULL, 0, NULL);
    if (rc == STORE_DB_LOST)
        return rc;
    if (rc != STORE_DB_OK) {
        lk_warn("store: a group of %zu batches failed (%s); applying them one by one", count,
                store_db_error(self->db));
        return s_rollback(self) == STORE_DB_LOST ? STORE_DB_LOST : STORE_DB_ERROR;
    }
    self->committed = self->published_count;
    return STORE_DB_OK;
}

/* Applies one item in a transaction of its own; a failure marks it error. */
static int s_apply_alone(store_writer_t *self, store_writer_item_t *item)
{
    int rc = store_db_exec(self->db, self->sql->begin_write, NULL, 0, NULL);
    if (rc != STORE_DB_OK)
        return STORE_DB_LOST;
    rc = s_apply_batch(self, &item->msg, item->error, sizeof(item->error));
    if (rc == STORE_DB_OK) {
        rc = store_db_exec(self->db, self->sql->commit, NULL, 0, NULL);
        if (rc != STORE_DB_OK)
            s_failed(self, rc, "commit", item->error, sizeof(item->error));
    }
    if (rc == STORE_DB_LOST)
        return rc;
    if (rc != STORE_DB_OK) {
        item->status = LK_STATUS_ERROR;
        lk_warn("store: batch %" PRIu64 " refused: %s", item->msg.req, item->error);
        return s_rollback(self) == STORE_DB_LOST ? STORE_DB_LOST : STORE_DB_OK;
    }
    self->committed = self->published_count;
    return STORE_DB_OK;
}

int store_writer_apply(store_writer_t *self, store_writer_item_t *items, size_t count)
{
    s_published_reset(self);
    size_t valid = 0;
    for (size_t index = 0; index < count; index++) {
        store_writer_item_t *item = &items[index];
        item->error[0] = '\0';
        item->status = LK_STATUS_OK;
        if (!s_validate(self, &item->msg, item->error, sizeof(item->error))) {
            item->status = LK_STATUS_INVALID;
            lk_warn("store: batch %" PRIu64 " invalid: %s", item->msg.req, item->error);
        } else
            valid++;
    }
    if (valid == 0)
        return STORE_DB_OK;
    int rc = s_apply_group(self, items, count);
    if (rc != STORE_DB_ERROR)
        return rc;
    for (size_t index = 0; index < count; index++) {
        if (items[index].status != LK_STATUS_OK)
            continue;
        rc = s_apply_alone(self, &items[index]);
        if (rc == STORE_DB_LOST)
            return rc;
    }
    return STORE_DB_OK;
}
