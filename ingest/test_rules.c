/*  test_rules — lookout-rules: response parsing, templates, the alert state machine,
    delivery to correlate (over a ROUTER the test answers), and end to end against a real
    Prometheus scraping a target served by this test, delivering into the real correlate and
    store in-process.

    The end-to-end group starts `prometheus` (found on PATH, or named by LOOKOUT_PROMETHEUS)
    on a free port with a temporary data directory, and fails when it cannot.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <czmq.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "correlate.h"
#include "lk_config.h"
#include "lk_log.h"
#include "lk_sock.h"
#include "lk_time.h"
#include "rules.h"
#include "store.h"

#define OTHER_TENANT "5b9a3c1e-0000-4000-8000-00000000000a"

/* ---- helpers --------------------------------------------------------------------------- */

static lk_config_t *s_config(const char *text)
{
    char err[512] = "";
    lk_config_t *config = NULL;
    if (lk_config_load_string("test.yaml", text, strlen(text), &config, err, sizeof err) != 0)
        print_error("config: %s\n", err);
    assert_non_null(config);
    return config;
}

static void s_sample(rules_result_t *result, double value, ...)
{
    rules_sample_t *grown = realloc(result->samples, (result->count + 1) * sizeof *grown);
    assert_non_null(grown);
    result->samples = grown;
    rules_sample_t *sample = &result->samples[result->count++];
    memset(sample, 0, sizeof *sample);
    sample->value = value;
    va_list args;
    va_start(args, value);
    const char *name;
    while ((name = va_arg(args, const char *))) {
        const char *label_value = va_arg(args, const char *);
        assert_int_equal(lk_labels_set(&sample->labels, name, label_value), 0);
    }
    va_end(args);
}

static char *s_temp_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char *path = malloc(512);
    snprintf(path, 512, "%s/lookout-rules-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(path));
    return path;
}

static void s_write_file(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}

static void s_remove_tree(const char *path)
{
    /* only ever our own mkdtemp directories */
    char command[1024];
    snprintf(command, sizeof command, "rm -rf '%s'", path);
    assert_int_equal(system(command), 0);
}

/* ---- response parsing ------------------------------------------------------------------ */

static void test_parse_vector(void **state)
{
    const char *body = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
                       "{\"metric\":{\"__name__\":\"up\",\"instance\":\"db1:9100\","
                       "\"job\":\"node\"},\"value\":[1732262400.123,\"0\"]},"
                       "{\"metric\":{},\"value\":[1732262400.123,\"NaN\"]},"
                       "{\"metric\":{\"a\":\"b\"},\"value\":[1732262400,\"+Inf\"]}]},"
                       "\"warnings\":[\"ignored\"]}";
    rules_result_t result;
    char err[256] = "";
    assert_int_equal(rules_parse_response(body, strlen(body), &result, err, sizeof err), 0);
    assert_int_equal(result.count, 3);
    assert_int_equal(result.samples[0].labels.count, 3);
    assert_string_equal(lk_labels_get(&result.samples[0].labels, "__name__"), "up");
    assert_string_equal(lk_labels_get(&result.samples[0].labels, "instance"), "db1:9100");
    assert_true(result.samples[0].value == 0);
    assert_int_equal(result.samples[1].labels.count, 0);
    assert_true(isnan(result.samples[1].value));
    assert_true(isinf(result.samples[2].value) && result.samples[2].value > 0);
    rules_result_clear(&result);
    assert_int_equal(result.count, 0);

    const char *empty = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
                        "\"result\":[]}}";
    assert_int_equal(rules_parse_response(empty, strlen(empty), &result, err, sizeof err), 0);
    assert_int_equal(result.count, 0);
    rules_result_clear(&result);
}

static void test_parse_scalar(void **state)
{
    const char *body = "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
                       "\"result\":[1732262400.5,\"42.5\"]}}";
    rules_result_t result;
    char err[256] = "";
    assert_int_equal(rules_parse_response(body, strlen(body), &result, err, sizeof err), 0);
    assert_int_equal(result.count, 1);
    assert_int_equal(result.samples[0].labels.count, 0);
    assert_true(result.samples[0].value == 42.5);
    rules_result_clear(&result);
}

static void s_expect_parse_error(const char *body, const char *expected)
{
    rules_result_t result;
    char err[256] = "";
    int rc = rules_parse_response(body, body ? strlen(body) : 0, &result, err, sizeof err);
    if (rc == 0 || strncmp(err, expected, strlen(expected)) != 0)
        print_error("body %s\nexpected: %s\nactual:   %s\n", body, expected, err);
    assert_int_equal(rc, -1);
    assert_int_equal(result.count, 0);
    assert_null(result.samples);
    assert_memory_equal(err, expected, strlen(expected));
}

static void test_parse_errors(void **state)
{
    s_expect_parse_error("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"1:6: parse "
                         "error: unclosed left parenthesis\"}",
                         "bad_data: 1:6: parse error: unclosed left parenthesis");
    s_expect_parse_error("{\"status\":\"error\"}", "error: (no message)");
    s_expect_parse_error("not json", "response is not JSON: line 1, column ");
    s_expect_parse_error("", "response is not JSON");
    s_expect_parse_error(NULL, "response is not JSON");
    s_expect_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\"",
                         "response is not JSON");
    s_expect_parse_error("[]", "response has no \"status\"");
    s_expect_parse_error("{\"status\":7}", "response has no \"status\"");
    s_expect_parse_error("{\"status\":\"maybe\"}", "unknown status \"maybe\"");
    s_expect_parse_error("{\"status\":\"success\"}", "response has no data.resultType");
    s_expect_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\","
                         "\"result\":[]}}",
                         "the query gives a matrix, an alert rule needs an instant vector");
    s_expect_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"string\","
                         "\"result\":[1,\"x\"]}}",
                         "the query gives a string, an alert rule needs an instant vector");
    s_expect_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
                         "\"result\":{}}}",
                         "data.result: expected an array");
    s_expect_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
                         "\"result\":[{\"metric\":{},\"value\":[1,\"abc\"]}]}}",
                         "data.result[0].value: 'abc' is not a number");
    s_expect_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
                         "\"result\":[{\"metric\":{},\"value\":[1,2]}]}}",
                         "data.result[0].value: expected [time, \"value\"]");
    s_expect_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
                         "\"result\":[{\"metric\":{\"a\":1},\"value\":[1,\"2\"]}]}}",
                         "data.result[0].metric.a: expected a string");
    s_expect_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
                         "\"result\":[{\"value\":[1,\"2\"]}]}}",
                         "data.result[0]: expected {\"metric\": {...}, \"value\": [...]}");
    s_expect_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
                         "\"result\":\"1\"}}",
                         "data.result: expected [time, \"value\"]");
}

/* ---- templates ------------------------------------------------------------------------- */

