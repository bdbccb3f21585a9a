/*  test_alert_parse — the native `POST /alerts` field table (docs/http-api.md), rule by rule:
    each accepted and each rejected, defaults, batches with mixed elements, batch bounds.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_parse.h"

#define TENANT    "0190f3e2-7b1c-7a00-8000-0123456789ab"
#define NOW_MS    INT64_C(1795338000000) /* 2026-11-22T09:00:00Z */
#define MAX_BATCH 1000

/* ---- helpers --------------------------------------------------------------------------- */

/* Parses body_text (must be valid JSON) and runs alert_parse_native; returns its result. */
static int s_parse(const char *body_text, size_t max_batch, alert_parse_result_t *result,
                   const char **reason)
{
    json_error_t error;
    json_t *body = json_loads(body_text, 0, &error);
    if (!body)
        fail_msg("test body is not JSON: %s", error.text);
    int rc = alert_parse_native(body, TENANT, NOW_MS, max_batch, result, reason);
    json_decref(body);
    return rc;
}

/* Parses a body that must yield exactly one valid alert and no error; returns the alert. */
static lk_alert_t *s_parse_one(const char *body_text, alert_parse_result_t *result)
{
    const char *reason = NULL;
    assert_int_equal(s_parse(body_text, MAX_BATCH, result, &reason), 0);
    if (result->error_count > 0)
        fail_msg("unexpected error: field '%s': %s", result->errors[0].field,
                 result->errors[0].message);
    assert_int_equal(result->alert_count, 1);
    assert_int_equal(result->indexes[0], 0);
    return &result->alerts[0];
}

/* Parses a single-alert body that must be rejected with exactly one error on field. */
static void s_expect_error(const char *body_text, const char *field)
{
    alert_parse_result_t result;
    const char *reason = NULL;
    assert_int_equal(s_parse(body_text, MAX_BATCH, &result, &reason), 0);
    assert_int_equal(result.alert_count, 0);
    if (result.error_count != 1)
        fail_msg("%s: expected one error on '%s', got %zu", body_text, field, result.error_count);
    assert_int_equal(result.errors[0].index, 0);
    assert_string_equal(result.errors[0].field, field);
    assert_true(strlen(result.errors[0].message) > 0);
    alert_parse_result_clear(&result);
}

/* Returns a malloc'd string of n copies of c. */
static char *s_repeat(char c, size_t n)
{
    char *text = malloc(n + 1);
    assert_non_null(text);
    memset(text, c, n);
    text[n] = '\0';
    return text;
}

/* Returns a malloc'd body {"name":"n", "<field>": "<n×'x'>"} */
static char *s_body_with_long(const char *field, size_t n)
{
    char *value = s_repeat('x', n);
    size_t size = n + strlen(field) + 64;
    char *body = malloc(size);
    assert_non_null(body);
    snprintf(body, size, "{\"name\":\"n\",\"%s\":\"%s\"}", field, value);
    free(value);
    return body;
}

/* Returns a malloc'd body with `count` entries in object `field`, values of value_len bytes,
   entry names from name_fmt (a printf format taking the entry number). */
static char *s_body_with_map(const char *field, size_t count, size_t value_len,
                             const char *name_fmt)
{
    char *value = s_repeat('v', value_len);
    size_t size = count * (value_len + 64) + 128;
    char *body = malloc(size);
    assert_non_null(body);
    size_t used = (size_t)snprintf(body, size, "{\"name\":\"n\",\"%s\":{", field);
    for (size_t i = 0; i < count; i++) {
        char name[32];
        snprintf(name, sizeof name, name_fmt, i);
        used += (size_t)snprintf(body + used, size - used, "%s\"%s\":\"%s\"", i ? "," : "", name,
                                 value);
    }
    snprintf(body + used, size - used, "}}");
    free(value);
    return body;
}

/* ---- whole body ------------------------------------------------------------------------ */

