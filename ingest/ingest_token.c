/*  ingest_token — token text, hashing and scope names (see ingest_token.h). */
#include "ingest_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

static const char s_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const struct {
    uint32_t bit;
    const char *name;
} s_scopes[] = {
    {INGEST_SCOPE_ALERTS_WRITE, "alerts:write"},
    {INGEST_SCOPE_HEARTBEATS_WRITE, "heartbeats:write"},
};
#define S_SCOPE_COUNT (sizeof s_scopes / sizeof *s_scopes)

/* SHA-256 of text[0..len) as lower-case hex into hash[65]. */
static bool s_sha256_hex(const char *text, size_t len, char *hash)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (!EVP_Digest(text, len, digest, &digest_len, EVP_sha256(), NULL) || digest_len != 32)
        return false;
    static const char hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < digest_len; i++) {
        hash[2 * i] = hex[digest[i] >> 4];
        hash[2 * i + 1] = hex[digest[i] & 0x0f];
    }
    hash[INGEST_TOKEN_HASH_LEN] = '\0';
    OPENSSL_cleanse(digest, sizeof digest);
    return true;
}

int ingest_token_generate(char *token, char *hash)
{
    unsigned char secret[INGEST_TOKEN_SECRET_BYTES];
    if (RAND_bytes(secret, sizeof secret) != 1)
        return -1;
    memcpy(token, INGEST_TOKEN_PREFIX, INGEST_TOKEN_PREFIX_LEN);
    size_t written = INGEST_TOKEN_PREFIX_LEN;
    unsigned int bits = 0;
    int bit_count = 0;
    for (size_t i = 0; i < sizeof secret; i++) {
        bits = (bits << 8) | secret[i];
        bit_count += 8;
        while (bit_count >= 6) {
            bit_count -= 6;
            token[written++] = s_alphabet[(bits >> bit_count) & 0x3f];
        }
        bits &= (1u << bit_count) - 1;
    }
    if (bit_count > 0)
        token[written++] = s_alphabet[(bits << (6 - bit_count)) & 0x3f];
    token[written] = '\0';
    OPENSSL_cleanse(secret, sizeof secret);
    if (written != INGEST_TOKEN_LEN || !s_sha256_hex(token, written, hash)) {
        OPENSSL_cleanse(token, INGEST_TOKEN_LEN + 1);
        return -1;
    }
    return 0;
}

/* The 6-bit value of a base64url character, -1 for anything else. */
static int s_value(unsigned char c)
{
    const char *at = c ? strchr(s_alphabet, c) : NULL;
    return at ? (int)(at - s_alphabet) : -1;
}

bool ingest_token_claimed(const char *text, size_t len)
{
    return len >= INGEST_TOKEN_PREFIX_LEN &&
           memcmp(text, INGEST_TOKEN_PREFIX, INGEST_TOKEN_PREFIX_LEN) == 0;
}

bool ingest_token_hash(const char *text, size_t len, char *hash)
{
    if (len != INGEST_TOKEN_LEN || !ingest_token_claimed(text, len))
        return false;
    int last = 0;
    for (size_t i = INGEST_TOKEN_PREFIX_LEN; i < len; i++) {
        last = s_value((unsigned char)text[i]);
        if (last < 0)
            return false;
    }
    /* 43 characters carry 258 bits for 256: the last two must be zero, so that every token
       has exactly one spelling (and one hash). */
    if (last & 0x3)
        return false;
    return s_sha256_hex(text, len, hash);
}

uint32_t ingest_scope_parse(const char *name)
{
    for (size_t i = 0; name && i < S_SCOPE_COUNT; i++)
        if (strcmp(name, s_scopes[i].name) == 0)
            return s_scopes[i].bit;
    return 0;
}

const char *ingest_scope_name(uint32_t scope)
{
    for (size_t i = 0; i < S_SCOPE_COUNT; i++)
        if (scope == s_scopes[i].bit)
            return s_scopes[i].name;
    return NULL;
}

const char *ingest_scopes_format(uint32_t scopes, char *buf, size_t buf_size)
{
    size_t used = 0;
    if (buf_size == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < S_SCOPE_COUNT; i++) {
        if (!(scopes & s_scopes[i].bit))
            continue;
        int n = snprintf(buf + used, buf_size - used, "%s%s", used ? "," : "", s_scopes[i].name);
        if (n < 0 || (size_t)n >= buf_size - used)
            break;
        used += (size_t)n;
    }
    return buf;
}

uint32_t ingest_scopes_parse_list(const char *text)
{
    uint32_t scopes = 0;
    while (text && *text) {
        const char *end = strchr(text, ',');
        size_t len = end ? (size_t)(end - text) : strlen(text);
        char name[32];
        if (len < sizeof name) {
            memcpy(name, text, len);
            name[len] = '\0';
            scopes |= ingest_scope_parse(name);
        }
        text = end ? end + 1 : NULL;
    }
    return scopes;
}
