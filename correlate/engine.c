/*  correlate_engine — dedup, grouping and incident lifecycle in memory (see engine.h).

    Data structures:
      - alerts: an open-addressing table (linear probing, backward-shift deletion) of pointers
        to compact s_alert_t records keyed by (tenant index, 64-bit fingerprint). Tenants are
        interned so an alert stores a 4-byte index instead of a 37-byte id.
      - incidents: zhashx by id; groups: zhashx "tenant<US>group_key" -> the group's current
        incident. At most one non-closed incident per group: a resolved incident whose window
        passed is closed before its group gets a new one.
      - each incident links its alerts in an intrusive doubly-linked list (closing drops them)
        and counts its firing alerts per severity (severity = highest firing one).
      - a binary min-heap of (close deadline, incident id) for resolved incidents; entries
        made stale by a reopen are skipped when popped.
      - the pending mutation_batch: alert rows are copied in when written (their content
        only exists in the request); incidents are listed as dirty and serialised once, when
        the batch is taken, so a storm of alerts joining one incident writes it once.
*/
#include "engine.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "lk_fingerprint.h"
#include "lk_log.h"
#include "lk_uuid.h"

#define S_SEVERITY_COUNT 4
#define S_AUTO_ACTOR     "lookout"
#define S_GROUP_SEP      '\x1f' /* between tenant and group key in the groups map key */
#define S_NO_SLOT        UINT32_MAX

typedef struct s_incident_t s_incident_t;

typedef struct s_alert_t {
    uint64_t fingerprint;
    uint64_t content_hash; /* labels + annotations: what makes a re-send "changed" */
    uint64_t dirty_seq;    /* batch that last wrote this alert's row */
    int64_t starts_at_ms;
    int64_t ends_at_ms;
    int64_t updated_at_ms;
    s_incident_t *incident;
    struct s_alert_t *next; /* in incident->alerts */
    struct s_alert_t *prev;
    uint32_t tenant;
    uint32_t batch_slot; /* index of its row in pending.alerts when dirty_seq == next_seq */
    uint8_t severity;
    uint8_t status;
} s_alert_t;

struct s_incident_t {
    lk_incident_t row;
    uint64_t dirty_seq;
    uint32_t batch_slot; /* index in dirty_incidents when dirty_seq == next_seq */
    uint32_t tenant;
    uint32_t firing_by_severity[S_SEVERITY_COUNT];
    s_alert_t *alerts;
};

typedef struct {
    int64_t deadline_ms;
    char incident_id[LK_UUID_STR_LEN + 1];
} s_close_entry_t;

struct correlate_engine_t {
    char **group_by; /* sorted, unique */
    size_t group_by_count;
    int64_t reopen_window_ms;

    s_alert_t **alert_slots; /* capacity is a power of two */
    size_t alert_capacity;
    size_t alert_count;

    zhashx_t *incidents; /* id -> s_incident_t* */
    zhashx_t *groups;    /* tenant US group_key -> s_incident_t* */
    zhashx_t *tenants;   /* tenant id -> index + 1 */
    char **tenant_names;
    size_t tenant_count;
    size_t tenant_capacity;

    s_close_entry_t *close_heap;
    size_t close_count;
    size_t close_capacity;

    lk_msg_t pending; /* alerts and events of the batch being built */
    s_incident_t **dirty_incidents;
    size_t dirty_count;
    size_t dirty_capacity;
    uint64_t next_seq;

    lk_alert_t *orphans; /* snapshot alerts whose incident was not loaded yet */
    size_t orphan_count;
    size_t orphan_capacity;
};

/* ---- small helpers ----------------------------------------------------------------------- */

/* Out of memory leaves the engine half-updated: crash and let the supervisor rebuild. */
static void s_oom(void)
{
    lk_fatal("correlate: out of memory");
}

/* calloc that never returns NULL. */
static void *s_alloc(size_t size)
{
    void *p = calloc(1, size);
    if (!p)
        s_oom();
    return p;
}

/* strdup that never returns NULL; NULL copies as "". */
static char *s_strdup(const char *text)
{
    char *copy = strdup(text ? text : "");
    if (!copy)
        s_oom();
    return copy;
}

/* Grows *items (of item_size bytes) so index `needed - 1` fits; doubles. */
static void s_reserve(void **items, size_t *capacity, size_t needed, size_t item_size)
{
    if (needed <= *capacity)
        return;
    size_t capacity_new = *capacity ? *capacity * 2 : 16;
    while (capacity_new < needed)
        capacity_new *= 2;
    void *grown = realloc(*items, capacity_new * item_size);
    if (!grown)
        s_oom();
    *items = grown;
    *capacity = capacity_new;
}

typedef struct {
    char *data;
    size_t size;
    size_t capacity;
} s_buf_t;

/* Appends size bytes, keeping the buffer NUL-terminated. */
static void s_buf_append(s_buf_t *buf, const char *data, size_t size)
{
    s_reserve((void **)&buf->data, &buf->capacity, buf->size + size + 1, 1);
    memcpy(buf->data + buf->size, data, size);
    buf->size += size;
    buf->data[buf->size] = '\0';
}

/* Appends a C string. */
static void s_buf_puts(s_buf_t *buf, const char *text)
{
    s_buf_append(buf, text, strlen(text));
}

/* Appends text double-quoted the way Go's strconv.Quote does for ASCII (Alertmanager renders
   group keys with it); bytes >= 0x80 pass through. */
