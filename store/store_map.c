/*  store_map — lk_* structs ↔ statement parameters and rows (see store_map.h).

    Both backends bind and read the same columns in the same order, so this mapping exists
    once. Required text columns are NOT NULL in the schema: a missing string is stored as ""
    rather than failing the batch over a field the codec let through.
*/
#include "store_map.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_json.h"

void store_map_json_clear(store_map_json_t *json)
{
    free(json->first);
    free(json->second);
    json->first = NULL;
    json->second = NULL;
}

bool store_map_utf8_valid(const char *text)
{
    if (!text)
        return true;
    const unsigned char *byte = (const unsigned char *)text;
    while (*byte) {
        unsigned char lead = *byte;
        size_t extra;
        unsigned int code;
        if (lead < 0x80) {
            byte++;
            continue;
        }
        if (lead >= 0xc2 && lead <= 0xdf) {
            extra = 1;
            code = lead & 0x1f;
        } else if (lead >= 0xe0 && lead <= 0xef) {
            extra = 2;
            code = lead & 0x0f;
        } else if (lead >= 0xf0 && lead <= 0xf4) {
            extra = 3;
            code = lead & 0x07;
        } else
            return false;
        for (size_t index = 1; index <= extra; index++) {
            if ((byte[index] & 0xc0) != 0x80)
                return false;
            code = (code << 6) | (byte[index] & 0x3f);
        }
        /* overlong forms, surrogates and code points past U+10FFFF */
        if ((extra == 2 && code < 0x800) || (extra == 3 && code < 0x10000) || code > 0x10ffff ||
            (code >= 0xd800 && code <= 0xdfff))
            return false;
        byte += extra + 1;
    }
    return true;
}

/* Bytes JSON needs for one byte of a string body, as jansson escapes it: 1 for what is
   written as is, 2 for quote, backslash, \b \f \n \r \t, 6 for the other controls
   (\u00XX); 0 for NUL (the end of a string) and the bytes of UTF-8 sequences, which are
   written as is once checked. One lookup per byte. */
static const uint8_t s_json_widths[256] = {
    [0x01 ... 0x07] = 6, [0x08] = 2, [0x09] = 2,          [0x0a] = 2,          [0x0b] = 6,
    [0x0c] = 2,          [0x0d] = 2, [0x0e ... 0x1f] = 6, [0x20 ... 0x21] = 1, [0x22] = 2,
    [0x23 ... 0x5b] = 1, [0x5c] = 2, [0x5d ... 0x7f] = 1};

/* Bytes text takes as a JSON string body (see s_json_widths), with *length set to its own
   length; SIZE_MAX when it is not valid UTF-8. One pass: ASCII costs a table lookup, only
   a multi-byte sequence goes through the full check. */
static size_t s_json_escaped_size(const char *text, size_t *length)
{
    size_t size = 0;
    const unsigned char *byte = (const unsigned char *)text;
    while (true) {
        uint8_t width;
        while ((width = s_json_widths[*byte])) {
            size += width;
            byte++;
        }
        if (!*byte)
            break;
        /* a multi-byte sequence: validated by the one definition of valid UTF-8 */
        char sequence[5] = {0};
        size_t extra = *byte >= 0xf0 ? 3 : *byte >= 0xe0 ? 2 : 1;
        for (size_t index = 0; index <= extra; index++) {
            if (index && !byte[index])
                return SIZE_MAX;
            sequence[index] = (char)byte[index];
        }
        if (!store_map_utf8_valid(sequence))
            return SIZE_MAX;
        size += extra + 1;
        byte += extra + 1;
    }
    *length = (size_t)(byte - (const unsigned char *)text);
    return size;
}

/* Writes text (length bytes, JSON needing size bytes) escaped exactly as jansson's
   json_dumps does (quote, backslash, \b \f \n \r \t, other controls as \u00XX in upper case;
   UTF-8 left as is). Returns the end of what it wrote. */
static char *s_json_escape(char *out, const char *text, size_t length, size_t size)
{
    if (size == length) { /* nothing to escape: the common case */
        memcpy(out, text, length);
        return out + length;
    }
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *byte = (const unsigned char *)text; *byte; byte++) {
        unsigned char c = *byte;
        if (s_json_widths[c] <= 1) { /* plain ASCII, or a byte of a UTF-8 sequence */
            *out++ = (char)c;
            continue;
        }
        *out++ = '\\';
        static const char plain[] = "\"\\\b\f\n\r\t", letter[] = "\"\\bfnrt";
        const char *hit = memchr(plain, c, sizeof plain - 1);
        if (hit)
            *out++ = letter[hit - plain];
        else {
            memcpy(out, "u00", 3);
            out[3] = hex[c >> 4];
            out[4] = hex[c & 0x0f];
            out += 5;
        }
    }
    return out;
}

