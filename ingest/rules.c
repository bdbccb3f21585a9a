/*  rules — lookout-rules: evaluates alert rules against a Prometheus-compatible query API
    and feeds the alerts they produce into the pipeline (see rules.h for the semantics).

    The file is laid out in the order data flows through it: the query response parser, the
    per-rule state machine, the HTTP query, the engine that schedules rules and delivers their
    alerts to correlate, and the actor that runs the engine. The template language the rules'
    labels and annotations are written in is rules_template.c.
*/
#include "rules.h"

#include <assert.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_env.h"
#include "lk_fingerprint.h"
#include "lk_log.h"
#include "lk_metrics.h"
#include "lk_sock.h"
#include "lk_tap.h"
#include "lk_time.h"
#include "lk_yaml.h"

void rules_config_from_env(rules_config_t *config)
{
    assert(config);
    memset(config, 0, sizeof *config);
    config->config_path = lk_env_str(LK_CONFIG_ENV, NULL);
    config->query_url = lk_env_str("LOOKOUT_RULES_QUERY_URL", NULL);
    config->correlate_endpoint = lk_env_str("LOOKOUT_CORRELATE_ENDPOINT", "tcp://127.0.0.1:18104");
    config->tap_endpoint = lk_env_str("LOOKOUT_RULES_TAP", NULL);
    config->reply_timeout_ms = lk_env_int("LOOKOUT_REQUEST_TIMEOUT_MS", 5000, 1, 600000);
}

/* ==== query responses ==================================================================== */

