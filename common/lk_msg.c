/*  lk_msg — encoder and defensive decoder of the internal wire protocol (lk_msg.h).

    Encoding packs each message type's fields, under the short keys of lk_msg.h, into one
    msgpack map. Decoding never trusts the bytes:
      1. lk_mp_tree reads the buffer into msgpack-c's object tree in one pass, checking every
         length against the buffer end and that no container announces more elements than
         bytes remain. That bounds what it allocates by the input size (a 5-byte header
         claiming 4 billion elements would otherwise ask for 100 GB); it refuses nesting
         deeper than 32, as msgpack-c does, and s_unpack refuses trailing bytes.
      2. Each field is looked up by key and checked for type, range, length, NUL bytes, UTF-8,
         UUID/fingerprint shape and enum name before it reaches a C struct. Unknown keys are
         ignored. The first failure stops decoding with a reason naming the field's path.
    lk_mp_span, the same walk without a tree and without a depth limit, decides what a
    message both nested too deep and truncated (or followed by bytes) is refused for.
*/
#include "lk_msg.h"

#include <assert.h>
#include <jansson.h>
#include <math.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_fingerprint.h"
#include "lk_mp_tree.h"
#include "lk_uuid.h"

/* ---- names ----------------------------------------------------------------------------- */

static const char *s_type_names[LK_MSG_TYPE_COUNT] = {
    "invalid",       "alert_batch",     "alert_reply",    "command",
    "command_reply", "mutation_batch",  "mutation_ack",   "query",
    "query_reply",   "event",           "cursor_commit",  "notify_job",
    "notify_result", "silence_command", "heartbeat_ping", "control_reply",
};
static const char *s_status_names[] = {"ok",      "not_found",   "conflict",
                                       "invalid", "unavailable", "error"};
static const char *s_outcome_names[] = {"new", "changed", "unchanged", "ignored"};
static const char *s_action_names[] = {"acknowledge", "resolve"};
static const char *s_query_kind_names[] = {
    "list_incidents",     "get_incident",        "snapshot",         "events",
    "cursor_get",         "escalation_state",    "oncall_overrides", "list_silences",
    "get_silence",        "list_heartbeats",     "list_suppressed",  "status_page",
    "list_ingest_tokens", "ingest_token_by_hash"};
static const char *s_silence_action_names[] = {"create", "expire"};
static const char *s_alert_state_names[] = {"active", "inhibited", "silenced"};
/* The model's vocabularies as they appear on the wire: exact lower-case names only (the
   lenient synonyms of lk_severity_parse are for people, not for the protocol). */
static const char *s_severity_names[] = {"info", "warning", "error", "critical"};
static const char *s_alert_status_names[] = {"firing", "resolved"};
static const char *s_incident_status_names[] = {"triggered", "acknowledged", "resolved", "closed"};
static const char *s_notify_kind_names[] = {"trigger", "acknowledge", "resolve"};
static const char *s_notify_status_names[] = {"pending", "sent", "failed", "cancelled", "retry"};
static const char *s_visibility_names[] = {"private", "public"};
/* index = lk_incident_stage_t; LK_STAGE_NONE is never on the wire (the key is left out) */
static const char *s_stage_names[] = {NULL, "investigating", "identified", "monitoring",
                                      "resolved"};

#define S_COUNT(array) (sizeof(array) / sizeof((array)[0]))

/*  names[value], or "unknown" for a value outside the table. */
static const char *s_name_of(const char **names, size_t count, int value)
{
    return value >= 0 && (size_t)value < count ? names[value] : "unknown";
}

/*  Wire names of the protocol's enums (static strings; "unknown" when out of range). */
const char *lk_msg_type_name(lk_msg_type_t type)
{
    return s_name_of(s_type_names, S_COUNT(s_type_names), (int)type);
}

const char *lk_status_name(lk_status_t status)
{
    return s_name_of(s_status_names, S_COUNT(s_status_names), (int)status);
}

const char *lk_outcome_name(lk_outcome_t outcome)
{
    return s_name_of(s_outcome_names, S_COUNT(s_outcome_names), (int)outcome);
}

const char *lk_action_name(lk_action_t action)
{
    return s_name_of(s_action_names, S_COUNT(s_action_names), (int)action);
}

/* ---- message lifetime ------------------------------------------------------------------ */

/*  Zeroes msg and sets its type; severity_min = -1 means "any severity". */
void lk_msg_init(lk_msg_t *msg, lk_msg_type_t type)
{
    memset(msg, 0, sizeof *msg);
    msg->type = type;
    msg->query.severity_min = -1;
}

/*  Frees everything msg owns and zeroes it. */
/* Clears each of an entity array's count items with clear, then frees the array. */
#define S_CLEAR_ARRAY(array, count, clear)                                                         \
    do {                                                                                           \
        for (size_t i_ = 0; i_ < (count); i_++)                                                    \
            clear(&(array)[i_]);                                                                   \
        free(array);                                                                               \
    } while (0)

void lk_msg_clear(lk_msg_t *msg)
{
    if (!msg)
        return;
    free(msg->error);
    free(msg->actor);
    free(msg->note);
    free(msg->next_cursor);
    free(msg->consumer);
    free(msg->query.cursor);
    free(msg->query.consumer);
    lk_labels_clear(&msg->query.labels);
    S_CLEAR_ARRAY(msg->alerts, msg->alert_count, lk_alert_clear);
    S_CLEAR_ARRAY(msg->incidents, msg->incident_count, lk_incident_clear);
    S_CLEAR_ARRAY(msg->events, msg->event_count, lk_event_clear);
    free(msg->results);
    S_CLEAR_ARRAY(msg->silences, msg->silence_count, lk_silence_clear);
    S_CLEAR_ARRAY(msg->heartbeats, msg->heartbeat_count, lk_heartbeat_clear);
    S_CLEAR_ARRAY(msg->notifications, msg->notification_count, lk_notification_clear);
    S_CLEAR_ARRAY(msg->escalations, msg->escalation_count, lk_escalation_clear);
    S_CLEAR_ARRAY(msg->overrides, msg->override_count, lk_oncall_override_clear);
    S_CLEAR_ARRAY(msg->updates, msg->update_count, lk_incident_update_clear);
    S_CLEAR_ARRAY(msg->tokens, msg->token_count, lk_ingest_token_clear);
    free(msg->alert_ends);
    memset(msg, 0, sizeof *msg);
}

/* The capacity an array of count items has: 4, then the next power of two. */
static size_t s_capacity(size_t count)
{
    size_t capacity = 4;
    while (capacity < count)
        capacity *= 2;
    return capacity;
}

/* Returns a zeroed slot at items[count], growing the array when needed; NULL on OOM (array
   unchanged). Arrays hold no capacity field: the capacity is implied by the count (the next
   power of two, at least 4), so the array is reallocated, doubling, only when count reaches
   such a power — appending n items costs O(n) instead of the O(n^2) of growing one slot at a
   time. */
static void *s_grow(void **items, size_t count, size_t item_size)
{
    bool full = count == 0 || (count >= 4 && (count & (count - 1)) == 0);
    if (full) {
        size_t capacity = count == 0 ? 4 : count * 2;
        char *grown = realloc(*items, capacity * item_size);
        if (!grown)
            return NULL;
        *items = grown;
    }
    char *slot = (char *)*items + count * item_size;
    memset(slot, 0, item_size);
    return slot;
}

/*  Appends deep copies to the message's arrays. Return 0, or -1 on OOM (msg unchanged).
    Every entity array works the same way, so one macro defines the functions: the array,
    its count and the entity's deep-copy function are the only differences. */
#define S_DEFINE_ADD(name, type, array, count, copy)                                               \
    int lk_msg_add_##name(lk_msg_t *msg, const type *item)                                         \
    {                                                                                              \
        type *slot = s_grow((void **)&msg->array, msg->count, sizeof *slot);                       \
        if (!slot || copy(slot, item) != 0)                                                        \
            return -1;                                                                             \
        msg->count++;                                                                              \
        return 0;                                                                                  \
    }

S_DEFINE_ADD(alert, lk_alert_t, alerts, alert_count, lk_alert_copy)
S_DEFINE_ADD(incident, lk_incident_t, incidents, incident_count, lk_incident_copy)
S_DEFINE_ADD(event, lk_event_t, events, event_count, lk_event_copy)
S_DEFINE_ADD(silence, lk_silence_t, silences, silence_count, lk_silence_copy)
S_DEFINE_ADD(heartbeat, lk_heartbeat_t, heartbeats, heartbeat_count, lk_heartbeat_copy)
S_DEFINE_ADD(update, lk_incident_update_t, updates, update_count, lk_incident_update_copy)
S_DEFINE_ADD(token, lk_ingest_token_t, tokens, token_count, lk_ingest_token_copy)
S_DEFINE_ADD(notification, lk_notification_t, notifications, notification_count,
             lk_notification_copy)
S_DEFINE_ADD(escalation, lk_escalation_t, escalations, escalation_count, lk_escalation_copy)
S_DEFINE_ADD(override, lk_oncall_override_t, overrides, override_count, lk_oncall_override_copy)

int lk_msg_take_alert(lk_msg_t *msg, lk_alert_t *alert)
{
    lk_alert_t *slot = s_grow((void **)&msg->alerts, msg->alert_count, sizeof *slot);
    if (!slot)
        return -1;
    *slot = *alert;
    memset(alert, 0, sizeof *alert);
    msg->alert_count++;
    return 0;
}

/* Fixed-size: a copy is an assignment. */
static int s_alert_end_copy(lk_alert_end_t *slot, const lk_alert_end_t *item)
{
    *slot = *item;
    return 0;
}
S_DEFINE_ADD(alert_end, lk_alert_end_t, alert_ends, alert_end_count, s_alert_end_copy)

int lk_msg_add_result(lk_msg_t *msg, const lk_alert_result_t *result)
{
    lk_alert_result_t *slot = s_grow((void **)&msg->results, msg->result_count, sizeof *slot);
    if (!slot)
        return -1;
    *slot = *result;
    msg->result_count++;
    return 0;
}

/* ---- encoding -------------------------------------------------------------------------- */

/*  The output buffer and msgpack's encodings, written inline. msgpack-c's packer hands every
    item to a write callback (msgpack_sbuffer_write: a call, a capacity check and a memcpy per
    map header, key and value), which was a fifth of correlate's instructions per new alert.
    The bytes are the same as msgpack-c's: the shortest form of each header and integer. */
typedef struct {
    char *data;
    size_t size;
    size_t capacity;
} s_packer_t;

/*  Room for need more bytes; 0, or -1 when the buffer cannot grow. */
static int s_mp_grow(s_packer_t *pk, size_t need)
{
    size_t capacity = pk->capacity ? pk->capacity : 512;
    while (capacity - pk->size < need) {
        if (capacity > SIZE_MAX / 2)
            return -1;
        capacity *= 2;
    }
    char *data = realloc(pk->data, capacity);
    if (!data)
        return -1;
    pk->data = data;
    pk->capacity = capacity;
    return 0;
}

static inline int s_mp_bytes(s_packer_t *pk, const void *bytes, size_t size)
{
    if (pk->capacity - pk->size < size && s_mp_grow(pk, size))
        return -1;
    memcpy(pk->data + pk->size, bytes, size);
    pk->size += size;
    return 0;
}

/*  A one-byte tag followed by value in width big-endian bytes (0, 1, 2, 4 or 8). */
static inline int s_mp_tagged(s_packer_t *pk, uint8_t tag, uint64_t value, int width)
{
    if (pk->capacity - pk->size < 9 && s_mp_grow(pk, 9))
        return -1;
    uint8_t *out = (uint8_t *)pk->data + pk->size;
    out[0] = tag;
    for (int byte = 0; byte < width; byte++)
        out[1 + byte] = (uint8_t)(value >> (8 * (width - 1 - byte)));
    pk->size += 1 + (size_t)width;
    return 0;
}

/*  A header with a fix form (fix | n for n < fix_limit) and 16- and 32-bit forms. */
static inline int s_mp_header(s_packer_t *pk, uint32_t n, uint8_t fix, uint32_t fix_limit,
                              uint8_t tag16, uint8_t tag32)
{
    if (n < fix_limit)
        return s_mp_tagged(pk, (uint8_t)(fix | n), 0, 0);
    return n < 65536 ? s_mp_tagged(pk, tag16, n, 2) : s_mp_tagged(pk, tag32, n, 4);
}

static inline int s_mp_map(s_packer_t *pk, size_t n)
{
    return s_mp_header(pk, (uint32_t)n, 0x80, 16, 0xde, 0xdf);
}

static inline int s_mp_array(s_packer_t *pk, size_t n)
{
    return s_mp_header(pk, (uint32_t)n, 0x90, 16, 0xdc, 0xdd);
}

static inline int s_mp_str_header(s_packer_t *pk, size_t length)
{
    if (length < 32)
        return s_mp_tagged(pk, (uint8_t)(0xa0 | length), 0, 0);
    if (length < 256)
        return s_mp_tagged(pk, 0xd9, length, 1);
    return length < 65536 ? s_mp_tagged(pk, 0xda, length, 2) : s_mp_tagged(pk, 0xdb, length, 4);
}

static inline int s_mp_uint64(s_packer_t *pk, uint64_t value)
{
    if (value < 128)
        return s_mp_tagged(pk, (uint8_t)value, 0, 0);
    if (value < 256)
        return s_mp_tagged(pk, 0xcc, value, 1);
    if (value < 65536)
        return s_mp_tagged(pk, 0xcd, value, 2);
    return value < 4294967296ULL ? s_mp_tagged(pk, 0xce, value, 4)
                                 : s_mp_tagged(pk, 0xcf, value, 8);
}

static inline int s_mp_int64(s_packer_t *pk, int64_t value)
{
    if (value >= 0)
        return s_mp_uint64(pk, (uint64_t)value);
    if (value >= -32)
        return s_mp_tagged(pk, (uint8_t)(int8_t)value, 0, 0);
    if (value >= INT8_MIN)
        return s_mp_tagged(pk, 0xd0, (uint64_t)value, 1);
    if (value >= INT16_MIN)
        return s_mp_tagged(pk, 0xd1, (uint64_t)value, 2);
    return value >= INT32_MIN ? s_mp_tagged(pk, 0xd2, (uint64_t)value, 4)
                              : s_mp_tagged(pk, 0xd3, (uint64_t)value, 8);
}

static inline int s_mp_double(s_packer_t *pk, double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    return s_mp_tagged(pk, 0xcb, bits, 8);
}

static inline int s_mp_true(s_packer_t *pk)
{
    return s_mp_tagged(pk, 0xc3, 0, 0);
}

static inline int s_mp_false(s_packer_t *pk)
{
    return s_mp_tagged(pk, 0xc2, 0, 0);
}

/*  Every s_pack_* returns 0, or non-zero when the buffer could not grow (OOM). A NULL string
    packs as "": required string fields always arrive as strings. s_pack_str and the
    s_pack_kv_* helpers are inlined into every caller: most keys are literals, whose length,
    header and copy the compiler then works out at build time instead of a strlen and a call
    per key (correlate −2% instructions per new alert). */
