/*  pipeline — per-thread DEALER clients to correlate and store, with timeouts.

    Every thread keeps its sockets in a thread-local slot tagged with the pipeline's
    generation number, so a thread can tell its sockets from ones it may have opened for an
    earlier pipeline in the same process (tests start several). The pipeline also keeps a
    list of every slot it handed out, so pipeline_destroy can close the sockets of threads
    that have already exited (joining a thread is the memory barrier ZeroMQ asks for before
    a socket is used from another thread).
*/
#include "pipeline.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_log.h"
#include "lk_sock.h"
#include "lk_time.h"

typedef struct _s_client_t {
    zsock_t *sockets[PIPELINE_PEER_COUNT];
    zsock_t *shards[PIPELINE_SHARDS_MAX]; /* correlate, one per shard (sockets[CORRELATE]
                                             is unused) */
    struct _s_client_t *next;             /* the pipeline's list of clients */
} s_client_t;

struct _pipeline_t {
    char *endpoints[PIPELINE_PEER_COUNT];
    char *shard_endpoints[PIPELINE_SHARDS_MAX]; /* correlate_endpoint split at commas */
    uint32_t shard_count;
    int64_t timeout_ms;
    lk_tap_t *tap;
    uint64_t generation;
    pthread_mutex_t mutex; /* guards clients */
    s_client_t *clients;
};

static const char *s_peer_names[PIPELINE_PEER_COUNT] = {"correlate", "store", "store writer"};
static const char *s_send_labels[PIPELINE_PEER_COUNT] = {"ingest>correlate", "ingest>store",
                                                         "ingest>store-write"};
static const char *s_recv_labels[PIPELINE_PEER_COUNT] = {"ingest<correlate", "ingest<store",
                                                         "ingest<store-write"};

/* Request ids are unique across every thread and pipeline of the process, so a reply can
   never be mistaken for the answer to a different request. */
static atomic_uint_fast64_t s_next_req = 1;
static atomic_uint_fast64_t s_next_generation = 1;

/* This thread's client and the generation of the pipeline it belongs to. The generation is
   kept apart from the client so it can be compared without touching a client that a
   destroyed pipeline has freed. */
static __thread s_client_t *s_thread_client;
static __thread uint64_t s_thread_generation;

pipeline_t *pipeline_new(const char *correlate_endpoint, const char *store_query_endpoint,
                         int64_t timeout_ms, lk_tap_t *tap)
{
    assert(correlate_endpoint && store_query_endpoint && timeout_ms > 0);
    pipeline_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->endpoints[PIPELINE_CORRELATE] = strdup(correlate_endpoint);
    self->endpoints[PIPELINE_STORE] = strdup(store_query_endpoint);
    if (!self->endpoints[PIPELINE_CORRELATE] || !self->endpoints[PIPELINE_STORE]) {
        free(self->endpoints[PIPELINE_CORRELATE]);
        free(self->endpoints[PIPELINE_STORE]);
        free(self);
        return NULL;
    }
    /* one endpoint per correlate shard, in shard index order */
    const char *cursor = correlate_endpoint;
    while (true) {
        const char *end = strchr(cursor, ',');
        size_t length = end ? (size_t)(end - cursor) : strlen(cursor);
        while (length > 0 && cursor[0] == ' ') {
            cursor++;
            length--;
        }
        while (length > 0 && cursor[length - 1] == ' ')
            length--;
        if (length == 0 || self->shard_count == PIPELINE_SHARDS_MAX ||
            !(self->shard_endpoints[self->shard_count] = strndup(cursor, length))) {
            for (uint32_t i = 0; i < self->shard_count; i++)
                free(self->shard_endpoints[i]);
            free(self->endpoints[PIPELINE_CORRELATE]);
            free(self->endpoints[PIPELINE_STORE]);
            free(self);
            return NULL;
        }
        self->shard_count++;
        if (!end)
            break;
        cursor = end + 1;
    }
    self->timeout_ms = timeout_ms;
    self->tap = tap;
    self->generation = atomic_fetch_add(&s_next_generation, 1);
    pthread_mutex_init(&self->mutex, NULL);
    return self;
}

int pipeline_set_endpoint(pipeline_t *self, pipeline_peer_t peer, const char *endpoint)
{
    assert(self && endpoint && peer != PIPELINE_CORRELATE && peer < PIPELINE_PEER_COUNT);
    char *copy = strdup(endpoint);
    if (!copy)
        return -1;
    free(self->endpoints[peer]);
    self->endpoints[peer] = copy;
    return 0;
}