char *store_map_labels_json(const lk_labels_t *labels)
{
    /* Written directly rather than through a jansson object: this runs twice for every
       alert stored and building the object cost more than SQLite's insert. The text is
       byte for byte what json_dumps(JSON_COMPACT | JSON_SORT_KEYS) gives: labels are kept
       sorted by strcmp of their names, which is jansson's key order. */
    enum { S_INLINE = 32 };
    size_t inline_sizes[S_INLINE * 4];
    size_t *sizes =
        labels->count <= S_INLINE ? inline_sizes : malloc(labels->count * 4 * sizeof *sizes);
    if (!sizes)
        return NULL;
    char *text = NULL;
    size_t size = 3; /* {} and the NUL */
    for (size_t index = 0; index < labels->count; index++) {
        const char *value = labels->items[index].value ? labels->items[index].value : "";
        size_t *item = &sizes[index * 4]; /* name size, name length, value size, value length */
        item[0] = s_json_escaped_size(labels->items[index].name, &item[1]);
        item[2] = s_json_escaped_size(value, &item[3]);
        if (item[0] == SIZE_MAX || item[2] == SIZE_MAX)
            goto done;
        size += item[0] + item[2] + 6;
    }
    if (!(text = malloc(size)))
        goto done;
    char *out = text;
    *out++ = '{';
    for (size_t index = 0; index < labels->count; index++) {
        const char *value = labels->items[index].value ? labels->items[index].value : "";
        const size_t *item = &sizes[index * 4];
        if (index)
            *out++ = ',';
        *out++ = '"';
        out = s_json_escape(out, labels->items[index].name, item[1], item[0]);
        memcpy(out, "\":\"", 3);
        out = s_json_escape(out + 3, value, item[3], item[2]);
        *out++ = '"';
    }
    *out++ = '}';
    *out = '\0';
done:
    if (sizes != inline_sizes)
        free(sizes);
    return text;
}

char *store_map_strings_json(char *const *items, size_t count)
{
    json_t *array = json_array();
    for (size_t index = 0; array && index < count; index++) {
        if (!store_map_utf8_valid(items[index]) ||
            json_array_append_new(array, json_string(items[index])) != 0) {
            json_decref(array);
            return NULL;
        }
    }
    if (!array)
        return NULL;
    char *text = json_dumps(array, JSON_COMPACT);
    json_decref(array);
    return text;
}

int store_map_strings_parse(const char *text, char ***items, uint32_t *count)
{
    *items = NULL;
    *count = 0;
    if (!text)
        return 0;
    json_t *array = json_loads(text, 0, NULL);
    if (!json_is_array(array) || json_array_size(array) > LK_INCIDENT_SOURCES_MAX) {
        json_decref(array);
        return -1;
    }
    int rc = 0;
    if (json_array_size(array)) {
        *items = calloc(json_array_size(array), sizeof(char *));
        rc = *items ? 0 : -1;
    }
    for (size_t index = 0; rc == 0 && index < json_array_size(array); index++) {
        json_t *item = json_array_get(array, index);
        if (!json_is_string(item) || !((*items)[index] = strdup(json_string_value(item))))
            rc = -1;
        else
            *count = (uint32_t)index + 1;
    }
    json_decref(array);
    if (rc) {
        for (uint32_t index = 0; index < *count; index++)
            free((*items)[index]);
        free(*items);
        *items = NULL;
        *count = 0;
    }
    return rc;
}

int store_map_labels_parse(const char *text, lk_labels_t *labels)
{
    memset(labels, 0, sizeof(*labels));
    if (!text)
        return 0;
    json_t *object = json_loads(text, 0, NULL);
    if (!json_is_object(object)) {
        json_decref(object);
        return -1;
    }
    const char *name;
    json_t *value;
    int rc = 0;
    json_object_foreach(object, name, value)
    {
        if (!json_is_string(value) || lk_labels_set(labels, name, json_string_value(value))) {
            rc = -1;
            break;
        }
    }
    json_decref(object);
    if (rc)
        lk_labels_clear(labels);
    return rc;
}

/* Text parameter for a NOT NULL column: "" stands in for a missing string. */
static store_param_t s_required(const char *text)
{
    return store_param_text(text ? text : "");
}

/* Integer parameter for an optional time: NULL when unset (0). */
static store_param_t s_time(int64_t epoch_ms)
{
    return epoch_ms ? store_param_int(epoch_ms) : store_param_null();
}