static void s_buf_quote(s_buf_t *buf, const char *text)
{
    s_buf_puts(buf, "\"");
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        char escaped[8];
        switch (*p) {
        case '"':
            s_buf_puts(buf, "\\\"");
            break;
        case '\\':
            s_buf_puts(buf, "\\\\");
            break;
        case '\n':
            s_buf_puts(buf, "\\n");
            break;
        case '\r':
            s_buf_puts(buf, "\\r");
            break;
        case '\t':
            s_buf_puts(buf, "\\t");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                snprintf(escaped, sizeof escaped, "\\x%02x", *p);
                s_buf_puts(buf, escaped);
            } else
                s_buf_append(buf, (const char *)p, 1);
        }
    }
    s_buf_puts(buf, "\"");
}

/* qsort comparator for an array of char*. */
static int s_strcmp_p(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Parses the 16 hex digits of a fingerprint. Returns false when malformed. */
static bool s_fingerprint_parse(const char *text, uint64_t *out)
{
    if (strlen(text) != LK_FINGERPRINT_STR_LEN)
        return false;
    uint64_t value = 0;
    for (size_t i = 0; i < LK_FINGERPRINT_STR_LEN; i++) {
        char c = text[i];
        unsigned digit;
        if (c >= '0' && c <= '9')
            digit = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            digit = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            digit = (unsigned)(c - 'A' + 10);
        else
            return false;
        value = (value << 4) | digit;
    }
    *out = value;
    return true;
}

/* Hash of what makes a re-send significant besides status and severity: labels (they can
   change under a dedup_key identity) and annotations. 64 bits, like the fingerprint. */
static uint64_t s_content_hash(const lk_alert_t *alert)
{
    static const unsigned char pair_end = 0xff, set_end = 0xfe;
    uint64_t hash = LK_FNV64_OFFSET;
    const lk_labels_t *sets[2] = {&alert->labels, &alert->annotations};
    for (int set = 0; set < 2; set++) {
        for (size_t i = 0; i < sets[set]->count; i++) {
            const lk_label_t *label = &sets[set]->items[i];
            hash = lk_fnv1a64(hash, label->name, strlen(label->name));
            hash = lk_fnv1a64(hash, &pair_end, 1);
            hash = lk_fnv1a64(hash, label->value, strlen(label->value));
            hash = lk_fnv1a64(hash, &pair_end, 1);
        }
        hash = lk_fnv1a64(hash, &set_end, 1);
    }
    return hash;
}

/* Bounds a decoded severity to the enum, so it can index the per-severity counters. */
static lk_severity_t s_severity_clamp(int severity)
{
    if (severity < LK_SEV_INFO)
        return LK_SEV_INFO;
    if (severity > LK_SEV_CRITICAL)
        return LK_SEV_CRITICAL;
    return (lk_severity_t)severity;
}

/* ---- tenants ----------------------------------------------------------------------------- */

static uint32_t s_tenant_intern(correlate_engine_t *self, const char *tenant_id)
{
    uintptr_t found = (uintptr_t)zhashx_lookup(self->tenants, tenant_id);
    if (found)
        return (uint32_t)(found - 1);
    s_reserve((void **)&self->tenant_names, &self->tenant_capacity, self->tenant_count + 1,
              sizeof(char *));
    uint32_t index = (uint32_t)self->tenant_count;
    self->tenant_names[self->tenant_count++] = s_strdup(tenant_id);
    if (zhashx_insert(self->tenants, tenant_id, (void *)(uintptr_t)(index + 1)) != 0)
        s_oom();
    return index;
}

/* ---- alert table ------------------------------------------------------------------------- */

static size_t s_alert_hash(uint32_t tenant, uint64_t fingerprint)
{
    /* fingerprints are already FNV hashes; mix in the tenant and finalise (murmur3 fmix64) */
    uint64_t h = fingerprint ^ ((uint64_t)tenant * 0x9e3779b97f4a7c15ULL);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return (size_t)h;
}

/* The alert with this identity, or NULL. */
static s_alert_t *s_alert_find(const correlate_engine_t *self, uint32_t tenant,
                               uint64_t fingerprint)
{
    size_t mask = self->alert_capacity - 1;
    for (size_t i = s_alert_hash(tenant, fingerprint) & mask;; i = (i + 1) & mask) {
        s_alert_t *alert = self->alert_slots[i];
        if (!alert)
            return NULL;
        if (alert->fingerprint == fingerprint && alert->tenant == tenant)
            return alert;
    }
}

/* Puts an alert in the first free slot of its probe chain. */
static void s_alert_slot_put(s_alert_t **slots, size_t capacity, s_alert_t *alert)
{
    size_t mask = capacity - 1;
    size_t i = s_alert_hash(alert->tenant, alert->fingerprint) & mask;
    while (slots[i])
        i = (i + 1) & mask;
    slots[i] = alert;
}

/* Inserts an alert known to be absent; keeps the load factor under 3/4. */
static void s_alert_insert(correlate_engine_t *self, s_alert_t *alert)
{
    if ((self->alert_count + 1) * 4 > self->alert_capacity * 3) {
        size_t capacity_new = self->alert_capacity * 2;
        s_alert_t **slots = calloc(capacity_new, sizeof *slots);
        if (!slots)
            s_oom();
        for (size_t i = 0; i < self->alert_capacity; i++)
            if (self->alert_slots[i])
                s_alert_slot_put(slots, capacity_new, self->alert_slots[i]);
        free(self->alert_slots);
        self->alert_slots = slots;
        self->alert_capacity = capacity_new;
    }
    s_alert_slot_put(self->alert_slots, self->alert_capacity, alert);
    self->alert_count++;
}

/* Removes an alert from the table (backward-shift deletion keeps probe chains intact). */
static void s_alert_remove(correlate_engine_t *self, s_alert_t *alert)
{
    size_t mask = self->alert_capacity - 1;
    size_t hole = s_alert_hash(alert->tenant, alert->fingerprint) & mask;
    while (self->alert_slots[hole] != alert) {
        assert(self->alert_slots[hole]);
        hole = (hole + 1) & mask;
    }
    self->alert_slots[hole] = NULL;
    for (size_t i = (hole + 1) & mask; self->alert_slots[i]; i = (i + 1) & mask) {
        s_alert_t *moved = self->alert_slots[i];
        size_t home = s_alert_hash(moved->tenant, moved->fingerprint) & mask;
        /* moved may fill the hole unless its home lies cyclically in (hole, i] */
        bool home_between = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!home_between) {
            self->alert_slots[hole] = moved;
            self->alert_slots[i] = NULL;
            hole = i;
        }
    }
    self->alert_count--;
}

