/*  Unit tests: the outbound URL guard, retry decisions (back-off, Retry-After), payload
    builders of every channel and their truncation to each service's limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "lk_time.h"
#include "payload.h"
#include "url_guard.h"

/* ---- URL guard ------------------------------------------------------------------------- */

static void s_parse_ok(const char *url, url_guard_kind_t kind, const char *scheme, const char *host,
                       int port, bool literal)
{
    url_parts_t parts;
    char err[160];
    if (url_guard_parse(url, kind, &parts, err, sizeof err) != 0)
        fail_msg("%s refused: %s", url, err);
    assert_string_equal(parts.scheme, scheme);
    assert_string_equal(parts.host, host);
    assert_int_equal(parts.port, port);
    assert_int_equal(parts.literal, literal);
}

static void s_parse_refused(const char *url, url_guard_kind_t kind)
{
    url_parts_t parts;
    char err[160] = "";
    if (url_guard_parse(url, kind, &parts, err, sizeof err) == 0)
        fail_msg("%s accepted", url);
    assert_true(err[0] != '\0');
    /* the reason never repeats the URL (it may carry a token) */
    assert_null(strstr(err, "secret-token"));
}

static void test_url_parse(void **state)
{
    (void)state;
    s_parse_ok("https://hooks.slack.com/services/T0/B0/secret-token", URL_GUARD_WEB, "https",
               "hooks.slack.com", 443, false);
    s_parse_ok("HTTP://Example.COM:8080/path?q=1#frag", URL_GUARD_WEB, "http", "example.com", 8080,
               false);
    s_parse_ok("http://127.0.0.1:9/", URL_GUARD_WEB, "http", "127.0.0.1", 9, true);
    s_parse_ok("http://[::1]:8443/x", URL_GUARD_WEB, "http", "::1", 8443, true);
    s_parse_ok("smtp://mail.example.org", URL_GUARD_MAIL, "smtp", "mail.example.org", 25, false);
    s_parse_ok("smtps://mail.example.org:2465", URL_GUARD_MAIL, "smtps", "mail.example.org", 2465,
               false);

    s_parse_refused("ftp://example.com/", URL_GUARD_WEB);
    s_parse_refused("file:///etc/passwd", URL_GUARD_WEB);
    s_parse_refused("javascript:alert(1)", URL_GUARD_WEB);
    s_parse_refused("gopher://example.com/", URL_GUARD_WEB);
    s_parse_refused("smtp://mail.example.org", URL_GUARD_WEB);
    s_parse_refused("https://mail.example.org", URL_GUARD_MAIL);
    s_parse_refused("https://user:secret-token@example.com/", URL_GUARD_WEB);
    s_parse_refused("https://example.com@evil.example/", URL_GUARD_WEB);
    s_parse_refused("https://example.com:0/", URL_GUARD_WEB);
    s_parse_refused("https://example.com:65536/", URL_GUARD_WEB);
    s_parse_refused("https://example.com:/", URL_GUARD_WEB);
    s_parse_refused("https://example.com:80a/", URL_GUARD_WEB);
    s_parse_refused("https://exa mple.com/", URL_GUARD_WEB);
    s_parse_refused("https://example.com\\@evil/", URL_GUARD_WEB);
    s_parse_refused("https://ex\xc3\xa4mple.com/", URL_GUARD_WEB);
    s_parse_refused("https://example.com/\r\nHost: evil", URL_GUARD_WEB);
    s_parse_refused("http://0x7f.0.0.1/", URL_GUARD_WEB);
    s_parse_refused("http://2130706433/", URL_GUARD_WEB);
    s_parse_refused("http://127.1/", URL_GUARD_WEB);
    s_parse_refused("http://[::1/", URL_GUARD_WEB);
    s_parse_refused("http://[zz::1]/", URL_GUARD_WEB);
    s_parse_refused("http:///path", URL_GUARD_WEB);
    s_parse_refused("http://-bad.example/", URL_GUARD_WEB);
    s_parse_refused("http://bad-.example/", URL_GUARD_WEB);
    s_parse_refused("http://a..b/", URL_GUARD_WEB);
    s_parse_refused("example.com/no-scheme", URL_GUARD_WEB);
    s_parse_refused("", URL_GUARD_WEB);
    s_parse_refused(NULL, URL_GUARD_WEB);
}

