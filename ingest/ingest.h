/*  ingest — the HTTP edge (docs/http-api.md): alert intake, incident API, health.

    ingest_actor runs a libmicrohttpd server with a pool of threads. Alert intake requests
    go to correlate through the pipeline's hub while their connection is suspended, so they
    hold no thread (pipeline.h); the other requests talk to correlate and to store's query
    socket over their thread's own DEALER sockets. Either way an answer that does not come
    within request_timeout_ms is replied 503.
*/
#ifndef INGEST_H
#define INGEST_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *http_address;
    int http_port; /* 0 = any free port (tests); see ingest_actor */
    int http_threads;
    const char *correlate_endpoint;   /* DEALER connects */
    const char *store_query_endpoint; /* DEALER connects */
    const char *store_endpoint;       /* store's mutation ROUTER (on-call overrides) */
    const char *tap_endpoint;         /* NULL = no tap */
    int64_t request_timeout_ms;
    size_t max_body_bytes;
    size_t max_batch;
    /* Alertmanager API v2: a firing alert without endsAt ends this long after it arrived */
    int64_t resolve_timeout_ms;
    char *service_token; /* owned; NULL = disabled */
    char *jwt_secret;    /* owned; NULL = disabled */
    bool dev_mode;
    /* Request limits (0 = the default in parentheses). */
    int http_connection_timeout_s; /* idle/trickling connections are cut after it (30) */
    size_t max_header_bytes;       /* request line + headers of one request (32768): past it
                                      414 (line) or 431 (headers) */
    size_t max_url_bytes;          /* the request target (8192): past it 414 */
    double tenant_rate;            /* intake alerts/s per tenant; 0 = unlimited */
    double tenant_burst;           /* bucket size (0 = 10 s of tenant_rate) */
    int64_t token_cache_ms;        /* ingest-token answers are trusted this long (5000) */
} ingest_config_t;

void ingest_config_from_env(ingest_config_t *config);
/* Frees the secrets. */
void ingest_config_clear(ingest_config_t *config);

/* zactor body: args is an ingest_config_t* that outlives the actor. Once listening it
   signals the pipe; the command "PORT" answers the bound port as a string (useful when
   http_port is 0). */
void ingest_actor(zsock_t *pipe, void *args);

#endif
