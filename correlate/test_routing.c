/*  correlate routing tests: matchers, the route/inhibit_rules/heartbeats sections, route
    selection, and the engine's routes, inhibition, silences, heartbeat monitors, incident
    sources, flap counts, group_wait and snapshot rebuilds of all of these. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "lk_config.h"
#include "lk_match.h"

#define TENANT_A  "00000000-0000-0000-0000-0000000000aa"
#define TENANT_B  "00000000-0000-0000-0000-0000000000bb"
#define WINDOW_MS (10 * 60 * 1000)
#define T0        1800000000000LL

/* ---- helpers ----------------------------------------------------------------------------- */

static lk_config_t *s_config(const char *yaml)
{
    lk_config_t *config = NULL;
    char err[512];
    if (lk_config_load_string("test.yaml", yaml, strlen(yaml), &config, err, sizeof err) != 0)
        fail_msg("configuration rejected: %s", err);
    return config;
}

/* The load error of yaml (which must fail). */
static void s_config_fails(const char *yaml, const char *expected)
{
    lk_config_t *config = NULL;
    char err[512];
    assert_int_equal(
        lk_config_load_string("test.yaml", yaml, strlen(yaml), &config, err, sizeof err), -1);
    assert_null(config);
    if (!strstr(err, expected))
        fail_msg("error \"%s\" lacks \"%s\"", err, expected);
}

/* An alert with alertname=name and the label pairs in labels ("k=v,k=v"). */
static void s_alert(lk_alert_t *alert, const char *name, const char *labels,
                    lk_alert_status_t status, const char *source)
{
    memset(alert, 0, sizeof *alert);
    alert->source = strdup(source ? source : "api");
    alert->name = strdup(name);
    assert_int_equal(lk_labels_set(&alert->labels, "alertname", name), 0);
    char copy[256];
    snprintf(copy, sizeof copy, "%s", labels ? labels : "");
    for (char *pair = strtok(copy, ","); pair; pair = strtok(NULL, ",")) {
        char *eq = strchr(pair, '=');
        assert_non_null(eq);
        *eq = '\0';
        assert_int_equal(lk_labels_set(&alert->labels, pair, eq + 1), 0);
    }
    alert->severity = LK_SEV_WARNING;
    alert->status = status;
    alert->starts_at_ms = T0;
}

/* Sends one alert; returns the result. */
static lk_alert_result_t s_send(correlate_engine_t *engine, const char *tenant, const char *name,
                                const char *labels, lk_alert_status_t status, int64_t now_ms)
{
    lk_alert_t alert;
    s_alert(&alert, name, labels, status, NULL);
    lk_alert_result_t result;
    correlate_engine_alert(engine, tenant, &alert, now_ms, &result);
    lk_alert_clear(&alert);
    return result;
}

static size_t s_count_events(const lk_msg_t *batch, const char *type)
{
    size_t count = 0;
    for (size_t i = 0; i < batch->event_count; i++)
        count += strcmp(batch->events[i].type, type) == 0;
    return count;
}

/* Takes and clears the pending batch; returns how many events of type it held. */
static size_t s_drain(correlate_engine_t *engine, const char *type)
{
    lk_msg_t batch;
    correlate_engine_take_batch(engine, &batch);
    size_t count = type ? s_count_events(&batch, type) : 0;
    lk_msg_clear(&batch);
    return count;
}

/* Takes and clears the pending batch; returns how many firing alert rows it held for the
   heartbeat monitor. */
static size_t s_drain_monitor(correlate_engine_t *engine, const char *monitor)
{
    lk_msg_t batch;
    correlate_engine_take_batch(engine, &batch);
    size_t count = 0;
    for (size_t i = 0; i < batch.alert_count; i++) {
        const char *label = lk_labels_get(&batch.alerts[i].labels, "monitor");
        count += label && strcmp(label, monitor) == 0 && batch.alerts[i].status == LK_ALERT_FIRING;
    }
    lk_msg_clear(&batch);
    return count;
}

/* A silence_command for tenant. Returns the reply (caller clears). */
static lk_msg_t s_silence(correlate_engine_t *engine, const char *tenant,
                          lk_silence_action_t action, const char *id, const char *name,
                          const char *value, bool is_regex, int64_t starts_ms, int64_t ends_ms,
                          int64_t now_ms)
{
    lk_msg_t request, reply;
    lk_msg_init(&request, LK_MSG_SILENCE_COMMAND);
    request.req = 11;
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", tenant);
    request.silence_action = action;
    request.actor = strdup("alice");
    lk_silence_t silence;
    memset(&silence, 0, sizeof silence);
    if (id)
        snprintf(silence.id, sizeof silence.id, "%s", id);
    lk_matcher_t matcher = {
        .name = (char *)name, .value = (char *)value, .is_regex = is_regex, .is_equal = true};
    silence.matchers = name ? &matcher : NULL;
    silence.matcher_count = name ? 1 : 0;
    silence.starts_at_ms = starts_ms;
    silence.ends_at_ms = ends_ms;
    silence.comment = (char *)"maintenance";
    assert_int_equal(lk_msg_add_silence(&request, &silence), 0);
    correlate_engine_silence(engine, &request, &reply, now_ms);
    lk_msg_clear(&request);
    assert_int_equal(reply.type, LK_MSG_CONTROL_REPLY);
    assert_int_equal(reply.req, 11);
    return reply;
}

