/*  alert_parse_pagerduty — PagerDuty Events API v2 (`POST /v2/enqueue`) events.

    Validation and its messages follow PagerDuty's answers ("Length of 'routing_key' is
    incorrect (should be 32 characters)", "'payload.summary' is missing or blank", ...), so a
    sender's existing error handling keeps working; every problem of the event is listed.

    PagerDuty's identity is the dedup_key: each key is its own alert and, by the labels
    chosen here, its own incident under the default grouping (alertname = dedup_key). The
    payload's fields become labels (severity, source, component, group, class) and
    annotations (summary, custom_details as compact JSON, client, client_url), so routes,
    silences and the incident API see PagerDuty events like any other alert.

    A resolve carries whatever the sender gave: PagerDuty ignores a resolve's payload, and
    so does validation here, but well-formed payload fields are kept on the resolved alert.
*/
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_parse.h"
#include "intake_util.h"
#include "lk_time.h"
#include "lk_uuid.h"

#define PAGERDUTY_ROUTING_KEY_LEN 32
#define PAGERDUTY_DEDUP_KEY_MAX   255
#define PAGERDUTY_SUMMARY_MAX     1024 /* characters (UTF-8), as PagerDuty documents */
#define PAGERDUTY_FIELD_MAX       INTAKE_LABEL_VALUE_MAX

