/*  test_intake_parse — the ecosystem intake parsers: Alertmanager API v2 (what Prometheus
    sends), Alertmanager webhook v4, PagerDuty Events v2, and integration key lookup.
    Every rejected field is reported with its element index; valid elements survive.
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
#include "intake_util.h"
#include "lk_fingerprint.h"
#include "lk_time.h"

#define TENANT     "0190f3e2-7b1c-7a00-8000-0123456789ab"
#define NOW_MS     INT64_C(1795338000000) /* 2026-11-22T09:00:00Z */
#define TIMEOUT_MS INT64_C(300000)
#define MAX_BATCH  1000

/* ---- helpers --------------------------------------------------------------------------- */

static json_t *s_json(const char *text)
{
    json_error_t error;
    json_t *doc = json_loads(text, JSON_DECODE_ANY, &error);
    if (!doc)
        fail_msg("test body is not JSON: %s: %s", error.text, text);
    return doc;
}

static int s_prometheus(const char *text, alert_parse_result_t *result, const char **reason)
{
    json_t *doc = s_json(text);
    int rc = alert_parse_prometheus(doc, TENANT, NOW_MS, TIMEOUT_MS, MAX_BATCH, result, reason);
    json_decref(doc);
    return rc;
}

static int s_webhook(const char *text, alert_parse_result_t *result,
                     alertmanager_webhook_info_t *info, const char **reason)
{
    json_t *doc = s_json(text);
    int rc = alert_parse_alertmanager_webhook(doc, TENANT, NOW_MS, MAX_BATCH, result, info, reason);
    json_decref(doc);
    return rc;
}

static int s_pagerduty(const char *text, pagerduty_event_t *event)
{
    json_t *doc = s_json(text);
    int rc = alert_parse_pagerduty(doc, NOW_MS, event);
    /* routing_key points into the document; the tests look at it before it goes */
    if (event->routing_key) {
        static char key[64];
        snprintf(key, sizeof key, "%.*s", (int)event->routing_key_len, event->routing_key);
        event->routing_key = key;
    }
    json_decref(doc);
    return rc;
}

static int64_t s_time(const char *text)
{
    int64_t ms = 0;
    assert_true(lk_time_parse(text, &ms));
    return ms;
}

/* Asserts that result holds an error for element index on field. */
static void s_has_error(const alert_parse_result_t *result, size_t index, const char *field)
{
    for (size_t i = 0; i < result->error_count; i++)
        if (result->errors[i].index == index && strcmp(result->errors[i].field, field) == 0) {
            assert_true(strlen(result->errors[i].message) > 0);
            return;
        }
    fail_msg("no error for element %zu on '%s' (%zu errors)", index, field, result->error_count);
}

/* Asserts that event lists a message containing text. */
static void s_pd_has_error(const pagerduty_event_t *event, const char *text)
{
    for (size_t i = 0; i < event->error_count; i++)
        if (strstr(event->errors[i], text))
            return;
    fail_msg("no error containing \"%s\" (%zu errors%s%s)", text, event->error_count,
             event->error_count ? ", first: " : "", event->error_count ? event->errors[0] : "");
}

/* ---- Alertmanager API v2 --------------------------------------------------------------- */

