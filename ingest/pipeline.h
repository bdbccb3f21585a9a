/*  pipeline — requests from the HTTP worker threads to correlate and to store.

    Two ways to ask, with the same answers, timeouts and tap labels:

    Without holding a thread (the alert intake path): pipeline_call_new encodes the request
    on the calling thread; pipeline_call_start hands it to the pipeline's hub, one thread
    that owns a DEALER to each peer (one per correlate shard), sends the request, matches the
    reply by its `req`, and after at most timeout_ms records the reply or the failure in the
    call and runs the caller's done function (ingest.c resumes the suspended HTTP connection
    there); the caller then takes the outcome with pipeline_call_finish.

        pipeline_call_t *call = pipeline_call_new (pipeline, PIPELINE_CORRELATE, &request,
                                                   detail, sizeof detail);
        // suspend the connection first, so that done cannot overtake it; then
        pipeline_call_start (pipeline, call, resume, connection);
        // later, on a worker thread, once done ran:
        if (pipeline_call_finish (&call, &reply, detail, sizeof detail) == 0)
            ... lk_msg_clear (&reply);

    Blocking (the other handlers): pipeline_request sends from the calling thread's own
    DEALER (ZeroMQ sockets must not be shared between threads; each thread lazily opens its
    own the first time it needs one) and waits up to timeout_ms for the reply.

        lk_msg_t reply;
        if (pipeline_request (pipeline, PIPELINE_CORRELATE, &request, &reply, d, sizeof d) == 0)
            ... lk_msg_clear (&reply);

    Either way a request gets a process-wide unique `req`. Replies with another `req` are
    answers to requests that already timed out (the peer was slow or came back late): they
    are dropped. A timed-out request may still be carried out later by the peer; that is
    safe because every write in the pipeline is idempotent and the caller was told to retry.

        pipeline_t *pipeline = pipeline_new (correlate_ep, store_query_ep, 5000, tap);
        ...
        pipeline_stop (pipeline);     // before the HTTP server stops: fails waiting calls
        // once no thread uses it any more (HTTP server stopped):
        pipeline_destroy (&pipeline);
*/
#ifndef INGEST_PIPELINE_H
#define INGEST_PIPELINE_H

#include <stdbool.h>
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

/* Creates a pipeline for the two peer endpoints (copied) and starts its hub thread; no
   socket is opened yet. tap may be NULL and must outlive the pipeline. Returns NULL on OOM,
   when the hub cannot start, or when correlate_endpoint lists more than PIPELINE_SHARDS_MAX
   endpoints or an empty one. */
pipeline_t *pipeline_new(const char *correlate_endpoint, const char *store_query_endpoint,
                         int64_t timeout_ms, lk_tap_t *tap);

/* Sets the endpoint of a peer pipeline_new does not take (PIPELINE_STORE_WRITE), before any
   thread uses the pipeline. Returns 0, or -1 on OOM. Requests to a peer without an endpoint
   fail at once. */
int pipeline_set_endpoint(pipeline_t *self, pipeline_peer_t peer, const char *endpoint);

/* Fails every call the hub still holds ("ingest is stopping"), running their done
   functions, and makes every later pipeline_call_start fail at once the same way; returns
   when that is done. Blocking requests are not affected. Call before the HTTP server stops:
   libmicrohttpd must not be stopped with connections still suspended. */
void pipeline_stop(pipeline_t *self);

/* Stops the hub (pipeline_stop if not done yet), closes every socket any thread opened and
   frees the pipeline. Call only when no thread can use it any more (after the HTTP server
   stopped and joined its threads). */
void pipeline_destroy(pipeline_t **self_p);

/* Sends request (its req is overwritten with a fresh id) to peer from the calling thread's
   own socket and waits for the matching reply. Returns 0 with *reply filled (caller
   lk_msg_clear's it); -1 when the request could not be queued or no matching reply came
   within the timeout, with a one-line explanation in detail and *reply empty. */
int pipeline_request(pipeline_t *self, pipeline_peer_t peer, lk_msg_t *request, lk_msg_t *reply,
                     char *detail, size_t detail_size);

/* ---- without holding a thread ---------------------------------------------------------- */

typedef struct pipeline_call_t pipeline_call_t;

/* Runs once per started call, when its outcome is recorded: on the hub thread, or on the
   thread calling pipeline_call_start when the pipeline is stopping. From the moment it is
   called, the pipeline no longer touches the call. It must not block. */
typedef void (*pipeline_done_fn)(void *arg);

/* Encodes request for peer on the calling thread (its req is overwritten with a fresh id;
   request stays the caller's). Returns the call, not sent yet (start it, or destroy it), or
   NULL with a one-line explanation in detail when no endpoint is configured for peer or on
   OOM. */
pipeline_call_t *pipeline_call_new(pipeline_t *self, pipeline_peer_t peer, lk_msg_t *request,
                                   char *detail, size_t detail_size);

/* Hands call to the hub, which sends it and runs done(arg) exactly once: when the matching
   reply arrived, timeout_ms after it was sent, when it could not be sent (a full queue, a
   socket that cannot be opened), or when the pipeline stops. The call belongs to the
   pipeline until done runs. */
void pipeline_call_start(pipeline_t *self, pipeline_call_t *call, pipeline_done_fn done, void *arg);

/* True once done ran for call (or is running); false for a call not started. */
bool pipeline_call_done(const pipeline_call_t *call);

/* Takes the outcome of a call whose done function ran and frees the call (*call_p becomes
   NULL). Returns 0 with *reply filled (caller lk_msg_clear's it); -1 with a one-line
   explanation in detail and *reply empty, as pipeline_request. */
int pipeline_call_finish(pipeline_call_t **call_p, lk_msg_t *reply, char *detail,
                         size_t detail_size);

/* Frees a call that was not started or whose done function ran; a call still in the hub is
   left to the hub, which frees it when it completes, without running done. Accepts NULL;
   *call_p becomes NULL. */
void pipeline_call_destroy(pipeline_call_t **call_p);

#endif
