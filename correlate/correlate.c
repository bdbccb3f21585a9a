/*  correlate — the actor around correlate_engine (see correlate.h, DESIGN §2).

    Start: rebuild the engine from store's snapshot (query socket, paged, retried every second
    until store answers), then bind the frontend ROUTER and signal ready.

    Loop: requests are processed by the engine as they arrive; their mutations leave as ONE
    mutation_batch on the store DEALER. At most one batch is in flight (stop-and-wait): while
    store commits it, new requests accumulate in the engine's pending batch, which leaves
    when the ack arrives, right after the replies it releases — so the busier the pipeline,
    the bigger each commit (group commit without a timer). A reply is held until store
    acknowledged the batch it is due at (engine.h explains due seqs); a reply with nothing
    uncommitted leaves at once.

    Why one in flight: when store restarts, batches queued on the dead connection are lost
    while later ones reach the new store. Were several in flight, the ack of batch N+1 could
    arrive although N never committed. With one, an ack always means "everything up to here",
    and a lost batch is simply re-sent when store made no progress for store_timeout_ms
    (batches are absolute states: applying one twice is harmless). While a batch is in flight
    and the pending one is full, the frontend is not read: ingest's requests wait in the
    socket queue and time out as 503 instead of growing memory. An error ack means memory and
    database may disagree: the waiting requests fail and the engine is rebuilt from a fresh
    snapshot.

    Alerts whose endsAt passed resolve a few per batch (S_ENDS_PER_BATCH and a quarter of
    what the pending batch holds), not all at the tick: alerts that arrived together (a
    burst, a restart's grace) end together a resolve timeout later, and one batch of all of
    them would hold every request behind it. An idle pipeline drains the backlog batch after
    batch; a busy one gives it about a fifth of each batch. lookout_correlate_end_lag_seconds
    shows how late resolving is.

    A command for an incident memory does not hold may concern a closed one (closed incidents
    are dropped from memory): store's query socket is asked before answering not_found.
*/
#include "correlate.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "engine.h"
#include "lk_config.h"
#include "lk_env.h"
#include "lk_log.h"
#include "lk_metrics.h"
#include "lk_msg.h"
#include "lk_sock.h"
#include "lk_tap.h"
#include "lk_time.h"
#include "lk_uuid.h"

#define S_DRAIN_MAX       256   /* requests read per wake-up */
#define S_BATCH_ITEMS_MAX 20000 /* a full pending batch: stop reading requests */
#define S_OUTSTANDING_ITEMS_MAX                                                                    \
    200000                     /* unacknowledged items beyond which we answer                      \
                                  "unavailable" instead of growing without bound */
#define S_TICK_MS         1000 /* the housekeeping timer */
#define S_IDLE_MOVE_SLOTS 512  /* alert table slots moved per quiet moment (engine.h) */
#define S_ENDS_PER_BATCH  64   /* alerts resolved by endsAt per batch, at least (see top) */
#define S_RETRY_MS        1000 /* snapshot query retry interval */
#define S_SNAPSHOT_PAGE   1000 /* incidents per snapshot page */
#define S_STORE_DRAIN_MAX 1024 /* acks / query replies read per wake-up */

typedef struct {
    zframe_t *identity; /* ingest's DEALER, for the ROUTER */
    lk_msg_t reply;
} s_held_t;

typedef struct {
    lk_msg_t batch;
    size_t items;
    bool sent;
    zlistx_t *held; /* s_held_t*: replies due at this batch */
} s_batch_t;

typedef struct {
    uint64_t query_req;
    zframe_t *identity;
    lk_msg_t request;    /* the command */
    int64_t deadline_ms; /* monotonic */
} s_lookup_t;

typedef struct {
    const correlate_config_t *config;
    zsock_t *pipe;
    zsock_t *frontend;
    zsock_t *store;
    zactor_t *store_monitor; /* reports each (re)connection of the store DEALER */
    zsock_t *query;
    lk_tap_t *tap;
    zpoller_t *poller;
    correlate_engine_t *engine;
    zlistx_t *batches;        /* s_batch_t*: the unacknowledged batch, at most one */
    bool frontend_paused;     /* the frontend is out of the poller (see s_frontend_throttle) */
    zlistx_t *held;           /* s_held_t* due at the engine's pending batch */
    zlistx_t *lookups;        /* s_lookup_t* */
    int64_t store_timeout_ms; /* config's, or 2000 when the config leaves it 0 */
    uint64_t committed_seq;
    uint64_t query_req;
    size_t outstanding_items;
    int64_t progress_ms;     /* monotonic: store's last progress (or first send after idle) */
    int64_t resend_after_ms; /* silence before the next re-send: store_timeout_ms, doubled
                                after each re-send without progress (see s_batches_check_resend) */
    bool resend_logged;
    bool send_failed_logged;
    bool terminated;
    lk_config_t *routing;      /* the configuration file the engine runs under */
    lk_config_t *next_routing; /* a reloaded file waiting for the pipeline to drain */
} s_correlate_t;

/* ---- configuration ----------------------------------------------------------------------- */

void correlate_config_from_env(correlate_config_t *config)
{
    memset(config, 0, sizeof *config);
    config->frontend_endpoint = lk_env_str("LOOKOUT_CORRELATE_ENDPOINT", "tcp://127.0.0.1:18104");
    config->store_endpoint = lk_env_str("LOOKOUT_STORE_ENDPOINT", "tcp://127.0.0.1:18101");
    config->store_query_endpoint =
        lk_env_str("LOOKOUT_STORE_QUERY_ENDPOINT", "tcp://127.0.0.1:18102");
    config->tap_endpoint = lk_env_str("LOOKOUT_CORRELATE_TAP", NULL);
    config->group_by = lk_env_str("LOOKOUT_GROUP_BY", "alertname");
    config->reopen_window_ms = lk_env_int("LOOKOUT_REOPEN_WINDOW_S", 600, 0, 365 * 86400) * 1000;
    config->store_timeout_ms = lk_env_int("LOOKOUT_STORE_TIMEOUT_MS", 2000, 10, 3600 * 1000);
    config->shard_count = (uint32_t)lk_env_int("LOOKOUT_CORRELATE_SHARD_COUNT", 1, 1, 4096);
    config->shard_index = (uint32_t)lk_env_int("LOOKOUT_CORRELATE_SHARD_INDEX", 0, 0, 4095);
    config->config_path = lk_env_str(LK_CONFIG_ENV, NULL);
    config->restart_grace_ms =
        lk_env_int("LOOKOUT_RESOLVE_TIMEOUT_S", 300, 1, 30 * 24 * 3600) * 1000;
    if (config->shard_index >= config->shard_count)
        lk_fatal("correlate: LOOKOUT_CORRELATE_SHARD_INDEX (%u) must be below "
                 "LOOKOUT_CORRELATE_SHARD_COUNT (%u)",
                 config->shard_index, config->shard_count);
}