static void test_address_classes(void **state)
{
    (void)state;
    static const char *public_ones[] = {"8.8.8.8",         "1.1.1.1",        "203.0.114.1",
                                        "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"};
    static const char *private_ones[] = {"127.0.0.1",
                                         "127.255.255.254",
                                         "10.1.2.3",
                                         "172.16.0.1",
                                         "172.31.255.255",
                                         "192.168.1.1",
                                         "169.254.169.254",
                                         "100.64.0.1",
                                         "192.0.2.10",
                                         "198.18.0.1",
                                         "::1",
                                         "fe80::1",
                                         "fc00::1",
                                         "fd12:3456::1",
                                         "::ffff:127.0.0.1",
                                         "::ffff:10.0.0.1",
                                         "2002:7f00:1::",
                                         "64:ff9b::a00:1",
                                         "2001:db8::1"};
    static const char *never[] = {"0.0.0.0",         "0.1.2.3",   "224.0.0.1", "239.255.255.250",
                                  "255.255.255.255", "240.0.0.1", "::",        "ff02::1"};
    for (size_t i = 0; i < sizeof public_ones / sizeof *public_ones; i++) {
        if (!url_guard_ip_allowed(public_ones[i], false))
            fail_msg("%s refused", public_ones[i]);
    }
    for (size_t i = 0; i < sizeof private_ones / sizeof *private_ones; i++) {
        if (url_guard_ip_allowed(private_ones[i], false))
            fail_msg("%s allowed without allow_private_destinations", private_ones[i]);
        if (!url_guard_ip_allowed(private_ones[i], true))
            fail_msg("%s refused with allow_private_destinations", private_ones[i]);
    }
    for (size_t i = 0; i < sizeof never / sizeof *never; i++)
        if (url_guard_ip_allowed(never[i], true))
            fail_msg("%s allowed", never[i]);
    assert_false(url_guard_ip_allowed("not an address", true));
    assert_false(url_guard_ip_allowed(NULL, true));
}

static void test_resolve_pins(void **state)
{
    (void)state;
    url_parts_t parts;
    char err[256], resolve[512], address[64];
    assert_int_equal(
        url_guard_parse("http://localhost:8123/hook", URL_GUARD_WEB, &parts, err, sizeof err), 0);
    assert_int_equal(url_guard_resolve(&parts, false, resolve, sizeof resolve, address,
                                       sizeof address, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "refused"));
    assert_int_equal(url_guard_resolve(&parts, true, resolve, sizeof resolve, address,
                                       sizeof address, err, sizeof err),
                     0);
    assert_true(strcmp(address, "127.0.0.1") == 0 || strcmp(address, "::1") == 0);
    assert_true(strncmp(resolve, "localhost:8123:", 15) == 0);
    assert_non_null(strstr(resolve, address));
    assert_int_equal(url_guard_parse("http://127.0.0.1:1/", URL_GUARD_WEB, &parts, err, sizeof err),
                     0);
    assert_int_equal(url_guard_resolve(&parts, false, resolve, sizeof resolve, address,
                                       sizeof address, err, sizeof err),
                     -1);
}

/* ---- retries --------------------------------------------------------------------------- */

