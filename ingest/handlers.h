/*  handlers — the endpoints of docs/http-api.md, one function each.

    ingest.c matches the request against the route table (routes.c), authenticates it as the
    route says and collects the body and query arguments; a handler gets the caller's
    identity and an http_request_t, talks to the pipeline, and fills an http_reply_t. Adding
    an endpoint is one line in routes.c plus its handler.
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

#define HTTP_MAX_PATH_PARAMS 2
#define HTTP_PATH_PARAM_MAX  128 /* longer segments are cut; no id of ours is that long */

/* A complete request as a handler sees it. Everything belongs to the server and lives until
   the handler returns. */
typedef struct {
    const char *method; /* "GET", "POST", ... (HEAD is served as GET) */
    const char *path;   /* without the query string */
    /* The "{}" segments of the route pattern, in order, raw (handlers validate them). */
    char params[HTTP_MAX_PATH_PARAMS][HTTP_PATH_PARAM_MAX + 1];
    size_t param_count;
    const http_arg_t *args; /* query-string arguments, in order */
    size_t arg_count;
    const char *body; /* raw body bytes, not NUL-terminated; "" when none */
    size_t body_size;
    /* Looks up a request header (case-insensitive); NULL when absent. */
    const char *(*header)(const void *connection, const char *name);
    const void *connection;
} http_request_t;

/* Reads a request header through the request's lookup function. */
const char *http_request_header(const http_request_t *request, const char *name);

/* Who may call a route. */
typedef enum {
    ROUTE_AUTH_NONE = 0, /* anyone; no tenant (health) */
    ROUTE_AUTH_TENANT,   /* service token + X-Tenant-ID, or JWT (auth.h); caller is set */
    ROUTE_AUTH_HANDLER,  /* the handler authenticates by itself (e.g. a routing key in the
                            body, or a public page scoped by its path); caller is empty */
} route_auth_t;

typedef void (*route_handler_t)(const handler_context_t *context, const auth_identity_t *caller,
                                const http_request_t *request, http_reply_t *reply);

/* One endpoint. pattern is a path whose "{}" segments match any one non-empty segment,
   e.g. "/incidents/{}/acknowledge". */
typedef struct {
    const char *method; /* "GET" (HEAD too), "POST", "PUT", "DELETE" */
    const char *pattern;
    route_auth_t auth;
    route_handler_t handler;
} route_t;

/* The route table (routes.c), ended by an entry with a NULL pattern. */
extern const route_t ingest_routes[];

/* GET /healthz */
void handle_healthz(const handler_context_t *context, const auth_identity_t *caller,
                    const http_request_t *request, http_reply_t *reply);

/* POST /alerts: the native format (docs/http-api.md). */
void handle_post_alerts(const handler_context_t *context, const auth_identity_t *caller,
                        const http_request_t *request, http_reply_t *reply);

/* GET /incidents with its query arguments. */
void handle_list_incidents(const handler_context_t *context, const auth_identity_t *caller,
                           const http_request_t *request, http_reply_t *reply);

/* GET /incidents/{id}. */
void handle_get_incident(const handler_context_t *context, const auth_identity_t *caller,
                         const http_request_t *request, http_reply_t *reply);

/* POST /incidents/{id}/acknowledge and /resolve: body is optional {"actor", "note"}. */
void handle_acknowledge_incident(const handler_context_t *context, const auth_identity_t *caller,
                                 const http_request_t *request, http_reply_t *reply);
void handle_resolve_incident(const handler_context_t *context, const auth_identity_t *caller,
                             const http_request_t *request, http_reply_t *reply);

#endif
