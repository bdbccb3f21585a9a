/*  auth — who is calling, and for which tenant (docs/http-api.md, "Authentication").

    Pure functions, no I/O: the HTTP layer passes the raw header values in and maps the
    result to a status code. Accepts `Bearer $SERVICE_TOKEN` + X-Tenant-ID, or an HS256 JWT
    signed with JWT_SECRET whose `tenant_id` claim names the tenant; development mode admits
    unauthenticated calls on the system tenant. Secrets are compared in constant time and
    never logged.
*/
#ifndef INGEST_AUTH_H
#define INGEST_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "lk_uuid.h"

typedef struct {
    const char *service_token; /* NULL or "" = service-token auth disabled */
    const char *jwt_secret;    /* NULL or "" = JWT auth disabled */
    bool dev_mode;             /* no credentials → system tenant */
} auth_config_t;

typedef enum {
    AUTH_OK = 0,
    AUTH_MISSING,    /* 401: no Authorization header (and not dev mode) */
    AUTH_INVALID,    /* 401: wrong token, bad/expired JWT, bad claim */
    AUTH_BAD_TENANT, /* 400: service token without X-Tenant-ID, or X-Tenant-ID not a UUID */
    AUTH_FORBIDDEN,  /* 403: X-Tenant-ID differs from the JWT's tenant_id */
} auth_result_t;

typedef struct {
    char tenant_id[LK_UUID_STR_LEN + 1]; /* lower-case canonical UUID */
    char actor[257];                     /* JWT `sub`, "service", or "anonymous" (dev mode) */
} auth_identity_t;

/* Decides who is calling. authorization and tenant_header are the raw header values or
   NULL. now_s is the current Unix time (for exp/nbf, 30 s leeway). On AUTH_OK fills *out;
   otherwise sets *reason to a short static sentence for the error body. */
auth_result_t auth_check(const auth_config_t *config, const char *authorization,
                         const char *tenant_header, int64_t now_s, auth_identity_t *out,
                         const char **reason);

/* HTTP status for a result: 200, 401, 401, 400, 403. */
int auth_http_status(auth_result_t result);

/* Makes an HS256 JWT with the given claims object text (e.g. {"tenant_id":"…","exp":…}).
   Returns a malloc'd token, NULL on error. Used by tests and tooling. */
char *auth_jwt_sign(const char *secret, const char *claims_json);

#endif
