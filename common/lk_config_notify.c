/*  lk_config_notify — parsing and validation of the notification sections (see
    lk_config_notify.h and docs/configuration.md).

    Each section parser reads its list, checks every key against the fields its kind
    accepts, resolves names against the sections parsed before it (channels ← users ←
    schedules ← escalation_policies) and reports the first problem with file, line, column
    and field path. Secrets are read from their file or environment variable here, once, and
    wiped when the configuration is freed.
*/
#include "lk_config_notify.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lk_config.h"
#include "lk_time.h"
#include "lk_yaml.h"

#define S_SECRET_MAX              8192
#define S_ADDRESS_MAX             320 /* an email address */
#define S_TZ_NAME_MAX             64
#define S_FIELD_MAX               192
#define S_PATH_MAX                96 /* a path handed down to a nested parser */
#define S_DEFAULT_REPEAT_DELAY_MS (5 * 60 * 1000)

static const char *s_channel_type_names[] = {"slack", "discord", "pagerduty", "email",
                                             "sms",   "webhook", "deckhand"};

const char *lk_channel_type_name(lk_channel_type_t type)
{
    return (unsigned)type < sizeof s_channel_type_names / sizeof *s_channel_type_names
               ? s_channel_type_names[type]
               : "unknown";
}

/*  PagerDuty has acknowledge events; a generic webhook receiver gets every change. */
bool lk_channel_mirrors_ack(lk_channel_type_t type)
{
    return type == LK_CHANNEL_PAGERDUTY || type == LK_CHANNEL_WEBHOOK;
}

/*  Everything but SMS: a text message that says "resolved" at 4 a.m. wakes people twice. */
bool lk_channel_mirrors_resolve(lk_channel_type_t type)
{
    return type != LK_CHANNEL_SMS;
}

/* ---- lifetime -------------------------------------------------------------------------- */

void lk_notify_config_init(lk_notify_config_t *notify)
{
    memset(notify, 0, sizeof *notify);
    lk_notify_settings_t *settings = &notify->settings;
    settings->timeout_ms = 10000;
    settings->max_attempts = 6;
    settings->backoff_initial_ms = 1000;
    settings->backoff_max_ms = 5 * 60 * 1000;
    settings->channel_rate_count = 60;
    settings->channel_rate_per_ms = 60000;
    settings->target_rate_count = 10;
    settings->target_rate_per_ms = 60000;
}

/*  Frees a heap secret after overwriting it. */
static void s_wipe(char **secret)
{
    if (*secret) {
        explicit_bzero(*secret, strlen(*secret));
        free(*secret);
        *secret = NULL;
    }
}

static void s_free_strings(char **strings, size_t count)
{
    for (size_t i = 0; strings && i < count; i++)
        free(strings[i]);
    free(strings);
}

void lk_notify_config_clear(lk_notify_config_t *notify)
{
    for (size_t i = 0; i < notify->policy_count; i++) {
        lk_policy_t *policy = &notify->policies[i];
        free(policy->name);
        lk_labels_clear(&policy->match_labels);
        for (size_t l = 0; l < policy->level_count; l++) {
            for (size_t t = 0; t < policy->levels[l].target_count; t++)
                free(policy->levels[l].targets[t].name);
            free(policy->levels[l].targets);
        }
        free(policy->levels);
    }
    free(notify->policies);
    for (size_t i = 0; i < notify->schedule_count; i++) {
        lk_schedule_t *schedule = &notify->schedules[i];
        free(schedule->name);
        free(schedule->time_zone);
        for (size_t r = 0; r < schedule->rotation_count; r++) {
            free(schedule->rotations[r].name);
            s_free_strings(schedule->rotations[r].members, schedule->rotations[r].member_count);
            free(schedule->rotations[r].member_index);
        }
        free(schedule->rotations);
        for (size_t o = 0; o < schedule->override_count; o++)
            free(schedule->overrides[o].user);
        free(schedule->overrides);
    }
    free(notify->schedules);
    for (size_t i = 0; i < notify->user_count; i++) {
        lk_user_t *user = &notify->users[i];
        free(user->name);
        free(user->email);
        free(user->phone);
        free(user->slack_id);
        free(user->discord_id);
        s_free_strings(user->channels, user->channel_count);
        free(user->channel_index);
    }
    free(notify->users);
    for (size_t i = 0; i < notify->channel_count; i++) {
        lk_channel_t *channel = &notify->channels[i];
        free(channel->name);
        s_wipe(&channel->url); /* Slack and Discord webhook URLs are credentials */
        s_wipe(&channel->secret);
        free(channel->username);
        free(channel->from);
        s_free_strings(channel->to, channel->to_count);
        lk_labels_clear(&channel->require_labels);
    }
    free(notify->channels);
    free(notify->settings.public_url);
    memset(notify, 0, sizeof *notify);
}

/* ---- field readers --------------------------------------------------------------------- */

/*  Names are what operators type in references and URLs: letters, digits, '-', '_', '.'. */
static int s_name(const lk_yaml_node_t *node, const char *field, char **out, char *err,
                  size_t err_size)
{
    if (lk_yaml_string(node, field, 1, LK_NOTIFY_NAME_MAX, out, err, err_size) != 0)
        return -1;
    for (const char *c = *out; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '-' || *c == '_' || *c == '.'))
            return lk_yaml_error(err, err_size, node, field,
                                 "'%s': use letters, digits, '-', '_' and '.' only", *out);
    return 0;
}

/*  A required name field of mapping node at path. */
static int s_required_name(const lk_yaml_node_t *node, const char *path, char **out, char *err,
                           size_t err_size)
{
    const lk_yaml_node_t *name = lk_yaml_require(node, path, "name", err, err_size);
    char field[S_FIELD_MAX];
    snprintf(field, sizeof field, "%s.name", path);
    return name ? s_name(name, field, out, err, err_size) : -1;
}

/*  Optional `tenant:` (a UUID, stored lower case); LK_SYSTEM_TENANT when absent. */
static int s_tenant(const lk_yaml_node_t *node, const char *path, char *tenant_id, char *err,
                    size_t err_size)
{
    snprintf(tenant_id, LK_UUID_STR_LEN + 1, "%s", LK_SYSTEM_TENANT);
    const lk_yaml_node_t *tenant = lk_yaml_get(node, "tenant");
    if (!tenant)
        return 0;
    char field[S_FIELD_MAX];
    snprintf(field, sizeof field, "%s.tenant", path);
    if (tenant->kind != LK_YAML_SCALAR || !lk_uuid_valid(tenant->text))
        return lk_yaml_error(err, err_size, tenant, field, "expected a tenant UUID like %s",
                             LK_SYSTEM_TENANT);
    for (size_t i = 0; i < LK_UUID_STR_LEN; i++)
        tenant_id[i] = (char)tolower((unsigned char)tenant->text[i]);
    tenant_id[LK_UUID_STR_LEN] = '\0';
    return 0;
}

/*  A list of strings (a single scalar counts as a list of one), each checked by check
    (may be NULL). */
typedef int(s_check_fn)(const lk_yaml_node_t *node, const char *field, const char *value, char *err,
                        size_t err_size);

