/*  lk_model — label sets, the severity/status vocabularies, and deep copy/clear of the
    shared domain objects (alert, incident, event).

    Label sets are small (tens of pairs) and read far more often than written, so they are a
    sorted array: lookups binary-search, inserts shift. Keeping them sorted at all times is
    what lets the fingerprint be computed in one pass and equality be a zip.
*/
#include "lk_model.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- labels ---------------------------------------------------------------------------- */

/*  Binary search for name. Returns true and the index when found; otherwise false and the
    index where it would be inserted to keep the set sorted. */
static bool s_labels_find(const lk_labels_t *labels, const char *name, size_t *index)
{
    size_t low = 0;
    size_t high = labels->count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        int cmp = strcmp(labels->items[mid].name, name);
        if (cmp == 0) {
            *index = mid;
            return true;
        }
        if (cmp < 0)
            low = mid + 1;
        else
            high = mid;
    }
    *index = low;
    return false;
}

/*  Sets name=value (both copied), replacing an existing value; the set stays sorted and
    unique. Returns 0, or -1 on OOM with the set unchanged. */
/*  Turns a packed set into one whose items and strings are allocated one by one (what
    lk_labels_set changes). Returns 0, or -1 on OOM with the set unchanged. */
static int s_labels_unpack(lk_labels_t *labels)
{
    if (!labels->packed)
        return 0;
    lk_labels_t loose = {0};
    if (labels->count > 0 && !(loose.items = calloc(labels->count, sizeof(lk_label_t))))
        return -1;
    for (size_t i = 0; i < labels->count; i++) {
        loose.items[i].name = strdup(labels->items[i].name);
        loose.items[i].value = strdup(labels->items[i].value);
        loose.count = i + 1;
        if (!loose.items[i].name || !loose.items[i].value) {
            lk_labels_clear(&loose);
            return -1;
        }
    }
    free(labels->items);
    *labels = loose;
    return 0;
}

int lk_labels_set(lk_labels_t *labels, const char *name, const char *value)
{
    assert(labels && name && value);
    if (s_labels_unpack(labels))
        return -1;
    size_t index;
    char *value_copy = strdup(value);
    if (!value_copy)
        return -1;
    if (s_labels_find(labels, name, &index)) {
        free(labels->items[index].value);
        labels->items[index].value = value_copy;
        return 0;
    }
    char *name_copy = strdup(name);
    /* Grown one slot at a time: the struct has no capacity field and sets stay small. */
    lk_label_t *items =
        name_copy ? realloc(labels->items, (labels->count + 1) * sizeof(lk_label_t)) : NULL;
    if (!items) {
        free(name_copy);
        free(value_copy);
        return -1;
    }
    labels->items = items;
    memmove(&items[index + 1], &items[index], (labels->count - index) * sizeof(lk_label_t));
    items[index].name = name_copy;
    items[index].value = value_copy;
    labels->count++;
    return 0;
}

/*  Returns the value stored for name (owned by the set), or NULL. */
const char *lk_labels_get(const lk_labels_t *labels, const char *name)
{
    size_t index;
    if (!labels || !name || labels->count == 0)
        return NULL;
    return s_labels_find(labels, name, &index) ? labels->items[index].value : NULL;
}

/*  True when both sets hold exactly the same pairs. Both are sorted, so a zip suffices. */
bool lk_labels_equal(const lk_labels_t *a, const lk_labels_t *b)
{
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++) {
        if (strcmp(a->items[i].name, b->items[i].name) != 0 ||
            strcmp(a->items[i].value, b->items[i].value) != 0)
            return false;
    }
    return true;
}

int lk_labels_pack_init(lk_labels_t *labels, size_t count, size_t string_bytes, char **strings)
{
    *labels = (lk_labels_t){0};
    *strings = NULL;
    if (count == 0)
        return 0;
    if (count > (SIZE_MAX - string_bytes) / sizeof(lk_label_t))
        return -1;
    lk_label_t *items = malloc(count * sizeof(lk_label_t) + string_bytes);
    if (!items)
        return -1;
    labels->items = items;
    labels->count = count;
    labels->packed = true;
    *strings = (char *)(items + count);
    return 0;
}

