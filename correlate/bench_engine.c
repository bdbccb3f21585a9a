/*  correlate-bench-engine — engine-only throughput and memory (prints figures; not a test).

    Phase 1: 1,000,000 samples over 10,000 label sets in 100 alertname groups across 10
    tenants, each sample carrying a fresh value (what Prometheus re-sends look like). The
    pending batch is taken every 256 samples, as the actor does per loop iteration.
    Phase 2: 100,000 distinct active alerts in a fresh engine (labels alertname, instance,
    job, severity; a summary annotation): resident memory growth per alert.
    Phase 3: the same 100,000 alerts carrying an endsAt (as Prometheus sends them), re-sent
    three times with endsAt moved a minute each time (acked from memory, their end timers
    move), a tick with nothing due, and the tick at which all of them end.
    Phase 4: 3,200,000 distinct alerts into a fresh engine, each call timed: the slowest
    calls are those at which the alert table grows (it passes 3/4 full at 3,145,728).
    Phase 5: the rest of that growth's move as correlate does it when idle, 512 slots a
    call and then the old table's memory 1 MiB a call (its time, slowest call and page
    faults), then re-sends of a third of the 3,200,000 alerts in the grown table.
*/
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "lk_time.h"

#define SAMPLES     1000000
#define LABEL_SETS  10000
#define GROUPS      100
#define TENANTS     10
#define ACTIVE      100000
#define BATCH_EVERY 256
#define GROWTH      3200000

static const char *s_tenant(int index, char buf[LK_UUID_STR_LEN + 1])
{
    snprintf(buf, LK_UUID_STR_LEN + 1, "00000000-0000-4000-8000-%012d", index + 1);
    return buf;
}

static void s_make(lk_alert_t *alert, int set, int groups)
{
    char name[32], instance[48], job[32];
    snprintf(name, sizeof name, "Alert%03d", set % groups);
    snprintf(instance, sizeof instance, "host-%05d.example.net:9100", set);
    snprintf(job, sizeof job, "job-%d", set % 7);
    memset(alert, 0, sizeof *alert);
    alert->source = strdup("prometheus");
    alert->name = strdup(name);
    lk_labels_set(&alert->labels, "alertname", name);
    lk_labels_set(&alert->labels, "instance", instance);
    lk_labels_set(&alert->labels, "job", job);
    lk_labels_set(&alert->labels, "severity", "warning");
    lk_labels_set(&alert->annotations, "summary", "Instance is running hot");
    alert->severity = LK_SEV_WARNING;
    alert->status = LK_ALERT_FIRING;
    alert->starts_at_ms = 1800000000000LL;
    alert->has_value = true;
}

/* Current resident set size in bytes. */
static long s_rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *statm = fopen("/proc/self/statm", "r");
    if (!statm)
        return -1;
    if (fscanf(statm, "%ld %ld", &pages, &resident) != 2)
        resident = -1;
    fclose(statm);
    return resident * sysconf(_SC_PAGESIZE);
}