static void test_template_expansion(void **state)
{
    lk_labels_t labels = {0};
    lk_labels_set(&labels, "__name__", "up");
    lk_labels_set(&labels, "instance", "db1:9100");
    lk_labels_set(&labels, "job", "node");
    lk_labels_set(&labels, "bytes", "1073741824");
    const struct {
        const char *text;
        const char *expected;
    } cases[] = {
        {"plain text, {single} braces", "plain text, {single} braces"},
        {"", ""},
        {"{{ $labels.instance }} is down", "db1:9100 is down"},
        {"{{$labels.job}}/{{ .Labels.job }}", "node/node"},
        {"{{ $labels.missing }}", ""},
        {"{{ index $labels \"job\" }}", "node"},
        {"{{ $value }}", "93.33333333333333"},
        {"{{ .Value }}", "93.33333333333333"},
        {"{{ $labels }}", "map[__name__:up bytes:1073741824 instance:db1:9100 job:node]"},
        {"{{ $value | humanize }}", "93.33"},
        {"{{ humanize 1234567 }}", "1.235M"},
        {"{{ humanize 0.0012 }}", "1.2m"},
        {"{{ humanize 0 }}", "0"},
        {"{{ $labels.bytes | humanize1024 }}", "1Gi"},
        {"{{ 0.1234 | humanizePercentage }}", "12.34%"},
        {"{{ humanizeDuration 3661 }}", "1h 1m 1s"},
        {"{{ humanizeDuration 90061 }}", "1d 1h 1m 1s"},
        {"{{ humanizeDuration 0.25 }}", "250ms"},
        {"{{ humanizeDuration 1.5 }}", "1.5s"},
        {"{{ printf \"%.1f\" $value }}%", "93.3%"},
        {"{{ $value | printf \"%.2f\" }}", "93.33"},
        {"{{ printf \"%5.1f|%-6s|%d|%%|%v\" $value \"ab\" 42.9 $labels.job }}",
         " 93.3|ab    |42|%|node"},
        {"{{ printf \"%10s|%g|%.3e\" $labels.job $value 1234.5 }}",
         "      node|93.33333333333333|1.234e+03"},
        {"{{ $labels.job | toUpper }} {{ toLower \"ABC\" }} {{ title \"hello big world\" }}",
         "NODE abc Hello Big World"},
        {"a  {{- $labels.job -}}  b", "anodeb"},
        {"a {{/* a comment */}}b", "a b"},
        {"{{ \"}}\" }}", "}}"},
        {"{{ `raw \\n` }}", "raw \\n"},
        {"{{ \"tab\\tquote\\\"\" }}", "tab\tquote\""},
        {"{{ (index $labels \"job\") | toUpper }}", "NODE"},
        {"{{ humanize (printf \"%.0f\" 2048) }}", "2.048k"},
        {"{{ 3 }} {{ -1.5 }}", "3 -1.5"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char err[256] = "";
        char *expanded =
            rules_expand_template(cases[i].text, &labels, 93.33333333333333, err, sizeof err);
        if (!expanded || strcmp(expanded, cases[i].expected) != 0)
            print_error("template %s\nexpected: %s\nactual:   %s (%s)\n", cases[i].text,
                        cases[i].expected, expanded ? expanded : "NULL", err);
        assert_non_null(expanded);
        assert_string_equal(expanded, cases[i].expected);
        free(expanded);
        assert_int_equal(rules_check_template(cases[i].text, err, sizeof err), 0);
    }
    /* a data-dependent failure: an error at expansion, fine at check time */
    char err[256] = "";
    assert_null(
        rules_expand_template("{{ humanize $labels.instance }}", &labels, 1, err, sizeof err));
    assert_string_equal(err, "humanize: cannot convert \"db1:9100\" to a number");
    assert_int_equal(rules_check_template("{{ humanize $labels.instance }}", err, sizeof err), 0);
    lk_labels_clear(&labels);
}

static void test_template_errors(void **state)
{
    const struct {
        const char *text;
        const char *expected;
    } cases[] = {
        {"{{ humanise $value }}", "unknown function 'humanise'"},
        {"{{ $labels.job", "unclosed action (missing '}}')"},
        {"{{ \"}} }}", "unclosed action (missing '}}')"},
        {"{{ if $value }}x{{ end }}", "'if' is not supported"},
        {"{{ range $labels }}{{ end }}", "'range' is not supported"},
        {"{{ $foo }}", "unknown variable $foo (supported: $labels, $value)"},
        {"{{ .Foo }}", "unknown field .Foo (supported: .Labels, .Value)"},
        {"{{ }}", "missing value"},
        {"{{ $value $value }}", "unexpected '$' after a value (only functions take arguments)"},
        {"{{ $value | $value }}", "only a function can follow '|'"},
        {"{{ printf \"%q\" $value }}", "printf: unsupported verb %q"},
        {"{{ printf \"%d %d\" 1 }}", "printf: missing argument for %d"},
        {"{{ printf \"%d\" 1 2 }}", "printf: 1 arguments left over"},
        {"{{ printf \"%100f\" 1 }}", "printf: width or precision above 99"},
        {"{{ printf \"%\" 1 }}", "printf: format ends in the middle of a verb"},
        {"{{ printf 5 }}", "printf: the first argument must be a format string"},
        {"{{ humanize }}", "humanize: expected 1 argument, got 0"},
        {"{{ humanize $labels }}", "humanize: expected a number, got the label map"},
        {"{{ $labels.a.b }}", "a label has no fields"},
        {"{{ (humanize 1 }}", "missing ')'"},
        {"{{ \"\\x\" }}", "unsupported escape \\x in a string"},
        {"{{ 1 ) }}", "unexpected ')'"},
        {"{{ index $labels }}", "index: expected index $labels \"name\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char err[256] = "";
        int rc = rules_check_template(cases[i].text, err, sizeof err);
        if (rc == 0 || strcmp(err, cases[i].expected) != 0)
            print_error("template %s\nexpected: %s\nactual:   %s\n", cases[i].text,
                        cases[i].expected, rc == 0 ? "(accepted)" : err);
        assert_int_equal(rc, -1);
        assert_string_equal(err, cases[i].expected);
    }
    /* the expansion limit */
    char *big = malloc(RULES_EXPANSION_MAX + 2);
    memset(big, 'x', RULES_EXPANSION_MAX + 1);
    big[RULES_EXPANSION_MAX + 1] = '\0';
    char err[256] = "";
    assert_null(rules_expand_template(big, NULL, 0, err, sizeof err));
    assert_string_equal(err, "expansion longer than 16384 bytes");
    free(big);
}

static void test_value_format(void **state)
{
    const struct {
        double value;
        const char *expected;
    } cases[] = {
        {0, "0"},           {1, "1"},           {-2, "-2"},
        {1.5, "1.5"},       {0.1, "0.1"},       {100, "100"},
        {123456, "123456"}, {1e6, "1e+06"},     {1234567, "1.234567e+06"},
        {0.0001, "0.0001"}, {0.00001, "1e-05"}, {93.33333333333333, "93.33333333333333"},
        {NAN, "NaN"},       {INFINITY, "+Inf"}, {-INFINITY, "-Inf"},
        {1e21, "1e+21"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[64];
        rules_format_value(cases[i].value, text, sizeof text);
        assert_string_equal(text, cases[i].expected);
    }
}

/* ---- the state machine ----------------------------------------------------------------- */

static const char *s_latency_rule = "rules:\n"
                                    "  - name: HighLatency\n"
                                    "    query: latency > 1\n"
                                    "    duration: 2s\n"
                                    "    labels:\n"
                                    "      team: '{{ $labels.job }}-team'\n"
                                    "    annotations:\n"
                                    "      summary: '{{ $labels.instance }} at {{ $value }}'\n"
                                    "  - name: Instant\n"
                                    "    query: vector(1)\n"
                                    "    severity: critical\n";

static void test_pending_then_firing_then_resolved(void **state)
{
    lk_config_t *config = s_config(s_latency_rule);
    const lk_rule_t *rule = &config->rules[0];
    rules_alerts_t alerts = {0};
    rules_result_t result = {0};
    char err[256] = "";
    s_sample(&result, 3, "__name__", "latency", "instance", "a", "job", "api", "team", "x", NULL);

    assert_int_equal(rules_step(&alerts, rule, &result, 10000, err, sizeof err), 0);
    assert_int_equal(alerts.count, 1);
    rules_alert_t *alert = &alerts.alerts[0];
    assert_int_equal(alert->state, RULES_PENDING);
    assert_int_equal(alert->active_at_ms, 10000);
    assert_int_equal(alert->change, 0); /* nothing to tell correlate yet */
    /* series labels without __name__, the rule's labels winning, alertname, severity */
    assert_int_equal(alert->labels.count, 5);
    assert_null(lk_labels_get(&alert->labels, "__name__"));
    assert_string_equal(lk_labels_get(&alert->labels, "alertname"), "HighLatency");
    assert_string_equal(lk_labels_get(&alert->labels, "instance"), "a");
    assert_string_equal(lk_labels_get(&alert->labels, "team"), "api-team");
    assert_string_equal(lk_labels_get(&alert->labels, "severity"), "warning");
    assert_string_equal(lk_labels_get(&alert->annotations, "summary"), "a at 3");
    assert_ptr_equal(rules_alerts_find(&alerts, &alert->labels), alert);

    /* still pending before the duration; value and annotations follow the data */
    result.samples[0].value = 4;
    assert_int_equal(rules_step(&alerts, rule, &result, 11999, err, sizeof err), 0);
    alert = &alerts.alerts[0];
    assert_int_equal(alert->state, RULES_PENDING);
    assert_string_equal(lk_labels_get(&alert->annotations, "summary"), "a at 4");
    assert_true(alert->value == 4);

    /* continuously present for the duration: firing */
    assert_int_equal(rules_step(&alerts, rule, &result, 12000, err, sizeof err), 0);
    alert = &alerts.alerts[0];
    assert_int_equal(alert->state, RULES_FIRING);
    assert_int_equal(alert->fired_at_ms, 12000);
    assert_int_equal(alert->change, 1);
    assert_int_equal(alert->active_at_ms, 10000);

    /* firing stays firing without a new change */
    assert_int_equal(rules_step(&alerts, rule, &result, 13000, err, sizeof err), 0);
    assert_int_equal(alerts.alerts[0].change, 1);

    /* absent: resolved at that evaluation */
    rules_result_t none = {0};
    assert_int_equal(rules_step(&alerts, rule, &none, 14000, err, sizeof err), 0);
    assert_int_equal(alerts.count, 1);
    alert = &alerts.alerts[0];
    assert_int_equal(alert->state, RULES_RESOLVED);
    assert_int_equal(alert->resolved_at_ms, 14000);
    assert_int_equal(alert->fired_at_ms, 12000);
    assert_int_equal(alert->change, 2);
    /* a resolved alert stays until its resolve is delivered */
    assert_int_equal(rules_step(&alerts, rule, &none, 15000, err, sizeof err), 0);
    assert_int_equal(alerts.count, 1);

    /* a pending alert that goes away before firing is forgotten */
    rules_result_t other = {0};
    s_sample(&other, 5, "instance", "b", "job", "api", NULL);
    assert_int_equal(rules_step(&alerts, rule, &other, 16000, err, sizeof err), 0);
    assert_int_equal(alerts.count, 2);
    assert_int_equal(rules_step(&alerts, rule, &none, 17000, err, sizeof err), 0);
    assert_int_equal(alerts.count, 1);
    assert_int_equal(alerts.alerts[0].state, RULES_RESOLVED);

    rules_alerts_clear(&alerts);
    rules_result_clear(&result);
    rules_result_clear(&other);
    lk_config_destroy(&config);
}

static void test_zero_duration_and_refire(void **state)
{
    lk_config_t *config = s_config(s_latency_rule);
    const lk_rule_t *rule = &config->rules[1];
    rules_alerts_t alerts = {0};
    rules_result_t result = {0}, none = {0};
    char err[256] = "";
    s_sample(&result, 1, NULL);
    /* duration 0: firing at the first evaluation */
    assert_int_equal(rules_step(&alerts, rule, &result, 1000, err, sizeof err), 0);
    assert_int_equal(alerts.count, 1);
    assert_int_equal(alerts.alerts[0].state, RULES_FIRING);
    assert_int_equal(alerts.alerts[0].fired_at_ms, 1000);
    assert_string_equal(lk_labels_get(&alerts.alerts[0].labels, "severity"), "critical");
    assert_int_equal(alerts.alerts[0].labels.count, 2);

    /* resolved, and back before the resolve was delivered: the resolve is still owed */
    assert_int_equal(rules_step(&alerts, rule, &none, 2000, err, sizeof err), 0);
    assert_int_equal(alerts.alerts[0].state, RULES_RESOLVED);
    config->rules[1].duration_ms = 5000; /* so that it comes back as pending */
    assert_int_equal(rules_step(&alerts, rule, &result, 3000, err, sizeof err), 0);
    rules_alert_t *alert = &alerts.alerts[0];
    assert_int_equal(alert->state, RULES_PENDING);
    assert_true(alert->resolve_owed);
    assert_int_equal(alert->owed_starts_at_ms, 1000);
    assert_int_equal(alert->owed_ends_at_ms, 2000);
    assert_int_equal(alert->active_at_ms, 3000);
    /* gone again before firing: it becomes the owed resolve */
    assert_int_equal(rules_step(&alerts, rule, &none, 4000, err, sizeof err), 0);
    alert = &alerts.alerts[0];
    assert_int_equal(alert->state, RULES_RESOLVED);
    assert_int_equal(alert->fired_at_ms, 1000);
    assert_int_equal(alert->resolved_at_ms, 2000);
    assert_false(alert->resolve_owed);

    /* back, and firing after its duration: the firing supersedes the owed resolve */
    assert_int_equal(rules_step(&alerts, rule, &result, 5000, err, sizeof err), 0);
    assert_true(alerts.alerts[0].resolve_owed);
    assert_int_equal(rules_step(&alerts, rule, &result, 10000, err, sizeof err), 0);
    alert = &alerts.alerts[0];
    assert_int_equal(alert->state, RULES_FIRING);
    assert_int_equal(alert->fired_at_ms, 10000);
    assert_false(alert->resolve_owed);

    rules_alerts_clear(&alerts);
    rules_result_clear(&result);
    lk_config_destroy(&config);
}

static void test_duplicate_label_sets(void **state)
{
    lk_config_t *config = s_config(s_latency_rule);
    rules_alerts_t alerts = {0};
    rules_result_t result = {0};
    char err[256] = "";
    s_sample(&result, 1, "__name__", "a", "instance", "x", NULL);
    assert_int_equal(rules_step(&alerts, &config->rules[0], &result, 1000, err, sizeof err), 0);
    s_sample(&result, 2, "__name__", "b", "instance", "x", NULL);
    assert_int_equal(rules_step(&alerts, &config->rules[0], &result, 2000, err, sizeof err), -1);
    assert_string_equal(err, "the result has series with the same labels after the rule's labels "
                             "were applied");
    /* unchanged by the failed evaluation */
    assert_int_equal(alerts.count, 1);
    assert_int_equal(alerts.alerts[0].active_at_ms, 1000);
    rules_alerts_clear(&alerts);
    rules_result_clear(&result);
    lk_config_destroy(&config);
}

static void test_engine_rejects_bad_templates(void **state)
{
    rules_engine_t *engine = rules_engine_new(NULL, 1000);
    lk_config_t *config = s_config("rules_settings: {query_url: 'http://127.0.0.1:1'}\n"
                                   "rules:\n"
                                   "  - name: a\n"
                                   "    query: up\n"
                                   "  - name: b\n"
                                   "    query: up\n"
                                   "    annotations:\n"
                                   "      summary: '{{ humanise $value }}'\n");
    char err[512] = "";
    assert_int_equal(rules_engine_set_config(engine, &config, err, sizeof err), -1);
    assert_string_equal(err, "test.yaml:5:5: rules[1].annotations.summary: unknown function "
                             "'humanise'");
    assert_non_null(config); /* still the caller's */
    lk_config_destroy(&config);

    config = s_config("rules: [{name: a, query: up}]\n");
    assert_int_equal(rules_engine_set_config(engine, &config, err, sizeof err), -1);
    assert_string_equal(err, "test.yaml: rules need rules_settings.query_url (or "
                             "LOOKOUT_RULES_QUERY_URL)");
    lk_config_destroy(&config);
    rules_engine_destroy(&engine);

    /* the environment's URL stands in */
    engine = rules_engine_new("http://127.0.0.1:9/", 1000);
    config = s_config("rules: [{name: a, query: up}]\n");
    assert_int_equal(rules_engine_set_config(engine, &config, err, sizeof err), 0);
    assert_null(config);
    assert_int_equal(rules_engine_rule_count(engine), 1);
    rules_engine_destroy(&engine);
    assert_null(engine);
}

/* ---- delivery, against a ROUTER the test answers --------------------------------------- */

typedef struct {
    zsock_t *router;
    zsock_t *dealer;
    rules_engine_t *engine;
} s_delivery_t;

/* Receives one alert_batch at the ROUTER (waiting up to a second). */
static void s_receive_batch(s_delivery_t *d, zframe_t **identity, lk_msg_t *batch)
{
    zpoller_t *poller = zpoller_new(d->router, NULL);
    assert_ptr_equal(zpoller_wait(poller, 1000), d->router);
    zpoller_destroy(&poller);
    assert_int_equal(lk_sock_recv(d->router, identity, batch, NULL, NULL), 0);
    assert_int_equal(batch->type, LK_MSG_ALERT_BATCH);
}

/* Answers batch with status; the engine takes the reply. */
static void s_answer(s_delivery_t *d, zframe_t *identity, const lk_msg_t *batch, lk_status_t status,
                     int64_t now_ms)
{
    lk_msg_t reply;
    lk_msg_init(&reply, LK_MSG_ALERT_REPLY);
    reply.req = batch->req;
    snprintf(reply.tenant_id, sizeof reply.tenant_id, "%s", batch->tenant_id);
    reply.status = status;
    if (status != LK_STATUS_OK)
        reply.error = strdup("store did not answer");
    for (size_t i = 0; status == LK_STATUS_OK && i < batch->alert_count; i++) {
        lk_alert_result_t result = {.outcome = LK_OUTCOME_NEW};
        snprintf(result.fingerprint, sizeof result.fingerprint, "%016x", (unsigned)i);
        lk_msg_add_result(&reply, &result);
    }
    assert_int_equal(lk_sock_send(d->router, identity, &reply, NULL, NULL), 0);
    lk_msg_clear(&reply);
    lk_msg_t received;
    zpoller_t *poller = zpoller_new(d->dealer, NULL);
    assert_ptr_equal(zpoller_wait(poller, 1000), d->dealer);
    zpoller_destroy(&poller);
    assert_int_equal(lk_sock_recv(d->dealer, NULL, &received, NULL, NULL), 0);
    rules_engine_handle_reply(d->engine, &received, now_ms);
    lk_msg_clear(&received);
}

static void s_assert_no_batch(s_delivery_t *d)
{
    zpoller_t *poller = zpoller_new(d->router, NULL);
    assert_null(zpoller_wait(poller, 50));
    zpoller_destroy(&poller);
}

static const char *s_delivery_rules = "rules_settings:\n"
                                      "  query_url: http://127.0.0.1:1\n"
                                      "  resend_interval: 1m\n"
                                      "rules:\n"
                                      "  - name: DiskFull\n"
                                      "    query: disk_used > 0.9\n"
                                      "    severity: error\n"
                                      "    annotations: {summary: '{{ $labels.device }} full'}\n"
                                      "  - name: DiskFull\n"
                                      "    query: disk_used > 0.9\n"
                                      "    tenant: " OTHER_TENANT "\n";

static void test_delivery(void **state)
{
    s_delivery_t d;
    d.router = lk_sock_new(ZMQ_ROUTER, "@inproc://rules-test-delivery");
    d.dealer = lk_sock_new(ZMQ_DEALER, ">inproc://rules-test-delivery");
    assert_non_null(d.router);
    assert_non_null(d.dealer);
    d.engine = rules_engine_new(NULL, 200);
    lk_config_t *config = s_config(s_delivery_rules);
    char err[512] = "";
    assert_int_equal(rules_engine_set_config(d.engine, &config, err, sizeof err), 0);
    const lk_config_t *installed = rules_engine_config(d.engine);
    assert_int_equal(rules_engine_rule_count(d.engine), 2);

    /* both rules fire (duration 0), one alert each */
    rules_result_t result = {0};
    s_sample(&result, 0.95, "__name__", "disk_used", "device", "sda", NULL);
    int64_t now = 1700000000000;
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(rules_step(rules_engine_alerts(d.engine, i), &installed->rules[i], &result,
                                    now, err, sizeof err),
                         0);
    int64_t mono = 1000000;
    assert_int_equal(rules_engine_deliver(d.engine, d.dealer, NULL, now, mono), 2);
    assert_int_equal(rules_engine_in_flight(d.engine), 2);

    zframe_t *identity = NULL;
    lk_msg_t first, second;
    s_receive_batch(&d, &identity, &first);
    zframe_t *identity2 = NULL;
    s_receive_batch(&d, &identity2, &second);
    zframe_destroy(&identity2);
    assert_string_equal(first.tenant_id, LK_SYSTEM_TENANT);
    assert_string_equal(second.tenant_id, OTHER_TENANT);
    assert_int_equal(first.alert_count, 1);
    const lk_alert_t *alert = &first.alerts[0];
    assert_string_equal(alert->source, "rules");
    assert_string_equal(alert->name, "DiskFull");
    assert_string_equal(alert->query, "disk_used > 0.9");
    assert_string_equal(alert->generator_url,
                        "http://127.0.0.1:1/graph?g0.expr=disk_used%20%3E%200.9&g0.tab=1");
    assert_int_equal(alert->status, LK_ALERT_FIRING);
    assert_int_equal(alert->severity, LK_SEV_ERROR);
    assert_int_equal(alert->starts_at_ms, now);
    assert_int_equal(alert->ends_at_ms, 0);
    assert_true(alert->has_value && alert->value == 0.95);
    assert_string_equal(lk_labels_get(&alert->labels, "alertname"), "DiskFull");
    assert_string_equal(lk_labels_get(&alert->labels, "severity"), "error");
    assert_string_equal(lk_labels_get(&alert->labels, "device"), "sda");
    assert_string_equal(lk_labels_get(&alert->annotations, "summary"), "sda full");
    assert_string_equal(lk_labels_get(&second.alerts[0].labels, "severity"), "warning");

    /* in flight: not sent twice; unanswered: sent again after the reply timeout */
    assert_int_equal(rules_engine_deliver(d.engine, d.dealer, NULL, now, mono), 0);
    assert_int_equal(rules_engine_next_expiry(d.engine, mono), 200);
    rules_engine_expire(d.engine, mono + 199);
    assert_int_equal(rules_engine_in_flight(d.engine), 2);
    rules_engine_expire(d.engine, mono + 200);
    assert_int_equal(rules_engine_in_flight(d.engine), 0);
    assert_int_equal(rules_engine_metrics(d.engine)->batches_failed_total, 2);
    /* a late answer to a batch given up on changes nothing */
    s_answer(&d, identity, &first, LK_STATUS_OK, now);
    assert_int_equal(rules_engine_metrics(d.engine)->batches_acked_total, 0);
    lk_msg_clear(&first);
    lk_msg_clear(&second);
    zframe_destroy(&identity);

    mono += 1000;
    assert_int_equal(rules_engine_deliver(d.engine, d.dealer, NULL, now, mono), 2);
    s_receive_batch(&d, &identity, &first);
    s_receive_batch(&d, &identity2, &second);
    /* ok for one, unavailable for the other: only the second is sent again */
    s_answer(&d, identity, &first, LK_STATUS_OK, now + 10);
    s_answer(&d, identity2, &second, LK_STATUS_UNAVAILABLE, now + 10);
    assert_int_equal(rules_engine_metrics(d.engine)->batches_acked_total, 1);
    assert_int_equal(rules_engine_metrics(d.engine)->alerts_delivered_total, 1);
    lk_msg_clear(&first);
    lk_msg_clear(&second);
    zframe_destroy(&identity);
    zframe_destroy(&identity2);
    assert_int_equal(rules_engine_deliver(d.engine, d.dealer, NULL, now + 20, mono), 1);
    s_receive_batch(&d, &identity2, &second);
    assert_string_equal(second.tenant_id, OTHER_TENANT);
    s_answer(&d, identity2, &second, LK_STATUS_OK, now + 20);
    lk_msg_clear(&second);
    zframe_destroy(&identity2);

    /* delivered: quiet until the resend interval has passed since delivery */
    assert_int_equal(rules_engine_deliver(d.engine, d.dealer, NULL, now + 59000, mono), 0);
    s_assert_no_batch(&d);
    assert_int_equal(rules_engine_deliver(d.engine, d.dealer, NULL, now + 60010, mono), 1);
    s_receive_batch(&d, &identity, &first);
    assert_string_equal(first.tenant_id, LK_SYSTEM_TENANT);
    assert_int_equal(first.alerts[0].status, LK_ALERT_FIRING);
    s_answer(&d, identity, &first, LK_STATUS_OK, now + 60010);
    lk_msg_clear(&first);
    zframe_destroy(&identity);

    /* resolved: sent with ends_at, and forgotten once acknowledged (the other tenant's alert
       is not due for its re-send yet) */
    rules_result_t none = {0};
    assert_int_equal(rules_step(rules_engine_alerts(d.engine, 0), &installed->rules[0], &none,
                                now + 60015, err, sizeof err),
                     0);
    assert_int_equal(rules_engine_deliver(d.engine, d.dealer, NULL, now + 60015, mono), 1);
    s_receive_batch(&d, &identity, &first);
    assert_int_equal(first.alerts[0].status, LK_ALERT_RESOLVED);
    assert_int_equal(first.alerts[0].starts_at_ms, now);
    assert_int_equal(first.alerts[0].ends_at_ms, now + 60015);
    assert_int_equal(rules_engine_alerts(d.engine, 0)->count, 1);
    s_answer(&d, identity, &first, LK_STATUS_OK, now + 60015);
    assert_int_equal(rules_engine_alerts(d.engine, 0)->count, 0);
    lk_msg_clear(&first);
    zframe_destroy(&identity);

    /* a reload that drops the other tenant's rule resolves its alert, then forgets it */
    config = s_config("rules_settings: {query_url: 'http://127.0.0.1:1'}\n"
                      "rules:\n"
                      "  - name: DiskFull\n"
                      "    query: disk_used > 0.95\n");
    assert_int_equal(rules_engine_set_config(d.engine, &config, err, sizeof err), 0);
    assert_int_equal(rules_engine_rule_count(d.engine), 2); /* the rule, and the leaver */
    rules_rule_metrics_t metrics;
    rules_engine_rule_metrics(d.engine, 1, &metrics);
    assert_string_equal(metrics.tenant_id, OTHER_TENANT);
    assert_int_equal(metrics.firing, 0);
    assert_int_equal(rules_engine_deliver(d.engine, d.dealer, NULL, now + 62000, mono), 1);
    s_receive_batch(&d, &identity, &first);
    assert_string_equal(first.tenant_id, OTHER_TENANT);
    assert_int_equal(first.alerts[0].status, LK_ALERT_RESOLVED);
    s_answer(&d, identity, &first, LK_STATUS_OK, now + 62000);
    assert_int_equal(rules_engine_rule_count(d.engine), 1);
    lk_msg_clear(&first);
    zframe_destroy(&identity);

    char *text = rules_engine_metrics_text(d.engine);
    assert_non_null(text);
    assert_non_null(strstr(text, "\nlookout_rules_batches_acked_total 5\n"));
    assert_non_null(strstr(text, "\nlookout_rules_batches_failed_total 3\n"));
    assert_non_null(strstr(text, "lookout_rules_rule_firing_alerts{tenant=\"" LK_SYSTEM_TENANT
                                 "\",rule=\"DiskFull\"} 0\n"));
    free(text);

    rules_result_clear(&result);
    rules_engine_destroy(&d.engine);
    zsock_destroy(&d.dealer);
    zsock_destroy(&d.router);
}

static void test_metrics_text_with_many_rules(void **state)
{
    /* 300 rules make an exposition far longer than any template expansion */
    size_t size = 64 + 300 * 64;
    char *text = malloc(size);
    size_t used = (size_t)snprintf(text, size, "rules:\n");
    for (int i = 0; i < 300; i++)
        used += (size_t)snprintf(text + used, size - used,
                                 "  - {name: rule_with_a_long_name_%03d, query: up}\n", i);
    lk_config_t *config = s_config(text);
    free(text);
    rules_engine_t *engine = rules_engine_new("http://127.0.0.1:1", 1000);
    char err[256] = "";
    assert_int_equal(rules_engine_set_config(engine, &config, err, sizeof err), 0);
    char *metrics = rules_engine_metrics_text(engine);
    assert_non_null(metrics);
    assert_true(strlen(metrics) > 5 * RULES_EXPANSION_MAX);
    assert_non_null(strstr(metrics, "rule=\"rule_with_a_long_name_299\"} 0\n"));
    free(metrics);
    rules_engine_destroy(&engine);
}

/* With correlate sharded, each tenant's batch goes to the shard that owns it (lk_shard_of),
   the same function correlate uses to refuse other shards' tenants. */
static void test_sharded_delivery(void **state)
{
    (void)state;
    zsock_t *routers[2], *dealers[2];
    for (int i = 0; i < 2; i++) {
        char endpoint[64];
        snprintf(endpoint, sizeof endpoint, "inproc://rules-test-shard-%d", i);
        char bind[80], connect[80];
        snprintf(bind, sizeof bind, "@%s", endpoint);
        snprintf(connect, sizeof connect, ">%s", endpoint);
        routers[i] = lk_sock_new(ZMQ_ROUTER, bind);
        dealers[i] = lk_sock_new(ZMQ_DEALER, connect);
        assert_non_null(routers[i]);
        assert_non_null(dealers[i]);
    }
    rules_engine_t *engine = rules_engine_new(NULL, 200);
    lk_config_t *config = s_config(s_delivery_rules);
    char err[512] = "";
    assert_int_equal(rules_engine_set_config(engine, &config, err, sizeof err), 0);
    const lk_config_t *installed = rules_engine_config(engine);
    rules_result_t result = {0};
    s_sample(&result, 0.95, "__name__", "disk_used", "device", "sda", NULL);
    int64_t now = 1700000000000;
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(rules_step(rules_engine_alerts(engine, i), &installed->rules[i], &result,
                                    now, err, sizeof err),
                         0);
    assert_int_equal(rules_engine_deliver_sharded(engine, dealers, 2, NULL, now, 1000000), 2);
    size_t received = 0;
    for (int i = 0; i < 2; i++) {
        zpoller_t *poller = zpoller_new(routers[i], NULL);
        while (zpoller_wait(poller, 200) == routers[i]) {
            zframe_t *identity = NULL;
            lk_msg_t batch;
            assert_int_equal(lk_sock_recv(routers[i], &identity, &batch, NULL, NULL), 0);
            assert_int_equal(batch.type, LK_MSG_ALERT_BATCH);
            assert_int_equal(lk_shard_of(batch.tenant_id, 2), (uint32_t)i);
            received++;
            lk_msg_clear(&batch);
            zframe_destroy(&identity);
        }
        zpoller_destroy(&poller);
    }
    assert_int_equal(received, 2);
    rules_result_clear(&result);
    rules_engine_destroy(&engine);
    for (int i = 0; i < 2; i++) {
        zsock_destroy(&dealers[i]);
        zsock_destroy(&routers[i]);
    }
}

static void test_unreachable_correlate(void **state)
{
    /* a DEALER with no connection at all cannot queue: the batch fails at once and stays
       due (a DEALER that is connecting queues instead, and the reply timeout applies) */
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    rules_engine_t *engine = rules_engine_new(NULL, 200);
    lk_config_t *config = s_config(s_delivery_rules);
    char err[512] = "";
    assert_int_equal(rules_engine_set_config(engine, &config, err, sizeof err), 0);
    rules_result_t result = {0};
    s_sample(&result, 1, "device", "sda", NULL);
    assert_int_equal(rules_step(rules_engine_alerts(engine, 0),
                                &rules_engine_config(engine)->rules[0], &result, 1000, err,
                                sizeof err),
                     0);
    assert_int_equal(rules_engine_deliver(engine, dealer, NULL, 1000, 1000), 0);
    assert_int_equal(rules_engine_in_flight(engine), 0);
    assert_int_equal(rules_engine_metrics(engine)->batches_failed_total, 1);
    assert_int_equal(rules_engine_alerts(engine, 0)->alerts[0].delivered_change, 0);
    assert_int_equal(rules_engine_deliver(engine, dealer, NULL, 2000, 2000), 0);
    assert_int_equal(rules_engine_metrics(engine)->batches_failed_total, 2);
    rules_result_clear(&result);
    rules_engine_destroy(&engine);
    zsock_destroy(&dealer);
}

/* ---- end to end: a real Prometheus, the real pipeline ----------------------------------- */

/* The scrape target: /metrics with one gauge whose value the test sets. */
static atomic_int s_target_value = 1;
static atomic_bool s_target_stop;
static int s_target_fd = -1;

static void *s_target_thread(void *unused)
{
    while (!atomic_load(&s_target_stop)) {
        struct pollfd poll_fd = {.fd = s_target_fd, .events = POLLIN};
        if (poll(&poll_fd, 1, 100) <= 0)
            continue;
        int client = accept(s_target_fd, NULL, NULL);
        if (client < 0)
            continue;
        char request[4096];
        size_t got = 0;
        while (got < sizeof request - 1) {
            struct pollfd client_fd = {.fd = client, .events = POLLIN};
            if (poll(&client_fd, 1, 1000) <= 0)
                break;
            ssize_t n = read(client, request + got, sizeof request - 1 - got);
            if (n <= 0)
                break;
            got += (size_t)n;
            request[got] = '\0';
            if (strstr(request, "\r\n\r\n"))
                break;
        }
        char body[128], response[512];
        int body_size =
            snprintf(body, sizeof body, "# TYPE lookout_test_value gauge\nlookout_test_value %d\n",
                     atomic_load(&s_target_value));
        int size = snprintf(response, sizeof response,
                            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                            "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                            body_size, body);
        if (write(client, response, (size_t)size) < 0)
            lk_warn("target: write failed");
        close(client);
    }
    return NULL;
}

static int s_listen_any_port(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&address, sizeof address), 0);
    socklen_t length = sizeof address;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&address, &length), 0);
    *port = ntohs(address.sin_port);
    return fd;
}