/* ---- metrics (lk_metrics.h) -------------------------------------------------------------- */

/* Counting incidents by status walks them all: on this period, not on every tick. */
#define S_STATUS_COUNT_MS 5000

static struct {
    lk_metrics_series_t *outcomes[LK_OUTCOME_IGNORED + 1];
    lk_metrics_series_t *open[LK_INCIDENT_CLOSED]; /* triggered, acknowledged, resolved */
    lk_metrics_series_t *inflight_batches, *inflight_items, *pending_items, *waiting_replies;
    lk_metrics_series_t *alerts, *records, *held, *silences, *monitors, *resends, *rebuilds,
        *end_timers;
    lk_metrics_series_t *end_lag;
    int64_t next_count_ms;
} s_metrics;

static void s_metrics_register(void)
{
    lk_metrics_t *outcomes = lk_metrics_counter(
        "lookout_correlate_alerts_total",
        "Alerts processed by outcome: new, changed, unchanged (a duplicate acked from memory: "
        "the dedup ratio is unchanged over all), ignored.",
        "outcome");
    for (int i = 0; i <= LK_OUTCOME_IGNORED; i++)
        s_metrics.outcomes[i] = lk_metrics_with(outcomes, lk_outcome_name((lk_outcome_t)i));
    lk_metrics_t *open =
        lk_metrics_gauge("lookout_incidents_open",
                         "Live (not closed) incidents in correlate's memory, by status.", "status");
    for (int i = 0; i < LK_INCIDENT_CLOSED; i++)
        s_metrics.open[i] = lk_metrics_with(open, lk_incident_status_name((lk_incident_status_t)i));
    s_metrics.inflight_batches = lk_metrics_series(lk_metrics_gauge(
        "lookout_correlate_inflight_batches",
        "Mutation batches sent to store and not yet acknowledged (0 or 1).", NULL));
    s_metrics.inflight_items = lk_metrics_series(
        lk_metrics_gauge("lookout_correlate_inflight_items",
                         "Rows (alerts, incidents, events) in unacknowledged batches.", NULL));
    s_metrics.pending_items = lk_metrics_series(lk_metrics_gauge(
        "lookout_correlate_pending_items",
        "Rows waiting in the pending batch for the one in flight to be acknowledged.", NULL));
    s_metrics.waiting_replies = lk_metrics_series(
        lk_metrics_gauge("lookout_correlate_waiting_replies",
                         "Replies to ingest held until store commits what they changed.", NULL));
    s_metrics.alerts = lk_metrics_series(
        lk_metrics_gauge("lookout_correlate_alerts", "Alerts in correlate's memory.", NULL));
    s_metrics.records = lk_metrics_series(lk_metrics_gauge(
        "lookout_correlate_alert_records",
        "Alert records allocated: in use or kept for reuse (the high-water mark of alerts).",
        NULL));
    s_metrics.end_timers = lk_metrics_series(lk_metrics_gauge(
        "lookout_correlate_alert_end_timers",
        "Firing alerts with an endsAt: each resolves by itself when it passes without a re-send.",
        NULL));
    s_metrics.end_lag = lk_metrics_series(lk_metrics_gauge(
        "lookout_correlate_end_lag_seconds",
        "How long ago the earliest endsAt still to be resolved passed (0 when none is late): "
        "alerts are resolved a few per batch, so a wave of ends drains over several.",
        NULL));
    s_metrics.held = lk_metrics_series(lk_metrics_gauge(
        "lookout_correlate_held_alerts", "Silenced or inhibited alerts held in memory.", NULL));
    s_metrics.silences = lk_metrics_series(
        lk_metrics_gauge("lookout_correlate_silences", "Live silences in memory.", NULL));
    s_metrics.monitors = lk_metrics_series(
        lk_metrics_gauge("lookout_correlate_heartbeat_monitors", "Heartbeat monitors.", NULL));
    s_metrics.resends = lk_metrics_series(lk_metrics_counter(
        "lookout_correlate_batch_resends_total",
        "Times unacknowledged mutation batches were sent to store again.", NULL));
    s_metrics.rebuilds = lk_metrics_series(
        lk_metrics_counter("lookout_correlate_rebuilds_total",
                           "Times correlate failed its waiting requests and rebuilt its memory "
                           "from store after store refused a batch.",
                           NULL));
}

/* Counts the outcomes of an alert_reply. */
static void s_metrics_outcomes(const lk_msg_t *reply)
{
    uint64_t counts[LK_OUTCOME_IGNORED + 1] = {0};
    for (size_t i = 0; i < reply->result_count; i++)
        if (reply->results[i].outcome <= LK_OUTCOME_IGNORED)
            counts[reply->results[i].outcome]++;
    for (int i = 0; i <= LK_OUTCOME_IGNORED; i++)
        if (counts[i])
            lk_metrics_add(s_metrics.outcomes[i], counts[i]);
}

/* ---- replies ----------------------------------------------------------------------------- */

static s_held_t *s_held_new(zframe_t *identity, lk_msg_t *reply)
{
    s_held_t *held = calloc(1, sizeof *held);
    if (!held)
        lk_fatal("correlate: out of memory");
    held->identity = zframe_dup(identity);
    held->reply = *reply; /* moved */
    lk_msg_init(reply, LK_MSG_INVALID);
    return held;
}

/* Frees a held reply; accepts NULL. */
static void s_held_destroy(s_held_t **held_p)
{
    s_held_t *held = *held_p;
    if (!held)
        return;
    zframe_destroy(&held->identity);
    lk_msg_clear(&held->reply);
    free(held);
    *held_p = NULL;
}

/* Sends a reply to ingest. A failure means ingest went away or is flooded: it will time out
   and answer 503, and the sender retries, so the reply is simply dropped. */
static void s_reply_send(s_correlate_t *self, zframe_t *identity, const lk_msg_t *reply)
{
    if (lk_sock_send(self->frontend, identity, reply, self->tap, "correlate>ingest") != 0)
        lk_debug("correlate: reply %" PRIu64 " to ingest dropped (peer gone or full)", reply->req);
}

