/*  status_service — page selection, the JSON cache, the HTML page and the "changed" streams
    of the public status pages (see the header).

    One cache entry per configured page (plus the built-in default page), each with its own
    lock, so pages never wait for each other. The rendering is done outside the lock by the
    one request that refreshes; the body is then swapped in. Requests copy the body out under
    the lock (a memcpy of tens of kilobytes) because the HTTP server frees what it sends.
*/
#include "status_service.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lk_env.h"
#include "lk_fingerprint.h"
#include "lk_json.h"
#include "lk_log.h"
#include "lk_time.h"
#include "sse.h"
#include "status_model.h"

/* The page's HTML, embedded at build time from ingest/status_page.html (status.cmake). */
extern const char status_page_html[];
extern const size_t status_page_html_size;

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t refreshed;
    const lk_status_page_t *page;
    char *body; /* the current rendering; NULL until the first */
    size_t size;
    char etag[32];
    int64_t rendered_ms; /* monotonic */
    int64_t retry_ms;    /* monotonic: no refresh before this after a failure */
    bool refreshing;
    bool dirty; /* a stream of the page saw an incident event since the rendering */
    char last_error[160];
} s_entry_t;

struct status_service_t {
    status_service_config_t config;
    const lk_status_config_t *pages; /* the file's; never NULL */
    lk_status_config_t empty;        /* stands for a missing file */
    lk_status_page_t builtin;        /* GET /status without any status_pages */
    s_entry_t *entries;              /* one per page, then the built-in page's */
    size_t entry_count;
    char json_cache_control[48];
    char html_cache_control[48];
    char html_etag[32];
    atomic_int streams;
};

void status_service_config_from_env(status_service_config_t *config)
{
    memset(config, 0, sizeof *config);
    config->cache_ms = lk_env_int("LOOKOUT_STATUS_CACHE_MS", 5000, 0, 600000);
    config->max_streams = (int)lk_env_int("LOOKOUT_STATUS_MAX_STREAMS", 100, 0, 100000);
}

/* A weak entity tag of size bytes: W/"<FNV-1a 64>". */
static void s_etag(const void *data, size_t size, bool weak, char *out, size_t out_size)
{
    uint64_t hash = lk_fnv1a64(LK_FNV64_OFFSET, data, size);
    snprintf(out, out_size, "%s\"%016" PRIx64 "\"", weak ? "W/" : "", hash);
}

status_service_t *status_service_new(const status_service_config_t *config,
                                     const lk_config_t *file_config)
{
    status_service_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    self->pages = file_config ? &file_config->status : &self->empty;
    self->builtin.slug = STATUS_DEFAULT_SLUG;
    self->builtin.title = "Status";
    snprintf(self->builtin.tenant_id, sizeof self->builtin.tenant_id, "%s", LK_SYSTEM_TENANT);
    self->builtin.is_public = true;
    self->entry_count = self->pages->page_count + 1;
    self->entries = calloc(self->entry_count, sizeof *self->entries);
    if (!self->entries) {
        free(self);
        return NULL;
    }
    for (size_t i = 0; i < self->entry_count; i++) {
        pthread_mutex_init(&self->entries[i].lock, NULL);
        pthread_cond_init(&self->entries[i].refreshed, NULL);
        self->entries[i].page =
            i < self->pages->page_count ? &self->pages->pages[i] : &self->builtin;
    }
    int64_t max_age_s = (config->cache_ms + 999) / 1000;
    if (max_age_s > 0)
        snprintf(self->json_cache_control, sizeof self->json_cache_control,
                 "public, max-age=%" PRId64, max_age_s);
    else
        snprintf(self->json_cache_control, sizeof self->json_cache_control, "no-cache");
    snprintf(self->html_cache_control, sizeof self->html_cache_control, "public, max-age=%d",
             STATUS_HTML_MAX_AGE_S);
    s_etag(status_page_html, status_page_html_size, false, self->html_etag, sizeof self->html_etag);
    return self;
}

void status_service_destroy(status_service_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    status_service_t *self = *self_p;
    for (size_t i = 0; i < self->entry_count; i++) {
        pthread_mutex_destroy(&self->entries[i].lock);
        pthread_cond_destroy(&self->entries[i].refreshed);
        free(self->entries[i].body);
    }
    free(self->entries);
    free(self);
    *self_p = NULL;
}

/* ---- choosing a page ----------------------------------------------------------------------- */

const lk_status_page_t *status_service_page(const status_service_t *self, const char *slug)
{
    const lk_status_page_t *page = lk_status_page_find(self->pages, slug);
    return page && page->is_public ? page : NULL;
}

