/*  correlate_engine — dedup, grouping and incident lifecycle in memory (see engine.h).

    Data structures:
      - alerts: an open-addressing table (linear probing, backward-shift deletion) of pointers
        to compact s_alert_t records keyed by (tenant index, 64-bit fingerprint). Tenants are
        interned so an alert stores a 4-byte index instead of a 37-byte id. The records come
        from slabs of S_ALERT_SLAB (s_record_new/s_record_release, a free list through `next`):
        millions of long-lived 104-byte records scattered through malloc's heap between the
        requests' short-lived buffers left glibc's malloc walking cold free chunks, about a
        third of correlate's time with 3 million alerts (docs/performance.md).
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
      - routes (lk_config_routes.h): a firing alert that is about to join an incident is
        routed once; the first selected route gives the group key (route key + group_by
        values), group_wait and reopen window, the selected routes give the severity
        override and escalation policy. Alerts already in an incident are not routed again.
      - held alerts: an alert that a silence or an inhibit rule suppresses when it would
        join an incident is held instead: its s_alert_t has no incident and points to an
        s_held_t with its full content, linked in its tenant's held list. Held alerts are
        looked at again (and released into incidents when nothing suppresses them any
        more) when they are re-sent with new content, when a silence ends or changes, and
        when an inhibiting source stops firing (tenants are queued for such a "recheck",
        done once at the end of the request or tick).
      - inhibit sources: every firing alert (held or not) that matches a rule's source side
        keeps a correlate_inhibit_source_t handle (suppress.h) until it stops firing.
      - heartbeat monitors (monitors.h) fire and resolve a synthetic heartbeat_missed alert
        through the same path as any alert.
      - ends: an indexed binary min-heap of (deadline, alert) for firing alerts whose sender
        gave an endsAt (Prometheus via /api/v2/alerts): each such alert is in it once (its
        end_slot). A re-send that moves endsAt later only updates the alert (the entry is
        moved when the tick reaches it), an earlier endsAt moves the entry up in O(log n), and
        the tick pops only what is due. A due alert is resolved as if its sender had said so; its
   row is written as a partial alert_ends[] item (lk_msg.h), since only the request that last
        changed the alert carried its content.
*/
#define _GNU_SOURCE /* mremap */
#include "engine.h"

#include <assert.h>
#include <ctype.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
/* a released record stays poisoned until it is handed out again: a use after release is
   still reported under ASan */
#define S_POISON(address, size)   ASAN_POISON_MEMORY_REGION(address, size)
#define S_UNPOISON(address, size) ASAN_UNPOISON_MEMORY_REGION(address, size)
#else
#define S_POISON(address, size)   ((void)(address), (void)(size))
#define S_UNPOISON(address, size) ((void)(address), (void)(size))
#endif

#include "lk_config.h"
#include "lk_fingerprint.h"
#include "lk_log.h"
#include "lk_match.h"
#include "lk_uuid.h"
#include "monitors.h"
#include "suppress.h"

#define S_SEVERITY_COUNT   4
#define S_AUTO_ACTOR       "lookout"
#define S_GROUP_SEP        '\x1f' /* between tenant and group key in the groups map key */
#define S_MAP_KEY_RESERVE  256    /* bytes first reserved for a groups map key */
#define S_NO_SLOT          UINT32_MAX
#define S_NO_OVERRIDE      (-1)
#define S_HEARTBEAT_ALERT  "heartbeat_missed"
#define S_HEARTBEAT_SOURCE "heartbeat"
#define S_RESTART_GRACE_MS (300 * 1000) /* Alertmanager's default resolve_timeout */
#define S_ALERT_SLAB       4096         /* alert records per slab (~420 KiB) */

typedef struct s_incident_t s_incident_t;
typedef struct s_held_t s_held_t;

typedef struct s_alert_t {
    uint64_t fingerprint;
    uint64_t content_hash; /* labels + annotations: what makes a re-send "changed" */
    uint64_t dirty_seq;    /* batch that last wrote this alert's row */
    int64_t starts_at_ms;
    int64_t ends_at_ms;
    int64_t updated_at_ms;
    s_incident_t *incident;             /* NULL while held */
    s_held_t *held;                     /* its full content while held, else NULL */
    correlate_inhibit_source_t *source; /* while it fires and is an inhibit source */
    struct s_alert_t *next;             /* in incident->alerts */
    struct s_alert_t *prev;
    uint32_t tenant;
    uint32_t batch_slot; /* index of its row in pending.alerts when dirty_seq == next_seq */
    uint32_t end_slot;   /* its index in the ends heap, or S_NO_SLOT */
    uint8_t severity;
    uint8_t status;
    int8_t severity_override; /* a route's severity, or S_NO_OVERRIDE */
} s_alert_t;

/* A block of alert records; slabs are only freed with the engine. */
typedef struct s_alert_slab_t {
    struct s_alert_slab_t *next;
    s_alert_t records[S_ALERT_SLAB];
} s_alert_slab_t;

/* A held alert: outside every incident while a silence or an inhibit rule suppresses it. */
struct s_held_t {
    lk_alert_t row; /* as last written: content, state, suppressed_by, incident_id "" */
    s_alert_t *entry;
    s_held_t *next; /* in its tenant's held list */
    s_held_t *prev;
};

/* What correlate keeps per tenant besides the interned id. */
typedef struct {
    s_held_t *held; /* held alerts, newest first */
    size_t held_count;
    bool recheck_queued;
} s_tenant_state_t;

struct s_incident_t {
    lk_incident_t row;
    int64_t reopen_window_ms; /* its route's, or the engine's default */
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

/* An entry of the ends heap: when the alert's endsAt passes (after a restart: not before
   the restart grace). */
typedef struct {
    int64_t deadline_ms;
    s_alert_t *alert;
} s_end_entry_t;

/* A min-heap of (deadline, incident id); stale entries are skipped when popped. */
typedef struct {
    s_close_entry_t *entries;
    size_t count;
    size_t capacity;
} s_heap_t;

struct correlate_engine_t {
    char **group_by; /* sorted, unique */
    size_t group_by_count;
    int64_t reopen_window_ms;

    s_alert_t **alert_slots; /* capacity is a power of two */
    size_t alert_capacity;
    size_t alert_count;    /* in both tables */
    s_alert_slab_t *slabs; /* newest first */
    size_t slab_used;      /* records handed out from the newest slab */
    size_t slab_count;
    s_alert_t *free_records; /* released records, linked through next */
    /* the table before the last growth while its alerts move over (s_alert_insert) */
    s_alert_t **old_slots;
    size_t old_capacity, old_count, old_cursor;
    /* an emptied old table's mapping, given back S_RETIRE_BYTES at a time (s_retire_step) */
    char *retired;
    size_t retired_bytes;
    /* the table the next growth takes, mapped once the table is 5/8 full and its pages
       touched S_PREPARE_BYTES at a time while correlate is idle (s_next_prepare) */
    s_alert_t **next_slots;
    size_t next_touched; /* bytes */

    zhashx_t *incidents; /* id -> s_incident_t* */
    zhashx_t *groups;    /* tenant US group_key -> s_incident_t* */
    zhashx_t *tenants;   /* tenant id -> index + 1 */
    char **tenant_names;
    size_t tenant_count;
    size_t tenant_capacity;
    s_tenant_state_t *tenant_states; /* parallel to tenant_names */
    size_t tenant_state_capacity;
    uint32_t *rechecks; /* tenants whose held alerts must be looked at again */
    size_t recheck_count;
    size_t recheck_capacity;

    s_heap_t close_heap;    /* resolved incidents: close at resolved_at + window */
    s_heap_t announce_heap; /* incidents in group_wait: announce at group_wait_until */
    s_end_entry_t *ends;    /* firing alerts with an endsAt: indexed min-heap by deadline */
    size_t end_count;
    size_t end_capacity;
    int64_t restart_grace_ms; /* see correlate_engine_set_restart_grace */
    size_t tick_end_limit;    /* see correlate_engine_set_tick_end_limit */

    const lk_config_t *config; /* routes, inhibit rules, declared monitors; may be NULL */
    lk_route_t default_route;  /* the root when the configuration has no route: */
    uint32_t shard_count;
    uint32_t shard_index;
    correlate_silences_t *silences;
    correlate_inhibit_t *inhibit;
    correlate_monitors_t *monitors;
    size_t held_total;

