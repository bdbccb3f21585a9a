/*  sse — the hub behind GET /events (see sse.h).

    Threads and what they touch:
      hub thread      the SUB and DEALER sockets, the client list (under the hub lock), each
                      client's replay state (hub thread only) and buffer (client lock)
      HTTP threads    sse_hub_open (hub lock, to add a client), the content reader (client
                      lock: takes bytes, or suspends the connection), the free callback
                      (atomics only: it may run while libmicrohttpd holds its own locks)
    A connection is resumed only by whoever finds `suspended` set under the client lock, and
    a suspended connection is never closed by libmicrohttpd, so a resume never meets a freed
    connection. A client is freed when both the hub and the stream have let go of it.

    Frames (text/event-stream):
        : lookout events / retry: 3000              once, first
        id: <sequence> / event: <type> / data: {"sequence", "event", "incident"}
        event: gap / data: {"after", "first_sequence"}   (retention removed what was asked)
        : keepalive                                  every heartbeat_s
*/
#include "sse.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "lk_env.h"
#include "lk_json.h"
#include "lk_log.h"
#include "lk_msg.h"
#include "lk_sock.h"
#include "lk_time.h"

#define S_PAGE           200   /* events per replay query */
#define S_REPLAY_ROOM    65536 /* free bytes a replaying stream needs before asking for more */
#define S_TICK_MS        100   /* while a replay waits for its client to read */
#define S_RETRY_MS       1000  /* after a failed or unanswered replay query */
#define S_BUFFER_INITIAL 4096
#define S_PREAMBLE       ": lookout events\nretry: 3000\n\n"
#define S_KEEPALIVE      ": keepalive\n\n"

typedef struct s_client_t {
    pthread_mutex_t lock;
    atomic_int refs;  /* the hub's list and the stream */
    atomic_bool gone; /* the server freed the stream */
    struct MHD_Connection *connection;
    int fd; /* the connection's socket, -1 when unknown */
    sse_hub_t *hub;
    char tenant_id[LK_UUID_STR_LEN + 1];
    /* under lock */
    char *buffer;
    size_t allocated, start, length;
    bool suspended;       /* the reader suspended the connection */
    int64_t last_read_ms; /* when the reader last took bytes or found none waiting */
    bool closing;         /* end the stream once the buffer is read (shutdown) */
    bool cut;             /* end it now: a slow client */
    /* hub thread only */
    bool dead;          /* cut off: nothing more is sent to it */
    bool replaying;     /* reading history from store, not taking live events */
    bool from_now;      /* the first query only learns the outbox's last sequence */
    bool gap_checked;   /* the first replay answer was checked against retention */
    uint64_t watermark; /* every event of the tenant up to here is in the buffer (or was) */
    bool query_pending;
    uint64_t query_req;
    int64_t query_deadline_ms, retry_at_ms;
    struct s_client_t *next;
} s_client_t;

struct sse_hub_t {
    sse_config_t config;
    char *events_endpoint, *query_endpoint;
    lk_tap_t *tap;
    pthread_mutex_t lock; /* guards clients and stopped */
    s_client_t *clients;
    bool stopped;
    atomic_int open_count;
    int wake[2]; /* sse_hub_open writes, the hub thread polls */
    zactor_t *actor;
    bool failed; /* the hub thread could not set up its sockets */
    /* hub thread only */
    zsock_t *events;   /* SUB */
    bool subscribed;   /* events carries the outbox's events: only while a stream is open */
    zsock_t *queries;  /* DEALER */
    uint64_t live_max; /* highest sequence seen live; 0 = none yet */
    /* the outbox's head, asked every heartbeat: a head the PUB never showed (its last
       event dropped, no later one to reveal the gap) sends live streams back to replay */
    bool head_pending;
    uint64_t head_req, head_suspect;
    int64_t head_deadline_ms;
    uint64_t req;
    int64_t next_heartbeat_ms;
};