const lk_status_page_t *status_service_select(const status_service_t *self, const char *host,
                                              bool by_host_only)
{
    const lk_status_page_t *page = lk_status_page_for_host(self->pages, host);
    if (page)
        return page->is_public ? page : NULL;
    if (by_host_only)
        return NULL;
    if (self->pages->page_count == 0)
        return &self->builtin;
    const lk_status_page_t *only = NULL;
    for (size_t i = 0; i < self->pages->page_count; i++)
        if (self->pages->pages[i].is_public) {
            if (only)
                return NULL; /* several: the request must name one */
            only = &self->pages->pages[i];
        }
    return only;
}

static s_entry_t *s_entry_of(status_service_t *self, const lk_status_page_t *page)
{
    for (size_t i = 0; i < self->entry_count; i++)
        if (self->entries[i].page == page)
            return &self->entries[i];
    return NULL;
}

/* ---- ETags ---------------------------------------------------------------------------------- */

bool status_etag_matches(const char *if_none_match, const char *etag)
{
    if (!if_none_match || !etag)
        return false;
    const char *own = strncmp(etag, "W/", 2) == 0 ? etag + 2 : etag;
    size_t own_length = strlen(own);
    const char *at = if_none_match;
    while (*at) {
        while (*at == ' ' || *at == '\t' || *at == ',')
            at++;
        if (!*at)
            break;
        if (*at == '*')
            return true;
        if (strncmp(at, "W/", 2) == 0)
            at += 2;
        const char *end = at;
        if (*end == '"') {
            end = strchr(end + 1, '"');
            if (!end)
                return false;
            end++;
        } else
            end += strcspn(end, ", \t");
        if ((size_t)(end - at) == own_length && strncmp(at, own, own_length) == 0)
            return true;
        at = end;
    }
    return false;
}

/* Answers 304 with the headers a 200 would have. */
static void s_not_modified(http_reply_t *reply, const char *etag, const char *cache_control)
{
    char *empty = strdup("");
    http_reply_text(reply, 304, NULL, empty, 0);
    reply->etag = strdup(etag);
    reply->cache_control = cache_control;
}

/* ---- the JSON ------------------------------------------------------------------------------- */

/* Queries store and renders the page. Returns the body (malloc'd) with *size and etag set,
   or NULL with a reason in error. Runs without the entry's lock. */
static char *s_render(status_service_t *self, pipeline_t *pipeline, const lk_status_page_t *page,
                      size_t *size, char *etag, size_t etag_size, char *error, size_t error_size)
{
    int64_t now_ms = lk_now_ms();
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_QUERY);
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", page->tenant_id);
    request.query.kind = LK_QUERY_STATUS_PAGE;
    request.query.since_ms = status_window_start(now_ms, STATUS_WINDOW_DAYS);
    lk_msg_t answer;
    int rc = pipeline_request(pipeline, PIPELINE_STORE, &request, &answer, error, error_size);
    lk_msg_clear(&request);
    if (rc != 0)
        return NULL;
    if (answer.type != LK_MSG_QUERY_REPLY || answer.status != LK_STATUS_OK) {
        snprintf(error, error_size, "store answered %s: %s", lk_msg_type_name(answer.type),
                 answer.error ? answer.error : lk_status_name(answer.status));
        lk_msg_clear(&answer);
        return NULL;
    }
    json_t *json = status_page_json(page, &answer, now_ms);
    lk_msg_clear(&answer);
    if (!json) {
        snprintf(error, error_size, "out of memory rendering the page");
        return NULL;
    }
    /* the ETag leaves generated_at out: an unchanged page keeps its tag from one rendering
       to the next, so clients revalidate with 304s */
    json_object_del(json, "generated_at");
    json_object_set_new(json, "cache_ms", json_integer((json_int_t)self->config.cache_ms));
    char *unstamped = json_dumps(json, JSON_COMPACT);
    json_object_set_new(json, "generated_at", lk_json_time(now_ms));
    char *body = unstamped ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    if (!body) {
        free(unstamped);
        snprintf(error, error_size, "out of memory rendering the page");
        return NULL;
    }
    s_etag(unstamped, strlen(unstamped), true, etag, etag_size);
    free(unstamped);
    *size = strlen(body);
    return body;
}

/* Fills reply from the entry's current rendering (the caller holds its lock). */
static void s_answer_locked(status_service_t *self, s_entry_t *entry, const char *if_none_match,
                            http_reply_t *reply)
{
    if (status_etag_matches(if_none_match, entry->etag)) {
        s_not_modified(reply, entry->etag, self->json_cache_control);
        return;
    }
    char *copy = malloc(entry->size + 1);
    if (!copy) {
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        return;
    }
    memcpy(copy, entry->body, entry->size + 1);
    http_reply_text(reply, 200, "application/json; charset=utf-8", copy, entry->size);
    reply->etag = strdup(entry->etag);
    reply->cache_control = self->json_cache_control;
}

