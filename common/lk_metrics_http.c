/*  lk_metrics_http — /metrics and /healthz on a process's own port (see lk_metrics_http.h). */
#include "lk_metrics_http.h"

#include <ctype.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lk_env.h"
#include "lk_log.h"
#include "lk_metrics.h"

/* A scraper or probe that stalls is cut after this. */
#define S_CONNECTION_TIMEOUT_S 10
/* Concurrent connections: Prometheus, a probe or two, a curious operator. */
#define S_CONNECTION_LIMIT 32

struct lk_metrics_http_t {
    struct MHD_Daemon *daemon;
    int port;
    char program[64];
    atomic_bool ready;
};

static const struct {
    const char *program;
    int port;
} s_default_ports[] = {
    {"lookout-store", 18021},  {"lookout-escalate", 18022},  {"lookout-publish", 18023},
    {"lookout-rules", 18024},  {"lookout-correlate", 18030}, {"lookout-ingest", 18040},
    {"lookout-notify", 18050},
};

int lk_metrics_http_default_port(const char *program)
{
    for (size_t i = 0; program && i < sizeof s_default_ports / sizeof *s_default_ports; i++)
        if (strcmp(s_default_ports[i].program, program) == 0)
            return s_default_ports[i].port;
    return 0;
}

/* Queues a complete response with a copied body. */
static enum MHD_Result s_answer(struct MHD_Connection *connection, unsigned int status,
                                const char *content_type, const char *body, size_t size)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(size, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!response)
        return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result result = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return result;
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *connection, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **con_cls)
{
    lk_metrics_http_t *self = cls;
    /* the first call carries only the headers: answer on the second, when any body (which
       no path here takes) has been read */
    if (!*con_cls) {
        *con_cls = self;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    bool get =
        strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    const char *json = "application/json; charset=utf-8";
    if (strcmp(url, "/metrics") == 0 && get) {
        size_t size = 0;
        char *text = lk_metrics_render(&size);
        if (!text)
            return s_answer(connection, 500, json, "{\"error\":\"out of memory\"}", 25);
        struct MHD_Response *response =
            MHD_create_response_from_buffer(size, text, MHD_RESPMEM_MUST_FREE);
        if (!response) {
            free(text);
            return MHD_NO;
        }
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "text/plain; version=0.0.4; charset=utf-8");
        MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        enum MHD_Result result = MHD_queue_response(connection, 200, response);
        MHD_destroy_response(response);
        return result;
    }
    if (strcmp(url, "/healthz") == 0 && get) {
        bool ready = atomic_load(&self->ready);
        char body[160];
        int length = snprintf(body, sizeof body, "{\"status\":\"%s\",\"program\":\"%s\"}",
                              ready ? "ok" : "starting", self->program);
        return s_answer(connection, ready ? 200 : 503, json, body, (size_t)length);
    }
    if (strcmp(url, "/metrics") == 0 || strcmp(url, "/healthz") == 0)
        return s_answer(connection, 405, json, "{\"error\":\"method not allowed\"}", 30);
    return s_answer(connection, 404, json, "{\"error\":\"not found\"}", 21);
}

static void s_mhd_log(void *cls, const char *fmt, va_list args)
{
    char line[512];
    vsnprintf(line, sizeof line, fmt, args);
    size_t length = strlen(line);
    while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r'))
        line[--length] = '\0';
    lk_warn("metrics: http server: %s", line);
}

lk_metrics_http_t *lk_metrics_http_new(const char *program, const char *address, int port)
{
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", port);
    struct addrinfo hints, *resolved = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int rc = getaddrinfo(address, port_text, &hints, &resolved);
    if (rc != 0 || !resolved) {
        lk_error("metrics: cannot resolve address %s: %s", address ? address : "(null)",
                 gai_strerror(rc));
        return NULL;
    }
    lk_metrics_http_t *self = calloc(1, sizeof *self);
    if (!self) {
        freeaddrinfo(resolved);
        return NULL;
    }
    snprintf(self->program, sizeof self->program, "%s", program ? program : "");
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES)
        flags |= MHD_USE_POLL;
    if (resolved->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* One option per line. */
    /* clang-format off */
    self->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, s_access, self,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, self,
        MHD_OPTION_SOCK_ADDR, resolved->ai_addr,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)S_CONNECTION_TIMEOUT_S,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)S_CONNECTION_LIMIT,
        MHD_OPTION_END);
    /* clang-format on */
    freeaddrinfo(resolved);
    if (!self->daemon) {
        lk_error("metrics: cannot listen on %s port %d; this process has no metrics endpoint",
                 address, port);
        free(self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info && info->port ? (int)info->port : port;
    return self;
}

void lk_metrics_http_destroy(lk_metrics_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lk_metrics_http_t *self = *self_p;
    MHD_stop_daemon(self->daemon);
    free(self);
    *self_p = NULL;
}

int lk_metrics_http_port(const lk_metrics_http_t *self)
{
    return self->port;
}

void lk_metrics_http_set_ready(lk_metrics_http_t *self, bool ready)
{
    if (self)
        atomic_store(&self->ready, ready);
}

/* "lookout-escalate" + "_METRICS_PORT" → "LOOKOUT_ESCALATE_METRICS_PORT". */
static void s_variable(const char *program, const char *suffix, char *buf, size_t buf_size)
{
    const char *name = strncmp(program, "lookout-", 8) == 0 ? program + 8 : program;
    size_t used = (size_t)snprintf(buf, buf_size, "LOOKOUT_");
    for (const char *c = name; *c && used + 1 < buf_size; c++)
        buf[used++] = isalnum((unsigned char)*c) ? (char)toupper((unsigned char)*c) : '_';
    buf[used] = '\0';
    snprintf(buf + used, buf_size - used, "%s", suffix);
}

lk_metrics_http_t *lk_metrics_http_start(const char *program)
{
    lk_metrics_process_init(program);
    char port_variable[96], address_variable[96];
    s_variable(program, "_METRICS_PORT", port_variable, sizeof port_variable);
    s_variable(program, "_METRICS_ADDRESS", address_variable, sizeof address_variable);
    int64_t base = lk_env_int(port_variable, lk_metrics_http_default_port(program), 0, 65535);
    int64_t offset = lk_env_int("LOOKOUT_PROCESS_NUM", 0, 0, 65535);
    const char *address = lk_env_str(address_variable, "127.0.0.1");
    if (base == 0)
        return NULL;
    if (base + offset > 65535)
        lk_fatal("%s (%lld) + LOOKOUT_PROCESS_NUM (%lld) is past the last port", port_variable,
                 (long long)base, (long long)offset);
    lk_metrics_http_t *self = lk_metrics_http_new(program, address, (int)(base + offset));
    if (self)
        lk_info("metrics: serving /metrics and /healthz on %s port %d", address, self->port);
    return self;
}
