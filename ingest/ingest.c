/*  ingest — the HTTP edge actor: libmicrohttpd server, routing, authentication, bodies.

    ingest_actor starts a libmicrohttpd daemon with its own pool of polling threads and then
    only serves its pipe ("PORT", "$TERM"). A request passes through three stages on its
    worker thread:
      1. headers: route it by the table in routes.c (404/405), authenticate it as the route
         says (401/400/403), reject a declared
         Content-Length over the limit (413). Any of these is answered right away, before a
         byte of the body is read.
      2. body: accumulated up to max_body_bytes; past that the rest is read and dropped, and
         the request ends in 413.
      3. complete: the handler for the route runs (handlers_*.c) and its reply is sent.
         A handler that deferred its answer (handler_defer: the alert intake) leaves the
         reply empty; the connection is then suspended while the pipeline's hub waits for
         correlate, which frees the thread for other connections, and resumed by the hub;
         libmicrohttpd calls the access handler again, which runs the handler's
         continuation and sends its reply (or suspends again for a next step).
    Responses are JSON with Cache-Control: no-store unless the handler says otherwise (pages,
    metrics, streams); every 5xx is logged once.
*/
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "auth.h"
#include "conn_guard.h"
#include "handlers.h"
#include "http_reply.h"
#include "ingest.h"
#include "intake_guard.h"
#include "ingest_metrics.h"
#include "intake_keys.h"
#include "lk_config.h"
#include "lk_env.h"
#include "lk_log.h"
#include "lk_tap.h"
#include "rate_limit.h"
#include "sse.h"
#include "status_service.h"
#include "tokens.h"

/* Idle connections are closed after this; it also bounds a client that trickles headers or
   a body (slowloris). Default of LOOKOUT_HTTP_CONNECTION_TIMEOUT_S. */
#define INGEST_CONNECTION_TIMEOUT_S 30
/* Defaults of LOOKOUT_MAX_HEADER_BYTES (libmicrohttpd's per-connection memory: the request
   line and headers must fit, else it answers 414 or 431 itself) and LOOKOUT_MAX_URL_BYTES. */
#define INGEST_MAX_HEADER_BYTES 32768
#define INGEST_MAX_URL_BYTES    8192
/* Concurrent connections over all threads; below FD_SETSIZE so every polling mode works. */
#define INGEST_CONNECTION_LIMIT 1000
/* Query arguments accepted on one request. */
#define INGEST_MAX_ARGS 64
/* libmicrohttpd cannot answer in the middle of a body, so the rest of an oversized body of
   undeclared length is read and dropped before the 413; past this multiple of the limit
   the connection is cut instead, so nobody can keep a thread reading forever. */
#define INGEST_DROP_FACTOR 16

typedef struct {
    http_arg_t items[INGEST_MAX_ARGS];
    size_t count;
    bool overflow;
} s_args_t;

/* Per-request state, libmicrohttpd's con_cls. */
typedef struct {
    const route_t *route;
    http_request_t http;       /* params filled at admission; args and body at dispatch */
    s_args_t args;             /* http.args: kept here, so they outlive a suspension */
    handler_pending_t pending; /* a deferred answer (handler_defer) */
    bool waiting;              /* suspended until pending.call is done */
    auth_identity_t caller;
    bool answered;  /* the handler ran or a response is queued; ignore the rest */
    bool too_large; /* the body passed max_body_bytes; its rest is dropped */
    size_t dropped_bytes;
    char *body;
    size_t body_size;
    size_t body_capacity;
    int64_t started_us; /* when the headers arrived (ingest_metrics_now_us) */
} s_request_t;

typedef struct {
    const ingest_config_t *config;
    auth_config_t auth;
    lk_tap_t *tap;
    pipeline_t *pipeline;
    handler_context_t handlers;
    lk_config_t *file_config;
    sse_hub_t *sse; /* GET /events */
    struct MHD_Daemon *daemon;
    int port;
    size_t max_url_bytes;
    conn_guard_t *conn_guard; /* request heads must arrive in time (slowloris) */
} s_server_t;

