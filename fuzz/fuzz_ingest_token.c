/*  fuzz_ingest_token — the per-tenant ingest token a sender presents (ingest_token_hash)
    and the stored scope list (ingest_scopes_parse_list).

    Only the one canonical spelling of a token hashes; the hash is 64 lower-case hex digits
    and the same every time. Scope lists format back to a list that parses to the same bits.
*/
#include "fuzz.h"
#include "ingest_token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    char hash[INGEST_TOKEN_HASH_LEN + 1];
    if (ingest_token_hash((const char *)data, size, hash)) {
        FUZZ_CHECK(size == INGEST_TOKEN_LEN && ingest_token_claimed((const char *)data, size));
        FUZZ_CHECK(strlen(hash) == INGEST_TOKEN_HASH_LEN);
        FUZZ_CHECK(strspn(hash, "0123456789abcdef") == INGEST_TOKEN_HASH_LEN);
        char again[INGEST_TOKEN_HASH_LEN + 1];
        FUZZ_CHECK(ingest_token_hash((const char *)data, size, again));
        FUZZ_CHECK(strcmp(hash, again) == 0);
    }
    char *text = fuzz_cstring(data, size);
    if (!text)
        return 0;
    uint32_t scopes = ingest_scopes_parse_list(text);
    FUZZ_CHECK((scopes & ~(uint32_t)INGEST_SCOPE_ALL) == 0);
    char formatted[128];
    FUZZ_CHECK(ingest_scopes_parse_list(
                   ingest_scopes_format(scopes, formatted, sizeof formatted)) == scopes);
    free(text);
    return 0;
}
