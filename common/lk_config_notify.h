/*  lk_config_notify — the notification sections of the configuration (lk_config.h):
    escalation_policies, schedules, users, channels and notify_settings.

    These are parsed by lk_config_load like every other section (lk_config.c's section
    table calls the lk_config_parse_* functions below, in the order channels, users,
    schedules, escalation_policies, so that every reference is checked against sections
    already read) and documented in docs/configuration.md.

    Names are unique within their section; references between sections are resolved at
    load into indexes (a policy level's target names a schedule, a user or a channel; a
    schedule's members and a user's channels name users and channels), so a typo is a load
    error with file and line, never a silent no-op at 3 a.m.

    Secrets (webhook URLs, routing keys, tokens, passwords) are never written inline: each
    comes from a file (`*_file`, relative names are taken from the configuration file's
    folder) or an environment variable (`*_env`), read at load and never logged.
*/
#ifndef LK_CONFIG_NOTIFY_H
#define LK_CONFIG_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lk_model.h"

typedef struct lk_yaml_node_t lk_yaml_node_t;
typedef struct lk_config_t lk_config_t;

#define LK_NOTIFY_NAME_MAX    128  /* bytes of a policy, schedule, user or channel name */
#define LK_NOTIFY_URL_MAX     2048 /* bytes of a channel URL */
#define LK_NOTIFY_LEVELS_MAX  16   /* levels in one policy */
#define LK_NOTIFY_TARGETS_MAX 32   /* targets in one level */
#define LK_NOTIFY_MEMBERS_MAX 256  /* members of one rotation */
#define LK_NOTIFY_REPEAT_MAX  100  /* repeats of one policy */

/* ---- escalation policies --------------------------------------------------------------- */

typedef enum { LK_TARGET_SCHEDULE = 0, LK_TARGET_USER, LK_TARGET_CHANNEL } lk_target_type_t;

/* One target of a level: {schedule: NAME} | {user: NAME} | {channel: NAME}. */
typedef struct {
    lk_target_type_t type;
    char *name;
    size_t index; /* into schedules, users or channels: resolved at load */
} lk_policy_target_t;

typedef struct {
    int64_t delay_ms; /* wait after the previous level (level 0: after the trigger) */
    lk_policy_target_t *targets;
    size_t target_count;
} lk_policy_level_t;

/* `escalation_policies:` entry. Chosen for an incident (lk_config_select_policy) by name
   (a route's escalation_policy) or else by the first `match` that fits, in file order. */
typedef struct {
    char *name;
    char tenant_id[LK_UUID_STR_LEN + 1]; /* default LK_SYSTEM_TENANT */
    uint32_t severity_mask;              /* match.severity: bits (1u << lk_severity_t); 0 = any */
    lk_labels_t match_labels;            /* match.labels: each must equal the incident's */
    bool has_match;                      /* false: a catch-all (matches every incident) */
    lk_policy_level_t *levels;
    size_t level_count;
    uint32_t repeat;         /* extra passes over all levels while nobody acknowledges */
    int64_t repeat_delay_ms; /* wait after the last level before a repeat (default 5m) */
    int line;
    int column;
} lk_policy_t;

/* ---- schedules ------------------------------------------------------------------------- */

/* One rotation: members take turns, each for shift_length, handing off at handoff_time
   (local time of the schedule's zone). Shifts that are whole days follow the local
   calendar (a 1d shift hands off at 09:00 local on both sides of a DST change); shorter
   or uneven ones advance in absolute time from the first hand-off. */
typedef struct {
    char *name;     /* optional label; "" when not given */
    char **members; /* user names, in turn order */
    size_t *member_index;
    size_t member_count;
    int64_t shift_length_ms;
    int handoff_minute; /* minutes after local midnight of each hand-off (0..1439) */
    int64_t start_day;  /* the local date of the first hand-off, days since 1970-01-01 */
} lk_rotation_t;

/* A configured override: user takes the schedule during [starts_at, ends_at). */
typedef struct {
    char *user;
    size_t user_index;
    int64_t starts_at_ms;
    int64_t ends_at_ms;
} lk_schedule_override_t;

typedef struct {
    char *name;
    char tenant_id[LK_UUID_STR_LEN + 1]; /* default LK_SYSTEM_TENANT */
    char *time_zone;                     /* IANA name, e.g. "Europe/Amsterdam"; default UTC */
    lk_rotation_t *rotations;
    size_t rotation_count;
    lk_schedule_override_t *overrides;
    size_t override_count;
    int line;
    int column;
} lk_schedule_t;

/* ---- users ----------------------------------------------------------------------------- */

typedef struct {
    char *name;
    char *email;      /* for email channels; NULL when none */
    char *phone;      /* E.164, for sms channels; NULL when none */
    char *slack_id;   /* mentioned as <@ID> in Slack messages; NULL when none */
    char *discord_id; /* mentioned as <@ID> in Discord messages; NULL when none */
    char **channels;  /* channel names through which this user is notified */
    size_t *channel_index;
    size_t channel_count;
    int line;
    int column;
} lk_user_t;