/* What Prometheus sends: firing alerts with endsAt ahead, resolved ones with endsAt behind. */
static void test_prometheus_batch(void **state)
{
    (void)state;
    const char *body =
        "[{\"labels\":{\"alertname\":\"HighCPU\",\"instance\":\"node1:9100\",\"job\":\"node\","
        "\"severity\":\"critical\"},\"annotations\":{\"summary\":\"CPU above 90%\"},"
        "\"startsAt\":\"2026-11-22T08:55:00.123456789Z\",\"endsAt\":\"2026-11-22T09:04:00Z\","
        "\"generatorURL\":\"http://prom:9090/graph?g0.expr=up\"},"
        "{\"labels\":{\"alertname\":\"DiskFull\",\"device\":\"sda1\"},"
        "\"startsAt\":\"2026-11-22T08:00:00Z\",\"endsAt\":\"2026-11-22T08:59:00+00:00\"}]";
    alert_parse_result_t result;
    const char *reason = NULL;
    assert_int_equal(s_prometheus(body, &result, &reason), 0);
    assert_int_equal(result.error_count, 0);
    assert_int_equal(result.alert_count, 2);

    lk_alert_t *firing = &result.alerts[0];
    assert_string_equal(firing->tenant_id, TENANT);
    assert_string_equal(firing->name, "HighCPU");
    assert_string_equal(firing->source, "prometheus");
    assert_int_equal(firing->status, LK_ALERT_FIRING);
    assert_int_equal(firing->severity, LK_SEV_CRITICAL);
    assert_true(firing->starts_at_ms == s_time("2026-11-22T08:55:00.123Z"));
    assert_true(firing->ends_at_ms == s_time("2026-11-22T09:04:00Z"));
    assert_string_equal(firing->generator_url, "http://prom:9090/graph?g0.expr=up");
    assert_string_equal(lk_labels_get(&firing->annotations, "summary"), "CPU above 90%");
    assert_int_equal(firing->labels.count, 4);
    assert_string_equal(firing->fingerprint, ""); /* correlate assigns it */

    lk_alert_t *resolved = &result.alerts[1];
    assert_int_equal(resolved->status, LK_ALERT_RESOLVED);
    assert_true(resolved->ends_at_ms == s_time("2026-11-22T08:59:00Z"));
    assert_int_equal(resolved->severity, LK_SEV_WARNING); /* no severity label */
    assert_int_equal(result.indexes[1], 1);
    alert_parse_result_clear(&result);
}

/* Alertmanager's defaults: no startsAt = endsAt or now; no endsAt = now + resolve timeout;
   endsAt exactly now is resolved; Go's zero time means "not given". */
static void test_prometheus_times(void **state)
{
    (void)state;
    const char *body = "[{\"labels\":{\"alertname\":\"A\"}},"
                       "{\"labels\":{\"alertname\":\"B\"},\"endsAt\":\"2026-11-22T08:00:00Z\"},"
                       "{\"labels\":{\"alertname\":\"C\"},\"endsAt\":\"2026-11-22T09:00:00Z\"},"
                       "{\"labels\":{\"alertname\":\"D\"},\"startsAt\":\"0001-01-01T00:00:00Z\","
                       "\"endsAt\":\"0001-01-01T00:00:00Z\"},"
                       "{\"labels\":{\"alertname\":\"E\"},\"endsAt\":\"2026-11-22T10:00:00Z\"}]";
    alert_parse_result_t result;
    const char *reason = NULL;
    assert_int_equal(s_prometheus(body, &result, &reason), 0);
    assert_int_equal(result.error_count, 0);
    assert_int_equal(result.alert_count, 5);
    assert_true(result.alerts[0].starts_at_ms == NOW_MS);
    assert_true(result.alerts[0].ends_at_ms == NOW_MS + TIMEOUT_MS);
    assert_int_equal(result.alerts[0].status, LK_ALERT_FIRING);
    assert_true(result.alerts[1].starts_at_ms == s_time("2026-11-22T08:00:00Z"));
    assert_int_equal(result.alerts[1].status, LK_ALERT_RESOLVED);
    assert_int_equal(result.alerts[2].status, LK_ALERT_RESOLVED); /* endsAt == now */
    assert_true(result.alerts[3].starts_at_ms == NOW_MS);
    assert_int_equal(result.alerts[3].status, LK_ALERT_FIRING);
    /* startsAt defaults to endsAt, even in the future, as in Alertmanager */
    assert_true(result.alerts[4].starts_at_ms == s_time("2026-11-22T10:00:00Z"));
    assert_int_equal(result.alerts[4].status, LK_ALERT_FIRING);
    alert_parse_result_clear(&result);
}

/* Empty label values are dropped before the identity is taken, as Alertmanager does, so the
   fingerprint is Alertmanager's; an alert without alertname is accepted with an empty name. */
