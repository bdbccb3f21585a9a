/*  escalate — the actor behind lookout-escalate (see escalate.h).

    State, per open incident (s_incident_t): the incident as of the last event, where its
    escalation stands (policy, step, level, cycle, when the next step is due) and its
    notifications (s_note_t), each in one of four states:
        queued    its row is in a write not yet acknowledged by store
        waiting   committed; to be dispatched at due_ms (back-off, rate limit, no worker)
        inflight  with a worker; dispatched again (attempt + 1) when the lease ends
        final     sent, failed or cancelled
    Writes (escalation steps, notification rows, the cursor) go to store one message at a
    time on one DEALER, in order, re-sent after store_timeout_ms until acknowledged, like
    correlate's batches; rows are absolute states, so a re-sent write changes nothing.

    Timers are one binary heap of (due, kind, id, generation); re-arming bumps the owner's
    generation, so stale entries are skipped when they surface (no removal from the middle).
    Incident details (the alerts, for labels and payload links) are fetched from store's
    query socket once per incident, asynchronously.
*/
#include "escalate.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lk_config.h"
#include "lk_daemon.h"
#include "lk_env.h"
#include "lk_log.h"
#include "lk_metrics.h"
#include "lk_sock.h"
#include "lk_tap.h"
#include "lk_time.h"
#include "lk_uuid.h"
#include "oncall.h"

#define S_DETAILS_TIMEOUT_MS 3000  /* an incident's alerts: proceed without them after this */
#define S_SYNC_TIMEOUT_MS    15000 /* start-up and replay queries: store is gone after this */
#define S_NO_WORKER_RETRY_MS 50    /* no worker free (PUSH would block): try again */
#define S_JOBS_HWM           1     /* jobs queued towards one worker; the rest wait here */
#define S_JOBS_BUFFER        4096  /* kernel buffer of the jobs socket: keeps the queue short */
#define S_CURSOR_EVERY_MS    1000  /* commit the cursor at most this often while busy */
#define S_OVERRIDES_TTL_MS   5000  /* stored on-call overrides are re-read after this */
#define S_REPLAY_PAGE        1000
#define S_STATE_PAGE         1000
#define S_TARGETS_MAX        256 /* recipients of one level step */

void escalate_config_from_env(escalate_config_t *config)
{
    config->store_endpoint = lk_env_str("LOOKOUT_STORE_ENDPOINT", "tcp://127.0.0.1:18101");
    config->store_query_endpoint =
        lk_env_str("LOOKOUT_STORE_QUERY_ENDPOINT", "tcp://127.0.0.1:18102");
    config->store_events_endpoint =
        lk_env_str("LOOKOUT_STORE_EVENTS_ENDPOINT", "tcp://127.0.0.1:18103");
    config->jobs_endpoint = lk_env_str("LOOKOUT_NOTIFY_JOBS_ENDPOINT", "tcp://127.0.0.1:18105");
    config->results_endpoint =
        lk_env_str("LOOKOUT_NOTIFY_RESULTS_ENDPOINT", "tcp://127.0.0.1:18106");
    config->config_path = lk_env_str("LOOKOUT_CONFIG", NULL);
    config->tap_endpoint = lk_env_str("LOOKOUT_ESCALATE_TAP", NULL);
    config->lease_ms = lk_env_int("LOOKOUT_NOTIFY_LEASE_S", 60, 1, 86400) * 1000;
    config->store_timeout_ms = lk_env_int("LOOKOUT_STORE_TIMEOUT_MS", 2000, 10, 600000);
}

/* ---- state ----------------------------------------------------------------------------- */

typedef enum { S_NOTE_QUEUED = 0, S_NOTE_WAITING, S_NOTE_INFLIGHT, S_NOTE_FINAL } s_note_state_t;

typedef struct s_incident_t s_incident_t;

typedef struct {
    lk_notification_t row; /* as last written */
    s_note_state_t state;
    uint64_t commit_req; /* queued: dispatchable once store acknowledged this write */
    int64_t due_ms;      /* waiting: not before; inflight: end of the lease */
    uint64_t generation;
    s_incident_t *incident;
} s_note_t;

typedef enum {
    S_ESC_NONE = 0, /* not escalating: no policy, or not started */
    S_ESC_WAITING,  /* level `level` is due at next_at */
    S_ESC_NOTIFIED, /* level `level` notified; the next step is due at next_at (0 = none) */
    S_ESC_ACKED,    /* paused; resumes at next_at (0 = never) */
    S_ESC_RESOLVED,
} s_esc_t;

static const char *s_esc_names[] = {"none", "waiting", "notified", "acknowledged", "resolved"};

struct s_incident_t {
    char id[LK_UUID_STR_LEN + 1];
    char tenant_id[LK_UUID_STR_LEN + 1];
    lk_incident_t incident; /* as of the latest event (or the rebuild) */
    bool has_incident;
    uint64_t last_sequence; /* events up to this one are applied */
    s_esc_t esc;
    char *policy;
    uint32_t step, level, cycle;
    int64_t next_at_ms;
    uint64_t esc_sequence; /* the event the escalation follows from */
    uint64_t generation;
    bool start_pending; /* waiting for details to choose the policy */
    uint64_t start_sequence;
    int details; /* 0 not asked, 1 asked, 2 known (or given up) */
    uint64_t details_req;
    int64_t details_deadline_ms;
    lk_alert_t *alerts; /* the first LK_NOTIFY_JOB_ALERTS */
    size_t alert_count;
    lk_labels_t labels; /* group labels + labels all alerts share */
    s_note_t **notes;
    size_t note_count;
    size_t note_capacity;
    bool closed; /* incident_closed seen: forget it once its notes are final */
};

typedef enum { S_TIMER_INCIDENT = 0, S_TIMER_NOTE, S_TIMER_DETAILS } s_timer_kind_t;

typedef struct {
    int64_t due_ms;
    s_timer_kind_t kind;
    uint64_t generation;
    char id[LK_UUID_STR_LEN + 1];
} s_timer_t;

typedef struct {
    double tokens;
    int64_t updated_ms;
} s_bucket_t;

typedef struct {
    const escalate_config_t *config;
    lk_config_t *conf;
    lk_tap_t *tap;
    zsock_t *pipe;
    zsock_t *events;     /* SUB */
    zsock_t *mutations;  /* DEALER to store */
    zsock_t *queries;    /* DEALER to store */
    zsock_t *jobs;       /* PUSH */
    zsock_t *results;    /* PULL */
    zhashx_t *incidents; /* id → s_incident_t (owned) */
    zhashx_t *notes;     /* id → s_note_t (owned by its incident) */
    zhashx_t *details;   /* "req" → incident id (owned string) */
    zhashx_t *buckets;   /* rate-limit key → s_bucket_t (owned) */
    zlistx_t *ready;     /* ids of notes due but not taken by a worker yet, oldest first */
    s_timer_t *heap;
    size_t heap_count, heap_capacity;
    /* writes */
    lk_msg_t pending; /* mutation_batch being filled */
    uint64_t pending_req;
    lk_msg_t inflight; /* the write store has not acknowledged yet */
    bool inflight_busy;
    int64_t inflight_sent_ms;
    uint64_t inflight_cursor; /* events covered once this write is acknowledged */
    uint64_t acked_req;
    uint64_t req_counter; /* the req of the last write sent; pending_req = it + 1 */
    /* the event stream */
    uint64_t last_sequence;
    uint64_t cursor_done;
    uint64_t cursor_committed;
    int64_t cursor_sent_ms;
    uint64_t query_req;
    /* stored overrides, per tenant, cached briefly */
    zhashx_t *overrides; /* tenant → lk_msg_t (query_reply), owned */
    zhashx_t *overrides_at;
    /* workers: how many jobs they hold, who reported lately (their count sets how many jobs
       may be out at once, so that jobs wait here rather than queued behind a slow worker) */
    size_t inflight_jobs;
    zhashx_t *workers; /* worker name → int64_t ms of its last result */
    /* counters for the log */
    uint64_t dispatched, delivered, failed;
} s_self_t;

/* ---- heap ------------------------------------------------------------------------------ */

static void s_heap_swap(s_timer_t *a, s_timer_t *b)
{
    s_timer_t swap = *a;
    *a = *b;
    *b = swap;
}

static void s_timer_arm(s_self_t *self, s_timer_kind_t kind, const char *id, uint64_t generation,
                        int64_t due_ms)
{
    if (self->heap_count == self->heap_capacity) {
        size_t capacity = self->heap_capacity ? self->heap_capacity * 2 : 256;
        s_timer_t *grown = realloc(self->heap, capacity * sizeof *grown);
        if (!grown)
            lk_fatal("escalate: out of memory");
        self->heap = grown;
        self->heap_capacity = capacity;
    }
    size_t index = self->heap_count++;
    self->heap[index] = (s_timer_t){.due_ms = due_ms, .kind = kind, .generation = generation};
    snprintf(self->heap[index].id, sizeof self->heap[index].id, "%s", id);
    while (index > 0 && self->heap[(index - 1) / 2].due_ms > self->heap[index].due_ms) {
        s_heap_swap(&self->heap[(index - 1) / 2], &self->heap[index]);
        index = (index - 1) / 2;
    }
}