/* ---- incidents: links and counts --------------------------------------------------------- */

/* Makes the alert a member of the incident (list head insert). */
static void s_link(s_incident_t *incident, s_alert_t *alert)
{
    alert->incident = incident;
    alert->prev = NULL;
    alert->next = incident->alerts;
    if (incident->alerts)
        incident->alerts->prev = alert;
    incident->alerts = alert;
}

/* Removes the alert from its incident's list. */
static void s_unlink(s_alert_t *alert)
{
    s_incident_t *incident = alert->incident;
    if (alert->prev)
        alert->prev->next = alert->next;
    else
        incident->alerts = alert->next;
    if (alert->next)
        alert->next->prev = alert->prev;
    alert->next = alert->prev = NULL;
}

/* Counts one more firing alert of this severity in the incident. */
static void s_firing_add(s_incident_t *incident, lk_severity_t severity)
{
    incident->firing_by_severity[severity]++;
    incident->row.firing_count++;
}

/* Counts one firing alert of this severity less. */
static void s_firing_remove(s_incident_t *incident, lk_severity_t severity)
{
    assert(incident->firing_by_severity[severity] > 0 && incident->row.firing_count > 0);
    incident->firing_by_severity[severity]--;
    incident->row.firing_count--;
}

/* Sets the incident's severity to its highest firing alert's; keeps the last value when
   none fires. Returns true when it changed. */
static bool s_severity_recompute(s_incident_t *incident)
{
    for (int severity = LK_SEV_CRITICAL; severity >= LK_SEV_INFO; severity--) {
        if (incident->firing_by_severity[severity]) {
            bool changed = incident->row.severity != (lk_severity_t)severity;
            incident->row.severity = (lk_severity_t)severity;
            return changed;
        }
    }
    return false;
}

/* The groups map key: tenant, US, group key. Caller frees. */
static char *s_group_map_key(const char *tenant_id, const char *group_key)
{
    size_t tenant_size = strlen(tenant_id), key_size = strlen(group_key);
    char *key = s_alloc(tenant_size + 1 + key_size + 1);
    memcpy(key, tenant_id, tenant_size);
    key[tenant_size] = S_GROUP_SEP;
    memcpy(key + tenant_size + 1, group_key, key_size + 1);
    return key;
}

/* ---- mutations --------------------------------------------------------------------------- */

/* Records a change of the incident: bumps version and updated_at and lists it for the
   pending batch (serialised when the batch is taken). */
static void s_incident_touch(correlate_engine_t *self, s_incident_t *incident, int64_t now_ms)
{
    incident->row.version++;
    incident->row.updated_at_ms = now_ms;
    if (incident->dirty_seq == self->next_seq)
        return;
    s_reserve((void **)&self->dirty_incidents, &self->dirty_capacity, self->dirty_count + 1,
              sizeof(s_incident_t *));
    incident->batch_slot = (uint32_t)self->dirty_count;
    self->dirty_incidents[self->dirty_count++] = incident;
    incident->dirty_seq = self->next_seq;
}

/* Appends an event (fresh UUIDv7 id) to the pending batch; actor NULL = automatic. */
static void s_event(correlate_engine_t *self, const s_incident_t *incident, const char *type,
                    const char *actor, const char *note, const char *fingerprint, int64_t now_ms)
{
    lk_event_t event;
    memset(&event, 0, sizeof event);
    lk_uuid7(event.event_id);
    memcpy(event.tenant_id, incident->row.tenant_id, sizeof event.tenant_id);
    memcpy(event.incident_id, incident->row.id, sizeof event.incident_id);
    event.type = (char *)type;
    event.actor = (char *)(actor ? actor : S_AUTO_ACTOR);
    event.note = (char *)note;
    event.fingerprint = (char *)fingerprint;
    event.at_ms = now_ms;
    if (lk_msg_add_event(&self->pending, &event) != 0)
        s_oom();
}

/* Writes the alert's absolute row: the request's content with correlate's fields (identity,
   incident, status, times). A second write in the same batch to the same row replaces the
   first, so a batch carries each row once. */
static void s_alert_write(correlate_engine_t *self, s_alert_t *alert, const lk_alert_t *incoming,
                          int64_t now_ms)
{
    /* strictly increasing, so store's "updated_at >= stored" rule orders re-sent batches */
    alert->updated_at_ms = now_ms > alert->updated_at_ms ? now_ms : alert->updated_at_ms + 1;

    lk_alert_t row = *incoming; /* shallow: the copy below is deep */
    lk_fingerprint_format(alert->fingerprint, row.fingerprint);
    memcpy(row.tenant_id, alert->incident->row.tenant_id, sizeof row.tenant_id);
    memcpy(row.incident_id, alert->incident->row.id, sizeof row.incident_id);
    row.severity = (lk_severity_t)alert->severity;
    row.status = (lk_alert_status_t)alert->status;
    row.starts_at_ms = alert->starts_at_ms;
    row.ends_at_ms = alert->ends_at_ms;
    row.updated_at_ms = alert->updated_at_ms;

    if (alert->dirty_seq == self->next_seq && alert->batch_slot < self->pending.alert_count &&
        strcmp(self->pending.alerts[alert->batch_slot].incident_id, row.incident_id) == 0) {
        lk_alert_t *slot = &self->pending.alerts[alert->batch_slot];
        lk_alert_clear(slot);
        if (lk_alert_copy(slot, &row) != 0)
            s_oom();
        return;
    }
    alert->batch_slot = (uint32_t)self->pending.alert_count;
    if (lk_msg_add_alert(&self->pending, &row) != 0)
        s_oom();
    alert->dirty_seq = self->next_seq;
}

