/*  lk_metrics — Prometheus metrics for every Lookout process: counters, gauges and
    histograms with labels, in one process-wide registry, rendered in the Prometheus text
    exposition format (version 0.0.4).

    A module registers its metric families once (registration is idempotent by name, so
    several actors in one process, or a restarted actor, get the same family back), then
    looks up the series for a set of label values and updates it:

        static lk_metrics_t *s_received;
        s_received = lk_metrics_counter ("lookout_alerts_received_total",
                                         "Alerts received, by intake format and tenant.",
                                         "format,tenant");
        ...
        lk_metrics_add (lk_metrics_with (s_received, "native", lk_metrics_tenant (tenant)), n);

    Hot paths stay cheap: a series is found without any lock (an open-addressing table whose
    entries are published once and never move or disappear), and every update is one atomic
    operation on the series (a compare-and-swap loop for floating-point sums). Only the first
    use of a label set takes the family's lock and allocates. A series pointer stays valid
    for the life of the process, so callers with fixed labels look it up once and keep it.

    Cardinality is bounded twice: each family holds at most LK_METRICS_SERIES_MAX series
    (further label sets update a sink that is never rendered, counted by
    lookout_metrics_series_dropped_total), and tenant ids pass through lk_metrics_tenant,
    which admits the first LOOKOUT_METRICS_TENANT_LIMIT tenants a process sees under their
    own id and folds every later one into "other".

    Thread-safe throughout: ingest updates from its HTTP worker pool while the metrics
    endpoint (lk_metrics_http) renders from its own thread.
*/
#ifndef LK_METRICS_H
#define LK_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lk_metrics_t lk_metrics_t;               /* one metric family */
typedef struct lk_metrics_series_t lk_metrics_series_t; /* one labelled time series */

#define LK_METRICS_LABELS_MAX  4    /* label names per family */
#define LK_METRICS_BUCKETS_MAX 24   /* histogram bucket bounds (+Inf is implied) */
#define LK_METRICS_SERIES_MAX  2048 /* series per family; later label sets go to a sink */
#define LK_METRICS_OTHER       "other"

/* Bucket bounds in seconds for request and commit latencies: 0.5 ms .. 30 s. */
extern const double lk_metrics_latency_buckets[];
extern const size_t lk_metrics_latency_bucket_count;
/* Bucket bounds for sizes (items per batch): 1 .. 65536, powers of 4. */
extern const double lk_metrics_size_buckets[];
extern const size_t lk_metrics_size_bucket_count;

/* ---- registration (rare; takes the registry lock) ------------------------------------- */

/* Returns the counter family called name, creating it on first call. help: one line;
   labels: comma-separated label names ("format,tenant"), NULL or "" for none. A family
   without labels has its one series from the start (it renders 0 before any update).
   Registering a name again with another type or other labels is a programming error
   (asserts), as is an invalid metric or label name. Never NULL (aborts on OOM). */
lk_metrics_t *lk_metrics_counter(const char *name, const char *help, const char *labels);
/* Same for a gauge. */
lk_metrics_t *lk_metrics_gauge(const char *name, const char *help, const char *labels);
/* Same for a histogram with bound_count ascending finite bucket bounds (the +Inf bucket is
   added); "le" is not allowed among labels. */
lk_metrics_t *lk_metrics_histogram(const char *name, const char *help, const char *labels,
                                   const double *bounds, size_t bound_count);

/* A label-less counter or gauge whose value is read at scrape time by fn(arg), on the
   scraping thread (fn must be thread-safe, e.g. an atomic load). Same idempotence rules;
   a second registration keeps the first fn. */
typedef double (*lk_metrics_fn)(void *arg);
lk_metrics_t *lk_metrics_counter_fn(const char *name, const char *help, lk_metrics_fn fn,
                                    void *arg);
lk_metrics_t *lk_metrics_gauge_fn(const char *name, const char *help, lk_metrics_fn fn, void *arg);

/* ---- series ---------------------------------------------------------------------------- */

/* The series of metric for the label values values[0 .. label count), followed by a NULL
   sentinel (asserted: it catches a wrong number of values; "" is a valid value). Lock-free
   when the series exists; otherwise creates it (copying the values). Never NULL: past
   LK_METRICS_SERIES_MAX series, a sink that is never rendered. */
lk_metrics_series_t *lk_metrics_labels(lk_metrics_t *metric, const char *const *values);
/* lk_metrics_with (metric, "v1", "v2"): the series for these label values. */
#define lk_metrics_with(metric, ...)                                                               \
    lk_metrics_labels((metric), (const char *const[]){__VA_ARGS__, NULL})
/* The one series of a family without labels. */
lk_metrics_series_t *lk_metrics_series(lk_metrics_t *metric);

/* Counter updates (a counter only goes up). */
void lk_metrics_inc(lk_metrics_series_t *series);
void lk_metrics_add(lk_metrics_series_t *series, uint64_t amount);
/* Gauge updates. */
void lk_metrics_set(lk_metrics_series_t *series, double value);
void lk_metrics_gauge_add(lk_metrics_series_t *series, double delta);
/* Histogram observation (value in the family's unit, e.g. seconds). */
void lk_metrics_observe(lk_metrics_series_t *series, double value);

/* Reads a series back: a counter's or gauge's value, a histogram's observation count. */
double lk_metrics_value(const lk_metrics_series_t *series);
/* A histogram's sum of observations (0 for other types). */
double lk_metrics_sum(const lk_metrics_series_t *series);

/* ---- tenants --------------------------------------------------------------------------- */

/* The label value to use for tenant_id: the id itself for the first
   LOOKOUT_METRICS_TENANT_LIMIT (default 100) distinct tenants this process labels,
   LK_METRICS_OTHER for any later one, "" for NULL/"". The result is either tenant_id itself
   or a static string: pass it straight to lk_metrics_with. Lock-free for known tenants. */
const char *lk_metrics_tenant(const char *tenant_id);

/* ---- pre-rendered text ---------------------------------------------------------------- */

/* Replaces the block of exposition text registered under name (appended after the
   families when rendering; for a component that keeps its own counts on its own thread and
   renders them itself, like lookout-rules' engine). Takes ownership of text (malloc'd,
   each line ending in "\n"); NULL removes the block. */
void lk_metrics_set_text(const char *name, char *text);

/* ---- exposition ------------------------------------------------------------------------ */

/* Renders every family (registration order; series in creation order) and text block.
   Returns a malloc'd NUL-terminated string (caller frees) and its length in *size; NULL on
   OOM. */
char *lk_metrics_render(size_t *size);

/* Writes value as Prometheus renders floats: integers without a fraction, the shortest
   text that reads back to the same double, +Inf/-Inf/NaN. buf: at least 32 bytes. */
void lk_metrics_format_double(double value, char *buf, size_t buf_size);

/* Registers the process-wide families every Lookout program has: process_start_time_seconds,
   process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds,
   process_max_fds, lookout_build_info{program,version,revision} and
   lookout_malformed_messages_total (lk_sock's count). Called by lk_daemon_main through
   lk_metrics_http_start; harmless to call twice. */
void lk_metrics_process_init(const char *program);

#endif