typedef struct {
    char *directory;
    pid_t prometheus;
    int prometheus_port;
    char url[64];
    pthread_t target;
    store_config_t store_config;
    correlate_config_t correlate_config;
    zactor_t *store;
    zactor_t *correlate;
    char database_url[600];
} s_e2e_t;

static s_e2e_t s_e2e;

static long s_http_get(const char *url)
{
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 1000L);
    long status = 0;
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    return status;
}

static void s_print_prometheus_log(void)
{
    char path[600], line[512];
    snprintf(path, sizeof path, "%s/prometheus.log", s_e2e.directory);
    FILE *log = fopen(path, "r");
    if (!log)
        return;
    while (fgets(line, sizeof line, log))
        print_error("prometheus: %s", line);
    fclose(log);
}

static int s_e2e_setup(void **state)
{
    memset(&s_e2e, 0, sizeof s_e2e);
    s_e2e.directory = s_temp_dir();

    /* the target */
    int target_port = 0;
    s_target_fd = s_listen_any_port(&target_port);
    assert_int_equal(listen(s_target_fd, 16), 0);
    atomic_store(&s_target_value, 1);
    atomic_store(&s_target_stop, false);
    assert_int_equal(pthread_create(&s_e2e.target, NULL, s_target_thread, NULL), 0);

    /* Prometheus, scraping it every second */
    int probe = s_listen_any_port(&s_e2e.prometheus_port);
    close(probe);
    char path[600], text[1024];
    snprintf(path, sizeof path, "%s/prometheus.yml", s_e2e.directory);
    snprintf(text, sizeof text,
             "global:\n"
             "  scrape_interval: 1s\n"
             "  evaluation_interval: 1s\n"
             "scrape_configs:\n"
             "  - job_name: lookout_test\n"
             "    static_configs:\n"
             "      - targets: ['127.0.0.1:%d']\n",
             target_port);
    s_write_file(path, text);
    snprintf(s_e2e.url, sizeof s_e2e.url, "http://127.0.0.1:%d", s_e2e.prometheus_port);
    const char *binary = getenv("LOOKOUT_PROMETHEUS");
    if (!binary || !*binary)
        binary = "prometheus";
    s_e2e.prometheus = fork();
    assert_true(s_e2e.prometheus >= 0);
    if (s_e2e.prometheus == 0) {
        char config_flag[700], data_flag[700], listen_flag[100], log_path[700];
        snprintf(config_flag, sizeof config_flag, "--config.file=%s", path);
        snprintf(data_flag, sizeof data_flag, "--storage.tsdb.path=%s/data", s_e2e.directory);
        snprintf(listen_flag, sizeof listen_flag, "--web.listen-address=127.0.0.1:%d",
                 s_e2e.prometheus_port);
        snprintf(log_path, sizeof log_path, "%s/prometheus.log", s_e2e.directory);
        FILE *log = freopen(log_path, "w", stderr);
        if (log)
            dup2(fileno(log), STDOUT_FILENO);
        execlp(binary, binary, config_flag, data_flag, listen_flag, "--log.level=warn",
               (char *)NULL);
        fprintf(stderr, "cannot run %s: %s\n", binary, strerror(errno));
        _exit(127);
    }
    char ready_url[128];
    snprintf(ready_url, sizeof ready_url, "%s/-/ready", s_e2e.url);
    int64_t deadline = lk_mono_ms() + 60000;
    while (s_http_get(ready_url) != 200) {
        int status = 0;
        if (waitpid(s_e2e.prometheus, &status, WNOHANG) == s_e2e.prometheus) {
            s_e2e.prometheus = 0;
            s_print_prometheus_log();
            fail_msg("prometheus (%s) exited before it was ready; is the Debian package "
                     "`prometheus` installed?",
                     binary);
        }
        if (lk_mono_ms() > deadline) {
            s_print_prometheus_log();
            fail_msg("prometheus was not ready within 60 s");
        }
        usleep(200 * 1000);
    }

    /* the pipeline: store on a temporary SQLite file, correlate */
    snprintf(s_e2e.database_url, sizeof s_e2e.database_url, "sqlite:%s/lookout.db",
             s_e2e.directory);
    s_e2e.store_config.database_url = s_e2e.database_url;
    s_e2e.store_config.mutation_endpoint = "inproc://rules-e2e-store";
    s_e2e.store_config.query_endpoint = "inproc://rules-e2e-store-query";
    s_e2e.store_config.events_endpoint = "inproc://rules-e2e-store-events";
    s_e2e.store_config.batch_max = 256;
    s_e2e.store = zactor_new(store_actor, &s_e2e.store_config);
    assert_non_null(s_e2e.store);
    s_e2e.correlate_config.frontend_endpoint = "inproc://rules-e2e-correlate";
    s_e2e.correlate_config.store_endpoint = "inproc://rules-e2e-store";
    s_e2e.correlate_config.store_query_endpoint = "inproc://rules-e2e-store-query";
    s_e2e.correlate_config.group_by = "alertname";
    s_e2e.correlate_config.reopen_window_ms = 600000;
    s_e2e.correlate_config.store_timeout_ms = 2000;
    s_e2e.correlate_config.shard_count = 1;
    s_e2e.correlate = zactor_new(correlate_actor, &s_e2e.correlate_config);
    assert_non_null(s_e2e.correlate);
    return 0;
}