static void test_prometheus_labels(void **state)
{
    (void)state;
    /* 56f885b8270d47db: what Alertmanager 0.25 reported for this very post */
    const char *body = "[{\"labels\":{\"alertname\":\"DiskFull\",\"device\":\"sda1\","
                       "\"empty\":\"\"}},"
                       "{\"labels\":{\"job\":\"api\",\"instance\":\"a\"}}]";
    alert_parse_result_t result;
    const char *reason = NULL;
    assert_int_equal(s_prometheus(body, &result, &reason), 0);
    assert_int_equal(result.alert_count, 2);
    assert_int_equal(result.alerts[0].labels.count, 2);
    assert_null(lk_labels_get(&result.alerts[0].labels, "empty"));
    lk_fingerprint_alert(&result.alerts[0]);
    assert_string_equal(result.alerts[0].fingerprint, "56f885b8270d47db");
    assert_string_equal(result.alerts[1].name, "");
    assert_null(lk_labels_get(&result.alerts[1].labels, "alertname"));
    alert_parse_result_clear(&result);
}

/* Every bad element is reported with its index and field; the good ones stay. */
static void test_prometheus_errors(void **state)
{
    (void)state;
    const char *body = "[{\"labels\":{\"alertname\":\"ok1\"}},"
                       "{\"annotations\":{}},"                                               /* 1 */
                       "{\"labels\":{}},"                                                    /* 2 */
                       "{\"labels\":{\"only\":\"\"}},"                                       /* 3 */
                       "{\"labels\":{\"bad-name\":\"x\",\"n\":5}},"                          /* 4 */
                       "{\"labels\":{\"a\":\"b\"},\"annotations\":{\"0x\":\"y\",\"ok\":7}}," /* 5 */
                       "{\"labels\":{\"a\":\"b\"},\"startsAt\":\"yesterday\"},"              /* 6 */
                       "{\"labels\":{\"a\":\"b\"},\"startsAt\":\"2026-11-22T08:00:00Z\","
                       "\"endsAt\":\"2026-11-22T07:00:00Z\"},"                           /* 7 */
                       "\"not an alert\","                                               /* 8 */
                       "{\"labels\":{\"a\":\"b\"},\"generatorURL\":42},"                 /* 9 */
                       "{\"labels\":\"alertname=x\"},"                                   /* 10 */
                       "{\"labels\":{\"a\":\"b\"},\"endsAt\":\"1960-01-01T00:00:00Z\"}," /* 11 */
                       "{\"labels\":{\"alertname\":\"ok2\"}}]";
    alert_parse_result_t result;
    const char *reason = NULL;
    assert_int_equal(s_prometheus(body, &result, &reason), 0);
    assert_int_equal(result.alert_count, 2);
    assert_int_equal(result.indexes[0], 0);
    assert_int_equal(result.indexes[1], 12);
    assert_string_equal(result.alerts[1].name, "ok2");
    s_has_error(&result, 1, "labels");
    s_has_error(&result, 2, "labels");
    s_has_error(&result, 3, "labels");
    s_has_error(&result, 4, "labels.bad-name");
    s_has_error(&result, 4, "labels.n");
    s_has_error(&result, 5, "annotations.0x");
    s_has_error(&result, 5, "annotations.ok");
    s_has_error(&result, 6, "startsAt");
    s_has_error(&result, 7, "endsAt");
    s_has_error(&result, 8, "");
    s_has_error(&result, 9, "generatorURL");
    s_has_error(&result, 10, "labels");
    s_has_error(&result, 11, "endsAt");
    assert_int_equal(result.error_count, 13);
    alert_parse_result_clear(&result);
}