/* Appends a PagerDuty-style message to the event's error list. */
static void s_error(pagerduty_event_t *event, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static void s_error(pagerduty_event_t *event, const char *format, ...)
{
    if (event->error_count == PAGERDUTY_ERRORS_MAX)
        return;
    char message[256];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    char *copy = strdup(message);
    if (copy)
        event->errors[event->error_count++] = copy;
}

/* Reads string member `key` of object (named `path` in messages). Returns the value, or NULL
   when absent, null or blank; an error when present with another type (*bad set). */
static const char *s_string(pagerduty_event_t *event, const json_t *object, const char *key,
                            const char *path, bool *bad)
{
    const json_t *member = json_object_get(object, key);
    if (!member || json_is_null(member))
        return NULL;
    if (!json_is_string(member) ||
        strlen(json_string_value(member)) != json_string_length(member)) {
        s_error(event, "'%s' must be a string", path);
        *bad = true;
        return NULL;
    }
    const char *value = json_string_value(member);
    for (const char *c = value; *c; c++)
        if (!isspace((unsigned char)*c))
            return value;
    return NULL;
}

/* Byte length of the first max_chars UTF-8 characters of text. */
static size_t s_utf8_prefix(const char *text, size_t max_chars)
{
    size_t bytes = 0, chars = 0;
    while (text[bytes] && chars < max_chars) {
        bytes++;
        while (((unsigned char)text[bytes] & 0xc0) == 0x80)
            bytes++;
        chars++;
    }
    return bytes;
}

/* PagerDuty's own example writes offsets as "+0000"; RFC 3339 wants "+00:00". Returns the
   time, or 0 when text is neither. */
static int64_t s_timestamp(const char *text)
{
    int64_t ms = 0;
    if (lk_time_parse(text, &ms))
        return ms > 0 ? ms : 0;
    size_t len = strlen(text);
    if (len < 5 || len > 60 || (text[len - 5] != '+' && text[len - 5] != '-'))
        return 0;
    for (size_t i = len - 4; i < len; i++)
        if (!isdigit((unsigned char)text[i]))
            return 0;
    char fixed[64];
    snprintf(fixed, sizeof fixed, "%.*s:%s", (int)(len - 2), text, text + len - 2);
    if (!lk_time_parse(fixed, &ms))
        return 0;
    return ms > 0 ? ms : 0;
}

/* Sets label name to value (NULL: nothing); flags OOM as an error. */
static void s_label(pagerduty_event_t *event, lk_labels_t *set, const char *name, const char *value)
{
    if (value && lk_labels_set(set, name, value) != 0)
        s_error(event, "out of memory");
}

/* Builds the alert from the payload. validate: report missing or malformed fields (trigger);
   otherwise take what is well formed and ignore the rest (resolve). */
static void s_payload(pagerduty_event_t *event, const json_t *body, int64_t now_ms, bool validate)
{
    lk_alert_t *alert = &event->alert;
    const json_t *payload = json_object_get(body, "payload");
    bool bad = false;
    if (!json_is_object(payload)) {
        if (validate && (!payload || json_is_null(payload)))
            s_error(event, "'payload' is missing or blank");
        else if (validate)
            s_error(event, "'payload' must be an object");
        payload = NULL;
    }
    /* In resolve mode errors are collected on a scratch event and dropped. */
    pagerduty_event_t scratch;
    memset(&scratch, 0, sizeof scratch);
    pagerduty_event_t *sink = validate ? event : &scratch;

    const char *summary =
        payload ? s_string(sink, payload, "summary", "payload.summary", &bad) : NULL;
    const char *source = payload ? s_string(sink, payload, "source", "payload.source", &bad) : NULL;
    const char *severity =
        payload ? s_string(sink, payload, "severity", "payload.severity", &bad) : NULL;
    const char *timestamp =
        payload ? s_string(sink, payload, "timestamp", "payload.timestamp", &bad) : NULL;
    if (payload && validate) {
        const json_t *fields[] = {json_object_get(payload, "summary"),
                                  json_object_get(payload, "source"),
                                  json_object_get(payload, "severity")};
        const char *names[] = {"payload.summary", "payload.source", "payload.severity"};
        const char *values[] = {summary, source, severity};
        for (int i = 0; i < 3; i++)
            if (!values[i] && (!fields[i] || json_is_string(fields[i]) || json_is_null(fields[i])))
                s_error(event, "'%s' is missing or blank", names[i]);
    }

    alert->severity = LK_SEV_WARNING;
    if (severity) {
        /* exactly PagerDuty's four levels, which are Lookout's four */
        bool known = false;
        for (int level = LK_SEV_INFO; level <= LK_SEV_CRITICAL && !known; level++)
            if (strcmp(severity, lk_severity_name((lk_severity_t)level)) == 0) {
                alert->severity = (lk_severity_t)level;
                known = true;
            }
        if (!known) {
            s_error(sink,
                    "'payload.severity' is invalid (must be one of the following: 'critical', "
                    "'error', 'warning' or 'info')");
            severity = NULL;
        }
    }
    int64_t at_ms = 0;
    if (timestamp && !(at_ms = s_timestamp(timestamp)))
        s_error(sink, "'payload.timestamp' is invalid (must be an ISO 8601 timestamp)");

    const char *component =
        payload ? s_string(sink, payload, "component", "payload.component", &bad) : NULL;
    const char *group = payload ? s_string(sink, payload, "group", "payload.group", &bad) : NULL;
    const char *class = payload ? s_string(sink, payload, "class", "payload.class", &bad) : NULL;
    const char *client = s_string(sink, body, "client", "client", &bad);
    const char *client_url = s_string(sink, body, "client_url", "client_url", &bad);
    const char *long_fields[][2] = {{"payload.source", source}, {"payload.component", component},
                                    {"payload.group", group},   {"payload.class", class},
                                    {"client", client},         {"client_url", client_url}};
    for (size_t i = 0; i < sizeof long_fields / sizeof *long_fields; i++)
        if (long_fields[i][1] && strlen(long_fields[i][1]) > PAGERDUTY_FIELD_MAX) {
            s_error(sink, "Length of '%s' is incorrect (should be at most %d bytes)",
                    long_fields[i][0], PAGERDUTY_FIELD_MAX);
            long_fields[i][1] = NULL;
        }
    source = long_fields[0][1];
    component = long_fields[1][1];
    group = long_fields[2][1];
    class = long_fields[3][1];
    client = long_fields[4][1];
    client_url = long_fields[5][1];

    s_label(event, &alert->labels, "alertname", event->dedup_key);
    s_label(event, &alert->labels, "severity", severity);
    s_label(event, &alert->labels, "source", source);
    s_label(event, &alert->labels, "component", component);
    s_label(event, &alert->labels, "group", group);
    s_label(event, &alert->labels, "class", class);

    if (summary) {
        size_t length = s_utf8_prefix(summary, PAGERDUTY_SUMMARY_MAX);
        char *cut = strndup(summary, length);
        s_label(event, &alert->annotations, "summary", cut ? cut : "");
        free(cut);
    }
    const json_t *details = payload ? json_object_get(payload, "custom_details") : NULL;
    if (details && !json_is_null(details)) {
        char *text = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        if (text) {
            /* a display annotation: cut at a character boundary, not rejected */
            size_t length = strlen(text);
            if (length > INTAKE_ANNOTATION_VALUE_MAX) {
                length = INTAKE_ANNOTATION_VALUE_MAX;
                while (length > 0 && ((unsigned char)text[length] & 0xc0) == 0x80)
                    length--;
                text[length] = '\0';
            }
            s_label(event, &alert->annotations, "custom_details", text);
            free(text);
        }
    }
    s_label(event, &alert->annotations, "client", client);
    s_label(event, &alert->annotations, "client_url", client_url);
    if (client_url)
        alert->generator_url = strdup(client_url);
    alert->starts_at_ms = at_ms ? at_ms : now_ms;
    for (size_t i = 0; i < scratch.error_count; i++)
        free(scratch.errors[i]);
}

/* Checks the routing key's form as PagerDuty does (both problems may be reported). */
static void s_routing_key(pagerduty_event_t *event, const json_t *body)
{
    const json_t *member = json_object_get(body, "routing_key");
    if (!member || json_is_null(member)) {
        s_error(event, "'routing_key' is missing or blank");
        return;
    }
    if (!json_is_string(member)) {
        s_error(event, "'routing_key' must be a string");
        return;
    }
    const char *key = json_string_value(member);
    size_t len = json_string_length(member);
    if (len == 0) {
        s_error(event, "'routing_key' is missing or blank");
        return;
    }
    if (len != PAGERDUTY_ROUTING_KEY_LEN)
        s_error(event, "Length of 'routing_key' is incorrect (should be %d characters)",
                PAGERDUTY_ROUTING_KEY_LEN);
    bool alphanumeric = true;
    for (size_t i = 0; i < len; i++)
        alphanumeric = alphanumeric && isalnum((unsigned char)key[i]);
    if (!alphanumeric)
        s_error(event, "'routing_key' cannot contain non-alphanumeric characters.");
    event->routing_key = key;
    event->routing_key_len = len;
}

int alert_parse_pagerduty(const json_t *body, int64_t now_ms, pagerduty_event_t *event)
{
    memset(event, 0, sizeof *event);
    if (!json_is_object(body)) {
        s_error(event, "Event must be a JSON object");
        return -1;
    }
    s_routing_key(event, body);

    bool bad = false;
    const char *action = s_string(event, body, "event_action", "event_action", &bad);
    bool action_known = false;
    if (action) {
        static const char *const names[] = {"trigger", "acknowledge", "resolve"};
        for (int i = 0; i < 3 && !action_known; i++)
            if (strcmp(action, names[i]) == 0) {
                event->action = (pagerduty_action_t)i;
                action_known = true;
            }
        if (!action_known)
            s_error(event, "'event_action' is invalid (must be one of the following: "
                           "'trigger', 'acknowledge' or 'resolve')");
    } else if (!bad)
        s_error(event, "'event_action' is missing or blank");

    bool dedup_bad = false;
    const char *dedup_key = s_string(event, body, "dedup_key", "dedup_key", &dedup_bad);
    if (dedup_key && strlen(dedup_key) > PAGERDUTY_DEDUP_KEY_MAX) {
        s_error(event, "Length of 'dedup_key' is incorrect (should be at most %d characters)",
                PAGERDUTY_DEDUP_KEY_MAX);
        dedup_key = NULL;
        dedup_bad = true;
    }
    if (dedup_key)
        snprintf(event->dedup_key, sizeof event->dedup_key, "%s", dedup_key);
    else if (action_known && event->action != PAGERDUTY_TRIGGER && !dedup_bad)
        s_error(event, "'dedup_key' is missing or blank");
    else if (action_known && event->action == PAGERDUTY_TRIGGER && !dedup_bad) {
        /* PagerDuty generates a unique key and returns it; so do we (a UUID, 32 digits) */
        char uuid[LK_UUID_STR_LEN + 1];
        lk_uuid7(uuid);
        size_t out = 0;
        for (const char *c = uuid; *c; c++)
            if (*c != '-')
                event->dedup_key[out++] = *c;
        event->dedup_key[out] = '\0';
        event->dedup_key_generated = true;
    }

    /* links and images: accepted and ignored, as long as they are what PagerDuty takes */
    const char *lists[] = {"links", "images"};
    for (int i = 0; i < 2; i++) {
        const json_t *list = json_object_get(body, lists[i]);
        if (list && !json_is_null(list) && !json_is_array(list))
            s_error(event, "'%s' must be an array", lists[i]);
    }

    lk_alert_t *alert = &event->alert;
    if (action_known && event->dedup_key[0]) {
        alert->dedup_key = strdup(event->dedup_key);
        alert->name = strdup(event->dedup_key);
        alert->source = strdup("pagerduty");
        if (!alert->dedup_key || !alert->name || !alert->source)
            s_error(event, "out of memory");
        if (event->action == PAGERDUTY_TRIGGER)
            s_payload(event, body, now_ms, true);
        else if (event->action == PAGERDUTY_RESOLVE) {
            s_payload(event, body, now_ms, false);
            /* no end time of its own: correlate stamps the first resolve, and a repeated
               resolve is then an unchanged re-send */
            alert->status = LK_ALERT_RESOLVED;
            alert->ends_at_ms = 0;
        }
    } else if (action_known && event->action == PAGERDUTY_TRIGGER) {
        /* the dedup_key is bad: still report the payload's problems in the same answer */
        s_payload(event, body, now_ms, true);
    }
    return event->error_count ? -1 : 0;
}

void pagerduty_event_clear(pagerduty_event_t *event)
{
    if (!event)
        return;
    lk_alert_clear(&event->alert);
    for (size_t i = 0; i < event->error_count; i++)
        free(event->errors[i]);
    memset(event, 0, sizeof *event);
}