static void test_defaults(void **state)
{
    alert_parse_result_t result;
    lk_alert_t *alert = s_parse_one("{\"name\":\"HighCPU\"}", &result);
    assert_string_equal(alert->tenant_id, TENANT);
    assert_string_equal(alert->fingerprint, "");
    assert_string_equal(alert->incident_id, "");
    assert_string_equal(alert->name, "HighCPU");
    assert_int_equal(alert->labels.count, 1);
    assert_string_equal(lk_labels_get(&alert->labels, "alertname"), "HighCPU");
    assert_int_equal(alert->annotations.count, 0);
    assert_int_equal(alert->severity, LK_SEV_WARNING);
    assert_int_equal(alert->status, LK_ALERT_FIRING);
    assert_string_equal(alert->source, "api");
    assert_null(alert->query);
    assert_null(alert->dedup_key);
    assert_null(alert->generator_url);
    assert_false(alert->has_value);
    assert_false(alert->has_threshold);
    assert_int_equal(alert->starts_at_ms, NOW_MS);
    assert_int_equal(alert->ends_at_ms, 0);
    assert_int_equal(alert->updated_at_ms, 0);
    alert_parse_result_clear(&result);
    assert_null(result.alerts);
    assert_int_equal(result.alert_count, 0);
}

static void test_all_fields(void **state)
{
    alert_parse_result_t result;
    lk_alert_t *alert = s_parse_one(
        "{\"name\":\"DiskFull\",\"labels\":{\"host\":\"db1\",\"_team\":\"ops\",\"zone9\":\"\"},"
        "\"annotations\":{\"summary\":\"disk is full\",\"runbook url\":\"https://x\"},"
        "\"severity\":\"critical\",\"status\":\"firing\",\"value\":97.5,\"threshold\":90,"
        "\"query\":\"disk_used > 90\",\"source\":\"periscope\","
        "\"starts_at\":\"2026-11-22T08:30:00.250+01:00\",\"ends_at\":\"2026-11-22T10:00:00Z\","
        "\"dedup_key\":\"disk-db1\",\"generator_url\":\"http://prom/graph\","
        "\"unknown_field\":{\"ignored\":true}}",
        &result);
    assert_string_equal(alert->name, "DiskFull");
    assert_int_equal(alert->labels.count, 4);
    assert_string_equal(lk_labels_get(&alert->labels, "host"), "db1");
    assert_string_equal(lk_labels_get(&alert->labels, "_team"), "ops");
    assert_string_equal(lk_labels_get(&alert->labels, "zone9"), "");
    assert_string_equal(lk_labels_get(&alert->labels, "alertname"), "DiskFull");
    assert_int_equal(alert->annotations.count, 2);
    assert_string_equal(lk_labels_get(&alert->annotations, "summary"), "disk is full");
    assert_string_equal(lk_labels_get(&alert->annotations, "runbook url"), "https://x");
    assert_int_equal(alert->severity, LK_SEV_CRITICAL);
    assert_int_equal(alert->status, LK_ALERT_FIRING);
    assert_true(alert->has_value);
    assert_true(alert->value == 97.5);
    assert_true(alert->has_threshold);
    assert_true(alert->threshold == 90.0);
    assert_string_equal(alert->query, "disk_used > 90");
    assert_string_equal(alert->source, "periscope");
    assert_int_equal(alert->starts_at_ms, INT64_C(1795332600250));
    assert_int_equal(alert->ends_at_ms, INT64_C(1795341600000));
    assert_string_equal(alert->dedup_key, "disk-db1");
    assert_string_equal(alert->generator_url, "http://prom/graph");
    alert_parse_result_clear(&result);
}

static void test_body_shape(void **state)
{
    alert_parse_result_t result;
    const char *reason = NULL;
    const char *bad_bodies[] = {"\"alert\"", "42", "null", "true"};
    for (size_t i = 0; i < sizeof bad_bodies / sizeof bad_bodies[0]; i++) {
        json_t *body = json_loads(bad_bodies[i], JSON_DECODE_ANY, NULL);
        assert_non_null(body);
        reason = NULL;
        assert_int_equal(alert_parse_native(body, TENANT, NOW_MS, MAX_BATCH, &result, &reason), -1);
        assert_non_null(reason);
        assert_int_equal(result.alert_count, 0);
        assert_int_equal(result.error_count, 0);
        assert_null(result.alerts);
        json_decref(body);
    }
    assert_int_equal(alert_parse_native(NULL, TENANT, NOW_MS, MAX_BATCH, &result, &reason), -1);

    /* An empty array is a valid, empty batch. */
    assert_int_equal(s_parse("[]", MAX_BATCH, &result, &reason), 0);
    assert_int_equal(result.alert_count, 0);
    assert_int_equal(result.error_count, 0);
    alert_parse_result_clear(&result);
}