/* A heartbeat_ping; interval_ms 0 = not given. Returns the reply status. */
static lk_status_t s_ping(correlate_engine_t *engine, const char *tenant, const char *name,
                          int64_t interval_ms, int64_t now_ms)
{
    lk_msg_t request, reply;
    lk_msg_init(&request, LK_MSG_HEARTBEAT_PING);
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", tenant);
    lk_heartbeat_t ping;
    memset(&ping, 0, sizeof ping);
    snprintf(ping.tenant_id, sizeof ping.tenant_id, "%s", tenant);
    ping.name = (char *)name;
    if (interval_ms) {
        ping.interval_ms = interval_ms;
        ping.given = LK_HEARTBEAT_GIVEN_INTERVAL;
    }
    assert_int_equal(lk_msg_add_heartbeat(&request, &ping), 0);
    correlate_engine_heartbeat(engine, &request, &reply, now_ms);
    lk_msg_clear(&request);
    lk_status_t status = reply.status;
    if (status == LK_STATUS_OK) {
        assert_int_equal(reply.heartbeat_count, 1);
        assert_string_equal(reply.heartbeats[0].name, name);
        assert_true(reply.heartbeats[0].last_ping_at_ms == now_ms);
    }
    lk_msg_clear(&reply);
    return status;
}

static correlate_engine_t *s_engine(const lk_config_t *config)
{
    correlate_engine_t *engine = correlate_engine_new("alertname", WINDOW_MS);
    correlate_engine_set_config(engine, config, 1, 0);
    correlate_engine_load_finish(engine, T0);
    return engine;
}

/* ---- matchers and configuration ---------------------------------------------------------- */

static void test_matchers(void **state)
{
    (void)state;
    lk_matcher_t *matchers = NULL;
    size_t count = 0;
    char err[256];
    assert_int_equal(lk_matchers_parse("{severity=\"critical\", node=~\"edge-[0-9]+\", "
                                       "team!=video,env !~ \"dev|test\"}",
                                       &matchers, &count, err, sizeof err),
                     0);
    assert_int_equal(count, 4);
    assert_string_equal(matchers[2].name, "team");
    assert_string_equal(matchers[2].value, "video");
    assert_false(matchers[2].is_equal);
    assert_true(matchers[3].is_regex && !matchers[3].is_equal);
    lk_matchset_t *set = lk_matchset_new(matchers, count, err, sizeof err);
    assert_non_null(set);

    lk_labels_t labels = {0};
    lk_labels_set(&labels, "severity", "critical");
    lk_labels_set(&labels, "node", "edge-12");
    assert_true(lk_matchset_matches(set, &labels)); /* team and env absent: "" */
    lk_labels_set(&labels, "node", "xedge-12");     /* anchored: no partial match */
    assert_false(lk_matchset_matches(set, &labels));
    lk_labels_set(&labels, "node", "edge-12x");
    assert_false(lk_matchset_matches(set, &labels));
    lk_labels_set(&labels, "node", "edge-7");
    lk_labels_set(&labels, "env", "test");
    assert_false(lk_matchset_matches(set, &labels));
    lk_labels_set(&labels, "env", "prod");
    lk_labels_set(&labels, "team", "video");
    assert_false(lk_matchset_matches(set, &labels));
    lk_labels_set(&labels, "team", "radio");
    assert_true(lk_matchset_matches(set, &labels));

    char *text = lk_matchers_format(matchers, count);
    assert_string_equal(text, "{severity=\"critical\",node=~\"edge-[0-9]+\",team!=\"video\","
                              "env!~\"dev|test\"}");
    free(text);
    lk_matchset_destroy(&set);
    assert_null(set);
    lk_matchers_clear(&matchers, &count);
    lk_labels_clear(&labels);

    /* errors name the problem; nothing is appended */
    assert_int_equal(lk_matchers_parse("node", &matchers, &count, err, sizeof err), -1);
    assert_non_null(strstr(err, "expected one of"));
    assert_int_equal(lk_matchers_parse("{a=\"b\"", &matchers, &count, err, sizeof err), -1);
    assert_int_equal(lk_matchers_parse("9a=b", &matchers, &count, err, sizeof err), -1);
    assert_int_equal(lk_matchers_parse("a=\"b", &matchers, &count, err, sizeof err), -1);
    assert_int_equal(count, 0);
    lk_matcher_t bad = {
        .name = (char *)"a", .value = (char *)"(", .is_regex = true, .is_equal = true};
    assert_int_equal(lk_matcher_check(&bad, err, sizeof err), -1);
    assert_non_null(strstr(err, "regex"));
    assert_null(lk_matchset_new(&bad, 1, err, sizeof err));
}

static const char *s_routes_yaml = "escalation_policies:\n"
                                   "  - name: default\n"
                                   "    levels: [{delay: 0s, targets: [{channel: ops}]}]\n"
                                   "  - name: video-oncall\n"
                                   "    levels: [{delay: 0s, targets: [{channel: ops}]}]\n"
                                   "channels:\n"
                                   "  - {name: ops, type: slack, url: 'http://127.0.0.1:9/hook'}\n"
                                   "route:\n"
                                   "  group_by: [alertname]\n"
                                   "  escalation_policy: default\n"
                                   "  routes:\n"
                                   "    - matchers: ['team=\"video\"']\n"
                                   "      group_by: [alertname, node]\n"
                                   "      escalation_policy: video-oncall\n"
                                   "      reopen_window: 1m\n"
                                   "      routes:\n"
                                   "        - matchers: ['severity=~\"crit.*\"']\n"
                                   "          severity: critical\n"
                                   "          group_wait: 30s\n"
                                   "    - matchers: 'env=\"dev\"'\n"
                                   "      severity: info\n"
                                   "      continue: true\n"
                                   "    - matchers: ['env=~\"dev|staging\"']\n"
                                   "      group_by: ['...']\n"
                                   "    - tenant: " TENANT_B "\n"
                                   "      group_by: []\n"
                                   "inhibit_rules:\n"
                                   "  - source_matchers: ['alertname=\"node_down\"']\n"
                                   "    target_matchers: ['alertname=\"stream_failure\"']\n"
                                   "    equal: [node]\n"
                                   "heartbeats:\n"
                                   "  - name: nightly-backup\n"
                                   "    tenant: " TENANT_A "\n"
                                   "    interval: 1h\n"
                                   "    grace: 5m\n"
                                   "    labels: {team: storage}\n";

