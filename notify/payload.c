/*  payload — channel request builders (see payload.h).

    The readable text of a notification is composed once (s_text_t: headline, summary,
    facts, links, hints) and then dressed per channel; every piece that lands in a limited
    field is cut with payload_truncate, and the whole is checked against the overall limit.
*/
#include "payload.h"

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_json.h"
#include "lk_time.h"

/* ---- text helpers ---------------------------------------------------------------------- */

/*  Length (1..4) of the well-formed UTF-8 sequence at text, 0 when it is not one. */
static size_t s_utf8_length(const unsigned char *text)
{
    unsigned char lead = text[0];
    size_t length;
    if (lead < 0x80)
        return 1;
    if (lead >= 0xc2 && lead <= 0xdf)
        length = 2;
    else if (lead >= 0xe0 && lead <= 0xef)
        length = 3;
    else if (lead >= 0xf0 && lead <= 0xf4)
        length = 4;
    else
        return 0;
    for (size_t i = 1; i < length; i++)
        if ((text[i] & 0xc0) != 0x80)
            return 0;
    if (length == 3 && ((lead == 0xe0 && text[1] < 0xa0) || (lead == 0xed && text[1] > 0x9f)))
        return 0;
    if (length == 4 && ((lead == 0xf0 && text[1] < 0x90) || (lead == 0xf4 && text[1] > 0x8f)))
        return 0;
    return length;
}

size_t payload_char_count(const char *text)
{
    size_t count = 0;
    const unsigned char *cursor = (const unsigned char *)(text ? text : "");
    while (*cursor) {
        size_t length = s_utf8_length(cursor);
        cursor += length ? length : 1;
        count++;
    }
    return count;
}

char *payload_truncate(const char *text, size_t max_chars)
{
    static const char ellipsis[] = "\xe2\x80\xa6";    /* … */
    static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
    const unsigned char *cursor = (const unsigned char *)(text ? text : "");
    size_t total = payload_char_count((const char *)cursor);
    bool cut = total > max_chars;
    size_t keep = cut ? (max_chars > 0 ? max_chars - 1 : 0) : total;
    char *out = malloc(keep * 4 + sizeof ellipsis);
    if (!out)
        return NULL;
    size_t length = 0;
    for (size_t chars = 0; chars < keep && *cursor; chars++) {
        size_t sequence = s_utf8_length(cursor);
        if (sequence) {
            memcpy(out + length, cursor, sequence);
            length += sequence;
            cursor += sequence;
        } else {
            memcpy(out + length, replacement, 3);
            length += 3;
            cursor++;
        }
    }
    if (cut && max_chars > 0) {
        memcpy(out + length, ellipsis, 3);
        length += 3;
    }
    out[length] = '\0';
    return out;
}

/*  A growing string; failures stick (oom) so callers check once at the end. */
typedef struct {
    char *data;
    size_t length;
    size_t capacity;
    bool oom;
} s_buffer_t;

static void s_append_n(s_buffer_t *buffer, const char *text, size_t size)
{
    if (buffer->oom)
        return;
    if (buffer->length + size + 1 > buffer->capacity) {
        size_t capacity = buffer->capacity ? buffer->capacity : 256;
        while (capacity < buffer->length + size + 1)
            capacity *= 2;
        char *grown = realloc(buffer->data, capacity);
        if (!grown) {
            buffer->oom = true;
            return;
        }
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->data + buffer->length, text, size);
    buffer->length += size;
    buffer->data[buffer->length] = '\0';
}

static void s_append(s_buffer_t *buffer, const char *text)
{
    s_append_n(buffer, text ? text : "", strlen(text ? text : ""));
}

