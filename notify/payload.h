/*  payload — the request each channel type sends for one notification, pure (no I/O).

    lookout-notify builds one payload per attempt from the job (notification, incident,
    first alerts) and the configuration (channel, user, notify_settings.public_url):

      slack      incoming webhook JSON: `text` (fallback and notifications) + Block Kit
                 blocks (header, summary, severity/status/labels fields, links, the
                 acknowledge/resolve hints), mentioning the user (<@slack_id>).
      discord    webhook JSON: `content` (mention) + one embed (title, description,
                 colour by severity, fields, link, timestamp); allowed_mentions limits
                 pings to the target user.
      pagerduty  Events API v2: event_action trigger|acknowledge|resolve with the incident
                 id as dedup_key, so PagerDuty folds every level and repeat into one
                 incident and mirrors acknowledge/resolve.
      email      a complete RFC 5322 message: multipart/alternative with a text/plain and a
                 text/html part (both UTF-8, base64), encoded Subject; recipients in rcpt.
      sms        Twilio Messages API form: From and Body; one request per recipient in
                 rcpt, each with "To=<recipient>&" in front of the body.
      webhook    JSON {event, delivery_id, attempt, incident, alerts, policy, level, target,
                 sent_at}, signed: X-Lookout-Timestamp (unix seconds) and
                 X-Lookout-Signature: v1=hex(HMAC-SHA256(secret, timestamp "." body)).
      deckhand   JSON support ticket {external_id, event, title, description, priority,
                 customer_facing, incident_id, tenant_id, status, labels, url}, bearer token.

    Every text is cut (at a UTF-8 character boundary, ending in "…") to the receiving
    service's documented limit, counted in characters: PagerDuty summary 1024, Slack text
    40000 and block text 3000, Discord content 2000, embed title 256, description 4096 and
    field value 1024, Twilio body 1600; email subjects are cut at 200.
*/
#ifndef NOTIFY_PAYLOAD_H
#define NOTIFY_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lk_config.h"
#include "lk_model.h"

#define PAYLOAD_PAGERDUTY_SUMMARY_MAX   1024
#define PAYLOAD_SLACK_TEXT_MAX          40000
#define PAYLOAD_SLACK_BLOCK_TEXT_MAX    3000
#define PAYLOAD_SLACK_HEADER_MAX        150
#define PAYLOAD_DISCORD_CONTENT_MAX     2000
#define PAYLOAD_DISCORD_TITLE_MAX       256
#define PAYLOAD_DISCORD_DESCRIPTION_MAX 4096
#define PAYLOAD_DISCORD_FIELD_MAX       1024
#define PAYLOAD_TWILIO_BODY_MAX         1600
#define PAYLOAD_EMAIL_SUBJECT_MAX       200
#define PAYLOAD_HEADERS_MAX             8
#define PAYLOAD_RCPT_MAX                64

/* What a payload is built from. Everything is borrowed. */
typedef struct {
    const lk_notification_t *notification;
    const lk_incident_t *incident;
    const lk_alert_t *alerts; /* the incident's first alerts (may be 0) */
    size_t alert_count;
    const lk_channel_t *channel;
    const lk_user_t *user;  /* the target user, NULL when the channel itself is the target */
    const char *public_url; /* base of links, NULL = none */
    int64_t now_ms;
} payload_input_t;

/* A request body with its extra headers (and, for email, its envelope recipients). */
typedef struct {
    char *body; /* NUL-terminated; body_size excludes the NUL */
    size_t body_size;
    const char *content_type;           /* static */
    char *headers[PAYLOAD_HEADERS_MAX]; /* "Name: value", malloc'd */
    size_t header_count;
    char *rcpt[PAYLOAD_RCPT_MAX]; /* email / sms recipients, malloc'd */
    size_t rcpt_count;
} payload_t;

/* Builds the payload of input's channel type into out (initialised here). Returns 0, or -1
   with a reason in err (missing recipient, OOM); out is then empty. */
int payload_build(const payload_input_t *input, payload_t *out, char *err, size_t err_size);
void payload_clear(payload_t *payload);

/* Copies text cut to at most max_chars characters (UTF-8 code points; a cut ends in "…",
   which counts). Invalid UTF-8 bytes become U+FFFD. Returns a malloc'd string or NULL on
   OOM. */
char *payload_truncate(const char *text, size_t max_chars);
/* Number of UTF-8 characters in text (invalid bytes count one each). */
size_t payload_char_count(const char *text);

/* The labels every alert shares, plus the incident's group labels (which win). */
int payload_common_labels(const lk_incident_t *incident, const lk_alert_t *alerts, size_t count,
                          lk_labels_t *out);

/* The webhook signature header value "v1=<hex>" of body at timestamp_s. */
int payload_webhook_signature(const char *secret, int64_t timestamp_s, const char *body,
                              size_t body_size, char *out, size_t out_size);

#endif
