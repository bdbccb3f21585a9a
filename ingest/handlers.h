/*  handlers — the endpoints of docs/http-api.md, one function each.

    ingest.c routes, authenticates and collects the body and query arguments; a handler gets
    the caller's identity and those inputs, talks to the pipeline, and fills an http_reply_t.
    Handlers run on libmicrohttpd worker threads and block for at most the pipeline timeout.
*/
#ifndef INGEST_HANDLERS_H
#define INGEST_HANDLERS_H

#include <stddef.h>

#include "auth.h"
#include "http_reply.h"
#include "ingest.h"
#include "lk_msg.h"
#include "pipeline.h"

/* What every handler may use; shared by all worker threads, read-only. */
typedef struct {
    const ingest_config_t *config;
    pipeline_t *pipeline;
} handler_context_t;

/* One decoded query-string argument; both strings belong to the HTTP server. value is ""
   for an argument given without "=". */
typedef struct {
    const char *name;
    const char *value;
} http_arg_t;

/* POST /alerts: body is the raw request body (any bytes, not NUL-terminated). */
void handle_post_alerts(const handler_context_t *context, const auth_identity_t *caller,
                        const char *body, size_t body_size, http_reply_t *reply);

/* GET /incidents with its query arguments. */
void handle_list_incidents(const handler_context_t *context, const auth_identity_t *caller,
                           const http_arg_t *args, size_t arg_count, http_reply_t *reply);

/* GET /incidents/{id}: incident_id is the raw path segment (validated here). */
void handle_get_incident(const handler_context_t *context, const auth_identity_t *caller,
                         const char *incident_id, http_reply_t *reply);

/* POST /incidents/{id}/acknowledge and /resolve: body is optional {"actor", "note"}. */
void handle_incident_command(const handler_context_t *context, const auth_identity_t *caller,
                             lk_action_t action, const char *incident_id, const char *body,
                             size_t body_size, http_reply_t *reply);

#endif
