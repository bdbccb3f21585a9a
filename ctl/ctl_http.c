/*  ctl_http — libcurl requests and a Server-Sent Events reader (see ctl_http.h).

    The event reader follows the SSE rules the API uses: "field: value" lines, ":" comments
    (keepalives), a blank line ends an event; it buffers one partial line between reads.
*/
#include "ctl_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Most bytes of an error answer or one event kept; more is cut (a CLI shows it, no more). */
#define S_BODY_MAX  (16 * 1024 * 1024)
#define S_EVENT_MAX (4 * 1024 * 1024)

typedef struct {
    char *data;
    size_t size;
    size_t capacity;
} s_buffer_t;

static bool s_append(s_buffer_t *buffer, const char *data, size_t size, size_t limit)
{
    if (buffer->size + size > limit)
        return false;
    if (buffer->size + size + 1 > buffer->capacity) {
        size_t capacity = buffer->capacity ? buffer->capacity : 4096;
        while (capacity < buffer->size + size + 1)
            capacity *= 2;
        char *grown = realloc(buffer->data, capacity);
        if (!grown)
            return false;
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->data + buffer->size, data, size);
    buffer->size += size;
    buffer->data[buffer->size] = '\0';
    return true;
}

static size_t s_on_body(char *data, size_t size, size_t count, void *arg)
{
    return s_append(arg, data, size * count, S_BODY_MAX) ? size * count : 0;
}

/* The common options and headers of every request. Returns the header list (caller frees). */
static struct curl_slist *s_setup(CURL *curl, const ctl_http_t *http, const char *path, char *url,
                                  size_t url_size, char *error)
{
    size_t base = strlen(http->url);
    while (base > 0 && http->url[base - 1] == '/')
        base--;
    snprintf(url, url_size, "%.*s%s", (int)base, http->url, path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "lookoutctl");
    struct curl_slist *headers = NULL;
    char line[8192];
    if (http->token && *http->token) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", http->token);
        headers = curl_slist_append(headers, line);
        explicit_bzero(line, sizeof line);
    }
    if (http->tenant && *http->tenant) {
        snprintf(line, sizeof line, "X-Tenant-ID: %s", http->tenant);
        headers = curl_slist_append(headers, line);
    }
    return headers;
}

int ctl_http_request(const ctl_http_t *http, const char *method, const char *path,
                     const char *json_body, ctl_response_t *response)
{
    memset(response, 0, sizeof *response);
    CURL *curl = curl_easy_init();
    if (!curl) {
        snprintf(response->error, sizeof response->error, "cannot initialise libcurl");
        return -1;
    }
    char url[4096];
    char error[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = s_setup(curl, http, path, url, sizeof url, error);
    if (json_body) {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json_body);
    }
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, http->timeout_s > 0 ? http->timeout_s : 30L);
    s_buffer_t body = {0};
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    CURLcode code = curl_easy_perform(curl);
    int rc = 0;
    if (code != CURLE_OK) {
        snprintf(response->error, sizeof response->error, "%.2000s: %.500s", url,
                 error[0] ? error : curl_easy_strerror(code));
        free(body.data);
        rc = -1;
    } else {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response->status);
        response->body = body.data ? body.data : strdup("");
        response->size = body.size;
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return rc;
}

void ctl_response_clear(ctl_response_t *response)
{
    free(response->body);
    memset(response, 0, sizeof *response);
}

char *ctl_http_escape(const char *text)
{
    char *escaped = curl_easy_escape(NULL, text, 0);
    char *copy = escaped ? strdup(escaped) : NULL;
    curl_free(escaped);
    return copy;
}

/* ---- event streams ------------------------------------------------------------------------- */

typedef struct {
    CURL *curl;
    ctl_event_fn fn;
    void *arg;
    bool stopped;
    bool checked;   /* the status was looked at */
    bool streaming; /* the status is 200: parse events; else keep the body */
    s_buffer_t line;
    s_buffer_t data;
    char id[64];
    char event[64];
    s_buffer_t other; /* the body of a non-200 answer */
} s_stream_t;

