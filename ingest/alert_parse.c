/*  alert_parse — validates the native `POST /alerts` body into lk_alert_t values.

    The field table in docs/http-api.md is the specification. Each element is checked in full
    and every violation becomes one alert_error_t (index + JSON path + message), so a sender
    can fix a whole batch in one round trip. An element with any error is dropped whole: half
    an alert would change an incident in a way the sender did not ask for. The valid elements
    are returned with their request positions so the rest of the batch still goes through.

    Conventions beyond the table: JSON null means "not given" for every field, and an empty
    string means "not given" for the optional free-text fields (query, source, dedup_key,
    generator_url), which is what templating senders produce when a value is missing.
    `generator_url` (string, at most 4096 bytes) is accepted because lk_alert_t carries it.
*/
#include "alert_parse.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_time.h"

#define ALERT_NAME_MAX             256
#define ALERT_LABELS_MAX           64
#define ALERT_LABEL_NAME_MAX       1024
#define ALERT_LABEL_VALUE_MAX      4096
#define ALERT_ANNOTATIONS_MAX      64
#define ALERT_ANNOTATION_VALUE_MAX 16384
#define ALERT_ANNOTATION_NAME_MAX  256
#define ALERT_QUERY_MAX            4096
#define ALERT_SOURCE_MAX           64
#define ALERT_DEDUP_KEY_MAX        255
#define ALERT_GENERATOR_URL_MAX    4096
/* A 1 MiB body of tiny bad labels could otherwise produce ~100k errors (~40 MB) to hold and
   send back; past this many, one closing entry says the list was cut. */
#define ALERT_ERRORS_MAX 1000

typedef struct {
    alert_parse_result_t *result;
    size_t errors_capacity;
    bool element_bad; /* the element being parsed has at least one error */
    bool errors_cut;  /* ALERT_ERRORS_MAX reached; later errors are not listed */
    bool oom;
} parser_t;

/* ---- errors ---------------------------------------------------------------------------- */

/* Copies text into dst[dst_size] with truncation that never splits a UTF-8 sequence, so the
   field stays valid UTF-8 for the JSON error body. */
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

/* Appends one error, or the closing "list was cut" entry once ALERT_ERRORS_MAX is reached.
   Marks the current element bad either way. */
