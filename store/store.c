/*  store — the sole database writer: the actor behind lookout-store (see store.h).

    The actor thread owns the writer connection, the mutation ROUTER and the events PUB; a
    second actor (store_query) owns the query ROUTER and a read-only connection. A mutation
    round is: wait for one batch, drain up to batch_max queued ones without blocking, apply
    them in one transaction (store_writer), then acknowledge each to its sender in the order
    received, then publish the events the round committed. Nothing is acknowledged before
    its COMMIT, and no event is published that was not committed.
    Between rounds, one timer runs the retentions: the outbox's (LOOKOUT_OUTBOX_RETENTION_S,
    see store_outbox.h), then the closed incidents' (LOOKOUT_INCIDENT_RETENTION_S, see
    store_retention.h): a bounded chunk of each per tick, so it never holds the writer for
    long.
*/
#include "store.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lk_env.h"
#include "lk_log.h"
#include "lk_metrics.h"
#include "lk_sock.h"
#include "lk_tap.h"
#include "lk_time.h"
#include "store_db.h"
#include "store_outbox.h"
#include "store_query.h"
#include "store_retention.h"
#include "store_sqlite_vfs.h"
#include "store_writer.h"

void store_config_from_env(store_config_t *config)
{
    config->database_url = lk_env_str("LOOKOUT_DATABASE_URL", "sqlite:var/lookout.db");
    config->mutation_endpoint = lk_env_str("LOOKOUT_STORE_ENDPOINT", "tcp://127.0.0.1:18101");
    config->query_endpoint = lk_env_str("LOOKOUT_STORE_QUERY_ENDPOINT", "tcp://127.0.0.1:18102");
    config->events_endpoint = lk_env_str("LOOKOUT_STORE_EVENTS_ENDPOINT", "tcp://127.0.0.1:18103");
    config->tap_endpoint = lk_env_str("LOOKOUT_STORE_TAP", NULL);
    config->batch_max = (int)lk_env_int("LOOKOUT_STORE_BATCH_MAX", 256, 1, 65536);
}

/* Committed batches remembered to recognise a re-send (see s_store_t.committed). A sender
   re-sends only its unacknowledged batches (correlate: at most one), so a few suffice. */
#define S_COMMITTED_MAX 64

/* Events, and closed incidents, deleted per retention tick; a full chunk of either schedules
   the next tick right away. An incident takes its alerts, escalations, notifications and
   updates with it: its chunk is smaller. */
#define S_RETENTION_CHUNK          5000
#define S_INCIDENT_RETENTION_CHUNK 500
#define S_RETENTION_AGAIN_MS       50

typedef struct {
    const store_config_t *config;
    int64_t retention_ms;          /* LOOKOUT_OUTBOX_RETENTION_S; 0 keeps events forever */
    int64_t incident_retention_ms; /* LOOKOUT_INCIDENT_RETENTION_S; 0 keeps incidents forever */
    int64_t retention_next_ms;     /* monotonic time of the next retention tick */
    store_db_t *db;
    store_writer_t *writer;
    lk_tap_t *tap;
    zsock_t *mutations; /* ROUTER */
    zsock_t *events;    /* PUB */
    store_writer_item_t *items;
    size_t item_count;
    size_t item_capacity;
    /* the last S_COMMITTED_MAX mutation batches committed: who sent them (routing id) and
       their req; a re-send of one of them is acknowledged without applying it again */
    struct {
        zframe_t *identity;
        uint64_t req;
    } committed[S_COMMITTED_MAX];
    size_t committed_next; /* ring position of the next entry */
} s_store_t;

/* ---- metrics (lk_metrics.h) ------------------------------------------------------------- */

static struct {
    lk_metrics_series_t *batches_per_commit, *commit_seconds, *events_published, *last_sequence;
    lk_metrics_series_t *batches[LK_STATUS_ERROR + 1];
    lk_metrics_series_t *duplicates;
    lk_metrics_series_t *incidents_expired;
    lk_metrics_series_t *wal_sync_seconds; /* SQLite only */
    lk_metrics_t *consumer_sequence;
} s_metrics;

