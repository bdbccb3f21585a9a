/*  handlers_events — GET /events: the caller's tenant's incident events as Server-Sent
    Events (docs/http-api.md, docs/events.md). The stream itself is sse.c's.

    Where it starts: after the sequence in the Last-Event-ID header (what a browser's
    EventSource sends when it reconnects), else after ?since=N (0: the oldest event still in
    the outbox), else from now.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "sse.h"

/* Parses a decimal sequence (digits only, no sign, fits 63 bits). */
static bool s_sequence(const char *text, uint64_t *out)
{
    if (!text || !*text || strlen(text) > 19)
        return false;
    for (const char *cursor = text; *cursor; cursor++)
        if (*cursor < '0' || *cursor > '9')
            return false;
    errno = 0;
    unsigned long long value = strtoull(text, NULL, 10);
    if (errno || value > INT64_MAX)
        return false;
    *out = value;
    return true;
}

void handle_events(const handler_context_t *context, const auth_identity_t *caller,
                   const http_request_t *request, http_reply_t *reply)
{
    const char *last_event_id = http_request_header(request, "Last-Event-ID");
    const char *since = NULL;
    for (size_t index = 0; index < request->arg_count; index++)
        if (strcmp(request->args[index].name, "since") == 0)
            since = request->args[index].value;
    bool resume = false;
    uint64_t after = 0;
    if (last_event_id && *last_event_id) {
        if (!s_sequence(last_event_id, &after)) {
            http_reply_error(reply, 400, "invalid Last-Event-ID",
                             json_string("an event id (a sequence number) is expected"));
            return;
        }
        resume = true;
    } else if (since) {
        if (!s_sequence(since, &after)) {
            http_reply_error(reply, 400, "invalid query parameter",
                             json_string("since: a sequence number is expected"));
            return;
        }
        resume = true;
    }
    if (!context->sse) {
        http_reply_error(reply, 503, "event stream unavailable", NULL);
        return;
    }
    http_stream_t stream;
    switch (sse_hub_open(context->sse, caller->tenant_id, resume, after,
                         (void *)request->connection, &stream)) {
    case SSE_OPEN_OK:
        break;
    case SSE_OPEN_FULL:
        http_reply_error(reply, 503, "too many event streams",
                         json_string("LOOKOUT_SSE_MAX_CLIENTS streams are open; retry later"));
        reply->retry_after_s = 5;
        return;
    case SSE_OPEN_STOPPED:
        http_reply_error(reply, 503, "shutting down", NULL);
        return;
    }
    reply->status = 200;
    reply->stream = stream;
    reply->content_type = "text/event-stream; charset=utf-8";
    reply->cache_control = "no-cache";
}
