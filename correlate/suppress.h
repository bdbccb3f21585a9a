/*  suppress — what keeps an alert out of incidents: silences and inhibition (correlate).

    correlate_silences_t holds the live (not yet ended) silences of every tenant of the
    shard, each with its compiled matchers, and answers "which active silence matches these
    labels now" in one pass over the tenant's silences (tens, typically).

    correlate_inhibit_t implements Alertmanager's inhibit rules incrementally. Every firing
    alert that matches a rule's source_matchers is registered as a source: for each such
    rule it counts in a counter keyed by (tenant, rule, values of the rule's `equal` labels).
    A candidate target is inhibited by rule r when its key's counter holds a source — not
    counting, for a target that matches both sides, the sources that match the target side
    too (an alert cannot inhibit itself, as in Alertmanager). Registration returns a handle
    the caller keeps with the alert; dropping it (the alert resolved or went away) tells the
    caller whether some inhibition may have ended, so held alerts of that tenant are looked
    at again.

    Both are pure data structures: no clock, no I/O; not thread-safe.
*/
#ifndef CORRELATE_SUPPRESS_H
#define CORRELATE_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lk_config.h"
#include "lk_model.h"

/* ---- silences ---------------------------------------------------------------------------- */

typedef struct correlate_silences_t correlate_silences_t;

correlate_silences_t *correlate_silences_new(void);
void correlate_silences_destroy(correlate_silences_t **self_p);

/* Adds or replaces (same id) a silence; the set keeps a copy and compiles its matchers.
   Returns 0, or -1 with a reason in err when a matcher does not compile (nothing
   changed). */
int correlate_silences_put(correlate_silences_t *self, const lk_silence_t *silence, char *err,
                           size_t err_size);
/* The silence with this id of this tenant, or NULL. Valid until the set changes. */
const lk_silence_t *correlate_silences_get(const correlate_silences_t *self, const char *tenant_id,
                                           const char *id);
/* Forgets a silence. Returns true when it was there. */
bool correlate_silences_remove(correlate_silences_t *self, const char *id);
/* The first silence of tenant_id active at now_ms whose matchers all match labels, or
   NULL. */
const lk_silence_t *correlate_silences_match(const correlate_silences_t *self,
                                             const char *tenant_id, const lk_labels_t *labels,
                                             int64_t now_ms);
/* Removes every silence that has ended by now_ms, calling ended(tenant_id, arg) for each
   (before it is freed). Returns how many ended. */
size_t correlate_silences_expire(correlate_silences_t *self, int64_t now_ms,
                                 void (*ended)(const char *tenant_id, void *arg), void *arg);
/* Silences held. */
size_t correlate_silences_count(const correlate_silences_t *self);

/* ---- inhibition -------------------------------------------------------------------------- */

typedef struct correlate_inhibit_t correlate_inhibit_t;
typedef struct correlate_inhibit_source_t correlate_inhibit_source_t;

correlate_inhibit_t *correlate_inhibit_new(void);
/* Frees the index. Handles still held by callers must be dropped first. */
void correlate_inhibit_destroy(correlate_inhibit_t **self_p);

/* Registers a firing alert of tenant_id with labels as a source of every rule whose
   source side it matches. Returns the handle, or NULL when it is a source of no rule. */
correlate_inhibit_source_t *correlate_inhibit_add(correlate_inhibit_t *self,
                                                  const lk_inhibit_rule_t *rules, size_t rule_count,
                                                  const char *tenant_id, const lk_labels_t *labels);
/* Unregisters a source (accepts NULL; sets *source_p NULL). Returns true when one of its
   counters lost its last effective source: an inhibition may have ended. */
bool correlate_inhibit_drop(correlate_inhibit_t *self, correlate_inhibit_source_t **source_p);

/* The index of the first rule that inhibits an alert of tenant_id with labels now, or -1. */
int correlate_inhibit_check(const correlate_inhibit_t *self, const lk_inhibit_rule_t *rules,
                            size_t rule_count, const char *tenant_id, const lk_labels_t *labels);

/* Counters held (distinct (tenant, rule, equal values) with a source). */
size_t correlate_inhibit_counter_count(const correlate_inhibit_t *self);

#endif
