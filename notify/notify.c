/*  notify — the delivery worker behind lookout-notify (see notify.h).

    One job at a time: the worker is a single thread that blocks in libcurl for at most the
    channel's timeout. Throughput comes from running more workers; escalate's PUSH spreads
    jobs over them and its leases cover a worker that dies.
*/
#include "notify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channels.h"
#include "delivery.h"
#include "lk_config.h"
#include "lk_env.h"
#include "lk_log.h"
#include "lk_metrics.h"
#include "lk_sock.h"
#include "lk_tap.h"
#include "lk_time.h"
#include "payload.h"

void notify_config_from_env(notify_config_t *config)
{
    config->jobs_endpoint = lk_env_str("LOOKOUT_NOTIFY_JOBS_ENDPOINT", "tcp://127.0.0.1:18105");
    config->results_endpoint =
        lk_env_str("LOOKOUT_NOTIFY_RESULTS_ENDPOINT", "tcp://127.0.0.1:18106");
    config->config_path = lk_env_str("LOOKOUT_CONFIG", NULL);
    config->tap_endpoint = lk_env_str("LOOKOUT_NOTIFY_TAP", NULL);
}

typedef struct {
    lk_config_t *conf;
    lk_tap_t *tap;
    zsock_t *jobs;    /* PULL */
    zsock_t *results; /* PUSH */
    channels_t *channels;
    uint64_t random_state;
    char name[300]; /* host:pid, how escalate tells workers apart */
} s_worker_t;

/*  xorshift64*: jitter only, no cryptography. */
static uint64_t s_random(s_worker_t *self)
{
    uint64_t x = self->random_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    self->random_state = x;
    return x * 2685821657736338717ULL;
}

/*  Sets a result's error text (bounded). */
static void s_error(lk_notification_t *row, const char *text)
{
    free(row->error);
    row->error = text && *text ? strdup(text) : NULL;
}

/*  True when the incident (its group labels and the labels its alerts share) carries every
    label the channel requires. */
static bool s_labels_fit(const lk_channel_t *channel, const lk_msg_t *job)
{
    if (channel->require_labels.count == 0)
        return true;
    lk_labels_t labels;
    if (payload_common_labels(&job->incidents[0], job->alerts, job->alert_count, &labels) != 0)
        return false;
    bool fits = true;
    for (size_t i = 0; i < channel->require_labels.count && fits; i++) {
        const char *value = lk_labels_get(&labels, channel->require_labels.items[i].name);
        fits = value && strcmp(value, channel->require_labels.items[i].value) == 0;
    }
    lk_labels_clear(&labels);
    return fits;
}