static int s_string_list(const lk_yaml_node_t *node, const char *field, size_t max_items,
                         size_t max_len, s_check_fn *check, char ***out, size_t *count, char *err,
                         size_t err_size)
{
    bool single = node->kind == LK_YAML_SCALAR;
    if (!single && lk_yaml_expect(node, LK_YAML_SEQUENCE, field, err, err_size) != 0)
        return -1;
    size_t items = single ? 1 : node->count;
    if (items == 0)
        return lk_yaml_error(err, err_size, node, field, "must not be empty");
    if (items > max_items)
        return lk_yaml_error(err, err_size, node, field, "more than %zu entries", max_items);
    *out = calloc(items, sizeof **out);
    if (!*out)
        return lk_yaml_error(err, err_size, node, field, "out of memory");
    for (size_t i = 0; i < items; i++) {
        const lk_yaml_node_t *item = single ? node : node->items[i];
        char item_field[S_FIELD_MAX];
        snprintf(item_field, sizeof item_field, single ? "%s" : "%s[%zu]", field, i);
        *count = i + 1;
        if (lk_yaml_string(item, item_field, 1, max_len, &(*out)[i], err, err_size) != 0 ||
            (check && check(item, item_field, (*out)[i], err, err_size) != 0))
            return -1;
    }
    return 0;
}

/*  Reads a whole secret file (relative names from the configuration file's folder) without
    trailing blanks. Messages never quote the content. */
static int s_read_secret_file(const lk_yaml_node_t *node, const char *field, char **out, char *err,
                              size_t err_size)
{
    char *name = NULL;
    if (lk_yaml_string(node, field, 1, PATH_MAX, &name, err, err_size) != 0)
        return -1;
    char path[PATH_MAX + 512];
    const char *slash = node->file ? strrchr(node->file, '/') : NULL;
    if (name[0] != '/' && slash)
        snprintf(path, sizeof path, "%.*s/%s", (int)(slash - node->file), node->file, name);
    else
        snprintf(path, sizeof path, "%s", name);
    free(name);
    FILE *file = fopen(path, "r");
    if (!file)
        return lk_yaml_error(err, err_size, node, field, "cannot read %s", path);
    char *buffer = malloc(S_SECRET_MAX + 1);
    if (!buffer) {
        fclose(file);
        return lk_yaml_error(err, err_size, node, field, "out of memory");
    }
    size_t length = fread(buffer, 1, S_SECRET_MAX, file);
    bool more = fgetc(file) != EOF;
    fclose(file);
    buffer[length] = '\0';
    while (length > 0 && isspace((unsigned char)buffer[length - 1]))
        buffer[--length] = '\0';
    int rc = 0;
    if (more)
        rc = lk_yaml_error(err, err_size, node, field, "%s is longer than %d bytes", path,
                           S_SECRET_MAX);
    else if (length == 0 || strlen(buffer) != length)
        rc = lk_yaml_error(err, err_size, node, field, "%s is empty or holds a NUL byte", path);
    else if (!(*out = strdup(buffer)))
        rc = lk_yaml_error(err, err_size, node, field, "out of memory");
    explicit_bzero(buffer, S_SECRET_MAX + 1);
    free(buffer);
    return rc;
}

/*  Reads a secret from the environment variable named by node. */
static int s_read_secret_env(const lk_yaml_node_t *node, const char *field, char **out, char *err,
                             size_t err_size)
{
    char *name = NULL;
    if (lk_yaml_string(node, field, 1, 256, &name, err, err_size) != 0)
        return -1;
    const char *value = getenv(name);
    int rc = 0;
    if (!value || !*value)
        rc = lk_yaml_error(err, err_size, node, field, "environment variable %s is not set", name);
    else if (strlen(value) > S_SECRET_MAX)
        rc = lk_yaml_error(err, err_size, node, field, "environment variable %s is too long", name);
    else if (!(*out = strdup(value)))
        rc = lk_yaml_error(err, err_size, node, field, "out of memory");
    free(name);
    return rc;
}

/*  Reads a value given as KEY (only when inline is allowed), KEY_file or KEY_env — at most
    one of them. *given tells whether any was there. */
static int s_value_source(const lk_yaml_node_t *mapping, const char *path, const char *key,
                          bool inline_allowed, size_t inline_max, char **out, bool *given,
                          char *err, size_t err_size)
{
    char file_key[64], env_key[64], field[S_FIELD_MAX];
    snprintf(file_key, sizeof file_key, "%s_file", key);
    snprintf(env_key, sizeof env_key, "%s_env", key);
    const lk_yaml_node_t *forms[3] = {inline_allowed ? lk_yaml_get(mapping, key) : NULL,
                                      lk_yaml_get(mapping, file_key),
                                      lk_yaml_get(mapping, env_key)};
    const lk_yaml_node_t *chosen = NULL;
    for (int i = 0; i < 3; i++) {
        if (!forms[i])
            continue;
        if (chosen) {
            snprintf(field, sizeof field, "%s.%s", path, forms[i]->key);
            return lk_yaml_error(err, err_size, forms[i], field, "give only one of %s%s, %s and %s",
                                 inline_allowed ? key : "", inline_allowed ? "," : "", file_key,
                                 env_key);
        }
        chosen = forms[i];
    }
    *given = chosen != NULL;
    if (!chosen)
        return 0;
    snprintf(field, sizeof field, "%s.%s", path, chosen->key);
    if (chosen == forms[0])
        return lk_yaml_string(chosen, field, 1, inline_max, out, err, err_size);
    if (chosen == forms[1])
        return s_read_secret_file(chosen, field, out, err, err_size);
    return s_read_secret_env(chosen, field, out, err, err_size);
}

/*  True when text starts with one of the schemes (e.g. "http://"). */
static bool s_has_scheme(const char *text, const char *const *schemes)
{
    for (size_t i = 0; schemes[i]; i++)
        if (strncasecmp(text, schemes[i], strlen(schemes[i])) == 0 &&
            text[strlen(schemes[i])] != '\0')
            return true;
    return false;
}

/*  A plausible email address: one '@', no blanks or control characters (header injection),
    not too long. Deliverability is the SMTP server's business. */
static int s_check_email(const lk_yaml_node_t *node, const char *field, const char *value,
                         char *err, size_t err_size)
{
    const char *at = strchr(value, '@');
    bool ok = at && at != value && at[1] && !strchr(at + 1, '@') && strlen(value) <= S_ADDRESS_MAX;
    for (const char *c = value; ok && *c; c++)
        ok = (unsigned char)*c > 0x20 && *c != 0x7f && *c != '<' && *c != '>' && *c != ',' &&
             *c != '"';
    if (!ok)
        return lk_yaml_error(err, err_size, node, field, "'%s' is not an email address", value);
    return 0;
}

/*  E.164: '+' then 6 to 15 digits. */
static int s_check_phone(const lk_yaml_node_t *node, const char *field, const char *value,
                         char *err, size_t err_size)
{
    size_t digits = strlen(value) - 1;
    bool ok = value[0] == '+' && digits >= 6 && digits <= 15;
    for (const char *c = value + 1; ok && *c; c++)
        ok = isdigit((unsigned char)*c);
    if (!ok)
        return lk_yaml_error(err, err_size, node, field,
                             "'%s' is not an E.164 phone number like +31201234567", value);
    return 0;
}

/*  Chat ids are mentioned inside messages: keep them to what Slack and Discord issue. */
static int s_check_chat_id(const lk_yaml_node_t *node, const char *field, const char *value,
                           char *err, size_t err_size)
{
    for (const char *c = value; *c; c++)
        if (!isalnum((unsigned char)*c))
            return lk_yaml_error(err, err_size, node, field,
                                 "'%s': expected letters and digits only (a user id)", value);
    return 0;
}

/*  An optional string field checked by check. */
static int s_optional_string(const lk_yaml_node_t *mapping, const char *path, const char *key,
                             size_t max_len, s_check_fn *check, char **out, char *err,
                             size_t err_size)
{
    const lk_yaml_node_t *node = lk_yaml_get(mapping, key);
    if (!node || lk_yaml_is_null(node))
        return 0;
    char field[S_FIELD_MAX];
    snprintf(field, sizeof field, "%s.%s", path, key);
    if (lk_yaml_string(node, field, 1, max_len, out, err, err_size) != 0)
        return -1;
    return check ? check(node, field, *out, err, err_size) : 0;
}