void pipeline_destroy(pipeline_t **self_p)
{
    assert(self_p);
    pipeline_t *self = *self_p;
    if (!self)
        return;
    s_client_t *client = self->clients;
    while (client) {
        s_client_t *next = client->next;
        for (int peer = 0; peer < PIPELINE_PEER_COUNT; peer++)
            zsock_destroy(&client->sockets[peer]);
        for (uint32_t shard = 0; shard < self->shard_count; shard++)
            zsock_destroy(&client->shards[shard]);
        free(client);
        client = next;
    }
    /* The calling thread may itself have used the pipeline. */
    if (s_thread_generation == self->generation) {
        s_thread_client = NULL;
        s_thread_generation = 0;
    }
    pthread_mutex_destroy(&self->mutex);
    for (int peer = 0; peer < PIPELINE_PEER_COUNT; peer++)
        free(self->endpoints[peer]);
    for (uint32_t shard = 0; shard < self->shard_count; shard++)
        free(self->shard_endpoints[shard]);
    free(self);
    *self_p = NULL;
}

/* Returns the calling thread's socket to peer (for correlate: to that shard), opening it on
   first use; NULL when the socket cannot be created (logged by lk_sock_new) or on OOM. */
static zsock_t *s_thread_socket(pipeline_t *self, pipeline_peer_t peer, uint32_t shard)
{
    if (s_thread_generation != self->generation) {
        s_client_t *client = calloc(1, sizeof *client);
        if (!client)
            return NULL;
        pthread_mutex_lock(&self->mutex);
        client->next = self->clients;
        self->clients = client;
        pthread_mutex_unlock(&self->mutex);
        s_thread_client = client;
        s_thread_generation = self->generation;
    }
    if (peer == PIPELINE_CORRELATE) {
        if (!s_thread_client->shards[shard])
            s_thread_client->shards[shard] = lk_sock_new(ZMQ_DEALER, self->shard_endpoints[shard]);
        return s_thread_client->shards[shard];
    }
    if (!s_thread_client->sockets[peer])
        s_thread_client->sockets[peer] = lk_sock_new(ZMQ_DEALER, self->endpoints[peer]);
    return s_thread_client->sockets[peer];
}

int pipeline_request(pipeline_t *self, pipeline_peer_t peer, lk_msg_t *request, lk_msg_t *reply,
                     char *detail, size_t detail_size)
{
    assert(self && request && reply && detail);
    assert((unsigned)peer < PIPELINE_PEER_COUNT);
    memset(reply, 0, sizeof *reply);
    const char *name = s_peer_names[peer];
    if (peer != PIPELINE_CORRELATE && !self->endpoints[peer]) {
        snprintf(detail, detail_size, "no endpoint configured for %s", name);
        return -1;
    }

    /* each tenant belongs to one correlate shard (lk_shard_of, as correlate checks) */
    uint32_t shard = peer == PIPELINE_CORRELATE && self->shard_count > 1
                         ? lk_shard_of(request->tenant_id, self->shard_count)
                         : 0;
    zsock_t *sock = s_thread_socket(self, peer, shard);
    if (!sock) {
        snprintf(detail, detail_size, "cannot open a socket to %s", name);
        return -1;
    }
    request->req = atomic_fetch_add(&s_next_req, 1);
    if (lk_sock_send(sock, NULL, request, self->tap, s_send_labels[peer]) != 0) {
        snprintf(detail, detail_size, "%s is not accepting requests (queue full)", name);
        return -1;
    }

    int64_t deadline_ms = lk_mono_ms() + self->timeout_ms;
    while (true) {
        int64_t left_ms = deadline_ms - lk_mono_ms();
        if (left_ms <= 0)
            break;
        zmq_pollitem_t item = {zsock_resolve(sock), 0, ZMQ_POLLIN, 0};
        int ready = zmq_poll(&item, 1, (long)left_ms);
        if (ready < 0) {
            if (errno == EINTR)
                continue; /* a signal; the deadline still bounds the wait */
            snprintf(detail, detail_size, "waiting for %s failed: %s", name, zmq_strerror(errno));
            return -1;
        }
        if (ready == 0)
            continue;
        int rc = lk_sock_recv(sock, NULL, reply, self->tap, s_recv_labels[peer]);
        if (rc == -2) {
            snprintf(detail, detail_size, "interrupted while waiting for %s", name);
            return -1;
        }
        if (rc == -1)
            continue; /* malformed: lk_sock_recv logged and counted it */
        if (reply->req == request->req)
            return 0;
        lk_debug("ingest: dropping a late %s reply (req %" PRIu64 ")", name, reply->req);
        lk_msg_clear(reply);
    }
    snprintf(detail, detail_size, "%s did not answer within %" PRId64 " ms", name,
             self->timeout_ms);
    return -1;
}
