/*  store — the sole database writer: the actor behind lookout-store (see store.h).

    The actor thread owns the writer connection, the mutation ROUTER and the events PUB; a
    second actor (store_query) owns the query ROUTER and a read-only connection. A mutation
    round is: wait for one batch, drain up to batch_max queued ones without blocking, apply
    them in one transaction (store_writer), then acknowledge each to its sender in the order
    received, then publish the events the round committed. Nothing is acknowledged before
    its COMMIT, and no event is published that was not committed.
*/
#include "store.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lk_env.h"
#include "lk_log.h"
#include "lk_sock.h"
#include "lk_tap.h"
#include "store_db.h"
#include "store_query.h"
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

typedef struct {
    const store_config_t *config;
    store_db_t *db;
    store_writer_t *writer;
    lk_tap_t *tap;
    zsock_t *mutations; /* ROUTER */
    zsock_t *events;    /* PUB */
    store_writer_item_t *items;
    size_t item_count;
    size_t item_capacity;
} s_store_t;

/* Receives one message from the mutation socket into the next item. Returns 0 when an item
   was added, -1 when the frames were malformed (already logged and counted by lk_sock),
   -2 when interrupted. */
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

    if (store_writer_apply(self->writer, self->items, self->item_count) == STORE_DB_LOST)
        lk_fatal("store: lost the database: %s", store_db_error(self->db));

    for (size_t index = 0; index < self->item_count; index++) {
        store_writer_item_t *item = &self->items[index];
        lk_msg_t ack;
        lk_msg_init(&ack, LK_MSG_MUTATION_ACK);
        ack.req = item->msg.req;
        ack.status = item->status;
        if (item->status != LK_STATUS_OK)
            ack.error = strdup(item->error);
        /* a lost ack is recovered by correlate's re-send, which is idempotent */
        if (lk_sock_send(self->mutations, item->identity, &ack, self->tap, "store>correlate"))
            lk_warn("store: could not acknowledge batch %" PRIu64, ack.req);
        lk_msg_clear(&ack);
        lk_msg_clear(&item->msg);
        zframe_destroy(&item->identity);
    }
    size_t count;
    const lk_msg_t *published = store_writer_published(self->writer, &count);
    for (size_t index = 0; index < count; index++)
        /* PUB never blocks; a subscriber that misses one re-asks by sequence */
        lk_sock_send(self->events, NULL, &published[index], self->tap, "store>events");
}

/* Opens and migrates the database and binds every socket; lk_fatal on any failure. */
static void s_start(s_store_t *self, const store_config_t *config)
{
    self->config = config;
    char err[512];
    self->db = store_db_open(config->database_url, false, err, sizeof(err));
    if (!self->db)
        lk_fatal("store: cannot open the database: %s", err);
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

static void s_stop(s_store_t *self)
{
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
        s_mutation_round(&self);
    }
    zpoller_destroy(&poller);
    zactor_destroy(&query);
    s_stop(&self);
}