/* Replaces a reply's content with a failure, keeping type, req and tenant. */
static void s_reply_fail(lk_msg_t *reply, lk_status_t status, const char *error)
{
    lk_msg_type_t type = reply->type;
    uint64_t req = reply->req;
    char tenant_id[LK_UUID_STR_LEN + 1];
    memcpy(tenant_id, reply->tenant_id, sizeof tenant_id);
    lk_msg_clear(reply);
    lk_msg_init(reply, type);
    reply->req = req;
    memcpy(reply->tenant_id, tenant_id, sizeof tenant_id);
    reply->status = status;
    reply->error = strdup(error);
}

/* Answers a request at once with a failure. */
static void s_answer_failure(s_correlate_t *self, zframe_t *identity, const lk_msg_t *request,
                             lk_msg_type_t reply_type, lk_status_t status, const char *error)
{
    lk_msg_t reply;
    lk_msg_init(&reply, reply_type);
    reply.req = request->req;
    memcpy(reply.tenant_id, request->tenant_id, sizeof reply.tenant_id);
    reply.status = status;
    reply.error = strdup(error);
    s_reply_send(self, identity, &reply);
    lk_msg_clear(&reply);
}

/* Sends the reply now when everything it depends on is committed, else parks it with the
   batch it is due at (the pending one, or the oldest unacknowledged with seq >= due). */
static void s_reply_when_committed(s_correlate_t *self, zframe_t *identity, lk_msg_t *reply,
                                   uint64_t due_seq)
{
    if (due_seq <= self->committed_seq) {
        s_reply_send(self, identity, reply);
        lk_msg_clear(reply);
        return;
    }
    zlistx_t *list = self->held;
    for (s_batch_t *batch = zlistx_first(self->batches); batch;
         batch = zlistx_next(self->batches)) {
        if (batch->batch.req >= due_seq) {
            list = batch->held;
            break;
        }
    }
    zlistx_add_end(list, s_held_new(identity, reply));
}

/* Sends and frees every reply of the list (their batch is committed). */
static void s_held_send_all(s_correlate_t *self, zlistx_t *list)
{
    s_held_t *held;
    while ((held = zlistx_detach(list, NULL))) {
        s_reply_send(self, held->identity, &held->reply);
        s_held_destroy(&held);
    }
}

/* Answers every reply of the list with a failure instead, and frees them. */
static void s_held_fail_all(s_correlate_t *self, zlistx_t *list, lk_status_t status,
                            const char *error)
{
    s_held_t *held;
    while ((held = zlistx_detach(list, NULL))) {
        s_reply_fail(&held->reply, status, error);
        s_reply_send(self, held->identity, &held->reply);
        s_held_destroy(&held);
    }
}

/* Frees every reply of the list unsent (shutting down). */
static void s_held_drop_all(zlistx_t *list)
{
    s_held_t *held;
    while ((held = zlistx_detach(list, NULL)))
        s_held_destroy(&held);
}

/* ---- mutation batches -------------------------------------------------------------------- */

static void s_batch_destroy(s_batch_t **batch_p)
{
    s_batch_t *batch = *batch_p;
    if (!batch)
        return;
    lk_msg_clear(&batch->batch);
    s_held_drop_all(batch->held);
    zlistx_destroy(&batch->held);
    free(batch);
    *batch_p = NULL;
}

/* Sends every not-yet-sent batch in order, stopping at the first that cannot be queued
   (HWM, no store connected): order must hold, the rest waits for the next attempt. */
static void s_batches_flush(s_correlate_t *self)
{
    for (s_batch_t *batch = zlistx_first(self->batches); batch;
         batch = zlistx_next(self->batches)) {
        if (batch->sent)
            continue;
        if (lk_sock_send(self->store, NULL, &batch->batch, self->tap, "correlate>store") != 0) {
            if (!self->send_failed_logged)
                lk_warn("correlate: cannot queue mutation batch %" PRIu64
                        " to store (full or not connected); will retry",
                        batch->batch.req);
            self->send_failed_logged = true;
            return;
        }
        batch->sent = true;
    }
}

/* The longest silence between two re-sends, as a multiple of store_timeout_ms. */
#define S_RESEND_BACKOFF_MAX 16

/* Store made progress (or the first batch after idle left): the next re-send is due
   store_timeout_ms from now. */
static void s_progress(s_correlate_t *self)
{
    self->progress_ms = lk_mono_ms();
    self->resend_after_ms = self->store_timeout_ms;
}

/* Sends every unacknowledged batch again; the next re-send waits next_wait_ms. */
static void s_batches_resend(s_correlate_t *self, int64_t next_wait_ms)
{
    lk_metrics_inc(s_metrics.resends);
    for (s_batch_t *batch = zlistx_first(self->batches); batch; batch = zlistx_next(self->batches))
        batch->sent = false;
    self->progress_ms = lk_mono_ms();
    self->resend_after_ms = next_wait_ms;
    s_batches_flush(self);
}

/* Takes the engine's pending batch, if any, with the replies due at it, and sends it — only
   when no batch is in flight (see the top of this file for why). */
static void s_batch_take_and_send(s_correlate_t *self)
{
    if (zlistx_size(self->batches) > 0)
        return;
    correlate_engine_end_due(self->engine, lk_now_ms(),
                             S_ENDS_PER_BATCH + correlate_engine_pending_items(self->engine) / 4);
    s_batch_t *batch = calloc(1, sizeof *batch);
    if (!batch)
        lk_fatal("correlate: out of memory");
    if (!correlate_engine_take_batch(self->engine, &batch->batch)) {
        /* no mutation pending means nothing can be due at the pending seq */
        assert(zlistx_size(self->held) == 0);
        lk_msg_clear(&batch->batch);
        free(batch);
        return;
    }
    batch->items =
        batch->batch.alert_count + batch->batch.incident_count + batch->batch.event_count;
    batch->held = self->held;
    self->held = zlistx_new();
    if (!self->held)
        lk_fatal("correlate: out of memory");
    if (zlistx_size(self->batches) == 0)
        s_progress(self);
    zlistx_add_end(self->batches, batch);
    self->outstanding_items += batch->items;
    s_batches_flush(self);
}

/* Re-sends every unacknowledged batch when store made no progress for resend_after_ms.
   The wait doubles after each re-send without progress (up to S_RESEND_BACKOFF_MAX times
   store_timeout_ms): a store that is alive but slow (a large batch, a slow disk) is not
   handed the same batch again and again, which would only add to its backlog. */