void sse_config_from_env(sse_config_t *config)
{
    memset(config, 0, sizeof *config);
    config->events_endpoint = lk_env_str("LOOKOUT_STORE_EVENTS_ENDPOINT", "tcp://127.0.0.1:18103");
    config->query_endpoint = lk_env_str("LOOKOUT_STORE_QUERY_ENDPOINT", "tcp://127.0.0.1:18102");
    config->max_clients = (int)lk_env_int("LOOKOUT_SSE_MAX_CLIENTS", 256, 1, 100000);
    config->client_buffer_bytes =
        (size_t)lk_env_int("LOOKOUT_SSE_CLIENT_BUFFER_BYTES", 262144, 4096, 64 * 1024 * 1024);
    config->heartbeat_s = (int)lk_env_int("LOOKOUT_SSE_HEARTBEAT_S", 15, 1, 3600);
    config->query_timeout_ms = lk_env_int("LOOKOUT_REQUEST_TIMEOUT_MS", 5000, 1, 600000);
}

/* ---- clients --------------------------------------------------------------------------- */

static void s_unref(s_client_t *client)
{
    if (atomic_fetch_sub(&client->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&client->lock);
    free(client->buffer);
    free(client);
}

/* Wakes the connection if its reader suspended it. Caller holds the client lock. */
static void s_wake_locked(s_client_t *client)
{
    if (client->suspended) {
        client->suspended = false;
        MHD_resume_connection(client->connection);
    }
}

/* Appends size bytes to the client's buffer and wakes its connection. Returns false when
   they do not fit the buffer limit (an empty buffer takes any one frame, so a frame larger
   than the limit cannot block a stream forever), or the stream is ending. */
static bool s_append(s_client_t *client, const char *data, size_t size)
{
    size_t limit = client->hub->config.client_buffer_bytes;
    pthread_mutex_lock(&client->lock);
    bool fits =
        !client->cut && !client->closing && (client->length == 0 || client->length + size <= limit);
    if (fits && client->start + client->length + size > client->allocated) {
        if (client->start > 0) {
            memmove(client->buffer, client->buffer + client->start, client->length);
            client->start = 0;
        }
        if (client->length + size > client->allocated) {
            size_t allocated = client->allocated ? client->allocated : S_BUFFER_INITIAL;
            while (allocated < client->length + size)
                allocated *= 2;
            if (allocated > limit && client->length + size <= limit)
                allocated = limit;
            char *grown = realloc(client->buffer, allocated);
            if (grown) {
                client->buffer = grown;
                client->allocated = allocated;
            } else
                fits = false;
        }
    }
    if (fits) {
        memcpy(client->buffer + client->start + client->length, data, size);
        client->length += size;
        s_wake_locked(client);
    }
    pthread_mutex_unlock(&client->lock);
    return fits;
}

/* Ends a stream whose client stopped reading: its buffer goes at once, its connection is
   closed the next time the server asks for data (or by the server's idle timeout). */
static void s_cut(s_client_t *client)
{
    client->dead = true;
    pthread_mutex_lock(&client->lock);
    if (!client->cut)
        lk_info("ingest: /events: cut off a stream of tenant %s that stopped reading",
                client->tenant_id);
    client->cut = true;
    free(client->buffer);
    client->buffer = NULL;
    client->allocated = client->start = client->length = 0;
    s_wake_locked(client);
    pthread_mutex_unlock(&client->lock);
}

/* True when the kernel still holds bytes of this stream the client has not taken (its
   socket's send queue is not empty), or when that cannot be told. */
static bool s_client_behind(s_client_t *client)
{
    int queued = 0;
    if (client->fd < 0 || atomic_load(&client->gone) || ioctl(client->fd, SIOCOUTQ, &queued) != 0)
        return true;
    return queued > 0;
}

/* Free bytes in the client's buffer (under its limit); *stalled tells whether the client
   stopped reading: bytes have been waiting longer than the stall limit without the reader
   taking any, and what the socket was given before is still unread. The second half matters
   when the connection's HTTP thread is busy (a request on the same thread waiting for a
   slow pipeline): the reader is then not called for a while, but a client that has read
   everything sent to it is not the one that is slow. */
static size_t s_room(s_client_t *client, int64_t now, bool *stalled)
{
    size_t limit = client->hub->config.client_buffer_bytes;
    int64_t stall_ms = 2 * (int64_t)client->hub->config.heartbeat_s * 1000;
    pthread_mutex_lock(&client->lock);
    size_t used = client->length;
    *stalled = used > 0 && now - client->last_read_ms > stall_ms;
    pthread_mutex_unlock(&client->lock);
    if (*stalled && !s_client_behind(client))
        *stalled = false;
    return used >= limit ? 0 : limit - used;
}

/* The content reader, on an HTTP thread. */
static long s_read(void *cls, unsigned long long position, char *buf, size_t max)
{
    s_client_t *client = cls;
    long result;
    pthread_mutex_lock(&client->lock);
    if (client->cut)
        result = HTTP_STREAM_ERROR;
    else if (client->length > 0) {
        size_t size = client->length < max ? client->length : max;
        memcpy(buf, client->buffer + client->start, size);
        client->start += size;
        client->length -= size;
        if (client->length == 0)
            client->start = 0;
        client->last_read_ms = lk_mono_ms();
        result = (long)size;
    } else if (client->closing)
        result = HTTP_STREAM_END;
    else {
        /* nothing to send: give the thread back until the hub appends */
        client->last_read_ms = lk_mono_ms();
        client->suspended = true;
        MHD_suspend_connection(client->connection);
        result = 0;
    }
    pthread_mutex_unlock(&client->lock);
    return result;
}

/* The stream's free callback, on an HTTP thread (maybe under the server's own locks: only
   atomics here). */
static void s_free(void *cls)
{
    s_client_t *client = cls;
    atomic_store(&client->gone, true);
    atomic_fetch_sub(&client->hub->open_count, 1);
    s_unref(client);
}

/* ---- frames ---------------------------------------------------------------------------- */

/* The SSE frame of one event (malloc'd, *size set), or NULL on OOM. */
static char *s_frame(const lk_event_t *event, const lk_incident_t *incident, size_t *size)
{
    json_t *data = json_object();
    if (data) {
        json_object_set_new(data, "sequence", json_integer((json_int_t)event->sequence));
        json_object_set_new(data, "event", lk_json_event(event));
        json_object_set_new(data, "incident", lk_json_incident(incident));
    }
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    if (!text)
        return NULL;
    /* the event line must stay one line whatever the type holds */
    char type[64];
    snprintf(type, sizeof type, "%s", event->type ? event->type : "event");
    for (char *cursor = type; *cursor; cursor++)
        if (*cursor == '\n' || *cursor == '\r')
            *cursor = '_';
    size_t room = strlen(text) + strlen(type) + 64;
    char *frame = malloc(room);
    int length = frame ? snprintf(frame, room, "id: %" PRIu64 "\nevent: %s\ndata: %s\n\n",
                                  event->sequence, type, text)
                       : -1;
    free(text);
    if (length < 0 || (size_t)length >= room) {
        free(frame);
        return NULL;
    }
    *size = (size_t)length;
    return frame;
}

/* ---- the hub thread -------------------------------------------------------------------- */

/* Sends the next replay query of client. */
static void s_query(sse_hub_t *self, s_client_t *client)
{
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_QUERY);
    request.req = ++self->req;
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", client->tenant_id);
    request.query.kind = LK_QUERY_EVENTS;
    /* a stream starting now only needs the outbox's last sequence: ask past the end */
    request.query.after_sequence = client->from_now ? (uint64_t)INT64_MAX : client->watermark;
    request.query.limit = client->from_now ? 1 : S_PAGE;
    int64_t now = lk_mono_ms();
    if (lk_sock_send(self->queries, NULL, &request, self->tap, "sse>store") != 0) {
        client->retry_at_ms = now + S_RETRY_MS;
        lk_msg_clear(&request);
        return;
    }
    lk_msg_clear(&request);
    client->query_pending = true;
    client->query_req = self->req;
    client->query_deadline_ms = now + self->config.query_timeout_ms;
}