static void test_config_sections(void **state)
{
    (void)state;
    lk_config_t *config = s_config(s_routes_yaml);
    const lk_routing_config_t *routing = &config->routing;
    const lk_route_t *root = routing->route;
    assert_non_null(root);
    assert_string_equal(root->key, "{}");
    assert_int_equal(root->route_count, 4);
    assert_int_equal(routing->route_total, 6);
    const lk_route_t *video = &root->routes[0];
    assert_string_equal(video->key, "{}/{team=\"video\"}");
    assert_int_equal(video->group_by_count, 2);
    assert_string_equal(video->escalation_policy, "video-oncall");
    assert_true(video->reopen_window_ms == 60000);
    const lk_route_t *critical = &video->routes[0];
    assert_string_equal(critical->key, "{}/{team=\"video\"}/{severity=~\"crit.*\"}");
    /* inherited: group_by, policy and window; own: severity and group_wait */
    assert_int_equal(critical->group_by_count, 2);
    assert_string_equal(critical->escalation_policy, "video-oncall");
    assert_true(critical->reopen_window_ms == 60000);
    assert_true(critical->has_severity && critical->severity == LK_SEV_CRITICAL);
    assert_true(critical->group_wait_ms == 30000);
    assert_true(root->routes[1].continue_matching);
    assert_true(root->routes[2].group_by_all);
    assert_string_equal(root->routes[3].tenant_id, TENANT_B);
    assert_int_equal(root->routes[3].group_by_count, 0);
    assert_true(root->reopen_window_ms == -1); /* the environment's */
    assert_ptr_equal(lk_route_find(root, "{}/{team=\"video\"}"), video);
    assert_null(lk_route_find(root, "{}/{team=\"audio\"}"));

    assert_int_equal(routing->inhibit_rule_count, 1);
    assert_int_equal(routing->inhibit_rules[0].equal_count, 1);
    assert_int_equal(routing->heartbeat_count, 1);
    assert_true(routing->heartbeats[0].interval_ms == 3600000);
    assert_true(routing->heartbeats[0].grace_ms == 300000);
    assert_int_equal(routing->heartbeats[0].severity, LK_SEV_CRITICAL);

    /* selection: deepest first match; continue lets later siblings match too */
    const lk_route_t *matches[LK_ROUTE_MATCHES_MAX];
    lk_labels_t labels = {0};
    lk_labels_set(&labels, "team", "video");
    lk_labels_set(&labels, "severity", "critical");
    assert_int_equal(lk_route_match(root, TENANT_A, &labels, matches, 16), 1);
    assert_ptr_equal(matches[0], critical);
    lk_labels_set(&labels, "severity", "warning");
    assert_int_equal(lk_route_match(root, TENANT_A, &labels, matches, 16), 1);
    assert_ptr_equal(matches[0], video);
    lk_labels_clear(&labels);
    lk_labels_set(&labels, "env", "dev");
    assert_int_equal(lk_route_match(root, TENANT_A, &labels, matches, 16), 2);
    assert_ptr_equal(matches[0], &root->routes[1]);
    assert_ptr_equal(matches[1], &root->routes[2]);
    lk_labels_clear(&labels);
    lk_labels_set(&labels, "env", "prod");
    assert_int_equal(lk_route_match(root, TENANT_A, &labels, matches, 16), 1);
    assert_ptr_equal(matches[0], root); /* nothing below matched */
    assert_int_equal(lk_route_match(root, TENANT_B, &labels, matches, 16), 1);
    assert_ptr_equal(matches[0], &root->routes[3]);
    lk_labels_clear(&labels);
    lk_config_destroy(&config);
}

static void test_config_errors(void **state)
{
    (void)state;
    s_config_fails("route:\n  matchers: ['a=\"b\"']\n", "route.matchers: the root");
    s_config_fails("route:\n  routes:\n    - matchers: ['a=~\"(\"']\n",
                   "route.routes[0].matchers: regex");
    s_config_fails("route:\n  routes:\n    - matchers: ['a']\n", "expected one of");
    s_config_fails("route:\n  routes:\n    - escalation_policy: nobody\n",
                   "no escalation policy named 'nobody'");
    s_config_fails("route:\n  group_bye: [a]\n", "unknown key 'group_bye'");
    s_config_fails("route:\n  continue: true\n", "not allowed on the root route");
    s_config_fails("route:\n  group_by: ['...', a]\n", "must be the only entry");
    s_config_fails("inhibit_rules:\n  - target_matchers: ['a=\"b\"']\n",
                   "inhibit_rules[0].source_matchers: is required");
    s_config_fails("heartbeats:\n  - name: 'a b'\n    interval: 1m\n", "URL segment");
    s_config_fails("heartbeats:\n  - name: x\n    interval: 1m\n    labels: {monitor: y}\n",
                   "set by Lookout");
    s_config_fails("heartbeats:\n  - {name: x, interval: 1m}\n  - {name: x, interval: 2m}\n",
                   "duplicate monitor 'x'");
}

/* ---- engine: routes ---------------------------------------------------------------------- */

