/*  channels — libcurl transport for the notification channels (see channels.h). */
#include "channels.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lk_log.h"
#include "url_guard.h"

#define S_ERROR_BODY_MAX 160 /* bytes of a refusal's body kept for the error text */

struct channels_t {
    CURL *curl;
};

/* What one attempt collects from curl's callbacks. */
typedef struct {
    channel_response_t *response;
    char body[S_ERROR_BODY_MAX + 1];
    size_t body_length;
    bool allow_private;
    /* the upload (SMTP message) */
    const char *upload;
    size_t upload_size;
    size_t upload_offset;
} s_attempt_t;

channels_t *channels_new(void)
{
    static bool initialised = false;
    if (!initialised) {
        curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread uses curl */
        initialised = true;
    }
    channels_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->curl = curl_easy_init();
    if (!self->curl) {
        free(self);
        return NULL;
    }
    return self;
}

void channels_destroy(channels_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curl_easy_cleanup((*self_p)->curl);
    free(*self_p);
    *self_p = NULL;
}

/*  Keeps the start of the body; the rest is read and dropped. */
static size_t s_on_body(char *data, size_t size, size_t count, void *user)
{
    s_attempt_t *attempt = user;
    size_t bytes = size * count;
    size_t room = S_ERROR_BODY_MAX - attempt->body_length;
    size_t keep = bytes < room ? bytes : room;
    memcpy(attempt->body + attempt->body_length, data, keep);
    attempt->body_length += keep;
    attempt->body[attempt->body_length] = '\0';
    return bytes;
}

/*  Picks Retry-After out of the response headers (the last response's, after 100s). */
static size_t s_on_header(char *data, size_t size, size_t count, void *user)
{
    s_attempt_t *attempt = user;
    size_t bytes = size * count;
    static const char name[] = "retry-after:";
    if (bytes > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        size_t length = bytes - (sizeof name - 1);
        const char *value = data + sizeof name - 1;
        while (length && (*value == ' ' || *value == '\t')) {
            value++;
            length--;
        }
        while (length &&
               (value[length - 1] == '\r' || value[length - 1] == '\n' || value[length - 1] == ' '))
            length--;
        if (length < sizeof attempt->response->retry_after) {
            memcpy(attempt->response->retry_after, value, length);
            attempt->response->retry_after[length] = '\0';
        }
    } else if (bytes >= 5 && strncmp(data, "HTTP/", 5) == 0)
        attempt->response->retry_after[0] = '\0'; /* a new response starts */
    return bytes;
}

/*  The guard at connect time: whatever address curl is about to connect to must be
    allowed (the pinned one is; anything else means something changed under us). */
static curl_socket_t s_on_open_socket(void *user, curlsocktype purpose,
                                      struct curl_sockaddr *address)
{
    s_attempt_t *attempt = user;
    if (purpose != CURLSOCKTYPE_IPCXN ||
        !url_guard_address_allowed(&address->addr, attempt->allow_private)) {
        snprintf(attempt->response->error, sizeof attempt->response->error,
                 "refused to connect to a disallowed address");
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype, address->protocol);
}

static size_t s_on_upload(char *buffer, size_t size, size_t count, void *user)
{
    s_attempt_t *attempt = user;
    size_t room = size * count;
    size_t left = attempt->upload_size - attempt->upload_offset;
    size_t bytes = left < room ? left : room;
    memcpy(buffer, attempt->upload + attempt->upload_offset, bytes);
    attempt->upload_offset += bytes;
    return bytes;
}

/*  Options every attempt shares: guard, no redirects, no proxy, timeouts, callbacks. */
static channel_result_t s_prepare(CURL *curl, const lk_channel_t *channel,
                                  const lk_notify_settings_t *settings, s_attempt_t *attempt,
                                  struct curl_slist **resolve)
{
    bool mail = channel->type == LK_CHANNEL_EMAIL;
    url_parts_t parts;
    char reason[160];
    if (url_guard_parse(channel->url, mail ? URL_GUARD_MAIL : URL_GUARD_WEB, &parts, reason,
                        sizeof reason) != 0) {
        snprintf(attempt->response->error, sizeof attempt->response->error,
                 "channel %s: URL refused: %s", channel->name, reason);
        return CHANNEL_REFUSED;
    }
    char entry[URL_GUARD_HOST_MAX + 80], address[64];
    if (url_guard_resolve(&parts, settings->allow_private_destinations, entry, sizeof entry,
                          address, sizeof address, reason, sizeof reason) != 0) {
        snprintf(attempt->response->error, sizeof attempt->response->error, "channel %s: %s",
                 channel->name, reason);
        /* a name that does not resolve may come back; a refused address will not */
        return strstr(reason, "cannot resolve") ? CHANNEL_TRANSPORT : CHANNEL_REFUSED;
    }
    if (!parts.literal) {
        *resolve = curl_slist_append(NULL, entry);
        if (!*resolve) {
            snprintf(attempt->response->error, sizeof attempt->response->error, "out of memory");
            return CHANNEL_TRANSPORT;
        }
        curl_easy_setopt(curl, CURLOPT_RESOLVE, *resolve);
    }
    attempt->allow_private = settings->allow_private_destinations;
    int64_t timeout_ms = channel->timeout_ms ? channel->timeout_ms : settings->timeout_ms;
    curl_easy_setopt(curl, CURLOPT_URL, channel->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, mail ? "smtp,smtps" : "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, mail ? "smtp,smtps" : "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(timeout_ms < 5000 ? timeout_ms : 5000));
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "Lookout/1 (+notifications)");
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, s_on_open_socket);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, attempt);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, attempt);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, attempt);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, channel->verify_tls ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, channel->verify_tls ? 2L : 0L);
    return CHANNEL_RESPONSE;
}