static void test_max_batch(void **state)
{
    alert_parse_result_t result;
    const char *reason = NULL;
    const char *three = "[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"}]";
    assert_int_equal(s_parse(three, 2, &result, &reason), -1);
    assert_string_equal(reason, "too many alerts in one request");
    assert_int_equal(result.alert_count, 0);
    assert_null(result.alerts);

    assert_int_equal(s_parse(three, 3, &result, &reason), 0);
    assert_int_equal(result.alert_count, 3);
    assert_string_equal(result.alerts[2].name, "c");
    assert_int_equal(result.indexes[2], 2);
    alert_parse_result_clear(&result);

    /* A single object counts as one. */
    assert_int_equal(s_parse("{\"name\":\"a\"}", 1, &result, &reason), 0);
    assert_int_equal(result.alert_count, 1);
    alert_parse_result_clear(&result);
}

static void test_mixed_batch(void **state)
{
    alert_parse_result_t result;
    const char *reason = NULL;
    assert_int_equal(s_parse("[{\"name\":\"first\"},"
                             " 42,"
                             " {\"name\":\"third\",\"labels\":{\"a-b\":\"x\"}},"
                             " {\"labels\":{\"alertname\":\"fourth\"}},"
                             " {\"name\":\"\",\"status\":\"open\",\"value\":\"high\"},"
                             " [\"nested\"]]",
                             MAX_BATCH, &result, &reason),
                     0);
    assert_int_equal(result.alert_count, 2);
    assert_string_equal(result.alerts[0].name, "first");
    assert_int_equal(result.indexes[0], 0);
    assert_string_equal(result.alerts[1].name, "fourth");
    assert_int_equal(result.indexes[1], 3);
    assert_string_equal(result.alerts[1].tenant_id, TENANT);

    struct {
        size_t index;
        const char *field;
    } expected[] = {{1, ""}, {2, "labels.a-b"}, {4, "name"}, {4, "status"}, {4, "value"}, {5, ""}};
    assert_int_equal(result.error_count, sizeof expected / sizeof expected[0]);
    for (size_t i = 0; i < result.error_count; i++) {
        assert_int_equal(result.errors[i].index, expected[i].index);
        assert_string_equal(result.errors[i].field, expected[i].field);
    }
    assert_string_equal(result.errors[0].message, "must be an object");
    alert_parse_result_clear(&result);
    assert_int_equal(result.error_count, 0);
    assert_null(result.errors);
}

static void test_every_violation_reported(void **state)
{
    alert_parse_result_t result;
    const char *reason = NULL;
    assert_int_equal(
        s_parse("{\"labels\":{\"9lives\":\"x\",\"ok\":1},\"annotations\":[],"
                "\"severity\":\"urgent\",\"status\":\"RESOLVED!\",\"value\":true,"
                "\"threshold\":\"5\",\"query\":7,\"source\":false,\"starts_at\":\"now\","
                "\"ends_at\":1795338000,\"dedup_key\":{}}",
                MAX_BATCH, &result, &reason),
        0);
    assert_int_equal(result.alert_count, 0);
    const char *fields[] = {"labels.9lives", "labels.ok", "annotations", "name",  "severity",
                            "status",        "value",     "threshold",   "query", "source",
                            "dedup_key",     "starts_at", "ends_at"};
    size_t expected = sizeof fields / sizeof fields[0];
    assert_int_equal(result.error_count, expected);
    /* Every field is reported once, whatever order the checks run in. */
    for (size_t f = 0; f < expected; f++) {
        size_t hits = 0;
        for (size_t e = 0; e < result.error_count; e++) {
            assert_int_equal(result.errors[e].index, 0);
            if (strcmp(result.errors[e].field, fields[f]) == 0)
                hits++;
        }
        if (hits != 1)
            fail_msg("field %s reported %zu times", fields[f], hits);
    }
    alert_parse_result_clear(&result);
}

