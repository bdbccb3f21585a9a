/*  test_auth — auth_check against every way a caller can present (or fail to present)
    credentials. JWTs with unusual headers are built here with OpenSSL directly, so the
    verifier is checked against an encoder it does not share code with.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"
#include "lk_model.h"

#define SERVICE_TOKEN "svc-0123456789abcdef"
#define JWT_SECRET    "jwt-secret-for-tests"
#define TENANT        "0190f3e2-7b1c-7a00-8000-0123456789ab"
#define TENANT_UPPER  "0190F3E2-7B1C-7A00-8000-0123456789AB"
#define OTHER_TENANT  "0190f3e2-7b1c-7a00-8000-ffffffffffff"
#define NOW_S         1795338000 /* 2026-11-22T09:00:00Z */

static const auth_config_t s_config = {SERVICE_TOKEN, JWT_SECRET, false};
static const auth_config_t s_dev_config = {SERVICE_TOKEN, JWT_SECRET, true};

/* ---- token construction ---------------------------------------------------------------- */

/* base64url without padding, via OpenSSL's standard base64; malloc'd. */
static char *s_b64url(const void *data, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    assert_non_null(out);
    int written = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    for (int i = 0; i < written; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    while (written > 0 && out[written - 1] == '=')
        written--;
    out[written] = '\0';
    return out;
}

/* Builds header.payload.signature with an HMAC of the given digest (NULL digest = empty
   signature, as "alg":"none" tokens carry). */
static char *s_make_jwt(const char *header_json, const char *payload_json, const char *secret,
                        const EVP_MD *digest)
{
    char *header = s_b64url(header_json, strlen(header_json));
    char *payload = s_b64url(payload_json, strlen(payload_json));
    size_t input_len = strlen(header) + 1 + strlen(payload);
    char *token = malloc(input_len + 200);
    assert_non_null(token);
    sprintf(token, "%s.%s", header, payload);
    char *signature = strdup("");
    if (digest) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        assert_non_null(HMAC(digest, secret, (int)strlen(secret), (unsigned char *)token, input_len,
                             mac, &mac_len));
        free(signature);
        signature = s_b64url(mac, mac_len);
    }
    strcat(token, ".");
    strcat(token, signature);
    free(signature);
    free(header);
    free(payload);
    return token;
}

static char *s_hs256(const char *payload_json)
{
    return s_make_jwt("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload_json, JWT_SECRET,
                      EVP_sha256());
}

/* Runs auth_check with "Bearer <token>" and returns the result; fills identity/reason. */
static auth_result_t s_check_bearer(const auth_config_t *config, const char *token,
                                    const char *tenant_header, auth_identity_t *identity,
                                    const char **reason)
{
    size_t len = strlen(token) + 8;
    char *header = malloc(len);
    assert_non_null(header);
    snprintf(header, len, "Bearer %s", token);
    auth_result_t result = auth_check(config, header, tenant_header, NOW_S, identity, reason);
    free(header);
    return result;
}

/* ---- service token --------------------------------------------------------------------- */

static void test_service_token_ok(void **state)
{
    auth_identity_t identity;
    const char *reason = NULL;
    assert_int_equal(
        auth_check(&s_config, "Bearer " SERVICE_TOKEN, TENANT_UPPER, NOW_S, &identity, &reason),
        AUTH_OK);
    assert_string_equal(identity.tenant_id, TENANT);
    assert_string_equal(identity.actor, "service");

    /* Scheme is case-insensitive; extra spaces around the token are tolerated. */
    assert_int_equal(
        auth_check(&s_config, "  bEaReR    " SERVICE_TOKEN "  ", TENANT, NOW_S, &identity, &reason),
        AUTH_OK);
    assert_string_equal(identity.tenant_id, TENANT);
    assert_int_equal(auth_http_status(AUTH_OK), 200);
}

static void test_service_token_wrong(void **state)
{
    auth_identity_t identity;
    const char *reason = NULL;
    const char *wrong[] = {"Bearer svc-0123456789abcdeX", "Bearer svc-0123456789abcde",
                           "Bearer " SERVICE_TOKEN "0", "Bearer x"};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        reason = NULL;
        assert_int_equal(auth_check(&s_config, wrong[i], TENANT, NOW_S, &identity, &reason),
                         AUTH_INVALID);
        assert_non_null(reason);
        assert_null(strstr(reason, SERVICE_TOKEN));
    }
    assert_int_equal(auth_http_status(AUTH_INVALID), 401);

    /* With JWT disabled a wrong token is simply invalid too. */
    auth_config_t service_only = {SERVICE_TOKEN, NULL, false};
    assert_int_equal(auth_check(&service_only, "Bearer nope", TENANT, NOW_S, &identity, &reason),
                     AUTH_INVALID);
    assert_string_equal(reason, "invalid token");
}

