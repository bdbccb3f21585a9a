/*  Unit tests: the notification sections of the configuration — a complete example, policy
    selection precedence, secrets from files and the environment, and validation errors that
    name file, line and field. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_config.h"

static const char *s_example =
    "notify_settings:\n"
    "  allow_private_destinations: true\n"
    "  timeout: 2s\n"
    "  max_attempts: 4\n"
    "  backoff_initial: 200ms\n"
    "  backoff_max: 10s\n"
    "  channel_rate_limit: 30/1m\n"
    "  target_rate_limit: none\n"
    "  public_url: https://lookout.example.com/\n"
    "channels:\n"
    "  - {name: ops-slack, type: slack, url_env: T_SLACK_URL}\n"
    "  - {name: ops-discord, type: discord, url: 'https://discord.example.com/api/webhooks/1'}\n"
    "  - {name: pd, type: pagerduty, routing_key_env: T_PD_KEY}\n"
    "  - name: mail\n"
    "    type: email\n"
    "    url: smtp://127.0.0.1:2525\n"
    "    tls: none\n"
    "    from: lookout@example.com\n"
    "  - {name: sms, type: sms, account_sid: AC123, auth_token_env: T_PD_KEY, from: "
    "'+15550001111'}\n"
    "  - {name: hook, type: webhook, url: 'https://hooks.example.com/x', secret_env: T_PD_KEY}\n"
    "  - {name: tickets, type: deckhand, url: 'https://deckhand.example.com/tickets'}\n"
    "users:\n"
    "  - {name: alice, email: alice@example.com, phone: '+31612345678', slack_id: U1, channels: "
    "[mail, sms]}\n"
    "  - {name: bob, email: bob@example.com, channels: mail}\n"
    "schedules:\n"
    "  - name: primary\n"
    "    time_zone: Europe/Amsterdam\n"
    "    rotations:\n"
    "      - {members: [alice, bob], shift_length: 1w, handoff_time: '10:30', start: "
    "2024-01-01}\n"
    "escalation_policies:\n"
    "  - name: critical\n"
    "    match: {severity: [critical], labels: {team: db}}\n"
    "    repeat: 2\n"
    "    repeat_delay: 10m\n"
    "    levels:\n"
    "      - targets: [{schedule: primary}, {channel: ops-slack}]\n"
    "      - {delay: 5m, targets: [{user: bob}, {channel: pd}]}\n"
    "  - name: warnings\n"
    "    match: {severity: warning}\n"
    "    levels: [{targets: [{channel: ops-discord}]}]\n"
    "  - name: catch-all\n"
    "    levels: [{targets: [{channel: hook}, {channel: tickets}]}]\n"
    "  - name: other-tenant\n"
    "    tenant: 11111111-2222-4333-8444-555555555555\n"
    "    levels: [{targets: [{channel: hook}]}]\n";

static lk_config_t *s_load(const char *yaml, char *err, size_t err_size)
{
    lk_config_t *config = NULL;
    if (lk_config_load_string("lookout.yaml", yaml, strlen(yaml), &config, err, err_size) != 0)
        return NULL;
    return config;
}

static int s_setup(void **state)
{
    (void)state;
    setenv("T_SLACK_URL", "https://hooks.slack.com/services/T/B/secret", 1);
    setenv("T_PD_KEY", "0123456789abcdef0123456789abcdef", 1);
    return 0;
}

static void test_example(void **state)
{
    (void)state;
    char err[512];
    lk_config_t *config = s_load(s_example, err, sizeof err);
    if (!config)
        fail_msg("%s", err);
    const lk_notify_config_t *notify = &config->notify;
    assert_true(notify->settings.allow_private_destinations);
    assert_true(notify->settings.timeout_ms == 2000);
    assert_int_equal(notify->settings.max_attempts, 4);
    assert_true(notify->settings.backoff_initial_ms == 200);
    assert_int_equal(notify->settings.channel_rate_count, 30);
    assert_true(notify->settings.channel_rate_per_ms == 60000);
    assert_int_equal(notify->settings.target_rate_count, 0);
    assert_string_equal(notify->settings.public_url, "https://lookout.example.com");
    assert_int_equal(notify->channel_count, 7);
    const lk_channel_t *slack = lk_config_find_channel(config, "ops-slack");
    assert_string_equal(slack->url, "https://hooks.slack.com/services/T/B/secret");
    const lk_channel_t *pd = lk_config_find_channel(config, "pd");
    assert_string_equal(pd->url, "https://events.pagerduty.com/v2/enqueue");
    assert_string_equal(pd->secret, "0123456789abcdef0123456789abcdef");
    const lk_channel_t *sms = lk_config_find_channel(config, "sms");
    assert_string_equal(sms->url, "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json");
    assert_int_equal(lk_config_find_channel(config, "mail")->tls, LK_TLS_NONE);
    const lk_channel_t *tickets = lk_config_find_channel(config, "tickets");
    assert_string_equal(lk_labels_get(&tickets->require_labels, "customer_facing"), "true");
    const lk_user_t *alice = lk_config_find_user(config, "alice");
    assert_int_equal(alice->channel_count, 2);
    assert_string_equal(notify->channels[alice->channel_index[1]].name, "sms");
    const lk_schedule_t *primary = lk_config_find_schedule(config, LK_SYSTEM_TENANT, "primary");
    assert_string_equal(primary->time_zone, "Europe/Amsterdam");
    assert_int_equal(primary->rotations[0].handoff_minute, 10 * 60 + 30);
    assert_true(primary->rotations[0].shift_length_ms == 7 * 86400000LL);
    const lk_policy_t *critical = lk_config_find_policy(config, LK_SYSTEM_TENANT, "critical");
    assert_int_equal(critical->level_count, 2);
    assert_true(critical->levels[1].delay_ms == 300000);
    assert_int_equal(critical->levels[0].targets[0].type, LK_TARGET_SCHEDULE);
    assert_int_equal(critical->repeat, 2);
    assert_true(critical->repeat_delay_ms == 600000);
    lk_config_destroy(&config);
}

static void test_policy_selection(void **state)
{
    (void)state;
    char err[512];
    lk_config_t *config = s_load(s_example, err, sizeof err);
    assert_non_null(config);
    lk_labels_t labels = {0};
    lk_labels_set(&labels, "team", "db");
    /* first match in file order */
    assert_string_equal(
        lk_config_select_policy(config, LK_SYSTEM_TENANT, NULL, LK_SEV_CRITICAL, &labels)->name,
        "critical");
    /* severity fits but a label differs → the catch-all */
    lk_labels_set(&labels, "team", "web");
    assert_string_equal(
        lk_config_select_policy(config, LK_SYSTEM_TENANT, NULL, LK_SEV_CRITICAL, &labels)->name,
        "catch-all");
    assert_string_equal(
        lk_config_select_policy(config, LK_SYSTEM_TENANT, NULL, LK_SEV_WARNING, &labels)->name,
        "warnings");
    /* a route's policy wins over matching */
    assert_string_equal(
        lk_config_select_policy(config, LK_SYSTEM_TENANT, "warnings", LK_SEV_CRITICAL, &labels)
            ->name,
        "warnings");
    /* an unknown route policy falls back to matching */
    assert_string_equal(
        lk_config_select_policy(config, LK_SYSTEM_TENANT, "nope", LK_SEV_INFO, &labels)->name,
        "catch-all");
    /* policies are per tenant */
    assert_string_equal(lk_config_select_policy(config, "11111111-2222-4333-8444-555555555555",
                                                NULL, LK_SEV_CRITICAL, NULL)
                            ->name,
                        "other-tenant");
    assert_null(lk_config_select_policy(config, "99999999-2222-4333-8444-555555555555", NULL,
                                        LK_SEV_CRITICAL, NULL));
    /* a route naming another tenant's policy does not reach it */
    assert_string_equal(lk_config_select_policy(config, "11111111-2222-4333-8444-555555555555",
                                                "critical", LK_SEV_CRITICAL, NULL)
                            ->name,
                        "other-tenant");
    lk_labels_clear(&labels);
    lk_config_destroy(&config);
}

