/*  pipeline — the hub that carries asynchronous calls, and per-thread DEALER clients for
    blocking requests, to correlate and store, with timeouts.

    Asynchronous calls: the HTTP thread encodes the request (pipeline_call_new) and appends
    the call to the hub's queue under a mutex, writing a byte to the hub's wake pipe when the
    queue was empty. The hub thread (a czmq actor) owns one DEALER per peer and correlate
    shard; it sends each queued call, keeps the calls it sent in a table keyed by `req` (to
    match replies) and in a list in send order, which is deadline order since every call
    gets the same timeout, and sleeps in zmq_poll until a reply, a wake byte, a command or
    the oldest deadline. A call's state (new, started, done, abandoned) is one atomic, so
    whoever lets go of the call last frees it and done runs at most once.

    Blocking requests: every thread keeps its sockets in a thread-local slot tagged with the
    pipeline's generation number, so a thread can tell its sockets from ones it may have
    opened for an earlier pipeline in the same process (tests start several). The pipeline
    also keeps a list of every slot it handed out, so pipeline_destroy can close the sockets
    of threads that have already exited (joining a thread is the memory barrier ZeroMQ asks
    for before a socket is used from another thread).
*/
#include "pipeline.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    /* asynchronous calls */
    zactor_t *hub;
    int wake[2];              /* pipeline_call_start writes [1], the hub polls [0] */
    pthread_mutex_t hub_lock; /* guards the queue and stopping */
    pipeline_call_t *queue_head, *queue_tail;
    bool stopping;
};

/* Who holds an asynchronous call. */
enum { S_CALL_NEW = 0, S_CALL_STARTED, S_CALL_DONE, S_CALL_ABANDONED };

