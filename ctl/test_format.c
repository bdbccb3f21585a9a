/*  Unit tests for ctl_format: durations, matchers, relative times, tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_format.h"

static void test_durations(void **state)
{
    int64_t ms = 0;
    assert_true(ctl_duration_parse("2h", &ms));
    assert_int_equal(ms, 7200000);
    assert_true(ctl_duration_parse("1h30m", &ms));
    assert_int_equal(ms, 5400000);
    assert_true(ctl_duration_parse("90s", &ms));
    assert_int_equal(ms, 90000);
    assert_true(ctl_duration_parse("250ms", &ms));
    assert_int_equal(ms, 250);
    assert_true(ctl_duration_parse("1w2d", &ms));
    assert_int_equal(ms, 9 * 86400000LL);
    assert_true(ctl_duration_parse("5m10ms", &ms));
    assert_int_equal(ms, 300010);
    const char *bad[] = {"",   "h",    "2",   "2x",  "-1h",
                         "0s", "1.5h", "2h ", "1hm", "99999999999999999999h"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(ctl_duration_parse(bad[i], &ms));
    assert_false(ctl_duration_parse(NULL, &ms));
}

static void test_relative_times(void **state)
{
    char buf[32];
    int64_t now = 1700000000000;
    ctl_relative_time(0, now, buf, sizeof buf);
    assert_string_equal(buf, "-");
    ctl_relative_time(now - 400, now, buf, sizeof buf);
    assert_string_equal(buf, "just now");
    ctl_relative_time(now - 42000, now, buf, sizeof buf);
    assert_string_equal(buf, "42s ago");
    ctl_relative_time(now - 5 * 60000 - 59000, now, buf, sizeof buf);
    assert_string_equal(buf, "5m ago");
    ctl_relative_time(now - 3 * 3600000, now, buf, sizeof buf);
    assert_string_equal(buf, "3h ago");
    ctl_relative_time(now - 2 * 86400000LL, now, buf, sizeof buf);
    assert_string_equal(buf, "2d ago");
    ctl_relative_time(now + 10 * 60000 + 500, now, buf, sizeof buf);
    assert_string_equal(buf, "in 10m");
    ctl_relative_time(now + 2 * 3600000 - 1000, now, buf, sizeof buf);
    assert_string_equal(buf, "in 1h59m");
    ctl_relative_time(now - 12 * 3600000 - 300000, now, buf, sizeof buf);
    assert_string_equal(buf, "12h ago");
    ctl_relative_time(now - 2 * 86400000LL - 3 * 3600000 - 1, now, buf, sizeof buf);
    assert_string_equal(buf, "2d3h ago");
    ctl_relative_time(now - 40 * 86400000LL - 3 * 3600000, now, buf, sizeof buf);
    assert_string_equal(buf, "40d ago");
}

static void test_matchers(void **state)
{
    ctl_matcher_t m;
    assert_true(ctl_matcher_parse("alertname=HighCPU", &m));
    assert_string_equal(m.name, "alertname");
    assert_string_equal(m.value, "HighCPU");
    assert_false(m.is_regex);
    assert_true(m.is_equal);
    assert_true(ctl_matcher_parse("job!=api", &m));
    assert_false(m.is_regex);
    assert_false(m.is_equal);
    assert_true(ctl_matcher_parse("instance=~db-.*", &m));
    assert_true(m.is_regex);
    assert_true(m.is_equal);
    assert_string_equal(m.value, "db-.*");
    assert_true(ctl_matcher_parse("env!~prod|staging", &m));
    assert_true(m.is_regex);
    assert_false(m.is_equal);
    assert_true(ctl_matcher_parse("team=", &m)); /* an empty value matches a missing label */
    assert_string_equal(m.value, "");
    assert_true(ctl_matcher_parse("a=b=c", &m));
    assert_string_equal(m.value, "b=c");
    assert_false(ctl_matcher_parse("=value", &m));
    assert_false(ctl_matcher_parse("1abc=x", &m));
    assert_false(ctl_matcher_parse("name", &m));
    assert_false(ctl_matcher_parse("na-me=x", &m));
    assert_false(ctl_matcher_parse(NULL, &m));
}

/* Prints table into a string (caller frees). */
static char *s_print(const ctl_table_t *table)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    ctl_table_print(table, out);
    fclose(out);
    return text;
}

static void test_tables(void **state)
{
    ctl_table_t *table = ctl_table_new(3, (const char *[]){"ID", "STATUS", "TITLE"});
    ctl_table_add(table, (const char *[]){"1", "triggered", "CPU high"});
    ctl_table_add(table, (const char *[]){"22", NULL, "Disk\nfull"});
    assert_int_equal(ctl_table_rows(table), 2);
    char *text = s_print(table);
    assert_string_equal(text, "ID  STATUS     TITLE\n"
                              "1   triggered  CPU high\n"
                              "22  -          Disk full\n");
    free(text);
    ctl_table_destroy(&table);
    assert_null(table);

    /* width counts characters, not bytes; a capped column ends in an ellipsis */
    table = ctl_table_new(2, (const char *[]){"NAME", "NOTE"});
    ctl_table_set_max_width(table, 0, 6);
    ctl_table_add(table, (const char *[]){"café", "ok"});
    ctl_table_add(table, (const char *[]){"a-very-long-name", "cut"});
    text = s_print(table);
    assert_string_equal(text, "NAME    NOTE\n"
                              "café    ok\n"
                              "a-ver…  cut\n");
    free(text);
    ctl_table_destroy(&table);
    assert_int_equal(ctl_text_width("żółw"), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_relative_times),
        cmocka_unit_test(test_matchers),
        cmocka_unit_test(test_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