static void s_appendf(s_buffer_t *buffer, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static void s_appendf(s_buffer_t *buffer, const char *format, ...)
{
    char small[512];
    va_list args;
    va_start(args, format);
    int length = vsnprintf(small, sizeof small, format, args);
    va_end(args);
    if (length < 0) {
        buffer->oom = true;
        return;
    }
    if ((size_t)length < sizeof small) {
        s_append_n(buffer, small, (size_t)length);
        return;
    }
    char *large = malloc((size_t)length + 1);
    if (!large) {
        buffer->oom = true;
        return;
    }
    va_start(args, format);
    vsnprintf(large, (size_t)length + 1, format, args);
    va_end(args);
    s_append_n(buffer, large, (size_t)length);
    free(large);
}

/*  Appends text with the characters of escapes replaced (Slack mrkdwn, HTML). */
static void s_append_escaped(s_buffer_t *buffer, const char *text, bool html)
{
    for (const char *c = text ? text : ""; *c; c++) {
        if (*c == '&')
            s_append(buffer, "&amp;");
        else if (*c == '<')
            s_append(buffer, "&lt;");
        else if (*c == '>')
            s_append(buffer, "&gt;");
        else if (html && *c == '"')
            s_append(buffer, "&quot;");
        else
            s_append_n(buffer, c, 1);
    }
}

/*  Takes the buffer's string (NULL on OOM); the buffer is left empty. */
static char *s_take(s_buffer_t *buffer)
{
    if (buffer->oom) {
        free(buffer->data);
        memset(buffer, 0, sizeof *buffer);
        return NULL;
    }
    char *data = buffer->data ? buffer->data : strdup("");
    memset(buffer, 0, sizeof *buffer);
    return data;
}

/* ---- the readable content -------------------------------------------------------------- */

int payload_common_labels(const lk_incident_t *incident, const lk_alert_t *alerts, size_t count,
                          lk_labels_t *out)
{
    memset(out, 0, sizeof *out);
    if (count > 0)
        for (size_t i = 0; i < alerts[0].labels.count; i++) {
            const lk_label_t *label = &alerts[0].labels.items[i];
            bool shared = true;
            for (size_t a = 1; a < count && shared; a++) {
                const char *value = lk_labels_get(&alerts[a].labels, label->name);
                shared = value && strcmp(value, label->value) == 0;
            }
            if (shared && lk_labels_set(out, label->name, label->value) != 0)
                return -1;
        }
    for (size_t i = 0; incident && i < incident->group_labels.count; i++)
        if (lk_labels_set(out, incident->group_labels.items[i].name,
                          incident->group_labels.items[i].value) != 0)
            return -1;
    return 0;
}

/*  What every channel says, before dressing. Strings are owned. */
typedef struct {
    char *headline;         /* "[CRITICAL] HighCPU (job=node)" */
    const char *state;      /* "triggered", "acknowledged", "resolved" */
    const char *event;      /* "incident.triggered", ... */
    char *labels_text;      /* "alertname=HighCPU, job=node" */
    lk_labels_t labels;     /* shared labels */
    char *incident_url;     /* NULL without public_url */
    const char *source_url; /* first alert's generator_url, or NULL */
    const char *runbook_url;
    char *ack_hint;           /* trigger only: how to acknowledge and resolve */
    const char *mention_name; /* user name or NULL */
} s_text_t;

static void s_text_clear(s_text_t *text)
{
    free(text->headline);
    free(text->labels_text);
    free(text->incident_url);
    free(text->ack_hint);
    lk_labels_clear(&text->labels);
    memset(text, 0, sizeof *text);
}

/*  Upper-case copy of a short ASCII word into out. */
static void s_upper(const char *word, char *out, size_t size)
{
    size_t i = 0;
    for (; word[i] && i + 1 < size; i++)
        out[i] = (char)(word[i] >= 'a' && word[i] <= 'z' ? word[i] - 32 : word[i]);
    out[i] = '\0';
}

static int s_text_build(const payload_input_t *input, s_text_t *text)
{
    memset(text, 0, sizeof *text);
    const lk_incident_t *incident = input->incident;
    lk_notify_kind_t kind = input->notification->kind;
    text->state = kind == LK_NOTIFY_RESOLVE       ? "resolved"
                  : kind == LK_NOTIFY_ACKNOWLEDGE ? "acknowledged"
                                                  : "triggered";
    text->event = kind == LK_NOTIFY_RESOLVE       ? "incident.resolved"
                  : kind == LK_NOTIFY_ACKNOWLEDGE ? "incident.acknowledged"
                                                  : "incident.triggered";
    char tag[32];
    s_upper(kind == LK_NOTIFY_TRIGGER ? lk_severity_name(incident->severity) : text->state, tag,
            sizeof tag);
    s_buffer_t buffer = {0};
    s_appendf(&buffer, "[%s] %s", tag, incident->title ? incident->title : "incident");
    if (kind == LK_NOTIFY_ACKNOWLEDGE && incident->acknowledged_by)
        s_appendf(&buffer, " (by %s)", incident->acknowledged_by);
    text->headline = s_take(&buffer);

    if (payload_common_labels(incident, input->alerts, input->alert_count, &text->labels) != 0)
        return -1;
    for (size_t i = 0; i < text->labels.count; i++)
        s_appendf(&buffer, "%s%s=%s", i ? ", " : "", text->labels.items[i].name,
                  text->labels.items[i].value);
    text->labels_text = s_take(&buffer);

    if (input->public_url) {
        s_appendf(&buffer, "%s/incidents/%s", input->public_url, incident->id);
        text->incident_url = s_take(&buffer);
    }
    if (input->alert_count > 0) {
        text->source_url = input->alerts[0].generator_url;
        text->runbook_url = lk_labels_get(&input->alerts[0].annotations, "runbook_url");
    }
    if (kind == LK_NOTIFY_TRIGGER) {
        const char *base = input->public_url ? input->public_url : "";
        s_appendf(&buffer,
                  "Acknowledge: POST %s/incidents/%s/acknowledge — Resolve: POST "
                  "%s/incidents/%s/resolve",
                  base, incident->id, base, incident->id);
        text->ack_hint = s_take(&buffer);
    }
    text->mention_name = input->user ? input->user->name : NULL;
    if (!text->headline || !text->labels_text || (input->public_url && !text->incident_url) ||
        (kind == LK_NOTIFY_TRIGGER && !text->ack_hint))
        return -1;
    return 0;
}

/*  "3 firing of 4" */
static void s_alert_counts(const lk_incident_t *incident, char *out, size_t size)
{
    snprintf(out, size, "%u firing of %u", incident->firing_count, incident->alert_count);
}

/*  The plain-text body shared by email, SMS and Discord descriptions. */
static char *s_plain_body(const payload_input_t *input, const s_text_t *text, bool compact)
{
    const lk_incident_t *incident = input->incident;
    const lk_notification_t *notification = input->notification;
    s_buffer_t buffer = {0};
    char counts[64];
    s_alert_counts(incident, counts, sizeof counts);
    s_appendf(&buffer, "%s\n", text->headline);
    if (incident->summary && strcmp(incident->summary, incident->title ? incident->title : "") != 0)
        s_appendf(&buffer, "%s\n", incident->summary);
    if (compact) {
        if (text->incident_url)
            s_appendf(&buffer, "%s\n", text->incident_url);
        else
            s_appendf(&buffer, "Incident %s\n", incident->id);
        return s_take(&buffer);
    }
    s_appendf(&buffer, "\nSeverity: %s\nStatus: %s\nAlerts: %s\n",
              lk_severity_name(incident->severity), text->state, counts);
    if (text->labels_text[0])
        s_appendf(&buffer, "Labels: %s\n", text->labels_text);
    if (notification->policy && notification->policy[0])
        s_appendf(&buffer, "Escalation: policy %s, level %u\n", notification->policy,
                  notification->level + 1);
    s_appendf(&buffer, "Incident: %s\n", text->incident_url ? text->incident_url : incident->id);
    if (text->source_url)
        s_appendf(&buffer, "Source: %s\n", text->source_url);
    if (text->runbook_url)
        s_appendf(&buffer, "Runbook: %s\n", text->runbook_url);
    if (text->ack_hint)
        s_appendf(&buffer, "\n%s\n", text->ack_hint);
    return s_take(&buffer);
}

/* ---- output helpers -------------------------------------------------------------------- */

void payload_clear(payload_t *payload)
{
    if (!payload)
        return;
    free(payload->body);
    for (size_t i = 0; i < payload->header_count; i++)
        free(payload->headers[i]);
    for (size_t i = 0; i < payload->rcpt_count; i++)
        free(payload->rcpt[i]);
    memset(payload, 0, sizeof *payload);
}

static int s_header(payload_t *out, const char *format, ...) __attribute__((format(printf, 2, 3)));
static int s_header(payload_t *out, const char *format, ...)
{
    if (out->header_count == PAYLOAD_HEADERS_MAX)
        return -1;
    char line[512];
    va_list args;
    va_start(args, format);
    int length = vsnprintf(line, sizeof line, format, args);
    va_end(args);
    if (length < 0 || (size_t)length >= sizeof line)
        return -1;
    out->headers[out->header_count] = strdup(line);
    return out->headers[out->header_count++] ? 0 : -1;
}

static int s_rcpt(payload_t *out, const char *address)
{
    if (out->rcpt_count == PAYLOAD_RCPT_MAX)
        return -1;
    out->rcpt[out->rcpt_count] = strdup(address);
    return out->rcpt[out->rcpt_count++] ? 0 : -1;
}

/*  The recipients of an email or SMS: the user's address (email or phone, as the channel
    needs: user_address) when the notification is for a user, else the channel's `to` list.
    what names the address in errors ("email address", "phone number"). */
static int s_recipients(const payload_input_t *input, const char *user_address, const char *what,
                        payload_t *out, char *err, size_t err_size)
{
    const lk_channel_t *channel = input->channel;
    if (input->user) {
        if (!user_address) {
            snprintf(err, err_size, "user %s has no %s", input->user->name, what);
            return -1;
        }
        if (s_rcpt(out, user_address) != 0)
            return -1;
    } else
        for (size_t i = 0; i < channel->to_count; i++)
            if (s_rcpt(out, channel->to[i]) != 0)
                return -1;
    if (out->rcpt_count == 0) {
        snprintf(err, err_size, "%s channel %s has no recipient",
                 lk_channel_type_name(channel->type), channel->name);
        return -1;
    }
    return 0;
}

/*  Sets out's body to the compact JSON of json (stolen). */
static int s_json_body(payload_t *out, json_t *json)
{
    if (!json)
        return -1;
    out->body = json_dumps(json, JSON_COMPACT);
    json_decref(json);
    if (!out->body)
        return -1;
    out->body_size = strlen(out->body);
    out->content_type = "application/json";
    return 0;
}

/*  A JSON string of text cut to max characters. */
static json_t *s_json_cut(const char *text, size_t max)
{
    char *cut = payload_truncate(text, max);
    json_t *json = cut ? json_string(cut) : NULL;
    free(cut);
    return json;
}

/* ---- slack ----------------------------------------------------------------------------- */

static json_t *s_mrkdwn(const char *text, size_t max)
{
    return json_pack("{s:s, s:o}", "type", "mrkdwn", "text", s_json_cut(text, max));
}

static int s_slack(const payload_input_t *input, const s_text_t *text, payload_t *out)
{
    const lk_incident_t *incident = input->incident;
    s_buffer_t summary = {0}, fallback = {0}, links = {0}, labels = {0};
    const char *slack_id = input->user ? input->user->slack_id : NULL;
    if (slack_id)
        s_appendf(&summary, "<@%s> ", slack_id);
    s_append_escaped(&summary, incident->summary ? incident->summary : incident->title, false);
    s_append_escaped(&labels, text->labels_text[0] ? text->labels_text : "(none)", false);
    if (text->incident_url)
        s_appendf(&links, "<%s|Open incident>", text->incident_url);
    else
        s_appendf(&links, "Incident `%s`", incident->id);
    if (text->source_url)
        s_appendf(&links, " · <%s|Source>", text->source_url);
    if (text->runbook_url)
        s_appendf(&links, " · <%s|Runbook>", text->runbook_url);
    if (slack_id)
        s_appendf(&fallback, "<@%s> ", slack_id);
    s_append_escaped(&fallback, text->headline, false);
    s_append(&fallback, " — ");
    s_append_escaped(&fallback, incident->summary, false);

    char *summary_text = s_take(&summary), *fallback_text = s_take(&fallback);
    char *links_text = s_take(&links), *labels_text = s_take(&labels);
    char counts[64], severity[64], status[64];
    s_alert_counts(incident, counts, sizeof counts);
    snprintf(severity, sizeof severity, "*Severity*\n%s", lk_severity_name(incident->severity));
    snprintf(status, sizeof status, "*Status*\n%s", text->state);
    char alerts_field[96];
    snprintf(alerts_field, sizeof alerts_field, "*Alerts*\n%s", counts);
    s_buffer_t labels_field = {0};
    s_appendf(&labels_field, "*Labels*\n%s", labels_text ? labels_text : "");
    char *labels_field_text = s_take(&labels_field);

    json_t *blocks = NULL;
    if (summary_text && fallback_text && links_text && labels_field_text) {
        blocks =
            json_pack("[{s:s, s:{s:s, s:o}}, {s:s, s:o}, {s:s, s:[o, o, o, o]}, {s:s, s:[o]}]",
                      "type", "header", "text", "type", "plain_text", "text",
                      s_json_cut(text->headline, PAYLOAD_SLACK_HEADER_MAX), "type", "section",
                      "text", s_mrkdwn(summary_text, PAYLOAD_SLACK_BLOCK_TEXT_MAX), "type",
                      "section", "fields", s_mrkdwn(severity, 2000), s_mrkdwn(status, 2000),
                      s_mrkdwn(alerts_field, 2000), s_mrkdwn(labels_field_text, 2000), "type",
                      "context", "elements", s_mrkdwn(links_text, PAYLOAD_SLACK_BLOCK_TEXT_MAX));
        if (blocks && text->ack_hint) {
            s_buffer_t hint = {0};
            s_append(&hint, "_");
            s_append_escaped(&hint, text->ack_hint, false);
            s_append(&hint, "_");
            char *hint_text = s_take(&hint);
            json_t *hint_block = hint_text
                                     ? json_pack("{s:s, s:[o]}", "type", "context", "elements",
                                                 s_mrkdwn(hint_text, PAYLOAD_SLACK_BLOCK_TEXT_MAX))
                                     : NULL;
            if (!hint_block || json_array_append_new(blocks, hint_block) != 0) {
                json_decref(blocks);
                blocks = NULL;
            }
            free(hint_text);
        }
    }
    int rc = -1;
    if (blocks)
        rc = s_json_body(out, json_pack("{s:o, s:o}", "text",
                                        s_json_cut(fallback_text, PAYLOAD_SLACK_TEXT_MAX), "blocks",
                                        blocks));
    free(summary_text);
    free(fallback_text);
    free(links_text);
    free(labels_text);
    free(labels_field_text);
    return rc;
}

/* ---- discord --------------------------------------------------------------------------- */

static int s_discord_colour(const lk_incident_t *incident, lk_notify_kind_t kind)
{
    if (kind == LK_NOTIFY_RESOLVE)
        return 0x2eb67d;
    if (kind == LK_NOTIFY_ACKNOWLEDGE)
        return 0x9b9b9b;
    static const int colours[] = {0x2f80ed, 0xf2c94c, 0xf2994a, 0xe01e5a};
    return colours[incident->severity <= LK_SEV_CRITICAL ? incident->severity : LK_SEV_CRITICAL];
}

static int s_discord(const payload_input_t *input, const s_text_t *text, payload_t *out)
{
    const lk_incident_t *incident = input->incident;
    const char *discord_id = input->user ? input->user->discord_id : NULL;
    s_buffer_t content = {0};
    if (discord_id)
        s_appendf(&content, "<@%s> ", discord_id);
    s_append(&content, text->headline);
    char *content_text = s_take(&content);
    char *description = s_plain_body(input, text, false);
    char counts[64], timestamp[40];
    s_alert_counts(incident, counts, sizeof counts);
    lk_time_format(input->now_ms, timestamp, sizeof timestamp);
    json_t *embed = NULL;
    if (content_text && description)
        embed =
            json_pack("{s:o, s:o, s:i, s:s, s:[{s:s, s:s, s:b}, {s:s, s:s, s:b}, {s:s, s:s, s:b}, "
                      "{s:s, s:o, s:b}], s:{s:s}}",
                      "title", s_json_cut(text->headline, PAYLOAD_DISCORD_TITLE_MAX), "description",
                      s_json_cut(description, PAYLOAD_DISCORD_DESCRIPTION_MAX), "color",
                      s_discord_colour(incident, input->notification->kind), "timestamp", timestamp,
                      "fields", "name", "Severity", "value", lk_severity_name(incident->severity),
                      "inline", 1, "name", "Status", "value", text->state, "inline", 1, "name",
                      "Alerts", "value", counts, "inline", 1, "name", "Labels", "value",
                      s_json_cut(text->labels_text[0] ? text->labels_text : "(none)",
                                 PAYLOAD_DISCORD_FIELD_MAX),
                      "inline", 0, "footer", "text", "Lookout");
    if (embed && text->incident_url)
        json_object_set_new(embed, "url", json_string(text->incident_url));
    json_t *mentions = discord_id ? json_pack("{s:[], s:[s]}", "parse", "users", discord_id)
                                  : json_pack("{s:[]}", "parse");
    int rc = -1;
    if (embed && mentions)
        rc = s_json_body(out, json_pack("{s:o, s:[o], s:o}", "content",
                                        s_json_cut(content_text, PAYLOAD_DISCORD_CONTENT_MAX),
                                        "embeds", embed, "allowed_mentions", mentions));
    else {
        json_decref(embed);
        json_decref(mentions);
    }
    free(content_text);
    free(description);
    return rc;
}

/* ---- pagerduty ------------------------------------------------------------------------- */

static int s_pagerduty(const payload_input_t *input, const s_text_t *text, payload_t *out)
{
    const lk_incident_t *incident = input->incident;
    lk_notify_kind_t kind = input->notification->kind;
    const char *action = kind == LK_NOTIFY_RESOLVE       ? "resolve"
                         : kind == LK_NOTIFY_ACKNOWLEDGE ? "acknowledge"
                                                         : "trigger";
    json_t *event = json_pack("{s:s, s:s, s:s}", "routing_key",
                              input->channel->secret ? input->channel->secret : "", "event_action",
                              action, "dedup_key", incident->id);
    if (!event)
        return -1;
    if (kind == LK_NOTIFY_TRIGGER) {
        const char *source = "lookout";
        if (input->alert_count > 0) {
            const char *instance = lk_labels_get(&input->alerts[0].labels, "instance");
            const char *job = lk_labels_get(&input->alerts[0].labels, "job");
            source = instance ? instance : job ? job : source;
        }
        char timestamp[40];
        lk_time_format(incident->created_at_ms, timestamp, sizeof timestamp);
        s_buffer_t summary = {0};
        s_append(&summary, incident->title);
        if (incident->summary && strcmp(incident->summary, incident->title) != 0)
            s_appendf(&summary, ": %s", incident->summary);
        char *summary_text = s_take(&summary);
        json_t *details = json_pack(
            "{s:o, s:i, s:i, s:s, s:s, s:s, s:s, s:i}", "labels", lk_json_labels(&text->labels),
            "alert_count", (json_int_t)incident->alert_count, "firing_count",
            (json_int_t)incident->firing_count, "incident_id", incident->id, "tenant_id",
            incident->tenant_id, "status", lk_incident_status_name(incident->status), "policy",
            input->notification->policy ? input->notification->policy : "", "level",
            (json_int_t)input->notification->level + 1);
        json_t *payload =
            summary_text && details
                ? json_pack("{s:o, s:s, s:s, s:s, s:o}", "summary",
                            s_json_cut(summary_text, PAYLOAD_PAGERDUTY_SUMMARY_MAX), "source",
                            source, "severity", lk_severity_name(incident->severity), "timestamp",
                            timestamp, "custom_details", details)
                : NULL;
        free(summary_text);
        if (!payload) {
            json_decref(details);
            json_decref(event);
            return -1;
        }
        const char *alertname = lk_labels_get(&text->labels, "alertname");
        if (alertname)
            json_object_set_new(payload, "class", json_string(alertname));
        json_object_set_new(event, "payload", payload);
        json_t *links = json_array();
        if (text->incident_url)
            json_array_append_new(links, json_pack("{s:s, s:s}", "href", text->incident_url, "text",
                                                   "Lookout incident"));
        if (text->source_url)
            json_array_append_new(
                links, json_pack("{s:s, s:s}", "href", text->source_url, "text", "Source"));
        json_object_set_new(event, "links", links);
        json_object_set_new(event, "client", json_string("Lookout"));
        if (input->public_url)
            json_object_set_new(event, "client_url", json_string(input->public_url));
    }
    return s_json_body(out, event);
}

/* ---- email ----------------------------------------------------------------------------- */

/*  Appends base64 of data in lines of 76 characters (CRLF). */
static void s_append_base64(s_buffer_t *buffer, const unsigned char *data, size_t size)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t column = 0;
    for (size_t i = 0; i < size; i += 3) {
        uint32_t triple = (uint32_t)data[i] << 16;
        if (i + 1 < size)
            triple |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < size)
            triple |= data[i + 2];
        char quad[4] = {alphabet[triple >> 18 & 63], alphabet[triple >> 12 & 63],
                        i + 1 < size ? alphabet[triple >> 6 & 63] : '=',
                        i + 2 < size ? alphabet[triple & 63] : '='};
        s_append_n(buffer, quad, 4);
        column += 4;
        if (column >= 76) {
            s_append(buffer, "\r\n");
            column = 0;
        }
    }
    if (column)
        s_append(buffer, "\r\n");
}