static void test_retry_after(void **state)
{
    (void)state;
    int64_t now = 0, delay = -1;
    assert_true(lk_time_parse("1994-11-06T08:49:32Z", &now));
    assert_true(delivery_parse_retry_after("2", now, &delay));
    assert_true(delay == 2000);
    assert_true(delivery_parse_retry_after(" 120 ", now, &delay));
    assert_true(delay == 120000);
    assert_true(delivery_parse_retry_after("0", now, &delay));
    assert_true(delay == 0);
    assert_true(delivery_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now, &delay));
    assert_true(delay == 5000);
    assert_true(delivery_parse_retry_after("Sunday, 06-Nov-94 08:49:42 GMT", now, &delay));
    assert_true(delay == 10000);
    assert_true(delivery_parse_retry_after("Sun Nov  6 08:49:52 1994", now, &delay));
    assert_true(delay == 20000);
    assert_true(delivery_parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now, &delay));
    assert_true(delay == 0); /* in the past: at once */
    assert_true(delivery_parse_retry_after("99999999999", now, &delay));
    assert_true(delay == DELIVERY_RETRY_AFTER_MAX_MS);
    assert_false(delivery_parse_retry_after("", now, &delay));
    assert_false(delivery_parse_retry_after("-1", now, &delay));
    assert_false(delivery_parse_retry_after("1.5", now, &delay));
    assert_false(delivery_parse_retry_after("soon", now, &delay));
    assert_false(delivery_parse_retry_after("Sun, 06 Nov 1994 08:49:37 CET", now, &delay));
    assert_false(delivery_parse_retry_after("Sun, 31 Foo 1994 08:49:37 GMT", now, &delay));
    assert_false(delivery_parse_retry_after("Sun, 06 Nov 1994 25:49:37 GMT", now, &delay));
    assert_false(delivery_parse_retry_after(NULL, now, &delay));
}

static void test_backoff(void **state)
{
    (void)state;
    assert_true(delivery_backoff_ms(1, 1000, 300000, 0) == 500);
    assert_true(delivery_backoff_ms(1, 1000, 300000, 500) == 1000);
    assert_true(delivery_backoff_ms(3, 1000, 300000, 0) == 2000);
    assert_true(delivery_backoff_ms(3, 1000, 300000, 2000) == 4000);
    assert_true(delivery_backoff_ms(40, 1000, 300000, 0) == 150000); /* capped, no overflow */
    for (uint64_t random = 0; random < 5000; random += 7) {
        int64_t wait = delivery_backoff_ms(4, 1000, 300000, random * 2654435761u);
        assert_true(wait >= 4000 && wait <= 8000);
    }
}

static void test_decide(void **state)
{
    (void)state;
    int64_t now = 1000000;
    delivery_outcome_t outcome = delivery_decide(200, NULL, 1, 6, 1000, 60000, now, 0);
    assert_int_equal(outcome.status, LK_NOTIFY_SENT);
    assert_int_equal(delivery_decide(204, NULL, 6, 6, 1000, 60000, now, 0).status, LK_NOTIFY_SENT);
    /* cannot succeed by repeating */
    static const long permanent[] = {400, 401, 403, 404, 410, 413, 422, 301, 302, 100};
    for (size_t i = 0; i < sizeof permanent / sizeof *permanent; i++)
        assert_int_equal(delivery_decide(permanent[i], "1", 1, 6, 1000, 60000, now, 0).status,
                         LK_NOTIFY_FAILED);
    outcome = delivery_decide(429, "2", 1, 6, 1000, 60000, now, 0);
    assert_int_equal(outcome.status, LK_NOTIFY_RETRY);
    assert_true(outcome.next_attempt_at_ms == now + 2000);
    outcome = delivery_decide(503, NULL, 2, 6, 1000, 60000, now, 0);
    assert_int_equal(outcome.status, LK_NOTIFY_RETRY);
    assert_true(outcome.next_attempt_at_ms == now + 1000); /* base 2000, jitter 0 → half */
    outcome = delivery_decide(408, "garbage", 1, 6, 1000, 60000, now, 0);
    assert_int_equal(outcome.status, LK_NOTIFY_RETRY);
    assert_true(outcome.next_attempt_at_ms == now + 500);
    outcome = delivery_decide(0, NULL, 1, 6, 1000, 60000, now, 0); /* no answer */
    assert_int_equal(outcome.status, LK_NOTIFY_RETRY);
    outcome = delivery_decide(500, NULL, 6, 6, 1000, 60000, now, 0); /* the last attempt */
    assert_int_equal(outcome.status, LK_NOTIFY_FAILED);
}