static int s_fail(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int s_fail(char *err, size_t err_size, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(err, err_size, fmt, args);
    va_end(args);
    return -1;
}

/* [<unix time>, "<value>"] → value. */
static int s_parse_sample_value(const json_t *pair, const char *where, double *value, char *err,
                                size_t err_size)
{
    if (!json_is_array(pair) || json_array_size(pair) != 2 ||
        !json_is_number(json_array_get(pair, 0)) || !json_is_string(json_array_get(pair, 1)))
        return s_fail(err, err_size, "%s: expected [time, \"value\"]", where);
    const char *text = json_string_value(json_array_get(pair, 1));
    char *end = NULL;
    errno = 0;
    *value = strtod(text, &end);
    if (end == text || *end)
        return s_fail(err, err_size, "%s: '%.64s' is not a number", where, text);
    return 0;
}

void rules_result_clear(rules_result_t *result)
{
    assert(result);
    for (size_t i = 0; i < result->count; i++)
        lk_labels_clear(&result->samples[i].labels);
    free(result->samples);
    memset(result, 0, sizeof *result);
}

static int s_parse_vector(const json_t *items, rules_result_t *result, char *err, size_t err_size)
{
    if (!json_is_array(items))
        return s_fail(err, err_size, "data.result: expected an array");
    size_t count = json_array_size(items);
    if (count > RULES_MAX_SERIES)
        return s_fail(err, err_size, "the query returned %zu series, more than the limit %d", count,
                      RULES_MAX_SERIES);
    if (count == 0)
        return 0;
    result->samples = calloc(count, sizeof *result->samples);
    if (!result->samples)
        return s_fail(err, err_size, "out of memory");
    for (size_t i = 0; i < count; i++) {
        const json_t *item = json_array_get(items, i);
        const json_t *metric = json_object_get(item, "metric");
        char where[64];
        snprintf(where, sizeof where, "data.result[%zu]", i);
        if (!json_is_object(item) || !json_is_object(metric))
            return s_fail(err, err_size, "%s: expected {\"metric\": {...}, \"value\": [...]}",
                          where);
        rules_sample_t *sample = &result->samples[result->count++];
        const char *name;
        const json_t *label;
        json_object_foreach((json_t *)metric, name, label)
        {
            if (!json_is_string(label))
                return s_fail(err, err_size, "%s.metric.%.64s: expected a string", where, name);
            if (lk_labels_set(&sample->labels, name, json_string_value(label)) != 0)
                return s_fail(err, err_size, "out of memory");
        }
        snprintf(where, sizeof where, "data.result[%zu].value", i);
        if (s_parse_sample_value(json_object_get(item, "value"), where, &sample->value, err,
                                 err_size) != 0)
            return -1;
    }
    return 0;
}

int rules_parse_response(const char *body, size_t size, rules_result_t *result, char *err,
                         size_t err_size)
{
    assert(result && err && err_size);
    memset(result, 0, sizeof *result);
    json_error_t json_error;
    json_t *root = json_loadb(body ? body : "", size, 0, &json_error);
    if (!root)
        return s_fail(err, err_size, "response is not JSON: line %d, column %d: %s",
                      json_error.line, json_error.column, json_error.text);
    int rc = -1;
    const char *status = json_string_value(json_object_get(root, "status"));
    const json_t *data = json_object_get(root, "data");
    const char *type = json_string_value(json_object_get(data, "resultType"));
    if (!json_is_object(root) || !status)
        s_fail(err, err_size, "response has no \"status\"");
    else if (strcmp(status, "error") == 0) {
        const char *error_type = json_string_value(json_object_get(root, "errorType"));
        const char *error = json_string_value(json_object_get(root, "error"));
        s_fail(err, err_size, "%s: %s", error_type ? error_type : "error",
               error ? error : "(no message)");
    } else if (strcmp(status, "success") != 0)
        s_fail(err, err_size, "unknown status \"%.32s\"", status);
    else if (!json_is_object(data) || !type)
        s_fail(err, err_size, "response has no data.resultType");
    else if (strcmp(type, "vector") == 0)
        rc = s_parse_vector(json_object_get(data, "result"), result, err, err_size);
    else if (strcmp(type, "scalar") == 0) {
        result->samples = calloc(1, sizeof *result->samples);
        if (!result->samples)
            s_fail(err, err_size, "out of memory");
        else {
            result->count = 1;
            rc = s_parse_sample_value(json_object_get(data, "result"), "data.result",
                                      &result->samples[0].value, err, err_size);
        }
    } else
        s_fail(err, err_size, "the query gives a %.32s, an alert rule needs an instant vector",
               type);
    json_decref(root);
    if (rc != 0)
        rules_result_clear(result);
    return rc;
}

/* ==== the per-rule state machine ========================================================= */

void rules_alerts_remove(rules_alerts_t *alerts, size_t index)
{
    assert(alerts && index < alerts->count);
    lk_labels_clear(&alerts->alerts[index].labels);
    lk_labels_clear(&alerts->alerts[index].annotations);
    memmove(&alerts->alerts[index], &alerts->alerts[index + 1],
            (alerts->count - index - 1) * sizeof *alerts->alerts);
    alerts->count--;
}

void rules_alerts_clear(rules_alerts_t *alerts)
{
    assert(alerts);
    for (size_t i = 0; i < alerts->count; i++) {
        lk_labels_clear(&alerts->alerts[i].labels);
        lk_labels_clear(&alerts->alerts[i].annotations);
    }
    free(alerts->alerts);
    memset(alerts, 0, sizeof *alerts);
}

/* Index of the first alert with fingerprint >= fingerprint. */
static size_t s_lower_bound(const rules_alerts_t *alerts, uint64_t fingerprint)
{
    size_t low = 0, high = alerts->count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (alerts->alerts[middle].fingerprint < fingerprint)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

static rules_alert_t *s_find_fingerprint(rules_alerts_t *alerts, uint64_t fingerprint)
{
    size_t index = s_lower_bound(alerts, fingerprint);
    return index < alerts->count && alerts->alerts[index].fingerprint == fingerprint
               ? &alerts->alerts[index]
               : NULL;
}

rules_alert_t *rules_alerts_find(rules_alerts_t *alerts, const lk_labels_t *labels)
{
    assert(alerts && labels);
    rules_alert_t *alert = s_find_fingerprint(alerts, lk_fingerprint_labels(labels));
    return alert && lk_labels_equal(&alert->labels, labels) ? alert : NULL;
}

/* An expansion, or Prometheus's in-place error text when the template fails on this data. */
static char *s_expand_or_error(const char *text, const lk_labels_t *labels, double value)
{
    char err[256];
    char *expanded = rules_expand_template(text, labels, value, err, sizeof err);
    if (expanded)
        return expanded;
    char message[320];
    snprintf(message, sizeof message, "<error expanding template: %s>", err);
    return strdup(message);
}

/* Builds the alert a series becomes: labels, annotations, fingerprint. */
static int s_candidate(const lk_rule_t *rule, const rules_sample_t *sample, rules_alert_t *alert)
{
    memset(alert, 0, sizeof *alert);
    alert->value = sample->value;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sample->labels.count; i++)
        if (strcmp(sample->labels.items[i].name, "__name__") != 0)
            rc = lk_labels_set(&alert->labels, sample->labels.items[i].name,
                               sample->labels.items[i].value);
    for (size_t i = 0; rc == 0 && i < rule->labels.count; i++) {
        char *value =
            s_expand_or_error(rule->labels.items[i].value, &sample->labels, sample->value);
        rc = value ? lk_labels_set(&alert->labels, rule->labels.items[i].name, value) : -1;
        free(value);
    }
    if (rc == 0)
        rc = lk_labels_set(&alert->labels, "alertname", rule->name);
    for (size_t i = 0; rc == 0 && i < rule->annotations.count; i++) {
        char *value =
            s_expand_or_error(rule->annotations.items[i].value, &sample->labels, sample->value);
        rc =
            value ? lk_labels_set(&alert->annotations, rule->annotations.items[i].name, value) : -1;
        free(value);
    }
    alert->fingerprint = lk_fingerprint_labels(&alert->labels);
    return rc;
}

static int s_compare_fingerprints(const void *a, const void *b)
{
    uint64_t left = ((const rules_alert_t *)a)->fingerprint;
    uint64_t right = ((const rules_alert_t *)b)->fingerprint;
    return left < right ? -1 : left > right;
}

int rules_step(rules_alerts_t *alerts, const lk_rule_t *rule, const rules_result_t *result,
               int64_t now_ms, char *err, size_t err_size)
{
    assert(alerts && result && err);
    assert(rule || result->count == 0);
    /* 1. what each series of this evaluation would be as an alert */
    rules_alerts_t seen = {0};
    if (result->count) {
        seen.alerts = calloc(result->count, sizeof *seen.alerts);
        if (!seen.alerts)
            return s_fail(err, err_size, "out of memory");
    }
    for (size_t i = 0; i < result->count; i++) {
        int rc = s_candidate(rule, &result->samples[i], &seen.alerts[i]);
        seen.count++;
        if (rc != 0) {
            rules_alerts_clear(&seen);
            return s_fail(err, err_size, "out of memory");
        }
    }
    if (seen.count > 1)
        qsort(seen.alerts, seen.count, sizeof *seen.alerts, s_compare_fingerprints);
    for (size_t i = 1; i < seen.count; i++)
        if (seen.alerts[i].fingerprint == seen.alerts[i - 1].fingerprint) {
            rules_alerts_clear(&seen);
            return s_fail(err, err_size,
                          "the result has series with the same labels after the rule's labels "
                          "were applied");
        }

    /* 2. merge with what the rule had: both lists are sorted by fingerprint */
    size_t capacity = alerts->count + seen.count;
    rules_alert_t *merged = capacity ? calloc(capacity, sizeof *merged) : NULL;
    if (capacity && !merged) {
        rules_alerts_clear(&seen);
        return s_fail(err, err_size, "out of memory");
    }
    size_t count = 0, old_index = 0, new_index = 0;
    while (old_index < alerts->count || new_index < seen.count) {
        rules_alert_t *old = old_index < alerts->count ? &alerts->alerts[old_index] : NULL;
        rules_alert_t *new = new_index < seen.count ? &seen.alerts[new_index] : NULL;
        if (old && (!new || old->fingerprint < new->fingerprint)) {
            /* absent from this evaluation */
            old_index++;
            if (old->state == RULES_FIRING) {
                old->state = RULES_RESOLVED;
                old->resolved_at_ms = now_ms;
                old->change++;
            } else if (old->state == RULES_PENDING && old->resolve_owed) {
                /* it never fired again; the earlier resolve still has to get through */
                old->state = RULES_RESOLVED;
                old->fired_at_ms = old->owed_starts_at_ms;
                old->resolved_at_ms = old->owed_ends_at_ms;
                old->resolve_owed = false;
                old->change++;
            } else if (old->state == RULES_PENDING) {
                lk_labels_clear(&old->labels);
                lk_labels_clear(&old->annotations);
                continue; /* never fired: forgotten */
            }
            merged[count++] = *old;
        } else if (new && (!old || new->fingerprint < old->fingerprint)) {
            new_index++;
            new->state = RULES_PENDING;
            new->active_at_ms = now_ms;
            merged[count++] = *new;
            memset(new, 0, sizeof *new);
        } else {
            /* present before and now */
            old_index++;
            new_index++;
            if (old->state == RULES_RESOLVED) {
                /* back after a resolve: a new activation, as in Prometheus */
                old->resolve_owed = old->change != old->delivered_change;
                old->owed_starts_at_ms = old->fired_at_ms;
                old->owed_ends_at_ms = old->resolved_at_ms;
                old->state = RULES_PENDING;
                old->active_at_ms = now_ms;
                old->fired_at_ms = 0;
                old->resolved_at_ms = 0;
            }
            lk_labels_clear(&old->annotations);
            old->annotations = new->annotations;
            memset(&new->annotations, 0, sizeof new->annotations);
            old->value = new->value;
            merged[count++] = *old;
        }
    }
    rules_alerts_clear(&seen);
    free(alerts->alerts);
    alerts->alerts = merged;
    alerts->count = count;

    /* 3. pending long enough: firing */
    for (size_t i = 0; i < alerts->count; i++) {
        rules_alert_t *alert = &alerts->alerts[i];
        if (rule && alert->state == RULES_PENDING &&
            now_ms - alert->active_at_ms >= rule->duration_ms) {
            alert->state = RULES_FIRING;
            alert->fired_at_ms = now_ms;
            alert->resolve_owed = false; /* the firing supersedes it */
            alert->change++;
        }
    }
    return 0;
}

/* ==== the HTTP query ===================================================================== */

/* Percent-encodes everything but RFC 3986 unreserved characters. Caller frees. */
static char *s_url_encode(const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t length = strlen(text);
    char *encoded = malloc(length * 3 + 1);
    if (!encoded)
        return NULL;
    char *out = encoded;
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (isalnum(*c) || strchr("-._~", *c))
            *out++ = (char)*c;
        else {
            *out++ = '%';
            *out++ = hex[*c >> 4];
            *out++ = hex[*c & 15];
        }
    }
    *out = '\0';
    return encoded;
}