/*  A mapping of label names to values (match.labels, require_labels). */
static int s_label_map(const lk_yaml_node_t *node, const char *field, lk_labels_t *out, char *err,
                       size_t err_size)
{
    if (lk_yaml_expect(node, LK_YAML_MAPPING, field, err, err_size) != 0)
        return -1;
    for (size_t i = 0; i < node->count; i++) {
        const lk_yaml_node_t *entry = node->items[i];
        char entry_field[S_FIELD_MAX];
        snprintf(entry_field, sizeof entry_field, "%s.%s", field, entry->key);
        bool valid = entry->key[0] && !isdigit((unsigned char)entry->key[0]);
        for (const char *c = entry->key; valid && *c; c++)
            valid = isalnum((unsigned char)*c) || *c == '_';
        if (!valid)
            return lk_yaml_error(err, err_size, entry, entry_field, "invalid label name");
        char *value = NULL;
        if (lk_yaml_string(entry, entry_field, 0, 4096, &value, err, err_size) != 0)
            return -1;
        int rc = lk_labels_set(out, entry->key, value);
        free(value);
        if (rc != 0)
            return lk_yaml_error(err, err_size, entry, entry_field, "out of memory");
    }
    return 0;
}

/*  The index of name among count items whose names are at stride bytes apart, or -1. */
static long s_index_of(const void *items, size_t count, size_t stride, const char *name)
{
    for (size_t i = 0; i < count; i++) {
        const char *candidate = *(char *const *)((const char *)items + i * stride);
        if (candidate && strcmp(candidate, name) == 0)
            return (long)i;
    }
    return -1;
}

/*  Allocates the section's array for a sequence node; 0 items is fine. */
static int s_section_array(const lk_yaml_node_t *node, const char *section, size_t item_size,
                           void **items, char *err, size_t err_size)
{
    if (lk_yaml_expect(node, LK_YAML_SEQUENCE, section, err, err_size) != 0)
        return -1;
    if (node->count == 0)
        return 0;
    *items = calloc(node->count, item_size);
    if (!*items)
        return lk_yaml_error(err, err_size, node, section, "out of memory");
    return 0;
}

/* ---- notify_settings ------------------------------------------------------------------- */

/*  "N/DURATION" (e.g. "60/1m"), or "0" / "none" for no limit. */
static int s_rate(const lk_yaml_node_t *node, const char *field, uint32_t *count, int64_t *per_ms,
                  char *err, size_t err_size)
{
    if (node->kind != LK_YAML_SCALAR || lk_yaml_is_null(node))
        return lk_yaml_error(err, err_size, node, field, "expected a rate like 60/1m, or none");
    if (strcmp(node->text, "none") == 0 || strcmp(node->text, "0") == 0) {
        *count = 0;
        *per_ms = 0;
        return 0;
    }
    const char *slash = strchr(node->text, '/');
    char digits[16];
    size_t length = slash ? (size_t)(slash - node->text) : 0;
    bool ok = slash && length > 0 && length < sizeof digits;
    for (size_t i = 0; ok && i < length; i++)
        ok = isdigit((unsigned char)node->text[i]);
    if (ok) {
        memcpy(digits, node->text, length);
        digits[length] = '\0';
        long value = strtol(digits, NULL, 10);
        ok = value > 0 && value <= 1000000 && lk_yaml_parse_duration(slash + 1, per_ms) &&
             *per_ms >= 1000;
        *count = (uint32_t)value;
    }
    if (!ok)
        return lk_yaml_error(err, err_size, node, field,
                             "expected a rate like 60/1m (1..1000000 per at least 1s), or none");
    return 0;
}

int lk_config_parse_notify_settings(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                                    size_t err_size)
{
    static const char *const known[] = {"allow_private_destinations",
                                        "timeout",
                                        "max_attempts",
                                        "backoff_initial",
                                        "backoff_max",
                                        "channel_rate_limit",
                                        "target_rate_limit",
                                        "public_url",
                                        NULL};
    const char *path = "notify_settings";
    if (lk_yaml_expect(node, LK_YAML_MAPPING, path, err, err_size) != 0 ||
        lk_yaml_check_keys(node, path, known, err, err_size) != 0)
        return -1;
    lk_notify_settings_t *settings = &config->notify.settings;
    const lk_yaml_node_t *value;
    if ((value = lk_yaml_get(node, "allow_private_destinations")) &&
        lk_yaml_bool(value, "notify_settings.allow_private_destinations",
                     &settings->allow_private_destinations, err, err_size) != 0)
        return -1;
    if ((value = lk_yaml_get(node, "timeout")) &&
        lk_yaml_duration(value, "notify_settings.timeout", 100, &settings->timeout_ms, err,
                         err_size) != 0)
        return -1;
    if (settings->timeout_ms > 5 * 60 * 1000)
        return lk_yaml_error(err, err_size, value, "notify_settings.timeout", "at most 5m");
    int64_t attempts = settings->max_attempts;
    if ((value = lk_yaml_get(node, "max_attempts")) &&
        lk_yaml_int(value, "notify_settings.max_attempts", 1, 100, &attempts, err, err_size) != 0)
        return -1;
    settings->max_attempts = (uint32_t)attempts;
    if ((value = lk_yaml_get(node, "backoff_initial")) &&
        lk_yaml_duration(value, "notify_settings.backoff_initial", 10,
                         &settings->backoff_initial_ms, err, err_size) != 0)
        return -1;
    if ((value = lk_yaml_get(node, "backoff_max")) &&
        lk_yaml_duration(value, "notify_settings.backoff_max", 10, &settings->backoff_max_ms, err,
                         err_size) != 0)
        return -1;
    if (settings->backoff_max_ms < settings->backoff_initial_ms)
        return lk_yaml_error(err, err_size, value ? value : node, "notify_settings.backoff_max",
                             "must not be below backoff_initial");
    if ((value = lk_yaml_get(node, "channel_rate_limit")) &&
        s_rate(value, "notify_settings.channel_rate_limit", &settings->channel_rate_count,
               &settings->channel_rate_per_ms, err, err_size) != 0)
        return -1;
    if ((value = lk_yaml_get(node, "target_rate_limit")) &&
        s_rate(value, "notify_settings.target_rate_limit", &settings->target_rate_count,
               &settings->target_rate_per_ms, err, err_size) != 0)
        return -1;
    if ((value = lk_yaml_get(node, "public_url")) && !lk_yaml_is_null(value)) {
        static const char *const schemes[] = {"http://", "https://", NULL};
        if (lk_yaml_string(value, "notify_settings.public_url", 1, LK_NOTIFY_URL_MAX,
                           &settings->public_url, err, err_size) != 0)
            return -1;
        if (!s_has_scheme(settings->public_url, schemes))
            return lk_yaml_error(err, err_size, value, "notify_settings.public_url",
                                 "expected an http:// or https:// URL");
        size_t length = strlen(settings->public_url);
        while (length > 0 && settings->public_url[length - 1] == '/')
            settings->public_url[--length] = '\0';
    }
    return 0;
}

/* ---- channels -------------------------------------------------------------------------- */

