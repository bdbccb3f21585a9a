/*  lk_config_routes — `route`, `inhibit_rules` and `heartbeats` (see lk_config_routes.h).

    A route is read top-down: the parent's effective settings are handed to each child,
    which overrides what it sets, so every route carries its complete settings and the
    correlate engine never walks up the tree.
*/
#include "lk_config_routes.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_config.h"
#include "lk_uuid.h"
#include "lk_yaml.h"

#define S_FIELD_MAX 512

/* ---- shared readers ---------------------------------------------------------------------- */

static bool s_label_name_valid(const char *name)
{
    if (!*name || !(isalpha((unsigned char)*name) || *name == '_'))
        return false;
    for (const char *c = name; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '_'))
            return false;
    return true;
}

/* A tenant UUID into out (lower case). */
static int s_read_tenant(const lk_yaml_node_t *node, const char *field, char *out, char *err,
                         size_t err_size)
{
    if (node->kind != LK_YAML_SCALAR || lk_yaml_is_null(node) || !lk_uuid_valid(node->text))
        return lk_yaml_error(err, err_size, node, field, "expected a tenant UUID like %s",
                             LK_SYSTEM_TENANT);
    for (size_t i = 0; i < LK_UUID_STR_LEN; i++)
        out[i] = (char)tolower((unsigned char)node->text[i]);
    out[LK_UUID_STR_LEN] = '\0';
    return 0;
}

/* Matchers: a list of strings (each one matcher or a comma list) or one string. Appends
   to *matchers and compiles them into *set. */
static int s_read_matchers(const lk_yaml_node_t *node, const char *field, lk_matcher_t **matchers,
                           size_t *count, lk_matchset_t **set, char *err, size_t err_size)
{
    char reason[256];
    if (node->kind == LK_YAML_SCALAR) {
        if (lk_yaml_is_null(node))
            return lk_yaml_error(err, err_size, node, field, "expected matchers");
        if (lk_matchers_parse(node->text, matchers, count, reason, sizeof reason) != 0)
            return lk_yaml_error(err, err_size, node, field, "%s", reason);
    } else if (node->kind == LK_YAML_SEQUENCE) {
        for (size_t i = 0; i < node->count; i++) {
            const lk_yaml_node_t *item = node->items[i];
            char item_field[S_FIELD_MAX];
            snprintf(item_field, sizeof item_field, "%s[%zu]", field, i);
            if (item->kind != LK_YAML_SCALAR || lk_yaml_is_null(item))
                return lk_yaml_error(err, err_size, item, item_field,
                                     "expected a matcher string such as 'severity=\"critical\"'");
            if (lk_matchers_parse(item->text, matchers, count, reason, sizeof reason) != 0)
                return lk_yaml_error(err, err_size, item, item_field, "%s", reason);
        }
    } else
        return lk_yaml_error(err, err_size, node, field,
                             "expected a list of matchers such as ['severity=\"critical\"']");
    *set = lk_matchset_new(*matchers, *count, reason, sizeof reason);
    if (!*set)
        return lk_yaml_error(err, err_size, node, field, "%s", reason);
    return 0;
}

/* A list of label names (group_by, equal) into a sorted, unique array. `...` is accepted
   only where all_allowed (then *all is set). */
static int s_read_label_list(const lk_yaml_node_t *node, const char *field, char ***names,
                             size_t *count, bool all_allowed, bool *all, char *err, size_t err_size)
{
    if (lk_yaml_expect(node, LK_YAML_SEQUENCE, field, err, err_size) != 0)
        return -1;
    if (node->count > LK_ROUTE_GROUP_BY_MAX)
        return lk_yaml_error(err, err_size, node, field, "more than %d labels",
                             LK_ROUTE_GROUP_BY_MAX);
    for (size_t i = 0; i < node->count; i++) {
        const lk_yaml_node_t *item = node->items[i];
        char item_field[S_FIELD_MAX];
        snprintf(item_field, sizeof item_field, "%s[%zu]", field, i);
        if (item->kind != LK_YAML_SCALAR || lk_yaml_is_null(item))
            return lk_yaml_error(err, err_size, item, item_field, "expected a label name");
        if (all_allowed && strcmp(item->text, "...") == 0) {
            if (node->count != 1)
                return lk_yaml_error(err, err_size, item, item_field,
                                     "'...' (every label) must be the only entry");
            *all = true;
            return 0;
        }
        if (!s_label_name_valid(item->text))
            return lk_yaml_error(err, err_size, item, item_field,
                                 "invalid label name (letters, digits and '_', not starting "
                                 "with a digit)%s",
                                 all_allowed ? "; or '...' for every label" : "");
        bool duplicate = false;
        for (size_t j = 0; j < *count; j++)
            duplicate |= strcmp((*names)[j], item->text) == 0;
        if (duplicate)
            continue;
        char **grown = realloc(*names, (*count + 1) * sizeof *grown);
        char *copy = grown ? strdup(item->text) : NULL;
        if (grown)
            *names = grown;
        if (!copy)
            return lk_yaml_error(err, err_size, item, item_field, "out of memory");
        (*names)[(*count)++] = copy;
    }
    for (size_t i = 1; i < *count; i++) /* insertion sort: a handful of names */
        for (size_t j = i; j > 0 && strcmp((*names)[j - 1], (*names)[j]) > 0; j--) {
            char *swap = (*names)[j];
            (*names)[j] = (*names)[j - 1];
            (*names)[j - 1] = swap;
        }
    return 0;
}

