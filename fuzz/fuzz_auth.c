/*  fuzz_auth — request authentication (auth_check): Authorization and X-Tenant-ID.

    Input: one mode byte, then the credential, a newline, and the X-Tenant-ID value (absent
    when there is no newline). Modes (low two bits):
      0  the credential is the raw Authorization header value;
      1  the credential is a JWT claims object: it is signed with the right secret first, so
         the claim checks behind the signature are reached;
      2  the credential is a token sent as "Bearer <credential>";
      3  as 1, then one signature character is changed: must never pass.
    Bit 2 turns development mode on. A call that passes must name a canonical lower-case
    tenant and an actor; one that fails must give a reason.
*/
#include <stdbool.h>
#include <strings.h>

#include "auth.h"
#include "fuzz.h"
#include "lk_uuid.h"

#define FUZZ_SERVICE_TOKEN "fuzz-service-token-0123456789abcdef"
#define FUZZ_JWT_SECRET    "fuzz-jwt-secret-with-enough-entropy"
#define FUZZ_NOW_S         1795000000

static bool s_canonical_tenant(const char *tenant)
{
    if (!lk_uuid_valid(tenant))
        return false;
    for (const char *c = tenant; *c; c++)
        if (*c >= 'A' && *c <= 'F')
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    if (size < 1)
        return 0;
    int mode = data[0] & 3;
    auth_config_t config = {.service_token = FUZZ_SERVICE_TOKEN,
                            .jwt_secret = FUZZ_JWT_SECRET,
                            .dev_mode = (data[0] & 4) != 0};
    char *text = fuzz_cstring(data + 1, size - 1);
    if (!text)
        return 0;
    const char *tenant = NULL;
    char *newline = memchr(text, '\n', size - 1);
    if (newline) {
        *newline = '\0';
        tenant = newline + 1;
    }
    char *authorization = NULL;
    if (mode == 0)
        authorization = strdup(text);
    else if (mode == 2) {
        authorization = malloc(strlen(text) + 8);
        if (authorization)
            sprintf(authorization, "Bearer %s", text);
    } else {
        char *token = auth_jwt_sign(FUZZ_JWT_SECRET, text);
        if (token) {
            if (mode == 3) {
                size_t length = strlen(token);
                token[length - 1] = token[length - 1] == 'A' ? 'B' : 'A';
            }
            authorization = malloc(strlen(token) + 8);
            if (authorization)
                sprintf(authorization, "Bearer %s", token);
            free(token);
        }
    }
    if (authorization || mode == 0) {
        auth_identity_t identity;
        const char *reason = NULL;
        auth_result_t result =
            auth_check(&config, authorization, tenant, FUZZ_NOW_S, &identity, &reason);
        if (result == AUTH_OK) {
            FUZZ_CHECK(s_canonical_tenant(identity.tenant_id));
            FUZZ_CHECK(identity.actor[0] != '\0' &&
                       memchr(identity.actor, '\0', sizeof identity.actor));
            /* a tenant header, when sent, names the tenant that was granted */
            bool anonymous = strcmp(identity.actor, "anonymous") == 0 && config.dev_mode;
            if (tenant && *tenant && !anonymous)
                FUZZ_CHECK(strcasecmp(tenant, identity.tenant_id) == 0);
        } else {
            FUZZ_CHECK(reason != NULL);
            FUZZ_CHECK(identity.tenant_id[0] == '\0');
        }
        FUZZ_CHECK(mode != 3 || result != AUTH_OK);
        int status = auth_http_status(result);
        FUZZ_CHECK(status == 200 || status == 400 || status == 401 || status == 403);
    }
    free(authorization);
    free(text);
    return 0;
}