static void test_error_list_bounded(void **state)
{
    /* 20 elements × 64 bad label names = 1280 errors: the list stops at 1000 plus a note. */
    char *element = s_body_with_map("labels", 64, 1, "bad-%zu");
    size_t element_len = strlen(element);
    size_t size = 20 * (element_len + 1) + 3;
    char *body = malloc(size);
    assert_non_null(body);
    size_t used = 0;
    body[used++] = '[';
    for (int i = 0; i < 20; i++) {
        if (i)
            body[used++] = ',';
        memcpy(body + used, element, element_len);
        used += element_len;
    }
    body[used++] = ']';
    body[used] = '\0';

    alert_parse_result_t result;
    const char *reason = NULL;
    assert_int_equal(s_parse(body, MAX_BATCH, &result, &reason), 0);
    assert_int_equal(result.alert_count, 0);
    assert_int_equal(result.error_count, 1001);
    assert_string_equal(result.errors[999].field, "labels.bad-39");
    assert_string_equal(result.errors[1000].message, "too many errors; the rest are not listed");
    alert_parse_result_clear(&result);
    free(body);
    free(element);
}

/* ---- name ------------------------------------------------------------------------------ */

static void test_name(void **state)
{
    alert_parse_result_t result;

    /* name wins over labels.alertname. */
    lk_alert_t *alert =
        s_parse_one("{\"name\":\"Explicit\",\"labels\":{\"alertname\":\"FromLabel\"}}", &result);
    assert_string_equal(alert->name, "Explicit");
    assert_string_equal(lk_labels_get(&alert->labels, "alertname"), "Explicit");
    assert_int_equal(alert->labels.count, 1);
    alert_parse_result_clear(&result);

    /* labels.alertname alone is enough. */
    alert = s_parse_one("{\"labels\":{\"alertname\":\"FromLabel\",\"job\":\"node\"}}", &result);
    assert_string_equal(alert->name, "FromLabel");
    alert_parse_result_clear(&result);

    /* 256 bytes accepted, 257 refused. */
    char *body = s_body_with_long("name", 256);
    alert = s_parse_one(body, &result);
    assert_int_equal(strlen(alert->name), 256);
    alert_parse_result_clear(&result);
    free(body);
    body = s_body_with_long("name", 257);
    s_expect_error(body, "name");
    free(body);

    s_expect_error("{}", "name");
    s_expect_error("{\"labels\":{\"alertname\":\"\"}}", "name");
    s_expect_error("{\"name\":\"\"}", "name");
    s_expect_error("{\"name\":42}", "name");
    s_expect_error("{\"name\":[\"a\"]}", "name");
    s_expect_error("{\"name\":null}", "name");

    /* A long labels.alertname cannot serve as the name. */
    char *value = s_repeat('a', 300);
    char text[512];
    snprintf(text, sizeof text, "{\"labels\":{\"alertname\":\"%s\"}}", value);
    s_expect_error(text, "labels.alertname");
    free(value);
}

static void test_nul_in_strings(void **state)
{
    /* Parsed JSON cannot carry NUL without JSON_ALLOW_NUL, but built values can. */
    alert_parse_result_t result;
    const char *reason = NULL;
    json_t *body = json_pack("{s:o, s:{s:o}}", "name", json_stringn("a\0b", 3), "labels", "x",
                             json_stringn("1\0002", 3));
    assert_non_null(body);
    assert_int_equal(alert_parse_native(body, TENANT, NOW_MS, MAX_BATCH, &result, &reason), 0);
    assert_int_equal(result.alert_count, 0);
    assert_int_equal(result.error_count, 2);
    assert_string_equal(result.errors[0].field, "name");
    assert_string_equal(result.errors[1].field, "labels.x");
    alert_parse_result_clear(&result);
    json_decref(body);
}

/* ---- labels and annotations ------------------------------------------------------------ */