static int s_parse_channel(const lk_yaml_node_t *node, const char *path, lk_channel_t *channel,
                           char *err, size_t err_size)
{
    /* every key any type accepts; which type accepts which is checked below */
    static const char *const known[] = {"name",
                                        "type",
                                        "url",
                                        "url_file",
                                        "url_env",
                                        "secret",
                                        "secret_file",
                                        "secret_env",
                                        "routing_key",
                                        "routing_key_file",
                                        "routing_key_env",
                                        "token",
                                        "token_file",
                                        "token_env",
                                        "auth_token",
                                        "auth_token_file",
                                        "auth_token_env",
                                        "password",
                                        "password_file",
                                        "password_env",
                                        "account_sid",
                                        "username",
                                        "from",
                                        "to",
                                        "tls",
                                        "verify_tls",
                                        "require_labels",
                                        "timeout",
                                        NULL};
    if (lk_yaml_expect(node, LK_YAML_MAPPING, path, err, err_size) != 0 ||
        lk_yaml_check_keys(node, path, known, err, err_size) != 0 ||
        s_required_name(node, path, &channel->name, err, err_size) != 0)
        return -1;
    channel->line = node->line;
    channel->column = node->column;
    channel->verify_tls = true;
    char field[S_FIELD_MAX];

    const lk_yaml_node_t *type = lk_yaml_require(node, path, "type", err, err_size);
    if (!type)
        return -1;
    snprintf(field, sizeof field, "%s.type", path);
    size_t type_count = sizeof s_channel_type_names / sizeof *s_channel_type_names;
    size_t index = type_count;
    for (size_t i = 0; type->kind == LK_YAML_SCALAR && i < type_count; i++)
        if (strcmp(type->text, s_channel_type_names[i]) == 0)
            index = i;
    if (index == type_count)
        return lk_yaml_error(err, err_size, type, field,
                             "expected slack, discord, pagerduty, email, sms, webhook or "
                             "deckhand");
    channel->type = (lk_channel_type_t)index;

    /* the keys each type takes besides name, type, timeout, require_labels */
    static const struct {
        lk_channel_type_t type;
        const char *secret_key; /* NULL: none */
        bool secret_required;
        bool url_required;
        const char *extra[8];
    } s_rules[] = {
        {LK_CHANNEL_SLACK, NULL, false, true, {NULL}},
        {LK_CHANNEL_DISCORD, NULL, false, true, {NULL}},
        {LK_CHANNEL_PAGERDUTY, "routing_key", true, false, {NULL}},
        {LK_CHANNEL_EMAIL,
         "password",
         false,
         true,
         {"username", "from", "to", "tls", "verify_tls", NULL}},
        {LK_CHANNEL_SMS, "auth_token", true, false, {"account_sid", "from", "to", NULL}},
        {LK_CHANNEL_WEBHOOK, "secret", true, true, {NULL}},
        {LK_CHANNEL_DECKHAND, "token", false, true, {NULL}},
    };
    const typeof(s_rules[0]) *rule = &s_rules[channel->type];
    for (size_t i = 0; i < node->count; i++) {
        const char *key = node->items[i]->key;
        static const char *const inline_secrets[] = {"secret",     "routing_key", "token",
                                                     "auth_token", "password",    NULL};
        for (size_t k = 0; inline_secrets[k]; k++)
            if (!strcmp(key, inline_secrets[k])) {
                snprintf(field, sizeof field, "%s.%s", path, key);
                return lk_yaml_error(err, err_size, node->items[i], field,
                                     "secrets are never written in the file: use %s_file or "
                                     "%s_env",
                                     key, key);
            }
        bool allowed = !strcmp(key, "name") || !strcmp(key, "type") || !strcmp(key, "timeout") ||
                       !strcmp(key, "require_labels") || !strncmp(key, "url", 3) ||
                       !strcmp(key, "verify_tls");
        if (rule->secret_key && !strncmp(key, rule->secret_key, strlen(rule->secret_key)) &&
            (!strcmp(key + strlen(rule->secret_key), "_file") ||
             !strcmp(key + strlen(rule->secret_key), "_env")))
            allowed = true;
        for (size_t e = 0; rule->extra[e]; e++)
            allowed = allowed || !strcmp(key, rule->extra[e]);
        if (!allowed) {
            snprintf(field, sizeof field, "%s.%s", path, key);
            return lk_yaml_error(err, err_size, node->items[i], field,
                                 "not a setting of a %s channel", s_channel_type_names[index]);
        }
    }

    bool given = false;
    if (s_value_source(node, path, "url", true, LK_NOTIFY_URL_MAX, &channel->url, &given, err,
                       err_size) != 0)
        return -1;
    if (!given && rule->url_required) {
        snprintf(field, sizeof field, "%s.url", path);
        return lk_yaml_error(err, err_size, node, field,
                             "is required (url, url_file or url_env) for a %s channel",
                             s_channel_type_names[index]);
    }
    if (channel->url) {
        static const char *const http[] = {"http://", "https://", NULL};
        static const char *const smtp[] = {"smtp://", "smtps://", NULL};
        bool email = channel->type == LK_CHANNEL_EMAIL;
        snprintf(field, sizeof field, "%s.url", path);
        if (!s_has_scheme(channel->url, email ? smtp : http))
            /* the value may be a credential: never quoted */
            return lk_yaml_error(err, err_size, node, field, "expected an %s URL",
                                 email ? "smtp:// or smtps://" : "http:// or https://");
    }
    if (channel->type == LK_CHANNEL_PAGERDUTY && !channel->url &&
        !(channel->url = strdup("https://events.pagerduty.com/v2/enqueue")))
        return lk_yaml_error(err, err_size, node, path, "out of memory");

    if (rule->secret_key) {
        if (s_value_source(node, path, rule->secret_key, false, 0, &channel->secret, &given, err,
                           err_size) != 0)
            return -1;
        if (!given && rule->secret_required) {
            snprintf(field, sizeof field, "%s.%s_file", path, rule->secret_key);
            return lk_yaml_error(err, err_size, node, field,
                                 "is required (%s_file or %s_env) for a %s channel",
                                 rule->secret_key, rule->secret_key, s_channel_type_names[index]);
        }
    }

    if (s_optional_string(node, path, "username", 256, NULL, &channel->username, err, err_size) !=
            0 ||
        s_optional_string(node, path, "account_sid", 64, s_check_chat_id, &channel->username, err,
                          err_size) != 0)
        return -1;
    s_check_fn *address_check = channel->type == LK_CHANNEL_SMS ? s_check_phone : s_check_email;
    if (s_optional_string(node, path, "from", S_ADDRESS_MAX, address_check, &channel->from, err,
                          err_size) != 0)
        return -1;
    const lk_yaml_node_t *to = lk_yaml_get(node, "to");
    snprintf(field, sizeof field, "%s.to", path);
    if (to && s_string_list(to, field, 64, S_ADDRESS_MAX, address_check, &channel->to,
                            &channel->to_count, err, err_size) != 0)
        return -1;
    if ((channel->type == LK_CHANNEL_EMAIL || channel->type == LK_CHANNEL_SMS) && !channel->from) {
        snprintf(field, sizeof field, "%s.from", path);
        return lk_yaml_error(err, err_size, node, field, "is required for a %s channel",
                             s_channel_type_names[index]);
    }
    if (channel->type == LK_CHANNEL_SMS) {
        if (!channel->username) {
            snprintf(field, sizeof field, "%s.account_sid", path);
            return lk_yaml_error(err, err_size, node, field, "is required for an sms channel");
        }
        if (!channel->url) {
            char url[256];
            snprintf(url, sizeof url, "https://api.twilio.com/2010-04-01/Accounts/%s/Messages.json",
                     channel->username);
            if (!(channel->url = strdup(url)))
                return lk_yaml_error(err, err_size, node, path, "out of memory");
        }
    }

    if (channel->type == LK_CHANNEL_EMAIL)
        channel->tls =
            strncasecmp(channel->url, "smtps://", 8) == 0 ? LK_TLS_IMPLICIT : LK_TLS_STARTTLS;
    const lk_yaml_node_t *tls = lk_yaml_get(node, "tls");
    if (tls) {
        snprintf(field, sizeof field, "%s.tls", path);
        static const char *const modes[] = {"none", "starttls", "tls"};
        int mode = -1;
        for (int i = 0; tls->kind == LK_YAML_SCALAR && i < 3; i++)
            if (strcmp(tls->text, modes[i]) == 0)
                mode = i;
        if (mode < 0)
            return lk_yaml_error(err, err_size, tls, field, "expected none, starttls or tls");
        bool implicit_url = strncasecmp(channel->url, "smtps://", 8) == 0;
        if ((mode == LK_TLS_IMPLICIT) != implicit_url)
            return lk_yaml_error(err, err_size, tls, field,
                                 "tls goes with smtps:// URLs, none and starttls with smtp://");
        channel->tls = (lk_tls_mode_t)mode;
    }
    const lk_yaml_node_t *verify = lk_yaml_get(node, "verify_tls");
    snprintf(field, sizeof field, "%s.verify_tls", path);
    if (verify && lk_yaml_bool(verify, field, &channel->verify_tls, err, err_size) != 0)
        return -1;

    const lk_yaml_node_t *require = lk_yaml_get(node, "require_labels");
    snprintf(field, sizeof field, "%s.require_labels", path);
    if (require && !lk_yaml_is_null(require) &&
        s_label_map(require, field, &channel->require_labels, err, err_size) != 0)
        return -1;
    if (!require && channel->type == LK_CHANNEL_DECKHAND &&
        lk_labels_set(&channel->require_labels, "customer_facing", "true") != 0)
        return lk_yaml_error(err, err_size, node, path, "out of memory");

    const lk_yaml_node_t *timeout = lk_yaml_get(node, "timeout");
    snprintf(field, sizeof field, "%s.timeout", path);
    if (timeout && lk_yaml_duration(timeout, field, 100, &channel->timeout_ms, err, err_size) != 0)
        return -1;
    return 0;
}