static void test_prometheus_whole_body(void **state)
{
    (void)state;
    alert_parse_result_t result;
    const char *reason = NULL;
    assert_int_equal(s_prometheus("{\"labels\":{\"a\":\"b\"}}", &result, &reason), -1);
    assert_non_null(reason);
    assert_int_equal(result.alert_count, 0);
    assert_int_equal(s_prometheus("[]", &result, &reason), 0);
    assert_int_equal(result.alert_count, 0);
    alert_parse_result_clear(&result);

    json_t *many = json_array();
    for (int i = 0; i < 3; i++)
        json_array_append_new(many, json_pack("{s:{s:s}}", "labels", "a", "b"));
    reason = NULL;
    assert_int_equal(alert_parse_prometheus(many, TENANT, NOW_MS, TIMEOUT_MS, 2, &result, &reason),
                     -1);
    assert_non_null(reason);
    json_decref(many);

    /* limits: 65 labels, a 4097-byte value */
    json_t *labels = json_object();
    char name[16];
    for (int i = 0; i < 65; i++) {
        snprintf(name, sizeof name, "l%d", i);
        json_object_set_new(labels, name, json_string("v"));
    }
    char *long_value = calloc(1, 4098);
    memset(long_value, 'x', 4097);
    json_t *body = json_pack("[{s:o}, {s:{s:s}}]", "labels", labels, "labels", "a", long_value);
    assert_int_equal(
        alert_parse_prometheus(body, TENANT, NOW_MS, TIMEOUT_MS, MAX_BATCH, &result, &reason), 0);
    assert_int_equal(result.alert_count, 0);
    s_has_error(&result, 0, "labels");
    s_has_error(&result, 1, "labels.a");
    alert_parse_result_clear(&result);
    json_decref(body);
    free(long_value);
}

/* ---- Alertmanager webhook -------------------------------------------------------------- */

/* A notification as Alertmanager 0.25 sends it. The fingerprint is the one Alertmanager 0.25
   reported (GET /api/v2/alerts) for these labels: ours must be the same. */
static const char *s_notification =
    "{\"receiver\":\"lookout\",\"status\":\"firing\",\"alerts\":["
    "{\"status\":\"firing\",\"labels\":{\"alertname\":\"ProbeFailure\","
    "\"instance\":\"https://server.example.org\",\"job\":\"http_checks\",\"monitor\":\"master\","
    "\"severity\":\"critical\"},\"annotations\":{\"summary\":\"BlackBox Probe Failure\"},"
    "\"startsAt\":\"2023-02-06T13:08:45.828Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
    "\"generatorURL\":\"http://prometheus.example.org:9090/graph\","
    "\"fingerprint\":\"fe986f5dcb3e6510\"},"
    "{\"status\":\"resolved\",\"labels\":{\"alertname\":\"ProbeFailure\",\"instance\":\"b\"},"
    "\"annotations\":{},\"startsAt\":\"2023-02-06T13:00:00Z\","
    "\"endsAt\":\"2023-02-06T13:30:00Z\",\"generatorURL\":\"\"}],"
    "\"groupLabels\":{\"alertname\":\"ProbeFailure\"},\"commonLabels\":{},"
    "\"commonAnnotations\":{},\"externalURL\":\"http://prometheus.example.org:9093\","
    "\"version\":\"4\",\"groupKey\":\"{}/{severity=\\\"critical\\\"}:{alertname="
    "\\\"ProbeFailure\\\"}\",\"truncatedAlerts\":0}";

static void test_webhook_notification(void **state)
{
    (void)state;
    alert_parse_result_t result;
    alertmanager_webhook_info_t info;
    const char *reason = NULL;
    assert_int_equal(s_webhook(s_notification, &result, &info, &reason), 0);
    assert_int_equal(result.error_count, 0);
    assert_int_equal(result.alert_count, 2);
    assert_int_equal(info.fingerprint_mismatches, 0);

    lk_alert_t *firing = &result.alerts[0];
    assert_int_equal(firing->status, LK_ALERT_FIRING);
    assert_true(firing->ends_at_ms == 0);
    assert_true(firing->starts_at_ms == s_time("2023-02-06T13:08:45.828Z"));
    assert_string_equal(firing->source, "alertmanager");
    assert_string_equal(firing->name, "ProbeFailure");
    assert_int_equal(firing->severity, LK_SEV_CRITICAL);
    lk_fingerprint_alert(firing);
    assert_string_equal(firing->fingerprint, "fe986f5dcb3e6510");

    lk_alert_t *resolved = &result.alerts[1];
    assert_int_equal(resolved->status, LK_ALERT_RESOLVED);
    assert_true(resolved->ends_at_ms == s_time("2023-02-06T13:30:00Z"));
    assert_null(resolved->generator_url); /* "" is "not given" */
    alert_parse_result_clear(&result);
}

