/*  http_reply — what an ingest request handler answers, independent of the HTTP library.

    Handlers fill an http_reply_t (status, JSON body, the few special headers the API uses);
    ingest.c turns it into a libmicrohttpd response. Keeping handlers free of the server
    library keeps them small and lets every error path share one shape:
        {"error": "<short sentence>", "detail": <string | array | object | null>}
    This module also holds the guard every JSON request body passes through (size is checked
    by the server; nesting depth and syntax here).
*/
#ifndef INGEST_HTTP_REPLY_H
#define INGEST_HTTP_REPLY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lk_msg.h"

/* Deepest nesting of arrays/objects accepted in a request body. */
#define HTTP_JSON_MAX_DEPTH 32

/* A body produced piece by piece (Server-Sent Events, large exports): the server calls read
   until it returns HTTP_STREAM_END (or HTTP_STREAM_ERROR), then free once. read returns the
   number of bytes it wrote into buf (at most max). */
#define HTTP_STREAM_END   (-1)
#define HTTP_STREAM_ERROR (-2)
typedef struct {
    long (*read)(void *cls, unsigned long long position, char *buf, size_t max);
    void (*free)(void *cls);
    void *cls;
} http_stream_t;

typedef struct {
    int status;   /* HTTP status code; 0 until set */
    json_t *body; /* owned; NULL renders as an internal error unless text/stream */
    char *text;   /* owned; a non-JSON body (HTML, metrics): used when set */
    size_t text_size;
    http_stream_t stream;      /* a streamed body: used when stream.read is set */
    const char *content_type;  /* static; NULL = "application/json; charset=utf-8" */
    const char *cache_control; /* static; NULL = "no-store" */
    char *etag;                /* owned; adds an ETag header when set */
    const char *allow;         /* static; set for 405 (the Allow header) */
    bool retry_after;          /* adds "Retry-After: N" (503, 429) */
    int retry_after_s;         /* N; 0 means 1 */
    bool www_authenticate;     /* adds "WWW-Authenticate: Bearer" (401) */
} http_reply_t;

/* Zeroes reply. */
void http_reply_init(http_reply_t *reply);
/* Frees the body (and an unsent stream) and zeroes reply. */
void http_reply_clear(http_reply_t *reply);

/* Sets status and body, taking ownership of body (NULL on OOM is accepted: it renders as a
   500). Any previous body is freed. */
void http_reply_json(http_reply_t *reply, int status, json_t *body);
/* Sets an error reply {"error": error, "detail": detail}; takes ownership of detail (NULL
   means JSON null). 503 also sets retry_after, 401 www_authenticate. */
void http_reply_error(http_reply_t *reply, int status, const char *error, json_t *detail);
/* Like http_reply_error with a printf-formatted string detail. */
void http_reply_errorf(http_reply_t *reply, int status, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Maps a non-ok pipeline reply status to the API's answer: not_found 404, conflict 409,
   invalid 400, unavailable 503, anything else 500. detail is the peer's error text or NULL. */
void http_reply_status(http_reply_t *reply, lk_status_t status, const char *detail);

/* Sets a non-JSON body: takes ownership of text (malloc'd, size bytes). */
void http_reply_text(http_reply_t *reply, int status, const char *content_type, char *text,
                     size_t size);

/* Renders the reply body as compact JSON. Returns a malloc'd string (caller frees) and its
   length in *size. When there is no body or it cannot be rendered (OOM), the reply becomes
   a 500 with a fixed body; NULL only when even that copy cannot be allocated. */
char *http_reply_render(http_reply_t *reply, size_t *size);

/* The "error" sentence and a one-line rendering of "detail" of an error reply, for logs.
   Writes into buf (always NUL-terminated). */
void http_reply_describe(const http_reply_t *reply, char *buf, size_t buf_size);

/* True when no array/object in data[0..size) nests deeper than max_depth levels. Strings
   (with escapes) are skipped, so brackets inside them do not count. Works on any bytes:
   malformed JSON is left for the parser to report. */
bool http_json_depth_ok(const char *data, size_t size, int max_depth);

/* Parses a request body that must be a JSON object or array, at most HTTP_JSON_MAX_DEPTH
   deep. Returns the document (caller json_decref's), or NULL after filling reply with
   400 {"error": "invalid JSON", "detail": "line L, column C: …"}. */
json_t *http_json_parse(const char *data, size_t size, http_reply_t *reply);

#endif