typedef struct {
    char *data;
    size_t size;
    bool too_large;
} s_body_t;

static size_t s_on_body(char *data, size_t size, size_t count, void *userdata)
{
    s_body_t *body = userdata;
    size_t bytes = size * count;
    if (body->size + bytes > RULES_MAX_BODY) {
        body->too_large = true;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    char *grown = realloc(body->data, body->size + bytes + 1);
    if (!grown)
        return 0;
    memcpy(grown + body->size, data, bytes);
    body->data = grown;
    body->size += bytes;
    body->data[body->size] = '\0';
    return bytes;
}

/* Runs query as an instant query at time_ms against base_url. Returns 0 with result filled,
   or -1 with err. */
static int s_query(CURL *curl, const char *base_url, const char *query, int64_t time_ms,
                   int64_t timeout_ms, rules_result_t *result, char *err, size_t err_size)
{
    memset(result, 0, sizeof *result);
    char *encoded = s_url_encode(query);
    if (!encoded)
        return s_fail(err, err_size, "out of memory");
    char timeout[32];
    lk_yaml_format_duration(timeout_ms, timeout, sizeof timeout);
    size_t url_size = strlen(base_url) + strlen(encoded) + 128;
    char *url = malloc(url_size);
    if (!url) {
        free(encoded);
        return s_fail(err, err_size, "out of memory");
    }
    snprintf(url, url_size, "%s/api/v1/query?query=%s&time=%lld.%03lld&timeout=%s", base_url,
             encoded, (long long)(time_ms / 1000), (long long)(time_ms % 1000), timeout);
    free(encoded);

    s_body_t body = {0};
    char curl_error[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
    curl_easy_reset(curl); /* keeps open connections for the next query */
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); /* we run in a thread */
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "lookout-rules");
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    CURLcode code = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    free(url);

    int rc = -1;
    if (body.too_large)
        s_fail(err, err_size, "response larger than %d bytes", RULES_MAX_BODY);
    else if (code != CURLE_OK)
        s_fail(err, err_size, "query failed: %s",
               curl_error[0] ? curl_error : curl_easy_strerror(code));
    else {
        char detail[384];
        rc = rules_parse_response(body.data, body.size, result, detail, sizeof detail);
        if (rc != 0 && status / 100 != 2)
            s_fail(err, err_size, "HTTP %ld: %s", status, detail);
        else if (rc != 0)
            s_fail(err, err_size, "%s", detail);
        else if (status / 100 != 2) {
            rules_result_clear(result);
            rc = s_fail(err, err_size, "HTTP %ld", status);
        }
    }
    free(body.data);
    return rc;
}

/* ==== the engine ========================================================================= */

typedef struct {
    uint64_t id;           /* stable across reloads: batches in flight refer to it */
    const lk_rule_t *rule; /* NULL once the rule left the configuration */
    char tenant_id[LK_UUID_STR_LEN + 1];
    char *name;
    char *query;
    char *generator_url;
    lk_severity_t severity;
    rules_alerts_t alerts;
    int64_t next_due_ms; /* monotonic */
    uint64_t evaluations_total;
    uint64_t query_errors_total;
    int64_t last_duration_ms;
} s_rule_state_t;

typedef struct {
    uint64_t state_id;
    uint64_t fingerprint;
    uint64_t change;
    lk_alert_status_t status;
} s_flight_item_t;

/* One alert_batch waiting for its alert_reply. */
typedef struct {
    uint64_t req;
    int64_t deadline_ms; /* monotonic */
    s_flight_item_t *items;
    size_t count;
} s_flight_t;

struct rules_engine_t {
    char *query_url_override;
    int64_t reply_timeout_ms;
    lk_config_t *config;
    s_rule_state_t **states;
    size_t state_count;
    uint64_t next_state_id;
    uint64_t next_req;
    s_flight_t *flights;
    size_t flight_count;
    CURL *curl;
    rules_metrics_t metrics;
};

static void s_state_destroy(s_rule_state_t **state_p)
{
    s_rule_state_t *state = *state_p;
    if (!state)
        return;
    rules_alerts_clear(&state->alerts);
    free(state->name);
    free(state->query);
    free(state->generator_url);
    free(state);
    *state_p = NULL;
}