/* Schedules the close of a just-resolved incident at resolved_at + window. */
static void s_close_push(correlate_engine_t *self, const s_incident_t *incident)
{
    s_reserve((void **)&self->close_heap, &self->close_capacity, self->close_count + 1,
              sizeof(s_close_entry_t));
    s_close_entry_t entry;
    entry.deadline_ms = incident->row.resolved_at_ms + self->reopen_window_ms;
    memcpy(entry.incident_id, incident->row.id, sizeof entry.incident_id);
    size_t i = self->close_count++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (self->close_heap[parent].deadline_ms <= entry.deadline_ms)
            break;
        self->close_heap[i] = self->close_heap[parent];
        i = parent;
    }
    self->close_heap[i] = entry;
}

/* Removes the earliest close entry. */
static void s_close_pop(correlate_engine_t *self)
{
    assert(self->close_count > 0);
    s_close_entry_t last = self->close_heap[--self->close_count];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= self->close_count)
            break;
        if (child + 1 < self->close_count &&
            self->close_heap[child + 1].deadline_ms < self->close_heap[child].deadline_ms)
            child++;
        if (last.deadline_ms <= self->close_heap[child].deadline_ms)
            break;
        self->close_heap[i] = self->close_heap[child];
        i = child;
    }
    if (self->close_count > 0)
        self->close_heap[i] = last;
}

/* True while a resolved incident may still reopen. */
static bool s_within_window(const correlate_engine_t *self, const s_incident_t *incident,
                            int64_t now_ms)
{
    return now_ms - incident->row.resolved_at_ms < self->reopen_window_ms;
}

/* Frees the incident record (not its alerts). */
static void s_incident_free(s_incident_t *incident)
{
    lk_incident_clear(&incident->row);
    free(incident);
}

/* Drops an incident from the maps and frees it and its alerts. Its rows must already be in
   the pending batch (or committed). */
static void s_incident_drop(correlate_engine_t *self, s_incident_t *incident)
{
    char *group_key = s_group_map_key(incident->row.tenant_id, incident->row.group_key);
    if (zhashx_lookup(self->groups, group_key) == incident)
        zhashx_delete(self->groups, group_key);
    free(group_key);
    zhashx_delete(self->incidents, incident->row.id);
    if (incident->dirty_seq == self->next_seq)
        self->dirty_incidents[incident->batch_slot] = NULL;
    s_alert_t *alert = incident->alerts;
    while (alert) {
        s_alert_t *next = alert->next;
        s_alert_remove(self, alert);
        free(alert);
        alert = next;
    }
    s_incident_free(incident);
}

/* resolved -> closed: writes the closed row and its event, then forgets the incident. */
static void s_incident_close(correlate_engine_t *self, s_incident_t *incident, int64_t now_ms)
{
    incident->row.status = LK_INCIDENT_CLOSED;
    incident->row.version++;
    incident->row.updated_at_ms = now_ms;
    if (lk_msg_add_incident(&self->pending, &incident->row) != 0)
        s_oom();
    s_event(self, incident, "incident_closed", NULL, NULL, NULL, now_ms);
    s_incident_drop(self, incident);
}

/* resolved -> triggered within the window (a flap). The caller touches the incident. */
static void s_incident_reopen(correlate_engine_t *self, s_incident_t *incident, int64_t now_ms)
{
    incident->row.status = LK_INCIDENT_TRIGGERED;
    incident->row.reopen_count++;
    incident->row.resolved_at_ms = 0;
    free(incident->row.resolved_by);
    incident->row.resolved_by = NULL;
    /* a new episode needs a new acknowledgement */
    incident->row.acknowledged_at_ms = 0;
    free(incident->row.acknowledged_by);
    incident->row.acknowledged_by = NULL;
    s_event(self, incident, "incident_reopened", NULL, NULL, NULL, now_ms);
}

/* triggered|acknowledged -> resolved. actor NULL = automatic (every alert resolved). The
   caller touches the incident. */
static void s_incident_resolve(correlate_engine_t *self, s_incident_t *incident, const char *actor,
                               const char *note, int64_t now_ms)
{
    incident->row.status = LK_INCIDENT_RESOLVED;
    incident->row.resolved_at_ms = now_ms;
    free(incident->row.resolved_by);
    incident->row.resolved_by = actor ? s_strdup(actor) : NULL;
    s_event(self, incident, "incident_resolved", actor, note, NULL, now_ms);
    s_close_push(self, incident);
}

/* Title: the alert name plus the other group labels' values, e.g. "HighCPU (job=node)". */
static char *s_title(const correlate_engine_t *self, const lk_alert_t *alert)
{
    s_buf_t buf = {0};
    const char *name = lk_labels_get(&alert->labels, "alertname");
    if (!name || !*name)
        name = alert->name && *alert->name ? alert->name : "alert";
    s_buf_puts(&buf, name);
    size_t extras = 0;
    for (size_t i = 0; i < self->group_by_count; i++) {
        if (strcmp(self->group_by[i], "alertname") == 0)
            continue;
        const char *value = lk_labels_get(&alert->labels, self->group_by[i]);
        if (!value || !*value)
            continue;
        s_buf_puts(&buf, extras++ ? ", " : " (");
        s_buf_puts(&buf, self->group_by[i]);
        s_buf_puts(&buf, "=");
        s_buf_puts(&buf, value);
    }
    if (extras)
        s_buf_puts(&buf, ")");
    return buf.data;
}