/*  Deep copy of src into dst, packed (one allocation). dst's previous contents are
    overwritten, not freed (clear it first if it owns anything). Returns 0, or -1 on OOM
    with dst empty. */
int lk_labels_copy(lk_labels_t *dst, const lk_labels_t *src)
{
    size_t bytes = 0;
    for (size_t i = 0; i < src->count; i++)
        bytes += strlen(src->items[i].name) + strlen(src->items[i].value) + 2;
    char *out;
    if (lk_labels_pack_init(dst, src->count, bytes, &out))
        return -1;
    for (size_t i = 0; i < src->count; i++) {
        size_t name_size = strlen(src->items[i].name) + 1;
        size_t value_size = strlen(src->items[i].value) + 1;
        dst->items[i].name = memcpy(out, src->items[i].name, name_size);
        out += name_size;
        dst->items[i].value = memcpy(out, src->items[i].value, value_size);
        out += value_size;
    }
    return 0;
}

/*  Frees every pair and leaves an empty set. Accepts an already empty set. */
void lk_labels_clear(lk_labels_t *labels)
{
    if (!labels)
        return;
    if (!labels->packed)
        for (size_t i = 0; i < labels->count; i++) {
            free(labels->items[i].name);
            free(labels->items[i].value);
        }
    free(labels->items);
    *labels = (lk_labels_t){0};
}

/* ---- severity and status --------------------------------------------------------------- */

static const char *s_severity_names[] = {"info", "warning", "error", "critical"};
static const char *s_alert_status_names[] = {"firing", "resolved"};
static const char *s_incident_status_names[] = {"triggered", "acknowledged", "resolved", "closed"};

/*  Index of text in names (case-insensitive), or -1. */
static int s_name_index(const char *text, const char **names, int count)
{
    if (!text)
        return -1;
    for (int i = 0; i < count; i++)
        if (strcasecmp(text, names[i]) == 0)
            return i;
    return -1;
}

/*  Severity from its name or one of the synonyms other tools use (Prometheus rules often say
    "page", PagerDuty-style senders say high/low). */
bool lk_severity_parse(const char *text, lk_severity_t *out)
{
    static const struct {
        const char *name;
        lk_severity_t severity;
    } synonyms[] = {
        {"warn", LK_SEV_WARNING}, {"page", LK_SEV_CRITICAL},  {"high", LK_SEV_CRITICAL},
        {"low", LK_SEV_INFO},     {"medium", LK_SEV_WARNING},
    };
    int index = s_name_index(text, s_severity_names, 4);
    if (index >= 0) {
        *out = (lk_severity_t)index;
        return true;
    }
    if (!text)
        return false;
    for (size_t i = 0; i < sizeof synonyms / sizeof synonyms[0]; i++) {
        if (strcasecmp(text, synonyms[i].name) == 0) {
            *out = synonyms[i].severity;
            return true;
        }
    }
    return false;
}

/*  Canonical lower-case name; "unknown" for a value outside the enum. */
const char *lk_severity_name(lk_severity_t severity)
{
    return (unsigned)severity < 4 ? s_severity_names[severity] : "unknown";
}

/*  firing|resolved, case-insensitive. */
bool lk_alert_status_parse(const char *text, lk_alert_status_t *out)
{
    int index = s_name_index(text, s_alert_status_names, 2);
    if (index < 0)
        return false;
    *out = (lk_alert_status_t)index;
    return true;
}

/*  Canonical name; "unknown" for a value outside the enum. */
const char *lk_alert_status_name(lk_alert_status_t status)
{
    return (unsigned)status < 2 ? s_alert_status_names[status] : "unknown";
}

static const char *s_alert_state_names[] = {"active", "inhibited", "silenced"};

/*  active|inhibited|silenced, case-insensitive. */
bool lk_alert_state_parse(const char *text, lk_alert_state_t *out)
{
    int index = s_name_index(text, s_alert_state_names, 3);
    if (index < 0)
        return false;
    *out = (lk_alert_state_t)index;
    return true;
}