static void test_secret_file(void **state)
{
    (void)state;
    char folder[] = "/tmp/lookout-config-XXXXXX";
    assert_non_null(mkdtemp(folder));
    char path[256], yaml_path[256];
    snprintf(path, sizeof path, "%s/hook.secret", folder);
    FILE *file = fopen(path, "w");
    fputs("https://hooks.slack.com/services/T/B/from-file\n", file);
    fclose(file);
    snprintf(yaml_path, sizeof yaml_path, "%s/lookout.yaml", folder);
    file = fopen(yaml_path, "w");
    fputs("channels:\n  - {name: s, type: slack, url_file: hook.secret}\n", file);
    fclose(file);
    lk_config_t *config = NULL;
    char err[512];
    if (lk_config_load(yaml_path, &config, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_string_equal(config->notify.channels[0].url,
                        "https://hooks.slack.com/services/T/B/from-file");
    lk_config_destroy(&config);
    unlink(path);
    /* a missing file is named, its content never shown */
    assert_int_not_equal(lk_config_load(yaml_path, &config, err, sizeof err), 0);
    assert_non_null(strstr(err, "cannot read"));
    assert_non_null(strstr(err, "hook.secret"));
    unlink(yaml_path);
    rmdir(folder);
}

/*  Loads yaml and expects an error containing each of the fragments. */
static void s_expect_error(const char *yaml, const char *position, const char *message)
{
    char err[512];
    lk_config_t *config = s_load(yaml, err, sizeof err);
    if (config) {
        lk_config_destroy(&config);
        fail_msg("accepted:\n%s", yaml);
    }
    if (!strstr(err, position) || !strstr(err, message))
        fail_msg("error \"%s\" lacks \"%s\" or \"%s\"", err, position, message);
}

static void test_errors(void **state)
{
    (void)state;
    s_expect_error("channels:\n  - {name: x, type: telegram, url: 'https://t.example'}\n",
                   "lookout.yaml:2:", "channels[0].type: expected slack");
    s_expect_error("channels:\n  - {name: x, type: slack}\n", "channels[0].url", "is required");
    s_expect_error("channels:\n  - {name: x, type: slack, url: 'ftp://x.example'}\n",
                   "channels[0].url", "expected an http:// or https:// URL");
    s_expect_error("channels:\n  - {name: x, type: email, url: 'https://x.example', from: "
                   "a@b.example}\n",
                   "channels[0].url", "smtp:// or smtps://");
    s_expect_error("channels:\n  - {name: x, type: pagerduty}\n", "channels[0].routing_key_file",
                   "is required");
    s_expect_error("channels:\n  - {name: x, type: pagerduty, routing_key: abc}\n",
                   "channels[0].routing_key", "use routing_key_file or routing_key_env");
    s_expect_error("channels:\n  - {name: x, type: slack, url: 'https://h.example', "
                   "routing_key_env: T_PD_KEY}\n",
                   "channels[0].routing_key_env", "not a setting of a slack channel");
    s_expect_error("channels:\n  - {name: x, type: webhook, url: 'https://h.example', "
                   "secret_env: T_SURELY_UNSET_VARIABLE}\n",
                   "channels[0].secret_env", "T_SURELY_UNSET_VARIABLE is not set");
    s_expect_error("channels:\n  - {name: x, type: slack, url: 'https://h.example', "
                   "url_env: T_SLACK_URL}\n",
                   "channels[0].url_env", "give only one of");
    s_expect_error("channels:\n  - {name: x, type: slack, url: 'https://a.example'}\n"
                   "  - {name: x, type: slack, url: 'https://b.example'}\n",
                   "lookout.yaml:3:", "duplicate channel name 'x'");
    s_expect_error("users:\n  - {name: bob, channels: [nowhere]}\n", "users[0].channels[0]",
                   "no channel named 'nowhere'");
    s_expect_error("channels:\n  - {name: m, type: email, url: 'smtp://m.example', from: "
                   "a@b.example}\nusers:\n  - {name: bob, channels: [m]}\n",
                   "users[0].channels[0]", "has no email");
    s_expect_error("channels:\n  - {name: m, type: email, url: 'smtp://m.example', from: "
                   "a@b.example}\nusers:\n  - {name: bob, email: 'bob@x\r\nBcc: all', channels: "
                   "[m]}\n",
                   "users[0].email", "not an email address");
    s_expect_error("users:\n  - {name: bob, phone: '0612345678', channels: []}\n", "users[0].phone",
                   "E.164");
    s_expect_error("schedules:\n  - {name: s, time_zone: Mars/Olympus, rotations: []}\n",
                   "schedules[0].time_zone", "unknown time zone");
    s_expect_error("schedules:\n  - {name: s, time_zone: ../../etc/passwd, rotations: []}\n",
                   "schedules[0].time_zone", "not a time zone name");
    s_expect_error("channels:\n  - {name: h, type: slack, url: 'https://h.example'}\n"
                   "users:\n  - {name: bob, channels: [h]}\n"
                   "schedules:\n  - name: s\n    rotations:\n      - {members: [bob, carl], "
                   "shift_length: 1d, start: 2024-01-01}\n",
                   "schedules[0].rotations[0].members[1]", "no user named 'carl'");
    s_expect_error("channels:\n  - {name: h, type: slack, url: 'https://h.example'}\n"
                   "users:\n  - {name: bob, channels: [h]}\n"
                   "schedules:\n  - name: s\n    rotations:\n      - {members: [bob], "
                   "shift_length: 1d, start: 2024-02-30}\n",
                   "schedules[0].rotations[0].start", "YYYY-MM-DD");
    s_expect_error("channels:\n  - {name: h, type: slack, url: 'https://h.example'}\n"
                   "users:\n  - {name: bob, channels: [h]}\n"
                   "schedules:\n  - name: s\n    rotations:\n      - {members: [bob], "
                   "shift_length: 1d, handoff_time: '25:00', start: 2024-02-03}\n",
                   "handoff_time", "HH:MM");
    s_expect_error("escalation_policies:\n  - name: p\n    levels: [{targets: [{schedule: "
                   "nope}]}]\n",
                   "escalation_policies[0].levels[0].targets[0].schedule",
                   "no schedule named 'nope'");
    s_expect_error("channels:\n  - {name: h, type: slack, url: 'https://h.example'}\n"
                   "escalation_policies:\n  - name: p\n    levels: [{targets: [{channel: h, "
                   "user: x}]}]\n",
                   "targets[0]", "exactly one of");
    s_expect_error("escalation_policies:\n  - name: p\n    match: {severity: fatal}\n"
                   "    levels: []\n",
                   "match.severity", "expected info, warning, error or critical");
    s_expect_error("notify_settings:\n  channel_rate_limit: lots\n",
                   "notify_settings.channel_rate_limit", "expected a rate like 60/1m");
    s_expect_error("notify_settings:\n  backoff_initial: 10s\n  backoff_max: 1s\n",
                   "notify_settings.backoff_max", "must not be below backoff_initial");
    s_expect_error("notify_settings:\n  retries: 3\n", "notify_settings", "retries");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example),
        cmocka_unit_test(test_policy_selection),
        cmocka_unit_test(test_secret_file),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
