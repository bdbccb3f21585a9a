/*  lk_config — the structured configuration: one YAML file named by LOOKOUT_CONFIG.

    Environment variables carry deployment settings (env.example); this file carries what an
    operator edits as a whole: alert rules now, and routes, escalation policies, schedules,
    channels and status components as those arrive. The format is documented in
    docs/configuration.md, with config/lookout.example.yaml as a complete example.

    Loading is all-or-nothing: the first problem makes lk_config_load fail with one message
    naming file, line, column and field ("lookout.yaml:12:7: rules[2].duration: expected a
    duration like 30s, 5m, 1h"), so a program that reloads on SIGHUP can keep the
    configuration it has. Unknown keys are errors at every level, so a misspelt key never
    passes silently.

    Adding a section: a member here, a parser in lk_config.c's section table, a paragraph in
    docs/configuration.md.
*/
#ifndef LK_CONFIG_H
#define LK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "lk_config_notify.h"
#include "lk_config_routes.h"
#include "lk_config_status.h"
#include "lk_model.h"

#define LK_CONFIG_ENV "LOOKOUT_CONFIG" /* names the file; unset = empty configuration */

#define LK_RULE_NAME_MAX       256   /* bytes of a rule name (it becomes the alertname) */
#define LK_RULE_QUERY_MAX      4096  /* bytes of a PromQL query (as alerts' `query`) */
#define LK_RULE_LABELS_MAX     64    /* labels, and annotations, per rule */
#define LK_RULE_LABEL_MAX      4096  /* bytes of a label value */
#define LK_RULE_ANNOTATION_MAX 16384 /* bytes of an annotation value */

/* One alert rule (`rules:` entry). Strings and sets are owned by the configuration. */
typedef struct {
    char *name;          /* alertname */
    char *query;         /* PromQL, evaluated as an instant query */
    int64_t duration_ms; /* `duration` or `for`: pending this long → firing */
    int64_t interval_ms; /* 0 = rules_settings.interval */
    lk_severity_t severity;
    lk_labels_t labels;                  /* added to every alert; values may be templates */
    lk_labels_t annotations;             /* values may be templates */
    char tenant_id[LK_UUID_STR_LEN + 1]; /* lower case; default LK_SYSTEM_TENANT */
    int line;                            /* where the rule starts in the file, for messages */
    int column;
} lk_rule_t;

/* `rules_settings:` — how lookout-rules evaluates the rules. */
typedef struct {
    char *query_url;            /* base URL of a Prometheus-compatible API, no trailing '/';
                                   NULL = unset (LOOKOUT_RULES_QUERY_URL may supply it) */
    int64_t interval_ms;        /* default 15s */
    int64_t query_timeout_ms;   /* default 10s */
    int64_t resend_interval_ms; /* firing alerts are re-sent this often; default 1m */
} lk_rules_settings_t;

#define LK_INTEGRATION_NAME_MAX 128 /* bytes of an integration name */
#define LK_INTEGRATION_KEY_LEN  32  /* an integration key: 32 letters/digits, like PagerDuty's */

/* One intake integration (`integrations:` entry): a secret key that stands for a tenant,
   as a PagerDuty Events v2 `routing_key` or as the Bearer credential of the Prometheus and
   Alertmanager endpoints. The key is a secret: it is never logged or put in a message. */
typedef struct {
    char *name;                          /* unique; shown in logs and as the actor */
    char *routing_key;                   /* LK_INTEGRATION_KEY_LEN alphanumerics */
    char tenant_id[LK_UUID_STR_LEN + 1]; /* lower case */
    int line;                            /* where the entry starts in the file */
    int column;
} lk_integration_t;

typedef struct lk_config_t {
    char *path; /* the file it was loaded from; NULL for the empty configuration */
    lk_rule_t *rules;
    size_t rule_count;
    lk_rules_settings_t rules_settings;
    lk_integration_t *integrations; /* `integrations:` */
    size_t integration_count;
    lk_notify_config_t notify;   /* escalation_policies, schedules, users, channels,
                                    notify_settings (lk_config_notify.h) */
    lk_routing_config_t routing; /* route, inhibit_rules, heartbeats (lk_config_routes.h) */
    lk_status_config_t status;   /* status_pages (lk_config_status.h) */
} lk_config_t;

/* Loads the file at path (NULL or "" = the empty configuration: no rules, defaults
   everywhere). On success returns 0 and *config_p = a new configuration (caller destroys).
   On failure returns -1, *config_p = NULL and err holds one line "FILE:LINE:COL: field:
   problem" (or "FILE: problem" when the file cannot be read). */
int lk_config_load(const char *path, lk_config_t **config_p, char *err, size_t err_size);
/* Same from text in memory; name stands for the file in positions and errors. */
int lk_config_load_string(const char *name, const char *text, size_t size, lk_config_t **config_p,
                          char *err, size_t err_size);
/* Frees the configuration; accepts NULL; sets *self_p to NULL. */
void lk_config_destroy(lk_config_t **self_p);

/* The rule of tenant with this name, or NULL. */
const lk_rule_t *lk_config_find_rule(const lk_config_t *config, const char *tenant_id,
                                     const char *name);

#endif