static long s_peak_rss_kb(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

static int64_t s_mono_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static int s_compare_ns(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static size_t s_drain(correlate_engine_t *engine)
{
    lk_msg_t batch;
    size_t items = 0;
    if (correlate_engine_take_batch(engine, &batch))
        items = batch.alert_count + batch.incident_count + batch.event_count;
    lk_msg_clear(&batch);
    return items;
}

/* Sends label sets from, from + step, ... below to (s_make), taking the batch every
   BATCH_EVERY sets and at the end. */
static void s_send_sets(correlate_engine_t *engine, char tenants[][LK_UUID_STR_LEN + 1], int from,
                        int to, int step, int64_t now_ms)
{
    for (int set = from; set < to; set += step) {
        lk_alert_t alert;
        s_make(&alert, set, GROUPS);
        lk_alert_result_t result;
        correlate_engine_alert(engine, tenants[set % TENANTS], &alert, now_ms, &result);
        lk_alert_clear(&alert);
        if ((set / step) % BATCH_EVERY == BATCH_EVERY - 1)
            s_drain(engine);
    }
    s_drain(engine);
}

int main(void)
{
    char tenants[TENANTS][LK_UUID_STR_LEN + 1];
    for (int i = 0; i < TENANTS; i++)
        s_tenant(i, tenants[i]);

    /* ---- phase 1: throughput ---- */
    lk_alert_t *alerts = calloc(LABEL_SETS, sizeof *alerts);
    for (int set = 0; set < LABEL_SETS; set++)
        s_make(&alerts[set], set, GROUPS);
    correlate_engine_t *engine = correlate_engine_new("alertname", 600000);
    size_t outcomes[4] = {0}, items = 0;
    int64_t now_ms = lk_now_ms();
    int64_t started_ms = lk_mono_ms(), first_pass_ms = 0;
    for (int sample = 0; sample < SAMPLES; sample++) {
        int set = sample % LABEL_SETS;
        lk_alert_t *alert = &alerts[set];
        alert->value = sample;
        lk_alert_result_t result;
        correlate_engine_alert(engine, tenants[set % TENANTS], alert, now_ms + sample / 1000,
                               &result);
        outcomes[result.outcome]++;
        if (sample % BATCH_EVERY == BATCH_EVERY - 1)
            items += s_drain(engine);
        if (sample == LABEL_SETS - 1) {
            items += s_drain(engine);
            first_pass_ms = lk_mono_ms() - started_ms;
        }
    }
    items += s_drain(engine);
    int64_t elapsed_ms = lk_mono_ms() - started_ms;
    double seconds = elapsed_ms / 1000.0;
    printf("phase 1: %d samples, %d label sets, %d groups, %d tenants\n", SAMPLES, LABEL_SETS,
           GROUPS, TENANTS);
    printf("  outcomes: new %zu, changed %zu, unchanged %zu, ignored %zu\n",
           outcomes[LK_OUTCOME_NEW], outcomes[LK_OUTCOME_CHANGED], outcomes[LK_OUTCOME_UNCHANGED],
           outcomes[LK_OUTCOME_IGNORED]);
    printf("  incidents %zu, alerts %zu, mutation items %zu\n",
           correlate_engine_incident_count(engine), correlate_engine_alert_count(engine), items);
    printf("  first pass (all new): %d samples in %" PRId64 " ms (%.0f samples/s)\n", LABEL_SETS,
           first_pass_ms, first_pass_ms ? LABEL_SETS * 1000.0 / first_pass_ms : 0.0);
    printf("  total: %.3f s, %.0f samples/s\n", seconds, seconds > 0 ? SAMPLES / seconds : 0.0);
    correlate_engine_destroy(&engine);
    for (int set = 0; set < LABEL_SETS; set++)
        lk_alert_clear(&alerts[set]);
    free(alerts);
    printf("  peak RSS so far: %ld KiB\n", s_peak_rss_kb());

    /* ---- phase 2: memory per active alert ---- */
    malloc_trim(0);
    long rss_before = s_rss_bytes();
    engine = correlate_engine_new("alertname", 600000);
    started_ms = lk_mono_ms();
    s_send_sets(engine, tenants, 0, ACTIVE, 1, now_ms);
    elapsed_ms = lk_mono_ms() - started_ms;
    malloc_trim(0);
    long rss_after = s_rss_bytes();
    printf("phase 2: %d active alerts in %zu incidents, loaded in %" PRId64 " ms\n", ACTIVE,
           correlate_engine_incident_count(engine), elapsed_ms);
    printf("  RSS %ld KiB -> %ld KiB: %.1f MiB for the alerts, %.0f bytes per alert\n",
           rss_before / 1024, rss_after / 1024, (rss_after - rss_before) / 1048576.0,
           (double)(rss_after - rss_before) / ACTIVE);
    printf("  peak RSS: %ld KiB\n", s_peak_rss_kb());
    correlate_engine_destroy(&engine);

    /* ---- phase 3: end timers ---- */
    engine = correlate_engine_new("alertname", 600000);
    alerts = calloc(ACTIVE, sizeof *alerts);
    for (int set = 0; set < ACTIVE; set++) {
        s_make(&alerts[set], set, GROUPS);
        alerts[set].ends_at_ms = now_ms + 240000 + set % 1000; /* evaluation jitter */
        lk_alert_result_t result;
        correlate_engine_alert(engine, tenants[set % TENANTS], &alerts[set], now_ms, &result);
    }
    s_drain(engine);
    /* the reference: the same re-sends with endsAt left where it was */
    started_ms = lk_mono_ms();
    for (int round = 1; round <= 3; round++)
        for (int set = 0; set < ACTIVE; set++) {
            lk_alert_result_t result;
            correlate_engine_alert(engine, tenants[set % TENANTS], &alerts[set],
                                   now_ms + round * 1000, &result);
        }
    int64_t reference_ms = lk_mono_ms() - started_ms;
    started_ms = lk_mono_ms();
    size_t unchanged = 0;
    for (int round = 1; round <= 3; round++)
        for (int set = 0; set < ACTIVE; set++) {
            alerts[set].ends_at_ms += 60000;
            lk_alert_result_t result;
            correlate_engine_alert(engine, tenants[set % TENANTS], &alerts[set],
                                   now_ms + round * 60000, &result);
            unchanged += result.outcome == LK_OUTCOME_UNCHANGED;
        }
    elapsed_ms = lk_mono_ms() - started_ms;
    printf("phase 3: %d alerts with endsAt, %zu end timers\n", ACTIVE,
           correlate_engine_end_count(engine));
    printf("  3 re-send rounds moving endsAt: %zu unchanged, %zu items written, %" PRId64
           " ms (%.0f re-sends/s)\n",
           unchanged, correlate_engine_pending_items(engine), elapsed_ms,
           elapsed_ms ? 3.0 * ACTIVE * 1000.0 / elapsed_ms : 0.0);
    printf("  the same rounds without moving endsAt: %" PRId64 " ms\n", reference_ms);
    int64_t tick_started_ms = lk_mono_ms();
    for (int i = 0; i < 1000; i++)
        correlate_engine_tick(engine, now_ms + 3 * 60000 + i);
    printf("  1000 ticks with nothing due: %" PRId64 " ms\n", lk_mono_ms() - tick_started_ms);
    started_ms = lk_mono_ms();
    correlate_engine_tick(engine, now_ms + 3600000);
    size_t ended_items = correlate_engine_pending_items(engine);
    elapsed_ms = lk_mono_ms() - started_ms;
    printf("  the tick ending all of them: %" PRId64 " ms, %zu items, %zu timers left\n",
           elapsed_ms, ended_items, correlate_engine_end_count(engine));
    s_drain(engine);
    correlate_engine_destroy(&engine);
    for (int set = 0; set < ACTIVE; set++)
        lk_alert_clear(&alerts[set]);
    free(alerts);

    /* ---- phase 4: the slowest single call while the alert table grows ---- */
    engine = correlate_engine_new("alertname", 600000);
    int64_t *call_ns = malloc(GROWTH * sizeof *call_ns);
    int64_t slowest_ns = 0;
    int slowest_at = 0;
    for (int set = 0; set < GROWTH; set++) {
        lk_alert_t alert;
        s_make(&alert, set, GROUPS);
        lk_alert_result_t result;
        int64_t call_started_ns = s_mono_ns();
        correlate_engine_alert(engine, tenants[set % TENANTS], &alert, now_ms, &result);
        call_ns[set] = s_mono_ns() - call_started_ns;
        if (call_ns[set] > slowest_ns) {
            slowest_ns = call_ns[set];
            slowest_at = set + 1;
        }
        lk_alert_clear(&alert);
        if (set % BATCH_EVERY == BATCH_EVERY - 1)
            s_drain(engine);
    }
    s_drain(engine);
    qsort(call_ns, GROWTH, sizeof *call_ns, s_compare_ns);
    printf("phase 4: %d new alerts, one call at a time\n", GROWTH);
    printf("  per call: p50 %.1f us, p99.99 %.1f us, slowest %.1f ms (alert %d)\n",
           call_ns[GROWTH / 2] / 1000.0, call_ns[GROWTH - GROWTH / 10000] / 1000.0,
           slowest_ns / 1e6, slowest_at);
    free(call_ns);

    /* ---- phase 5: the rest of the move in idle calls, then lookups in the grown table ---- */
    struct rusage usage_before, usage_after;
    getrusage(RUSAGE_SELF, &usage_before);
    int64_t move_started_ns = s_mono_ns(), slowest_call_ns = 0;
    size_t calls = 0;
    for (bool moving = true; moving; calls++) {
        int64_t call_started_ns = s_mono_ns();
        moving = correlate_engine_move_slots(engine, 512);
        int64_t one_ns = s_mono_ns() - call_started_ns;
        if (one_ns > slowest_call_ns)
            slowest_call_ns = one_ns;
    }
    int64_t move_ns = s_mono_ns() - move_started_ns;
    getrusage(RUSAGE_SELF, &usage_after);
    printf("phase 5: the rest of the move in %zu idle calls: %.1f ms, slowest call %.1f us, "
           "%ld minor faults\n",
           calls, move_ns / 1e6, slowest_call_ns / 1e3,
           usage_after.ru_minflt - usage_before.ru_minflt);
    int64_t lookups_started_ns = s_mono_ns();
    s_send_sets(engine, tenants, 0, GROWTH, 3, now_ms);
    int64_t lookups_ns = s_mono_ns() - lookups_started_ns;
    printf("  re-sends of %d held alerts: %.0f ns each\n", GROWTH / 3 + 1,
           (double)lookups_ns / (GROWTH / 3 + 1));
    correlate_engine_destroy(&engine);
    return 0;
}
