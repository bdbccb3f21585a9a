/*  Unit tests for lk_yaml (the positioned YAML tree and its limits) and lk_config (the
    configuration file: sections, defaults, synonyms and every validation error, each checked
    with its exact file:line:column).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_config.h"
#include "lk_yaml.h"

/* Loads text as "lookout.yaml"; returns the configuration or NULL with err filled. */
static lk_config_t *s_load(const char *text, char *err, size_t err_size)
{
    lk_config_t *config = NULL;
    int rc = lk_config_load_string("lookout.yaml", text, strlen(text), &config, err, err_size);
    assert_true((rc == 0) == (config != NULL));
    return config;
}

/* Asserts that text fails to load with exactly this message. */
static void s_expect_error(const char *text, const char *expected)
{
    char err[512] = "";
    lk_config_t *config = s_load(text, err, sizeof err);
    if (config || strcmp(err, expected) != 0)
        print_error("loading:\n%s\nexpected: %s\nactual:   %s\n", text, expected,
                    config ? "(loaded)" : err);
    assert_null(config);
    assert_string_equal(err, expected);
}

/* Writes text to a new temporary file; returns its path (caller unlinks and frees). */
static char *s_temp_file(const char *text, size_t size)
{
    const char *directory = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *path = malloc(strlen(directory) + 40);
    sprintf(path, "%s/lookout-test-config-XXXXXX", directory);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *file = fdopen(fd, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(text, 1, size, file), size);
    fclose(file);
    return path;
}

/* ---- a valid file ---------------------------------------------------------------------- */

static const char *s_valid = "# a comment\n"
                             "rules_settings:\n"
                             "  query_url: http://127.0.0.1:9090/\n"
                             "  interval: 30s\n"
                             "  query_timeout: 2500ms\n"
                             "rules:\n"
                             "  - name: node_down\n"
                             "    query: up{job=\"node\"} == 0\n"
                             "    duration: 1m\n"
                             "    severity: critical\n"
                             "    labels:\n"
                             "      team: infra\n"
                             "    annotations:\n"
                             "      summary: \"{{ $labels.instance }} is down\"\n"
                             "  - name: high_cpu\n"
                             "    expr: cpu > 90\n"
                             "    for: 1h30m\n"
                             "    labels: {severity: page}\n"
                             "    tenant: 5B9A3C1E-0000-4000-8000-00000000000A\n"
                             "    interval: 1m\n"
                             "  - name: node_down\n"
                             "    query: vector(1)\n"
                             "    tenant: 5b9a3c1e-0000-4000-8000-00000000000a\n"
                             "    annotations:\n"
                             "      empty: ''\n";