#define S_INLINE static inline __attribute__((always_inline))

S_INLINE int s_pack_str(s_packer_t *pk, const char *text)
{
    size_t length = text ? strlen(text) : 0;
    if (s_mp_str_header(pk, length) != 0)
        return -1;
    return length ? s_mp_bytes(pk, text, length) : 0;
}

/*  Packs one key/value pair of the given kind. */
S_INLINE int s_pack_kv_str(s_packer_t *pk, const char *key, const char *text)
{
    return s_pack_str(pk, key) || s_pack_str(pk, text);
}

S_INLINE int s_pack_kv_int(s_packer_t *pk, const char *key, int64_t value)
{
    return s_pack_str(pk, key) || s_mp_int64(pk, value);
}

S_INLINE int s_pack_kv_uint(s_packer_t *pk, const char *key, uint64_t value)
{
    return s_pack_str(pk, key) || s_mp_uint64(pk, value);
}

static int s_pack_kv_labels(s_packer_t *pk, const char *key, const lk_labels_t *labels)
{
    if (s_pack_str(pk, key) || s_mp_map(pk, labels->count))
        return -1;
    for (size_t i = 0; i < labels->count; i++)
        if (s_pack_kv_str(pk, labels->items[i].name, labels->items[i].value))
            return -1;
    return 0;
}

/*  Packs key and an array of strings. */
static int s_pack_kv_strings(s_packer_t *pk, const char *key, char *const *items, size_t count)
{
    if (s_pack_str(pk, key) || s_mp_array(pk, count))
        return -1;
    for (size_t i = 0; i < count; i++)
        if (s_pack_str(pk, items[i]))
            return -1;
    return 0;
}

/*  Entity maps, with the keys listed in lk_msg.h; optional fields only when set. */
static int s_pack_alert(s_packer_t *pk, const lk_alert_t *alert)
{
    size_t fields = 12 + (alert->query != NULL) + (alert->dedup_key != NULL) +
                    (alert->generator_url != NULL) + alert->has_value + alert->has_threshold +
                    (alert->state != LK_ALERT_ACTIVE) + (alert->suppressed_by != NULL);
    if (s_mp_map(pk, fields) || s_pack_kv_str(pk, "tenant", alert->tenant_id) ||
        s_pack_kv_str(pk, "fingerprint", alert->fingerprint) ||
        s_pack_kv_str(pk, "incident_id", alert->incident_id) ||
        s_pack_kv_str(pk, "source", alert->source) || s_pack_kv_str(pk, "name", alert->name) ||
        (alert->query && s_pack_kv_str(pk, "query", alert->query)) ||
        (alert->dedup_key && s_pack_kv_str(pk, "dedup_key", alert->dedup_key)) ||
        (alert->generator_url && s_pack_kv_str(pk, "generator_url", alert->generator_url)) ||
        s_pack_kv_labels(pk, "labels", &alert->labels) ||
        s_pack_kv_labels(pk, "annotations", &alert->annotations) ||
        s_pack_kv_str(pk, "severity",
                      s_name_of(s_severity_names, S_COUNT(s_severity_names), alert->severity)) ||
        s_pack_kv_str(
            pk, "status",
            s_name_of(s_alert_status_names, S_COUNT(s_alert_status_names), alert->status)) ||
        (alert->has_value && (s_pack_str(pk, "value") || s_mp_double(pk, alert->value))) ||
        (alert->has_threshold &&
         (s_pack_str(pk, "threshold") || s_mp_double(pk, alert->threshold))) ||
        s_pack_kv_int(pk, "starts_at", alert->starts_at_ms) ||
        s_pack_kv_int(pk, "ends_at", alert->ends_at_ms) ||
        s_pack_kv_int(pk, "updated_at", alert->updated_at_ms) ||
        (alert->state != LK_ALERT_ACTIVE &&
         s_pack_kv_str(
             pk, "state",
             s_name_of(s_alert_state_names, S_COUNT(s_alert_state_names), alert->state))) ||
        (alert->suppressed_by && s_pack_kv_str(pk, "suppressed_by", alert->suppressed_by)))
        return -1;
    return 0;
}

static int s_pack_incident(s_packer_t *pk, const lk_incident_t *incident)
{
    size_t fields = 16 + (incident->acknowledged_by != NULL) + (incident->resolved_by != NULL) +
                    (incident->ack_expires_at_ms != 0) + (incident->policy != NULL) +
                    (incident->source_count != 0) + (incident->group_wait_until_ms != 0);
    if (s_mp_map(pk, fields) || s_pack_kv_str(pk, "id", incident->id) ||
        s_pack_kv_str(pk, "tenant", incident->tenant_id) ||
        s_pack_kv_str(pk, "group_key", incident->group_key) ||
        s_pack_kv_str(pk, "title", incident->title) ||
        s_pack_kv_str(pk, "summary", incident->summary) ||
        (incident->acknowledged_by &&
         s_pack_kv_str(pk, "acknowledged_by", incident->acknowledged_by)) ||
        (incident->resolved_by && s_pack_kv_str(pk, "resolved_by", incident->resolved_by)) ||
        s_pack_kv_labels(pk, "group_labels", &incident->group_labels) ||
        s_pack_kv_str(pk, "severity",
                      s_name_of(s_severity_names, S_COUNT(s_severity_names), incident->severity)) ||
        s_pack_kv_str(pk, "status",
                      s_name_of(s_incident_status_names, S_COUNT(s_incident_status_names),
                                incident->status)) ||
        s_pack_kv_uint(pk, "alert_count", incident->alert_count) ||
        s_pack_kv_uint(pk, "firing_count", incident->firing_count) ||
        s_pack_kv_uint(pk, "reopen_count", incident->reopen_count) ||
        s_pack_kv_uint(pk, "version", incident->version) ||
        s_pack_kv_int(pk, "created_at", incident->created_at_ms) ||
        s_pack_kv_int(pk, "updated_at", incident->updated_at_ms) ||
        s_pack_kv_int(pk, "acknowledged_at", incident->acknowledged_at_ms) ||
        s_pack_kv_int(pk, "resolved_at", incident->resolved_at_ms) ||
        (incident->ack_expires_at_ms &&
         s_pack_kv_int(pk, "ack_expires_at", incident->ack_expires_at_ms)) ||
        (incident->policy && s_pack_kv_str(pk, "policy", incident->policy)) ||
        (incident->source_count &&
         s_pack_kv_strings(pk, "sources", incident->sources, incident->source_count)) ||
        (incident->group_wait_until_ms &&
         s_pack_kv_int(pk, "group_wait_until", incident->group_wait_until_ms)))
        return -1;
    return 0;
}

static int s_pack_event(s_packer_t *pk, const lk_event_t *event)
{
    size_t fields = 7 + (event->note != NULL) + (event->fingerprints != NULL);
    if (s_mp_map(pk, fields) || s_pack_kv_uint(pk, "sequence", event->sequence) ||
        s_pack_kv_str(pk, "event_id", event->event_id) ||
        s_pack_kv_str(pk, "tenant", event->tenant_id) ||
        s_pack_kv_str(pk, "incident_id", event->incident_id) ||
        s_pack_kv_str(pk, "type", event->type) || s_pack_kv_str(pk, "actor", event->actor) ||
        (event->note && s_pack_kv_str(pk, "note", event->note)) ||
        (event->fingerprints && s_pack_kv_str(pk, "fingerprints", event->fingerprints)) ||
        s_pack_kv_int(pk, "at", event->at_ms))
        return -1;
    return 0;
}

static int s_pack_result(s_packer_t *pk, const lk_alert_result_t *result)
{
    if (s_mp_map(pk, 3) || s_pack_kv_str(pk, "outcome", lk_outcome_name(result->outcome)) ||
        s_pack_kv_str(pk, "fingerprint", result->fingerprint) ||
        s_pack_kv_str(pk, "incident_id", result->incident_id))
        return -1;
    return 0;
}

/*  Packs the query map with kind plus every field that differs from its default, so a
    decoder fills the same defaults back in. */
static int s_pack_query(s_packer_t *pk, const lk_query_t *query)
{
    size_t fields =
        1 + (query->status_mask != 0) + (query->severity_min != -1) + (query->since_ms != 0) +
        (query->until_ms != 0) + (query->labels.count != 0) + (query->limit != 0) +
        (query->cursor != NULL) + (query->incident_id[0] != '\0') + (query->shard_count != 0) +
        (query->shard_index != 0) + (query->after_sequence != 0) + (query->consumer != NULL) +
        (query->silence_id[0] != '\0') + (query->token_hash[0] != '\0');
    if (s_mp_map(pk, fields) ||
        s_pack_kv_str(pk, "kind",
                      s_name_of(s_query_kind_names, S_COUNT(s_query_kind_names), query->kind)) ||
        (query->status_mask && s_pack_kv_uint(pk, "status_mask", query->status_mask)) ||
        (query->severity_min != -1 && s_pack_kv_int(pk, "severity_min", query->severity_min)) ||
        (query->since_ms && s_pack_kv_int(pk, "since", query->since_ms)) ||
        (query->until_ms && s_pack_kv_int(pk, "until", query->until_ms)) ||
        (query->labels.count && s_pack_kv_labels(pk, "labels", &query->labels)) ||
        (query->limit && s_pack_kv_uint(pk, "limit", query->limit)) ||
        (query->cursor && s_pack_kv_str(pk, "cursor", query->cursor)) ||
        (query->incident_id[0] && s_pack_kv_str(pk, "incident_id", query->incident_id)) ||
        (query->shard_count && s_pack_kv_uint(pk, "shard_count", query->shard_count)) ||
        (query->shard_index && s_pack_kv_uint(pk, "shard_index", query->shard_index)) ||
        (query->after_sequence && s_pack_kv_uint(pk, "after_sequence", query->after_sequence)) ||
        (query->consumer && s_pack_kv_str(pk, "consumer", query->consumer)) ||
        (query->silence_id[0] && s_pack_kv_str(pk, "silence_id", query->silence_id)) ||
        (query->token_hash[0] && s_pack_kv_str(pk, "token_hash", query->token_hash)))
        return -1;
    return 0;
}

typedef int(s_pack_item_fn)(s_packer_t *pk, const void *item);

/*  Adapters so one list packer serves every entity type. */
static int s_pack_alert_item(s_packer_t *pk, const void *item)
{
    return s_pack_alert(pk, item);
}
static int s_pack_incident_item(s_packer_t *pk, const void *item)
{
    return s_pack_incident(pk, item);
}
static int s_pack_event_item(s_packer_t *pk, const void *item)
{
    return s_pack_event(pk, item);
}
static int s_pack_result_item(s_packer_t *pk, const void *item)
{
    return s_pack_result(pk, item);
}

/*  Packs key and an array of count items, each packed by pack_item. */
static int s_pack_kv_list(s_packer_t *pk, const char *key, const void *items, size_t count,
                          size_t item_size, s_pack_item_fn *pack_item)
{
    if (s_pack_str(pk, key) || s_mp_array(pk, count))
        return -1;
    for (size_t i = 0; i < count; i++)
        if (pack_item(pk, (const char *)items + i * item_size))
            return -1;
    return 0;
}

#define S_PACK_ALERTS(pk, msg)                                                                     \
    s_pack_kv_list(pk, "alerts", (msg)->alerts, (msg)->alert_count, sizeof(lk_alert_t),            \
                   s_pack_alert_item)
#define S_PACK_INCIDENTS(pk, msg)                                                                  \
    s_pack_kv_list(pk, "incidents", (msg)->incidents, (msg)->incident_count,                       \
                   sizeof(lk_incident_t), s_pack_incident_item)
#define S_PACK_EVENTS(pk, msg)                                                                     \
    s_pack_kv_list(pk, "events", (msg)->events, (msg)->event_count, sizeof(lk_event_t),            \
                   s_pack_event_item)

/*  The notify entities (notifications, escalation steps, on-call overrides). */
static int s_pack_notification(s_packer_t *pk, const void *item)
{
    const lk_notification_t *notification = item;
    size_t fields = 16 + (notification->error != NULL);
    if (s_mp_map(pk, fields) || s_pack_kv_str(pk, "id", notification->id) ||
        s_pack_kv_str(pk, "tenant", notification->tenant_id) ||
        s_pack_kv_str(pk, "incident_id", notification->incident_id) ||
        s_pack_kv_str(pk, "policy", notification->policy) ||
        s_pack_kv_uint(pk, "level", notification->level) ||
        s_pack_kv_str(pk, "channel", notification->channel) ||
        s_pack_kv_str(pk, "target", notification->target) ||
        s_pack_kv_str(
            pk, "kind",
            s_name_of(s_notify_kind_names, S_COUNT(s_notify_kind_names), notification->kind)) ||
        s_pack_kv_uint(pk, "attempt", notification->attempt) ||
        s_pack_kv_str(pk, "status",
                      s_name_of(s_notify_status_names, S_COUNT(s_notify_status_names),
                                notification->status)) ||
        s_pack_kv_int(pk, "response_code", notification->response_code) ||
        (notification->error && s_pack_kv_str(pk, "error", notification->error)) ||
        s_pack_kv_str(pk, "idempotency_key", notification->idempotency_key) ||
        s_pack_kv_int(pk, "lease_until", notification->lease_until_ms) ||
        s_pack_kv_int(pk, "next_attempt_at", notification->next_attempt_at_ms) ||
        s_pack_kv_int(pk, "created_at", notification->created_at_ms) ||
        s_pack_kv_int(pk, "updated_at", notification->updated_at_ms))
        return -1;
    return 0;
}

static int s_pack_escalation(s_packer_t *pk, const void *item)
{
    const lk_escalation_t *escalation = item;
    size_t fields = 13 + (escalation->note != NULL);
    if (s_mp_map(pk, fields) || s_pack_kv_str(pk, "id", escalation->id) ||
        s_pack_kv_str(pk, "tenant", escalation->tenant_id) ||
        s_pack_kv_str(pk, "incident_id", escalation->incident_id) ||
        s_pack_kv_str(pk, "policy", escalation->policy) ||
        s_pack_kv_uint(pk, "step", escalation->step) ||
        s_pack_kv_uint(pk, "level", escalation->level) ||
        s_pack_kv_uint(pk, "cycle", escalation->cycle) ||
        s_pack_kv_str(pk, "target", escalation->target) ||
        s_pack_kv_str(pk, "status", escalation->status) ||
        (escalation->note && s_pack_kv_str(pk, "note", escalation->note)) ||
        s_pack_kv_uint(pk, "event_sequence", escalation->event_sequence) ||
        s_pack_kv_int(pk, "next_at", escalation->next_at_ms) ||
        s_pack_kv_int(pk, "created_at", escalation->created_at_ms) ||
        s_pack_kv_int(pk, "updated_at", escalation->updated_at_ms))
        return -1;
    return 0;
}

