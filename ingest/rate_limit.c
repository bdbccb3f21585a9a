/*  rate_limit — token buckets per tenant (see the header). */
#include "rate_limit.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lk_fingerprint.h"
#include "lk_uuid.h"

#define S_STRIPES 64

typedef struct {
    char tenant_id[LK_UUID_STR_LEN + 1]; /* "" = free slot */
    double tokens;                       /* may go negative: a large batch's debt */
    int64_t updated_ms;
} s_bucket_t;

struct rate_limit_t {
    double rate;  /* alerts per second; 0 = off */
    double burst; /* bucket size */
    pthread_mutex_t stripes[S_STRIPES];
    s_bucket_t *buckets; /* RATE_LIMIT_TENANTS, open addressing with linear probing */
    pthread_mutex_t overflow_mutex;
    s_bucket_t overflow; /* every tenant that finds no slot */
};

rate_limit_t *rate_limit_new(double rate, double burst)
{
    rate_limit_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->rate = rate > 0 ? rate : 0;
    self->burst = burst > 0 ? burst : (rate > 1 ? rate : 1);
    if (self->rate > 0) {
        self->buckets = calloc(RATE_LIMIT_TENANTS, sizeof *self->buckets);
        if (!self->buckets) {
            free(self);
            return NULL;
        }
    }
    for (int i = 0; i < S_STRIPES; i++)
        pthread_mutex_init(&self->stripes[i], NULL);
    pthread_mutex_init(&self->overflow_mutex, NULL);
    return self;
}

void rate_limit_destroy(rate_limit_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rate_limit_t *self = *self_p;
    for (int i = 0; i < S_STRIPES; i++)
        pthread_mutex_destroy(&self->stripes[i]);
    pthread_mutex_destroy(&self->overflow_mutex);
    free(self->buckets);
    free(self);
    *self_p = NULL;
}

/* Refills, then charges or refuses; the caller holds the bucket's lock. */
static bool s_charge(const rate_limit_t *self, s_bucket_t *bucket, uint64_t count, int64_t now_ms,
                     int *retry_after_s)
{
    if (now_ms > bucket->updated_ms) {
        bucket->tokens += (double)(now_ms - bucket->updated_ms) * self->rate / 1000.0;
        if (bucket->tokens > self->burst)
            bucket->tokens = self->burst;
        bucket->updated_ms = now_ms;
    }
    double wanted = (double)count;
    double needed = wanted < self->burst ? wanted : self->burst;
    if (bucket->tokens >= needed) {
        bucket->tokens -= wanted;
        return true;
    }
    double seconds = ceil((needed - bucket->tokens) / self->rate);
    *retry_after_s = seconds < 1 ? 1 : seconds > 86400 ? 86400 : (int)seconds;
    return false;
}

bool rate_limit_admit(rate_limit_t *self, const char *tenant_id, uint64_t count, int64_t now_ms,
                      int *retry_after_s)
{
    if (!self || self->rate <= 0 || count == 0)
        return true;
    size_t length = strnlen(tenant_id, LK_UUID_STR_LEN);
    uint64_t hash = lk_fnv1a64(LK_FNV64_OFFSET, tenant_id, length);
    size_t start = (size_t)(hash % RATE_LIMIT_TENANTS);
    /* Probe a short run of slots: the table never shrinks, so a tenant found (or placed)
       once stays in its slot, and the stripe lock of each slot guards it. */
    for (size_t probe = 0; probe < 8; probe++) {
        size_t index = (start + probe) % RATE_LIMIT_TENANTS;
        pthread_mutex_t *lock = &self->stripes[index % S_STRIPES];
        pthread_mutex_lock(lock);
        s_bucket_t *bucket = &self->buckets[index];
        bool mine = strcmp(bucket->tenant_id, tenant_id) == 0;
        if (!mine && bucket->tenant_id[0] == '\0') {
            memcpy(bucket->tenant_id, tenant_id, length);
            bucket->tenant_id[length] = '\0';
            bucket->tokens = self->burst;
            bucket->updated_ms = now_ms;
            mine = true;
        }
        if (mine) {
            bool admitted = s_charge(self, bucket, count, now_ms, retry_after_s);
            pthread_mutex_unlock(lock);
            return admitted;
        }
        pthread_mutex_unlock(lock);
    }
    pthread_mutex_lock(&self->overflow_mutex);
    if (self->overflow.updated_ms == 0) {
        self->overflow.tokens = self->burst;
        self->overflow.updated_ms = now_ms;
    }
    bool admitted = s_charge(self, &self->overflow, count, now_ms, retry_after_s);
    pthread_mutex_unlock(&self->overflow_mutex);
    return admitted;
}