static int s_e2e_teardown(void **state)
{
    zactor_destroy(&s_e2e.correlate);
    zactor_destroy(&s_e2e.store);
    if (s_e2e.prometheus > 0) {
        kill(s_e2e.prometheus, SIGTERM);
        int status = 0;
        int64_t deadline = lk_mono_ms() + 10000;
        while (waitpid(s_e2e.prometheus, &status, WNOHANG) == 0) {
            if (lk_mono_ms() > deadline) {
                kill(s_e2e.prometheus, SIGKILL);
                waitpid(s_e2e.prometheus, &status, 0);
                break;
            }
            usleep(50 * 1000);
        }
        s_e2e.prometheus = 0;
    }
    atomic_store(&s_target_stop, true);
    pthread_join(s_e2e.target, NULL);
    close(s_target_fd);
    s_target_fd = -1;
    s_remove_tree(s_e2e.directory);
    free(s_e2e.directory);
    return 0;
}

/* Asks store for the system tenant's incidents; returns the reply (caller clears). */
static void s_list_incidents(lk_msg_t *reply)
{
    zsock_t *dealer = lk_sock_new(ZMQ_DEALER, ">inproc://rules-e2e-store-query");
    lk_msg_t query;
    lk_msg_init(&query, LK_MSG_QUERY);
    query.req = 1;
    snprintf(query.tenant_id, sizeof query.tenant_id, "%s", LK_SYSTEM_TENANT);
    query.query.kind = LK_QUERY_LIST_INCIDENTS;
    query.query.limit = 10;
    assert_int_equal(lk_sock_send(dealer, NULL, &query, NULL, NULL), 0);
    lk_msg_clear(&query);
    zpoller_t *poller = zpoller_new(dealer, NULL);
    assert_ptr_equal(zpoller_wait(poller, 5000), dealer);
    zpoller_destroy(&poller);
    assert_int_equal(lk_sock_recv(dealer, NULL, reply, NULL, NULL), 0);
    assert_int_equal(reply->type, LK_MSG_QUERY_REPLY);
    assert_int_equal(reply->status, LK_STATUS_OK);
    zsock_destroy(&dealer);
}