static int s_pack_override(s_packer_t *pk, const void *item)
{
    const lk_oncall_override_t *override = item;
    if (s_mp_map(pk, 8) || s_pack_kv_str(pk, "id", override->id) ||
        s_pack_kv_str(pk, "tenant", override->tenant_id) ||
        s_pack_kv_str(pk, "schedule", override->schedule) ||
        s_pack_kv_str(pk, "user", override->user) ||
        s_pack_kv_str(pk, "created_by", override->created_by) ||
        s_pack_kv_int(pk, "starts_at", override->starts_at_ms) ||
        s_pack_kv_int(pk, "ends_at", override->ends_at_ms) ||
        s_pack_kv_int(pk, "created_at", override->created_at_ms))
        return -1;
    return 0;
}

/*  The optional notify arrays of mutation_batch and query_reply: each only when not empty,
    so messages without them keep their former shape. */
static size_t s_notify_fields(const lk_msg_t *msg)
{
    return (msg->notification_count != 0) + (msg->escalation_count != 0) +
           (msg->override_count != 0);
}

static int s_pack_notify_lists(s_packer_t *pk, const lk_msg_t *msg)
{
    return (msg->notification_count &&
            s_pack_kv_list(pk, "notifications", msg->notifications, msg->notification_count,
                           sizeof(lk_notification_t), s_pack_notification)) ||
           (msg->escalation_count &&
            s_pack_kv_list(pk, "escalations", msg->escalations, msg->escalation_count,
                           sizeof(lk_escalation_t), s_pack_escalation)) ||
           (msg->override_count &&
            s_pack_kv_list(pk, "overrides", msg->overrides, msg->override_count,
                           sizeof(lk_oncall_override_t), s_pack_override));
}

/*  Packs a reply's status and, when set, its error text. */
static int s_pack_status(s_packer_t *pk, const lk_msg_t *msg)
{
    return s_pack_kv_str(pk, "status", lk_status_name(msg->status)) ||
           (msg->error && s_pack_kv_str(pk, "error", msg->error));
}

/*  Number of map entries msg's type adds to the envelope. */
static size_t s_body_fields(const lk_msg_t *msg)
{
    size_t with_error = 1 + (msg->error != NULL);
    switch (msg->type) {
    case LK_MSG_ALERT_BATCH:
        return 1;
    case LK_MSG_ALERT_REPLY:
        return with_error + 1;
    case LK_MSG_COMMAND:
        return 3 + (msg->note != NULL) + (msg->fingerprint[0] != '\0') + (msg->ack_timeout_s != 0);
    case LK_MSG_COMMAND_REPLY:
        return with_error + 2;
    case LK_MSG_MUTATION_BATCH:
        return 3 + s_notify_fields(msg);
    case LK_MSG_MUTATION_ACK:
        return with_error;
    case LK_MSG_QUERY:
        return 1;
    case LK_MSG_QUERY_REPLY:
        return with_error + 3 + (msg->next_cursor != NULL) + (msg->sequence != 0) +
               (msg->first_sequence != 0) + (msg->last_sequence != 0) + s_notify_fields(msg);
    case LK_MSG_EVENT:
        return 2;
    case LK_MSG_CURSOR_COMMIT:
        return 2;
    case LK_MSG_NOTIFY_JOB:
        return 3;
    case LK_MSG_NOTIFY_RESULT:
        return 1 + (msg->consumer != NULL);
    case LK_MSG_SILENCE_COMMAND:
        return 2;
    case LK_MSG_HEARTBEAT_PING:
        return 0;
    case LK_MSG_CONTROL_REPLY:
        return with_error + 1;
    default:
        return 0;
    }
}

/*  Packs the fields msg's type uses (s_body_fields counts them); -1 on OOM or bad type. */
static int s_pack_body(s_packer_t *pk, const lk_msg_t *msg)
{
    switch (msg->type) {
    case LK_MSG_ALERT_BATCH:
        return S_PACK_ALERTS(pk, msg);
    case LK_MSG_ALERT_REPLY:
        return s_pack_status(pk, msg) ||
               s_pack_kv_list(pk, "results", msg->results, msg->result_count,
                              sizeof(lk_alert_result_t), s_pack_result_item);
    case LK_MSG_COMMAND:
        return s_pack_kv_str(pk, "action", lk_action_name(msg->action)) ||
               s_pack_kv_str(pk, "incident_id", msg->incident_id) ||
               (msg->fingerprint[0] && s_pack_kv_str(pk, "fingerprint", msg->fingerprint)) ||
               s_pack_kv_str(pk, "actor", msg->actor) ||
               (msg->note && s_pack_kv_str(pk, "note", msg->note)) ||
               (msg->ack_timeout_s && s_pack_kv_uint(pk, "ack_timeout_s", msg->ack_timeout_s));
    case LK_MSG_COMMAND_REPLY:
        return s_pack_status(pk, msg) || s_pack_str(pk, "changed") ||
               (msg->changed ? s_mp_true(pk) : s_mp_false(pk)) || S_PACK_INCIDENTS(pk, msg);
    case LK_MSG_MUTATION_BATCH:
        return S_PACK_ALERTS(pk, msg) || S_PACK_INCIDENTS(pk, msg) || S_PACK_EVENTS(pk, msg) ||
               s_pack_notify_lists(pk, msg);
    case LK_MSG_MUTATION_ACK:
        return s_pack_status(pk, msg);
    case LK_MSG_QUERY:
        return s_pack_str(pk, "query") || s_pack_query(pk, &msg->query);
    case LK_MSG_QUERY_REPLY:
        return s_pack_status(pk, msg) || S_PACK_INCIDENTS(pk, msg) || S_PACK_ALERTS(pk, msg) ||
               S_PACK_EVENTS(pk, msg) ||
               (msg->next_cursor && s_pack_kv_str(pk, "next_cursor", msg->next_cursor)) ||
               (msg->sequence && s_pack_kv_uint(pk, "sequence", msg->sequence)) ||
               (msg->first_sequence && s_pack_kv_uint(pk, "first_sequence", msg->first_sequence)) ||
               (msg->last_sequence && s_pack_kv_uint(pk, "last_sequence", msg->last_sequence)) ||
               s_pack_notify_lists(pk, msg);
    case LK_MSG_EVENT:
        return S_PACK_EVENTS(pk, msg) || S_PACK_INCIDENTS(pk, msg);
    case LK_MSG_CURSOR_COMMIT:
        return s_pack_kv_str(pk, "consumer", msg->consumer) ||
               s_pack_kv_uint(pk, "sequence", msg->sequence);
    case LK_MSG_NOTIFY_JOB:
        return s_pack_kv_list(pk, "notifications", msg->notifications, msg->notification_count,
                              sizeof(lk_notification_t), s_pack_notification) ||
               S_PACK_INCIDENTS(pk, msg) || S_PACK_ALERTS(pk, msg);
    case LK_MSG_NOTIFY_RESULT:
        return s_pack_kv_list(pk, "notifications", msg->notifications, msg->notification_count,
                              sizeof(lk_notification_t), s_pack_notification) ||
               (msg->consumer && s_pack_kv_str(pk, "consumer", msg->consumer));
    case LK_MSG_SILENCE_COMMAND:
        return s_pack_kv_str(pk, "action",
                             s_name_of(s_silence_action_names, S_COUNT(s_silence_action_names),
                                       msg->silence_action)) ||
               s_pack_kv_str(pk, "actor", msg->actor);
    case LK_MSG_HEARTBEAT_PING:
        return 0;
    case LK_MSG_CONTROL_REPLY:
        return s_pack_status(pk, msg) || s_pack_str(pk, "changed") ||
               (msg->changed ? s_mp_true(pk) : s_mp_false(pk));
    default:
        return -1;
    }
}

/*  A matcher map {name, value, is_regex, is_equal}. */
static int s_pack_matcher(s_packer_t *pk, const lk_matcher_t *matcher)
{
    return s_mp_map(pk, 4) || s_pack_kv_str(pk, "name", matcher->name) ||
           s_pack_kv_str(pk, "value", matcher->value) || s_pack_str(pk, "is_regex") ||
           (matcher->is_regex ? s_mp_true(pk) : s_mp_false(pk)) || s_pack_str(pk, "is_equal") ||
           (matcher->is_equal ? s_mp_true(pk) : s_mp_false(pk));
}

static int s_pack_matcher_item(s_packer_t *pk, const void *item)
{
    return s_pack_matcher(pk, item);
}

static int s_pack_silence(s_packer_t *pk, const void *item)
{
    const lk_silence_t *silence = item;
    return s_mp_map(pk, 9) || s_pack_kv_str(pk, "id", silence->id) ||
           s_pack_kv_str(pk, "tenant", silence->tenant_id) ||
           s_pack_kv_list(pk, "matchers", silence->matchers, silence->matcher_count,
                          sizeof(lk_matcher_t), s_pack_matcher_item) ||
           s_pack_kv_int(pk, "starts_at", silence->starts_at_ms) ||
           s_pack_kv_int(pk, "ends_at", silence->ends_at_ms) ||
           s_pack_kv_str(pk, "created_by", silence->created_by) ||
           s_pack_kv_str(pk, "comment", silence->comment) ||
           s_pack_kv_int(pk, "created_at", silence->created_at_ms) ||
           s_pack_kv_int(pk, "updated_at", silence->updated_at_ms);
}

static int s_pack_heartbeat(s_packer_t *pk, const void *item)
{
    const lk_heartbeat_t *heartbeat = item;
    return s_mp_map(pk, 10 + (heartbeat->given != 0)) ||
           s_pack_kv_str(pk, "tenant", heartbeat->tenant_id) ||
           s_pack_kv_str(pk, "name", heartbeat->name) ||
           s_pack_kv_int(pk, "interval", heartbeat->interval_ms) ||
           s_pack_kv_int(pk, "grace", heartbeat->grace_ms) ||
           s_pack_kv_str(
               pk, "severity",
               s_name_of(s_severity_names, S_COUNT(s_severity_names), heartbeat->severity)) ||
           s_pack_kv_labels(pk, "labels", &heartbeat->labels) ||
           s_pack_kv_int(pk, "last_ping_at", heartbeat->last_ping_at_ms) ||
           s_pack_str(pk, "missed") || (heartbeat->missed ? s_mp_true(pk) : s_mp_false(pk)) ||
           s_pack_kv_int(pk, "created_at", heartbeat->created_at_ms) ||
           s_pack_kv_int(pk, "updated_at", heartbeat->updated_at_ms) ||
           (heartbeat->given && s_pack_kv_uint(pk, "given", heartbeat->given));
}

static int s_pack_update(s_packer_t *pk, const void *item)
{
    const lk_incident_update_t *update = item;
    const char *stage = lk_incident_stage_name(update->stage);
    return s_mp_map(pk, 7 + (stage != NULL) + (update->title != NULL)) ||
           s_pack_kv_str(pk, "id", update->id) || s_pack_kv_str(pk, "tenant", update->tenant_id) ||
           s_pack_kv_str(pk, "incident_id", update->incident_id) ||
           s_pack_kv_str(pk, "message", update->message) ||
           s_pack_kv_str(
               pk, "visibility",
               s_name_of(s_visibility_names, S_COUNT(s_visibility_names), update->visibility)) ||
           (stage && s_pack_kv_str(pk, "status", stage)) ||
           (update->title && s_pack_kv_str(pk, "title", update->title)) ||
           s_pack_kv_str(pk, "author", update->author) ||
           s_pack_kv_int(pk, "created_at", update->created_at_ms);
}

/*  An ingest token row {id, tenant, name, hash, hint, scopes, created_by, created_at,
    revoked_at}. */
static int s_pack_token(s_packer_t *pk, const void *item)
{
    const lk_ingest_token_t *token = item;
    return s_mp_map(pk, 9) || s_pack_kv_str(pk, "id", token->id) ||
           s_pack_kv_str(pk, "tenant", token->tenant_id) ||
           s_pack_kv_str(pk, "name", token->name) || s_pack_kv_str(pk, "hash", token->hash) ||
           s_pack_kv_str(pk, "hint", token->hint) || s_pack_kv_str(pk, "scopes", token->scopes) ||
           s_pack_kv_str(pk, "created_by", token->created_by) ||
           s_pack_kv_int(pk, "created_at", token->created_at_ms) ||
           s_pack_kv_int(pk, "revoked_at", token->revoked_at_ms);
}

/*  A partial alert mutation {tenant, incident_id, fingerprint, ends_at, updated_at}. */
static int s_pack_alert_end(s_packer_t *pk, const void *item)
{
    const lk_alert_end_t *end = item;
    return s_mp_map(pk, 5) || s_pack_kv_str(pk, "tenant", end->tenant_id) ||
           s_pack_kv_str(pk, "incident_id", end->incident_id) ||
           s_pack_kv_str(pk, "fingerprint", end->fingerprint) ||
           s_pack_kv_int(pk, "ends_at", end->ends_at_ms) ||
           s_pack_kv_int(pk, "updated_at", end->updated_at_ms);
}

/*  silences[], heartbeats[], updates[], tokens[] and alert_ends[] may ride on any message
    type (lk_msg.h says which use them); like every optional field they are packed only when
    non-empty. */
static size_t s_extra_fields(const lk_msg_t *msg)
{
    return (msg->silence_count != 0) + (msg->heartbeat_count != 0) + (msg->update_count != 0) +
           (msg->token_count != 0) + (msg->alert_end_count != 0);
}

static int s_pack_extras(s_packer_t *pk, const lk_msg_t *msg)
{
    return (msg->silence_count && s_pack_kv_list(pk, "silences", msg->silences, msg->silence_count,
                                                 sizeof(lk_silence_t), s_pack_silence)) ||
           (msg->heartbeat_count &&
            s_pack_kv_list(pk, "heartbeats", msg->heartbeats, msg->heartbeat_count,
                           sizeof(lk_heartbeat_t), s_pack_heartbeat)) ||
           (msg->update_count && s_pack_kv_list(pk, "updates", msg->updates, msg->update_count,
                                                sizeof(lk_incident_update_t), s_pack_update)) ||
           (msg->token_count && s_pack_kv_list(pk, "tokens", msg->tokens, msg->token_count,
                                               sizeof(lk_ingest_token_t), s_pack_token)) ||
           (msg->alert_end_count &&
            s_pack_kv_list(pk, "alert_ends", msg->alert_ends, msg->alert_end_count,
                           sizeof(lk_alert_end_t), s_pack_alert_end));
}

/*  Hands the packed bytes to the caller, or frees them when packing failed. */
static int s_finish(s_packer_t *pk, int failed, char **data, size_t *size)
{
    if (failed || !pk->data) {
        free(pk->data);
        return -1;
    }
    *size = pk->size;
    *data = pk->data;
    return 0;
}

/*  Encodes msg's envelope and the fields its type uses. Returns 0 with a malloc'd buffer,
    or -1 on OOM or an invalid type. */