static void test_service_token_missing_tenant(void **state)
{
    auth_identity_t identity;
    const char *reason = NULL;
    assert_int_equal(
        auth_check(&s_config, "Bearer " SERVICE_TOKEN, NULL, NOW_S, &identity, &reason),
        AUTH_BAD_TENANT);
    assert_string_equal(reason, "X-Tenant-ID is required with the service token");
    assert_int_equal(auth_http_status(AUTH_BAD_TENANT), 400);
    assert_int_equal(auth_check(&s_config, "Bearer " SERVICE_TOKEN, "", NOW_S, &identity, &reason),
                     AUTH_BAD_TENANT);
}

static void test_service_token_bad_tenant(void **state)
{
    auth_identity_t identity;
    const char *reason = NULL;
    const char *bad[] = {
        "acme", "0190f3e2-7b1c-7a00-8000-0123456789a", "0190f3e2-7b1c-7a00-8000-0123456789abc",
        "0190f3e2x7b1c-7a00-8000-0123456789ab", "0190f3e2-7b1c-7a00-8000-0123456789ag"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(
            auth_check(&s_config, "Bearer " SERVICE_TOKEN, bad[i], NOW_S, &identity, &reason),
            AUTH_BAD_TENANT);
        assert_string_equal(reason, "X-Tenant-ID must be a UUID");
    }
}

static void test_service_disabled(void **state)
{
    /* An empty service token disables that path: "Bearer " + "" cannot match anything. */
    auth_config_t jwt_only = {"", JWT_SECRET, false};
    auth_identity_t identity;
    const char *reason = NULL;
    assert_int_equal(
        auth_check(&jwt_only, "Bearer " SERVICE_TOKEN, TENANT, NOW_S, &identity, &reason),
        AUTH_INVALID);
    auth_config_t nothing = {NULL, NULL, false};
    assert_int_equal(
        auth_check(&nothing, "Bearer " SERVICE_TOKEN, TENANT, NOW_S, &identity, &reason),
        AUTH_INVALID);
}

/* ---- Authorization header shape -------------------------------------------------------- */

static void test_header_shapes(void **state)
{
    auth_identity_t identity;
    const char *reason = NULL;
    assert_int_equal(auth_check(&s_config, NULL, TENANT, NOW_S, &identity, &reason), AUTH_MISSING);
    assert_string_equal(reason, "missing credentials");
    assert_int_equal(auth_http_status(AUTH_MISSING), 401);
    assert_int_equal(auth_check(&s_config, "   ", TENANT, NOW_S, &identity, &reason), AUTH_MISSING);

    const char *malformed[] = {
        "Basic " SERVICE_TOKEN, "Bearer",      "Bearer ",
        "Bearer" SERVICE_TOKEN, SERVICE_TOKEN, "Bearer " SERVICE_TOKEN " extra",
        "Token " SERVICE_TOKEN};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        assert_int_equal(auth_check(&s_config, malformed[i], TENANT, NOW_S, &identity, &reason),
                         AUTH_INVALID);
}

static void test_huge_token(void **state)
{
    auth_identity_t identity;
    const char *reason = NULL;
    size_t len = 9000;
    char *header = malloc(len + 8);
    assert_non_null(header);
    memcpy(header, "Bearer ", 7);
    memset(header + 7, 'a', len);
    header[7 + len] = '\0';
    assert_int_equal(auth_check(&s_config, header, TENANT, NOW_S, &identity, &reason),
                     AUTH_INVALID);
    assert_string_equal(reason, "token too large");
    /* Just above the token bound, within the header bound. */
    header[7 + 8193] = '\0';
    assert_int_equal(auth_check(&s_config, header, TENANT, NOW_S, &identity, &reason),
                     AUTH_INVALID);
    assert_string_equal(reason, "token too large");
    free(header);

    /* A correctly signed JWT is still refused when it is too large. */
    size_t claim_len = 9000;
    char *claims = malloc(claim_len + 128);
    assert_non_null(claims);
    int prefix = sprintf(claims, "{\"tenant_id\":\"%s\",\"pad\":\"", TENANT);
    memset(claims + prefix, 'p', claim_len);
    strcpy(claims + prefix + claim_len, "\"}");
    char *token = s_hs256(claims);
    assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_INVALID);
    assert_string_equal(reason, "token too large");
    free(token);
    free(claims);
}

