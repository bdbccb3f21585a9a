/*  intake_util — shared pieces of the ecosystem intake parsers (see intake_util.h). */
#include "intake_util.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_time.h"

/* ---- errors ---------------------------------------------------------------------------- */

/* Copies text into dst[dst_size], cutting at a UTF-8 character boundary so the field stays
   valid UTF-8 for a JSON error body. */
static void s_copy_utf8(char *dst, size_t dst_size, const char *text)
{
    size_t len = strlen(text);
    if (len >= dst_size) {
        len = dst_size - 1;
        while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
            len--;
    }
    memcpy(dst, text, len);
    dst[len] = '\0';
}

void intake_error(intake_parser_t *parser, size_t index, const char *field, const char *format, ...)
{
    parser->element_bad = true;
    if (parser->errors_cut || parser->oom)
        return;
    alert_parse_result_t *result = parser->result;
    char message[sizeof(((alert_error_t *)0)->message)];
    if (result->error_count == INTAKE_ERRORS_MAX) {
        parser->errors_cut = true;
        field = "";
        snprintf(message, sizeof message, "too many errors; the rest are not listed");
    } else {
        va_list args;
        va_start(args, format);
        vsnprintf(message, sizeof message, format, args);
        va_end(args);
    }
    if (result->error_count == parser->errors_capacity) {
        size_t capacity = parser->errors_capacity ? parser->errors_capacity * 2 : 16;
        alert_error_t *errors = realloc(result->errors, capacity * sizeof *errors);
        if (!errors) {
            parser->oom = true;
            return;
        }
        result->errors = errors;
        parser->errors_capacity = capacity;
    }
    alert_error_t *error = &result->errors[result->error_count++];
    error->index = index;
    s_copy_utf8(error->field, sizeof error->field, field);
    s_copy_utf8(error->message, sizeof error->message, message);
}

/* ---- elements -------------------------------------------------------------------------- */

int intake_parser_begin(intake_parser_t *parser, alert_parse_result_t *result, size_t count)
{
    memset(parser, 0, sizeof *parser);
    memset(result, 0, sizeof *result);
    parser->result = result;
    if (count == 0)
        return 0;
    result->alerts = calloc(count, sizeof *result->alerts);
    result->indexes = calloc(count, sizeof *result->indexes);
    if (!result->alerts || !result->indexes) {
        alert_parse_result_clear(result);
        return -1;
    }
    return 0;
}

lk_alert_t *intake_element_begin(intake_parser_t *parser)
{
    parser->element_bad = false;
    lk_alert_t *alert = &parser->result->alerts[parser->result->alert_count];
    memset(alert, 0, sizeof *alert);
    return alert;
}

bool intake_element_end(intake_parser_t *parser, size_t index)
{
    alert_parse_result_t *result = parser->result;
    lk_alert_t *alert = &result->alerts[result->alert_count];
    if (parser->element_bad || parser->oom) {
        lk_alert_clear(alert);
        return false;
    }
    result->indexes[result->alert_count++] = index;
    return true;
}

int intake_parser_end(intake_parser_t *parser, const char **reason)
{
    if (!parser->oom)
        return 0;
    alert_parse_result_clear(parser->result);
    *reason = "out of memory";
    return -1;
}

/* ---- fields ---------------------------------------------------------------------------- */

