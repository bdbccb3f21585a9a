/*  handlers_util — what several handlers share: request headers and asking the pipeline. */
#include <stdio.h>

#include "handlers.h"

const char *http_request_header(const http_request_t *request, const char *name)
{
    return request->header ? request->header(request->connection, name) : NULL;
}

int handler_ask(const handler_context_t *context, pipeline_peer_t peer, lk_msg_t *request,
                lk_msg_type_t expected, bool ok_only, lk_msg_t *answer, http_reply_t *reply)
{
    char detail[256];
    if (pipeline_request(context->pipeline, peer, request, answer, detail, sizeof detail) != 0) {
        http_reply_error(reply, 503, "pipeline unavailable", json_string(detail));
        return -1;
    }
    if (answer->type != expected) {
        http_reply_errorf(reply, 500, "internal error", "%s answered with %s",
                          peer == PIPELINE_CORRELATE ? "correlate" : "store",
                          lk_msg_type_name(answer->type));
        lk_msg_clear(answer);
        return -1;
    }
    if (ok_only && answer->status != LK_STATUS_OK) {
        http_reply_status(reply, answer->status, answer->error);
        lk_msg_clear(answer);
        return -1;
    }
    return 0;
}
