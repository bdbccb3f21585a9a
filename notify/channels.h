/*  channels — one delivery attempt of a payload over libcurl, behind the URL guard.

    HTTP channels POST the payload; email speaks SMTP (smtp:// with STARTTLS required unless
    tls: none, or smtps://) with the payload as the message; SMS posts one Twilio form per
    recipient with basic auth (account SID, auth token). Every attempt:
      - checks the channel URL and pins the address it resolved to (url_guard.h), refuses
        any other address at connect time, follows no redirect and uses no proxy;
      - is bounded by the channel's timeout (notify_settings.timeout by default);
      - keeps the response status, its Retry-After header and the start of its body (for
        the error text), never the URL or any secret.
    A channels_t keeps one curl handle, so connections to the same receiver are reused.
    Not thread-safe: one per worker thread.
*/
#ifndef NOTIFY_CHANNELS_H
#define NOTIFY_CHANNELS_H

#include <stdbool.h>
#include <stdint.h>

#include "lk_config.h"
#include "payload.h"

typedef enum {
    CHANNEL_RESPONSE = 0, /* the receiver answered: see status */
    CHANNEL_TRANSPORT,    /* no answer (DNS, connect, TLS, timeout): worth retrying */
    CHANNEL_REFUSED,      /* the URL or its address is not allowed: never retried */
} channel_result_t;

typedef struct {
    long status;          /* HTTP status, or the last SMTP reply code */
    char retry_after[64]; /* the Retry-After header, "" when none */
    char error[256];      /* why it failed, for the notification's error column */
} channel_response_t;

typedef struct channels_t channels_t;

channels_t *channels_new(void);
void channels_destroy(channels_t **self_p);

/* Sends payload over channel. Returns what happened; response is filled in every case. For
   email the status is 250 on success; an SMTP refusal (5xx) is CHANNEL_RESPONSE with that
   code, anything else that did not end in 250 is CHANNEL_TRANSPORT. */
channel_result_t channels_send(channels_t *self, const lk_channel_t *channel,
                               const payload_t *payload, const lk_notify_settings_t *settings,
                               channel_response_t *response);

#endif
