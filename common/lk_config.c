/*  lk_config — the YAML configuration file: its sections, their defaults and validation.

    The file is parsed into an lk_yaml tree first; each top-level key is then handed to its
    section parser from s_sections, which turns nodes into the typed model of lk_config.h
    and reports the first problem with file, line, column and field path. A key that no
    section claims is an error, as is any unknown key inside a section.
*/
#include "lk_config.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lk_yaml.h"

#define S_DEFAULT_INTERVAL_MS        15000
#define S_DEFAULT_QUERY_TIMEOUT_MS   10000
#define S_DEFAULT_RESEND_INTERVAL_MS 60000
#define S_QUERY_URL_MAX              2048

typedef int(s_section_fn)(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                          size_t err_size);

/* ---- shared field readers --------------------------------------------------------------- */

/* Prometheus label names: [a-zA-Z_][a-zA-Z0-9_]*, and the "__" prefix is reserved. */
static bool s_label_name_valid(const char *name)
{
    if (!*name || !(isalpha((unsigned char)*name) || *name == '_'))
        return false;
    for (const char *c = name; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '_'))
            return false;
    return strncmp(name, "__", 2) != 0;
}

/* A mapping of label-style names to strings (labels, annotations) added to *out; value_min
   is 1 when values must not be empty. */
static int s_read_string_map(const lk_yaml_node_t *node, const char *path, size_t value_min,
                             size_t value_max, lk_labels_t *out, char *err, size_t err_size)
{
    if (lk_yaml_is_null(node))
        return 0;
    if (lk_yaml_expect(node, LK_YAML_MAPPING, path, err, err_size) != 0)
        return -1;
    if (node->count > LK_RULE_LABELS_MAX)
        return lk_yaml_error(err, err_size, node, path, "more than %d entries", LK_RULE_LABELS_MAX);
    for (size_t i = 0; i < node->count; i++) {
        const lk_yaml_node_t *entry = node->items[i];
        char field[512];
        snprintf(field, sizeof field, "%s.%s", path, entry->key);
        if (!s_label_name_valid(entry->key)) {
            snprintf(err, err_size,
                     "%s:%d:%d: %s: invalid name (letters, digits and '_', not starting with a "
                     "digit or '__')",
                     entry->file, entry->key_line, entry->key_column, field);
            return -1;
        }
        char *value = NULL;
        if (lk_yaml_string(entry, field, value_min, value_max, &value, err, err_size) != 0)
            return -1;
        int rc = lk_labels_set(out, entry->key, value);
        free(value);
        if (rc != 0)
            return lk_yaml_error(err, err_size, entry, field, "out of memory");
    }
    return 0;
}

/* Reads whichever of two synonymous keys is present into *chosen; both present is an error
   at the second one. Leaves *chosen NULL when neither is. */
static int s_one_of(const lk_yaml_node_t *mapping, const char *path, const char *key,
                    const char *synonym, const lk_yaml_node_t **chosen, char *err, size_t err_size)
{
    const lk_yaml_node_t *first = lk_yaml_get(mapping, key);
    const lk_yaml_node_t *second = lk_yaml_get(mapping, synonym);
    if (first && second) {
        const lk_yaml_node_t *later = first->key_line > second->key_line ? first : second;
        snprintf(err, err_size, "%s:%d:%d: %s: '%s' and '%s' mean the same: give only one",
                 later->file, later->key_line, later->key_column, path, key, synonym);
        return -1;
    }
    *chosen = first ? first : second;
    return 0;
}

/* ---- rules ----------------------------------------------------------------------------- */

static void s_rule_clear(lk_rule_t *rule)
{
    free(rule->name);
    free(rule->query);
    lk_labels_clear(&rule->labels);
    lk_labels_clear(&rule->annotations);
    memset(rule, 0, sizeof *rule);
}