static void s_heap_pop(s_self_t *self)
{
    self->heap[0] = self->heap[--self->heap_count];
    size_t index = 0;
    while (true) {
        size_t smallest = index, left = 2 * index + 1, right = left + 1;
        if (left < self->heap_count && self->heap[left].due_ms < self->heap[smallest].due_ms)
            smallest = left;
        if (right < self->heap_count && self->heap[right].due_ms < self->heap[smallest].due_ms)
            smallest = right;
        if (smallest == index)
            break;
        s_heap_swap(&self->heap[smallest], &self->heap[index]);
        index = smallest;
    }
}

static void s_incident_arm(s_self_t *self, s_incident_t *incident, int64_t due_ms)
{
    incident->generation++;
    s_timer_arm(self, S_TIMER_INCIDENT, incident->id, incident->generation, due_ms);
}

static void s_note_arm(s_self_t *self, s_note_t *note, int64_t due_ms)
{
    note->due_ms = due_ms;
    note->generation++;
    s_timer_arm(self, S_TIMER_NOTE, note->row.id, note->generation, due_ms);
}

/* ---- incidents and notes --------------------------------------------------------------- */

/*  zhashx destructors: a plain heap item, and a cached query reply. */
static void s_free_item(void **item)
{
    free(*item);
    *item = NULL;
}

static void s_msg_destroy(void **item)
{
    lk_msg_clear(*item);
    free(*item);
    *item = NULL;
}

static void s_incident_destroy(void **item)
{
    s_incident_t *incident = *item;
    if (!incident)
        return;
    lk_incident_clear(&incident->incident);
    free(incident->policy);
    for (size_t i = 0; i < incident->alert_count; i++)
        lk_alert_clear(&incident->alerts[i]);
    free(incident->alerts);
    lk_labels_clear(&incident->labels);
    for (size_t i = 0; i < incident->note_count; i++) {
        lk_notification_clear(&incident->notes[i]->row);
        free(incident->notes[i]);
    }
    free(incident->notes);
    free(incident);
    *item = NULL;
}

static s_incident_t *s_incident_get(s_self_t *self, const char *tenant_id, const char *id,
                                    bool create)
{
    s_incident_t *incident = zhashx_lookup(self->incidents, id);
    if (incident || !create)
        return incident;
    incident = calloc(1, sizeof *incident);
    if (!incident)
        lk_fatal("escalate: out of memory");
    snprintf(incident->id, sizeof incident->id, "%s", id);
    snprintf(incident->tenant_id, sizeof incident->tenant_id, "%s", tenant_id);
    zhashx_insert(self->incidents, incident->id, incident);
    return incident;
}

/*  Forgets an incident and its notifications (their ids leave the notes index first). */
static void s_incident_drop(s_self_t *self, s_incident_t *incident)
{
    for (size_t i = 0; i < incident->note_count; i++) {
        if (incident->notes[i]->state == S_NOTE_INFLIGHT)
            self->inflight_jobs--;
        zhashx_delete(self->notes, incident->notes[i]->row.id);
    }
    if (incident->details == 1) {
        char key[24];
        snprintf(key, sizeof key, "%" PRIu64, incident->details_req);
        zhashx_delete(self->details, key);
    }
    zhashx_delete(self->incidents, incident->id); /* destroys it */
}

/*  Keeps the newest incident state seen. */
static void s_incident_update(s_incident_t *incident, const lk_incident_t *state)
{
    if (incident->has_incident && state->version < incident->incident.version)
        return;
    lk_incident_t copy;
    if (lk_incident_copy(&copy, state) != 0)
        lk_fatal("escalate: out of memory");
    lk_incident_clear(&incident->incident);
    incident->incident = copy;
    incident->has_incident = true;
}

static s_note_t *s_note_add(s_self_t *self, s_incident_t *incident, const lk_notification_t *row,
                            s_note_state_t state)
{
    s_note_t *note = calloc(1, sizeof *note);
    if (!note || lk_notification_copy(&note->row, row) != 0)
        lk_fatal("escalate: out of memory");
    note->state = state;
    note->incident = incident;
    if (incident->note_count == incident->note_capacity) {
        size_t capacity = incident->note_capacity ? incident->note_capacity * 2 : 8;
        s_note_t **grown = realloc(incident->notes, capacity * sizeof *grown);
        if (!grown)
            lk_fatal("escalate: out of memory");
        incident->notes = grown;
        incident->note_capacity = capacity;
    }
    incident->notes[incident->note_count++] = note;
    zhashx_insert(self->notes, note->row.id, note);
    return note;
}

/*  Moves a note to state, keeping count of the jobs workers hold. */
static void s_note_state(s_self_t *self, s_note_t *note, s_note_state_t state)
{
    if (note->state == S_NOTE_INFLIGHT && state != S_NOTE_INFLIGHT)
        self->inflight_jobs--;
    else if (note->state != S_NOTE_INFLIGHT && state == S_NOTE_INFLIGHT)
        self->inflight_jobs++;
    note->state = state;
}

/* ---- writes to store ------------------------------------------------------------------- */

/*  Queues a notification's row; the note may be dispatched once this write is committed. */
static void s_write_note(s_self_t *self, s_note_t *note)
{
    if (lk_msg_add_notification(&self->pending, &note->row) != 0)
        lk_fatal("escalate: out of memory");
    note->commit_req = self->pending_req;
}

/*  Queues an escalation step of the incident as it stands. */
static void s_write_step(s_self_t *self, s_incident_t *incident, const char *target,
                         const char *note, int64_t now_ms)
{
    lk_escalation_t row = {.step = ++incident->step,
                           .level = incident->level,
                           .cycle = incident->cycle,
                           .event_sequence = incident->esc_sequence,
                           .next_at_ms = incident->next_at_ms,
                           .created_at_ms = now_ms,
                           .updated_at_ms = now_ms};
    lk_uuid7(row.id);
    snprintf(row.tenant_id, sizeof row.tenant_id, "%s", incident->tenant_id);
    snprintf(row.incident_id, sizeof row.incident_id, "%s", incident->id);
    row.policy = incident->policy ? incident->policy : "";
    row.target = (char *)(target ? target : "");
    row.status = (char *)s_esc_names[incident->esc];
    row.note = (char *)note;
    if (lk_msg_add_escalation(&self->pending, &row) != 0)
        lk_fatal("escalate: out of memory");
}

/*  Sends the next write when none is in flight: the pending batch, else the cursor. */
static void s_flush(s_self_t *self, int64_t now_ms)
{
    if (self->inflight_busy) {
        if (now_ms - self->inflight_sent_ms >= self->config->store_timeout_ms) {
            lk_warn("escalate: store did not acknowledge write %" PRIu64 "; sending it again",
                    self->inflight.req);
            if (lk_sock_send(self->mutations, NULL, &self->inflight, self->tap, "escalate>store") ==
                0)
                self->inflight_sent_ms = now_ms;
        }
        return;
    }
    bool batch = self->pending.notification_count || self->pending.escalation_count;
    if (!batch)
        self->cursor_done = self->last_sequence; /* nothing of it is unwritten */
    /* the cursor goes at most once a second, ahead of a batch when one is due, so a busy
       escalate still moves it */
    bool cursor_due = self->cursor_done > self->cursor_committed &&
                      now_ms - self->cursor_sent_ms >= S_CURSOR_EVERY_MS;
    if (cursor_due) {
        lk_msg_init(&self->inflight, LK_MSG_CURSOR_COMMIT);
        self->inflight.consumer = strdup(ESCALATE_CONSUMER);
        self->inflight.sequence = self->cursor_done;
        self->inflight_cursor = self->cursor_done;
        self->cursor_sent_ms = now_ms;
    } else if (batch) {
        self->inflight = self->pending;
        self->inflight_cursor = self->last_sequence;
        lk_msg_init(&self->pending, LK_MSG_MUTATION_BATCH);
    } else
        return;
    /* one number space for every write: notes wait for the req of the batch they are in */
    self->inflight.req = self->pending_req;
    self->req_counter = self->pending_req;
    self->pending_req = self->req_counter + 1;
    self->inflight_busy = true;
    self->inflight_sent_ms = now_ms;
    if (lk_sock_send(self->mutations, NULL, &self->inflight, self->tap, "escalate>store") != 0)
        lk_warn("escalate: store is not accepting writes; will retry");
}

/* ---- rate limits ----------------------------------------------------------------------- */

/*  Milliseconds until the bucket has a token (0: it has one now). */
static int64_t s_bucket_wait(s_self_t *self, const char *key, uint32_t count, int64_t per_ms,
                             int64_t now_ms, s_bucket_t **bucket_p)
{
    *bucket_p = NULL;
    if (count == 0 || per_ms <= 0)
        return 0;
    s_bucket_t *bucket = zhashx_lookup(self->buckets, key);
    if (!bucket) {
        bucket = calloc(1, sizeof *bucket);
        if (!bucket)
            lk_fatal("escalate: out of memory");
        bucket->tokens = count;
        bucket->updated_ms = now_ms;
        zhashx_insert(self->buckets, key, bucket);
    }
    double rate = (double)count / (double)per_ms; /* tokens per ms */
    bucket->tokens += (double)(now_ms - bucket->updated_ms) * rate;
    if (bucket->tokens > count)
        bucket->tokens = count;
    bucket->updated_ms = now_ms;
    *bucket_p = bucket;
    if (bucket->tokens >= 1.0)
        return 0;
    return (int64_t)((1.0 - bucket->tokens) / rate) + 1;
}

