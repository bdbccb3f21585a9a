/*  sse — the GET /events feed: Server-Sent Events of one tenant's incident events.

    libmicrohttpd runs handlers on a small pool of threads, so a stream must never hold a
    thread. One hub thread per ingest process does all the work: it subscribes to store's
    events PUB, fans each event out to the buffers of the streams of its tenant, replays
    history for streams that resume (events queries to store on its own DEALER, paged and
    paced by each client's buffer), and writes a heartbeat comment to every stream. A
    stream's content reader, called by libmicrohttpd, hands out what is buffered; with
    nothing buffered it suspends its connection, and the hub resumes it when it appends.

    Every stream follows the zguide "Clone" pattern: the hub is subscribed before any
    history is read, a resuming stream replays from the outbox (tenant-filtered) until it
    has caught up with what the hub has seen live, then takes live events, dropping what it
    already has; when the hub sees a gap in the live sequence (PUB dropped something) every
    stream goes back to replaying from where it was.

    Bounds: a stream's buffer holds at most client_buffer_bytes (or one frame, if larger). A
    live event that does not fit sends the stream back to replaying, paced by what its client
    reads; a client that reads nothing while bytes wait for two heartbeat intervals is cut
    off (it reconnects with Last-Event-ID). At most max_clients streams are open at once.

        sse_config_t config;
        sse_config_from_env (&config);
        sse_hub_t *hub = sse_hub_new (&config, tap);
        ...   handlers: sse_hub_open (hub, tenant, ...) → reply->stream
        sse_hub_stop (hub);          // before MHD_stop_daemon: ends and resumes every stream
        MHD_stop_daemon (daemon);
        sse_hub_destroy (&hub);
*/
#ifndef INGEST_SSE_H
#define INGEST_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_reply.h"
#include "lk_tap.h"
#include "lk_uuid.h"

typedef struct sse_hub_t sse_hub_t;

typedef struct {
    const char *events_endpoint; /* store's events PUB (LOOKOUT_STORE_EVENTS_ENDPOINT) */
    const char *query_endpoint;  /* store's query ROUTER (LOOKOUT_STORE_QUERY_ENDPOINT) */
    int max_clients;             /* LOOKOUT_SSE_MAX_CLIENTS */
    size_t client_buffer_bytes;  /* LOOKOUT_SSE_CLIENT_BUFFER_BYTES */
    int heartbeat_s;             /* LOOKOUT_SSE_HEARTBEAT_S */
    int64_t query_timeout_ms;    /* LOOKOUT_REQUEST_TIMEOUT_MS: a replay query's patience */
} sse_config_t;

/* Fills config from the environment (env.example). */
void sse_config_from_env(sse_config_t *config);

/* Starts the hub thread (config's strings are copied). tap may be NULL and must outlive the
   hub. Returns NULL (logged) when the sockets cannot be set up. */
sse_hub_t *sse_hub_new(const sse_config_t *config, lk_tap_t *tap);

/* Stops the hub thread and ends every open stream (each is resumed and reads its end), so
   that libmicrohttpd can be stopped next. Later sse_hub_open calls fail. */
void sse_hub_stop(sse_hub_t *self);

/* Frees the hub; call after libmicrohttpd has stopped (it frees the streams). Accepts NULL. */
void sse_hub_destroy(sse_hub_t **self_p);

typedef enum {
    SSE_OPEN_OK = 0,
    SSE_OPEN_FULL,    /* max_clients streams are open: answer 503 */
    SSE_OPEN_STOPPED, /* the hub is stopping: answer 503 */
} sse_open_t;

/* Opens a stream of tenant_id's events for the libmicrohttpd connection (suspended and
   resumed by the stream): after sequence `after` when resume is set (Last-Event-ID,
   ?since=; 0 = the oldest event kept), else from now. On SSE_OPEN_OK *stream is set: the
   caller hands it to the server as the response body, which then owns it. */
sse_open_t sse_hub_open(sse_hub_t *self, const char *tenant_id, bool resume, uint64_t after,
                        void *connection, http_stream_t *stream);

/* Streams open now (for tests and metrics). */
int sse_hub_client_count(sse_hub_t *self);

#endif