static int s_parse_rule(const lk_yaml_node_t *node, const char *path, lk_rule_t *rule, char *err,
                        size_t err_size)
{
    static const char *const known[] = {"name",   "query",    "expr",   "duration",
                                        "for",    "severity", "labels", "annotations",
                                        "tenant", "interval", NULL};
    if (lk_yaml_expect(node, LK_YAML_MAPPING, path, err, err_size) != 0 ||
        lk_yaml_check_keys(node, path, known, err, err_size) != 0)
        return -1;
    rule->line = node->line;
    rule->column = node->column;
    char field[256];

    const lk_yaml_node_t *name = lk_yaml_require(node, path, "name", err, err_size);
    snprintf(field, sizeof field, "%s.name", path);
    if (!name || lk_yaml_string(name, field, 1, LK_RULE_NAME_MAX, &rule->name, err, err_size))
        return -1;

    const lk_yaml_node_t *query = NULL;
    if (s_one_of(node, path, "query", "expr", &query, err, err_size) != 0)
        return -1;
    if (!query) {
        snprintf(field, sizeof field, "%s.query", path);
        return lk_yaml_error(err, err_size, node, field, "is required (the PromQL to evaluate)");
    }
    snprintf(field, sizeof field, "%s.%s", path, query->key);
    if (lk_yaml_string(query, field, 1, LK_RULE_QUERY_MAX, &rule->query, err, err_size) != 0)
        return -1;
    bool blank = true;
    for (const char *c = rule->query; *c && blank; c++)
        blank = isspace((unsigned char)*c);
    if (blank)
        return lk_yaml_error(err, err_size, query, field, "must not be empty");

    const lk_yaml_node_t *duration = NULL;
    if (s_one_of(node, path, "duration", "for", &duration, err, err_size) != 0)
        return -1;
    if (duration) {
        snprintf(field, sizeof field, "%s.%s", path, duration->key);
        if (lk_yaml_duration(duration, field, 0, &rule->duration_ms, err, err_size) != 0)
            return -1;
    }

    const lk_yaml_node_t *interval = lk_yaml_get(node, "interval");
    if (interval) {
        snprintf(field, sizeof field, "%s.interval", path);
        if (lk_yaml_duration(interval, field, 1000, &rule->interval_ms, err, err_size) != 0)
            return -1;
    }

    snprintf(field, sizeof field, "%s.labels", path);
    const lk_yaml_node_t *labels = lk_yaml_get(node, "labels");
    if (labels &&
        s_read_string_map(labels, field, 1, LK_RULE_LABEL_MAX, &rule->labels, err, err_size) != 0)
        return -1;
    if (labels && lk_labels_get(&rule->labels, "alertname")) {
        const lk_yaml_node_t *alertname = lk_yaml_get(labels, "alertname");
        snprintf(field, sizeof field, "%s.labels.alertname", path);
        return lk_yaml_error(err, err_size, alertname, field,
                             "not allowed: the rule's name is its alertname");
    }

    snprintf(field, sizeof field, "%s.annotations", path);
    const lk_yaml_node_t *annotations = lk_yaml_get(node, "annotations");
    if (annotations && s_read_string_map(annotations, field, 0, LK_RULE_ANNOTATION_MAX,
                                         &rule->annotations, err, err_size) != 0)
        return -1;

    /* The severity is given once: as `severity`, or as a `severity` label written the
       Prometheus way. The alert always carries both the field and the label. */
    const lk_yaml_node_t *severity = lk_yaml_get(node, "severity");
    const char *severity_label = lk_labels_get(&rule->labels, "severity");
    rule->severity = LK_SEV_WARNING;
    if (severity && severity_label) {
        snprintf(field, sizeof field, "%s.labels.severity", path);
        return lk_yaml_error(err, err_size, lk_yaml_get(labels, "severity"), field,
                             "the rule already has 'severity': give it only once");
    }
    if (severity) {
        snprintf(field, sizeof field, "%s.severity", path);
        if (severity->kind != LK_YAML_SCALAR || lk_yaml_is_null(severity) ||
            !lk_severity_parse(severity->text, &rule->severity))
            return lk_yaml_error(err, err_size, severity, field,
                                 "expected info, warning, error or critical");
    } else if (severity_label) {
        snprintf(field, sizeof field, "%s.labels.severity", path);
        if (!lk_severity_parse(severity_label, &rule->severity))
            return lk_yaml_error(err, err_size, lk_yaml_get(labels, "severity"), field,
                                 "expected info, warning, error or critical");
    }
    if (!severity_label &&
        lk_labels_set(&rule->labels, "severity", lk_severity_name(rule->severity)) != 0)
        return lk_yaml_error(err, err_size, node, path, "out of memory");

    snprintf(rule->tenant_id, sizeof rule->tenant_id, "%s", LK_SYSTEM_TENANT);
    const lk_yaml_node_t *tenant = lk_yaml_get(node, "tenant");
    if (tenant) {
        snprintf(field, sizeof field, "%s.tenant", path);
        if (tenant->kind != LK_YAML_SCALAR || !lk_uuid_valid(tenant->text))
            return lk_yaml_error(err, err_size, tenant, field, "expected a tenant UUID like %s",
                                 LK_SYSTEM_TENANT);
        for (size_t i = 0; i < LK_UUID_STR_LEN; i++)
            rule->tenant_id[i] = (char)tolower((unsigned char)tenant->text[i]);
        rule->tenant_id[LK_UUID_STR_LEN] = '\0';
    }
    return 0;
}

