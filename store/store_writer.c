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

struct store_writer_t {
    store_db_t *db;
    const store_dialect_t *sql;
    uint64_t last_sequence;
    lk_msg_t *published; /* event messages; [0, committed) committed, the rest pending */
    size_t published_count;
    size_t published_capacity;
    size_t committed;
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

store_writer_t *store_writer_new(store_db_t *db, int *rc)
{
    store_writer_t *self = calloc(1, sizeof(*self));
    if (!self) {
        *rc = STORE_DB_ERROR;
        return NULL;
    }
    self->db = db;
    self->sql = store_db_dialect(db);
    *rc = s_reload_sequence(self);
    if (*rc != STORE_DB_OK) {
        free(self);
        return NULL;
    }
    return self;
}

/* Frees every published message and empties the list. */
static void s_published_reset(store_writer_t *self)
{
    for (size_t index = 0; index < self->published_count; index++)
        lk_msg_clear(&self->published[index]);
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
    free(self);
    *self_p = NULL;
}

const lk_msg_t *store_writer_published(const store_writer_t *self, size_t *count)
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
        lk_msg_clear(&self->published[--self->published_count]);
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
            !store_map_utf8_valid(event->note) || !store_map_utf8_valid(event->fingerprint)) {
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

/* Appends the event message for a freshly inserted event. Returns 0 or -1 on OOM. */
static int s_published_add(store_writer_t *self, const lk_event_t *event, uint64_t sequence,
                           const lk_incident_t *incident)
{
    if (self->published_count == self->published_capacity) {
        size_t capacity = self->published_capacity ? self->published_capacity * 2 : 64;
        lk_msg_t *grown = realloc(self->published, capacity * sizeof(*grown));
        if (!grown)
            return -1;
        self->published = grown;
        self->published_capacity = capacity;
    }
    lk_msg_t *msg = &self->published[self->published_count];
    lk_msg_init(msg, LK_MSG_EVENT);
    msg->req = sequence;
    snprintf(msg->tenant_id, sizeof(msg->tenant_id), "%s", event->tenant_id);
    if (lk_msg_add_event(msg, event) || lk_msg_add_incident(msg, incident)) {
        lk_msg_clear(msg);
        return -1;
    }
    msg->events[0].sequence = sequence;
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
    if (blob != cache->blob)
        free(blob);
    if (rc != STORE_DB_OK)
        s_failed(self, rc, "inserting an event", err, err_size);
    else if (changes == 1) {
        self->last_sequence = sequence;
        if (s_published_add(self, event, sequence, incident)) {
            snprintf(err, err_size, "out of memory");
            rc = STORE_DB_ERROR;
        }
    }
    lk_incident_clear(&loaded);
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
    for (size_t index = 0; index < batch->alert_count; index++) {
        if (!batch->alerts[index].incident_id[0]) {
            int rc = store_correlation_apply_held(self->db, &batch->alerts[index], err, err_size);
            if (rc != STORE_DB_OK)
                return rc;
            continue;
        }
        if (store_map_alert_params(&batch->alerts[index], params, &json)) {
            snprintf(err, err_size, "alerts[%zu]: cannot encode labels", index);
            return STORE_DB_ERROR;
        }
        int rc = store_db_exec(self->db, self->sql->upsert_alert, params, STORE_ALERT_PARAMS, NULL);
        store_map_json_clear(&json);
        if (rc != STORE_DB_OK)
            return s_failed(self, rc, "writing an alert", err, err_size);
    }
    s_blob_cache_t cache = {0};
    for (size_t index = 0; index < batch->event_count; index++) {
        int rc = s_apply_event(self, batch, &batch->events[index], &cache, err, err_size);
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
