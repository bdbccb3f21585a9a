/*  handlers — the endpoints of docs/http-api.md, one function each.

    ingest.c matches the request against the route table (routes.c), authenticates it as the
    route says and collects the body and query arguments; a handler gets the caller's
    identity and an http_request_t, talks to the pipeline, and fills an http_reply_t. Adding
    an endpoint is one line in routes.c plus its handler.
    Handlers run on libmicrohttpd worker threads. The alert intake handlers never wait there:
    they hand their request to the pipeline with handler_defer and finish the reply in a
    continuation once the answer came, while the thread serves other connections. The other
    handlers ask with handler_ask, which blocks their thread for at most the pipeline
    timeout.
*/
#ifndef INGEST_HANDLERS_H
#define INGEST_HANDLERS_H

#include <stdbool.h>
#include <stddef.h>

#include "alert_parse.h"
#include "auth.h"
#include "http_reply.h"
#include "ingest.h"
#include "lk_config.h"
#include "lk_msg.h"
#include "pipeline.h"

/* What every handler may use; shared by all worker threads, read-only. */
typedef struct {
    const ingest_config_t *config;
    pipeline_t *pipeline;
    const lk_config_t *file_config;     /* the YAML file (LOOKOUT_CONFIG), read once at start
                                           (status pages, on-call schedules and users) */
    struct intake_keys_t *integrations; /* its `integrations:`, re-read on SIGHUP
                                           (intake_keys.h) */
    struct sse_hub_t *sse;              /* GET /events (sse.h); NULL = unavailable */
    struct status_service_t *status;    /* public status pages (status_service.h); NULL = none */
    struct ingest_tokens_t *tokens;     /* per-tenant ingest tokens (tokens.h); NULL = none */
    struct rate_limit_t *rate_limit;    /* per-tenant intake rates (rate_limit.h); NULL = off */
} handler_context_t;

/* One decoded query-string argument; both strings belong to the HTTP server. value is ""
   for an argument given without "=". */
typedef struct {
    const char *name;
    const char *value;
} http_arg_t;

#define HTTP_MAX_PATH_PARAMS 2
#define HTTP_PATH_PARAM_MAX  128 /* longer segments are cut; no id of ours is that long */

typedef struct handler_pending_t handler_pending_t;

/* A complete request as a handler sees it. Everything belongs to the server and lives until
   the request ends (also across handler_defer). */
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
    handler_pending_t *pending; /* the server's slot for handler_defer */
} http_request_t;

/* Reads a request header through the request's lookup function. */
const char *http_request_header(const http_request_t *request, const char *name);

/* Sends request to peer and waits for the answer (request stays the caller's to clear).
   Returns 0 with *answer filled (caller clears): of the expected type and, when ok_only,
   with status LK_STATUS_OK. Otherwise -1 with *answer empty and reply filled: 503 when the
   peer did not answer in time, 500 for an answer of another type, and the answer's own
   status as HTTP (http_reply_status) when ok_only and it is not OK. */
int handler_ask(const handler_context_t *context, pipeline_peer_t peer, lk_msg_t *request,
                lk_msg_type_t expected, bool ok_only, lk_msg_t *answer, http_reply_t *reply);

/* What a handler does once the answer to its deferred request is in: answer is the peer's
   reply (the server clears it afterwards; take what you keep), or NULL when the pipeline
   failed (not sent, timed out, stopping), with the reason in detail — the answer
   pipeline_request would have given. It fills reply, or calls handler_defer again for a next
   step. state is the one given to handler_defer. */
typedef void (*handler_then_t)(const handler_context_t *context, const http_request_t *request,
                               void *state, lk_msg_t *answer, const char *detail,
                               http_reply_t *reply);

/* The server's record of a deferred answer, one per request (ingest.c). */
struct handler_pending_t {
    pipeline_call_t *call; /* made by handler_defer; the server starts it */
    handler_then_t then;   /* set while a continuation is due */
    void *state;
    void (*state_free)(void *state);
    char detail[256]; /* why the call could not even be made (call is NULL) */
};