static int s_parse_rules(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                         size_t err_size)
{
    if (lk_yaml_expect(node, LK_YAML_SEQUENCE, "rules", err, err_size) != 0)
        return -1;
    if (node->count == 0)
        return 0;
    config->rules = calloc(node->count, sizeof *config->rules);
    if (!config->rules)
        return lk_yaml_error(err, err_size, node, "rules", "out of memory");
    for (size_t i = 0; i < node->count; i++) {
        char path[64];
        snprintf(path, sizeof path, "rules[%zu]", i);
        lk_rule_t *rule = &config->rules[i];
        config->rule_count = i + 1; /* so that destroy frees a half-read rule */
        if (s_parse_rule(node->items[i], path, rule, err, err_size) != 0)
            return -1;
        for (size_t j = 0; j < i; j++) {
            const lk_rule_t *earlier = &config->rules[j];
            if (strcmp(earlier->name, rule->name) == 0 &&
                strcmp(earlier->tenant_id, rule->tenant_id) == 0) {
                char field[96];
                snprintf(field, sizeof field, "%s.name", path);
                return lk_yaml_error(err, err_size, lk_yaml_get(node->items[i], "name"), field,
                                     "duplicate rule name '%s' for tenant %s (rules[%zu], "
                                     "line %d)",
                                     rule->name, rule->tenant_id, j, earlier->line);
            }
        }
    }
    return 0;
}

/* ---- rules_settings -------------------------------------------------------------------- */

static int s_parse_rules_settings(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                                  size_t err_size)
{
    static const char *const known[] = {"query_url", "interval", "query_timeout", "resend_interval",
                                        NULL};
    const char *path = "rules_settings";
    if (lk_yaml_expect(node, LK_YAML_MAPPING, path, err, err_size) != 0 ||
        lk_yaml_check_keys(node, path, known, err, err_size) != 0)
        return -1;
    lk_rules_settings_t *settings = &config->rules_settings;

    const lk_yaml_node_t *url = lk_yaml_get(node, "query_url");
    if (url && !lk_yaml_is_null(url)) {
        if (lk_yaml_string(url, "rules_settings.query_url", 1, S_QUERY_URL_MAX,
                           &settings->query_url, err, err_size) != 0)
            return -1;
        if (strncmp(settings->query_url, "http://", 7) != 0 &&
            strncmp(settings->query_url, "https://", 8) != 0)
            return lk_yaml_error(err, err_size, url, "rules_settings.query_url",
                                 "expected an http:// or https:// URL");
        size_t length = strlen(settings->query_url);
        while (length > 0 && settings->query_url[length - 1] == '/')
            settings->query_url[--length] = '\0';
    }
    const struct {
        const char *key;
        int64_t min_ms;
        int64_t *out;
    } durations[] = {
        {"interval", 1000, &settings->interval_ms},
        {"query_timeout", 100, &settings->query_timeout_ms},
        {"resend_interval", 1000, &settings->resend_interval_ms},
    };
    for (size_t i = 0; i < sizeof durations / sizeof *durations; i++) {
        const lk_yaml_node_t *value = lk_yaml_get(node, durations[i].key);
        char field[64];
        snprintf(field, sizeof field, "%s.%s", path, durations[i].key);
        if (value && lk_yaml_duration(value, field, durations[i].min_ms, durations[i].out, err,
                                      err_size) != 0)
            return -1;
    }
    return 0;
}

