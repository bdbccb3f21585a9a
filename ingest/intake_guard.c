/*  intake_guard — ingest tokens and rate limits for the intake endpoints (see the header). */
#include "intake_guard.h"

#include "ingest_token.h"

#include "lk_log.h"
#include "lk_time.h"
#include "rate_limit.h"
#include "tokens.h"

uint32_t intake_guard_scope(route_handler_t handler)
{
    if (handler == handle_post_alerts)
        return INGEST_SCOPE_ALERTS_WRITE;
    if (handler == handle_heartbeat_ping)
        return INGEST_SCOPE_HEARTBEATS_WRITE;
    return 0;
}

int intake_guard_token(const handler_context_t *context, const char *authorization,
                       const char *tenant_header, uint32_t scope, auth_identity_t *caller,
                       http_reply_t *reply)
{
    if (!context->tokens)
        return 0;
    switch (tokens_authenticate(context->tokens, context->pipeline, authorization, tenant_header,
                                scope, caller, reply)) {
    case TOKENS_OK:
        return 1;
    case TOKENS_REFUSED:
        return -1;
    case TOKENS_NOT_A_TOKEN:
        break;
    }
    return 0;
}

bool intake_guard_rate(const handler_context_t *context, const char *tenant_id, size_t count,
                       http_reply_t *reply)
{
    int retry_after_s = 1;
    if (rate_limit_admit(context->rate_limit, tenant_id, count, lk_mono_ms(), &retry_after_s))
        return true;
    http_reply_errorf(reply, 429, "rate limited",
                      "tenant over its intake rate of %g alerts/s (burst %g); retry in %d s",
                      context->config->tenant_rate, context->config->tenant_burst, retry_after_s);
    reply->retry_after = true;
    reply->retry_after_s = retry_after_s;
    lk_debug("ingest: tenant %s rate limited (%zu alerts)", tenant_id, count);
    return false;
}