    lk_msg_t pending; /* alerts and events of the batch being built */
    /* request alerts whose strings rows of pending took over (s_alert_put): they give them
       up when the request is done (s_lent_release) */
    lk_alert_t **lent;
    size_t lent_count;
    size_t lent_capacity;
    bool lending; /* in correlate_engine_alert_batch: request alerts lend their strings */
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

/* A zeroed alert record: a released one, else the next of the newest slab. */
static s_alert_t *s_record_new(correlate_engine_t *self)
{
    s_alert_t *record = self->free_records;
    if (record) {
        S_UNPOISON(record, sizeof *record);
        self->free_records = record->next;
    } else {
        if (!self->slabs || self->slab_used == S_ALERT_SLAB) {
            s_alert_slab_t *slab = malloc(sizeof *slab);
            if (!slab)
                s_oom();
            slab->next = self->slabs;
            self->slabs = slab;
            self->slab_used = 0;
            self->slab_count++;
        }
        record = &self->slabs->records[self->slab_used++];
    }
    memset(record, 0, sizeof *record);
    return record;
}

/* Gives a record back to the engine (it is no longer in any table, list or heap). */
static void s_record_release(correlate_engine_t *self, s_alert_t *record)
{
    record->next = self->free_records;
    self->free_records = record;
    S_POISON(record, sizeof *record);
}

/* strdup that never returns NULL; NULL copies as "". */
static char *s_strdup(const char *text)
{
    char *copy = strdup(text ? text : "");
    if (!copy)
        s_oom();
    return copy;
}

/* Copies an id (a tenant's: at most LK_UUID_STR_LEN characters) into a fixed buffer of
   LK_UUID_STR_LEN + 1; snprintf's "%s" cost ~570 instructions a copy, twice per alert. */
static inline void s_copy_id(char dst[LK_UUID_STR_LEN + 1], const char *src)
{
    size_t length = strnlen(src, LK_UUID_STR_LEN);
    memcpy(dst, src, length);
    dst[length] = '\0';
}

/* The capacity an array of capacity items grows to so that needed fit: doubles. */
static size_t s_capacity_for(size_t capacity, size_t needed)
{
    size_t capacity_new = capacity ? capacity * 2 : 16;
    while (capacity_new < needed)
        capacity_new *= 2;
    return capacity_new;
}

/* Grows *items (of item_size bytes) so index `needed - 1` fits; doubles. */
static void s_reserve(void **items, size_t *capacity, size_t needed, size_t item_size)
{
    if (needed <= *capacity)
        return;
    size_t capacity_new = s_capacity_for(*capacity, needed);
    void *grown = realloc(*items, capacity_new * item_size);
    if (!grown)
        s_oom();
    *items = grown;
    *capacity = capacity_new;
}

/*  Arrays that grow with what correlate holds (the ends heap, one entry per alert with an
    endsAt; the incidents' close and announce heaps) move into a mapping of their own once
    they pass S_MAPPED_MIN bytes, and then grow by mremap: the kernel moves their pages
    instead of copying them. realloc of a large block copies it under mimalloc, which the
    daemons link: doubling the ends heap at 4,194,304 entries (64 MiB) held every request
    for up to a quarter of a second (glibc's realloc of such a block remaps it too). Free
    them with s_mapped_free. */
#define S_MAPPED_MIN ((size_t)1 << 20)

/* A mapping of its own of bytes, zero pages the kernel fills as they are first touched. */
static void *s_map(size_t bytes)
{
    void *items = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (items == MAP_FAILED)
        s_oom();
    return items;
}

static void s_reserve_mapped(void **items, size_t *capacity, size_t needed, size_t item_size)
{
    if (needed <= *capacity)
        return;
    size_t capacity_new = s_capacity_for(*capacity, needed);
    size_t bytes = *capacity * item_size, bytes_new = capacity_new * item_size;
    if (bytes_new < S_MAPPED_MIN) {
        s_reserve(items, capacity, needed, item_size);
        return;
    }
    void *grown;
    if (bytes < S_MAPPED_MIN) {
        grown = s_map(bytes_new);
        if (bytes)
            memcpy(grown, *items, bytes);
        free(*items);
    } else {
        grown = mremap(*items, bytes, bytes_new, MREMAP_MAYMOVE);
        if (grown == MAP_FAILED)
            s_oom();
    }
    *items = grown;
    *capacity = capacity_new;
}

/* A zeroed array of capacity items: calloc below S_MAPPED_MIN bytes, else a mapping of its
   own, whose pages the kernel zeroes as they are first touched. mimalloc's calloc of a
   large block zeroes it at once: the alert table's growth to 8,388,608 slots (64 MiB, at
   3,145,728 alerts) held correlate for 39 ms where glibc's calloc took 0.3 ms
   (correlate-bench-engine, phase 4). Free it with s_mapped_free. */
static void *s_zeroed_mapped(size_t capacity, size_t item_size)
{
    size_t bytes = capacity * item_size;
    return bytes < S_MAPPED_MIN ? s_alloc(bytes) : s_map(bytes);
}

/* Frees an array grown by s_reserve_mapped or made by s_zeroed_mapped. */
static void s_mapped_free(void *items, size_t capacity, size_t item_size)
{
    if (capacity * item_size >= S_MAPPED_MIN)
        munmap(items, capacity * item_size);
    else
        free(items);
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
            } else {
                /* the run of bytes that need no escape, in one append */
                const unsigned char *end = p + 1;
                while (*end >= 0x20 && *end != 0x7f && *end != '"' && *end != '\\')
                    end++;
                s_buf_append(buf, (const char *)p, (size_t)(end - p));
                p = end - 1;
            }
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

/* One step of s_content_hash: the 128-bit product of value and a constant, its halves
   folded (wyhash's mixing). */
static uint64_t s_mix(uint64_t value)
{
    __uint128_t product = (__uint128_t)value * 0xe7037ed1a0b428dbULL;
    return (uint64_t)product ^ (uint64_t)(product >> 64);
}

/* Adds one string to a content hash: its length, then its bytes eight at a time. */
static uint64_t s_hash_text(uint64_t hash, const char *text)
{
    static const uint64_t salt = 0xa0761d6478bd642fULL;
    size_t size = strlen(text);
    hash = s_mix(hash ^ salt ^ size);
    for (; size >= sizeof(uint64_t); text += sizeof(uint64_t), size -= sizeof(uint64_t)) {
        uint64_t word;
        memcpy(&word, text, sizeof word);
        hash = s_mix(hash ^ salt ^ word);
    }
    if (size) {
        uint64_t word = 0;
        memcpy(&word, text, size);
        hash = s_mix(hash ^ salt ^ word);
    }
    return hash;
}

/* Hash of what makes a re-send significant besides status and severity: labels (they can
   change under a dedup_key identity) and annotations. 64 bits, like the fingerprint; never
   stored or sent (a rebuild recomputes it), so it need not be the fingerprint's FNV-1a,
   which takes a multiplication per byte: this one takes one per eight bytes and per string
   (2,040 -> 1,135 instructions per alert, callgrind). */
static uint64_t s_content_hash(const lk_alert_t *alert)
{
    uint64_t hash = 0;
    const lk_labels_t *sets[2] = {&alert->labels, &alert->annotations};
    for (int set = 0; set < 2; set++) {
        hash = s_mix(hash ^ sets[set]->count ^ ((uint64_t)set << 32));
        for (size_t i = 0; i < sets[set]->count; i++) {
            const lk_label_t *label = &sets[set]->items[i];
            hash = s_hash_text(hash, label->name);
            hash = s_hash_text(hash, label->value);
        }
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
    size_t states_before = self->tenant_state_capacity;
    s_reserve((void **)&self->tenant_states, &self->tenant_state_capacity, self->tenant_count + 1,
              sizeof(s_tenant_state_t));
    memset(&self->tenant_states[states_before], 0,
           (self->tenant_state_capacity - states_before) * sizeof(s_tenant_state_t));
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

/*  The alert table: open addressing, linear probing, load factor under 3/4, deletion by
    backward shift. Growth is incremental: doubling a table of 3 million alerts in one go
    stalled every request for ~150 ms (a pass over every alert). The old table stays beside
    the new one and each insert moves S_ALERT_MOVE_SLOTS of its slots over, from index 0 up,
    so it empties long before the new table could need to grow (it must, within the 3/4 C
    inserts that take a 2C table to 3/4). In the old table a moved or removed alert leaves
    S_ALERT_GONE, which probes pass over and which keeps every probe chain intact. */
#define S_ALERT_MOVE_SLOTS 8
#define S_ALERT_GONE       ((s_alert_t *)&s_alert_gone)
static const char s_alert_gone;

/* The alert with this identity in one table (slots may hold S_ALERT_GONE), or NULL. */
static s_alert_t *s_alert_slot_find(s_alert_t *const *slots, size_t capacity, uint32_t tenant,
                                    uint64_t fingerprint)
{
    size_t mask = capacity - 1;
    for (size_t i = s_alert_hash(tenant, fingerprint) & mask;; i = (i + 1) & mask) {
        s_alert_t *alert = slots[i];
        if (!alert)
            return NULL;
        if (alert != S_ALERT_GONE && alert->fingerprint == fingerprint && alert->tenant == tenant)
            return alert;
    }
}

/* The alert with this identity, or NULL. */
static s_alert_t *s_alert_find(const correlate_engine_t *self, uint32_t tenant,
                               uint64_t fingerprint)
{
    s_alert_t *alert =
        s_alert_slot_find(self->alert_slots, self->alert_capacity, tenant, fingerprint);
    if (!alert && self->old_slots)
        alert = s_alert_slot_find(self->old_slots, self->old_capacity, tenant, fingerprint);
    return alert;
}

/* Puts an alert in the first free slot of the probe chain from its home slot. */
static void s_alert_slot_put_at(s_alert_t **slots, size_t mask, size_t home, s_alert_t *alert)
{
    while (slots[home])
        home = (home + 1) & mask;
    slots[home] = alert;
}

/* Puts an alert in the first free slot of its probe chain. */
static void s_alert_slot_put(s_alert_t **slots, size_t capacity, s_alert_t *alert)
{
    size_t mask = capacity - 1;
    s_alert_slot_put_at(slots, mask, s_alert_hash(alert->tenant, alert->fingerprint) & mask, alert);
}

/*  An emptied old table's mapping goes back to the kernel a piece at a time: unmapping 64 MiB
    (the table of 8,388,608 slots that empties after the growth at 6,291,456 alerts) in one
    call held correlate for about 4 ms, 128 MiB for 7-9 ms, a piece of 1 MiB about 0.06 ms
    (docs/performance.md). */
#define S_RETIRE_BYTES ((size_t)1 << 20)

/* Gives back the last piece of the retired mapping (all of it with all set). */
static void s_retire_step(correlate_engine_t *self, bool all)
{
    size_t piece = self->retired_bytes;
    if (!all && piece > S_RETIRE_BYTES)
        piece = S_RETIRE_BYTES;
    if (piece == 0)
        return;
    self->retired_bytes -= piece;
    munmap(self->retired + self->retired_bytes, piece);
    if (self->retired_bytes == 0)
        self->retired = NULL;
}

/*  The next growth's table, made ready ahead of it: a fresh mapping's pages are zeroed as
    they are first written (a first read maps the shared zero page, and the write after it
    faults again), and the move writes all over the new table. perf in the round that
    crossed the growth at 6,291,456 alerts: zeroing the 128 MiB table's pages took 824
    samples of correlate's 4,208 (0.4 s of CPU on this VM, whose host backs fresh guest
    pages as they are touched) beside 1,060 for the move's writes. Once the table is 5/8
    full, correlate's quiet moments map the next table and write a byte to each of its pages,
    256 KiB at a time; a growth takes it, touched or not. */
#define S_PREPARE_BYTES ((size_t)256 << 10)

/* The slots of the table the next growth makes. */
static size_t s_next_capacity(const correlate_engine_t *self)
{
    return 2 * self->alert_capacity;
}

/* Whether the next table is worth making ready now and is not ready yet. */
static bool s_next_wanted(const correlate_engine_t *self)
{
    size_t bytes = s_next_capacity(self) * sizeof *self->alert_slots;
    return bytes >= S_MAPPED_MIN && !self->old_slots && !self->retired &&
           self->alert_count * 8 > self->alert_capacity * 5 && self->next_touched < bytes;
}

/* Maps the next table if need be and touches its next S_PREPARE_BYTES (a write a page of
   4 KiB, or more than one a page where pages are larger). */
static void s_next_prepare(correlate_engine_t *self)
{
    size_t bytes = s_next_capacity(self) * sizeof *self->alert_slots;
    if (!self->next_slots)
        self->next_slots = s_map(bytes);
    size_t end = self->next_touched + S_PREPARE_BYTES;
    if (end > bytes)
        end = bytes;
    volatile char *pages = (volatile char *)self->next_slots;
    for (size_t offset = self->next_touched; offset < end; offset += 4096)
        pages[offset] = 0;
    self->next_touched = end;
}

/*  Slots moved together: a moved alert's record (for its hash) and its new home are both
    cold, so a group first asks for all its records, then for all their homes, and only then
    writes, the cache misses of the group overlapping instead of following one another.
    Moving 3.76 million slots took 134 ms one at a time (correlate-bench-engine, phase 5). */
#define S_MOVE_GROUP 16

/* Moves the old table's next slots (at most count; SIZE_MAX: all) into the current one; once
   it is empty, frees it, or retires it when it has a mapping of its own. */
static void s_alert_move_old(correlate_engine_t *self, size_t count)
{
    while (self->old_slots && count > 0) {
        size_t span = self->old_capacity - self->old_cursor;
        if (span > count)
            span = count;
        if (span > S_MOVE_GROUP)
            span = S_MOVE_GROUP;
        s_alert_t *group[S_MOVE_GROUP];
        size_t homes[S_MOVE_GROUP], moving = 0;
        for (size_t i = 0; i < span; i++) {
            s_alert_t *alert = self->old_slots[self->old_cursor + i];
            if (alert && alert != S_ALERT_GONE) {
                __builtin_prefetch(alert);
                group[moving++] = alert;
                self->old_slots[self->old_cursor + i] = S_ALERT_GONE;
            }
        }
        size_t mask = self->alert_capacity - 1;
        for (size_t i = 0; i < moving; i++) {
            homes[i] = s_alert_hash(group[i]->tenant, group[i]->fingerprint) & mask;
            __builtin_prefetch(&self->alert_slots[homes[i]], 1);
        }
        for (size_t i = 0; i < moving; i++)
            s_alert_slot_put_at(self->alert_slots, mask, homes[i], group[i]);
        self->old_count -= moving;
        self->old_cursor += span;
        count -= span;
        if (self->old_cursor == self->old_capacity || self->old_count == 0) {
            size_t bytes = self->old_capacity * sizeof *self->old_slots;
            if (bytes >= S_MAPPED_MIN) {
                s_retire_step(self, true); /* never two (a growth is 3/4 of a table away) */
                self->retired = (char *)self->old_slots;
                self->retired_bytes = bytes;
            } else {
                free(self->old_slots);
            }
            self->old_slots = NULL;
            self->old_capacity = self->old_count = self->old_cursor = 0;
        }
    }
}

/* Inserts an alert known to be absent; keeps the load factor under 3/4. */
static void s_alert_insert(correlate_engine_t *self, s_alert_t *alert)
{
    if ((self->alert_count + 1) * 4 > self->alert_capacity * 3) {
        s_alert_move_old(self, SIZE_MAX); /* never two old tables (cannot happen: see above) */
        self->old_slots = self->alert_slots;
        self->old_capacity = self->alert_capacity;
        self->old_count = self->alert_count;
        self->old_cursor = 0;
        self->alert_capacity *= 2;
        if (self->next_slots) {
            self->alert_slots = self->next_slots;
            self->next_slots = NULL;
            self->next_touched = 0;
        } else {
            self->alert_slots = s_zeroed_mapped(self->alert_capacity, sizeof *self->alert_slots);
        }
    }
    if (self->old_slots)
        s_alert_move_old(self, S_ALERT_MOVE_SLOTS);
    else if (self->retired)
        s_retire_step(self, false);
    s_alert_slot_put(self->alert_slots, self->alert_capacity, alert);
    self->alert_count++;
}

static void s_end_remove(correlate_engine_t *self, s_alert_t *alert);

/* The slot holding this alert in one table, or capacity when the table does not hold it. */
static size_t s_alert_slot_of(s_alert_t *const *slots, size_t capacity, const s_alert_t *alert)
{
    size_t mask = capacity - 1;
    size_t i = s_alert_hash(alert->tenant, alert->fingerprint) & mask;
    for (; slots[i] != alert; i = (i + 1) & mask)
        if (!slots[i])
            return capacity;
    return i;
}

/* Removes an alert from the table (backward-shift deletion keeps probe chains intact; in the
   old table, a mark) and from the ends heap. */
static void s_alert_remove(correlate_engine_t *self, s_alert_t *alert)
{
    s_end_remove(self, alert);
    self->alert_count--;
    size_t hole = s_alert_slot_of(self->alert_slots, self->alert_capacity, alert);
    if (hole == self->alert_capacity) { /* not moved over yet */
        assert(self->old_slots);
        size_t slot = s_alert_slot_of(self->old_slots, self->old_capacity, alert);
        assert(slot < self->old_capacity);
        self->old_slots[slot] = S_ALERT_GONE;
        self->old_count--;
        return;
    }
    size_t mask = self->alert_capacity - 1;
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
}

/* ---- ends heap: firing alerts whose endsAt will pass ------------------------------------ */

/* Puts entry at index i and tells its alert where it is. */
static void s_end_place(correlate_engine_t *self, size_t i, s_end_entry_t entry)
{
    self->ends[i] = entry;
    entry.alert->end_slot = (uint32_t)i;
}

/* Restores the heap order around index i after its deadline changed (either way). */
static void s_end_fix(correlate_engine_t *self, size_t i)
{
    s_end_entry_t entry = self->ends[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (self->ends[parent].deadline_ms <= entry.deadline_ms)
            break;
        s_end_place(self, i, self->ends[parent]);
        i = parent;
    }
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= self->end_count)
            break;
        if (child + 1 < self->end_count &&
            self->ends[child + 1].deadline_ms < self->ends[child].deadline_ms)
            child++;
        if (entry.deadline_ms <= self->ends[child].deadline_ms)
            break;
        s_end_place(self, i, self->ends[child]);
        i = child;
    }
    s_end_place(self, i, entry);
}

/* Takes the alert out of the ends heap (nothing when it is not in it). */
static void s_end_remove(correlate_engine_t *self, s_alert_t *alert)
{
    if (alert->end_slot == S_NO_SLOT)
        return;
    size_t i = alert->end_slot;
    alert->end_slot = S_NO_SLOT;
    s_end_entry_t last = self->ends[--self->end_count];
    if (i == self->end_count)
        return;
    s_end_place(self, i, last);
    s_end_fix(self, i);
}

/* Puts the alert in the ends heap with this deadline, or moves it there. */
static void s_end_set(correlate_engine_t *self, s_alert_t *alert, int64_t deadline_ms)
{
    if (alert->end_slot == S_NO_SLOT) {
        s_reserve_mapped((void **)&self->ends, &self->end_capacity, self->end_count + 1,
                         sizeof(s_end_entry_t));
        alert->end_slot = (uint32_t)self->end_count++;
    } else if (self->ends[alert->end_slot].deadline_ms == deadline_ms)
        return;
    self->ends[alert->end_slot].deadline_ms = deadline_ms;
    self->ends[alert->end_slot].alert = alert;
    s_end_fix(self, alert->end_slot);
}

/* Arms the alert's end timer when it fires with an endsAt, else disarms it. Senders that
   do not use endsAt (POST /alerts without ends_at, PagerDuty, webhooks, rules, heartbeats)
   leave it 0: such an alert fires until it is resolved. An endsAt moved later (every
   Prometheus re-send) leaves the entry where it is: the tick finds the alert's endsAt later
   than the entry and re-arms it then (correlate_engine_end_due), so the common re-send costs no
   sift. */
static void s_end_arm(correlate_engine_t *self, s_alert_t *alert)
{
    if (alert->status != LK_ALERT_FIRING || alert->ends_at_ms <= 0)
        s_end_remove(self, alert);
    else if (alert->end_slot == S_NO_SLOT ||
             alert->ends_at_ms < self->ends[alert->end_slot].deadline_ms)
        s_end_set(self, alert, alert->ends_at_ms);
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

/* Starts a groups map key (tenant, US, group key) in an empty buf with room for reserve
   bytes: the tenant and the separator, for the group key to be appended. */
static void s_group_map_key_start(s_buf_t *buf, const char *tenant_id, size_t reserve)
{
    s_reserve((void **)&buf->data, &buf->capacity, reserve, 1);
    s_buf_puts(buf, tenant_id);
    s_buf_append(buf, &(char){S_GROUP_SEP}, 1);
}

/* The groups map key of a group key. Caller frees. */
static char *s_group_map_key(const char *tenant_id, const char *group_key)
{
    s_buf_t key = {0};
    s_group_map_key_start(&key, tenant_id, strlen(tenant_id) + 1 + strlen(group_key) + 1);
    s_buf_puts(&key, group_key);
    return key.data;
}

/* ---- mutations --------------------------------------------------------------------------- */

static void s_source_clear(correlate_engine_t *self, s_alert_t *alert);

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

/* Folds an alert_* change into the pending batch's last event when that is the same change
   (type, incident, actor, note) of other alerts and has room (lk_model.h): a flood into one
   incident then costs store one event row, and consumers one message, per batch instead of
   one per alert. True when folded. */
static bool s_event_fold(correlate_engine_t *self, const s_incident_t *incident, const char *type,
                         const char *actor, const char *note, const char *fingerprint,
                         int64_t now_ms)
{
    if (!self->pending.event_count)
        return false;
    lk_event_t *last = &self->pending.events[self->pending.event_count - 1];
    const size_t step = LK_FINGERPRINT_STR_LEN + 1;
    size_t used = last->fingerprints ? strlen(last->fingerprints) : 0;
    if (!used || (used + 1) / step >= LK_EVENT_FINGERPRINTS_MAX || strcmp(last->type, type) != 0 ||
        strcmp(last->incident_id, incident->row.id) != 0 || strcmp(last->actor, actor) != 0 ||
        (note ? !last->note || strcmp(last->note, note) != 0 : last->note != NULL))
        return false;
    char *grown = realloc(last->fingerprints, used + step + 1);
    if (!grown)
        s_oom();
    grown[used] = ' ';
    memcpy(grown + used + 1, fingerprint, LK_FINGERPRINT_STR_LEN + 1);
    last->fingerprints = grown;
    last->at_ms = now_ms;
    return true;
}

/* Appends an event (fresh UUIDv7 id) to the pending batch, or folds an alert_* change into
   the last one (s_event_fold); actor NULL = automatic. */
static void s_event(correlate_engine_t *self, const s_incident_t *incident, const char *type,
                    const char *actor, const char *note, const char *fingerprint, int64_t now_ms)
{
    if (!actor)
        actor = S_AUTO_ACTOR;
    if (fingerprint && s_event_fold(self, incident, type, actor, note, fingerprint, now_ms))
        return;
    lk_event_t event;
    memset(&event, 0, sizeof event);
    lk_uuid7(event.event_id);
    memcpy(event.tenant_id, incident->row.tenant_id, sizeof event.tenant_id);
    memcpy(event.incident_id, incident->row.id, sizeof event.incident_id);
    event.type = (char *)type;
    event.actor = (char *)actor;
    event.note = (char *)note;
    event.fingerprints = (char *)fingerprint;
    event.at_ms = now_ms;
    if (lk_msg_add_event(&self->pending, &event) != 0)
        s_oom();
}

/* Writes the alert's absolute row: the request's content with correlate's fields (identity,
   incident, status, times). A second write in the same batch to the same row replaces the
   first, so a batch carries each row once. */
static void s_alert_put(correlate_engine_t *self, s_alert_t *alert, const lk_alert_t *incoming,
                        lk_alert_t *lender, int64_t now_ms)
{
    /* strictly increasing, so store's "updated_at >= stored" rule orders re-sent batches */
    alert->updated_at_ms = now_ms > alert->updated_at_ms ? now_ms : alert->updated_at_ms + 1;

    lk_alert_t row = *incoming; /* shallow: copied deep below, or lent */
    lk_fingerprint_format(alert->fingerprint, row.fingerprint);
    /* a held alert (or one just released: the row that ends its hold) has no incident */
    s_copy_id(row.tenant_id, self->tenant_names[alert->tenant]);
    if (alert->incident)
        memcpy(row.incident_id, alert->incident->row.id, sizeof row.incident_id);
    else
        row.incident_id[0] = '\0';
    row.state = alert->held ? alert->held->row.state : LK_ALERT_ACTIVE;
    row.suppressed_by = alert->held ? alert->held->row.suppressed_by : NULL;
    if (alert->incident && lk_incident_add_source(&alert->incident->row, incoming->source) > 0)
        s_incident_touch(self, alert->incident, now_ms);
    row.severity = (lk_severity_t)alert->severity;
    row.status = (lk_alert_status_t)alert->status;
    row.starts_at_ms = alert->starts_at_ms;
    row.ends_at_ms = alert->ends_at_ms;
    row.updated_at_ms = alert->updated_at_ms;

    lk_alert_t *slot = NULL;
    if (alert->dirty_seq == self->next_seq && alert->batch_slot < self->pending.alert_count &&
        strcmp(self->pending.alerts[alert->batch_slot].incident_id, row.incident_id) == 0) {
        slot = &self->pending.alerts[alert->batch_slot];
        lk_alert_clear(slot);
    }
    if (lender) {
        /* the row takes the request's strings, except the held record's suppressed_by */
        if (row.suppressed_by && !(row.suppressed_by = strdup(row.suppressed_by)))
            s_oom();
        if (self->lent_count == self->lent_capacity) {
            self->lent_capacity = self->lent_capacity ? self->lent_capacity * 2 : 64;
            self->lent = realloc(self->lent, self->lent_capacity * sizeof *self->lent);
            if (!self->lent)
                s_oom();
        }
        self->lent[self->lent_count++] = lender;
        if (slot)
            *slot = row;
        else if (lk_msg_take_alert(&self->pending, &row) != 0)
            s_oom();
    } else if (slot ? lk_alert_copy(slot, &row) != 0 : lk_msg_add_alert(&self->pending, &row) != 0)
        s_oom();
    if (!slot) {
        alert->batch_slot = (uint32_t)(self->pending.alert_count - 1);
        alert->dirty_seq = self->next_seq;
    }
}

/* Writes an alert's row from incoming (a held record, or memory's own): a deep copy. */
static void s_alert_write(correlate_engine_t *self, s_alert_t *alert, const lk_alert_t *incoming,
                          int64_t now_ms)
{
    s_alert_put(self, alert, incoming, NULL, now_ms);
}

/* Writes an alert's row from the alert being handled. In an alert_batch request that alert
   lends its strings: the row uses them as they are (no copy) and the alert gives them up
   once it is handled (until then it reads as before); else the row is a copy. */
static void s_alert_write_lent(correlate_engine_t *self, s_alert_t *alert, lk_alert_t *incoming,
                               int64_t now_ms)
{
    s_alert_put(self, alert, incoming, self->lending ? incoming : NULL, now_ms);
}

/* The request is done: the alerts that lent their strings to rows forget them (the rows own
   them now), so clearing the request frees only what no row took. */
static void s_lent_release(correlate_engine_t *self)
{
    for (size_t index = 0; index < self->lent_count; index++) {
        lk_alert_t *alert = self->lent[index];
        alert->source = alert->name = alert->query = alert->dedup_key = alert->generator_url = NULL;
        memset(&alert->labels, 0, sizeof alert->labels);
        memset(&alert->annotations, 0, sizeof alert->annotations);
    }
    self->lent_count = 0;
}

/* Writes that an alert of an incident ended (status resolved, ends_at, updated_at) without
   its content, which memory does not hold: in place when the batch already carries its full
   row, else as a partial alert_ends[] item that store applies after the batch's rows. */
static void s_alert_end_write(correlate_engine_t *self, s_alert_t *alert, int64_t now_ms)
{
    alert->updated_at_ms = now_ms > alert->updated_at_ms ? now_ms : alert->updated_at_ms + 1;
    const char *incident_id = alert->incident->row.id;
    if (alert->dirty_seq == self->next_seq && alert->batch_slot < self->pending.alert_count &&
        strcmp(self->pending.alerts[alert->batch_slot].incident_id, incident_id) == 0) {
        lk_alert_t *slot = &self->pending.alerts[alert->batch_slot];
        slot->status = LK_ALERT_RESOLVED;
        slot->ends_at_ms = alert->ends_at_ms;
        slot->updated_at_ms = alert->updated_at_ms;
        return;
    }
    lk_alert_end_t end;
    memset(&end, 0, sizeof end);
    s_copy_id(end.tenant_id, self->tenant_names[alert->tenant]);
    memcpy(end.incident_id, incident_id, sizeof end.incident_id);
    lk_fingerprint_format(alert->fingerprint, end.fingerprint);
    end.ends_at_ms = alert->ends_at_ms;
    end.updated_at_ms = alert->updated_at_ms;
    if (lk_msg_add_alert_end(&self->pending, &end) != 0)
        s_oom();
    alert->batch_slot = S_NO_SLOT; /* a later full row of this batch is appended, not merged */
    alert->dirty_seq = self->next_seq;
}

/* Pushes (deadline, incident id) onto a heap. */
static void s_heap_push(s_heap_t *heap, int64_t deadline_ms, const char *incident_id)
{
    s_reserve_mapped((void **)&heap->entries, &heap->capacity, heap->count + 1,
                     sizeof(s_close_entry_t));
    s_close_entry_t entry;
    entry.deadline_ms = deadline_ms;
    memcpy(entry.incident_id, incident_id, sizeof entry.incident_id);
    size_t i = heap->count++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (heap->entries[parent].deadline_ms <= entry.deadline_ms)
            break;
        heap->entries[i] = heap->entries[parent];
        i = parent;
    }
    heap->entries[i] = entry;
}

/* Removes the earliest entry. */
static void s_heap_pop(s_heap_t *heap)
{
    assert(heap->count > 0);
    s_close_entry_t last = heap->entries[--heap->count];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= heap->count)
            break;
        if (child + 1 < heap->count &&
            heap->entries[child + 1].deadline_ms < heap->entries[child].deadline_ms)
            child++;
        if (last.deadline_ms <= heap->entries[child].deadline_ms)
            break;
        heap->entries[i] = heap->entries[child];
        i = child;
    }
    if (heap->count > 0)
        heap->entries[i] = last;
}

