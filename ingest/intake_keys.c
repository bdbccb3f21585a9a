/*  intake_keys — refcounted, swappable integration key sets (see the header). */
#include "intake_keys.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intake_util.h"

typedef struct {
    lk_config_t *config; /* owned; NULL = no keys */
    size_t refs;         /* the holder's reference + one per running lookup */
} s_version_t;

struct intake_keys_t {
    pthread_mutex_t lock; /* guards current and every version's refs */
    s_version_t *current;
};

static s_version_t *s_version_new(lk_config_t *config)
{
    s_version_t *version = calloc(1, sizeof *version);
    if (!version) {
        lk_config_destroy(&config);
        return NULL;
    }
    version->config = config;
    version->refs = 1;
    return version;
}

static void s_version_free(s_version_t *version)
{
    lk_config_destroy(&version->config);
    free(version);
}

/* Drops one reference; frees the version when it was the last. */
static void s_release(intake_keys_t *self, s_version_t *version)
{
    pthread_mutex_lock(&self->lock);
    bool last = --version->refs == 0;
    pthread_mutex_unlock(&self->lock);
    if (last)
        s_version_free(version);
}

/* Takes a reference on the current version. */
static s_version_t *s_acquire(intake_keys_t *self)
{
    pthread_mutex_lock(&self->lock);
    s_version_t *version = self->current;
    version->refs++;
    pthread_mutex_unlock(&self->lock);
    return version;
}

intake_keys_t *intake_keys_new(lk_config_t *config)
{
    intake_keys_t *self = calloc(1, sizeof *self);
    if (!self) {
        lk_config_destroy(&config);
        return NULL;
    }
    self->current = s_version_new(config);
    if (!self->current || pthread_mutex_init(&self->lock, NULL) != 0) {
        if (self->current)
            s_version_free(self->current);
        free(self);
        return NULL;
    }
    return self;
}

void intake_keys_destroy(intake_keys_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    intake_keys_t *self = *self_p;
    s_release(self, self->current);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

bool intake_keys_find(intake_keys_t *self, const char *key, size_t key_len,
                      intake_key_match_t *match)
{
    if (!self)
        return false;
    s_version_t *version = s_acquire(self);
    const lk_integration_t *found = intake_integration_find(version->config, key, key_len);
    if (found) {
        snprintf(match->tenant_id, sizeof match->tenant_id, "%s", found->tenant_id);
        snprintf(match->name, sizeof match->name, "%s", found->name);
    }
    s_release(self, version);
    return found != NULL;
}

int intake_keys_swap(intake_keys_t *self, lk_config_t *config)
{
    s_version_t *fresh = s_version_new(config);
    if (!fresh)
        return -1;
    pthread_mutex_lock(&self->lock);
    s_version_t *old = self->current;
    self->current = fresh;
    pthread_mutex_unlock(&self->lock);
    s_release(self, old); /* the holder's reference; running lookups keep theirs */
    return 0;
}

size_t intake_keys_count(intake_keys_t *self)
{
    if (!self)
        return 0;
    s_version_t *version = s_acquire(self);
    size_t count = version->config ? version->config->integration_count : 0;
    s_release(self, version);
    return count;
}