/* ---- integrations ---------------------------------------------------------------------- */

/* Reads the key file named by node (relative names are taken from the configuration file's
   folder) into *key, without trailing blanks and line ends. Errors never quote the file's
   content. */
static int s_read_key_file(const lk_yaml_node_t *node, const char *field, char **key, char *err,
                           size_t err_size)
{
    char *name = NULL;
    if (lk_yaml_string(node, field, 1, 4096, &name, err, err_size) != 0)
        return -1;
    char path[4096 + 512];
    const char *slash = node->file ? strrchr(node->file, '/') : NULL;
    if (name[0] != '/' && slash)
        snprintf(path, sizeof path, "%.*s/%s", (int)(slash - node->file), node->file, name);
    else
        snprintf(path, sizeof path, "%s", name);
    free(name);
    FILE *file = fopen(path, "r");
    if (!file)
        return lk_yaml_error(err, err_size, node, field, "cannot read %s", path);
    char buffer[256];
    size_t length = fread(buffer, 1, sizeof buffer - 1, file);
    bool more = fgetc(file) != EOF;
    fclose(file);
    buffer[length] = '\0';
    while (length > 0 && isspace((unsigned char)buffer[length - 1]))
        buffer[--length] = '\0';
    if (more || strlen(buffer) != length) {
        explicit_bzero(buffer, sizeof buffer);
        return lk_yaml_error(err, err_size, node, field, "%s does not hold a single key", path);
    }
    *key = strdup(buffer);
    explicit_bzero(buffer, sizeof buffer);
    if (!*key)
        return lk_yaml_error(err, err_size, node, field, "out of memory");
    return 0;
}

static void s_integration_clear(lk_integration_t *integration)
{
    free(integration->name);
    if (integration->routing_key) {
        explicit_bzero(integration->routing_key, strlen(integration->routing_key));
        free(integration->routing_key);
    }
    memset(integration, 0, sizeof *integration);
}

static int s_parse_integration(const lk_yaml_node_t *node, const char *path,
                               lk_integration_t *integration, char *err, size_t err_size)
{
    static const char *const known[] = {"name", "routing_key", "routing_key_file", "tenant", NULL};
    if (lk_yaml_expect(node, LK_YAML_MAPPING, path, err, err_size) != 0 ||
        lk_yaml_check_keys(node, path, known, err, err_size) != 0)
        return -1;
    integration->line = node->line;
    integration->column = node->column;
    char field[128];

    const lk_yaml_node_t *name = lk_yaml_require(node, path, "name", err, err_size);
    snprintf(field, sizeof field, "%s.name", path);
    if (!name || lk_yaml_string(name, field, 1, LK_INTEGRATION_NAME_MAX, &integration->name, err,
                                err_size) != 0)
        return -1;

    const lk_yaml_node_t *key = NULL;
    if (s_one_of(node, path, "routing_key", "routing_key_file", &key, err, err_size) != 0)
        return -1;
    if (!key) {
        snprintf(field, sizeof field, "%s.routing_key", path);
        return lk_yaml_error(err, err_size, node, field,
                             "is required (or routing_key_file naming a file that holds it)");
    }
    snprintf(field, sizeof field, "%s.%s", path, key->key);
    if (strcmp(key->key, "routing_key") == 0) {
        /* lk_yaml_string's messages name the length, never the text */
        if (lk_yaml_string(key, field, 1, 4096, &integration->routing_key, err, err_size) != 0)
            return -1;
    } else if (s_read_key_file(key, field, &integration->routing_key, err, err_size) != 0)
        return -1;
    bool alphanumeric = true;
    for (const char *c = integration->routing_key; *c; c++)
        alphanumeric = alphanumeric && isalnum((unsigned char)*c);
    if (strlen(integration->routing_key) != LK_INTEGRATION_KEY_LEN || !alphanumeric)
        return lk_yaml_error(err, err_size, key, field,
                             "the key must be %d letters and digits (like a PagerDuty "
                             "integration key)",
                             LK_INTEGRATION_KEY_LEN);

    const lk_yaml_node_t *tenant = lk_yaml_require(node, path, "tenant", err, err_size);
    if (!tenant)
        return -1;
    snprintf(field, sizeof field, "%s.tenant", path);
    if (tenant->kind != LK_YAML_SCALAR || !lk_uuid_valid(tenant->text))
        return lk_yaml_error(err, err_size, tenant, field, "expected a tenant UUID like %s",
                             LK_SYSTEM_TENANT);
    for (size_t i = 0; i < LK_UUID_STR_LEN; i++)
        integration->tenant_id[i] = (char)tolower((unsigned char)tenant->text[i]);
    integration->tenant_id[LK_UUID_STR_LEN] = '\0';
    return 0;
}