/* Schedules the close of a just-resolved incident at resolved_at + its window. */
static void s_close_push(correlate_engine_t *self, const s_incident_t *incident)
{
    s_heap_push(&self->close_heap, incident->row.resolved_at_ms + incident->reopen_window_ms,
                incident->row.id);
}

/* True while a resolved incident may still reopen. */
static bool s_within_window(const correlate_engine_t *self, const s_incident_t *incident,
                            int64_t now_ms)
{
    (void)self;
    return now_ms - incident->row.resolved_at_ms < incident->reopen_window_ms;
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
        s_source_clear(self, alert); /* a manual resolve leaves firing alerts behind */
        s_alert_remove(self, alert);
        s_record_release(self, alert);
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
    incident->row.ack_expires_at_ms = 0;
    free(incident->row.acknowledged_by);
    incident->row.acknowledged_by = NULL;
    /* the timeline tells how often it flapped: "flap N" is its reopen_count */
    char note[96];
    snprintf(note, sizeof note, "flap %u: fired again within the reopen window",
             incident->row.reopen_count);
    s_event(self, incident, "incident_reopened", NULL, note, NULL, now_ms);
}

/* Ends the incident's group_wait now: announces it with incident_triggered. The first
   lifecycle event of an incident is always incident_triggered, so acknowledging or
   resolving an incident still in its group_wait announces it first. */