int store_map_incident_params(const lk_incident_t *incident, store_param_t *params,
                              store_map_json_t *json)
{
    memset(json, 0, sizeof(*json));
    json->first = store_map_labels_json(&incident->group_labels);
    json->second = store_map_strings_json(incident->sources, incident->source_count);
    if (!json->first || !json->second) {
        store_map_json_clear(json);
        return -1;
    }
    store_param_t values[STORE_INCIDENT_PARAMS] = {
        store_param_text(incident->id),
        store_param_text(incident->tenant_id),
        s_required(incident->group_key),
        s_required(incident->title),
        s_required(incident->summary),
        store_param_text(incident->acknowledged_by),
        store_param_text(incident->resolved_by),
        store_param_text(json->first),
        store_param_text(lk_severity_name(incident->severity)),
        store_param_text(lk_incident_status_name(incident->status)),
        store_param_int(incident->alert_count),
        store_param_int(incident->firing_count),
        store_param_int(incident->reopen_count),
        store_param_int((int64_t)incident->version),
        store_param_int(incident->created_at_ms),
        store_param_int(incident->updated_at_ms),
        s_time(incident->acknowledged_at_ms),
        s_time(incident->resolved_at_ms),
        store_param_text(incident->policy),
        store_param_text(json->second),
        s_time(incident->group_wait_until_ms),
        s_time(incident->ack_expires_at_ms),
    };
    memcpy(params, values, sizeof(values));
    return 0;
}

int store_map_alert_params(const lk_alert_t *alert, store_param_t *params, store_map_json_t *json)
{
    memset(json, 0, sizeof(*json));
    json->first = store_map_labels_json(&alert->labels);
    json->second = store_map_labels_json(&alert->annotations);
    if (!json->first || !json->second) {
        store_map_json_clear(json);
        return -1;
    }
    store_param_t values[STORE_ALERT_PARAMS] = {
        store_param_text(alert->tenant_id),
        store_param_text(alert->incident_id),
        store_param_text(alert->fingerprint),
        s_required(alert->source),
        s_required(alert->name),
        store_param_text(alert->query),
        store_param_text(alert->dedup_key),
        store_param_text(alert->generator_url),
        store_param_text(json->first),
        store_param_text(json->second),
        store_param_text(lk_severity_name(alert->severity)),
        store_param_text(lk_alert_status_name(alert->status)),
        alert->has_value ? store_param_real(alert->value) : store_param_null(),
        alert->has_threshold ? store_param_real(alert->threshold) : store_param_null(),
        store_param_int(alert->starts_at_ms),
        s_time(alert->ends_at_ms),
        store_param_int(alert->updated_at_ms),
        store_param_text(lk_alert_state_name(alert->state)),
        store_param_text(alert->suppressed_by),
    };
    memcpy(params, values, sizeof(values));
    return 0;
}

void store_map_event_params(const lk_event_t *event, uint64_t sequence, const void *blob,
                            size_t blob_size, store_param_t *params)
{
    store_param_t values[STORE_EVENT_PARAMS] = {
        store_param_int((int64_t)sequence),
        store_param_text(event->event_id),
        store_param_text(event->tenant_id),
        store_param_text(event->incident_id),
        s_required(event->type),
        s_required(event->actor),
        store_param_text(event->note),
        store_param_text(event->fingerprints),
        store_param_int(event->at_ms),
        store_param_blob(blob, blob_size),
    };
    memcpy(params, values, sizeof(values));
}

/* Copies a column into a fixed buffer; false when it does not fit. */
static bool s_copy_fixed(store_rows_t *rows, int column, char *buffer, size_t size)
{
    const char *text = store_rows_text(rows, column);
    if (!text)
        text = "";
    size_t length = strlen(text);
    if (length >= size)
        return false;
    memcpy(buffer, text, length + 1);
    return true;
}

/* Duplicates a nullable text column into *out. Returns false only on OOM. */
static bool s_dup(store_rows_t *rows, int column, char **out)
{
    const char *text = store_rows_text(rows, column);
    *out = NULL;
    if (!text)
        return true;
    *out = strdup(text);
    return *out != NULL;
}

