/*  lk_metrics_http — each process's own small HTTP endpoint for Prometheus and probes.

        GET /metrics   lk_metrics_render: the process's registry, text format 0.0.4
        GET /healthz   200 {"status":"ok","program":...} once the process is ready
                       (lk_metrics_http_set_ready), 503 {"status":"starting",...} before

    lk_daemon_main starts it for every program from the environment:
        LOOKOUT_<NAME>_METRICS_PORT     e.g. LOOKOUT_STORE_METRICS_PORT; 0 = no endpoint.
                                        Defaults: store 18021, escalate 18022, publish 18023,
                                        rules 18024, correlate 18030, ingest 18040,
                                        notify 18050; other programs 0.
        LOOKOUT_<NAME>_METRICS_ADDRESS  listen address (default 127.0.0.1)
        LOOKOUT_PROCESS_NUM             added to the port (default 0), so copies of one program
                                        on one host (supervisord numprocs, correlate shards)
                                        each get their own: supervisord sets it from
                                        %(process_num)d.
    where <NAME> is the program name without "lookout-", upper-cased, '-' as '_'.
    A port that cannot be bound is logged as an error and the process runs on without it:
    metrics are for watching the service, and a taken port must not take the service down
    (Prometheus' `up` shows the gap).

    One libmicrohttpd thread serves it; rendering takes the registry lock for the time of one
    scrape, which never blocks a metric update (updates are lock-free atomics).
*/
#ifndef LK_METRICS_HTTP_H
#define LK_METRICS_HTTP_H

#include <stdbool.h>

typedef struct lk_metrics_http_t lk_metrics_http_t;

/* Listens on address:port (port 0: a port the kernel picks; see lk_metrics_http_port) and
   serves the paths above for program (shown by /healthz). Returns NULL, logged, when the
   address cannot be resolved or bound. */
lk_metrics_http_t *lk_metrics_http_new(const char *program, const char *address, int port);
/* Stops the server (joins its thread) and frees it; accepts NULL. */
void lk_metrics_http_destroy(lk_metrics_http_t **self_p);
/* The port actually listened on. */
int lk_metrics_http_port(const lk_metrics_http_t *self);
/* Sets what /healthz answers: 200 when ready, 503 before. Accepts NULL. */
void lk_metrics_http_set_ready(lk_metrics_http_t *self, bool ready);

/* The built-in default metrics port of program ("lookout-store" → 18021), 0 when none. */
int lk_metrics_http_default_port(const char *program);
/* What lk_daemon_main calls first: registers the process metrics (lk_metrics_process_init)
   and starts the endpoint the environment above describes. Returns NULL when the port is 0
   or cannot be bound (logged). Exits via lk_fatal on a malformed variable. */
lk_metrics_http_t *lk_metrics_http_start(const char *program);

#endif