/* ---- truncation ------------------------------------------------------------------------ */

static void test_truncate(void **state)
{
    (void)state;
    char *text = payload_truncate("short", 10);
    assert_string_equal(text, "short");
    free(text);
    text = payload_truncate("abcdefghij", 10);
    assert_string_equal(text, "abcdefghij");
    free(text);
    text = payload_truncate("abcdefghijk", 10);
    assert_string_equal(text, "abcdefghi\xe2\x80\xa6");
    assert_int_equal(payload_char_count(text), 10);
    free(text);
    /* multi-byte characters are never split: é (2 bytes), 🚨 (4 bytes) */
    text = payload_truncate("\xc3\xa9\xc3\xa9\xf0\x9f\x9a\xa8\xf0\x9f\x9a\xa8", 3);
    assert_string_equal(text, "\xc3\xa9\xc3\xa9\xe2\x80\xa6");
    free(text);
    text = payload_truncate("a\xff"
                            "b",
                            10); /* invalid byte → U+FFFD */
    assert_string_equal(text, "a\xef\xbf\xbd"
                              "b");
    free(text);
    text = payload_truncate(NULL, 5);
    assert_string_equal(text, "");
    free(text);
}

/* ---- payloads -------------------------------------------------------------------------- */

#define T_INCIDENT "0190f3c2-1a2b-7c3d-8e4f-5a6b7c8d9e0f"
#define T_TENANT   "00000000-0000-0000-0000-000000000001"
#define T_NOTE     "0190f3c2-1a2b-7c3d-8e4f-000000000001"

typedef struct {
    lk_incident_t incident;
    lk_alert_t alerts[2];
    lk_notification_t notification;
    lk_channel_t channel;
    lk_user_t user;
    payload_input_t input;
} s_fixture_t;

static char *s_repeat(const char *unit, size_t times)
{
    size_t length = strlen(unit);
    char *text = malloc(length * times + 1);
    for (size_t i = 0; i < times; i++)
        memcpy(text + i * length, unit, length);
    text[length * times] = '\0';
    return text;
}

static void s_fixture(s_fixture_t *f, lk_channel_type_t type, const char *summary)
{
    memset(f, 0, sizeof *f);
    strcpy(f->incident.id, T_INCIDENT);
    strcpy(f->incident.tenant_id, T_TENANT);
    f->incident.title = strdup("HighCPU (job=node)");
    f->incident.summary = strdup(summary ? summary : "CPU above 90% on node-1");
    f->incident.group_key = strdup("{}:{alertname=\"HighCPU\"}");
    lk_labels_set(&f->incident.group_labels, "alertname", "HighCPU");
    f->incident.severity = LK_SEV_CRITICAL;
    f->incident.status = LK_INCIDENT_TRIGGERED;
    f->incident.alert_count = 2;
    f->incident.firing_count = 2;
    f->incident.created_at_ms = 1795338000123;
    for (int i = 0; i < 2; i++) {
        lk_alert_t *alert = &f->alerts[i];
        strcpy(alert->tenant_id, T_TENANT);
        strcpy(alert->incident_id, T_INCIDENT);
        alert->source = strdup("prometheus");
        alert->name = strdup("HighCPU");
        alert->generator_url = strdup("http://prometheus:9090/graph");
        lk_labels_set(&alert->labels, "alertname", "HighCPU");
        lk_labels_set(&alert->labels, "job", "node");
        lk_labels_set(&alert->labels, "customer_facing", "true");
        lk_labels_set(&alert->labels, "instance", i ? "node-2:9100" : "node-1:9100");
        lk_labels_set(&alert->annotations, "runbook_url", "https://runbooks.example.com/cpu");
    }
    strcpy(f->notification.id, T_NOTE);
    strcpy(f->notification.tenant_id, T_TENANT);
    strcpy(f->notification.incident_id, T_INCIDENT);
    f->notification.policy = strdup("default");
    f->notification.channel = strdup("ops");
    f->notification.target = strdup("alice");
    f->notification.kind = LK_NOTIFY_TRIGGER;
    f->notification.attempt = 1;
    f->notification.idempotency_key = strdup(T_NOTE);
    f->channel.name = "ops";
    f->channel.type = type;
    f->channel.url = "https://receiver.example.com/hook";
    f->channel.secret = "s3cret";
    f->channel.username = "AC123";
    f->channel.from = type == LK_CHANNEL_SMS ? "+15550001111" : "lookout@example.com";
    f->user.name = "alice";
    f->user.email = "alice@example.com";
    f->user.phone = "+31612345678";
    f->user.slack_id = "U123ABC";
    f->user.discord_id = "987654321";
    f->input = (payload_input_t){.notification = &f->notification,
                                 .incident = &f->incident,
                                 .alerts = f->alerts,
                                 .alert_count = 2,
                                 .channel = &f->channel,
                                 .user = &f->user,
                                 .public_url = "https://lookout.example.com",
                                 .now_ms = 1795338060000};
}