static void test_valid_file(void **state)
{
    char *path = s_temp_file(s_valid, strlen(s_valid));
    char err[512] = "";
    lk_config_t *config = NULL;
    assert_int_equal(lk_config_load(path, &config, err, sizeof err), 0);
    assert_non_null(config);
    assert_string_equal(config->path, path);

    assert_string_equal(config->rules_settings.query_url, "http://127.0.0.1:9090");
    assert_int_equal(config->rules_settings.interval_ms, 30000);
    assert_int_equal(config->rules_settings.query_timeout_ms, 2500);
    assert_int_equal(config->rules_settings.resend_interval_ms, 60000);
    assert_int_equal(config->rule_count, 3);

    const lk_rule_t *down = &config->rules[0];
    assert_string_equal(down->name, "node_down");
    assert_string_equal(down->query, "up{job=\"node\"} == 0");
    assert_int_equal(down->duration_ms, 60000);
    assert_int_equal(down->interval_ms, 0);
    assert_int_equal(down->severity, LK_SEV_CRITICAL);
    assert_string_equal(down->tenant_id, LK_SYSTEM_TENANT);
    assert_string_equal(lk_labels_get(&down->labels, "team"), "infra");
    assert_string_equal(lk_labels_get(&down->labels, "severity"), "critical");
    assert_int_equal(down->labels.count, 2);
    assert_string_equal(lk_labels_get(&down->annotations, "summary"),
                        "{{ $labels.instance }} is down");
    assert_int_equal(down->line, 7);
    assert_int_equal(down->column, 5);

    /* synonyms: expr for query, for for duration, labels.severity for severity */
    const lk_rule_t *cpu = &config->rules[1];
    assert_string_equal(cpu->query, "cpu > 90");
    assert_int_equal(cpu->duration_ms, 5400000);
    assert_int_equal(cpu->interval_ms, 60000);
    assert_int_equal(cpu->severity, LK_SEV_CRITICAL);
    assert_string_equal(lk_labels_get(&cpu->labels, "severity"), "page");
    assert_string_equal(cpu->tenant_id, "5b9a3c1e-0000-4000-8000-00000000000a");

    /* the same name in another tenant is another rule; defaults apply */
    const lk_rule_t *other = &config->rules[2];
    assert_int_equal(other->duration_ms, 0);
    assert_int_equal(other->severity, LK_SEV_WARNING);
    assert_string_equal(lk_labels_get(&other->labels, "severity"), "warning");
    assert_string_equal(lk_labels_get(&other->annotations, "empty"), "");

    assert_ptr_equal(lk_config_find_rule(config, LK_SYSTEM_TENANT, "node_down"), down);
    assert_ptr_equal(
        lk_config_find_rule(config, "5b9a3c1e-0000-4000-8000-00000000000a", "node_down"), other);
    assert_null(lk_config_find_rule(config, LK_SYSTEM_TENANT, "high_cpu"));

    lk_config_destroy(&config);
    assert_null(config);
    lk_config_destroy(&config); /* NULL is fine */
    unlink(path);
    free(path);
}

static void test_empty_configurations(void **state)
{
    char err[256] = "";
    lk_config_t *config = NULL;
    /* no file named: defaults everywhere */
    assert_int_equal(lk_config_load(NULL, &config, err, sizeof err), 0);
    assert_null(config->path);
    assert_int_equal(config->rule_count, 0);
    assert_null(config->rules_settings.query_url);
    assert_int_equal(config->rules_settings.interval_ms, 15000);
    assert_int_equal(config->rules_settings.query_timeout_ms, 10000);
    lk_config_destroy(&config);
    assert_int_equal(lk_config_load("", &config, err, sizeof err), 0);
    lk_config_destroy(&config);

    /* empty file, comments only, null sections */
    const char *texts[] = {"", "# nothing yet\n", "rules:\nrules_settings:\n", "rules: []\n",
                           "~\n"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        config = s_load(texts[i], err, sizeof err);
        assert_non_null(config);
        assert_int_equal(config->rule_count, 0);
        assert_int_equal(config->rules_settings.interval_ms, 15000);
        lk_config_destroy(&config);
    }
}

static void test_missing_file(void **state)
{
    char err[256] = "";
    lk_config_t *config = (lk_config_t *)&err; /* must be reset to NULL */
    assert_int_equal(lk_config_load("/nonexistent/lookout.yaml", &config, err, sizeof err), -1);
    assert_null(config);
    assert_string_equal(err, "/nonexistent/lookout.yaml: cannot open: No such file or directory");
}

static void test_error_names_the_real_file(void **state)
{
    const char *text = "rules:\n  - name: x\n    query: up\n    duration: soon\n";
    char *path = s_temp_file(text, strlen(text));
    char err[512] = "", expected[512];
    lk_config_t *config = NULL;
    assert_int_equal(lk_config_load(path, &config, err, sizeof err), -1);
    snprintf(expected, sizeof expected,
             "%s:4:15: rules[0].duration: expected a duration like 30s, 5m, 1h", path);
    assert_string_equal(err, expected);
    unlink(path);
    free(path);
}

/* ---- validation errors, each with its exact position ------------------------------------ */