/*  Canonical name; "unknown" for a value outside the enum. */
const char *lk_alert_state_name(lk_alert_state_t state)
{
    return (unsigned)state < 3 ? s_alert_state_names[state] : "unknown";
}

/*  triggered|acknowledged|resolved|closed, case-insensitive. */
bool lk_incident_status_parse(const char *text, lk_incident_status_t *out)
{
    int index = s_name_index(text, s_incident_status_names, 4);
    if (index < 0)
        return false;
    *out = (lk_incident_status_t)index;
    return true;
}

/*  Canonical name; "unknown" for a value outside the enum. */
const char *lk_incident_status_name(lk_incident_status_t status)
{
    return (unsigned)status < 4 ? s_incident_status_names[status] : "unknown";
}

/* ---- deep copies ----------------------------------------------------------------------- */

/*  Copies an optional string: NULL stays NULL. Returns false on OOM. */
static bool s_dup(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return true;
    *dst = strdup(src);
    return *dst != NULL;
}

/*  Frees everything the alert owns and zeroes it. */
void lk_alert_clear(lk_alert_t *alert)
{
    if (!alert)
        return;
    free(alert->source);
    free(alert->name);
    free(alert->query);
    free(alert->dedup_key);
    free(alert->generator_url);
    free(alert->suppressed_by);
    lk_labels_clear(&alert->labels);
    lk_labels_clear(&alert->annotations);
    memset(alert, 0, sizeof *alert);
}

/*  Deep copy; dst's previous contents are overwritten, not freed. Returns 0, or -1 on OOM
    with dst cleared. */
int lk_alert_copy(lk_alert_t *dst, const lk_alert_t *src)
{
    *dst = *src;
    dst->labels = (lk_labels_t){0};
    dst->annotations = (lk_labels_t){0};
    bool ok = s_dup(&dst->source, src->source);
    ok = s_dup(&dst->name, src->name) && ok;
    ok = s_dup(&dst->query, src->query) && ok;
    ok = s_dup(&dst->dedup_key, src->dedup_key) && ok;
    ok = s_dup(&dst->generator_url, src->generator_url) && ok;
    ok = s_dup(&dst->suppressed_by, src->suppressed_by) && ok;
    ok = lk_labels_copy(&dst->labels, &src->labels) == 0 && ok;
    ok = lk_labels_copy(&dst->annotations, &src->annotations) == 0 && ok;
    if (!ok) {
        lk_alert_clear(dst);
        return -1;
    }
    return 0;
}

/*  Frees everything the incident owns and zeroes it. */
void lk_incident_clear(lk_incident_t *incident)
{
    if (!incident)
        return;
    free(incident->group_key);
    free(incident->title);
    free(incident->summary);
    free(incident->acknowledged_by);
    free(incident->resolved_by);
    free(incident->policy);
    for (uint32_t i = 0; i < incident->source_count; i++)
        free(incident->sources[i]);
    free(incident->sources);
    lk_labels_clear(&incident->group_labels);
    memset(incident, 0, sizeof *incident);
}

/*  Deep copy; dst's previous contents are overwritten, not freed. Returns 0, or -1 on OOM
    with dst cleared. */
int lk_incident_copy(lk_incident_t *dst, const lk_incident_t *src)
{
    *dst = *src;
    dst->group_labels = (lk_labels_t){0};
    bool ok = s_dup(&dst->group_key, src->group_key);
    ok = s_dup(&dst->title, src->title) && ok;
    ok = s_dup(&dst->summary, src->summary) && ok;
    ok = s_dup(&dst->acknowledged_by, src->acknowledged_by) && ok;
    ok = s_dup(&dst->resolved_by, src->resolved_by) && ok;
    ok = s_dup(&dst->policy, src->policy) && ok;
    ok = lk_labels_copy(&dst->group_labels, &src->group_labels) == 0 && ok;
    dst->sources = NULL;
    dst->source_count = 0;
    if (ok && src->source_count) {
        dst->sources = calloc(src->source_count, sizeof(char *));
        ok = dst->sources != NULL;
        for (uint32_t i = 0; ok && i < src->source_count; i++) {
            ok = s_dup(&dst->sources[i], src->sources[i]);
            dst->source_count = i + 1;
        }
    }
    if (!ok) {
        lk_incident_clear(dst);
        return -1;
    }
    return 0;
}

