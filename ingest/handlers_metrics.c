/*  handlers_metrics — GET /metrics on the API port: the same registry lookout-ingest serves
    on its own metrics port (lk_metrics_http.h), for deployments that scrape one address.

    The exposition names tenants (lookout_alerts_*{tenant=...}), so on the API port it is not
    public: it takes `Authorization: Bearer $SERVICE_TOKEN` (no X-Tenant-ID: it is not about
    one tenant), or nothing in LOOKOUT_DEV_MODE. The dedicated metrics port is meant for the
    internal network and takes no credentials, as Prometheus exporters do.
*/
#include <openssl/crypto.h>
#include <string.h>

#include "handlers.h"
#include "lk_metrics.h"

/* True when authorization is exactly "Bearer <token>" (constant time over the token). */
static bool s_service_token_ok(const char *authorization, const char *token)
{
    if (!authorization || !token || !*token || strncmp(authorization, "Bearer ", 7) != 0)
        return false;
    const char *given = authorization + 7;
    size_t length = strlen(token);
    return strlen(given) == length && CRYPTO_memcmp(given, token, length) == 0;
}

void handle_metrics(const handler_context_t *context, const auth_identity_t *caller,
                    const http_request_t *request, http_reply_t *reply)
{
    const ingest_config_t *config = context->config;
    const char *authorization = http_request_header(request, "Authorization");
    if (!(config->dev_mode && !authorization) &&
        !s_service_token_ok(authorization, config->service_token)) {
        http_reply_error(reply, 401, "not authorized",
                         json_string("GET /metrics takes the service token (Bearer)"));
        return;
    }
    size_t size = 0;
    char *text = lk_metrics_render(&size);
    if (!text) {
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        return;
    }
    http_reply_text(reply, 200, "text/plain; version=0.0.4; charset=utf-8", text, size);
}