/* ---- configuration --------------------------------------------------------------------- */

void ingest_config_from_env(ingest_config_t *config)
{
    memset(config, 0, sizeof *config);
    config->http_address = lk_env_str("LOOKOUT_HTTP_ADDRESS", "0.0.0.0");
    config->http_port = (int)lk_env_int("LOOKOUT_HTTP_PORT", 18013, 0, 65535);
    config->http_threads = (int)lk_env_int("LOOKOUT_HTTP_THREADS", 8, 1, 256);
    config->correlate_endpoint = lk_env_str("LOOKOUT_CORRELATE_ENDPOINT", "tcp://127.0.0.1:18104");
    config->store_query_endpoint =
        lk_env_str("LOOKOUT_STORE_QUERY_ENDPOINT", "tcp://127.0.0.1:18102");
    config->store_endpoint = lk_env_str("LOOKOUT_STORE_ENDPOINT", "tcp://127.0.0.1:18101");
    config->tap_endpoint = lk_env_str("LOOKOUT_INGEST_TAP", NULL);
    config->request_timeout_ms = lk_env_int("LOOKOUT_REQUEST_TIMEOUT_MS", 5000, 1, 600000);
    config->max_body_bytes =
        (size_t)lk_env_int("LOOKOUT_MAX_BODY_BYTES", 1048576, 1024, 256 * 1024 * 1024);
    config->max_batch = (size_t)lk_env_int("LOOKOUT_MAX_BATCH", 1000, 1, LK_MSG_MAX_ITEMS);
    config->resolve_timeout_ms =
        lk_env_int("LOOKOUT_RESOLVE_TIMEOUT_S", 300, 1, 30 * 24 * 3600) * 1000;
    config->service_token = lk_env_secret("SERVICE_TOKEN");
    config->jwt_secret = lk_env_secret("JWT_SECRET");
    config->dev_mode = lk_env_bool("LOOKOUT_DEV_MODE", false);
    config->http_connection_timeout_s =
        (int)lk_env_int("LOOKOUT_HTTP_CONNECTION_TIMEOUT_S", INGEST_CONNECTION_TIMEOUT_S, 1, 3600);
    config->max_header_bytes =
        (size_t)lk_env_int("LOOKOUT_MAX_HEADER_BYTES", INGEST_MAX_HEADER_BYTES, 4096, 1048576);
    config->max_url_bytes =
        (size_t)lk_env_int("LOOKOUT_MAX_URL_BYTES", INGEST_MAX_URL_BYTES, 256, 1048576);
    config->tenant_rate = (double)lk_env_int("LOOKOUT_TENANT_RATE", 0, 0, 100000000);
    config->tenant_burst = (double)lk_env_int("LOOKOUT_TENANT_BURST", 0, 0, 1000000000);
    config->token_cache_ms = lk_env_int("LOOKOUT_TOKEN_CACHE_S", 5, 1, 3600) * 1000;
}

void ingest_config_clear(ingest_config_t *config)
{
    /* Secrets are wiped before they go back to the allocator. */
    if (config->service_token) {
        explicit_bzero(config->service_token, strlen(config->service_token));
        free(config->service_token);
        config->service_token = NULL;
    }
    if (config->jwt_secret) {
        explicit_bzero(config->jwt_secret, strlen(config->jwt_secret));
        free(config->jwt_secret);
        config->jwt_secret = NULL;
    }
}

/* ---- routing --------------------------------------------------------------------------- */