rules_engine_t *rules_engine_new(const char *query_url_override, int64_t reply_timeout_ms)
{
    rules_engine_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->reply_timeout_ms = reply_timeout_ms > 0 ? reply_timeout_ms : 5000;
    self->curl = curl_easy_init();
    if (!self->curl || (query_url_override && *query_url_override &&
                        !(self->query_url_override = strdup(query_url_override)))) {
        rules_engine_destroy(&self);
        return NULL;
    }
    if (self->query_url_override) {
        size_t length = strlen(self->query_url_override);
        while (length > 0 && self->query_url_override[length - 1] == '/')
            self->query_url_override[--length] = '\0';
    }
    return self;
}

void rules_engine_destroy(rules_engine_t **self_p)
{
    assert(self_p);
    rules_engine_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->state_count; i++)
        s_state_destroy(&self->states[i]);
    free(self->states);
    for (size_t i = 0; i < self->flight_count; i++)
        free(self->flights[i].items);
    free(self->flights);
    lk_config_destroy(&self->config);
    if (self->curl)
        curl_easy_cleanup(self->curl);
    free(self->query_url_override);
    free(self);
    *self_p = NULL;
}

static const char *s_query_url(const rules_engine_t *self, const lk_config_t *config)
{
    if (self->query_url_override)
        return self->query_url_override;
    return config ? config->rules_settings.query_url : NULL;
}

static int64_t s_interval_ms(const rules_engine_t *self, const s_rule_state_t *state)
{
    if (state->rule && state->rule->interval_ms > 0)
        return state->rule->interval_ms;
    return self->config->rules_settings.interval_ms;
}

static s_rule_state_t *s_find_state(const rules_engine_t *self, uint64_t id)
{
    for (size_t i = 0; i < self->state_count; i++)
        if (self->states[i]->id == id)
            return self->states[i];
    return NULL;
}

/* Points state at rule (its name, query and how to link back to the query UI). */
static int s_state_link(s_rule_state_t *state, const lk_rule_t *rule, const char *query_url)
{
    char *query = strdup(rule->query);
    char *encoded = s_url_encode(rule->query);
    char *generator_url = NULL;
    if (encoded && query_url) {
        size_t size = strlen(query_url) + strlen(encoded) + 32;
        generator_url = malloc(size);
        if (generator_url)
            snprintf(generator_url, size, "%s/graph?g0.expr=%s&g0.tab=1", query_url, encoded);
    }
    free(encoded);
    if (!query || (query_url && !generator_url)) {
        free(query);
        free(generator_url);
        return -1;
    }
    free(state->query);
    free(state->generator_url);
    state->query = query;
    state->generator_url = generator_url;
    state->rule = rule;
    state->severity = rule->severity;
    return 0;
}

int rules_engine_set_config(rules_engine_t *self, lk_config_t **config_p, char *err,
                            size_t err_size)
{
    assert(self && config_p && *config_p && err);
    lk_config_t *config = *config_p;
    const char *file = config->path ? config->path : "(no file)";
    const char *query_url = s_query_url(self, config);
    if (config->rule_count && !query_url)
        return s_fail(err, err_size,
                      "%s: rules need rules_settings.query_url (or LOOKOUT_RULES_QUERY_URL)", file);
    if (self->query_url_override && strncmp(self->query_url_override, "http://", 7) != 0 &&
        strncmp(self->query_url_override, "https://", 8) != 0)
        return s_fail(err, err_size,
                      "LOOKOUT_RULES_QUERY_URL: expected an http:// or https:// URL");
    for (size_t i = 0; i < config->rule_count; i++) {
        const lk_rule_t *rule = &config->rules[i];
        const lk_labels_t *sets[2] = {&rule->labels, &rule->annotations};
        const char *set_names[2] = {"labels", "annotations"};
        for (size_t s = 0; s < 2; s++)
            for (size_t j = 0; j < sets[s]->count; j++) {
                char problem[256];
                if (rules_check_template(sets[s]->items[j].value, problem, sizeof problem) != 0)
                    return s_fail(err, err_size, "%s:%d:%d: rules[%zu].%s.%s: %s", file, rule->line,
                                  rule->column, i, set_names[s], sets[s]->items[j].name, problem);
            }
    }

    /* Build the new state list: rules that stay keep their alerts (and schedule), new
       rules start empty and are due at once, rules that left are stepped once with an
       empty result (their firing alerts resolve) and kept until that is delivered. */
    size_t capacity = config->rule_count + self->state_count;
    s_rule_state_t **states = capacity ? calloc(capacity, sizeof *states) : NULL;
    bool *kept = self->state_count ? calloc(self->state_count, sizeof *kept) : NULL;
    if ((capacity && !states) || (self->state_count && !kept)) {
        free(states);
        free(kept);
        return s_fail(err, err_size, "out of memory");
    }
    size_t count = 0;
    for (size_t i = 0; i < config->rule_count; i++) {
        const lk_rule_t *rule = &config->rules[i];
        s_rule_state_t *state = NULL;
        for (size_t j = 0; j < self->state_count && !state; j++) {
            s_rule_state_t *old = self->states[j];
            if (!kept[j] && old->rule && strcmp(old->name, rule->name) == 0 &&
                strcmp(old->tenant_id, rule->tenant_id) == 0) {
                state = old;
                kept[j] = true;
            }
        }
        if (!state) {
            state = calloc(1, sizeof *state);
            if (!state || !(state->name = strdup(rule->name)))
                lk_fatal("rules: out of memory");
            state->id = ++self->next_state_id;
            snprintf(state->tenant_id, sizeof state->tenant_id, "%s", rule->tenant_id);
        }
        /* past validation, a half-installed configuration would be worse than a restart */
        if (s_state_link(state, rule, query_url) != 0)
            lk_fatal("rules: out of memory");
        states[count++] = state;
    }
    for (size_t j = 0; j < self->state_count; j++) {
        if (kept[j])
            continue;
        s_rule_state_t *old = self->states[j];
        if (old->rule) {
            lk_info("rule %s (tenant %s) removed: resolving its %zu alerts", old->name,
                    old->tenant_id, old->alerts.count);
            old->rule = NULL;
            rules_result_t none = {0};
            char ignored[64];
            rules_step(&old->alerts, NULL, &none, lk_now_ms(), ignored, sizeof ignored);
        }
        if (old->alerts.count)
            states[count++] = old;
        else
            s_state_destroy(&old);
    }
    free(kept);
    free(self->states);
    self->states = states;
    self->state_count = count;
    lk_config_destroy(&self->config);
    self->config = config;
    *config_p = NULL;
    /* a rule whose interval shrank should not wait out the old one */
    int64_t now = lk_mono_ms();
    for (size_t i = 0; i < self->state_count; i++) {
        s_rule_state_t *state = self->states[i];
        if (state->rule && state->next_due_ms > now + s_interval_ms(self, state))
            state->next_due_ms = now + s_interval_ms(self, state);
    }
    return 0;
}