static void test_routes_grouping(void **state)
{
    (void)state;
    lk_config_t *config = s_config(s_routes_yaml);
    correlate_engine_t *engine = s_engine(config);
    s_drain(engine, NULL);

    /* the video route groups by node, names its policy, keeps the route path in the key */
    lk_alert_result_t a =
        s_send(engine, TENANT_A, "stream_failure", "team=video,node=n1", LK_ALERT_FIRING, T0);
    lk_alert_result_t b =
        s_send(engine, TENANT_A, "stream_failure", "team=video,node=n2", LK_ALERT_FIRING, T0);
    lk_alert_result_t c = s_send(engine, TENANT_A, "stream_failure", "team=video,node=n1,stream=s2",
                                 LK_ALERT_FIRING, T0);
    assert_string_not_equal(a.incident_id, b.incident_id);
    assert_string_equal(a.incident_id, c.incident_id);
    const lk_incident_t *incident = correlate_engine_incident(engine, TENANT_A, a.incident_id);
    assert_string_equal(incident->group_key,
                        "{}/{team=\"video\"}:{alertname=\"stream_failure\", node=\"n1\"}");
    assert_string_equal(incident->title, "stream_failure (node=n1)");
    assert_string_equal(incident->policy, "video-oncall");
    assert_int_equal(incident->alert_count, 2);
    assert_int_equal(s_drain(engine, "incident_triggered"), 2);

    /* the nested critical route: severity override, group_wait delays the announcement */
    lk_alert_result_t d =
        s_send(engine, TENANT_A, "encoder_down", "team=video,severity=crit", LK_ALERT_FIRING, T0);
    incident = correlate_engine_incident(engine, TENANT_A, d.incident_id);
    assert_int_equal(incident->severity, LK_SEV_CRITICAL);
    assert_true(incident->group_wait_until_ms == T0 + 30000);
    assert_int_equal(s_drain(engine, "incident_triggered"), 0);
    s_send(engine, TENANT_A, "encoder_down", "team=video,severity=crit,node=n9", LK_ALERT_FIRING,
           T0 + 1000);
    correlate_engine_tick(engine, T0 + 29000);
    assert_int_equal(s_drain(engine, "incident_triggered"), 0);
    correlate_engine_tick(engine, T0 + 30000);
    assert_int_equal(s_drain(engine, "incident_triggered"), 1);
    incident = correlate_engine_incident(engine, TENANT_A, d.incident_id);
    assert_true(incident->group_wait_until_ms == 0);

    /* the root route: default policy; a per-tenant route for tenant B groups all alike */
    lk_alert_result_t e = s_send(engine, TENANT_A, "disk_full", "env=prod", LK_ALERT_FIRING, T0);
    assert_string_equal(correlate_engine_incident(engine, TENANT_A, e.incident_id)->policy,
                        "default");
    lk_alert_result_t f = s_send(engine, TENANT_B, "disk_full", "env=prod", LK_ALERT_FIRING, T0);
    lk_alert_result_t g = s_send(engine, TENANT_B, "cpu_high", "env=prod", LK_ALERT_FIRING, T0);
    assert_string_equal(f.incident_id, g.incident_id);
    assert_string_equal(correlate_engine_incident(engine, TENANT_B, f.incident_id)->group_key,
                        "{}/{}:{}");

    /* continue: both routes are selected; the first groups (by its inherited alertname) and
       gives the severity, the root's policy is inherited */
    lk_alert_result_t h =
        s_send(engine, TENANT_A, "disk_full", "env=dev,node=n1", LK_ALERT_FIRING, T0);
    incident = correlate_engine_incident(engine, TENANT_A, h.incident_id);
    assert_int_equal(incident->severity, LK_SEV_INFO);
    assert_string_equal(incident->group_key, "{}/{env=\"dev\"}:{alertname=\"disk_full\"}");
    /* staging matches only the group-by-everything route */
    lk_alert_result_t k =
        s_send(engine, TENANT_A, "disk_full", "env=staging,node=n1", LK_ALERT_FIRING, T0);
    incident = correlate_engine_incident(engine, TENANT_A, k.incident_id);
    assert_string_equal(incident->group_key, "{}/{env=~\"dev|staging\"}:{alertname=\"disk_full\", "
                                             "env=\"staging\", node=\"n1\"}");
    assert_int_equal(incident->severity, LK_SEV_WARNING);

    /* the video route's 1 m reopen window: a re-fire after 2 m opens a new incident */
    s_send(engine, TENANT_A, "stream_failure", "team=video,node=n2", LK_ALERT_RESOLVED, T0 + 1000);
    lk_alert_result_t later = s_send(engine, TENANT_A, "stream_failure", "team=video,node=n2",
                                     LK_ALERT_FIRING, T0 + 121000);
    assert_string_not_equal(later.incident_id, b.incident_id);
    s_drain(engine, NULL);
    correlate_engine_destroy(&engine);
    lk_config_destroy(&config);
}

/* ---- engine: inhibition ------------------------------------------------------------------ */

