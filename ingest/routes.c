/*  routes — every HTTP endpoint of lookout-ingest, one line each (docs/http-api.md).

    ingest.c tries the entries in order; the first whose method and pattern match serves the
    request. A path that matches some pattern but not its method is answered 405 with the
    methods that would match.
*/
#include "handlers.h"

const route_t ingest_routes[] = {
    {"GET", "/healthz", ROUTE_AUTH_NONE, handle_healthz},
    {"POST", "/alerts", ROUTE_AUTH_TENANT, handle_post_alerts},
    {"GET", "/incidents", ROUTE_AUTH_TENANT, handle_list_incidents},
    {"GET", "/incidents/{}", ROUTE_AUTH_TENANT, handle_get_incident},
    {"POST", "/incidents/{}/acknowledge", ROUTE_AUTH_TENANT, handle_acknowledge_incident},
    {"POST", "/incidents/{}/resolve", ROUTE_AUTH_TENANT, handle_resolve_incident},
    {NULL, NULL, ROUTE_AUTH_NONE, NULL},
};