static void s_fixture_clear(s_fixture_t *f)
{
    lk_incident_clear(&f->incident);
    lk_alert_clear(&f->alerts[0]);
    lk_alert_clear(&f->alerts[1]);
    lk_notification_clear(&f->notification);
}

static json_t *s_build_json(s_fixture_t *f, payload_t *payload)
{
    char err[256];
    if (payload_build(&f->input, payload, err, sizeof err) != 0)
        fail_msg("payload_build: %s", err);
    json_error_t error;
    json_t *json = json_loadb(payload->body, payload->body_size, 0, &error);
    if (!json)
        fail_msg("not JSON: %s", error.text);
    return json;
}

static const char *s_str(json_t *json, const char *path)
{
    /* path of object keys and array indexes separated by '/' */
    char copy[256];
    snprintf(copy, sizeof copy, "%s", path);
    json_t *node = json;
    for (char *part = strtok(copy, "/"); part && node; part = strtok(NULL, "/"))
        node = json_is_array(node) ? json_array_get(node, (size_t)atoi(part))
                                   : json_object_get(node, part);
    if (!json_is_string(node))
        fail_msg("%s is not a string", path);
    return json_string_value(node);
}

static void test_slack(void **state)
{
    (void)state;
    s_fixture_t f;
    s_fixture(&f, LK_CHANNEL_SLACK, NULL);
    payload_t payload;
    json_t *json = s_build_json(&f, &payload);
    assert_string_equal(payload.content_type, "application/json");
    assert_non_null(strstr(s_str(json, "text"), "<@U123ABC>"));
    assert_non_null(strstr(s_str(json, "text"), "[CRITICAL] HighCPU (job=node)"));
    assert_string_equal(s_str(json, "blocks/0/type"), "header");
    assert_string_equal(s_str(json, "blocks/0/text/text"), "[CRITICAL] HighCPU (job=node)");
    assert_non_null(strstr(s_str(json, "blocks/2/fields/0/text"), "critical"));
    assert_non_null(strstr(s_str(json, "blocks/2/fields/3/text"), "job=node"));
    assert_non_null(strstr(s_str(json, "blocks/3/elements/0/text"),
                           "https://lookout.example.com/incidents/" T_INCIDENT));
    assert_non_null(strstr(s_str(json, "blocks/4/elements/0/text"), "/acknowledge"));
    json_decref(json);
    payload_clear(&payload);
    s_fixture_clear(&f);

    /* a 100 000-character summary: within Slack's 40 000 text and 3 000 block limits */
    char *huge = s_repeat("x<", 50000);
    s_fixture(&f, LK_CHANNEL_SLACK, huge);
    json = s_build_json(&f, &payload);
    assert_true(payload_char_count(s_str(json, "text")) <= PAYLOAD_SLACK_TEXT_MAX);
    assert_true(payload_char_count(s_str(json, "blocks/1/text/text")) <=
                PAYLOAD_SLACK_BLOCK_TEXT_MAX);
    assert_null(strstr(s_str(json, "blocks/1/text/text"), "x<x")); /* escaped as &lt; */
    json_decref(json);
    payload_clear(&payload);
    s_fixture_clear(&f);
    free(huge);
}