static void test_inhibition(void **state)
{
    (void)state;
    lk_config_t *config = s_config(s_routes_yaml);
    correlate_engine_t *engine = s_engine(config);
    s_drain(engine, NULL);

    lk_alert_result_t source =
        s_send(engine, TENANT_A, "node_down", "node=n1", LK_ALERT_FIRING, T0);
    assert_int_equal(source.outcome, LK_OUTCOME_NEW);
    /* same node: held, no incident; another node: an incident as usual */
    lk_alert_result_t held =
        s_send(engine, TENANT_A, "stream_failure", "node=n1,stream=a", LK_ALERT_FIRING, T0 + 10);
    assert_int_equal(held.outcome, LK_OUTCOME_NEW);
    assert_string_equal(held.incident_id, "");
    lk_alert_result_t other =
        s_send(engine, TENANT_A, "stream_failure", "node=n2,stream=a", LK_ALERT_FIRING, T0 + 10);
    assert_int_equal(strlen(other.incident_id), LK_UUID_STR_LEN);
    /* another tenant's node_down inhibits nothing of tenant B */
    lk_alert_result_t tenant_b =
        s_send(engine, TENANT_B, "stream_failure", "node=n1", LK_ALERT_FIRING, T0 + 10);
    assert_int_equal(strlen(tenant_b.incident_id), LK_UUID_STR_LEN);
    assert_int_equal(correlate_engine_held_count(engine), 1);
    const lk_alert_t *row = correlate_engine_held(engine, TENANT_A, held.fingerprint);
    assert_non_null(row);
    assert_int_equal(row->state, LK_ALERT_INHIBITED);
    assert_string_equal(row->suppressed_by, "inhibit_rules[0]");

    /* the held row travels to store with incident_id "" and its state */
    lk_msg_t batch;
    correlate_engine_take_batch(engine, &batch);
    bool seen = false;
    for (size_t i = 0; i < batch.alert_count; i++)
        if (strcmp(batch.alerts[i].fingerprint, held.fingerprint) == 0) {
            seen = true;
            assert_string_equal(batch.alerts[i].incident_id, "");
            assert_int_equal(batch.alerts[i].state, LK_ALERT_INHIBITED);
        }
    assert_true(seen);
    lk_msg_clear(&batch);

    /* a re-send of the held alert is acked from memory */
    lk_alert_result_t again =
        s_send(engine, TENANT_A, "stream_failure", "node=n1,stream=a", LK_ALERT_FIRING, T0 + 20);
    assert_int_equal(again.outcome, LK_OUTCOME_UNCHANGED);
    assert_int_equal(correlate_engine_pending_items(engine), 0);

    /* the source resolves: the held alert still fires, so it opens its incident */
    s_send(engine, TENANT_A, "node_down", "node=n1", LK_ALERT_RESOLVED, T0 + 30);
    assert_int_equal(correlate_engine_held_count(engine), 0);
    correlate_engine_take_batch(engine, &batch);
    const char *released = NULL;
    for (size_t i = 0; i < batch.alert_count; i++)
        if (strcmp(batch.alerts[i].fingerprint, held.fingerprint) == 0 &&
            batch.alerts[i].incident_id[0])
            released = batch.alerts[i].incident_id;
    assert_non_null(released);
    /* it joins the group's open incident (n2's stream_failure shares alertname) */
    assert_string_equal(released, other.incident_id);
    lk_msg_clear(&batch);

    /* an alert matching both sides is not inhibited by itself */
    lk_config_t *two = s_config("inhibit_rules:\n"
                                "  - source_matchers: ['severity=\"critical\"']\n"
                                "    target_matchers: ['severity=~\"critical|warning\"']\n"
                                "    equal: [node]\n");
    correlate_engine_t *second = s_engine(two);
    lk_alert_result_t crit =
        s_send(second, TENANT_A, "x", "severity=critical,node=n1", LK_ALERT_FIRING, T0);
    assert_int_equal(strlen(crit.incident_id), LK_UUID_STR_LEN);
    lk_alert_result_t warn =
        s_send(second, TENANT_A, "y", "severity=warning,node=n1", LK_ALERT_FIRING, T0);
    assert_string_equal(warn.incident_id, "");
    lk_alert_result_t crit2 =
        s_send(second, TENANT_A, "z", "severity=critical,node=n1", LK_ALERT_FIRING, T0);
    assert_int_equal(strlen(crit2.incident_id), LK_UUID_STR_LEN); /* two-sided: not */
    /* the held warning resolves: it is forgotten */
    s_send(second, TENANT_A, "y", "severity=warning,node=n1", LK_ALERT_RESOLVED, T0 + 5);
    assert_int_equal(correlate_engine_held_count(second), 0);
    correlate_engine_destroy(&second);
    lk_config_destroy(&two);

    s_drain(engine, NULL);
    correlate_engine_destroy(&engine);
    lk_config_destroy(&config);
}

/* ---- engine: silences -------------------------------------------------------------------- */

