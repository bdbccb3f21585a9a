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

typedef enum {
    PIPELINE_CORRELATE = 0, /* alert_batch, command */
    PIPELINE_STORE,         /* query (store's query ROUTER) */
    PIPELINE_PEER_COUNT
} pipeline_peer_t;

typedef struct _pipeline_t pipeline_t;

/* Creates a pipeline for the two peer endpoints (copied). No socket is opened yet. tap may
   be NULL and must outlive the pipeline. Returns NULL on OOM. */
pipeline_t *pipeline_new(const char *correlate_endpoint, const char *store_query_endpoint,
                         int64_t timeout_ms, lk_tap_t *tap);

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
