/*  Unit tests: time zones (tz) and rotation math (oncall) — a plain hand-off, hand-offs on
    both DST changes of Europe/Amsterdam (including a hand-off time inside the skipped and
    the repeated hour), shifts that are not whole days, and overrides. Every expected value
    was worked out by hand from the calendar. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_config.h"
#include "lk_time.h"
#include "oncall.h"
#include "tz.h"

static int64_t s_at(const char *rfc3339)
{
    int64_t ms = 0;
    assert_true(lk_time_parse(rfc3339, &ms));
    return ms;
}

static lk_config_t *s_load(const char *yaml)
{
    lk_config_t *config = NULL;
    char err[512];
    if (lk_config_load_string("test.yaml", yaml, strlen(yaml), &config, err, sizeof err) != 0)
        fail_msg("config: %s", err);
    return config;
}

/*  The single on-call user of the config's first schedule at time, with its shift. */
static const char *s_oncall(const lk_config_t *config, const lk_oncall_override_t *stored,
                            size_t stored_count, const char *time, int64_t *start_ms,
                            int64_t *end_ms)
{
    oncall_entry_t entries[ONCALL_MAX];
    size_t count = oncall_at(&config->notify.schedules[0], stored, stored_count, s_at(time),
                             entries, ONCALL_MAX);
    assert_int_equal(count, 1);
    if (start_ms)
        *start_ms = entries[0].start_ms;
    if (end_ms)
        *end_ms = entries[0].end_ms;
    return entries[0].user;
}

static const char *s_users =
    "channels:\n"
    "  - {name: hook, type: webhook, url: 'https://hooks.example.com/x', secret_env: PATH}\n"
    "users:\n"
    "  - {name: alice, channels: [hook]}\n"
    "  - {name: bob, channels: [hook]}\n"
    "  - {name: carol, channels: [hook]}\n";

static char *s_with_users(const char *schedules)
{
    size_t size = strlen(s_users) + strlen(schedules) + 1;
    char *yaml = malloc(size);
    snprintf(yaml, size, "%s%s", s_users, schedules);
    return yaml;
}

/* ---- tz -------------------------------------------------------------------------------- */

static void test_tz_offsets(void **state)
{
    (void)state;
    const tz_t *amsterdam = tz_get("Europe/Amsterdam");
    assert_non_null(amsterdam);
    assert_int_equal(tz_offset_s(amsterdam, s_at("2024-01-15T12:00:00Z") / 1000), 3600);
    assert_int_equal(tz_offset_s(amsterdam, s_at("2024-07-15T12:00:00Z") / 1000), 7200);
    /* the change itself: 2024-03-31 01:00Z (02:00 CET → 03:00 CEST) */
    assert_int_equal(tz_offset_s(amsterdam, s_at("2024-03-31T00:59:59Z") / 1000), 3600);
    assert_int_equal(tz_offset_s(amsterdam, s_at("2024-03-31T01:00:00Z") / 1000), 7200);
    /* far past any transition table: the footer rule (CET-1CEST,M3.5.0,M10.5.0/3) */
    assert_int_equal(tz_offset_s(amsterdam, s_at("2100-07-01T00:00:00Z") / 1000), 7200);
    assert_int_equal(tz_offset_s(amsterdam, s_at("2100-12-01T00:00:00Z") / 1000), 3600);
    /* 2100-03-28 is the last Sunday of March 2100 */
    assert_int_equal(tz_offset_s(amsterdam, s_at("2100-03-28T00:59:59Z") / 1000), 3600);
    assert_int_equal(tz_offset_s(amsterdam, s_at("2100-03-28T01:00:00Z") / 1000), 7200);

    const tz_t *new_york = tz_get("America/New_York");
    assert_non_null(new_york);
    assert_int_equal(tz_offset_s(new_york, s_at("2024-01-15T12:00:00Z") / 1000), -5 * 3600);
    assert_int_equal(tz_offset_s(new_york, s_at("2024-07-15T12:00:00Z") / 1000), -4 * 3600);

    const tz_t *utc = tz_get("UTC");
    assert_non_null(utc);
    assert_int_equal(tz_offset_s(utc, 0), 0);
    assert_ptr_equal(tz_get("Europe/Amsterdam"), amsterdam); /* cached */
    assert_null(tz_get("../etc/passwd"));
    assert_null(tz_get("/etc/localtime"));
    assert_null(tz_get("No/Such_Zone"));
}

