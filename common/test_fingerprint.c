/*  Unit tests for lk_fingerprint. The expected values are Prometheus's own test vectors
    (prometheus/common model/signature_test.go: TestLabelsToSignature, TestMetricToFingerprint
    and the BenchmarkMetricToFingerprint* cases), so our fingerprints match Alertmanager's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lk_fingerprint.h"

static void test_fnv1a64_reference_values(void **state)
{
    (void)state;
    /* published FNV-1a 64 test values */
    assert_true(lk_fnv1a64(LK_FNV64_OFFSET, "", 0) == 0xcbf29ce484222325ULL);
    assert_true(lk_fnv1a64(LK_FNV64_OFFSET, "a", 1) == 0xaf63dc4c8601ec8cULL);
    assert_true(lk_fnv1a64(LK_FNV64_OFFSET, "foobar", 6) == 0x85944171f73967e8ULL);
    /* continuing a hash equals hashing the concatenation */
    uint64_t split = lk_fnv1a64(lk_fnv1a64(LK_FNV64_OFFSET, "foo", 3), "bar", 3);
    assert_true(split == 0x85944171f73967e8ULL);
}

static void test_prometheus_vectors(void **state)
{
    (void)state;
    lk_labels_t labels = {0};
    assert_true(lk_fingerprint_labels(&labels) == 14695981039346656037ULL);

    lk_labels_set(&labels, "name", "garland, briggs");
    lk_labels_set(&labels, "fear", "love is not enough");
    assert_true(lk_fingerprint_labels(&labels) == 5799056148416392346ULL);
    lk_labels_clear(&labels);

    lk_labels_set(&labels, "first-label", "first-label-value");
    assert_true(lk_fingerprint_labels(&labels) == 5146282821936882169ULL);
    lk_labels_set(&labels, "second-label", "second-label-value");
    assert_true(lk_fingerprint_labels(&labels) == 3195800080984914717ULL);
    lk_labels_set(&labels, "third-label", "third-label-value");
    assert_true(lk_fingerprint_labels(&labels) == 13843036195897128121ULL);
    lk_labels_clear(&labels);
}

static void test_insertion_order_does_not_matter(void **state)
{
    (void)state;
    lk_labels_t a = {0}, b = {0};
    lk_labels_set(&a, "third-label", "third-label-value");
    lk_labels_set(&a, "first-label", "first-label-value");
    lk_labels_set(&a, "second-label", "second-label-value");
    lk_labels_set(&b, "second-label", "second-label-value");
    lk_labels_set(&b, "third-label", "third-label-value");
    lk_labels_set(&b, "first-label", "first-label-value");
    assert_true(lk_fingerprint_labels(&a) == lk_fingerprint_labels(&b));
    assert_true(lk_fingerprint_labels(&a) == 13843036195897128121ULL);
    /* the separator keeps "ab"="c" apart from "a"="bc" */
    lk_labels_t c = {0}, d = {0};
    lk_labels_set(&c, "ab", "c");
    lk_labels_set(&d, "a", "bc");
    assert_true(lk_fingerprint_labels(&c) != lk_fingerprint_labels(&d));
    lk_labels_clear(&a);
    lk_labels_clear(&b);
    lk_labels_clear(&c);
    lk_labels_clear(&d);
}

static void test_format(void **state)
{
    (void)state;
    char text[LK_FINGERPRINT_STR_LEN + 1];
    lk_fingerprint_format(5799056148416392346ULL, text);
    assert_string_equal(text, "507a62d79ee76c9a");
    lk_fingerprint_format(1, text);
    assert_string_equal(text, "0000000000000001");
    lk_fingerprint_format(0, text);
    assert_string_equal(text, "0000000000000000");
    lk_fingerprint_format(UINT64_MAX, text);
    assert_string_equal(text, "ffffffffffffffff");
    lk_fingerprint_format(14695981039346656037ULL, text);
    assert_string_equal(text, "cbf29ce484222325");
}

static void test_alert_fingerprint(void **state)
{
    (void)state;
    lk_alert_t alert = {0};
    lk_labels_set(&alert.labels, "name", "garland, briggs");
    lk_labels_set(&alert.labels, "fear", "love is not enough");
    lk_fingerprint_alert(&alert);
    assert_string_equal(alert.fingerprint, "507a62d79ee76c9a");

    /* an empty dedup_key is no identity: the labels still count */
    alert.dedup_key = strdup("");
    lk_fingerprint_alert(&alert);
    assert_string_equal(alert.fingerprint, "507a62d79ee76c9a");

    /* a dedup_key replaces the labels: fingerprint of {dedup_key=<key>} */
    free(alert.dedup_key);
    alert.dedup_key = strdup("db-primary-down");
    lk_fingerprint_alert(&alert);
    lk_labels_t key_set = {0};
    lk_labels_set(&key_set, "dedup_key", "db-primary-down");
    char expected[LK_FINGERPRINT_STR_LEN + 1];
    lk_fingerprint_format(lk_fingerprint_labels(&key_set), expected);
    assert_string_equal(alert.fingerprint, expected);
    /* and label changes no longer move it */
    lk_labels_set(&alert.labels, "instance", "b");
    lk_fingerprint_alert(&alert);
    assert_string_equal(alert.fingerprint, expected);
    lk_labels_clear(&key_set);
    lk_alert_clear(&alert);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fnv1a64_reference_values),
        cmocka_unit_test(test_prometheus_vectors),
        cmocka_unit_test(test_insertion_order_does_not_matter),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_alert_fingerprint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
