/*  lk_json — the public JSON shapes of incidents, alerts and events (see lk_json.h).

    Unset optional fields are JSON null rather than missing keys, so clients can rely on every
    key being present. jansson refuses strings that are not UTF-8; anything we show comes
    from validated input, but a stray byte must not turn a whole response into an OOM-like
    NULL, so such strings are shown with the bad bytes replaced by U+FFFD.
*/
#include "lk_json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lk_time.h"

/*  Length (1..4) of the well-formed UTF-8 sequence at bytes, or 0. */
static size_t s_utf8_sequence(const unsigned char *bytes, size_t size)
{
    unsigned char lead = bytes[0];
    if (lead < 0x80)
        return 1;
    size_t length;
    unsigned char low = 0x80, high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf)
        length = 2;
    else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        if (lead == 0xe0)
            low = 0xa0;
        else if (lead == 0xed)
            high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        if (lead == 0xf0)
            low = 0x90;
        else if (lead == 0xf4)
            high = 0x8f;
    } else
        return 0;
    if (size < length || bytes[1] < low || bytes[1] > high)
        return 0;
    for (size_t i = 2; i < length; i++)
        if (bytes[i] < 0x80 || bytes[i] > 0xbf)
            return 0;
    return length;
}

/*  True when the C string text is entirely well-formed UTF-8. */
static bool s_utf8_valid(const char *text)
{
    const unsigned char *bytes = (const unsigned char *)text;
    size_t size = strlen(text);
    for (size_t pos = 0; pos < size;) {
        size_t length = s_utf8_sequence(bytes + pos, size - pos);
        if (length == 0)
            return false;
        pos += length;
    }
    return true;
}

/*  malloc'd copy of text with every byte that is not well-formed UTF-8 replaced by U+FFFD,
    or NULL on OOM. */
static char *s_clean_utf8(const char *text)
{
    size_t size = strlen(text);
    char *clean = malloc(size * 3 + 1);
    if (!clean)
        return NULL;
    const unsigned char *bytes = (const unsigned char *)text;
    size_t out = 0;
    for (size_t pos = 0; pos < size;) {
        size_t length = s_utf8_sequence(bytes + pos, size - pos);
        if (length == 0) {
            memcpy(clean + out, "\xef\xbf\xbd", 3);
            out += 3;
            pos++;
        } else {
            memcpy(clean + out, bytes + pos, length);
            out += length;
            pos += length;
        }
    }
    clean[out] = '\0';
    return clean;
}

/*  JSON string of text; NULL text gives "" (required fields are always strings). */
static json_t *s_string(const char *text)
{
    if (!text)
        return json_string("");
    json_t *json = json_string(text);
    if (json)
        return json;
    char *clean = s_clean_utf8(text);
    json = clean ? json_string(clean) : NULL;
    free(clean);
    return json;
}

/*  JSON string, or null when text is NULL (an unset optional field). */
static json_t *s_optional_string(const char *text)
{
    return text ? s_string(text) : json_null();
}

/*  JSON array of an event's fingerprints (lk_model.h: separated by spaces); NULL gives []. */
static json_t *s_fingerprints(const char *list)
{
    json_t *array = json_array();
    for (const char *at = list; array && at && *at;) {
        size_t size = strcspn(at, " ");
        if (json_array_append_new(array, json_stringn(at, size))) {
            json_decref(array);
            array = NULL;
        }
        at += size + (at[size] == ' ');
    }
    return array;
}

/*  JSON number, or null when unset or not finite (JSON has no NaN). */
static json_t *s_optional_real(bool has, double value)
{
    return has && isfinite(value) ? json_real(value) : json_null();
}

/*  Sets key to value (a new reference, stolen); on any failure drops object and returns
    NULL so a chain of s_set calls ends in NULL on OOM. */
static json_t *s_set(json_t *object, const char *key, json_t *value)
{
    if (!object) {
        json_decref(value);
        return NULL;
    }
    if (!value || json_object_set_new(object, key, value) != 0) {
        json_decref(object);
        return NULL;
    }
    return object;
}

/*  RFC 3339 UTC with milliseconds, or null when epoch_ms is 0 (unset). */
json_t *lk_json_time(int64_t epoch_ms)
{
    if (epoch_ms == 0)
        return json_null();
    char text[64];
    lk_time_format(epoch_ms, text, sizeof text);
    return json_string(text);
}

