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
    Held alerts (below) keep their full content, since they must be routed when released.

    Routing (docs/configuration.md, `route:`): a firing alert about to join an incident —
    first seen, firing again after its incident closed, or firing again into a resolved
    incident it would reopen — is routed once through the configuration's route tree
    (without one: a root route grouping by the engine's group_by). The first selected route
    gives the group key (`ROUTEKEY:{label="value", ...}`), the grouping window (group_wait:
    incident_triggered is announced when it has passed, so alerts arriving meanwhile are in
    the incident when escalation starts) and the reopen window; the first selected route
    that sets them gives the severity override and the escalation policy (incident.policy).

    Suppression: at that same moment (and only then) silences and inhibit rules are
    consulted. A suppressed alert is held: stored with state silenced|inhibited (store's
    suppressed_alerts), in no incident; it opens, reopens and escalates nothing. Alerts
    already in an incident stay there when a silence or an inhibiting alert appears later.
    A held alert is looked at again when it is re-sent with new content, when a silence that
    matched it ends, is expired or changed, and when an inhibiting source stops firing; if
    nothing suppresses it then and it still fires, it is released: it joins its group's
    incident like a new alert. A held alert that resolves is forgotten.

    Ends: a firing alert whose sender gave an endsAt (Prometheus through /api/v2/alerts:
    now + 4 resend intervals, or now + resolve timeout when it sent none) resolves by itself
    when that time passes without a re-send moving it, as in Alertmanager; its incident
    resolves when it was the last firing alert. A re-send that only moves endsAt is no change
    (acked from memory, not written). So after a restart the stored endsAt may be older than
    the last re-send's: alerts loaded from a snapshot end no earlier than the restart grace
    after the load. Alerts without an endsAt (0) never end by themselves.

    Heartbeat monitors: a monitor not pinged within interval + grace fires the alert
    heartbeat_missed{monitor="NAME", ...its labels} (source "heartbeat") through the same
    path as any alert; the next ping resolves it.
*/
#ifndef CORRELATE_ENGINE_H
#define CORRELATE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lk_config.h"
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

/* Gives a fresh engine (before any load or request) its configuration: the route tree,
   inhibit rules and declared heartbeat monitors (lk_config_routes.h), and the shard it
   serves (declared monitors of other shards' tenants are left to them). config may be NULL
   (the defaults) and must outlive the engine: a new configuration means a new engine. */
void correlate_engine_set_config(correlate_engine_t *self, const lk_config_t *config,
                                 uint32_t shard_count, uint32_t shard_index);

/* Sets the restart grace (default 300 s, Alertmanager's resolve_timeout; <= 0: none): a
   firing alert loaded from a snapshot whose stored endsAt is earlier than load time + grace
   ends at load time + grace unless a re-send moves its endsAt. Call before loading. */
void correlate_engine_set_restart_grace(correlate_engine_t *self, int64_t grace_ms);

/* Processes one alert of tenant_id (the request's tenant, which overrides alert->tenant_id).
   Computes and writes alert->tenant_id and alert->fingerprint; the engine keeps no pointer
   into alert. Fills result (outcome, fingerprint, incident id; "" incident id when
   ignored). An alert with a dedup_key follows PagerDuty: it never reopens a resolved
   incident; firing again after a resolve closes that incident and opens a new one. Returns
   the due seq. */
uint64_t correlate_engine_alert(correlate_engine_t *self, const char *tenant_id, lk_alert_t *alert,
                                int64_t now_ms, lk_alert_result_t *result);

/* Processes an alert_batch request: initialises reply as an alert_reply (req and tenant
   echoed, status ok, one result per alert in order). The request's alerts are modified as
   in correlate_engine_alert, and the pending batch takes the strings of those it writes
   (no copy): clear the request afterwards as usual, but do not read its alerts again.
   Returns the due seq (max over its alerts). */
uint64_t correlate_engine_alert_batch(correlate_engine_t *self, lk_msg_t *request, lk_msg_t *reply,
                                      int64_t now_ms);

/* Processes a command request (acknowledge / resolve): initialises reply as a command_reply
   with status, changed and the incident as it is after the command (none when not_found).
   An incident of another tenant is not_found. With an empty incident_id the command means
   the live incident of the tenant's alert request->fingerprint (not_found when memory holds
   no such alert). An acknowledge with ack_timeout_s sets the incident's ack_expires_at (now
   + timeout; 0 without one); acknowledging an acknowledged incident is a new acknowledgement
   when either the old or the new one has a timeout. Returns the due seq. */
uint64_t correlate_engine_command(correlate_engine_t *self, const lk_msg_t *request,
                                  lk_msg_t *reply, int64_t now_ms);

/* Processes a silence_command (create/update or expire): initialises reply as a
   control_reply with the silence as it is afterwards (silences[1]); invalid matchers or
   times are invalid, an unknown or ended silence not_found. Returns the due seq. */
uint64_t correlate_engine_silence(correlate_engine_t *self, const lk_msg_t *request,
                                  lk_msg_t *reply, int64_t now_ms);

/* Processes a heartbeat_ping: creates the monitor when the ping gives an interval (else an
   unknown monitor is not_found), applies the ping's settings (not to monitors the
   configuration declares), records the ping and resolves a missed heartbeat. Initialises
   reply as a control_reply with the monitor (heartbeats[1]). Returns the due seq. */
uint64_t correlate_engine_heartbeat(correlate_engine_t *self, const lk_msg_t *request,
                                    lk_msg_t *reply, int64_t now_ms);

/* Housekeeping: announces incidents whose group_wait passed, ends silences, fires missed
   heartbeats, resolves firing alerts whose endsAt passed (and incidents left with no firing
   alert; see correlate_engine_set_tick_end_limit), releases held alerts nothing suppresses any
   more, closes resolved incidents whose reopen window has passed and drops them and their alerts
   from memory. Cost is proportional to what is due (ordered heaps). Returns how many incidents were
   closed. */
size_t correlate_engine_tick(correlate_engine_t *self, int64_t now_ms);

/* Resolves, earliest first, at most max firing alerts whose endsAt passed by now_ms without
   a re-send moving it (each at its endsAt, as the tick does). Entries of alerts whose endsAt
   moved later are re-armed on the way, at most 16 per resolution allowed. Returns how many
   alerts it resolved. */
size_t correlate_engine_end_due(correlate_engine_t *self, int64_t now_ms, size_t max);

/* Limits how many alerts one correlate_engine_tick resolves by their endsAt (default: no
   limit; 0: none, the caller resolves them with correlate_engine_end_due). The actor paces
   them between batches: a wave of ends (alerts sent together a resolve timeout ago, a sender
   gone quiet) must not become one batch every request waits behind. */
void correlate_engine_set_tick_end_limit(correlate_engine_t *self, size_t per_tick);

/* The earliest end timer's deadline (an endsAt, possibly since moved later), 0 when none. */
int64_t correlate_engine_next_end_ms(const correlate_engine_t *self);

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

/* Loads one page of a snapshot query_reply (non-closed incidents and their alerts; the first
   page also silences, monitors and held alerts) into a fresh engine. Closed incidents are
   skipped; an alert whose incident is not loaded yet is kept aside until
   correlate_engine_load_finish. Loading writes no mutations. Returns 0. */
int correlate_engine_load(correlate_engine_t *self, const lk_msg_t *page);

/* Ends a snapshot load (call it also when nothing was loaded): attaches the alerts kept
   aside and drops those whose incident never came, creates the declared monitors memory
   lacks and releases held alerts nothing suppresses any more (both may write mutations).
   Returns how many alerts were dropped. */
size_t correlate_engine_load_finish(correlate_engine_t *self, int64_t now_ms);

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

/* The alert table's growth, moved off the requests' path: after the table doubled, each new
   alert also moves a few slots of the old half over (engine.c), and a new alert's lookup
   probes both halves until the move is done; the emptied half's memory then goes back to
   the kernel 1 MiB at a time; and once the table is 5/8 full, the next growth's table is
   mapped and its pages touched ahead of it, 256 KiB at a time. Does one step of that work
   now: moves up to `slots` slots, or gives back or touches one piece (0: only asks), and
   returns true while some is left. correlate calls it whenever its sockets are quiet, so
   the work goes in its quiet moments instead of over the next million new alerts
   (docs/performance.md). */
bool correlate_engine_move_slots(correlate_engine_t *self, size_t slots);

/* Alerts and live incidents held in memory. */
size_t correlate_engine_alert_count(const correlate_engine_t *self);
size_t correlate_engine_incident_count(const correlate_engine_t *self);
/* Alert records allocated: in use, or released and kept for reuse (the engine keeps its
   records in slabs that are freed only with it, so this is the high-water mark of alerts,
   rounded up to a slab). */
size_t correlate_engine_record_count(const correlate_engine_t *self);
/* Live incidents by status: counts[LK_INCIDENT_TRIGGERED .. LK_INCIDENT_CLOSED] (closed is
   0: closed incidents leave memory). A walk over every incident (for the metrics timer, not
   for request paths); it moves the incident table's iteration cursor, so never call it in
   the middle of another walk. */
void correlate_engine_status_counts(const correlate_engine_t *self,
                                    size_t counts[LK_INCIDENT_CLOSED + 1]);
/* Firing alerts with an armed end timer (an endsAt). */
size_t correlate_engine_end_count(const correlate_engine_t *self);
/* Held (suppressed) alerts, live silences and heartbeat monitors in memory. */
size_t correlate_engine_held_count(const correlate_engine_t *self);
size_t correlate_engine_silence_count(const correlate_engine_t *self);
size_t correlate_engine_monitor_count(const correlate_engine_t *self);
/* The held alert of tenant_id with this fingerprint (%016x), or NULL. Valid until the next
   call that mutates the engine. */
const lk_alert_t *correlate_engine_held(const correlate_engine_t *self, const char *tenant_id,
                                        const char *fingerprint);

#endif
