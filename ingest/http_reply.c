/*  http_reply — reply values of ingest handlers and the JSON request-body guard.

    See http_reply.h. Nothing here knows about libmicrohttpd; ingest.c does the sending.
*/
#include "http_reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_fallback_body[] = "{\"error\":\"internal error\",\"detail\":null}";

void http_reply_init(http_reply_t *reply)
{
    memset(reply, 0, sizeof *reply);
}

void http_reply_clear(http_reply_t *reply)
{
    json_decref(reply->body);
    free(reply->text);
    free(reply->etag);
    if (reply->stream.free)
        reply->stream.free(reply->stream.cls);
    memset(reply, 0, sizeof *reply);
}

void http_reply_text(http_reply_t *reply, int status, const char *content_type, char *text,
                     size_t size)
{
    free(reply->text);
    reply->status = status;
    reply->text = text;
    reply->text_size = size;
    reply->content_type = content_type;
}

void http_reply_json(http_reply_t *reply, int status, json_t *body)
{
    json_decref(reply->body);
    reply->status = status;
    reply->body = body;
    reply->retry_after = status == 503;
    reply->www_authenticate = status == 401;
}

void http_reply_error(http_reply_t *reply, int status, const char *error, json_t *detail)
{
    /* json_pack's "o?" steals detail and turns NULL into JSON null. */
    http_reply_json(reply, status, json_pack("{s:s, s:o?}", "error", error, "detail", detail));
}

void http_reply_errorf(http_reply_t *reply, int status, const char *error, const char *fmt, ...)
{
    char detail[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(detail, sizeof detail, fmt, args);
    va_end(args);
    http_reply_error(reply, status, error, json_string(detail));
}

void http_reply_status(http_reply_t *reply, lk_status_t status, const char *detail)
{
    /* Peer error texts are internal sentences (never secrets); they help operators and
       callers tell a state conflict from a bad request. */
    json_t *text = detail && *detail ? json_string(detail) : NULL;
    switch (status) {
    case LK_STATUS_NOT_FOUND:
        json_decref(text);
        http_reply_error(reply, 404, "incident not found", NULL);
        break;
    case LK_STATUS_CONFLICT:
        http_reply_error(reply, 409, "not allowed in the incident's current state", text);
        break;
    case LK_STATUS_INVALID:
        http_reply_error(reply, 400, "invalid request", text);
        break;
    case LK_STATUS_UNAVAILABLE:
        http_reply_error(reply, 503, "pipeline unavailable", text);
        break;
    default:
        http_reply_error(reply, 500, "internal error", text);
        break;
    }
}

char *http_reply_render(http_reply_t *reply, size_t *size)
{
    char *text = reply->body ? json_dumps(reply->body, JSON_COMPACT) : NULL;
    if (!text) {
        /* Only OOM gets here: answer something well-formed rather than nothing. */
        reply->status = 500;
        reply->retry_after = false;
        reply->www_authenticate = false;
        text = strdup(s_fallback_body);
    }
    *size = text ? strlen(text) : 0;
    return text;
}

void http_reply_describe(const http_reply_t *reply, char *buf, size_t buf_size)
{
    const char *error = json_string_value(json_object_get(reply->body, "error"));
    json_t *detail = json_object_get(reply->body, "detail");
    char *detail_text = NULL;
    if (json_is_string(detail))
        detail_text = strdup(json_string_value(detail));
    else if (detail && !json_is_null(detail))
        detail_text = json_dumps(detail, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(buf, buf_size, "%s%s%s", error ? error : "(no error text)", detail_text ? ": " : "",
             detail_text ? detail_text : "");
    free(detail_text);
}

bool http_json_depth_ok(const char *data, size_t size, int max_depth)
{
    int depth = 0;
    bool in_string = false;
    for (size_t at = 0; at < size; at++) {
        char c = data[at];
        if (in_string) {
            if (c == '\\')
                at++; /* the escaped character cannot end the string */
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return false;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return true;
}

json_t *http_json_parse(const char *data, size_t size, http_reply_t *reply)
{
    /* Checked before parsing so a hostile body never gets to build a deep tree. */
    if (!http_json_depth_ok(data, size, HTTP_JSON_MAX_DEPTH)) {
        http_reply_errorf(reply, 400, "invalid JSON", "nesting deeper than %d levels",
                          HTTP_JSON_MAX_DEPTH);
        return NULL;
    }
    json_error_t error;
    /* Without JSON_DECODE_ANY jansson accepts only an object or an array at the top. */
    json_t *doc = json_loadb(data, size, 0, &error);
    if (!doc)
        http_reply_errorf(reply, 400, "invalid JSON", "line %d, column %d: %s", error.line,
                          error.column, error.text);
    return doc;
}