/*  {name: value, ...} in the set's (sorted) order. */
json_t *lk_json_labels(const lk_labels_t *labels)
{
    json_t *object = json_object();
    for (size_t i = 0; object && i < labels->count; i++) {
        const char *name = labels->items[i].name;
        char *clean = NULL;
        /* jansson refuses keys that are not UTF-8: show a cleaned name instead */
        if (!s_utf8_valid(name)) {
            clean = s_clean_utf8(name);
            if (!clean) {
                json_decref(object);
                return NULL;
            }
        }
        object = s_set(object, clean ? clean : name, s_string(labels->items[i].value));
        free(clean);
    }
    return object;
}

/*  The public incident shape of lk_json.h; new reference, NULL only on OOM. */
json_t *lk_json_incident(const lk_incident_t *incident)
{
    json_t *object = json_object();
    object = s_set(object, "id", s_string(incident->id));
    object = s_set(object, "tenant_id", s_string(incident->tenant_id));
    object = s_set(object, "status", s_string(lk_incident_status_name(incident->status)));
    object = s_set(object, "severity", s_string(lk_severity_name(incident->severity)));
    object = s_set(object, "title", s_string(incident->title));
    object = s_set(object, "summary", s_string(incident->summary));
    object = s_set(object, "group_key", s_string(incident->group_key));
    object = s_set(object, "group_labels", lk_json_labels(&incident->group_labels));
    object = s_set(object, "alert_count", json_integer(incident->alert_count));
    object = s_set(object, "firing_count", json_integer(incident->firing_count));
    object = s_set(object, "reopen_count", json_integer(incident->reopen_count));
    object = s_set(object, "version", json_integer((json_int_t)incident->version));
    object = s_set(object, "created_at", lk_json_time(incident->created_at_ms));
    object = s_set(object, "updated_at", lk_json_time(incident->updated_at_ms));
    object = s_set(object, "acknowledged_at", lk_json_time(incident->acknowledged_at_ms));
    object = s_set(object, "acknowledged_by", s_optional_string(incident->acknowledged_by));
    object = s_set(object, "resolved_at", lk_json_time(incident->resolved_at_ms));
    object = s_set(object, "resolved_by", s_optional_string(incident->resolved_by));
    object = s_set(object, "policy", s_optional_string(incident->policy));
    json_t *sources = json_array();
    for (uint32_t i = 0; sources && i < incident->source_count; i++)
        if (json_array_append_new(sources, s_string(incident->sources[i])) != 0) {
            json_decref(sources);
            sources = NULL;
        }
    object = s_set(object, "sources", sources);
    object = s_set(object, "group_wait_until", lk_json_time(incident->group_wait_until_ms));
    return object;
}

/*  The public alert shape of lk_json.h; new reference, NULL only on OOM. */
json_t *lk_json_alert(const lk_alert_t *alert)
{
    json_t *object = json_object();
    object = s_set(object, "fingerprint", s_string(alert->fingerprint));
    object = s_set(object, "incident_id", s_string(alert->incident_id));
    object = s_set(object, "tenant_id", s_string(alert->tenant_id));
    object = s_set(object, "source", s_string(alert->source));
    object = s_set(object, "name", s_string(alert->name));
    object = s_set(object, "status", s_string(lk_alert_status_name(alert->status)));
    object = s_set(object, "severity", s_string(lk_severity_name(alert->severity)));
    object = s_set(object, "labels", lk_json_labels(&alert->labels));
    object = s_set(object, "annotations", lk_json_labels(&alert->annotations));
    object = s_set(object, "value", s_optional_real(alert->has_value, alert->value));
    object = s_set(object, "threshold", s_optional_real(alert->has_threshold, alert->threshold));
    object = s_set(object, "query", s_optional_string(alert->query));
    object = s_set(object, "dedup_key", s_optional_string(alert->dedup_key));
    object = s_set(object, "generator_url", s_optional_string(alert->generator_url));
    object = s_set(object, "starts_at", lk_json_time(alert->starts_at_ms));
    object = s_set(object, "ends_at", lk_json_time(alert->ends_at_ms));
    object = s_set(object, "updated_at", lk_json_time(alert->updated_at_ms));
    object = s_set(object, "state", s_string(lk_alert_state_name(alert->state)));
    object = s_set(object, "suppressed_by", s_optional_string(alert->suppressed_by));
    return object;
}

