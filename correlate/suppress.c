/*  suppress — silences and inhibition for correlate (see suppress.h).

    Silences: a zhashx by id of entries (the row and its compiled matchers), plus a zhashx
    by tenant of small arrays of those entries, so matching only looks at one tenant's.

    Inhibition: a zhashx of counters keyed "tenant US rule US value RS value ...", one per
    (tenant, rule, equal-label values) that has a firing source. A source handle lists the
    counters its alert counts in, so dropping it is proportional to the rules it matched.
*/
#include "suppress.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_log.h"
#include "lk_match.h"

#define S_UNIT_SEP   '\x1f' /* between tenant, rule and values */
#define S_RECORD_SEP '\x1e' /* between values */

/* Out of memory leaves correlate's state half-updated: crash and let it rebuild. */
static void s_oom(void)
{
    lk_fatal("correlate: out of memory");
}

/* ---- silences ---------------------------------------------------------------------------- */

typedef struct {
    lk_silence_t row;
    lk_matchset_t *set;
} s_silence_t;

typedef struct {
    s_silence_t **items;
    size_t count;
    size_t capacity;
} s_silence_list_t;

struct correlate_silences_t {
    zhashx_t *by_id;     /* id -> s_silence_t* (owned) */
    zhashx_t *by_tenant; /* tenant -> s_silence_list_t* (owned) */
};

static void s_silence_free(s_silence_t *silence)
{
    lk_silence_clear(&silence->row);
    lk_matchset_destroy(&silence->set);
    free(silence);
}

correlate_silences_t *correlate_silences_new(void)
{
    correlate_silences_t *self = calloc(1, sizeof *self);
    if (!self)
        s_oom();
    self->by_id = zhashx_new();
    self->by_tenant = zhashx_new();
    if (!self->by_id || !self->by_tenant)
        s_oom();
    return self;
}

void correlate_silences_destroy(correlate_silences_t **self_p)
{
    correlate_silences_t *self = *self_p;
    if (!self)
        return;
    for (s_silence_t *silence = zhashx_first(self->by_id); silence;
         silence = zhashx_next(self->by_id))
        s_silence_free(silence);
    for (s_silence_list_t *list = zhashx_first(self->by_tenant); list;
         list = zhashx_next(self->by_tenant)) {
        free(list->items);
        free(list);
    }
    zhashx_destroy(&self->by_id);
    zhashx_destroy(&self->by_tenant);
    free(self);
    *self_p = NULL;
}

/* Takes the entry out of its tenant's list (the list stays, maybe empty). */
static void s_list_remove(correlate_silences_t *self, const s_silence_t *silence)
{
    s_silence_list_t *list = zhashx_lookup(self->by_tenant, silence->row.tenant_id);
    for (size_t i = 0; list && i < list->count; i++)
        if (list->items[i] == silence) {
            list->items[i] = list->items[--list->count];
            return;
        }
}

int correlate_silences_put(correlate_silences_t *self, const lk_silence_t *silence, char *err,
                           size_t err_size)
{
    s_silence_t *entry = calloc(1, sizeof *entry);
    if (!entry)
        s_oom();
    entry->set = lk_matchset_new(silence->matchers, silence->matcher_count, err, err_size);
    if (!entry->set) {
        free(entry);
        return -1;
    }
    if (lk_silence_copy(&entry->row, silence) != 0)
        s_oom();
    correlate_silences_remove(self, silence->id);
    if (zhashx_insert(self->by_id, entry->row.id, entry) != 0)
        s_oom();
    s_silence_list_t *list = zhashx_lookup(self->by_tenant, entry->row.tenant_id);
    if (!list) {
        list = calloc(1, sizeof *list);
        if (!list || zhashx_insert(self->by_tenant, entry->row.tenant_id, list) != 0)
            s_oom();
    }
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 4;
        s_silence_t **grown = realloc(list->items, capacity * sizeof *grown);
        if (!grown)
            s_oom();
        list->items = grown;
        list->capacity = capacity;
    }
    list->items[list->count++] = entry;
    return 0;
}