static void s_names_free(char ***names, size_t *count)
{
    for (size_t i = 0; *names && i < *count; i++)
        free((*names)[i]);
    free(*names);
    *names = NULL;
    *count = 0;
}

static int s_copy_names(char ***dst, size_t *dst_count, char *const *src, size_t count)
{
    *dst = NULL;
    *dst_count = 0;
    if (count == 0)
        return 0;
    *dst = calloc(count, sizeof(char *));
    if (!*dst)
        return -1;
    for (size_t i = 0; i < count; i++) {
        (*dst)[i] = strdup(src[i]);
        *dst_count = i + 1;
        if (!(*dst)[i])
            return -1;
    }
    return 0;
}

/* ---- routes ------------------------------------------------------------------------------ */

static void s_route_clear(lk_route_t *route)
{
    lk_matchers_clear(&route->matchers, &route->matcher_count);
    lk_matchset_destroy(&route->matchset);
    s_names_free(&route->group_by, &route->group_by_count);
    free(route->escalation_policy);
    for (size_t i = 0; i < route->route_count; i++)
        s_route_clear(&route->routes[i]);
    free(route->routes);
    free(route->key);
    free(route->path);
    memset(route, 0, sizeof *route);
}

/* True when the configuration names an escalation policy called name (any tenant). */
static bool s_policy_known(const lk_config_t *config, const char *name)
{
    for (size_t i = 0; i < config->notify.policy_count; i++)
        if (strcmp(config->notify.policies[i].name, name) == 0)
            return true;
    return false;
}

/* Reads one route into route, starting from the parent's effective settings (NULL for the
   root). *total counts routes for the limit. */