/* A replay answer for client (hub lock held). */
static void s_on_replay(sse_hub_t *self, s_client_t *client, const lk_msg_t *reply)
{
    client->query_pending = false;
    if (reply->status != LK_STATUS_OK) {
        lk_warn("ingest: /events: replay query failed: %s", reply->error ? reply->error : "?");
        client->retry_at_ms = lk_mono_ms() + S_RETRY_MS;
        return;
    }
    if (client->from_now) {
        client->from_now = false;
        client->gap_checked = true;
        client->watermark = reply->last_sequence;
    } else {
        if (!client->gap_checked) {
            client->gap_checked = true;
            if (reply->first_sequence > client->watermark + 1) {
                char gap[160];
                int length = snprintf(gap, sizeof gap,
                                      "event: gap\ndata: {\"after\":%" PRIu64
                                      ",\"first_sequence\":%" PRIu64 "}\n\n",
                                      client->watermark, reply->first_sequence);
                s_append(client, gap, (size_t)length);
            }
        }
        for (size_t index = 0; index < reply->event_count && index < reply->incident_count;
             index++) {
            const lk_event_t *event = &reply->events[index];
            if (event->sequence <= client->watermark)
                continue;
            size_t size = 0;
            char *frame = s_frame(event, &reply->incidents[index], &size);
            bool taken = frame && s_append(client, frame, size);
            free(frame);
            if (!taken)
                return; /* the client reads slowly: more when it has made room */
            client->watermark = event->sequence;
        }
        if (reply->event_count >= S_PAGE)
            return; /* a full page: there may be more */
        /* every event of the tenant up to the snapshot's end is in (and a position past the
           end, from another database, comes back to it rather than hide what comes next) */
        client->watermark = reply->last_sequence;
    }
    /* caught up with the snapshot; live takes over unless live has already gone past it */
    if (self->live_max > client->watermark)
        client->retry_at_ms = 0;
    else
        client->replaying = false;
}