/*  Takes a token from the channel's and the channel+target's buckets, or tells how long
    to wait (then it takes none). */
static int64_t s_rate_limit(s_self_t *self, const lk_notification_t *row, int64_t now_ms)
{
    const lk_notify_settings_t *settings = &self->conf->notify.settings;
    char key[600];
    snprintf(key, sizeof key, "%s\x1f%s", row->channel, row->target ? row->target : "");
    s_bucket_t *channel_bucket, *target_bucket;
    int64_t wait = s_bucket_wait(self, row->channel, settings->channel_rate_count,
                                 settings->channel_rate_per_ms, now_ms, &channel_bucket);
    int64_t target_wait = s_bucket_wait(self, key, settings->target_rate_count,
                                        settings->target_rate_per_ms, now_ms, &target_bucket);
    if (target_wait > wait)
        wait = target_wait;
    if (wait > 0)
        return wait;
    if (channel_bucket)
        channel_bucket->tokens -= 1.0;
    if (target_bucket)
        target_bucket->tokens -= 1.0;
    return 0;
}

/* ---- details (an incident's alerts) ---------------------------------------------------- */

static void s_request_details(s_self_t *self, s_incident_t *incident, int64_t now_ms)
{
    if (incident->details != 0)
        return;
    lk_msg_t query;
    lk_msg_init(&query, LK_MSG_QUERY);
    query.req = ++self->query_req;
    snprintf(query.tenant_id, sizeof query.tenant_id, "%s", incident->tenant_id);
    query.query.kind = LK_QUERY_GET_INCIDENT;
    snprintf(query.query.incident_id, sizeof query.query.incident_id, "%s", incident->id);
    int rc = lk_sock_send(self->queries, NULL, &query, self->tap, "escalate>query");
    lk_msg_clear(&query);
    incident->details = 1;
    incident->details_req = self->query_req;
    incident->details_deadline_ms = now_ms + (rc == 0 ? S_DETAILS_TIMEOUT_MS : 0);
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, incident->details_req);
    zhashx_update(self->details, key, strdup(incident->id));
    s_timer_arm(self, S_TIMER_DETAILS, incident->id, incident->details_req,
                incident->details_deadline_ms);
}

/*  The labels a policy and a channel's require_labels are matched against. */
static void s_incident_labels(s_incident_t *incident, const lk_alert_t *alerts, size_t count)
{
    lk_labels_clear(&incident->labels);
    if (count > 0)
        for (size_t i = 0; i < alerts[0].labels.count; i++) {
            const lk_label_t *label = &alerts[0].labels.items[i];
            bool shared = true;
            for (size_t a = 1; a < count && shared; a++) {
                const char *value = lk_labels_get(&alerts[a].labels, label->name);
                shared = value && strcmp(value, label->value) == 0;
            }
            if (shared)
                lk_labels_set(&incident->labels, label->name, label->value);
        }
    for (size_t i = 0; incident->has_incident && i < incident->incident.group_labels.count; i++)
        lk_labels_set(&incident->labels, incident->incident.group_labels.items[i].name,
                      incident->incident.group_labels.items[i].value);
}

/* ---- stored overrides ------------------------------------------------------------------ */

static int s_sync_query(s_self_t *self, lk_msg_t *request, lk_msg_t *reply);

/*  The tenant's stored on-call overrides, re-read when older than S_OVERRIDES_TTL_MS.
    Returns the cached reply (may hold no overrides) or NULL when store did not answer. */
static const lk_msg_t *s_overrides(s_self_t *self, const char *tenant_id, int64_t now_ms)
{
    int64_t *at = zhashx_lookup(self->overrides_at, tenant_id);
    lk_msg_t *cached = zhashx_lookup(self->overrides, tenant_id);
    if (cached && at && now_ms - *at < S_OVERRIDES_TTL_MS)
        return cached;
    lk_msg_t request, *reply = calloc(1, sizeof *reply);
    if (!reply)
        lk_fatal("escalate: out of memory");
    lk_msg_init(&request, LK_MSG_QUERY);
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", tenant_id);
    request.query.kind = LK_QUERY_ONCALL_OVERRIDES;
    request.query.since_ms = now_ms - 1;
    request.query.until_ms = now_ms + 1;
    int rc = s_sync_query(self, &request, reply);
    lk_msg_clear(&request);
    if (rc != 0 || reply->status != LK_STATUS_OK) {
        lk_warn("escalate: could not read the on-call overrides of tenant %s", tenant_id);
        lk_msg_clear(reply);
        free(reply);
        return cached; /* the last known ones, if any */
    }
    int64_t *stamp = malloc(sizeof *stamp);
    if (!stamp)
        lk_fatal("escalate: out of memory");
    *stamp = now_ms;
    zhashx_update(self->overrides, tenant_id, reply);
    zhashx_update(self->overrides_at, tenant_id, stamp);
    return reply;
}

/* ---- notifications --------------------------------------------------------------------- */

/*  True when the incident carries every label the channel requires (deckhand:
    customer_facing=true). */
static bool s_channel_fits(const s_incident_t *incident, const lk_channel_t *channel)
{
    for (size_t i = 0; i < channel->require_labels.count; i++) {
        const char *value = lk_labels_get(&incident->labels, channel->require_labels.items[i].name);
        if (!value || strcmp(value, channel->require_labels.items[i].value) != 0)
            return false;
    }
    return true;
}

/*  A new notification of the incident: pending, first attempt, written now. */
static s_note_t *s_note_new(s_self_t *self, s_incident_t *incident, const lk_channel_t *channel,
                            const char *user, lk_notify_kind_t kind, uint32_t level, int64_t now_ms)
{
    lk_notification_t row = {.level = level,
                             .kind = kind,
                             .attempt = 1,
                             .status = LK_NOTIFY_PENDING,
                             .lease_until_ms = now_ms + self->config->lease_ms,
                             .next_attempt_at_ms = now_ms,
                             .created_at_ms = now_ms,
                             .updated_at_ms = now_ms};
    lk_uuid7(row.id);
    snprintf(row.tenant_id, sizeof row.tenant_id, "%s", incident->tenant_id);
    snprintf(row.incident_id, sizeof row.incident_id, "%s", incident->id);
    row.policy = incident->policy ? incident->policy : "";
    row.channel = channel->name;
    row.target = (char *)(user ? user : "");
    /* PagerDuty folds every notification of an incident into one of its own */
    row.idempotency_key = channel->type == LK_CHANNEL_PAGERDUTY ? incident->id : row.id;
    s_note_t *note = s_note_add(self, incident, &row, S_NOTE_QUEUED);
    s_write_note(self, note);
    return note;
}

/*  Makes a note final with status (and a reason), written. */
static void s_note_finish(s_self_t *self, s_note_t *note, lk_notify_status_t status,
                          const char *error, int64_t now_ms)
{
    s_note_state(self, note, S_NOTE_FINAL);
    note->generation++;
    note->row.status = status;
    note->row.updated_at_ms = now_ms;
    if (error) {
        free(note->row.error);
        note->row.error = strdup(error);
    }
    s_write_note(self, note);
}

/*  Sends an acknowledge or resolve after every delivered trigger whose channel takes one,
    once per channel and recipient. */
static void s_mirror(s_self_t *self, s_incident_t *incident, lk_notify_kind_t kind, int64_t now_ms)
{
    size_t count = incident->note_count; /* new notes are appended: do not walk them */
    for (size_t i = 0; i < count; i++) {
        s_note_t *trigger = incident->notes[i];
        if (trigger->row.kind != LK_NOTIFY_TRIGGER || trigger->row.status != LK_NOTIFY_SENT)
            continue;
        const lk_channel_t *channel = lk_config_find_channel(self->conf, trigger->row.channel);
        if (!channel ||
            !(kind == LK_NOTIFY_ACKNOWLEDGE ? lk_channel_mirrors_ack(channel->type)
                                            : lk_channel_mirrors_resolve(channel->type)))
            continue;
        bool done = false;
        for (size_t j = 0; j < incident->note_count && !done; j++) {
            const lk_notification_t *other = &incident->notes[j]->row;
            done = other->kind == kind && strcmp(other->channel, trigger->row.channel) == 0 &&
                   strcmp(other->target, trigger->row.target) == 0 &&
                   (kind != LK_NOTIFY_ACKNOWLEDGE ||
                    other->created_at_ms >= incident->incident.acknowledged_at_ms);
        }
        if (!done)
            s_note_new(self, incident, channel, trigger->row.target, kind, trigger->row.level,
                       now_ms);
    }
}