int lk_config_parse_channels(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                             size_t err_size)
{
    lk_notify_config_t *notify = &config->notify;
    if (s_section_array(node, "channels", sizeof *notify->channels, (void **)&notify->channels, err,
                        err_size) != 0)
        return -1;
    for (size_t i = 0; i < node->count; i++) {
        char path[64];
        snprintf(path, sizeof path, "channels[%zu]", i);
        notify->channel_count = i + 1;
        if (s_parse_channel(node->items[i], path, &notify->channels[i], err, err_size) != 0)
            return -1;
        long earlier =
            s_index_of(notify->channels, i, sizeof *notify->channels, notify->channels[i].name);
        if (earlier >= 0)
            return lk_yaml_error(err, err_size, node->items[i], path,
                                 "duplicate channel name '%s' (channels[%ld])",
                                 notify->channels[i].name, earlier);
    }
    return 0;
}

/* ---- users ----------------------------------------------------------------------------- */

static int s_parse_user(const lk_yaml_node_t *node, const char *path, lk_notify_config_t *notify,
                        lk_user_t *user, char *err, size_t err_size)
{
    static const char *const known[] = {"name",       "email",    "phone", "slack_id",
                                        "discord_id", "channels", NULL};
    if (lk_yaml_expect(node, LK_YAML_MAPPING, path, err, err_size) != 0 ||
        lk_yaml_check_keys(node, path, known, err, err_size) != 0 ||
        s_required_name(node, path, &user->name, err, err_size) != 0)
        return -1;
    user->line = node->line;
    user->column = node->column;
    if (s_optional_string(node, path, "email", S_ADDRESS_MAX, s_check_email, &user->email, err,
                          err_size) != 0 ||
        s_optional_string(node, path, "phone", 16, s_check_phone, &user->phone, err, err_size) !=
            0 ||
        s_optional_string(node, path, "slack_id", 64, s_check_chat_id, &user->slack_id, err,
                          err_size) != 0 ||
        s_optional_string(node, path, "discord_id", 64, s_check_chat_id, &user->discord_id, err,
                          err_size) != 0)
        return -1;
    char field[S_FIELD_MAX];
    snprintf(field, sizeof field, "%s.channels", path);
    const lk_yaml_node_t *channels = lk_yaml_require(node, path, "channels", err, err_size);
    if (!channels || s_string_list(channels, field, 16, LK_NOTIFY_NAME_MAX, NULL, &user->channels,
                                   &user->channel_count, err, err_size) != 0)
        return -1;
    user->channel_index = calloc(user->channel_count, sizeof *user->channel_index);
    if (!user->channel_index)
        return lk_yaml_error(err, err_size, channels, field, "out of memory");
    for (size_t i = 0; i < user->channel_count; i++) {
        const lk_yaml_node_t *item =
            channels->kind == LK_YAML_SEQUENCE ? channels->items[i] : channels;
        snprintf(field, sizeof field, "%s.channels[%zu]", path, i);
        long index = s_index_of(notify->channels, notify->channel_count, sizeof *notify->channels,
                                user->channels[i]);
        if (index < 0)
            return lk_yaml_error(err, err_size, item, field, "no channel named '%s'",
                                 user->channels[i]);
        const lk_channel_t *channel = &notify->channels[index];
        /* a user reached by email needs an address, by sms a number */
        if (channel->type == LK_CHANNEL_EMAIL && !user->email)
            return lk_yaml_error(err, err_size, item, field,
                                 "'%s' is an email channel but the user has no email",
                                 channel->name);
        if (channel->type == LK_CHANNEL_SMS && !user->phone)
            return lk_yaml_error(err, err_size, item, field,
                                 "'%s' is an sms channel but the user has no phone", channel->name);
        user->channel_index[i] = (size_t)index;
    }
    return 0;
}

int lk_config_parse_users(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                          size_t err_size)
{
    lk_notify_config_t *notify = &config->notify;
    if (s_section_array(node, "users", sizeof *notify->users, (void **)&notify->users, err,
                        err_size) != 0)
        return -1;
    for (size_t i = 0; i < node->count; i++) {
        char path[64];
        snprintf(path, sizeof path, "users[%zu]", i);
        notify->user_count = i + 1;
        if (s_parse_user(node->items[i], path, notify, &notify->users[i], err, err_size) != 0)
            return -1;
        long earlier = s_index_of(notify->users, i, sizeof *notify->users, notify->users[i].name);
        if (earlier >= 0)
            return lk_yaml_error(err, err_size, node->items[i], path,
                                 "duplicate user name '%s' (users[%ld])", notify->users[i].name,
                                 earlier);
    }
    return 0;
}

/* ---- schedules ------------------------------------------------------------------------- */

/*  An IANA zone name that exists under TZDIR (default /usr/share/zoneinfo). The name is a
    path below that folder: no "..", no leading '/', ordinary characters only. */
static int s_check_time_zone(const lk_yaml_node_t *node, const char *field, const char *name,
                             char *err, size_t err_size)
{
    bool ok = name[0] != '/' && !strstr(name, "..") && strlen(name) <= S_TZ_NAME_MAX;
    for (const char *c = name; ok && *c; c++)
        ok = isalnum((unsigned char)*c) || strchr("/_+-", *c);
    if (!ok)
        return lk_yaml_error(err, err_size, node, field, "'%s' is not a time zone name", name);
    if (strcmp(name, "UTC") == 0)
        return 0;
    const char *dir = getenv("TZDIR");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    if (access(path, R_OK) != 0)
        return lk_yaml_error(err, err_size, node, field,
                             "unknown time zone '%s' (expected an IANA name like "
                             "Europe/Amsterdam)",
                             name);
    return 0;
}