bool intake_label_name_valid(const char *name, size_t len)
{
    /* bounded: every name must fit the internal protocol's strings (LK_MSG_MAX_STR) */
    if (len == 0 || len > INTAKE_LABEL_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

/* Reports a problem with entry name of map key, as "<key>.<name>". */
static void s_entry_error(intake_parser_t *parser, size_t index, const char *key, const char *name,
                          const char *message)
{
    char field[sizeof(((alert_error_t *)0)->field)];
    snprintf(field, sizeof field, "%s.%s", key, name);
    intake_error(parser, index, field, "%s", message);
}

void intake_string_map(intake_parser_t *parser, size_t index, const json_t *object, const char *key,
                       bool required, bool drop_empty, size_t max_count, size_t max_value,
                       lk_labels_t *set)
{
    const json_t *map = json_object_get(object, key);
    if (!map || json_is_null(map)) {
        if (required)
            intake_error(parser, index, key, "is required");
        return;
    }
    if (!json_is_object(map)) {
        intake_error(parser, index, key, "must be an object of strings");
        return;
    }
    if (json_object_size(map) > max_count) {
        intake_error(parser, index, key, "must have at most %zu entries", max_count);
        return;
    }
    char too_long[64];
    snprintf(too_long, sizeof too_long, "must be at most %zu bytes", max_value);
    for (void *iter = json_object_iter((json_t *)map); iter;
         iter = json_object_iter_next((json_t *)map, iter)) {
        const char *name = json_object_iter_key(iter);
        size_t name_len = json_object_iter_key_len(iter);
        const json_t *value = json_object_iter_value(iter);
        /* A name with a NUL byte cannot be shown as a C string: cut it where C would. */
        bool ok = true;
        if (!intake_label_name_valid(name, name_len)) {
            s_entry_error(parser, index, key, name, "name must match [a-zA-Z_][a-zA-Z0-9_]*");
            ok = false;
        }
        if (!json_is_string(value)) {
            s_entry_error(parser, index, key, name, "must be a string");
            ok = false;
        } else if (strlen(json_string_value(value)) != json_string_length(value)) {
            s_entry_error(parser, index, key, name, "must not contain NUL characters");
            ok = false;
        } else if (json_string_length(value) > max_value) {
            s_entry_error(parser, index, key, name, too_long);
            ok = false;
        }
        if (!ok || (drop_empty && json_string_length(value) == 0))
            continue;
        if (lk_labels_set(set, name, json_string_value(value)) != 0)
            parser->oom = true;
    }
}

bool intake_optional_string(intake_parser_t *parser, size_t index, const json_t *object,
                            const char *key, size_t max_bytes, const char **out)
{
    *out = NULL;
    const json_t *member = json_object_get(object, key);
    if (!member || json_is_null(member))
        return true;
    if (!json_is_string(member)) {
        intake_error(parser, index, key, "must be a string");
        return false;
    }
    size_t len = json_string_length(member);
    if (strlen(json_string_value(member)) != len) {
        intake_error(parser, index, key, "must not contain NUL characters");
        return false;
    }
    if (len > max_bytes) {
        intake_error(parser, index, key, "must be at most %zu bytes", max_bytes);
        return false;
    }
    if (len > 0)
        *out = json_string_value(member);
    return true;
}

bool intake_optional_time(intake_parser_t *parser, size_t index, const json_t *object,
                          const char *key, int64_t *epoch_ms)
{
    *epoch_ms = 0;
    const char *text = NULL;
    if (!intake_optional_string(parser, index, object, key, 64, &text))
        return false;
    if (!text)
        return true;
    int64_t parsed = 0;
    if (!lk_time_parse(text, &parsed)) {
        intake_error(parser, index, key, "must be an RFC 3339 timestamp");
        return false;
    }
    /* Go's zero time.Time: year 1; no real alert is that old. */
    if (strncmp(text, "0001-01-01T00:00:00", 19) == 0)
        return true;
    if (parsed <= 0) {
        intake_error(parser, index, key, "must be after 1970-01-01T00:00:00Z");
        return false;
    }
    *epoch_ms = parsed;
    return true;
}

void intake_dup(intake_parser_t *parser, char **field, const char *text)
{
    if (!text)
        return;
    *field = strdup(text);
    if (!*field)
        parser->oom = true;
}

lk_severity_t intake_label_severity(const lk_labels_t *labels)
{
    lk_severity_t severity = LK_SEV_WARNING;
    const char *text = lk_labels_get(labels, "severity");
    if (!text || !lk_severity_parse(text, &severity))
        return LK_SEV_WARNING;
    return severity;
}

/* ---- integration keys ------------------------------------------------------------------ */

/* Compares a[0..a_len) with b[0..b_len) reading every byte of b: 0 when equal. */
static unsigned s_compare(const char *a, size_t a_len, const char *b, size_t b_len)
{
    unsigned difference = a_len != b_len;
    for (size_t i = 0; i < b_len; i++) {
        /* past the end of a, compare against b itself so the work stays the same */
        unsigned char left = i < a_len ? (unsigned char)a[i] : (unsigned char)~b[i];
        difference |= left ^ (unsigned char)b[i];
    }
    return difference;
}

const lk_integration_t *intake_integration_find(const lk_config_t *config, const char *key,
                                                size_t key_len)
{
    const lk_integration_t *found = NULL;
    for (size_t i = 0; config && i < config->integration_count; i++) {
        const lk_integration_t *integration = &config->integrations[i];
        const char *stored = integration->routing_key;
        /* the keys are unique, so at most one matches; no early exit */
        if (s_compare(key, key_len, stored, strlen(stored)) == 0)
            found = integration;
    }
    return found;
}