static int s_parse_route(const lk_yaml_node_t *node, const char *path, const lk_route_t *parent,
                         int depth, lk_route_t *route, const lk_config_t *config, size_t *total,
                         char *err, size_t err_size)
{
    static const char *const known[] = {
        "matchers",          "tenant",   "group_by", "group_wait", "reopen_window", "severity",
        "escalation_policy", "continue", "routes",   NULL};
    if (lk_yaml_expect(node, LK_YAML_MAPPING, path, err, err_size) != 0 ||
        lk_yaml_check_keys(node, path, known, err, err_size) != 0)
        return -1;
    if (++*total > LK_ROUTES_MAX)
        return lk_yaml_error(err, err_size, node, path, "more than %d routes", LK_ROUTES_MAX);
    if (depth > LK_ROUTE_DEPTH_MAX)
        return lk_yaml_error(err, err_size, node, path, "routes nested deeper than %d",
                             LK_ROUTE_DEPTH_MAX);
    route->line = node->line;
    route->column = node->column;
    route->path = strdup(path);
    if (!route->path)
        return lk_yaml_error(err, err_size, node, path, "out of memory");
    char field[S_FIELD_MAX];

    /* inherited first */
    route->reopen_window_ms = -1;
    if (parent) {
        memcpy(route->tenant_id, parent->tenant_id, sizeof route->tenant_id);
        if (s_copy_names(&route->group_by, &route->group_by_count, parent->group_by,
                         parent->group_by_count) != 0)
            return lk_yaml_error(err, err_size, node, path, "out of memory");
        route->group_by_all = parent->group_by_all;
        route->group_wait_ms = parent->group_wait_ms;
        route->reopen_window_ms = parent->reopen_window_ms;
        route->has_severity = parent->has_severity;
        route->severity = parent->severity;
        if (parent->escalation_policy &&
            !(route->escalation_policy = strdup(parent->escalation_policy)))
            return lk_yaml_error(err, err_size, node, path, "out of memory");
    }

    const lk_yaml_node_t *matchers = lk_yaml_get(node, "matchers");
    snprintf(field, sizeof field, "%s.matchers", path);
    if (matchers && !parent)
        return lk_yaml_error(err, err_size, matchers, field,
                             "the root route matches every alert: put matchers on child routes");
    if (matchers && !lk_yaml_is_null(matchers)) {
        if (s_read_matchers(matchers, field, &route->matchers, &route->matcher_count,
                            &route->matchset, err, err_size) != 0)
            return -1;
    } else {
        char reason[128];
        route->matchset = lk_matchset_new(NULL, 0, reason, sizeof reason);
        if (!route->matchset)
            return lk_yaml_error(err, err_size, node, path, "%s", reason);
    }

    const lk_yaml_node_t *tenant = lk_yaml_get(node, "tenant");
    if (tenant) {
        snprintf(field, sizeof field, "%s.tenant", path);
        if (s_read_tenant(tenant, field, route->tenant_id, err, err_size) != 0)
            return -1;
        if (parent && parent->tenant_id[0] && strcmp(parent->tenant_id, route->tenant_id) != 0)
            return lk_yaml_error(err, err_size, tenant, field,
                                 "differs from the parent route's tenant %s: no alert could "
                                 "match",
                                 parent->tenant_id);
    }

    const lk_yaml_node_t *group_by = lk_yaml_get(node, "group_by");
    if (group_by) {
        snprintf(field, sizeof field, "%s.group_by", path);
        s_names_free(&route->group_by, &route->group_by_count);
        route->group_by_all = false;
        if (s_read_label_list(group_by, field, &route->group_by, &route->group_by_count, true,
                              &route->group_by_all, err, err_size) != 0)
            return -1;
    }

    const struct {
        const char *key;
        int64_t *out;
    } durations[] = {{"group_wait", &route->group_wait_ms},
                     {"reopen_window", &route->reopen_window_ms}};
    for (size_t i = 0; i < 2; i++) {
        const lk_yaml_node_t *value = lk_yaml_get(node, durations[i].key);
        snprintf(field, sizeof field, "%s.%s", path, durations[i].key);
        if (value && lk_yaml_duration(value, field, 0, durations[i].out, err, err_size) != 0)
            return -1;
    }

    const lk_yaml_node_t *severity = lk_yaml_get(node, "severity");
    if (severity) {
        snprintf(field, sizeof field, "%s.severity", path);
        if (severity->kind != LK_YAML_SCALAR || lk_yaml_is_null(severity) ||
            !lk_severity_parse(severity->text, &route->severity))
            return lk_yaml_error(err, err_size, severity, field,
                                 "expected info, warning, error or critical");
        route->has_severity = true;
    }

    const lk_yaml_node_t *policy = lk_yaml_get(node, "escalation_policy");
    if (policy) {
        snprintf(field, sizeof field, "%s.escalation_policy", path);
        free(route->escalation_policy);
        route->escalation_policy = NULL;
        if (lk_yaml_string(policy, field, 1, 128, &route->escalation_policy, err, err_size) != 0)
            return -1;
        if (!s_policy_known(config, route->escalation_policy))
            return lk_yaml_error(err, err_size, policy, field,
                                 "no escalation policy named '%s' (escalation_policies)",
                                 route->escalation_policy);
    }

    const lk_yaml_node_t *cont = lk_yaml_get(node, "continue");
    if (cont) {
        snprintf(field, sizeof field, "%s.continue", path);
        if (!parent)
            return lk_yaml_error(err, err_size, cont, field, "not allowed on the root route");
        if (lk_yaml_bool(cont, field, &route->continue_matching, err, err_size) != 0)
            return -1;
    }

    /* key: parent key + "/" + matchers, as Alertmanager's Route.Key */
    char *own = lk_matchers_format(route->matchers, route->matcher_count);
    if (own && parent) {
        size_t size = strlen(parent->key) + 1 + strlen(own) + 1;
        route->key = malloc(size);
        if (route->key)
            snprintf(route->key, size, "%s/%s", parent->key, own);
        free(own);
    } else
        route->key = own;
    if (!route->key)
        return lk_yaml_error(err, err_size, node, path, "out of memory");

    const lk_yaml_node_t *children = lk_yaml_get(node, "routes");
    if (children && !lk_yaml_is_null(children)) {
        snprintf(field, sizeof field, "%s.routes", path);
        if (lk_yaml_expect(children, LK_YAML_SEQUENCE, field, err, err_size) != 0)
            return -1;
        if (children->count) {
            route->routes = calloc(children->count, sizeof *route->routes);
            if (!route->routes)
                return lk_yaml_error(err, err_size, children, field, "out of memory");
        }
        for (size_t i = 0; i < children->count; i++) {
            char child_path[S_FIELD_MAX];
            snprintf(child_path, sizeof child_path, "%s.routes[%zu]", path, i);
            route->route_count = i + 1; /* so that clear frees a half-read child */
            if (s_parse_route(children->items[i], child_path, route, depth + 1, &route->routes[i],
                              config, total, err, err_size) != 0)
                return -1;
        }
    }
    return 0;
}

