/*  loadgen — the HTTP load generator of Lookout's benchmarks (bench/run.sh).

    Posts Alertmanager API v2 alert batches (`POST /api/v2/alerts`, what Prometheus sends) over
    keep-alive connections from one epoll loop, so the same load can be aimed at Lookout and
    at Alertmanager. Prints one JSON object with what it measured.

        loadgen --url http://127.0.0.1:18013/api/v2/alerts -H 'Authorization: Bearer T'
                -H 'X-Tenant-ID: ...' --mode closed --scenario resend --duration 5

    Modes:
      closed  every connection sends its next request as soon as the previous one is
              answered: the maximum throughput (--duration seconds after --warmup seconds,
              or exactly --alerts alerts, e.g. to fill a server with 100,000 alerts).
      open    requests leave at a fixed offered rate (--rate requests/s) whatever the
              answers do; latency is measured from each request's INTENDED send time, so a
              server that stalls is charged for the requests that had to wait (no
              coordinated omission). A request due while every connection is busy waits
              in a backlog and is sent on the next free one. What is still unanswered or
              unsent --drain seconds after the last request was due is reported as
              "incomplete", its wait so far counted in the percentiles.
      e2e     open loop with one alert per request, each a new alert group whose name
              carries a marker; a built-in HTTP receiver (--receiver-port, standing in for
              Slack or an Alertmanager webhook receiver) and optionally a Kafka consumer
              (--kafka-brokers, --kafka-topic) record when the marker arrives: the latency
              from the POST to the notification.

    Scenarios (64 alerts per request by default, --batch):
      resend  re-sends of already firing alerts: each connection primes a pool of
              --pool alerts once, then sends them again and again (endsAt moves forward,
              as Prometheus does).
      new     every alert is one the server has never seen.
      mix     per request: 1/2 re-sends of firing alerts, 1/4 new alerts, 1/4 resolutions
              of alerts that fired earlier (each connection primes --lag new alerts first,
              so every resolution ends a firing alert).

    Alerts look like Prometheus's: labels alertname, instance, job, severity; annotations
    summary and description; startsAt, endsAt, generatorURL. Alerts of one connection share
    an alertname per --group-size alerts (one alert group, i.e. one incident / aggregation
    group, per that many alerts). --run-id keeps the label sets of different runs against
    the same server apart.
*/
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_CONNECTIONS   1024
#define S_MAX_HEADERS       16
#define S_REQUEST_TIMEOUT_S 30.0
#define S_TIME_SIZE         80 /* an RFC 3339 time, with room for any year */

typedef enum { S_MODE_CLOSED, S_MODE_OPEN, S_MODE_E2E } s_mode_t;
typedef enum { S_SCENARIO_RESEND, S_SCENARIO_NEW, S_SCENARIO_MIX, S_SCENARIO_E2E } s_scenario_t;

/* What an epoll event points at. */
typedef enum { S_TAG_CLIENT, S_TAG_LISTENER, S_TAG_RECEIVER } s_tag_t;

typedef struct {
    s_mode_t mode;
    s_scenario_t scenario;
    char host[256];
    char port[16];
    char path[512];
    const char *headers[S_MAX_HEADERS];
    size_t header_count;
    int connections;
    double duration_s;
    double warmup_s;
    double rate;     /* open/e2e: requests per second */
    uint64_t alerts; /* closed: stop after this many alerts (0: use duration) */
    int batch;       /* alerts per request */
    int pool;        /* resend/mix: firing alerts per connection */
    int lag;         /* mix: new alerts primed per connection before resolutions start */
    int group_size;  /* alerts per alertname */
    char run_id[64]; /* keeps runs apart */
    int receiver_port;
    const char *kafka_brokers;
    const char *kafka_topic;
    double e2e_wait_s;     /* e2e: how long to wait for the last notifications */
    int64_t starts_at_ms;  /* startsAt of every alert (0: a minute before the start) */
    int64_t firing_for_ms; /* endsAt of a firing alert: now + this */
    double drain_s;        /* open/e2e: how long to wait for answers after the last send */
} s_options_t;

/* One alert generator per connection: which alert comes next in each role. */
typedef struct {
    int connection;
    uint64_t pool_next;    /* resend cursor into the pool */
    uint64_t new_next;     /* the next new alert's number */
    uint64_t resolve_next; /* mix: the next new alert to resolve */
    uint64_t prime_left;   /* prime requests still to send */
} s_gen_t;

/* Growable byte buffer. */
typedef struct {
    char *data;
    size_t size;
    size_t capacity;
} s_buf_t;

typedef enum { S_CONN_IDLE, S_CONN_BUSY, S_CONN_DEAD } s_conn_state_t;

typedef struct {
    s_tag_t tag;
    int fd;
    s_conn_state_t state;
    s_gen_t gen;
    s_buf_t out;
    size_t out_sent;
    s_buf_t in;
    double intended_ms; /* when the request should have left (open loop) */
    double sent_ms;     /* when it did leave */
    int alerts;         /* alerts in the request in flight */
    bool priming;       /* a prime request: not measured */
    int64_t e2e_index;  /* e2e: the marker number of the request in flight, or -1 */
    double retry_at_ms; /* a dead connection reconnects after this */
} s_conn_t;

typedef struct {
    s_tag_t tag;
    int fd;
    s_buf_t in;
} s_receiver_conn_t;

/* Latency samples in milliseconds. */
typedef struct {
    double *values;
    size_t count;
    size_t capacity;
} s_samples_t;

typedef struct {
    uint64_t sent; /* requests sent, warm-up included, priming not */
    uint64_t requests;
    uint64_t alerts;
    uint64_t errors; /* non-2xx answers and failed exchanges */
    uint64_t status_counts[600];
    uint64_t transport_errors;
    uint64_t incomplete; /* open loop: unanswered or unsent when the drain time ran out */
    s_samples_t latency;
} s_stats_t;

/* The e2e markers: when each alert left and when its notification arrived. */
typedef struct {
    int64_t count;
    double *sent_ms;     /* -1 until sent */
    double *answered_ms; /* HTTP answer */
    double *received_ms; /* the receiver got a request naming it; -1 until then */
    double *kafka_ms;    /* the Kafka consumer read a message naming it; -1 until then */
    pthread_mutex_t mutex;
    int64_t received;
    int64_t kafka_received;
    uint64_t receiver_requests;
} s_e2e_t;

static s_options_t s_opt;
static struct addrinfo *s_address;
static int s_epoll = -1;
static s_conn_t *s_conns;
static s_stats_t s_stats;
static s_e2e_t s_e2e;
static int64_t s_starts_at_ms; /* startsAt of every alert of the run */
static volatile sig_atomic_t s_interrupted;
static volatile int s_kafka_stop;

/* ---- small helpers ----------------------------------------------------------------------- */

static void s_die(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fprintf(stderr, "loadgen: ");
    vfprintf(stderr, format, args);
    fprintf(stderr, "\n");
    va_end(args);
    exit(2);
}

