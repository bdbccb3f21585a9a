/*  test_security — the pure parts of issue 8 on the ingest side: ingest token text, hashing
    and scopes (ingest_token.h), the per-tenant token buckets (rate_limit.h), the token
    cache's answers without a store round trip (tokens.h), and the slow-connection guard
    (conn_guard.h) on a real socket pair.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn_guard.h"
#include "ingest_token.h"
#include "lk_log.h"
#include "lk_time.h"
#include "rate_limit.h"
#include "tokens.h"

#define TENANT_A "aaaaaaaa-0000-4000-8000-000000000001"
#define TENANT_B "bbbbbbbb-0000-4000-8000-000000000002"

static void test_token_text(void **state)
{
    char token[INGEST_TOKEN_LEN + 1], hash[INGEST_TOKEN_HASH_LEN + 1];
    char other[INGEST_TOKEN_LEN + 1], other_hash[INGEST_TOKEN_HASH_LEN + 1];
    assert_int_equal(ingest_token_generate(token, hash), 0);
    assert_int_equal(ingest_token_generate(other, other_hash), 0);
    assert_int_equal(strlen(token), INGEST_TOKEN_LEN);
    assert_memory_equal(token, "lk_", 3);
    assert_string_not_equal(token, other);
    assert_string_not_equal(hash, other_hash);
    /* hashing what was handed out gives the stored hash */
    char again[INGEST_TOKEN_HASH_LEN + 1];
    assert_true(ingest_token_hash(token, strlen(token), again));
    assert_string_equal(again, hash);
    assert_int_equal(strspn(hash, "0123456789abcdef"), INGEST_TOKEN_HASH_LEN);
    /* the SHA-256 of a known text */
    const char *known = "lk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_true(ingest_token_hash(known, strlen(known), again));
    assert_string_equal(again, "637352dd916ed388c365b881e91f0f18a5e9802ea40a3cb74361a613168cfaf9");
    /* anything else is no token: wrong prefix, length, alphabet, padding bits */
    char bad[INGEST_TOKEN_LEN + 2];
    memcpy(bad, token, sizeof token);
    bad[0] = 'L';
    assert_false(ingest_token_hash(bad, strlen(bad), again));
    assert_false(ingest_token_hash(token, strlen(token) - 1, again));
    memcpy(bad, token, sizeof token);
    bad[10] = '=';
    assert_false(ingest_token_hash(bad, strlen(bad), again));
    memcpy(bad, known, INGEST_TOKEN_LEN + 1);
    bad[INGEST_TOKEN_LEN - 1] = 'B'; /* non-zero padding bits: a second spelling */
    assert_false(ingest_token_hash(bad, strlen(bad), again));
    assert_true(ingest_token_claimed("lk_x", 4));
    assert_false(ingest_token_claimed("eyJhbGciOi", 10));
    assert_false(ingest_token_claimed("lk", 2));
}

static void test_scopes(void **state)
{
    char buf[128];
    assert_int_equal(ingest_scope_parse("alerts:write"), INGEST_SCOPE_ALERTS_WRITE);
    assert_int_equal(ingest_scope_parse("heartbeats:write"), INGEST_SCOPE_HEARTBEATS_WRITE);
    assert_int_equal(ingest_scope_parse("admin"), 0);
    assert_int_equal(ingest_scope_parse(NULL), 0);
    assert_string_equal(ingest_scopes_format(INGEST_SCOPE_ALL, buf, sizeof buf),
                        "alerts:write,heartbeats:write");
    assert_int_equal(ingest_scopes_parse_list("heartbeats:write,bogus,alerts:write"),
                     INGEST_SCOPE_ALL);
    assert_int_equal(ingest_scopes_parse_list(""), 0);
    assert_string_equal(ingest_scope_name(INGEST_SCOPE_HEARTBEATS_WRITE), "heartbeats:write");
    assert_null(ingest_scope_name(INGEST_SCOPE_ALL));
}

static void test_rate_limit(void **state)
{
    int retry = 0;
    /* off: everything passes */
    rate_limit_t *off = rate_limit_new(0, 0);
    assert_true(rate_limit_admit(off, TENANT_A, 1000000, 0, &retry));
    rate_limit_destroy(&off);
    assert_null(off);

    rate_limit_t *limit = rate_limit_new(10, 20); /* 10 alerts/s, bursts of 20 */
    int64_t now = 1000;
    assert_true(rate_limit_admit(limit, TENANT_A, 20, now, &retry));
    assert_false(rate_limit_admit(limit, TENANT_A, 5, now, &retry));
    assert_int_equal(retry, 1); /* 5 alerts at 10/s: within a second */
    assert_false(rate_limit_admit(limit, TENANT_A, 15, now, &retry));
    assert_int_equal(retry, 2); /* 15 at 10/s: 1.5 s, rounded up */
    /* tenants are apart */
    assert_true(rate_limit_admit(limit, TENANT_B, 20, now, &retry));
    /* refill */
    assert_true(rate_limit_admit(limit, TENANT_A, 5, now + 500, &retry));
    assert_false(rate_limit_admit(limit, TENANT_A, 1, now + 500, &retry));
    /* a batch over the burst passes on a full bucket, then its debt is paid */
    now += 10000;
    assert_true(rate_limit_admit(limit, TENANT_A, 50, now, &retry));
    assert_false(rate_limit_admit(limit, TENANT_A, 1, now, &retry));
    assert_int_equal(retry, 4); /* from -30 to +1 at 10/s: 3.1 s → 4 */
    assert_false(rate_limit_admit(limit, TENANT_A, 50, now + 3000, &retry));
    assert_true(rate_limit_admit(limit, TENANT_A, 1, now + 3100, &retry));
    /* many tenants: bounded table, the rest share the overflow bucket, nobody crashes */
    char tenant[LK_UUID_STR_LEN + 1];
    for (int i = 0; i < 70000; i++) {
        snprintf(tenant, sizeof tenant, "%08x-0000-4000-8000-000000000000", i);
        rate_limit_admit(limit, tenant, 1, now, &retry);
    }
    rate_limit_destroy(&limit);
}

