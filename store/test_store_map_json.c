/*  test_store_map_json — store_map_labels_json writes the label and annotation columns by
    hand; its text must be byte for byte what jansson's json_dumps(JSON_COMPACT |
    JSON_SORT_KEYS) gives for the same set, which is what the columns held before and what
    readers parse. Checked on hand-picked sets (escapes, controls, UTF-8) and random ones.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "lk_json.h"
#include "lk_model.h"
#include "store_map.h"

/* Fails unless both writers agree on labels. */
static void s_assert_same(const lk_labels_t *labels)
{
    json_t *object = lk_json_labels(labels);
    assert_non_null(object);
    char *expected = json_dumps(object, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(object);
    char *actual = store_map_labels_json(labels);
    assert_non_null(expected);
    assert_non_null(actual);
    assert_string_equal(actual, expected);
    free(expected);
    free(actual);
}

static void test_hand_picked(void **state)
{
    (void)state;
    lk_labels_t labels = {0};
    s_assert_same(&labels); /* {} */
    const char *pairs[][2] = {
        {"alertname", "HighCPU"},
        {"quote", "say \"hi\""},
        {"backslash", "C:\\path\\"},
        {"controls", "\x01\b\t\n\x0b\f\r\x1f end"},
        {"utf8", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 / <tag> & \x7f"},
        {"empty", ""},
        {"Zupper", "sorted before lower case"},
        {"_under", "x"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        assert_int_equal(lk_labels_set(&labels, pairs[i][0], pairs[i][1]), 0);
        s_assert_same(&labels);
    }
    lk_labels_clear(&labels);
}

static void test_invalid_utf8_refused(void **state)
{
    (void)state;
    lk_labels_t labels = {0};
    assert_int_equal(lk_labels_set(&labels, "a", "\xc3\x28"), 0);
    assert_null(store_map_labels_json(&labels));
    lk_labels_clear(&labels);
}

static void test_random_sets(void **state)
{
    (void)state;
    static const char *pieces[] = {"a",
                                   "Z",
                                   "_",
                                   "0",
                                   " ",
                                   "\"",
                                   "\\",
                                   "\n",
                                   "\x01",
                                   "\x1f",
                                   "\xc3\xa9",
                                   "\xe2\x82\xac",
                                   "\xf0\x9f\x98\x80",
                                   "/",
                                   "\x7f"};
    size_t piece_count = sizeof pieces / sizeof pieces[0];
    srand(4242);
    for (int round = 0; round < 500; round++) {
        lk_labels_t labels = {0};
        int count = rand() % 6;
        for (int i = 0; i < count; i++) {
            char name[32], value[128] = "";
            snprintf(name, sizeof name, "l%d_%d", rand() % 8, i);
            int length = rand() % 12;
            for (int k = 0; k < length; k++)
                strcat(value, pieces[(size_t)rand() % piece_count]);
            assert_int_equal(lk_labels_set(&labels, name, value), 0);
        }
        s_assert_same(&labels);
        lk_labels_clear(&labels);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_picked),
        cmocka_unit_test(test_invalid_utf8_refused),
        cmocka_unit_test(test_random_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