/* Handles one complete line of the stream. Returns false when the caller wants to stop. */
static bool s_line(s_stream_t *stream, char *line)
{
    if (line[0] == '\0') {
        bool go_on = true;
        if (stream->data.size > 0 || stream->event[0])
            go_on =
                stream->fn(stream->arg, stream->id, stream->event[0] ? stream->event : "message",
                           stream->data.data ? stream->data.data : "");
        stream->data.size = 0;
        if (stream->data.data)
            stream->data.data[0] = '\0';
        stream->event[0] = '\0';
        return go_on;
    }
    if (line[0] == ':')
        return true; /* a comment: keepalive */
    char *colon = strchr(line, ':');
    const char *value = "";
    if (colon) {
        *colon = '\0';
        value = colon[1] == ' ' ? colon + 2 : colon + 1;
    }
    if (strcmp(line, "data") == 0) {
        if (stream->data.size > 0)
            s_append(&stream->data, "\n", 1, S_EVENT_MAX);
        s_append(&stream->data, value, strlen(value), S_EVENT_MAX);
    } else if (strcmp(line, "event") == 0)
        snprintf(stream->event, sizeof stream->event, "%s", value);
    else if (strcmp(line, "id") == 0)
        snprintf(stream->id, sizeof stream->id, "%s", value);
    return true;
}

static size_t s_on_stream(char *data, size_t size, size_t count, void *arg)
{
    s_stream_t *stream = arg;
    size_t total = size * count;
    if (!stream->checked) {
        long status = 0;
        curl_easy_getinfo(stream->curl, CURLINFO_RESPONSE_CODE, &status);
        stream->streaming = status == 200;
        stream->checked = true;
    }
    if (!stream->streaming)
        return s_append(&stream->other, data, total, S_BODY_MAX) ? total : 0;
    for (size_t i = 0; i < total; i++) {
        char c = data[i];
        if (c == '\n') {
            size_t length = stream->line.size;
            if (length > 0 && stream->line.data[length - 1] == '\r')
                stream->line.data[--length] = '\0';
            char *line = stream->line.data ? stream->line.data : (char[]){'\0'};
            bool go_on = s_line(stream, line);
            stream->line.size = 0;
            if (stream->line.data)
                stream->line.data[0] = '\0';
            if (!go_on) {
                stream->stopped = true;
                return 0; /* ends the transfer */
            }
        } else if (!s_append(&stream->line, &c, 1, S_EVENT_MAX))
            return 0;
    }
    return total;
}

int ctl_http_stream(const ctl_http_t *http, const char *path, const char *last_event_id,
                    ctl_event_fn fn, void *arg, bool *stopped, ctl_response_t *response)
{
    memset(response, 0, sizeof *response);
    *stopped = false;
    CURL *curl = curl_easy_init();
    if (!curl) {
        snprintf(response->error, sizeof response->error, "cannot initialise libcurl");
        return -1;
    }
    char url[4096];
    char error[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = s_setup(curl, http, path, url, sizeof url, error);
    headers = curl_slist_append(headers, "Accept: text/event-stream");
    if (last_event_id && *last_event_id) {
        char line[128];
        snprintf(line, sizeof line, "Last-Event-ID: %s", last_event_id);
        headers = curl_slist_append(headers, line);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    s_stream_t stream = {.curl = curl, .fn = fn, .arg = arg};
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_on_stream);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &stream);
    /* no overall timeout: a stream lasts; a server that goes silent past its keepalives
       (15 s by default) for a minute is treated as gone */
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
    CURLcode code = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response->status);
    int rc;
    if (stream.stopped) {
        *stopped = true;
        rc = 0;
    } else if (stream.checked && !stream.streaming) {
        response->body = stream.other.data ? stream.other.data : strdup("");
        response->size = stream.other.size;
        stream.other.data = NULL;
        rc = 1;
    } else if (code != CURLE_OK) {
        snprintf(response->error, sizeof response->error, "%.2000s: %.500s", url,
                 error[0] ? error : curl_easy_strerror(code));
        rc = -1;
    } else if (response->status != 200) {
        response->body = strdup("");
        rc = 1;
    } else
        rc = 0;
    free(stream.line.data);
    free(stream.data.data);
    free(stream.other.data);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return rc;
}