/*  Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t s_days_from_civil(int64_t year, int month, int day)
{
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

/*  "YYYY-MM-DD" → days since the epoch; false when malformed or not a real date. */
static bool s_parse_date(const char *text, int64_t *days)
{
    int year, month, day, consumed = 0;
    if (strlen(text) != 10 || sscanf(text, "%4d-%2d-%2d%n", &year, &month, &day, &consumed) != 3 ||
        consumed != 10 || text[4] != '-' || text[7] != '-' || month < 1 || month > 12 || day < 1)
        return false;
    static const int lengths[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day > lengths[month - 1] || (month == 2 && day == 29 && !leap))
        return false;
    *days = s_days_from_civil(year, month, day);
    return true;
}

static int s_parse_rotation(const lk_yaml_node_t *node, const char *path,
                            const lk_notify_config_t *notify, lk_rotation_t *rotation, char *err,
                            size_t err_size)
{
    static const char *const known[] = {"name",         "members", "shift_length",
                                        "handoff_time", "start",   NULL};
    if (lk_yaml_expect(node, LK_YAML_MAPPING, path, err, err_size) != 0 ||
        lk_yaml_check_keys(node, path, known, err, err_size) != 0)
        return -1;
    char field[S_FIELD_MAX];
    const lk_yaml_node_t *name = lk_yaml_get(node, "name");
    snprintf(field, sizeof field, "%s.name", path);
    if (name ? s_name(name, field, &rotation->name, err, err_size) != 0
             : !(rotation->name = strdup("")))
        return name ? -1 : lk_yaml_error(err, err_size, node, path, "out of memory");

    const lk_yaml_node_t *members = lk_yaml_require(node, path, "members", err, err_size);
    snprintf(field, sizeof field, "%s.members", path);
    if (!members || s_string_list(members, field, LK_NOTIFY_MEMBERS_MAX, LK_NOTIFY_NAME_MAX, NULL,
                                  &rotation->members, &rotation->member_count, err, err_size) != 0)
        return -1;
    rotation->member_index = calloc(rotation->member_count, sizeof *rotation->member_index);
    if (!rotation->member_index)
        return lk_yaml_error(err, err_size, members, field, "out of memory");
    for (size_t i = 0; i < rotation->member_count; i++) {
        long index = s_index_of(notify->users, notify->user_count, sizeof *notify->users,
                                rotation->members[i]);
        snprintf(field, sizeof field, "%s.members[%zu]", path, i);
        if (index < 0)
            return lk_yaml_error(err, err_size,
                                 members->kind == LK_YAML_SEQUENCE ? members->items[i] : members,
                                 field, "no user named '%s'", rotation->members[i]);
        rotation->member_index[i] = (size_t)index;
    }

    const lk_yaml_node_t *shift = lk_yaml_require(node, path, "shift_length", err, err_size);
    snprintf(field, sizeof field, "%s.shift_length", path);
    if (!shift ||
        lk_yaml_duration(shift, field, 60 * 1000, &rotation->shift_length_ms, err, err_size) != 0)
        return -1;
    if (rotation->shift_length_ms > 366LL * 86400000)
        return lk_yaml_error(err, err_size, shift, field, "at most 366d");

    rotation->handoff_minute = 9 * 60;
    const lk_yaml_node_t *handoff = lk_yaml_get(node, "handoff_time");
    snprintf(field, sizeof field, "%s.handoff_time", path);
    if (handoff) {
        int hour = -1, minute = -1, consumed = 0;
        if (handoff->kind != LK_YAML_SCALAR || lk_yaml_is_null(handoff) ||
            strlen(handoff->text) != 5 ||
            sscanf(handoff->text, "%2d:%2d%n", &hour, &minute, &consumed) != 2 || consumed != 5 ||
            hour < 0 || hour > 23 || minute < 0 || minute > 59)
            return lk_yaml_error(err, err_size, handoff, field,
                                 "expected a local time HH:MM like 09:00");
        rotation->handoff_minute = hour * 60 + minute;
    }

    const lk_yaml_node_t *start = lk_yaml_require(node, path, "start", err, err_size);
    snprintf(field, sizeof field, "%s.start", path);
    if (!start)
        return -1;
    if (start->kind != LK_YAML_SCALAR || lk_yaml_is_null(start) ||
        !s_parse_date(start->text, &rotation->start_day))
        return lk_yaml_error(err, err_size, start, field,
                             "expected the local date of the first hand-off, YYYY-MM-DD");
    return 0;
}

static int s_parse_schedule_override(const lk_yaml_node_t *node, const char *path,
                                     const lk_notify_config_t *notify,
                                     lk_schedule_override_t *override, char *err, size_t err_size)
{
    static const char *const known[] = {"user", "start", "end", NULL};
    if (lk_yaml_expect(node, LK_YAML_MAPPING, path, err, err_size) != 0 ||
        lk_yaml_check_keys(node, path, known, err, err_size) != 0)
        return -1;
    char field[S_FIELD_MAX];
    const lk_yaml_node_t *user = lk_yaml_require(node, path, "user", err, err_size);
    snprintf(field, sizeof field, "%s.user", path);
    if (!user || s_name(user, field, &override->user, err, err_size) != 0)
        return -1;
    long index =
        s_index_of(notify->users, notify->user_count, sizeof *notify->users, override->user);
    if (index < 0)
        return lk_yaml_error(err, err_size, user, field, "no user named '%s'", override->user);
    override->user_index = (size_t)index;
    const char *keys[2] = {"start", "end"};
    int64_t *times[2] = {&override->starts_at_ms, &override->ends_at_ms};
    for (int i = 0; i < 2; i++) {
        const lk_yaml_node_t *value = lk_yaml_require(node, path, keys[i], err, err_size);
        snprintf(field, sizeof field, "%s.%s", path, keys[i]);
        if (!value)
            return -1;
        if (value->kind != LK_YAML_SCALAR || !lk_time_parse(value->text, times[i]))
            return lk_yaml_error(err, err_size, value, field,
                                 "expected an RFC 3339 time like 2026-11-22T09:00:00Z");
    }
    if (override->ends_at_ms <= override->starts_at_ms)
        return lk_yaml_error(err, err_size, lk_yaml_get(node, "end"), field, "must be after start");
    return 0;
}