/*  A Subject header value: as is when printable ASCII, else RFC 2047 encoded words of at
    most 45 bytes of UTF-8 each (whole characters), folded. */
static void s_append_subject(s_buffer_t *buffer, const char *subject)
{
    bool ascii = true;
    for (const char *c = subject; *c && ascii; c++)
        ascii = (unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f;
    if (ascii) {
        s_append(buffer, subject);
        return;
    }
    const unsigned char *cursor = (const unsigned char *)subject;
    bool first = true;
    while (*cursor) {
        size_t chunk = 0;
        while (cursor[chunk]) {
            size_t length = s_utf8_length(cursor + chunk);
            if (!length || chunk + length > 45)
                break;
            chunk += length;
        }
        if (chunk == 0)
            chunk = 1; /* an invalid byte: carry it alone */
        s_append(buffer, first ? "=?UTF-8?B?" : "\r\n =?UTF-8?B?");
        s_buffer_t encoded = {0};
        s_append_base64(&encoded, cursor, chunk);
        if (encoded.data) {
            size_t length = encoded.length;
            while (length && (encoded.data[length - 1] == '\n' || encoded.data[length - 1] == '\r'))
                length--;
            s_append_n(buffer, encoded.data, length);
        }
        free(encoded.data);
        s_append(buffer, "?=");
        cursor += chunk;
        first = false;
    }
}

static char *s_html_body(const payload_input_t *input, const s_text_t *text)
{
    const lk_incident_t *incident = input->incident;
    s_buffer_t html = {0};
    char counts[64];
    s_alert_counts(incident, counts, sizeof counts);
    s_append(&html, "<!DOCTYPE html><html><body style=\"font-family:sans-serif\"><h2>");
    s_append_escaped(&html, text->headline, true);
    s_append(&html, "</h2><p>");
    s_append_escaped(&html, incident->summary, true);
    s_append(&html, "</p><table>");
    s_appendf(&html, "<tr><th align=\"left\">Severity</th><td>%s</td></tr>",
              lk_severity_name(incident->severity));
    s_appendf(&html, "<tr><th align=\"left\">Status</th><td>%s</td></tr>", text->state);
    s_appendf(&html, "<tr><th align=\"left\">Alerts</th><td>%s</td></tr>", counts);
    s_append(&html, "<tr><th align=\"left\">Labels</th><td>");
    s_append_escaped(&html, text->labels_text, true);
    s_append(&html, "</td></tr></table><p>");
    if (text->incident_url) {
        s_append(&html, "<a href=\"");
        s_append_escaped(&html, text->incident_url, true);
        s_append(&html, "\">Open incident</a>");
    } else {
        s_append(&html, "Incident ");
        s_append_escaped(&html, incident->id, true);
    }
    if (text->runbook_url) {
        s_append(&html, " · <a href=\"");
        s_append_escaped(&html, text->runbook_url, true);
        s_append(&html, "\">Runbook</a>");
    }
    s_append(&html, "</p>");
    if (text->ack_hint) {
        s_append(&html, "<p><small>");
        s_append_escaped(&html, text->ack_hint, true);
        s_append(&html, "</small></p>");
    }
    s_append(&html, "</body></html>");
    return s_take(&html);
}

/*  RFC 5322 date of now, UTC. */
static void s_mail_date(int64_t now_ms, char *out, size_t size)
{
    static const char *days[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
    static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char iso[40];
    lk_time_format(now_ms, iso, sizeof iso); /* 2026-11-22T09:00:00.123Z */
    int year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0;
    sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d", &year, &month, &day, &hour, &minute, &second);
    int64_t days_since = now_ms >= 0 ? now_ms / 86400000 : 0;
    snprintf(out, size, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[days_since % 7], day,
             months[(month - 1) % 12], year, hour, minute, second);
}

static int s_email(const payload_input_t *input, const s_text_t *text, payload_t *out, char *err,
                   size_t err_size)
{
    const lk_channel_t *channel = input->channel;
    if (s_recipients(input, input->user ? input->user->email : NULL, "email address", out, err,
                     err_size) != 0)
        return -1;
    char *subject = payload_truncate(text->headline, PAYLOAD_EMAIL_SUBJECT_MAX);
    char *plain = s_plain_body(input, text, false);
    char *html = s_html_body(input, text);
    char date[64];
    s_mail_date(input->now_ms, date, sizeof date);
    s_buffer_t message = {0};
    const char *id = input->notification->id;
    s_appendf(&message, "From: %s\r\nTo: ", channel->from ? channel->from : "lookout@localhost");
    for (size_t i = 0; i < out->rcpt_count; i++)
        s_appendf(&message, "%s%s", i ? ", " : "", out->rcpt[i]);
    s_append(&message, "\r\nSubject: ");
    s_append_subject(&message, subject ? subject : "");
    s_appendf(&message,
              "\r\nDate: %s\r\nMessage-ID: <%s@lookout>\r\nMIME-Version: 1.0\r\n"
              "X-Lookout-Incident: %s\r\nX-Lookout-Event: %s\r\n"
              "Content-Type: multipart/alternative; boundary=\"lookout-%s\"\r\n\r\n",
              date, id, input->incident->id, text->event, id);
    s_appendf(&message,
              "--lookout-%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
              "Content-Transfer-Encoding: base64\r\n\r\n",
              id);
    if (plain)
        s_append_base64(&message, (const unsigned char *)plain, strlen(plain));
    s_appendf(&message,
              "--lookout-%s\r\nContent-Type: text/html; charset=utf-8\r\n"
              "Content-Transfer-Encoding: base64\r\n\r\n",
              id);
    if (html)
        s_append_base64(&message, (const unsigned char *)html, strlen(html));
    s_appendf(&message, "--lookout-%s--\r\n", id);
    bool ok = subject && plain && html;
    free(subject);
    free(plain);
    free(html);
    out->body = s_take(&message);
    if (!ok || !out->body)
        return -1;
    out->body_size = strlen(out->body);
    out->content_type = "message/rfc822";
    return 0;
}

/* ---- sms ------------------------------------------------------------------------------- */

/*  application/x-www-form-urlencoded of text. */
static void s_append_form(s_buffer_t *buffer, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '_' || *c == '.' || *c == '*')
            s_append_n(buffer, (const char *)c, 1);
        else if (*c == ' ')
            s_append(buffer, "+");
        else {
            char escaped[3] = {'%', hex[*c >> 4], hex[*c & 15]};
            s_append_n(buffer, escaped, 3);
        }
    }
}

