/*  intake_keys — the integration keys of the configuration file (`integrations:`), swappable
    while requests read them.

    ingest's HTTP threads look keys up on every Prometheus, Alertmanager and PagerDuty request;
    a SIGHUP replaces the whole set. Each set is a refcounted version: a lookup takes a
    reference under a short mutex, compares keys without it, copies out what it needs and
    drops the reference; a swap installs the new version and drops the old one, which is
    freed by whichever of them lets go last. A lookup therefore sees either the old set or
    the new one, never a mix and never freed memory.

        intake_keys_t *keys = intake_keys_new(config);   // takes config
        intake_key_match_t match;
        if (intake_keys_find(keys, key, key_len, &match)) ... match.tenant_id, match.name
        intake_keys_swap(keys, reloaded);                // takes reloaded
*/
#ifndef INTAKE_KEYS_H
#define INTAKE_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "lk_config.h"

typedef struct intake_keys_t intake_keys_t;

/* What a matching key stands for, copied out of the set. */
typedef struct {
    char tenant_id[LK_UUID_STR_LEN + 1];
    char name[LK_INTEGRATION_NAME_MAX + 1];
} intake_key_match_t;

/* Creates the holder with config's integrations; takes ownership of config (NULL = no
   keys). Returns NULL on OOM (config is then destroyed). */
intake_keys_t *intake_keys_new(lk_config_t *config);

/* Frees the holder and its current version; accepts NULL and sets *self_p to NULL. No
   lookup may be running. */
void intake_keys_destroy(intake_keys_t **self_p);

/* Looks key (key_len bytes, not NUL-terminated) up in the current set, comparing in
   constant time per stored key. Returns true with *match filled, false when no key
   matches (or self is NULL). Safe from any thread, concurrently with intake_keys_swap. */
bool intake_keys_find(intake_keys_t *self, const char *key, size_t key_len,
                      intake_key_match_t *match);

/* Makes config's integrations the current set (takes ownership of config; NULL = no keys).
   Lookups already running finish on the old set. Returns 0, or -1 on OOM (config is then
   destroyed and the current set stays). */
int intake_keys_swap(intake_keys_t *self, lk_config_t *config);

/* Keys in the current set. */
size_t intake_keys_count(intake_keys_t *self);

#endif
