/*  lk_metrics — the process-wide metrics registry and its text exposition (see lk_metrics.h).

    Layout: the registry is a list of families (append-only, under s_registry_lock). Each
    labelled family owns a fixed open-addressing table of series pointers: a slot goes from
    NULL to a series exactly once (release store, under the family lock) and never changes
    again, so readers probe it with acquire loads and no lock. The table has twice as many
    slots as the family may hold series, so probes stay short and an empty slot always ends
    an unsuccessful search.

    Values are 64-bit atomics: counters count in integers, gauges and histogram sums keep a
    double's bits (updated with a compare-and-swap loop), histogram buckets count per bucket
    (not cumulative) and are summed up at render time, so an observation is two atomic
    operations whatever the number of buckets.
*/
#include "lk_metrics.h"

#include <assert.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "lk_env.h"
#include "lk_sock.h"
#include "lk_time.h"

#ifndef LOOKOUT_VERSION
#define LOOKOUT_VERSION "unknown"
#endif
#ifndef LOOKOUT_REVISION
#define LOOKOUT_REVISION "unknown"
#endif

/* Table slots of a labelled family: twice LK_METRICS_SERIES_MAX (a power of two). */
#define S_TABLE_SLOTS (2 * LK_METRICS_SERIES_MAX)
/* Tenant label values: LOOKOUT_METRICS_TENANT_LIMIT is capped so the table stays sparse. */
#define S_TENANT_LIMIT_MAX 1000
#define S_TENANT_SLOTS     4096

const double lk_metrics_latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,   0.5,   1,      2.5,   5,    10,    30};
const size_t lk_metrics_latency_bucket_count =
    sizeof lk_metrics_latency_buckets / sizeof *lk_metrics_latency_buckets;
const double lk_metrics_size_buckets[] = {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536};
const size_t lk_metrics_size_bucket_count =
    sizeof lk_metrics_size_buckets / sizeof *lk_metrics_size_buckets;

typedef enum { S_COUNTER = 0, S_GAUGE, S_HISTOGRAM } s_type_t;

static const char *s_type_names[] = {"counter", "gauge", "histogram"};

struct lk_metrics_series_t {
    uint64_t hash;
    lk_metrics_series_t *next; /* creation order; set before the series is published */
    lk_metrics_t *metric;
    const char *values[LK_METRICS_LABELS_MAX]; /* point into the same allocation */
    _Atomic uint64_t value;     /* counter: the count; gauge: double bits; histogram: sum bits */
    _Atomic uint64_t buckets[]; /* histogram: bound_count + 1 per-bucket counts (+Inf last) */
};

struct lk_metrics_t {
    char *name;
    char *help;
    s_type_t type;
    size_t label_count;
    char *label_names[LK_METRICS_LABELS_MAX];
    double bounds[LK_METRICS_BUCKETS_MAX];
    size_t bound_count;
    lk_metrics_fn fn; /* scrape-time value (label-less only) */
    void *fn_arg;
    pthread_mutex_t lock; /* series creation and the list walk of render */
    _Atomic(lk_metrics_series_t *) *table;
    size_t series_count;
    lk_metrics_series_t *first, *last;
    lk_metrics_series_t *sink; /* labelled families: what an overflowing label set updates */
    lk_metrics_t *next;
};

typedef struct s_text_t {
    char *name;
    char *text;
    struct s_text_t *next;
} s_text_t;

static pthread_mutex_t s_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static lk_metrics_t *s_first, *s_last;
static s_text_t *s_texts;
static atomic_uint_fast64_t s_dropped;

/* ---- helpers ----------------------------------------------------------------------------- */

static void *s_alloc(size_t size)
{
    void *data = calloc(1, size);
    if (!data) {
        fputs("lk_metrics: out of memory\n", stderr);
        abort();
    }
    return data;
}

static char *s_strdup(const char *text)
{
    size_t size = strlen(text) + 1;
    char *copy = s_alloc(size);
    memcpy(copy, text, size);
    return copy;
}

