/*  url_guard — outbound URL and address checks (see url_guard.h). */
#include "url_guard.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- parsing --------------------------------------------------------------------------- */

static int s_reject(char *err, size_t err_size, const char *reason)
{
    snprintf(err, err_size, "%s", reason);
    return -1;
}

/*  A DNS name: labels of letters, digits and '-', 1..63 bytes, not starting or ending
    with '-'; an optional final dot. */
static bool s_hostname_valid(const char *host)
{
    size_t length = strlen(host);
    if (length == 0 || length > URL_GUARD_HOST_MAX)
        return false;
    size_t label = 0;
    char previous = '.';
    for (const char *c = host; *c; c++) {
        if (*c == '.') {
            if (label == 0 || previous == '-')
                return false;
            label = 0;
        } else {
            if (!(isalnum((unsigned char)*c) || *c == '-') || (label == 0 && *c == '-'))
                return false;
            if (++label > 63)
                return false;
        }
        previous = *c;
    }
    return previous != '-';
}

int url_guard_parse(const char *url, url_guard_kind_t kind, url_parts_t *parts, char *err,
                    size_t err_size)
{
    memset(parts, 0, sizeof *parts);
    if (!url)
        return s_reject(err, err_size, "no URL");
    size_t length = strlen(url);
    if (length == 0 || length > URL_GUARD_MAX)
        return s_reject(err, err_size, "URL empty or too long");
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f || *c == '\\')
            return s_reject(err, err_size,
                            "URL holds a blank, control, backslash or non-ASCII character");

    const char *separator = strstr(url, "://");
    size_t scheme_length = separator ? (size_t)(separator - url) : 0;
    if (!separator || scheme_length == 0 || scheme_length >= sizeof parts->scheme)
        return s_reject(err, err_size, "URL has no scheme");
    for (size_t i = 0; i < scheme_length; i++)
        parts->scheme[i] = (char)tolower((unsigned char)url[i]);
    parts->scheme[scheme_length] = '\0';
    static const struct {
        const char *name;
        url_guard_kind_t kind;
        int port;
    } schemes[] = {
        {"http", URL_GUARD_WEB, 80},
        {"https", URL_GUARD_WEB, 443},
        {"smtp", URL_GUARD_MAIL, 25},
        {"smtps", URL_GUARD_MAIL, 465},
    };
    int default_port = 0;
    for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++)
        if (strcmp(parts->scheme, schemes[i].name) == 0 && schemes[i].kind == kind)
            default_port = schemes[i].port;
    if (!default_port)
        return s_reject(err, err_size,
                        kind == URL_GUARD_WEB ? "scheme not allowed (http or https only)"
                                              : "scheme not allowed (smtp or smtps only)");

    const char *authority = separator + 3;
    size_t authority_length = strcspn(authority, "/?#");
    if (authority_length == 0)
        return s_reject(err, err_size, "URL has no host");
    if (memchr(authority, '@', authority_length))
        return s_reject(err, err_size, "credentials in URLs are not allowed");

    const char *host = authority;
    size_t host_length;
    const char *after_host;
    if (*host == '[') {
        const char *close = memchr(host, ']', authority_length);
        if (!close)
            return s_reject(err, err_size, "unterminated IPv6 address");
        host++;
        host_length = (size_t)(close - host);
        after_host = close + 1;
        parts->literal = true;
    } else {
        const char *colon = memchr(host, ':', authority_length);
        host_length = colon ? (size_t)(colon - host) : authority_length;
        after_host = host + host_length;
    }
    if (host_length == 0 || host_length > URL_GUARD_HOST_MAX)
        return s_reject(err, err_size, "host empty or too long");
    for (size_t i = 0; i < host_length; i++)
        parts->host[i] = (char)tolower((unsigned char)host[i]);
    parts->host[host_length] = '\0';

    parts->port = default_port;
    const char *authority_end = authority + authority_length;
    if (after_host < authority_end) {
        if (*after_host != ':' || after_host + 1 == authority_end)
            return s_reject(err, err_size, "malformed port");
        long port = 0;
        for (const char *c = after_host + 1; c < authority_end; c++) {
            if (!isdigit((unsigned char)*c) || c - after_host > 5)
                return s_reject(err, err_size, "malformed port");
            port = port * 10 + (*c - '0');
        }
        if (port < 1 || port > 65535)
            return s_reject(err, err_size, "port out of range");
        parts->port = (int)port;
    }

    unsigned char probe[sizeof(struct in6_addr)];
    if (parts->literal) {
        if (inet_pton(AF_INET6, parts->host, probe) != 1)
            return s_reject(err, err_size, "malformed IPv6 address");
    } else if (inet_pton(AF_INET, parts->host, probe) == 1)
        parts->literal = true;
    else {
        /* a name that looks numeric but is not dotted-quad (e.g. "0x7f.1", "2130706433")
           is how address checks get bypassed: refuse it */
        bool numeric = true;
        for (const char *c = parts->host; *c && numeric; c++)
            numeric = isdigit((unsigned char)*c) || *c == '.' || *c == 'x';
        const char *last_dot = strrchr(parts->host, '.');
        bool numeric_tld = last_dot && isdigit((unsigned char)last_dot[1]);
        if (numeric || numeric_tld || !s_hostname_valid(parts->host))
            return s_reject(err, err_size, "malformed host name");
    }
    return 0;
}

/* ---- addresses ------------------------------------------------------------------------- */