/* ---- channels -------------------------------------------------------------------------- */

typedef enum {
    LK_CHANNEL_SLACK = 0,
    LK_CHANNEL_DISCORD,
    LK_CHANNEL_PAGERDUTY,
    LK_CHANNEL_EMAIL,
    LK_CHANNEL_SMS,
    LK_CHANNEL_WEBHOOK,
    LK_CHANNEL_DECKHAND,
} lk_channel_type_t;

/* SMTP transport security: none (plain smtp://), starttls (upgrade required), tls
   (smtps://, implicit TLS). */
typedef enum { LK_TLS_NONE = 0, LK_TLS_STARTTLS, LK_TLS_IMPLICIT } lk_tls_mode_t;

typedef struct {
    char *name;
    lk_channel_type_t type;
    char *url;      /* where to deliver: webhook URL, Events API URL, smtp(s)://host:port,
                       Twilio Messages URL; for slack/discord usually a secret (url_file) */
    char *secret;   /* pagerduty routing key, webhook HMAC key, deckhand bearer token, Twilio
                       auth token, SMTP password; NULL when none */
    char *username; /* SMTP user name, Twilio account SID; NULL when none */
    char *from;     /* email From address, SMS sender number */
    char **to;      /* email/sms: fixed recipients when the channel itself is a target */
    size_t to_count;
    lk_tls_mode_t tls;
    bool verify_tls;            /* verify peer certificates (default true) */
    lk_labels_t require_labels; /* notify only incidents with these labels (deckhand default:
                                   customer_facing=true) */
    int64_t timeout_ms;         /* 0 = notify_settings.timeout */
    int line;
    int column;
} lk_channel_t;

/* True when the channel type can send an acknowledge / a resolve for a delivered trigger. */
bool lk_channel_mirrors_ack(lk_channel_type_t type);
bool lk_channel_mirrors_resolve(lk_channel_type_t type);
const char *lk_channel_type_name(lk_channel_type_t type);

/* ---- notify_settings ------------------------------------------------------------------- */

typedef struct {
    bool allow_private_destinations; /* loopback/private addresses allowed (tests, labs) */
    int64_t timeout_ms;              /* one delivery attempt, default 10s */
    uint32_t max_attempts;           /* default 6 */
    int64_t backoff_initial_ms;      /* default 1s; doubled per attempt, with jitter */
    int64_t backoff_max_ms;          /* default 5m */
    uint32_t channel_rate_count;     /* per channel: at most count per channel_rate_per */
    int64_t channel_rate_per_ms;     /*   (count 0 = unlimited; default 60 per 1m) */
    uint32_t target_rate_count;      /* per channel and target (default 10 per 1m) */
    int64_t target_rate_per_ms;
    char *public_url; /* base of incident links in messages, e.g. https://lookout.example.com;
                         NULL = no links */
} lk_notify_settings_t;

typedef struct {
    lk_policy_t *policies;
    size_t policy_count;
    lk_schedule_t *schedules;
    size_t schedule_count;
    lk_user_t *users;
    size_t user_count;
    lk_channel_t *channels;
    size_t channel_count;
    lk_notify_settings_t settings;
} lk_notify_config_t;

/* Sets the defaults of an empty notify configuration. */
void lk_notify_config_init(lk_notify_config_t *notify);
/* Frees everything (secrets are wiped first) and zeroes it. */
void lk_notify_config_clear(lk_notify_config_t *notify);

/* Section parsers for lk_config.c's table (same contract as its s_section_fn: 0, or -1
   with "FILE:LINE:COL: field: problem" in err). */
int lk_config_parse_notify_settings(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                                    size_t err_size);
int lk_config_parse_channels(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                             size_t err_size);
int lk_config_parse_users(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                          size_t err_size);
int lk_config_parse_schedules(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                              size_t err_size);
int lk_config_parse_escalation_policies(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                                        size_t err_size);

/* Lookups by name (policies and schedules within a tenant); NULL when absent. */
const lk_policy_t *lk_config_find_policy(const lk_config_t *config, const char *tenant_id,
                                         const char *name);
const lk_schedule_t *lk_config_find_schedule(const lk_config_t *config, const char *tenant_id,
                                             const char *name);
const lk_user_t *lk_config_find_user(const lk_config_t *config, const char *name);
const lk_channel_t *lk_config_find_channel(const lk_config_t *config, const char *name);

/* The escalation policy for an incident of tenant_id. Precedence:
     1. route_policy (the escalation_policy of the route that opened the incident), when
        given and defined for the tenant;
     2. the first policy of the tenant, in file order, whose match fits: severity in
        match.severity (any when not given) and every match.labels pair equal in labels
        (the incident's group labels and the labels all its alerts share);
     3. none: the incident is not escalated.
   A policy without `match` fits every incident, so it belongs last. */
const lk_policy_t *lk_config_select_policy(const lk_config_t *config, const char *tenant_id,
                                           const char *route_policy, lk_severity_t severity,
                                           const lk_labels_t *labels);

#endif