const lk_config_t *rules_engine_config(const rules_engine_t *self)
{
    assert(self);
    return self->config;
}

static void s_evaluate(rules_engine_t *self, s_rule_state_t *state, int64_t now_ms)
{
    int64_t started = lk_mono_ms();
    rules_result_t result;
    char err[512] = "";
    int rc = s_query(self->curl, s_query_url(self, self->config), state->query, now_ms,
                     self->config->rules_settings.query_timeout_ms, &result, err, sizeof err);
    if (rc == 0)
        rc = rules_step(&state->alerts, state->rule, &result, now_ms, err, sizeof err);
    rules_result_clear(&result);
    state->evaluations_total++;
    self->metrics.evaluations_total++;
    state->last_duration_ms = lk_mono_ms() - started;
    if (rc != 0) {
        state->query_errors_total++;
        self->metrics.evaluation_failures_total++;
        lk_warn("rule %s (tenant %s): %s", state->name, state->tenant_id, err);
    }
}

/* Drops states of removed rules once everything they had to say was delivered. */
static void s_drop_finished(rules_engine_t *self)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->state_count; i++) {
        s_rule_state_t *state = self->states[i];
        if (!state->rule && state->alerts.count == 0)
            s_state_destroy(&state);
        else
            self->states[kept++] = state;
    }
    self->state_count = kept;
}

static size_t s_evaluate_rules(rules_engine_t *self, int64_t now_ms, int64_t mono_ms, bool all)
{
    assert(self);
    size_t evaluated = 0;
    for (size_t i = 0; self->config && i < self->state_count; i++) {
        s_rule_state_t *state = self->states[i];
        if (!state->rule || (!all && state->next_due_ms > mono_ms))
            continue;
        s_evaluate(self, state, now_ms);
        evaluated++;
        int64_t interval = s_interval_ms(self, state);
        /* keep the rhythm; after a stall, start again from now rather than catching up */
        state->next_due_ms = state->next_due_ms ? state->next_due_ms + interval : mono_ms;
        if (state->next_due_ms <= mono_ms)
            state->next_due_ms = mono_ms + interval;
    }
    s_drop_finished(self);
    return evaluated;
}

size_t rules_engine_evaluate_due(rules_engine_t *self, int64_t now_ms, int64_t mono_ms)
{
    return s_evaluate_rules(self, now_ms, mono_ms, false);
}

int64_t rules_engine_next_due(const rules_engine_t *self, int64_t mono_ms)
{
    assert(self);
    int64_t soonest = -1;
    for (size_t i = 0; i < self->state_count; i++) {
        const s_rule_state_t *state = self->states[i];
        if (!state->rule)
            continue;
        int64_t wait = state->next_due_ms > mono_ms ? state->next_due_ms - mono_ms : 0;
        if (soonest < 0 || wait < soonest)
            soonest = wait;
    }
    return soonest;
}

/* What an alert needs to tell correlate now, if anything. */
static bool s_due_for_delivery(const rules_alert_t *alert, int64_t now_ms, int64_t resend_ms,
                               lk_alert_status_t *status)
{
    if (alert->in_flight_req)
        return false;
    switch (alert->state) {
    case RULES_FIRING:
        *status = LK_ALERT_FIRING;
        return alert->change != alert->delivered_change ||
               now_ms - alert->delivered_at_ms >= resend_ms;
    case RULES_RESOLVED:
        *status = LK_ALERT_RESOLVED;
        return alert->change != alert->delivered_change;
    case RULES_PENDING:
        *status = LK_ALERT_RESOLVED;
        return alert->resolve_owed;
    }
    return false;
}

/* Fills out (shallow: it borrows the state's and alert's strings) for lk_msg_add_alert,
   which copies. */
static void s_alert_view(const s_rule_state_t *state, const rules_alert_t *alert,
                         lk_alert_status_t status, lk_alert_t *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->tenant_id, sizeof out->tenant_id, "%s", state->tenant_id);
    out->source = (char *)"rules";
    out->name = state->name;
    out->query = state->query;
    out->generator_url = state->generator_url;
    out->labels = alert->labels;
    out->annotations = alert->annotations;
    out->severity = state->severity;
    out->status = status;
    out->has_value = isfinite(alert->value);
    out->value = out->has_value ? alert->value : 0;
    if (alert->state == RULES_PENDING) { /* an owed resolve */
        out->starts_at_ms = alert->owed_starts_at_ms;
        out->ends_at_ms = alert->owed_ends_at_ms;
    } else {
        out->starts_at_ms = alert->fired_at_ms;
        out->ends_at_ms = status == LK_ALERT_RESOLVED ? alert->resolved_at_ms : 0;
    }
}

/* Sends one batch; on success records it as in flight. */
static int s_send_batch(rules_engine_t *self, zsock_t *correlate, lk_tap_t *tap, lk_msg_t *batch,
                        s_flight_item_t *items, int64_t mono_ms)
{
    batch->req = ++self->next_req;
    s_flight_t *grown = realloc(self->flights, (self->flight_count + 1) * sizeof *grown);
    if (!grown)
        return -1;
    self->flights = grown;
    if (lk_sock_send(correlate, NULL, batch, tap, "rules>correlate") != 0) {
        self->metrics.batches_failed_total++;
        lk_warn("correlate unavailable: could not queue a batch of %zu alerts; retrying at the "
                "next evaluation",
                batch->alert_count);
        return -1;
    }
    s_flight_t *flight = &self->flights[self->flight_count++];
    flight->req = batch->req;
    flight->deadline_ms = mono_ms + self->reply_timeout_ms;
    flight->items = items;
    flight->count = batch->alert_count;
    for (size_t i = 0; i < flight->count; i++) {
        s_rule_state_t *state = s_find_state(self, items[i].state_id);
        rules_alert_t *alert =
            state ? s_find_fingerprint(&state->alerts, items[i].fingerprint) : NULL;
        if (alert)
            alert->in_flight_req = flight->req;
    }
    self->metrics.batches_sent_total++;
    lk_debug("sent batch %llu: %zu alerts for tenant %s", (unsigned long long)batch->req,
             batch->alert_count, batch->tenant_id);
    return 0;
}

