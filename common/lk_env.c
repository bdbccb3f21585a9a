/*  lk_env — typed, validated reads of the environment (every variable is in env.example). */
#include "lk_env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lk_log.h"

const char *lk_env_str(const char *name, const char *fallback)
{
    const char *value = getenv(name);
    return value && *value ? value : fallback;
}

int64_t lk_env_int(const char *name, int64_t fallback, int64_t min, int64_t max)
{
    const char *value = getenv(name);
    if (!value || !*value)
        return fallback;
    char *end = NULL;
    errno = 0;
    long long parsed = strtoll(value, &end, 10);
    if (errno || *end || parsed < min || parsed > max)
        lk_fatal("configuration: %s must be an integer from %lld to %lld", name, (long long)min,
                 (long long)max);
    return parsed;
}

bool lk_env_bool(const char *name, bool fallback)
{
    const char *value = getenv(name);
    if (!value || !*value)
        return fallback;
    static const char *yes[] = {"1", "true", "yes", "on"};
    static const char *no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(value, yes[i]) == 0)
            return true;
        if (strcasecmp(value, no[i]) == 0)
            return false;
    }
    lk_fatal("configuration: %s must be true or false", name);
}

char *lk_env_secret(const char *name)
{
    const char *value = getenv(name);
    if (value && *value)
        return strdup(value);
    char file_var[128];
    snprintf(file_var, sizeof file_var, "%s_FILE", name);
    const char *path = getenv(file_var);
    if (!path || !*path)
        return NULL;
    FILE *file = fopen(path, "rb");
    if (!file)
        lk_fatal("configuration: cannot read %s (named by %s)", path, file_var);
    char buffer[8192];
    size_t length = fread(buffer, 1, sizeof buffer - 1, file);
    fclose(file);
    buffer[length] = '\0';
    while (length > 0 && (buffer[length - 1] == '\n' || buffer[length - 1] == '\r'))
        buffer[--length] = '\0';
    return length ? strdup(buffer) : NULL;
}