void status_service_serve_json(status_service_t *self, pipeline_t *pipeline,
                               const lk_status_page_t *page, const char *if_none_match,
                               http_reply_t *reply)
{
    s_entry_t *entry = s_entry_of(self, page);
    if (!entry) {
        http_reply_error(reply, 404, "status page not found", NULL);
        return;
    }
    int64_t deadline_ms = lk_mono_ms() + 10000;
    pthread_mutex_lock(&entry->lock);
    while (true) {
        int64_t now = lk_mono_ms();
        bool have = entry->body != NULL;
        int64_t age = now - entry->rendered_ms;
        bool changed = entry->dirty && age >= STATUS_CHANGED_MIN_MS;
        if (have && age < self->config.cache_ms && !changed) {
            s_answer_locked(self, entry, if_none_match, reply);
            break;
        }
        if (!entry->refreshing && now >= entry->retry_ms) {
            /* this request refreshes; the others keep being served meanwhile */
            entry->refreshing = true;
            entry->dirty = false; /* an event from now on calls for the next rendering */
            pthread_mutex_unlock(&entry->lock);
            size_t size = 0;
            char etag[32], error[160];
            char *body =
                s_render(self, pipeline, page, &size, etag, sizeof etag, error, sizeof error);
            pthread_mutex_lock(&entry->lock);
            entry->refreshing = false;
            if (body) {
                free(entry->body);
                entry->body = body;
                entry->size = size;
                memcpy(entry->etag, etag, sizeof etag);
                entry->rendered_ms = lk_mono_ms();
                entry->last_error[0] = '\0';
            } else {
                entry->retry_ms = lk_mono_ms() + STATUS_RETRY_MS;
                snprintf(entry->last_error, sizeof entry->last_error, "%s", error);
                lk_warn("ingest: status page %s: cannot refresh: %s", page->slug, error);
            }
            pthread_cond_broadcast(&entry->refreshed);
            continue; /* answer from what is there now */
        }
        if (have && age < STATUS_STALE_MAX_MS) {
            s_answer_locked(self, entry, if_none_match, reply);
            break;
        }
        if (!entry->refreshing || now >= deadline_ms) {
            http_reply_error(reply, 503, "status unavailable",
                             json_string(entry->last_error[0] ? entry->last_error
                                                              : "the page could not be read"));
            reply->retry_after_s = 2;
            break;
        }
        /* nothing to show yet: wait for the request that refreshes */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&entry->refreshed, &entry->lock, &until);
    }
    pthread_mutex_unlock(&entry->lock);
}

/* ---- the HTML ------------------------------------------------------------------------------- */

void status_service_serve_html(status_service_t *self, const char *if_none_match,
                               http_reply_t *reply)
{
    if (status_etag_matches(if_none_match, self->html_etag)) {
        s_not_modified(reply, self->html_etag, self->html_cache_control);
        return;
    }
    char *copy = malloc(status_page_html_size + 1);
    if (!copy) {
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        return;
    }
    memcpy(copy, status_page_html, status_page_html_size + 1);
    http_reply_text(reply, 200, "text/html; charset=utf-8", copy, status_page_html_size);
    reply->etag = strdup(self->html_etag);
    reply->cache_control = self->html_cache_control;
}

/* ---- the "changed" stream ------------------------------------------------------------------- */

enum { S_LINE_START = 0, S_NAME, S_SKIP };

void status_events_filter_init(status_events_filter_t *filter)
{
    memset(filter, 0, sizeof *filter);
}

/* Closes the current line's field name (at ':' or end of line). */
static void s_filter_field(status_events_filter_t *filter, bool colon)
{
    filter->name[filter->name_length] = '\0';
    if (strcmp(filter->name, "id") == 0 || strcmp(filter->name, "event") == 0 ||
        strcmp(filter->name, "data") == 0)
        filter->frame_event = true;
    filter->state = colon ? S_SKIP : S_LINE_START;
}

