/*  store_sqlite_pcache — SQLite's default page cache behind a bound on the page numbers it
    holds (store_sqlite_pcache.h says why).

    Each cache keeps the highest number the pager fetched a page under and, apart from it,
    the few numbers above it that moved pages hold for the moment (a balance's spare
    number). No held page has a number above the higher of the two; a truncation to a
    limit above it has nothing to drop and is answered here. Over-estimating is always
    safe (the truncation is passed on, as without this module); under-estimating never
    happens: every way a page gets a number (fetch, move) updates the bound first, and
    the bound is lowered only by a truncation that SQLite's cache carried out. */
#include "store_sqlite_pcache.h"

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

/* Numbers above the fetched bound that moved pages may hold at once: a balance moves one
   page at a time through the spare number, so one is the norm; past this many, the bound
   itself is raised (correct, only slower). */
#define S_MOVED_MAX 8

typedef struct {
    sqlite3_pcache *inner;
    unsigned fetched_max;        /* no page the pager fetched is numbered above it */
    unsigned moved[S_MOVED_MAX]; /* numbers above fetched_max that moved pages hold */
    unsigned moved_count;
} s_cache_t;

/* SQLite's default page cache, set once by store_sqlite_pcache_install. */
static sqlite3_pcache_methods2 s_inner;
static atomic_uint_fast64_t s_passed;
static atomic_uint_fast64_t s_skipped;
static atomic_uint_fast64_t s_moved_above;

/* The index of number in cache->moved, or -1. */
static int s_moved_find(const s_cache_t *cache, unsigned number)
{
    for (unsigned index = 0; index < cache->moved_count; index++)
        if (cache->moved[index] == number)
            return (int)index;
    return -1;
}

static void s_moved_remove(s_cache_t *cache, unsigned index)
{
    cache->moved[index] = cache->moved[--cache->moved_count];
}

/* The highest number a page of the cache may hold. */
static unsigned s_bound(const s_cache_t *cache)
{
    unsigned bound = cache->fetched_max;
    for (unsigned index = 0; index < cache->moved_count; index++)
        if (cache->moved[index] > bound)
            bound = cache->moved[index];
    return bound;
}

static int s_init(void *arg)
{
    (void)arg;
    return s_inner.xInit ? s_inner.xInit(s_inner.pArg) : SQLITE_OK;
}

static void s_shutdown(void *arg)
{
    (void)arg;
    if (s_inner.xShutdown)
        s_inner.xShutdown(s_inner.pArg);
}

static sqlite3_pcache *s_create(int page_size, int extra_size, int purgeable)
{
    s_cache_t *cache = sqlite3_malloc(sizeof(*cache));
    if (!cache)
        return NULL;
    memset(cache, 0, sizeof(*cache));
    cache->inner = s_inner.xCreate(page_size, extra_size, purgeable);
    if (!cache->inner) {
        sqlite3_free(cache);
        return NULL;
    }
    return (sqlite3_pcache *)cache;
}

static void s_cachesize(sqlite3_pcache *handle, int pages)
{
    s_inner.xCachesize(((s_cache_t *)handle)->inner, pages);
}

static int s_pagecount(sqlite3_pcache *handle)
{
    return s_inner.xPagecount(((s_cache_t *)handle)->inner);
}

static sqlite3_pcache_page *s_fetch(sqlite3_pcache *handle, unsigned number, int create)
{
    s_cache_t *cache = (s_cache_t *)handle;
    sqlite3_pcache_page *page = s_inner.xFetch(cache->inner, number, create);
    /* a page found under a moved number is already covered by it */
    if (page && number > cache->fetched_max && s_moved_find(cache, number) < 0)
        cache->fetched_max = number;
    return page;
}

static void s_unpin(sqlite3_pcache *handle, sqlite3_pcache_page *page, int discard)
{
    /* a discarded moved page leaves its number in moved: an over-estimate, safe */
    s_inner.xUnpin(((s_cache_t *)handle)->inner, page, discard);
}

static void s_rekey(sqlite3_pcache *handle, sqlite3_pcache_page *page, unsigned from, unsigned to)
{
    s_cache_t *cache = (s_cache_t *)handle;
    s_inner.xRekey(cache->inner, page, from, to);
    int index = s_moved_find(cache, from);
    if (index >= 0)
        s_moved_remove(cache, (unsigned)index);
    if (to > cache->fetched_max && s_moved_find(cache, to) < 0) {
        atomic_fetch_add_explicit(&s_moved_above, 1, memory_order_relaxed);
        if (cache->moved_count < S_MOVED_MAX)
            cache->moved[cache->moved_count++] = to;
        else
            cache->fetched_max = to;
    }
}

static void s_truncate(sqlite3_pcache *handle, unsigned limit)
{
    s_cache_t *cache = (s_cache_t *)handle;
    if (limit > s_bound(cache)) {
        atomic_fetch_add_explicit(&s_skipped, 1, memory_order_relaxed);
        return;
    }
    s_inner.xTruncate(cache->inner, limit);
    atomic_fetch_add_explicit(&s_passed, 1, memory_order_relaxed);
    /* every page numbered limit or above is gone */
    if (cache->fetched_max >= limit)
        cache->fetched_max = limit ? limit - 1 : 0;
    for (unsigned index = 0; index < cache->moved_count;)
        if (cache->moved[index] >= limit)
            s_moved_remove(cache, index);
        else
            index++;
}

static void s_destroy(sqlite3_pcache *handle)
{
    s_cache_t *cache = (s_cache_t *)handle;
    s_inner.xDestroy(cache->inner);
    sqlite3_free(cache);
}

static void s_shrink(sqlite3_pcache *handle)
{
    s_inner.xShrink(((s_cache_t *)handle)->inner);
}

int store_sqlite_pcache_install(void)
{
    sqlite3_pcache_methods2 inner;
    int rc = sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &inner);
    if (rc != SQLITE_OK)
        return rc;
    if (inner.xFetch == s_fetch)
        return SQLITE_OK;
    s_inner = inner;
    static const sqlite3_pcache_methods2 methods = {
        .iVersion = 1,
        .xInit = s_init,
        .xShutdown = s_shutdown,
        .xCreate = s_create,
        .xCachesize = s_cachesize,
        .xPagecount = s_pagecount,
        .xFetch = s_fetch,
        .xUnpin = s_unpin,
        .xRekey = s_rekey,
        .xTruncate = s_truncate,
        .xDestroy = s_destroy,
        .xShrink = s_shrink,
    };
    return sqlite3_config(SQLITE_CONFIG_PCACHE2, &methods);
}

store_sqlite_pcache_stats_t store_sqlite_pcache_stats(void)
{
    return (store_sqlite_pcache_stats_t){
        .passed = atomic_load_explicit(&s_passed, memory_order_relaxed),
        .skipped = atomic_load_explicit(&s_skipped, memory_order_relaxed),
        .moved_above = atomic_load_explicit(&s_moved_above, memory_order_relaxed),
    };
}