/* SQLite: a sync of the writer's write-ahead log, timed by its VFS (store_sqlite_vfs.h). */
static void s_observe_wal_sync(double seconds)
{
    lk_metrics_observe(s_metrics.wal_sync_seconds, seconds);
}

static void s_metrics_register(bool sqlite)
{
    s_metrics.batches_per_commit = lk_metrics_series(lk_metrics_histogram(
        "lookout_store_commit_batches", "Mutation batches folded into one transaction.", NULL,
        lk_metrics_size_buckets, lk_metrics_size_bucket_count));
    s_metrics.commit_seconds = lk_metrics_series(
        lk_metrics_histogram("lookout_store_commit_duration_seconds",
                             "Time to apply and commit one group of mutation batches.", NULL,
                             lk_metrics_latency_buckets, lk_metrics_latency_bucket_count));
    lk_metrics_t *batches = lk_metrics_counter(
        "lookout_store_batches_total",
        "Mutation batches (and cursor commits) received, by result: ok, invalid, error.", "status");
    for (int i = 0; i <= LK_STATUS_ERROR; i++)
        s_metrics.batches[i] = lk_metrics_with(batches, lk_status_name((lk_status_t)i));
    s_metrics.duplicates = lk_metrics_series(lk_metrics_counter(
        "lookout_store_duplicate_batches_total",
        "Re-sent mutation batches that were committed already or are being applied: not "
        "applied again.",
        NULL));
    s_metrics.events_published = lk_metrics_series(
        lk_metrics_counter("lookout_store_events_published_total",
                           "Committed events published on the events PUB.", NULL));
    if (sqlite) {
        s_metrics.wal_sync_seconds = lk_metrics_series(lk_metrics_histogram(
            "lookout_store_wal_sync_duration_seconds",
            "SQLite: one sync of the write-ahead log (one per durable commit), the disk's share "
            "of lookout_store_commit_duration_seconds.",
            NULL, lk_metrics_latency_buckets, lk_metrics_latency_bucket_count));
        store_sqlite_vfs_on_sync(s_observe_wal_sync);
    }
    s_metrics.incidents_expired = lk_metrics_series(lk_metrics_counter(
        "lookout_store_incidents_expired_total",
        "Closed incidents deleted, with their alerts, escalations, notifications and updates, "
        "by LOOKOUT_INCIDENT_RETENTION_S.",
        NULL));
    s_metrics.last_sequence = lk_metrics_series(
        lk_metrics_gauge("lookout_outbox_last_sequence",
                         "Sequence of the newest committed event (outbox head).", NULL));
    s_metrics.consumer_sequence = lk_metrics_gauge(
        "lookout_outbox_consumer_sequence",
        "Cursor an outbox consumer (publish, escalate) last committed.", "consumer");
}

/* Records one mutation round: its size, duration and what became of each item. */
static void s_metrics_round(const store_writer_item_t *items, size_t count, double seconds)
{
    lk_metrics_observe(s_metrics.batches_per_commit, (double)count);
    lk_metrics_observe(s_metrics.commit_seconds, seconds);
    for (size_t index = 0; index < count; index++) {
        const store_writer_item_t *item = &items[index];
        if (item->status <= LK_STATUS_ERROR)
            lk_metrics_inc(s_metrics.batches[item->status]);
        if (item->status == LK_STATUS_OK && item->msg.type == LK_MSG_CURSOR_COMMIT &&
            item->msg.consumer)
            lk_metrics_set(lk_metrics_with(s_metrics.consumer_sequence, item->msg.consumer),
                           (double)item->msg.sequence);
    }
}

/* Answers identity's batch req with status (and error when not ok). */
static void s_ack(s_store_t *self, zframe_t *identity, uint64_t req, lk_status_t status,
                  const char *error)
{
    lk_msg_t ack;
    lk_msg_init(&ack, LK_MSG_MUTATION_ACK);
    ack.req = req;
    ack.status = status;
    if (status != LK_STATUS_OK)
        ack.error = strdup(error);
    /* a lost ack is recovered by the sender's re-send, which is idempotent */
    if (lk_sock_send(self->mutations, identity, &ack, self->tap, "store>correlate"))
        lk_warn("store: could not acknowledge batch %" PRIu64, req);
    lk_msg_clear(&ack);
}

