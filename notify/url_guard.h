/*  url_guard — checks every outbound URL before lookout-notify connects to it.

    Notification URLs come from configuration files, which the people who edit them do not
    always own, and webhook receivers are exactly what server-side request forgery aims for.
    So a delivery URL must:
      - be plain ASCII without blanks, control characters, backslashes or credentials
        (user@host), with a scheme the channel allows: http/https, or smtp/smtps for email;
      - name a host that resolves to at least one public address. Loopback, private (RFC
        1918, CGNAT, unique-local), link-local and reserved addresses are refused unless
        notify_settings.allow_private_destinations is true (tests, labs); unspecified,
        multicast and broadcast addresses are refused always.
    The caller then pins the checked address (CURLOPT_RESOLVE), disables redirects and
    proxies, and re-checks the address of the socket it opens, so a DNS answer that changes
    between the check and the connection (DNS rebinding) cannot reach anything else.

    url_guard_parse and url_guard_address_allowed are pure (a fuzz target's entry points);
    url_guard_resolve adds the DNS lookup.
*/
#ifndef NOTIFY_URL_GUARD_H
#define NOTIFY_URL_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define URL_GUARD_MAX      2048 /* bytes of a URL */
#define URL_GUARD_HOST_MAX 253

typedef enum { URL_GUARD_WEB = 0, URL_GUARD_MAIL } url_guard_kind_t;

typedef struct {
    char scheme[8];                    /* lower case: http, https, smtp, smtps */
    char host[URL_GUARD_HOST_MAX + 1]; /* lower case, without IPv6 brackets */
    int port;                          /* explicit or the scheme's default */
    bool literal;                      /* host is an IP address */
} url_parts_t;

/* Parses url for a channel of kind. Returns 0 with parts filled, or -1 with a reason in err
   (never quoting the URL, which may hold a credential such as a Slack webhook token). */
int url_guard_parse(const char *url, url_guard_kind_t kind, url_parts_t *parts, char *err,
                    size_t err_size);

/* True when a connection to address is allowed (see above). */
bool url_guard_address_allowed(const struct sockaddr *address, bool allow_private);

/* The same for a numeric address text ("10.0.0.1", "::1"); false when not an address. */
bool url_guard_ip_allowed(const char *text, bool allow_private);

/* Resolves parts->host and writes the CURLOPT_RESOLVE entry "host:port:address" of the
   first allowed address into resolve (at least 320 bytes), and that address in numeric
   form into address. Returns 0, or -1 with a reason in err (refused address or DNS
   failure). */
int url_guard_resolve(const url_parts_t *parts, bool allow_private, char *resolve,
                      size_t resolve_size, char *address, size_t address_size, char *err,
                      size_t err_size);

#endif