/* A monotonic clock for the engine that is always an interval ahead, so that every call
   of rules_engine_evaluate_due evaluates every rule (the test paces itself). */
static int64_t s_fake_mono = 1000000000;

static size_t s_evaluate_now(rules_engine_t *engine)
{
    s_fake_mono += 3600000;
    return rules_engine_evaluate_due(engine, lk_now_ms(), s_fake_mono);
}

/* Delivers whatever is due and waits for correlate's answer (the commit). */
static void s_deliver_and_wait(rules_engine_t *engine, zsock_t *dealer)
{
    size_t sent = rules_engine_deliver(engine, dealer, NULL, lk_now_ms(), lk_mono_ms());
    assert_true(sent >= 1);
    zpoller_t *poller = zpoller_new(dealer, NULL);
    while (rules_engine_in_flight(engine) > 0) {
        assert_ptr_equal(zpoller_wait(poller, 10000), dealer);
        lk_msg_t reply;
        assert_int_equal(lk_sock_recv(dealer, NULL, &reply, NULL, NULL), 0);
        assert_int_equal(reply.status, LK_STATUS_OK);
        rules_engine_handle_reply(engine, &reply, lk_now_ms());
        lk_msg_clear(&reply);
    }
    zpoller_destroy(&poller);
}

static void test_prometheus_end_to_end(void **state)
{
    char text[2048];
    snprintf(text, sizeof text,
             "rules_settings:\n"
             "  query_url: %s\n"
             "  interval: 1s\n"
             "  query_timeout: 5s\n"
             "rules:\n"
             "  - name: LookoutTestValue\n"
             "    query: lookout_test_value > 0\n"
             "    duration: 2s\n"
             "    severity: critical\n"
             "    labels: {team: test}\n"
             "    annotations:\n"
             "      summary: 'value {{ $value }} on {{ $labels.instance }}'\n"
             "  - name: BrokenQuery\n"
             "    query: rate(lookout_test_value[1m]\n",
             s_e2e.url);
    lk_config_t *config = s_config(text);
    rules_engine_t *engine = rules_engine_new(NULL, 10000);
    char err[512] = "";
    assert_int_equal(rules_engine_set_config(engine, &config, err, sizeof err), 0);
    zsock_t *dealer = lk_sock_new(ZMQ_DEALER, ">inproc://rules-e2e-correlate");
    assert_non_null(dealer);

    /* Evaluate (every rule, every ~250 ms) until the first scrape shows: pending. */
    rules_alerts_t *alerts = rules_engine_alerts(engine, 0);
    int64_t deadline = lk_mono_ms() + 30000;
    while (alerts->count == 0) {
        assert_true(lk_mono_ms() < deadline);
        usleep(250 * 1000);
        assert_int_equal(s_evaluate_now(engine), 2);
        alerts = rules_engine_alerts(engine, 0);
    }
    rules_alert_t *alert = &alerts->alerts[0];
    assert_int_equal(alert->state, RULES_PENDING);
    int64_t active_at = alert->active_at_ms;
    assert_string_equal(lk_labels_get(&alert->labels, "job"), "lookout_test");
    assert_string_equal(lk_labels_get(&alert->labels, "alertname"), "LookoutTestValue");
    assert_null(lk_labels_get(&alert->labels, "__name__"));
    char expected_summary[128];
    snprintf(expected_summary, sizeof expected_summary, "value 1 on %s",
             lk_labels_get(&alert->labels, "instance"));
    assert_string_equal(lk_labels_get(&alert->annotations, "summary"), expected_summary);
    /* nothing to deliver while pending */
    assert_int_equal(rules_engine_deliver(engine, dealer, NULL, lk_now_ms(), lk_mono_ms()), 0);

    /* the broken query is an error from Prometheus: counted, logged, nothing else */
    rules_rule_metrics_t broken;
    rules_engine_rule_metrics(engine, 1, &broken);
    assert_true(broken.evaluations_total >= 1);
    assert_int_equal(broken.query_errors_total, broken.evaluations_total);
    assert_int_equal(rules_engine_alerts(engine, 1)->count, 0);

    /* pending until 2 s have passed, then firing */
    while (alert->state == RULES_PENDING) {
        assert_true(lk_mono_ms() < deadline);
        usleep(250 * 1000);
        int64_t now = lk_now_ms();
        assert_int_equal(s_evaluate_now(engine), 2);
        alerts = rules_engine_alerts(engine, 0);
        assert_int_equal(alerts->count, 1);
        alert = &alerts->alerts[0];
        if (now - active_at < 2000)
            assert_int_equal(alert->state, RULES_PENDING);
    }
    assert_int_equal(alert->state, RULES_FIRING);
    assert_true(alert->fired_at_ms - active_at >= 2000);
    assert_true(alert->fired_at_ms - active_at < 4000);

    /* into the real pipeline: an incident is committed */
    s_deliver_and_wait(engine, dealer);
    alert = &rules_engine_alerts(engine, 0)->alerts[0];
    assert_int_equal(alert->delivered_change, alert->change);
    lk_msg_t reply;
    s_list_incidents(&reply);
    assert_int_equal(reply.incident_count, 1);
    assert_int_equal(reply.incidents[0].status, LK_INCIDENT_TRIGGERED);
    assert_int_equal(reply.incidents[0].severity, LK_SEV_CRITICAL);
    assert_non_null(strstr(reply.incidents[0].title, "LookoutTestValue"));
    lk_msg_clear(&reply);

    /* the target drops to 0: resolved at the next evaluation after the scrape */
    atomic_store(&s_target_value, 0);
    deadline = lk_mono_ms() + 30000;
    while (rules_engine_alerts(engine, 0)->alerts[0].state != RULES_RESOLVED) {
        assert_true(lk_mono_ms() < deadline);
        usleep(250 * 1000);
        assert_int_equal(s_evaluate_now(engine), 2);
        assert_int_equal(rules_engine_alerts(engine, 0)->count, 1);
    }
    s_deliver_and_wait(engine, dealer);
    assert_int_equal(rules_engine_alerts(engine, 0)->count, 0); /* delivered: forgotten */
    s_list_incidents(&reply);
    assert_int_equal(reply.incident_count, 1);
    assert_int_equal(reply.incidents[0].status, LK_INCIDENT_RESOLVED);
    lk_msg_clear(&reply);

    const rules_metrics_t *metrics = rules_engine_metrics(engine);
    assert_true(metrics->evaluations_total >= 8);
    assert_int_equal(metrics->batches_failed_total, 0);
    assert_int_equal(metrics->batches_acked_total, 2);
    rules_rule_metrics_t good;
    rules_engine_rule_metrics(engine, 0, &good);
    rules_engine_rule_metrics(engine, 1, &broken);
    assert_int_equal(good.query_errors_total, 0);
    assert_int_equal(good.evaluations_total, broken.evaluations_total);
    assert_int_equal(broken.query_errors_total, broken.evaluations_total);
    assert_int_equal(metrics->evaluation_failures_total, broken.query_errors_total);
    assert_int_equal(metrics->evaluations_total, 2 * good.evaluations_total);
    zsock_destroy(&dealer);
    rules_engine_destroy(&engine);
}

