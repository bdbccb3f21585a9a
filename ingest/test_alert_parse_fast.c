/*  test_alert_parse_fast — the direct Alertmanager API v2 reader against the general path.

    Whatever alert_parse_prometheus_fast accepts must come out exactly as jansson +
    alert_parse_prometheus make it (every field of every alert, the request positions), and
    whatever the general path reports as a problem the fast reader must decline. Checked on
    hand-written bodies (what Prometheus sends, escapes, the limits) and on a few thousand
    mutations of them.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_parse.h"
#include "alert_parse_fast.h"

#define TENANT     "6f1c2b0e-8a6d-4c1e-9b7a-0a1b2c3d4e5f"
#define NOW_MS     1700000000000LL
#define RESOLVE_MS 300000LL
#define MAX_BATCH  1000

static bool s_same_text(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Fails the test unless the two alerts are equal in every field. */
static void s_assert_same_alert(const lk_alert_t *a, const lk_alert_t *b)
{
    assert_string_equal(a->tenant_id, b->tenant_id);
    assert_string_equal(a->fingerprint, b->fingerprint);
    assert_string_equal(a->incident_id, b->incident_id);
    assert_true(s_same_text(a->source, b->source));
    assert_true(s_same_text(a->name, b->name));
    assert_true(s_same_text(a->query, b->query));
    assert_true(s_same_text(a->dedup_key, b->dedup_key));
    assert_true(s_same_text(a->generator_url, b->generator_url));
    assert_true(lk_labels_equal(&a->labels, &b->labels));
    assert_true(lk_labels_equal(&a->annotations, &b->annotations));
    /* same order too: both are sorted by name */
    for (size_t i = 0; i < a->labels.count; i++)
        assert_string_equal(a->labels.items[i].name, b->labels.items[i].name);
    assert_int_equal(a->severity, b->severity);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->has_value, b->has_value);
    assert_int_equal(a->has_threshold, b->has_threshold);
    assert_int_equal(a->starts_at_ms, b->starts_at_ms);
    assert_int_equal(a->ends_at_ms, b->ends_at_ms);
    assert_int_equal(a->updated_at_ms, b->updated_at_ms);
    assert_int_equal(a->state, b->state);
    assert_true(s_same_text(a->suppressed_by, b->suppressed_by));
}

/* The general path's verdict: 1 = parsed without a single problem, 0 = anything else.
 *general is filled when it parsed (even with problems). */
static int s_general(const char *body, size_t size, alert_parse_result_t *general)
{
    memset(general, 0, sizeof *general);
    json_t *doc = json_loadb(body, size, JSON_DECODE_ANY, NULL);
    if (!doc)
        return 0;
    const char *reason = NULL;
    int rc = alert_parse_prometheus(doc, TENANT, NOW_MS, RESOLVE_MS, MAX_BATCH, general, &reason);
    json_decref(doc);
    if (rc != 0)
        return 0;
    return general->error_count == 0 ? 1 : 0;
}

/* Runs both readers on body; checks they agree as the header promises. Returns the fast
   reader's answer. */
static int s_check(const char *body, size_t size)
{
    alert_parse_result_t fast, general;
    int fast_rc =
        alert_parse_prometheus_fast(body, size, TENANT, NOW_MS, RESOLVE_MS, MAX_BATCH, &fast);
    int general_rc = s_general(body, size, &general);
    assert_int_not_equal(fast_rc, -1);
    if (fast_rc == 1) {
        assert_int_equal(general_rc, 1); /* never accepts what the general path refuses */
        assert_int_equal(fast.alert_count, general.alert_count);
        assert_int_equal(fast.error_count, 0);
        for (size_t i = 0; i < fast.alert_count; i++) {
            assert_int_equal(fast.indexes[i], general.indexes[i]);
            s_assert_same_alert(&fast.alerts[i], &general.alerts[i]);
        }
    } else {
        assert_int_equal(fast.alert_count, 0);
        assert_null(fast.alerts);
    }
    alert_parse_result_clear(&fast);
    alert_parse_result_clear(&general);
    return fast_rc;
}

static int s_check_text(const char *body)
{
    return s_check(body, strlen(body));
}

