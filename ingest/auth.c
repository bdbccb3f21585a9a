/*  auth — who is calling, and for which tenant (docs/http-api.md, "Authentication").

    Three ways in, tried in this order: the service token (then X-Tenant-ID names the tenant),
    an HS256 JWT whose `tenant_id` claim names the tenant, and — only in development mode and
    only when no Authorization header is sent at all — the system tenant.

    Pure: no I/O and no logging. Tokens and secrets never leave this file except as the
    boolean answer, and every comparison against a secret takes the same time wherever the
    inputs differ. Sizes are bounded before anything is decoded.
*/
#include "auth.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lk_model.h"
#include "lk_uuid.h"

/* Real JWTs are a few hundred bytes; anything this large is refused before decoding. */
#define AUTH_TOKEN_MAX 8192
/* The whole header may carry the scheme and some padding around the token. */
#define AUTH_HEADER_MAX (AUTH_TOKEN_MAX + 64)
/* Clock skew tolerated between the token issuer and us, for exp and nbf. */
#define AUTH_LEEWAY_S   30
#define AUTH_ACTOR_MAX  256
#define AUTH_SHA256_LEN 32

/* ---- base64url (RFC 4648 §5, unpadded, as JWS uses it) --------------------------------- */

static const char s_b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Returns the 6-bit value of a base64url character, or -1 for anything else (including the
   '=' padding, which JWS forbids). */
static int s_b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Decodes text[0..len) into a malloc'd, NUL-terminated buffer and sets *out_len (without the
   NUL). Returns NULL for an empty segment, a character outside the alphabet, an impossible
   length, or non-zero padding bits (so each byte string has exactly one accepted encoding). */
static unsigned char *s_b64url_decode(const char *text, size_t len, size_t *out_len)
{
    if (len == 0 || len % 4 == 1)
        return NULL;
    unsigned char *out = malloc(len / 4 * 3 + 3);
    if (!out)
        return NULL;
    size_t written = 0;
    unsigned int bits = 0;
    int bit_count = 0;
    for (size_t i = 0; i < len; i++) {
        int value = s_b64url_value((unsigned char)text[i]);
        if (value < 0) {
            free(out);
            return NULL;
        }
        bits = (bits << 6) | (unsigned int)value;
        bit_count += 6;
        if (bit_count >= 8) {
            bit_count -= 8;
            out[written++] = (unsigned char)(bits >> bit_count);
            bits &= (1u << bit_count) - 1;
        }
    }
    if (bits != 0) {
        free(out);
        return NULL;
    }
    out[written] = '\0';
    *out_len = written;
    return out;
}