static void test_example_configuration(void **state)
{
    /* the shipped example loads, its templates check, and Prometheus accepts its queries */
    lk_config_t *config = NULL;
    char err[512] = "";
    if (lk_config_load(RULES_EXAMPLE_CONFIG, &config, err, sizeof err) != 0)
        print_error("%s\n", err);
    assert_non_null(config);
    assert_int_equal(config->rule_count, 3);
    assert_string_equal(config->rules[0].name, "node_down");
    assert_string_equal(config->rules[1].name, "high_cpu");
    assert_string_equal(config->rules[2].name, "stream_failure");
    assert_int_equal(config->rules[0].duration_ms, 60000);
    assert_int_equal(config->rules[1].duration_ms, 300000);
    assert_int_equal(config->rules[2].duration_ms, 120000);
    assert_int_equal(config->rules[0].severity, LK_SEV_CRITICAL);
    assert_int_equal(config->rules[1].severity, LK_SEV_WARNING);
    assert_int_equal(config->rules[2].severity, LK_SEV_ERROR);
    rules_engine_t *engine = rules_engine_new(s_e2e.url, 10000);
    assert_int_equal(rules_engine_set_config(engine, &config, err, sizeof err), 0);
    assert_int_equal(s_evaluate_now(engine), 3);
    for (size_t i = 0; i < 3; i++) {
        rules_rule_metrics_t metrics;
        rules_engine_rule_metrics(engine, i, &metrics);
        assert_int_equal(metrics.evaluations_total, 1);
        assert_int_equal(metrics.query_errors_total, 0);
    }
    rules_engine_destroy(&engine);
}