static void test_silences(void **state)
{
    (void)state;
    correlate_engine_t *engine = s_engine(NULL);

    /* invalid: no matcher, bad regex, ending in the past; unknown id */
    lk_msg_t reply =
        s_silence(engine, TENANT_A, LK_SILENCE_CREATE, NULL, NULL, NULL, false, 0, T0 + 1000, T0);
    assert_int_equal(reply.status, LK_STATUS_INVALID);
    lk_msg_clear(&reply);
    reply =
        s_silence(engine, TENANT_A, LK_SILENCE_CREATE, NULL, "node", "(", true, 0, T0 + 1000, T0);
    assert_int_equal(reply.status, LK_STATUS_INVALID);
    lk_msg_clear(&reply);
    reply =
        s_silence(engine, TENANT_A, LK_SILENCE_CREATE, NULL, "node", "n1", false, 0, T0 - 1, T0);
    assert_int_equal(reply.status, LK_STATUS_INVALID);
    lk_msg_clear(&reply);
    reply = s_silence(engine, TENANT_A, LK_SILENCE_EXPIRE, "01a00000-0000-7000-8000-000000000000",
                      NULL, NULL, false, 0, 0, T0);
    assert_int_equal(reply.status, LK_STATUS_NOT_FOUND);
    lk_msg_clear(&reply);
    assert_int_equal(correlate_engine_pending_items(engine), 0);

    /* a silence for node=~"n[12]" over [T0, T0 + 60 s) */
    reply = s_silence(engine, TENANT_A, LK_SILENCE_CREATE, NULL, "node", "n[12]", true, 0,
                      T0 + 60000, T0);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_int_equal(reply.silence_count, 1);
    char id[LK_UUID_STR_LEN + 1];
    strcpy(id, reply.silences[0].id);
    assert_true(reply.silences[0].starts_at_ms == T0);
    assert_string_equal(reply.silences[0].created_by, "alice");
    lk_msg_clear(&reply);
    lk_msg_t batch;
    correlate_engine_take_batch(engine, &batch);
    assert_int_equal(batch.silence_count, 1);
    lk_msg_clear(&batch);

    lk_alert_result_t silenced =
        s_send(engine, TENANT_A, "disk_full", "node=n1", LK_ALERT_FIRING, T0 + 10);
    assert_string_equal(silenced.incident_id, "");
    const lk_alert_t *row = correlate_engine_held(engine, TENANT_A, silenced.fingerprint);
    assert_int_equal(row->state, LK_ALERT_SILENCED);
    assert_string_equal(row->suppressed_by, id);
    lk_alert_result_t loud =
        s_send(engine, TENANT_A, "disk_full", "node=n3", LK_ALERT_FIRING, T0 + 10);
    assert_int_equal(strlen(loud.incident_id), LK_UUID_STR_LEN);
    lk_alert_result_t other_tenant =
        s_send(engine, TENANT_B, "disk_full", "node=n1", LK_ALERT_FIRING, T0 + 10);
    assert_int_equal(strlen(other_tenant.incident_id), LK_UUID_STR_LEN);
    /* another tenant cannot expire it */
    reply = s_silence(engine, TENANT_B, LK_SILENCE_EXPIRE, id, NULL, NULL, false, 0, 0, T0 + 20);
    assert_int_equal(reply.status, LK_STATUS_NOT_FOUND);
    lk_msg_clear(&reply);

    /* expiring releases the silenced alert into the group's open incident */
    reply = s_silence(engine, TENANT_A, LK_SILENCE_EXPIRE, id, NULL, NULL, false, 0, 0, T0 + 30);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_true(reply.silences[0].ends_at_ms == T0 + 30);
    lk_msg_clear(&reply);
    assert_int_equal(correlate_engine_held_count(engine), 0);
    assert_int_equal(correlate_engine_silence_count(engine), 0);
    const lk_incident_t *incident = correlate_engine_incident(engine, TENANT_A, loud.incident_id);
    assert_int_equal(incident->alert_count, 2);

    /* a silence that ends by time: the tick releases its alert */
    reply = s_silence(engine, TENANT_A, LK_SILENCE_CREATE, NULL, "alertname", "cpu_high", false, 0,
                      T0 + 1000, T0 + 100);
    lk_msg_clear(&reply);
    lk_alert_result_t quiet = s_send(engine, TENANT_A, "cpu_high", NULL, LK_ALERT_FIRING, T0 + 200);
    assert_string_equal(quiet.incident_id, "");
    correlate_engine_tick(engine, T0 + 999);
    assert_int_equal(correlate_engine_held_count(engine), 1);
    correlate_engine_tick(engine, T0 + 1000);
    assert_int_equal(correlate_engine_held_count(engine), 0);
    assert_non_null(
        correlate_engine_group_incident(engine, TENANT_A, "{}:{alertname=\"cpu_high\"}"));

    /* a pending silence silences only from its start */
    reply = s_silence(engine, TENANT_A, LK_SILENCE_CREATE, NULL, "alertname", "later", false,
                      T0 + 5000, T0 + 9000, T0 + 2000);
    assert_int_equal(reply.status, LK_STATUS_OK);
    lk_msg_clear(&reply);
    lk_alert_result_t early =
        s_send(engine, TENANT_A, "later", "node=a", LK_ALERT_FIRING, T0 + 3000);
    assert_int_equal(strlen(early.incident_id), LK_UUID_STR_LEN);
    lk_alert_result_t during = s_send(engine, TENANT_A, "later2", NULL, LK_ALERT_FIRING, T0 + 6000);
    assert_int_equal(strlen(during.incident_id), LK_UUID_STR_LEN); /* not matched */
    s_drain(engine, NULL);
    correlate_engine_destroy(&engine);
}

/* ---- engine: heartbeats ------------------------------------------------------------------ */

static void test_heartbeats(void **state)
{
    (void)state;
    lk_config_t *config = s_config(s_routes_yaml);
    correlate_engine_t *engine = correlate_engine_new("alertname", WINDOW_MS);
    correlate_engine_set_config(engine, config, 1, 0);
    correlate_engine_load_finish(engine, T0); /* declares nightly-backup */
    assert_int_equal(correlate_engine_monitor_count(engine), 1);
    lk_msg_t batch;
    correlate_engine_take_batch(engine, &batch);
    assert_int_equal(batch.heartbeat_count, 1);
    assert_string_equal(batch.heartbeats[0].name, "nightly-backup");
    lk_msg_clear(&batch);

    /* unknown monitor without an interval: not found; with one: created */
    assert_int_equal(s_ping(engine, TENANT_A, "cron-job", 0, T0), LK_STATUS_NOT_FOUND);
    assert_int_equal(s_ping(engine, TENANT_A, "bad name", 60000, T0), LK_STATUS_INVALID);
    assert_int_equal(s_ping(engine, TENANT_A, "cron-job", 60000, T0), LK_STATUS_OK);
    assert_int_equal(s_ping(engine, TENANT_A, "cron-job", 0, T0 + 50000), LK_STATUS_OK);
    correlate_engine_take_batch(engine, &batch);
    assert_int_equal(batch.heartbeat_count, 1); /* two pings, one row per batch */
    assert_true(batch.heartbeats[0].last_ping_at_ms == T0 + 50000);
    lk_msg_clear(&batch);

    /* no ping for a minute after the last: heartbeat_missed fires */
    correlate_engine_tick(engine, T0 + 109999);
    assert_null(
        correlate_engine_group_incident(engine, TENANT_A, "{}:{alertname=\"heartbeat_missed\"}"));
    correlate_engine_tick(engine, T0 + 110000);
    const lk_incident_t *incident =
        correlate_engine_group_incident(engine, TENANT_A, "{}:{alertname=\"heartbeat_missed\"}");
    assert_non_null(incident);
    assert_int_equal(incident->status, LK_INCIDENT_TRIGGERED);
    assert_int_equal(incident->severity, LK_SEV_CRITICAL);
    assert_string_equal(incident->sources[0], "heartbeat");
    char id[LK_UUID_STR_LEN + 1];
    strcpy(id, incident->id);
    correlate_engine_take_batch(engine, &batch);
    assert_int_equal(batch.heartbeat_count, 1);
    assert_true(batch.heartbeats[0].missed);
    assert_int_equal(s_count_events(&batch, "incident_triggered"), 1);
    bool monitor_label = false;
    for (size_t i = 0; i < batch.alert_count; i++)
        monitor_label |= lk_labels_get(&batch.alerts[i].labels, "monitor") &&
                         strcmp(lk_labels_get(&batch.alerts[i].labels, "monitor"), "cron-job") == 0;
    assert_true(monitor_label);
    lk_msg_clear(&batch);
    /* still missed: no second alert */
    correlate_engine_tick(engine, T0 + 300000);
    assert_int_equal(s_drain(engine, "alert_added"), 0);

    /* the next ping resolves it */
    assert_int_equal(s_ping(engine, TENANT_A, "cron-job", 0, T0 + 310000), LK_STATUS_OK);
    incident = correlate_engine_incident(engine, TENANT_A, id);
    assert_int_equal(incident->status, LK_INCIDENT_RESOLVED);
    assert_int_equal(s_drain(engine, "incident_resolved"), 1);

    /* the declared monitor: armed at its declaration, interval 1 h + grace 5 m */
    correlate_engine_tick(engine, T0 + 3900000 - 1);
    assert_int_equal(s_drain_monitor(engine, "nightly-backup"), 0);
    correlate_engine_tick(engine, T0 + 3900000);
    assert_int_equal(s_drain_monitor(engine, "nightly-backup"), 1);
    correlate_engine_destroy(&engine);
    lk_config_destroy(&config);
}

