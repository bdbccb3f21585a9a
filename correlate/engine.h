/*  correlate_engine — correlate's in-memory state: dedup, grouping and incident lifecycle.

    Pure and single-threaded: no sockets, no clocks of its own (every call takes now_ms, wall
    clock ms since the epoch, because resolved_at and the reopen window survive restarts).
    The actor (correlate.c) feeds it requests and ships its mutation batches to store.

    Mutations accumulate in a pending mutation_batch whose sequence number is
    correlate_engine_next_seq. Every entity remembers the sequence of the batch that last wrote
    it (its dirty seq). Each request function returns the request's due seq: the highest dirty
    seq of everything the request touched, including unchanged alerts whose last write is
    still unacknowledged. The request may be answered once store acknowledged every batch up
    to its due seq (store acks in order, so "committed seq >= due seq" is the test); 0 means
    nothing to wait for.

    Memory: an alert costs one small fixed-size record (identity, a hash of its labels and
    annotations, times, status, severity, links); its full content only travels in mutation
    batches. Incidents keep their full row. Closed incidents and their alerts are dropped.
*/
#ifndef CORRELATE_ENGINE_H
#define CORRELATE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lk_msg.h"

typedef struct correlate_engine_t correlate_engine_t;

/* Creates an empty engine. group_by: comma-separated label names forming the group key
   (blanks trimmed, duplicates ignored; "" puts all of a tenant's alerts in one group).
   reopen_window_ms: a resolved incident whose group fires again within this reopens; after
   it the incident is closed. The first pending batch has sequence 1. */
correlate_engine_t *correlate_engine_new(const char *group_by, int64_t reopen_window_ms);

/* Frees the engine and everything it holds, including an untaken pending batch; accepts
   NULL and sets *self_p to NULL. */
void correlate_engine_destroy(correlate_engine_t **self_p);

/* Processes one alert of tenant_id (the request's tenant, which overrides alert->tenant_id).
   Computes and writes alert->tenant_id and alert->fingerprint; the engine keeps no pointer
   into alert. Fills result (outcome, fingerprint, incident id; "" incident id when
   ignored). Returns the due seq. */
uint64_t correlate_engine_alert(correlate_engine_t *self, const char *tenant_id, lk_alert_t *alert,
                                int64_t now_ms, lk_alert_result_t *result);

/* Processes an alert_batch request: initialises reply as an alert_reply (req and tenant
   echoed, status ok, one result per alert in order). The request's alerts are modified as
   in correlate_engine_alert. Returns the due seq (max over its alerts). */
uint64_t correlate_engine_alert_batch(correlate_engine_t *self, lk_msg_t *request, lk_msg_t *reply,
                                      int64_t now_ms);

/* Processes a command request (acknowledge / resolve): initialises reply as a command_reply
   with status, changed and the incident as it is after the command (none when not_found).
   An incident of another tenant is not_found. Returns the due seq. */
uint64_t correlate_engine_command(correlate_engine_t *self, const lk_msg_t *request,
                                  lk_msg_t *reply, int64_t now_ms);

/* Housekeeping: closes resolved incidents whose reopen window has passed and drops them and
   their alerts from memory. Cost is proportional to the incidents due (ordered heap).
   Returns how many incidents were closed. */
size_t correlate_engine_tick(correlate_engine_t *self, int64_t now_ms);

/* Sequence number the pending batch will carry. */
uint64_t correlate_engine_next_seq(const correlate_engine_t *self);

/* Sets the pending batch's sequence: only on an engine with an empty pending batch and no
   dirty entity (a freshly built one), so a rebuilt engine continues its predecessor's
   numbering. */
void correlate_engine_set_next_seq(correlate_engine_t *self, uint64_t seq);

/* Items (alerts + incidents + events) in the pending batch. */
size_t correlate_engine_pending_items(const correlate_engine_t *self);

/* When the pending batch holds mutations, moves them into batch (initialised here as a
   mutation_batch with req = its sequence; the caller owns and clears it), starts the next
   pending batch with sequence + 1 and returns true. Returns false and leaves batch
   initialised but empty when there is nothing to send. */
bool correlate_engine_take_batch(correlate_engine_t *self, lk_msg_t *batch);

/* Loads one page of a snapshot query_reply (non-closed incidents and their alerts) into a
   fresh engine. Closed incidents are skipped; an alert whose incident is not loaded yet is
   kept aside until correlate_engine_load_finish. Loading writes no mutations. Returns 0. */
int correlate_engine_load(correlate_engine_t *self, const lk_msg_t *page);

/* Ends a snapshot load: attaches the alerts kept aside and drops those whose incident never
   came. Returns how many alerts were dropped. */
size_t correlate_engine_load_finish(correlate_engine_t *self);

/* The live (non-closed) incident with this id, or NULL when unknown or of another tenant.
   The pointer is valid until the next call that mutates the engine. */
const lk_incident_t *correlate_engine_incident(const correlate_engine_t *self,
                                               const char *tenant_id, const char *incident_id);

/* The group's current incident (the newest non-closed one), or NULL. Same lifetime rule. */
const lk_incident_t *correlate_engine_group_incident(const correlate_engine_t *self,
                                                     const char *tenant_id, const char *group_key);

/* Renders the group key of a label set: `{}:{alertname="HighCPU", job=""}` (group_by
   labels sorted by name, a missing label renders as an empty value, values quoted like Go's
   strconv.Quote). Returns a heap string the caller frees, or NULL on OOM. */
char *correlate_engine_group_key(const correlate_engine_t *self, const lk_labels_t *labels);

/* Alerts and live incidents held in memory. */
size_t correlate_engine_alert_count(const correlate_engine_t *self);
size_t correlate_engine_incident_count(const correlate_engine_t *self);

#endif