static void test_tz_local_to_utc(void **state)
{
    (void)state;
    const tz_t *zone = tz_get("Europe/Amsterdam");
    /* plain: 2024-07-01 09:00 CEST = 07:00Z */
    int64_t local = s_at("2024-07-01T09:00:00Z") / 1000;
    assert_true(tz_local_to_utc_s(zone, local) == s_at("2024-07-01T07:00:00Z") / 1000);
    /* skipped: 2024-03-31 02:30 does not exist → as if no jump: 01:30Z (03:30 CEST) */
    local = s_at("2024-03-31T02:30:00Z") / 1000;
    assert_true(tz_local_to_utc_s(zone, local) == s_at("2024-03-31T01:30:00Z") / 1000);
    /* repeated: 2024-10-27 02:30 happens at 00:30Z (CEST) and 01:30Z (CET) → the first */
    local = s_at("2024-10-27T02:30:00Z") / 1000;
    assert_true(tz_local_to_utc_s(zone, local) == s_at("2024-10-27T00:30:00Z") / 1000);
}

static void test_tz_rejects_garbage(void **state)
{
    (void)state;
    assert_null(tz_parse("TZif", 4));
    assert_null(tz_parse("not a zone file at all, not even close to one........", 52));
    unsigned char header[44] = {'T', 'Z', 'i', 'f', '2'};
    header[39] = 0; /* typecnt 0 */
    assert_null(tz_parse(header, sizeof header));
    header[39] = 1; /* one type, but no data follows */
    assert_null(tz_parse(header, sizeof header));
}

/* ---- rotations ------------------------------------------------------------------------- */

static void test_weekly_handoff(void **state)
{
    (void)state;
    char *yaml = s_with_users("schedules:\n"
                              "  - name: primary\n"
                              "    rotations:\n"
                              "      - members: [alice, bob, carol]\n"
                              "        shift_length: 1w\n"
                              "        handoff_time: '09:00'\n"
                              "        start: 2024-01-01\n");
    lk_config_t *config = s_load(yaml);
    int64_t start, end;
    /* before the first hand-off the turns run backwards: carol has the week before */
    assert_string_equal(s_oncall(config, NULL, 0, "2024-01-01T08:59:59Z", &start, &end), "carol");
    assert_true(start == s_at("2023-12-25T09:00:00Z") && end == s_at("2024-01-01T09:00:00Z"));
    assert_string_equal(s_oncall(config, NULL, 0, "2024-01-01T09:00:00Z", &start, &end), "alice");
    assert_true(start == s_at("2024-01-01T09:00:00Z") && end == s_at("2024-01-08T09:00:00Z"));
    assert_string_equal(s_oncall(config, NULL, 0, "2024-01-08T08:59:59Z", NULL, NULL), "alice");
    assert_string_equal(s_oncall(config, NULL, 0, "2024-01-08T09:00:00Z", NULL, NULL), "bob");
    assert_string_equal(s_oncall(config, NULL, 0, "2024-01-15T09:00:00Z", NULL, NULL), "carol");
    assert_string_equal(s_oncall(config, NULL, 0, "2024-01-22T09:00:00Z", NULL, NULL), "alice");
    /* a year on: 2025-01-06 is 53 weeks after 2024-01-01 → 53 mod 3 = 2 → carol */
    assert_string_equal(s_oncall(config, NULL, 0, "2025-01-06T10:00:00Z", NULL, NULL), "carol");
    lk_config_destroy(&config);
    free(yaml);
}