/* What Prometheus 2.x posts: Go's encoder escapes <, > and & in generatorURL. */
static const char s_prometheus_body[] =
    "[{\"labels\":{\"alertname\":\"HighCPU\",\"instance\":\"edge-1:9100\",\"job\":\"node\","
    "\"severity\":\"critical\"},\"annotations\":{\"summary\":\"CPU \\u003e 90% on edge-1\","
    "\"description\":\"line one\\nline \\\"two\\\"\"},\"startsAt\":\"2023-11-14T22:00:00.123Z\","
    "\"endsAt\":\"2023-11-14T22:10:00Z\",\"generatorURL\":\"http://prometheus:9090/graph?g0.expr="
    "up%3D%3D0\\u0026g0.tab=1\"},\n"
    " {\"labels\": {\"alertname\": \"DiskFull\", \"instance\": \"db-1\"},\n"
    "  \"annotations\": {}, \"startsAt\": \"2023-11-14T22:00:00+01:00\"}]";

static void test_prometheus_body(void **state)
{
    (void)state;
    assert_int_equal(s_check_text(s_prometheus_body), 1);
    alert_parse_result_t fast;
    assert_int_equal(alert_parse_prometheus_fast(s_prometheus_body, strlen(s_prometheus_body),
                                                 TENANT, NOW_MS, RESOLVE_MS, MAX_BATCH, &fast),
                     1);
    assert_int_equal(fast.alert_count, 2);
    assert_string_equal(fast.alerts[0].name, "HighCPU");
    assert_string_equal(fast.alerts[0].source, "prometheus");
    assert_string_equal(fast.alerts[0].tenant_id, TENANT);
    assert_int_equal(fast.alerts[0].severity, LK_SEV_CRITICAL);
    assert_string_equal(fast.alerts[0].generator_url,
                        "http://prometheus:9090/graph?g0.expr=up%3D%3D0&g0.tab=1");
    assert_string_equal(lk_labels_get(&fast.alerts[0].annotations, "summary"),
                        "CPU > 90% on edge-1");
    assert_string_equal(lk_labels_get(&fast.alerts[0].annotations, "description"),
                        "line one\nline \"two\"");
    /* endsAt before now: resolved; the second has none: firing until now + resolve timeout */
    assert_int_equal(fast.alerts[0].status, LK_ALERT_RESOLVED);
    assert_int_equal(fast.alerts[1].status, LK_ALERT_FIRING);
    assert_int_equal(fast.alerts[1].ends_at_ms, NOW_MS + RESOLVE_MS);
    assert_int_equal(fast.alerts[1].severity, LK_SEV_WARNING);
    alert_parse_result_clear(&fast);
}

static void test_accepted_forms(void **state)
{
    (void)state;
    const char *bodies[] = {
        "[]",
        " \t\r\n[ ] \n",
        /* empty label values are dropped before anything else */
        "[{\"labels\":{\"alertname\":\"A\",\"empty\":\"\"}}]",
        /* nulls and "" mean absent; Go's zero time means no end */
        "[{\"labels\":{\"a\":\"1\"},\"annotations\":null,\"generatorURL\":\"\",\"startsAt\":null,"
        "\"endsAt\":\"0001-01-01T00:00:00Z\"}]",
        "[{\"labels\":{\"a\":\"1\"},\"generatorURL\":null,\"startsAt\":\"\"}]",
        /* only endsAt: startsAt becomes endsAt */
        "[{\"labels\":{\"a\":\"1\"},\"endsAt\":\"2030-01-01T00:00:00Z\"}]",
        /* escapes of every kind, a surrogate pair, raw UTF-8 */
        "[{\"labels\":{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20ac\\ud83d\\ude00\","
        "\"b\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}}]",
        /* member order does not matter; labels sorted by name */
        "[{\"endsAt\":\"2030-01-01T00:00:00Z\",\"labels\":{\"z\":\"1\",\"a\":\"2\",\"_m\":\"3\"}}]",
        /* an empty annotation value is kept (only labels drop them) */
        "[{\"labels\":{\"a\":\"1\"},\"annotations\":{\"summary\":\"\"}}]",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        print_message("body %zu\n", i);
        assert_int_equal(s_check_text(bodies[i]), 1);
    }
}