/*  Appends a copy of source unless it is listed already or the list is full. */
int lk_incident_add_source(lk_incident_t *incident, const char *source)
{
    if (!source)
        return 0;
    for (uint32_t i = 0; i < incident->source_count; i++)
        if (strcmp(incident->sources[i], source) == 0)
            return 0;
    if (incident->source_count >= LK_INCIDENT_SOURCES_MAX)
        return 0;
    char *copy = strdup(source);
    char **grown =
        copy ? realloc(incident->sources, (incident->source_count + 1) * sizeof(char *)) : NULL;
    if (!grown) {
        free(copy);
        return -1;
    }
    incident->sources = grown;
    incident->sources[incident->source_count++] = copy;
    return 1;
}

/*  Frees everything the event owns and zeroes it. */
void lk_event_clear(lk_event_t *event)
{
    if (!event)
        return;
    free(event->type);
    free(event->actor);
    free(event->note);
    free(event->fingerprints);
    memset(event, 0, sizeof *event);
}

/*  Deep copy; dst's previous contents are overwritten, not freed. Returns 0, or -1 on OOM
    with dst cleared. */
int lk_event_copy(lk_event_t *dst, const lk_event_t *src)
{
    *dst = *src;
    bool ok = s_dup(&dst->type, src->type);
    ok = s_dup(&dst->actor, src->actor) && ok;
    ok = s_dup(&dst->note, src->note) && ok;
    ok = s_dup(&dst->fingerprints, src->fingerprints) && ok;
    if (!ok) {
        lk_event_clear(dst);
        return -1;
    }
    return 0;
}

/* ---- silences and heartbeat monitors --------------------------------------------------- */

/*  Frees count matchers and the array; leaves *matchers NULL and *count 0. */
void lk_matchers_clear(lk_matcher_t **matchers, size_t *count)
{
    for (size_t i = 0; *matchers && i < *count; i++) {
        free((*matchers)[i].name);
        free((*matchers)[i].value);
    }
    free(*matchers);
    *matchers = NULL;
    *count = 0;
}

/*  Deep copy of an array of matchers. Returns 0, or -1 on OOM with *dst NULL. */
int lk_matchers_copy(lk_matcher_t **dst, const lk_matcher_t *src, size_t count)
{
    *dst = NULL;
    if (count == 0)
        return 0;
    lk_matcher_t *copy = calloc(count, sizeof *copy);
    if (!copy)
        return -1;
    for (size_t i = 0; i < count; i++) {
        copy[i] = src[i];
        copy[i].name = NULL;
        copy[i].value = NULL;
        if (!s_dup(&copy[i].name, src[i].name) || !s_dup(&copy[i].value, src[i].value)) {
            size_t made = i + 1;
            lk_matchers_clear(&copy, &made);
            return -1;
        }
    }
    *dst = copy;
    return 0;
}

static const char *s_silence_state_names[] = {"pending", "active", "expired"};

/*  Where now falls relative to the silence's window. */
lk_silence_state_t lk_silence_state(const lk_silence_t *silence, int64_t now_ms)
{
    if (now_ms >= silence->ends_at_ms)
        return LK_SILENCE_EXPIRED;
    if (now_ms < silence->starts_at_ms)
        return LK_SILENCE_PENDING;
    return LK_SILENCE_ACTIVE;
}

const char *lk_silence_state_name(lk_silence_state_t state)
{
    return (unsigned)state < 3 ? s_silence_state_names[state] : "unknown";
}

/*  Frees everything the silence owns and zeroes it. */
void lk_silence_clear(lk_silence_t *silence)
{
    if (!silence)
        return;
    lk_matchers_clear(&silence->matchers, &silence->matcher_count);
    free(silence->created_by);
    free(silence->comment);
    memset(silence, 0, sizeof *silence);
}

/*  Deep copy; dst's previous contents are overwritten, not freed. Returns 0, or -1 on OOM
    with dst cleared. */