static void s_batches_check_resend(s_correlate_t *self)
{
    if (zlistx_size(self->batches) == 0)
        return;
    if (lk_mono_ms() - self->progress_ms < self->resend_after_ms)
        return;
    if (!self->resend_logged) {
        s_batch_t *head = zlistx_first(self->batches);
        lk_warn("correlate: store has not acknowledged batch %" PRIu64 " within %" PRId64
                " ms; re-sending %zu batches",
                head->batch.req, self->resend_after_ms, zlistx_size(self->batches));
    }
    self->resend_logged = true;
    s_batches_resend(self, self->resend_after_ms < self->store_timeout_ms * S_RESEND_BACKOFF_MAX
                               ? self->resend_after_ms * 2
                               : self->resend_after_ms);
}

/* A (re)connection of the store DEALER: a batch sent on the connection before is lost with
   it (a store restart), so the unacknowledged batches go again now, without waiting for
   the timeout, and the re-send back-off starts over. */
static void s_handle_store_monitor(s_correlate_t *self)
{
    zmsg_t *event = zmsg_recv(self->store_monitor);
    char *name = event ? zmsg_popstr(event) : NULL;
    if (name && streq(name, "CONNECTED") && zlistx_size(self->batches) > 0) {
        lk_info("correlate: connected to store again; re-sending %zu batches",
                zlistx_size(self->batches));
        s_batches_resend(self, self->store_timeout_ms);
    }
    zstr_free(&name);
    zmsg_destroy(&event);
}

/* Fails every request still waiting for a commit and forgets the unacknowledged batches. */
static void s_fail_waiting(s_correlate_t *self, const char *error)
{
    s_batch_t *batch;
    while ((batch = zlistx_detach(self->batches, NULL))) {
        s_held_fail_all(self, batch->held, LK_STATUS_ERROR, error);
        s_batch_destroy(&batch);
    }
    s_held_fail_all(self, self->held, LK_STATUS_ERROR, error);
    self->outstanding_items = 0;
    s_lookup_t *lookup;
    while ((lookup = zlistx_detach(self->lookups, NULL))) {
        s_answer_failure(self, lookup->identity, &lookup->request, LK_MSG_COMMAND_REPLY,
                         LK_STATUS_UNAVAILABLE, "correlate is rebuilding its state");
        zframe_destroy(&lookup->identity);
        lk_msg_clear(&lookup->request);
        free(lookup);
    }
}

/* ---- configuration file and reload ------------------------------------------------------ */

static void s_frontend_throttle(s_correlate_t *self);
static int s_load(s_correlate_t *self);

/* Reads the configuration file again; a valid one waits in next_routing until the
   pipeline drained (s_reload_apply), an invalid one is logged and changes nothing. */
static void s_reload_request(s_correlate_t *self)
{
    char err[1024];
    lk_config_t *routing = NULL;
    if (lk_config_load(self->config->config_path, &routing, err, sizeof err) != 0) {
        lk_error("correlate: configuration reload failed, keeping the current one: %s", err);
        return;
    }
    lk_config_destroy(&self->next_routing);
    self->next_routing = routing;
    lk_info("correlate: configuration %s read; applying it once the mutations in flight are "
            "committed",
            self->config->config_path ? self->config->config_path : "(none)");
    s_frontend_throttle(self);
}

/* Applies a waiting configuration when nothing is in flight: rebuilds memory from store
   under it. */
static void s_reload_apply(s_correlate_t *self)
{
    if (!self->next_routing || zlistx_size(self->batches) > 0 ||
        correlate_engine_pending_items(self->engine) > 0)
        return;
    lk_config_t *previous = self->routing;
    self->routing = self->next_routing;
    self->next_routing = NULL;
    /* nothing in flight: every batch sent so far is acknowledged */
    s_load(self);
    lk_config_destroy(&previous);
    s_frontend_throttle(self);
}

/* ---- pipe -------------------------------------------------------------------------------- */

/* Serves one pipe command; sets terminated on "$TERM". */
static void s_handle_pipe(s_correlate_t *self)
{
    zmsg_t *msg = zmsg_recv(self->pipe);
    if (!msg) {
        self->terminated = true;
        return;
    }
    char *command = zmsg_popstr(msg);
    if (command && streq(command, "$TERM"))
        self->terminated = true;
    else if (command && streq(command, "RELOAD"))
        s_reload_request(self);
    else
        lk_warn("correlate: unknown pipe command '%s'", command ? command : "");
    free(command);
    zmsg_destroy(&msg);
}

/* ---- snapshot load ----------------------------------------------------------------------- */

/* Builds a fresh engine from store's snapshot, paging until the last page, re-asking every
   S_RETRY_MS while store does not answer. The new engine continues the old one's batch
   numbering. Returns 0, or -1 when terminated meanwhile. */