/* Matches path against a "{}" pattern, copying the wildcard segments into params. */
static bool s_pattern_match(const char *pattern, const char *path, http_request_t *request)
{
    size_t count = 0;
    while (*pattern && *path) {
        if (pattern[0] == '{' && pattern[1] == '}') {
            const char *end = strchr(path, '/');
            size_t length = end ? (size_t)(end - path) : strlen(path);
            if (length == 0 || count == HTTP_MAX_PATH_PARAMS)
                return false;
            size_t kept = length > HTTP_PATH_PARAM_MAX ? HTTP_PATH_PARAM_MAX : length;
            memcpy(request->params[count], path, kept);
            request->params[count][kept] = '\0';
            count++;
            pattern += 2;
            path += length;
            continue;
        }
        if (*pattern++ != *path++)
            return false;
    }
    if (*pattern || *path)
        return false;
    request->param_count = count;
    return true;
}

static bool s_method_matches(const char *route_method, const char *method)
{
    if (strcmp(route_method, method) == 0)
        return true;
    /* libmicrohttpd answers HEAD with the GET response minus its body. */
    return strcmp(route_method, "GET") == 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

/* Finds the route for method and path. Returns it with request->params filled, or NULL with
   allow set to the methods the path accepts ("" when no pattern matches: 404). */
static const route_t *s_route_find(const char *method, const char *path, http_request_t *request,
                                   char *allow, size_t allow_size)
{
    allow[0] = '\0';
    for (const route_t *route = ingest_routes; route->pattern; route++) {
        if (!s_pattern_match(route->pattern, path, request))
            continue;
        if (s_method_matches(route->method, method))
            return route;
        if (!strstr(allow, route->method)) {
            size_t used = strlen(allow);
            snprintf(allow + used, allow_size - used, "%s%s%s", used ? ", " : "", route->method,
                     strcmp(route->method, "GET") == 0 ? ", HEAD" : "");
        }
    }
    return NULL;
}

static const char *s_header(const void *connection, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)connection, MHD_HEADER_KIND, name);
}

/* ---- sending --------------------------------------------------------------------------- */

/* Queues reply on the connection (and clears it). Logs 5xx answers with the path and the
   reason; never the request's headers, which may carry credentials. */
static long s_stream_read(void *cls, uint64_t position, char *buf, size_t max)
{
    http_stream_t *stream = cls;
    long produced = stream->read(stream->cls, (unsigned long long)position, buf, max);
    if (produced == HTTP_STREAM_END)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (produced < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return produced;
}

static void s_stream_free(void *cls)
{
    http_stream_t *stream = cls;
    if (stream->free)
        stream->free(stream->cls);
    free(stream);
}

/* Builds the libmicrohttpd response for reply, taking over its body. NULL on OOM. */
static struct MHD_Response *s_response_of(http_reply_t *reply)
{
    if (reply->stream.read) {
        http_stream_t *stream = malloc(sizeof *stream);
        if (!stream)
            return NULL;
        *stream = reply->stream;
        memset(&reply->stream, 0, sizeof reply->stream);
        struct MHD_Response *response = MHD_create_response_from_callback(
            MHD_SIZE_UNKNOWN, 4096, s_stream_read, stream, s_stream_free);
        if (!response)
            s_stream_free(stream);
        return response;
    }
    size_t size = 0;
    char *text;
    if (reply->text) {
        text = reply->text;
        size = reply->text_size;
        reply->text = NULL;
    } else {
        text = http_reply_render(reply, &size);
        reply->content_type = NULL;
    }
    if (!text)
        return NULL;
    struct MHD_Response *response =
        MHD_create_response_from_buffer(size, text, MHD_RESPMEM_MUST_FREE);
    if (!response)
        free(text);
    return response;
}

/* Queues reply on the connection (and clears it). Logs 5xx answers with the path and the
   reason; never the request's headers, which may carry credentials. */
static enum MHD_Result s_send(struct MHD_Connection *connection, const char *method,
                              const char *url, http_reply_t *reply)
{
    if (reply->status >= 500) {
        char reason[512];
        http_reply_describe(reply, reason, sizeof reason);
        lk_warn("ingest: %s %s answered %d: %s", method, url, reply->status, reason);
    } else
        lk_debug("ingest: %s %s answered %d", method, url, reply->status);

    struct MHD_Response *response = s_response_of(reply);
    if (!response) {
        http_reply_clear(reply);
        return MHD_NO; /* out of memory: dropping the connection is all that is left */
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                            reply->content_type ? reply->content_type
                                                : "application/json; charset=utf-8");
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL,
                            reply->cache_control ? reply->cache_control : "no-store");
    if (reply->etag)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ETAG, reply->etag);
    if (reply->retry_after) {
        char seconds[16];
        snprintf(seconds, sizeof seconds, "%d",
                 reply->retry_after_s > 0 ? reply->retry_after_s : 1);
        MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
    }
    if (reply->www_authenticate)
        MHD_add_response_header(response, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (reply->allow)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, reply->allow);
    enum MHD_Result result = MHD_queue_response(connection, (unsigned int)reply->status, response);
    MHD_destroy_response(response);
    http_reply_clear(reply);
    return result;
}

