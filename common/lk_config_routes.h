/*  lk_config_routes — the correlation sections of the configuration (lk_config.h): `route`
    (a routing tree like Alertmanager's), `inhibit_rules` and `heartbeats`.

    Parsed by lk_config_load through lk_config.c's section table (after the notification
    sections, so a route's escalation_policy is checked against escalation_policies) and
    documented in docs/configuration.md. Matchers are compiled once at load (lk_match.h);
    each route's inherited settings are resolved at load too, so lookout-correlate reads a
    route's effective group_by, group_wait, reopen_window, severity and escalation policy
    straight from it.

    Route selection (lk_route_match) follows Alertmanager: the tree is walked depth first
    from the root (which matches every alert); a matching route's children are tried in
    order and the first child that matches is descended into, else the route itself is the
    match. A matching child with `continue: true` lets its later siblings be tried too, so
    one alert may select several routes, in order.
*/
#ifndef LK_CONFIG_ROUTES_H
#define LK_CONFIG_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lk_match.h"
#include "lk_model.h"

typedef struct lk_yaml_node_t lk_yaml_node_t;
typedef struct lk_config_t lk_config_t;

#define LK_ROUTE_DEPTH_MAX            16   /* nesting of routes */
#define LK_ROUTES_MAX                 1024 /* routes in the whole tree */
#define LK_ROUTE_GROUP_BY_MAX         32   /* labels in a group_by */
#define LK_ROUTE_MATCHES_MAX          16   /* routes one alert can select (continue) */
#define LK_INHIBIT_RULES_MAX          256
#define LK_HEARTBEATS_MAX             4096
#define LK_DEFAULT_HEARTBEAT_GRACE_MS 0

typedef struct lk_route_t lk_route_t;

/* One route. Everything below `matchset` is the effective value (inherited from the parent
   when the route does not set it). */
struct lk_route_t {
    lk_matcher_t *matchers; /* `matchers:` as written */
    size_t matcher_count;
    lk_matchset_t *matchset;             /* compiled */
    char tenant_id[LK_UUID_STR_LEN + 1]; /* `tenant:`, lower case; "" = every tenant */
    char **group_by;                     /* sorted, unique; empty = one group per route */
    size_t group_by_count;
    bool group_by_all;        /* group_by: ['...']: every label is a group label */
    int64_t group_wait_ms;    /* 0 = announce at once */
    int64_t reopen_window_ms; /* -1 = LOOKOUT_REOPEN_WINDOW_S */
    bool has_severity;        /* `severity:` overrides the alerts' severity */
    lk_severity_t severity;
    char *escalation_policy; /* NULL = none named (escalate chooses by its own rules) */
    bool continue_matching;  /* `continue:` */
    lk_route_t *routes;      /* children */
    size_t route_count;
    char *key;  /* Alertmanager route key: `{}`, `{}/{severity="critical"}` */
    char *path; /* where it is in the file, e.g. "route.routes[1]" */
    int line;
    int column;
};

/* One inhibit rule (`inhibit_rules:` entry), Alertmanager semantics: while an alert that
   matches source_matchers fires, alerts that match target_matchers and have the same value
   (missing = "") for every `equal` label are inhibited. An alert that matches both sides is
   inhibited only by sources that do not match the target side. */
typedef struct {
    lk_matcher_t *source_matchers;
    size_t source_matcher_count;
    lk_matchset_t *source;
    lk_matcher_t *target_matchers;
    size_t target_matcher_count;
    lk_matchset_t *target;
    char **equal; /* label names */
    size_t equal_count;
    char tenant_id[LK_UUID_STR_LEN + 1]; /* "" = every tenant */
    int line;
    int column;
} lk_inhibit_rule_t;

/* One heartbeat monitor declared in the file (`heartbeats:` entry). */
typedef struct {
    char *name;
    char tenant_id[LK_UUID_STR_LEN + 1]; /* default LK_SYSTEM_TENANT */
    int64_t interval_ms;
    int64_t grace_ms;
    lk_severity_t severity; /* default critical */
    lk_labels_t labels;
    int line;
    int column;
} lk_heartbeat_decl_t;

typedef struct {
    lk_route_t *route; /* the root; NULL when the file has no `route:` */
    size_t route_total;
    lk_inhibit_rule_t *inhibit_rules;
    size_t inhibit_rule_count;
    lk_heartbeat_decl_t *heartbeats;
    size_t heartbeat_count;
} lk_routing_config_t;

/* Section parsers for lk_config.c's table: 0, or -1 with err "FILE:LINE:COL: field: ...". */
int lk_config_parse_route(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                          size_t err_size);
int lk_config_parse_inhibit_rules(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                                  size_t err_size);
int lk_config_parse_heartbeats(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                               size_t err_size);
/* Frees everything the sections hold and zeroes routing. */
void lk_routing_config_clear(lk_routing_config_t *routing);

/* Selects the routes of an alert of tenant_id with these labels (see the top of this
   file): writes up to max routes into matches, in order, and returns how many (at least 1
   when root is not NULL: the root matches everything). */
size_t lk_route_match(const lk_route_t *root, const char *tenant_id, const lk_labels_t *labels,
                      const lk_route_t **matches, size_t max);

/* The route whose key is key, or NULL (a linear walk: for rebuilds, not per alert). */
const lk_route_t *lk_route_find(const lk_route_t *root, const char *key);

#endif