static uint64_t s_bits(double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

static double s_double(uint64_t bits)
{
    double value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

/* Adds delta to the double kept in *cell. */
static void s_atomic_add_double(_Atomic uint64_t *cell, double delta)
{
    uint64_t old = atomic_load_explicit(cell, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(cell, &old, s_bits(s_double(old) + delta),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

static bool s_name_valid(const char *name, bool metric)
{
    if (!name || !*name)
        return false;
    for (const char *c = name; *c; c++) {
        bool letter = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' ||
                      (metric && *c == ':');
        bool digit = *c >= '0' && *c <= '9';
        if (!letter && !(digit && c != name))
            return false;
    }
    return metric || strncmp(name, "__", 2) != 0;
}

/* FNV-1a 64 over the values, each followed by 0xff (which UTF-8 never contains). */
static uint64_t s_hash(const char *const *values, size_t count)
{
    uint64_t hash = 14695981039346656037ULL;
    for (size_t i = 0; i < count; i++) {
        for (const unsigned char *c = (const unsigned char *)values[i]; *c; c++) {
            hash ^= *c;
            hash *= 1099511628211ULL;
        }
        hash ^= 0xff;
        hash *= 1099511628211ULL;
    }
    return hash;
}

/* ---- registration ------------------------------------------------------------------------ */

static lk_metrics_series_t *s_series_new(lk_metrics_t *metric, const char *const *values,
                                         uint64_t hash)
{
    size_t buckets = metric->type == S_HISTOGRAM ? metric->bound_count + 1 : 0;
    size_t head = sizeof(lk_metrics_series_t) + buckets * sizeof(_Atomic uint64_t);
    size_t text = 0;
    for (size_t i = 0; i < metric->label_count; i++)
        text += strlen(values[i]) + 1;
    lk_metrics_series_t *series = s_alloc(head + text);
    series->hash = hash;
    series->metric = metric;
    char *cursor = (char *)series + head;
    for (size_t i = 0; i < metric->label_count; i++) {
        size_t size = strlen(values[i]) + 1;
        memcpy(cursor, values[i], size);
        series->values[i] = cursor;
        cursor += size;
    }
    atomic_init(&series->value, metric->type == S_COUNTER ? 0 : s_bits(0.0));
    for (size_t i = 0; i < buckets; i++)
        atomic_init(&series->buckets[i], 0);
    return series;
}

/* Appends series to the family's render list (family lock held). */
static void s_series_append(lk_metrics_t *metric, lk_metrics_series_t *series)
{
    if (metric->last)
        metric->last->next = series;
    else
        metric->first = series;
    metric->last = series;
    metric->series_count++;
}

/* Splits "a,b" into the family's label names; asserts on invalid names. */
static void s_parse_labels(lk_metrics_t *metric, const char *labels)
{
    if (!labels || !*labels)
        return;
    const char *cursor = labels;
    while (cursor) {
        const char *end = strchr(cursor, ',');
        size_t length = end ? (size_t)(end - cursor) : strlen(cursor);
        assert(metric->label_count < LK_METRICS_LABELS_MAX);
        char *name = s_alloc(length + 1);
        memcpy(name, cursor, length);
        assert(s_name_valid(name, false));
        assert(!(metric->type == S_HISTOGRAM && strcmp(name, "le") == 0));
        metric->label_names[metric->label_count++] = name;
        cursor = end ? end + 1 : NULL;
    }
}

/* True when an existing family matches a new registration exactly. */
static bool s_same_shape(const lk_metrics_t *a, const lk_metrics_t *b)
{
    if (a->type != b->type || a->label_count != b->label_count ||
        a->bound_count != b->bound_count || (a->fn == NULL) != (b->fn == NULL))
        return false;
    for (size_t i = 0; i < a->label_count; i++)
        if (strcmp(a->label_names[i], b->label_names[i]) != 0)
            return false;
    for (size_t i = 0; i < a->bound_count; i++)
        if (a->bounds[i] != b->bounds[i])
            return false;
    return true;
}

static void s_family_free(lk_metrics_t *metric)
{
    for (size_t i = 0; i < metric->label_count; i++)
        free(metric->label_names[i]);
    free(metric->name);
    free(metric->help);
    free(metric);
}

static lk_metrics_t *s_register(const char *name, const char *help, s_type_t type,
                                const char *labels, const double *bounds, size_t bound_count,
                                lk_metrics_fn fn, void *fn_arg)
{
    assert(s_name_valid(name, true));
    assert(help);
    lk_metrics_t *candidate = s_alloc(sizeof *candidate);
    candidate->type = type;
    candidate->fn = fn;
    candidate->fn_arg = fn_arg;
    s_parse_labels(candidate, labels);
    assert(bound_count <= LK_METRICS_BUCKETS_MAX);
    for (size_t i = 0; i < bound_count; i++) {
        assert(isfinite(bounds[i]) && (i == 0 || bounds[i] > bounds[i - 1]));
        candidate->bounds[i] = bounds[i];
    }
    candidate->bound_count = bound_count;

    pthread_mutex_lock(&s_registry_lock);
    for (lk_metrics_t *metric = s_first; metric; metric = metric->next) {
        if (strcmp(metric->name, name) == 0) {
            pthread_mutex_unlock(&s_registry_lock);
            /* the same name with another shape would render an invalid exposition */
            assert(s_same_shape(metric, candidate));
            s_family_free(candidate);
            return metric;
        }
    }
    lk_metrics_t *metric = candidate;
    metric->name = s_strdup(name);
    metric->help = s_strdup(help);
    pthread_mutex_init(&metric->lock, NULL);
    if (metric->label_count > 0) {
        metric->table = s_alloc(S_TABLE_SLOTS * sizeof *metric->table);
        const char *empty[LK_METRICS_LABELS_MAX] = {"", "", "", ""};
        metric->sink = s_series_new(metric, empty, 0);
    } else if (!fn)
        s_series_append(metric, s_series_new(metric, NULL, 0));
    if (s_last)
        s_last->next = metric;
    else
        s_first = metric;
    s_last = metric;
    pthread_mutex_unlock(&s_registry_lock);
    return metric;
}

lk_metrics_t *lk_metrics_counter(const char *name, const char *help, const char *labels)
{
    return s_register(name, help, S_COUNTER, labels, NULL, 0, NULL, NULL);
}

lk_metrics_t *lk_metrics_gauge(const char *name, const char *help, const char *labels)
{
    return s_register(name, help, S_GAUGE, labels, NULL, 0, NULL, NULL);
}

lk_metrics_t *lk_metrics_histogram(const char *name, const char *help, const char *labels,
                                   const double *bounds, size_t bound_count)
{
    assert(bounds && bound_count > 0);
    return s_register(name, help, S_HISTOGRAM, labels, bounds, bound_count, NULL, NULL);
}

lk_metrics_t *lk_metrics_counter_fn(const char *name, const char *help, lk_metrics_fn fn, void *arg)
{
    assert(fn);
    return s_register(name, help, S_COUNTER, NULL, NULL, 0, fn, arg);
}

lk_metrics_t *lk_metrics_gauge_fn(const char *name, const char *help, lk_metrics_fn fn, void *arg)
{
    assert(fn);
    return s_register(name, help, S_GAUGE, NULL, NULL, 0, fn, arg);
}

/* ---- series ------------------------------------------------------------------------------ */

static bool s_values_equal(const lk_metrics_series_t *series, const char *const *values,
                           size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(series->values[i], values[i]) != 0)
            return false;
    return true;
}

/* Probes the table for values. Returns the series, or NULL with *slot_p at the empty slot
   that ended the search (or SIZE_MAX when the table is full). */
static lk_metrics_series_t *s_find(lk_metrics_t *metric, const char *const *values, uint64_t hash,
                                   size_t *slot_p)
{
    size_t mask = S_TABLE_SLOTS - 1;
    size_t slot = (size_t)hash & mask;
    for (size_t probe = 0; probe < S_TABLE_SLOTS; probe++) {
        lk_metrics_series_t *series =
            atomic_load_explicit(&metric->table[slot], memory_order_acquire);
        if (!series) {
            *slot_p = slot;
            return NULL;
        }
        if (series->hash == hash && s_values_equal(series, values, metric->label_count))
            return series;
        slot = (slot + 1) & mask;
    }
    *slot_p = SIZE_MAX;
    return NULL;
}

lk_metrics_series_t *lk_metrics_labels(lk_metrics_t *metric, const char *const *values)
{
    assert(metric && values);
    if (metric->label_count == 0) {
        assert(values[0] == NULL);
        return metric->first;
    }
    for (size_t i = 0; i < metric->label_count; i++)
        assert(values[i]);                       /* fewer values than labels */
    assert(values[metric->label_count] == NULL); /* more values than labels */
    uint64_t hash = s_hash(values, metric->label_count);
    size_t slot;
    lk_metrics_series_t *series = s_find(metric, values, hash, &slot);
    if (series)
        return series;

    pthread_mutex_lock(&metric->lock);
    series = s_find(metric, values, hash, &slot); /* another thread may have created it */
    if (!series) {
        if (metric->series_count >= LK_METRICS_SERIES_MAX || slot == SIZE_MAX) {
            atomic_fetch_add(&s_dropped, 1);
            series = metric->sink;
        } else {
            series = s_series_new(metric, values, hash);
            s_series_append(metric, series);
            atomic_store_explicit(&metric->table[slot], series, memory_order_release);
        }
    }
    pthread_mutex_unlock(&metric->lock);
    return series;
}

lk_metrics_series_t *lk_metrics_series(lk_metrics_t *metric)
{
    assert(metric && metric->label_count == 0 && !metric->fn);
    return metric->first;
}

void lk_metrics_inc(lk_metrics_series_t *series)
{
    assert(series->metric->type == S_COUNTER);
    atomic_fetch_add_explicit(&series->value, 1, memory_order_relaxed);
}

void lk_metrics_add(lk_metrics_series_t *series, uint64_t amount)
{
    assert(series->metric->type == S_COUNTER);
    atomic_fetch_add_explicit(&series->value, amount, memory_order_relaxed);
}

void lk_metrics_set(lk_metrics_series_t *series, double value)
{
    assert(series->metric->type == S_GAUGE);
    atomic_store_explicit(&series->value, s_bits(value), memory_order_relaxed);
}

void lk_metrics_gauge_add(lk_metrics_series_t *series, double delta)
{
    assert(series->metric->type == S_GAUGE);
    s_atomic_add_double(&series->value, delta);
}

void lk_metrics_observe(lk_metrics_series_t *series, double value)
{
    const lk_metrics_t *metric = series->metric;
    assert(metric->type == S_HISTOGRAM);
    size_t bucket = 0;
    /* NaN lands in +Inf (every comparison with it is false), as in client_golang */
    while (bucket < metric->bound_count && !(value <= metric->bounds[bucket]))
        bucket++;
    atomic_fetch_add_explicit(&series->buckets[bucket], 1, memory_order_relaxed);
    s_atomic_add_double(&series->value, value);
}

double lk_metrics_value(const lk_metrics_series_t *series)
{
    const lk_metrics_t *metric = series->metric;
    lk_metrics_series_t *mutable = (lk_metrics_series_t *)series;
    if (metric->type == S_COUNTER)
        return (double)atomic_load_explicit(&mutable->value, memory_order_relaxed);
    if (metric->type == S_GAUGE)
        return s_double(atomic_load_explicit(&mutable->value, memory_order_relaxed));
    uint64_t count = 0;
    for (size_t i = 0; i <= metric->bound_count; i++)
        count += atomic_load_explicit(&mutable->buckets[i], memory_order_relaxed);
    return (double)count;
}

double lk_metrics_sum(const lk_metrics_series_t *series)
{
    if (series->metric->type != S_HISTOGRAM)
        return 0;
    lk_metrics_series_t *mutable = (lk_metrics_series_t *)series;
    return s_double(atomic_load_explicit(&mutable->value, memory_order_relaxed));
}

/* ---- tenants ----------------------------------------------------------------------------- */

static pthread_once_t s_tenant_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t s_tenant_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t s_tenant_limit;
static atomic_size_t s_tenant_count;
static _Atomic(char *) s_tenants[S_TENANT_SLOTS];

static void s_tenant_init(void)
{
    s_tenant_limit = (size_t)lk_env_int("LOOKOUT_METRICS_TENANT_LIMIT", 100, 0, S_TENANT_LIMIT_MAX);
}

/* Probes the tenant table; returns the admitted copy, or NULL with *slot_p at the free slot. */
static const char *s_tenant_find(const char *tenant_id, uint64_t hash, size_t *slot_p)
{
    size_t slot = (size_t)hash & (S_TENANT_SLOTS - 1);
    while (true) {
        char *known = atomic_load_explicit(&s_tenants[slot], memory_order_acquire);
        if (!known) {
            *slot_p = slot;
            return NULL;
        }
        if (strcmp(known, tenant_id) == 0)
            return known;
        slot = (slot + 1) & (S_TENANT_SLOTS - 1);
    }
}

const char *lk_metrics_tenant(const char *tenant_id)
{
    if (!tenant_id || !*tenant_id)
        return "";
    pthread_once(&s_tenant_once, s_tenant_init);
    uint64_t hash = s_hash(&tenant_id, 1);
    size_t slot;
    const char *known = s_tenant_find(tenant_id, hash, &slot);
    if (known)
        return known;
    /* the table never holds more than S_TENANT_LIMIT_MAX of its S_TENANT_SLOTS, so the
       probe above always ends at a free slot */
    if (atomic_load_explicit(&s_tenant_count, memory_order_relaxed) >= s_tenant_limit)
        return LK_METRICS_OTHER;
    pthread_mutex_lock(&s_tenant_lock);
    known = s_tenant_find(tenant_id, hash, &slot);
    if (!known && atomic_load(&s_tenant_count) < s_tenant_limit) {
        char *copy = s_strdup(tenant_id);
        atomic_store_explicit(&s_tenants[slot], copy, memory_order_release);
        atomic_fetch_add(&s_tenant_count, 1);
        known = copy;
    }
    pthread_mutex_unlock(&s_tenant_lock);
    return known ? known : LK_METRICS_OTHER;
}

/* ---- text blocks --------------------------------------------------------------------------- */

void lk_metrics_set_text(const char *name, char *text)
{
    assert(name);
    pthread_mutex_lock(&s_registry_lock);
    s_text_t **link = &s_texts;
    while (*link && strcmp((*link)->name, name) != 0)
        link = &(*link)->next;
    if (*link) {
        free((*link)->text);
        (*link)->text = text;
    } else if (text) {
        s_text_t *block = s_alloc(sizeof *block);
        block->name = s_strdup(name);
        block->text = text;
        *link = block;
    }
    pthread_mutex_unlock(&s_registry_lock);
}

/* ---- exposition -------------------------------------------------------------------------- */

void lk_metrics_format_double(double value, char *buf, size_t buf_size)
{
    if (isnan(value))
        snprintf(buf, buf_size, "NaN");
    else if (isinf(value))
        snprintf(buf, buf_size, value > 0 ? "+Inf" : "-Inf");
    else if (value == floor(value) && fabs(value) < 1e15)
        snprintf(buf, buf_size, "%.0f", value);
    else {
        snprintf(buf, buf_size, "%.15g", value);
        if (strtod(buf, NULL) != value)
            snprintf(buf, buf_size, "%.17g", value);
    }
}

/* HELP text: backslash and newline escaped. */
static void s_write_help(FILE *out, const char *text)
{
    for (const char *c = text; *c; c++) {
        if (*c == '\\')
            fputs("\\\\", out);
        else if (*c == '\n')
            fputs("\\n", out);
        else
            fputc(*c, out);
    }
}

/* A label value: backslash, double quote and newline escaped. */
static void s_write_label_value(FILE *out, const char *text)
{
    for (const char *c = text; *c; c++) {
        if (*c == '\\')
            fputs("\\\\", out);
        else if (*c == '"')
            fputs("\\\"", out);
        else if (*c == '\n')
            fputs("\\n", out);
        else
            fputc(*c, out);
    }
}

/* name{labels[,le="bound"]} value */
static void s_write_sample(FILE *out, const lk_metrics_t *metric, const char *suffix,
                           const lk_metrics_series_t *series, const char *le, const char *value)
{
    fputs(metric->name, out);
    fputs(suffix, out);
    if (metric->label_count > 0 || le) {
        fputc('{', out);
        for (size_t i = 0; i < metric->label_count; i++) {
            fprintf(out, "%s%s=\"", i ? "," : "", metric->label_names[i]);
            s_write_label_value(out, series->values[i]);
            fputc('"', out);
        }
        if (le)
            fprintf(out, "%sle=\"%s\"", metric->label_count ? "," : "", le);
        fputc('}', out);
    }
    fputc(' ', out);
    fputs(value, out);
    fputc('\n', out);
}

static void s_write_series(FILE *out, const lk_metrics_t *metric, lk_metrics_series_t *series)
{
    char value[48];
    if (metric->type == S_COUNTER) {
        snprintf(value, sizeof value, "%llu",
                 (unsigned long long)atomic_load_explicit(&series->value, memory_order_relaxed));
        s_write_sample(out, metric, "", series, NULL, value);
        return;
    }
    if (metric->type == S_GAUGE) {
        lk_metrics_format_double(
            s_double(atomic_load_explicit(&series->value, memory_order_relaxed)), value,
            sizeof value);
        s_write_sample(out, metric, "", series, NULL, value);
        return;
    }
    /* one pass over the per-bucket counts gives the cumulative buckets and a count that
       always equals the +Inf bucket, as the format requires */
    uint64_t cumulative = 0;
    char le[48];
    for (size_t i = 0; i <= metric->bound_count; i++) {
        cumulative += atomic_load_explicit(&series->buckets[i], memory_order_relaxed);
        if (i < metric->bound_count)
            lk_metrics_format_double(metric->bounds[i], le, sizeof le);
        else
            snprintf(le, sizeof le, "+Inf");
        snprintf(value, sizeof value, "%llu", (unsigned long long)cumulative);
        s_write_sample(out, metric, "_bucket", series, le, value);
    }
    lk_metrics_format_double(s_double(atomic_load_explicit(&series->value, memory_order_relaxed)),
                             value, sizeof value);
    s_write_sample(out, metric, "_sum", series, NULL, value);
    snprintf(value, sizeof value, "%llu", (unsigned long long)cumulative);
    s_write_sample(out, metric, "_count", series, NULL, value);
}

char *lk_metrics_render(size_t *size)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    if (!out)
        return NULL;
    pthread_mutex_lock(&s_registry_lock);
    for (lk_metrics_t *metric = s_first; metric; metric = metric->next) {
        fprintf(out, "# HELP %s ", metric->name);
        s_write_help(out, metric->help);
        fprintf(out, "\n# TYPE %s %s\n", metric->name, s_type_names[metric->type]);
        if (metric->fn) {
            char value[48];
            lk_metrics_format_double(metric->fn(metric->fn_arg), value, sizeof value);
            s_write_sample(out, metric, "", NULL, NULL, value);
            continue;
        }
        pthread_mutex_lock(&metric->lock);
        for (lk_metrics_series_t *series = metric->first; series; series = series->next)
            s_write_series(out, metric, series);
        pthread_mutex_unlock(&metric->lock);
    }
    for (s_text_t *block = s_texts; block; block = block->next)
        if (block->text)
            fputs(block->text, out);
    pthread_mutex_unlock(&s_registry_lock);
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    if (size)
        *size = length;
    return text;
}

/* ---- process metrics ----------------------------------------------------------------------- */

static double s_start_time_s;

static double s_cpu_seconds(void *arg)
{
    struct timespec used;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &used) != 0)
        return 0;
    return (double)used.tv_sec + (double)used.tv_nsec / 1e9;
}

/* Field index (0 = size, 1 = resident) of /proc/self/statm, in bytes. */
static double s_statm_bytes(int field)
{
    FILE *file = fopen("/proc/self/statm", "r");
    if (!file)
        return 0;
    unsigned long pages[2] = {0, 0};
    int read = fscanf(file, "%lu %lu", &pages[0], &pages[1]);
    fclose(file);
    if (read != 2)
        return 0;
    return (double)pages[field] * (double)sysconf(_SC_PAGESIZE);
}

static double s_resident_bytes(void *arg)
{
    return s_statm_bytes(1);
}

static double s_virtual_bytes(void *arg)
{
    return s_statm_bytes(0);
}

static double s_open_fds(void *arg)
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return 0;
    double count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)))
        if (entry->d_name[0] != '.')
            count++;
    closedir(dir);
    return count - 1; /* the directory stream's own descriptor */
}