/* True when identity's batch req is among the last committed ones. */
static bool s_committed_already(const s_store_t *self, zframe_t *identity, uint64_t req)
{
    for (size_t index = 0; index < S_COMMITTED_MAX; index++)
        if (self->committed[index].identity && self->committed[index].req == req &&
            zframe_eq(self->committed[index].identity, identity))
            return true;
    return false;
}

/* Remembers the committed mutation batches of a round (the ring drops the oldest). */
static void s_committed_remember(s_store_t *self)
{
    for (size_t index = 0; index < self->item_count; index++) {
        const store_writer_item_t *item = &self->items[index];
        if (item->status != LK_STATUS_OK || item->msg.type != LK_MSG_MUTATION_BATCH)
            continue;
        size_t slot = self->committed_next;
        self->committed_next = (slot + 1) % S_COMMITTED_MAX;
        zframe_destroy(&self->committed[slot].identity);
        self->committed[slot].identity = zframe_dup(item->identity);
        self->committed[slot].req = item->msg.req;
    }
}

/* True when identity's batch req is an item of the round being received. */
static bool s_in_round(const s_store_t *self, zframe_t *identity, uint64_t req)
{
    for (size_t index = 0; index < self->item_count; index++)
        if (self->items[index].msg.type == LK_MSG_MUTATION_BATCH &&
            self->items[index].msg.req == req && zframe_eq(self->items[index].identity, identity))
            return true;
    return false;
}

/* Receives one message from the mutation socket into the next item. Returns 0 when an item
   was added, 1 when it was a re-send of a batch committed already (acknowledged at once) or
   of an item of this round (dropped: the item's ack answers both), -1 when the frames were
   malformed (already logged and counted by lk_sock), -2 when interrupted. */
static int s_receive(s_store_t *self)
{
    store_writer_item_t *item = &self->items[self->item_count];
    item->identity = NULL;
    int rc =
        lk_sock_recv(self->mutations, &item->identity, &item->msg, self->tap, "store<correlate");
    if (rc != 0) {
        zframe_destroy(&item->identity);
        return rc;
    }
    /* A sender re-sends a batch store took too long to acknowledge. Applying it again would
       be harmless but slow (its events are refused one by one), and a slow store is why it
       came again. Senders number their batches uniquely per connection, so routing id and
       req identify it. */
    if (item->msg.type == LK_MSG_MUTATION_BATCH) {
        bool in_round = s_in_round(self, item->identity, item->msg.req);
        if (in_round || s_committed_already(self, item->identity, item->msg.req)) {
            if (!in_round)
                s_ack(self, item->identity, item->msg.req, LK_STATUS_OK, NULL);
            lk_metrics_inc(s_metrics.duplicates);
            lk_msg_clear(&item->msg);
            zframe_destroy(&item->identity);
            return 1;
        }
    }
    /* anything else is answered "invalid" by the writer; logged and counted here */
    if (item->msg.type != LK_MSG_MUTATION_BATCH && item->msg.type != LK_MSG_CURSOR_COMMIT)
        lk_sock_unexpected(&item->msg, "store<correlate");
    self->item_count++;
    return 0;
}

/* One mutation round (see the top of this file). */
static void s_mutation_round(s_store_t *self)
{
    self->item_count = 0;
    if (s_receive(self) == -2)
        return;
    /* group commit: fold whatever is already queued into the same transaction */
    while (self->item_count < self->item_capacity && (zsock_events(self->mutations) & ZMQ_POLLIN))
        if (s_receive(self) == -2)
            break;
    if (self->item_count == 0)
        return;

    double started_s = lk_mono_seconds();
    if (store_writer_apply(self->writer, self->items, self->item_count) == STORE_DB_LOST)
        lk_fatal("store: lost the database: %s", store_db_error(self->db));
    s_metrics_round(self->items, self->item_count, lk_mono_seconds() - started_s);
    s_committed_remember(self);

    for (size_t index = 0; index < self->item_count; index++) {
        store_writer_item_t *item = &self->items[index];
        s_ack(self, item->identity, item->msg.req, item->status, item->error);
        lk_msg_clear(&item->msg);
        zframe_destroy(&item->identity);
    }
    size_t count;
    const store_published_t *published = store_writer_published(self->writer, &count);
    for (size_t index = 0; index < count; index++)
        /* PUB never blocks; a subscriber that misses one re-asks by sequence */
        lk_sock_send_bytes(self->events, NULL, published[index].data, published[index].size,
                           self->tap, "store>events");
    lk_metrics_add(s_metrics.events_published, count);
    lk_metrics_set(s_metrics.last_sequence, (double)store_writer_last_sequence(self->writer));
}