const lk_silence_t *correlate_silences_get(const correlate_silences_t *self, const char *tenant_id,
                                           const char *id)
{
    const s_silence_t *entry = zhashx_lookup(self->by_id, id);
    if (!entry || strcmp(entry->row.tenant_id, tenant_id) != 0)
        return NULL;
    return &entry->row;
}

bool correlate_silences_remove(correlate_silences_t *self, const char *id)
{
    s_silence_t *entry = zhashx_lookup(self->by_id, id);
    if (!entry)
        return false;
    s_list_remove(self, entry);
    zhashx_delete(self->by_id, id);
    s_silence_free(entry);
    return true;
}

const lk_silence_t *correlate_silences_match(const correlate_silences_t *self,
                                             const char *tenant_id, const lk_labels_t *labels,
                                             int64_t now_ms)
{
    const s_silence_list_t *list = zhashx_lookup(self->by_tenant, tenant_id);
    for (size_t i = 0; list && i < list->count; i++) {
        const s_silence_t *entry = list->items[i];
        if (lk_silence_state(&entry->row, now_ms) == LK_SILENCE_ACTIVE &&
            lk_matchset_matches(entry->set, labels))
            return &entry->row;
    }
    return NULL;
}

size_t correlate_silences_expire(correlate_silences_t *self, int64_t now_ms,
                                 void (*ended)(const char *tenant_id, void *arg), void *arg)
{
    /* collect first: a zhashx must not change while it is iterated */
    zlistx_t *due = NULL;
    for (s_silence_t *entry = zhashx_first(self->by_id); entry; entry = zhashx_next(self->by_id))
        if (entry->row.ends_at_ms <= now_ms) {
            if (!due && !(due = zlistx_new()))
                s_oom();
            zlistx_add_end(due, entry);
        }
    if (!due)
        return 0;
    size_t count = 0;
    for (s_silence_t *entry = zlistx_first(due); entry; entry = zlistx_next(due)) {
        if (ended)
            ended(entry->row.tenant_id, arg);
        char id[LK_UUID_STR_LEN + 1];
        memcpy(id, entry->row.id, sizeof id);
        correlate_silences_remove(self, id);
        count++;
    }
    zlistx_destroy(&due);
    return count;
}

size_t correlate_silences_count(const correlate_silences_t *self)
{
    return zhashx_size(self->by_id);
}

/* ---- inhibition -------------------------------------------------------------------------- */

typedef struct {
    char *key;
    uint32_t total;     /* firing sources */
    uint32_t two_sided; /* of which also match the rule's target side */
} s_counter_t;

struct correlate_inhibit_t {
    zhashx_t *counters; /* key -> s_counter_t* (owned) */
};

struct correlate_inhibit_source_t {
    size_t count;
    struct {
        s_counter_t *counter;
        bool two_sided;
    } entries[];
};

correlate_inhibit_t *correlate_inhibit_new(void)
{
    correlate_inhibit_t *self = calloc(1, sizeof *self);
    if (!self || !(self->counters = zhashx_new()))
        s_oom();
    return self;
}

void correlate_inhibit_destroy(correlate_inhibit_t **self_p)
{
    correlate_inhibit_t *self = *self_p;
    if (!self)
        return;
    for (s_counter_t *counter = zhashx_first(self->counters); counter;
         counter = zhashx_next(self->counters)) {
        free(counter->key);
        free(counter);
    }
    zhashx_destroy(&self->counters);
    free(self);
    *self_p = NULL;
}

/* The counter key of an alert for rule index: tenant, rule, then each `equal` label's value
   (a missing label counts as ""). Heap string. */