static void s_on_reply(sse_hub_t *self, const lk_msg_t *reply)
{
    if (reply->type != LK_MSG_QUERY_REPLY)
        return;
    if (self->head_pending && reply->req == self->head_req) {
        self->head_pending = false;
        /* suspect only: the PUB may simply not have delivered it yet; the next heartbeat
           decides */
        if (reply->status == LK_STATUS_OK && reply->last_sequence > self->live_max)
            self->head_suspect = reply->last_sequence;
        return;
    }
    pthread_mutex_lock(&self->lock);
    for (s_client_t *client = self->clients; client; client = client->next)
        if (client->query_pending && client->query_req == reply->req) {
            if (!atomic_load(&client->gone))
                s_on_replay(self, client, reply);
            break;
        }
    pthread_mutex_unlock(&self->lock);
}

/* A live event: to every live stream of its tenant. */
static void s_on_live(sse_hub_t *self, const lk_msg_t *msg)
{
    if (msg->type != LK_MSG_EVENT || msg->event_count != 1 || msg->incident_count != 1)
        return;
    const lk_event_t *event = &msg->events[0];
    uint64_t sequence = event->sequence;
    if (self->live_max && sequence <= self->live_max)
        return;
    bool gap = self->live_max && sequence > self->live_max + 1;
    self->live_max = sequence;
    char *frame = NULL;
    size_t size = 0;
    pthread_mutex_lock(&self->lock);
    for (s_client_t *client = self->clients; client; client = client->next) {
        if (client->replaying || client->dead || atomic_load(&client->gone))
            continue;
        if (gap) {
            /* the PUB dropped something: every live stream re-reads from where it is */
            client->replaying = true;
            client->retry_at_ms = 0;
            continue;
        }
        if (strcmp(client->tenant_id, event->tenant_id) != 0 || sequence <= client->watermark)
            continue;
        if (!frame && !(frame = s_frame(event, &msg->incidents[0], &size)))
            break;
        if (s_append(client, frame, size))
            client->watermark = sequence;
        else {
            /* a burst it has no room for: it catches up by replay, paced by its reading */
            client->replaying = true;
            client->retry_at_ms = 0;
        }
    }
    pthread_mutex_unlock(&self->lock);
    free(frame);
}