/* Monotonic time in milliseconds (fractional). */
static double s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* How long this thread has waited for a core so far, in ms: the kernel's run_delay
   (/proc/thread-self/schedstat, CONFIG_SCHED_INFO), or -1 where it is not there. A loop
   that waits to run sends its requests late, and their latency counts from when they were
   due: the bench reports it beside the servers' own waits. */
static double s_run_queue_ms(void)
{
    FILE *file = fopen("/proc/thread-self/schedstat", "r");
    if (!file)
        return -1;
    unsigned long long on_cpu_ns, waited_ns;
    int read = fscanf(file, "%llu %llu", &on_cpu_ns, &waited_ns);
    fclose(file);
    return read == 2 ? (double)waited_ns / 1e6 : -1;
}

/* Wall-clock milliseconds since the epoch. */
static int64_t s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes ms as RFC 3339 UTC with milliseconds into out (S_TIME_SIZE bytes). */
static void s_rfc3339(int64_t ms, char *out)
{
    time_t seconds = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&seconds, &tm);
    snprintf(out, S_TIME_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* Makes room for extra more bytes; dies on OOM (a load generator has no use limping). */
static void s_buf_reserve(s_buf_t *buf, size_t extra)
{
    if (buf->size + extra <= buf->capacity)
        return;
    size_t capacity = buf->capacity ? buf->capacity : 4096;
    while (capacity < buf->size + extra)
        capacity *= 2;
    buf->data = realloc(buf->data, capacity);
    if (!buf->data)
        s_die("out of memory");
    buf->capacity = capacity;
}

static void s_buf_append(s_buf_t *buf, const void *data, size_t size)
{
    s_buf_reserve(buf, size + 1);
    memcpy(buf->data + buf->size, data, size);
    buf->size += size;
    buf->data[buf->size] = '\0';
}

static void s_buf_printf(s_buf_t *buf, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int length = vsnprintf(NULL, 0, format, args);
    va_end(args);
    s_buf_reserve(buf, (size_t)length + 1);
    va_start(args, format);
    vsnprintf(buf->data + buf->size, (size_t)length + 1, format, args);
    va_end(args);
    buf->size += (size_t)length;
}

static void s_samples_add(s_samples_t *samples, double value)
{
    if (samples->count == samples->capacity) {
        samples->capacity = samples->capacity ? samples->capacity * 2 : 4096;
        samples->values = realloc(samples->values, samples->capacity * sizeof(double));
        if (!samples->values)
            s_die("out of memory");
    }
    samples->values[samples->count++] = value;
}

static int s_compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of sorted values, nearest rank; NAN when empty. */
static double s_quantile(const double *sorted, size_t count, double q)
{
    if (count == 0)
        return NAN;
    size_t rank = (size_t)ceil(q * (double)count);
    if (rank < 1)
        rank = 1;
    if (rank > count)
        rank = count;
    return sorted[rank - 1];
}

/* Prints "name": {"p50":..,"p90":..,"p99":..,"p999":..,"max":..,"count":..} (ms). */
static void s_print_percentiles(const char *name, double *values, size_t count, bool comma)
{
    qsort(values, count, sizeof(double), s_compare_doubles);
    if (count == 0)
        printf("  \"%s\": {\"count\": 0}%s\n", name, comma ? "," : "");
    else
        printf("  \"%s\": {\"count\": %zu, \"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, "
               "\"p999\": %.3f, \"max\": %.3f}%s\n",
               name, count, s_quantile(values, count, 0.5), s_quantile(values, count, 0.9),
               s_quantile(values, count, 0.99), s_quantile(values, count, 0.999), values[count - 1],
               comma ? "," : "");
}

/* ---- alert bodies ------------------------------------------------------------------------ */

/* Appends one alert. kind: 'p' pool, 'n' new, 'e' e2e marker; number identifies it within
   the connection and kind. resolved: endsAt now - 1 ms, else now + --firing-for. */
static void s_alert_json(s_buf_t *body, const s_gen_t *gen, char kind, uint64_t number,
                         bool resolved, const char *starts_at, const char *ends_at_firing,
                         const char *ends_at_resolved)
{
    char alertname[160];
    if (kind == 'e')
        snprintf(alertname, sizeof alertname, "E2E_%s_%" PRIu64 "_", s_opt.run_id, number);
    else
        snprintf(alertname, sizeof alertname, "Bench_%s_c%d%c%" PRIu64, s_opt.run_id,
                 gen->connection, kind, number / (uint64_t)s_opt.group_size);
    s_buf_printf(body,
                 "{\"labels\":{\"alertname\":\"%s\",\"instance\":\"%s-c%d-%c%" PRIu64
                 ".example.net:9100\",\"job\":\"node\",\"severity\":\"%s\",\"bench\":\"%s\"},"
                 "\"annotations\":{\"summary\":\"Instance %c%" PRIu64 " of connection %d is "
                 "degraded\",\"description\":\"Synthetic alert from bench/loadgen, run %s.\"},"
                 "\"startsAt\":\"%s\",\"endsAt\":\"%s\",\"generatorURL\":\"http://prometheus."
                 "example.net:9090/graph?g0.expr=up%%3D%%3D0&g0.tab=1\"}",
                 alertname, s_opt.run_id, gen->connection, kind, number,
                 kind == 'e' ? "critical" : "warning", kind == 'e' ? "e2e" : "load", kind, number,
                 gen->connection, s_opt.run_id, starts_at,
                 resolved ? ends_at_resolved : ends_at_firing);
}

/* Fills body with the connection's next request body; returns its alert count. Priming
   requests first send the pool (resend, mix) and the lag (mix). e2e_index: the e2e marker
   of this request (e2e scenario), else ignored. */
static int s_next_body(s_gen_t *gen, s_buf_t *body, bool priming, int64_t e2e_index)
{
    char starts_at[S_TIME_SIZE], firing[S_TIME_SIZE], resolved[S_TIME_SIZE];
    int64_t now_ms = s_wall_ms();
    s_rfc3339(s_starts_at_ms, starts_at);
    s_rfc3339(now_ms + s_opt.firing_for_ms, firing);
    s_rfc3339(now_ms - 1, resolved);
    body->size = 0;
    s_buf_append(body, "[", 1);
    int count = 0;
    const int batch = s_opt.batch;
#define S_SEP()                                                                                    \
    do {                                                                                           \
        if (count++)                                                                               \
            s_buf_append(body, ",", 1);                                                            \
    } while (0)
    if (s_opt.scenario == S_SCENARIO_E2E) {
        S_SEP();
        s_alert_json(body, gen, 'e', (uint64_t)e2e_index, false, starts_at, firing, resolved);
    } else if (priming) {
        /* the pool first, then (mix) the lag of new alerts */
        for (int i = 0; i < batch; i++) {
            S_SEP();
            if (gen->pool_next < (uint64_t)s_opt.pool)
                s_alert_json(body, gen, 'p', gen->pool_next++, false, starts_at, firing, resolved);
            else
                s_alert_json(body, gen, 'n', gen->new_next++, false, starts_at, firing, resolved);
        }
        if (gen->pool_next >= (uint64_t)s_opt.pool)
            gen->pool_next = 0; /* then the measured phase cycles through it from the start */
    } else if (s_opt.scenario == S_SCENARIO_RESEND) {
        for (int i = 0; i < batch; i++) {
            S_SEP();
            s_alert_json(body, gen, 'p', gen->pool_next, false, starts_at, firing, resolved);
            gen->pool_next = (gen->pool_next + 1) % (uint64_t)s_opt.pool;
        }
    } else if (s_opt.scenario == S_SCENARIO_NEW) {
        for (int i = 0; i < batch; i++) {
            S_SEP();
            s_alert_json(body, gen, 'n', gen->new_next++, false, starts_at, firing, resolved);
        }
    } else {
        int resends = batch / 2, news = batch / 4, resolutions = batch - resends - news;
        for (int i = 0; i < resends; i++) {
            S_SEP();
            s_alert_json(body, gen, 'p', gen->pool_next, false, starts_at, firing, resolved);
            gen->pool_next = (gen->pool_next + 1) % (uint64_t)s_opt.pool;
        }
        for (int i = 0; i < news; i++) {
            S_SEP();
            s_alert_json(body, gen, 'n', gen->new_next++, false, starts_at, firing, resolved);
        }
        for (int i = 0; i < resolutions; i++) {
            S_SEP();
            s_alert_json(body, gen, 'n', gen->resolve_next++, true, starts_at, firing, resolved);
        }
    }
#undef S_SEP
    s_buf_append(body, "]", 1);
    return count;
}

/* Prime requests a connection sends before the measured phase. */
static uint64_t s_prime_requests(void)
{
    uint64_t alerts = 0;
    if (s_opt.scenario == S_SCENARIO_RESEND || s_opt.scenario == S_SCENARIO_MIX)
        alerts += (uint64_t)s_opt.pool;
    if (s_opt.scenario == S_SCENARIO_MIX)
        alerts += (uint64_t)s_opt.lag;
    return (alerts + (uint64_t)s_opt.batch - 1) / (uint64_t)s_opt.batch;
}

/* ---- client connections ------------------------------------------------------------------ */

static void s_conn_close(s_conn_t *conn)
{
    if (conn->fd >= 0) {
        epoll_ctl(s_epoll, EPOLL_CTL_DEL, conn->fd, NULL);
        close(conn->fd);
    }
    conn->fd = -1;
    conn->state = S_CONN_DEAD;
    conn->retry_at_ms = s_now_ms() + 100;
}

/* Connects conn (blocking connect: the target is local), then makes it non-blocking.
   Returns 0, or -1 (conn stays dead and is retried later). */
static int s_conn_open(s_conn_t *conn)
{
    int fd = socket(s_address->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        s_die("socket: %s", strerror(errno));
    if (connect(fd, s_address->ai_addr, s_address->ai_addrlen) != 0) {
        close(fd);
        conn->state = S_CONN_DEAD;
        conn->retry_at_ms = s_now_ms() + 100;
        s_stats.transport_errors++;
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    conn->fd = fd;
    conn->state = S_CONN_IDLE;
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = conn};
    if (epoll_ctl(s_epoll, EPOLL_CTL_ADD, fd, &event) != 0)
        s_die("epoll_ctl: %s", strerror(errno));
    return 0;
}

/* Writes what is left of conn's request; arms EPOLLOUT while the socket is full. Returns
   0, or -1 when the connection failed (closed). */
static int s_conn_flush(s_conn_t *conn)
{
    while (conn->out_sent < conn->out.size) {
        ssize_t n = send(conn->fd, conn->out.data + conn->out_sent, conn->out.size - conn->out_sent,
                         MSG_NOSIGNAL);
        if (n > 0) {
            conn->out_sent += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct epoll_event event = {.events = EPOLLIN | EPOLLOUT, .data.ptr = conn};
            epoll_ctl(s_epoll, EPOLL_CTL_MOD, conn->fd, &event);
            return 0;
        }
        return -1;
    }
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = conn};
    epoll_ctl(s_epoll, EPOLL_CTL_MOD, conn->fd, &event);
    return 0;
}

/* Starts the connection's next request. intended_ms: when it was due (open loop), or now. */
static void s_conn_send(s_conn_t *conn, double intended_ms, bool priming, int64_t e2e_index)
{
    static s_buf_t body;
    conn->alerts = s_next_body(&conn->gen, &body, priming, e2e_index);
    conn->out.size = 0;
    s_buf_printf(&conn->out,
                 "POST %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: lookout-loadgen\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n",
                 s_opt.path, s_opt.host, s_opt.port, body.size);
    for (size_t i = 0; i < s_opt.header_count; i++)
        s_buf_printf(&conn->out, "%s\r\n", s_opt.headers[i]);
    s_buf_append(&conn->out, "\r\n", 2);
    s_buf_append(&conn->out, body.data, body.size);
    conn->out_sent = 0;
    conn->in.size = 0;
    conn->intended_ms = intended_ms;
    conn->sent_ms = s_now_ms();
    conn->priming = priming;
    conn->e2e_index = e2e_index;
    conn->state = S_CONN_BUSY;
    if (e2e_index >= 0)
        s_e2e.sent_ms[e2e_index] = intended_ms;
    if (s_conn_flush(conn) != 0) {
        s_stats.transport_errors++;
        s_conn_close(conn);
    } else if (!priming) {
        s_stats.sent++;
    }
}

/* Parses conn->in as an HTTP response. Returns the status (> 0) when complete, 0 when more
   bytes are needed, -1 when malformed. *close_after: the server will close. */
static int s_response_complete(s_conn_t *conn, bool *close_after)
{
    char *data = conn->in.data;
    if (!data)
        return 0;
    char *end = strstr(data, "\r\n\r\n");
    if (!end)
        return 0;
    size_t header_size = (size_t)(end - data) + 4;
    int status = 0;
    if (sscanf(data, "HTTP/1.%*d %d", &status) != 1 || status < 100 || status > 599)
        return -1;
    long long content_length = -1;
    bool chunked = false;
    *close_after = false;
    for (char *line = strstr(data, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            content_length = atoll(line + 15);
        else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 && strstr(line, "chunked") &&
                 strstr(line, "chunked") < strstr(line, "\r\n"))
            chunked = true;
        else if (strncasecmp(line, "Connection:", 11) == 0) {
            const char *value = line + 11;
            while (*value == ' ')
                value++;
            if (strncasecmp(value, "close", 5) == 0)
                *close_after = true;
        }
    }
    if (chunked) {
        size_t at = header_size;
        while (true) {
            char *line_end = strstr(data + at, "\r\n");
            if (!line_end)
                return 0;
            unsigned long size = strtoul(data + at, NULL, 16);
            at = (size_t)(line_end - data) + 2;
            if (size == 0)
                return strstr(data + at - 2, "\r\n\r\n") ? status : 0;
            if (conn->in.size < at + size + 2)
                return 0;
            at += size + 2;
        }
    }
    if (content_length < 0)
        content_length = 0; /* no body framing on a keep-alive answer: none */
    return conn->in.size >= header_size + (size_t)content_length ? status : 0;
}

/* What counts as a measured request: set by the phase logic. */
static bool s_measuring;
static double s_measure_from_ms, s_measure_until_ms;

/* An exchange ended with status (0: transport failure). Records it. */
static void s_conn_done(s_conn_t *conn, int status)
{
    double now = s_now_ms();
    if (conn->e2e_index >= 0 && status >= 200 && status < 300)
        s_e2e.answered_ms[conn->e2e_index] = now;
    if (conn->priming) {
        if (status < 200 || status >= 300)
            s_die("a priming request failed with HTTP %d: %.300s", status,
                  conn->in.data ? conn->in.data : "(no answer)");
        return;
    }
    /* open loop: requests due in the window; closed loop: answers in the window */
    double at = s_opt.mode == S_MODE_CLOSED ? now : conn->intended_ms;
    if (!s_measuring || at < s_measure_from_ms || at >= s_measure_until_ms)
        return;
    s_stats.requests++;
    if (status >= 200 && status < 300) {
        s_stats.alerts += (uint64_t)conn->alerts;
        s_samples_add(&s_stats.latency,
                      now - (s_opt.mode == S_MODE_CLOSED ? conn->sent_ms : conn->intended_ms));
    } else {
        s_stats.errors++;
        if (status == 0)
            s_stats.transport_errors++;
    }
    if (status > 0 && status < 600)
        s_stats.status_counts[status]++;
}

/* Reads what conn has; completes the exchange when the answer is whole. */
static void s_conn_readable(s_conn_t *conn)
{
    while (true) {
        s_buf_reserve(&conn->in, 65536);
        ssize_t n =
            recv(conn->fd, conn->in.data + conn->in.size, conn->in.capacity - conn->in.size - 1, 0);
        if (n > 0) {
            conn->in.size += (size_t)n;
            conn->in.data[conn->in.size] = '\0';
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        /* closed or failed */
        if (conn->state == S_CONN_BUSY)
            s_conn_done(conn, 0);
        s_conn_close(conn);
        return;
    }
    if (conn->state != S_CONN_BUSY)
        return;
    bool close_after = false;
    int status = s_response_complete(conn, &close_after);
    if (status == 0)
        return;
    if (status < 0) {
        s_conn_done(conn, 0);
        s_conn_close(conn);
        return;
    }
    if (status == 100) { /* an interim answer: drop it, the real one follows */
        char *end = strstr(conn->in.data, "\r\n\r\n") + 4;
        size_t rest = conn->in.size - (size_t)(end - conn->in.data);
        memmove(conn->in.data, end, rest + 1);
        conn->in.size = rest;
        return;
    }
    s_conn_done(conn, status);
    conn->state = S_CONN_IDLE;
    if (close_after)
        s_conn_close(conn);
}

/* ---- e2e receiver ------------------------------------------------------------------------ */

/* Records every e2e marker of this run found in text (the notification names its alert). */
static void s_e2e_scan(const char *text, size_t size, double *arrivals, int64_t *counter)
{
    char marker[96];
    int marker_size = snprintf(marker, sizeof marker, "E2E_%s_", s_opt.run_id);
    double now = s_now_ms();
    const char *at = text, *end = text + size;
    pthread_mutex_lock(&s_e2e.mutex);
    while ((at = memmem(at, (size_t)(end - at), marker, (size_t)marker_size)) != NULL) {
        at += marker_size;
        char *after = NULL;
        long long index = strtoll(at, &after, 10);
        if (after && after < end && *after == '_' && index >= 0 && index < s_e2e.count &&
            arrivals[index] < 0) {
            arrivals[index] = now;
            (*counter)++;
        }
    }
    pthread_mutex_unlock(&s_e2e.mutex);
}

static void s_receiver_close(s_receiver_conn_t *conn)
{
    epoll_ctl(s_epoll, EPOLL_CTL_DEL, conn->fd, NULL);
    close(conn->fd);
    free(conn->in.data);
    free(conn);
}

/* Serves one receiver connection: every complete request is scanned and answered 200. */
static void s_receiver_readable(s_receiver_conn_t *conn)
{
    while (true) {
        s_buf_reserve(&conn->in, 65536);
        ssize_t n =
            recv(conn->fd, conn->in.data + conn->in.size, conn->in.capacity - conn->in.size - 1, 0);
        if (n > 0) {
            conn->in.size += (size_t)n;
            conn->in.data[conn->in.size] = '\0';
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        s_receiver_close(conn);
        return;
    }
    while (conn->in.size) {
        char *end = strstr(conn->in.data, "\r\n\r\n");
        if (!end)
            return;
        size_t header_size = (size_t)(end - conn->in.data) + 4;
        long long content_length = 0;
        bool expect_continue = false;
        for (char *line = strstr(conn->in.data, "\r\n") + 2; line < end;
             line = strstr(line, "\r\n") + 2) {
            if (strncasecmp(line, "Content-Length:", 15) == 0)
                content_length = atoll(line + 15);
            else if (strncasecmp(line, "Expect:", 7) == 0)
                expect_continue = true;
        }
        if (conn->in.size < header_size + (size_t)content_length) {
            if (expect_continue && conn->in.size == header_size) {
                static const char go_on[] = "HTTP/1.1 100 Continue\r\n\r\n";
                if (send(conn->fd, go_on, sizeof go_on - 1, MSG_NOSIGNAL) < 0) {
                    s_receiver_close(conn);
                    return;
                }
            }
            return;
        }
        s_e2e_scan(conn->in.data + header_size, (size_t)content_length, s_e2e.received_ms,
                   &s_e2e.received);
        s_e2e.receiver_requests++;
        static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                     "Content-Length: 11\r\n\r\n{\"ok\":true}";
        if (send(conn->fd, answer, sizeof answer - 1, MSG_NOSIGNAL) < 0) {
            s_receiver_close(conn);
            return;
        }
        size_t used = header_size + (size_t)content_length;
        memmove(conn->in.data, conn->in.data + used, conn->in.size - used + 1);
        conn->in.size -= used;
    }
}

static s_tag_t s_listener_tag = S_TAG_LISTENER;
static int s_listener = -1;

static void s_receiver_listen(int port)
{
    s_listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(s_listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s_listener, (struct sockaddr *)&address, sizeof address) != 0 ||
        listen(s_listener, 128) != 0)
        s_die("receiver on 127.0.0.1:%d: %s", port, strerror(errno));
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = &s_listener_tag};
    epoll_ctl(s_epoll, EPOLL_CTL_ADD, s_listener, &event);
}

static void s_receiver_accept(void)
{
    while (true) {
        int fd = accept4(s_listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        s_receiver_conn_t *conn = calloc(1, sizeof *conn);
        if (!conn)
            s_die("out of memory");
        conn->tag = S_TAG_RECEIVER;
        conn->fd = fd;
        struct epoll_event event = {.events = EPOLLIN, .data.ptr = conn};
        epoll_ctl(s_epoll, EPOLL_CTL_ADD, fd, &event);
    }
}

/* ---- Kafka consumer (e2e) ---------------------------------------------------------------- */

static rd_kafka_t *s_kafka;
static pthread_t s_kafka_thread;

/* Assigns every partition of the topic from the beginning (markers are unique per run, so
   older messages are simply not ours). Returns once the assignment is in place. */
static void s_kafka_start(void)
{
    char error[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *settings[][2] = {
        {"bootstrap.servers", s_opt.kafka_brokers},
        {"group.id", "lookout-loadgen"},
        {"enable.auto.commit", "false"},
        {"fetch.wait.max.ms", "5"},
        {"fetch.error.backoff.ms", "5"},
        {"log_level", "3"},
    };
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        if (rd_kafka_conf_set(conf, settings[i][0], settings[i][1], error, sizeof error) !=
            RD_KAFKA_CONF_OK)
            s_die("kafka: %s", error);
    s_kafka = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
    if (!s_kafka)
        s_die("kafka: %s", error);
    rd_kafka_topic_t *topic = rd_kafka_topic_new(s_kafka, s_opt.kafka_topic, NULL);
    const struct rd_kafka_metadata *metadata = NULL;
    int partitions = 0;
    for (int attempt = 0; attempt < 100 && partitions == 0; attempt++) {
        if (rd_kafka_metadata(s_kafka, 0, topic, &metadata, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (metadata->topic_cnt == 1 && !metadata->topics[0].err)
                partitions = metadata->topics[0].partition_cnt;
            rd_kafka_metadata_destroy(metadata);
        }
        if (partitions == 0)
            usleep(100 * 1000);
    }
    rd_kafka_topic_destroy(topic);
    if (partitions == 0)
        s_die("kafka: topic %s has no partitions", s_opt.kafka_topic);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(partitions);
    for (int partition = 0; partition < partitions; partition++)
        rd_kafka_topic_partition_list_add(list, s_opt.kafka_topic, partition)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    if (rd_kafka_assign(s_kafka, list) != RD_KAFKA_RESP_ERR_NO_ERROR)
        s_die("kafka: assign failed");
    rd_kafka_topic_partition_list_destroy(list);
}

static void *s_kafka_run(void *unused)
{
    (void)unused;
    while (!s_kafka_stop) {
        rd_kafka_message_t *message = rd_kafka_consumer_poll(s_kafka, 50);
        if (!message)
            continue;
        if (!message->err && message->payload)
            s_e2e_scan(message->payload, message->len, s_e2e.kafka_ms, &s_e2e.kafka_received);
        rd_kafka_message_destroy(message);
    }
    return NULL;
}

/* ---- the loop ---------------------------------------------------------------------------- */

/* Waits for events up to timeout_ms and handles them. */
static void s_poll(double timeout_ms)
{
    struct epoll_event events[256];
    int timeout = timeout_ms <= 0 ? 0 : (int)ceil(timeout_ms);
    int ready = epoll_wait(s_epoll, events, 256, timeout);
    for (int i = 0; i < ready; i++) {
        s_tag_t tag = *(s_tag_t *)events[i].data.ptr;
        if (tag == S_TAG_LISTENER)
            s_receiver_accept();
        else if (tag == S_TAG_RECEIVER)
            s_receiver_readable(events[i].data.ptr);
        else {
            s_conn_t *conn = events[i].data.ptr;
            if (conn->fd < 0)
                continue;
            if ((events[i].events & EPOLLOUT) && conn->state == S_CONN_BUSY &&
                s_conn_flush(conn) != 0) {
                s_conn_done(conn, 0);
                s_conn_close(conn);
                continue;
            }
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                s_conn_readable(conn);
        }
    }
}

/* Times out busy exchanges and reconnects dead connections whose back-off passed. */
static void s_housekeeping(void)
{
    double now = s_now_ms();
    for (int i = 0; i < s_opt.connections; i++) {
        s_conn_t *conn = &s_conns[i];
        if (conn->state == S_CONN_BUSY && now - conn->sent_ms > S_REQUEST_TIMEOUT_S * 1000) {
            s_conn_done(conn, 0);
            s_conn_close(conn);
        }
        if (conn->state == S_CONN_DEAD && now >= conn->retry_at_ms)
            s_conn_open(conn);
    }
}

static size_t s_busy_count(void)
{
    size_t busy = 0;
    for (int i = 0; i < s_opt.connections; i++)
        busy += s_conns[i].state == S_CONN_BUSY;
    return busy;
}

/* Every connection sends its prime requests (sequentially per connection). */
static void s_prime(void)
{
    uint64_t per_connection = s_prime_requests();
    for (int i = 0; i < s_opt.connections; i++)
        s_conns[i].gen.prime_left = per_connection;
    while (!s_interrupted) {
        bool left = false;
        for (int i = 0; i < s_opt.connections; i++) {
            s_conn_t *conn = &s_conns[i];
            if (conn->state == S_CONN_IDLE && conn->gen.prime_left > 0) {
                conn->gen.prime_left--;
                s_conn_send(conn, s_now_ms(), true, -1);
            }
            left = left || conn->gen.prime_left > 0 || conn->state == S_CONN_BUSY;
        }
        if (!left)
            break;
        s_poll(50);
        s_housekeeping();
    }
    /* mix resolves the lag's alerts in the order they fired */
    for (int i = 0; i < s_opt.connections; i++)
        s_conns[i].gen.resolve_next = 0;
}

/* Closed loop: every idle connection sends at once. Ends after the window or the alert
   count. */
static void s_run_closed(void)
{
    double start = s_now_ms();
    s_measuring = true;
    s_measure_from_ms = start + s_opt.warmup_s * 1000;
    s_measure_until_ms = s_opt.alerts ? INFINITY : s_measure_from_ms + s_opt.duration_s * 1000;
    uint64_t alerts_sent = 0;
    while (!s_interrupted) {
        double now = s_now_ms();
        bool sending = s_opt.alerts ? alerts_sent < s_opt.alerts : now < s_measure_until_ms;
        if (!sending && s_busy_count() == 0)
            break;
        for (int i = 0; sending && i < s_opt.connections; i++) {
            s_conn_t *conn = &s_conns[i];
            if (conn->state != S_CONN_IDLE)
                continue;
            if (s_opt.alerts && alerts_sent >= s_opt.alerts)
                break;
            s_conn_send(conn, now, false, -1);
            alerts_sent += (uint64_t)conn->alerts;
        }
        s_poll(20);
        s_housekeeping();
    }
    if (s_opt.alerts)
        s_measure_until_ms = s_now_ms();
}

/* Open loop at s_opt.rate requests/s for warmup + duration; then waits for the answers
   still due. Requests due while every connection is busy wait in order (backlog). */
static void s_run_open(int64_t total)
{
    double start = s_now_ms();
    double interval_ms = 1000.0 / s_opt.rate;
    if (total <= 0)
        total = (int64_t)((s_opt.warmup_s + s_opt.duration_s) * s_opt.rate);
    s_measuring = true;
    s_measure_from_ms = start + s_opt.warmup_s * 1000;
    s_measure_until_ms = INFINITY;
    int64_t next = 0; /* the next request to send: due at start + next * interval */
    /* a server that cannot keep up is not waited for forever: after the last request was
       due, --drain seconds more, then what is still unanswered or unsent is "incomplete" */
    double give_up_ms = start + (double)total * interval_ms + s_opt.drain_s * 1000;
    while (!s_interrupted) {
        double now = s_now_ms();
        while (next < total && start + (double)next * interval_ms <= now) {
            s_conn_t *idle = NULL;
            for (int i = 0; i < s_opt.connections && !idle; i++)
                if (s_conns[i].state == S_CONN_IDLE)
                    idle = &s_conns[i];
            if (!idle)
                break; /* backlog: sent, with its intended time, when a connection frees */
            s_conn_send(idle, start + (double)next * interval_ms, false,
                        s_opt.scenario == S_SCENARIO_E2E ? next : -1);
            next++;
        }
        if (next >= total && s_busy_count() == 0)
            return;
        if (now > give_up_ms)
            break;
        double wait = next < total ? start + (double)next * interval_ms - now : 20;
        s_poll(wait < 0 ? 0 : wait > 20 ? 20 : wait);
        s_housekeeping();
    }
    /* incomplete: their latency is at least what they have waited so far */
    double now = s_now_ms();
    for (int i = 0; i < s_opt.connections; i++) {
        s_conn_t *conn = &s_conns[i];
        if (conn->state != S_CONN_BUSY)
            continue;
        if (!conn->priming && conn->intended_ms >= s_measure_from_ms) {
            s_stats.incomplete++;
            s_samples_add(&s_stats.latency, now - conn->intended_ms);
        }
        s_conn_close(conn);
    }
    for (; next < total; next++) {
        double intended = start + (double)next * interval_ms;
        if (intended >= s_measure_from_ms) {
            s_stats.incomplete++;
            s_samples_add(&s_stats.latency, now - intended);
        }
    }
}

/* ---- options and main -------------------------------------------------------------------- */

static void s_usage(void)
{
    fprintf(stderr,
            "usage: loadgen --url http://HOST:PORT/PATH [options]\n"
            "  --mode closed|open|e2e        (closed)\n"
            "  --scenario resend|new|mix     (resend; e2e mode: one marked alert per request)\n"
            "  -H, --header 'Name: value'    extra request header (repeatable)\n"
            "  --connections N               keep-alive connections (16)\n"
            "  --duration S, --warmup S      measured seconds (5) after warm-up seconds (1)\n"
            "  --alerts N                    closed: send exactly N alerts, then stop\n"
            "  --rate R                      open/e2e: requests per second\n"
            "  --drain S                     open/e2e: wait S seconds for answers after the\n"
            "                                last request was due (10); what is left counts\n"
            "                                as incomplete, with the time it waited so far\n"
            "  --batch N                     alerts per request (64)\n"
            "  --pool N                      resend/mix: firing alerts per connection (1024)\n"
            "  --lag N                       mix: alerts primed before resolutions (1024)\n"
            "  --group-size N                alerts per alertname (1000)\n"
            "  --run-id ID                   label prefix keeping runs apart (random)\n"
            "  --receiver-port P             e2e: HTTP receiver on 127.0.0.1:P\n"
            "  --kafka-brokers B --kafka-topic T   e2e: also watch a Kafka topic\n"
            "  --e2e-wait S                  e2e: wait this long for late arrivals (10)\n"
            "  --firing-for S                endsAt of a firing alert: now + S seconds (300,\n"
            "                                Alertmanager's resolve_timeout)\n"
            "  --starts-at MS                startsAt of every alert, epoch ms (a minute ago);\n"
            "                                with the same --run-id, a later run re-sends\n"
            "                                exactly what an earlier one sent\n");
    exit(2);
}

static void s_parse_url(const char *url)
{
    if (strncmp(url, "http://", 7) != 0)
        s_die("only http:// URLs are supported: %s", url);
    const char *host = url + 7;
    const char *slash = strchr(host, '/');
    const char *colon = strchr(host, ':');
    size_t host_size = colon && (!slash || colon < slash) ? (size_t)(colon - host)
                       : slash                            ? (size_t)(slash - host)
                                                          : strlen(host);
    if (host_size == 0 || host_size >= sizeof s_opt.host)
        s_die("bad URL host: %s", url);
    memcpy(s_opt.host, host, host_size);
    s_opt.host[host_size] = '\0';
    if (colon && (!slash || colon < slash)) {
        size_t port_size = slash ? (size_t)(slash - colon - 1) : strlen(colon + 1);
        if (port_size == 0 || port_size >= sizeof s_opt.port)
            s_die("bad URL port: %s", url);
        memcpy(s_opt.port, colon + 1, port_size);
        s_opt.port[port_size] = '\0';
    } else
        snprintf(s_opt.port, sizeof s_opt.port, "80");
    snprintf(s_opt.path, sizeof s_opt.path, "%s", slash ? slash : "/");
}

static long s_int_arg(const char *name, const char *value, long low, long high)
{
    char *end = NULL;
    long number = strtol(value, &end, 10);
    if (!end || *end || number < low || number > high)
        s_die("%s must be an integer in %ld..%ld", name, low, high);
    return number;
}

static double s_double_arg(const char *name, const char *value)
{
    char *end = NULL;
    double number = strtod(value, &end);
    if (!end || *end || !(number >= 0))
        s_die("%s must be a non-negative number", name);
    return number;
}

static void s_on_signal(int signum)
{
    (void)signum;
    s_interrupted = 1;
}

static void s_parse_options(int argc, char **argv)
{
    s_opt.mode = S_MODE_CLOSED;
    s_opt.scenario = S_SCENARIO_RESEND;
    s_opt.connections = 16;
    s_opt.duration_s = 5;
    s_opt.warmup_s = 1;
    s_opt.batch = 64;
    s_opt.pool = 1024;
    s_opt.lag = 1024;
    s_opt.firing_for_ms = 300 * 1000;
    s_opt.group_size = 1000;
    s_opt.e2e_wait_s = 10;
    s_opt.drain_s = 10;
    const char *url = NULL;
    static const struct option options[] = {
        {"url", required_argument, NULL, 'u'},
        {"mode", required_argument, NULL, 'm'},
        {"scenario", required_argument, NULL, 's'},
        {"header", required_argument, NULL, 'H'},
        {"connections", required_argument, NULL, 'c'},
        {"duration", required_argument, NULL, 'd'},
        {"warmup", required_argument, NULL, 'w'},
        {"alerts", required_argument, NULL, 'a'},
        {"rate", required_argument, NULL, 'r'},
        {"batch", required_argument, NULL, 'b'},
        {"pool", required_argument, NULL, 'p'},
        {"lag", required_argument, NULL, 'l'},
        {"group-size", required_argument, NULL, 'g'},
        {"run-id", required_argument, NULL, 'i'},
        {"receiver-port", required_argument, NULL, 'R'},
        {"kafka-brokers", required_argument, NULL, 'K'},
        {"kafka-topic", required_argument, NULL, 'T'},
        {"e2e-wait", required_argument, NULL, 'W'},
        {"starts-at", required_argument, NULL, 'S'},
        {"firing-for", required_argument, NULL, 'F'},
        {"drain", required_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int option;
    while ((option = getopt_long(argc, argv, "H:", options, NULL)) != -1) {
        switch (option) {
        case 'u':
            url = optarg;
            break;
        case 'm':
            if (strcmp(optarg, "closed") == 0)
                s_opt.mode = S_MODE_CLOSED;
            else if (strcmp(optarg, "open") == 0)
                s_opt.mode = S_MODE_OPEN;
            else if (strcmp(optarg, "e2e") == 0)
                s_opt.mode = S_MODE_E2E;
            else
                s_die("--mode must be closed, open or e2e");
            break;
        case 's':
            if (strcmp(optarg, "resend") == 0)
                s_opt.scenario = S_SCENARIO_RESEND;
            else if (strcmp(optarg, "new") == 0)
                s_opt.scenario = S_SCENARIO_NEW;
            else if (strcmp(optarg, "mix") == 0)
                s_opt.scenario = S_SCENARIO_MIX;
            else
                s_die("--scenario must be resend, new or mix");
            break;
        case 'H':
            if (s_opt.header_count == S_MAX_HEADERS)
                s_die("at most %d headers", S_MAX_HEADERS);
            if (!strchr(optarg, ':') || strpbrk(optarg, "\r\n"))
                s_die("a header is 'Name: value' on one line");
            s_opt.headers[s_opt.header_count++] = optarg;
            break;
        case 'c':
            s_opt.connections = (int)s_int_arg("--connections", optarg, 1, S_MAX_CONNECTIONS);
            break;
        case 'd':
            s_opt.duration_s = s_double_arg("--duration", optarg);
            break;
        case 'w':
            s_opt.warmup_s = s_double_arg("--warmup", optarg);
            break;
        case 'a':
            s_opt.alerts = (uint64_t)s_int_arg("--alerts", optarg, 1, 1000000000L);
            break;
        case 'r':
            s_opt.rate = s_double_arg("--rate", optarg);
            break;
        case 'b':
            s_opt.batch = (int)s_int_arg("--batch", optarg, 1, 100000);
            break;
        case 'p':
            s_opt.pool = (int)s_int_arg("--pool", optarg, 1, 100000000);
            break;
        case 'l':
            s_opt.lag = (int)s_int_arg("--lag", optarg, 1, 100000000);
            break;
        case 'g':
            s_opt.group_size = (int)s_int_arg("--group-size", optarg, 1, 1000000000);
            break;
        case 'i':
            if (!*optarg || strlen(optarg) >= sizeof s_opt.run_id ||
                strspn(optarg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") !=
                    strlen(optarg))
                s_die("--run-id: 1..63 letters and digits");
            snprintf(s_opt.run_id, sizeof s_opt.run_id, "%s", optarg);
            break;
        case 'R':
            s_opt.receiver_port = (int)s_int_arg("--receiver-port", optarg, 1, 65535);
            break;
        case 'K':
            s_opt.kafka_brokers = optarg;
            break;
        case 'T':
            s_opt.kafka_topic = optarg;
            break;
        case 'W':
            s_opt.e2e_wait_s = s_double_arg("--e2e-wait", optarg);
            break;
        case 'D':
            s_opt.drain_s = s_double_arg("--drain", optarg);
            break;
        case 'F':
            s_opt.firing_for_ms = (int64_t)s_int_arg("--firing-for", optarg, 1, 3153600000L) * 1000;
            break;
        case 'S':
            s_opt.starts_at_ms = (int64_t)s_int_arg("--starts-at", optarg, 1, 4102444800000L);
            break;
        default:
            s_usage();
        }
    }
    if (!url || optind != argc)
        s_usage();
    s_parse_url(url);
    if (s_opt.mode != S_MODE_CLOSED && !(s_opt.rate > 0))
        s_die("--rate is required in open and e2e mode");
    if (s_opt.mode == S_MODE_E2E) {
        s_opt.scenario = S_SCENARIO_E2E;
        s_opt.batch = 1;
        if (!s_opt.receiver_port && !s_opt.kafka_brokers)
            s_die("e2e mode needs --receiver-port and/or --kafka-brokers");
        if (!!s_opt.kafka_brokers != !!s_opt.kafka_topic)
            s_die("--kafka-brokers and --kafka-topic go together");
    }
    if (s_opt.scenario == S_SCENARIO_MIX && s_opt.batch < 4)
        s_die("--scenario mix needs --batch of at least 4");
    if (!s_opt.run_id[0]) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        srand((unsigned)(ts.tv_nsec ^ getpid()));
        snprintf(s_opt.run_id, sizeof s_opt.run_id, "r%08x", (unsigned)rand());
    }
}

static const char *s_mode_name(void)
{
    return s_opt.mode == S_MODE_CLOSED ? "closed" : s_opt.mode == S_MODE_OPEN ? "open" : "e2e";
}

static const char *s_scenario_name(void)
{
    static const char *names[] = {"resend", "new", "mix", "e2e"};
    return names[s_opt.scenario];
}

/* Prints the e2e figures: per marker, arrival minus intended send time. */
static void s_print_e2e(void)
{
    double *receiver = malloc(((size_t)s_e2e.count + 1) * sizeof(double));
    double *kafka = malloc(((size_t)s_e2e.count + 1) * sizeof(double));
    double *answer = malloc(((size_t)s_e2e.count + 1) * sizeof(double));
    if (!receiver || !kafka || !answer)
        s_die("out of memory");
    size_t receiver_count = 0, kafka_count = 0, answer_count = 0;
    int64_t sent = 0;
    for (int64_t i = 0; i < s_e2e.count; i++) {
        if (s_e2e.sent_ms[i] < 0)
            continue;
        sent++;
        if (s_e2e.answered_ms[i] >= 0)
            answer[answer_count++] = s_e2e.answered_ms[i] - s_e2e.sent_ms[i];
        if (s_e2e.received_ms[i] >= 0)
            receiver[receiver_count++] = s_e2e.received_ms[i] - s_e2e.sent_ms[i];
        if (s_e2e.kafka_ms[i] >= 0)
            kafka[kafka_count++] = s_e2e.kafka_ms[i] - s_e2e.sent_ms[i];
    }
    printf("  \"e2e_sent\": %" PRId64 ",\n  \"receiver_requests\": %" PRIu64 ",\n", sent,
           s_e2e.receiver_requests);
    s_print_percentiles("answer_ms", answer, answer_count, true);
    s_print_percentiles("notification_ms", receiver, receiver_count, true);
    s_print_percentiles("kafka_ms", kafka, kafka_count, true);
    free(receiver);
    free(kafka);
    free(answer);
}

int main(int argc, char **argv)
{
    s_parse_options(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, s_on_signal);
    signal(SIGTERM, s_on_signal);

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int rc = getaddrinfo(s_opt.host, s_opt.port, &hints, &s_address);
    if (rc != 0)
        s_die("%s:%s: %s", s_opt.host, s_opt.port, gai_strerror(rc));
    s_epoll = epoll_create1(EPOLL_CLOEXEC);
    if (s_epoll < 0)
        s_die("epoll_create1: %s", strerror(errno));
    s_starts_at_ms = s_opt.starts_at_ms ? s_opt.starts_at_ms : s_wall_ms() - 60 * 1000;

    int64_t e2e_total = 0;
    if (s_opt.mode == S_MODE_E2E) {
        e2e_total = (int64_t)(s_opt.duration_s * s_opt.rate);
        if (e2e_total < 1)
            e2e_total = 1;
        s_e2e.count = e2e_total;
        s_e2e.sent_ms = malloc((size_t)e2e_total * sizeof(double));
        s_e2e.answered_ms = malloc((size_t)e2e_total * sizeof(double));
        s_e2e.received_ms = malloc((size_t)e2e_total * sizeof(double));
        s_e2e.kafka_ms = malloc((size_t)e2e_total * sizeof(double));
        if (!s_e2e.sent_ms || !s_e2e.answered_ms || !s_e2e.received_ms || !s_e2e.kafka_ms)
            s_die("out of memory");
        for (int64_t i = 0; i < e2e_total; i++)
            s_e2e.sent_ms[i] = s_e2e.answered_ms[i] = s_e2e.received_ms[i] = s_e2e.kafka_ms[i] = -1;
        pthread_mutex_init(&s_e2e.mutex, NULL);
        if (s_opt.receiver_port)
            s_receiver_listen(s_opt.receiver_port);
        if (s_opt.kafka_brokers) {
            s_kafka_start();
            if (pthread_create(&s_kafka_thread, NULL, s_kafka_run, NULL) != 0)
                s_die("pthread_create failed");
        }
        s_opt.warmup_s = 0;
    }

    s_conns = calloc((size_t)s_opt.connections, sizeof *s_conns);
    if (!s_conns)
        s_die("out of memory");
    for (int i = 0; i < s_opt.connections; i++) {
        s_conns[i].tag = S_TAG_CLIENT;
        s_conns[i].fd = -1;
        s_conns[i].gen.connection = i;
        s_conns[i].e2e_index = -1;
        if (s_conn_open(&s_conns[i]) != 0)
            s_die("cannot connect to %s:%s: %s", s_opt.host, s_opt.port, strerror(errno));
    }

    double prime_started = s_now_ms();
    if (s_opt.mode != S_MODE_E2E)
        s_prime();
    double prime_s = (s_now_ms() - prime_started) / 1000;

    double started = s_now_ms();
    double waited_before_ms = s_run_queue_ms();
    if (s_opt.mode == S_MODE_CLOSED)
        s_run_closed();
    else
        s_run_open(e2e_total);
    double waited_ms = s_run_queue_ms();
    waited_ms = waited_ms < 0 || waited_before_ms < 0 ? -1 : waited_ms - waited_before_ms;
    double measured_s = s_opt.mode == S_MODE_CLOSED
                            ? (s_measure_until_ms - s_measure_from_ms) / 1000
                            : s_opt.duration_s;
    if (s_opt.mode == S_MODE_CLOSED && s_opt.alerts)
        measured_s = (s_measure_until_ms - started) / 1000;

    if (s_opt.mode == S_MODE_E2E) {
        double deadline = s_now_ms() + s_opt.e2e_wait_s * 1000;
        while (!s_interrupted && s_now_ms() < deadline) {
            pthread_mutex_lock(&s_e2e.mutex);
            bool all = (!s_opt.receiver_port || s_e2e.received >= e2e_total) &&
                       (!s_opt.kafka_brokers || s_e2e.kafka_received >= e2e_total);
            pthread_mutex_unlock(&s_e2e.mutex);
            if (all)
                break;
            s_poll(20);
        }
        if (s_opt.kafka_brokers) {
            s_kafka_stop = 1;
            pthread_join(s_kafka_thread, NULL);
            rd_kafka_consumer_close(s_kafka);
            rd_kafka_destroy(s_kafka);
        }
    }

    printf("{\n  \"mode\": \"%s\",\n  \"scenario\": \"%s\",\n  \"run_id\": \"%s\",\n"
           "  \"batch\": %d,\n  \"connections\": %d,\n  \"prime_s\": %.3f,\n"
           "  \"measured_s\": %.3f,\n",
           s_mode_name(), s_scenario_name(), s_opt.run_id, s_opt.batch, s_opt.connections, prime_s,
           measured_s);
    if (s_opt.mode != S_MODE_CLOSED)
        printf("  \"offered_rps\": %.1f,\n", s_opt.rate);
    /* the sending loop's wait for a core over the run (warm-up and drain included) */
    if (waited_ms >= 0)
        printf("  \"run_queue_wait_ms\": %.1f,\n", waited_ms);
    printf("  \"sent\": %" PRIu64 ",\n", s_stats.sent);
    printf("  \"requests\": %" PRIu64 ",\n  \"alerts\": %" PRIu64 ",\n  \"errors\": %" PRIu64
           ",\n  \"transport_errors\": %" PRIu64 ",\n  \"incomplete\": %" PRIu64
           ",\n  \"status\": {",
           s_stats.requests, s_stats.alerts, s_stats.errors, s_stats.transport_errors,
           s_stats.incomplete);
    bool first = true;
    for (int status = 0; status < 600; status++)
        if (s_stats.status_counts[status]) {
            printf("%s\"%d\": %" PRIu64, first ? "" : ", ", status, s_stats.status_counts[status]);
            first = false;
        }
    printf("},\n  \"requests_per_s\": %.1f,\n  \"alerts_per_s\": %.1f,\n",
           measured_s > 0 ? (double)s_stats.requests / measured_s : 0,
           measured_s > 0 ? (double)s_stats.alerts / measured_s : 0);
    if (s_opt.mode == S_MODE_E2E)
        s_print_e2e();
    s_print_percentiles("latency_ms", s_stats.latency.values, s_stats.latency.count, false);
    printf("}\n");
    fflush(stdout);
    if (s_interrupted)
        return 130;
    return 0;
}