/*  Cancels the triggers that have not reached a worker yet (acknowledged or resolved). */
static void s_cancel_triggers(s_self_t *self, s_incident_t *incident, const char *why,
                              int64_t now_ms)
{
    for (size_t i = 0; i < incident->note_count; i++) {
        s_note_t *note = incident->notes[i];
        if (note->row.kind == LK_NOTIFY_TRIGGER &&
            (note->state == S_NOTE_QUEUED || note->state == S_NOTE_WAITING))
            s_note_finish(self, note, LK_NOTIFY_CANCELLED, why, now_ms);
    }
}

/* ---- escalation ------------------------------------------------------------------------ */

typedef struct {
    const lk_channel_t *channel;
    const char *user; /* NULL for the channel itself */
} s_recipient_t;

static void s_add_recipient(s_recipient_t *list, size_t *count, const lk_channel_t *channel,
                            const char *user)
{
    for (size_t i = 0; i < *count; i++)
        if (list[i].channel == channel &&
            ((!list[i].user && !user) || (list[i].user && user && !strcmp(list[i].user, user))))
            return;
    if (*count < S_TARGETS_MAX)
        list[(*count)++] = (s_recipient_t){.channel = channel, .user = user};
}

static void s_add_user(s_self_t *self, const s_incident_t *incident, const lk_user_t *user,
                       s_recipient_t *list, size_t *count)
{
    for (size_t c = 0; c < user->channel_count; c++) {
        const lk_channel_t *channel = &self->conf->notify.channels[user->channel_index[c]];
        if (s_channel_fits(incident, channel))
            s_add_recipient(list, count, channel, user->name);
    }
}

/*  Expands a level's targets into recipients, and describes them in target_text. */
static size_t s_expand_level(s_self_t *self, s_incident_t *incident, const lk_policy_level_t *level,
                             int64_t now_ms, s_recipient_t *list, char *target_text,
                             size_t text_size)
{
    size_t count = 0, used = 0;
    target_text[0] = '\0';
    const lk_notify_config_t *notify = &self->conf->notify;
    for (size_t t = 0; t < level->target_count; t++) {
        const lk_policy_target_t *target = &level->targets[t];
        char part[512];
        if (target->type == LK_TARGET_CHANNEL) {
            const lk_channel_t *channel = &notify->channels[target->index];
            bool fits = s_channel_fits(incident, channel);
            if (fits)
                s_add_recipient(list, &count, channel, NULL);
            snprintf(part, sizeof part, "channel:%s%s", channel->name,
                     fits ? "" : "(labels do not match)");
        } else if (target->type == LK_TARGET_USER) {
            s_add_user(self, incident, &notify->users[target->index], list, &count);
            snprintf(part, sizeof part, "user:%s", target->name);
        } else {
            const lk_schedule_t *schedule = &notify->schedules[target->index];
            const lk_msg_t *stored = s_overrides(self, incident->tenant_id, now_ms);
            oncall_entry_t entries[ONCALL_MAX];
            size_t found =
                oncall_at(schedule, stored ? stored->overrides : NULL,
                          stored ? stored->override_count : 0, now_ms, entries, ONCALL_MAX);
            int length = snprintf(part, sizeof part, "schedule:%s=", schedule->name);
            for (size_t e = 0; e < found; e++) {
                const lk_user_t *user = lk_config_find_user(self->conf, entries[e].user);
                if (user)
                    s_add_user(self, incident, user, list, &count);
                if (length > 0 && (size_t)length < sizeof part)
                    length += snprintf(part + length, sizeof part - (size_t)length, "%s%s",
                                       e ? "+" : "", entries[e].user);
            }
            if (found == 0)
                snprintf(part + strlen(part), sizeof part - strlen(part), "(nobody)");
        }
        int written = snprintf(target_text + used, text_size - used, "%s%s", t ? "," : "", part);
        if (written > 0 && (size_t)written < text_size - used)
            used += (size_t)written;
    }
    return count;
}

/*  When the step after (level, cycle) is due, counted from now; 0 when there is none. */
static int64_t s_next_due(const lk_policy_t *policy, uint32_t level, uint32_t cycle, int64_t now_ms)
{
    if (level + 1 < policy->level_count)
        return now_ms + policy->levels[level + 1].delay_ms;
    if (cycle < policy->repeat)
        return now_ms + policy->repeat_delay_ms;
    return 0;
}

/*  Notifies level `level` of cycle `cycle` now, records the step and arms the next. */
static void s_fire_level(s_self_t *self, s_incident_t *incident, uint32_t level, uint32_t cycle,
                         const char *why, int64_t now_ms)
{
    const lk_policy_t *policy =
        lk_config_find_policy(self->conf, incident->tenant_id, incident->policy);
    if (!policy || level >= policy->level_count) {
        lk_warn("escalate: incident %s: policy %s is no longer configured; escalation stops",
                incident->id, incident->policy ? incident->policy : "?");
        incident->esc = S_ESC_NONE;
        return;
    }
    s_recipient_t recipients[S_TARGETS_MAX];
    char target_text[2048];
    size_t count = s_expand_level(self, incident, &policy->levels[level], now_ms, recipients,
                                  target_text, sizeof target_text);
    incident->esc = S_ESC_NOTIFIED;
    incident->level = level;
    incident->cycle = cycle;
    incident->next_at_ms = s_next_due(policy, level, cycle, now_ms);
    s_write_step(self, incident, target_text, why, now_ms);
    for (size_t i = 0; i < count; i++)
        s_note_new(self, incident, recipients[i].channel, recipients[i].user, LK_NOTIFY_TRIGGER,
                   level, now_ms);
    lk_info("escalate: incident %s: policy %s level %u (cycle %u): %s, %zu notifications",
            incident->id, policy->name, level + 1, cycle, target_text, count);
    if (incident->next_at_ms)
        s_incident_arm(self, incident, incident->next_at_ms);
}

/*  Chooses the policy (details are known) and takes the first step. */
static void s_start_now(s_self_t *self, s_incident_t *incident, int64_t now_ms)
{
    incident->start_pending = false;
    if (!incident->has_incident)
        return;
    const lk_policy_t *policy =
        lk_config_select_policy(self->conf, incident->tenant_id, incident->incident.policy,
                                incident->incident.severity, &incident->labels);
    if (!policy) {
        lk_debug("escalate: incident %s: no escalation policy matches", incident->id);
        incident->esc = S_ESC_NONE;
        return;
    }
    free(incident->policy);
    incident->policy = strdup(policy->name);
    incident->esc_sequence = incident->start_sequence;
    incident->cycle = 0;
    incident->level = 0;
    if (policy->levels[0].delay_ms > 0) {
        incident->esc = S_ESC_WAITING;
        incident->next_at_ms = now_ms + policy->levels[0].delay_ms;
        s_write_step(self, incident, "", NULL, now_ms);
        s_incident_arm(self, incident, incident->next_at_ms);
    } else
        s_fire_level(self, incident, 0, 0, NULL, now_ms);
}

/*  True when some policy belongs to the tenant: incidents of other tenants need no details
    and no memory. */
static bool s_tenant_has_policies(const s_self_t *self, const char *tenant_id)
{
    for (size_t i = 0; i < self->conf->notify.policy_count; i++)
        if (strcasecmp(self->conf->notify.policies[i].tenant_id, tenant_id) == 0)
            return true;
    return false;
}

static void s_start(s_self_t *self, s_incident_t *incident, uint64_t sequence, int64_t now_ms)
{
    if (incident->esc == S_ESC_WAITING || incident->esc == S_ESC_NOTIFIED ||
        incident->esc == S_ESC_ACKED)
        return; /* already escalating */
    incident->start_pending = true;
    incident->start_sequence = sequence;
    if (incident->details == 2)
        s_start_now(self, incident, now_ms);
    else
        s_request_details(self, incident, now_ms);
}

/*  A timer of the incident came due. */
static void s_incident_due(s_self_t *self, s_incident_t *incident, int64_t now_ms)
{
    if (incident->esc == S_ESC_WAITING)
        s_fire_level(self, incident, incident->level, incident->cycle, NULL, now_ms);
    else if (incident->esc == S_ESC_NOTIFIED && incident->next_at_ms) {
        const lk_policy_t *policy =
            lk_config_find_policy(self->conf, incident->tenant_id, incident->policy);
        if (!policy) {
            s_fire_level(self, incident, 0, 0, NULL, now_ms); /* logs and stops */
            return;
        }
        if (incident->level + 1 < policy->level_count)
            s_fire_level(self, incident, incident->level + 1, incident->cycle, NULL, now_ms);
        else
            s_fire_level(self, incident, 0, incident->cycle + 1, "repeat", now_ms);
    } else if (incident->esc == S_ESC_ACKED && incident->next_at_ms) {
        lk_info("escalate: incident %s: acknowledgement lapsed; escalation resumes", incident->id);
        s_fire_level(self, incident, 0, 0, "acknowledgement lapsed", now_ms);
    }
}

/* ---- events ---------------------------------------------------------------------------- */