/* Timers: drops freed clients, starts replay queries, expires unanswered ones, writes
   heartbeats. */
static void s_step(sse_hub_t *self)
{
    int64_t now = lk_mono_ms();
    bool heartbeat = now >= self->next_heartbeat_ms;
    if (heartbeat)
        self->next_heartbeat_ms = now + (int64_t)self->config.heartbeat_s * 1000;
    size_t wanted = self->config.client_buffer_bytes / 2 < S_REPLAY_ROOM
                        ? self->config.client_buffer_bytes / 2
                        : S_REPLAY_ROOM;
    /* a head seen at the last heartbeat and still not live: something was dropped */
    bool missed = heartbeat && self->head_suspect > self->live_max;
    if (missed)
        self->live_max = self->head_suspect;
    if (heartbeat)
        self->head_suspect = 0;
    if (self->head_pending && now >= self->head_deadline_ms)
        self->head_pending = false;
    pthread_mutex_lock(&self->lock);
    s_client_t **link = &self->clients;
    while (*link) {
        s_client_t *client = *link;
        if (atomic_load(&client->gone)) {
            *link = client->next;
            s_unref(client);
            continue;
        }
        link = &client->next;
        if (client->dead)
            continue;
        if (missed && !client->replaying) {
            client->replaying = true;
            client->retry_at_ms = 0;
        }
        if (client->query_pending && now >= client->query_deadline_ms) {
            lk_warn("ingest: /events: store did not answer a replay query");
            client->query_pending = false;
            client->retry_at_ms = now + S_RETRY_MS;
        }
        bool stalled;
        size_t room = s_room(client, now, &stalled);
        if (stalled) { /* it reads nothing: its place and memory go to others */
            s_cut(client);
            continue;
        }
        if (client->replaying && !client->query_pending && now >= client->retry_at_ms &&
            room >= wanted)
            s_query(self, client);
        if (heartbeat)
            s_append(client, S_KEEPALIVE, sizeof S_KEEPALIVE - 1);
    }
    bool listened = self->clients != NULL;
    pthread_mutex_unlock(&self->lock);
    if (heartbeat && listened && !self->head_pending) {
        lk_msg_t request;
        lk_msg_init(&request, LK_MSG_QUERY);
        request.req = ++self->req;
        request.query.kind = LK_QUERY_EVENTS;
        request.query.after_sequence = (uint64_t)INT64_MAX; /* no rows: only the bounds */
        request.query.limit = 1;
        if (lk_sock_send(self->queries, NULL, &request, self->tap, "sse>store") == 0) {
            self->head_pending = true;
            self->head_req = self->req;
            self->head_deadline_ms = now + self->config.query_timeout_ms;
        }
        lk_msg_clear(&request);
    }
}

/* How long the hub may sleep: until the next heartbeat, a replay deadline or retry, or a
   short tick while a replay waits for its client to read. */
static long s_timeout(sse_hub_t *self)
{
    int64_t now = lk_mono_ms();
    int64_t next = self->next_heartbeat_ms;
    pthread_mutex_lock(&self->lock);
    for (s_client_t *client = self->clients; client; client = client->next) {
        int64_t due = next;
        if (atomic_load(&client->gone))
            due = now; /* tidy up at once */
        else if (client->dead)
            continue;
        else if (client->query_pending)
            due = client->query_deadline_ms;
        else if (client->replaying) /* waiting for a retry, or for its client to read */
            due = client->retry_at_ms > now ? client->retry_at_ms : now + S_TICK_MS;
        if (due < next)
            next = due;
    }
    pthread_mutex_unlock(&self->lock);
    return next <= now ? 0 : (long)(next - now);
}