static double s_max_fds(void *arg)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
        return 0;
    return (double)limit.rlim_cur;
}

static double s_start_time(void *arg)
{
    return s_start_time_s;
}

static double s_malformed(void *arg)
{
    return (double)lk_sock_malformed_total();
}

static double s_series_dropped(void *arg)
{
    return (double)atomic_load(&s_dropped);
}

void lk_metrics_process_init(const char *program)
{
    pthread_mutex_lock(&s_registry_lock);
    if (s_start_time_s == 0)
        s_start_time_s = (double)lk_now_ms() / 1000.0;
    pthread_mutex_unlock(&s_registry_lock);
    /* the standard names of Prometheus' process collector, so existing dashboards work */
    lk_metrics_gauge_fn("process_start_time_seconds",
                        "Start time of the process since unix epoch in seconds.", s_start_time,
                        NULL);
    lk_metrics_counter_fn("process_cpu_seconds_total",
                          "Total user and system CPU time spent in seconds.", s_cpu_seconds, NULL);
    lk_metrics_gauge_fn("process_resident_memory_bytes", "Resident memory size in bytes.",
                        s_resident_bytes, NULL);
    lk_metrics_gauge_fn("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                        s_virtual_bytes, NULL);
    lk_metrics_gauge_fn("process_open_fds", "Number of open file descriptors.", s_open_fds, NULL);
    lk_metrics_gauge_fn("process_max_fds", "Maximum number of open file descriptors.", s_max_fds,
                        NULL);
    lk_metrics_t *build = lk_metrics_gauge(
        "lookout_build_info",
        "Always 1; the labels name the program, its version and the source revision.",
        "program,version,revision");
    lk_metrics_set(
        lk_metrics_with(build, program ? program : "", LOOKOUT_VERSION, LOOKOUT_REVISION), 1);
    lk_metrics_counter_fn("lookout_malformed_messages_total",
                          "Internal ZeroMQ messages received malformed and rejected (all "
                          "sockets of this process).",
                          s_malformed, NULL);
    lk_metrics_counter_fn("lookout_metrics_series_dropped_total",
                          "Label sets not recorded because their family was full.",
                          s_series_dropped, NULL);
}