size_t status_events_filter_feed(status_events_filter_t *filter, const char *data, size_t size,
                                 char *out, size_t out_size)
{
    bool changed = false, keepalive = false;
    for (size_t i = 0; i < size; i++) {
        char c = data[i];
        switch (filter->state) {
        case S_LINE_START:
            if (c == '\n') { /* a blank line ends the frame */
                if (!filter->preamble_done)
                    filter->preamble_done = true;
                else if (filter->frame_event)
                    changed = true;
                else if (filter->frame_comment)
                    keepalive = true;
                filter->frame_event = filter->frame_comment = false;
            } else if (c == ':') {
                filter->frame_comment = true;
                filter->state = S_SKIP;
            } else {
                filter->name_length = 0;
                filter->name[filter->name_length++] = c;
                filter->state = S_NAME;
            }
            break;
        case S_NAME:
            if (c == ':' || c == '\n')
                s_filter_field(filter, c == ':');
            else if (filter->name_length + 1 < sizeof filter->name)
                filter->name[filter->name_length++] = c;
            else
                filter->name[0] = '_'; /* longer than any name we care for */
            break;
        default: /* S_SKIP */
            if (c == '\n')
                filter->state = S_LINE_START;
            break;
        }
    }
    int written = 0;
    if (changed)
        written = snprintf(out, out_size, "event: changed\ndata: {}\n\n");
    else if (keepalive)
        written = snprintf(out, out_size, ": keepalive\n\n");
    return written > 0 && (size_t)written < out_size ? (size_t)written : 0;
}

#define S_PREAMBLE ": lookout status\nretry: 5000\n\n"

typedef struct {
    status_service_t *service;
    s_entry_t *entry;    /* the page's cache entry, marked dirty on each change */
    http_stream_t inner; /* the hub's stream of the tenant */
    unsigned long long inner_position;
    status_events_filter_t filter;
    char out[128];
    size_t out_length, out_sent;
    char scratch[8192];
} s_stream_t;

/* The content reader, on an HTTP thread: hands out what the filter produced, reading the
   hub's stream until it does; 0 when the hub's reader suspended the connection. */
static long s_stream_read(void *cls, unsigned long long position, char *buf, size_t max)
{
    s_stream_t *stream = cls;
    while (stream->out_sent == stream->out_length) {
        long got = stream->inner.read(stream->inner.cls, stream->inner_position, stream->scratch,
                                      sizeof stream->scratch);
        if (got <= 0)
            return got; /* 0: suspended until the hub appends; or the stream's end */
        stream->inner_position += (unsigned long long)got;
        stream->out_sent = 0;
        stream->out_length = status_events_filter_feed(
            &stream->filter, stream->scratch, (size_t)got, stream->out, sizeof stream->out);
        if (stream->out_length > 0 && stream->out[0] == 'e' && stream->entry) {
            /* the page changed: its next request renders it again instead of waiting for
               the cache to expire, so the client this tells fetches the change */
            pthread_mutex_lock(&stream->entry->lock);
            stream->entry->dirty = true;
            pthread_mutex_unlock(&stream->entry->lock);
        }
    }
    size_t size = stream->out_length - stream->out_sent;
    if (size > max)
        size = max;
    memcpy(buf, stream->out + stream->out_sent, size);
    stream->out_sent += size;
    return (long)size;
}

static void s_stream_free(void *cls)
{
    s_stream_t *stream = cls;
    if (stream->inner.free)
        stream->inner.free(stream->inner.cls);
    atomic_fetch_sub(&stream->service->streams, 1);
    free(stream);
}

void status_service_open_events(status_service_t *self, struct sse_hub_t *hub,
                                const lk_status_page_t *page, void *connection, http_reply_t *reply)
{
    if (!hub) {
        http_reply_error(reply, 503, "event stream unavailable", json_string("poll the page"));
        return;
    }
    if (atomic_fetch_add(&self->streams, 1) >= self->config.max_streams) {
        atomic_fetch_sub(&self->streams, 1);
        http_reply_error(reply, 503, "too many status streams",
                         json_string("LOOKOUT_STATUS_MAX_STREAMS streams are open; poll the page"));
        reply->retry_after_s = 30;
        return;
    }
    s_stream_t *stream = calloc(1, sizeof *stream);
    if (!stream) {
        atomic_fetch_sub(&self->streams, 1);
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        return;
    }
    stream->service = self;
    stream->entry = s_entry_of(self, page);
    status_events_filter_init(&stream->filter);
    memcpy(stream->out, S_PREAMBLE, sizeof S_PREAMBLE - 1);
    stream->out_length = sizeof S_PREAMBLE - 1;
    sse_open_t opened = sse_hub_open(hub, page->tenant_id, false, 0, connection, &stream->inner);
    if (opened != SSE_OPEN_OK) {
        atomic_fetch_sub(&self->streams, 1);
        free(stream);
        http_reply_error(reply, 503, "event stream unavailable", json_string("poll the page"));
        reply->retry_after_s = 30;
        return;
    }
    reply->status = 200;
    reply->stream.read = s_stream_read;
    reply->stream.free = s_stream_free;
    reply->stream.cls = stream;
    reply->content_type = "text/event-stream; charset=utf-8";
    reply->cache_control = "no-cache";
}

int status_service_stream_count(status_service_t *self)
{
    return atomic_load(&self->streams);
}