static void s_hub_actor(zsock_t *pipe, void *args)
{
    sse_hub_t *self = args;
    self->events = lk_sock_new(ZMQ_SUB, self->events_endpoint);
    self->subscribed = true; /* lk_sock_new subscribes a SUB to everything */
    self->queries = lk_sock_new(ZMQ_DEALER, self->query_endpoint);
    if (!self->events || !self->queries) {
        self->failed = true;
        zsock_destroy(&self->events);
        zsock_destroy(&self->queries);
        zsock_signal(pipe, 0);
        char *command = zstr_recv(pipe); /* wait for $TERM */
        zstr_free(&command);
        return;
    }
    self->next_heartbeat_ms = lk_mono_ms() + (int64_t)self->config.heartbeat_s * 1000;
    zsock_signal(pipe, 0);
    zmq_pollitem_t items[] = {
        {zsock_resolve(pipe), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(self->events), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(self->queries), 0, ZMQ_POLLIN, 0},
        {NULL, self->wake[0], ZMQ_POLLIN, 0},
    };
    while (true) {
        s_step(self);
        if (zmq_poll(items, 4, s_timeout(self)) < 0 && errno != EINTR)
            break;
        if (items[0].revents & ZMQ_POLLIN) {
            char *command = zstr_recv(pipe);
            bool term = !command || strcmp(command, "$TERM") == 0;
            zstr_free(&command);
            if (term)
                break;
        }
        if (items[3].revents & ZMQ_POLLIN) {
            char drain[64];
            while (read(self->wake[0], drain, sizeof drain) > 0)
                ;
        }
        lk_msg_t msg;
        /* with no stream open nobody needs the events: the subscription is dropped, so store
           sends none (under a flood of new alerts, receiving and dropping them was a tenth of
           ingest's work). A stream that opens replays from the store anyway, and the first
           live event after the subscription is back sends it to replay what it missed. */
        pthread_mutex_lock(&self->lock);
        bool listened = self->clients != NULL;
        pthread_mutex_unlock(&self->lock);
        if (listened != self->subscribed) {
            if (listened)
                zsock_set_subscribe(self->events, "");
            else
                zsock_set_unsubscribe(self->events, "");
            self->subscribed = listened;
        }
        while (zsock_events(self->events) & ZMQ_POLLIN) {
            /* one sent before the subscription was dropped: dropped undecoded. live_max goes
               back to "none yet". */
            pthread_mutex_lock(&self->lock);
            listened = self->clients != NULL;
            pthread_mutex_unlock(&self->lock);
            if (!listened) {
                zmsg_t *unread = zmsg_recv(self->events);
                zmsg_destroy(&unread);
                self->live_max = 0;
                continue;
            }
            if (lk_sock_recv(self->events, NULL, &msg, self->tap, "sse<events") == 0)
                s_on_live(self, &msg);
            lk_msg_clear(&msg);
        }
        while (zsock_events(self->queries) & ZMQ_POLLIN) {
            if (lk_sock_recv(self->queries, NULL, &msg, self->tap, "sse<store") == 0)
                s_on_reply(self, &msg);
            lk_msg_clear(&msg);
        }
    }
    zsock_destroy(&self->events);
    zsock_destroy(&self->queries);
}

/* ---- public ---------------------------------------------------------------------------- */