static void test_discord(void **state)
{
    (void)state;
    char *huge = s_repeat("\xc3\xa9", 10000); /* é × 10 000 */
    s_fixture_t f;
    s_fixture(&f, LK_CHANNEL_DISCORD, huge);
    payload_t payload;
    json_t *json = s_build_json(&f, &payload);
    assert_non_null(strstr(s_str(json, "content"), "<@987654321>"));
    assert_true(payload_char_count(s_str(json, "content")) <= PAYLOAD_DISCORD_CONTENT_MAX);
    assert_true(payload_char_count(s_str(json, "embeds/0/description")) <=
                PAYLOAD_DISCORD_DESCRIPTION_MAX);
    assert_true(payload_char_count(s_str(json, "embeds/0/title")) <= PAYLOAD_DISCORD_TITLE_MAX);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(json, "embeds"), 0), "color")),
                     0xe01e5a);
    assert_string_equal(s_str(json, "allowed_mentions/users/0"), "987654321");
    assert_string_equal(s_str(json, "embeds/0/url"),
                        "https://lookout.example.com/incidents/" T_INCIDENT);
    json_decref(json);
    payload_clear(&payload);
    s_fixture_clear(&f);
    free(huge);
}

static void test_pagerduty(void **state)
{
    (void)state;
    char *huge = s_repeat("s", 5000);
    s_fixture_t f;
    s_fixture(&f, LK_CHANNEL_PAGERDUTY, huge);
    f.input.user = NULL;
    payload_t payload;
    json_t *json = s_build_json(&f, &payload);
    assert_string_equal(s_str(json, "routing_key"), "s3cret");
    assert_string_equal(s_str(json, "event_action"), "trigger");
    assert_string_equal(s_str(json, "dedup_key"), T_INCIDENT);
    assert_string_equal(s_str(json, "payload/severity"), "critical");
    assert_string_equal(s_str(json, "payload/source"), "node-1:9100");
    assert_int_equal(payload_char_count(s_str(json, "payload/summary")),
                     PAYLOAD_PAGERDUTY_SUMMARY_MAX);
    assert_string_equal(s_str(json, "payload/custom_details/labels/job"), "node");
    assert_string_equal(s_str(json, "links/0/href"),
                        "https://lookout.example.com/incidents/" T_INCIDENT);
    json_decref(json);
    payload_clear(&payload);
    /* resolve and acknowledge carry only what PagerDuty needs */
    f.notification.kind = LK_NOTIFY_RESOLVE;
    json = s_build_json(&f, &payload);
    assert_string_equal(s_str(json, "event_action"), "resolve");
    assert_string_equal(s_str(json, "dedup_key"), T_INCIDENT);
    assert_null(json_object_get(json, "payload"));
    json_decref(json);
    payload_clear(&payload);
    f.notification.kind = LK_NOTIFY_ACKNOWLEDGE;
    json = s_build_json(&f, &payload);
    assert_string_equal(s_str(json, "event_action"), "acknowledge");
    json_decref(json);
    payload_clear(&payload);
    s_fixture_clear(&f);
    free(huge);
}

/*  Decodes base64 (lines joined) into a malloc'd string. */
static char *s_unbase64(const char *text, size_t length)
{
    unsigned char *out = malloc(length + 1);
    int decoded = EVP_DecodeBlock(out, (const unsigned char *)text, (int)length);
    assert_true(decoded >= 0);
    while (length > 0 && text[length - 1] == '=') {
        decoded--;
        length--;
    }
    out[decoded] = '\0';
    return (char *)out;
}

