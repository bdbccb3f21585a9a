/*  rules — lookout-rules: alert rules evaluated against a Prometheus-compatible query API.

    Every interval each rule's `query` is run as an instant query (GET /api/v1/query, works
    with Prometheus and VictoriaMetrics). Each series of the result is one alert, with the
    Prometheus alerting-rule semantics:
        absent → pending (first seen) → firing (present for `duration`; at once when 0)
        firing → resolved (absent from a later result; ends_at = that evaluation's time)
        pending → forgotten (absent before it fired: nothing was ever sent)
    Alert labels are the series labels without __name__, plus the rule's labels (templates
    expanded), plus alertname = the rule's name; annotations are the rule's, expanded.

    Firing and resolved alerts go into the pipeline like ingest's do: an alert_batch (tenant
    of the rule, source "rules") on a DEALER to correlate, and nothing counts as delivered
    until correlate answers alert_reply ok (it does once store committed the change). A batch
    that is refused, cannot be queued, or gets no reply within reply_timeout_ms is simply
    built again at the next evaluation. Alerts are sent when their state changes, and firing
    ones again every resend_interval (correlate acks those re-sends from memory).

    A query that fails (HTTP error, timeout, Prometheus error, malformed JSON) is logged and
    counted for its rule, and leaves the rule's alerts as they were: never a crash, never a
    spurious resolve. The configuration is reloaded on SIGHUP (or the actor command
    "RELOAD"); an invalid new file is logged with its file:line and the old one stays.

    The pieces are exposed so that they can be tested without a network: response parsing,
    template expansion, and the per-rule state machine.
*/
#ifndef RULES_H
#define RULES_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lk_config.h"
#include "lk_model.h"
#include "lk_msg.h"
#include "lk_tap.h"

#define RULES_MAX_SERIES    10000 /* series one query may return; more fails the evaluation */
#define RULES_MAX_BATCH     500   /* alerts per alert_batch */
#define RULES_SHARDS_MAX    64    /* correlate shards (LOOKOUT_CORRELATE_ENDPOINT entries) */
#define RULES_MAX_BODY      (32 * 1024 * 1024) /* bytes of one query response */
#define RULES_EXPANSION_MAX 16384              /* bytes of one expanded template */

/* ---- configuration --------------------------------------------------------------------- */

typedef struct {
    const char *config_path;        /* LOOKOUT_CONFIG; NULL = no rules */
    const char *query_url;          /* LOOKOUT_RULES_QUERY_URL; NULL = rules_settings.query_url */
    const char *correlate_endpoint; /* LOOKOUT_CORRELATE_ENDPOINT (DEALER connects); a comma
                                       list names one endpoint per correlate shard */
    const char *tap_endpoint;       /* LOOKOUT_RULES_TAP; NULL = no tap */
    int64_t reply_timeout_ms;       /* LOOKOUT_REQUEST_TIMEOUT_MS: wait for alert_reply */
} rules_config_t;

/* Fills config from the environment (env.example). */
void rules_config_from_env(rules_config_t *config);

/* ---- query responses ------------------------------------------------------------------- */

typedef struct {
    lk_labels_t labels; /* the series labels, __name__ included when the query kept it */
    double value;       /* NaN and ±Inf are possible */
} rules_sample_t;

typedef struct {
    rules_sample_t *samples;
    size_t count;
} rules_result_t;

/* Parses a /api/v1/query response body. A "vector" gives one sample per series; a
   "scalar" gives one sample with no labels (as Prometheus's own rule evaluation does).
   Returns 0 with result filled (caller clears), or -1 with err: the server's
   "errorType: error" for status "error", else what is wrong with the body (not JSON,
   a matrix or string result, a field of the wrong type, more than RULES_MAX_SERIES). */
int rules_parse_response(const char *body, size_t size, rules_result_t *result, char *err,
                         size_t err_size);
/* Frees the samples and zeroes result. */
void rules_result_clear(rules_result_t *result);

/* ---- templates ------------------------------------------------------------------------- */

