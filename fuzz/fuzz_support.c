/*  fuzz_support — the shared checks of the alert-parser fuzz targets (fuzz_support.h). */
#include "fuzz_support.h"

#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "http_reply.h"
#include "lk_fingerprint.h"
#include "lk_msg.h"

json_t *fuzz_json_body(const uint8_t *data, size_t size)
{
    if (!http_json_depth_ok((const char *)data, size, HTTP_JSON_MAX_DEPTH))
        return NULL;
    return json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
}

/* Strings compare equal when both are NULL or both hold the same text. */
static bool s_same_text(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Doubles survive msgpack bit for bit (float64), NaN included. */
static bool s_same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* Aborts unless got holds exactly what sent holds (every field the wire carries). */
static void s_check_same_alert(const lk_alert_t *sent, const lk_alert_t *got)
{
    FUZZ_CHECK(sent->updated_at_ms == got->updated_at_ms);
    FUZZ_CHECK(strcmp(sent->tenant_id, got->tenant_id) == 0);
    FUZZ_CHECK(strcmp(sent->fingerprint, got->fingerprint) == 0);
    FUZZ_CHECK(s_same_text(sent->source, got->source));
    FUZZ_CHECK(s_same_text(sent->name, got->name));
    FUZZ_CHECK(s_same_text(sent->query, got->query));
    FUZZ_CHECK(s_same_text(sent->dedup_key, got->dedup_key));
    FUZZ_CHECK(s_same_text(sent->generator_url, got->generator_url));
    FUZZ_CHECK(lk_labels_equal(&sent->labels, &got->labels));
    FUZZ_CHECK(lk_labels_equal(&sent->annotations, &got->annotations));
    FUZZ_CHECK(sent->severity == got->severity);
    FUZZ_CHECK(sent->status == got->status);
    FUZZ_CHECK(sent->has_value == got->has_value);
    if (sent->has_value)
        FUZZ_CHECK(s_same_double(sent->value, got->value));
    FUZZ_CHECK(sent->has_threshold == got->has_threshold);
    if (sent->has_threshold)
        FUZZ_CHECK(s_same_double(sent->threshold, got->threshold));
    FUZZ_CHECK(sent->starts_at_ms == got->starts_at_ms);
    FUZZ_CHECK(sent->ends_at_ms == got->ends_at_ms);
}

void fuzz_check_alerts(const lk_alert_t *alerts, size_t count)
{
    if (count == 0)
        return;
    lk_msg_t batch;
    lk_msg_init(&batch, LK_MSG_ALERT_BATCH);
    memcpy(batch.tenant_id, FUZZ_TENANT, sizeof batch.tenant_id);
    batch.req = 1;
    for (size_t i = 0; i < count; i++) {
        /* A valid alert's labels are a label set: sorted, unique names, name = alertname. */
        const lk_labels_t *labels = &alerts[i].labels;
        for (size_t j = 1; j < labels->count; j++)
            FUZZ_CHECK(strcmp(labels->items[j - 1].name, labels->items[j].name) < 0);
        FUZZ_CHECK(alerts[i].tenant_id[0] != '\0');
        lk_alert_t copy;
        memset(&copy, 0, sizeof copy);
        FUZZ_CHECK(lk_alert_copy(&copy, &alerts[i]) == 0);
        lk_fingerprint_alert(&copy);
        FUZZ_CHECK(strlen(copy.fingerprint) == LK_FINGERPRINT_STR_LEN);
        FUZZ_CHECK(lk_msg_add_alert(&batch, &copy) == 0);
        lk_alert_clear(&copy);
    }
    char *wire = NULL;
    size_t wire_size = 0;
    FUZZ_CHECK(lk_msg_encode(&batch, &wire, &wire_size) == 0);
    lk_msg_t decoded;
    char err[256] = "";
    int rc = lk_msg_decode(wire, wire_size, &decoded, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "an accepted alert does not survive the wire: %s\n", err);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(decoded.type == LK_MSG_ALERT_BATCH && decoded.alert_count == count);
    for (size_t i = 0; i < count; i++)
        s_check_same_alert(&batch.alerts[i], &decoded.alerts[i]);
    lk_msg_clear(&decoded);
    lk_msg_clear(&batch);
    free(wire);
}

void fuzz_check_result(const alert_parse_result_t *result, size_t element_count)
{
    for (size_t i = 0; i < result->alert_count; i++) {
        FUZZ_CHECK(result->indexes[i] < element_count);
        if (i > 0)
            FUZZ_CHECK(result->indexes[i] > result->indexes[i - 1]);
    }
    for (size_t i = 0; i < result->error_count; i++) {
        FUZZ_CHECK(result->errors[i].index <= element_count);
        FUZZ_CHECK(memchr(result->errors[i].message, '\0', sizeof result->errors[i].message));
        FUZZ_CHECK(memchr(result->errors[i].field, '\0', sizeof result->errors[i].field));
    }
    fuzz_check_alerts(result->alerts, result->alert_count);
}

void fuzz_check_same_result(const alert_parse_result_t *a, const alert_parse_result_t *b)
{
    FUZZ_CHECK(a->alert_count == b->alert_count);
    FUZZ_CHECK(a->error_count == b->error_count);
    for (size_t i = 0; i < a->alert_count; i++) {
        FUZZ_CHECK(a->indexes[i] == b->indexes[i]);
        s_check_same_alert(&a->alerts[i], &b->alerts[i]);
    }
    for (size_t i = 0; i < a->error_count; i++) {
        FUZZ_CHECK(a->errors[i].index == b->errors[i].index);
        FUZZ_CHECK(strcmp(a->errors[i].field, b->errors[i].field) == 0);
        FUZZ_CHECK(strcmp(a->errors[i].message, b->errors[i].message) == 0);
    }
}
