/*  publish_format — Kafka payloads of outbox events (see publish_format.h). */
#include "publish_format.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_json.h"

/* True when text is a canonical UUID of version 7 with the RFC 9562 variant. */
static bool s_is_uuid7(const char *text)
{
    if (!lk_uuid_valid(text) || text[14] != '7')
        return false;
    char variant = (char)tolower((unsigned char)text[19]);
    return variant == '8' || variant == '9' || variant == 'a' || variant == 'b';
}

void publish_event_id(const lk_event_t *event, char out[LK_UUID_STR_LEN + 1])
{
    if (s_is_uuid7(event->event_id)) {
        for (int index = 0; index <= LK_UUID_STR_LEN; index++)
            out[index] = (char)tolower((unsigned char)event->event_id[index]);
        return;
    }
    /* Not a v7 (another writer's ids): the time of the event, then hash bits of the id, so
       the same outbox row always gets the same platform id. */
    unsigned char digest[SHA256_DIGEST_LENGTH];
    char lowered[LK_UUID_STR_LEN + 1];
    size_t length = strnlen(event->event_id, LK_UUID_STR_LEN);
    for (size_t index = 0; index < length; index++)
        lowered[index] = (char)tolower((unsigned char)event->event_id[index]);
    lowered[length] = '\0';
    SHA256((const unsigned char *)lowered, length, digest);
    uint8_t bytes[16];
    uint64_t at = event->at_ms > 0 ? (uint64_t)event->at_ms : 0;
    for (int index = 0; index < 6; index++)
        bytes[index] = (uint8_t)(at >> (40 - 8 * index));
    memcpy(bytes + 6, digest, 10);
    bytes[6] = (uint8_t)(0x70 | (bytes[6] & 0x0f));
    bytes[8] = (uint8_t)(0x80 | (bytes[8] & 0x3f));
    snprintf(out, LK_UUID_STR_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", bytes[0],
             bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8],
             bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]);
}

const char *publish_service_event_type(const char *outbox_type)
{
    if (!outbox_type || strncmp(outbox_type, "incident_", 9) != 0 || !outbox_type[9])
        return NULL;
    return outbox_type;
}

/* Sets key to value (a new reference, stolen); on any failure drops object and returns NULL,
   so a chain of s_set calls ends in NULL on OOM. */
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

/* A new reference to object[key] (JSON null when absent), for copying one shape's field
   into another: the flat fields are the very values of the full objects. */
static json_t *s_field(json_t *object, const char *key)
{
    json_t *value = object ? json_object_get(object, key) : NULL;
    return value ? json_incref(value) : json_null();
}

/* Renders and drops object. NULL on OOM (object NULL included). */
static char *s_render(json_t *object, size_t *size)
{
    if (!object)
        return NULL;
    char *text = json_dumps(object, JSON_COMPACT);
    json_decref(object);
    if (text)
        *size = strlen(text);
    return text;
}

char *publish_incident_message(const lk_event_t *event, const lk_incident_t *incident, size_t *size)
{
    char event_id[LK_UUID_STR_LEN + 1];
    publish_event_id(event, event_id);
    json_t *full_incident = lk_json_incident(incident);
    json_t *full_event = lk_json_event(event);
    json_t *object = full_incident && full_event ? json_object() : NULL;
    object = s_set(object, "schema_version", json_string(PUBLISH_SCHEMA_VERSION));
    object = s_set(object, "event_id", json_string(event_id));
    object = s_set(object, "sequence", s_field(full_event, "sequence"));
    object = s_set(object, "event_type", s_field(full_event, "type"));
    object = s_set(object, "occurred_at", s_field(full_event, "at"));
    object = s_set(object, "actor", s_field(full_event, "actor"));
    object = s_set(object, "note", s_field(full_event, "note"));
    static const char *const flat[] = {
        "tenant_id",    "status",     "severity",   "title",           "summary",    "alert_count",
        "firing_count", "created_at", "updated_at", "acknowledged_at", "resolved_at"};
    object = s_set(object, "incident_id", s_field(full_incident, "id"));
    for (size_t index = 0; index < sizeof(flat) / sizeof(flat[0]); index++)
        object = s_set(object, flat[index], s_field(full_incident, flat[index]));
    object = s_set(object, "labels", s_field(full_incident, "group_labels"));
    /* s_set consumes the value even when object is already NULL: no reference leaks */
    object = s_set(object, "incident", full_incident);
    object = s_set(object, "event", full_event);
    return s_render(object, size);
}

char *publish_service_event(const lk_event_t *event, const lk_incident_t *incident,
                            const char *event_type, size_t *size)
{
    char event_id[LK_UUID_STR_LEN + 1];
    publish_event_id(event, event_id);
    json_t *data = json_object();
    data = s_set(data, "sequence", json_integer((json_int_t)event->sequence));
    data = s_set(data, "incident", lk_json_incident(incident));
    data = s_set(data, "event", lk_json_event(event));
    json_t *object = json_object();
    object = s_set(object, "event_id", json_string(event_id));
    object = s_set(object, "event_type", json_string(event_type));
    object = s_set(object, "timestamp", lk_json_time(event->at_ms));
    object = s_set(object, "source", json_string(PUBLISH_SOURCE));
    object = s_set(object, "tenant_id", json_string(incident->tenant_id));
    object = s_set(object, "resource_type", json_string("incident"));
    object = s_set(object, "resource_id", json_string(incident->id));
    object = s_set(object, "data", data);
    object = s_set(object, "schema_version", json_string(PUBLISH_SCHEMA_VERSION));
    return s_render(object, size);
}