static void s_announce(correlate_engine_t *self, s_incident_t *incident, int64_t now_ms)
{
    if (!incident->row.group_wait_until_ms)
        return;
    incident->row.group_wait_until_ms = 0;
    s_event(self, incident, "incident_triggered", NULL, NULL, NULL, now_ms);
    s_incident_touch(self, incident, now_ms);
}

/* triggered|acknowledged -> resolved. actor NULL = automatic (every alert resolved). The
   caller touches the incident. */
static void s_incident_resolve(correlate_engine_t *self, s_incident_t *incident, const char *actor,
                               const char *note, int64_t now_ms)
{
    s_announce(self, incident, now_ms);
    incident->row.status = LK_INCIDENT_RESOLVED;
    incident->row.resolved_at_ms = now_ms;
    incident->row.ack_expires_at_ms = 0;
    free(incident->row.resolved_by);
    incident->row.resolved_by = actor ? s_strdup(actor) : NULL;
    s_event(self, incident, "incident_resolved", actor, note, NULL, now_ms);
    s_close_push(self, incident);
}

/* Title: the alert name plus the other group labels' values, e.g. "HighCPU (job=node)". */
static char *s_title(const lk_route_t *route, const lk_alert_t *alert)
{
    s_buf_t buf = {0};
    const char *name = lk_labels_get(&alert->labels, "alertname");
    if (!name || !*name)
        name = alert->name && *alert->name ? alert->name : "alert";
    s_buf_puts(&buf, name);
    size_t extras = 0;
    for (size_t i = 0; i < route->group_by_count; i++) {
        if (strcmp(route->group_by[i], "alertname") == 0)
            continue;
        const char *value = lk_labels_get(&alert->labels, route->group_by[i]);
        if (!value || !*value)
            continue;
        s_buf_puts(&buf, extras++ ? ", " : " (");
        s_buf_puts(&buf, route->group_by[i]);
        s_buf_puts(&buf, "=");
        s_buf_puts(&buf, value);
    }
    if (extras)
        s_buf_puts(&buf, ")");
    return buf.data;
}

/* What routing decided for an alert about to join an incident. */
typedef struct {
    const lk_route_t *route; /* the first selected route: grouping, group_wait, window */
    const char *policy;      /* the first selected route that names one, or NULL */
    int severity_override;   /* the first selected route's severity, or S_NO_OVERRIDE */
} s_routing_t;

/* The root of the route tree: the configuration's, else the default route. */
static const lk_route_t *s_root(const correlate_engine_t *self)
{
    return self->config && self->config->routing.route ? self->config->routing.route
                                                       : &self->default_route;
}

/* Routes an alert of tenant_id (lk_config_routes.h: lk_route_match). */
static void s_route(const correlate_engine_t *self, const char *tenant_id,
                    const lk_labels_t *labels, s_routing_t *out)
{
    const lk_route_t *matches[LK_ROUTE_MATCHES_MAX];
    size_t count = lk_route_match(s_root(self), tenant_id, labels, matches, LK_ROUTE_MATCHES_MAX);
    out->route = count ? matches[0] : &self->default_route;
    out->policy = NULL;
    out->severity_override = S_NO_OVERRIDE;
    for (size_t i = 0; i < count; i++) {
        if (!out->policy && matches[i]->escalation_policy)
            out->policy = matches[i]->escalation_policy;
        if (out->severity_override == S_NO_OVERRIDE && matches[i]->has_severity)
            out->severity_override = (int)matches[i]->severity;
    }
}

/* The route's reopen window, or the engine's default. */
static int64_t s_reopen_window(const correlate_engine_t *self, const lk_route_t *route)
{
    return route && route->reopen_window_ms >= 0 ? route->reopen_window_ms : self->reopen_window_ms;
}

/* Appends the group key of labels under route: `ROUTEKEY:{name="value", ...}` with the
   route's group_by labels sorted by name (a missing one renders as ""), or every label for
   group_by ['...']. */
static void s_group_key_append(s_buf_t *buf, const lk_route_t *route, const lk_labels_t *labels)
{
    s_buf_puts(buf, route->key ? route->key : "{}");
    s_buf_puts(buf, ":{");
    size_t count = route->group_by_all ? labels->count : route->group_by_count;
    for (size_t i = 0; i < count; i++) {
        const char *name = route->group_by_all ? labels->items[i].name : route->group_by[i];
        const char *value =
            route->group_by_all ? labels->items[i].value : lk_labels_get(labels, name);
        if (i)
            s_buf_puts(buf, ", ");
        s_buf_puts(buf, name);
        s_buf_puts(buf, "=");
        s_buf_quote(buf, value ? value : "");
    }
    s_buf_puts(buf, "}");
}

/* The group key of labels under route (see s_group_key_append). Heap string. */
static char *s_group_key(const lk_route_t *route, const lk_labels_t *labels)
{
    s_buf_t buf = {0};
    s_group_key_append(&buf, route, labels);
    return buf.data;
}

/* The route an existing incident was grouped under: the longest route key that prefixes
   its group key followed by ':'. For snapshot loads only (walks the tree). */
static const lk_route_t *s_route_of_group(const lk_route_t *route, const char *group_key)
{
    size_t length = strlen(route->key ? route->key : "{}");
    if (strncmp(group_key, route->key ? route->key : "{}", length) != 0)
        return NULL;
    for (size_t i = 0; i < route->route_count; i++) {
        const lk_route_t *deeper = s_route_of_group(&route->routes[i], group_key);
        if (deeper)
            return deeper;
    }
    return group_key[length] == ':' ? route : NULL;
}

/* Creates the group's new incident (triggered) and makes it the group's current one. It is
   announced (incident_triggered) now, or when the route's group_wait has passed. */
static s_incident_t *s_incident_create(correlate_engine_t *self, uint32_t tenant,
                                       const lk_alert_t *alert, char *group_key,
                                       const s_routing_t *routing, int64_t now_ms)
{
    const lk_route_t *route = routing->route;
    s_incident_t *incident = s_alloc(sizeof *incident);
    lk_incident_t *row = &incident->row;
    lk_uuid7(row->id);
    memcpy(row->tenant_id, alert->tenant_id, sizeof row->tenant_id);
    row->group_key = group_key;
    row->title = s_title(route, alert);
    const char *summary = lk_labels_get(&alert->annotations, "summary");
    row->summary = s_strdup(summary && *summary ? summary : row->title);
    if (route->group_by_all) {
        if (lk_labels_copy(&row->group_labels, &alert->labels) != 0)
            s_oom();
    }
    for (size_t i = 0; i < route->group_by_count; i++) {
        const char *value = lk_labels_get(&alert->labels, route->group_by[i]);
        if (value && lk_labels_set(&row->group_labels, route->group_by[i], value) != 0)
            s_oom();
    }
    row->severity = alert->severity;
    row->status = LK_INCIDENT_TRIGGERED;
    row->created_at_ms = now_ms;
    row->updated_at_ms = now_ms;
    row->policy = routing->policy ? s_strdup(routing->policy) : NULL;
    incident->reopen_window_ms = s_reopen_window(self, route);
    incident->tenant = tenant;
    incident->batch_slot = S_NO_SLOT;

    if (zhashx_insert(self->incidents, row->id, incident) != 0)
        s_oom();
    char *map_key = s_group_map_key(row->tenant_id, row->group_key);
    zhashx_update(self->groups, map_key, incident);
    free(map_key);
    if (route->group_wait_ms > 0) {
        row->group_wait_until_ms = now_ms + route->group_wait_ms;
        s_heap_push(&self->announce_heap, row->group_wait_until_ms, row->id);
    } else
        s_event(self, incident, "incident_triggered", NULL, NULL, NULL, now_ms);
    return incident;
}

/* ---- suppression: silences, inhibition, held alerts -------------------------------------- */

/* Queues tenant's held alerts to be looked at again (s_rechecks_run). */
static void s_recheck_queue(correlate_engine_t *self, uint32_t tenant)
{
    s_tenant_state_t *state = &self->tenant_states[tenant];
    if (state->recheck_queued || !state->held)
        return;
    s_reserve((void **)&self->rechecks, &self->recheck_capacity, self->recheck_count + 1,
              sizeof(uint32_t));
    self->rechecks[self->recheck_count++] = tenant;
    state->recheck_queued = true;
}

/* The inhibit rules of the configuration (none without one). */
static const lk_inhibit_rule_t *s_inhibit_rules(const correlate_engine_t *self, size_t *count)
{
    *count = self->config ? self->config->routing.inhibit_rule_count : 0;
    return *count ? self->config->routing.inhibit_rules : NULL;
}

/* Stops counting the alert as an inhibit source; queues a recheck of its tenant when an
   inhibition may have ended. */
static void s_source_clear(correlate_engine_t *self, s_alert_t *alert)
{
    if (alert->source && correlate_inhibit_drop(self->inhibit, &alert->source))
        s_recheck_queue(self, alert->tenant);
}

/* (Re)registers a firing alert with these labels as an inhibit source; clears it when it
   does not fire. */
static void s_source_set(correlate_engine_t *self, s_alert_t *alert, const lk_labels_t *labels)
{
    s_source_clear(self, alert);
    size_t rule_count;
    const lk_inhibit_rule_t *rules = s_inhibit_rules(self, &rule_count);
    if (alert->status == LK_ALERT_FIRING && rule_count)
        alert->source = correlate_inhibit_add(self->inhibit, rules, rule_count,
                                              self->tenant_names[alert->tenant], labels);
}

/* Whether an alert of tenant_id with labels would be held now: silenced by an active
   silence (its id in by), else inhibited by a rule ("inhibit_rules[N]" in by), else
   active (by ""). */