/* Creates the group's new incident (triggered) and makes it the group's current one. */
static s_incident_t *s_incident_create(correlate_engine_t *self, uint32_t tenant,
                                       const lk_alert_t *alert, char *group_key, int64_t now_ms)
{
    s_incident_t *incident = s_alloc(sizeof *incident);
    lk_incident_t *row = &incident->row;
    lk_uuid7(row->id);
    memcpy(row->tenant_id, alert->tenant_id, sizeof row->tenant_id);
    row->group_key = group_key;
    row->title = s_title(self, alert);
    const char *summary = lk_labels_get(&alert->annotations, "summary");
    row->summary = s_strdup(summary && *summary ? summary : row->title);
    for (size_t i = 0; i < self->group_by_count; i++) {
        const char *value = lk_labels_get(&alert->labels, self->group_by[i]);
        if (value && lk_labels_set(&row->group_labels, self->group_by[i], value) != 0)
            s_oom();
    }
    row->severity = alert->severity;
    row->status = LK_INCIDENT_TRIGGERED;
    row->created_at_ms = now_ms;
    row->updated_at_ms = now_ms;
    incident->tenant = tenant;
    incident->batch_slot = S_NO_SLOT;

    if (zhashx_insert(self->incidents, row->id, incident) != 0)
        s_oom();
    char *map_key = s_group_map_key(row->tenant_id, row->group_key);
    zhashx_update(self->groups, map_key, incident);
    free(map_key);
    s_event(self, incident, "incident_triggered", NULL, NULL, NULL, now_ms);
    return incident;
}

/* ---- public: construction ---------------------------------------------------------------- */

correlate_engine_t *correlate_engine_new(const char *group_by, int64_t reopen_window_ms)
{
    correlate_engine_t *self = s_alloc(sizeof *self);
    self->reopen_window_ms = reopen_window_ms;
    self->alert_capacity = 1024;
    self->alert_slots = s_alloc(self->alert_capacity * sizeof(s_alert_t *));
    self->incidents = zhashx_new();
    self->groups = zhashx_new();
    self->tenants = zhashx_new();
    if (!self->incidents || !self->groups || !self->tenants)
        s_oom();
    lk_msg_init(&self->pending, LK_MSG_MUTATION_BATCH);
    self->next_seq = 1;

    /* group_by: split on commas, trim blanks, drop empties and duplicates, sort */
    const char *cursor = group_by ? group_by : "";
    size_t capacity = 0;
    while (*cursor) {
        const char *end = strchr(cursor, ',');
        if (!end)
            end = cursor + strlen(cursor);
        const char *start = cursor;
        const char *stop = end;
        while (start < stop && (*start == ' ' || *start == '\t'))
            start++;
        while (stop > start && (stop[-1] == ' ' || stop[-1] == '\t'))
            stop--;
        if (stop > start) {
            char *name = strndup(start, (size_t)(stop - start));
            if (!name)
                s_oom();
            bool duplicate = false;
            for (size_t i = 0; i < self->group_by_count; i++)
                duplicate |= strcmp(self->group_by[i], name) == 0;
            if (duplicate)
                free(name);
            else {
                s_reserve((void **)&self->group_by, &capacity, self->group_by_count + 1,
                          sizeof(char *));
                self->group_by[self->group_by_count++] = name;
            }
        }
        cursor = *end ? end + 1 : end;
    }
    if (self->group_by_count)
        qsort(self->group_by, self->group_by_count, sizeof(char *), s_strcmp_p);
    return self;
}

void correlate_engine_destroy(correlate_engine_t **self_p)
{
    assert(self_p);
    correlate_engine_t *self = *self_p;
    if (!self)
        return;
    for (s_incident_t *incident = zhashx_first(self->incidents); incident;
         incident = zhashx_next(self->incidents))
        s_incident_free(incident);
    for (size_t i = 0; i < self->alert_capacity; i++)
        free(self->alert_slots[i]);
    free(self->alert_slots);
    zhashx_destroy(&self->incidents);
    zhashx_destroy(&self->groups);
    zhashx_destroy(&self->tenants);
    for (size_t i = 0; i < self->tenant_count; i++)
        free(self->tenant_names[i]);
    free(self->tenant_names);
    for (size_t i = 0; i < self->group_by_count; i++)
        free(self->group_by[i]);
    free(self->group_by);
    free(self->close_heap);
    lk_msg_clear(&self->pending);
    free(self->dirty_incidents);
    for (size_t i = 0; i < self->orphan_count; i++)
        lk_alert_clear(&self->orphans[i]);
    free(self->orphans);
    free(self);
    *self_p = NULL;
}

char *correlate_engine_group_key(const correlate_engine_t *self, const lk_labels_t *labels)
{
    s_buf_t buf = {0};
    s_buf_puts(&buf, "{}:{");
    for (size_t i = 0; i < self->group_by_count; i++) {
        if (i)
            s_buf_puts(&buf, ", ");
        s_buf_puts(&buf, self->group_by[i]);
        s_buf_puts(&buf, "=");
        const char *value = lk_labels_get(labels, self->group_by[i]);
        s_buf_quote(&buf, value ? value : "");
    }
    s_buf_puts(&buf, "}");
    return buf.data;
}

/* ---- public: alerts ---------------------------------------------------------------------- */