/* ---- request stages -------------------------------------------------------------------- */

/* Stage 1, headers only. Returns true when reply holds an early answer. */
static bool s_admit(s_server_t *server, struct MHD_Connection *connection, const char *url,
                    const char *method, s_request_t *request, http_reply_t *reply)
{
    static __thread char allow[64];
    /* libmicrohttpd bounds the whole request head (max_header_bytes); this bounds the path
       alone, before any pattern is matched against it */
    if (strlen(url) > server->max_url_bytes) {
        http_reply_errorf(reply, 414, "URI too long", "at most %zu bytes", server->max_url_bytes);
        return true;
    }
    request->route = s_route_find(method, url, &request->http, allow, sizeof allow);
    if (!request->route && !allow[0]) {
        http_reply_error(reply, 404, "not found", json_string(url));
        return true;
    }
    if (!request->route) {
        http_reply_errorf(reply, 405, "method not allowed", "%s accepts %s", url, allow);
        reply->allow = allow;
        return true;
    }
    if (request->route->auth == ROUTE_AUTH_TENANT) {
        const char *authorization =
            MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        const char *tenant =
            MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "X-Tenant-ID");
        /* intake routes also take a per-tenant ingest token (intake_guard.h) */
        uint32_t scope = intake_guard_scope(request->route->handler);
        int by_token = scope ? intake_guard_token(&server->handlers, authorization, tenant, scope,
                                                  &request->caller, reply)
                             : 0;
        if (by_token < 0)
            return true;
        const char *reason = NULL;
        auth_result_t result = by_token
                                   ? AUTH_OK
                                   : auth_check(&server->auth, authorization, tenant,
                                                (int64_t)time(NULL), &request->caller, &reason);
        if (result != AUTH_OK) {
            http_reply_error(reply, auth_http_status(result), reason ? reason : "not authorized",
                             NULL);
            return true;
        }
    }
    const char *length_text =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length_text) {
        /* libmicrohttpd has already rejected a malformed Content-Length. */
        unsigned long long length = strtoull(length_text, NULL, 10);
        if (length > server->config->max_body_bytes) {
            http_reply_errorf(reply, 413, "request body too large", "at most %zu bytes",
                              server->config->max_body_bytes);
            return true;
        }
        if (length > 0) {
            /* One allocation for a body of known size. */
            request->body = malloc((size_t)length);
            request->body_capacity = request->body ? (size_t)length : 0;
        }
    }
    return false;
}