int lk_config_parse_route(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                          size_t err_size)
{
    config->routing.route = calloc(1, sizeof(lk_route_t));
    if (!config->routing.route)
        return lk_yaml_error(err, err_size, node, "route", "out of memory");
    size_t total = 0;
    int rc =
        s_parse_route(node, "route", NULL, 0, config->routing.route, config, &total, err, err_size);
    config->routing.route_total = total;
    return rc;
}

/* Walks one level: the first matching child is descended into (and, while children say
   continue, later ones too); no matching child makes route itself the match. */
static size_t s_match(const lk_route_t *route, const char *tenant_id, const lk_labels_t *labels,
                      const lk_route_t **matches, size_t found, size_t max)
{
    bool child_matched = false;
    for (size_t i = 0; i < route->route_count && found < max; i++) {
        const lk_route_t *child = &route->routes[i];
        if (child->tenant_id[0] && strcmp(child->tenant_id, tenant_id) != 0)
            continue;
        if (!lk_matchset_matches(child->matchset, labels))
            continue;
        child_matched = true;
        found = s_match(child, tenant_id, labels, matches, found, max);
        if (!child->continue_matching)
            break;
    }
    if (!child_matched && found < max)
        matches[found++] = route;
    return found;
}

size_t lk_route_match(const lk_route_t *root, const char *tenant_id, const lk_labels_t *labels,
                      const lk_route_t **matches, size_t max)
{
    if (!root || max == 0)
        return 0;
    return s_match(root, tenant_id, labels, matches, 0, max);
}

const lk_route_t *lk_route_find(const lk_route_t *root, const char *key)
{
    if (!root)
        return NULL;
    if (strcmp(root->key, key) == 0)
        return root;
    for (size_t i = 0; i < root->route_count; i++) {
        const lk_route_t *found = lk_route_find(&root->routes[i], key);
        if (found)
            return found;
    }
    return NULL;
}

/* ---- inhibit rules ----------------------------------------------------------------------- */

static void s_inhibit_rule_clear(lk_inhibit_rule_t *rule)
{
    lk_matchers_clear(&rule->source_matchers, &rule->source_matcher_count);
    lk_matchers_clear(&rule->target_matchers, &rule->target_matcher_count);
    lk_matchset_destroy(&rule->source);
    lk_matchset_destroy(&rule->target);
    s_names_free(&rule->equal, &rule->equal_count);
    memset(rule, 0, sizeof *rule);
}

static int s_parse_inhibit_rule(const lk_yaml_node_t *node, const char *path,
                                lk_inhibit_rule_t *rule, char *err, size_t err_size)
{
    static const char *const known[] = {"source_matchers", "target_matchers", "equal", "tenant",
                                        NULL};
    if (lk_yaml_expect(node, LK_YAML_MAPPING, path, err, err_size) != 0 ||
        lk_yaml_check_keys(node, path, known, err, err_size) != 0)
        return -1;
    rule->line = node->line;
    rule->column = node->column;
    char field[S_FIELD_MAX];
    const lk_yaml_node_t *source = lk_yaml_require(node, path, "source_matchers", err, err_size);
    snprintf(field, sizeof field, "%s.source_matchers", path);
    if (!source || s_read_matchers(source, field, &rule->source_matchers,
                                   &rule->source_matcher_count, &rule->source, err, err_size))
        return -1;
    const lk_yaml_node_t *target = lk_yaml_require(node, path, "target_matchers", err, err_size);
    snprintf(field, sizeof field, "%s.target_matchers", path);
    if (!target || s_read_matchers(target, field, &rule->target_matchers,
                                   &rule->target_matcher_count, &rule->target, err, err_size))
        return -1;
    const lk_yaml_node_t *equal = lk_yaml_get(node, "equal");
    if (equal && !lk_yaml_is_null(equal)) {
        snprintf(field, sizeof field, "%s.equal", path);
        if (s_read_label_list(equal, field, &rule->equal, &rule->equal_count, false, NULL, err,
                              err_size) != 0)
            return -1;
    }
    const lk_yaml_node_t *tenant = lk_yaml_get(node, "tenant");
    if (tenant) {
        snprintf(field, sizeof field, "%s.tenant", path);
        if (s_read_tenant(tenant, field, rule->tenant_id, err, err_size) != 0)
            return -1;
    }
    return 0;
}