static void s_on_acknowledged(s_self_t *self, s_incident_t *incident, uint64_t sequence,
                              int64_t now_ms)
{
    if (incident->esc == S_ESC_NONE || incident->esc == S_ESC_RESOLVED) {
        incident->start_pending = false; /* acknowledged before the first step */
        return;
    }
    incident->esc = S_ESC_ACKED;
    incident->esc_sequence = sequence;
    int64_t lapse = incident->incident.ack_expires_at_ms;
    incident->next_at_ms = lapse > 0 ? (lapse > now_ms ? lapse : now_ms) : 0;
    s_cancel_triggers(self, incident, "acknowledged", now_ms);
    s_mirror(self, incident, LK_NOTIFY_ACKNOWLEDGE, now_ms);
    char note[128] = "";
    if (incident->incident.acknowledged_by)
        snprintf(note, sizeof note, "by %s", incident->incident.acknowledged_by);
    s_write_step(self, incident, "", note[0] ? note : NULL, now_ms);
    if (incident->next_at_ms)
        s_incident_arm(self, incident, incident->next_at_ms);
    else
        incident->generation++; /* drop the pending step's timer */
}

static void s_on_resolved(s_self_t *self, s_incident_t *incident, uint64_t sequence, int64_t now_ms)
{
    incident->start_pending = false;
    if (incident->esc == S_ESC_NONE || incident->esc == S_ESC_RESOLVED)
        return;
    incident->esc = S_ESC_RESOLVED;
    incident->esc_sequence = sequence;
    incident->next_at_ms = 0;
    incident->generation++;
    s_cancel_triggers(self, incident, "resolved", now_ms);
    s_mirror(self, incident, LK_NOTIFY_RESOLVE, now_ms);
    s_write_step(self, incident, "", incident->incident.resolved_by, now_ms);
}

/*  True while any of the incident's notifications is not final. */
static bool s_busy(const s_incident_t *incident)
{
    for (size_t i = 0; i < incident->note_count; i++)
        if (incident->notes[i]->state != S_NOTE_FINAL)
            return true;
    return false;
}

/*  Applies one committed event (with the incident as of it). */
static void s_apply_event(s_self_t *self, const lk_event_t *event, const lk_incident_t *state,
                          int64_t now_ms)
{
    const char *type = event->type ? event->type : "";
    bool starts = (!strcmp(type, "incident_triggered") || !strcmp(type, "incident_reopened")) &&
                  s_tenant_has_policies(self, event->tenant_id);
    s_incident_t *incident = s_incident_get(self, event->tenant_id, event->incident_id, starts);
    if (!incident)
        return;
    if (event->sequence <= incident->last_sequence || event->sequence <= incident->esc_sequence)
        return; /* replayed: its effects are already recorded */
    incident->last_sequence = event->sequence;
    s_incident_update(incident, state);
    if (starts) {
        if (incident->esc == S_ESC_RESOLVED)
            incident->esc = S_ESC_NONE; /* a reopen is a new episode */
        s_start(self, incident, event->sequence, now_ms);
    } else if (!strcmp(type, "incident_acknowledged"))
        s_on_acknowledged(self, incident, event->sequence, now_ms);
    else if (!strcmp(type, "incident_resolved"))
        s_on_resolved(self, incident, event->sequence, now_ms);
    else if (!strcmp(type, "incident_closed")) {
        incident->start_pending = false;
        incident->closed = true;
        if (!s_busy(incident))
            s_incident_drop(self, incident);
        return;
    }
    if (incident->esc == S_ESC_NONE && !incident->start_pending && incident->details != 1 &&
        !s_busy(incident))
        s_incident_drop(self, incident); /* nothing to escalate: keep no memory of it */
}

/* ---- dispatch -------------------------------------------------------------------------- */

/*  How many jobs may be with workers at once: two per worker that reported within two
    leases (at least two, so the first results can come in). */
static size_t s_job_capacity(s_self_t *self, int64_t now_ms)
{
    size_t active = 0;
    for (int64_t *seen = zhashx_first(self->workers); seen; seen = zhashx_next(self->workers))
        if (now_ms - *seen <= 2 * self->config->lease_ms)
            active++;
    return active > 1 ? 2 * active : 2;
}

/*  Sends the note's job to a worker. Returns false when no worker can take it now. */
static bool s_send_job(s_self_t *self, s_note_t *note, int64_t now_ms)
{
    if (self->inflight_jobs >= s_job_capacity(self, now_ms))
        return false;
    s_incident_t *incident = note->incident;
    lk_msg_t job;
    lk_msg_init(&job, LK_MSG_NOTIFY_JOB);
    snprintf(job.tenant_id, sizeof job.tenant_id, "%s", incident->tenant_id);
    int64_t lease_until = now_ms + self->config->lease_ms;
    int64_t previous_lease = note->row.lease_until_ms;
    note->row.lease_until_ms = lease_until;
    if (lk_msg_add_notification(&job, &note->row) != 0 ||
        lk_msg_add_incident(&job, &incident->incident) != 0)
        lk_fatal("escalate: out of memory");
    for (size_t i = 0; i < incident->alert_count; i++)
        if (lk_msg_add_alert(&job, &incident->alerts[i]) != 0)
            lk_fatal("escalate: out of memory");
    int rc = lk_sock_send(self->jobs, NULL, &job, self->tap, "escalate>notify");
    lk_msg_clear(&job);
    if (rc != 0) {
        note->row.lease_until_ms = previous_lease;
        return false;
    }
    self->dispatched++;
    s_note_state(self, note, S_NOTE_INFLIGHT);
    s_note_arm(self, note, lease_until);
    return true;
}

/*  Hands the notes waiting for a worker out, oldest first, until none can take more. */
static void s_drain_ready(s_self_t *self, int64_t now_ms)
{
    char *id;
    while ((id = zlistx_first(self->ready))) {
        s_note_t *note = zhashx_lookup(self->notes, id);
        if (note && note->state == S_NOTE_WAITING && !s_send_job(self, note, now_ms))
            return;
        zlistx_delete(self->ready, zlistx_cursor(self->ready));
    }
}

/*  Hands a committed, due note to a worker (or finds out how long it must wait). */
static void s_dispatch(s_self_t *self, s_note_t *note, int64_t now_ms)
{
    s_incident_t *incident = note->incident;
    if (note->state != S_NOTE_WAITING || note->due_ms > now_ms)
        return;
    if (incident->details != 2) {
        s_request_details(self, incident, now_ms); /* dispatched when they arrive */
        return;
    }
    int64_t wait = s_rate_limit(self, &note->row, now_ms);
    if (wait > 0) {
        s_note_arm(self, note, now_ms + wait);
        return;
    }
    note->generation++; /* no timer while it waits in the ready queue */
    if (zlistx_size(self->ready) == 0 && s_send_job(self, note, now_ms))
        return;
    /* every worker is busy (or none is connected): wait in line, here, not in a socket */
    zlistx_add_end(self->ready, note->row.id);
}

/*  A queued note's write was acknowledged: it may go once due. */
static void s_note_committed(s_self_t *self, s_note_t *note, int64_t now_ms)
{
    if (note->state != S_NOTE_QUEUED)
        return;
    s_note_state(self, note, S_NOTE_WAITING);
    int64_t due = note->row.next_attempt_at_ms > now_ms ? note->row.next_attempt_at_ms : now_ms;
    if (due <= now_ms)
        s_dispatch(self, note, now_ms);
    else
        s_note_arm(self, note, due);
}

/*  A note's timer: waiting → dispatch; inflight → the lease ended without a result. */
static void s_note_due(s_self_t *self, s_note_t *note, int64_t now_ms)
{
    if (note->state == S_NOTE_WAITING) {
        note->due_ms = now_ms;
        s_dispatch(self, note, now_ms);
    } else if (note->state == S_NOTE_INFLIGHT) {
        uint32_t max_attempts = self->conf->notify.settings.max_attempts;
        lk_warn("escalate: notification %s (attempt %u) not reported within the lease",
                note->row.id, note->row.attempt);
        lk_metrics_inc(lk_metrics_series(lk_metrics_counter(
            "lookout_notify_lease_expirations_total",
            "Jobs a worker did not report on within LOOKOUT_NOTIFY_LEASE_S.", NULL)));
        if (note->row.attempt >= max_attempts) {
            s_note_finish(self, note, LK_NOTIFY_FAILED, "no result within the lease", now_ms);
            self->failed++;
            return;
        }
        note->row.attempt++;
        note->row.lease_until_ms = now_ms + self->config->lease_ms;
        note->row.next_attempt_at_ms = now_ms;
        note->row.updated_at_ms = now_ms;
        free(note->row.error);
        note->row.error = strdup("no result within the lease");
        s_note_state(self, note, S_NOTE_QUEUED);
        note->generation++;
        s_write_note(self, note);
    }
}

/* ---- results --------------------------------------------------------------------------- */