/* ---- engine: sources, flaps ------------------------------------------------------------- */

static void test_sources_and_flaps(void **state)
{
    (void)state;
    correlate_engine_t *engine = s_engine(NULL);
    const char *sources[] = {"prometheus", "api", "prometheus", "periscope"};
    char incident_id[LK_UUID_STR_LEN + 1] = "";
    for (int i = 0; i < 4; i++) {
        lk_alert_t alert;
        char labels[32];
        snprintf(labels, sizeof labels, "instance=h%d", i);
        s_alert(&alert, "cpu_high", labels, LK_ALERT_FIRING, sources[i]);
        lk_alert_result_t result;
        correlate_engine_alert(engine, TENANT_A, &alert, T0 + i, &result);
        lk_alert_clear(&alert);
        if (i)
            assert_string_equal(result.incident_id, incident_id);
        strcpy(incident_id, result.incident_id);
    }
    const lk_incident_t *incident = correlate_engine_incident(engine, TENANT_A, incident_id);
    assert_int_equal(incident->source_count, 3);
    assert_string_equal(incident->sources[0], "prometheus");
    assert_string_equal(incident->sources[1], "api");
    assert_string_equal(incident->sources[2], "periscope");
    s_drain(engine, NULL);

    /* flapping: resolve all, fire again within the window, twice: one incident, counted */
    for (int flap = 1; flap <= 2; flap++) {
        for (int i = 0; i < 4; i++) {
            char labels[32];
            snprintf(labels, sizeof labels, "instance=h%d", i);
            s_send(engine, TENANT_A, "cpu_high", labels, LK_ALERT_RESOLVED, T0 + flap * 1000);
        }
        assert_int_equal(correlate_engine_incident(engine, TENANT_A, incident_id)->status,
                         LK_INCIDENT_RESOLVED);
        lk_alert_result_t again = s_send(engine, TENANT_A, "cpu_high", "instance=h0",
                                         LK_ALERT_FIRING, T0 + flap * 1000 + 500);
        assert_string_equal(again.incident_id, incident_id);
        lk_msg_t batch;
        correlate_engine_take_batch(engine, &batch);
        bool found = false;
        for (size_t e = 0; e < batch.event_count; e++)
            if (strcmp(batch.events[e].type, "incident_reopened") == 0) {
                char expected[16];
                snprintf(expected, sizeof expected, "flap %d:", flap);
                assert_non_null(batch.events[e].note);
                assert_true(strncmp(batch.events[e].note, expected, strlen(expected)) == 0);
                found = true;
            }
        assert_true(found);
        lk_msg_clear(&batch);
    }
    assert_int_equal(correlate_engine_incident(engine, TENANT_A, incident_id)->reopen_count, 2);
    assert_int_equal(correlate_engine_incident_count(engine), 1);
    correlate_engine_destroy(&engine);
}

/* ---- engine: rebuild ----------------------------------------------------------------------- */

/* Copies the batch's rows into page as a snapshot would return them (latest wins). */
static void s_page_absorb(lk_msg_t *page, const lk_msg_t *batch)
{
    for (size_t i = 0; i < batch->incident_count; i++) {
        size_t j;
        for (j = 0; j < page->incident_count; j++)
            if (strcmp(page->incidents[j].id, batch->incidents[i].id) == 0)
                break;
        if (j < page->incident_count) {
            lk_incident_clear(&page->incidents[j]);
            lk_incident_copy(&page->incidents[j], &batch->incidents[i]);
        } else
            lk_msg_add_incident(page, &batch->incidents[i]);
    }
    for (size_t i = 0; i < batch->alert_count; i++) {
        const lk_alert_t *alert = &batch->alerts[i];
        size_t j;
        for (j = 0; j < page->alert_count; j++)
            if (strcmp(page->alerts[j].fingerprint, alert->fingerprint) == 0 &&
                strcmp(page->alerts[j].incident_id, alert->incident_id) == 0)
                break;
        bool held = !alert->incident_id[0] && alert->state != LK_ALERT_ACTIVE &&
                    alert->status == LK_ALERT_FIRING;
        if (j < page->alert_count) {
            lk_alert_clear(&page->alerts[j]);
            if (held || alert->incident_id[0])
                lk_alert_copy(&page->alerts[j], alert);
            else /* store deletes a held row that is no longer held */
                page->alerts[j] = page->alerts[--page->alert_count];
        } else if (held || alert->incident_id[0])
            lk_msg_add_alert(page, alert);
    }
    for (size_t i = 0; i < batch->silence_count; i++)
        lk_msg_add_silence(page, &batch->silences[i]);
    for (size_t i = 0; i < batch->heartbeat_count; i++)
        lk_msg_add_heartbeat(page, &batch->heartbeats[i]);
}

