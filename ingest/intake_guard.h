/*  intake_guard — what every alert intake endpoint checks besides the body: who is sending
    (ingest tokens, then the usual credentials) and whether the tenant is within its rate.

    POST /alerts and POST /heartbeats/{name} (ROUTE_AUTH_TENANT routes) also take an ingest
    token: ingest.c asks intake_guard_scope which scope a route's handler needs and tries
    the token before the usual credentials. /api/v2/alerts and /webhooks/alertmanager, which
    authenticate by themselves, call intake_guard_token. Every alert intake calls
    intake_guard_rate once it knows how many alerts a request carries.
*/
#ifndef INGEST_INTAKE_GUARD_H
#define INGEST_INTAKE_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handlers.h"
#include "ingest_token.h"

/* The INGEST_SCOPE_* bit with which an ingest token may call a ROUTE_AUTH_TENANT route
   served by handler, 0 when ingest tokens may not call it. */
uint32_t intake_guard_scope(route_handler_t handler);

/* Tries the request's Authorization as an ingest token needing scope (INGEST_SCOPE_*).
   Returns 1 with *caller set when it is a valid token, -1 with reply filled when it is a
   token that is refused (or store cannot be asked), 0 when the credential is no ingest
   token (try the other schemes). */
int intake_guard_token(const handler_context_t *context, const char *authorization,
                       const char *tenant_header, uint32_t scope, auth_identity_t *caller,
                       http_reply_t *reply);

/* Charges count alerts to the tenant's rate limit. Returns true when admitted; false with
   reply = 429 {"error": "rate limited", ...} and Retry-After. */
bool intake_guard_rate(const handler_context_t *context, const char *tenant_id, size_t count,
                       http_reply_t *reply);

#endif