static void test_declined_forms(void **state)
{
    (void)state;
    const char *bodies[] = {
        "",
        "{}",
        "[1]",
        "[{}]",
        "[{\"labels\":null}]",
        "[{\"labels\":{}}]",
        "[{\"labels\":{\"a\":\"\"}}]",                                      /* no label left */
        "[{\"labels\":{\"a\":1}}]",                                         /* not a string */
        "[{\"labels\":{\"a-b\":\"1\"}}]",                                   /* not a label name */
        "[{\"labels\":{\"1a\":\"1\"}}]",                                    /* not a label name */
        "[{\"labels\":{\"a\":\"1\",\"a\":\"2\"}}]",                         /* duplicate name */
        "[{\"labels\":{\"c\":\"1\",\"b\":\"1\",\"a\":\"1\",\"c\":\"2\"}}]", /* apart */
        "[{\"labels\":{\"a\":\"1\"},\"labels\":{\"b\":\"1\"}}]",            /* duplicate member */
        "[{\"labels\":{\"a\":\"1\"},\"status\":\"firing\"}]", /* a member it does not know */
        "[{\"labels\":{\"a\":\"1\\u0000\"}}]",                /* NUL */
        "[{\"labels\":{\"a\":\"\\ud800\"}}]",                 /* lone surrogate */
        "[{\"labels\":{\"a\":\"\\udc00x\"}}]",                /* lone low surrogate */
        "[{\"labels\":{\"a\":\"\xc3\x28\"}}]",                /* ill-formed UTF-8 */
        "[{\"labels\":{\"a\":\"\xed\xa0\x80\"}}]",            /* encoded surrogate */
        "[{\"labels\":{\"a\":\"\xc0\xaf\"}}]",                /* overlong */
        "[{\"labels\":{\"a\":\"x\ty\"}}]",                    /* raw control character */
        "[{\"labels\":{\"a\":\"\\x\"}}]",                     /* unknown escape */
        "[{\"labels\":{\"\\u0061\":\"1\"}}]",                 /* escaped name */
        "[{\"labels\":{\"a\":\"1\"},\"startsAt\":\"yesterday\"}]",
        "[{\"labels\":{\"a\":\"1\"},\"startsAt\":\"1960-01-01T00:00:00Z\"}]",
        "[{\"labels\":{\"a\":\"1\"},\"startsAt\":\"2030-01-01T00:00:00Z\","
        "\"endsAt\":\"2029-01-01T00:00:00Z\"}]",
        "[{\"labels\":{\"a\":\"1\"},\"generatorURL\":5}]",
        "[{\"labels\":{\"a\":\"1\"},\"annotations\":[]}]",
        "[{\"labels\":{\"a\":\"1\"}}] x",
        "[{\"labels\":{\"a\":\"1\"}},]",
        "[{\"labels\":{\"a\":\"1\"}}",
        "[{\"labels\":{\"a\":\"1\"",
        "[{\"labels\":{\"a\":\"1\"}} {\"labels\":{\"a\":\"1\"}}]",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        print_message("body %zu\n", i);
        assert_int_equal(s_check_text(bodies[i]), 0);
    }
    /* embedded NUL byte in the body */
    static const char with_nul[] = "[{\"labels\":{\"a\":\"1\0\"}}]";
    assert_int_equal(s_check(with_nul, sizeof with_nul - 1), 0);
}

/* The reader takes plain ASCII eight bytes at a time: every byte that needs a look of its own
   (escapes, UTF-8, what is declined), at every offset from a word's start and with every
   length of plain text after it, in a label value and in a member name. */
static void test_special_byte_offsets(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        int accepted; /* in a value; a member name declines escapes too */
    } specials[] = {
        {"", 1},
        {"\\\"", 1},
        {"\\\\", 1},
        {"\\u00e9", 1},
        {"\\n", 1},
        {"\xc3\xa9", 1},
        {"\xf0\x9f\x98\x80", 1},
        {"\x7f", 1},
        {"~", 1},
        {"\t", 0},
        {"\x1f", 0},
        {"\xc3\x28", 0},
        {"\xff", 0},
        {"\xe2\x82", 0},
        {"\\u0000", 0},
    };
    char value[64], body[256];
    size_t checked = 0;
    for (size_t kind = 0; kind < sizeof specials / sizeof specials[0]; kind++)
        for (int before = 0; before <= 17; before++)
            for (int after = 0; after <= 9; after++) {
                snprintf(value, sizeof value, "%.*s%s%.*s", before, "abcdefghijklmnopqrstuvwxyz",
                         specials[kind].bytes, after, "0123456789");
                snprintf(body, sizeof body, "[{\"labels\":{\"alertname\":\"%s\"}}]", value);
                /* an empty value leaves no label, which declines */
                assert_int_equal(s_check_text(body), specials[kind].accepted && value[0]);
                /* the same text as an annotation's name: no escapes there */
                snprintf(body, sizeof body,
                         "[{\"labels\":{\"a\":\"1\"},\"annotations\":{\"%s\":\"v\"}}]", value);
                int named = s_check_text(body);
                assert_true(named == 0 || (specials[kind].accepted && !strchr(value, '\\')));
                checked += 2;
            }
    print_message("special bytes: %zu bodies\n", checked);
}