/* Expands the Go-template subset that Prometheus users write in labels and annotations:
     {{ $labels.NAME }} {{ .Labels.NAME }} {{ index $labels "NAME" }}   a series label ("" if
                                                                          absent)
     {{ $value }} {{ .Value }}        the sample value, formatted as Go's %v
     {{ $labels }} {{ .Labels }}      every series label: map[a:1 b:2]
     pipelines and calls: {{ $value | humanize }}, {{ humanize $value }}, parentheses,
     string and number literals, and the functions humanize, humanize1024,
     humanizePercentage, humanizeDuration, printf (verbs %v %s %d %f %e %g and %%, with
     flags, width and precision), toUpper, toLower, title; {{- and -}} trim spaces.
   Anything else (if/range/with, variables other than $labels and $value, other functions)
   is an error. Returns the expansion (caller frees) or NULL with err. */
char *rules_expand_template(const char *text, const lk_labels_t *labels, double value, char *err,
                            size_t err_size);
/* Checks that text is a valid template (no series needed). Returns 0 or -1 with err. */
int rules_check_template(const char *text, char *err, size_t err_size);
/* Formats value as Go's %v does for a float64 ("93.5", "1e+06", "NaN", "+Inf"). */
void rules_format_value(double value, char *buf, size_t buf_size);

/* ---- per-rule state machine ------------------------------------------------------------ */

typedef enum { RULES_PENDING = 0, RULES_FIRING, RULES_RESOLVED } rules_alert_state_t;

/* One alert of one rule: one label set. */
typedef struct {
    uint64_t fingerprint; /* lk_fingerprint_labels (labels) */
    lk_labels_t labels;
    lk_labels_t annotations;
    double value;
    rules_alert_state_t state;
    int64_t active_at_ms;      /* first seen in this activation (wall clock) */
    int64_t fired_at_ms;       /* became firing: the alert's starts_at */
    int64_t resolved_at_ms;    /* became resolved: the alert's ends_at */
    uint64_t change;           /* bumped when what correlate must know changes */
    uint64_t delivered_change; /* the change correlate acknowledged last */
    int64_t delivered_at_ms;   /* when it did (for the periodic re-send) */
    uint64_t in_flight_req;    /* batch now carrying it, 0 = none */
    bool resolve_owed;         /* pending again, but the resolve of its previous firing
                                  has not been delivered yet */
    int64_t owed_starts_at_ms; /* that firing's starts_at and ends_at */
    int64_t owed_ends_at_ms;
} rules_alert_t;

/* A rule's alerts, sorted by fingerprint. */
typedef struct {
    rules_alert_t *alerts;
    size_t count;
} rules_alerts_t;

/* One evaluation of rule at now_ms with the query's result: builds each series' labels and
   annotations, then moves every alert one step (see the top of this file). Returns 0, or -1
   with err when two series end up with the same labels (Prometheus's "vector contains
   metrics with the same labelset after applying alert labels"), leaving alerts unchanged. */
int rules_step(rules_alerts_t *alerts, const lk_rule_t *rule, const rules_result_t *result,
               int64_t now_ms, char *err, size_t err_size);
/* The alert with these labels, or NULL. */
rules_alert_t *rules_alerts_find(rules_alerts_t *alerts, const lk_labels_t *labels);
/* Removes the alert at index. */
void rules_alerts_remove(rules_alerts_t *alerts, size_t index);
void rules_alerts_clear(rules_alerts_t *alerts);

/* ---- the engine: rules, their state, queries and delivery ------------------------------ */

typedef struct {
    uint64_t evaluations_total;
    uint64_t evaluation_failures_total; /* query or result errors, all rules */
    uint64_t batches_sent_total;
    uint64_t batches_acked_total;    /* answered ok */
    uint64_t batches_failed_total;   /* not queued, refused, or timed out */
    uint64_t alerts_delivered_total; /* alerts in batches answered ok */
    uint64_t reloads_total;
    uint64_t reload_failures_total;
} rules_metrics_t;

typedef struct {
    const char *tenant_id;
    const char *name;
    uint64_t evaluations_total;
    uint64_t query_errors_total;
    int64_t last_duration_ms; /* of the last evaluation */
    size_t pending;
    size_t firing;
} rules_rule_metrics_t;

