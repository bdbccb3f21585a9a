/*  fuzz_url_guard — the outbound-URL guard of lookout-notify (url_guard_parse and the
    address checks), the line between a configuration file and server-side request forgery.

    First byte: bit 0 picks the channel kind (web or mail), bit 1 allow_private. A URL that
    parses must give a known scheme, a port in 1..65535 and a non-empty host without
    characters a resolver or libcurl would read differently; a literal host must get the
    same verdict from both address checks; the error never quotes the URL.
*/
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>

#include "fuzz.h"
#include "url_guard.h"

/* True when host holds only what a DNS name or an IP literal may: letters, digits, '-',
   '.', ':' (IPv6) and '_' (seen in real names). */
static bool s_host_plain(const char *host)
{
    for (const char *c = host; *c; c++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' ||
                  *c == ':' || *c == '_';
        if (!ok)
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    if (size < 1)
        return 0;
    url_guard_kind_t kind = (data[0] & 1) ? URL_GUARD_MAIL : URL_GUARD_WEB;
    bool allow_private = (data[0] & 2) != 0;
    char *url = fuzz_cstring(data + 1, size - 1);
    if (!url)
        return 0;
    url_parts_t parts;
    char err[256] = "";
    if (url_guard_parse(url, kind, &parts, err, sizeof err) == 0) {
        static const char *const web[] = {"http", "https"};
        static const char *const mail[] = {"smtp", "smtps"};
        const char *const *schemes = kind == URL_GUARD_WEB ? web : mail;
        FUZZ_CHECK(strcmp(parts.scheme, schemes[0]) == 0 || strcmp(parts.scheme, schemes[1]) == 0);
        FUZZ_CHECK(parts.port >= 1 && parts.port <= 65535);
        FUZZ_CHECK(parts.host[0] != '\0' && memchr(parts.host, '\0', sizeof parts.host));
        FUZZ_CHECK(s_host_plain(parts.host));
        if (parts.literal) {
            bool by_text = url_guard_ip_allowed(parts.host, allow_private);
            struct sockaddr_storage address;
            memset(&address, 0, sizeof address);
            struct sockaddr_in *v4 = (struct sockaddr_in *)&address;
            struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&address;
            if (inet_pton(AF_INET, parts.host, &v4->sin_addr) == 1)
                v4->sin_family = AF_INET;
            else if (inet_pton(AF_INET6, parts.host, &v6->sin6_addr) == 1)
                v6->sin6_family = AF_INET6;
            FUZZ_CHECK(address.ss_family != 0);
            FUZZ_CHECK(by_text ==
                       url_guard_address_allowed((struct sockaddr *)&address, allow_private));
        }
    } else {
        FUZZ_CHECK(err[0] != '\0');
        /* the reason must not quote the URL: it may hold a credential */
        if (size - 1 >= 8 && strlen(url) >= 8)
            FUZZ_CHECK(!strstr(err, url));
    }
    /* the text check on arbitrary input, as configuration files reach it */
    (void)url_guard_ip_allowed(url, allow_private);
    free(url);
    return 0;
}