static void test_rule_errors(void **state)
{
    s_expect_error("rules:\n"
                   "  - name: a\n"
                   "    query: up\n"
                   "  - name: b\n"
                   "    query: up\n"
                   "  - name: c\n"
                   "    query: up\n"
                   "    duration: 5 minutes\n",
                   "lookout.yaml:8:15: rules[2].duration: expected a duration like 30s, 5m, 1h");
    s_expect_error("rules:\n  - name: a\n    query: up\n    for: -1s\n",
                   "lookout.yaml:4:10: rules[0].for: expected a duration like 30s, 5m, 1h");
    s_expect_error("rules:\n  - name: a\n    query: up\n    severity: urgent\n",
                   "lookout.yaml:4:15: rules[0].severity: expected info, warning, error or "
                   "critical");
    s_expect_error("rules:\n  - name: a\n    query: up\n    labels: {severity: meh}\n",
                   "lookout.yaml:4:24: rules[0].labels.severity: expected info, warning, error "
                   "or critical");
    s_expect_error("rules:\n  - name: a\n    query: up\n    severity: info\n"
                   "    labels:\n      severity: info\n",
                   "lookout.yaml:6:17: rules[0].labels.severity: the rule already has "
                   "'severity': give it only once");
    s_expect_error("rules:\n  - name: a\n    query: \"  \"\n",
                   "lookout.yaml:3:12: rules[0].query: must not be empty");
    s_expect_error("rules:\n  - name: a\n    query:\n",
                   "lookout.yaml:3:11: rules[0].query: expected a string, found nothing");
    s_expect_error("rules:\n  - name: a\n    severity: info\n",
                   "lookout.yaml:2:5: rules[0].query: is required (the PromQL to evaluate)");
    s_expect_error("rules:\n  - query: up\n", "lookout.yaml:2:5: rules[0].name: is required");
    s_expect_error("rules:\n  - name: ''\n    query: up\n",
                   "lookout.yaml:2:11: rules[0].name: must not be empty");
    s_expect_error("rules:\n  - name: a\n    query: up\n    for: 1m\n    duration: 1m\n",
                   "lookout.yaml:5:5: rules[0]: 'duration' and 'for' mean the same: give only "
                   "one");
    s_expect_error("rules:\n  - name: a\n    expr: up\n    query: up\n",
                   "lookout.yaml:4:5: rules[0]: 'query' and 'expr' mean the same: give only one");
    s_expect_error("rules:\n  - name: a\n    query: up\n    interval: 10ms\n",
                   "lookout.yaml:4:15: rules[0].interval: must be at least 1s");
    s_expect_error("rules:\n  - name: a\n    query: up\n    tenant: acme\n",
                   "lookout.yaml:4:13: rules[0].tenant: expected a tenant UUID like "
                   "00000000-0000-0000-0000-000000000001");
    s_expect_error("rules:\n  - name: a\n    query: up\n    labels:\n      alertname: b\n",
                   "lookout.yaml:5:18: rules[0].labels.alertname: not allowed: the rule's name "
                   "is its alertname");
    s_expect_error("rules:\n  - name: a\n    query: up\n    labels:\n      bad-name: x\n",
                   "lookout.yaml:5:7: rules[0].labels.bad-name: invalid name (letters, digits "
                   "and '_', not starting with a digit or '__')");
    s_expect_error("rules:\n  - name: a\n    query: up\n    labels:\n      __meta: x\n",
                   "lookout.yaml:5:7: rules[0].labels.__meta: invalid name (letters, digits "
                   "and '_', not starting with a digit or '__')");
    s_expect_error("rules:\n  - name: a\n    query: up\n    labels:\n      team:\n",
                   "lookout.yaml:5:12: rules[0].labels.team: expected a string, found nothing");
    s_expect_error("rules:\n  - name: a\n    query: up\n    labels: [team]\n",
                   "lookout.yaml:4:13: rules[0].labels: expected a mapping, found list");
    s_expect_error("rules:\n  - name: a\n    query: up\n    annotations:\n      summary: [x]\n",
                   "lookout.yaml:5:16: rules[0].annotations.summary: expected a string, found "
                   "list");
    s_expect_error("rules:\n  - just a string\n",
                   "lookout.yaml:2:5: rules[0]: expected a mapping, found scalar");
    s_expect_error("rules:\n  name: a\n",
                   "lookout.yaml:2:3: rules: expected a list, found mapping");
}