static int s_sms(const payload_input_t *input, const s_text_t *text, payload_t *out, char *err,
                 size_t err_size)
{
    const lk_channel_t *channel = input->channel;
    if (s_recipients(input, input->user ? input->user->phone : NULL, "phone number", out, err,
                     err_size) != 0)
        return -1;
    char *body = s_plain_body(input, text, true);
    char *cut = body ? payload_truncate(body, PAYLOAD_TWILIO_BODY_MAX) : NULL;
    free(body);
    if (!cut)
        return -1;
    /* one request per recipient: the sender puts "To=<recipient>&" before this */
    s_buffer_t form = {0};
    s_append(&form, "From=");
    s_append_form(&form, channel->from ? channel->from : "");
    s_append(&form, "&Body=");
    s_append_form(&form, cut);
    free(cut);
    out->body = s_take(&form);
    if (!out->body)
        return -1;
    out->body_size = strlen(out->body);
    out->content_type = "application/x-www-form-urlencoded";
    return 0;
}

/* ---- webhook and deckhand -------------------------------------------------------------- */

int payload_webhook_signature(const char *secret, int64_t timestamp_s, const char *body,
                              size_t body_size, char *out, size_t out_size)
{
    char prefix[32];
    int prefix_length = snprintf(prefix, sizeof prefix, "%lld.", (long long)timestamp_s);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    /* HMAC over "<timestamp>.<body>" without copying the body */
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *context = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
                           OSSL_PARAM_construct_end()};
    size_t length = 0;
    int ok = context &&
             EVP_MAC_init(context, (const unsigned char *)secret, strlen(secret), params) == 1 &&
             EVP_MAC_update(context, (const unsigned char *)prefix, (size_t)prefix_length) == 1 &&
             EVP_MAC_update(context, (const unsigned char *)body, body_size) == 1 &&
             EVP_MAC_final(context, digest, &length, sizeof digest) == 1;
    EVP_MAC_CTX_free(context);
    EVP_MAC_free(mac);
    digest_length = (unsigned int)length;
    if (!ok || out_size < 3 + 2 * (size_t)digest_length + 1)
        return -1;
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "v1=", 3);
    for (unsigned int i = 0; i < digest_length; i++) {
        out[3 + 2 * i] = hex[digest[i] >> 4];
        out[3 + 2 * i + 1] = hex[digest[i] & 15];
    }
    out[3 + 2 * digest_length] = '\0';
    return 0;
}