int store_map_read_incident(store_rows_t *rows, int first, lk_incident_t *out, char *err,
                            size_t err_size)
{
    memset(out, 0, sizeof(*out));
    const char *problem = NULL;
    const char *severity = store_rows_text(rows, first + 8);
    const char *status = store_rows_text(rows, first + 9);
    if (!s_copy_fixed(rows, first + 0, out->id, sizeof(out->id)) ||
        !s_copy_fixed(rows, first + 1, out->tenant_id, sizeof(out->tenant_id)))
        problem = "id";
    else if (!s_dup(rows, first + 2, &out->group_key) || !s_dup(rows, first + 3, &out->title) ||
             !s_dup(rows, first + 4, &out->summary) ||
             !s_dup(rows, first + 5, &out->acknowledged_by) ||
             !s_dup(rows, first + 6, &out->resolved_by) || !s_dup(rows, first + 18, &out->policy))
        problem = "out of memory";
    else if (store_map_labels_parse(store_rows_text(rows, first + 7), &out->group_labels))
        problem = "group_labels";
    else if (store_map_strings_parse(store_rows_text(rows, first + 19), &out->sources,
                                     &out->source_count))
        problem = "sources";
    else if (!lk_severity_parse(severity ? severity : "", &out->severity))
        problem = "severity";
    else if (!lk_incident_status_parse(status ? status : "", &out->status))
        problem = "status";
    if (problem) {
        snprintf(err, err_size, "stored incident %s: bad %s", out->id, problem);
        lk_incident_clear(out);
        return -1;
    }
    out->alert_count = (uint32_t)store_rows_int(rows, first + 10);
    out->firing_count = (uint32_t)store_rows_int(rows, first + 11);
    out->reopen_count = (uint32_t)store_rows_int(rows, first + 12);
    out->version = (uint64_t)store_rows_int(rows, first + 13);
    out->created_at_ms = store_rows_int(rows, first + 14);
    out->updated_at_ms = store_rows_int(rows, first + 15);
    out->acknowledged_at_ms = store_rows_int(rows, first + 16);
    out->resolved_at_ms = store_rows_int(rows, first + 17);
    out->group_wait_until_ms = store_rows_int(rows, first + 20);
    out->ack_expires_at_ms = store_rows_int(rows, first + 21);
    return 0;
}

int store_map_read_alert(store_rows_t *rows, int first, lk_alert_t *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof(*out));
    const char *problem = NULL;
    const char *severity = store_rows_text(rows, first + 10);
    const char *status = store_rows_text(rows, first + 11);
    const char *state = store_rows_text(rows, first + 17);
    if (!s_copy_fixed(rows, first + 0, out->tenant_id, sizeof(out->tenant_id)) ||
        !s_copy_fixed(rows, first + 1, out->incident_id, sizeof(out->incident_id)) ||
        !s_copy_fixed(rows, first + 2, out->fingerprint, sizeof(out->fingerprint)))
        problem = "id";
    else if (!s_dup(rows, first + 3, &out->source) || !s_dup(rows, first + 4, &out->name) ||
             !s_dup(rows, first + 5, &out->query) || !s_dup(rows, first + 6, &out->dedup_key) ||
             !s_dup(rows, first + 7, &out->generator_url) ||
             !s_dup(rows, first + 18, &out->suppressed_by))
        problem = "out of memory";
    else if (store_map_labels_parse(store_rows_text(rows, first + 8), &out->labels))
        problem = "labels";
    else if (store_map_labels_parse(store_rows_text(rows, first + 9), &out->annotations))
        problem = "annotations";
    else if (!lk_severity_parse(severity ? severity : "", &out->severity))
        problem = "severity";
    else if (!lk_alert_status_parse(status ? status : "", &out->status))
        problem = "status";
    else if (!lk_alert_state_parse(state ? state : "", &out->state))
        problem = "state";
    if (problem) {
        snprintf(err, err_size, "stored alert %s of incident %s: bad %s", out->fingerprint,
                 out->incident_id, problem);
        lk_alert_clear(out);
        return -1;
    }
    out->has_value = !store_rows_null(rows, first + 12);
    out->value = out->has_value ? store_rows_real(rows, first + 12) : 0;
    out->has_threshold = !store_rows_null(rows, first + 13);
    out->threshold = out->has_threshold ? store_rows_real(rows, first + 13) : 0;
    out->starts_at_ms = store_rows_int(rows, first + 14);
    out->ends_at_ms = store_rows_int(rows, first + 15);
    out->updated_at_ms = store_rows_int(rows, first + 16);
    return 0;
}

int store_map_read_event(store_rows_t *rows, int first, lk_event_t *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof(*out));
    const char *problem = NULL;
    if (!s_copy_fixed(rows, first + 1, out->event_id, sizeof(out->event_id)) ||
        !s_copy_fixed(rows, first + 2, out->tenant_id, sizeof(out->tenant_id)) ||
        !s_copy_fixed(rows, first + 3, out->incident_id, sizeof(out->incident_id)))
        problem = "id";
    else if (!s_dup(rows, first + 4, &out->type) || !s_dup(rows, first + 5, &out->actor) ||
             !s_dup(rows, first + 6, &out->note) || !s_dup(rows, first + 7, &out->fingerprints))
        problem = "out of memory";
    if (problem) {
        snprintf(err, err_size, "stored event %" PRId64 ": bad %s", store_rows_int(rows, first + 0),
                 problem);
        lk_event_clear(out);
        return -1;
    }
    out->sequence = (uint64_t)store_rows_int(rows, first + 0);
    out->at_ms = store_rows_int(rows, first + 8);
    return 0;
}