static int s_parse_schedule(const lk_yaml_node_t *node, const char *path,
                            const lk_notify_config_t *notify, lk_schedule_t *schedule, char *err,
                            size_t err_size)
{
    static const char *const known[] = {"name",      "tenant",    "time_zone",
                                        "rotations", "overrides", NULL};
    if (lk_yaml_expect(node, LK_YAML_MAPPING, path, err, err_size) != 0 ||
        lk_yaml_check_keys(node, path, known, err, err_size) != 0 ||
        s_required_name(node, path, &schedule->name, err, err_size) != 0 ||
        s_tenant(node, path, schedule->tenant_id, err, err_size) != 0)
        return -1;
    schedule->line = node->line;
    schedule->column = node->column;
    char field[S_FIELD_MAX];
    const lk_yaml_node_t *zone = lk_yaml_get(node, "time_zone");
    snprintf(field, sizeof field, "%s.time_zone", path);
    if (zone) {
        if (lk_yaml_string(zone, field, 1, S_TZ_NAME_MAX, &schedule->time_zone, err, err_size) !=
                0 ||
            s_check_time_zone(zone, field, schedule->time_zone, err, err_size) != 0)
            return -1;
    } else if (!(schedule->time_zone = strdup("UTC")))
        return lk_yaml_error(err, err_size, node, path, "out of memory");

    const lk_yaml_node_t *rotations = lk_yaml_require(node, path, "rotations", err, err_size);
    snprintf(field, sizeof field, "%s.rotations", path);
    if (!rotations || lk_yaml_expect(rotations, LK_YAML_SEQUENCE, field, err, err_size) != 0)
        return -1;
    if (rotations->count == 0 || rotations->count > 16)
        return lk_yaml_error(err, err_size, rotations, field, "expected 1 to 16 rotations");
    schedule->rotations = calloc(rotations->count, sizeof *schedule->rotations);
    if (!schedule->rotations)
        return lk_yaml_error(err, err_size, rotations, field, "out of memory");
    for (size_t i = 0; i < rotations->count; i++) {
        char child[S_PATH_MAX];
        snprintf(child, sizeof child, "%s.rotations[%zu]", path, i);
        schedule->rotation_count = i + 1;
        if (s_parse_rotation(rotations->items[i], child, notify, &schedule->rotations[i], err,
                             err_size) != 0)
            return -1;
    }

    const lk_yaml_node_t *overrides = lk_yaml_get(node, "overrides");
    snprintf(field, sizeof field, "%s.overrides", path);
    if (overrides && !lk_yaml_is_null(overrides)) {
        if (lk_yaml_expect(overrides, LK_YAML_SEQUENCE, field, err, err_size) != 0)
            return -1;
        if (overrides->count > 1000)
            return lk_yaml_error(err, err_size, overrides, field, "more than 1000 overrides");
        if (overrides->count &&
            !(schedule->overrides = calloc(overrides->count, sizeof *schedule->overrides)))
            return lk_yaml_error(err, err_size, overrides, field, "out of memory");
        for (size_t i = 0; i < overrides->count; i++) {
            char child[S_PATH_MAX];
            snprintf(child, sizeof child, "%s.overrides[%zu]", path, i);
            schedule->override_count = i + 1;
            if (s_parse_schedule_override(overrides->items[i], child, notify,
                                          &schedule->overrides[i], err, err_size) != 0)
                return -1;
        }
    }
    return 0;
}

int lk_config_parse_schedules(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                              size_t err_size)
{
    lk_notify_config_t *notify = &config->notify;
    if (s_section_array(node, "schedules", sizeof *notify->schedules, (void **)&notify->schedules,
                        err, err_size) != 0)
        return -1;
    for (size_t i = 0; i < node->count; i++) {
        char path[64];
        snprintf(path, sizeof path, "schedules[%zu]", i);
        notify->schedule_count = i + 1;
        lk_schedule_t *schedule = &notify->schedules[i];
        if (s_parse_schedule(node->items[i], path, notify, schedule, err, err_size) != 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(notify->schedules[j].name, schedule->name) == 0 &&
                strcmp(notify->schedules[j].tenant_id, schedule->tenant_id) == 0)
                return lk_yaml_error(err, err_size, node->items[i], path,
                                     "duplicate schedule name '%s' for tenant %s "
                                     "(schedules[%zu])",
                                     schedule->name, schedule->tenant_id, j);
    }
    return 0;
}

/* ---- escalation_policies --------------------------------------------------------------- */

static int s_parse_target(const lk_yaml_node_t *node, const char *path,
                          const lk_notify_config_t *notify, const char *tenant_id,
                          lk_policy_target_t *target, char *err, size_t err_size)
{
    static const char *const known[] = {"schedule", "user", "channel", NULL};
    if (lk_yaml_expect(node, LK_YAML_MAPPING, path, err, err_size) != 0 ||
        lk_yaml_check_keys(node, path, known, err, err_size) != 0)
        return -1;
    if (node->count != 1)
        return lk_yaml_error(err, err_size, node, path,
                             "expected exactly one of schedule:, user: or channel:");
    const lk_yaml_node_t *value = node->items[0];
    char field[S_FIELD_MAX];
    snprintf(field, sizeof field, "%s.%s", path, value->key);
    if (s_name(value, field, &target->name, err, err_size) != 0)
        return -1;
    long index = -1;
    if (strcmp(value->key, "schedule") == 0) {
        target->type = LK_TARGET_SCHEDULE;
        for (size_t i = 0; i < notify->schedule_count && index < 0; i++)
            if (strcmp(notify->schedules[i].name, target->name) == 0 &&
                strcmp(notify->schedules[i].tenant_id, tenant_id) == 0)
                index = (long)i;
    } else if (strcmp(value->key, "user") == 0) {
        target->type = LK_TARGET_USER;
        index = s_index_of(notify->users, notify->user_count, sizeof *notify->users, target->name);
    } else {
        target->type = LK_TARGET_CHANNEL;
        index = s_index_of(notify->channels, notify->channel_count, sizeof *notify->channels,
                           target->name);
        if (index >= 0 &&
            (notify->channels[index].type == LK_CHANNEL_EMAIL ||
             notify->channels[index].type == LK_CHANNEL_SMS) &&
            notify->channels[index].to_count == 0)
            return lk_yaml_error(err, err_size, value, field,
                                 "channel '%s' has no `to:` recipients; target users instead",
                                 target->name);
    }
    if (index < 0)
        return lk_yaml_error(err, err_size, value, field, "no %s named '%s'%s", value->key,
                             target->name,
                             target->type == LK_TARGET_SCHEDULE ? " for the policy's tenant" : "");
    target->index = (size_t)index;
    return 0;
}

static int s_parse_level(const lk_yaml_node_t *node, const char *path,
                         const lk_notify_config_t *notify, const char *tenant_id,
                         lk_policy_level_t *level, char *err, size_t err_size)
{
    static const char *const known[] = {"delay", "targets", NULL};
    if (lk_yaml_expect(node, LK_YAML_MAPPING, path, err, err_size) != 0 ||
        lk_yaml_check_keys(node, path, known, err, err_size) != 0)
        return -1;
    char field[S_FIELD_MAX];
    const lk_yaml_node_t *delay = lk_yaml_get(node, "delay");
    snprintf(field, sizeof field, "%s.delay", path);
    if (delay && lk_yaml_duration(delay, field, 0, &level->delay_ms, err, err_size) != 0)
        return -1;
    if (level->delay_ms > 7LL * 86400000)
        return lk_yaml_error(err, err_size, delay, field, "at most 7d");
    const lk_yaml_node_t *targets = lk_yaml_require(node, path, "targets", err, err_size);
    snprintf(field, sizeof field, "%s.targets", path);
    if (!targets || lk_yaml_expect(targets, LK_YAML_SEQUENCE, field, err, err_size) != 0)
        return -1;
    if (targets->count == 0 || targets->count > LK_NOTIFY_TARGETS_MAX)
        return lk_yaml_error(err, err_size, targets, field, "expected 1 to %d targets",
                             LK_NOTIFY_TARGETS_MAX);
    level->targets = calloc(targets->count, sizeof *level->targets);
    if (!level->targets)
        return lk_yaml_error(err, err_size, targets, field, "out of memory");
    for (size_t i = 0; i < targets->count; i++) {
        char child[S_PATH_MAX + 32];
        snprintf(child, sizeof child, "%s.targets[%zu]", path, i);
        level->target_count = i + 1;
        if (s_parse_target(targets->items[i], child, notify, tenant_id, &level->targets[i], err,
                           err_size) != 0)
            return -1;
    }
    return 0;
}