static void s_on_result(s_self_t *self, const lk_msg_t *result, int64_t now_ms)
{
    if (result->consumer && *result->consumer) {
        int64_t *seen = zhashx_lookup(self->workers, result->consumer);
        if (!seen && zhashx_size(self->workers) < 4096) {
            seen = malloc(sizeof *seen);
            if (!seen)
                lk_fatal("escalate: out of memory");
            zhashx_insert(self->workers, result->consumer, seen);
        }
        if (seen)
            *seen = now_ms;
    }
    const lk_notification_t *reported = &result->notifications[0];
    s_note_t *note = zhashx_lookup(self->notes, reported->id);
    if (!note || note->state == S_NOTE_FINAL) {
        lk_debug("escalate: result for %s ignored (unknown or already final)", reported->id);
        return;
    }
    bool current = reported->attempt == note->row.attempt;
    if (!current && reported->status != LK_NOTIFY_SENT)
        return; /* a late report of an attempt that has been superseded */
    s_incident_t *incident = note->incident;
    note->row.response_code = reported->response_code;
    free(note->row.error);
    note->row.error = reported->error ? strdup(reported->error) : NULL;
    if (reported->status == LK_NOTIFY_SENT) {
        note->row.attempt =
            reported->attempt > note->row.attempt ? reported->attempt : note->row.attempt;
        s_note_finish(self, note, LK_NOTIFY_SENT, NULL, now_ms);
        self->delivered++;
        /* delivered after the incident moved on: follow up at once */
        if (note->row.kind == LK_NOTIFY_TRIGGER && incident->esc == S_ESC_RESOLVED)
            s_mirror(self, incident, LK_NOTIFY_RESOLVE, now_ms);
        else if (note->row.kind == LK_NOTIFY_TRIGGER && incident->esc == S_ESC_ACKED)
            s_mirror(self, incident, LK_NOTIFY_ACKNOWLEDGE, now_ms);
    } else if (reported->status == LK_NOTIFY_RETRY && note->row.attempt < UINT32_MAX) {
        if (note->row.kind == LK_NOTIFY_TRIGGER &&
            (incident->esc == S_ESC_RESOLVED || incident->esc == S_ESC_ACKED)) {
            s_note_finish(self, note, LK_NOTIFY_CANCELLED,
                          incident->esc == S_ESC_RESOLVED ? "resolved" : "acknowledged", now_ms);
            return;
        }
        note->row.attempt++;
        note->row.next_attempt_at_ms =
            reported->next_attempt_at_ms > now_ms ? reported->next_attempt_at_ms : now_ms;
        note->row.lease_until_ms = note->row.next_attempt_at_ms + self->config->lease_ms;
        note->row.updated_at_ms = now_ms;
        s_note_state(self, note, S_NOTE_QUEUED);
        note->generation++;
        s_write_note(self, note);
        lk_info("escalate: notification %s over %s: retry %u in %" PRId64 " ms (%s)", note->row.id,
                note->row.channel, note->row.attempt, note->row.next_attempt_at_ms - now_ms,
                note->row.error ? note->row.error : "");
    } else {
        s_note_finish(self, note, LK_NOTIFY_FAILED, NULL, now_ms);
        self->failed++;
        lk_warn("escalate: notification %s over %s failed: %s", note->row.id, note->row.channel,
                note->row.error ? note->row.error : "?");
    }
    if ((incident->esc == S_ESC_NONE || incident->closed) && !s_busy(incident) &&
        !incident->start_pending && incident->details != 1)
        s_incident_drop(self, incident);
}

/* ---- store: acks, replies, sync queries ------------------------------------------------ */

/*  store acknowledged the write in flight: its notes may go, the cursor may advance. */
static void s_on_ack(s_self_t *self, const lk_msg_t *ack, int64_t now_ms)
{
    if (!self->inflight_busy || ack->req != self->inflight.req)
        return; /* the ack of a write sent twice */
    if (ack->status != LK_STATUS_OK)
        /* a refused write is a bug, not a transient failure: re-sending cannot help. Its
           notifications are not recorded, so they are not dispatched. */
        lk_error("escalate: store refused write %" PRIu64 ": %s", ack->req,
                 ack->error ? ack->error : lk_status_name(ack->status));
    bool was_batch = self->inflight.type == LK_MSG_MUTATION_BATCH;
    if (was_batch && ack->status == LK_STATUS_OK)
        self->acked_req = ack->req;
    if (!was_batch && ack->status == LK_STATUS_OK)
        self->cursor_committed = self->inflight_cursor;
    if (was_batch)
        self->cursor_done = self->inflight_cursor;
    lk_msg_t done = self->inflight;
    self->inflight_busy = false;
    lk_msg_init(&self->inflight, LK_MSG_INVALID);
    for (size_t i = 0; was_batch && i < done.notification_count; i++) {
        s_note_t *note = zhashx_lookup(self->notes, done.notifications[i].id);
        if (note && note->state == S_NOTE_QUEUED && note->commit_req <= done.req) {
            if (ack->status == LK_STATUS_OK)
                s_note_committed(self, note, now_ms);
            else {
                s_note_state(self, note, S_NOTE_FINAL);
                note->row.status = LK_NOTIFY_FAILED;
            }
        }
    }
    lk_msg_clear(&done);
    s_flush(self, now_ms);
}

/*  An incident's details arrived (or did not): choose its policy, dispatch its notes. */
static void s_details_known(s_self_t *self, s_incident_t *incident, const lk_msg_t *reply,
                            int64_t now_ms)
{
    incident->details = 2;
    if (reply && reply->status == LK_STATUS_OK && reply->incident_count == 1) {
        s_incident_update(incident, &reply->incidents[0]);
        size_t keep =
            reply->alert_count < LK_NOTIFY_JOB_ALERTS ? reply->alert_count : LK_NOTIFY_JOB_ALERTS;
        incident->alerts = keep ? calloc(keep, sizeof *incident->alerts) : NULL;
        for (size_t i = 0; i < keep; i++)
            if (lk_alert_copy(&incident->alerts[i], &reply->alerts[i]) != 0)
                lk_fatal("escalate: out of memory");
        incident->alert_count = keep;
        s_incident_labels(incident, reply->alerts, reply->alert_count);
    } else {
        lk_warn("escalate: incident %s: no details from store (%s); going on without them",
                incident->id,
                reply ? (reply->error ? reply->error : lk_status_name(reply->status)) : "timeout");
        s_incident_labels(incident, NULL, 0);
    }
    if (incident->start_pending)
        s_start_now(self, incident, now_ms);
    for (size_t i = 0; i < incident->note_count; i++)
        if (incident->notes[i]->state == S_NOTE_WAITING)
            s_dispatch(self, incident->notes[i], now_ms);
    if (incident->esc == S_ESC_NONE && !s_busy(incident))
        s_incident_drop(self, incident);
}

static void s_on_query_reply(s_self_t *self, const lk_msg_t *reply, int64_t now_ms)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, reply->req);
    char *id = zhashx_lookup(self->details, key);
    if (!id)
        return; /* the answer to a query that timed out */
    s_incident_t *incident = zhashx_lookup(self->incidents, id);
    zhashx_delete(self->details, key);
    if (incident && incident->details == 1 && incident->details_req == reply->req)
        s_details_known(self, incident, reply, now_ms);
}

/*  Sends request on the query socket and waits for its reply, serving the details
    replies that arrive meanwhile. Returns 0, or -1 after S_SYNC_TIMEOUT_MS. */
static int s_sync_query(s_self_t *self, lk_msg_t *request, lk_msg_t *reply)
{
    request->req = ++self->query_req;
    if (lk_sock_send(self->queries, NULL, request, self->tap, "escalate>query") != 0)
        return -1;
    int64_t deadline = lk_mono_ms() + S_SYNC_TIMEOUT_MS;
    while (!lk_daemon_interrupted()) {
        int64_t left = deadline - lk_mono_ms();
        if (left <= 0)
            break;
        zmq_pollitem_t item = {zsock_resolve(self->queries), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, (long)left) <= 0)
            continue;
        lk_msg_t answer;
        if (lk_sock_recv(self->queries, NULL, &answer, self->tap, "escalate<query") != 0)
            continue;
        if (answer.req == request->req) {
            *reply = answer;
            return 0;
        }
        s_on_query_reply(self, &answer, lk_now_ms());
        lk_msg_clear(&answer);
    }
    return -1;
}

/*  Applies every outbox event after last_sequence (paged), then returns. */
static void s_catch_up(s_self_t *self)
{
    while (!lk_daemon_interrupted()) {
        lk_msg_t request, reply;
        lk_msg_init(&request, LK_MSG_QUERY);
        request.query.kind = LK_QUERY_EVENTS;
        request.query.after_sequence = self->last_sequence;
        request.query.limit = S_REPLAY_PAGE;
        int rc = s_sync_query(self, &request, &reply);
        lk_msg_clear(&request);
        if (rc != 0)
            lk_fatal("escalate: store did not answer an events query");
        if (reply.status != LK_STATUS_OK || reply.event_count != reply.incident_count)
            lk_fatal("escalate: events query failed: %s",
                     reply.error ? reply.error : lk_status_name(reply.status));
        if (reply.first_sequence > self->last_sequence + 1 && reply.event_count > 0)
            lk_warn("escalate: events %" PRIu64 "..%" PRIu64 " were removed by retention "
                    "before escalate saw them",
                    self->last_sequence + 1, reply.first_sequence - 1);
        int64_t now_ms = lk_now_ms();
        for (size_t i = 0; i < reply.event_count; i++) {
            if (reply.events[i].sequence <= self->last_sequence)
                continue;
            s_apply_event(self, &reply.events[i], &reply.incidents[i], now_ms);
            self->last_sequence = reply.events[i].sequence;
        }
        size_t count = reply.event_count;
        lk_msg_clear(&reply);
        s_flush(self, now_ms);
        if (count < S_REPLAY_PAGE)
            return;
    }
}