static int s_parse_integrations(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                                size_t err_size)
{
    if (lk_yaml_expect(node, LK_YAML_SEQUENCE, "integrations", err, err_size) != 0)
        return -1;
    if (node->count == 0)
        return 0;
    config->integrations = calloc(node->count, sizeof *config->integrations);
    if (!config->integrations)
        return lk_yaml_error(err, err_size, node, "integrations", "out of memory");
    for (size_t i = 0; i < node->count; i++) {
        char path[64];
        snprintf(path, sizeof path, "integrations[%zu]", i);
        lk_integration_t *integration = &config->integrations[i];
        config->integration_count = i + 1; /* so that destroy frees a half-read entry */
        if (s_parse_integration(node->items[i], path, integration, err, err_size) != 0)
            return -1;
        for (size_t j = 0; j < i; j++) {
            const lk_integration_t *earlier = &config->integrations[j];
            char field[96];
            if (strcmp(earlier->name, integration->name) == 0) {
                snprintf(field, sizeof field, "%s.name", path);
                return lk_yaml_error(err, err_size, lk_yaml_get(node->items[i], "name"), field,
                                     "duplicate integration name '%s' (integrations[%zu], line %d)",
                                     integration->name, j, earlier->line);
            }
            if (strcmp(earlier->routing_key, integration->routing_key) == 0) {
                snprintf(field, sizeof field, "%s", path);
                return lk_yaml_error(err, err_size, node->items[i], field,
                                     "same key as integrations[%zu] (line %d): every "
                                     "integration needs its own key",
                                     j, earlier->line);
            }
        }
    }
    return 0;
}

/* ---- the file -------------------------------------------------------------------------- */

/* Every top-level key and its parser. Sections not yet implemented (routes, inhibit_rules,
   escalation_policies, schedules, channels, status) are unknown keys until they get a row. */
static const struct {
    const char *name;
    s_section_fn *parse;
} s_sections[] = {
    {"rules", s_parse_rules},
    {"rules_settings", s_parse_rules_settings},
    {"integrations", s_parse_integrations},
    /* notification sections (lk_config_notify.c), in this order: each refers only to
       sections above it */
    {"notify_settings", lk_config_parse_notify_settings},
    {"channels", lk_config_parse_channels},
    {"users", lk_config_parse_users},
    {"schedules", lk_config_parse_schedules},
    {"escalation_policies", lk_config_parse_escalation_policies},
    /* correlation sections (lk_config_routes.c); route refers to escalation_policies */
    {"route", lk_config_parse_route},
    {"inhibit_rules", lk_config_parse_inhibit_rules},
    {"heartbeats", lk_config_parse_heartbeats},
    /* status pages (lk_config_status.c) */
    {"status_pages", lk_config_parse_status_pages},
};
#define S_SECTION_COUNT (sizeof s_sections / sizeof *s_sections)

