/*  routes — every HTTP endpoint of lookout-ingest, one line each (docs/http-api.md).

    ingest.c tries the entries in order; the first whose method and pattern match serves the
    request. A path that matches some pattern but not its method is answered 405 with the
    methods that would match.
*/
#include "handlers.h"

const route_t ingest_routes[] = {
    {"GET", "/healthz", ROUTE_AUTH_NONE, handle_healthz},
    {"GET", "/metrics", ROUTE_AUTH_HANDLER, handle_metrics},
    {"POST", "/alerts", ROUTE_AUTH_TENANT, handle_post_alerts},
    {"GET", "/incidents", ROUTE_AUTH_TENANT, handle_list_incidents},
    {"GET", "/incidents/{}", ROUTE_AUTH_TENANT, handle_get_incident},
    {"POST", "/incidents/{}/acknowledge", ROUTE_AUTH_TENANT, handle_acknowledge_incident},
    {"POST", "/incidents/{}/resolve", ROUTE_AUTH_TENANT, handle_resolve_incident},
    {"POST", "/incidents/{}/updates", ROUTE_AUTH_TENANT, handle_post_incident_update},
    {"GET", "/events", ROUTE_AUTH_TENANT, handle_events},
    {"POST", "/api/v2/alerts", ROUTE_AUTH_HANDLER, handle_prometheus_alerts},
    {"POST", "/webhooks/alertmanager", ROUTE_AUTH_HANDLER, handle_alertmanager_webhook},
    {"POST", "/v2/enqueue", ROUTE_AUTH_HANDLER, handle_pagerduty_enqueue},
    {"POST", "/silences", ROUTE_AUTH_TENANT, handle_post_silence},
    {"GET", "/silences", ROUTE_AUTH_TENANT, handle_list_silences},
    {"GET", "/silences/{}", ROUTE_AUTH_TENANT, handle_get_silence},
    {"DELETE", "/silences/{}", ROUTE_AUTH_TENANT, handle_delete_silence},
    {"POST", "/heartbeats/{}", ROUTE_AUTH_TENANT, handle_heartbeat_ping},
    {"GET", "/heartbeats", ROUTE_AUTH_TENANT, handle_list_heartbeats},
    {"GET", "/alerts/suppressed", ROUTE_AUTH_TENANT, handle_list_suppressed},
    {"GET", "/oncall", ROUTE_AUTH_TENANT, handle_get_oncall},
    {"POST", "/oncall/overrides", ROUTE_AUTH_TENANT, handle_post_oncall_override},
    {"GET", "/oncall/overrides", ROUTE_AUTH_TENANT, handle_list_oncall_overrides},
    {"DELETE", "/oncall/overrides/{}", ROUTE_AUTH_TENANT, handle_delete_oncall_override},
    {"GET", "/", ROUTE_AUTH_HANDLER, handle_status_root},
    {"GET", "/status", ROUTE_AUTH_HANDLER, handle_status},
    {"GET", "/status/{}", ROUTE_AUTH_HANDLER, handle_status_page},
    {"GET", "/status/{}/events", ROUTE_AUTH_HANDLER, handle_status_events},
    {"POST", "/tokens", ROUTE_AUTH_TENANT, handle_post_token},
    {"GET", "/tokens", ROUTE_AUTH_TENANT, handle_list_tokens},
    {"DELETE", "/tokens/{}", ROUTE_AUTH_TENANT, handle_delete_token},
    {NULL, NULL, ROUTE_AUTH_NONE, NULL},
};