/* A fingerprint that is not ours is counted (the handler warns) and ours is kept. */
static void test_webhook_fingerprint_mismatch(void **state)
{
    (void)state;
    const char *body = "{\"version\":\"4\",\"alerts\":["
                       "{\"status\":\"firing\",\"labels\":{\"a\":\"1\"},\"fingerprint\":"
                       "\"0000000000000000\"},"
                       "{\"status\":\"firing\",\"labels\":{\"a\":\"2\"},\"fingerprint\":\"junk\"},"
                       "{\"status\":\"firing\",\"labels\":{\"a\":\"3\"}}],\"truncatedAlerts\":4}";
    alert_parse_result_t result;
    alertmanager_webhook_info_t info;
    const char *reason = NULL;
    assert_int_equal(s_webhook(body, &result, &info, &reason), 0);
    assert_int_equal(result.alert_count, 3);
    assert_int_equal(info.fingerprint_mismatches, 2);
    assert_int_equal(info.first_mismatch_index, 0);
    assert_string_equal(info.first_mismatch_sent, "0000000000000000");
    lk_labels_t labels = {0};
    lk_labels_set(&labels, "a", "1");
    char ours[LK_FINGERPRINT_STR_LEN + 1];
    lk_fingerprint_format(lk_fingerprint_labels(&labels), ours);
    lk_labels_clear(&labels);
    assert_string_equal(info.first_mismatch_ours, ours);
    assert_true(info.truncated_alerts == 4);
    alert_parse_result_clear(&result);
}

static void test_webhook_errors(void **state)
{
    (void)state;
    alert_parse_result_t result;
    alertmanager_webhook_info_t info;
    const char *reason = NULL;
    assert_int_equal(s_webhook("[]", &result, &info, &reason), -1);
    assert_non_null(reason);
    assert_int_equal(s_webhook("{\"version\":\"3\",\"alerts\":[]}", &result, &info, &reason), -1);
    assert_non_null(strstr(reason, "version"));
    assert_int_equal(s_webhook("{\"version\":\"4\",\"alerts\":{}}", &result, &info, &reason), -1);
    assert_non_null(strstr(reason, "alerts"));

    const char *body = "{\"version\":\"4\",\"alerts\":["
                       "{\"labels\":{\"a\":\"1\"}},"                                         /* 0 */
                       "{\"status\":\"pending\",\"labels\":{\"a\":\"1\"}},"                  /* 1 */
                       "{\"status\":\"firing\",\"labels\":{\"a\":\"1\"},\"fingerprint\":7}," /* 2 */
                       "{\"status\":\"resolved\",\"labels\":{\"a\":\"1\"},"
                       "\"startsAt\":\"2026-11-22T08:00:00Z\","
                       "\"endsAt\":\"2026-11-22T07:00:00Z\"}," /* 3 */
                       "{\"status\":\"firing\"},"              /* 4 */
                       "{\"status\":\"firing\",\"labels\":{\"alertname\":\"good\"}}]}";
    assert_int_equal(s_webhook(body, &result, &info, &reason), 0);
    assert_int_equal(result.alert_count, 1);
    assert_int_equal(result.indexes[0], 5);
    s_has_error(&result, 0, "status");
    s_has_error(&result, 1, "status");
    s_has_error(&result, 2, "fingerprint");
    s_has_error(&result, 3, "endsAt");
    s_has_error(&result, 4, "labels");
    assert_int_equal(result.error_count, 5);
    alert_parse_result_clear(&result);
}

/* ---- PagerDuty ------------------------------------------------------------------------- */

#define PD_KEY "R0123456789abcdefABCDEF012345678"