/* A firing alert never seen (or forgotten with its closed incident): attach it to its
   group's incident, reopening or replacing a resolved one as the window says. */
static uint64_t s_alert_new(correlate_engine_t *self, uint32_t tenant, uint64_t fingerprint,
                            uint64_t content_hash, const lk_alert_t *alert, int64_t now_ms,
                            lk_alert_result_t *result)
{
    char *group_key = correlate_engine_group_key(self, &alert->labels);
    char *map_key = s_group_map_key(alert->tenant_id, group_key);
    s_incident_t *incident = zhashx_lookup(self->groups, map_key);
    free(map_key);

    if (incident && incident->row.status == LK_INCIDENT_RESOLVED) {
        if (s_within_window(self, incident, now_ms))
            s_incident_reopen(self, incident, now_ms);
        else {
            s_incident_close(self, incident, now_ms);
            incident = NULL;
        }
    }
    if (incident)
        free(group_key);
    else
        incident = s_incident_create(self, tenant, alert, group_key, now_ms);

    s_alert_t *entry = s_alloc(sizeof *entry);
    entry->fingerprint = fingerprint;
    entry->content_hash = content_hash;
    entry->tenant = tenant;
    entry->severity = (uint8_t)s_severity_clamp(alert->severity);
    entry->status = LK_ALERT_FIRING;
    entry->starts_at_ms = alert->starts_at_ms ? alert->starts_at_ms : now_ms;
    entry->batch_slot = S_NO_SLOT;
    s_link(incident, entry);
    s_alert_insert(self, entry);

    incident->row.alert_count++;
    s_firing_add(incident, (lk_severity_t)entry->severity);
    s_severity_recompute(incident);
    s_alert_write(self, entry, alert, now_ms);
    s_event(self, incident, "alert_added", NULL, NULL, alert->fingerprint, now_ms);
    s_incident_touch(self, incident, now_ms);

    result->outcome = LK_OUTCOME_NEW;
    memcpy(result->incident_id, incident->row.id, sizeof result->incident_id);
    return self->next_seq;
}

uint64_t correlate_engine_alert(correlate_engine_t *self, const char *tenant_id, lk_alert_t *alert,
                                int64_t now_ms, lk_alert_result_t *result)
{
    memset(result, 0, sizeof *result);
    snprintf(alert->tenant_id, sizeof alert->tenant_id, "%s", tenant_id);
    lk_fingerprint_alert(alert);
    memcpy(result->fingerprint, alert->fingerprint, sizeof result->fingerprint);
    uint64_t fingerprint = 0;
    bool parsed = s_fingerprint_parse(alert->fingerprint, &fingerprint);
    assert(parsed); /* lk_fingerprint_alert always renders 16 hex digits */
    (void)parsed;

    uint32_t tenant = s_tenant_intern(self, tenant_id);
    uint64_t content_hash = s_content_hash(alert);
    lk_severity_t severity = s_severity_clamp(alert->severity);
    s_alert_t *entry = s_alert_find(self, tenant, fingerprint);

    /* a re-fire into an incident whose window passed (not yet closed by the tick): close it
       now, and the alert starts over in a new incident like any unknown alert */
    if (entry && entry->status == LK_ALERT_RESOLVED && alert->status == LK_ALERT_FIRING &&
        entry->incident->row.status == LK_INCIDENT_RESOLVED &&
        !s_within_window(self, entry->incident, now_ms)) {
        s_incident_close(self, entry->incident, now_ms);
        entry = NULL;
    }

    if (!entry) {
        if (alert->status != LK_ALERT_FIRING) {
            result->outcome = LK_OUTCOME_IGNORED;
            return 0;
        }
        return s_alert_new(self, tenant, fingerprint, content_hash, alert, now_ms, result);
    }

    s_incident_t *incident = entry->incident;
    memcpy(result->incident_id, incident->row.id, sizeof result->incident_id);
    bool same_content = entry->severity == severity && entry->content_hash == content_hash;

    if (alert->status == LK_ALERT_FIRING && entry->status == LK_ALERT_FIRING) {
        if (same_content) {
            result->outcome = LK_OUTCOME_UNCHANGED;
            return entry->dirty_seq;
        }
        s_firing_remove(incident, (lk_severity_t)entry->severity);
        s_firing_add(incident, severity);
        entry->severity = (uint8_t)severity;
        entry->content_hash = content_hash;
        s_alert_write(self, entry, alert, now_ms);
        if (s_severity_recompute(incident))
            s_incident_touch(self, incident, now_ms);
    } else if (alert->status == LK_ALERT_FIRING) {
        /* re-fire: its incident is open, or resolved within the window (handled above) */
        entry->status = LK_ALERT_FIRING;
        entry->severity = (uint8_t)severity;
        entry->content_hash = content_hash;
        entry->starts_at_ms = alert->starts_at_ms ? alert->starts_at_ms : now_ms;
        entry->ends_at_ms = 0;
        s_firing_add(incident, severity);
        s_severity_recompute(incident);
        if (incident->row.status == LK_INCIDENT_RESOLVED)
            s_incident_reopen(self, incident, now_ms);
        s_alert_write(self, entry, alert, now_ms);
        s_event(self, incident, "alert_refired", NULL, NULL, alert->fingerprint, now_ms);
        s_incident_touch(self, incident, now_ms);
    } else if (entry->status == LK_ALERT_FIRING) {
        s_firing_remove(incident, (lk_severity_t)entry->severity);
        entry->status = LK_ALERT_RESOLVED;
        entry->severity = (uint8_t)severity;
        entry->content_hash = content_hash;
        entry->ends_at_ms = alert->ends_at_ms ? alert->ends_at_ms : now_ms;
        s_severity_recompute(incident);
        s_alert_write(self, entry, alert, now_ms);
        s_event(self, incident, "alert_resolved", NULL, NULL, alert->fingerprint, now_ms);
        if (incident->row.firing_count == 0 && (incident->row.status == LK_INCIDENT_TRIGGERED ||
                                                incident->row.status == LK_INCIDENT_ACKNOWLEDGED))
            s_incident_resolve(self, incident, NULL, NULL, now_ms);
        s_incident_touch(self, incident, now_ms);
    } else {
        /* resolved again: only a new end time or new content is worth a write */
        bool new_end = alert->ends_at_ms && alert->ends_at_ms != entry->ends_at_ms;
        if (same_content && !new_end) {
            result->outcome = LK_OUTCOME_UNCHANGED;
            return entry->dirty_seq;
        }
        entry->severity = (uint8_t)severity;
        entry->content_hash = content_hash;
        if (new_end)
            entry->ends_at_ms = alert->ends_at_ms;
        s_alert_write(self, entry, alert, now_ms);
    }
    result->outcome = LK_OUTCOME_CHANGED;
    return self->next_seq;
}

