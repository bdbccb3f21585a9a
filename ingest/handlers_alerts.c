/*  handlers_alerts — POST /alerts: validate, hand the valid alerts to correlate, report.

    The valid alerts of a request travel to correlate as one alert_batch (split into chunks
    of HANDLER_ALERT_CHUNK when a deployment allows bigger requests, sent one after the
    other), and the request is answered only after correlate confirms that the store
    committed what they changed. The handler does not wait for that on its thread: it
    defers (handler_defer) and s_on_chunk goes on when correlate answered. Bad
    elements do not hold the good ones back: they are listed in the reply, which is then a
    400 instead of a 202.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_parse.h"
#include "handlers.h"
#include "intake_guard.h"
#include "ingest_metrics.h"
#include "lk_log.h"
#include "lk_time.h"

/* Most alerts sent to correlate in one alert_batch. */
#define HANDLER_ALERT_CHUNK 1000

/* A request between its chunks: what the answer needs once correlate confirmed them all. */
typedef struct {
    char tenant_id[LK_UUID_STR_LEN + 1];
    alert_parse_result_t parsed;
    lk_alert_result_t *results;
    size_t element_count;
    ingest_alert_counts_t counts;
    size_t start, count; /* the chunk in flight */
} s_post_t;

static void s_post_free(void *state)
{
    s_post_t *post = state;
    free(post->results);
    alert_parse_result_clear(&post->parsed);
    free(post);
}

static void s_on_chunk(const handler_context_t *context, const http_request_t *request, void *state,
                       lk_msg_t *answer, const char *detail, http_reply_t *reply);

/* Sends the chunk of alerts from post->start as one alert_batch; s_on_chunk goes on. */
static void s_send_chunk(const handler_context_t *context, const http_request_t *request,
                         s_post_t *post)
{
    post->count = post->parsed.alert_count - post->start;
    if (post->count > HANDLER_ALERT_CHUNK)
        post->count = HANDLER_ALERT_CHUNK;
    handler_defer_alerts(context, request, post->tenant_id, post->parsed.alerts + post->start,
                         post->count, s_on_chunk, post, s_post_free);
}

/* The answer: 202 with every alert's outcome, or 400 when some elements were invalid. */
static void s_answer(s_post_t *post, http_reply_t *reply)
{
    ingest_metrics_alerts(INGEST_FORMAT_NATIVE, post->tenant_id, &post->counts);
    handler_alerts_answer(reply, 202, &post->parsed, post->results, post->element_count);
}

/* correlate's answer to a chunk: copies its per-alert results and sends the next chunk, or
   answers. A failure answers for the whole request: 503 when the pipeline did not answer,
   the mapped status when correlate refused, 500 on a reply that does not fit the request. */
static void s_on_chunk(const handler_context_t *context, const http_request_t *request, void *state,
                       lk_msg_t *answer, const char *detail, http_reply_t *reply)
{
    s_post_t *post = state;
    if (!answer)
        http_reply_error(reply, 503, "pipeline unavailable", json_string(detail));
    else if (answer->type != LK_MSG_ALERT_REPLY)
        http_reply_errorf(reply, 500, "internal error", "correlate answered with %s",
                          lk_msg_type_name(answer->type));
    else if (answer->status != LK_STATUS_OK)
        http_reply_status(reply, answer->status, answer->error);
    else if (answer->result_count != post->count)
        http_reply_errorf(reply, 500, "internal error",
                          "correlate answered %zu results for %zu alerts", answer->result_count,
                          post->count);
    else {
        memcpy(post->results + post->start, answer->results, post->count * sizeof *post->results);
        post->start += post->count;
        if (post->start < post->parsed.alert_count)
            s_send_chunk(context, request, post);
        else
            s_answer(post, reply);
        return;
    }
    post->counts.failed = post->counts.accepted;
    post->counts.accepted = 0;
    ingest_metrics_alerts(INGEST_FORMAT_NATIVE, post->tenant_id, &post->counts);
}

void handle_post_alerts(const handler_context_t *context, const auth_identity_t *caller,
                        const http_request_t *request, http_reply_t *reply)
{
    const ingest_config_t *config = context->config;
    json_t *doc = http_json_parse(request->body, request->body_size, reply);
    if (!doc)
        return;
    /* Counted here because alert_parse_native reports an oversized batch like any other
       unusable body, and the API answers it with its own status. */
    if (json_is_array(doc) && json_array_size(doc) > config->max_batch) {
        http_reply_errorf(reply, 413, "too many alerts", "at most %zu alerts per request",
                          config->max_batch);
        ingest_alert_counts_t counts = {.received = json_array_size(doc),
                                        .too_large = json_array_size(doc)};
        ingest_metrics_alerts(INGEST_FORMAT_NATIVE, caller->tenant_id, &counts);
        json_decref(doc);
        return;
    }
    size_t element_count = json_is_array(doc) ? json_array_size(doc) : 1;

    s_post_t *post = calloc(1, sizeof *post);
    if (!post) {
        json_decref(doc);
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        return;
    }
    const char *reason = NULL;
    int rc = alert_parse_native(doc, caller->tenant_id, lk_now_ms(), config->max_batch,
                                &post->parsed, &reason);
    json_decref(doc);
    if (rc != 0) {
        http_reply_error(reply, 400, "invalid JSON",
                         json_string(reason ? reason : "not an alert or an array of alerts"));
        s_post_free(post);
        return;
    }
    /* the tenant's intake rate, charged per valid alert (intake_guard.h) */
    if (!intake_guard_rate(context, caller->tenant_id, post->parsed.alert_count, reply)) {
        s_post_free(post);
        return;
    }
    if (post->parsed.alert_count > 0) {
        post->results = calloc(post->parsed.alert_count, sizeof *post->results);
        if (!post->results) {
            http_reply_error(reply, 500, "internal error", json_string("out of memory"));
            s_post_free(post);
            return;
        }
    }
    memcpy(post->tenant_id, caller->tenant_id, sizeof post->tenant_id);
    post->element_count = element_count;
    post->counts = (ingest_alert_counts_t){.received = element_count,
                                           .invalid = element_count - post->parsed.alert_count,
                                           .accepted = post->parsed.alert_count};
    /* Nothing valid: correlate has nothing to do, so it is not asked. */
    if (post->parsed.alert_count == 0) {
        s_answer(post, reply);
        s_post_free(post);
        return;
    }
    s_send_chunk(context, request, post);
}
