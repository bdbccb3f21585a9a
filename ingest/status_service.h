/*  status_service — the public status pages of one lookout-ingest: which page a request
    means, a short cache of each page's JSON, the embedded HTML page, and the pages' public
    "changed" streams.

    Public endpoints are hit hard and anonymously, so a page's JSON is computed at most once
    per LOOKOUT_STATUS_CACHE_MS per ingest process, whatever the request rate: one store
    query (status_page) and one rendering (status_model.h) serve every request in between.
    Only one request refreshes a page at a time; the others get the previous rendering
    meanwhile (or wait for the first one). When store cannot answer, the last rendering is
    served for up to STATUS_STALE_MAX_MS (a status page should outlive a backend outage)
    before requests get 503. When one of the page's "changed" streams (below) sees an
    incident event, the page is rendered again at the next request (at most every
    STATUS_CHANGED_MIN_MS) instead of at the cache's expiry, so viewers see a change within
    about a second. Every answer carries a weak ETag (a hash of the body less its
    generated_at) and Cache-Control: public, max-age=N; If-None-Match answers 304.

    The "changed" stream of a page is a filter over the tenant's event stream of the SSE hub
    (sse.h): each incident event of the tenant becomes `event: changed` with empty data —
    nothing of the incident, not even the event's (platform-wide) sequence, leaves the
    process.

        status_service_config_t config;
        status_service_config_from_env (&config);
        status_service_t *service = status_service_new (&config, file_config);
        ... handlers (handlers_status.c) call status_service_serve_json etc.
        status_service_destroy (&service);   // after the HTTP server stopped
*/
#ifndef INGEST_STATUS_SERVICE_H
#define INGEST_STATUS_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_reply.h"
#include "lk_config.h"
#include "pipeline.h"

#define STATUS_STALE_MAX_MS   (5 * 60 * 1000) /* serve the last rendering this long at most */
#define STATUS_RETRY_MS       1000            /* after a failed refresh, before the next try */
#define STATUS_CHANGED_MIN_MS 500 /* a changed page is rendered again at most this often */
#define STATUS_HTML_MAX_AGE_S 300
#define STATUS_DEFAULT_SLUG   "status" /* GET /status without any status_pages */

typedef struct status_service_t status_service_t;
struct sse_hub_t;

typedef struct {
    int64_t cache_ms; /* LOOKOUT_STATUS_CACHE_MS: how long a page's JSON is reused */
    int max_streams;  /* LOOKOUT_STATUS_MAX_STREAMS: open "changed" streams, all pages */
} status_service_config_t;

/* Fills config from the environment (env.example). */
void status_service_config_from_env(status_service_config_t *config);

/* Creates the service for the file's status_pages (file_config must outlive it; NULL is the
   empty configuration). Returns NULL on OOM. */
status_service_t *status_service_new(const status_service_config_t *config,
                                     const lk_config_t *file_config);
/* Frees the service; accepts NULL; call once no HTTP thread can use it. */
void status_service_destroy(status_service_t **self_p);

/* The public page with this slug, or NULL (unknown or `public: false`). */
const lk_status_page_t *status_service_page(const status_service_t *self, const char *slug);
/* The page GET /status and GET / mean: the public page that lists host (the Host header;
   may be NULL), else the only public page when exactly one is configured, else — with no
   status_pages at all — a built-in page of the system tenant without components (slug
   STATUS_DEFAULT_SLUG; incidents appear on it once they carry a public update). NULL when
   none applies. by_host_only: only the Host rule (GET /). */
const lk_status_page_t *status_service_select(const status_service_t *self, const char *host,
                                              bool by_host_only);

/* Answers GET /status/{slug}.json for page: 200 with the JSON, or 304 when if_none_match
   (the header, may be NULL) names the current ETag; refreshes the cached rendering through
   pipeline when it is older than cache_ms; 503 when there is no rendering recent enough. */
void status_service_serve_json(status_service_t *self, pipeline_t *pipeline,
                               const lk_status_page_t *page, const char *if_none_match,
                               http_reply_t *reply);

/* Answers GET /status/{slug}: the embedded HTML page (the same for every page: it reads the
   page's JSON), or 304. */
void status_service_serve_html(status_service_t *self, const char *if_none_match,
                               http_reply_t *reply);

/* Answers GET /status/{slug}/events: opens page's "changed" stream on hub for connection
   (a libmicrohttpd connection), or 503 (no hub, too many streams: the page then polls). */
void status_service_open_events(status_service_t *self, struct sse_hub_t *hub,
                                const lk_status_page_t *page, void *connection,
                                http_reply_t *reply);

/* Streams open now (tests, metrics). */
int status_service_stream_count(status_service_t *self);

/* True when an If-None-Match header value names etag: "*", or a comma list of entity tags
   compared weakly (W/ prefixes ignored), as RFC 9110 asks for GET. */
bool status_etag_matches(const char *if_none_match, const char *etag);

/* The filter from the hub's event stream to a page's public "changed" stream, exposed for
   tests. Feed it the hub's bytes in any pieces; whenever a piece completes frames, it writes
   at most one frame into out: `event: changed` with data {} when any incident event
   completed, else `: keepalive` for a comment-only frame.
   The hub's first frame (its preamble) is dropped. */
typedef struct {
    int state;
    char name[8];
    size_t name_length;
    bool frame_event;   /* the frame has an id/event/data field */
    bool frame_comment; /* the frame has a comment line */
    bool preamble_done;
} status_events_filter_t;

void status_events_filter_init(status_events_filter_t *filter);
/* Returns the bytes written into out (0 when nothing is to be sent); out_size >= 64. */
size_t status_events_filter_feed(status_events_filter_t *filter, const char *data, size_t size,
                                 char *out, size_t out_size);

#endif