static int s_load(s_correlate_t *self)
{
    const correlate_config_t *config = self->config;
    correlate_engine_t *engine = correlate_engine_new(config->group_by, config->reopen_window_ms);
    correlate_engine_set_config(engine, self->routing, config->shard_count, config->shard_index);
    if (config->restart_grace_ms > 0) /* 0: a config built by hand keeps the engine's default */
        correlate_engine_set_restart_grace(engine, config->restart_grace_ms);
    correlate_engine_set_tick_end_limit(engine, 0); /* s_batch_take_and_send paces them */
    if (self->engine) {
        correlate_engine_set_next_seq(engine, correlate_engine_next_seq(self->engine));
        correlate_engine_destroy(&self->engine);
    }
    self->engine = engine;

    zpoller_t *poller = zpoller_new(self->pipe, self->query, NULL);
    if (!poller)
        lk_fatal("correlate: out of memory");
    char *cursor = NULL;
    bool warned = false;
    size_t pages = 0;
    int64_t started_ms = lk_mono_ms();
    int rc = -1;
    while (!self->terminated) {
        lk_msg_t query;
        lk_msg_init(&query, LK_MSG_QUERY);
        query.req = ++self->query_req;
        query.query.kind = LK_QUERY_SNAPSHOT;
        query.query.shard_count = config->shard_count;
        query.query.shard_index = config->shard_index;
        query.query.limit = S_SNAPSHOT_PAGE;
        query.query.cursor = cursor ? strdup(cursor) : NULL;
        /* a send that cannot be queued is retried like an unanswered one */
        lk_sock_send(self->query, NULL, &query, self->tap, "correlate>store");
        uint64_t req = query.req;
        lk_msg_clear(&query);

        int64_t deadline_ms = lk_mono_ms() + S_RETRY_MS;
        bool answered = false, page_done = false, done = false;
        while (!self->terminated && !page_done) {
            int64_t remaining_ms = deadline_ms - lk_mono_ms();
            if (remaining_ms <= 0)
                break;
            void *which = zpoller_wait(poller, (int)remaining_ms);
            if (which == self->pipe)
                s_handle_pipe(self);
            else if (which == self->query) {
                lk_msg_t reply;
                if (lk_sock_recv(self->query, NULL, &reply, self->tap, "correlate<store") != 0)
                    continue;
                if (reply.type == LK_MSG_QUERY_REPLY && reply.req == req) {
                    answered = true;
                    if (reply.status != LK_STATUS_OK) {
                        if (!warned)
                            lk_warn("correlate: snapshot query failed (%s: %s); retrying every "
                                    "%d ms",
                                    lk_status_name(reply.status), reply.error ? reply.error : "",
                                    S_RETRY_MS);
                        warned = true;
                    } else {
                        correlate_engine_load(engine, &reply);
                        pages++;
                        free(cursor);
                        cursor = reply.next_cursor && *reply.next_cursor ? strdup(reply.next_cursor)
                                                                         : NULL;
                        page_done = true;
                        done = cursor == NULL;
                    }
                }
                lk_msg_clear(&reply); /* stale answers to earlier attempts land here too */
            } else if (zpoller_terminated(poller))
                self->terminated = true;
        }
        if (done) {
            rc = 0;
            break;
        }
        if (!page_done && !answered && !warned && !self->terminated) {
            lk_warn("correlate: store query socket %s does not answer the snapshot query; "
                    "retrying every %d ms",
                    config->store_query_endpoint, S_RETRY_MS);
            warned = true;
        }
    }
    free(cursor);
    zpoller_destroy(&poller);
    if (rc == 0) {
        size_t dropped = correlate_engine_load_finish(engine, lk_now_ms());
        if (dropped)
            lk_warn("correlate: snapshot had %zu alerts without a live incident; dropped", dropped);
        lk_info("correlate: loaded %zu incidents and %zu alerts (%zu pages, %" PRId64 " ms)",
                correlate_engine_incident_count(engine), correlate_engine_alert_count(engine),
                pages, lk_mono_ms() - started_ms);
    }
    return rc;
}

/* Store rejected batch rejected_seq: memory and database may disagree. Fails the waiting
   requests, lets store finish the later batches it already holds (so the snapshot sees
   them), rebuilds. */
static void s_rebuild(s_correlate_t *self, const char *reason, uint64_t rejected_seq)
{
    uint64_t last_sent_seq = 0;
    size_t waiting = zlistx_size(self->held);
    for (s_batch_t *batch = zlistx_first(self->batches); batch;
         batch = zlistx_next(self->batches)) {
        waiting += zlistx_size(batch->held);
        if (batch->sent)
            last_sent_seq = batch->batch.req;
    }
    lk_error("correlate: %s; failing %zu waiting requests and rebuilding from store", reason,
             waiting);
    lk_metrics_inc(s_metrics.rebuilds);
    s_fail_waiting(self, "store rejected a mutation; correlate is rebuilding its state");

    int64_t deadline_ms = lk_mono_ms() + self->store_timeout_ms;
    zpoller_t *poller = zpoller_new(self->pipe, self->store, NULL);
    if (!poller)
        lk_fatal("correlate: out of memory");
    uint64_t heard_seq = rejected_seq; /* store answered every batch up to this one */
    while (!self->terminated && heard_seq < last_sent_seq) {
        int64_t remaining_ms = deadline_ms - lk_mono_ms();
        if (remaining_ms <= 0)
            break;
        void *which = zpoller_wait(poller, (int)remaining_ms);
        if (which == self->pipe)
            s_handle_pipe(self);
        else if (which == self->store) {
            lk_msg_t ack;
            if (lk_sock_recv(self->store, NULL, &ack, self->tap, "correlate<store") != 0)
                continue;
            if (ack.type == LK_MSG_MUTATION_ACK && ack.req > heard_seq)
                heard_seq = ack.req;
            lk_msg_clear(&ack);
        } else if (zpoller_terminated(poller))
            self->terminated = true;
    }
    zpoller_destroy(&poller);
    /* nothing in the rebuilt memory refers to a batch sent so far: count them all as done,
       so late acks of discarded batches are ignored like duplicates */
    self->committed_seq = correlate_engine_next_seq(self->engine) - 1;
    if (!self->terminated)
        s_load(self);
}

/* Reads requests only while the pending batch has room or nothing is in flight. */
static void s_frontend_throttle(s_correlate_t *self)
{
    if (!self->poller || !self->frontend)
        return;
    /* a reload waits for the pipeline to drain: no new work meanwhile */
    bool full = self->next_routing != NULL ||
                (zlistx_size(self->batches) > 0 &&
                 correlate_engine_pending_items(self->engine) >= S_BATCH_ITEMS_MAX);
    if (full && !self->frontend_paused)
        zpoller_remove(self->poller, self->frontend);
    else if (!full && self->frontend_paused)
        zpoller_add(self->poller, self->frontend);
    self->frontend_paused = full;
}

/* ---- store ------------------------------------------------------------------------------- */

/* Handles one ack: the batches it acknowledges move to acked, whose replies the caller sends
   once the next batch has left. */
static void s_handle_ack(s_correlate_t *self, lk_msg_t *ack, zlistx_t *acked)
{
    if (ack->type != LK_MSG_MUTATION_ACK) {
        lk_warn("correlate: unexpected %s on the store socket", lk_msg_type_name(ack->type));
        return;
    }
    if (ack->req <= self->committed_seq)
        return; /* the duplicate ack of a re-sent batch */
    if (ack->status != LK_STATUS_OK) {
        char reason[256];
        snprintf(reason, sizeof reason, "store rejected mutation batch %" PRIu64 " (%s: %s)",
                 ack->req, lk_status_name(ack->status), ack->error ? ack->error : "");
        s_rebuild(self, reason, ack->req);
        return;
    }
    self->committed_seq = ack->req;
    s_progress(self);
    self->resend_logged = false;
    self->send_failed_logged = false;
    s_batch_t *batch;
    while ((batch = zlistx_first(self->batches)) && batch->batch.req <= ack->req) {
        zlistx_detach(self->batches, NULL);
        self->outstanding_items -= batch->items;
        if (!zlistx_add_end(acked, batch))
            lk_fatal("correlate: out of memory");
    }
}