/* PagerDuty's own trigger example. */
static void test_pagerduty_trigger(void **state)
{
    (void)state;
    const char *body =
        "{\"payload\":{\"summary\":\"Example alert on host1.example.com\","
        "\"timestamp\":\"2015-07-17T08:42:58.315+0000\",\"source\":\"monitoringtool:cloudvendor:"
        "central-region-dc-01:852559987:cluster/api-stats-prod-003\",\"severity\":\"info\","
        "\"component\":\"postgres\",\"group\":\"prod-datapipe\",\"class\":\"deploy\","
        "\"custom_details\":{\"ping time\":\"1500ms\",\"load avg\":0.75}},"
        "\"routing_key\":\"" PD_KEY "\",\"dedup_key\":\"samplekeyhere\","
        "\"images\":[{\"src\":\"https://www.pagerduty.com/logo.png\"}],"
        "\"links\":[{\"href\":\"https://example.com/\",\"text\":\"Link text\"}],"
        "\"event_action\":\"trigger\",\"client\":\"Sample Monitoring Service\","
        "\"client_url\":\"https://monitoring.example.com\"}";
    pagerduty_event_t event;
    assert_int_equal(s_pagerduty(body, &event), 0);
    assert_int_equal(event.error_count, 0);
    assert_int_equal(event.action, PAGERDUTY_TRIGGER);
    assert_string_equal(event.routing_key, PD_KEY);
    assert_string_equal(event.dedup_key, "samplekeyhere");
    assert_false(event.dedup_key_generated);
    lk_alert_t *alert = &event.alert;
    assert_string_equal(alert->dedup_key, "samplekeyhere");
    assert_string_equal(alert->name, "samplekeyhere");
    assert_string_equal(alert->source, "pagerduty");
    assert_int_equal(alert->status, LK_ALERT_FIRING);
    assert_int_equal(alert->severity, LK_SEV_INFO);
    assert_string_equal(lk_labels_get(&alert->labels, "alertname"), "samplekeyhere");
    assert_string_equal(lk_labels_get(&alert->labels, "severity"), "info");
    assert_string_equal(lk_labels_get(&alert->labels, "component"), "postgres");
    assert_string_equal(lk_labels_get(&alert->labels, "group"), "prod-datapipe");
    assert_string_equal(lk_labels_get(&alert->labels, "class"), "deploy");
    assert_non_null(strstr(lk_labels_get(&alert->labels, "source"), "api-stats-prod-003"));
    assert_string_equal(lk_labels_get(&alert->annotations, "summary"),
                        "Example alert on host1.example.com");
    assert_string_equal(lk_labels_get(&alert->annotations, "custom_details"),
                        "{\"load avg\":0.75,\"ping time\":\"1500ms\"}");
    assert_string_equal(lk_labels_get(&alert->annotations, "client"), "Sample Monitoring Service");
    assert_string_equal(alert->generator_url, "https://monitoring.example.com");
    assert_true(alert->starts_at_ms == s_time("2015-07-17T08:42:58.315Z"));
    /* identity: the dedup_key alone */
    lk_fingerprint_alert(alert);
    lk_labels_t key = {0};
    lk_labels_set(&key, "dedup_key", "samplekeyhere");
    char want[LK_FINGERPRINT_STR_LEN + 1];
    lk_fingerprint_format(lk_fingerprint_labels(&key), want);
    lk_labels_clear(&key);
    assert_string_equal(alert->fingerprint, want);
    pagerduty_event_clear(&event);
}

/* No dedup_key on a trigger: one is generated (32 hex digits), fresh each time. */
static void test_pagerduty_generated_key(void **state)
{
    (void)state;
    const char *body = "{\"routing_key\":\"" PD_KEY "\",\"event_action\":\"trigger\","
                       "\"payload\":{\"summary\":\"s\",\"source\":\"h\",\"severity\":\"error\"}}";
    pagerduty_event_t first, second;
    assert_int_equal(s_pagerduty(body, &first), 0);
    assert_int_equal(s_pagerduty(body, &second), 0);
    assert_true(first.dedup_key_generated);
    assert_int_equal(strlen(first.dedup_key), 32);
    assert_int_equal(strspn(first.dedup_key, "0123456789abcdef"), 32);
    assert_string_not_equal(first.dedup_key, second.dedup_key);
    assert_string_equal(first.alert.dedup_key, first.dedup_key);
    assert_int_equal(first.alert.severity, LK_SEV_ERROR);
    assert_true(first.alert.starts_at_ms == NOW_MS);
    pagerduty_event_clear(&first);
    pagerduty_event_clear(&second);
}