size_t rules_engine_deliver(rules_engine_t *self, zsock_t *correlate, lk_tap_t *tap, int64_t now_ms,
                            int64_t mono_ms)
{
    return rules_engine_deliver_sharded(self, &correlate, 1, tap, now_ms, mono_ms);
}

size_t rules_engine_deliver_sharded(rules_engine_t *self, zsock_t *const *shards,
                                    size_t shard_count, lk_tap_t *tap, int64_t now_ms,
                                    int64_t mono_ms)
{
    assert(self && shards && shard_count > 0);
    if (!self->config)
        return 0;
    int64_t resend_ms = self->config->rules_settings.resend_interval_ms;
    size_t sent = 0;
    bool stop = false;
    /* one pass per tenant: a batch carries one tenant */
    for (size_t first = 0; first < self->state_count && !stop; first++) {
        const char *tenant = self->states[first]->tenant_id;
        /* the tenant's correlate shard (lk_shard_of, as correlate checks) */
        zsock_t *correlate =
            shards[shard_count > 1 ? lk_shard_of(tenant, (uint32_t)shard_count) : 0];
        bool seen_before = false;
        for (size_t k = 0; k < first && !seen_before; k++)
            seen_before = strcmp(self->states[k]->tenant_id, tenant) == 0;
        if (seen_before)
            continue;
        lk_msg_t batch;
        lk_msg_init(&batch, LK_MSG_ALERT_BATCH);
        snprintf(batch.tenant_id, sizeof batch.tenant_id, "%s", tenant);
        s_flight_item_t *items = NULL;
        for (size_t s = first; s < self->state_count && !stop; s++) {
            s_rule_state_t *state = self->states[s];
            if (strcmp(state->tenant_id, tenant) != 0)
                continue;
            for (size_t a = 0; a < state->alerts.count && !stop; a++) {
                rules_alert_t *alert = &state->alerts.alerts[a];
                lk_alert_status_t status;
                if (!s_due_for_delivery(alert, now_ms, resend_ms, &status))
                    continue;
                if (!items && !(items = calloc(RULES_MAX_BATCH, sizeof *items))) {
                    stop = true;
                    break;
                }
                lk_alert_t view;
                s_alert_view(state, alert, status, &view);
                if (lk_msg_add_alert(&batch, &view) != 0) {
                    stop = true;
                    break;
                }
                items[batch.alert_count - 1] = (s_flight_item_t){
                    .state_id = state->id,
                    .fingerprint = alert->fingerprint,
                    .change = alert->change,
                    .status = status,
                };
                if (batch.alert_count == RULES_MAX_BATCH) {
                    if (s_send_batch(self, correlate, tap, &batch, items, mono_ms) == 0) {
                        sent++;
                        items = NULL;
                    } else
                        stop = true;
                    lk_msg_clear(&batch);
                    lk_msg_init(&batch, LK_MSG_ALERT_BATCH);
                    snprintf(batch.tenant_id, sizeof batch.tenant_id, "%s", tenant);
                }
            }
        }
        if (!stop && batch.alert_count) {
            if (s_send_batch(self, correlate, tap, &batch, items, mono_ms) == 0) {
                sent++;
                items = NULL;
            } else
                stop = true;
        }
        free(items);
        lk_msg_clear(&batch);
    }
    return sent;
}

static void s_flight_remove(rules_engine_t *self, size_t index)
{
    free(self->flights[index].items);
    memmove(&self->flights[index], &self->flights[index + 1],
            (self->flight_count - index - 1) * sizeof *self->flights);
    self->flight_count--;
}

/* Releases the alerts of a flight; when delivered, records what correlate now knows. */
static void s_flight_settle(rules_engine_t *self, const s_flight_t *flight, bool delivered,
                            int64_t now_ms)
{
    for (size_t i = 0; i < flight->count; i++) {
        const s_flight_item_t *item = &flight->items[i];
        s_rule_state_t *state = s_find_state(self, item->state_id);
        rules_alert_t *alert = state ? s_find_fingerprint(&state->alerts, item->fingerprint) : NULL;
        if (!alert)
            continue;
        if (alert->in_flight_req == flight->req)
            alert->in_flight_req = 0;
        if (!delivered)
            continue;
        if (item->status == LK_ALERT_FIRING && alert->change == item->change) {
            alert->delivered_change = item->change;
            alert->delivered_at_ms = now_ms;
        } else if (item->status == LK_ALERT_RESOLVED) {
            if (alert->state == RULES_RESOLVED && alert->change == item->change) {
                rules_alerts_remove(&state->alerts, (size_t)(alert - state->alerts.alerts));
                continue;
            }
            if (alert->state == RULES_PENDING)
                alert->resolve_owed = false;
            if (alert->change == item->change)
                alert->delivered_change = item->change;
        }
    }
}

void rules_engine_handle_reply(rules_engine_t *self, const lk_msg_t *reply, int64_t now_ms)
{
    assert(self && reply);
    size_t index = 0;
    while (index < self->flight_count && self->flights[index].req != reply->req)
        index++;
    if (index == self->flight_count) {
        lk_debug("reply to batch %llu, which was already given up", (unsigned long long)reply->req);
        return;
    }
    s_flight_t *flight = &self->flights[index];
    bool delivered = reply->status == LK_STATUS_OK;
    if (delivered) {
        self->metrics.batches_acked_total++;
        self->metrics.alerts_delivered_total += flight->count;
    } else {
        self->metrics.batches_failed_total++;
        lk_log_write(reply->status == LK_STATUS_INVALID ? LK_LOG_ERROR : LK_LOG_WARN,
                     "correlate answered %s to a batch of %zu alerts (%s); retrying at the next "
                     "evaluation",
                     lk_status_name(reply->status), flight->count,
                     reply->error ? reply->error : "no detail");
    }
    s_flight_settle(self, flight, delivered, now_ms);
    s_flight_remove(self, index);
    s_drop_finished(self);
}