/*  match: {severity: NAME | [NAMES], labels: {name: value}} */
static int s_parse_match(const lk_yaml_node_t *node, const char *path, lk_policy_t *policy,
                         char *err, size_t err_size)
{
    static const char *const known[] = {"severity", "labels", NULL};
    if (lk_yaml_expect(node, LK_YAML_MAPPING, path, err, err_size) != 0 ||
        lk_yaml_check_keys(node, path, known, err, err_size) != 0)
        return -1;
    policy->has_match = true;
    char field[S_FIELD_MAX];
    const lk_yaml_node_t *severity = lk_yaml_get(node, "severity");
    if (severity) {
        snprintf(field, sizeof field, "%s.severity", path);
        bool single = severity->kind == LK_YAML_SCALAR;
        if (!single && lk_yaml_expect(severity, LK_YAML_SEQUENCE, field, err, err_size) != 0)
            return -1;
        size_t count = single ? 1 : severity->count;
        if (count == 0)
            return lk_yaml_error(err, err_size, severity, field, "must not be empty");
        for (size_t i = 0; i < count; i++) {
            const lk_yaml_node_t *item = single ? severity : severity->items[i];
            lk_severity_t value;
            if (item->kind != LK_YAML_SCALAR || lk_yaml_is_null(item) ||
                !lk_severity_parse(item->text, &value))
                return lk_yaml_error(err, err_size, item, field,
                                     "expected info, warning, error or critical");
            policy->severity_mask |= 1u << value;
        }
    }
    const lk_yaml_node_t *labels = lk_yaml_get(node, "labels");
    snprintf(field, sizeof field, "%s.labels", path);
    if (labels && !lk_yaml_is_null(labels) &&
        s_label_map(labels, field, &policy->match_labels, err, err_size) != 0)
        return -1;
    return 0;
}

static int s_parse_policy(const lk_yaml_node_t *node, const char *path,
                          const lk_notify_config_t *notify, lk_policy_t *policy, char *err,
                          size_t err_size)
{
    static const char *const known[] = {"name",   "tenant",       "match", "levels",
                                        "repeat", "repeat_delay", NULL};
    if (lk_yaml_expect(node, LK_YAML_MAPPING, path, err, err_size) != 0 ||
        lk_yaml_check_keys(node, path, known, err, err_size) != 0 ||
        s_required_name(node, path, &policy->name, err, err_size) != 0 ||
        s_tenant(node, path, policy->tenant_id, err, err_size) != 0)
        return -1;
    policy->line = node->line;
    policy->column = node->column;
    char field[S_FIELD_MAX];
    const lk_yaml_node_t *match = lk_yaml_get(node, "match");
    char match_path[S_PATH_MAX];
    snprintf(match_path, sizeof match_path, "%s.match", path);
    if (match && !lk_yaml_is_null(match) &&
        s_parse_match(match, match_path, policy, err, err_size) != 0)
        return -1;

    const lk_yaml_node_t *levels = lk_yaml_require(node, path, "levels", err, err_size);
    snprintf(field, sizeof field, "%s.levels", path);
    if (!levels || lk_yaml_expect(levels, LK_YAML_SEQUENCE, field, err, err_size) != 0)
        return -1;
    if (levels->count == 0 || levels->count > LK_NOTIFY_LEVELS_MAX)
        return lk_yaml_error(err, err_size, levels, field, "expected 1 to %d levels",
                             LK_NOTIFY_LEVELS_MAX);
    policy->levels = calloc(levels->count, sizeof *policy->levels);
    if (!policy->levels)
        return lk_yaml_error(err, err_size, levels, field, "out of memory");
    for (size_t i = 0; i < levels->count; i++) {
        char child[S_PATH_MAX];
        snprintf(child, sizeof child, "%s.levels[%zu]", path, i);
        policy->level_count = i + 1;
        if (s_parse_level(levels->items[i], child, notify, policy->tenant_id, &policy->levels[i],
                          err, err_size) != 0)
            return -1;
    }

    const lk_yaml_node_t *repeat = lk_yaml_get(node, "repeat");
    snprintf(field, sizeof field, "%s.repeat", path);
    int64_t repeat_count = 0;
    if (repeat &&
        lk_yaml_int(repeat, field, 0, LK_NOTIFY_REPEAT_MAX, &repeat_count, err, err_size) != 0)
        return -1;
    policy->repeat = (uint32_t)repeat_count;
    policy->repeat_delay_ms = S_DEFAULT_REPEAT_DELAY_MS;
    const lk_yaml_node_t *repeat_delay = lk_yaml_get(node, "repeat_delay");
    snprintf(field, sizeof field, "%s.repeat_delay", path);
    if (repeat_delay &&
        lk_yaml_duration(repeat_delay, field, 1000, &policy->repeat_delay_ms, err, err_size) != 0)
        return -1;
    return 0;
}

int lk_config_parse_escalation_policies(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                                        size_t err_size)
{
    lk_notify_config_t *notify = &config->notify;
    if (s_section_array(node, "escalation_policies", sizeof *notify->policies,
                        (void **)&notify->policies, err, err_size) != 0)
        return -1;
    for (size_t i = 0; i < node->count; i++) {
        char path[64];
        snprintf(path, sizeof path, "escalation_policies[%zu]", i);
        notify->policy_count = i + 1;
        lk_policy_t *policy = &notify->policies[i];
        if (s_parse_policy(node->items[i], path, notify, policy, err, err_size) != 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(notify->policies[j].name, policy->name) == 0 &&
                strcmp(notify->policies[j].tenant_id, policy->tenant_id) == 0)
                return lk_yaml_error(err, err_size, node->items[i], path,
                                     "duplicate policy name '%s' for tenant %s "
                                     "(escalation_policies[%zu])",
                                     policy->name, policy->tenant_id, j);
    }
    return 0;
}

/* ---- lookups --------------------------------------------------------------------------- */

const lk_policy_t *lk_config_find_policy(const lk_config_t *config, const char *tenant_id,
                                         const char *name)
{
    for (size_t i = 0; config && name && i < config->notify.policy_count; i++)
        if (strcmp(config->notify.policies[i].name, name) == 0 &&
            strcasecmp(config->notify.policies[i].tenant_id, tenant_id) == 0)
            return &config->notify.policies[i];
    return NULL;
}

const lk_schedule_t *lk_config_find_schedule(const lk_config_t *config, const char *tenant_id,
                                             const char *name)
{
    for (size_t i = 0; config && name && i < config->notify.schedule_count; i++)
        if (strcmp(config->notify.schedules[i].name, name) == 0 &&
            strcasecmp(config->notify.schedules[i].tenant_id, tenant_id) == 0)
            return &config->notify.schedules[i];
    return NULL;
}

const lk_user_t *lk_config_find_user(const lk_config_t *config, const char *name)
{
    if (!config || !name)
        return NULL;
    long index = s_index_of(config->notify.users, config->notify.user_count,
                            sizeof *config->notify.users, name);
    return index < 0 ? NULL : &config->notify.users[index];
}

const lk_channel_t *lk_config_find_channel(const lk_config_t *config, const char *name)
{
    if (!config || !name)
        return NULL;
    long index = s_index_of(config->notify.channels, config->notify.channel_count,
                            sizeof *config->notify.channels, name);
    return index < 0 ? NULL : &config->notify.channels[index];
}

const lk_policy_t *lk_config_select_policy(const lk_config_t *config, const char *tenant_id,
                                           const char *route_policy, lk_severity_t severity,
                                           const lk_labels_t *labels)
{
    if (!config)
        return NULL;
    if (route_policy && *route_policy) {
        const lk_policy_t *named = lk_config_find_policy(config, tenant_id, route_policy);
        if (named)
            return named;
    }
    for (size_t i = 0; i < config->notify.policy_count; i++) {
        const lk_policy_t *policy = &config->notify.policies[i];
        if (strcasecmp(policy->tenant_id, tenant_id) != 0)
            continue;
        if (policy->severity_mask && !(policy->severity_mask & (1u << severity)))
            continue;
        bool fits = true;
        for (size_t l = 0; fits && l < policy->match_labels.count; l++) {
            const char *value =
                labels ? lk_labels_get(labels, policy->match_labels.items[l].name) : NULL;
            fits = value && strcmp(value, policy->match_labels.items[l].value) == 0;
        }
        if (fits)
            return policy;
    }
    return NULL;
}