/*  The public event shape of lk_json.h; new reference, NULL only on OOM. */
json_t *lk_json_event(const lk_event_t *event)
{
    json_t *object = json_object();
    object = s_set(object, "sequence", json_integer((json_int_t)event->sequence));
    object = s_set(object, "event_id", s_string(event->event_id));
    object = s_set(object, "incident_id", s_string(event->incident_id));
    object = s_set(object, "tenant_id", s_string(event->tenant_id));
    object = s_set(object, "type", s_string(event->type));
    object = s_set(object, "actor", s_string(event->actor));
    object = s_set(object, "note", s_optional_string(event->note));
    object = s_set(object, "fingerprints", s_fingerprints(event->fingerprints));
    object = s_set(object, "at", lk_json_time(event->at_ms));
    return object;
}

/*  The update shape of lk_json.h; new reference, NULL only on OOM. */
json_t *lk_json_incident_update(const lk_incident_update_t *update)
{
    json_t *object = json_object();
    object = s_set(object, "id", s_string(update->id));
    object = s_set(object, "incident_id", s_string(update->incident_id));
    object = s_set(object, "tenant_id", s_string(update->tenant_id));
    object = s_set(object, "message", s_string(update->message));
    object = s_set(object, "visibility", s_string(lk_update_visibility_name(update->visibility)));
    object = s_set(object, "status", s_optional_string(lk_incident_stage_name(update->stage)));
    object = s_set(object, "title", s_optional_string(update->title));
    object = s_set(object, "author", s_string(update->author));
    object = s_set(object, "created_at", lk_json_time(update->created_at_ms));
    return object;
}

/*  The public silence shape of lk_json.h (Alertmanager API v2 field names); new reference,
    NULL only on OOM. */
json_t *lk_json_silence(const lk_silence_t *silence, int64_t now_ms)
{
    json_t *matchers = json_array();
    for (size_t i = 0; matchers && i < silence->matcher_count; i++) {
        const lk_matcher_t *matcher = &silence->matchers[i];
        json_t *item = json_object();
        item = s_set(item, "name", s_string(matcher->name));
        item = s_set(item, "value", s_string(matcher->value));
        item = s_set(item, "isRegex", json_boolean(matcher->is_regex));
        item = s_set(item, "isEqual", json_boolean(matcher->is_equal));
        if (!item || json_array_append_new(matchers, item) != 0) {
            json_decref(matchers);
            matchers = NULL;
        }
    }
    json_t *status = json_object();
    status =
        s_set(status, "state", s_string(lk_silence_state_name(lk_silence_state(silence, now_ms))));
    json_t *object = json_object();
    object = s_set(object, "id", s_string(silence->id));
    object = s_set(object, "tenant_id", s_string(silence->tenant_id));
    object = s_set(object, "status", status);
    object = s_set(object, "matchers", matchers);
    object = s_set(object, "startsAt", lk_json_time(silence->starts_at_ms));
    object = s_set(object, "endsAt", lk_json_time(silence->ends_at_ms));
    object = s_set(object, "createdBy", s_string(silence->created_by));
    object = s_set(object, "comment", s_string(silence->comment));
    object = s_set(object, "createdAt", lk_json_time(silence->created_at_ms));
    object = s_set(object, "updatedAt", lk_json_time(silence->updated_at_ms));
    return object;
}

/*  The public heartbeat monitor shape of lk_json.h; new reference, NULL only on OOM. */
json_t *lk_json_heartbeat(const lk_heartbeat_t *heartbeat)
{
    const char *status = heartbeat->missed ? "missed" : heartbeat->last_ping_at_ms ? "up" : "new";
    int64_t since_ms =
        heartbeat->last_ping_at_ms ? heartbeat->last_ping_at_ms : heartbeat->created_at_ms;
    json_t *object = json_object();
    object = s_set(object, "name", s_string(heartbeat->name));
    object = s_set(object, "tenant_id", s_string(heartbeat->tenant_id));
    object = s_set(object, "status", s_string(status));
    object = s_set(object, "interval_s", json_real((double)heartbeat->interval_ms / 1000.0));
    object = s_set(object, "grace_s", json_real((double)heartbeat->grace_ms / 1000.0));
    object = s_set(object, "severity", s_string(lk_severity_name(heartbeat->severity)));
    object = s_set(object, "labels", lk_json_labels(&heartbeat->labels));
    object = s_set(object, "last_ping_at", lk_json_time(heartbeat->last_ping_at_ms));
    object = s_set(object, "next_due_at",
                   lk_json_time(since_ms + heartbeat->interval_ms + heartbeat->grace_ms));
    object = s_set(object, "created_at", lk_json_time(heartbeat->created_at_ms));
    object = s_set(object, "updated_at", lk_json_time(heartbeat->updated_at_ms));
    return object;
}