void rules_engine_expire(rules_engine_t *self, int64_t mono_ms)
{
    assert(self);
    for (size_t i = 0; i < self->flight_count;) {
        if (self->flights[i].deadline_ms > mono_ms) {
            i++;
            continue;
        }
        self->metrics.batches_failed_total++;
        lk_warn("no reply from correlate within %lld ms to a batch of %zu alerts; retrying at "
                "the next evaluation",
                (long long)self->reply_timeout_ms, self->flights[i].count);
        s_flight_settle(self, &self->flights[i], false, 0);
        s_flight_remove(self, i);
    }
}

int64_t rules_engine_next_expiry(const rules_engine_t *self, int64_t mono_ms)
{
    assert(self);
    int64_t soonest = -1;
    for (size_t i = 0; i < self->flight_count; i++) {
        int64_t wait =
            self->flights[i].deadline_ms > mono_ms ? self->flights[i].deadline_ms - mono_ms : 0;
        if (soonest < 0 || wait < soonest)
            soonest = wait;
    }
    return soonest;
}

size_t rules_engine_in_flight(const rules_engine_t *self)
{
    assert(self);
    return self->flight_count;
}

const rules_metrics_t *rules_engine_metrics(const rules_engine_t *self)
{
    assert(self);
    return &self->metrics;
}

size_t rules_engine_rule_count(const rules_engine_t *self)
{
    assert(self);
    return self->state_count;
}

void rules_engine_rule_metrics(const rules_engine_t *self, size_t index, rules_rule_metrics_t *out)
{
    assert(self && out && index < self->state_count);
    const s_rule_state_t *state = self->states[index];
    memset(out, 0, sizeof *out);
    out->tenant_id = state->tenant_id;
    out->name = state->name;
    out->evaluations_total = state->evaluations_total;
    out->query_errors_total = state->query_errors_total;
    out->last_duration_ms = state->last_duration_ms;
    for (size_t i = 0; i < state->alerts.count; i++) {
        if (state->alerts.alerts[i].state == RULES_PENDING)
            out->pending++;
        else if (state->alerts.alerts[i].state == RULES_FIRING)
            out->firing++;
    }
}

rules_alerts_t *rules_engine_alerts(rules_engine_t *self, size_t index)
{
    assert(self && index < self->state_count);
    return &self->states[index]->alerts;
}

/* Writes a label value escaped for the exposition format (\\, \" and \n). */
static void s_put_escaped(FILE *out, const char *text)
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

char *rules_engine_metrics_text(const rules_engine_t *self)
{
    assert(self);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size); /* grows as far as many rules need */
    if (!out)
        return NULL;
    const rules_metrics_t *m = &self->metrics;
    const struct {
        const char *name;
        const char *help;
        uint64_t value;
    } totals[] = {
        {"lookout_rules_evaluations_total", "Rule evaluations.", m->evaluations_total},
        {"lookout_rules_evaluation_failures_total",
         "Rule evaluations that failed (query or result errors).", m->evaluation_failures_total},
        {"lookout_rules_batches_sent_total", "Alert batches sent to correlate.",
         m->batches_sent_total},
        {"lookout_rules_batches_acked_total", "Alert batches correlate answered ok.",
         m->batches_acked_total},
        {"lookout_rules_batches_failed_total",
         "Alert batches not queued, refused or unanswered (sent again later).",
         m->batches_failed_total},
        {"lookout_rules_alerts_delivered_total", "Alerts in batches correlate answered ok.",
         m->alerts_delivered_total},
        {"lookout_rules_config_reloads_total", "Configurations installed.", m->reloads_total},
        {"lookout_rules_config_reload_failures_total",
         "Configuration reloads rejected (the previous one stayed).", m->reload_failures_total},
    };
    for (size_t i = 0; i < sizeof totals / sizeof *totals; i++)
        fprintf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", totals[i].name, totals[i].help,
                totals[i].name, totals[i].name, (unsigned long long)totals[i].value);
    const struct {
        const char *name;
        const char *help;
        const char *type;
    } per_rule[] = {
        {"lookout_rules_rule_evaluations_total", "Evaluations of one rule.", "counter"},
        {"lookout_rules_rule_query_errors_total", "Failed evaluations of one rule.", "counter"},
        {"lookout_rules_rule_last_duration_seconds", "How long the last evaluation took.", "gauge"},
        {"lookout_rules_rule_pending_alerts", "Alerts of one rule now pending.", "gauge"},
        {"lookout_rules_rule_firing_alerts", "Alerts of one rule now firing.", "gauge"},
    };
    for (size_t k = 0; k < sizeof per_rule / sizeof *per_rule; k++) {
        fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", per_rule[k].name, per_rule[k].help,
                per_rule[k].name, per_rule[k].type);
        for (size_t i = 0; i < self->state_count; i++) {
            rules_rule_metrics_t r;
            rules_engine_rule_metrics(self, i, &r);
            char value[64];
            if (k == 0)
                snprintf(value, sizeof value, "%llu", (unsigned long long)r.evaluations_total);
            else if (k == 1)
                snprintf(value, sizeof value, "%llu", (unsigned long long)r.query_errors_total);
            else if (k == 2)
                snprintf(value, sizeof value, "%.3f", (double)r.last_duration_ms / 1000.0);
            else
                snprintf(value, sizeof value, "%zu", k == 3 ? r.pending : r.firing);
            fprintf(out, "%s{tenant=\"%s\",rule=\"", per_rule[k].name, r.tenant_id);
            s_put_escaped(out, r.name);
            fprintf(out, "\"} %s\n", value);
        }
    }
    bool failed = ferror(out) != 0; /* out of memory while writing */
    if (fclose(out) != 0 || failed) {
        free(text);
        return NULL;
    }
    return text;
}

/* ==== the actor ========================================================================== */

/* "http://user:secret@host:9090/prom" → "http://host:9090/prom": URLs reach the logs only
   without their credentials. */
static void s_redact_url(const char *url, char *out, size_t out_size)
{
    const char *scheme_end = url ? strstr(url, "://") : NULL;
    if (!scheme_end) {
        snprintf(out, out_size, "%s", url ? url : "(none)");
        return;
    }
    const char *authority = scheme_end + 3;
    const char *path = authority + strcspn(authority, "/?#");
    const char *at = memchr(authority, '@', (size_t)(path - authority));
    snprintf(out, out_size, "%.*s%s", (int)(authority - url), url, at ? at + 1 : authority);
}

