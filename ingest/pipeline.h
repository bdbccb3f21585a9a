/*  pipeline — request/reply from an HTTP worker thread to correlate or to store's queries.

    ZeroMQ sockets must not be shared between threads, and every libmicrohttpd worker thread
    blocks on its own request, so each thread lazily opens its own DEALER to each peer the
    first time it needs it. A request gets a process-wide unique `req`; the thread then waits
    up to timeout_ms for the reply carrying that `req`. Replies with another `req` are
    answers to requests that already timed out (the peer was slow or came back late): they
    are dropped. A timed-out request may still be carried out later by the peer; that is
    safe because every write in the pipeline is idempotent and the caller was told to retry.

        pipeline_t *pipeline = pipeline_new (correlate_ep, store_query_ep, 5000, tap);
        // in any worker thread:
        lk_msg_t reply;
        if (pipeline_request (pipeline, PIPELINE_CORRELATE, &request, &reply, d, sizeof d) == 0)
            ... lk_msg_clear (&reply);
        // once no thread uses it any more (HTTP server stopped):
        pipeline_destroy (&pipeline);
*/
#ifndef INGEST_PIPELINE_H
#define INGEST_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "lk_msg.h"
#include "lk_tap.h"

/* Correlate shards: correlate_endpoint may be a comma-separated list, one endpoint per
   correlate shard in shard index order (LOOKOUT_CORRELATE_ENDPOINT); a request to
   correlate goes to shard lk_shard_of(request->tenant_id, shard count). */
#define PIPELINE_SHARDS_MAX 64

typedef enum {
    PIPELINE_CORRELATE = 0, /* alert_batch, command, silence_command, heartbeat_ping */
    PIPELINE_STORE,         /* query (store's query ROUTER) */
    PIPELINE_STORE_WRITE,   /* mutation_batch (store's mutation ROUTER): on-call overrides;
                               its endpoint is set with pipeline_set_endpoint */
    PIPELINE_PEER_COUNT
} pipeline_peer_t;

typedef struct _pipeline_t pipeline_t;

/* Creates a pipeline for the two peer endpoints (copied). No socket is opened yet. tap may
   be NULL and must outlive the pipeline. Returns NULL on OOM or when correlate_endpoint
   lists more than PIPELINE_SHARDS_MAX endpoints or an empty one. */
pipeline_t *pipeline_new(const char *correlate_endpoint, const char *store_query_endpoint,
                         int64_t timeout_ms, lk_tap_t *tap);

/* Sets the endpoint of a peer pipeline_new does not take (PIPELINE_STORE_WRITE), before any
   thread uses the pipeline. Returns 0, or -1 on OOM. Requests to a peer without an endpoint
   fail at once. */
int pipeline_set_endpoint(pipeline_t *self, pipeline_peer_t peer, const char *endpoint);

/* Closes every socket any thread opened and frees the pipeline. Call only when no thread
   can use it any more (after the HTTP server stopped and joined its threads). */
void pipeline_destroy(pipeline_t **self_p);

/* Sends request (its req is overwritten with a fresh id) to peer from the calling thread's
   own socket and waits for the matching reply. Returns 0 with *reply filled (caller
   lk_msg_clear's it); -1 when the request could not be queued or no matching reply came
   within the timeout, with a one-line explanation in detail and *reply empty. */
int pipeline_request(pipeline_t *self, pipeline_peer_t peer, lk_msg_t *request, lk_msg_t *reply,
                     char *detail, size_t detail_size);

#endif