/* True when either retention is on. */
static bool s_retention_on(const s_store_t *self)
{
    return self->retention_ms > 0 || self->incident_retention_ms > 0;
}

/* Time between retention ticks: a tenth of the shorter retention that is on, at least a
   second, at most a minute. */
static int64_t s_retention_interval_ms(const s_store_t *self)
{
    int64_t retention_ms = self->retention_ms;
    if (retention_ms == 0 ||
        (self->incident_retention_ms > 0 && self->incident_retention_ms < retention_ms))
        retention_ms = self->incident_retention_ms;
    int64_t interval_ms = retention_ms / 10;
    return interval_ms < 1000 ? 1000 : interval_ms > 60000 ? 60000 : interval_ms;
}

/* How long a start keeps trying to reach the database before it gives up, and how often.
   Longer than supervisord's startsecs (1 s) on purpose: a start that fails for want of the
   database then counts as a run, not as a failed start, so supervisord restarts store at
   once instead of backing off longer after each attempt (1 s, 2 s, 3 s, ...), and store
   is back within S_OPEN_RETRY_MS of the database's return however long it was away. */
#define S_OPEN_WAIT_MS  3000
#define S_OPEN_RETRY_MS 250

/* Opens and migrates the database and binds every socket; lk_fatal on any failure. */
static void s_start(s_store_t *self, const store_config_t *config)
{
    self->config = config;
    char err[512];
    int64_t give_up_ms = lk_mono_ms() + S_OPEN_WAIT_MS;
    while (!(self->db = store_db_open(config->database_url, false, err, sizeof(err)))) {
        if (lk_mono_ms() >= give_up_ms)
            lk_fatal("store: cannot open the database: %s", err);
        zclock_sleep(S_OPEN_RETRY_MS);
    }
    if (store_db_migrate(self->db) != STORE_DB_OK)
        lk_fatal("store: migrations failed: %s", store_db_error(self->db));
    const char *writer_lock = store_db_dialect(self->db)->writer_lock;
    int64_t locked = 0;
    if (writer_lock && store_db_query_int(self->db, writer_lock, NULL, 0, &locked) != STORE_DB_OK)
        lk_fatal("store: cannot take the writer lock: %s", store_db_error(self->db));
    if (writer_lock && !locked)
        lk_fatal("store: another lookout-store is writing this database (one writer only)");
    int rc;
    self->writer = store_writer_new(self->db, &rc);
    if (!self->writer)
        lk_fatal("store: cannot read the last event sequence: %s", store_db_error(self->db));
    self->item_capacity = config->batch_max > 0 ? (size_t)config->batch_max : 1;
    self->items = calloc(self->item_capacity, sizeof(*self->items));
    if (!self->items)
        lk_fatal("store: out of memory");
    self->retention_ms =
        lk_env_int("LOOKOUT_OUTBOX_RETENTION_S", 604800, 0, INT64_MAX / 1000) * 1000;
    self->incident_retention_ms =
        lk_env_int("LOOKOUT_INCIDENT_RETENTION_S", 0, 0, INT64_MAX / 1000) * 1000;
    /* the first sweep one interval after start: a restart loop does not sweep each time */
    self->retention_next_ms = lk_mono_ms() + s_retention_interval_ms(self);
    s_metrics_register(strcmp(store_db_backend_name(self->db), "sqlite") == 0);
    lk_metrics_set(s_metrics.last_sequence, (double)store_writer_last_sequence(self->writer));
    self->tap = lk_tap_new(config->tap_endpoint);
    self->mutations = lk_sock_new(ZMQ_ROUTER, config->mutation_endpoint);
    if (!self->mutations)
        lk_fatal("store: cannot bind the mutation endpoint %s", config->mutation_endpoint);
    self->events = lk_sock_new(ZMQ_PUB, config->events_endpoint);
    if (!self->events)
        lk_fatal("store: cannot bind the events endpoint %s", config->events_endpoint);
    lk_info("store: %s database ready, last event sequence %" PRIu64,
            store_db_backend_name(self->db), store_writer_last_sequence(self->writer));
}