static lk_config_t *s_config_new(void)
{
    lk_config_t *config = calloc(1, sizeof *config);
    if (!config)
        return NULL;
    config->rules_settings.interval_ms = S_DEFAULT_INTERVAL_MS;
    config->rules_settings.query_timeout_ms = S_DEFAULT_QUERY_TIMEOUT_MS;
    config->rules_settings.resend_interval_ms = S_DEFAULT_RESEND_INTERVAL_MS;
    lk_notify_config_init(&config->notify);
    return config;
}

static int s_parse_document(const lk_yaml_doc_t *doc, lk_config_t *config, char *err,
                            size_t err_size)
{
    const lk_yaml_node_t *root = doc->root;
    if (lk_yaml_is_null(root))
        return 0; /* an empty file is the empty configuration */
    if (root->kind != LK_YAML_MAPPING)
        return lk_yaml_error(err, err_size, root, NULL,
                             "expected a mapping of sections (rules:, rules_settings:, ...), "
                             "found a %s",
                             lk_yaml_kind_name(root->kind));
    const char *known[S_SECTION_COUNT + 1];
    for (size_t i = 0; i < S_SECTION_COUNT; i++)
        known[i] = s_sections[i].name;
    known[S_SECTION_COUNT] = NULL;
    if (lk_yaml_check_keys(root, NULL, known, err, err_size) != 0)
        return -1;
    for (size_t i = 0; i < S_SECTION_COUNT; i++) {
        const lk_yaml_node_t *section = lk_yaml_get(root, s_sections[i].name);
        if (!lk_yaml_is_null(section) && s_sections[i].parse(section, config, err, err_size))
            return -1;
    }
    return 0;
}

static int s_load(const char *name, lk_yaml_doc_t *doc, lk_config_t **config_p, char *err,
                  size_t err_size)
{
    *config_p = NULL;
    if (!doc)
        return -1;
    lk_config_t *config = s_config_new();
    if (!config || !(config->path = strdup(name))) {
        snprintf(err, err_size, "%s: out of memory", name);
        lk_config_destroy(&config);
        lk_yaml_destroy(&doc);
        return -1;
    }
    int rc = s_parse_document(doc, config, err, err_size);
    lk_yaml_destroy(&doc);
    if (rc != 0) {
        lk_config_destroy(&config);
        return -1;
    }
    *config_p = config;
    return 0;
}

int lk_config_load(const char *path, lk_config_t **config_p, char *err, size_t err_size)
{
    assert(config_p && err && err_size);
    err[0] = '\0';
    if (!path || !*path) {
        *config_p = s_config_new();
        if (!*config_p) {
            snprintf(err, err_size, "configuration: out of memory");
            return -1;
        }
        return 0;
    }
    return s_load(path, lk_yaml_load_file(path, err, err_size), config_p, err, err_size);
}

int lk_config_load_string(const char *name, const char *text, size_t size, lk_config_t **config_p,
                          char *err, size_t err_size)
{
    assert(name && config_p && err && err_size);
    err[0] = '\0';
    return s_load(name, lk_yaml_load_string(name, text, size, err, err_size), config_p, err,
                  err_size);
}

void lk_config_destroy(lk_config_t **self_p)
{
    assert(self_p);
    lk_config_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->rule_count; i++)
        s_rule_clear(&self->rules[i]);
    free(self->rules);
    free(self->rules_settings.query_url);
    for (size_t i = 0; i < self->integration_count; i++)
        s_integration_clear(&self->integrations[i]);
    free(self->integrations);
    lk_notify_config_clear(&self->notify);
    lk_routing_config_clear(&self->routing);
    lk_status_config_clear(&self->status);
    free(self->path);
    free(self);
    *self_p = NULL;
}

const lk_rule_t *lk_config_find_rule(const lk_config_t *config, const char *tenant_id,
                                     const char *name)
{
    for (size_t i = 0; config && i < config->rule_count; i++)
        if (strcmp(config->rules[i].name, name) == 0 &&
            strcasecmp(config->rules[i].tenant_id, tenant_id) == 0)
            return &config->rules[i];
    return NULL;
}