uint64_t correlate_engine_alert_batch(correlate_engine_t *self, lk_msg_t *request, lk_msg_t *reply,
                                      int64_t now_ms)
{
    lk_msg_init(reply, LK_MSG_ALERT_REPLY);
    reply->req = request->req;
    memcpy(reply->tenant_id, request->tenant_id, sizeof reply->tenant_id);
    reply->status = LK_STATUS_OK;
    uint64_t due_seq = 0;
    for (size_t i = 0; i < request->alert_count; i++) {
        lk_alert_result_t result;
        uint64_t seq =
            correlate_engine_alert(self, request->tenant_id, &request->alerts[i], now_ms, &result);
        if (seq > due_seq)
            due_seq = seq;
        if (lk_msg_add_result(reply, &result) != 0)
            s_oom();
    }
    return due_seq;
}

/* ---- public: commands -------------------------------------------------------------------- */

static void s_reply_error(lk_msg_t *reply, lk_status_t status, const char *error)
{
    reply->status = status;
    free(reply->error);
    reply->error = s_strdup(error);
}

uint64_t correlate_engine_command(correlate_engine_t *self, const lk_msg_t *request,
                                  lk_msg_t *reply, int64_t now_ms)
{
    lk_msg_init(reply, LK_MSG_COMMAND_REPLY);
    reply->req = request->req;
    memcpy(reply->tenant_id, request->tenant_id, sizeof reply->tenant_id);
    reply->status = LK_STATUS_OK;

    s_incident_t *incident = zhashx_lookup(self->incidents, request->incident_id);
    if (!incident || strcmp(incident->row.tenant_id, request->tenant_id) != 0) {
        s_reply_error(reply, LK_STATUS_NOT_FOUND, "incident not found");
        return 0;
    }
    const char *actor = request->actor && *request->actor ? request->actor : "unknown";
    lk_incident_status_t status = incident->row.status;
    if (request->action == LK_ACTION_ACKNOWLEDGE) {
        if (status == LK_INCIDENT_TRIGGERED) {
            incident->row.status = LK_INCIDENT_ACKNOWLEDGED;
            incident->row.acknowledged_at_ms = now_ms;
            free(incident->row.acknowledged_by);
            incident->row.acknowledged_by = s_strdup(actor);
            s_event(self, incident, "incident_acknowledged", actor, request->note, NULL, now_ms);
            s_incident_touch(self, incident, now_ms);
            reply->changed = true;
        } else if (status != LK_INCIDENT_ACKNOWLEDGED)
            s_reply_error(reply, LK_STATUS_CONFLICT, "incident is resolved");
    } else if (request->action == LK_ACTION_RESOLVE) {
        if (status == LK_INCIDENT_TRIGGERED || status == LK_INCIDENT_ACKNOWLEDGED) {
            s_incident_resolve(self, incident, actor, request->note, now_ms);
            s_incident_touch(self, incident, now_ms);
            reply->changed = true;
        }
    } else {
        s_reply_error(reply, LK_STATUS_INVALID, "unknown command action");
        return 0;
    }
    if (lk_msg_add_incident(reply, &incident->row) != 0)
        s_oom();
    return incident->dirty_seq;
}

/* ---- public: housekeeping and batches ---------------------------------------------------- */

size_t correlate_engine_tick(correlate_engine_t *self, int64_t now_ms)
{
    size_t closed = 0;
    while (self->close_count > 0 && self->close_heap[0].deadline_ms <= now_ms) {
        s_incident_t *incident = zhashx_lookup(self->incidents, self->close_heap[0].incident_id);
        s_close_pop(self);
        /* stale entries: the incident was reopened (and maybe resolved again later) */
        if (incident && incident->row.status == LK_INCIDENT_RESOLVED &&
            !s_within_window(self, incident, now_ms)) {
            s_incident_close(self, incident, now_ms);
            closed++;
        }
    }
    return closed;
}

uint64_t correlate_engine_next_seq(const correlate_engine_t *self)
{
    return self->next_seq;
}

void correlate_engine_set_next_seq(correlate_engine_t *self, uint64_t seq)
{
    assert(seq > 0);
    assert(correlate_engine_pending_items(self) == 0);
    self->next_seq = seq;
}

size_t correlate_engine_pending_items(const correlate_engine_t *self)
{
    return self->pending.alert_count + self->pending.incident_count + self->pending.event_count +
           self->dirty_count;
}