static lk_alert_state_t s_suppression(const correlate_engine_t *self, const char *tenant_id,
                                      const lk_labels_t *labels, int64_t now_ms, char *by,
                                      size_t by_size)
{
    const lk_silence_t *silence =
        correlate_silences_match(self->silences, tenant_id, labels, now_ms);
    if (silence) {
        snprintf(by, by_size, "%s", silence->id);
        return LK_ALERT_SILENCED;
    }
    size_t rule_count;
    const lk_inhibit_rule_t *rules = s_inhibit_rules(self, &rule_count);
    int rule = rule_count
                   ? correlate_inhibit_check(self->inhibit, rules, rule_count, tenant_id, labels)
                   : -1;
    if (rule >= 0) {
        snprintf(by, by_size, "inhibit_rules[%d]", rule);
        return LK_ALERT_INHIBITED;
    }
    by[0] = '\0';
    return LK_ALERT_ACTIVE;
}

/* A new alert record in the table (no incident, not held yet). */
static s_alert_t *s_entry_new(correlate_engine_t *self, uint32_t tenant, uint64_t fingerprint,
                              uint64_t content_hash, lk_severity_t severity, int64_t starts_at_ms)
{
    s_alert_t *entry = s_record_new(self);
    entry->fingerprint = fingerprint;
    entry->content_hash = content_hash;
    entry->tenant = tenant;
    entry->severity = (uint8_t)severity;
    entry->status = LK_ALERT_FIRING;
    entry->starts_at_ms = starts_at_ms;
    entry->batch_slot = S_NO_SLOT;
    entry->end_slot = S_NO_SLOT;
    entry->severity_override = S_NO_OVERRIDE;
    s_alert_insert(self, entry);
    return entry;
}

/* Holds a firing alert that has no incident: keeps its content (alert) with state and
   suppressor, links it in its tenant's held list and writes its held row. */
static void s_hold(correlate_engine_t *self, s_alert_t *entry, const lk_alert_t *alert,
                   lk_alert_state_t state, const char *by, int64_t now_ms)
{
    assert(!entry->incident && !entry->held);
    s_held_t *held = s_alloc(sizeof *held);
    if (lk_alert_copy(&held->row, alert) != 0)
        s_oom();
    held->row.incident_id[0] = '\0';
    held->row.state = state;
    free(held->row.suppressed_by);
    held->row.suppressed_by = s_strdup(by);
    held->entry = entry;
    s_tenant_state_t *tenant = &self->tenant_states[entry->tenant];
    held->next = tenant->held;
    if (tenant->held)
        tenant->held->prev = held;
    tenant->held = held;
    tenant->held_count++;
    self->held_total++;
    entry->held = held;
    s_alert_write(self, entry, &held->row, now_ms);
}

/* Takes the held record away from the alert (unlinked, caller frees it with s_held_free). */
static s_held_t *s_unhold(correlate_engine_t *self, s_alert_t *entry)
{
    s_held_t *held = entry->held;
    s_tenant_state_t *tenant = &self->tenant_states[entry->tenant];
    if (held->prev)
        held->prev->next = held->next;
    else
        tenant->held = held->next;
    if (held->next)
        held->next->prev = held->prev;
    held->next = held->prev = NULL;
    tenant->held_count--;
    self->held_total--;
    entry->held = NULL;
    return held;
}

static void s_held_free(s_held_t *held)
{
    lk_alert_clear(&held->row);
    free(held);
}

static void s_attach(correlate_engine_t *self, s_alert_t *entry, const lk_alert_t *alert,
                     lk_alert_t *lender, const s_routing_t *routing, int64_t now_ms);

/* Releases a held alert that nothing suppresses any more: writes the row that ends its
   hold, then attaches it to its group's incident like a new alert (routed afresh). */
static void s_release(correlate_engine_t *self, s_alert_t *entry, int64_t now_ms)
{
    s_held_t *held = s_unhold(self, entry);
    held->row.state = LK_ALERT_ACTIVE;
    free(held->row.suppressed_by);
    held->row.suppressed_by = NULL;
    s_alert_write(self, entry, &held->row, now_ms); /* incident "", active: no longer held */
    s_routing_t routing;
    s_route(self, self->tenant_names[entry->tenant], &held->row.labels, &routing);
    entry->severity_override = (int8_t)routing.severity_override;
    if (routing.severity_override != S_NO_OVERRIDE)
        entry->severity = (uint8_t)routing.severity_override;
    s_attach(self, entry, &held->row, NULL, &routing, now_ms);
    s_held_free(held);
}

/* Looks at every held alert of tenant again: releases those nothing suppresses now and
   rewrites those whose suppressor changed. */
static void s_recheck_tenant(correlate_engine_t *self, uint32_t tenant, int64_t now_ms)
{
    s_held_t *held = self->tenant_states[tenant].held;
    while (held) {
        s_held_t *next = held->next; /* a release unlinks held */
        char by[64];
        lk_alert_state_t state = s_suppression(self, self->tenant_names[tenant], &held->row.labels,
                                               now_ms, by, sizeof by);
        if (state == LK_ALERT_ACTIVE)
            s_release(self, held->entry, now_ms);
        else if (state != held->row.state || strcmp(by, held->row.suppressed_by) != 0) {
            held->row.state = state;
            free(held->row.suppressed_by);
            held->row.suppressed_by = s_strdup(by);
            s_alert_write(self, held->entry, &held->row, now_ms);
        }
        held = next;
    }
}

/* Runs the queued rechecks (a release may queue more: it runs until none is left). */
static void s_rechecks_run(correlate_engine_t *self, int64_t now_ms)
{
    while (self->recheck_count > 0) {
        uint32_t tenant = self->rechecks[--self->recheck_count];
        self->tenant_states[tenant].recheck_queued = false;
        s_recheck_tenant(self, tenant, now_ms);
    }
}

/* Forgets a held alert entirely (it resolved): the caller wrote its last row. */
static void s_held_drop(correlate_engine_t *self, s_alert_t *entry)
{
    s_source_clear(self, entry);
    s_held_free(s_unhold(self, entry));
    s_alert_remove(self, entry);
    s_record_release(self, entry);
}

/* ---- public: construction ---------------------------------------------------------------- */

correlate_engine_t *correlate_engine_new(const char *group_by, int64_t reopen_window_ms)
{
    correlate_engine_t *self = s_alloc(sizeof *self);
    self->reopen_window_ms = reopen_window_ms;
    self->alert_capacity = 1024;
    self->alert_slots = s_zeroed_mapped(self->alert_capacity, sizeof *self->alert_slots);
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

    /* the default route: the root when no configuration says otherwise */
    self->default_route.key = (char *)"{}";
    self->default_route.group_by = self->group_by; /* borrowed */
    self->default_route.group_by_count = self->group_by_count;
    self->default_route.reopen_window_ms = -1;
    self->silences = correlate_silences_new();
    self->inhibit = correlate_inhibit_new();
    self->monitors = correlate_monitors_new();
    self->shard_count = 1;
    self->restart_grace_ms = S_RESTART_GRACE_MS;
    self->tick_end_limit = SIZE_MAX;
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
    s_alert_move_old(self, SIZE_MAX);
    s_retire_step(self, true);
    if (self->next_slots)
        s_mapped_free(self->next_slots, s_next_capacity(self), sizeof *self->next_slots);
    for (size_t i = 0; i < self->alert_capacity; i++) {
        s_alert_t *alert = self->alert_slots[i];
        if (!alert)
            continue;
        correlate_inhibit_drop(self->inhibit, &alert->source);
        if (alert->held)
            s_held_free(alert->held);
    }
    s_mapped_free(self->alert_slots, self->alert_capacity, sizeof *self->alert_slots);
    while (self->slabs) {
        s_alert_slab_t *next = self->slabs->next;
        free(self->slabs);
        self->slabs = next;
    }
    correlate_inhibit_destroy(&self->inhibit);
    correlate_silences_destroy(&self->silences);
    correlate_monitors_destroy(&self->monitors);
    free(self->tenant_states);
    free(self->lent);
    free(self->rechecks);
    zhashx_destroy(&self->incidents);
    zhashx_destroy(&self->groups);
    zhashx_destroy(&self->tenants);
    for (size_t i = 0; i < self->tenant_count; i++)
        free(self->tenant_names[i]);
    free(self->tenant_names);
    for (size_t i = 0; i < self->group_by_count; i++)
        free(self->group_by[i]);
    free(self->group_by);
    s_mapped_free(self->close_heap.entries, self->close_heap.capacity, sizeof(s_close_entry_t));
    s_mapped_free(self->announce_heap.entries, self->announce_heap.capacity,
                  sizeof(s_close_entry_t));
    s_mapped_free(self->ends, self->end_capacity, sizeof(s_end_entry_t));
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
    return s_group_key(&self->default_route, labels);
}

/* ---- public: alerts ---------------------------------------------------------------------- */

/* PagerDuty semantics for alerts identified by a dedup_key: a trigger after resolve opens a
   new incident instead of reopening the resolved one. */
static bool s_never_reopens(const lk_alert_t *alert)
{
    return alert->dedup_key && alert->dedup_key[0];
}

/* A firing alert never seen (or forgotten with its closed incident): attach it to its
   group's incident, reopening or replacing a resolved one as the window says. */
static void s_attach(correlate_engine_t *self, s_alert_t *entry, const lk_alert_t *alert,
                     lk_alert_t *lender, const s_routing_t *routing, int64_t now_ms)
{
    uint32_t tenant = entry->tenant;
    const char *tenant_id = self->tenant_names[tenant];
    /* the groups map key built in one buffer; the group key is copied out of it only for a
       new incident */
    s_buf_t map_key = {0};
    s_group_map_key_start(&map_key, tenant_id, S_MAP_KEY_RESERVE);
    size_t group_key_at = map_key.size;
    s_group_key_append(&map_key, routing->route, &alert->labels);
    s_incident_t *incident = zhashx_lookup(self->groups, map_key.data);

    if (incident && incident->row.status == LK_INCIDENT_RESOLVED) {
        if (s_within_window(self, incident, now_ms) && !s_never_reopens(alert))
            s_incident_reopen(self, incident, now_ms);
        else {
            s_incident_close(self, incident, now_ms);
            incident = NULL;
        }
    }
    if (!incident) {
        lk_alert_t view = *alert; /* shallow: the incident starts at the alert's severity */
        s_copy_id(view.tenant_id, tenant_id);
        view.severity = (lk_severity_t)entry->severity;
        incident = s_incident_create(self, tenant, &view, s_strdup(map_key.data + group_key_at),
                                     routing, now_ms);
    }
    free(map_key.data);

    entry->status = LK_ALERT_FIRING;
    s_link(incident, entry);
    incident->row.alert_count++;
    s_firing_add(incident, (lk_severity_t)entry->severity);
    s_severity_recompute(incident);
    s_alert_put(self, entry, alert, lender, now_ms);
    char fingerprint[LK_FINGERPRINT_STR_LEN + 1];
    lk_fingerprint_format(entry->fingerprint, fingerprint);
    s_event(self, incident, "alert_added", NULL, NULL, fingerprint, now_ms);
    s_incident_touch(self, incident, now_ms);
}

/* A firing alert never seen (or forgotten with its closed incident): routed, then held
   when a silence or an inhibit rule suppresses it, else attached to its group's incident. */
static uint64_t s_alert_new(correlate_engine_t *self, uint32_t tenant, uint64_t fingerprint,
                            uint64_t content_hash, lk_alert_t *alert, int64_t now_ms,
                            lk_alert_result_t *result)
{
    s_routing_t routing;
    s_route(self, alert->tenant_id, &alert->labels, &routing);
    lk_severity_t severity = routing.severity_override != S_NO_OVERRIDE
                                 ? (lk_severity_t)routing.severity_override
                                 : s_severity_clamp(alert->severity);
    s_alert_t *entry = s_entry_new(self, tenant, fingerprint, content_hash, severity,
                                   alert->starts_at_ms ? alert->starts_at_ms : now_ms);
    entry->severity_override = (int8_t)routing.severity_override;
    entry->ends_at_ms = alert->ends_at_ms;
    char by[64];
    lk_alert_state_t state =
        s_suppression(self, alert->tenant_id, &alert->labels, now_ms, by, sizeof by);
    result->outcome = LK_OUTCOME_NEW;
    if (state != LK_ALERT_ACTIVE) {
        s_hold(self, entry, alert, state, by, now_ms);
        result->incident_id[0] = '\0';
    } else {
        s_attach(self, entry, alert, self->lending ? alert : NULL, &routing, now_ms);
        memcpy(result->incident_id, entry->incident->row.id, sizeof result->incident_id);
    }
    s_source_set(self, entry, &alert->labels);
    s_end_arm(self, entry);
    return self->next_seq;
}

/* A re-send of a held alert: resolved drops it; new content is looked at again (released
   when nothing suppresses it now); the same content is acked from memory. */