static char *s_key(const char *tenant_id, size_t index, const lk_inhibit_rule_t *rule,
                   const lk_labels_t *labels)
{
    size_t size = strlen(tenant_id) + 24;
    for (size_t i = 0; i < rule->equal_count; i++) {
        const char *value = lk_labels_get(labels, rule->equal[i]);
        size += (value ? strlen(value) : 0) + 1;
    }
    char *key = malloc(size);
    if (!key)
        s_oom();
    size_t length = (size_t)snprintf(key, size, "%s%c%zu", tenant_id, S_UNIT_SEP, index);
    for (size_t i = 0; i < rule->equal_count; i++) {
        const char *value = lk_labels_get(labels, rule->equal[i]);
        key[length++] = i ? S_RECORD_SEP : S_UNIT_SEP;
        size_t value_length = value ? strlen(value) : 0;
        memcpy(key + length, value ? value : "", value_length);
        length += value_length;
    }
    key[length] = '\0';
    return key;
}

/* True when the rule applies to tenant_id. */
static bool s_rule_for(const lk_inhibit_rule_t *rule, const char *tenant_id)
{
    return !rule->tenant_id[0] || strcmp(rule->tenant_id, tenant_id) == 0;
}

correlate_inhibit_source_t *correlate_inhibit_add(correlate_inhibit_t *self,
                                                  const lk_inhibit_rule_t *rules, size_t rule_count,
                                                  const char *tenant_id, const lk_labels_t *labels)
{
    correlate_inhibit_source_t *source = NULL;
    size_t capacity = 0;
    for (size_t index = 0; index < rule_count; index++) {
        const lk_inhibit_rule_t *rule = &rules[index];
        if (!s_rule_for(rule, tenant_id) || !lk_matchset_matches(rule->source, labels))
            continue;
        if (!source || source->count == capacity) {
            capacity = capacity ? capacity * 2 : 2;
            correlate_inhibit_source_t *grown =
                realloc(source, sizeof *source + capacity * sizeof source->entries[0]);
            if (!grown)
                s_oom();
            if (!source)
                grown->count = 0;
            source = grown;
        }
        char *key = s_key(tenant_id, index, rule, labels);
        s_counter_t *counter = zhashx_lookup(self->counters, key);
        if (counter)
            free(key);
        else {
            counter = calloc(1, sizeof *counter);
            if (!counter)
                s_oom();
            counter->key = key;
            if (zhashx_insert(self->counters, key, counter) != 0)
                s_oom();
        }
        bool two_sided = lk_matchset_matches(rule->target, labels);
        counter->total++;
        if (two_sided)
            counter->two_sided++;
        source->entries[source->count].counter = counter;
        source->entries[source->count].two_sided = two_sided;
        source->count++;
    }
    return source;
}

bool correlate_inhibit_drop(correlate_inhibit_t *self, correlate_inhibit_source_t **source_p)
{
    correlate_inhibit_source_t *source = *source_p;
    if (!source)
        return false;
    bool may_release = false;
    for (size_t i = 0; i < source->count; i++) {
        s_counter_t *counter = source->entries[i].counter;
        counter->total--;
        if (source->entries[i].two_sided)
            counter->two_sided--;
        else if (counter->total == counter->two_sided)
            may_release = true; /* no one-sided source left: two-sided targets go free */
        if (counter->total == 0) {
            may_release = true;
            zhashx_delete(self->counters, counter->key);
            free(counter->key);
            free(counter);
        }
    }
    free(source);
    *source_p = NULL;
    return may_release;
}

int correlate_inhibit_check(const correlate_inhibit_t *self, const lk_inhibit_rule_t *rules,
                            size_t rule_count, const char *tenant_id, const lk_labels_t *labels)
{
    if (zhashx_size(self->counters) == 0)
        return -1;
    for (size_t index = 0; index < rule_count; index++) {
        const lk_inhibit_rule_t *rule = &rules[index];
        if (!s_rule_for(rule, tenant_id) || !lk_matchset_matches(rule->target, labels))
            continue;
        char *key = s_key(tenant_id, index, rule, labels);
        const s_counter_t *counter = zhashx_lookup(self->counters, key);
        free(key);
        if (!counter)
            continue;
        uint32_t effective = counter->total;
        if (lk_matchset_matches(rule->source, labels))
            effective -= counter->two_sided;
        if (effective > 0)
            return (int)index;
    }
    return -1;
}

size_t correlate_inhibit_counter_count(const correlate_inhibit_t *self)
{
    return zhashx_size(self->counters);
}
