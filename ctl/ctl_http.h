/*  ctl_http — lookoutctl's HTTP client (libcurl): one request with its whole answer, or a
    Server-Sent Events stream delivered event by event.

    Credentials travel as `Authorization: Bearer <token>` and, when a tenant is given,
    `X-Tenant-ID` (the service token needs it; a JWT carries its own tenant).
*/
#ifndef CTL_HTTP_H
#define CTL_HTTP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *url;    /* base URL, e.g. http://127.0.0.1:18013 (no trailing path) */
    const char *token;  /* bearer token (service token or JWT); NULL = none */
    const char *tenant; /* X-Tenant-ID; NULL = none */
    long timeout_s;     /* whole-request timeout for ctl_http_request */
} ctl_http_t;

typedef struct {
    long status; /* HTTP status; 0 when no answer came */
    char *body;  /* NUL-terminated; caller frees with ctl_response_clear */
    size_t size;
    char error[2600]; /* why no answer came (status 0) */
} ctl_response_t;

/* Sends method path (with its query string) and an optional JSON body. Returns 0 when an
   HTTP answer came, whatever its status; -1 when none came (error says why). */
int ctl_http_request(const ctl_http_t *http, const char *method, const char *path,
                     const char *json_body, ctl_response_t *response);
void ctl_response_clear(ctl_response_t *response);

/* Called for each complete event of a stream: its id, event type ("message" when the event
   had none) and data (lines joined with "\n"). Return true to go on, false to stop. */
typedef bool (*ctl_event_fn)(void *arg, const char *id, const char *event, const char *data);

/* GETs path as an event stream (sending Last-Event-ID when last_event_id is set) and calls fn
   for each event until the server ends the stream, fn returns false (*stopped = true) or the
   connection fails. Returns 0 when the stream was served (status 200) and ended or was
   stopped; 1 when the server answered another status (response holds it and its body); -1
   when no answer came or the connection broke (response->error says why). */
int ctl_http_stream(const ctl_http_t *http, const char *path, const char *last_event_id,
                    ctl_event_fn fn, void *arg, bool *stopped, ctl_response_t *response);

/* path-safe and query-safe encoding of text; caller frees. */
char *ctl_http_escape(const char *text);

#endif
