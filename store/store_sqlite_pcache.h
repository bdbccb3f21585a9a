/*  store_sqlite_pcache — SQLite's own page cache, without the scan of its whole hash table
    that every commit paid once the B-trees had been rebalanced.

    When a B-tree balance swaps two new pages so their numbers ascend (btree.c,
    balance_nonroot), SQLite moves one of them under a spare page number for a moment: the
    lock-byte page's, 262,145 with 4 KiB pages, far beyond the end of any database under a
    gigabyte. SQLite's page cache (pcache1) remembers the highest page number it has held,
    and at the end of every transaction the pager asks it to drop the pages beyond the
    database's end; with that number 262,145 the cache walks every slot of its hash table,
    one cold cache line per page it holds, to find none. On the writer (32 MiB of cache,
    about 8,000 pages) that walk was about 8% of store's CPU time under new alerts, inside
    each COMMIT (perf; callgrind, which counts instructions and not cache misses, hid it).

    This module installs a page cache that is SQLite's default one with a bound in front:
    it follows the highest page number actually held (pages the pager fetched, and pages
    moved under a number above them until they move away again) and passes a truncation on
    only when a page at or above its limit may be held. Every other call goes straight to
    the default cache. Installed once per process, before SQLite initialises. */
#ifndef STORE_SQLITE_PCACHE_H
#define STORE_SQLITE_PCACHE_H

#include <stdint.h>

/* Makes the bounded page cache the process's, unless SQLite is already initialised (then
   SQLite keeps its own and this returns its error code). Call once, before any connection
   is opened. Returns SQLITE_OK or an SQLite error code. */
int store_sqlite_pcache_install(void);

/* What the caches of this process did (tests, diagnostics): truncations passed on to
   SQLite's cache, truncations answered here because no page at or above the limit was
   held, and pages moved under a number above every page fetched (a balance's spare). */
typedef struct {
    uint64_t passed;
    uint64_t skipped;
    uint64_t moved_above;
} store_sqlite_pcache_stats_t;

store_sqlite_pcache_stats_t store_sqlite_pcache_stats(void);

#endif