int lk_config_parse_inhibit_rules(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                                  size_t err_size)
{
    if (lk_yaml_expect(node, LK_YAML_SEQUENCE, "inhibit_rules", err, err_size) != 0)
        return -1;
    if (node->count == 0)
        return 0;
    if (node->count > LK_INHIBIT_RULES_MAX)
        return lk_yaml_error(err, err_size, node, "inhibit_rules", "more than %d rules",
                             LK_INHIBIT_RULES_MAX);
    lk_routing_config_t *routing = &config->routing;
    routing->inhibit_rules = calloc(node->count, sizeof *routing->inhibit_rules);
    if (!routing->inhibit_rules)
        return lk_yaml_error(err, err_size, node, "inhibit_rules", "out of memory");
    for (size_t i = 0; i < node->count; i++) {
        char path[64];
        snprintf(path, sizeof path, "inhibit_rules[%zu]", i);
        routing->inhibit_rule_count = i + 1;
        if (s_parse_inhibit_rule(node->items[i], path, &routing->inhibit_rules[i], err, err_size) !=
            0)
            return -1;
    }
    return 0;
}

/* ---- heartbeats -------------------------------------------------------------------------- */

static bool s_heartbeat_name_valid(const char *name)
{
    size_t length = strlen(name);
    if (length == 0 || length > LK_HEARTBEAT_NAME_MAX)
        return false;
    for (const char *c = name; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '-' || *c == '.'))
            return false;
    return true;
}

static void s_heartbeat_decl_clear(lk_heartbeat_decl_t *heartbeat)
{
    free(heartbeat->name);
    lk_labels_clear(&heartbeat->labels);
    memset(heartbeat, 0, sizeof *heartbeat);
}