/* Logs the outcome of one retention's chunk (what: "outbox", rows: "events"); lk_fatal
   when the database is lost. Returns true when the chunk was full: a backlog remains. */
static bool s_retention_done(s_store_t *self, int rc, const char *what, int64_t deleted,
                             int64_t chunk, const char *rows)
{
    if (rc == STORE_DB_LOST)
        lk_fatal("store: lost the database: %s", store_db_error(self->db));
    if (rc != STORE_DB_OK)
        lk_warn("store: %s retention failed: %s", what, store_db_error(self->db));
    else if (deleted > 0)
        lk_debug("store: %s retention removed %" PRId64 " %s", what, deleted, rows);
    return deleted == chunk;
}

/* The retention tick: deletes one chunk of events older than the outbox retention, never
   the newest (store_outbox_expire), then one chunk of incidents closed before the incident
   retention whose events are gone (store_incidents_expire); the next tick comes sooner
   while a backlog of either remains. */
static void s_retention_tick(s_store_t *self)
{
    bool backlog = false;
    int64_t deleted = 0;
    if (self->retention_ms > 0) {
        int rc = store_outbox_expire(self->db, lk_now_ms() - self->retention_ms,
                                     store_writer_last_sequence(self->writer), S_RETENTION_CHUNK,
                                     &deleted);
        backlog |= s_retention_done(self, rc, "outbox", deleted, S_RETENTION_CHUNK, "events");
    }
    if (self->incident_retention_ms > 0) {
        int rc = store_incidents_expire(self->db, lk_now_ms() - self->incident_retention_ms,
                                        S_INCIDENT_RETENTION_CHUNK, &deleted);
        backlog |= s_retention_done(self, rc, "incident", deleted, S_INCIDENT_RETENTION_CHUNK,
                                    "closed incidents");
        lk_metrics_add(s_metrics.incidents_expired, (uint64_t)deleted);
    }
    self->retention_next_ms =
        lk_mono_ms() + (backlog ? S_RETENTION_AGAIN_MS : s_retention_interval_ms(self));
}

/* Milliseconds the actor may wait for a message before the next timer tick; -1 = forever. */
static int s_wait_ms(const s_store_t *self)
{
    if (!s_retention_on(self))
        return -1;
    int64_t wait_ms = self->retention_next_ms - lk_mono_ms();
    return wait_ms < 0 ? 0 : wait_ms > 60000 ? 60000 : (int)wait_ms;
}

static void s_stop(s_store_t *self)
{
    for (size_t index = 0; index < S_COMMITTED_MAX; index++)
        zframe_destroy(&self->committed[index].identity);
    zsock_destroy(&self->events);
    zsock_destroy(&self->mutations);
    lk_tap_destroy(&self->tap);
    free(self->items);
    store_writer_destroy(&self->writer);
    store_db_destroy(&self->db);
}

void store_actor(zsock_t *pipe, void *args)
{
    const store_config_t *config = args;
    assert(config && config->database_url);
    s_store_t self = {.config = NULL};
    s_start(&self, config);

    store_query_config_t query_config = {
        .database_url = config->database_url, .endpoint = config->query_endpoint, .tap = self.tap};
    zactor_t *query = zactor_new(store_query_actor, &query_config);
    assert(query);
    zpoller_t *poller = zpoller_new(pipe, self.mutations, NULL);
    assert(poller);
    zsock_signal(pipe, 0);

    while (true) {
        zsock_t *which = zpoller_wait(poller, s_wait_ms(&self));
        if (s_retention_on(&self) && lk_mono_ms() >= self.retention_next_ms)
            s_retention_tick(&self);
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
        s_mutation_round(&self);
    }
    zpoller_destroy(&poller);
    zactor_destroy(&query);
    s_stop(&self);
}