/* acknowledge and resolve name the alert by dedup_key; a resolve keeps well-formed payload
   fields and ignores the rest, as PagerDuty ignores a resolve's payload. */
static void test_pagerduty_ack_resolve(void **state)
{
    (void)state;
    pagerduty_event_t event;
    assert_int_equal(s_pagerduty("{\"routing_key\":\"" PD_KEY "\",\"event_action\":"
                                 "\"acknowledge\",\"dedup_key\":\"k1\"}",
                                 &event),
                     0);
    assert_int_equal(event.action, PAGERDUTY_ACKNOWLEDGE);
    assert_string_equal(event.alert.dedup_key, "k1");
    pagerduty_event_clear(&event);

    assert_int_equal(s_pagerduty("{\"routing_key\":\"" PD_KEY "\",\"event_action\":\"resolve\","
                                 "\"dedup_key\":\"k1\",\"payload\":{\"summary\":\"fixed\","
                                 "\"severity\":\"bogus\",\"timestamp\":7}}",
                                 &event),
                     0);
    assert_int_equal(event.action, PAGERDUTY_RESOLVE);
    assert_int_equal(event.alert.status, LK_ALERT_RESOLVED);
    assert_true(event.alert.ends_at_ms == 0); /* correlate stamps the first resolve */
    assert_string_equal(lk_labels_get(&event.alert.labels, "alertname"), "k1");
    assert_null(lk_labels_get(&event.alert.labels, "severity"));
    assert_string_equal(lk_labels_get(&event.alert.annotations, "summary"), "fixed");
    pagerduty_event_clear(&event);

    assert_int_equal(
        s_pagerduty("{\"routing_key\":\"" PD_KEY "\",\"event_action\":\"resolve\"}", &event), -1);
    s_pd_has_error(&event, "'dedup_key' is missing or blank");
    pagerduty_event_clear(&event);
    assert_int_equal(s_pagerduty("{\"routing_key\":\"" PD_KEY "\",\"event_action\":"
                                 "\"acknowledge\",\"dedup_key\":\"  \"}",
                                 &event),
                     -1);
    s_pd_has_error(&event, "'dedup_key' is missing or blank");
    pagerduty_event_clear(&event);
}

/* Every problem of an event is listed in one answer, in PagerDuty's words. */
static void test_pagerduty_errors(void **state)
{
    (void)state;
    pagerduty_event_t event;
    assert_int_equal(s_pagerduty("[1]", &event), -1);
    assert_int_equal(event.error_count, 1);
    pagerduty_event_clear(&event);

    assert_int_equal(s_pagerduty("{\"routing_key\":\"short-key!\",\"event_action\":\"trigger\","
                                 "\"payload\":{\"summary\":\"\",\"severity\":\"fatal\","
                                 "\"timestamp\":\"last tuesday\",\"component\":5},"
                                 "\"links\":{}}",
                                 &event),
                     -1);
    s_pd_has_error(&event, "Length of 'routing_key' is incorrect (should be 32 characters)");
    s_pd_has_error(&event, "'routing_key' cannot contain non-alphanumeric characters.");
    s_pd_has_error(&event, "'payload.summary' is missing or blank");
    s_pd_has_error(&event, "'payload.source' is missing or blank");
    s_pd_has_error(&event, "'payload.severity' is invalid");
    s_pd_has_error(&event, "'payload.timestamp' is invalid");
    s_pd_has_error(&event, "'payload.component' must be a string");
    s_pd_has_error(&event, "'links' must be an array");
    assert_int_equal(event.error_count, 8);
    pagerduty_event_clear(&event);

    assert_int_equal(s_pagerduty("{\"event_action\":\"explode\"}", &event), -1);
    s_pd_has_error(&event, "'routing_key' is missing or blank");
    s_pd_has_error(&event, "'event_action' is invalid");
    assert_int_equal(event.error_count, 2);
    pagerduty_event_clear(&event);

    assert_int_equal(s_pagerduty("{\"routing_key\":\"" PD_KEY "\"}", &event), -1);
    s_pd_has_error(&event, "'event_action' is missing or blank");
    pagerduty_event_clear(&event);

    assert_int_equal(
        s_pagerduty("{\"routing_key\":\"" PD_KEY "\",\"event_action\":\"trigger\"}", &event), -1);
    s_pd_has_error(&event, "'payload' is missing or blank");
    pagerduty_event_clear(&event);

    char *long_key = calloc(1, 300);
    memset(long_key, 'k', 256);
    char body[600];
    snprintf(body, sizeof body,
             "{\"routing_key\":\"" PD_KEY "\",\"event_action\":\"trigger\",\"dedup_key\":\"%s\","
             "\"payload\":{\"summary\":\"s\",\"source\":\"h\",\"severity\":\"info\"}}",
             long_key);
    assert_int_equal(s_pagerduty(body, &event), -1);
    s_pd_has_error(&event, "Length of 'dedup_key' is incorrect");
    assert_int_equal(event.error_count, 1);
    pagerduty_event_clear(&event);
    free(long_key);
}

