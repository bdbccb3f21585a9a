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
int lk_labels_set(lk_labels_t *labels, const char *name, const char *value)
{
    assert(labels && name && value);
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

/*  Deep copy of src into dst. dst's previous contents are overwritten, not freed (clear it
    first if it owns anything). Returns 0, or -1 on OOM with dst empty. */
int lk_labels_copy(lk_labels_t *dst, const lk_labels_t *src)
{
    dst->items = NULL;
    dst->count = 0;
    if (src->count == 0)
        return 0;
    dst->items = calloc(src->count, sizeof(lk_label_t));
    if (!dst->items)
        return -1;
    for (size_t i = 0; i < src->count; i++) {
        dst->items[i].name = strdup(src->items[i].name);
        dst->items[i].value = strdup(src->items[i].value);
        dst->count = i + 1;
        if (!dst->items[i].name || !dst->items[i].value) {
            lk_labels_clear(dst);
            return -1;
        }
    }
    return 0;
}

/*  Frees every pair and leaves an empty set. Accepts an already empty set. */
void lk_labels_clear(lk_labels_t *labels)
{
    if (!labels)
        return;
    for (size_t i = 0; i < labels->count; i++) {
        free(labels->items[i].name);
        free(labels->items[i].value);
    }
    free(labels->items);
    labels->items = NULL;
    labels->count = 0;
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
    ok = lk_labels_copy(&dst->group_labels, &src->group_labels) == 0 && ok;
    if (!ok) {
        lk_incident_clear(dst);
        return -1;
    }
    return 0;
}

/*  Frees everything the event owns and zeroes it. */
void lk_event_clear(lk_event_t *event)
{
    if (!event)
        return;
    free(event->type);
    free(event->actor);
    free(event->note);
    free(event->fingerprint);
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
    ok = s_dup(&dst->fingerprint, src->fingerprint) && ok;
    if (!ok) {
        lk_event_clear(dst);
        return -1;
    }
    return 0;
}