struct pipeline_call_t {
    pipeline_peer_t peer;
    uint32_t shard;
    uint64_t req;
    char *data; /* the encoded request, until the hub sent it */
    size_t size;
    pipeline_done_fn done;
    void *done_arg;
    atomic_int state;
    /* hub thread only, between start and done */
    int64_t deadline_ms;
    pipeline_call_t *queue_next;    /* the pipeline's queue */
    pipeline_call_t *bucket_next;   /* the hub's reply-matching table */
    pipeline_call_t *older, *newer; /* the hub's calls in send (= deadline) order */
    /* the outcome, written before done runs */
    int rc;
    bool has_reply;
    lk_msg_t reply;
    char detail[256];
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

/* ---- the hub --------------------------------------------------------------------------- */

/* Reply matching: a call sits in bucket req % S_HUB_BUCKETS. Calls in flight are bounded by
   the HTTP connections (one each), so chains stay short without resizing. */
#define S_HUB_BUCKETS 1024
/* Replies taken from one socket before the others get their turn. */
#define S_HUB_RECV_BATCH 256

typedef struct {
    pipeline_t *pipeline;
    zsock_t *sockets[PIPELINE_PEER_COUNT];
    zsock_t *shards[PIPELINE_SHARDS_MAX]; /* correlate, one per shard */
    pipeline_call_t *buckets[S_HUB_BUCKETS];
    pipeline_call_t *oldest, *newest; /* calls sent and waiting for their reply */
    /* what zmq_poll watches: the actor pipe, the wake pipe, then every open socket */
    zmq_pollitem_t items[2 + PIPELINE_PEER_COUNT + PIPELINE_SHARDS_MAX];
    zsock_t *item_sockets[2 + PIPELINE_PEER_COUNT + PIPELINE_SHARDS_MAX];
    pipeline_peer_t item_peers[2 + PIPELINE_PEER_COUNT + PIPELINE_SHARDS_MAX];
    size_t item_count;
} s_hub_t;

static void s_call_free(pipeline_call_t *call)
{
    free(call->data);
    if (call->has_reply)
        lk_msg_clear(&call->reply);
    free(call);
}

/* Hands the outcome over: runs done, or frees the call when its owner abandoned it. The
   call is not touched after that. */
static void s_call_complete(pipeline_call_t *call)
{
    pipeline_done_fn done = call->done;
    void *arg = call->done_arg;
    if (atomic_exchange(&call->state, S_CALL_DONE) == S_CALL_ABANDONED) {
        s_call_free(call);
        return;
    }
    done(arg);
}

static void s_call_fail(pipeline_call_t *call, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void s_call_fail(pipeline_call_t *call, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(call->detail, sizeof call->detail, format, args);
    va_end(args);
    call->rc = -1;
    s_call_complete(call);
}

/* The hub's socket to peer (for correlate: that shard), opened on first use and added to
   what the hub polls; NULL when it cannot be created (logged by lk_sock_new). */
static zsock_t *s_hub_socket(s_hub_t *hub, pipeline_peer_t peer, uint32_t shard)
{
    pipeline_t *self = hub->pipeline;
    zsock_t **slot = peer == PIPELINE_CORRELATE ? &hub->shards[shard] : &hub->sockets[peer];
    if (!*slot) {
        *slot = lk_sock_new(ZMQ_DEALER, peer == PIPELINE_CORRELATE ? self->shard_endpoints[shard]
                                                                   : self->endpoints[peer]);
        if (!*slot)
            return NULL;
        size_t index = hub->item_count++;
        hub->items[index] = (zmq_pollitem_t){zsock_resolve(*slot), 0, ZMQ_POLLIN, 0};
        hub->item_sockets[index] = *slot;
        hub->item_peers[index] = peer;
    }
    return *slot;
}

/* Removes call from the matching table and the deadline list. */
static void s_hub_unlink(s_hub_t *hub, pipeline_call_t *call)
{
    pipeline_call_t **link = &hub->buckets[call->req % S_HUB_BUCKETS];
    while (*link != call)
        link = &(*link)->bucket_next;
    *link = call->bucket_next;
    if (call->older)
        call->older->newer = call->newer;
    else
        hub->oldest = call->newer;
    if (call->newer)
        call->newer->older = call->older;
    else
        hub->newest = call->older;
}

/* The call waiting for the reply with req, taken out of the hub; NULL when none (the
   request timed out and was answered already). */
static pipeline_call_t *s_hub_take(s_hub_t *hub, uint64_t req)
{
    pipeline_call_t *call = hub->buckets[req % S_HUB_BUCKETS];
    while (call && call->req != req)
        call = call->bucket_next;
    if (call)
        s_hub_unlink(hub, call);
    return call;
}

/* Sends a queued call and keeps it until its reply or deadline; a call that cannot be sent
   fails at once. */
static void s_hub_send(s_hub_t *hub, pipeline_call_t *call)
{
    pipeline_t *self = hub->pipeline;
    const char *name = s_peer_names[call->peer];
    zsock_t *sock = s_hub_socket(hub, call->peer, call->shard);
    if (!sock) {
        s_call_fail(call, "cannot open a socket to %s", name);
        return;
    }
    if (zmq_send(zsock_resolve(sock), call->data, call->size, ZMQ_DONTWAIT) < 0) {
        s_call_fail(call, "%s is not accepting requests (queue full)", name);
        return;
    }
    lk_tap_mirror(self->tap, s_send_labels[call->peer], call->data, call->size);
    free(call->data);
    call->data = NULL;
    call->deadline_ms = lk_mono_ms() + self->timeout_ms;
    pipeline_call_t **bucket = &hub->buckets[call->req % S_HUB_BUCKETS];
    call->bucket_next = *bucket;
    *bucket = call;
    call->newer = NULL;
    call->older = hub->newest;
    if (hub->newest)
        hub->newest->newer = call;
    else
        hub->oldest = call;
    hub->newest = call;
}

/* Takes what pipeline_call_start queued. */
static pipeline_call_t *s_hub_take_queue(pipeline_t *self)
{
    pthread_mutex_lock(&self->hub_lock);
    pipeline_call_t *queue = self->queue_head;
    self->queue_head = self->queue_tail = NULL;
    pthread_mutex_unlock(&self->hub_lock);
    return queue;
}

/* Receives the replies waiting on sock and completes their calls. */
static void s_hub_receive(s_hub_t *hub, zsock_t *sock, pipeline_peer_t peer)
{
    for (int i = 0; i < S_HUB_RECV_BATCH && (zsock_events(sock) & ZMQ_POLLIN); i++) {
        lk_msg_t reply;
        int rc = lk_sock_recv(sock, NULL, &reply, hub->pipeline->tap, s_recv_labels[peer]);
        if (rc == -2)
            return;
        if (rc == -1)
            continue; /* malformed: lk_sock_recv logged and counted it */
        pipeline_call_t *call = s_hub_take(hub, reply.req);
        if (!call) {
            lk_debug("ingest: dropping a late %s reply (req %" PRIu64 ")", s_peer_names[peer],
                     reply.req);
            lk_msg_clear(&reply);
            continue;
        }
        call->reply = reply;
        call->has_reply = true;
        call->rc = 0;
        s_call_complete(call);
    }
}

/* Fails every call the hub holds or has queued (the pipeline is stopping). */
static void s_hub_fail_all(s_hub_t *hub, const char *reason)
{
    pipeline_call_t *call = s_hub_take_queue(hub->pipeline);
    while (call) {
        pipeline_call_t *next = call->queue_next;
        s_call_fail(call, "%s", reason);
        call = next;
    }
    while (hub->oldest) {
        call = hub->oldest;
        s_hub_unlink(hub, call);
        s_call_fail(call, "%s", reason);
    }
}

static void s_hub_actor(zsock_t *pipe, void *args)
{
    s_hub_t *hub = calloc(1, sizeof *hub);
    if (!hub)
        lk_fatal("ingest: out of memory");
    pipeline_t *self = args;
    hub->pipeline = self;
    hub->items[0] = (zmq_pollitem_t){zsock_resolve(pipe), 0, ZMQ_POLLIN, 0};
    hub->items[1] = (zmq_pollitem_t){NULL, self->wake[0], ZMQ_POLLIN, 0};
    hub->item_count = 2;
    zsock_signal(pipe, 0);

    bool running = true;
    while (running) {
        long timeout_ms = -1;
        if (hub->oldest) {
            int64_t left_ms = hub->oldest->deadline_ms - lk_mono_ms();
            timeout_ms = left_ms > 0 ? (long)left_ms : 0;
        }
        size_t polled = hub->item_count;
        int ready = zmq_poll(hub->items, (int)polled, timeout_ms);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            lk_error("ingest: the pipeline hub cannot poll: %s", zmq_strerror(errno));
            break;
        }
        if (hub->items[0].revents & ZMQ_POLLIN) {
            char *command = zstr_recv(pipe);
            if (!command || strcmp(command, "$TERM") == 0)
                running = false;
            else if (strcmp(command, "STOP") == 0) {
                s_hub_fail_all(hub, "ingest is stopping");
                zsock_signal(pipe, 0);
            }
            zstr_free(&command);
        }
        for (size_t index = 2; index < polled; index++)
            if (hub->items[index].revents & ZMQ_POLLIN)
                s_hub_receive(hub, hub->item_sockets[index], hub->item_peers[index]);
        if (hub->items[1].revents & ZMQ_POLLIN) {
            char drain[256];
            while (read(self->wake[0], drain, sizeof drain) > 0)
                ;
            pipeline_call_t *call = s_hub_take_queue(self);
            while (call) {
                pipeline_call_t *next = call->queue_next;
                s_hub_send(hub, call);
                call = next;
            }
        }
        int64_t now_ms = lk_mono_ms();
        while (hub->oldest && hub->oldest->deadline_ms <= now_ms) {
            pipeline_call_t *call = hub->oldest;
            s_hub_unlink(hub, call);
            s_call_fail(call, "%s did not answer within %" PRId64 " ms", s_peer_names[call->peer],
                        self->timeout_ms);
        }
    }
    /* from here on calls fail in pipeline_call_start, and pipeline_stop has nothing to ask */
    pthread_mutex_lock(&self->hub_lock);
    self->stopping = true;
    pthread_mutex_unlock(&self->hub_lock);
    s_hub_fail_all(hub, "ingest is stopping");
    for (int peer = 0; peer < PIPELINE_PEER_COUNT; peer++)
        zsock_destroy(&hub->sockets[peer]);
    for (uint32_t shard = 0; shard < self->shard_count; shard++)
        zsock_destroy(&hub->shards[shard]);
    free(hub);
}

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
    pthread_mutex_init(&self->hub_lock, NULL);
    if (pipe(self->wake) != 0) {
        self->wake[0] = self->wake[1] = -1;
        pipeline_destroy(&self);
        return NULL;
    }
    for (int end = 0; end < 2; end++) {
        fcntl(self->wake[end], F_SETFL, fcntl(self->wake[end], F_GETFL) | O_NONBLOCK);
        fcntl(self->wake[end], F_SETFD, FD_CLOEXEC);
    }
    self->hub = zactor_new(s_hub_actor, self);
    if (!self->hub)
        pipeline_destroy(&self);
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

void pipeline_stop(pipeline_t *self)
{
    assert(self);
    pthread_mutex_lock(&self->hub_lock);
    bool already = self->stopping;
    self->stopping = true;
    pthread_mutex_unlock(&self->hub_lock);
    if (already || !self->hub)
        return;
    /* calls queued from here on fail in pipeline_call_start; the hub fails the rest */
    zstr_send(self->hub, "STOP");
    zsock_wait(self->hub);
}

void pipeline_destroy(pipeline_t **self_p)
{
    assert(self_p);
    pipeline_t *self = *self_p;
    if (!self)
        return;
    if (self->hub) {
        pipeline_stop(self);
        zactor_destroy(&self->hub);
    }
    if (self->wake[0] >= 0)
        close(self->wake[0]);
    if (self->wake[1] >= 0)
        close(self->wake[1]);
    pthread_mutex_destroy(&self->hub_lock);
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

/* The correlate shard request goes to: each tenant belongs to one (lk_shard_of, as
   correlate checks); 0 for the other peers. */
static uint32_t s_shard_of(const pipeline_t *self, pipeline_peer_t peer, const lk_msg_t *request)
{
    return peer == PIPELINE_CORRELATE && self->shard_count > 1
               ? lk_shard_of(request->tenant_id, self->shard_count)
               : 0;
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

    uint32_t shard = s_shard_of(self, peer, request);
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

/* ---- asynchronous calls ---------------------------------------------------------------- */

pipeline_call_t *pipeline_call_new(pipeline_t *self, pipeline_peer_t peer, lk_msg_t *request,
                                   char *detail, size_t detail_size)
{
    assert(self && request && detail);
    assert((unsigned)peer < PIPELINE_PEER_COUNT);
    const char *name = s_peer_names[peer];
    if (peer != PIPELINE_CORRELATE && !self->endpoints[peer]) {
        snprintf(detail, detail_size, "no endpoint configured for %s", name);
        return NULL;
    }
    pipeline_call_t *call = calloc(1, sizeof *call);
    if (!call) {
        snprintf(detail, detail_size, "out of memory");
        return NULL;
    }
    call->peer = peer;
    call->shard = s_shard_of(self, peer, request);
    request->req = atomic_fetch_add(&s_next_req, 1);
    call->req = request->req;
    if (lk_msg_encode(request, &call->data, &call->size) != 0) {
        lk_error("ingest: cannot encode %s", lk_msg_type_name(request->type));
        snprintf(detail, detail_size, "cannot encode the request to %s", name);
        free(call);
        return NULL;
    }
    atomic_init(&call->state, S_CALL_NEW);
    return call;
}

void pipeline_call_start(pipeline_t *self, pipeline_call_t *call, pipeline_done_fn done, void *arg)
{
    assert(self && call && done);
    assert(atomic_load(&call->state) == S_CALL_NEW);
    call->done = done;
    call->done_arg = arg;
    call->queue_next = NULL;
    atomic_store(&call->state, S_CALL_STARTED);
    pthread_mutex_lock(&self->hub_lock);
    if (self->stopping) {
        pthread_mutex_unlock(&self->hub_lock);
        s_call_fail(call, "ingest is stopping");
        return;
    }
    bool was_empty = !self->queue_head;
    if (self->queue_tail)
        self->queue_tail->queue_next = call;
    else
        self->queue_head = call;
    self->queue_tail = call;
    pthread_mutex_unlock(&self->hub_lock);
    /* one byte per empty-to-busy change: the hub takes the whole queue when it wakes; a full
       pipe (EAGAIN) already holds a wake-up */
    if (was_empty && write(self->wake[1], "", 1) < 0 && errno != EAGAIN)
        lk_error("ingest: cannot wake the pipeline hub: %s", strerror(errno));
}

bool pipeline_call_done(const pipeline_call_t *call)
{
    assert(call);
    return atomic_load(&((pipeline_call_t *)call)->state) == S_CALL_DONE;
}

int pipeline_call_finish(pipeline_call_t **call_p, lk_msg_t *reply, char *detail,
                         size_t detail_size)
{
    assert(call_p && *call_p && reply && detail);
    pipeline_call_t *call = *call_p;
    assert(atomic_load(&call->state) == S_CALL_DONE);
    memset(reply, 0, sizeof *reply);
    int rc = call->rc;
    if (rc == 0) {
        *reply = call->reply;
        call->has_reply = false;
    } else
        snprintf(detail, detail_size, "%s", call->detail);
    s_call_free(call);
    *call_p = NULL;
    return rc;
}

void pipeline_call_destroy(pipeline_call_t **call_p)
{
    assert(call_p);
    pipeline_call_t *call = *call_p;
    if (!call)
        return;
    *call_p = NULL;
    int expected = S_CALL_STARTED;
    if (atomic_compare_exchange_strong(&call->state, &expected, S_CALL_ABANDONED))
        return; /* the hub frees it when it completes */
    s_call_free(call);
}