int lk_msg_encode(const lk_msg_t *msg, char **data, size_t *size)
{
    assert(msg && data && size);
    *data = NULL;
    *size = 0;
    if (msg->type <= LK_MSG_INVALID || msg->type >= LK_MSG_TYPE_COUNT)
        return -1;
    /* sized for the lists up front: a batch of 64 alerts grew from 512 bytes by doubling,
       copying itself seven times */
    s_packer_t pk = {NULL, 0, 0};
    if (s_mp_grow(&pk, 512 + 1024 * msg->alert_count + 768 * msg->incident_count +
                           256 * msg->event_count + 128 * msg->result_count))
        return -1;
    bool has_tenant = msg->tenant_id[0] != '\0';
    int failed = s_mp_map(&pk, 3 + has_tenant + s_body_fields(msg) + s_extra_fields(msg)) ||
                 s_pack_kv_str(&pk, "type", lk_msg_type_name(msg->type)) ||
                 s_pack_kv_uint(&pk, "v", LK_MSG_VERSION) || s_pack_kv_uint(&pk, "req", msg->req) ||
                 (has_tenant && s_pack_kv_str(&pk, "tenant", msg->tenant_id)) ||
                 s_pack_body(&pk, msg) || s_pack_extras(&pk, msg);
    return s_finish(&pk, failed, data, size);
}

/*  Encodes one incident as a standalone map. Returns 0 with a malloc'd buffer, -1 on OOM. */
int lk_incident_encode(const lk_incident_t *incident, char **data, size_t *size)
{
    assert(incident && data && size);
    *data = NULL;
    *size = 0;
    s_packer_t pk = {NULL, 0, 0};
    return s_finish(&pk, s_pack_incident(&pk, incident), data, size);
}

int lk_event_msg_encode(const lk_event_t *event, uint64_t sequence, const void *incident,
                        size_t incident_size, char **data, size_t *size)
{
    assert(event && incident && data && size);
    *data = NULL;
    *size = 0;
    lk_event_t sequenced = *event; /* shallow: only packed */
    sequenced.sequence = sequence;
    bool has_tenant = event->tenant_id[0] != '\0';
    s_packer_t pk = {NULL, 0, 0};
    /* the field order of lk_msg_encode for LK_MSG_EVENT */
    int failed = s_mp_map(&pk, 3 + has_tenant + 2) ||
                 s_pack_kv_str(&pk, "type", lk_msg_type_name(LK_MSG_EVENT)) ||
                 s_pack_kv_uint(&pk, "v", LK_MSG_VERSION) || s_pack_kv_uint(&pk, "req", sequence) ||
                 (has_tenant && s_pack_kv_str(&pk, "tenant", event->tenant_id)) ||
                 s_pack_str(&pk, "events") || s_mp_array(&pk, 1) || s_pack_event(&pk, &sequenced) ||
                 s_pack_str(&pk, "incidents") || s_mp_array(&pk, 1) ||
                 s_mp_bytes(&pk, incident, incident_size);
    return s_finish(&pk, failed, data, size);
}

/* ---- UTF-8 ----------------------------------------------------------------------------- */

/*  Length (1..4) of the well-formed UTF-8 sequence at bytes, or 0 when it is not one
    (overlong forms, surrogates and code points past U+10FFFF are not well-formed). */
static size_t s_utf8_sequence(const unsigned char *bytes, size_t size)
{
    unsigned char lead = bytes[0];
    if (lead < 0x80)
        return 1;
    size_t length;
    unsigned char low = 0x80, high = 0xbf; /* allowed range of the second byte */
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

/*  True when size bytes of text are entirely well-formed UTF-8. */
static bool s_utf8_valid(const char *text, size_t size)
{
    const unsigned char *bytes = (const unsigned char *)text;
    size_t pos = 0;
    while (pos < size) {
        /* ASCII (nearly every label, id and name) eight bytes at a time */
        uint64_t word;
        while (pos + sizeof word <= size &&
               (memcpy(&word, bytes + pos, sizeof word), (word & 0x8080808080808080ULL) == 0))
            pos += sizeof word;
        if (pos == size)
            break;
        size_t length = s_utf8_sequence(bytes + pos, size - pos);
        if (length == 0)
            return false;
        pos += length;
    }
    return true;
}

/*  True when size bytes of text are well-formed UTF-8 and hold no NUL: the check of every
    string field of every message, so ASCII goes eight bytes at a time and the bytes of a
    short tail without a call each. */
static bool s_text_clean(const char *text, size_t size)
{
    const unsigned char *bytes = (const unsigned char *)text;
    size_t pos = 0;
    while (pos < size) {
        uint64_t word;
        while (pos + sizeof word <= size) {
            memcpy(&word, bytes + pos, sizeof word);
            /* a byte of 0x80 or more, or a zero byte (the has-zero-byte test) */
            uint64_t zero = (word - 0x0101010101010101ULL) & ~word;
            if ((word | zero) & 0x8080808080808080ULL)
                break;
            pos += sizeof word;
        }
        if (pos == size)
            break;
        if (bytes[pos] == 0)
            return false;
        if (bytes[pos] < 0x80) {
            pos++;
            continue;
        }
        size_t length = s_utf8_sequence(bytes + pos, size - pos);
        if (length == 0)
            return false;
        pos += length;
    }
    return true;
}

/* ---- decoding -------------------------------------------------------------------------- */

/*  One step of the path to the field being decoded. The path is only shown when decoding
    fails, so steps are recorded as pointers and rendered in s_fail: building the text for
    every field of every message was the largest single cost of decoding. */
typedef struct {
    const char *key; /* a field name (NUL-terminated unless from the wire), or NULL */
    size_t key_size; /* wire keys: their size; else unused */
    bool wire;       /* came off the wire: shown printable and short */
    unsigned index;  /* key NULL: an array index, shown as [index] */
} s_segment_t;

#define S_PATH_DEPTH 16

typedef struct {
    char *err;
    size_t err_size;
    const char *what;               /* message type name, "msg" before it is known, or "incident" */
    s_segment_t path[S_PATH_DEPTH]; /* field being decoded, e.g. alerts[3].labels.env */
    size_t depth;
} s_decoder_t;

/*  Renders the path ("alerts[3].labels.env", at most 255 bytes) into out[256]. */
static void s_render_path(const s_decoder_t *decoder, char out[256])
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < decoder->depth && i < S_PATH_DEPTH && used < 255; i++) {
        const s_segment_t *segment = &decoder->path[i];
        char text[64];
        if (segment->wire) {
            /* printable and short, so an error line cannot be used to forge log lines */
            size_t length = 0;
            for (size_t k = 0; k < segment->key_size && length < 40; k++) {
                unsigned char c = (unsigned char)segment->key[k];
                text[length++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
            }
            if (segment->key_size > 40)
                text[length++] = '~';
            text[length] = '\0';
        } else if (segment->key)
            snprintf(text, sizeof text, "%s", segment->key);
        else
            snprintf(text, sizeof text, "[%u]", segment->index);
        /* names are joined with ".", indexes follow their array */
        int written =
            snprintf(out + used, 256 - used, "%s%s", used && segment->key ? "." : "", text);
        if (written < 0)
            break;
        used += (size_t)written;
    }
    if (used > 255)
        out[255] = '\0';
}

