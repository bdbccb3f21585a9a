/*  lk_config_status — the `status_pages:` section of the configuration (lk_config.h): public
    status pages, one or more per tenant, and the components each shows.

    Parsed by lk_config_load through lk_config.c's section table and documented in
    docs/configuration.md. A component names the incidents that concern it with label
    matchers (the route syntax of lk_match.h), compiled once at load; lookout-ingest reads
    the pages to serve GET /status and /status/{slug} (ingest/status_model.h computes what
    they show).

        status_pages:
          - slug: acme                      # URL-safe: /status/acme
            tenant: 2f0c...                  # whose incidents
            title: Acme Cloud status
            hosts: [status.acme.example]    # optional: GET / and GET /status by Host
            public: true                    # default true; false = not served
            components:
              - name: API
                description: REST API and webhooks
                match: ['service="api"']    # matchers on the incident's alerts' labels
                public: true                # default true; false = never shown
*/
#ifndef LK_CONFIG_STATUS_H
#define LK_CONFIG_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#include "lk_match.h"
#include "lk_model.h"

typedef struct lk_yaml_node_t lk_yaml_node_t;
typedef struct lk_config_t lk_config_t;

#define LK_STATUS_PAGES_MAX          256
#define LK_STATUS_COMPONENTS_MAX     64 /* per page */
#define LK_STATUS_HOSTS_MAX          16 /* per page */
#define LK_STATUS_SLUG_MAX           64 /* bytes: [a-z0-9] then [a-z0-9-] */
#define LK_STATUS_TITLE_MAX          256
#define LK_STATUS_COMPONENT_NAME_MAX 128
#define LK_STATUS_DESCRIPTION_MAX    1024
#define LK_STATUS_HOST_MAX           253 /* a DNS name */

/* One component of a page. */
typedef struct {
    char *name;             /* unique within the page; shown */
    char *description;      /* shown; NULL when not given */
    lk_matcher_t *matchers; /* `match:` as written (at least one) */
    size_t matcher_count;
    lk_matchset_t *matchset; /* compiled */
    bool is_public;          /* false: never shown, its incidents stay private */
    int line;
    int column;
} lk_status_component_t;

/* One status page. */
typedef struct {
    char *slug;                          /* unique over the file */
    char tenant_id[LK_UUID_STR_LEN + 1]; /* lower case */
    char *title;                         /* default: the slug */
    char **hosts;                        /* lower case, unique over the file */
    size_t host_count;
    bool is_public; /* false: the page is configured but not served */
    lk_status_component_t *components;
    size_t component_count;
    int line;
    int column;
} lk_status_page_t;

typedef struct {
    lk_status_page_t *pages;
    size_t page_count;
} lk_status_config_t;

/* Section parser for lk_config.c's table: 0, or -1 with err "FILE:LINE:COL: field: ...". */
int lk_config_parse_status_pages(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                                 size_t err_size);
/* Frees everything the section holds and zeroes it. */
void lk_status_config_clear(lk_status_config_t *status);

/* The page with this slug (exact), or NULL. Private pages are found too: callers decide. */
const lk_status_page_t *lk_status_page_find(const lk_status_config_t *status, const char *slug);
/* The page that lists host (a Host header: case-insensitive, a ":port" suffix ignored), or
   NULL. */
const lk_status_page_t *lk_status_page_for_host(const lk_status_config_t *status, const char *host);
/* True when slug is a valid page slug (what `slug:` accepts). */
bool lk_status_slug_valid(const char *slug);

#endif