static uint64_t s_held_update(correlate_engine_t *self, s_alert_t *entry, const lk_alert_t *alert,
                              uint64_t content_hash, int64_t now_ms, lk_alert_result_t *result)
{
    lk_severity_t severity = entry->severity_override != S_NO_OVERRIDE
                                 ? (lk_severity_t)entry->severity_override
                                 : s_severity_clamp(alert->severity);
    if (alert->status != LK_ALERT_FIRING) {
        entry->status = LK_ALERT_RESOLVED;
        entry->ends_at_ms = alert->ends_at_ms ? alert->ends_at_ms : now_ms;
        s_alert_write(self, entry, alert, now_ms); /* resolved: store forgets the held row */
        s_held_drop(self, entry);
        result->outcome = LK_OUTCOME_CHANGED;
        return self->next_seq;
    }
    /* a new endsAt alone is no change: memory keeps it (the end timer moves) */
    entry->ends_at_ms = alert->ends_at_ms;
    entry->held->row.ends_at_ms = alert->ends_at_ms;
    s_end_arm(self, entry);
    if (entry->severity == severity && entry->content_hash == content_hash) {
        result->outcome = LK_OUTCOME_UNCHANGED;
        return entry->dirty_seq;
    }
    s_held_t *held = entry->held;
    lk_alert_state_t state = held->row.state;
    char *by = held->row.suppressed_by;
    held->row.suppressed_by = NULL;
    lk_alert_clear(&held->row);
    if (lk_alert_copy(&held->row, alert) != 0)
        s_oom();
    held->row.incident_id[0] = '\0';
    held->row.state = state;
    free(held->row.suppressed_by);
    held->row.suppressed_by = by;
    entry->severity = (uint8_t)severity;
    entry->content_hash = content_hash;
    s_source_set(self, entry, &alert->labels);

    char now_by[64];
    state = s_suppression(self, alert->tenant_id, &alert->labels, now_ms, now_by, sizeof now_by);
    if (state == LK_ALERT_ACTIVE) {
        s_release(self, entry, now_ms);
        memcpy(result->incident_id, entry->incident->row.id, sizeof result->incident_id);
    } else {
        held->row.state = state;
        free(held->row.suppressed_by);
        held->row.suppressed_by = s_strdup(now_by);
        s_alert_write(self, entry, &held->row, now_ms);
    }
    result->outcome = LK_OUTCOME_CHANGED;
    return self->next_seq;
}