/* Returns the unpadded base64url text of data[0..len) as a malloc'd string, NULL on OOM. */
static char *s_b64url_encode(const unsigned char *data, size_t len)
{
    char *out = malloc((len + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    size_t written = 0;
    unsigned int bits = 0;
    int bit_count = 0;
    for (size_t i = 0; i < len; i++) {
        bits = (bits << 8) | data[i];
        bit_count += 8;
        while (bit_count >= 6) {
            bit_count -= 6;
            out[written++] = s_b64url_alphabet[(bits >> bit_count) & 0x3f];
        }
        bits &= (1u << bit_count) - 1;
    }
    if (bit_count > 0)
        out[written++] = s_b64url_alphabet[(bits << (6 - bit_count)) & 0x3f];
    out[written] = '\0';
    return out;
}

/* ---- helpers --------------------------------------------------------------------------- */

/* Finds the token in an Authorization value of the form "Bearer <token>": the scheme is
   case-insensitive, spaces or tabs may surround the token, and the token is one run of
   visible ASCII. Returns false for any other shape. */
static bool s_bearer_token(const char *authorization, const char **token, size_t *token_len)
{
    const char *cursor = authorization;
    while (*cursor == ' ' || *cursor == '\t')
        cursor++;
    if (strncasecmp(cursor, "Bearer", 6) != 0)
        return false;
    cursor += 6;
    if (*cursor != ' ' && *cursor != '\t')
        return false;
    while (*cursor == ' ' || *cursor == '\t')
        cursor++;
    const char *start = cursor;
    while (*cursor > 0x20 && *cursor < 0x7f)
        cursor++;
    size_t len = (size_t)(cursor - start);
    while (*cursor == ' ' || *cursor == '\t')
        cursor++;
    if (*cursor != '\0' || len == 0)
        return false;
    *token = start;
    *token_len = len;
    return true;
}

/* True when the given token equals the configured secret. Both sides are hashed first, so
   the final CRYPTO_memcmp always sees 32 bytes: the time taken reveals neither where the
   two differ nor how long the secret is. */
static bool s_secret_equal(const char *given, size_t given_len, const char *secret)
{
    unsigned char given_digest[EVP_MAX_MD_SIZE];
    unsigned char secret_digest[EVP_MAX_MD_SIZE];
    unsigned int given_digest_len = 0;
    unsigned int secret_digest_len = 0;
    if (!EVP_Digest(given, given_len, given_digest, &given_digest_len, EVP_sha256(), NULL) ||
        !EVP_Digest(secret, strlen(secret), secret_digest, &secret_digest_len, EVP_sha256(), NULL))
        return false;
    assert(given_digest_len == AUTH_SHA256_LEN && secret_digest_len == AUTH_SHA256_LEN);
    return CRYPTO_memcmp(given_digest, secret_digest, AUTH_SHA256_LEN) == 0;
}

/* Computes HMAC-SHA256(secret, data[0..len)) into mac[32]. Returns false on failure (an
   absurdly long secret, or an OpenSSL error). */
static bool s_hmac_sha256(const char *secret, const void *data, size_t len,
                          unsigned char mac[AUTH_SHA256_LEN])
{
    size_t secret_len = strlen(secret);
    if (secret_len > INT_MAX)
        return false;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (!HMAC(EVP_sha256(), secret, (int)secret_len, data, len, digest, &digest_len) ||
        digest_len != AUTH_SHA256_LEN)
        return false;
    memcpy(mac, digest, AUTH_SHA256_LEN);
    return true;
}

/* Decodes one base64url segment and parses it as a JSON object. Returns a new reference, or
   NULL when the segment is not base64url, not UTF-8 JSON, or not an object. */
static json_t *s_segment_object(const char *text, size_t len)
{
    size_t decoded_len = 0;
    unsigned char *decoded = s_b64url_decode(text, len, &decoded_len);
    if (!decoded)
        return NULL;
    json_t *object = json_loadb((const char *)decoded, decoded_len, JSON_REJECT_DUPLICATES, NULL);
    free(decoded);
    if (object && !json_is_object(object)) {
        json_decref(object);
        return NULL;
    }
    return object;
}

/* Copies a canonical UUID into out[37] in lower case. */
static void s_copy_tenant(char out[LK_UUID_STR_LEN + 1], const char *uuid)
{
    for (size_t i = 0; i < LK_UUID_STR_LEN; i++) {
        char c = uuid[i];
        out[i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
    }
    out[LK_UUID_STR_LEN] = '\0';
}

/* Writes the actor name into out->actor. */
static void s_set_actor(auth_identity_t *out, const char *actor)
{
    size_t len = strlen(actor);
    assert(len < sizeof out->actor);
    memcpy(out->actor, actor, len + 1);
}

/* Reads an optional NumericDate claim. Returns false when present but not a number; sets
 *present and *value otherwise. */
static bool s_numeric_claim(const json_t *claims, const char *name, bool *present, double *value)
{
    const json_t *claim = json_object_get(claims, name);
    *present = claim != NULL;
    if (!claim)
        return true;
    if (!json_is_number(claim))
        return false;
    *value = json_number_value(claim);
    return true;
}

/* ---- the two credential kinds ---------------------------------------------------------- */

/* The service token names no tenant itself: X-Tenant-ID must. */
static auth_result_t s_check_service(const char *tenant_header, auth_identity_t *out,
                                     const char **reason)
{
    if (!tenant_header || !*tenant_header) {
        *reason = "X-Tenant-ID is required with the service token";
        return AUTH_BAD_TENANT;
    }
    if (!lk_uuid_valid(tenant_header)) {
        *reason = "X-Tenant-ID must be a UUID";
        return AUTH_BAD_TENANT;
    }
    s_copy_tenant(out->tenant_id, tenant_header);
    s_set_actor(out, "service");
    return AUTH_OK;
}

/* Verifies an HS256 JWT (RFC 7519 / RFC 7515 compact form). The header is checked before
   the signature (to refuse "none" and other algorithms outright), and the claims are only
   read after the signature holds. */
static auth_result_t s_check_jwt(const char *secret, const char *token, size_t token_len,
                                 const char *tenant_header, int64_t now_s, auth_identity_t *out,
                                 const char **reason)
{
    *reason = "invalid token";
    const char *first_dot = memchr(token, '.', token_len);
    if (!first_dot)
        return AUTH_INVALID;
    const char *payload = first_dot + 1;
    const char *second_dot = memchr(payload, '.', token_len - (size_t)(payload - token));
    if (!second_dot)
        return AUTH_INVALID;
    const char *signature = second_dot + 1;
    size_t header_len = (size_t)(first_dot - token);
    size_t payload_len = (size_t)(second_dot - payload);
    size_t signature_len = token_len - (size_t)(signature - token);
    if (memchr(signature, '.', signature_len))
        return AUTH_INVALID;

    json_t *header = s_segment_object(token, header_len);
    if (!header)
        return AUTH_INVALID;
    const char *alg = json_string_value(json_object_get(header, "alg"));
    bool alg_ok = alg && strcmp(alg, "HS256") == 0;
    /* A "crit" header lists extensions we would have to understand (RFC 7515 §4.1.11). */
    bool crit = json_object_get(header, "crit") != NULL;
    json_decref(header);
    if (!alg_ok) {
        *reason = "unsupported token algorithm";
        return AUTH_INVALID;
    }
    if (crit)
        return AUTH_INVALID;

    unsigned char expected[AUTH_SHA256_LEN];
    if (!s_hmac_sha256(secret, token, header_len + 1 + payload_len, expected))
        return AUTH_INVALID;
    size_t given_len = 0;
    unsigned char *given = s_b64url_decode(signature, signature_len, &given_len);
    bool signature_ok = given && given_len == AUTH_SHA256_LEN &&
                        CRYPTO_memcmp(given, expected, AUTH_SHA256_LEN) == 0;
    free(given);
    OPENSSL_cleanse(expected, sizeof expected);
    if (!signature_ok) {
        *reason = "invalid token signature";
        return AUTH_INVALID;
    }

    json_t *claims = s_segment_object(payload, payload_len);
    if (!claims)
        return AUTH_INVALID;
    auth_result_t result = AUTH_INVALID;
    bool has_exp = false, has_nbf = false;
    double exp = 0, nbf = 0;
    if (!s_numeric_claim(claims, "exp", &has_exp, &exp) ||
        !s_numeric_claim(claims, "nbf", &has_nbf, &nbf))
        goto done;
    /* RFC 7519 §4.1.4: the token is expired from the exp second on. */
    if (has_exp && (double)now_s >= exp + AUTH_LEEWAY_S) {
        *reason = "token expired";
        goto done;
    }
    if (has_nbf && (double)now_s + AUTH_LEEWAY_S < nbf) {
        *reason = "token not yet valid";
        goto done;
    }
    const char *tenant = json_string_value(json_object_get(claims, "tenant_id"));
    if (!tenant || !lk_uuid_valid(tenant)) {
        *reason = "token has no valid tenant_id claim";
        goto done;
    }
    if (tenant_header && *tenant_header) {
        if (!lk_uuid_valid(tenant_header)) {
            *reason = "X-Tenant-ID must be a UUID";
            result = AUTH_BAD_TENANT;
            goto done;
        }
        if (strcasecmp(tenant_header, tenant) != 0) {
            *reason = "X-Tenant-ID does not match the token's tenant";
            result = AUTH_FORBIDDEN;
            goto done;
        }
    }
    s_copy_tenant(out->tenant_id, tenant);
    /* A subject that cannot serve as an actor name is not fatal: the caller is still
       authenticated, just anonymous within the tenant. */
    const json_t *sub = json_object_get(claims, "sub");
    const char *sub_text = json_string_value(sub);
    if (sub_text && *sub_text && json_string_length(sub) <= AUTH_ACTOR_MAX &&
        strlen(sub_text) == json_string_length(sub))
        s_set_actor(out, sub_text);
    else
        s_set_actor(out, "user");
    result = AUTH_OK;
done:
    json_decref(claims);
    return result;
}

/* ---- public API ------------------------------------------------------------------------ */

auth_result_t auth_check(const auth_config_t *config, const char *authorization,
                         const char *tenant_header, int64_t now_s, auth_identity_t *out,
                         const char **reason)
{
    assert(config && out && reason);
    memset(out, 0, sizeof *out);
    *reason = NULL;

    /* An empty header carries no credentials: treat it like an absent one. */
    bool absent = !authorization || authorization[strspn(authorization, " \t")] == '\0';
    if (absent) {
        if (config->dev_mode) {
            s_copy_tenant(out->tenant_id, LK_SYSTEM_TENANT);
            s_set_actor(out, "anonymous");
            return AUTH_OK;
        }
        *reason = "missing credentials";
        return AUTH_MISSING;
    }
    if (strnlen(authorization, AUTH_HEADER_MAX + 1) > AUTH_HEADER_MAX) {
        *reason = "token too large";
        return AUTH_INVALID;
    }
    const char *token = NULL;
    size_t token_len = 0;
    if (!s_bearer_token(authorization, &token, &token_len)) {
        *reason = "invalid Authorization header; expected Bearer <token>";
        return AUTH_INVALID;
    }
    if (token_len > AUTH_TOKEN_MAX) {
        *reason = "token too large";
        return AUTH_INVALID;
    }

    bool service_enabled = config->service_token && *config->service_token;
    bool jwt_enabled = config->jwt_secret && *config->jwt_secret;
    if (service_enabled && s_secret_equal(token, token_len, config->service_token))
        return s_check_service(tenant_header, out, reason);
    if (jwt_enabled) {
        auth_result_t result =
            s_check_jwt(config->jwt_secret, token, token_len, tenant_header, now_s, out, reason);
        if (result != AUTH_OK)
            memset(out, 0, sizeof *out);
        return result;
    }
    *reason = "invalid token";
    return AUTH_INVALID;
}

int auth_http_status(auth_result_t result)
{
    switch (result) {
    case AUTH_OK:
        return 200;
    case AUTH_MISSING:
    case AUTH_INVALID:
        return 401;
    case AUTH_BAD_TENANT:
        return 400;
    case AUTH_FORBIDDEN:
        return 403;
    }
    return 500;
}

char *auth_jwt_sign(const char *secret, const char *claims_json)
{
    if (!secret || !*secret || !claims_json)
        return NULL;
    /* Refuse to sign something auth_check would refuse to read. */
    json_t *claims = json_loads(claims_json, JSON_REJECT_DUPLICATES, NULL);
    bool is_object = json_is_object(claims);
    json_decref(claims);
    if (!is_object)
        return NULL;

    static const char header_json[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char *header = s_b64url_encode((const unsigned char *)header_json, strlen(header_json));
    char *payload = s_b64url_encode((const unsigned char *)claims_json, strlen(claims_json));
    char *token = NULL;
    if (!header || !payload)
        goto done;
    size_t header_len = strlen(header);
    size_t payload_len = strlen(payload);
    /* header "." payload "." 43 signature characters NUL */
    token = malloc(header_len + 1 + payload_len + 1 + 43 + 1);
    if (!token)
        goto done;
    memcpy(token, header, header_len);
    token[header_len] = '.';
    memcpy(token + header_len + 1, payload, payload_len);
    size_t signing_len = header_len + 1 + payload_len;
    token[signing_len] = '\0';
    unsigned char mac[AUTH_SHA256_LEN];
    char *signature = NULL;
    if (s_hmac_sha256(secret, token, signing_len, mac))
        signature = s_b64url_encode(mac, sizeof mac);
    OPENSSL_cleanse(mac, sizeof mac);
    if (!signature) {
        free(token);
        token = NULL;
        goto done;
    }
    token[signing_len] = '.';
    memcpy(token + signing_len + 1, signature, strlen(signature) + 1);
    free(signature);
done:
    free(header);
    free(payload);
    return token;
}