static void test_daily_across_dst(void **state)
{
    (void)state;
    char *yaml = s_with_users("schedules:\n"
                              "  - name: primary\n"
                              "    time_zone: Europe/Amsterdam\n"
                              "    rotations:\n"
                              "      - members: [alice, bob]\n"
                              "        shift_length: 1d\n"
                              "        handoff_time: '09:00'\n"
                              "        start: 2024-03-29\n");
    lk_config_t *config = s_load(yaml);
    int64_t start, end;
    /* 03-29 alice, 03-30 bob, 03-31 alice, all handing off at 09:00 local */
    assert_string_equal(s_oncall(config, NULL, 0, "2024-03-29T08:00:00Z", &start, &end), "alice");
    assert_true(start == s_at("2024-03-29T08:00:00Z")); /* 09:00 CET */
    assert_string_equal(s_oncall(config, NULL, 0, "2024-03-30T12:00:00Z", &start, &end), "bob");
    /* the shift across the change lasts 23 hours: 09:00 CET to 09:00 CEST */
    assert_true(start == s_at("2024-03-30T08:00:00Z") && end == s_at("2024-03-31T07:00:00Z"));
    assert_string_equal(s_oncall(config, NULL, 0, "2024-03-31T06:59:59Z", NULL, NULL), "bob");
    assert_string_equal(s_oncall(config, NULL, 0, "2024-03-31T07:00:00Z", &start, &end), "alice");
    assert_true(end == s_at("2024-04-01T07:00:00Z"));
    /* autumn: 2024-10-27 09:00 CET = 08:00Z; 212 days after 03-29 → even → alice */
    assert_string_equal(s_oncall(config, NULL, 0, "2024-10-27T07:59:59Z", &start, &end), "bob");
    assert_true(start == s_at("2024-10-26T07:00:00Z") && end == s_at("2024-10-27T08:00:00Z"));
    assert_string_equal(s_oncall(config, NULL, 0, "2024-10-27T08:00:00Z", NULL, NULL), "alice");
    lk_config_destroy(&config);
    free(yaml);
}

static void test_handoff_inside_the_changed_hour(void **state)
{
    (void)state;
    char *yaml = s_with_users("schedules:\n"
                              "  - name: night\n"
                              "    time_zone: Europe/Amsterdam\n"
                              "    rotations:\n"
                              "      - members: [alice, bob]\n"
                              "        shift_length: 1d\n"
                              "        handoff_time: '02:30'\n"
                              "        start: 2024-03-30\n");
    lk_config_t *config = s_load(yaml);
    int64_t start, end;
    /* 03-30 02:30 CET (01:30Z) alice; 03-31 02:30 is skipped: the hand-off happens at
       01:30Z (03:30 CEST), as if the clock had not jumped */
    assert_string_equal(s_oncall(config, NULL, 0, "2024-03-31T01:29:59Z", NULL, NULL), "alice");
    assert_string_equal(s_oncall(config, NULL, 0, "2024-03-31T01:30:00Z", &start, &end), "bob");
    assert_true(start == s_at("2024-03-31T01:30:00Z") && end == s_at("2024-04-01T00:30:00Z"));
    /* 2024-10-27 02:30 happens twice; the hand-off is at the first, 00:30Z. 211 days after
       03-30 → odd → bob takes over from alice */
    assert_string_equal(s_oncall(config, NULL, 0, "2024-10-27T00:29:59Z", NULL, NULL), "alice");
    assert_string_equal(s_oncall(config, NULL, 0, "2024-10-27T00:30:00Z", &start, &end), "bob");
    assert_true(end == s_at("2024-10-28T01:30:00Z")); /* 25 hours */
    lk_config_destroy(&config);
    free(yaml);
}

static void test_hourly_shifts(void **state)
{
    (void)state;
    char *yaml = s_with_users("schedules:\n"
                              "  - name: follow-the-sun\n"
                              "    time_zone: America/New_York\n"
                              "    rotations:\n"
                              "      - members: [alice, bob, carol]\n"
                              "        shift_length: 8h\n"
                              "        handoff_time: '06:00'\n"
                              "        start: 2024-01-01\n");
    lk_config_t *config = s_load(yaml);
    int64_t start, end;
    /* origin 2024-01-01 06:00 EST = 11:00Z; 8h shifts in absolute time */
    assert_string_equal(s_oncall(config, NULL, 0, "2024-01-01T11:00:00Z", NULL, NULL), "alice");
    assert_string_equal(s_oncall(config, NULL, 0, "2024-01-01T19:00:00Z", &start, &end), "bob");
    assert_true(start == s_at("2024-01-01T19:00:00Z") && end == s_at("2024-01-02T03:00:00Z"));
    assert_string_equal(s_oncall(config, NULL, 0, "2024-01-02T03:00:00Z", NULL, NULL), "carol");
    assert_string_equal(s_oncall(config, NULL, 0, "2024-01-01T10:59:59Z", NULL, NULL), "carol");
    lk_config_destroy(&config);
    free(yaml);
}