/* Reads the acks store has sent (bounded), releasing replies. */
static void s_handle_store(s_correlate_t *self)
{
    zlistx_t *acked = zlistx_new();
    if (!acked)
        lk_fatal("correlate: out of memory");
    for (int i = 0; i < S_STORE_DRAIN_MAX && !self->terminated; i++) {
        if (!(zsock_events(self->store) & ZMQ_POLLIN))
            break;
        lk_msg_t ack;
        int rc = lk_sock_recv(self->store, NULL, &ack, self->tap, "correlate<store");
        if (rc == -2)
            break;
        if (rc == 0)
            s_handle_ack(self, &ack, acked);
        lk_msg_clear(&ack);
    }
    /* The committed requests are answered before the next batch leaves: taking and encoding
       it costs the most exactly when requests queued (a burst folds into one large batch),
       and answers already durable should not wait for that; the next batch leaves a few
       microseconds a reply later. Against the other order, three A/Bs of fresh clusters
       (100,000 alerts held, 33,000 new alerts/s, 12 pairs of 3 rounds in all): p50 lower in
       each (-2 to -7%), the rounds' p99 less spread (quartiles 8.5 / 12.3 / 18.7 ms ->
       8.8 / 10.6 / 12.8), yet more of them over 10 ms (26 against 20 of 36); CPU per
       request the same. */
    s_batch_t *batch;
    while ((batch = zlistx_detach(acked, NULL))) {
        s_held_send_all(self, batch->held);
        s_batch_destroy(&batch);
    }
    zlistx_destroy(&acked);
    s_batches_flush(self);       /* a batch that could not be queued before */
    s_batch_take_and_send(self); /* what accumulated while the last one was in flight */
    s_frontend_throttle(self);
}

/* ---- commands about incidents memory does not hold --------------------------------------- */

/* Asks store about the incident of a command memory answered not_found. Takes ownership of
   request. */
static void s_lookup_start(s_correlate_t *self, zframe_t *identity, lk_msg_t *request)
{
    lk_msg_t query;
    lk_msg_init(&query, LK_MSG_QUERY);
    query.req = ++self->query_req;
    memcpy(query.tenant_id, request->tenant_id, sizeof query.tenant_id);
    query.query.kind = LK_QUERY_GET_INCIDENT;
    memcpy(query.query.incident_id, request->incident_id, sizeof query.query.incident_id);
    int rc = lk_sock_send(self->query, NULL, &query, self->tap, "correlate>store");
    lk_msg_clear(&query);
    if (rc != 0) {
        s_answer_failure(self, identity, request, LK_MSG_COMMAND_REPLY, LK_STATUS_UNAVAILABLE,
                         "store query socket unavailable");
        lk_msg_clear(request);
        return;
    }
    s_lookup_t *lookup = calloc(1, sizeof *lookup);
    if (!lookup)
        lk_fatal("correlate: out of memory");
    lookup->query_req = self->query_req;
    lookup->identity = zframe_dup(identity);
    lookup->request = *request; /* moved */
    lk_msg_init(request, LK_MSG_INVALID);
    lookup->deadline_ms = lk_mono_ms() + self->store_timeout_ms;
    zlistx_add_end(self->lookups, lookup);
}

/* Answers a looked-up command: an incident store has but memory lost is closed (or closing):
   acknowledge conflicts, resolve is an unchanged success. */
static void s_lookup_finish(s_correlate_t *self, s_lookup_t *lookup, const lk_msg_t *answer)
{
    lk_msg_t reply;
    lk_msg_init(&reply, LK_MSG_COMMAND_REPLY);
    reply.req = lookup->request.req;
    memcpy(reply.tenant_id, lookup->request.tenant_id, sizeof reply.tenant_id);
    const lk_incident_t *incident = NULL;
    if (answer && answer->status == LK_STATUS_OK && answer->incident_count > 0 &&
        strcmp(answer->incidents[0].tenant_id, lookup->request.tenant_id) == 0 &&
        strcmp(answer->incidents[0].id, lookup->request.incident_id) == 0)
        incident = &answer->incidents[0];
    if (!answer) {
        reply.status = LK_STATUS_UNAVAILABLE;
        reply.error = strdup("store did not answer");
    } else if (answer->status != LK_STATUS_OK && answer->status != LK_STATUS_NOT_FOUND) {
        reply.status = LK_STATUS_UNAVAILABLE;
        reply.error = strdup(answer->error ? answer->error : "store query failed");
    } else if (!incident) {
        reply.status = LK_STATUS_NOT_FOUND;
        reply.error = strdup("incident not found");
    } else {
        if (lookup->request.action == LK_ACTION_ACKNOWLEDGE) {
            reply.status = LK_STATUS_CONFLICT;
            reply.error = strdup("incident is closed");
        } else
            reply.status = LK_STATUS_OK;
        lk_msg_add_incident(&reply, incident);
    }
    s_reply_send(self, lookup->identity, &reply);
    lk_msg_clear(&reply);
}

/* Frees a lookup. */
static void s_lookup_destroy(s_lookup_t **lookup_p)
{
    s_lookup_t *lookup = *lookup_p;
    zframe_destroy(&lookup->identity);
    lk_msg_clear(&lookup->request);
    free(lookup);
    *lookup_p = NULL;
}

/* Reads store's query answers and finishes the lookups they belong to. */
static void s_handle_query(s_correlate_t *self)
{
    for (int i = 0; i < S_STORE_DRAIN_MAX; i++) {
        if (!(zsock_events(self->query) & ZMQ_POLLIN))
            break;
        lk_msg_t answer;
        int rc = lk_sock_recv(self->query, NULL, &answer, self->tap, "correlate<store");
        if (rc == -2)
            break;
        if (rc != 0)
            continue;
        for (s_lookup_t *lookup = zlistx_first(self->lookups); lookup;
             lookup = zlistx_next(self->lookups)) {
            if (lookup->query_req == answer.req && answer.type == LK_MSG_QUERY_REPLY) {
                zlistx_detach(self->lookups, zlistx_cursor(self->lookups));
                s_lookup_finish(self, lookup, &answer);
                s_lookup_destroy(&lookup);
                break;
            }
        }
        lk_msg_clear(&answer); /* late snapshot pages and timed-out lookups end here */
    }
}