static void test_tokens_cache(void **state)
{
    ingest_tokens_t *tokens = tokens_new(60000);
    char token[INGEST_TOKEN_LEN + 1], hash[INGEST_TOKEN_HASH_LEN + 1];
    assert_int_equal(ingest_token_generate(token, hash), 0);
    tokens_remember(tokens, hash, TENANT_A, "prom", INGEST_SCOPE_ALERTS_WRITE);
    char header[128];
    snprintf(header, sizeof header, "Bearer %s", token);
    auth_identity_t caller;
    http_reply_t reply;
    http_reply_init(&reply);
    /* a remembered token answers from the cache: no pipeline needed */
    assert_int_equal(
        tokens_authenticate(tokens, NULL, header, NULL, INGEST_SCOPE_ALERTS_WRITE, &caller, &reply),
        TOKENS_OK);
    assert_string_equal(caller.tenant_id, TENANT_A);
    assert_string_equal(caller.actor, "token:prom");
    assert_int_equal(tokens_authenticate(tokens, NULL, header, TENANT_A, INGEST_SCOPE_ALERTS_WRITE,
                                         &caller, &reply),
                     TOKENS_OK);
    /* scope and tenant header */
    assert_int_equal(tokens_authenticate(tokens, NULL, header, NULL, INGEST_SCOPE_HEARTBEATS_WRITE,
                                         &caller, &reply),
                     TOKENS_REFUSED);
    assert_int_equal(reply.status, 403);
    http_reply_clear(&reply);
    assert_int_equal(tokens_authenticate(tokens, NULL, header, TENANT_B, INGEST_SCOPE_ALERTS_WRITE,
                                         &caller, &reply),
                     TOKENS_REFUSED);
    assert_int_equal(reply.status, 403);
    http_reply_clear(&reply);
    /* not an ingest token: the caller tries the other schemes */
    assert_int_equal(tokens_authenticate(tokens, NULL, "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", NULL,
                                         INGEST_SCOPE_ALERTS_WRITE, &caller, &reply),
                     TOKENS_NOT_A_TOKEN);
    assert_int_equal(
        tokens_authenticate(tokens, NULL, NULL, NULL, INGEST_SCOPE_ALERTS_WRITE, &caller, &reply),
        TOKENS_NOT_A_TOKEN);
    assert_int_equal(tokens_authenticate(tokens, NULL, "Basic bGs6eA==", NULL,
                                         INGEST_SCOPE_ALERTS_WRITE, &caller, &reply),
                     TOKENS_NOT_A_TOKEN);
    /* malformed ingest token: refused as such, never tried as a JWT */
    assert_int_equal(tokens_authenticate(tokens, NULL, "Bearer lk_short", NULL,
                                         INGEST_SCOPE_ALERTS_WRITE, &caller, &reply),
                     TOKENS_REFUSED);
    assert_int_equal(reply.status, 401);
    http_reply_clear(&reply);
    /* forgotten (revoked here): the next use must ask store; without a pipeline that is a
       refusal, never a pass */
    tokens_forget(tokens, hash);
    ingest_tokens_t *expiring = tokens_new(1);
    tokens_remember(expiring, hash, TENANT_A, "prom", INGEST_SCOPE_ALERTS_WRITE);
    tokens_destroy(&expiring);
    assert_null(expiring);
    tokens_destroy(&tokens);
}

static void test_conn_guard(void **state)
{
    conn_guard_t *guard = conn_guard_new(1);
    assert_non_null(guard);
    int slow[2], polite[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, slow), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, polite), 0);
    conn_guard_entry_t *slow_entry = conn_guard_opened(guard, slow[0]);
    conn_guard_entry_t *polite_entry = conn_guard_opened(guard, polite[0]);
    conn_guard_admitted(polite_entry); /* its head arrived: being served */
    /* the slow one is shut down after about a second: its peer reads end-of-stream */
    struct pollfd wait = {.fd = slow[1], .events = POLLIN};
    int64_t started = lk_mono_ms();
    assert_int_equal(poll(&wait, 1, 5000), 1);
    char byte;
    assert_int_equal(read(slow[1], &byte, 1), 0);
    assert_true(lk_mono_ms() - started >= 500);
    assert_int_equal(conn_guard_cut_total(guard), 1);
    /* the one being served is left alone */
    struct pollfd quiet = {.fd = polite[1], .events = POLLIN};
    assert_int_equal(poll(&quiet, 1, 1500), 0);
    /* ... until its request ended and no next head came */
    conn_guard_idle(guard, polite_entry);
    assert_int_equal(poll(&quiet, 1, 5000), 1);
    assert_int_equal(conn_guard_cut_total(guard), 2);
    conn_guard_closed(guard, slow_entry);
    conn_guard_closed(guard, polite_entry);
    conn_guard_destroy(&guard);
    assert_null(guard);
    close(slow[0]);
    close(slow[1]);
    close(polite[0]);
    close(polite[1]);
}

int main(void)
{
    lk_log_init("test_security", LK_LOG_FATAL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_text), cmocka_unit_test(test_scopes),
        cmocka_unit_test(test_rate_limit), cmocka_unit_test(test_tokens_cache),
        cmocka_unit_test(test_conn_guard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