static void test_rebuild(void **state)
{
    (void)state;
    lk_config_t *config = s_config(s_routes_yaml);
    correlate_engine_t *engine = s_engine(config);
    lk_msg_t page, batch;
    lk_msg_init(&page, LK_MSG_QUERY_REPLY);
    correlate_engine_take_batch(engine, &batch);
    s_page_absorb(&page, &batch);
    lk_msg_clear(&batch);

    s_send(engine, TENANT_A, "node_down", "node=n1", LK_ALERT_FIRING, T0);
    lk_alert_result_t held =
        s_send(engine, TENANT_A, "stream_failure", "node=n1", LK_ALERT_FIRING, T0 + 1);
    lk_msg_t reply = s_silence(engine, TENANT_A, LK_SILENCE_CREATE, NULL, "alertname", "noisy",
                               false, 0, T0 + 600000, T0 + 2);
    lk_msg_clear(&reply);
    s_send(engine, TENANT_A, "noisy", NULL, LK_ALERT_FIRING, T0 + 3);
    assert_int_equal(s_ping(engine, TENANT_A, "cron-job", 60000, T0 + 4), LK_STATUS_OK);
    correlate_engine_take_batch(engine, &batch);
    s_page_absorb(&page, &batch);
    lk_msg_clear(&batch);
    uint64_t next_seq = correlate_engine_next_seq(engine);
    correlate_engine_destroy(&engine);

    correlate_engine_t *rebuilt = correlate_engine_new("alertname", WINDOW_MS);
    correlate_engine_set_next_seq(rebuilt, next_seq);
    correlate_engine_set_config(rebuilt, config, 1, 0);
    correlate_engine_load(rebuilt, &page);
    correlate_engine_load_finish(rebuilt, T0 + 5);
    lk_msg_clear(&page);
    assert_int_equal(correlate_engine_held_count(rebuilt), 2);
    assert_int_equal(correlate_engine_silence_count(rebuilt), 1);
    assert_int_equal(correlate_engine_monitor_count(rebuilt), 2);
    assert_int_equal(correlate_engine_pending_items(rebuilt), 0); /* nothing changed */
    /* the rebuilt inhibition index still knows node_down: resolving it releases */
    s_send(rebuilt, TENANT_A, "node_down", "node=n1", LK_ALERT_RESOLVED, T0 + 10);
    assert_null(correlate_engine_held(rebuilt, TENANT_A, held.fingerprint));
    assert_int_equal(correlate_engine_held_count(rebuilt), 1);
    /* the rebuilt monitor fires on time */
    correlate_engine_tick(rebuilt, T0 + 4 + 60000);
    assert_non_null(
        correlate_engine_group_incident(rebuilt, TENANT_A, "{}:{alertname=\"heartbeat_missed\"}"));
    correlate_engine_destroy(&rebuilt);
    lk_config_destroy(&config);
}

/* A re-fire that would reopen a resolved incident is held while inhibited; a rebuild keeps
   it held (not the resolved membership), and the end of the inhibition reopens the incident. */
static void test_refire_held_and_rebuilt(void **state)
{
    (void)state;
    lk_config_t *config = s_config(s_routes_yaml);
    correlate_engine_t *engine = s_engine(config);
    lk_msg_t page, batch;
    lk_msg_init(&page, LK_MSG_QUERY_REPLY);
    lk_alert_result_t first =
        s_send(engine, TENANT_A, "stream_failure", "node=n1", LK_ALERT_FIRING, T0);
    s_send(engine, TENANT_A, "stream_failure", "node=n1", LK_ALERT_RESOLVED, T0 + 10);
    s_send(engine, TENANT_A, "node_down", "node=n1", LK_ALERT_FIRING, T0 + 20);
    lk_alert_result_t again =
        s_send(engine, TENANT_A, "stream_failure", "node=n1", LK_ALERT_FIRING, T0 + 30);
    assert_int_equal(again.outcome, LK_OUTCOME_CHANGED);
    assert_string_equal(again.incident_id, "");
    assert_int_equal(correlate_engine_incident(engine, TENANT_A, first.incident_id)->status,
                     LK_INCIDENT_RESOLVED);
    correlate_engine_take_batch(engine, &batch);
    s_page_absorb(&page, &batch);
    lk_msg_clear(&batch);
    uint64_t next_seq = correlate_engine_next_seq(engine);
    correlate_engine_destroy(&engine);

    correlate_engine_t *rebuilt = correlate_engine_new("alertname", WINDOW_MS);
    correlate_engine_set_next_seq(rebuilt, next_seq);
    correlate_engine_set_config(rebuilt, config, 1, 0);
    correlate_engine_load(rebuilt, &page);
    correlate_engine_load_finish(rebuilt, T0 + 40);
    lk_msg_clear(&page);
    assert_int_equal(correlate_engine_held_count(rebuilt), 1);
    assert_non_null(correlate_engine_held(rebuilt, TENANT_A, first.fingerprint));
    s_send(rebuilt, TENANT_A, "node_down", "node=n1", LK_ALERT_RESOLVED, T0 + 50);
    assert_int_equal(correlate_engine_held_count(rebuilt), 0);
    const lk_incident_t *incident = correlate_engine_incident(rebuilt, TENANT_A, first.incident_id);
    assert_int_equal(incident->status, LK_INCIDENT_TRIGGERED);
    assert_int_equal(incident->reopen_count, 1);
    assert_int_equal(incident->firing_count, 1);
    correlate_engine_destroy(&rebuilt);
    lk_config_destroy(&config);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matchers),      cmocka_unit_test(test_config_sections),
        cmocka_unit_test(test_config_errors), cmocka_unit_test(test_routes_grouping),
        cmocka_unit_test(test_inhibition),    cmocka_unit_test(test_silences),
        cmocka_unit_test(test_heartbeats),    cmocka_unit_test(test_sources_and_flaps),
        cmocka_unit_test(test_rebuild),       cmocka_unit_test(test_refire_held_and_rebuilt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