/*  Writes "<what>: <path>: <reason>" into the caller's err; always returns -1. */
static int s_fail(s_decoder_t *decoder, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static int s_fail(s_decoder_t *decoder, const char *format, ...)
{
    if (!decoder->err || decoder->err_size == 0)
        return -1;
    char reason[160];
    va_list args;
    va_start(args, format);
    vsnprintf(reason, sizeof reason, format, args);
    va_end(args);
    char path[256];
    s_render_path(decoder, path);
    if (path[0])
        snprintf(decoder->err, decoder->err_size, "%s: %s: %s", decoder->what, path, reason);
    else
        snprintf(decoder->err, decoder->err_size, "%s: %s", decoder->what, reason);
    return -1;
}

/*  Appends a field name (a constant of ours) to the path; returns the mark to restore with
    s_pop. It runs for every field of every message, so it only stores the pointer. */
static inline size_t s_push(s_decoder_t *decoder, const char *key)
{
    size_t mark = decoder->depth++;
    if (mark < S_PATH_DEPTH) /* deeper steps are not shown */
        decoder->path[mark] = (s_segment_t){.key = key};
    return mark;
}

/*  Appends an array index ("[3]") to the path; returns the mark for s_pop. */
static inline size_t s_push_index(s_decoder_t *decoder, unsigned index)
{
    size_t mark = decoder->depth++;
    if (mark < S_PATH_DEPTH)
        decoder->path[mark] = (s_segment_t){.index = index};
    return mark;
}

/*  Appends a key that came off the wire (shown printable and short). */
static size_t s_push_wire_key(s_decoder_t *decoder, const char *key, size_t size)
{
    size_t mark = decoder->depth++;
    if (mark < S_PATH_DEPTH)
        decoder->path[mark] = (s_segment_t){.key = key, .key_size = size, .wire = true};
    return mark;
}

/*  Truncates the path back to a mark from s_push. */
static void s_pop(s_decoder_t *decoder, size_t mark)
{
    decoder->depth = mark;
}

/*  The value under key in map, or NULL. Non-string keys are skipped: they cannot be ours. */
static const msgpack_object *s_map_find(const msgpack_object *map, const char *key)
{
    size_t key_length = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *candidate = &map->via.map.ptr[i].key;
        if (candidate->type == MSGPACK_OBJECT_STR && candidate->via.str.size == key_length &&
            memcmp(candidate->via.str.ptr, key, key_length) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

/*  Each field decoder comes in two layers: s_<kind>_at takes the field's value as found
    (NULL: absent) with its name for the path, and s_get_<kind> looks the name up in a map
    first. Entities on the hot path (alerts, events) find all their fields in one pass
    (s_fields) and call the first; the rest look each field up.

    Takes a field's value as found (NULL: absent): nil counts as absent, which is an error
    only when required. The caller has pushed the field's name onto the path. */
static int s_present(s_decoder_t *decoder, const msgpack_object **value, bool required)
{
    if (*value && (*value)->type == MSGPACK_OBJECT_NIL)
        *value = NULL;
    if (!*value && required)
        return s_fail(decoder, "missing");
    return 0;
}

/*  Looks key up: *value is NULL when it is absent or nil. That is an error only when
    required. The caller has pushed key onto the path. */
static int s_lookup(s_decoder_t *decoder, const msgpack_object *map, const char *key, bool required,
                    const msgpack_object **value)
{
    *value = s_map_find(map, key);
    return s_present(decoder, value, required);
}

/* A field name with its length, for s_fields. */
typedef struct {
    const char *name;
    size_t size;
} s_field_name_t;
/* An entity's field list, S_<ENTITY>_FIELDS_LIST(X), holds X(enum name, wire name) per
   field. S_FIELD_TABLE makes from it the enum of the fields' indexes, ending with count,
   and table, their names in the same order, for s_fields. */
#define S_FIELD_ID(id, text)   id,
#define S_FIELD_NAME(id, text) {text, sizeof(text) - 1},
#define S_FIELD_TABLE(LIST, count, table)                                                          \
    enum { LIST(S_FIELD_ID) count };                                                               \
    static const s_field_name_t table[count] = {LIST(S_FIELD_NAME)}

/*  Finds the fields named in names[count] among map's pairs in one pass: at[i] is the value
    of names[i] (NULL when absent; the first pair wins when a key repeats, as a lookup finds
    it). Looking each field up scans the pairs once per field, absent ones to the end: for an
    alert (about twenty fields, a third of them usually absent) a quarter of its decoding.
    Names listed in the order encoders write them are matched at the first comparison. */
static void s_fields(const msgpack_object *map, const s_field_name_t *names, size_t count,
                     const msgpack_object **at)
{
    memset(at, 0, count * sizeof *at);
    size_t next = 0; /* where the next pair's name is expected */
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *key = &map->via.map.ptr[i].key;
        if (key->type != MSGPACK_OBJECT_STR)
            continue; /* cannot be ours */
        for (size_t tried = 0, field = next; tried < count;
             tried++, field = field + 1 == count ? 0 : field + 1) {
            if (key->via.str.size == names[field].size &&
                memcmp(key->via.str.ptr, names[field].name, names[field].size) == 0) {
                if (!at[field])
                    at[field] = &map->via.map.ptr[i].val;
                next = field + 1 == count ? 0 : field + 1;
                break;
            }
        }
    }
}

/*  Checks that object is a string fit for a C string: bounded, NUL-free, UTF-8. */
static int s_check_str(s_decoder_t *decoder, const msgpack_object *object)
{
    if (object->type != MSGPACK_OBJECT_STR)
        return s_fail(decoder, "not a string");
    if (object->via.str.size > LK_MSG_MAX_STR)
        return s_fail(decoder, "string longer than %d bytes", LK_MSG_MAX_STR);
    if (!s_text_clean(object->via.str.ptr, object->via.str.size)) {
        if (memchr(object->via.str.ptr, '\0', object->via.str.size))
            return s_fail(decoder, "string contains a NUL byte");
        return s_fail(decoder, "string is not valid UTF-8");
    }
    return 0;
}

/*  malloc'd NUL-terminated copy of a checked string object, or NULL on OOM. */
static char *s_strdup_object(const msgpack_object *object)
{
    char *copy = malloc(object->via.str.size + 1);
    if (!copy)
        return NULL;
    if (object->via.str.size)
        memcpy(copy, object->via.str.ptr, object->via.str.size);
    copy[object->via.str.size] = '\0';
    return copy;
}

/*  Writes a checked string object with its NUL at out; returns the byte after it. */
static char *s_copy_object(char *out, const msgpack_object *object)
{
    if (object->via.str.size)
        memcpy(out, object->via.str.ptr, object->via.str.size);
    out[object->via.str.size] = '\0';
    return out + object->via.str.size + 1;
}

/*  String field → malloc'd *out (left NULL when optional and absent). */
static int s_str_at(s_decoder_t *decoder, const msgpack_object *value, const char *key,
                    bool required, char **out)
{
    size_t mark = s_push(decoder, key);
    if (s_present(decoder, &value, required))
        return -1;
    if (value) {
        if (s_check_str(decoder, value))
            return -1;
        free(*out);
        *out = s_strdup_object(value);
        if (!*out)
            return s_fail(decoder, "out of memory");
    }
    s_pop(decoder, mark);
    return 0;
}

static int s_get_str(s_decoder_t *decoder, const msgpack_object *map, const char *key,
                     bool required, char **out)
{
    return s_str_at(decoder, s_map_find(map, key), key, required, out);
}

typedef enum { S_UUID, S_FINGERPRINT } s_id_kind_t;

/*  True when text is LK_FINGERPRINT_STR_LEN lower-case hex digits, as %016x renders. */
static bool s_fingerprint_valid(const char *text, size_t size)
{
    return size == LK_FINGERPRINT_STR_LEN && lk_fingerprints_count(text, size) == 1;
}

/*  UUID or fingerprint field into a fixed buffer. required: the key must be present;
    allow_empty: "" is accepted (an identity not assigned yet). Absent leaves out "". */
static int s_id_at(s_decoder_t *decoder, const msgpack_object *value, const char *key,
                   bool required, bool allow_empty, s_id_kind_t kind, char *out)
{
    size_t mark = s_push(decoder, key);
    out[0] = '\0';
    if (s_present(decoder, &value, required))
        return -1;
    if (value) {
        if (value->type != MSGPACK_OBJECT_STR)
            return s_fail(decoder, "not a string");
        size_t size = value->via.str.size;
        if (size == 0) {
            if (!allow_empty)
                return s_fail(decoder, "empty");
        } else if (kind == S_UUID) {
            char text[LK_UUID_STR_LEN + 1];
            if (size != LK_UUID_STR_LEN)
                return s_fail(decoder, "not a UUID");
            memcpy(text, value->via.str.ptr, size);
            text[size] = '\0';
            if (!lk_uuid_valid(text))
                return s_fail(decoder, "not a UUID");
            memcpy(out, text, size + 1);
        } else {
            if (!s_fingerprint_valid(value->via.str.ptr, size))
                return s_fail(decoder, "not a fingerprint (16 hex digits)");
            memcpy(out, value->via.str.ptr, size);
            out[size] = '\0';
        }
    }
    s_pop(decoder, mark);
    return 0;
}

static int s_get_id(s_decoder_t *decoder, const msgpack_object *map, const char *key, bool required,
                    bool allow_empty, s_id_kind_t kind, char *out)
{
    return s_id_at(decoder, s_map_find(map, key), key, required, allow_empty, kind, out);
}

/*  Signed integer field within [min, max]; *out untouched when optional and absent. */
static int s_int_at(s_decoder_t *decoder, const msgpack_object *value, const char *key,
                    bool required, int64_t min, int64_t max, int64_t *out)
{
    size_t mark = s_push(decoder, key);
    if (s_present(decoder, &value, required))
        return -1;
    if (value) {
        if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            if (value->via.u64 > (uint64_t)max)
                return s_fail(decoder, "out of range");
            *out = (int64_t)value->via.u64;
        } else if (value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
            if (value->via.i64 < min || value->via.i64 > max)
                return s_fail(decoder, "out of range");
            *out = value->via.i64;
        } else
            return s_fail(decoder, "not an integer");
    }
    s_pop(decoder, mark);
    return 0;
}

static int s_get_int(s_decoder_t *decoder, const msgpack_object *map, const char *key,
                     bool required, int64_t min, int64_t max, int64_t *out)
{
    return s_int_at(decoder, s_map_find(map, key), key, required, min, max, out);
}

/*  Unsigned integer field up to max; *out untouched when optional and absent. */
static int s_uint_at(s_decoder_t *decoder, const msgpack_object *value, const char *key,
                     bool required, uint64_t max, uint64_t *out)
{
    size_t mark = s_push(decoder, key);
    if (s_present(decoder, &value, required))
        return -1;
    if (value) {
        if (value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            return s_fail(decoder, "negative");
        if (value->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return s_fail(decoder, "not an integer");
        if (value->via.u64 > max)
            return s_fail(decoder, "out of range");
        *out = value->via.u64;
    }
    s_pop(decoder, mark);
    return 0;
}

static int s_get_uint(s_decoder_t *decoder, const msgpack_object *map, const char *key,
                      bool required, uint64_t max, uint64_t *out)
{
    return s_uint_at(decoder, s_map_find(map, key), key, required, max, out);
}

/*  s_get_uint narrowed to a uint32_t field. */
static int s_get_u32(s_decoder_t *decoder, const msgpack_object *map, const char *key,
                     bool required, uint32_t *out)
{
    uint64_t value = *out;
    if (s_get_uint(decoder, map, key, required, UINT32_MAX, &value))
        return -1;
    *out = (uint32_t)value;
    return 0;
}

/*  Optional number field (float32, float64 or integer); *has tells whether it was there. */
static int s_double_at(s_decoder_t *decoder, const msgpack_object *value, const char *key,
                       bool *has, double *out)
{
    size_t mark = s_push(decoder, key);
    *has = false;
    if (s_present(decoder, &value, false))
        return -1;
    if (value) {
        if (value->type == MSGPACK_OBJECT_FLOAT32 || value->type == MSGPACK_OBJECT_FLOAT64)
            *out = value->via.f64;
        else if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            *out = (double)value->via.u64;
        else if (value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            *out = (double)value->via.i64;
        else
            return s_fail(decoder, "not a number");
        *has = true;
    }
    s_pop(decoder, mark);
    return 0;
}

/*  Boolean field; *out untouched when optional and absent. */
static int s_get_bool(s_decoder_t *decoder, const msgpack_object *map, const char *key,
                      bool required, bool *out)
{
    size_t mark = s_push(decoder, key);
    const msgpack_object *value;
    if (s_lookup(decoder, map, key, required, &value))
        return -1;
    if (value) {
        if (value->type != MSGPACK_OBJECT_BOOLEAN)
            return s_fail(decoder, "not a boolean");
        *out = value->via.boolean;
    }
    s_pop(decoder, mark);
    return 0;
}

/*  Enum field given by its exact wire name; *out untouched when optional and absent. */
static int s_enum_at(s_decoder_t *decoder, const msgpack_object *value, const char *key,
                     bool required, const char **names, size_t count, int *out)
{
    size_t mark = s_push(decoder, key);
    if (s_present(decoder, &value, required))
        return -1;
    if (value) {
        if (value->type != MSGPACK_OBJECT_STR)
            return s_fail(decoder, "not a string");
        size_t index;
        for (index = 0; index < count; index++) {
            if (names[index] && strlen(names[index]) == value->via.str.size &&
                memcmp(names[index], value->via.str.ptr, value->via.str.size) == 0)
                break;
        }
        if (index == count)
            return s_fail(decoder, "unknown name");
        *out = (int)index;
    }
    s_pop(decoder, mark);
    return 0;
}

/*  Array field of at most max items; *array is NULL when optional and absent. */
static int s_array_at(s_decoder_t *decoder, const msgpack_object *value, const char *key,
                      bool required, size_t max, const msgpack_object **array)
{
    *array = value;
    if (s_present(decoder, array, required))
        return -1;
    if (*array) {
        if ((*array)->type != MSGPACK_OBJECT_ARRAY)
            return s_fail(decoder, "not an array");
        if ((*array)->via.array.size > max)
            return s_fail(decoder, "more than %zu items", max);
    }
    return 0;
}

static int s_get_array(s_decoder_t *decoder, const msgpack_object *map, const char *key,
                       bool required, size_t max, const msgpack_object **array)
{
    return s_array_at(decoder, s_map_find(map, key), key, required, max, array);
}

/*  qsort order of a label set: strcmp of names, as lk_labels_set keeps it. */
static int s_compare_labels(const void *a, const void *b)
{
    return strcmp(((const lk_label_t *)a)->name, ((const lk_label_t *)b)->name);
}

/*  Map of string → string into a sorted, unique label set. Built in one pass and sorted once
    so a huge map costs n log n, not the n² of repeated sorted inserts. */
static int s_labels_at(s_decoder_t *decoder, const msgpack_object *value, const char *key,
                       bool required, lk_labels_t *labels)
{
    size_t mark = s_push(decoder, key);
    if (s_present(decoder, &value, required))
        return -1;
    if (value) {
        if (value->type != MSGPACK_OBJECT_MAP)
            return s_fail(decoder, "not a map");
        uint32_t count = value->via.map.size;
        if (count > LK_MSG_MAX_ITEMS)
            return s_fail(decoder, "more than %d items", LK_MSG_MAX_ITEMS);
        lk_labels_clear(labels);
        if (count == 0) {
            s_pop(decoder, mark);
            return 0;
        }
        /* every pair checked first, then the set made in one allocation (packed) */
        size_t bytes = 0;
        for (uint32_t i = 0; i < count; i++) {
            const msgpack_object *name = &value->via.map.ptr[i].key;
            const msgpack_object *text = &value->via.map.ptr[i].val;
            size_t item_mark = s_push_index(decoder, i);
            if (s_check_str(decoder, name))
                return -1;
            if (name->via.str.size == 0)
                return s_fail(decoder, "empty name");
            s_pop(decoder, item_mark);
            item_mark = s_push_wire_key(decoder, name->via.str.ptr, name->via.str.size);
            if (s_check_str(decoder, text))
                return -1;
            bytes += (size_t)name->via.str.size + text->via.str.size + 2;
            s_pop(decoder, item_mark);
        }
        char *out;
        if (lk_labels_pack_init(labels, count, bytes, &out))
            return s_fail(decoder, "out of memory");
        for (uint32_t i = 0; i < count; i++) {
            const msgpack_object *name = &value->via.map.ptr[i].key;
            const msgpack_object *text = &value->via.map.ptr[i].val;
            labels->items[i].name = out;
            out = s_copy_object(out, name);
            labels->items[i].value = out;
            out = s_copy_object(out, text);
        }
        /* encoders send label sets sorted: sort only when they are not */
        size_t sorted = 1;
        while (sorted < labels->count &&
               strcmp(labels->items[sorted - 1].name, labels->items[sorted].name) < 0)
            sorted++;
        if (sorted < labels->count)
            qsort(labels->items, labels->count, sizeof(lk_label_t), s_compare_labels);
        for (size_t i = 1; i < labels->count; i++) {
            if (strcmp(labels->items[i - 1].name, labels->items[i].name) == 0) {
                s_push_wire_key(decoder, labels->items[i].name, strlen(labels->items[i].name));
                return s_fail(decoder, "duplicate name");
            }
        }
    }
    s_pop(decoder, mark);
    return 0;
}

static int s_get_labels(s_decoder_t *decoder, const msgpack_object *map, const char *key,
                        bool required, lk_labels_t *labels)
{
    return s_labels_at(decoder, s_map_find(map, key), key, required, labels);
}

#define S_REQUIRED    true
#define S_OPTIONAL    false
#define S_ALLOW_EMPTY true
#define S_NONEMPTY    false

/*  Decodes an enum (its value as found, NULL when absent) into a C enum field through an
    int; S_GET_ENUM looks it up in map first. */
#define S_ENUM_AT(decoder, value, key, required, names, field)                                     \
    do {                                                                                           \
        int s_value_ = (int)(field);                                                               \
        if (s_enum_at(decoder, value, key, required, names, S_COUNT(names), &s_value_))            \
            return -1;                                                                             \
        (field) = s_value_;                                                                        \
    } while (0)
#define S_GET_ENUM(decoder, map, key, required, names, field)                                      \
    S_ENUM_AT(decoder, s_map_find(map, key), key, required, names, field)

/*  Fails unless object is a map (every entity and the envelope are maps). */
static int s_expect_map(s_decoder_t *decoder, const msgpack_object *object)
{
    if (object->type != MSGPACK_OBJECT_MAP)
        return s_fail(decoder, "not a map");
    return 0;
}

/*  Optional array of at most max strings into a calloc'd char* array. */
static int s_get_strings(s_decoder_t *decoder, const msgpack_object *map, const char *key,
                         size_t max, char ***items, uint32_t *count)
{
    size_t mark = s_push(decoder, key);
    const msgpack_object *array;
    if (s_get_array(decoder, map, key, S_OPTIONAL, max, &array))
        return -1;
    if (array && array->via.array.size) {
        *items = calloc(array->via.array.size, sizeof(char *));
        if (!*items)
            return s_fail(decoder, "out of memory");
        for (uint32_t i = 0; i < array->via.array.size; i++) {
            size_t item_mark = s_push_index(decoder, i);
            if (s_check_str(decoder, &array->via.array.ptr[i]))
                return -1;
            (*items)[i] = s_strdup_object(&array->via.array.ptr[i]);
            *count = i + 1;
            if (!(*items)[i])
                return s_fail(decoder, "out of memory");
            s_pop(decoder, item_mark);
        }
    }
    s_pop(decoder, mark);
    return 0;
}

/*  Entity decoders: fill a zeroed struct from a map, or fail naming the field. On failure
    the struct may be partly filled; the caller clears it. */

/* An alert's fields, in the order s_pack_alert writes them. */
#define S_ALERT_FIELDS_LIST(X)                                                                     \
    X(S_ALERT_TENANT, "tenant")                                                                    \
    X(S_ALERT_FINGERPRINT, "fingerprint")                                                          \
    X(S_ALERT_INCIDENT_ID, "incident_id")                                                          \
    X(S_ALERT_SOURCE, "source")                                                                    \
    X(S_ALERT_NAME, "name")                                                                        \
    X(S_ALERT_QUERY, "query")                                                                      \
    X(S_ALERT_DEDUP_KEY, "dedup_key")                                                              \
    X(S_ALERT_GENERATOR_URL, "generator_url")                                                      \
    X(S_ALERT_LABELS, "labels")                                                                    \
    X(S_ALERT_ANNOTATIONS, "annotations")                                                          \
    X(S_ALERT_SEVERITY, "severity")                                                                \
    X(S_ALERT_STATUS, "status")                                                                    \
    X(S_ALERT_VALUE, "value")                                                                      \
    X(S_ALERT_THRESHOLD, "threshold")                                                              \
    X(S_ALERT_STARTS_AT, "starts_at")                                                              \
    X(S_ALERT_ENDS_AT, "ends_at")                                                                  \
    X(S_ALERT_UPDATED_AT, "updated_at")                                                            \
    X(S_ALERT_STATE, "state")                                                                      \
    X(S_ALERT_SUPPRESSED_BY, "suppressed_by")
S_FIELD_TABLE(S_ALERT_FIELDS_LIST, S_ALERT_FIELDS, s_alert_fields);

static int s_decode_alert(s_decoder_t *decoder, const msgpack_object *map, void *item)
{
    lk_alert_t *alert = item;
    if (s_expect_map(decoder, map))
        return -1;
    const msgpack_object *at[S_ALERT_FIELDS];
    s_fields(map, s_alert_fields, S_ALERT_FIELDS, at);
    if (/* "" until correlate assigns them; ingest may leave tenant to the envelope */
        s_id_at(decoder, at[S_ALERT_TENANT], "tenant", S_REQUIRED, S_ALLOW_EMPTY, S_UUID,
                alert->tenant_id) ||
        s_id_at(decoder, at[S_ALERT_FINGERPRINT], "fingerprint", S_REQUIRED, S_ALLOW_EMPTY,
                S_FINGERPRINT, alert->fingerprint) ||
        s_id_at(decoder, at[S_ALERT_INCIDENT_ID], "incident_id", S_REQUIRED, S_ALLOW_EMPTY, S_UUID,
                alert->incident_id) ||
        s_str_at(decoder, at[S_ALERT_SOURCE], "source", S_REQUIRED, &alert->source) ||
        s_str_at(decoder, at[S_ALERT_NAME], "name", S_REQUIRED, &alert->name) ||
        s_str_at(decoder, at[S_ALERT_QUERY], "query", S_OPTIONAL, &alert->query) ||
        s_str_at(decoder, at[S_ALERT_DEDUP_KEY], "dedup_key", S_OPTIONAL, &alert->dedup_key) ||
        s_str_at(decoder, at[S_ALERT_GENERATOR_URL], "generator_url", S_OPTIONAL,
                 &alert->generator_url) ||
        s_labels_at(decoder, at[S_ALERT_LABELS], "labels", S_REQUIRED, &alert->labels) ||
        s_labels_at(decoder, at[S_ALERT_ANNOTATIONS], "annotations", S_REQUIRED,
                    &alert->annotations))
        return -1;
    S_ENUM_AT(decoder, at[S_ALERT_SEVERITY], "severity", S_REQUIRED, s_severity_names,
              alert->severity);
    S_ENUM_AT(decoder, at[S_ALERT_STATUS], "status", S_REQUIRED, s_alert_status_names,
              alert->status);
    if (s_double_at(decoder, at[S_ALERT_VALUE], "value", &alert->has_value, &alert->value) ||
        s_double_at(decoder, at[S_ALERT_THRESHOLD], "threshold", &alert->has_threshold,
                    &alert->threshold) ||
        s_int_at(decoder, at[S_ALERT_STARTS_AT], "starts_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                 &alert->starts_at_ms) ||
        s_int_at(decoder, at[S_ALERT_ENDS_AT], "ends_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                 &alert->ends_at_ms) ||
        s_int_at(decoder, at[S_ALERT_UPDATED_AT], "updated_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                 &alert->updated_at_ms))
        return -1;
    S_ENUM_AT(decoder, at[S_ALERT_STATE], "state", S_OPTIONAL, s_alert_state_names, alert->state);
    if (s_str_at(decoder, at[S_ALERT_SUPPRESSED_BY], "suppressed_by", S_OPTIONAL,
                 &alert->suppressed_by))
        return -1;
    return 0;
}

static int s_decode_incident(s_decoder_t *decoder, const msgpack_object *map, void *item)
{
    lk_incident_t *incident = item;
    if (s_expect_map(decoder, map) ||
        s_get_id(decoder, map, "id", S_REQUIRED, S_NONEMPTY, S_UUID, incident->id) ||
        s_get_id(decoder, map, "tenant", S_REQUIRED, S_NONEMPTY, S_UUID, incident->tenant_id) ||
        s_get_str(decoder, map, "group_key", S_REQUIRED, &incident->group_key) ||
        s_get_str(decoder, map, "title", S_REQUIRED, &incident->title) ||
        s_get_str(decoder, map, "summary", S_REQUIRED, &incident->summary) ||
        s_get_str(decoder, map, "acknowledged_by", S_OPTIONAL, &incident->acknowledged_by) ||
        s_get_str(decoder, map, "resolved_by", S_OPTIONAL, &incident->resolved_by) ||
        s_get_labels(decoder, map, "group_labels", S_REQUIRED, &incident->group_labels))
        return -1;
    S_GET_ENUM(decoder, map, "severity", S_REQUIRED, s_severity_names, incident->severity);
    S_GET_ENUM(decoder, map, "status", S_REQUIRED, s_incident_status_names, incident->status);
    if (s_get_u32(decoder, map, "alert_count", S_REQUIRED, &incident->alert_count) ||
        s_get_u32(decoder, map, "firing_count", S_REQUIRED, &incident->firing_count) ||
        s_get_u32(decoder, map, "reopen_count", S_REQUIRED, &incident->reopen_count) ||
        s_get_uint(decoder, map, "version", S_REQUIRED, UINT64_MAX, &incident->version) ||
        s_get_int(decoder, map, "created_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &incident->created_at_ms) ||
        s_get_int(decoder, map, "updated_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &incident->updated_at_ms) ||
        s_get_int(decoder, map, "acknowledged_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &incident->acknowledged_at_ms) ||
        s_get_int(decoder, map, "resolved_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &incident->resolved_at_ms) ||
        s_get_int(decoder, map, "ack_expires_at", S_OPTIONAL, 0, INT64_MAX,
                  &incident->ack_expires_at_ms) ||
        s_get_str(decoder, map, "policy", S_OPTIONAL, &incident->policy) ||
        s_get_strings(decoder, map, "sources", LK_INCIDENT_SOURCES_MAX, &incident->sources,
                      &incident->source_count) ||
        s_get_int(decoder, map, "group_wait_until", S_OPTIONAL, 0, INT64_MAX,
                  &incident->group_wait_until_ms))
        return -1;
    return 0;
}

/* An event's fields, in the order s_pack_event writes them. */
#define S_EVENT_FIELDS_LIST(X)                                                                     \
    X(S_EVENT_SEQUENCE, "sequence")                                                                \
    X(S_EVENT_EVENT_ID, "event_id")                                                                \
    X(S_EVENT_TENANT, "tenant")                                                                    \
    X(S_EVENT_INCIDENT_ID, "incident_id")                                                          \
    X(S_EVENT_TYPE, "type")                                                                        \
    X(S_EVENT_ACTOR, "actor")                                                                      \
    X(S_EVENT_NOTE, "note")                                                                        \
    X(S_EVENT_FINGERPRINTS, "fingerprints")                                                        \
    X(S_EVENT_AT, "at")
S_FIELD_TABLE(S_EVENT_FIELDS_LIST, S_EVENT_FIELDS, s_event_fields);

static int s_decode_event(s_decoder_t *decoder, const msgpack_object *map, void *item)
{
    lk_event_t *event = item;
    if (s_expect_map(decoder, map))
        return -1;
    const msgpack_object *at[S_EVENT_FIELDS];
    s_fields(map, s_event_fields, S_EVENT_FIELDS, at);
    if (s_uint_at(decoder, at[S_EVENT_SEQUENCE], "sequence", S_REQUIRED, UINT64_MAX,
                  &event->sequence) ||
        s_id_at(decoder, at[S_EVENT_EVENT_ID], "event_id", S_REQUIRED, S_NONEMPTY, S_UUID,
                event->event_id) ||
        s_id_at(decoder, at[S_EVENT_TENANT], "tenant", S_REQUIRED, S_NONEMPTY, S_UUID,
                event->tenant_id) ||
        s_id_at(decoder, at[S_EVENT_INCIDENT_ID], "incident_id", S_REQUIRED, S_NONEMPTY, S_UUID,
                event->incident_id) ||
        s_str_at(decoder, at[S_EVENT_TYPE], "type", S_REQUIRED, &event->type) ||
        s_str_at(decoder, at[S_EVENT_ACTOR], "actor", S_REQUIRED, &event->actor) ||
        s_str_at(decoder, at[S_EVENT_NOTE], "note", S_OPTIONAL, &event->note) ||
        s_int_at(decoder, at[S_EVENT_AT], "at", S_REQUIRED, INT64_MIN, INT64_MAX, &event->at_ms))
        return -1;
    const msgpack_object *fingerprints = at[S_EVENT_FINGERPRINTS];
    if (fingerprints) {
        size_t mark = s_push(decoder, "fingerprints");
        if (fingerprints->type != MSGPACK_OBJECT_STR ||
            !lk_fingerprints_count(fingerprints->via.str.ptr, fingerprints->via.str.size))
            return s_fail(decoder, "not a list of fingerprints (16 hex digits each, one space "
                                   "between)");
        s_pop(decoder, mark);
        event->fingerprints = s_strdup_object(fingerprints); /* checked: hex and spaces */
        if (!event->fingerprints)
            return s_fail(decoder, "out of memory");
    }
    return 0;
}

static int s_decode_result(s_decoder_t *decoder, const msgpack_object *map, void *item)
{
    lk_alert_result_t *result = item;
    if (s_expect_map(decoder, map))
        return -1;
    S_GET_ENUM(decoder, map, "outcome", S_REQUIRED, s_outcome_names, result->outcome);
    if (s_get_id(decoder, map, "fingerprint", S_REQUIRED, S_ALLOW_EMPTY, S_FINGERPRINT,
                 result->fingerprint) ||
        s_get_id(decoder, map, "incident_id", S_REQUIRED, S_ALLOW_EMPTY, S_UUID,
                 result->incident_id))
        return -1;
    return 0;
}

static int s_decode_notification(s_decoder_t *decoder, const msgpack_object *map, void *item)
{
    lk_notification_t *notification = item;
    int64_t response_code = 0;
    if (s_expect_map(decoder, map) ||
        s_get_id(decoder, map, "id", S_REQUIRED, S_NONEMPTY, S_UUID, notification->id) ||
        s_get_id(decoder, map, "tenant", S_REQUIRED, S_NONEMPTY, S_UUID, notification->tenant_id) ||
        s_get_id(decoder, map, "incident_id", S_REQUIRED, S_NONEMPTY, S_UUID,
                 notification->incident_id) ||
        s_get_str(decoder, map, "policy", S_REQUIRED, &notification->policy) ||
        s_get_u32(decoder, map, "level", S_REQUIRED, &notification->level) ||
        s_get_str(decoder, map, "channel", S_REQUIRED, &notification->channel) ||
        s_get_str(decoder, map, "target", S_REQUIRED, &notification->target))
        return -1;
    S_GET_ENUM(decoder, map, "kind", S_REQUIRED, s_notify_kind_names, notification->kind);
    if (s_get_u32(decoder, map, "attempt", S_REQUIRED, &notification->attempt))
        return -1;
    S_GET_ENUM(decoder, map, "status", S_REQUIRED, s_notify_status_names, notification->status);
    if (s_get_int(decoder, map, "response_code", S_REQUIRED, 0, 999, &response_code) ||
        s_get_str(decoder, map, "error", S_OPTIONAL, &notification->error) ||
        s_get_str(decoder, map, "idempotency_key", S_REQUIRED, &notification->idempotency_key) ||
        s_get_int(decoder, map, "lease_until", S_REQUIRED, 0, INT64_MAX,
                  &notification->lease_until_ms) ||
        s_get_int(decoder, map, "next_attempt_at", S_REQUIRED, 0, INT64_MAX,
                  &notification->next_attempt_at_ms) ||
        s_get_int(decoder, map, "created_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &notification->created_at_ms) ||
        s_get_int(decoder, map, "updated_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &notification->updated_at_ms))
        return -1;
    notification->response_code = (int32_t)response_code;
    return 0;
}

static int s_decode_escalation(s_decoder_t *decoder, const msgpack_object *map, void *item)
{
    lk_escalation_t *escalation = item;
    if (s_expect_map(decoder, map) ||
        s_get_id(decoder, map, "id", S_REQUIRED, S_NONEMPTY, S_UUID, escalation->id) ||
        s_get_id(decoder, map, "tenant", S_REQUIRED, S_NONEMPTY, S_UUID, escalation->tenant_id) ||
        s_get_id(decoder, map, "incident_id", S_REQUIRED, S_NONEMPTY, S_UUID,
                 escalation->incident_id) ||
        s_get_str(decoder, map, "policy", S_REQUIRED, &escalation->policy) ||
        s_get_u32(decoder, map, "step", S_REQUIRED, &escalation->step) ||
        s_get_u32(decoder, map, "level", S_REQUIRED, &escalation->level) ||
        s_get_u32(decoder, map, "cycle", S_REQUIRED, &escalation->cycle) ||
        s_get_str(decoder, map, "target", S_REQUIRED, &escalation->target) ||
        s_get_str(decoder, map, "status", S_REQUIRED, &escalation->status) ||
        s_get_str(decoder, map, "note", S_OPTIONAL, &escalation->note) ||
        s_get_uint(decoder, map, "event_sequence", S_REQUIRED, UINT64_MAX,
                   &escalation->event_sequence) ||
        s_get_int(decoder, map, "next_at", S_REQUIRED, 0, INT64_MAX, &escalation->next_at_ms) ||
        s_get_int(decoder, map, "created_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &escalation->created_at_ms) ||
        s_get_int(decoder, map, "updated_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &escalation->updated_at_ms))
        return -1;
    return 0;
}

static int s_decode_override(s_decoder_t *decoder, const msgpack_object *map, void *item)
{
    lk_oncall_override_t *override = item;
    if (s_expect_map(decoder, map) ||
        s_get_id(decoder, map, "id", S_REQUIRED, S_NONEMPTY, S_UUID, override->id) ||
        s_get_id(decoder, map, "tenant", S_REQUIRED, S_NONEMPTY, S_UUID, override->tenant_id) ||
        s_get_str(decoder, map, "schedule", S_REQUIRED, &override->schedule) ||
        s_get_str(decoder, map, "user", S_REQUIRED, &override->user) ||
        s_get_str(decoder, map, "created_by", S_REQUIRED, &override->created_by) ||
        s_get_int(decoder, map, "starts_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &override->starts_at_ms) ||
        s_get_int(decoder, map, "ends_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &override->ends_at_ms) ||
        s_get_int(decoder, map, "created_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &override->created_at_ms))
        return -1;
    return 0;
}

typedef int(s_decode_item_fn)(s_decoder_t *decoder, const msgpack_object *object, void *item);

static int s_get_list(s_decoder_t *decoder, const msgpack_object *map, const char *key,
                      bool required, size_t max, size_t item_size, s_decode_item_fn *decode_item,
                      void **items, size_t *count);

static int s_decode_matcher(s_decoder_t *decoder, const msgpack_object *map, void *item)
{
    lk_matcher_t *matcher = item;
    if (s_expect_map(decoder, map) || s_get_str(decoder, map, "name", S_REQUIRED, &matcher->name) ||
        s_get_str(decoder, map, "value", S_REQUIRED, &matcher->value) ||
        s_get_bool(decoder, map, "is_regex", S_REQUIRED, &matcher->is_regex) ||
        s_get_bool(decoder, map, "is_equal", S_REQUIRED, &matcher->is_equal))
        return -1;
    return 0;
}

#define S_SILENCE_MATCHERS_MAX 64

static int s_decode_silence(s_decoder_t *decoder, const msgpack_object *map, void *item)
{
    lk_silence_t *silence = item;
    if (s_expect_map(decoder, map) ||
        s_get_id(decoder, map, "id", S_REQUIRED, S_ALLOW_EMPTY, S_UUID, silence->id) ||
        s_get_id(decoder, map, "tenant", S_REQUIRED, S_ALLOW_EMPTY, S_UUID, silence->tenant_id) ||
        s_get_list(decoder, map, "matchers", S_REQUIRED, S_SILENCE_MATCHERS_MAX,
                   sizeof(lk_matcher_t), s_decode_matcher, (void **)&silence->matchers,
                   &silence->matcher_count) ||
        s_get_int(decoder, map, "starts_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &silence->starts_at_ms) ||
        s_get_int(decoder, map, "ends_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &silence->ends_at_ms) ||
        s_get_str(decoder, map, "created_by", S_REQUIRED, &silence->created_by) ||
        s_get_str(decoder, map, "comment", S_REQUIRED, &silence->comment) ||
        s_get_int(decoder, map, "created_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &silence->created_at_ms) ||
        s_get_int(decoder, map, "updated_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &silence->updated_at_ms))
        return -1;
    return 0;
}

static int s_decode_heartbeat(s_decoder_t *decoder, const msgpack_object *map, void *item)
{
    lk_heartbeat_t *heartbeat = item;
    uint64_t given = 0;
    if (s_expect_map(decoder, map) ||
        s_get_id(decoder, map, "tenant", S_REQUIRED, S_ALLOW_EMPTY, S_UUID, heartbeat->tenant_id) ||
        s_get_str(decoder, map, "name", S_REQUIRED, &heartbeat->name) ||
        s_get_int(decoder, map, "interval", S_REQUIRED, 0, INT64_MAX, &heartbeat->interval_ms) ||
        s_get_int(decoder, map, "grace", S_REQUIRED, 0, INT64_MAX, &heartbeat->grace_ms))
        return -1;
    S_GET_ENUM(decoder, map, "severity", S_REQUIRED, s_severity_names, heartbeat->severity);
    if (s_get_labels(decoder, map, "labels", S_REQUIRED, &heartbeat->labels) ||
        s_get_int(decoder, map, "last_ping_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &heartbeat->last_ping_at_ms) ||
        s_get_bool(decoder, map, "missed", S_REQUIRED, &heartbeat->missed) ||
        s_get_int(decoder, map, "created_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &heartbeat->created_at_ms) ||
        s_get_int(decoder, map, "updated_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &heartbeat->updated_at_ms) ||
        s_get_uint(decoder, map, "given", S_OPTIONAL, UINT32_MAX, &given))
        return -1;
    heartbeat->given = (uint32_t)given;
    return 0;
}

static int s_decode_update(s_decoder_t *decoder, const msgpack_object *map, void *item)
{
    lk_incident_update_t *update = item;
    if (s_expect_map(decoder, map) ||
        s_get_id(decoder, map, "id", S_REQUIRED, S_NONEMPTY, S_UUID, update->id) ||
        s_get_id(decoder, map, "tenant", S_REQUIRED, S_NONEMPTY, S_UUID, update->tenant_id) ||
        s_get_id(decoder, map, "incident_id", S_REQUIRED, S_NONEMPTY, S_UUID,
                 update->incident_id) ||
        s_get_str(decoder, map, "message", S_REQUIRED, &update->message))
        return -1;
    S_GET_ENUM(decoder, map, "visibility", S_REQUIRED, s_visibility_names, update->visibility);
    S_GET_ENUM(decoder, map, "status", S_OPTIONAL, s_stage_names, update->stage);
    if (s_get_str(decoder, map, "title", S_OPTIONAL, &update->title) ||
        s_get_str(decoder, map, "author", S_REQUIRED, &update->author) ||
        s_get_int(decoder, map, "created_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &update->created_at_ms))
        return -1;
    return 0;
}

/*  A token hash field: "" or exactly LK_TOKEN_HASH_LEN lower-case hex digits, into
    out[LK_TOKEN_HASH_LEN + 1]. */
static int s_get_token_hash(s_decoder_t *decoder, const msgpack_object *map, const char *key,
                            bool required, char *out)
{
    size_t mark = s_push(decoder, key);
    const msgpack_object *value;
    out[0] = '\0';
    if (s_lookup(decoder, map, key, required, &value))
        return -1;
    if (value) {
        if (value->type != MSGPACK_OBJECT_STR)
            return s_fail(decoder, "not a string");
        size_t size = value->via.str.size;
        if (size != 0 && size != LK_TOKEN_HASH_LEN)
            return s_fail(decoder, "not a token hash (64 hex digits)");
        for (size_t i = 0; i < size; i++) {
            char c = value->via.str.ptr[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                return s_fail(decoder, "not a token hash (64 hex digits)");
        }
        memcpy(out, value->via.str.ptr, size);
        out[size] = '\0';
    }
    s_pop(decoder, mark);
    return 0;
}

static int s_decode_token(s_decoder_t *decoder, const msgpack_object *map, void *item)
{
    lk_ingest_token_t *token = item;
    if (s_expect_map(decoder, map) ||
        s_get_id(decoder, map, "id", S_REQUIRED, S_NONEMPTY, S_UUID, token->id) ||
        s_get_id(decoder, map, "tenant", S_REQUIRED, S_NONEMPTY, S_UUID, token->tenant_id) ||
        s_get_str(decoder, map, "name", S_REQUIRED, &token->name) ||
        s_get_token_hash(decoder, map, "hash", S_REQUIRED, token->hash) ||
        s_get_str(decoder, map, "hint", S_REQUIRED, &token->hint) ||
        s_get_str(decoder, map, "scopes", S_REQUIRED, &token->scopes) ||
        s_get_str(decoder, map, "created_by", S_REQUIRED, &token->created_by) ||
        s_get_int(decoder, map, "created_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &token->created_at_ms) ||
        s_get_int(decoder, map, "revoked_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &token->revoked_at_ms))
        return -1;
    return 0;
}

/*  A partial alert mutation: every field required, ids well-formed and non-empty. */
static int s_decode_alert_end(s_decoder_t *decoder, const msgpack_object *map, void *item)
{
    lk_alert_end_t *end = item;
    if (s_expect_map(decoder, map) ||
        s_get_id(decoder, map, "tenant", S_REQUIRED, S_NONEMPTY, S_UUID, end->tenant_id) ||
        s_get_id(decoder, map, "incident_id", S_REQUIRED, S_NONEMPTY, S_UUID, end->incident_id) ||
        s_get_id(decoder, map, "fingerprint", S_REQUIRED, S_NONEMPTY, S_FINGERPRINT,
                 end->fingerprint) ||
        s_get_int(decoder, map, "ends_at", S_REQUIRED, INT64_MIN, INT64_MAX, &end->ends_at_ms) ||
        s_get_int(decoder, map, "updated_at", S_REQUIRED, INT64_MIN, INT64_MAX,
                  &end->updated_at_ms))
        return -1;
    return 0;
}

/*  The optional silences[], heartbeats[], updates[], tokens[] and alert_ends[] of any
    message. */
static int s_get_extras(s_decoder_t *decoder, const msgpack_object *map, lk_msg_t *msg)
{
    return s_get_list(decoder, map, "silences", S_OPTIONAL, LK_MSG_MAX_ITEMS, sizeof(lk_silence_t),
                      s_decode_silence, (void **)&msg->silences, &msg->silence_count) ||
           s_get_list(decoder, map, "heartbeats", S_OPTIONAL, LK_MSG_MAX_ITEMS,
                      sizeof(lk_heartbeat_t), s_decode_heartbeat, (void **)&msg->heartbeats,
                      &msg->heartbeat_count) ||
           s_get_list(decoder, map, "updates", S_OPTIONAL, LK_MSG_MAX_ITEMS,
                      sizeof(lk_incident_update_t), s_decode_update, (void **)&msg->updates,
                      &msg->update_count) ||
           s_get_list(decoder, map, "tokens", S_OPTIONAL, LK_MSG_MAX_ITEMS,
                      sizeof(lk_ingest_token_t), s_decode_token, (void **)&msg->tokens,
                      &msg->token_count) ||
           s_get_list(decoder, map, "alert_ends", S_OPTIONAL, LK_MSG_MAX_ITEMS,
                      sizeof(lk_alert_end_t), s_decode_alert_end, (void **)&msg->alert_ends,
                      &msg->alert_end_count);
}

/*  Array field of entities into a calloc'd C array. *count is set before the items are
    decoded, so a failure part-way leaves every slot clearable (zeroed or partly filled). */
static int s_get_list(s_decoder_t *decoder, const msgpack_object *map, const char *key,
                      bool required, size_t max, size_t item_size, s_decode_item_fn *decode_item,
                      void **items, size_t *count)
{
    size_t mark = s_push(decoder, key);
    const msgpack_object *array;
    if (s_get_array(decoder, map, key, required, max, &array))
        return -1;
    if (array && array->via.array.size) {
        /* the capacity s_grow implies, so lk_msg_add_* may append to a decoded message */
        *items = calloc(s_capacity(array->via.array.size), item_size);
        if (!*items)
            return s_fail(decoder, "out of memory");
        *count = array->via.array.size;
        for (uint32_t i = 0; i < array->via.array.size; i++) {
            size_t item_mark = s_push_index(decoder, i);
            if (decode_item(decoder, &array->via.array.ptr[i], (char *)*items + i * item_size))
                return -1;
            s_pop(decoder, item_mark);
        }
    }
    s_pop(decoder, mark);
    return 0;
}

#define S_GET_ALERTS(decoder, map, required, msg)                                                  \
    s_get_list(decoder, map, "alerts", required, LK_MSG_MAX_ITEMS, sizeof(lk_alert_t),             \
               s_decode_alert, (void **)&(msg)->alerts, &(msg)->alert_count)
#define S_GET_INCIDENTS(decoder, map, max, msg)                                                    \
    s_get_list(decoder, map, "incidents", S_REQUIRED, max, sizeof(lk_incident_t),                  \
               s_decode_incident, (void **)&(msg)->incidents, &(msg)->incident_count)
#define S_GET_EVENTS(decoder, map, max, msg)                                                       \
    s_get_list(decoder, map, "events", S_REQUIRED, max, sizeof(lk_event_t), s_decode_event,        \
               (void **)&(msg)->events, &(msg)->event_count)
#define S_GET_NOTIFICATIONS(decoder, map, required, max, msg)                                      \
    s_get_list(decoder, map, "notifications", required, max, sizeof(lk_notification_t),            \
               s_decode_notification, (void **)&(msg)->notifications, &(msg)->notification_count)

/*  The optional notify arrays of mutation_batch and query_reply. */
static int s_get_notify_lists(s_decoder_t *decoder, const msgpack_object *map, lk_msg_t *msg)
{
    return S_GET_NOTIFICATIONS(decoder, map, S_OPTIONAL, LK_MSG_MAX_ITEMS, msg) ||
           s_get_list(decoder, map, "escalations", S_OPTIONAL, LK_MSG_MAX_ITEMS,
                      sizeof(lk_escalation_t), s_decode_escalation, (void **)&msg->escalations,
                      &msg->escalation_count) ||
           s_get_list(decoder, map, "overrides", S_OPTIONAL, LK_MSG_MAX_ITEMS,
                      sizeof(lk_oncall_override_t), s_decode_override, (void **)&msg->overrides,
                      &msg->override_count);
}

/*  The "query" map; absent fields keep the defaults lk_msg_init set. */
static int s_decode_query(s_decoder_t *decoder, const msgpack_object *map, lk_query_t *query)
{
    size_t mark = s_push(decoder, "query");
    const msgpack_object *object;
    if (s_lookup(decoder, map, "query", S_REQUIRED, &object) || s_expect_map(decoder, object))
        return -1;
    S_GET_ENUM(decoder, object, "kind", S_REQUIRED, s_query_kind_names, query->kind);
    int64_t severity_min = query->severity_min;
    uint64_t status_mask = query->status_mask;
    if (s_get_uint(decoder, object, "status_mask", S_OPTIONAL, (1u << (LK_INCIDENT_CLOSED + 1)) - 1,
                   &status_mask) ||
        s_get_int(decoder, object, "severity_min", S_OPTIONAL, -1, LK_SEV_CRITICAL,
                  &severity_min) ||
        s_get_int(decoder, object, "since", S_OPTIONAL, INT64_MIN, INT64_MAX, &query->since_ms) ||
        s_get_int(decoder, object, "until", S_OPTIONAL, INT64_MIN, INT64_MAX, &query->until_ms) ||
        s_get_labels(decoder, object, "labels", S_OPTIONAL, &query->labels) ||
        s_get_u32(decoder, object, "limit", S_OPTIONAL, &query->limit) ||
        s_get_str(decoder, object, "cursor", S_OPTIONAL, &query->cursor) ||
        s_get_id(decoder, object, "incident_id", query->kind == LK_QUERY_GET_INCIDENT,
                 query->kind != LK_QUERY_GET_INCIDENT, S_UUID, query->incident_id) ||
        s_get_u32(decoder, object, "shard_count", S_OPTIONAL, &query->shard_count) ||
        s_get_u32(decoder, object, "shard_index", S_OPTIONAL, &query->shard_index) ||
        s_get_uint(decoder, object, "after_sequence", S_OPTIONAL, UINT64_MAX,
                   &query->after_sequence) ||
        s_get_str(decoder, object, "consumer", query->kind == LK_QUERY_CURSOR_GET,
                  &query->consumer) ||
        s_get_id(decoder, object, "silence_id", query->kind == LK_QUERY_GET_SILENCE,
                 query->kind != LK_QUERY_GET_SILENCE, S_UUID, query->silence_id) ||
        s_get_token_hash(decoder, object, "token_hash",
                         query->kind == LK_QUERY_INGEST_TOKEN_BY_HASH, query->token_hash))
        return -1;
    query->status_mask = (uint32_t)status_mask;
    query->severity_min = (int32_t)severity_min;
    if (query->shard_count > 1 && query->shard_index >= query->shard_count) {
        s_push(decoder, "shard_index");
        return s_fail(decoder, "not below shard_count");
    }
    s_pop(decoder, mark);
    return 0;
}

/*  A reply's status and optional error text. */
static int s_decode_status(s_decoder_t *decoder, const msgpack_object *map, lk_msg_t *msg)
{
    S_GET_ENUM(decoder, map, "status", S_REQUIRED, s_status_names, msg->status);
    return s_get_str(decoder, map, "error", S_OPTIONAL, &msg->error);
}

/*  Requires an array field to have held exactly one item (the event message's shape). */
static int s_expect_one(s_decoder_t *decoder, const char *key, size_t count)
{
    if (count == 1)
        return 0;
    s_push(decoder, key);
    return s_fail(decoder, "must hold exactly one item, has %zu", count);
}

/*  The fields of msg->type, after the envelope. */
static int s_decode_body(s_decoder_t *decoder, const msgpack_object *map, lk_msg_t *msg)
{
    switch (msg->type) {
    case LK_MSG_ALERT_BATCH:
        return S_GET_ALERTS(decoder, map, S_REQUIRED, msg);
    case LK_MSG_ALERT_REPLY:
        return s_decode_status(decoder, map, msg) ||
               s_get_list(decoder, map, "results", S_REQUIRED, LK_MSG_MAX_ITEMS,
                          sizeof(lk_alert_result_t), s_decode_result, (void **)&msg->results,
                          &msg->result_count);
    case LK_MSG_COMMAND:
        S_GET_ENUM(decoder, map, "action", S_REQUIRED, s_action_names, msg->action);
        /* the incident by id, or ("" id) by one of its alerts: one of them must be given */
        if (s_get_id(decoder, map, "incident_id", S_REQUIRED, S_ALLOW_EMPTY, S_UUID,
                     msg->incident_id) ||
            s_get_id(decoder, map, "fingerprint", S_OPTIONAL, S_ALLOW_EMPTY, S_FINGERPRINT,
                     msg->fingerprint))
            return -1;
        if (!msg->incident_id[0] && !msg->fingerprint[0]) {
            s_push(decoder, "incident_id");
            return s_fail(decoder, "empty and no fingerprint given");
        }
        return s_get_str(decoder, map, "actor", S_REQUIRED, &msg->actor) ||
               s_get_str(decoder, map, "note", S_OPTIONAL, &msg->note) ||
               s_get_u32(decoder, map, "ack_timeout_s", S_OPTIONAL, &msg->ack_timeout_s);
    case LK_MSG_COMMAND_REPLY:
        return s_decode_status(decoder, map, msg) ||
               s_get_bool(decoder, map, "changed", S_REQUIRED, &msg->changed) ||
               S_GET_INCIDENTS(decoder, map, 1, msg);
    case LK_MSG_MUTATION_BATCH:
        return S_GET_ALERTS(decoder, map, S_REQUIRED, msg) ||
               S_GET_INCIDENTS(decoder, map, LK_MSG_MAX_ITEMS, msg) ||
               S_GET_EVENTS(decoder, map, LK_MSG_MAX_ITEMS, msg) ||
               s_get_notify_lists(decoder, map, msg);
    case LK_MSG_MUTATION_ACK:
        return s_decode_status(decoder, map, msg);
    case LK_MSG_QUERY:
        return s_decode_query(decoder, map, &msg->query);
    case LK_MSG_QUERY_REPLY:
        return s_decode_status(decoder, map, msg) ||
               S_GET_INCIDENTS(decoder, map, LK_MSG_MAX_ITEMS, msg) ||
               S_GET_ALERTS(decoder, map, S_REQUIRED, msg) ||
               S_GET_EVENTS(decoder, map, LK_MSG_MAX_ITEMS, msg) ||
               s_get_str(decoder, map, "next_cursor", S_OPTIONAL, &msg->next_cursor) ||
               s_get_uint(decoder, map, "sequence", S_OPTIONAL, UINT64_MAX, &msg->sequence) ||
               s_get_uint(decoder, map, "first_sequence", S_OPTIONAL, UINT64_MAX,
                          &msg->first_sequence) ||
               s_get_uint(decoder, map, "last_sequence", S_OPTIONAL, UINT64_MAX,
                          &msg->last_sequence) ||
               s_get_notify_lists(decoder, map, msg);
    case LK_MSG_CURSOR_COMMIT:
        return s_get_str(decoder, map, "consumer", S_REQUIRED, &msg->consumer) ||
               s_get_uint(decoder, map, "sequence", S_REQUIRED, UINT64_MAX, &msg->sequence);
    case LK_MSG_NOTIFY_JOB:
        return S_GET_NOTIFICATIONS(decoder, map, S_REQUIRED, 1, msg) ||
               s_expect_one(decoder, "notifications", msg->notification_count) ||
               S_GET_INCIDENTS(decoder, map, 1, msg) ||
               s_expect_one(decoder, "incidents", msg->incident_count) ||
               s_get_list(decoder, map, "alerts", S_OPTIONAL, LK_NOTIFY_JOB_ALERTS,
                          sizeof(lk_alert_t), s_decode_alert, (void **)&msg->alerts,
                          &msg->alert_count);
    case LK_MSG_NOTIFY_RESULT:
        return S_GET_NOTIFICATIONS(decoder, map, S_REQUIRED, 1, msg) ||
               s_expect_one(decoder, "notifications", msg->notification_count) ||
               s_get_str(decoder, map, "consumer", S_OPTIONAL, &msg->consumer);
    case LK_MSG_EVENT:
        return S_GET_EVENTS(decoder, map, 1, msg) ||
               s_expect_one(decoder, "events", msg->event_count) ||
               S_GET_INCIDENTS(decoder, map, 1, msg) ||
               s_expect_one(decoder, "incidents", msg->incident_count);
    case LK_MSG_SILENCE_COMMAND:
        S_GET_ENUM(decoder, map, "action", S_REQUIRED, s_silence_action_names, msg->silence_action);
        return s_get_str(decoder, map, "actor", S_REQUIRED, &msg->actor) ||
               s_get_extras(decoder, map, msg) ||
               s_expect_one(decoder, "silences", msg->silence_count);
    case LK_MSG_HEARTBEAT_PING:
        return s_get_extras(decoder, map, msg) ||
               s_expect_one(decoder, "heartbeats", msg->heartbeat_count);
    case LK_MSG_CONTROL_REPLY:
        return s_decode_status(decoder, map, msg) ||
               s_get_bool(decoder, map, "changed", S_REQUIRED, &msg->changed);
    default:
        return s_fail(decoder, "unknown type");
    }
}

/*  The envelope, then the type's fields. */
static int s_decode_msg(s_decoder_t *decoder, const msgpack_object *map, lk_msg_t *msg)
{
    if (s_expect_map(decoder, map))
        return -1;
    int type = LK_MSG_INVALID;
    if (s_enum_at(decoder, s_map_find(map, "type"), "type", S_REQUIRED, s_type_names,
                  S_COUNT(s_type_names), &type))
        return -1;
    if (type == LK_MSG_INVALID) {
        s_push(decoder, "type");
        return s_fail(decoder, "unknown name");
    }
    msg->type = (lk_msg_type_t)type;
    decoder->what = s_type_names[type];
    uint64_t version = 0;
    if (s_get_uint(decoder, map, "v", S_REQUIRED, UINT64_MAX, &version))
        return -1;
    if (version != LK_MSG_VERSION) {
        s_push(decoder, "v");
        return s_fail(decoder, "unsupported version %llu (expected %d)",
                      (unsigned long long)version, LK_MSG_VERSION);
    }
    bool tenant_required = type == LK_MSG_ALERT_BATCH || type == LK_MSG_COMMAND ||
                           type == LK_MSG_EVENT || type == LK_MSG_NOTIFY_JOB ||
                           type == LK_MSG_NOTIFY_RESULT || type == LK_MSG_SILENCE_COMMAND ||
                           type == LK_MSG_HEARTBEAT_PING;
    if (s_get_uint(decoder, map, "req", S_REQUIRED, UINT64_MAX, &msg->req) ||
        s_get_id(decoder, map, "tenant", tenant_required, !tenant_required, S_UUID, msg->tenant_id))
        return -1;
    /* the command types read their extras themselves (they require them) */
    bool extras_read = type == LK_MSG_SILENCE_COMMAND || type == LK_MSG_HEARTBEAT_PING;
    return s_decode_body(decoder, map, msg) || (!extras_read && s_get_extras(decoder, map, msg));
}

/*  Checks the buffer holds exactly one well-formed msgpack object and reads it into *tree,
    which the caller destroys (lk_mp_tree_destroy) whatever this returns. */
static int s_unpack(s_decoder_t *decoder, const void *data, size_t size, lk_mp_tree_t *tree)
{
    size_t used = 0;
    lk_mp_result_t result = lk_mp_tree_read(tree, data, size, &used);
    if (result == LK_MP_TOO_DEEP) {
        /* a later truncation or invalid byte is what the structural check reports first */
        size_t span = 0;
        lk_mp_result_t structure = lk_mp_span(data, size, &span);
        if (structure != LK_MP_OK)
            result = structure;
        else if (span != size) { /* and so are trailing bytes */
            result = LK_MP_OK;
            used = span;
        }
    }
    switch (result) {
    case LK_MP_OK:
        if (used != size)
            return s_fail(decoder, "%zu trailing bytes after the message", size - used);
        return 0;
    case LK_MP_TRUNCATED:
        return s_fail(decoder, "truncated msgpack");
    case LK_MP_INVALID:
        return s_fail(decoder, "not msgpack");
    case LK_MP_TOO_DEEP:
    case LK_MP_NOMEM:
        break;
    }
    return s_fail(decoder, "msgpack nested too deep or out of memory");
}

/*  Decodes one message. Returns 0, or -1 with a reason in err and msg cleared. */
int lk_msg_decode(const void *data, size_t size, lk_msg_t *msg, char *err, size_t err_size)
{
    assert(msg && (data || size == 0));
    lk_msg_init(msg, LK_MSG_INVALID);
    if (err && err_size)
        err[0] = '\0';
    s_decoder_t decoder = {.err = err, .err_size = err_size, .what = "msg"};
    lk_mp_tree_t tree;
    int rc = s_unpack(&decoder, data, size, &tree);
    if (rc == 0)
        rc = s_decode_msg(&decoder, &tree.root, msg);
    lk_mp_tree_destroy(&tree);
    if (rc)
        lk_msg_clear(msg);
    return rc ? -1 : 0;
}

/*  Decodes a standalone incident map. Returns 0, or -1 with a reason and incident cleared. */
int lk_incident_decode(const void *data, size_t size, lk_incident_t *incident, char *err,
                       size_t err_size)
{
    assert(incident && (data || size == 0));
    memset(incident, 0, sizeof *incident);
    if (err && err_size)
        err[0] = '\0';
    s_decoder_t decoder = {.err = err, .err_size = err_size, .what = "incident"};
    lk_mp_tree_t tree;
    int rc = s_unpack(&decoder, data, size, &tree);
    if (rc == 0)
        rc = s_decode_incident(&decoder, &tree.root, incident);
    lk_mp_tree_destroy(&tree);
    if (rc)
        lk_incident_clear(incident);
    return rc ? -1 : 0;
}

/* ---- msgpack → JSON (for lookout-tap and logs) ----------------------------------------- */

/*  Standard base64 with padding; malloc'd, or NULL on OOM. */
static char *s_base64(const unsigned char *bytes, size_t size)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((size + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0, i = 0;
    for (; i + 2 < size; i += 3) {
        uint32_t triple = (uint32_t)bytes[i] << 16 | (uint32_t)bytes[i + 1] << 8 | bytes[i + 2];
        out[o++] = alphabet[triple >> 18 & 63];
        out[o++] = alphabet[triple >> 12 & 63];
        out[o++] = alphabet[triple >> 6 & 63];
        out[o++] = alphabet[triple & 63];
    }
    if (i < size) {
        uint32_t triple = (uint32_t)bytes[i] << 16;
        if (i + 1 < size)
            triple |= (uint32_t)bytes[i + 1] << 8;
        out[o++] = alphabet[triple >> 18 & 63];
        out[o++] = alphabet[triple >> 12 & 63];
        out[o++] = i + 1 < size ? alphabet[triple >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

/*  Copy of a raw string in which every byte that is not part of well-formed UTF-8 (and, for
    keys, every NUL) becomes the text \xNN. Returns malloc'd text and its length via
    *out_size, or NULL on OOM. */
static char *s_escape_text(const char *text, size_t size, bool escape_nul, size_t *out_size)
{
    char *out = malloc(size * 4 + 1);
    if (!out)
        return NULL;
    const unsigned char *bytes = (const unsigned char *)text;
    size_t o = 0, pos = 0;
    while (pos < size) {
        size_t length = s_utf8_sequence(bytes + pos, size - pos);
        if (length == 0 || (escape_nul && bytes[pos] == 0)) {
            o += (size_t)sprintf(out + o, "\\x%02x", bytes[pos]);
            pos++;
        } else {
            memcpy(out + o, bytes + pos, length);
            o += length;
            pos += length;
        }
    }
    out[o] = '\0';
    *out_size = o;
    return out;
}

/*  JSON string of raw bytes: as they are when UTF-8, escaped otherwise. */
static json_t *s_json_text(const char *text, size_t size)
{
    if (size == 0)
        return json_string("");
    if (s_utf8_valid(text, size))
        return json_stringn(text, size);
    size_t escaped_size;
    char *escaped = s_escape_text(text, size, false, &escaped_size);
    json_t *json = escaped ? json_stringn(escaped, escaped_size) : NULL;
    free(escaped);
    return json;
}

/*  JSON string holding the base64 of raw bytes. */
static json_t *s_json_base64(const char *bytes, size_t size)
{
    char *encoded = s_base64((const unsigned char *)bytes, size);
    json_t *json = encoded ? json_string(encoded) : NULL;
    free(encoded);
    return json;
}

static json_t *s_object_to_json(const msgpack_object *object);

/*  A map key as a JSON object key: strings as themselves (escaped), anything else as its
    compact JSON text cut to S_JSON_KEY_MAX bytes (+ "..."). The cut matters: a key that is
    a map whose keys are maps... is escaped once more at every level, so uncut text would
    double per level (found by fuzz/fuzz_msg: 2.6 KB of msgpack took seconds and a GB).
    malloc'd, or NULL on OOM. */
#define S_JSON_KEY_MAX 256
static char *s_json_key(const msgpack_object *key)
{
    if (key->type == MSGPACK_OBJECT_STR) {
        size_t size;
        return s_escape_text(key->via.str.ptr, key->via.str.size, true, &size);
    }
    json_t *json = s_object_to_json(key);
    if (!json)
        return NULL;
    char *text = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
    json_decref(json);
    /* ASCII (JSON_ENSURE_ASCII), so any cut is safe; longer than the cut text + "...", so
       the buffer holds it */
    if (text && strlen(text) > S_JSON_KEY_MAX + 3)
        memcpy(text + S_JSON_KEY_MAX, "...", 4);
    return text;
}

/*  Generic msgpack → JSON: bin/ext as base64, u64 past int64 and non-finite floats as text.
    Recursion depth is bounded by msgpack-c's nesting limit (32). NULL on OOM. */
static json_t *s_object_to_json(const msgpack_object *object)
{
    switch (object->type) {
    case MSGPACK_OBJECT_NIL:
        return json_null();
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean(object->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (object->via.u64 <= INT64_MAX)
            return json_integer((json_int_t)object->via.u64);
        else {
            /* beyond json_int_t: kept exact as decimal text */
            char digits[24];
            snprintf(digits, sizeof digits, "%llu", (unsigned long long)object->via.u64);
            return json_string(digits);
        }
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer((json_int_t)object->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (isfinite(object->via.f64))
            return json_real(object->via.f64);
        return json_string(isnan(object->via.f64) ? "NaN"
                           : object->via.f64 > 0  ? "Infinity"
                                                  : "-Infinity");
    case MSGPACK_OBJECT_STR:
        return s_json_text(object->via.str.ptr, object->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return s_json_base64(object->via.bin.ptr, object->via.bin.size);
    case MSGPACK_OBJECT_EXT:
        return json_pack("{s:i,s:o}", "ext_type", (int)object->via.ext.type, "data",
                         s_json_base64(object->via.ext.ptr, object->via.ext.size));
    case MSGPACK_OBJECT_ARRAY: {
        json_t *array = json_array();
        for (uint32_t i = 0; array && i < object->via.array.size; i++) {
            if (json_array_append_new(array, s_object_to_json(&object->via.array.ptr[i]))) {
                json_decref(array);
                array = NULL;
            }
        }
        return array;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *map = json_object();
        for (uint32_t i = 0; map && i < object->via.map.size; i++) {
            char *key = s_json_key(&object->via.map.ptr[i].key);
            json_t *value = s_object_to_json(&object->via.map.ptr[i].val);
            if (!key || !value || json_object_set_new(map, key, value)) {
                if (!key)
                    json_decref(value);
                json_decref(map);
                map = NULL;
            }
            free(key);
        }
        return map;
    }
    default:
        return json_null();
    }
}

/*  Renders one msgpack object as one line of compact JSON. malloc'd, or NULL when the bytes
    are not exactly one msgpack object (or on OOM). */
char *lk_msgpack_to_json(const void *data, size_t size)
{
    if (!data)
        return NULL;
    lk_mp_tree_t tree;
    size_t used = 0;
    char *text = NULL;
    if (lk_mp_tree_read(&tree, data, size, &used) == LK_MP_OK && used == size) {
        json_t *json = s_object_to_json(&tree.root);
        if (json)
            text = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(json);
    }
    lk_mp_tree_destroy(&tree);
    return text;
}

/* ---- sharding -------------------------------------------------------------------------- */

/*  FNV-1a 64 of the tenant id text modulo shard_count; 0 when there is at most one shard. */
uint32_t lk_shard_of(const char *tenant_id, uint32_t shard_count)
{
    if (shard_count <= 1 || !tenant_id)
        return 0;
    return (uint32_t)(lk_fnv1a64(LK_FNV64_OFFSET, tenant_id, strlen(tenant_id)) % shard_count);
}