/* ---- JWT ------------------------------------------------------------------------------- */

static void test_jwt_ok(void **state)
{
    auth_identity_t identity;
    const char *reason = NULL;
    char claims[256];
    snprintf(claims, sizeof claims,
             "{\"tenant_id\":\"%s\",\"sub\":\"alice@example.com\",\"exp\":%d,\"nbf\":%d}",
             TENANT_UPPER, NOW_S + 3600, NOW_S - 60);

    char *signed_here = s_hs256(claims);
    assert_int_equal(s_check_bearer(&s_config, signed_here, NULL, &identity, &reason), AUTH_OK);
    assert_string_equal(identity.tenant_id, TENANT);
    assert_string_equal(identity.actor, "alice@example.com");
    free(signed_here);

    /* auth_jwt_sign produces what auth_check accepts. */
    char *signed_by_module = auth_jwt_sign(JWT_SECRET, claims);
    assert_non_null(signed_by_module);
    assert_int_equal(s_check_bearer(&s_config, signed_by_module, NULL, &identity, &reason),
                     AUTH_OK);
    assert_string_equal(identity.tenant_id, TENANT);
    free(signed_by_module);

    /* JWT-only configuration, no exp/nbf, no sub: actor "user". */
    auth_config_t jwt_only = {NULL, JWT_SECRET, false};
    char *plain = auth_jwt_sign(JWT_SECRET, "{\"tenant_id\":\"" TENANT "\"}");
    assert_int_equal(s_check_bearer(&jwt_only, plain, NULL, &identity, &reason), AUTH_OK);
    assert_string_equal(identity.actor, "user");
    free(plain);
}

static void test_jwt_sub(void **state)
{
    auth_identity_t identity;
    const char *reason = NULL;
    char sub[300];
    memset(sub, 's', 257);
    sub[257] = '\0';
    char claims[512];

    /* 257 bytes: too long to be an actor name. */
    snprintf(claims, sizeof claims, "{\"tenant_id\":\"%s\",\"sub\":\"%s\"}", TENANT, sub);
    char *token = s_hs256(claims);
    assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_OK);
    assert_string_equal(identity.actor, "user");
    free(token);

    /* 256 bytes: fits. */
    sub[256] = '\0';
    snprintf(claims, sizeof claims, "{\"tenant_id\":\"%s\",\"sub\":\"%s\"}", TENANT, sub);
    token = s_hs256(claims);
    assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_OK);
    assert_string_equal(identity.actor, sub);
    free(token);

    /* Not a string. */
    token = s_hs256("{\"tenant_id\":\"" TENANT "\",\"sub\":42}");
    assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_OK);
    assert_string_equal(identity.actor, "user");
    free(token);
}

static void test_jwt_other_secret(void **state)
{
    auth_identity_t identity;
    const char *reason = NULL;
    char *token = auth_jwt_sign("some-other-secret", "{\"tenant_id\":\"" TENANT "\"}");
    assert_non_null(token);
    assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_INVALID);
    assert_string_equal(reason, "invalid token signature");
    free(token);

    /* A valid token whose payload is swapped keeps its old signature: refused. */
    char *good = auth_jwt_sign(JWT_SECRET, "{\"tenant_id\":\"" TENANT "\"}");
    char *forged_source = auth_jwt_sign(JWT_SECRET, "{\"tenant_id\":\"" OTHER_TENANT "\"}");
    char *good_sig = strrchr(good, '.');
    char *forged_sig = strrchr(forged_source, '.');
    memcpy(forged_sig, good_sig, strlen(good_sig) + 1);
    assert_int_equal(s_check_bearer(&s_config, forged_source, NULL, &identity, &reason),
                     AUTH_INVALID);
    free(good);
    free(forged_source);
}