int lk_silence_copy(lk_silence_t *dst, const lk_silence_t *src)
{
    *dst = *src;
    dst->matchers = NULL;
    bool ok = lk_matchers_copy(&dst->matchers, src->matchers, src->matcher_count) == 0;
    if (!ok)
        dst->matcher_count = 0;
    ok = s_dup(&dst->created_by, src->created_by) && ok;
    ok = s_dup(&dst->comment, src->comment) && ok;
    if (!ok) {
        lk_silence_clear(dst);
        return -1;
    }
    return 0;
}

/*  Frees everything the monitor owns and zeroes it. */
void lk_heartbeat_clear(lk_heartbeat_t *heartbeat)
{
    if (!heartbeat)
        return;
    free(heartbeat->name);
    lk_labels_clear(&heartbeat->labels);
    memset(heartbeat, 0, sizeof *heartbeat);
}

/*  Deep copy; dst's previous contents are overwritten, not freed. Returns 0, or -1 on OOM
    with dst cleared. */
int lk_heartbeat_copy(lk_heartbeat_t *dst, const lk_heartbeat_t *src)
{
    *dst = *src;
    dst->labels = (lk_labels_t){0};
    bool ok = s_dup(&dst->name, src->name);
    ok = lk_labels_copy(&dst->labels, &src->labels) == 0 && ok;
    if (!ok) {
        lk_heartbeat_clear(dst);
        return -1;
    }
    return 0;
}

/* ---- notifications, escalation steps, on-call overrides -------------------------------- */

static const char *s_notify_kind_names[] = {"trigger", "acknowledge", "resolve"};
static const char *s_notify_status_names[] = {"pending", "sent", "failed", "cancelled", "retry"};

/*  Exact (case-sensitive) wire names; false when unknown. */
bool lk_notify_kind_parse(const char *text, lk_notify_kind_t *out)
{
    for (int index = 0; text && index < 3; index++)
        if (strcmp(text, s_notify_kind_names[index]) == 0) {
            *out = (lk_notify_kind_t)index;
            return true;
        }
    return false;
}

const char *lk_notify_kind_name(lk_notify_kind_t kind)
{
    return (unsigned)kind < 3 ? s_notify_kind_names[kind] : "unknown";
}

bool lk_notify_status_parse(const char *text, lk_notify_status_t *out)
{
    for (int index = 0; text && index < 5; index++)
        if (strcmp(text, s_notify_status_names[index]) == 0) {
            *out = (lk_notify_status_t)index;
            return true;
        }
    return false;
}

const char *lk_notify_status_name(lk_notify_status_t status)
{
    return (unsigned)status < 5 ? s_notify_status_names[status] : "unknown";
}

/*  Frees everything the notification owns and zeroes it. */
void lk_notification_clear(lk_notification_t *notification)
{
    if (!notification)
        return;
    free(notification->policy);
    free(notification->channel);
    free(notification->target);
    free(notification->error);
    free(notification->idempotency_key);
    memset(notification, 0, sizeof *notification);
}

/*  Deep copy; dst's previous contents are overwritten, not freed. Returns 0, or -1 on OOM
    with dst cleared. */
int lk_notification_copy(lk_notification_t *dst, const lk_notification_t *src)
{
    *dst = *src;
    bool ok = s_dup(&dst->policy, src->policy);
    ok = s_dup(&dst->channel, src->channel) && ok;
    ok = s_dup(&dst->target, src->target) && ok;
    ok = s_dup(&dst->error, src->error) && ok;
    ok = s_dup(&dst->idempotency_key, src->idempotency_key) && ok;
    if (!ok) {
        lk_notification_clear(dst);
        return -1;
    }
    return 0;
}

/*  Frees everything the escalation step owns and zeroes it. */
void lk_escalation_clear(lk_escalation_t *escalation)
{
    if (!escalation)
        return;
    free(escalation->policy);
    free(escalation->target);
    free(escalation->status);
    free(escalation->note);
    memset(escalation, 0, sizeof *escalation);
}