/*  Runs the prepared request and fills the response. */
static channel_result_t s_perform(CURL *curl, const lk_channel_t *channel, s_attempt_t *attempt)
{
    char curl_error[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
    CURLcode code = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
    channel_response_t *response = attempt->response;
    response->status = status;
    bool mail = channel->type == LK_CHANNEL_EMAIL;
    if (code == CURLE_OK) {
        if (mail)
            return CHANNEL_RESPONSE;
        if (status < 200 || status > 299) {
            /* the receiver's words, printable, cut short: they help whoever reads the row */
            for (size_t i = 0; i < attempt->body_length; i++)
                if ((unsigned char)attempt->body[i] < 0x20 || attempt->body[i] == 0x7f)
                    attempt->body[i] = ' ';
            snprintf(response->error, sizeof response->error, "HTTP %ld: %s", status,
                     attempt->body);
        }
        return CHANNEL_RESPONSE;
    }
    if (!response->error[0])
        snprintf(response->error, sizeof response->error, "%s",
                 curl_error[0] ? curl_error : curl_easy_strerror(code));
    if (mail && status >= 500 && status <= 599)
        return CHANNEL_RESPONSE; /* the SMTP server refused for good */
    if (mail && code == CURLE_LOGIN_DENIED) {
        response->status = status ? status : 535;
        return CHANNEL_RESPONSE;
    }
    response->status = 0;
    return CHANNEL_TRANSPORT;
}

static channel_result_t s_send_http(CURL *curl, const lk_channel_t *channel,
                                    const payload_t *payload, const char *body, size_t body_size,
                                    s_attempt_t *attempt)
{
    struct curl_slist *headers = NULL;
    char content_type[96];
    snprintf(content_type, sizeof content_type, "Content-Type: %s", payload->content_type);
    headers = curl_slist_append(headers, content_type);
    headers = curl_slist_append(headers, "Expect:");
    for (size_t i = 0; headers && i < payload->header_count; i++)
        headers = curl_slist_append(headers, payload->headers[i]);
    if (!headers) {
        snprintf(attempt->response->error, sizeof attempt->response->error, "out of memory");
        return CHANNEL_TRANSPORT;
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_size);
    if (channel->type == LK_CHANNEL_SMS && channel->username && channel->secret) {
        curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(curl, CURLOPT_USERNAME, channel->username);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, channel->secret);
    }
    channel_result_t result = s_perform(curl, channel, attempt);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    return result;
}

static channel_result_t s_send_mail(CURL *curl, const lk_channel_t *channel,
                                    const payload_t *payload, s_attempt_t *attempt)
{
    struct curl_slist *recipients = NULL;
    for (size_t i = 0; i < payload->rcpt_count; i++) {
        char angle[400];
        snprintf(angle, sizeof angle, "<%s>", payload->rcpt[i]);
        recipients = curl_slist_append(recipients, angle);
    }
    char from[400];
    snprintf(from, sizeof from, "<%s>", channel->from ? channel->from : "");
    if (!recipients) {
        snprintf(attempt->response->error, sizeof attempt->response->error, "no recipient");
        return CHANNEL_REFUSED;
    }
    attempt->upload = payload->body;
    attempt->upload_size = payload->body_size;
    attempt->upload_offset = 0;
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, s_on_upload);
    curl_easy_setopt(curl, CURLOPT_READDATA, attempt);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)payload->body_size);
    curl_easy_setopt(curl, CURLOPT_USE_SSL,
                     channel->tls == LK_TLS_NONE ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
    if (channel->username) {
        curl_easy_setopt(curl, CURLOPT_USERNAME, channel->username);
        if (channel->secret)
            curl_easy_setopt(curl, CURLOPT_PASSWORD, channel->secret);
    }
    channel_result_t result = s_perform(curl, channel, attempt);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, NULL);
    curl_slist_free_all(recipients);
    return result;
}

channel_result_t channels_send(channels_t *self, const lk_channel_t *channel,
                               const payload_t *payload, const lk_notify_settings_t *settings,
                               channel_response_t *response)
{
    memset(response, 0, sizeof *response);
    s_attempt_t attempt = {.response = response};
    curl_easy_reset(self->curl);
    struct curl_slist *resolve = NULL;
    channel_result_t result = s_prepare(self->curl, channel, settings, &attempt, &resolve);
    if (result == CHANNEL_RESPONSE) {
        if (channel->type == LK_CHANNEL_EMAIL)
            result = s_send_mail(self->curl, channel, payload, &attempt);
        else if (channel->type == LK_CHANNEL_SMS) {
            /* one message per recipient; the first refusal or failure ends the attempt */
            for (size_t i = 0; i < payload->rcpt_count && result == CHANNEL_RESPONSE; i++) {
                char *to = curl_easy_escape(self->curl, payload->rcpt[i], 0);
                size_t size = (to ? strlen(to) : 0) + payload->body_size + 8;
                char *form = to ? malloc(size) : NULL;
                if (!form) {
                    curl_free(to);
                    snprintf(response->error, sizeof response->error, "out of memory");
                    result = CHANNEL_TRANSPORT;
                    break;
                }
                int length = snprintf(form, size, "To=%s&%s", to, payload->body);
                curl_free(to);
                attempt.body_length = 0;
                result = s_send_http(self->curl, channel, payload, form, (size_t)length, &attempt);
                free(form);
                if (result == CHANNEL_RESPONSE &&
                    (response->status < 200 || response->status > 299))
                    break;
            }
        } else
            result = s_send_http(self->curl, channel, payload, payload->body, payload->body_size,
                                 &attempt);
    }
    curl_easy_setopt(self->curl, CURLOPT_RESOLVE, NULL);
    curl_slist_free_all(resolve);
    return result;
}