static void test_jwt_alg_none(void **state)
{
    auth_identity_t identity;
    const char *reason = NULL;
    char *token = s_make_jwt("{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"tenant_id\":\"" TENANT "\"}",
                             JWT_SECRET, NULL);
    assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_INVALID);
    assert_string_equal(reason, "unsupported token algorithm");
    free(token);

    /* Even with a correct HMAC attached. */
    token = s_make_jwt("{\"alg\":\"none\"}", "{\"tenant_id\":\"" TENANT "\"}", JWT_SECRET,
                       EVP_sha256());
    assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_INVALID);
    free(token);

    /* "hs256" is not "HS256" (RFC 7515 names are case-sensitive); a missing alg is refused. */
    token = s_make_jwt("{\"alg\":\"hs256\"}", "{\"tenant_id\":\"" TENANT "\"}", JWT_SECRET,
                       EVP_sha256());
    assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_INVALID);
    free(token);
    token =
        s_make_jwt("{\"typ\":\"JWT\"}", "{\"tenant_id\":\"" TENANT "\"}", JWT_SECRET, EVP_sha256());
    assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_INVALID);
    free(token);
}

static void test_jwt_alg_hs512(void **state)
{
    auth_identity_t identity;
    const char *reason = NULL;
    char *token = s_make_jwt("{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
                             "{\"tenant_id\":\"" TENANT "\"}", JWT_SECRET, EVP_sha512());
    assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_INVALID);
    assert_string_equal(reason, "unsupported token algorithm");
    free(token);

    /* A crit header names extensions we do not implement. */
    token = s_make_jwt("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", "{\"tenant_id\":\"" TENANT "\"}",
                       JWT_SECRET, EVP_sha256());
    assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_INVALID);
    free(token);
}

static void test_jwt_expired(void **state)
{
    auth_identity_t identity;
    const char *reason = NULL;
    char claims[128];
    /* Past the 30 s leeway. */
    snprintf(claims, sizeof claims, "{\"tenant_id\":\"%s\",\"exp\":%d}", TENANT, NOW_S - 31);
    char *token = s_hs256(claims);
    assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_INVALID);
    assert_string_equal(reason, "token expired");
    free(token);
    /* Exactly at exp + leeway: expired. */
    snprintf(claims, sizeof claims, "{\"tenant_id\":\"%s\",\"exp\":%d}", TENANT, NOW_S - 30);
    token = s_hs256(claims);
    assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_INVALID);
    free(token);
    /* Within the leeway. */
    snprintf(claims, sizeof claims, "{\"tenant_id\":\"%s\",\"exp\":%d}", TENANT, NOW_S - 29);
    token = s_hs256(claims);
    assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_OK);
    free(token);
    /* Fractional NumericDate. */
    snprintf(claims, sizeof claims, "{\"tenant_id\":\"%s\",\"exp\":%d.5}", TENANT, NOW_S + 100);
    token = s_hs256(claims);
    assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_OK);
    free(token);
    /* exp that is not a number. */
    snprintf(claims, sizeof claims, "{\"tenant_id\":\"%s\",\"exp\":\"%d\"}", TENANT, NOW_S + 100);
    token = s_hs256(claims);
    assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_INVALID);
    free(token);
}

static void test_jwt_not_yet_valid(void **state)
{
    auth_identity_t identity;
    const char *reason = NULL;
    char claims[128];
    snprintf(claims, sizeof claims, "{\"tenant_id\":\"%s\",\"nbf\":%d}", TENANT, NOW_S + 31);
    char *token = s_hs256(claims);
    assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_INVALID);
    assert_string_equal(reason, "token not yet valid");
    free(token);
    snprintf(claims, sizeof claims, "{\"tenant_id\":\"%s\",\"nbf\":%d}", TENANT, NOW_S + 30);
    token = s_hs256(claims);
    assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_OK);
    free(token);
    snprintf(claims, sizeof claims, "{\"tenant_id\":\"%s\",\"nbf\":null}", TENANT);
    token = s_hs256(claims);
    assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_INVALID);
    free(token);
}

static void test_jwt_tenant_claim(void **state)
{
    auth_identity_t identity;
    const char *reason = NULL;
    const char *bad_claims[] = {
        "{\"sub\":\"alice\"}",
        "{\"tenant_id\":\"acme\"}",
        "{\"tenant_id\":42}",
        "{\"tenant_id\":null}",
        "{\"tenant_id\":\"" TENANT " \"}",
        "{\"tenant_id\":[\"" TENANT "\"]}",
    };
    for (size_t i = 0; i < sizeof bad_claims / sizeof bad_claims[0]; i++) {
        char *token = s_hs256(bad_claims[i]);
        /* Even a valid X-Tenant-ID does not stand in for the claim. */
        assert_int_equal(s_check_bearer(&s_config, token, TENANT, &identity, &reason),
                         AUTH_INVALID);
        assert_string_equal(reason, "token has no valid tenant_id claim");
        free(token);
    }
}