/*  IPv4 address (host byte order): 1 = allowed, 0 = private-like (allowed only when the
    configuration says so), -1 = never. */
static int s_ipv4_class(uint32_t address)
{
    uint8_t a = address >> 24, b = (address >> 16) & 0xff, c = (address >> 8) & 0xff;
    if (a == 0 || a >= 224)
        return -1; /* "this network", multicast, reserved, broadcast */
    if (a == 127 || a == 10 || (a == 172 && (b & 0xf0) == 16) || (a == 192 && b == 168) ||
        (a == 169 && b == 254) || (a == 100 && (b & 0xc0) == 64) ||
        (a == 192 && b == 0 && c == 0) || (a == 192 && b == 0 && c == 2) ||
        (a == 198 && (b & 0xfe) == 18) || (a == 198 && b == 51 && c == 100) ||
        (a == 203 && b == 0 && c == 113))
        return 0; /* loopback, RFC 1918, link-local, CGNAT, IETF, documentation, benchmark */
    return 1;
}

static int s_ipv6_class(const unsigned char *bytes)
{
    static const unsigned char zero[16] = {0};
    static const unsigned char loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (memcmp(bytes, zero, 16) == 0)
        return -1;
    if (memcmp(bytes, loopback, 16) == 0)
        return 0;
    uint32_t embedded = (uint32_t)bytes[12] << 24 | (uint32_t)bytes[13] << 16 |
                        (uint32_t)bytes[14] << 8 | bytes[15];
    if (memcmp(bytes, mapped, 12) == 0 || memcmp(bytes, nat64, 12) == 0)
        return s_ipv4_class(embedded); /* the IPv4 address it stands for */
    if (memcmp(bytes, zero, 12) == 0)
        return 0;                             /* deprecated IPv4-compatible ::a.b.c.d */
    if (bytes[0] == 0x20 && bytes[1] == 0x02) /* 6to4: 2002:AABB:CCDD:: */
        return s_ipv4_class((uint32_t)bytes[2] << 24 | (uint32_t)bytes[3] << 16 |
                            (uint32_t)bytes[4] << 8 | bytes[5]);
    if (bytes[0] == 0xff)
        return -1; /* multicast */
    if ((bytes[0] & 0xfe) == 0xfc || (bytes[0] == 0xfe && (bytes[1] & 0x80) == 0x80))
        return 0; /* unique-local fc00::/7, link-local fe80::/10, site-local fec0::/10 */
    if (bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0d && bytes[3] == 0xb8)
        return 0; /* documentation 2001:db8::/32 */
    if (bytes[0] == 0x01 && bytes[1] == 0 && memcmp(bytes + 2, zero, 6) == 0)
        return 0; /* discard-only 100::/64 */
    return 1;
}

bool url_guard_address_allowed(const struct sockaddr *address, bool allow_private)
{
    int class;
    if (!address)
        return false;
    if (address->sa_family == AF_INET)
        class = s_ipv4_class(ntohl(((const struct sockaddr_in *)address)->sin_addr.s_addr));
    else if (address->sa_family == AF_INET6)
        class = s_ipv6_class(((const struct sockaddr_in6 *)address)->sin6_addr.s6_addr);
    else
        return false;
    return class == 1 || (class == 0 && allow_private);
}

bool url_guard_ip_allowed(const char *text, bool allow_private)
{
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    if (text && inet_pton(AF_INET, text, &v4.sin_addr) == 1)
        return url_guard_address_allowed((struct sockaddr *)&v4, allow_private);
    if (text && inet_pton(AF_INET6, text, &v6.sin6_addr) == 1)
        return url_guard_address_allowed((struct sockaddr *)&v6, allow_private);
    return false;
}

/* ---- resolution ------------------------------------------------------------------------ */

int url_guard_resolve(const url_parts_t *parts, bool allow_private, char *resolve,
                      size_t resolve_size, char *address, size_t address_size, char *err,
                      size_t err_size)
{
    char port[8];
    snprintf(port, sizeof port, "%d", parts->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    if (parts->literal)
        hints.ai_flags = AI_NUMERICHOST;
    struct addrinfo *found = NULL;
    int rc = getaddrinfo(parts->host, port, &hints, &found);
    if (rc != 0) {
        snprintf(err, err_size, "cannot resolve %s: %s", parts->host, gai_strerror(rc));
        return -1;
    }
    int result = -1;
    snprintf(err, err_size,
             "%s resolves only to refused addresses (private, loopback, "
             "link-local or reserved; see allow_private_destinations)",
             parts->host);
    for (struct addrinfo *entry = found; entry; entry = entry->ai_next) {
        if (!url_guard_address_allowed(entry->ai_addr, allow_private))
            continue;
        char numeric[INET6_ADDRSTRLEN];
        const void *raw = entry->ai_family == AF_INET
                              ? (const void *)&((struct sockaddr_in *)entry->ai_addr)->sin_addr
                              : (const void *)&((struct sockaddr_in6 *)entry->ai_addr)->sin6_addr;
        if (!inet_ntop(entry->ai_family, raw, numeric, sizeof numeric))
            continue;
        snprintf(address, address_size, "%s", numeric);
        if (entry->ai_family == AF_INET6)
            snprintf(resolve, resolve_size, "%s:%d:[%s]", parts->host, parts->port, numeric);
        else
            snprintf(resolve, resolve_size, "%s:%d:%s", parts->host, parts->port, numeric);
        result = 0;
        break;
    }
    freeaddrinfo(found);
    return result;
}