/* Stage 2: appends a piece of the body, or drops it once the body is too large. */
static void s_accumulate(s_server_t *server, s_request_t *request, const char *data, size_t size)
{
    size_t limit = server->config->max_body_bytes;
    if (request->too_large)
        return;
    if (size > limit - request->body_size) {
        request->too_large = true;
        free(request->body);
        request->body = NULL;
        request->body_size = request->body_capacity = 0;
        return;
    }
    if (request->body_size + size > request->body_capacity) {
        size_t capacity = request->body_capacity ? request->body_capacity : 4096;
        while (capacity < request->body_size + size)
            capacity *= 2;
        if (capacity > limit)
            capacity = limit;
        char *grown = realloc(request->body, capacity);
        if (!grown) {
            /* Treated like an oversized body: the request cannot be held. */
            request->too_large = true;
            free(request->body);
            request->body = NULL;
            request->body_size = request->body_capacity = 0;
            return;
        }
        request->body = grown;
        request->body_capacity = capacity;
    }
    memcpy(request->body + request->body_size, data, size);
    request->body_size += size;
}

static enum MHD_Result s_collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    s_args_t *args = cls;
    if (args->count == INGEST_MAX_ARGS) {
        args->overflow = true;
        return MHD_NO;
    }
    args->items[args->count].name = key;
    args->items[args->count].value = value ? value : "";
    args->count++;
    return MHD_YES;
}

/* Stage 3: runs the route's handler on the complete request. */
static void s_dispatch(s_server_t *server, struct MHD_Connection *connection, const char *method,
                       const char *url, s_request_t *request, http_reply_t *reply)
{
    s_args_t *args = &request->args;
    args->count = 0;
    args->overflow = false;
    MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, s_collect_arg, args);
    if (args->overflow) {
        http_reply_errorf(reply, 400, "invalid query parameter", "at most %d query parameters",
                          INGEST_MAX_ARGS);
        return;
    }
    http_request_t *http = &request->http;
    http->method = method;
    http->path = url;
    http->args = args->items;
    http->arg_count = args->count;
    http->body = request->body ? request->body : "";
    http->body_size = request->body_size;
    http->header = s_header;
    http->connection = connection;
    http->pending = &request->pending;
    request->route->handler(&server->handlers, &request->caller, http, reply);
}

/* The pipeline hub's done function: the call of a suspended connection has its outcome. */
static void s_resume(void *connection)
{
    MHD_resume_connection(connection);
}

/* After a handler or a continuation ran: when it deferred its answer, suspends the
   connection and starts the call (in that order: the hub's resume must not overtake the
   suspension), and returns true; a call that could not even be made goes to its
   continuation at once. Returns false when reply is final. */
static bool s_suspend_if_deferred(s_server_t *server, struct MHD_Connection *connection,
                                  s_request_t *request, http_reply_t *reply)
{
    handler_pending_t *pending = &request->pending;
    while (reply->status == 0 && pending->then) {
        if (pending->call) {
            request->waiting = true;
            MHD_suspend_connection(connection);
            pipeline_call_start(server->pipeline, pending->call, s_resume, connection);
            return true;
        }
        handler_then_t then = pending->then;
        pending->then = NULL;
        then(&server->handlers, &request->http, pending->state, NULL, pending->detail, reply);
    }
    return false;
}

/* Resumed: runs the continuation with the call's outcome. */
static void s_continue(s_server_t *server, s_request_t *request, http_reply_t *reply)
{
    handler_pending_t *pending = &request->pending;
    lk_msg_t answer;
    char detail[256];
    int rc = pipeline_call_finish(&pending->call, &answer, detail, sizeof detail);
    handler_then_t then = pending->then;
    pending->then = NULL;
    then(&server->handlers, &request->http, pending->state, rc == 0 ? &answer : NULL, detail,
         reply);
    if (rc == 0)
        lk_msg_clear(&answer);
}

/* libmicrohttpd's access handler: called once with the headers, then once per piece of
   body, then once more with *upload_data_size == 0 when the request is complete. */