static void test_jwt_tenant_header(void **state)
{
    auth_identity_t identity;
    const char *reason = NULL;
    char *token = s_hs256("{\"tenant_id\":\"" TENANT "\",\"sub\":\"bob\"}");

    assert_int_equal(s_check_bearer(&s_config, token, OTHER_TENANT, &identity, &reason),
                     AUTH_FORBIDDEN);
    assert_string_equal(reason, "X-Tenant-ID does not match the token's tenant");
    assert_int_equal(auth_http_status(AUTH_FORBIDDEN), 403);

    /* Same tenant in another case is the same tenant. */
    assert_int_equal(s_check_bearer(&s_config, token, TENANT_UPPER, &identity, &reason), AUTH_OK);
    assert_string_equal(identity.tenant_id, TENANT);
    assert_string_equal(identity.actor, "bob");
    assert_int_equal(s_check_bearer(&s_config, token, TENANT, &identity, &reason), AUTH_OK);

    /* A header that is not a UUID at all is a bad request. */
    assert_int_equal(s_check_bearer(&s_config, token, "acme", &identity, &reason), AUTH_BAD_TENANT);
    free(token);
}

static void test_jwt_malformed(void **state)
{
    auth_identity_t identity;
    const char *reason = NULL;
    char *good = auth_jwt_sign(JWT_SECRET, "{\"tenant_id\":\"" TENANT "\"}");
    assert_non_null(good);
    size_t len = strlen(good);
    char *copy = malloc(len + 16);
    assert_non_null(copy);

    /* Two segments, four segments, empty segments. */
    strcpy(copy, good);
    *strrchr(copy, '.') = '\0';
    assert_int_equal(s_check_bearer(&s_config, copy, NULL, &identity, &reason), AUTH_INVALID);
    sprintf(copy, "%s.", good);
    assert_int_equal(s_check_bearer(&s_config, copy, NULL, &identity, &reason), AUTH_INVALID);
    sprintf(copy, "%s.abc", good);
    assert_int_equal(s_check_bearer(&s_config, copy, NULL, &identity, &reason), AUTH_INVALID);
    assert_int_equal(s_check_bearer(&s_config, "..", NULL, &identity, &reason), AUTH_INVALID);

    /* Characters outside base64url (standard base64 '+', padding '=') in any segment. */
    strcpy(copy, good);
    copy[3] = '+';
    assert_int_equal(s_check_bearer(&s_config, copy, NULL, &identity, &reason), AUTH_INVALID);
    strcpy(copy, good);
    char *payload = strchr(copy, '.') + 1;
    payload[1] = '*';
    assert_int_equal(s_check_bearer(&s_config, copy, NULL, &identity, &reason), AUTH_INVALID);
    sprintf(copy, "%s=", good);
    assert_int_equal(s_check_bearer(&s_config, copy, NULL, &identity, &reason), AUTH_INVALID);

    /* Non-canonical base64url: the last signature character also sets padding bits that
       must be zero. It would decode to the same bytes, but only one spelling is accepted. */
    strcpy(copy, good);
    char *last = &copy[len - 1];
    const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t value = (size_t)(strchr(alphabet, *last) - alphabet);
    assert_int_equal(value & 0x03, 0); /* 32 bytes = 258 bits - 2 padding bits */
    *last = alphabet[value | 0x01];
    assert_int_equal(s_check_bearer(&s_config, copy, NULL, &identity, &reason), AUTH_INVALID);

    /* Truncated signature. */
    strcpy(copy, good);
    copy[len - 2] = '\0';
    assert_int_equal(s_check_bearer(&s_config, copy, NULL, &identity, &reason), AUTH_INVALID);

    /* Sanity: the untouched token passes, so the failures above come from the damage. */
    assert_int_equal(s_check_bearer(&s_config, good, NULL, &identity, &reason), AUTH_OK);
    free(copy);
    free(good);
}

static void test_jwt_garbage_json(void **state)
{
    auth_identity_t identity;
    const char *reason = NULL;
    /* Correctly signed, but the payload is not JSON / not an object. */
    const char *payloads[] = {"not json at all", "[\"" TENANT "\"]",
                              "{\"tenant_id\":", "\"" TENANT "\""};
    for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
        char *token = s_hs256(payloads[i]);
        assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_INVALID);
        assert_string_equal(reason, "invalid token");
        free(token);
    }
    /* Header that is not JSON. */
    char *token = s_make_jwt("HS256", "{\"tenant_id\":\"" TENANT "\"}", JWT_SECRET, EVP_sha256());
    assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_INVALID);
    free(token);
    /* Duplicate claims are ambiguous: refused. */
    token = s_hs256("{\"tenant_id\":\"" OTHER_TENANT "\",\"tenant_id\":\"" TENANT "\"}");
    assert_int_equal(s_check_bearer(&s_config, token, NULL, &identity, &reason), AUTH_INVALID);
    free(token);
}