/* correlate_engine_alert without the rechecks it may have queued. */
static uint64_t s_alert_one_lending(correlate_engine_t *self, const char *tenant_id,
                                    lk_alert_t *alert, int64_t now_ms, lk_alert_result_t *result)
{
    memset(result, 0, sizeof *result);
    s_copy_id(alert->tenant_id, tenant_id);
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
    if (entry && entry->held)
        return s_held_update(self, entry, alert, content_hash, now_ms, result);

    /* a re-fire into an incident whose window passed (not yet closed by the tick): close it
       now, and the alert starts over in a new incident like any unknown alert */
    if (entry && entry->status == LK_ALERT_RESOLVED && alert->status == LK_ALERT_FIRING &&
        entry->incident->row.status == LK_INCIDENT_RESOLVED &&
        !s_within_window(self, entry->incident, now_ms)) {
        s_incident_close(self, entry->incident, now_ms);
        entry = NULL;
    }
    /* a dedup_key alert firing at a resolved incident (its own resolve, or an operator's
       while it kept firing): that incident is finished; close it and start over */
    if (entry && alert->status == LK_ALERT_FIRING && s_never_reopens(alert) &&
        entry->incident->row.status == LK_INCIDENT_RESOLVED) {
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
    if (entry->severity_override != S_NO_OVERRIDE)
        severity = (lk_severity_t)entry->severity_override;
    bool same_content = entry->severity == severity && entry->content_hash == content_hash;

    /* a re-fire that would reopen a resolved incident is suppressed like a new alert: held
       outside the incident (which keeps its resolved membership row) */
    if (alert->status == LK_ALERT_FIRING && entry->status == LK_ALERT_RESOLVED &&
        incident->row.status == LK_INCIDENT_RESOLVED) {
        char by[64];
        lk_alert_state_t state =
            s_suppression(self, tenant_id, &alert->labels, now_ms, by, sizeof by);
        if (state != LK_ALERT_ACTIVE) {
            s_unlink(entry);
            entry->incident = NULL;
            entry->status = LK_ALERT_FIRING;
            entry->severity = (uint8_t)severity;
            entry->content_hash = content_hash;
            entry->starts_at_ms = alert->starts_at_ms ? alert->starts_at_ms : now_ms;
            entry->ends_at_ms = alert->ends_at_ms;
            s_hold(self, entry, alert, state, by, now_ms);
            s_source_set(self, entry, &alert->labels);
            s_end_arm(self, entry);
            result->incident_id[0] = '\0';
            result->outcome = LK_OUTCOME_CHANGED;
            return self->next_seq;
        }
    }

    if (alert->status == LK_ALERT_FIRING && entry->status == LK_ALERT_FIRING) {
        /* Prometheus moves endsAt forward on every re-send: memory keeps it and the end
           timer moves, but it alone is no change worth a write (after a restart the stored,
           older endsAt is covered by the restart grace) */
        if (entry->ends_at_ms != alert->ends_at_ms) {
            entry->ends_at_ms = alert->ends_at_ms;
            s_end_arm(self, entry);
        }
        if (same_content) {
            result->outcome = LK_OUTCOME_UNCHANGED;
            return entry->dirty_seq;
        }
        s_firing_remove(incident, (lk_severity_t)entry->severity);
        s_firing_add(incident, severity);
        entry->severity = (uint8_t)severity;
        entry->content_hash = content_hash;
        s_alert_write_lent(self, entry, alert, now_ms);
        s_source_set(self, entry, &alert->labels); /* a dedup_key alert may change labels */
        if (s_severity_recompute(incident))
            s_incident_touch(self, incident, now_ms);
    } else if (alert->status == LK_ALERT_FIRING) {
        /* re-fire: its incident is open, or resolved within the window (handled above) */
        entry->status = LK_ALERT_FIRING;
        entry->severity = (uint8_t)severity;
        entry->content_hash = content_hash;
        entry->starts_at_ms = alert->starts_at_ms ? alert->starts_at_ms : now_ms;
        entry->ends_at_ms = alert->ends_at_ms;
        s_end_arm(self, entry);
        s_firing_add(incident, severity);
        s_severity_recompute(incident);
        if (incident->row.status == LK_INCIDENT_RESOLVED)
            s_incident_reopen(self, incident, now_ms);
        s_alert_write_lent(self, entry, alert, now_ms);
        s_source_set(self, entry, &alert->labels);
        s_event(self, incident, "alert_refired", NULL, NULL, alert->fingerprint, now_ms);
        s_incident_touch(self, incident, now_ms);
    } else if (entry->status == LK_ALERT_FIRING) {
        s_firing_remove(incident, (lk_severity_t)entry->severity);
        entry->status = LK_ALERT_RESOLVED;
        s_end_remove(self, entry);
        entry->severity = (uint8_t)severity;
        entry->content_hash = content_hash;
        entry->ends_at_ms = alert->ends_at_ms ? alert->ends_at_ms : now_ms;
        s_severity_recompute(incident);
        s_alert_write_lent(self, entry, alert, now_ms);
        s_source_clear(self, entry);
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
        s_alert_write_lent(self, entry, alert, now_ms);
    }
    result->outcome = LK_OUTCOME_CHANGED;
    return self->next_seq;
}

/* One alert of a request, after which the alert no longer owns the strings a row took. */
static uint64_t s_alert_one(correlate_engine_t *self, const char *tenant_id, lk_alert_t *alert,
                            int64_t now_ms, lk_alert_result_t *result)
{
    uint64_t due_seq = s_alert_one_lending(self, tenant_id, alert, now_ms, result);
    s_lent_release(self);
    return due_seq;
}

uint64_t correlate_engine_alert(correlate_engine_t *self, const char *tenant_id, lk_alert_t *alert,
                                int64_t now_ms, lk_alert_result_t *result)
{
    uint64_t due_seq = s_alert_one(self, tenant_id, alert, now_ms, result);
    s_rechecks_run(self, now_ms);
    return due_seq;
}

uint64_t correlate_engine_alert_batch(correlate_engine_t *self, lk_msg_t *request, lk_msg_t *reply,
                                      int64_t now_ms)
{
    lk_msg_init(reply, LK_MSG_ALERT_REPLY);
    reply->req = request->req;
    memcpy(reply->tenant_id, request->tenant_id, sizeof reply->tenant_id);
    reply->status = LK_STATUS_OK;
    uint64_t due_seq = 0;
    self->lending = true;
    for (size_t i = 0; i < request->alert_count; i++) {
        lk_alert_result_t result;
        uint64_t seq = s_alert_one(self, request->tenant_id, &request->alerts[i], now_ms, &result);
        if (seq > due_seq)
            due_seq = seq;
        if (lk_msg_add_result(reply, &result) != 0)
            s_oom();
    }
    self->lending = false;
    /* releases a resolve caused land in the pending batch too, which this request waits
       for whenever it changed anything */
    s_rechecks_run(self, now_ms);
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

    s_incident_t *incident = NULL;
    if (request->incident_id[0])
        incident = zhashx_lookup(self->incidents, request->incident_id);
    else {
        /* by alert identity: the live incident the tenant's alert belongs to */
        uintptr_t tenant = (uintptr_t)zhashx_lookup(self->tenants, request->tenant_id);
        uint64_t fingerprint;
        s_alert_t *alert = NULL;
        if (tenant && s_fingerprint_parse(request->fingerprint, &fingerprint))
            alert = s_alert_find(self, (uint32_t)(tenant - 1), fingerprint);
        incident = alert ? alert->incident : NULL;
    }
    if (!incident || strcmp(incident->row.tenant_id, request->tenant_id) != 0) {
        s_reply_error(reply, LK_STATUS_NOT_FOUND, "incident not found");
        return 0;
    }
    const char *actor = request->actor && *request->actor ? request->actor : "unknown";
    lk_incident_status_t status = incident->row.status;
    if (request->action == LK_ACTION_ACKNOWLEDGE) {
        /* acknowledging again counts when a timeout is involved: the previous one may have
           lapsed (escalation resumed) or the new one changes when it lapses */
        bool renew = status == LK_INCIDENT_ACKNOWLEDGED &&
                     (incident->row.ack_expires_at_ms != 0 || request->ack_timeout_s != 0);
        if (status == LK_INCIDENT_TRIGGERED || renew) {
            s_announce(self, incident, now_ms); /* an incident still in its group_wait */
            incident->row.status = LK_INCIDENT_ACKNOWLEDGED;
            incident->row.acknowledged_at_ms = now_ms;
            incident->row.ack_expires_at_ms =
                request->ack_timeout_s ? now_ms + (int64_t)request->ack_timeout_s * 1000 : 0;
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

/* The alert's endsAt passed without a re-send that moved it: resolves it at ends_at_ms as if
   its sender had said so (Alertmanager's rule), resolving its incident when it was the last
   firing one, through the same lifecycle as an explicit resolve. A held alert is forgotten
   like a held alert that resolves. The caller took it out of the ends heap. */
static void s_alert_expire(correlate_engine_t *self, s_alert_t *entry, int64_t ends_at_ms,
                           int64_t now_ms)
{
    entry->status = LK_ALERT_RESOLVED;
    entry->ends_at_ms = ends_at_ms;
    if (entry->held) {
        lk_alert_t row = entry->held->row; /* shallow: s_alert_write copies deeply */
        row.status = LK_ALERT_RESOLVED;
        s_alert_write(self, entry, &row, now_ms); /* resolved: store forgets the held row */
        s_held_drop(self, entry);
        return;
    }
    s_incident_t *incident = entry->incident;
    s_firing_remove(incident, (lk_severity_t)entry->severity);
    s_severity_recompute(incident);
    s_alert_end_write(self, entry, now_ms);
    s_source_clear(self, entry);
    char fingerprint[LK_FINGERPRINT_STR_LEN + 1];
    lk_fingerprint_format(entry->fingerprint, fingerprint);
    s_event(self, incident, "alert_resolved", NULL, "endsAt passed without a re-send", fingerprint,
            now_ms);
    if (incident->row.firing_count == 0 && (incident->row.status == LK_INCIDENT_TRIGGERED ||
                                            incident->row.status == LK_INCIDENT_ACKNOWLEDGED))
        s_incident_resolve(self, incident, NULL, NULL, now_ms);
    s_incident_touch(self, incident, now_ms);
}

static void s_fire_heartbeat(correlate_engine_t *self, correlate_monitor_t *monitor,
                             lk_alert_status_t status, int64_t now_ms);
static void s_monitor_write(correlate_engine_t *self, correlate_monitor_t *monitor, int64_t now_ms);

/* correlate_silences_expire's callback: the silence's tenant may have alerts to release. */
static void s_silence_ended(const char *tenant_id, void *arg)
{
    correlate_engine_t *self = arg;
    uintptr_t tenant = (uintptr_t)zhashx_lookup(self->tenants, tenant_id);
    if (tenant)
        s_recheck_queue(self, (uint32_t)(tenant - 1));
}

/* Entries whose alert's endsAt moved later (every Prometheus re-send) are only moved in the
   heap, a sift without a write: max bounds them at this many times the resolutions. */
#define S_END_REARMS_PER_END 16

size_t correlate_engine_end_due(correlate_engine_t *self, int64_t now_ms, size_t max)
{
    size_t ended = 0;
    size_t rearms_max =
        max > SIZE_MAX / S_END_REARMS_PER_END ? SIZE_MAX : max * S_END_REARMS_PER_END;
    size_t rearms = 0;
    while (ended < max && self->end_count > 0 && self->ends[0].deadline_ms <= now_ms) {
        s_end_entry_t due = self->ends[0];
        if (due.alert->ends_at_ms > due.deadline_ms) {
            if (rearms++ == rearms_max)
                break;
            s_end_set(self, due.alert, due.alert->ends_at_ms);
            continue;
        }
        s_end_remove(self, due.alert);
        s_alert_expire(self, due.alert, due.deadline_ms, now_ms);
        ended++;
    }
    return ended;
}

int64_t correlate_engine_next_end_ms(const correlate_engine_t *self)
{
    return self->end_count > 0 ? self->ends[0].deadline_ms : 0;
}

void correlate_engine_set_tick_end_limit(correlate_engine_t *self, size_t per_tick)
{
    self->tick_end_limit = per_tick;
}

size_t correlate_engine_tick(correlate_engine_t *self, int64_t now_ms)
{
    /* group_wait over: announce (stale entries: announced meanwhile, or gone) */
    while (self->announce_heap.count > 0 && self->announce_heap.entries[0].deadline_ms <= now_ms) {
        s_close_entry_t entry = self->announce_heap.entries[0];
        s_heap_pop(&self->announce_heap);
        s_incident_t *incident = zhashx_lookup(self->incidents, entry.incident_id);
        if (incident && incident->row.group_wait_until_ms == entry.deadline_ms)
            s_announce(self, incident, now_ms);
    }
    /* silences that ended: their tenants' silenced alerts are looked at again */
    correlate_silences_expire(self->silences, now_ms, s_silence_ended, self);
    /* heartbeat monitors not pinged in time */
    correlate_monitor_t *monitor;
    while ((monitor = correlate_monitors_pop_due(self->monitors, now_ms))) {
        monitor->row.missed = true;
        s_monitor_write(self, monitor, now_ms);
        s_fire_heartbeat(self, monitor, LK_ALERT_FIRING, now_ms);
    }
    correlate_engine_end_due(self, now_ms, self->tick_end_limit);
    s_rechecks_run(self, now_ms);

    size_t closed = 0;
    while (self->close_heap.count > 0 && self->close_heap.entries[0].deadline_ms <= now_ms) {
        s_incident_t *incident =
            zhashx_lookup(self->incidents, self->close_heap.entries[0].incident_id);
        s_heap_pop(&self->close_heap);
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
           self->pending.silence_count + self->pending.heartbeat_count +
           self->pending.alert_end_count + self->dirty_count;
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
    /* the route it was grouped under (by its key), as the configuration says now */
    incident->reopen_window_ms =
        s_reopen_window(self, s_route_of_group(s_root(self), row->group_key));
    if (row->group_wait_until_ms)
        s_heap_push(&self->announce_heap, row->group_wait_until_ms, row->id);
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

/* Forgets an alert met again in a snapshot (a later membership wins). */
static void s_load_forget(correlate_engine_t *self, s_alert_t *existing)
{
    if (existing->held) {
        s_held_drop(self, existing);
        return;
    }
    if (existing->status == LK_ALERT_FIRING)
        s_firing_remove(existing->incident, (lk_severity_t)existing->severity);
    s_source_clear(self, existing);
    s_unlink(existing);
    s_alert_remove(self, existing);
    s_record_release(self, existing);
}

/* A held alert of the snapshot (incident_id ""): held again, unless the alert is already
   known as a member of a live incident (memberships win). */
static void s_load_held(correlate_engine_t *self, const lk_alert_t *row)
{
    uint64_t fingerprint;
    if (!lk_uuid_valid(row->tenant_id) || !s_fingerprint_parse(row->fingerprint, &fingerprint) ||
        row->status != LK_ALERT_FIRING || row->state == LK_ALERT_ACTIVE)
        return;
    uint32_t tenant = s_tenant_intern(self, row->tenant_id);
    s_alert_t *existing = s_alert_find(self, tenant, fingerprint);
    /* a firing membership wins; a resolved one is the past of a re-fire that was held */
    if (existing && (existing->held || existing->status == LK_ALERT_FIRING))
        return;
    if (existing)
        s_load_forget(self, existing);
    s_routing_t routing;
    s_route(self, row->tenant_id, &row->labels, &routing);
    s_alert_t *entry = s_entry_new(self, tenant, fingerprint, s_content_hash(row),
                                   s_severity_clamp(row->severity), row->starts_at_ms);
    entry->severity_override = (int8_t)routing.severity_override;
    entry->updated_at_ms = row->updated_at_ms;
    entry->ends_at_ms = row->ends_at_ms;
    s_end_arm(self, entry); /* correlate_engine_load_finish adds the restart grace */
    s_held_t *held = s_alloc(sizeof *held);
    if (lk_alert_copy(&held->row, row) != 0)
        s_oom();
    if (!held->row.suppressed_by)
        held->row.suppressed_by = s_strdup("");
    held->entry = entry;
    s_tenant_state_t *state = &self->tenant_states[tenant];
    held->next = state->held;
    if (state->held)
        state->held->prev = held;
    state->held = held;
    state->held_count++;
    self->held_total++;
    entry->held = held;
    s_source_set(self, entry, &row->labels);
    /* what held it may be gone (a silence ended while correlate was down) */
    s_recheck_queue(self, tenant);
}

/* Returns false when the alert's incident is not loaded (yet). */
static bool s_load_alert(correlate_engine_t *self, const lk_alert_t *row)
{
    if (!row->incident_id[0]) {
        s_load_held(self, row);
        return true;
    }
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
        /* held and a resolved membership: the hold is newer (a re-fire that was held) */
        if (existing->held && row->status != LK_ALERT_FIRING)
            return true;
        /* one alert in two live incidents: keep its membership of the newer one */
        if (existing->incident &&
            existing->incident->row.created_at_ms > incident->row.created_at_ms)
            return true;
        s_load_forget(self, existing);
    }
    s_alert_t *entry = s_record_new(self);
    entry->fingerprint = fingerprint;
    entry->content_hash = s_content_hash(row);
    entry->tenant = incident->tenant;
    entry->severity = (uint8_t)s_severity_clamp(row->severity);
    entry->status = row->status == LK_ALERT_FIRING ? LK_ALERT_FIRING : LK_ALERT_RESOLVED;
    entry->starts_at_ms = row->starts_at_ms;
    entry->ends_at_ms = row->ends_at_ms;
    entry->updated_at_ms = row->updated_at_ms;
    entry->batch_slot = S_NO_SLOT;
    entry->end_slot = S_NO_SLOT;
    s_routing_t routing;
    s_route(self, row->tenant_id, &row->labels, &routing);
    entry->severity_override = (int8_t)routing.severity_override;
    s_link(incident, entry);
    s_alert_insert(self, entry);
    if (entry->status == LK_ALERT_FIRING) {
        s_firing_add(incident, (lk_severity_t)entry->severity);
        s_source_set(self, entry, &row->labels);
        s_end_arm(self, entry); /* correlate_engine_load_finish adds the restart grace */
    }
    return true;
}

/* A silence of the snapshot. */
static void s_load_silence(correlate_engine_t *self, const lk_silence_t *row)
{
    char err[256];
    if (!lk_uuid_valid(row->tenant_id) ||
        correlate_silences_put(self->silences, row, err, sizeof err) != 0)
        lk_warn("correlate: stored silence %s skipped: %s", row->id,
                lk_uuid_valid(row->tenant_id) ? err : "bad tenant");
}

/* A heartbeat monitor of the snapshot. */
static void s_load_heartbeat(correlate_engine_t *self, const lk_heartbeat_t *row)
{
    if (!lk_uuid_valid(row->tenant_id) || !row->name ||
        correlate_monitors_find(self->monitors, row->tenant_id, row->name))
        return;
    s_tenant_intern(self, row->tenant_id);
    correlate_monitor_t *monitor = correlate_monitors_add(self->monitors, row);
    monitor->batch_slot = S_NO_SLOT;
    correlate_monitors_arm(self->monitors, monitor);
}

int correlate_engine_load(correlate_engine_t *self, const lk_msg_t *page)
{
    for (size_t i = 0; i < page->silence_count; i++)
        s_load_silence(self, &page->silences[i]);
    for (size_t i = 0; i < page->heartbeat_count; i++)
        s_load_heartbeat(self, &page->heartbeats[i]);
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

static void s_declare_monitors(correlate_engine_t *self, int64_t now_ms);

size_t correlate_engine_load_finish(correlate_engine_t *self, int64_t now_ms)
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
    /* The stored endsAt of a firing alert may be older than its sender's last re-send
       (re-sends that only move endsAt are kept in memory, not written): no loaded alert ends
       before the restart grace has passed, so a live sender has time to re-send. Raising
       every deadline to at least one value keeps the heap ordered. */
    int64_t earliest_ms = now_ms + self->restart_grace_ms;
    for (size_t i = 0; i < self->end_count; i++)
        if (self->ends[i].deadline_ms < earliest_ms)
            self->ends[i].deadline_ms = earliest_ms;
    s_declare_monitors(self, now_ms);
    s_rechecks_run(self, now_ms);
    return dropped;
}

/* ---- public: configuration ----------------------------------------------------------------- */

void correlate_engine_set_restart_grace(correlate_engine_t *self, int64_t grace_ms)
{
    self->restart_grace_ms = grace_ms > 0 ? grace_ms : 0;
}

size_t correlate_engine_end_count(const correlate_engine_t *self)
{
    return self->end_count;
}

void correlate_engine_set_config(correlate_engine_t *self, const lk_config_t *config,
                                 uint32_t shard_count, uint32_t shard_index)
{
    assert(correlate_engine_alert_count(self) == 0 && correlate_engine_incident_count(self) == 0);
    self->config = config;
    self->shard_count = shard_count > 1 ? shard_count : 1;
    self->shard_index = shard_count > 1 ? shard_index : 0;
}

/* True when this engine's shard owns the tenant. */
static bool s_owns(const correlate_engine_t *self, const char *tenant_id)
{
    return self->shard_count <= 1 || lk_shard_of(tenant_id, self->shard_count) == self->shard_index;
}

/* ---- heartbeat monitors ------------------------------------------------------------------ */

/* Writes the monitor's row into the pending batch (a second write in the same batch
   replaces the first). */
static void s_monitor_write(correlate_engine_t *self, correlate_monitor_t *monitor, int64_t now_ms)
{
    lk_heartbeat_t *row = &monitor->row;
    row->updated_at_ms = now_ms > row->updated_at_ms ? now_ms : row->updated_at_ms + 1;
    row->given = 0;
    if (monitor->dirty_seq == self->next_seq &&
        monitor->batch_slot < self->pending.heartbeat_count) {
        lk_heartbeat_t *slot = &self->pending.heartbeats[monitor->batch_slot];
        lk_heartbeat_clear(slot);
        if (lk_heartbeat_copy(slot, row) != 0)
            s_oom();
        return;
    }
    monitor->batch_slot = (uint32_t)self->pending.heartbeat_count;
    if (lk_msg_add_heartbeat(&self->pending, row) != 0)
        s_oom();
    monitor->dirty_seq = self->next_seq;
}

/* Fires (or resolves) the monitor's heartbeat_missed alert through the ordinary alert path:
   routes, silences and inhibition apply to it like to any alert. */
static void s_fire_heartbeat(correlate_engine_t *self, correlate_monitor_t *monitor,
                             lk_alert_status_t status, int64_t now_ms)
{
    const lk_heartbeat_t *row = &monitor->row;
    lk_alert_t alert;
    memset(&alert, 0, sizeof alert);
    alert.source = s_strdup(S_HEARTBEAT_SOURCE);
    alert.name = s_strdup(S_HEARTBEAT_ALERT);
    if (lk_labels_copy(&alert.labels, &row->labels) != 0 ||
        lk_labels_set(&alert.labels, "alertname", S_HEARTBEAT_ALERT) != 0 ||
        lk_labels_set(&alert.labels, "monitor", row->name) != 0)
        s_oom();
    char summary[LK_HEARTBEAT_NAME_MAX + 96];
    snprintf(summary, sizeof summary, "heartbeat monitor %s was not pinged in time", row->name);
    if (lk_labels_set(&alert.annotations, "summary", summary) != 0)
        s_oom();
    alert.severity = row->severity;
    alert.status = status;
    alert.starts_at_ms = status == LK_ALERT_FIRING ? now_ms : 0;
    alert.ends_at_ms = status == LK_ALERT_RESOLVED ? now_ms : 0;
    lk_alert_result_t result;
    s_alert_one(self, row->tenant_id, &alert, now_ms, &result);
    lk_alert_clear(&alert);
}

/* Creates the configuration's monitors this shard owns that memory lacks, and gives the
   existing ones the configured settings (the file wins over pings' settings). */
static void s_declare_monitors(correlate_engine_t *self, int64_t now_ms)
{
    if (!self->config)
        return;
    for (size_t i = 0; i < self->config->routing.heartbeat_count; i++) {
        const lk_heartbeat_decl_t *decl = &self->config->routing.heartbeats[i];
        if (!s_owns(self, decl->tenant_id))
            continue;
        correlate_monitor_t *monitor =
            correlate_monitors_find(self->monitors, decl->tenant_id, decl->name);
        if (!monitor) {
            lk_heartbeat_t row;
            memset(&row, 0, sizeof row);
            memcpy(row.tenant_id, decl->tenant_id, sizeof row.tenant_id);
            row.name = decl->name;
            row.created_at_ms = now_ms;
            s_tenant_intern(self, decl->tenant_id);
            monitor = correlate_monitors_add(self->monitors, &row);
            monitor->batch_slot = S_NO_SLOT;
        } else if (monitor->row.interval_ms == decl->interval_ms &&
                   monitor->row.grace_ms == decl->grace_ms &&
                   monitor->row.severity == decl->severity &&
                   lk_labels_equal(&monitor->row.labels, &decl->labels)) {
            monitor->declared = true;
            continue;
        }
        monitor->declared = true;
        monitor->row.interval_ms = decl->interval_ms;
        monitor->row.grace_ms = decl->grace_ms;
        monitor->row.severity = decl->severity;
        lk_labels_clear(&monitor->row.labels);
        if (lk_labels_copy(&monitor->row.labels, &decl->labels) != 0)
            s_oom();
        s_monitor_write(self, monitor, now_ms);
        correlate_monitors_arm(self->monitors, monitor);
    }
}

static bool s_heartbeat_name_valid(const char *name)
{
    size_t length = name ? strlen(name) : 0;
    if (length == 0 || length > LK_HEARTBEAT_NAME_MAX)
        return false;
    for (const char *c = name; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '-' || *c == '.'))
            return false;
    return true;
}

/* Initialises reply as a control_reply echoing request's req and tenant. */
static void s_control_reply(lk_msg_t *reply, const lk_msg_t *request)
{
    lk_msg_init(reply, LK_MSG_CONTROL_REPLY);
    reply->req = request->req;
    memcpy(reply->tenant_id, request->tenant_id, sizeof reply->tenant_id);
    reply->status = LK_STATUS_OK;
}

uint64_t correlate_engine_heartbeat(correlate_engine_t *self, const lk_msg_t *request,
                                    lk_msg_t *reply, int64_t now_ms)
{
    s_control_reply(reply, request);
    if (request->heartbeat_count != 1 || !s_heartbeat_name_valid(request->heartbeats[0].name)) {
        s_reply_error(reply, LK_STATUS_INVALID,
                      "a ping names one monitor: 1 to 128 of letters, digits, '_', '-', '.'");
        return 0;
    }
    const lk_heartbeat_t *ping = &request->heartbeats[0];
    if (((ping->given & LK_HEARTBEAT_GIVEN_INTERVAL) && ping->interval_ms < 1000) ||
        ((ping->given & LK_HEARTBEAT_GIVEN_GRACE) && ping->grace_ms < 0)) {
        s_reply_error(reply, LK_STATUS_INVALID, "interval must be at least 1 s, grace >= 0");
        return 0;
    }
    correlate_monitor_t *monitor =
        correlate_monitors_find(self->monitors, request->tenant_id, ping->name);
    if (!monitor) {
        if (!(ping->given & LK_HEARTBEAT_GIVEN_INTERVAL)) {
            s_reply_error(reply, LK_STATUS_NOT_FOUND,
                          "unknown heartbeat monitor: declare it in the configuration "
                          "(heartbeats:) or give interval_s with the ping");
            return 0;
        }
        lk_heartbeat_t row;
        memset(&row, 0, sizeof row);
        memcpy(row.tenant_id, request->tenant_id, sizeof row.tenant_id);
        row.name = ping->name;
        row.severity = LK_SEV_CRITICAL;
        row.created_at_ms = now_ms;
        s_tenant_intern(self, request->tenant_id);
        monitor = correlate_monitors_add(self->monitors, &row);
        monitor->batch_slot = S_NO_SLOT;
    }
    /* the configuration decides the settings of the monitors it declares */
    if (!monitor->declared) {
        if (ping->given & LK_HEARTBEAT_GIVEN_INTERVAL)
            monitor->row.interval_ms = ping->interval_ms;
        if (ping->given & LK_HEARTBEAT_GIVEN_GRACE)
            monitor->row.grace_ms = ping->grace_ms;
        if (ping->given & LK_HEARTBEAT_GIVEN_SEVERITY)
            monitor->row.severity = s_severity_clamp(ping->severity);
        if (ping->given & LK_HEARTBEAT_GIVEN_LABELS) {
            lk_labels_clear(&monitor->row.labels);
            if (lk_labels_copy(&monitor->row.labels, &ping->labels) != 0)
                s_oom();
        }
    }
    bool was_missed = monitor->row.missed;
    monitor->row.last_ping_at_ms = now_ms;
    monitor->row.missed = false;
    s_monitor_write(self, monitor, now_ms);
    correlate_monitors_arm(self->monitors, monitor);
    if (was_missed)
        s_fire_heartbeat(self, monitor, LK_ALERT_RESOLVED, now_ms);
    s_rechecks_run(self, now_ms);
    reply->changed = true;
    if (lk_msg_add_heartbeat(reply, &monitor->row) != 0)
        s_oom();
    return self->next_seq;
}

/* ---- silences ---------------------------------------------------------------------------- */

uint64_t correlate_engine_silence(correlate_engine_t *self, const lk_msg_t *request,
                                  lk_msg_t *reply, int64_t now_ms)
{
    s_control_reply(reply, request);
    if (request->silence_count != 1) {
        s_reply_error(reply, LK_STATUS_INVALID, "a silence command carries one silence");
        return 0;
    }
    const lk_silence_t *given = &request->silences[0];
    const lk_silence_t *existing =
        given->id[0] ? correlate_silences_get(self->silences, request->tenant_id, given->id) : NULL;
    if (given->id[0] && !existing) {
        s_reply_error(reply, LK_STATUS_NOT_FOUND, "silence not found (or already expired)");
        return 0;
    }
    lk_silence_t row;
    char err[256];
    if (request->silence_action == LK_SILENCE_EXPIRE) {
        if (!existing) {
            s_reply_error(reply, LK_STATUS_INVALID, "expire needs a silence id");
            return 0;
        }
        if (lk_silence_copy(&row, existing) != 0)
            s_oom();
        if (row.starts_at_ms > now_ms)
            row.starts_at_ms = now_ms; /* a pending silence ends before it began */
        row.ends_at_ms = now_ms;
        row.updated_at_ms = now_ms > row.updated_at_ms ? now_ms : row.updated_at_ms + 1;
        correlate_silences_remove(self->silences, row.id);
    } else {
        if (given->matcher_count == 0) {
            s_reply_error(reply, LK_STATUS_INVALID, "a silence needs at least one matcher");
            return 0;
        }
        for (size_t i = 0; i < given->matcher_count; i++)
            if (lk_matcher_check(&given->matchers[i], err, sizeof err) != 0) {
                s_reply_error(reply, LK_STATUS_INVALID, err);
                return 0;
            }
        if (lk_silence_copy(&row, given) != 0)
            s_oom();
        memcpy(row.tenant_id, request->tenant_id, sizeof row.tenant_id);
        if (!row.starts_at_ms)
            row.starts_at_ms = now_ms;
        if (row.ends_at_ms <= now_ms || row.ends_at_ms <= row.starts_at_ms) {
            lk_silence_clear(&row);
            s_reply_error(reply, LK_STATUS_INVALID,
                          "endsAt must be in the future and after startsAt");
            return 0;
        }
        if (!row.created_by || !*row.created_by) {
            free(row.created_by);
            row.created_by = s_strdup(request->actor);
        }
        if (!row.comment)
            row.comment = s_strdup("");
        if (existing) {
            row.created_at_ms = existing->created_at_ms;
            row.updated_at_ms =
                now_ms > existing->updated_at_ms ? now_ms : existing->updated_at_ms + 1;
        } else {
            lk_uuid7(row.id);
            row.created_at_ms = now_ms;
            row.updated_at_ms = now_ms;
        }
        if (correlate_silences_put(self->silences, &row, err, sizeof err) != 0) {
            lk_silence_clear(&row);
            s_reply_error(reply, LK_STATUS_INVALID, err);
            return 0;
        }
    }
    if (lk_msg_add_silence(&self->pending, &row) != 0 || lk_msg_add_silence(reply, &row) != 0)
        s_oom();
    reply->changed = true;
    /* a changed or ended silence may let held alerts of the tenant go; a new one holds only
       alerts that arrive (or re-fire into a resolved incident) from now on */
    if (existing) {
        uintptr_t tenant = (uintptr_t)zhashx_lookup(self->tenants, request->tenant_id);
        if (tenant)
            s_recheck_queue(self, (uint32_t)(tenant - 1));
        s_rechecks_run(self, now_ms);
    }
    lk_silence_clear(&row);
    return self->next_seq;
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

bool correlate_engine_move_slots(correlate_engine_t *self, size_t slots)
{
    if (self->old_slots)
        s_alert_move_old(self, slots);
    else if (self->retired && slots > 0)
        s_retire_step(self, false);
    else if (slots > 0 && s_next_wanted(self))
        s_next_prepare(self);
    return self->old_slots || self->retired || s_next_wanted(self);
}

size_t correlate_engine_alert_count(const correlate_engine_t *self)
{
    return self->alert_count;
}

size_t correlate_engine_record_count(const correlate_engine_t *self)
{
    return self->slab_count * S_ALERT_SLAB;
}

size_t correlate_engine_incident_count(const correlate_engine_t *self)
{
    return zhashx_size(self->incidents);
}

void correlate_engine_status_counts(const correlate_engine_t *self,
                                    size_t counts[LK_INCIDENT_CLOSED + 1])
{
    memset(counts, 0, (LK_INCIDENT_CLOSED + 1) * sizeof *counts);
    /* zhashx iterates through a cursor kept in the table: reading needs the mutable handle */
    zhashx_t *incidents = self->incidents;
    for (const s_incident_t *incident = zhashx_first(incidents); incident;
         incident = zhashx_next(incidents))
        if (incident->row.status <= LK_INCIDENT_CLOSED)
            counts[incident->row.status]++;
}

size_t correlate_engine_held_count(const correlate_engine_t *self)
{
    return self->held_total;
}

size_t correlate_engine_silence_count(const correlate_engine_t *self)
{
    return correlate_silences_count(self->silences);
}

size_t correlate_engine_monitor_count(const correlate_engine_t *self)
{
    return correlate_monitors_count(self->monitors);
}

const lk_alert_t *correlate_engine_held(const correlate_engine_t *self, const char *tenant_id,
                                        const char *fingerprint)
{
    uintptr_t tenant = (uintptr_t)zhashx_lookup(self->tenants, tenant_id);
    uint64_t value;
    if (!tenant || !s_fingerprint_parse(fingerprint, &value))
        return NULL;
    const s_alert_t *alert = s_alert_find(self, (uint32_t)(tenant - 1), value);
    return alert && alert->held ? &alert->held->row : NULL;
}