static void s_log_config(const rules_engine_t *self)
{
    const lk_config_t *config = self->config;
    char url[256], interval[32];
    s_redact_url(s_query_url(self, config), url, sizeof url);
    lk_yaml_format_duration(config->rules_settings.interval_ms, interval, sizeof interval);
    lk_info("%zu rules from %s, querying %s every %s", config->rule_count,
            config->path ? config->path : "(no configuration file)", url, interval);
}

/* Loads the configuration file again; the old one stays when the new one is unusable. */
static int s_reload(rules_engine_t *self, const rules_config_t *settings, char *err,
                    size_t err_size)
{
    lk_config_t *config = NULL;
    if (lk_config_load(settings->config_path, &config, err, err_size) != 0 ||
        rules_engine_set_config(self, &config, err, err_size) != 0) {
        lk_config_destroy(&config);
        self->metrics.reload_failures_total++;
        lk_error("configuration reload failed, keeping the previous configuration: %s", err);
        return -1;
    }
    self->metrics.reloads_total++;
    s_log_config(self);
    return 0;
}

void rules_actor(zsock_t *pipe, void *args)
{
    const rules_config_t *settings = args;
    assert(settings);
    rules_engine_t *engine = rules_engine_new(settings->query_url, settings->reply_timeout_ms);
    if (!engine)
        lk_fatal("rules: out of memory");
    char err[1024];
    lk_config_t *config = NULL;
    if (lk_config_load(settings->config_path, &config, err, sizeof err) != 0 ||
        rules_engine_set_config(engine, &config, err, sizeof err) != 0)
        lk_fatal("configuration: %s", err);
    engine->metrics.reloads_total++;
    /* one DEALER per correlate shard, in shard order (a comma list of endpoints) */
    zsock_t *shards[RULES_SHARDS_MAX];
    size_t shard_count = 0;
    zpoller_t *poller = zpoller_new(pipe, NULL);
    assert(poller);
    for (const char *cursor = settings->correlate_endpoint; cursor;) {
        const char *end = strchr(cursor, ',');
        char *endpoint = end ? strndup(cursor, (size_t)(end - cursor)) : strdup(cursor);
        if (!endpoint || shard_count == RULES_SHARDS_MAX)
            lk_fatal("LOOKOUT_CORRELATE_ENDPOINT: at most %d endpoints", RULES_SHARDS_MAX);
        shards[shard_count] = lk_sock_new(ZMQ_DEALER, endpoint);
        if (!shards[shard_count])
            lk_fatal("cannot connect to correlate at %s", endpoint);
        free(endpoint);
        zpoller_add(poller, shards[shard_count++]);
        cursor = end ? end + 1 : NULL;
    }
    lk_tap_t *tap = lk_tap_new(settings->tap_endpoint);
    s_log_config(engine);
    zsock_signal(pipe, 0);

    /* Deliveries follow evaluations; they are also retried on their own at the evaluation
       interval, so that a configuration without rules still resolves what a removed rule
       left behind. */
    int64_t next_delivery_ms = 0;
    int64_t next_metrics_ms = 0;
    bool running = true;
    while (running) {
        int64_t mono = lk_mono_ms();
        int64_t wait = 1000; /* at least once a second */
        int64_t due = rules_engine_next_due(engine, mono);
        int64_t expiry = rules_engine_next_expiry(engine, mono);
        if (due >= 0 && due < wait)
            wait = due;
        if (expiry >= 0 && expiry < wait)
            wait = expiry;
        void *which = zpoller_wait(poller, (int)wait);
        if (which == pipe) {
            zmsg_t *command = zmsg_recv(pipe);
            char *verb = command ? zmsg_popstr(command) : NULL;
            if (!verb || streq(verb, "$TERM"))
                running = false;
            else if (streq(verb, "RELOAD")) {
                if (s_reload(engine, settings, err, sizeof err) == 0)
                    zstr_send(pipe, "OK");
                else
                    zstr_sendf(pipe, "ERROR %s", err);
            } else if (streq(verb, "EVALUATE")) {
                s_evaluate_rules(engine, lk_now_ms(), lk_mono_ms(), true);
                rules_engine_deliver_sharded(engine, shards, shard_count, tap, lk_now_ms(),
                                             lk_mono_ms());
                zstr_send(pipe, "OK");
            } else if (streq(verb, "METRICS")) {
                char *text = rules_engine_metrics_text(engine);
                zstr_send(pipe, text ? text : "");
                free(text);
            } else
                lk_warn("rules: unknown actor command %s", verb);
            free(verb);
            zmsg_destroy(&command);
        } else if (which) {
            zsock_t *correlate = which; /* one of the shards has a reply ready */
            lk_msg_t reply;
            if (lk_sock_recv(correlate, NULL, &reply, tap, "rules<correlate") == 0) {
                if (reply.type == LK_MSG_ALERT_REPLY)
                    rules_engine_handle_reply(engine, &reply, lk_now_ms());
                else
                    lk_warn("rules: unexpected %s from correlate", lk_msg_type_name(reply.type));
            }
            lk_msg_clear(&reply);
        } else if (!which && zpoller_terminated(poller))
            break;
        bool deliver = false;
        rules_engine_expire(engine, lk_mono_ms());
        if (rules_engine_evaluate_due(engine, lk_now_ms(), lk_mono_ms()) > 0)
            deliver = true;
        if (deliver || lk_mono_ms() >= next_delivery_ms) {
            rules_engine_deliver_sharded(engine, shards, shard_count, tap, lk_now_ms(),
                                         lk_mono_ms());
            next_delivery_ms =
                lk_mono_ms() + rules_engine_config(engine)->rules_settings.interval_ms;
        }
        /* the engine's counts live on this thread: hand the metrics endpoint a rendering
           (lk_metrics_set_text) about once a second, the longest this loop sleeps */
        if (lk_mono_ms() >= next_metrics_ms) {
            lk_metrics_set_text("lookout-rules", rules_engine_metrics_text(engine));
            next_metrics_ms = lk_mono_ms() + 1000;
        }
    }
    lk_metrics_set_text("lookout-rules", NULL);
    zpoller_destroy(&poller);
    lk_tap_destroy(&tap);
    for (size_t i = 0; i < shard_count; i++)
        zsock_destroy(&shards[i]);
    rules_engine_destroy(&engine);
}