/*  The body of the MIME part with this content type, decoded. */
static char *s_mime_part(const char *message, const char *type)
{
    char marker[128];
    snprintf(marker, sizeof marker, "Content-Type: %s; charset=utf-8\r\n", type);
    const char *part = strstr(message, marker);
    assert_non_null(part);
    const char *start = strstr(part, "\r\n\r\n");
    assert_non_null(start);
    start += 4;
    const char *end = strstr(start, "--lookout-");
    assert_non_null(end);
    char *joined = malloc((size_t)(end - start) + 1);
    size_t length = 0;
    for (const char *c = start; c < end; c++)
        if (*c != '\r' && *c != '\n')
            joined[length++] = *c;
    char *decoded = s_unbase64(joined, length);
    free(joined);
    return decoded;
}

static void test_email(void **state)
{
    (void)state;
    s_fixture_t f;
    s_fixture(&f, LK_CHANNEL_EMAIL, "Disk <full> & \xe2\x9c\x93 done");
    free(f.incident.title);
    f.incident.title = strdup("Caf\xc3\xa9 down \xf0\x9f\x9a\xa8");
    payload_t payload;
    char err[256];
    assert_int_equal(payload_build(&f.input, &payload, err, sizeof err), 0);
    assert_int_equal(payload.rcpt_count, 1);
    assert_string_equal(payload.rcpt[0], "alice@example.com");
    const char *message = payload.body;
    assert_non_null(strstr(message, "From: lookout@example.com\r\n"));
    assert_non_null(strstr(message, "To: alice@example.com\r\n"));
    assert_non_null(strstr(message, "Subject: =?UTF-8?B?"));
    assert_non_null(strstr(message, "Message-ID: <" T_NOTE "@lookout>\r\n"));
    assert_non_null(strstr(message, "Content-Type: multipart/alternative; boundary=\"lookout-"));
    char *plain = s_mime_part(message, "text/plain");
    assert_non_null(strstr(plain, "[CRITICAL] Caf\xc3\xa9 down \xf0\x9f\x9a\xa8"));
    assert_non_null(strstr(plain, "Disk <full> & \xe2\x9c\x93 done"));
    assert_non_null(strstr(plain, "Labels: "));
    assert_non_null(strstr(plain, "Runbook: https://runbooks.example.com/cpu"));
    char *html = s_mime_part(message, "text/html");
    assert_non_null(strstr(html, "Disk &lt;full&gt; &amp; \xe2\x9c\x93 done"));
    assert_non_null(strstr(html, "<a href=\"https://lookout.example.com/incidents/"));
    free(plain);
    free(html);
    /* no header line may be longer than 998 characters (RFC 5322) */
    for (const char *line = message; *line;) {
        const char *end = strstr(line, "\r\n");
        assert_non_null(end);
        assert_true(end - line <= 998);
        line = end + 2;
    }
    payload_clear(&payload);
    /* a user without an address cannot be mailed */
    f.user.email = NULL;
    assert_int_equal(payload_build(&f.input, &payload, err, sizeof err), -1);
    assert_non_null(strstr(err, "no email"));
    s_fixture_clear(&f);
}

static void test_sms(void **state)
{
    (void)state;
    char *huge = s_repeat("word ", 1000);
    s_fixture_t f;
    s_fixture(&f, LK_CHANNEL_SMS, huge);
    payload_t payload;
    char err[256];
    assert_int_equal(payload_build(&f.input, &payload, err, sizeof err), 0);
    assert_int_equal(payload.rcpt_count, 1);
    assert_string_equal(payload.rcpt[0], "+31612345678");
    assert_string_equal(payload.content_type, "application/x-www-form-urlencoded");
    assert_true(strncmp(payload.body, "From=%2B15550001111&Body=", 25) == 0);
    /* decode the body and count its characters */
    const char *encoded = payload.body + 25;
    char *body = malloc(strlen(encoded) + 1);
    size_t length = 0;
    for (const char *c = encoded; *c; c++) {
        if (*c == '+')
            body[length++] = ' ';
        else if (*c == '%') {
            unsigned value;
            sscanf(c + 1, "%2x", &value);
            body[length++] = (char)value;
            c += 2;
        } else
            body[length++] = *c;
    }
    body[length] = '\0';
    assert_true(payload_char_count(body) <= PAYLOAD_TWILIO_BODY_MAX);
    assert_non_null(strstr(body, "[CRITICAL] HighCPU"));
    free(body);
    payload_clear(&payload);
    s_fixture_clear(&f);
    free(huge);
}