/*  Delivers one job; fills result (a copy of the job's notification) with the outcome. */
static void s_deliver(s_worker_t *self, const lk_msg_t *job, lk_notification_t *result)
{
    const lk_notification_t *notification = &job->notifications[0];
    const lk_notify_settings_t *settings = &self->conf->notify.settings;
    int64_t started_ms = lk_mono_ms();
    result->status = LK_NOTIFY_FAILED;
    result->response_code = 0;
    result->next_attempt_at_ms = 0;
    const lk_channel_t *channel = lk_config_find_channel(self->conf, notification->channel);
    const lk_user_t *user = notification->target && *notification->target
                                ? lk_config_find_user(self->conf, notification->target)
                                : NULL;
    if (!channel) {
        s_error(result, "no such channel in this worker's configuration");
        return;
    }
    if (notification->target && *notification->target && !user) {
        s_error(result, "no such user in this worker's configuration");
        return;
    }
    if (notification->kind == LK_NOTIFY_TRIGGER && !s_labels_fit(channel, job)) {
        s_error(result, "the incident lacks the labels the channel requires");
        return;
    }
    payload_input_t input = {.notification = notification,
                             .incident = &job->incidents[0],
                             .alerts = job->alerts,
                             .alert_count = job->alert_count,
                             .channel = channel,
                             .user = user,
                             .public_url = settings->public_url,
                             .now_ms = lk_now_ms()};
    payload_t payload;
    char err[256];
    if (payload_build(&input, &payload, err, sizeof err) != 0) {
        s_error(result, err);
        return;
    }
    channel_response_t response;
    channel_result_t sent = channels_send(self->channels, channel, &payload, settings, &response);
    payload_clear(&payload);

    long status = 0; /* what delivery_decide weighs: an HTTP-like status, 0 = no answer */
    if (sent == CHANNEL_RESPONSE) {
        if (channel->type == LK_CHANNEL_EMAIL)
            status = response.status >= 200 && response.status < 400 && !response.error[0]
                         ? 200  /* 250 OK */
                         : 400; /* a 5xx SMTP refusal: permanent */
        else
            status = response.status;
    }
    if (sent == CHANNEL_REFUSED) {
        result->status = LK_NOTIFY_FAILED;
    } else {
        delivery_outcome_t outcome = delivery_decide(
            status, response.retry_after[0] ? response.retry_after : NULL, notification->attempt,
            settings->max_attempts, settings->backoff_initial_ms, settings->backoff_max_ms,
            lk_now_ms(), s_random(self));
        result->status = outcome.status;
        result->next_attempt_at_ms = outcome.next_attempt_at_ms;
    }
    result->response_code =
        (int32_t)(response.status > 0 && response.status < 1000 ? response.status : 0);
    s_error(result, result->status == LK_NOTIFY_SENT ? NULL : response.error);
    lk_info("notify: %s %s over %s (%s) to %s, attempt %u: %s %ld in %" PRId64 " ms%s%s",
            lk_notify_kind_name(notification->kind), notification->id, channel->name,
            lk_channel_type_name(channel->type),
            notification->target && *notification->target ? notification->target : "channel",
            notification->attempt, lk_notify_status_name(result->status), response.status,
            lk_mono_ms() - started_ms, result->error ? ": " : "",
            result->error ? result->error : "");
}

/*  Counts one delivery attempt (lk_metrics.h): attempts and failures by channel name (the
    configuration bounds them) and type, and how long it took. */
static void s_count_attempt(s_worker_t *self, const lk_notification_t *result, double seconds)
{
    static lk_metrics_t *attempts, *failures, *duration;
    if (!attempts) {
        attempts = lk_metrics_counter("lookout_notification_attempts_total",
                                      "Delivery attempts made by this worker, by channel.",
                                      "channel,type");
        failures = lk_metrics_counter(
            "lookout_notification_failures_total",
            "Delivery attempts that did not deliver, by channel and outcome: retry (tried again "
            "later) or failed (for good).",
            "channel,type,outcome");
        duration = lk_metrics_histogram(
            "lookout_notification_duration_seconds", "Time one delivery attempt took.", "type",
            lk_metrics_latency_buckets, lk_metrics_latency_bucket_count);
    }
    const char *name = result->channel ? result->channel : "";
    const lk_channel_t *channel = lk_config_find_channel(self->conf, name);
    const char *type = channel ? lk_channel_type_name(channel->type) : "unknown";
    lk_metrics_inc(lk_metrics_with(attempts, name, type));
    if (result->status != LK_NOTIFY_SENT)
        lk_metrics_inc(lk_metrics_with(failures, name, type,
                                       result->status == LK_NOTIFY_RETRY ? "retry" : "failed"));
    lk_metrics_observe(lk_metrics_with(duration, type), seconds);
}

static void s_on_job(s_worker_t *self, const lk_msg_t *job)
{
    lk_msg_t reply;
    lk_msg_init(&reply, LK_MSG_NOTIFY_RESULT);
    reply.req = job->req;
    reply.consumer = strdup(self->name);
    snprintf(reply.tenant_id, sizeof reply.tenant_id, "%s", job->tenant_id);
    lk_notification_t result;
    if (lk_notification_copy(&result, &job->notifications[0]) != 0)
        lk_fatal("notify: out of memory");
    int64_t started_ms = lk_mono_ms();
    s_deliver(self, job, &result);
    s_count_attempt(self, &result, (double)(lk_mono_ms() - started_ms) / 1000.0);
    result.updated_at_ms = lk_now_ms();
    if (lk_msg_add_notification(&reply, &result) != 0)
        lk_fatal("notify: out of memory");
    lk_notification_clear(&result);
    /* escalate gone for now: it re-dispatches the job when the lease ends */
    if (lk_sock_send(self->results, NULL, &reply, self->tap, "notify>escalate") != 0)
        lk_warn("notify: could not report %s; escalate will dispatch it again",
                job->notifications[0].id);
    lk_msg_clear(&reply);
}