/*  Deep copy; same contract as lk_notification_copy. */
int lk_escalation_copy(lk_escalation_t *dst, const lk_escalation_t *src)
{
    *dst = *src;
    bool ok = s_dup(&dst->policy, src->policy);
    ok = s_dup(&dst->target, src->target) && ok;
    ok = s_dup(&dst->status, src->status) && ok;
    ok = s_dup(&dst->note, src->note) && ok;
    if (!ok) {
        lk_escalation_clear(dst);
        return -1;
    }
    return 0;
}

/*  Frees everything the override owns and zeroes it. */
void lk_oncall_override_clear(lk_oncall_override_t *override)
{
    if (!override)
        return;
    free(override->schedule);
    free(override->user);
    free(override->created_by);
    memset(override, 0, sizeof *override);
}

/*  Deep copy; same contract as lk_notification_copy. */
int lk_oncall_override_copy(lk_oncall_override_t *dst, const lk_oncall_override_t *src)
{
    *dst = *src;
    bool ok = s_dup(&dst->schedule, src->schedule);
    ok = s_dup(&dst->user, src->user) && ok;
    ok = s_dup(&dst->created_by, src->created_by) && ok;
    if (!ok) {
        lk_oncall_override_clear(dst);
        return -1;
    }
    return 0;
}

/* ---- incident updates ------------------------------------------------------------------ */

static const char *s_visibility_names[] = {"private", "public"};
/* index = lk_incident_stage_t; LK_STAGE_NONE has no name */
static const char *s_stage_names[] = {NULL, "investigating", "identified", "monitoring",
                                      "resolved"};

bool lk_update_visibility_parse(const char *text, lk_update_visibility_t *out)
{
    int index = s_name_index(text, s_visibility_names, 2);
    if (index < 0)
        return false;
    *out = (lk_update_visibility_t)index;
    return true;
}

const char *lk_update_visibility_name(lk_update_visibility_t visibility)
{
    return visibility == LK_UPDATE_PUBLIC ? "public" : "private";
}

bool lk_incident_stage_parse(const char *text, lk_incident_stage_t *out)
{
    int index = s_name_index(text, s_stage_names + 1, 4);
    if (index < 0)
        return false;
    *out = (lk_incident_stage_t)(index + 1);
    return true;
}

const char *lk_incident_stage_name(lk_incident_stage_t stage)
{
    return stage > LK_STAGE_NONE && stage <= LK_STAGE_RESOLVED ? s_stage_names[stage] : NULL;
}

/*  Frees everything the update owns and zeroes it. */
void lk_incident_update_clear(lk_incident_update_t *update)
{
    if (!update)
        return;
    free(update->message);
    free(update->title);
    free(update->author);
    memset(update, 0, sizeof *update);
}

/*  Deep copy; same contract as lk_notification_copy. */
int lk_incident_update_copy(lk_incident_update_t *dst, const lk_incident_update_t *src)
{
    *dst = *src;
    bool ok = s_dup(&dst->message, src->message);
    ok = s_dup(&dst->title, src->title) && ok;
    ok = s_dup(&dst->author, src->author) && ok;
    if (!ok) {
        lk_incident_update_clear(dst);
        return -1;
    }
    return 0;
}

/* ---- ingest tokens --------------------------------------------------------------------- */

/*  Frees everything the token row owns and zeroes it. */
void lk_ingest_token_clear(lk_ingest_token_t *token)
{
    if (!token)
        return;
    free(token->name);
    free(token->hint);
    free(token->scopes);
    free(token->created_by);
    memset(token, 0, sizeof *token);
}

/*  Deep copy; same contract as lk_notification_copy. */
int lk_ingest_token_copy(lk_ingest_token_t *dst, const lk_ingest_token_t *src)
{
    *dst = *src;
    bool ok = s_dup(&dst->name, src->name);
    ok = s_dup(&dst->hint, src->hint) && ok;
    ok = s_dup(&dst->scopes, src->scopes) && ok;
    ok = s_dup(&dst->created_by, src->created_by) && ok;
    if (!ok) {
        lk_ingest_token_clear(dst);
        return -1;
    }
    return 0;
}