static int s_parse_heartbeat(const lk_yaml_node_t *node, const char *path,
                             lk_heartbeat_decl_t *heartbeat, char *err, size_t err_size)
{
    static const char *const known[] = {"name",     "tenant", "interval", "grace",
                                        "severity", "labels", NULL};
    if (lk_yaml_expect(node, LK_YAML_MAPPING, path, err, err_size) != 0 ||
        lk_yaml_check_keys(node, path, known, err, err_size) != 0)
        return -1;
    heartbeat->line = node->line;
    heartbeat->column = node->column;
    char field[S_FIELD_MAX];
    const lk_yaml_node_t *name = lk_yaml_require(node, path, "name", err, err_size);
    snprintf(field, sizeof field, "%s.name", path);
    if (!name ||
        lk_yaml_string(name, field, 1, LK_HEARTBEAT_NAME_MAX, &heartbeat->name, err, err_size))
        return -1;
    if (!s_heartbeat_name_valid(heartbeat->name))
        return lk_yaml_error(err, err_size, name, field,
                             "letters, digits, '_', '-' and '.' only (it is a URL segment)");
    snprintf(heartbeat->tenant_id, sizeof heartbeat->tenant_id, "%s", LK_SYSTEM_TENANT);
    const lk_yaml_node_t *tenant = lk_yaml_get(node, "tenant");
    snprintf(field, sizeof field, "%s.tenant", path);
    if (tenant && s_read_tenant(tenant, field, heartbeat->tenant_id, err, err_size) != 0)
        return -1;
    const lk_yaml_node_t *interval = lk_yaml_require(node, path, "interval", err, err_size);
    snprintf(field, sizeof field, "%s.interval", path);
    if (!interval ||
        lk_yaml_duration(interval, field, 1000, &heartbeat->interval_ms, err, err_size) != 0)
        return -1;
    heartbeat->grace_ms = LK_DEFAULT_HEARTBEAT_GRACE_MS;
    const lk_yaml_node_t *grace = lk_yaml_get(node, "grace");
    snprintf(field, sizeof field, "%s.grace", path);
    if (grace && lk_yaml_duration(grace, field, 0, &heartbeat->grace_ms, err, err_size) != 0)
        return -1;
    heartbeat->severity = LK_SEV_CRITICAL;
    const lk_yaml_node_t *severity = lk_yaml_get(node, "severity");
    if (severity) {
        snprintf(field, sizeof field, "%s.severity", path);
        if (severity->kind != LK_YAML_SCALAR || lk_yaml_is_null(severity) ||
            !lk_severity_parse(severity->text, &heartbeat->severity))
            return lk_yaml_error(err, err_size, severity, field,
                                 "expected info, warning, error or critical");
    }
    const lk_yaml_node_t *labels = lk_yaml_get(node, "labels");
    if (labels && !lk_yaml_is_null(labels)) {
        snprintf(field, sizeof field, "%s.labels", path);
        if (lk_yaml_expect(labels, LK_YAML_MAPPING, field, err, err_size) != 0)
            return -1;
        for (size_t i = 0; i < labels->count; i++) {
            const lk_yaml_node_t *entry = labels->items[i];
            char label_field[S_FIELD_MAX * 2];
            snprintf(label_field, sizeof label_field, "%s.%.400s", field, entry->key);
            if (!s_label_name_valid(entry->key) || strcmp(entry->key, "alertname") == 0 ||
                strcmp(entry->key, "monitor") == 0)
                return lk_yaml_error(err, err_size, entry, label_field,
                                     "invalid label name (alertname and monitor are set by "
                                     "Lookout)");
            char *value = NULL;
            if (lk_yaml_string(entry, label_field, 1, 4096, &value, err, err_size) != 0)
                return -1;
            int rc = lk_labels_set(&heartbeat->labels, entry->key, value);
            free(value);
            if (rc != 0)
                return lk_yaml_error(err, err_size, entry, label_field, "out of memory");
        }
    }
    return 0;
}

int lk_config_parse_heartbeats(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                               size_t err_size)
{
    if (lk_yaml_expect(node, LK_YAML_SEQUENCE, "heartbeats", err, err_size) != 0)
        return -1;
    if (node->count == 0)
        return 0;
    if (node->count > LK_HEARTBEATS_MAX)
        return lk_yaml_error(err, err_size, node, "heartbeats", "more than %d monitors",
                             LK_HEARTBEATS_MAX);
    lk_routing_config_t *routing = &config->routing;
    routing->heartbeats = calloc(node->count, sizeof *routing->heartbeats);
    if (!routing->heartbeats)
        return lk_yaml_error(err, err_size, node, "heartbeats", "out of memory");
    for (size_t i = 0; i < node->count; i++) {
        char path[64];
        snprintf(path, sizeof path, "heartbeats[%zu]", i);
        routing->heartbeat_count = i + 1;
        lk_heartbeat_decl_t *heartbeat = &routing->heartbeats[i];
        if (s_parse_heartbeat(node->items[i], path, heartbeat, err, err_size) != 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(routing->heartbeats[j].name, heartbeat->name) == 0 &&
                strcmp(routing->heartbeats[j].tenant_id, heartbeat->tenant_id) == 0) {
                char field[96];
                snprintf(field, sizeof field, "%s.name", path);
                return lk_yaml_error(err, err_size, lk_yaml_get(node->items[i], "name"), field,
                                     "duplicate monitor '%s' for tenant %s (heartbeats[%zu], "
                                     "line %d)",
                                     heartbeat->name, heartbeat->tenant_id, j,
                                     routing->heartbeats[j].line);
            }
    }
    return 0;
}

void lk_routing_config_clear(lk_routing_config_t *routing)
{
    if (routing->route) {
        s_route_clear(routing->route);
        free(routing->route);
    }
    for (size_t i = 0; i < routing->inhibit_rule_count; i++)
        s_inhibit_rule_clear(&routing->inhibit_rules[i]);
    free(routing->inhibit_rules);
    for (size_t i = 0; i < routing->heartbeat_count; i++)
        s_heartbeat_decl_clear(&routing->heartbeats[i]);
    free(routing->heartbeats);
    memset(routing, 0, sizeof *routing);
}