static void test_duplicate_rule_names(void **state)
{
    s_expect_error("rules:\n"
                   "  - name: same\n"
                   "    query: up\n"
                   "  - name: other\n"
                   "    query: up\n"
                   "  - name: same\n"
                   "    query: down\n",
                   "lookout.yaml:6:11: rules[2].name: duplicate rule name 'same' for tenant "
                   "00000000-0000-0000-0000-000000000001 (rules[0], line 2)");
    /* the tenant is compared after lower-casing */
    s_expect_error("rules:\n"
                   "  - {name: same, query: up, tenant: 5b9a3c1e-0000-4000-8000-00000000000a}\n"
                   "  - {name: same, query: up, tenant: 5B9A3C1E-0000-4000-8000-00000000000A}\n",
                   "lookout.yaml:3:12: rules[1].name: duplicate rule name 'same' for tenant "
                   "5b9a3c1e-0000-4000-8000-00000000000a (rules[0], line 2)");
}

static void test_unknown_keys(void **state)
{
    s_expect_error("rules: []\nrulez: []\n",
                   "lookout.yaml:2:1: unknown key 'rulez' (did you mean 'rules'? known keys: "
                   "rules, rules_settings, integrations, notify_settings, channels, users, "
                   "schedules, escalation_policies, route, inhibit_rules, heartbeats, "
                   "status_pages)");
    /* a top-level key that names no section is refused, with the list of sections */
    s_expect_error("rules: []\ncomponents: []\n",
                   "lookout.yaml:2:1: unknown key 'components' (known keys: rules, "
                   "rules_settings, integrations, notify_settings, channels, users, schedules, "
                   "escalation_policies, route, inhibit_rules, heartbeats, status_pages)");
    s_expect_error("rules:\n  - name: a\n    query: up\n    severty: info\n",
                   "lookout.yaml:4:5: rules[0]: unknown key 'severty' (did you mean 'severity'? "
                   "known keys: name, query, expr, duration, for, severity, labels, annotations, "
                   "tenant, interval)");
    s_expect_error("rules_settings:\n  url: http://x\n",
                   "lookout.yaml:2:3: rules_settings: unknown key 'url' (known keys: query_url, "
                   "interval, query_timeout, resend_interval)");
    s_expect_error("- a\n- b\n", "lookout.yaml:1:1: expected a mapping of sections (rules:, "
                                 "rules_settings:, ...), found a list");
}

static void test_rules_settings_errors(void **state)
{
    s_expect_error("rules_settings:\n  query_url: ftp://example.org\n",
                   "lookout.yaml:2:14: rules_settings.query_url: expected an http:// or https:// "
                   "URL");
    s_expect_error("rules_settings:\n  interval: 0\n",
                   "lookout.yaml:2:13: rules_settings.interval: must be at least 1s");
    s_expect_error("rules_settings:\n  query_timeout: fast\n",
                   "lookout.yaml:2:18: rules_settings.query_timeout: expected a duration like "
                   "30s, 5m, 1h");
    s_expect_error("rules_settings: 5\n",
                   "lookout.yaml:1:17: rules_settings: expected a mapping, found scalar");
}

/* ---- YAML level ------------------------------------------------------------------------- */

static void test_yaml_syntax_and_structure_errors(void **state)
{
    s_expect_error("rules:\n  - name: a\n   query: up\n",
                   "lookout.yaml:3:4: did not find expected '-' indicator while parsing a block "
                   "collection at line 2");
    s_expect_error("rules: []\nrules: []\n",
                   "lookout.yaml:2:1: duplicate key 'rules' (first set at line 1)");
    s_expect_error("rules: []\n---\nrules: []\n",
                   "lookout.yaml:2:1: only one YAML document is allowed");
    s_expect_error("? [a, b]\n: c\n",
                   "lookout.yaml:1:3: mapping keys must be plain text, not a list");
    s_expect_error("rules: *nothing\n",
                   "lookout.yaml:1:8: unknown anchor 'nothing' (define &nothing before using "
                   "*nothing)");
    s_expect_error("a: \"x\\0y\"\n", "lookout.yaml:1:4: text contains a NUL character");
}