typedef struct rules_engine_t rules_engine_t;

/* query_url_override: LOOKOUT_RULES_QUERY_URL (NULL = the configuration's). */
rules_engine_t *rules_engine_new(const char *query_url_override, int64_t reply_timeout_ms);
void rules_engine_destroy(rules_engine_t **self_p);

/* Installs a configuration, checking what lk_config cannot: every template, and that a
   query URL is known when there are rules. On success takes ownership of *config_p (sets
   it NULL) and keeps the alerts of every rule whose (tenant, name) stays; a rule that went
   away has its firing alerts resolved. On failure returns -1 with err ("FILE:LINE:COL:
   rules[i].annotations.summary: ...") and leaves both engine and *config_p untouched. */
int rules_engine_set_config(rules_engine_t *self, lk_config_t **config_p, char *err,
                            size_t err_size);
const lk_config_t *rules_engine_config(const rules_engine_t *self);

/* Evaluates every rule due at mono_ms (each rule every interval; new rules at once),
   querying the API for wall-clock time now_ms. Returns how many rules were evaluated. */
size_t rules_engine_evaluate_due(rules_engine_t *self, int64_t now_ms, int64_t mono_ms);
/* Milliseconds from mono_ms until the next rule is due (0 when one is due now; -1 when
   there are no rules). */
int64_t rules_engine_next_due(const rules_engine_t *self, int64_t mono_ms);

/* Sends alert_batch messages for every alert whose change correlate has not acknowledged
   and every firing alert not delivered for resend_interval, on a DEALER connected to
   correlate. Returns the number of batches sent. */
size_t rules_engine_deliver(rules_engine_t *self, zsock_t *correlate, lk_tap_t *tap, int64_t now_ms,
                            int64_t mono_ms);
/* The same with correlate sharded: shards[i] is connected to correlate shard i of
   shard_count, and each tenant's batches go to shard lk_shard_of(tenant, shard_count). */
size_t rules_engine_deliver_sharded(rules_engine_t *self, zsock_t *const *shards,
                                    size_t shard_count, lk_tap_t *tap, int64_t now_ms,
                                    int64_t mono_ms);
/* Takes correlate's alert_reply: ok marks the batch's alerts delivered (a delivered resolve
   forgets the alert); anything else leaves them for the next delivery. */
void rules_engine_handle_reply(rules_engine_t *self, const lk_msg_t *reply, int64_t now_ms);
/* Gives up on batches unanswered for reply_timeout_ms (their alerts are sent again). */
void rules_engine_expire(rules_engine_t *self, int64_t mono_ms);
/* Milliseconds until the oldest batch in flight expires; -1 when none is. */
int64_t rules_engine_next_expiry(const rules_engine_t *self, int64_t mono_ms);
size_t rules_engine_in_flight(const rules_engine_t *self);

/* Counters, and per rule (index < rules_engine_rule_count; rules of the configuration in
   order, then rules that were removed but still have alerts to resolve). */
const rules_metrics_t *rules_engine_metrics(const rules_engine_t *self);
size_t rules_engine_rule_count(const rules_engine_t *self);
void rules_engine_rule_metrics(const rules_engine_t *self, size_t index, rules_rule_metrics_t *out);
/* The alerts of rule index (same numbering). */
rules_alerts_t *rules_engine_alerts(rules_engine_t *self, size_t index);
/* Everything above in the Prometheus text exposition format; caller frees. */
char *rules_engine_metrics_text(const rules_engine_t *self);

/* ---- the program ----------------------------------------------------------------------- */

/* zactor body: args is a rules_config_t* that outlives the actor. Loads the configuration
   (lk_fatal when it is invalid: there is nothing sensible to run), connects to correlate,
   signals the pipe, then evaluates and delivers until "$TERM". Pipe commands: "RELOAD"
   (answers "OK" or "ERROR <message>"), "EVALUATE" (evaluates every rule now and delivers;
   answers "OK"), "METRICS" (answers the exposition text). */
void rules_actor(zsock_t *pipe, void *args);

#endif