sse_hub_t *sse_hub_new(const sse_config_t *config, lk_tap_t *tap)
{
    assert(config && config->events_endpoint && config->query_endpoint && config->max_clients > 0 &&
           config->client_buffer_bytes > 0 && config->heartbeat_s > 0);
    sse_hub_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    self->events_endpoint = strdup(config->events_endpoint);
    self->query_endpoint = strdup(config->query_endpoint);
    self->tap = tap;
    self->wake[0] = self->wake[1] = -1;
    pthread_mutex_init(&self->lock, NULL);
    if (!self->events_endpoint || !self->query_endpoint || pipe(self->wake) != 0) {
        sse_hub_destroy(&self);
        return NULL;
    }
    for (int end = 0; end < 2; end++) {
        fcntl(self->wake[end], F_SETFL, fcntl(self->wake[end], F_GETFL) | O_NONBLOCK);
        fcntl(self->wake[end], F_SETFD, FD_CLOEXEC);
    }
    self->actor = zactor_new(s_hub_actor, self);
    if (!self->actor || self->failed) {
        lk_error("ingest: /events: cannot reach store at %s and %s", config->events_endpoint,
                 config->query_endpoint);
        zactor_destroy(&self->actor);
        sse_hub_destroy(&self);
        return NULL;
    }
    return self;
}

void sse_hub_stop(sse_hub_t *self)
{
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    self->stopped = true;
    pthread_mutex_unlock(&self->lock);
    zactor_destroy(&self->actor);
    pthread_mutex_lock(&self->lock);
    for (s_client_t *client = self->clients; client; client = client->next) {
        pthread_mutex_lock(&client->lock);
        client->closing = true;
        if (!atomic_load(&client->gone))
            s_wake_locked(client);
        pthread_mutex_unlock(&client->lock);
    }
    pthread_mutex_unlock(&self->lock);
}

void sse_hub_destroy(sse_hub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sse_hub_t *self = *self_p;
    zactor_destroy(&self->actor);
    while (self->clients) {
        s_client_t *client = self->clients;
        self->clients = client->next;
        s_unref(client);
    }
    for (int end = 0; end < 2; end++)
        if (self->wake[end] >= 0)
            close(self->wake[end]);
    pthread_mutex_destroy(&self->lock);
    free(self->events_endpoint);
    free(self->query_endpoint);
    free(self);
    *self_p = NULL;
}

sse_open_t sse_hub_open(sse_hub_t *self, const char *tenant_id, bool resume, uint64_t after,
                        void *connection, http_stream_t *stream)
{
    if (atomic_fetch_add(&self->open_count, 1) >= self->config.max_clients) {
        atomic_fetch_sub(&self->open_count, 1);
        return SSE_OPEN_FULL;
    }
    s_client_t *client = calloc(1, sizeof *client);
    if (!client) {
        atomic_fetch_sub(&self->open_count, 1);
        return SSE_OPEN_FULL;
    }
    pthread_mutex_init(&client->lock, NULL);
    atomic_init(&client->refs, 2);
    atomic_init(&client->gone, false);
    client->connection = connection;
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    client->fd = info ? info->connect_fd : -1;
    client->hub = self;
    snprintf(client->tenant_id, sizeof client->tenant_id, "%s", tenant_id);
    client->replaying = true;
    client->last_read_ms = lk_mono_ms();
    client->from_now = !resume;
    client->watermark = resume ? after : 0;
    s_append(client, S_PREAMBLE, sizeof S_PREAMBLE - 1);
    pthread_mutex_lock(&self->lock);
    bool stopped = self->stopped;
    if (!stopped) {
        client->next = self->clients;
        self->clients = client;
    }
    pthread_mutex_unlock(&self->lock);
    if (stopped) {
        atomic_fetch_sub(&self->open_count, 1);
        pthread_mutex_destroy(&client->lock);
        free(client->buffer);
        free(client);
        return SSE_OPEN_STOPPED;
    }
    if (write(self->wake[1], "!", 1) < 0 && errno != EAGAIN)
        lk_warn("ingest: /events: cannot wake the hub: %s", strerror(errno));
    stream->read = s_read;
    stream->free = s_free;
    stream->cls = client;
    return SSE_OPEN_OK;
}

int sse_hub_client_count(sse_hub_t *self)
{
    return atomic_load(&self->open_count);
}