static int s_webhook(const payload_input_t *input, const s_text_t *text, payload_t *out)
{
    const lk_notification_t *notification = input->notification;
    json_t *alerts = json_array();
    for (size_t i = 0; alerts && i < input->alert_count; i++)
        json_array_append_new(alerts, lk_json_alert(&input->alerts[i]));
    char sent_at[40];
    lk_time_format(input->now_ms, sent_at, sizeof sent_at);
    json_t *json =
        json_pack("{s:s, s:s, s:s, s:i, s:s, s:i, s:s, s:s, s:o, s:o, s:o, s:s}", "event",
                  text->event, "delivery_id", notification->id, "idempotency_key",
                  notification->idempotency_key ? notification->idempotency_key : notification->id,
                  "attempt", (json_int_t)notification->attempt, "policy",
                  notification->policy ? notification->policy : "", "level",
                  (json_int_t)notification->level + 1, "channel", input->channel->name, "target",
                  notification->target ? notification->target : "", "incident",
                  lk_json_incident(input->incident), "labels", lk_json_labels(&text->labels),
                  "alerts", alerts ? alerts : json_array(), "sent_at", sent_at);
    if (json && text->incident_url)
        json_object_set_new(json, "incident_url", json_string(text->incident_url));
    if (s_json_body(out, json) != 0)
        return -1;
    int64_t timestamp_s = input->now_ms / 1000;
    char signature[80];
    if (!input->channel->secret ||
        payload_webhook_signature(input->channel->secret, timestamp_s, out->body, out->body_size,
                                  signature, sizeof signature) != 0)
        return -1;
    if (s_header(out, "X-Lookout-Timestamp: %lld", (long long)timestamp_s) ||
        s_header(out, "X-Lookout-Signature: %s", signature) ||
        s_header(out, "X-Lookout-Event: %s", text->event) ||
        s_header(out, "X-Lookout-Delivery: %s", notification->id))
        return -1;
    return 0;
}