static enum MHD_Result s_access(void *cls, struct MHD_Connection *connection, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **con_cls)
{
    s_server_t *server = cls;
    s_request_t *request = *con_cls;
    http_reply_t reply;
    http_reply_init(&reply);
    if (!request) {
        request = calloc(1, sizeof *request);
        if (!request)
            return MHD_NO;
        *con_cls = request;
        /* the request head is complete: the connection's head deadline is off */
        const union MHD_ConnectionInfo *socket_info =
            MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        if (socket_info)
            conn_guard_admitted(socket_info->socket_context);
        request->started_us = ingest_metrics_now_us();
        ingest_metrics_in_flight(1);
        if (s_admit(server, connection, url, method, request, &reply)) {
            request->answered = true;
            ingest_metrics_request(request->route ? request->route->pattern : NULL, method,
                                   reply.status, request->started_us);
            return s_send(connection, method, url, &reply);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t size = *upload_data_size;
        *upload_data_size = 0;
        if (!request->answered && !request->too_large)
            s_accumulate(server, request, upload_data, size);
        else if (request->too_large) {
            request->dropped_bytes += size;
            if (request->dropped_bytes / INGEST_DROP_FACTOR > server->config->max_body_bytes) {
                lk_debug("ingest: %s %s: closing a connection that keeps sending", method, url);
                return MHD_NO;
            }
        }
        return MHD_YES;
    }
    if (request->waiting) {
        /* resumed by the pipeline hub: its call is done */
        request->waiting = false;
        s_continue(server, request, &reply);
    } else if (request->answered)
        return MHD_YES;
    else {
        request->answered = true;
        if (request->too_large)
            http_reply_errorf(&reply, 413, "request body too large", "at most %zu bytes",
                              server->config->max_body_bytes);
        else
            s_dispatch(server, connection, method, url, request, &reply);
    }
    if (s_suspend_if_deferred(server, connection, request, &reply))
        return MHD_YES;
    if (reply.status == 0)
        http_reply_error(&reply, 500, "internal error", json_string("the handler gave no answer"));
    ingest_metrics_request(request->route ? request->route->pattern : NULL, method, reply.status,
                           request->started_us);
    return s_send(connection, method, url, &reply);
}

static void s_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    s_server_t *server = cls;
    /* a kept-alive connection's next request head is due within the timeout */
    const union MHD_ConnectionInfo *socket_info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (socket_info)
        conn_guard_idle(server->conn_guard, socket_info->socket_context);
    s_request_t *request = *con_cls;
    if (request) {
        ingest_metrics_in_flight(-1);
        /* a suspended connection is never closed, so the call is done or was never
           started; pipeline_call_destroy copes with either */
        pipeline_call_destroy(&request->pending.call);
        if (request->pending.state && request->pending.state_free)
            request->pending.state_free(request->pending.state);
        free(request->body);
        free(request);
        *con_cls = NULL;
    }
}

static void s_mhd_log(void *cls, const char *fmt, va_list args)
{
    char line[512];
    vsnprintf(line, sizeof line, fmt, args);
    size_t length = strlen(line);
    while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r'))
        line[--length] = '\0';
    lk_warn("ingest: http server: %s", line);
}

/* Connections opening and closing: conn_guard keeps a deadline on each one's request head. */
static void s_connection_event(void *cls, struct MHD_Connection *connection, void **socket_context,
                               enum MHD_ConnectionNotificationCode toe)
{
    s_server_t *server = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = info ? conn_guard_opened(server->conn_guard, info->connect_fd) : NULL;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        conn_guard_closed(server->conn_guard, *socket_context);
        *socket_context = NULL;
    }
}

/* ---- server ---------------------------------------------------------------------------- */

/* Starts libmicrohttpd on config's address and port. Returns the daemon, or NULL (logged). */
static struct MHD_Daemon *s_server_start(s_server_t *server)
{
    const ingest_config_t *config = server->config;
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", config->http_port);
    struct addrinfo hints, *address = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int rc = getaddrinfo(config->http_address, port_text, &hints, &address);
    if (rc != 0 || !address) {
        lk_error("ingest: cannot resolve LOOKOUT_HTTP_ADDRESS %s: %s", config->http_address,
                 gai_strerror(rc));
        return NULL;
    }