/* Appends to a growing body. */
static void s_append(char **body, size_t *size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int length = vsnprintf(NULL, 0, format, args);
    va_end(args);
    *body = realloc(*body, *size + (size_t)length + 1);
    assert_non_null(*body);
    va_start(args, format);
    vsnprintf(*body + *size, (size_t)length + 1, format, args);
    va_end(args);
    *size += (size_t)length;
}

static void test_limits(void **state)
{
    (void)state;
    char *body = NULL;
    size_t size = 0;
    /* 64 labels are fine, 65 are not */
    for (int count = 64; count <= 65; count++) {
        size = 0;
        s_append(&body, &size, "[{\"labels\":{");
        for (int i = 0; i < count; i++)
            s_append(&body, &size, "%s\"l%d\":\"v\"", i ? "," : "", i);
        s_append(&body, &size, "}}]");
        assert_int_equal(s_check(body, size), count == 64 ? 1 : 0);
    }
    /* label values up to 4096 bytes, annotations up to 16384 */
    const struct {
        const char *member;
        size_t length;
        int expected;
    } cases[] = {{"labels", 4096, 1},
                 {"labels", 4097, 0},
                 {"annotations", 16384, 1},
                 {"annotations", 16385, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size = 0;
        s_append(&body, &size, "[{\"labels\":{\"a\":\"1\"},\"%s\":{\"v\":\"", cases[c].member);
        if (strcmp(cases[c].member, "labels") == 0) {
            size = 0;
            s_append(&body, &size, "[{\"labels\":{\"v\":\"");
        }
        for (size_t i = 0; i < cases[c].length; i++)
            s_append(&body, &size, "x");
        s_append(&body, &size, "\"}}]");
        assert_int_equal(s_check(body, size), cases[c].expected);
    }
    /* max_batch alerts are fine, one more goes the general way (its 413) */
    size = 0;
    s_append(&body, &size, "[");
    for (int i = 0; i <= MAX_BATCH; i++) {
        s_append(&body, &size, "%s{\"labels\":{\"i\":\"%d\"}}", i ? "," : "", i);
        if (i == MAX_BATCH - 1) {
            char *exact = malloc(size + 2);
            assert_non_null(exact);
            memcpy(exact, body, size);
            exact[size] = ']';
            assert_int_equal(s_check(exact, size + 1), 1);
            free(exact);
        }
    }
    s_append(&body, &size, "]");
    assert_int_equal(s_check(body, size), 0);
    free(body);
}

/* Mutations of valid bodies: every one the fast reader accepts must be one the general path
   accepts with the very same result (s_check asserts that). */
static void test_mutations(void **state)
{
    (void)state;
    const char *seeds[] = {
        s_prometheus_body,
        "[{\"labels\":{\"a\":\"\\u00e9\\ud83d\\ude00\",\"b\":\"\"},\"annotations\":{\"s\":\"x\"},"
        "\"endsAt\":\"0001-01-01T00:00:00Z\",\"generatorURL\":null}]",
    };
    static const char alphabet[] = "{}[]\":,\\u0aA_ \n\x80\xc3\xa9-.Z019";
    srand(12345);
    size_t accepted = 0, declined = 0;
    for (int round = 0; round < 6000; round++) {
        const char *seed = seeds[round % 2];
        size_t size = strlen(seed);
        char *body = malloc(size + 4);
        assert_non_null(body);
        memcpy(body, seed, size);
        int edits = 1 + rand() % 3;
        for (int e = 0; e < edits; e++) {
            size_t at = (size_t)rand() % size;
            int kind = rand() % 3;
            if (kind == 0) /* replace a byte */
                body[at] = alphabet[(size_t)rand() % (sizeof alphabet - 1)];
            else if (kind == 1 && size > 1) { /* delete a byte */
                memmove(body + at, body + at + 1, size - at - 1);
                size--;
            } else { /* insert a byte */
                memmove(body + at + 1, body + at, size - at);
                body[at] = alphabet[(size_t)rand() % (sizeof alphabet - 1)];
                size++;
            }
        }
        if (s_check(body, size) == 1)
            accepted++;
        else
            declined++;
        free(body);
    }
    print_message("mutations: %zu accepted, %zu declined\n", accepted, declined);
    assert_true(accepted > 0 && declined > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prometheus_body), cmocka_unit_test(test_accepted_forms),
        cmocka_unit_test(test_declined_forms),  cmocka_unit_test(test_limits),
        cmocka_unit_test(test_mutations),       cmocka_unit_test(test_special_byte_offsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