/* Answers "unavailable" to lookups store did not answer in time. */
static void s_lookups_expire(s_correlate_t *self)
{
    /* every lookup gets the same timeout, so the list is in deadline order */
    int64_t now_ms = lk_mono_ms();
    s_lookup_t *lookup;
    while ((lookup = zlistx_first(self->lookups)) && lookup->deadline_ms <= now_ms) {
        zlistx_detach(self->lookups, NULL);
        s_lookup_finish(self, lookup, NULL);
        s_lookup_destroy(&lookup);
    }
}

/* ---- frontend ---------------------------------------------------------------------------- */

static void s_handle_request(s_correlate_t *self, zframe_t *identity, lk_msg_t *request)
{
    const correlate_config_t *config = self->config;
    lk_msg_type_t reply_type;
    if (request->type == LK_MSG_ALERT_BATCH)
        reply_type = LK_MSG_ALERT_REPLY;
    else if (request->type == LK_MSG_COMMAND)
        reply_type = LK_MSG_COMMAND_REPLY;
    else if (request->type == LK_MSG_SILENCE_COMMAND || request->type == LK_MSG_HEARTBEAT_PING)
        reply_type = LK_MSG_CONTROL_REPLY;
    else {
        lk_sock_unexpected(request, "correlate<ingest"); /* logged and counted; ignored */
        return;
    }
    if (!lk_uuid_valid(request->tenant_id)) {
        s_answer_failure(self, identity, request, reply_type, LK_STATUS_INVALID,
                         "missing or malformed tenant");
        return;
    }
    if (config->shard_count > 1 &&
        lk_shard_of(request->tenant_id, config->shard_count) != config->shard_index) {
        char error[128];
        snprintf(error, sizeof error, "tenant is not served by correlate shard %u of %u",
                 config->shard_index, config->shard_count);
        s_answer_failure(self, identity, request, reply_type, LK_STATUS_INVALID, error);
        return;
    }
    if (self->outstanding_items + correlate_engine_pending_items(self->engine) >=
        S_OUTSTANDING_ITEMS_MAX) {
        s_answer_failure(self, identity, request, reply_type, LK_STATUS_UNAVAILABLE,
                         "store is not keeping up");
        return;
    }

    lk_msg_t reply;
    uint64_t due_seq;
    if (request->type == LK_MSG_ALERT_BATCH) {
        due_seq = correlate_engine_alert_batch(self->engine, request, &reply, lk_now_ms());
        s_metrics_outcomes(&reply);
    } else if (request->type == LK_MSG_SILENCE_COMMAND)
        due_seq = correlate_engine_silence(self->engine, request, &reply, lk_now_ms());
    else if (request->type == LK_MSG_HEARTBEAT_PING)
        due_seq = correlate_engine_heartbeat(self->engine, request, &reply, lk_now_ms());
    else {
        due_seq = correlate_engine_command(self->engine, request, &reply, lk_now_ms());
        /* by alert identity, memory is the whole truth: an alert store still has belongs
           to a closed incident, which no command changes */
        if (reply.status == LK_STATUS_NOT_FOUND && request->incident_id[0]) {
            lk_msg_clear(&reply);
            s_lookup_start(self, identity, request);
            return;
        }
    }
    s_reply_when_committed(self, identity, &reply, due_seq);
}

/* Reads up to S_DRAIN_MAX requests; their mutations go to store as soon as no batch is in
   flight. */
static void s_handle_frontend(s_correlate_t *self)
{
    for (int i = 0; i < S_DRAIN_MAX; i++) {
        if (!(zsock_events(self->frontend) & ZMQ_POLLIN))
            break;
        zframe_t *identity = NULL;
        lk_msg_t request;
        int rc = lk_sock_recv(self->frontend, &identity, &request, self->tap, "correlate<ingest");
        if (rc == -2) {
            zframe_destroy(&identity);
            break;
        }
        if (rc == 0)
            s_handle_request(self, identity, &request);
        lk_msg_clear(&request);
        zframe_destroy(&identity);
        /* store idle: it gets this request's mutations now, and commits them while the
           requests still queued here are handled (they fold into the next batch). Sending
           only after the drain made the two take turns when requests came in a burst: all
           of them handled here while store waited, then all of them committed while
           correlate waited. */
        s_batch_take_and_send(self);
        /* Likewise, store's ack is taken as soon as it is there, not after the drain: the
           committed requests are answered and the next batch leaves at once, so their
           senders' next requests overlap with store's next commit. */
        if (zlistx_size(self->batches) > 0 && (zsock_events(self->store) & ZMQ_POLLIN))
            s_handle_store(self);
        if (correlate_engine_pending_items(self->engine) >= S_BATCH_ITEMS_MAX)
            break;
    }
    s_batch_take_and_send(self);
    s_frontend_throttle(self);
}

/* ---- actor ------------------------------------------------------------------------------- */

/* Sets the gauges from the actor's state (the status walk every S_STATUS_COUNT_MS). */
static void s_metrics_update(s_correlate_t *self)
{
    size_t waiting = zlistx_size(self->held);
    for (s_batch_t *batch = zlistx_first(self->batches); batch; batch = zlistx_next(self->batches))
        waiting += zlistx_size(batch->held);
    lk_metrics_set(s_metrics.inflight_batches, (double)zlistx_size(self->batches));
    lk_metrics_set(s_metrics.inflight_items, (double)self->outstanding_items);
    lk_metrics_set(s_metrics.pending_items, (double)correlate_engine_pending_items(self->engine));
    lk_metrics_set(s_metrics.waiting_replies, (double)waiting);
    lk_metrics_set(s_metrics.alerts, (double)correlate_engine_alert_count(self->engine));
    lk_metrics_set(s_metrics.end_timers, (double)correlate_engine_end_count(self->engine));
    int64_t next_end_ms = correlate_engine_next_end_ms(self->engine), now_ms = lk_now_ms();
    lk_metrics_set(s_metrics.end_lag,
                   next_end_ms && next_end_ms < now_ms ? (double)(now_ms - next_end_ms) / 1000 : 0);
    lk_metrics_set(s_metrics.records, (double)correlate_engine_record_count(self->engine));
    lk_metrics_set(s_metrics.held, (double)correlate_engine_held_count(self->engine));
    lk_metrics_set(s_metrics.silences, (double)correlate_engine_silence_count(self->engine));
    lk_metrics_set(s_metrics.monitors, (double)correlate_engine_monitor_count(self->engine));
    if (lk_mono_ms() < s_metrics.next_count_ms)
        return;
    size_t counts[LK_INCIDENT_CLOSED + 1];
    correlate_engine_status_counts(self->engine, counts);
    for (int i = 0; i < LK_INCIDENT_CLOSED; i++)
        lk_metrics_set(s_metrics.open[i], (double)counts[i]);
    s_metrics.next_count_ms = lk_mono_ms() + S_STATUS_COUNT_MS;
}