/* Waits until the actor's METRICS show the gauge with this value. */
static void s_wait_metric(zactor_t *actor, const char *line)
{
    int64_t deadline = lk_mono_ms() + 30000;
    for (;;) {
        zstr_send(actor, "METRICS");
        char *text = zstr_recv(actor);
        assert_non_null(text);
        bool found = strstr(text, line) != NULL;
        zstr_free(&text);
        if (found)
            return;
        if (lk_mono_ms() > deadline)
            fail_msg("the metric line %s did not appear", line);
        usleep(200 * 1000);
    }
}

static void test_actor(void **state)
{
    /* the program's actor: loads LOOKOUT_CONFIG's file, evaluates on its own timer, reloads */
    atomic_store(&s_target_value, 1);
    char path[700], text[1024];
    snprintf(path, sizeof path, "%s/lookout.yaml", s_e2e.directory);
    snprintf(text, sizeof text,
             "rules_settings: {query_url: '%s', interval: 1s}\n"
             "rules:\n"
             "  - name: ActorValue\n"
             "    query: lookout_test_value > 0\n"
             "    duration: 1s\n",
             s_e2e.url);
    s_write_file(path, text);
    rules_config_t settings = {.config_path = path,
                               .correlate_endpoint = "inproc://rules-e2e-correlate",
                               .reply_timeout_ms = 5000};
    zactor_t *actor = zactor_new(rules_actor, &settings);
    assert_non_null(actor);
    s_wait_metric(actor, "lookout_rules_rule_firing_alerts{tenant=\"" LK_SYSTEM_TENANT
                         "\",rule=\"ActorValue\"} 1\n");
    /* delivered (an incident appears) */
    int64_t deadline = lk_mono_ms() + 15000;
    for (;;) {
        lk_msg_t reply;
        s_list_incidents(&reply);
        bool found = false;
        for (size_t i = 0; i < reply.incident_count; i++)
            found = found || strstr(reply.incidents[i].title, "ActorValue") != NULL;
        lk_msg_clear(&reply);
        if (found)
            break;
        assert_true(lk_mono_ms() < deadline);
        usleep(200 * 1000);
    }

    /* a broken file is refused with its position; the old rules keep running */
    s_write_file(path, "rules:\n  - name: ActorValue\n    query: up\n    duration: later\n");
    zstr_send(actor, "RELOAD");
    char *answer = zstr_recv(actor);
    char expected[900];
    snprintf(expected, sizeof expected,
             "ERROR %s:4:15: rules[0].duration: expected a duration like 30s, 5m, 1h", path);
    assert_string_equal(answer, expected);
    zstr_free(&answer);
    s_wait_metric(actor, "lookout_rules_config_reload_failures_total 1\n");

    /* a good file replaces it: the rule is gone, its alert resolved */
    snprintf(text, sizeof text, "rules_settings: {query_url: '%s', interval: 1s}\n", s_e2e.url);
    s_write_file(path, text);
    zstr_send(actor, "RELOAD");
    answer = zstr_recv(actor);
    assert_string_equal(answer, "OK");
    zstr_free(&answer);
    zstr_send(actor, "EVALUATE");
    answer = zstr_recv(actor);
    assert_string_equal(answer, "OK");
    zstr_free(&answer);
    deadline = lk_mono_ms() + 15000;
    for (;;) {
        lk_msg_t reply;
        s_list_incidents(&reply);
        bool resolved = false;
        for (size_t i = 0; i < reply.incident_count; i++)
            resolved = resolved || (strstr(reply.incidents[i].title, "ActorValue") &&
                                    reply.incidents[i].status == LK_INCIDENT_RESOLVED);
        lk_msg_clear(&reply);
        if (resolved)
            break;
        assert_true(lk_mono_ms() < deadline);
        usleep(200 * 1000);
    }
    s_wait_metric(actor, "lookout_rules_config_reloads_total 2\n");
    zactor_destroy(&actor);
}

int main(void)
{
    lk_log_init("test_rules", LK_LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_parse_vector),
        cmocka_unit_test(test_parse_scalar),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_template_expansion),
        cmocka_unit_test(test_template_errors),
        cmocka_unit_test(test_value_format),
        cmocka_unit_test(test_pending_then_firing_then_resolved),
        cmocka_unit_test(test_zero_duration_and_refire),
        cmocka_unit_test(test_duplicate_label_sets),
        cmocka_unit_test(test_engine_rejects_bad_templates),
        cmocka_unit_test(test_delivery),
        cmocka_unit_test(test_sharded_delivery),
        cmocka_unit_test(test_unreachable_correlate),
        cmocka_unit_test(test_metrics_text_with_many_rules),
    };
    const struct CMUnitTest end_to_end[] = {
        cmocka_unit_test(test_prometheus_end_to_end),
        cmocka_unit_test(test_example_configuration),
        cmocka_unit_test(test_actor),
    };
    int failed = cmocka_run_group_tests_name("rules", unit, NULL, NULL);
    failed +=
        cmocka_run_group_tests_name("rules_prometheus", end_to_end, s_e2e_setup, s_e2e_teardown);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