static void test_labels(void **state)
{
    alert_parse_result_t result;
    lk_alert_t *alert = s_parse_one(
        "{\"name\":\"n\",\"labels\":{\"a\":\"1\",\"_\":\"2\",\"Z_9\":\"3\",\"__x\":\"4\"}}",
        &result);
    assert_int_equal(alert->labels.count, 5);
    alert_parse_result_clear(&result);

    s_expect_error("{\"name\":\"n\",\"labels\":{\"bad-name\":\"x\"}}", "labels.bad-name");
    s_expect_error("{\"name\":\"n\",\"labels\":{\"1abc\":\"x\"}}", "labels.1abc");
    s_expect_error("{\"name\":\"n\",\"labels\":{\"\":\"x\"}}", "labels.");
    s_expect_error("{\"name\":\"n\",\"labels\":{\"a.b\":\"x\"}}", "labels.a.b");
    s_expect_error("{\"name\":\"n\",\"labels\":{\"caf\\u00e9\":\"x\"}}", "labels.caf\xc3\xa9");
    s_expect_error("{\"name\":\"n\",\"labels\":{\"x\":1}}", "labels.x");
    s_expect_error("{\"name\":\"n\",\"labels\":{\"x\":null}}", "labels.x");
    s_expect_error("{\"name\":\"n\",\"labels\":{\"x\":{\"y\":\"z\"}}}", "labels.x");
    s_expect_error("{\"name\":\"n\",\"labels\":[\"x\"]}", "labels");
    s_expect_error("{\"name\":\"n\",\"labels\":\"x=y\"}", "labels");

    /* At most 64 labels. */
    char *body = s_body_with_map("labels", 64, 1, "l%zu");
    alert = s_parse_one(body, &result);
    assert_int_equal(alert->labels.count, 65); /* plus alertname */
    alert_parse_result_clear(&result);
    free(body);
    body = s_body_with_map("labels", 65, 1, "l%zu");
    s_expect_error(body, "labels");
    free(body);

    /* Values at most 4096 bytes. */
    body = s_body_with_map("labels", 1, 4096, "big");
    alert = s_parse_one(body, &result);
    assert_int_equal(strlen(lk_labels_get(&alert->labels, "big")), 4096);
    alert_parse_result_clear(&result);
    free(body);
    body = s_body_with_map("labels", 1, 4097, "big");
    s_expect_error(body, "labels.big");
    free(body);
}

static void test_label_field_path_truncated(void **state)
{
    /* A long, multi-byte label name: the field path is cut, but never inside a character. */
    char name[400] = "a";
    for (int i = 0; i < 100; i++)
        strcat(name, "\xc3\xa9"); /* é */
    char text[512];
    snprintf(text, sizeof text, "{\"name\":\"n\",\"labels\":{\"%s\":\"x\"}}", name);
    alert_parse_result_t result;
    const char *reason = NULL;
    assert_int_equal(s_parse(text, MAX_BATCH, &result, &reason), 0);
    assert_int_equal(result.error_count, 1);
    const char *field = result.errors[0].field;
    assert_true(strlen(field) < sizeof result.errors[0].field);
    assert_true(strncmp(field, "labels.a\xc3\xa9", 10) == 0);
    /* "labels.a" is 8 bytes, each é is 2: an odd remainder would mean a split character. */
    assert_int_equal((strlen(field) - 8) % 2, 0);
    json_t *check = json_string(field);
    assert_non_null(check); /* valid UTF-8 */
    json_decref(check);
    alert_parse_result_clear(&result);
}

static void test_annotations(void **state)
{
    alert_parse_result_t result;
    /* Annotation names are free text (only labels follow the Prometheus pattern), but not
       empty: the internal protocol refuses empty names (found by fuzz/fuzz_alert_native). */
    lk_alert_t *alert = s_parse_one(
        "{\"name\":\"n\",\"annotations\":{\"summary\":\"s\",\"run-book\":\"r\",\"a b\":\"e\"}}",
        &result);
    assert_int_equal(alert->annotations.count, 3);
    assert_string_equal(lk_labels_get(&alert->annotations, "run-book"), "r");
    alert_parse_result_clear(&result);
    s_expect_error("{\"name\":\"n\",\"annotations\":{\"\":\"e\"}}", "annotations.");

    s_expect_error("{\"name\":\"n\",\"annotations\":{\"summary\":false}}", "annotations.summary");
    s_expect_error("{\"name\":\"n\",\"annotations\":\"text\"}", "annotations");

    char *body = s_body_with_map("annotations", 64, 1, "a%zu");
    alert = s_parse_one(body, &result);
    assert_int_equal(alert->annotations.count, 64);
    alert_parse_result_clear(&result);
    free(body);
    body = s_body_with_map("annotations", 65, 1, "a%zu");
    s_expect_error(body, "annotations");
    free(body);

    body = s_body_with_map("annotations", 1, 16384, "description");
    alert = s_parse_one(body, &result);
    assert_int_equal(strlen(lk_labels_get(&alert->annotations, "description")), 16384);
    alert_parse_result_clear(&result);
    free(body);
    body = s_body_with_map("annotations", 1, 16385, "description");
    s_expect_error(body, "annotations.description");
    free(body);
}