/* Sends message to peer (it stays the caller's to clear) without waiting: the handler
   returns leaving reply empty, the server suspends the connection, which frees the thread
   for other connections, and once the answer arrived or the pipeline timeout passed calls
   then(context, request, state, ...) on one of its threads. When the message cannot even be
   sent, then is called the same way at once, with the reason. state (may be NULL) belongs to
   the server from this call on, whatever happens: it stays the same across the request's
   deferrals and is freed with state_free (if not NULL) when the request ends. */
void handler_defer(const handler_context_t *context, const http_request_t *request,
                   pipeline_peer_t peer, lk_msg_t *message, handler_then_t then, void *state,
                   void (*state_free)(void *state));

/* handler_defer of an alert_batch to correlate for tenant_id made of alerts[0..count),
   which the message only borrows for its encoding (no deep copy): they stay the caller's. */
void handler_defer_alerts(const handler_context_t *context, const http_request_t *request,
                          const char *tenant_id, lk_alert_t *alerts, size_t count,
                          handler_then_t then, void *state, void (*state_free)(void *state));

/* Fills reply with 400 {"error": "invalid query parameter", "detail": {parameter, message}}.
   Returns -1 for the caller's convenience. */
int handler_bad_parameter(http_reply_t *reply, const char *name, const char *message);

/* The answer to an alert batch correlate took: ok_status with {accepted, rejected, alerts,
   errors} (alert_parse_results_json / alert_parse_errors_json), or 400 with the same plus
   {error, detail} when some of the element_count elements were invalid. The errors appear
   twice on purpose: "detail" keeps the shape every error reply has, "errors" keeps the shape
   of the success answer for clients that read the counts. */
void handler_alerts_answer(http_reply_t *reply, int ok_status, const alert_parse_result_t *parsed,
                           const lk_alert_result_t *results, size_t element_count);

/* A `limit` query argument: digits only, 1..max, into *limit. Returns 0, or -1 with a 400. */
int handler_parse_limit(const char *value, uint32_t max, uint32_t *limit, http_reply_t *reply);

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

/* GET /metrics (handlers_metrics.c): the process's Prometheus exposition; takes the service
   token without a tenant (it names tenants), or nothing in dev mode. */