static int s_deckhand(const payload_input_t *input, const s_text_t *text, payload_t *out)
{
    const lk_incident_t *incident = input->incident;
    static const char *priorities[] = {"low", "normal", "high", "urgent"};
    lk_notify_kind_t kind = input->notification->kind;
    char *description = s_plain_body(input, text, false);
    json_t *json =
        description
            ? json_pack("{s:s, s:s, s:o, s:o, s:s, s:b, s:s, s:s, s:s, s:o}", "external_id",
                        incident->id, "event",
                        kind == LK_NOTIFY_RESOLVE       ? "resolved"
                        : kind == LK_NOTIFY_ACKNOWLEDGE ? "acknowledged"
                                                        : "opened",
                        "title", s_json_cut(text->headline, 256), "description",
                        s_json_cut(description, 10000), "priority",
                        priorities[incident->severity <= LK_SEV_CRITICAL ? incident->severity
                                                                         : LK_SEV_CRITICAL],
                        "customer_facing", 1, "incident_id", incident->id, "tenant_id",
                        incident->tenant_id, "status", text->state, "labels",
                        lk_json_labels(&text->labels))
            : NULL;
    free(description);
    if (json && text->incident_url)
        json_object_set_new(json, "url", json_string(text->incident_url));
    if (s_json_body(out, json) != 0)
        return -1;
    if (s_header(out, "Idempotency-Key: %s",
                 input->notification->idempotency_key ? input->notification->idempotency_key
                                                      : input->notification->id))
        return -1;
    if (input->channel->secret) {
        /* a bearer token is a secret: it must fit the header line, never be logged */
        size_t length = strlen(input->channel->secret);
        char *line = malloc(length + 32);
        if (!line)
            return -1;
        snprintf(line, length + 32, "Authorization: Bearer %s", input->channel->secret);
        if (out->header_count == PAYLOAD_HEADERS_MAX) {
            free(line);
            return -1;
        }
        out->headers[out->header_count++] = line;
    }
    return 0;
}