bool correlate_engine_take_batch(correlate_engine_t *self, lk_msg_t *batch)
{
    lk_msg_init(batch, LK_MSG_MUTATION_BATCH);
    if (correlate_engine_pending_items(self) == 0)
        return false;
    for (size_t i = 0; i < self->dirty_count; i++)
        if (self->dirty_incidents[i] &&
            lk_msg_add_incident(&self->pending, &self->dirty_incidents[i]->row) != 0)
            s_oom();
    self->dirty_count = 0;
    self->pending.req = self->next_seq;
    *batch = self->pending; /* moves the arrays */
    lk_msg_init(&self->pending, LK_MSG_MUTATION_BATCH);
    self->next_seq++;
    return true;
}

/* ---- public: snapshot load --------------------------------------------------------------- */

static void s_load_incident(correlate_engine_t *self, const lk_incident_t *row)
{
    if (row->status == LK_INCIDENT_CLOSED || !row->group_key ||
        zhashx_lookup(self->incidents, row->id))
        return;
    s_incident_t *incident = s_alloc(sizeof *incident);
    if (lk_incident_copy(&incident->row, row) != 0)
        s_oom();
    incident->row.firing_count = 0; /* recounted from the alerts as they load */
    incident->tenant = s_tenant_intern(self, row->tenant_id);
    incident->batch_slot = S_NO_SLOT;
    if (zhashx_insert(self->incidents, incident->row.id, incident) != 0)
        s_oom();
    char *map_key = s_group_map_key(row->tenant_id, row->group_key);
    s_incident_t *current = zhashx_lookup(self->groups, map_key);
    if (!current || current->row.created_at_ms <= row->created_at_ms)
        zhashx_update(self->groups, map_key, incident);
    free(map_key);
    if (row->status == LK_INCIDENT_RESOLVED)
        s_close_push(self, incident);
}

/* Returns false when the alert's incident is not loaded (yet). */
static bool s_load_alert(correlate_engine_t *self, const lk_alert_t *row)
{
    s_incident_t *incident = zhashx_lookup(self->incidents, row->incident_id);
    if (!incident || strcmp(incident->row.tenant_id, row->tenant_id) != 0)
        return false;
    uint64_t fingerprint;
    if (!s_fingerprint_parse(row->fingerprint, &fingerprint)) {
        lk_warn("correlate: snapshot alert with malformed fingerprint '%s' skipped",
                row->fingerprint);
        return true;
    }
    s_alert_t *existing = s_alert_find(self, incident->tenant, fingerprint);
    if (existing) {
        /* one alert in two live incidents: keep its membership of the newer one */
        if (existing->incident->row.created_at_ms > incident->row.created_at_ms)
            return true;
        if (existing->status == LK_ALERT_FIRING)
            s_firing_remove(existing->incident, (lk_severity_t)existing->severity);
        s_unlink(existing);
        s_alert_remove(self, existing);
        free(existing);
    }
    s_alert_t *entry = s_alloc(sizeof *entry);
    entry->fingerprint = fingerprint;
    entry->content_hash = s_content_hash(row);
    entry->tenant = incident->tenant;
    entry->severity = (uint8_t)s_severity_clamp(row->severity);
    entry->status = row->status == LK_ALERT_FIRING ? LK_ALERT_FIRING : LK_ALERT_RESOLVED;
    entry->starts_at_ms = row->starts_at_ms;
    entry->ends_at_ms = row->ends_at_ms;
    entry->updated_at_ms = row->updated_at_ms;
    entry->batch_slot = S_NO_SLOT;
    s_link(incident, entry);
    s_alert_insert(self, entry);
    if (entry->status == LK_ALERT_FIRING)
        s_firing_add(incident, (lk_severity_t)entry->severity);
    return true;
}

int correlate_engine_load(correlate_engine_t *self, const lk_msg_t *page)
{
    for (size_t i = 0; i < page->incident_count; i++)
        s_load_incident(self, &page->incidents[i]);
    for (size_t i = 0; i < page->alert_count; i++) {
        if (s_load_alert(self, &page->alerts[i]))
            continue;
        s_reserve((void **)&self->orphans, &self->orphan_capacity, self->orphan_count + 1,
                  sizeof(lk_alert_t));
        if (lk_alert_copy(&self->orphans[self->orphan_count], &page->alerts[i]) != 0)
            s_oom();
        self->orphan_count++;
    }
    return 0;
}

size_t correlate_engine_load_finish(correlate_engine_t *self)
{
    size_t dropped = 0;
    for (size_t i = 0; i < self->orphan_count; i++) {
        if (!s_load_alert(self, &self->orphans[i]))
            dropped++;
        lk_alert_clear(&self->orphans[i]);
    }
    free(self->orphans);
    self->orphans = NULL;
    self->orphan_count = self->orphan_capacity = 0;
    return dropped;
}

/* ---- public: inspection ------------------------------------------------------------------ */

const lk_incident_t *correlate_engine_incident(const correlate_engine_t *self,
                                               const char *tenant_id, const char *incident_id)
{
    const s_incident_t *incident = zhashx_lookup(self->incidents, incident_id);
    if (!incident || strcmp(incident->row.tenant_id, tenant_id) != 0)
        return NULL;
    return &incident->row;
}

const lk_incident_t *correlate_engine_group_incident(const correlate_engine_t *self,
                                                     const char *tenant_id, const char *group_key)
{
    char *map_key = s_group_map_key(tenant_id, group_key);
    const s_incident_t *incident = zhashx_lookup(self->groups, map_key);
    free(map_key);
    return incident ? &incident->row : NULL;
}

size_t correlate_engine_alert_count(const correlate_engine_t *self)
{
    return self->alert_count;
}

size_t correlate_engine_incident_count(const correlate_engine_t *self)
{
    return zhashx_size(self->incidents);
}