void handle_metrics(const handler_context_t *context, const auth_identity_t *caller,
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

/* GET /events: Server-Sent Events of the caller's tenant (handlers_events.c). */
void handle_events(const handler_context_t *context, const auth_identity_t *caller,
                   const http_request_t *request, http_reply_t *reply);

/* POST /incidents/{id}/acknowledge and /resolve: body is optional {"actor", "note"}, and for
   acknowledge "ack_timeout_s" (the acknowledgement lapses after it; escalation resumes). */
void handle_acknowledge_incident(const handler_context_t *context, const auth_identity_t *caller,
                                 const http_request_t *request, http_reply_t *reply);
void handle_resolve_incident(const handler_context_t *context, const auth_identity_t *caller,
                             const http_request_t *request, http_reply_t *reply);

/* Ecosystem intake (handlers_intake.c). These authenticate by themselves (ROUTE_AUTH_HANDLER):
   an integration key from the YAML file's `integrations:` (as Bearer token, or as PagerDuty's
   routing_key), or for the first two also the usual tenant credentials. */
/* POST /api/v2/alerts: the Alertmanager API v2 alert post (Prometheus). */
void handle_prometheus_alerts(const handler_context_t *context, const auth_identity_t *caller,
                              const http_request_t *request, http_reply_t *reply);
/* POST /webhooks/alertmanager: an Alertmanager webhook notification (payload version 4). */
void handle_alertmanager_webhook(const handler_context_t *context, const auth_identity_t *caller,
                                 const http_request_t *request, http_reply_t *reply);
/* POST /v2/enqueue: a PagerDuty Events API v2 event. */
void handle_pagerduty_enqueue(const handler_context_t *context, const auth_identity_t *caller,
                              const http_request_t *request, http_reply_t *reply);

/* Silences, heartbeat monitors and held alerts (handlers_silences.c, docs/http-api.md):
   POST /silences, GET /silences, GET /silences/{id}, DELETE /silences/{id},
   POST /heartbeats/{name}, GET /heartbeats, GET /alerts/suppressed. */
void handle_post_silence(const handler_context_t *context, const auth_identity_t *caller,
                         const http_request_t *request, http_reply_t *reply);
void handle_list_silences(const handler_context_t *context, const auth_identity_t *caller,
                          const http_request_t *request, http_reply_t *reply);
void handle_get_silence(const handler_context_t *context, const auth_identity_t *caller,
                        const http_request_t *request, http_reply_t *reply);
void handle_delete_silence(const handler_context_t *context, const auth_identity_t *caller,
                           const http_request_t *request, http_reply_t *reply);
void handle_heartbeat_ping(const handler_context_t *context, const auth_identity_t *caller,
                           const http_request_t *request, http_reply_t *reply);
void handle_list_heartbeats(const handler_context_t *context, const auth_identity_t *caller,
                            const http_request_t *request, http_reply_t *reply);
void handle_list_suppressed(const handler_context_t *context, const auth_identity_t *caller,
                            const http_request_t *request, http_reply_t *reply);

/* On-call (handlers_oncall.c): GET /oncall[?at=RFC3339] — who is on call for each of the
   tenant's schedules and policies; POST /oncall/overrides — {schedule, user, start, end,
   created_by?} stored through store; GET /oncall/overrides, DELETE /oncall/overrides/{id}. */
void handle_get_oncall(const handler_context_t *context, const auth_identity_t *caller,
                       const http_request_t *request, http_reply_t *reply);
void handle_post_oncall_override(const handler_context_t *context, const auth_identity_t *caller,
                                 const http_request_t *request, http_reply_t *reply);
/* GET /oncall/overrides: the tenant's current and future overrides. */
void handle_list_oncall_overrides(const handler_context_t *context, const auth_identity_t *caller,
                                  const http_request_t *request, http_reply_t *reply);
/* DELETE /oncall/overrides/{id}: ends an override now. */
void handle_delete_oncall_override(const handler_context_t *context, const auth_identity_t *caller,
                                   const http_request_t *request, http_reply_t *reply);

/* Status pages (handlers_status.c): public, no credentials (ROUTE_AUTH_HANDLER) — GET /status
   (the page by ?page=, Host, or the only one), GET /status/{slug} (HTML) and
   /status/{slug}.json, GET /status/{slug}/events ("changed" stream), GET / (the page of the
   Host); and the tenant's POST /incidents/{id}/updates {message, visibility?, status?,
   title?, author?}. */
void handle_status(const handler_context_t *context, const auth_identity_t *caller,
                   const http_request_t *request, http_reply_t *reply);
void handle_status_page(const handler_context_t *context, const auth_identity_t *caller,
                        const http_request_t *request, http_reply_t *reply);
void handle_status_events(const handler_context_t *context, const auth_identity_t *caller,
                          const http_request_t *request, http_reply_t *reply);
void handle_status_root(const handler_context_t *context, const auth_identity_t *caller,
                        const http_request_t *request, http_reply_t *reply);
void handle_post_incident_update(const handler_context_t *context, const auth_identity_t *caller,
                                 const http_request_t *request, http_reply_t *reply);
/* Per-tenant ingest tokens (handlers_tokens.c): POST /tokens {name, scopes?} (the token is
   in the reply, once), GET /tokens, DELETE /tokens/{id}. */
void handle_post_token(const handler_context_t *context, const auth_identity_t *caller,
                       const http_request_t *request, http_reply_t *reply);
void handle_list_tokens(const handler_context_t *context, const auth_identity_t *caller,
                        const http_request_t *request, http_reply_t *reply);
void handle_delete_token(const handler_context_t *context, const auth_identity_t *caller,
                         const http_request_t *request, http_reply_t *reply);

#endif