static void test_overrides(void **state)
{
    (void)state;
    char *yaml = s_with_users("schedules:\n"
                              "  - name: primary\n"
                              "    rotations:\n"
                              "      - members: [alice, bob, carol]\n"
                              "        shift_length: 1w\n"
                              "        start: 2024-01-01\n"
                              "    overrides:\n"
                              "      - {user: carol, start: '2024-01-03T00:00:00Z', "
                              "end: '2024-01-04T00:00:00Z'}\n");
    lk_config_t *config = s_load(yaml);
    lk_oncall_override_t stored[2] = {
        {.tenant_id = LK_SYSTEM_TENANT,
         .schedule = "primary",
         .user = "bob",
         .starts_at_ms = s_at("2024-01-03T12:00:00Z"),
         .ends_at_ms = s_at("2024-01-03T13:00:00Z")},
        {.tenant_id = LK_SYSTEM_TENANT,
         .schedule = "secondary", /* another schedule: ignored */
         .user = "alice",
         .starts_at_ms = s_at("2024-01-03T12:10:00Z"),
         .ends_at_ms = s_at("2024-01-03T12:20:00Z")},
    };
    int64_t start, end;
    assert_string_equal(s_oncall(config, stored, 2, "2024-01-02T12:00:00Z", NULL, NULL), "alice");
    assert_string_equal(s_oncall(config, stored, 2, "2024-01-03T00:00:00Z", &start, &end), "carol");
    assert_true(start == s_at("2024-01-03T00:00:00Z") && end == s_at("2024-01-04T00:00:00Z"));
    /* the stored override starts later: it wins inside the configured one */
    assert_string_equal(s_oncall(config, stored, 2, "2024-01-03T12:15:00Z", &start, &end), "bob");
    assert_true(start == s_at("2024-01-03T12:00:00Z") && end == s_at("2024-01-03T13:00:00Z"));
    assert_string_equal(s_oncall(config, stored, 2, "2024-01-03T13:00:00Z", NULL, NULL), "carol");
    assert_string_equal(s_oncall(config, stored, 2, "2024-01-04T00:00:00Z", NULL, NULL), "alice");
    /* another tenant's override of a same-named schedule is not ours */
    stored[0].tenant_id[0] = 'f';
    assert_string_equal(s_oncall(config, stored, 1, "2024-01-03T12:15:00Z", NULL, NULL), "carol");
    lk_config_destroy(&config);
    free(yaml);
}

static void test_two_rotations(void **state)
{
    (void)state;
    char *yaml = s_with_users("schedules:\n"
                              "  - name: pair\n"
                              "    rotations:\n"
                              "      - {name: primary, members: [alice, bob], shift_length: 1d, "
                              "start: 2024-01-01}\n"
                              "      - {name: shadow, members: [bob, carol], shift_length: 1d, "
                              "start: 2024-01-01}\n");
    lk_config_t *config = s_load(yaml);
    oncall_entry_t entries[ONCALL_MAX];
    /* day 0: alice + bob; day 1: bob + carol; day 0 again on day 2 */
    size_t count = oncall_at(&config->notify.schedules[0], NULL, 0, s_at("2024-01-01T10:00:00Z"),
                             entries, ONCALL_MAX);
    assert_int_equal(count, 2);
    assert_string_equal(entries[0].user, "alice");
    assert_string_equal(entries[1].user, "bob");
    assert_int_equal(entries[1].rotation, 1);
    count = oncall_at(&config->notify.schedules[0], NULL, 0, s_at("2024-01-02T10:00:00Z"), entries,
                      ONCALL_MAX);
    assert_int_equal(count, 2);
    assert_string_equal(entries[0].user, "bob");
    assert_string_equal(entries[1].user, "carol");
    /* the same person twice is listed once: day 1 of a rotation where both have bob */
    lk_config_destroy(&config);
    free(yaml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tz_offsets),
        cmocka_unit_test(test_tz_local_to_utc),
        cmocka_unit_test(test_tz_rejects_garbage),
        cmocka_unit_test(test_weekly_handoff),
        cmocka_unit_test(test_daily_across_dst),
        cmocka_unit_test(test_handoff_inside_the_changed_hour),
        cmocka_unit_test(test_hourly_shifts),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_two_rotations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