static void test_anchors_and_merge_keys(void **state)
{
    const char *text = "rules:\n"
                       "  - &base\n"
                       "    name: first\n"
                       "    query: up == 0\n"
                       "    labels: &team {team: infra, tier: db}\n"
                       "  - <<: *base\n"
                       "    name: second\n"
                       "    labels:\n"
                       "      <<: *team\n"
                       "      tier: web\n";
    char err[512] = "";
    lk_config_t *config = s_load(text, err, sizeof err);
    if (!config)
        print_error("%s\n", err);
    assert_non_null(config);
    assert_int_equal(config->rule_count, 2);
    const lk_rule_t *second = &config->rules[1];
    assert_string_equal(second->name, "second");
    assert_string_equal(second->query, "up == 0");
    assert_string_equal(lk_labels_get(&second->labels, "team"), "infra");
    assert_string_equal(lk_labels_get(&second->labels, "tier"), "web");
    lk_config_destroy(&config);
}

/* `integrations:`: keys inline or from a file (relative to the configuration), tenant, and
   errors that never quote a key. */
static void test_integrations(void **state)
{
    (void)state;
    char *key_path = s_temp_file("0123456789abcdefABCDEF0123456789\n", 33);
    const char *slash = strrchr(key_path, '/');
    char text[1024];
    snprintf(text, sizeof text,
             "integrations:\n"
             "  - name: prometheus-eu\n"
             "    routing_key: R0123456789abcdef0123456789abcde\n"
             "    tenant: 5B9A3C1E-0000-4000-8000-00000000000A\n"
             "  - name: from-file\n"
             "    routing_key_file: %s\n"
             "    tenant: %s\n",
             key_path, LK_SYSTEM_TENANT);
    char err[512] = "";
    lk_config_t *config = s_load(text, err, sizeof err);
    if (!config)
        fail_msg("%s", err);
    assert_int_equal(config->integration_count, 2);
    assert_string_equal(config->integrations[0].name, "prometheus-eu");
    assert_string_equal(config->integrations[0].routing_key, "R0123456789abcdef0123456789abcde");
    assert_string_equal(config->integrations[0].tenant_id, "5b9a3c1e-0000-4000-8000-00000000000a");
    assert_int_equal(config->integrations[0].line, 2);
    assert_string_equal(config->integrations[1].routing_key, "0123456789abcdefABCDEF0123456789");
    assert_string_equal(config->integrations[1].tenant_id, LK_SYSTEM_TENANT);
    lk_config_destroy(&config);

    /* a relative routing_key_file is found next to the configuration file */
    snprintf(text, sizeof text,
             "integrations:\n  - name: a\n    routing_key_file: %s\n    tenant: %s\n", slash + 1,
             LK_SYSTEM_TENANT);
    char *config_path = malloc(strlen(key_path) + 16);
    sprintf(config_path, "%.*s/lookout.yaml", (int)(slash - key_path), key_path);
    FILE *file = fopen(config_path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
    assert_int_equal(lk_config_load(config_path, &config, err, sizeof err), 0);
    assert_string_equal(config->integrations[0].routing_key, "0123456789abcdefABCDEF0123456789");
    lk_config_destroy(&config);
    unlink(config_path);
    free(config_path);

    s_expect_error("integrations:\n  - name: a\n    routing_key: secret-but-short\n    tenant: "
                   "00000000-0000-0000-0000-000000000001\n",
                   "lookout.yaml:3:18: integrations[0].routing_key: the key must be 32 letters "
                   "and digits (like a PagerDuty integration key)");
    s_expect_error("integrations:\n  - name: a\n    tenant: 00000000-0000-0000-0000-000000000001\n",
                   "lookout.yaml:2:5: integrations[0].routing_key: is required (or "
                   "routing_key_file naming a file that holds it)");
    s_expect_error(
        "integrations:\n  - name: a\n    routing_key: 0123456789abcdef0123456789abcdef\n",
        "lookout.yaml:2:5: integrations[0].tenant: is required");
    s_expect_error("integrations:\n"
                   "  - {name: a, routing_key: 0123456789abcdef0123456789abcdef, tenant: "
                   "00000000-0000-0000-0000-000000000001}\n"
                   "  - {name: b, routing_key: 0123456789abcdef0123456789abcdef, tenant: "
                   "00000000-0000-0000-0000-000000000001}\n",
                   "lookout.yaml:3:5: integrations[1]: same key as integrations[0] (line 2): "
                   "every integration needs its own key");
    s_expect_error("integrations:\n"
                   "  - {name: a, routing_key: 0123456789abcdef0123456789abcdef, tenant: "
                   "00000000-0000-0000-0000-000000000001}\n"
                   "  - {name: a, routing_key: 0123456789abcdef0123456789abcdeX, tenant: "
                   "00000000-0000-0000-0000-000000000001}\n",
                   "lookout.yaml:3:12: integrations[1].name: duplicate integration name 'a' "
                   "(integrations[0], line 2)");
    s_expect_error(
        "integrations:\n  - name: a\n    routing_key_file: /nonexistent/key\n    tenant: "
        "00000000-0000-0000-0000-000000000001\n",
        "lookout.yaml:3:23: integrations[0].routing_key_file: cannot read "
        "/nonexistent/key");
    unlink(key_path);
    free(key_path);
}

static void test_billion_laughs(void **state)
{
    /* the classic: nine levels of nine aliases each, 9^9 copies of "lol" when expanded; the
       node limit stops it at the sixth level, a few hundred kilobytes in */
    char text[4096];
    size_t used = (size_t)snprintf(text, sizeof text, "a0: &a0 [lol]\n");
    for (int level = 1; level <= 9; level++) {
        used += (size_t)snprintf(text + used, sizeof text - used, "a%d: &a%d [", level, level);
        for (int i = 0; i < 9; i++)
            used += (size_t)snprintf(text + used, sizeof text - used, "%s*a%d", i ? ", " : "",
                                     level - 1);
        used += (size_t)snprintf(text + used, sizeof text - used, "]\n");
    }
    char err[512] = "";
    lk_yaml_doc_t *doc = lk_yaml_load_string("lookout.yaml", text, used, err, sizeof err);
    assert_null(doc);
    assert_memory_equal(err, "lookout.yaml:6:", 15); /* a5: 9 x 13942 nodes */
    assert_non_null(strstr(err, ": too many nodes (limit 100000, counting alias copies)"));

    /* through lk_config the message is the same */
    char err2[512] = "";
    assert_null(s_load(text, err2, sizeof err2));
    assert_string_equal(err, err2);

    /* many cheap aliases still hit the alias limit: 65 copies of one scalar */
    used = (size_t)snprintf(text, sizeof text, "a: &a x\nb: [");
    for (int i = 0; i < 65; i++)
        used += (size_t)snprintf(text + used, sizeof text - used, "%s*a", i ? ", " : "");
    used += (size_t)snprintf(text + used, sizeof text - used, "]\n");
    doc = lk_yaml_load_string("lookout.yaml", text, used, err, sizeof err);
    assert_null(doc);
    assert_string_equal(err, "lookout.yaml:2:261: too many aliases (limit 64)");
    /* 64 are fine */
    used = (size_t)snprintf(text, sizeof text, "a: &a x\nb: [");
    for (int i = 0; i < 64; i++)
        used += (size_t)snprintf(text + used, sizeof text - used, "%s*a", i ? ", " : "");
    used += (size_t)snprintf(text + used, sizeof text - used, "]\n");
    doc = lk_yaml_load_string("lookout.yaml", text, used, err, sizeof err);
    assert_non_null(doc);
    assert_int_equal(lk_yaml_get(doc->root, "b")->count, 64);
    assert_string_equal(lk_yaml_get(doc->root, "b")->items[63]->text, "x");
    lk_yaml_destroy(&doc);
}

static void test_depth_limit(void **state)
{
    char text[256];
    /* 32 levels are fine, 33 are not */
    for (int levels = 32; levels <= 33; levels++) {
        size_t used = (size_t)snprintf(text, sizeof text, "x: ");
        for (int i = 1; i < levels; i++)
            text[used++] = '[';
        used += (size_t)snprintf(text + used, sizeof text - used, "1");
        for (int i = 1; i < levels; i++)
            text[used++] = ']';
        text[used++] = '\n';
        char err[256] = "";
        lk_yaml_doc_t *doc = lk_yaml_load_string("deep.yaml", text, used, err, sizeof err);
        if (levels == 32) {
            assert_non_null(doc);
            lk_yaml_destroy(&doc);
        } else {
            assert_null(doc);
            assert_string_equal(err, "deep.yaml:1:35: nesting deeper than 32 levels");
        }
    }
    /* an alias cannot smuggle depth past the limit */
    size_t used = (size_t)snprintf(text, sizeof text, "a: &deep ");
    for (int i = 0; i < 20; i++)
        text[used++] = '[';
    text[used++] = '1';
    for (int i = 0; i < 20; i++)
        text[used++] = ']';
    used +=
        (size_t)snprintf(text + used, sizeof text - used, "\nb: [[[[[[[[[[[[*deep]]]]]]]]]]]]\n");
    char err[256] = "";
    assert_null(lk_yaml_load_string("deep.yaml", text, used, err, sizeof err));
    assert_string_equal(err, "deep.yaml:2:16: nesting deeper than 32 levels");
}

static void test_size_limit(void **state)
{
    size_t size = LK_YAML_MAX_BYTES + 1;
    char *text = malloc(size);
    memset(text, '#', size);
    char err[256] = "";
    assert_null(lk_yaml_load_string("big.yaml", text, size, err, sizeof err));
    assert_string_equal(err, "big.yaml: larger than 4194304 bytes");

    char *path = s_temp_file(text, size);
    lk_config_t *config = NULL;
    assert_int_equal(lk_config_load(path, &config, err, sizeof err), -1);
    char expected[256];
    snprintf(expected, sizeof expected, "%s: larger than 4194304 bytes", path);
    assert_string_equal(err, expected);
    unlink(path);
    free(path);

    /* exactly at the limit is accepted (a file of comments) */
    text[size - 2] = '\n';
    path = s_temp_file(text, size - 1);
    assert_int_equal(lk_config_load(path, &config, err, sizeof err), 0);
    lk_config_destroy(&config);
    unlink(path);
    free(path);
    free(text);
}

static void test_yaml_tree_and_getters(void **state)
{
    const char *text = "s: hello\n"
                       "q: 'null'\n"
                       "n: ~\n"
                       "i: 42\n"
                       "b: true\n"
                       "l:\n"
                       "  - 1\n"
                       "  - two\n";
    char err[256] = "";
    lk_yaml_doc_t *doc = lk_yaml_load_string("t.yaml", text, strlen(text), err, sizeof err);
    assert_non_null(doc);
    const lk_yaml_node_t *root = doc->root;
    assert_int_equal(root->kind, LK_YAML_MAPPING);
    assert_int_equal(root->count, 6);

    const lk_yaml_node_t *s = lk_yaml_get(root, "s");
    assert_int_equal(s->line, 1);
    assert_int_equal(s->column, 4);
    assert_int_equal(s->key_line, 1);
    assert_int_equal(s->key_column, 1);
    assert_false(lk_yaml_is_null(lk_yaml_get(root, "q"))); /* quoted: a string */
    assert_true(lk_yaml_is_null(lk_yaml_get(root, "n")));
    assert_true(lk_yaml_is_null(lk_yaml_get(root, "absent")));

    int64_t number = 0;
    assert_int_equal(lk_yaml_int(lk_yaml_get(root, "i"), "i", 0, 100, &number, err, sizeof err), 0);
    assert_int_equal(number, 42);
    assert_int_equal(lk_yaml_int(lk_yaml_get(root, "i"), "i", 0, 10, &number, err, sizeof err), -1);
    assert_string_equal(err, "t.yaml:4:4: i: expected an integer from 0 to 10");
    bool flag = false;
    assert_int_equal(lk_yaml_bool(lk_yaml_get(root, "b"), "b", &flag, err, sizeof err), 0);
    assert_true(flag);
    assert_int_equal(lk_yaml_bool(s, "s", &flag, err, sizeof err), -1);
    assert_string_equal(err, "t.yaml:1:4: s: expected true or false");

    const lk_yaml_node_t *list = lk_yaml_get(root, "l");
    assert_int_equal(lk_yaml_expect(list, LK_YAML_SEQUENCE, "l", err, sizeof err), 0);
    assert_int_equal(list->count, 2);
    assert_int_equal(list->items[1]->line, 8);
    assert_string_equal(list->items[1]->text, "two");
    assert_int_equal(lk_yaml_expect(list, LK_YAML_MAPPING, "l", err, sizeof err), -1);
    assert_string_equal(err, "t.yaml:7:3: l: expected a mapping, found list");

    assert_null(lk_yaml_require(root, "", "missing", err, sizeof err));
    assert_string_equal(err, "t.yaml:1:1: missing: is required");
    char *copy = NULL;
    assert_int_equal(lk_yaml_string(s, "s", 1, 3, &copy, err, sizeof err), -1);
    assert_string_equal(err, "t.yaml:1:4: s: longer than 3 bytes");
    assert_int_equal(lk_yaml_string(s, "s", 1, 10, &copy, err, sizeof err), 0);
    assert_string_equal(copy, "hello");
    free(copy);
    lk_yaml_destroy(&doc);
    assert_null(doc);
}

static void test_durations(void **state)
{
    const struct {
        const char *text;
        int64_t ms;
    } good[] = {
        {"0", 0},          {"0s", 0},          {"30s", 30000},        {"5m", 300000},
        {"1h", 3600000},   {"1h30m", 5400000}, {"500ms", 500},        {"1m30s500ms", 90500},
        {"2d", 172800000}, {"1w", 604800000},  {"1y", 31536000000LL}, {"90s", 90000},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        int64_t ms = -1;
        assert_true(lk_yaml_parse_duration(good[i].text, &ms));
        assert_int_equal(ms, good[i].ms);
    }
    const char *bad[] = {"",
                         "5",
                         "s",
                         "-1s",
                         "1.5s",
                         "5 m",
                         "1m1h",
                         "1s1s",
                         "1x",
                         "1S",
                         "30 s",
                         "1mss",
                         "99999999999999999999y"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t ms = -1;
        if (lk_yaml_parse_duration(bad[i], &ms))
            print_error("accepted '%s'\n", bad[i]);
        assert_false(lk_yaml_parse_duration(bad[i], &ms));
    }
    char text[32];
    lk_yaml_format_duration(5400000, text, sizeof text);
    assert_string_equal(text, "1h30m");
    lk_yaml_format_duration(0, text, sizeof text);
    assert_string_equal(text, "0s");
    lk_yaml_format_duration(90500, text, sizeof text);
    assert_string_equal(text, "1m30s500ms");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_file),
        cmocka_unit_test(test_empty_configurations),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_error_names_the_real_file),
        cmocka_unit_test(test_rule_errors),
        cmocka_unit_test(test_duplicate_rule_names),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_rules_settings_errors),
        cmocka_unit_test(test_yaml_syntax_and_structure_errors),
        cmocka_unit_test(test_anchors_and_merge_keys),
        cmocka_unit_test(test_integrations),
        cmocka_unit_test(test_billion_laughs),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_yaml_tree_and_getters),
        cmocka_unit_test(test_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