static void test_jwt_disabled(void **state)
{
    auth_identity_t identity;
    const char *reason = NULL;
    auth_config_t service_only = {SERVICE_TOKEN, NULL, false};
    char *token = auth_jwt_sign(JWT_SECRET, "{\"tenant_id\":\"" TENANT "\"}");
    assert_int_equal(s_check_bearer(&service_only, token, NULL, &identity, &reason), AUTH_INVALID);
    assert_string_equal(reason, "invalid token");
    free(token);
}

static void test_jwt_sign_errors(void **state)
{
    assert_null(auth_jwt_sign(NULL, "{}"));
    assert_null(auth_jwt_sign("", "{}"));
    assert_null(auth_jwt_sign(JWT_SECRET, NULL));
    assert_null(auth_jwt_sign(JWT_SECRET, "[1,2]"));
    assert_null(auth_jwt_sign(JWT_SECRET, "{broken"));
    char *token = auth_jwt_sign(JWT_SECRET, "{}");
    assert_non_null(token);
    /* Exactly three non-empty segments; the signature of HS256 is 43 characters. */
    char *first = strchr(token, '.');
    char *last = strrchr(token, '.');
    assert_non_null(first);
    assert_true(first != last);
    assert_true(first > token);
    assert_int_equal(strlen(last + 1), 43);
    free(token);
}

/* ---- development mode ------------------------------------------------------------------ */

static void test_dev_mode(void **state)
{
    auth_identity_t identity;
    const char *reason = NULL;
    assert_int_equal(auth_check(&s_dev_config, NULL, NULL, NOW_S, &identity, &reason), AUTH_OK);
    assert_string_equal(identity.tenant_id, LK_SYSTEM_TENANT);
    assert_string_equal(identity.actor, "anonymous");

    /* Credentials that are present are still checked. */
    assert_int_equal(auth_check(&s_dev_config, "Bearer wrong", TENANT, NOW_S, &identity, &reason),
                     AUTH_INVALID);
    assert_int_equal(
        auth_check(&s_dev_config, "Bearer " SERVICE_TOKEN, NULL, NOW_S, &identity, &reason),
        AUTH_BAD_TENANT);
    assert_int_equal(
        auth_check(&s_dev_config, "Bearer " SERVICE_TOKEN, TENANT, NOW_S, &identity, &reason),
        AUTH_OK);
    assert_string_equal(identity.tenant_id, TENANT);
    assert_string_equal(identity.actor, "service");
    assert_int_equal(
        auth_check(&s_dev_config, "Basic Zm9vOmJhcg==", NULL, NOW_S, &identity, &reason),
        AUTH_INVALID);

    /* Not in dev mode, no credentials is 401. */
    assert_int_equal(auth_check(&s_config, NULL, NULL, NOW_S, &identity, &reason), AUTH_MISSING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_service_token_ok),
        cmocka_unit_test(test_service_token_wrong),
        cmocka_unit_test(test_service_token_missing_tenant),
        cmocka_unit_test(test_service_token_bad_tenant),
        cmocka_unit_test(test_service_disabled),
        cmocka_unit_test(test_header_shapes),
        cmocka_unit_test(test_huge_token),
        cmocka_unit_test(test_jwt_ok),
        cmocka_unit_test(test_jwt_sub),
        cmocka_unit_test(test_jwt_other_secret),
        cmocka_unit_test(test_jwt_alg_none),
        cmocka_unit_test(test_jwt_alg_hs512),
        cmocka_unit_test(test_jwt_expired),
        cmocka_unit_test(test_jwt_not_yet_valid),
        cmocka_unit_test(test_jwt_tenant_claim),
        cmocka_unit_test(test_jwt_tenant_header),
        cmocka_unit_test(test_jwt_malformed),
        cmocka_unit_test(test_jwt_garbage_json),
        cmocka_unit_test(test_jwt_disabled),
        cmocka_unit_test(test_jwt_sign_errors),
        cmocka_unit_test(test_dev_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