    unsigned int flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
        flags |= MHD_USE_EPOLL;
    else if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES)
        flags |= MHD_USE_POLL;
    if (address->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* A pool of one is the internal polling thread itself. */
    unsigned int pool_size = config->http_threads > 1 ? (unsigned int)config->http_threads : 0;

    /* One option per line. */
    /* clang-format off */
    struct MHD_Daemon *daemon = MHD_start_daemon(
        flags, (uint16_t)config->http_port, NULL, NULL, s_access, server,
        /* First, so that messages about the later options come here too. */
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, server,
        MHD_OPTION_SOCK_ADDR, address->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, pool_size,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)(config->http_connection_timeout_s > 0
                                                      ? config->http_connection_timeout_s
                                                      : INGEST_CONNECTION_TIMEOUT_S),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(config->max_header_bytes
                                                     ? config->max_header_bytes
                                                     : INGEST_MAX_HEADER_BYTES),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)INGEST_CONNECTION_LIMIT,
        /* Lets several copies share one port (DESIGN §1). */
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, server,
        MHD_OPTION_NOTIFY_CONNECTION, s_connection_event, server,
        MHD_OPTION_END);
    /* clang-format on */
    freeaddrinfo(address);
    if (!daemon) {
        lk_error("ingest: cannot listen on %s port %d", config->http_address, config->http_port);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    server->port = info && info->port ? (int)info->port : config->http_port;
    return daemon;
}

/* SIGHUP ("RELOAD" on the pipe): reads the configuration file again and swaps in its
   integration keys; requests running meanwhile finish with the set they started with. A file
   that does not load changes nothing. Answers the pipe "OK ..." or "ERROR reason"
   (lk_daemon logs it). */
static void s_reload(s_server_t *server, const char *config_path, zsock_t *pipe)
{
    char err[512];
    lk_config_t *fresh = NULL;
    if (lk_config_load(config_path, &fresh, err, sizeof err) != 0) {
        lk_error("ingest: configuration reload failed, keeping the current one: %s", err);
        zstr_sendf(pipe, "ERROR %s", err);
        return;
    }
    if (intake_keys_swap(server->handlers.integrations, fresh) != 0) {
        lk_error("ingest: configuration reload failed, keeping the current one: out of memory");
        zstr_send(pipe, "ERROR out of memory");
        return;
    }
    size_t count = intake_keys_count(server->handlers.integrations);
    lk_info("ingest: configuration reloaded: %zu integration keys", count);
    zstr_sendf(pipe, "OK %zu integration keys", count);
}