/* ---- severity and status --------------------------------------------------------------- */

static void test_severity(void **state)
{
    alert_parse_result_t result;
    struct {
        const char *body;
        lk_severity_t severity;
    } cases[] = {
        {"{\"name\":\"n\",\"severity\":\"info\"}", LK_SEV_INFO},
        {"{\"name\":\"n\",\"severity\":\"warning\"}", LK_SEV_WARNING},
        {"{\"name\":\"n\",\"severity\":\"error\"}", LK_SEV_ERROR},
        {"{\"name\":\"n\",\"severity\":\"CRITICAL\"}", LK_SEV_CRITICAL},
        {"{\"name\":\"n\",\"severity\":\"page\"}", LK_SEV_CRITICAL},
        /* Default from labels.severity, else warning; an unknown label value is not an
           error (labels are free-form), it just does not count as a severity. */
        {"{\"name\":\"n\",\"labels\":{\"severity\":\"error\"}}", LK_SEV_ERROR},
        {"{\"name\":\"n\",\"labels\":{\"severity\":\"sev1\"}}", LK_SEV_WARNING},
        {"{\"name\":\"n\",\"labels\":{\"severity\":\"info\"},\"severity\":\"critical\"}",
         LK_SEV_CRITICAL},
        {"{\"name\":\"n\",\"severity\":null,\"labels\":{\"severity\":\"info\"}}", LK_SEV_INFO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lk_alert_t *alert = s_parse_one(cases[i].body, &result);
        assert_int_equal(alert->severity, cases[i].severity);
        alert_parse_result_clear(&result);
    }
    s_expect_error("{\"name\":\"n\",\"severity\":\"urgent\"}", "severity");
    s_expect_error("{\"name\":\"n\",\"severity\":\"\"}", "severity");
    s_expect_error("{\"name\":\"n\",\"severity\":3}", "severity");
}

static void test_status(void **state)
{
    alert_parse_result_t result;
    lk_alert_t *alert = s_parse_one("{\"name\":\"n\",\"status\":\"firing\"}", &result);
    assert_int_equal(alert->status, LK_ALERT_FIRING);
    assert_int_equal(alert->ends_at_ms, 0);
    alert_parse_result_clear(&result);

    /* resolved without ends_at: ended now. */
    alert = s_parse_one("{\"name\":\"n\",\"status\":\"resolved\"}", &result);
    assert_int_equal(alert->status, LK_ALERT_RESOLVED);
    assert_int_equal(alert->ends_at_ms, NOW_MS);
    alert_parse_result_clear(&result);

    /* resolved with ends_at: kept. */
    alert = s_parse_one(
        "{\"name\":\"n\",\"status\":\"resolved\",\"ends_at\":\"2026-11-22T08:00:00Z\"}", &result);
    assert_int_equal(alert->ends_at_ms, NOW_MS - 3600000);
    alert_parse_result_clear(&result);

    s_expect_error("{\"name\":\"n\",\"status\":\"open\"}", "status");
    s_expect_error("{\"name\":\"n\",\"status\":1}", "status");
}

/* ---- numbers, strings, times ----------------------------------------------------------- */

static void test_value_threshold(void **state)
{
    alert_parse_result_t result;
    lk_alert_t *alert = s_parse_one("{\"name\":\"n\",\"value\":5,\"threshold\":-0.25}", &result);
    assert_true(alert->has_value);
    assert_true(alert->value == 5.0);
    assert_true(alert->has_threshold);
    assert_true(alert->threshold == -0.25);
    alert_parse_result_clear(&result);

    alert = s_parse_one("{\"name\":\"n\",\"value\":1e300,\"threshold\":null}", &result);
    assert_true(alert->value == 1e300);
    assert_false(alert->has_threshold);
    alert_parse_result_clear(&result);

    s_expect_error("{\"name\":\"n\",\"value\":\"5\"}", "value");
    s_expect_error("{\"name\":\"n\",\"value\":true}", "value");
    s_expect_error("{\"name\":\"n\",\"threshold\":[1]}", "threshold");
}

static void test_query_source_dedup(void **state)
{
    alert_parse_result_t result;

    char *body = s_body_with_long("query", 4096);
    lk_alert_t *alert = s_parse_one(body, &result);
    assert_int_equal(strlen(alert->query), 4096);
    alert_parse_result_clear(&result);
    free(body);
    body = s_body_with_long("query", 4097);
    s_expect_error(body, "query");
    free(body);

    body = s_body_with_long("source", 64);
    alert = s_parse_one(body, &result);
    assert_int_equal(strlen(alert->source), 64);
    alert_parse_result_clear(&result);
    free(body);
    body = s_body_with_long("source", 65);
    s_expect_error(body, "source");
    free(body);

    body = s_body_with_long("dedup_key", 255);
    alert = s_parse_one(body, &result);
    assert_int_equal(strlen(alert->dedup_key), 255);
    alert_parse_result_clear(&result);
    free(body);
    body = s_body_with_long("dedup_key", 256);
    s_expect_error(body, "dedup_key");
    free(body);

    /* Empty optional text means "not given". */
    alert =
        s_parse_one("{\"name\":\"n\",\"source\":\"\",\"dedup_key\":\"\",\"query\":\"\"}", &result);
    assert_string_equal(alert->source, "api");
    assert_null(alert->dedup_key);
    assert_null(alert->query);
    alert_parse_result_clear(&result);

    s_expect_error("{\"name\":\"n\",\"source\":[]}", "source");
    s_expect_error("{\"name\":\"n\",\"dedup_key\":12}", "dedup_key");
    s_expect_error("{\"name\":\"n\",\"generator_url\":12}", "generator_url");
}

static void test_times(void **state)
{
    alert_parse_result_t result;
    lk_alert_t *alert = s_parse_one(
        "{\"name\":\"n\",\"starts_at\":\"2026-11-22T09:00:00.5Z\",\"ends_at\":null}", &result);
    assert_int_equal(alert->starts_at_ms, NOW_MS + 500);
    assert_int_equal(alert->ends_at_ms, 0);
    alert_parse_result_clear(&result);

    s_expect_error("{\"name\":\"n\",\"starts_at\":\"yesterday\"}", "starts_at");
    s_expect_error("{\"name\":\"n\",\"starts_at\":\"2026-13-01T00:00:00Z\"}", "starts_at");
    s_expect_error("{\"name\":\"n\",\"starts_at\":1795338000}", "starts_at");
    s_expect_error("{\"name\":\"n\",\"ends_at\":\"2026-11-22 09:00\"}", "ends_at");
    s_expect_error("{\"name\":\"n\",\"ends_at\":\"\"}", "ends_at");
    /* 0 means "unset" in lk_alert_t, so the epoch itself and earlier cannot be stored. */
    s_expect_error("{\"name\":\"n\",\"starts_at\":\"1970-01-01T00:00:00Z\"}", "starts_at");
    s_expect_error("{\"name\":\"n\",\"starts_at\":\"1969-12-31T23:59:59Z\"}", "starts_at");
    alert = s_parse_one("{\"name\":\"n\",\"starts_at\":\"1970-01-01T00:00:00.001Z\"}", &result);
    assert_int_equal(alert->starts_at_ms, 1);
    alert_parse_result_clear(&result);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_all_fields),
        cmocka_unit_test(test_body_shape),
        cmocka_unit_test(test_max_batch),
        cmocka_unit_test(test_mixed_batch),
        cmocka_unit_test(test_every_violation_reported),
        cmocka_unit_test(test_error_list_bounded),
        cmocka_unit_test(test_name),
        cmocka_unit_test(test_nul_in_strings),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_label_field_path_truncated),
        cmocka_unit_test(test_annotations),
        cmocka_unit_test(test_severity),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_value_threshold),
        cmocka_unit_test(test_query_source_dedup),
        cmocka_unit_test(test_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