/*  One live event from the PUB: in order, or a gap to fill from the outbox first. */
static void s_on_event(s_self_t *self, const lk_msg_t *msg)
{
    uint64_t sequence = msg->events[0].sequence;
    if (sequence <= self->last_sequence)
        return;
    if (sequence > self->last_sequence + 1) {
        lk_debug("escalate: gap before event %" PRIu64 "; reading the outbox", sequence);
        s_catch_up(self);
        return; /* the outbox held this one too */
    }
    s_apply_event(self, &msg->events[0], &msg->incidents[0], lk_now_ms());
    self->last_sequence = sequence;
}

/* ---- start-up -------------------------------------------------------------------------- */

/*  Where the last run left off; a first run starts from the outbox's newest event (it does
    not page for what happened before escalate existed). */
static void s_load_cursor(s_self_t *self)
{
    lk_msg_t request, reply;
    lk_msg_init(&request, LK_MSG_QUERY);
    request.query.kind = LK_QUERY_CURSOR_GET;
    request.query.consumer = strdup(ESCALATE_CONSUMER);
    int rc = s_sync_query(self, &request, &reply);
    lk_msg_clear(&request);
    if (rc != 0)
        lk_fatal("escalate: store did not answer (cursor)");
    if (reply.status == LK_STATUS_OK) {
        self->last_sequence = reply.sequence;
        self->cursor_committed = reply.sequence;
        lk_msg_clear(&reply);
        return;
    }
    if (reply.status != LK_STATUS_NOT_FOUND)
        lk_fatal("escalate: cursor query failed: %s", reply.error ? reply.error : "?");
    lk_msg_clear(&reply);
    lk_msg_init(&request, LK_MSG_QUERY);
    request.query.kind = LK_QUERY_EVENTS;
    request.query.after_sequence = UINT64_MAX - 1;
    request.query.limit = 1;
    rc = s_sync_query(self, &request, &reply);
    lk_msg_clear(&request);
    if (rc != 0 || reply.status != LK_STATUS_OK)
        lk_fatal("escalate: store did not answer (outbox bounds)");
    self->last_sequence = reply.last_sequence;
    self->cursor_done = reply.last_sequence;
    lk_info("escalate: first run: starting after event %" PRIu64, self->last_sequence);
    lk_msg_clear(&reply);
}

/*  Rebuilds escalations and notifications from the database. */
static void s_rebuild(s_self_t *self)
{
    char cursor[LK_UUID_STR_LEN + 1] = "";
    size_t incidents = 0, notes = 0;
    int64_t now_ms = lk_now_ms();
    while (!lk_daemon_interrupted()) {
        lk_msg_t request, reply;
        lk_msg_init(&request, LK_MSG_QUERY);
        request.query.kind = LK_QUERY_ESCALATION_STATE;
        request.query.limit = S_STATE_PAGE;
        if (cursor[0])
            request.query.cursor = strdup(cursor);
        int rc = s_sync_query(self, &request, &reply);
        lk_msg_clear(&request);
        if (rc != 0 || reply.status != LK_STATUS_OK)
            lk_fatal("escalate: cannot read the escalation state: %s",
                     rc ? "store did not answer" : (reply.error ? reply.error : "?"));
        for (size_t i = 0; i < reply.escalation_count; i++) {
            const lk_escalation_t *row = &reply.escalations[i];
            s_incident_t *incident = s_incident_get(self, row->tenant_id, row->incident_id, true);
            for (size_t k = 0; k < reply.incident_count; k++)
                if (!strcmp(reply.incidents[k].id, row->incident_id))
                    s_incident_update(incident, &reply.incidents[k]);
            free(incident->policy);
            incident->policy = strdup(row->policy);
            incident->step = row->step;
            incident->level = row->level;
            incident->cycle = row->cycle;
            incident->next_at_ms = row->next_at_ms;
            incident->esc_sequence = row->event_sequence;
            incident->last_sequence = row->event_sequence;
            incident->esc = S_ESC_NONE;
            for (int e = 0; e < 5; e++)
                if (!strcmp(row->status, s_esc_names[e]))
                    incident->esc = (s_esc_t)e;
            if (incident->next_at_ms && incident->esc != S_ESC_RESOLVED)
                s_incident_arm(self, incident, incident->next_at_ms);
            incidents++;
        }
        for (size_t i = 0; i < reply.notification_count; i++) {
            const lk_notification_t *row = &reply.notifications[i];
            s_incident_t *incident = zhashx_lookup(self->incidents, row->incident_id);
            if (!incident)
                continue;
            bool pending = row->status == LK_NOTIFY_PENDING;
            s_note_t *note =
                s_note_add(self, incident, row, pending ? S_NOTE_WAITING : S_NOTE_FINAL);
            if (pending) {
                /* a worker of the previous run may still hold it: give it the rest of its
                   lease (its result is taken meanwhile), then dispatch it again */
                int64_t due = row->next_attempt_at_ms > now_ms ? row->next_attempt_at_ms : now_ms;
                if (row->lease_until_ms > due && row->next_attempt_at_ms <= now_ms)
                    due = row->lease_until_ms;
                s_note_arm(self, note, due);
                notes++;
            }
        }
        bool more = reply.next_cursor != NULL;
        if (more)
            snprintf(cursor, sizeof cursor, "%s", reply.next_cursor);
        lk_msg_clear(&reply);
        if (!more)
            break;
    }
    lk_info("escalate: rebuilt %zu escalations and %zu pending notifications", incidents, notes);
}

/* ---- the actor ------------------------------------------------------------------------- */

/*  A czmq endpoint with an explicit bind/connect prefix (an operator may have given one). */
static char *s_endpoint(const char *endpoint, char prefix)
{
    if (endpoint[0] == '@' || endpoint[0] == '>')
        return strdup(endpoint);
    size_t size = strlen(endpoint) + 2;
    char *prefixed = malloc(size);
    if (prefixed)
        snprintf(prefixed, size, "%c%s", prefix, endpoint);
    return prefixed;
}

static void s_start_up(s_self_t *self, const escalate_config_t *config)
{
    self->config = config;
    char err[1024];
    if (lk_config_load(config->config_path, &self->conf, err, sizeof err) != 0)
        lk_fatal("escalate: configuration: %s", err);
    self->tap = lk_tap_new(config->tap_endpoint);
    char *jobs = s_endpoint(config->jobs_endpoint, '@');
    char *results = s_endpoint(config->results_endpoint, '@');
    /* SUB first (Clone pattern): nothing committed after the cursor read can be missed */
    self->events = lk_sock_new(ZMQ_SUB, config->store_events_endpoint);
    self->mutations = lk_sock_new(ZMQ_DEALER, config->store_endpoint);
    self->queries = lk_sock_new(ZMQ_DEALER, config->store_query_endpoint);
    self->jobs = lk_sock_new(ZMQ_PUSH, NULL);
    if (self->jobs) {
        /* short queues towards workers, so a slow one does not hoard jobs */
        zsock_set_sndhwm(self->jobs, S_JOBS_HWM);
        zsock_set_sndbuf(self->jobs, S_JOBS_BUFFER);
        if (!jobs || lk_sock_attach(self->jobs, jobs, true) != 0)
            zsock_destroy(&self->jobs);
    }
    self->results = results ? lk_sock_new(ZMQ_PULL, results) : NULL;
    if (!self->events || !self->mutations || !self->queries || !self->jobs || !self->results)
        lk_fatal("escalate: cannot open or bind its sockets (jobs %s, results %s)",
                 config->jobs_endpoint, config->results_endpoint);
    free(jobs);
    free(results);
    self->incidents = zhashx_new();
    zhashx_set_destructor(self->incidents, s_incident_destroy);
    self->notes = zhashx_new();
    self->details = zhashx_new();
    zhashx_set_destructor(self->details, s_free_item);
    self->buckets = zhashx_new();
    zhashx_set_destructor(self->buckets, s_free_item);
    self->workers = zhashx_new();
    zhashx_set_destructor(self->workers, s_free_item);
    self->ready = zlistx_new();
    zlistx_set_duplicator(self->ready, (zlistx_duplicator_fn *)strdup);
    zlistx_set_destructor(self->ready, (zlistx_destructor_fn *)zstr_free);
    self->overrides = zhashx_new();
    zhashx_set_destructor(self->overrides, s_msg_destroy);
    self->overrides_at = zhashx_new();
    zhashx_set_destructor(self->overrides_at, s_free_item);
    lk_msg_init(&self->pending, LK_MSG_MUTATION_BATCH);
    self->pending_req = 1;
    lk_msg_init(&self->inflight, LK_MSG_INVALID);

    s_load_cursor(self);
    s_rebuild(self);
    s_catch_up(self);
    lk_info("escalate: %zu policies, %zu schedules, %zu channels; following events after "
            "%" PRIu64,
            self->conf->notify.policy_count, self->conf->notify.schedule_count,
            self->conf->notify.channel_count, self->last_sequence);
}