static void s_error_at(parser_t *parser, size_t index, const char *field, const char *message)
{
    parser->element_bad = true;
    if (parser->errors_cut || parser->oom)
        return;
    alert_parse_result_t *result = parser->result;
    if (result->error_count == ALERT_ERRORS_MAX) {
        parser->errors_cut = true;
        field = "";
        message = "too many errors; the rest are not listed";
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

/* Reports an error on member `key` of object `prefix` ("labels.<key>"). */
static void s_member_error(parser_t *parser, size_t index, const char *prefix, const char *key,
                           const char *message)
{
    char field[sizeof(((alert_error_t *)0)->field) + 1];
    size_t prefix_len = strlen(prefix);
    assert(prefix_len + 2 < sizeof field);
    memcpy(field, prefix, prefix_len);
    field[prefix_len] = '.';
    s_copy_utf8(field + prefix_len + 1, sizeof field - prefix_len - 1, key);
    s_error_at(parser, index, field, message);
}

/* ---- field readers --------------------------------------------------------------------- */

/* True when a jansson string holds no NUL byte (only possible with JSON_ALLOW_NUL or with
   json_stringn, but the alert fields end up in C strings). */
static bool s_no_nul(const json_t *string)
{
    return strlen(json_string_value(string)) == json_string_length(string);
}

/* Reads optional string member `key` of at most max_bytes bytes. Sets *out to the value, or
   to NULL when the member is absent, null, or (when empty_is_absent) "". Returns false
   after reporting an error when the member is present but unusable. */
static bool s_optional_string(parser_t *parser, size_t index, const json_t *object, const char *key,
                              size_t max_bytes, bool empty_is_absent, const char **out)
{
    *out = NULL;
    const json_t *member = json_object_get(object, key);
    if (!member || json_is_null(member))
        return true;
    if (!json_is_string(member)) {
        s_error_at(parser, index, key, "must be a string");
        return false;
    }
    if (!s_no_nul(member)) {
        s_error_at(parser, index, key, "must not contain NUL characters");
        return false;
    }
    size_t len = json_string_length(member);
    if (len == 0 && empty_is_absent)
        return true;
    if (len > max_bytes) {
        char message[64];
        snprintf(message, sizeof message, "must be at most %zu bytes", max_bytes);
        s_error_at(parser, index, key, message);
        return false;
    }
    *out = json_string_value(member);
    return true;
}

/* Reads optional number member `key` (integer or real) into *value; *present says whether
   it was given. Returns false after reporting an error for any other type. */
static bool s_optional_number(parser_t *parser, size_t index, const json_t *object, const char *key,
                              bool *present, double *value)
{
    *present = false;
    const json_t *member = json_object_get(object, key);
    if (!member || json_is_null(member))
        return true;
    if (!json_is_number(member) || !isfinite(json_number_value(member))) {
        s_error_at(parser, index, key, "must be a finite number");
        return false;
    }
    *present = true;
    *value = json_number_value(member);
    return true;
}

/* Reads optional RFC 3339 member `key` into *epoch_ms (left alone when absent). Returns false
   after reporting an error when present but not a timestamp after the epoch (0 means "unset"
   in lk_alert_t, so the epoch itself cannot be represented). */
static bool s_optional_time(parser_t *parser, size_t index, const json_t *object, const char *key,
                            bool *present, int64_t *epoch_ms)
{
    *present = false;
    const char *text = NULL;
    if (!s_optional_string(parser, index, object, key, 64, false, &text))
        return false;
    if (!text)
        return true;
    int64_t parsed = 0;
    if (!lk_time_parse(text, &parsed) || parsed <= 0) {
        s_error_at(parser, index, key, "must be an RFC 3339 timestamp after 1970-01-01");
        return false;
    }
    *present = true;
    *epoch_ms = parsed;
    return true;
}

/* True when name[0..len) matches [a-zA-Z_][a-zA-Z0-9_]* (len counts any embedded NUL). */
static bool s_label_name_valid(const char *name, size_t len)
{
    /* bounded: every name must fit the internal protocol's strings (LK_MSG_MAX_STR) */
    if (len == 0 || len > ALERT_LABEL_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

/* Reads member `key` ("labels" or "annotations"), an object of strings, into *set. Label
   names must match the Prometheus name pattern; annotation names only need to be free of
   NUL and 1 to ALERT_ANNOTATION_NAME_MAX bytes. A set over max_count is reported once and its
   entries are not checked one by one. */
static void s_parse_string_map(parser_t *parser, size_t index, const json_t *object,
                               const char *key, bool label_names, size_t max_count,
                               size_t max_value_bytes, lk_labels_t *set)
{
    json_t *map = json_object_get(object, key);
    if (!map || json_is_null(map))
        return;
    if (!json_is_object(map)) {
        s_error_at(parser, index, key, "must be an object of strings");
        return;
    }
    if (json_object_size(map) > max_count) {
        char message[64];
        snprintf(message, sizeof message, "must have at most %zu entries", max_count);
        s_error_at(parser, index, key, message);
        return;
    }
    char too_long[64];
    snprintf(too_long, sizeof too_long, "must be at most %zu bytes", max_value_bytes);
    for (void *iter = json_object_iter(map); iter; iter = json_object_iter_next(map, iter)) {
        const char *name = json_object_iter_key(iter);
        size_t name_len = json_object_iter_key_len(iter);
        const json_t *value = json_object_iter_value(iter);
        bool ok = true;
        if (label_names && !s_label_name_valid(name, name_len)) {
            s_member_error(parser, index, key, name, "name must match [a-zA-Z_][a-zA-Z0-9_]*");
            ok = false;
        } else if (!label_names && strlen(name) != name_len) {
            s_member_error(parser, index, key, name, "name must not contain NUL characters");
            ok = false;
        } else if (!label_names && (name_len == 0 || name_len > ALERT_ANNOTATION_NAME_MAX)) {
            /* the internal protocol refuses empty names, and a name is not a document */
            char message[64];
            snprintf(message, sizeof message, "name must be 1 to %d bytes",
                     ALERT_ANNOTATION_NAME_MAX);
            s_member_error(parser, index, key, name, message);
            ok = false;
        }
        if (!json_is_string(value)) {
            s_member_error(parser, index, key, name, "must be a string");
            ok = false;
        } else if (!s_no_nul(value)) {
            s_member_error(parser, index, key, name, "must not contain NUL characters");
            ok = false;
        } else if (json_string_length(value) > max_value_bytes) {
            s_member_error(parser, index, key, name, too_long);
            ok = false;
        }
        if (ok && lk_labels_set(set, name, json_string_value(value)) != 0)
            parser->oom = true;
    }
}

/* Duplicates text into *field (NULL stays NULL); flags OOM. */
static void s_dup(parser_t *parser, char **field, const char *text)
{
    if (!text)
        return;
    *field = strdup(text);
    if (!*field)
        parser->oom = true;
}

/* ---- one element ----------------------------------------------------------------------- */

/* Validates one element and fills *alert. Returns true when the element has no error (the
   caller then keeps *alert); on false *alert may hold partial data for the caller to clear. */
static bool s_parse_alert(parser_t *parser, size_t index, const json_t *element,
                          const char *tenant_id, int64_t now_ms, lk_alert_t *alert)
{
    parser->element_bad = false;
    if (!json_is_object(element)) {
        s_error_at(parser, index, "", "must be an object");
        return false;
    }
    size_t tenant_len = strnlen(tenant_id, LK_UUID_STR_LEN);
    memcpy(alert->tenant_id, tenant_id, tenant_len);
    alert->tenant_id[tenant_len] = '\0';

    /* name: 1..256 bytes, unless labels.alertname stands in for it. */
    const char *name = NULL;
    const json_t *name_member = json_object_get(element, "name");
    bool name_given = name_member && !json_is_null(name_member);
    if (s_optional_string(parser, index, element, "name", ALERT_NAME_MAX, false, &name) && name &&
        *name == '\0') {
        s_error_at(parser, index, "name", "must be 1 to 256 bytes");
        name = NULL;
    }

    s_parse_string_map(parser, index, element, "labels", true, ALERT_LABELS_MAX,
                       ALERT_LABEL_VALUE_MAX, &alert->labels);
    s_parse_string_map(parser, index, element, "annotations", false, ALERT_ANNOTATIONS_MAX,
                       ALERT_ANNOTATION_VALUE_MAX, &alert->annotations);

    if (name) {
        /* The explicit name wins over labels.alertname: both must agree afterwards. */
        if (lk_labels_set(&alert->labels, "alertname", name) != 0)
            parser->oom = true;
    } else if (!name_given) {
        const char *label_name = lk_labels_get(&alert->labels, "alertname");
        if (!label_name || !*label_name)
            s_error_at(parser, index, "name", "is required unless labels.alertname is given");
        else if (strlen(label_name) > ALERT_NAME_MAX)
            s_error_at(parser, index, "labels.alertname",
                       "must be at most 256 bytes when it serves as the name");
        else
            name = label_name;
    }
    s_dup(parser, &alert->name, name);

    /* severity: the field, else labels.severity if it is a known level, else warning. */
    const char *severity = NULL;
    if (s_optional_string(parser, index, element, "severity", 64, false, &severity) && severity &&
        !lk_severity_parse(severity, &alert->severity))
        s_error_at(parser, index, "severity", "must be one of info, warning, error, critical");
    if (!severity) {
        const char *label_severity = lk_labels_get(&alert->labels, "severity");
        if (!label_severity || !lk_severity_parse(label_severity, &alert->severity))
            alert->severity = LK_SEV_WARNING;
    }

    const char *status = NULL;
    alert->status = LK_ALERT_FIRING;
    if (s_optional_string(parser, index, element, "status", 64, false, &status) && status &&
        !lk_alert_status_parse(status, &alert->status))
        s_error_at(parser, index, "status", "must be one of firing, resolved");

    s_optional_number(parser, index, element, "value", &alert->has_value, &alert->value);
    s_optional_number(parser, index, element, "threshold", &alert->has_threshold,
                      &alert->threshold);

    const char *text = NULL;
    if (s_optional_string(parser, index, element, "query", ALERT_QUERY_MAX, true, &text))
        s_dup(parser, &alert->query, text);
    if (s_optional_string(parser, index, element, "source", ALERT_SOURCE_MAX, true, &text))
        s_dup(parser, &alert->source, text ? text : "api");
    if (s_optional_string(parser, index, element, "dedup_key", ALERT_DEDUP_KEY_MAX, true, &text))
        s_dup(parser, &alert->dedup_key, text);
    if (s_optional_string(parser, index, element, "generator_url", ALERT_GENERATOR_URL_MAX, true,
                          &text))
        s_dup(parser, &alert->generator_url, text);

    bool has_start = false, has_end = false;
    s_optional_time(parser, index, element, "starts_at", &has_start, &alert->starts_at_ms);
    s_optional_time(parser, index, element, "ends_at", &has_end, &alert->ends_at_ms);
    if (!has_start)
        alert->starts_at_ms = now_ms;
    /* A resolved alert always says when it ended: the moment we heard of it by default. */
    if (!has_end && alert->status == LK_ALERT_RESOLVED)
        alert->ends_at_ms = now_ms;

    return !parser->element_bad && !parser->oom;
}

/* ---- public API ------------------------------------------------------------------------ */

int alert_parse_native(const json_t *body, const char *tenant_id, int64_t now_ms, size_t max_batch,
                       alert_parse_result_t *result, const char **reason)
{
    assert(tenant_id && result && reason);
    memset(result, 0, sizeof *result);
    *reason = NULL;

    size_t count = 0;
    if (json_is_object(body))
        count = 1;
    else if (json_is_array(body))
        count = json_array_size(body);
    else {
        *reason = "body must be an alert object or an array of them";
        return -1;
    }
    if (count > max_batch) {
        *reason = "too many alerts in one request";
        return -1;
    }

    parser_t parser = {.result = result};
    if (count > 0) {
        result->alerts = calloc(count, sizeof *result->alerts);
        result->indexes = calloc(count, sizeof *result->indexes);
        if (!result->alerts || !result->indexes)
            parser.oom = true;
    }
    for (size_t index = 0; index < count && !parser.oom; index++) {
        const json_t *element = json_is_array(body) ? json_array_get(body, index) : body;
        lk_alert_t *alert = &result->alerts[result->alert_count];
        if (s_parse_alert(&parser, index, element, tenant_id, now_ms, alert)) {
            result->indexes[result->alert_count] = index;
            result->alert_count++;
        } else
            lk_alert_clear(alert);
    }
    if (parser.oom) {
        alert_parse_result_clear(result);
        *reason = "out of memory";
        return -1;
    }
    return 0;
}

void alert_parse_result_clear(alert_parse_result_t *result)
{
    if (!result)
        return;
    for (size_t i = 0; i < result->alert_count; i++)
        lk_alert_clear(&result->alerts[i]);
    free(result->alerts);
    free(result->indexes);
    free(result->errors);
    memset(result, 0, sizeof *result);
}

json_t *alert_parse_results_json(const alert_parse_result_t *parsed,
                                 const lk_alert_result_t *results)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < parsed->alert_count; i++) {
        const lk_alert_result_t *result = &results[i];
        json_t *item =
            json_pack("{s:I, s:s, s:o, s:s}", "index", (json_int_t)parsed->indexes[i],
                      "fingerprint", result->fingerprint, "incident_id",
                      result->incident_id[0] ? json_string(result->incident_id) : json_null(),
                      "outcome", lk_outcome_name(result->outcome));
        if (json_array_append_new(list, item) != 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

json_t *alert_parse_errors_json(const alert_parse_result_t *parsed)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < parsed->error_count; i++) {
        const alert_error_t *error = &parsed->errors[i];
        json_t *item = json_pack("{s:I, s:o, s:s}", "index", (json_int_t)error->index, "field",
                                 error->field[0] ? json_string(error->field) : json_null(),
                                 "message", error->message);
        if (json_array_append_new(list, item) != 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}