/*  A czmq endpoint with an explicit connect prefix unless the operator gave one. */
static char *s_connect(const char *endpoint)
{
    if (endpoint[0] == '@' || endpoint[0] == '>')
        return strdup(endpoint);
    size_t size = strlen(endpoint) + 2;
    char *prefixed = malloc(size);
    if (prefixed)
        snprintf(prefixed, size, ">%s", endpoint);
    return prefixed;
}

/*  SIGHUP: reads the configuration file again (channels, users, their secrets and
    notify_settings); the next job is delivered with it. A file that does not load changes
    nothing. Answers the daemon on the pipe with "OK ..." or "ERROR <reason>". */
static void s_reload(s_worker_t *self, zsock_t *pipe, const char *config_path)
{
    char err[1024];
    lk_config_t *fresh = NULL;
    if (lk_config_load(config_path, &fresh, err, sizeof err) != 0) {
        zstr_sendf(pipe, "ERROR %s", err);
        return;
    }
    lk_config_destroy(&self->conf);
    self->conf = fresh;
    zstr_sendf(pipe, "OK %zu channels, %zu users", self->conf->notify.channel_count,
               self->conf->notify.user_count);
}

void notify_actor(zsock_t *pipe, void *args)
{
    const notify_config_t *config = args;
    s_worker_t self;
    memset(&self, 0, sizeof self);
    char err[1024];
    if (lk_config_load(config->config_path, &self.conf, err, sizeof err) != 0)
        lk_fatal("notify: configuration: %s", err);
    self.tap = lk_tap_new(config->tap_endpoint);
    char *jobs = s_connect(config->jobs_endpoint);
    char *results = s_connect(config->results_endpoint);
    /* hold at most one job beyond the one being delivered (options before connecting):
       the rest stay with escalate, which gives them to a worker that is free */
    self.jobs = lk_sock_new(ZMQ_PULL, NULL);
    if (self.jobs) {
        zsock_set_rcvhwm(self.jobs, 1);
        zsock_set_rcvbuf(self.jobs, 4096);
        if (!jobs || lk_sock_attach(self.jobs, jobs, false) != 0)
            zsock_destroy(&self.jobs);
    }
    self.results = results ? lk_sock_new(ZMQ_PUSH, results) : NULL;
    free(jobs);
    free(results);
    if (!self.jobs || !self.results)
        lk_fatal("notify: cannot connect to escalate (%s, %s)", config->jobs_endpoint,
                 config->results_endpoint);
    self.channels = channels_new();
    if (!self.channels)
        lk_fatal("notify: cannot initialise libcurl");
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    snprintf(self.name, sizeof self.name, "%s:%d", host, (int)getpid());
    self.random_state = (uint64_t)lk_now_ms() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
    lk_info("notify: %zu channels, %zu users; jobs from %s", self.conf->notify.channel_count,
            self.conf->notify.user_count, config->jobs_endpoint);
    zpoller_t *poller = zpoller_new(pipe, self.jobs, NULL);
    assert(poller);
    zsock_signal(pipe, 0);
    while (true) {
        zsock_t *which = zpoller_wait(poller, -1);
        if (zpoller_terminated(poller))
            break;
        if (which == pipe) {
            char *command = zstr_recv(pipe);
            bool term = !command || streq(command, "$TERM");
            if (!term && streq(command, "RELOAD"))
                s_reload(&self, pipe, config->config_path);
            zstr_free(&command);
            if (term)
                break;
            continue;
        }
        if (which != self.jobs)
            continue;
        lk_msg_t job;
        if (lk_sock_recv(self.jobs, NULL, &job, self.tap, "notify<escalate") != 0)
            continue;
        if (job.type == LK_MSG_NOTIFY_JOB)
            s_on_job(&self, &job);
        else
            lk_sock_unexpected(&job, "notify<escalate");
        lk_msg_clear(&job);
    }
    zpoller_destroy(&poller);
    channels_destroy(&self.channels);
    zsock_destroy(&self.results);
    zsock_destroy(&self.jobs);
    lk_tap_destroy(&self.tap);
    lk_config_destroy(&self.conf);
}