static void s_shut_down(s_self_t *self)
{
    lk_msg_clear(&self->pending);
    lk_msg_clear(&self->inflight);
    zhashx_destroy(&self->details);
    zhashx_destroy(&self->notes);
    zhashx_destroy(&self->incidents);
    zhashx_destroy(&self->buckets);
    zlistx_destroy(&self->ready);
    zhashx_destroy(&self->workers);
    zhashx_destroy(&self->overrides);
    zhashx_destroy(&self->overrides_at);
    free(self->heap);
    zsock_destroy(&self->results);
    zsock_destroy(&self->jobs);
    zsock_destroy(&self->queries);
    zsock_destroy(&self->mutations);
    zsock_destroy(&self->events);
    lk_tap_destroy(&self->tap);
    lk_config_destroy(&self->conf);
}

/*  Runs every timer that is due. */
static void s_run_timers(s_self_t *self, int64_t now_ms)
{
    while (self->heap_count > 0 && self->heap[0].due_ms <= now_ms) {
        s_timer_t timer = self->heap[0];
        s_heap_pop(self);
        if (timer.kind == S_TIMER_NOTE) {
            s_note_t *note = zhashx_lookup(self->notes, timer.id);
            if (note && note->generation == timer.generation)
                s_note_due(self, note, now_ms);
        } else if (timer.kind == S_TIMER_INCIDENT) {
            s_incident_t *incident = zhashx_lookup(self->incidents, timer.id);
            if (incident && incident->generation == timer.generation)
                s_incident_due(self, incident, now_ms);
        } else {
            s_incident_t *incident = zhashx_lookup(self->incidents, timer.id);
            if (incident && incident->details == 1 && incident->details_req == timer.generation) {
                char key[24];
                snprintf(key, sizeof key, "%" PRIu64, incident->details_req);
                zhashx_delete(self->details, key);
                s_details_known(self, incident, NULL, now_ms);
            }
        }
    }
}

/*  How long the loop may sleep: until the next timer, a re-send or a cursor commit. */
static int s_wait_ms(const s_self_t *self, int64_t now_ms)
{
    int64_t wait = 1000;
    if (self->heap_count > 0)
        wait = self->heap[0].due_ms - now_ms;
    if (self->inflight_busy) {
        int64_t resend = self->inflight_sent_ms + self->config->store_timeout_ms - now_ms;
        if (resend < wait)
            wait = resend;
    } else if (self->pending.notification_count || self->pending.escalation_count)
        wait = 0;
    if (zlistx_size(self->ready) > 0 && wait > S_NO_WORKER_RETRY_MS)
        wait = S_NO_WORKER_RETRY_MS;
    return wait < 0 ? 0 : wait > 1000 ? 1000 : (int)wait;
}

/*  Brings the metrics (lk_metrics.h) up to date with the actor's counts and queues; cheap
    enough for every turn of the loop (a few atomic stores). */
static void s_metrics_sync(s_self_t *self)
{
    static lk_metrics_series_t *pending, *inflight, *active, *lag;
    static lk_metrics_series_t *dispatched, *delivered, *failed;
    static uint64_t dispatched_seen, delivered_seen, failed_seen;
    if (!pending) {
        pending = lk_metrics_series(lk_metrics_gauge(
            "lookout_notify_jobs_pending",
            "Notifications due and waiting for a free lookout-notify worker.", NULL));
        inflight = lk_metrics_series(lk_metrics_gauge(
            "lookout_notify_jobs_inflight", "Jobs handed to workers and not reported yet.", NULL));
        active = lk_metrics_series(lk_metrics_gauge("lookout_escalations_active",
                                                    "Incidents escalate is following.", NULL));
        lag = lk_metrics_series(lk_metrics_gauge(
            "lookout_escalate_cursor_lag_events",
            "Events seen but not yet covered by escalate's committed cursor.", NULL));
        dispatched =
            lk_metrics_series(lk_metrics_counter("lookout_notifications_dispatched_total",
                                                 "Jobs handed to workers (every attempt).", NULL));
        delivered = lk_metrics_series(lk_metrics_counter("lookout_notifications_delivered_total",
                                                         "Notifications delivered.", NULL));
        failed = lk_metrics_series(lk_metrics_counter(
            "lookout_notifications_failed_total",
            "Notifications that failed for good (attempts exhausted or refused).", NULL));
    }
    lk_metrics_set(pending, (double)zlistx_size(self->ready));
    lk_metrics_set(inflight, (double)self->inflight_jobs);
    lk_metrics_set(active, (double)zhashx_size(self->incidents));
    lk_metrics_set(lag, self->last_sequence > self->cursor_committed
                            ? (double)(self->last_sequence - self->cursor_committed)
                            : 0);
    /* a new actor in the same process (tests) starts its counts again from 0 */
    lk_metrics_add(dispatched,
                   self->dispatched - (self->dispatched >= dispatched_seen ? dispatched_seen : 0));
    lk_metrics_add(delivered,
                   self->delivered - (self->delivered >= delivered_seen ? delivered_seen : 0));
    lk_metrics_add(failed, self->failed - (self->failed >= failed_seen ? failed_seen : 0));
    dispatched_seen = self->dispatched;
    delivered_seen = self->delivered;
    failed_seen = self->failed;
}

/*  SIGHUP: reads the configuration file again. The new policies, schedules, users and
    channels apply to every step taken from now on: an open incident keeps its policy by name
    (one that is gone stops escalating at its next step), a queued notification still goes to
    its channel by name. A file that does not load changes nothing. Answers the daemon on the
    pipe with "OK ..." or "ERROR <reason>". */
static void s_reload(s_self_t *self)
{
    char err[1024];
    lk_config_t *fresh = NULL;
    if (lk_config_load(self->config->config_path, &fresh, err, sizeof err) != 0) {
        zstr_sendf(self->pipe, "ERROR %s", err);
        return;
    }
    lk_config_destroy(&self->conf);
    self->conf = fresh;
    zstr_sendf(self->pipe, "OK %zu escalation policies, %zu schedules, %zu channels",
               self->conf->notify.policy_count, self->conf->notify.schedule_count,
               self->conf->notify.channel_count);
}

void escalate_actor(zsock_t *pipe, void *args)
{
    const escalate_config_t *config = args;
    s_self_t self;
    memset(&self, 0, sizeof self);
    self.pipe = pipe;
    s_start_up(&self, config);
    zpoller_t *poller =
        zpoller_new(pipe, self.events, self.mutations, self.queries, self.results, NULL);
    assert(poller);
    zsock_signal(pipe, 0);
    s_metrics_sync(&self); /* the gauges exist before the first event */
    int64_t last_report_ms = lk_now_ms();
    while (true) {
        zsock_t *which = zpoller_wait(poller, s_wait_ms(&self, lk_now_ms()));
        if (zpoller_terminated(poller))
            break;
        int64_t now_ms = lk_now_ms();
        if (which == pipe) {
            char *command = zstr_recv(pipe);
            bool term = !command || streq(command, "$TERM");
            if (!term && streq(command, "RELOAD"))
                s_reload(&self);
            zstr_free(&command);
            if (term)
                break;
        } else if (which) {
            lk_msg_t msg;
            const char *label = which == self.events      ? "escalate<events"
                                : which == self.mutations ? "escalate<store"
                                : which == self.queries   ? "escalate<query"
                                                          : "escalate<notify";
            if (lk_sock_recv(which, NULL, &msg, self.tap, label) == 0) {
                if (which == self.events && msg.type == LK_MSG_EVENT)
                    s_on_event(&self, &msg);
                else if (which == self.mutations && msg.type == LK_MSG_MUTATION_ACK)
                    s_on_ack(&self, &msg, now_ms);
                else if (which == self.queries && msg.type == LK_MSG_QUERY_REPLY)
                    s_on_query_reply(&self, &msg, now_ms);
                else if (which == self.results && msg.type == LK_MSG_NOTIFY_RESULT)
                    s_on_result(&self, &msg, now_ms);
                else
                    lk_sock_unexpected(&msg, label);
                lk_msg_clear(&msg);
            }
        }
        s_run_timers(&self, now_ms);
        s_drain_ready(&self, now_ms);
        s_flush(&self, now_ms);
        s_metrics_sync(&self);
        if (now_ms - last_report_ms >= 60000) {
            lk_info("escalate: %zu incidents escalating, %" PRIu64 " jobs dispatched, %" PRIu64
                    " delivered, %" PRIu64 " failed",
                    zhashx_size(self.incidents), self.dispatched, self.delivered, self.failed);
            last_report_ms = now_ms;
        }
    }
    zpoller_destroy(&poller);
    s_shut_down(&self);
}