/* ---- entry ----------------------------------------------------------------------------- */

int payload_build(const payload_input_t *input, payload_t *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    s_text_t text;
    int rc = s_text_build(input, &text);
    err[0] = '\0';
    if (rc == 0) {
        switch (input->channel->type) {
        case LK_CHANNEL_SLACK:
            rc = s_slack(input, &text, out);
            break;
        case LK_CHANNEL_DISCORD:
            rc = s_discord(input, &text, out);
            break;
        case LK_CHANNEL_PAGERDUTY:
            rc = s_pagerduty(input, &text, out);
            break;
        case LK_CHANNEL_EMAIL:
            rc = s_email(input, &text, out, err, err_size);
            break;
        case LK_CHANNEL_SMS:
            rc = s_sms(input, &text, out, err, err_size);
            break;
        case LK_CHANNEL_WEBHOOK:
            rc = s_webhook(input, &text, out);
            break;
        case LK_CHANNEL_DECKHAND:
            rc = s_deckhand(input, &text, out);
            break;
        default:
            rc = -1;
        }
    }
    s_text_clear(&text);
    if (rc != 0) {
        if (!err[0])
            snprintf(err, err_size, "cannot build the %s payload (out of memory)",
                     lk_channel_type_name(input->channel->type));
        payload_clear(out);
    }
    return rc;
}