/* The housekeeping timer: closes due incidents, expires lookups, refreshes the gauges. */
static void s_tick(s_correlate_t *self)
{
    size_t closed = correlate_engine_tick(self->engine, lk_now_ms());
    if (closed)
        lk_debug("correlate: closed %zu incidents", closed);
    s_batch_take_and_send(self);
    s_lookups_expire(self);
    s_metrics_update(self);
}

/* Frees the actor state; held replies are dropped unsent. */
static void s_correlate_destroy(s_correlate_t **self_p)
{
    s_correlate_t *self = *self_p;
    if (!self)
        return;
    s_batch_t *batch;
    while ((batch = zlistx_detach(self->batches, NULL)))
        s_batch_destroy(&batch);
    zlistx_destroy(&self->batches);
    s_held_drop_all(self->held);
    zlistx_destroy(&self->held);
    s_lookup_t *lookup;
    while ((lookup = zlistx_detach(self->lookups, NULL)))
        s_lookup_destroy(&lookup);
    zlistx_destroy(&self->lookups);
    zpoller_destroy(&self->poller);
    zsock_destroy(&self->frontend);
    zactor_destroy(&self->store_monitor);
    zsock_destroy(&self->store);
    zsock_destroy(&self->query);
    lk_tap_destroy(&self->tap);
    lk_config_destroy(&self->routing);
    lk_config_destroy(&self->next_routing);
    correlate_engine_destroy(&self->engine);
    free(self);
    *self_p = NULL;
}

/* Creates the actor state and its store sockets (the frontend comes after the load). */
static s_correlate_t *s_correlate_new(zsock_t *pipe, const correlate_config_t *config)
{
    s_correlate_t *self = calloc(1, sizeof *self);
    if (!self)
        lk_fatal("correlate: out of memory");
    self->config = config;
    self->pipe = pipe;
    self->store_timeout_ms = config->store_timeout_ms > 0 ? config->store_timeout_ms : 2000;
    self->resend_after_ms = self->store_timeout_ms;
    self->tap = lk_tap_new(config->tap_endpoint);
    self->store = lk_sock_new(ZMQ_DEALER, config->store_endpoint);
    self->query = lk_sock_new(ZMQ_DEALER, config->store_query_endpoint);
    if (!self->store || !self->query)
        lk_fatal("correlate: cannot connect to store (%s, %s)", config->store_endpoint,
                 config->store_query_endpoint);
    self->store_monitor = zactor_new(zmonitor, self->store);
    if (!self->store_monitor)
        lk_fatal("correlate: out of memory");
    zstr_sendx(self->store_monitor, "LISTEN", "CONNECTED", NULL);
    zstr_send(self->store_monitor, "START");
    zsock_wait(self->store_monitor);
    self->batches = zlistx_new();
    self->held = zlistx_new();
    self->lookups = zlistx_new();
    if (!self->batches || !self->held || !self->lookups)
        lk_fatal("correlate: out of memory");
    return self;
}

/* See correlate.h. */
void correlate_actor(zsock_t *pipe, void *args)
{
    const correlate_config_t *config = args;
    assert(config && config->frontend_endpoint && config->store_endpoint &&
           config->store_query_endpoint);
    s_correlate_t *self = s_correlate_new(pipe, config);
    s_metrics_register();
    s_metrics.next_count_ms = 0;
    char err[1024];
    if (lk_config_load(config->config_path, &self->routing, err, sizeof err) != 0)
        lk_fatal("correlate: configuration: %s", err);

    if (s_load(self) != 0) {
        s_correlate_destroy(&self);
        return;
    }
    self->frontend = lk_sock_new(ZMQ_ROUTER, config->frontend_endpoint);
    /* an inproc endpoint an earlier actor of this process bound is free only once ZeroMQ's
       reaper has closed that socket: an in-process restart (the tests) may come first */
    for (int attempt = 0;
         !self->frontend && attempt < 50 && strncmp(config->frontend_endpoint, "inproc://", 9) == 0;
         attempt++) {
        zclock_sleep(20);
        self->frontend = lk_sock_new(ZMQ_ROUTER, config->frontend_endpoint);
    }
    if (!self->frontend)
        lk_fatal("correlate: cannot bind %s", config->frontend_endpoint);
    /* store sockets first: acks release replies, so they go before new work */
    self->poller =
        zpoller_new(pipe, self->store, self->query, self->store_monitor, self->frontend, NULL);
    if (!self->poller)
        lk_fatal("correlate: out of memory");
    zsock_signal(pipe, 0);
    lk_info("correlate: serving %s (shard %u of %u, group_by '%s', reopen window %" PRId64 " ms)",
            config->frontend_endpoint, config->shard_index, config->shard_count,
            config->group_by ? config->group_by : "", config->reopen_window_ms);

    int64_t next_tick_ms = lk_mono_ms() + S_TICK_MS;
    while (!self->terminated) {
        int64_t now_ms = lk_mono_ms();
        int64_t wake_ms = next_tick_ms;
        if (zlistx_size(self->batches) > 0 && self->progress_ms + self->resend_after_ms < wake_ms)
            wake_ms = self->progress_ms + self->resend_after_ms;
        int timeout_ms = wake_ms > now_ms ? (int)(wake_ms - now_ms) : 0;
        /* the alert table has work for quiet moments (its growth's move, engine.h): only a
           glance at the sockets */
        bool moving = correlate_engine_move_slots(self->engine, 0);
        if (moving)
            timeout_ms = 0;

        void *which = zpoller_wait(self->poller, timeout_ms);
        if (which == pipe)
            s_handle_pipe(self);
        else if (which == self->store)
            s_handle_store(self);
        else if (which == self->query)
            s_handle_query(self);
        else if (which == self->store_monitor)
            s_handle_store_monitor(self);
        else if (which == self->frontend)
            s_handle_frontend(self);
        else if (zpoller_terminated(self->poller))
            break;
        else if (moving) /* quiet sockets: a slice of the move */
            correlate_engine_move_slots(self->engine, S_IDLE_MOVE_SLOTS);

        if (lk_mono_ms() >= next_tick_ms) {
            s_tick(self);
            next_tick_ms = lk_mono_ms() + S_TICK_MS;
        }
        s_batches_check_resend(self);
        s_reload_apply(self);
    }
    s_correlate_destroy(&self);
}