static void test_webhook_signature(void **state)
{
    (void)state;
    s_fixture_t f;
    s_fixture(&f, LK_CHANNEL_WEBHOOK, NULL);
    payload_t payload;
    json_t *json = s_build_json(&f, &payload);
    assert_string_equal(s_str(json, "event"), "incident.triggered");
    assert_string_equal(s_str(json, "delivery_id"), T_NOTE);
    assert_string_equal(s_str(json, "incident/id"), T_INCIDENT);
    assert_string_equal(s_str(json, "alerts/1/labels/instance"), "node-2:9100");
    json_decref(json);
    const char *timestamp = NULL, *signature = NULL;
    for (size_t i = 0; i < payload.header_count; i++) {
        if (!strncmp(payload.headers[i], "X-Lookout-Timestamp: ", 21))
            timestamp = payload.headers[i] + 21;
        if (!strncmp(payload.headers[i], "X-Lookout-Signature: ", 21))
            signature = payload.headers[i] + 21;
    }
    assert_non_null(timestamp);
    assert_non_null(signature);
    assert_string_equal(timestamp, "1795338060");
    /* recompute independently: HMAC-SHA256(secret, timestamp "." body) */
    size_t signed_size = strlen(timestamp) + 1 + payload.body_size;
    char *signed_text = malloc(signed_size + 1);
    snprintf(signed_text, signed_size + 1, "%s.%s", timestamp, payload.body);
    unsigned char digest[32];
    unsigned int digest_size = 0;
    HMAC(EVP_sha256(), "s3cret", 6, (unsigned char *)signed_text, signed_size, digest,
         &digest_size);
    char expected[80] = "v1=";
    for (unsigned int i = 0; i < digest_size; i++)
        snprintf(expected + 3 + 2 * i, 3, "%02x", digest[i]);
    assert_string_equal(signature, expected);
    free(signed_text);
    payload_clear(&payload);
    s_fixture_clear(&f);
}

static void test_deckhand(void **state)
{
    (void)state;
    s_fixture_t f;
    s_fixture(&f, LK_CHANNEL_DECKHAND, NULL);
    f.input.user = NULL;
    payload_t payload;
    json_t *json = s_build_json(&f, &payload);
    assert_string_equal(s_str(json, "external_id"), T_INCIDENT);
    assert_string_equal(s_str(json, "event"), "opened");
    assert_string_equal(s_str(json, "priority"), "urgent");
    assert_true(json_is_true(json_object_get(json, "customer_facing")));
    assert_string_equal(s_str(json, "labels/customer_facing"), "true");
    bool authorised = false, keyed = false;
    for (size_t i = 0; i < payload.header_count; i++) {
        authorised |= !strcmp(payload.headers[i], "Authorization: Bearer s3cret");
        keyed |= !strcmp(payload.headers[i], "Idempotency-Key: " T_NOTE);
    }
    assert_true(authorised && keyed);
    json_decref(json);
    payload_clear(&payload);
    s_fixture_clear(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parse),
        cmocka_unit_test(test_address_classes),
        cmocka_unit_test(test_resolve_pins),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_truncate),
        cmocka_unit_test(test_slack),
        cmocka_unit_test(test_discord),
        cmocka_unit_test(test_pagerduty),
        cmocka_unit_test(test_email),
        cmocka_unit_test(test_sms),
        cmocka_unit_test(test_webhook_signature),
        cmocka_unit_test(test_deckhand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