void ingest_actor(zsock_t *pipe, void *args)
{
    const ingest_config_t *config = args;
    assert(config && config->http_address && config->correlate_endpoint &&
           config->store_query_endpoint && config->http_threads > 0 &&
           config->request_timeout_ms > 0 && config->max_body_bytes > 0 && config->max_batch > 0);

    s_server_t server;
    memset(&server, 0, sizeof server);
    server.config = config;
    server.auth.service_token = config->service_token;
    server.auth.jwt_secret = config->jwt_secret;
    server.auth.dev_mode = config->dev_mode;
    if (!(config->service_token && *config->service_token) &&
        !(config->jwt_secret && *config->jwt_secret) && !config->dev_mode)
        lk_warn("ingest: neither SERVICE_TOKEN nor JWT_SECRET is set and LOOKOUT_DEV_MODE is "
                "off: every request except /healthz will be refused");
    server.tap = lk_tap_new(config->tap_endpoint);
    server.pipeline = pipeline_new(config->correlate_endpoint, config->store_query_endpoint,
                                   config->request_timeout_ms, server.tap);
    if (!server.pipeline ||
        (config->store_endpoint &&
         pipeline_set_endpoint(server.pipeline, PIPELINE_STORE_WRITE, config->store_endpoint) != 0))
        lk_fatal("ingest: out of memory");
    server.handlers.config = config;
    server.handlers.pipeline = server.pipeline;
    /* The YAML file: its integration keys are re-read on SIGHUP (s_reload); status pages,
       schedules and users are read here once. The keys get a copy of their own. */
    char config_err[512];
    const char *config_path = lk_env_str(LK_CONFIG_ENV, NULL);
    lk_config_t *keys_config = NULL;
    if (lk_config_load(config_path, &server.file_config, config_err, sizeof config_err) != 0 ||
        lk_config_load(config_path, &keys_config, config_err, sizeof config_err) != 0)
        lk_fatal("ingest: %s", config_err);
    server.handlers.file_config = server.file_config;
    server.handlers.integrations = intake_keys_new(keys_config);
    if (!server.handlers.integrations)
        lk_fatal("ingest: out of memory");
    server.max_url_bytes = config->max_url_bytes ? config->max_url_bytes : INGEST_MAX_URL_BYTES;
    server.handlers.tokens = tokens_new(config->token_cache_ms > 0 ? config->token_cache_ms : 5000);
    server.handlers.rate_limit =
        rate_limit_new(config->tenant_rate,
                       config->tenant_burst > 0 ? config->tenant_burst : 10 * config->tenant_rate);
    if (!server.handlers.tokens || !server.handlers.rate_limit)
        lk_fatal("ingest: out of memory");
    sse_config_t sse_config;
    sse_config_from_env(&sse_config);
    sse_config.query_endpoint = config->store_query_endpoint;
    server.sse = sse_hub_new(&sse_config, server.tap);
    if (!server.sse)
        lk_fatal("ingest: cannot start the /events hub");
    server.handlers.sse = server.sse;
    status_service_config_t status_config;
    status_service_config_from_env(&status_config);
    server.handlers.status = status_service_new(&status_config, server.file_config);
    if (!server.handlers.status)
        lk_fatal("ingest: out of memory");
    server.conn_guard =
        conn_guard_new(config->http_connection_timeout_s > 0 ? config->http_connection_timeout_s
                                                             : INGEST_CONNECTION_TIMEOUT_S);
    if (!server.conn_guard)
        lk_fatal("ingest: cannot start the connection guard");
    server.daemon = s_server_start(&server);
    if (!server.daemon)
        lk_fatal("ingest: cannot start the HTTP server on %s port %d", config->http_address,
                 config->http_port);
    lk_info("ingest: listening on %s port %d (%d threads)", config->http_address, server.port,
            config->http_threads);
    zsock_signal(pipe, 0);

    while (true) {
        char *command = zstr_recv(pipe);
        if (!command)
            break; /* interrupted */
        bool stop = strcmp(command, "$TERM") == 0;
        if (strcmp(command, "PORT") == 0)
            zstr_sendf(pipe, "%d", server.port);
        else if (strcmp(command, "RELOAD") == 0)
            s_reload(&server, config_path, pipe);
        else if (!stop)
            lk_warn("ingest: unknown pipe command %s", command);
        zstr_free(&command);
        if (stop)
            break;
    }

    /* Stopping the daemon joins its threads, after which no thread can touch the pipeline's
       sockets and they can be closed here. */
    /* open event streams and requests waiting for the pipeline are suspended connections:
       they must end or be resumed before the server stops (a request waiting for the
       pipeline is answered 503 if its connection is served before the server closes it) */
    sse_hub_stop(server.sse);
    pipeline_stop(server.pipeline);
    MHD_stop_daemon(server.daemon);
    conn_guard_destroy(&server.conn_guard);
    sse_hub_destroy(&server.sse);
    status_service_destroy(&server.handlers.status);
    intake_keys_destroy(&server.handlers.integrations);
    tokens_destroy(&server.handlers.tokens);
    rate_limit_destroy(&server.handlers.rate_limit);
    pipeline_destroy(&server.pipeline);
    lk_tap_destroy(&server.tap);
    lk_config_destroy(&server.file_config);
    lk_info("ingest: stopped");
}