/* summary is cut to 1024 characters, never inside a UTF-8 character. */
static void test_pagerduty_summary_cut(void **state)
{
    (void)state;
    size_t chars = 1500;
    char *summary = malloc(chars * 2 + 1);
    for (size_t i = 0; i < chars; i++)
        memcpy(summary + 2 * i, "\xc3\xa9", 2); /* é */
    summary[chars * 2] = '\0';
    json_t *body = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "routing_key", PD_KEY,
                             "event_action", "trigger", "dedup_key", "k", "payload", "summary",
                             summary, "source", "h", "severity", "critical");
    pagerduty_event_t event;
    assert_int_equal(alert_parse_pagerduty(body, NOW_MS, &event), 0);
    const char *kept = lk_labels_get(&event.alert.annotations, "summary");
    assert_int_equal(strlen(kept), 2048);
    assert_memory_equal(kept, summary, 2048);
    pagerduty_event_clear(&event);
    json_decref(body);
    free(summary);
}

/* ---- integration keys ------------------------------------------------------------------ */

static void test_integration_find(void **state)
{
    (void)state;
    const char *text = "integrations:\n"
                       "  - {name: a, routing_key: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, tenant: "
                       "00000000-0000-0000-0000-00000000000a}\n"
                       "  - {name: b, routing_key: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, tenant: "
                       "00000000-0000-0000-0000-00000000000b}\n";
    lk_config_t *config = NULL;
    char err[256];
    assert_int_equal(lk_config_load_string("t.yaml", text, strlen(text), &config, err, sizeof err),
                     0);
    const char *b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const lk_integration_t *found = intake_integration_find(config, b, 32);
    assert_non_null(found);
    assert_string_equal(found->name, "b");
    assert_string_equal(found->tenant_id, "00000000-0000-0000-0000-00000000000b");
    assert_null(intake_integration_find(config, b, 31)); /* a prefix */
    assert_null(intake_integration_find(config, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 33));
    assert_null(intake_integration_find(config, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbc", 32));
    assert_null(intake_integration_find(config, "", 0));
    assert_null(intake_integration_find(NULL, b, 32));
    lk_config_destroy(&config);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prometheus_batch),
        cmocka_unit_test(test_prometheus_times),
        cmocka_unit_test(test_prometheus_labels),
        cmocka_unit_test(test_prometheus_errors),
        cmocka_unit_test(test_prometheus_whole_body),
        cmocka_unit_test(test_webhook_notification),
        cmocka_unit_test(test_webhook_fingerprint_mismatch),
        cmocka_unit_test(test_webhook_errors),
        cmocka_unit_test(test_pagerduty_trigger),
        cmocka_unit_test(test_pagerduty_generated_key),
        cmocka_unit_test(test_pagerduty_ack_resolve),
        cmocka_unit_test(test_pagerduty_errors),
        cmocka_unit_test(test_pagerduty_summary_cut),
        cmocka_unit_test(test_integration_find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
