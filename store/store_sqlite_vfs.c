/*  store_sqlite_vfs — one write per commit for the WAL (see store_sqlite_vfs.h). */
#include "store_sqlite_vfs.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lk_time.h"

/* Bytes gathered before they are written anyway: a commit of 64 new alerts is ~55 frames
   (~225 KiB); larger commits go out in pieces of this size. */
#define S_BUFFER_SIZE (1024 * 1024)

/* A WAL file: the default VFS's file follows this header in the same allocation. */
typedef struct {
    sqlite3_file base;
    sqlite3_file *real;
    unsigned char *buffer; /* S_BUFFER_SIZE bytes, allocated at the first write */
    sqlite3_int64 offset;  /* file offset of buffer[0] */
    size_t used;
    bool commit_frame; /* the last write was the header of a frame that ends a commit */
} s_wal_t;

/* A WAL frame header: page number, then the database size after a commit (0 in the other
   frames of a transaction), salts and checksums (https://sqlite.org/fileformat.html). */
#define S_FRAME_HEADER 24

static sqlite3_vfs *s_default;
static sqlite3_vfs s_vfs;
static int s_registered = SQLITE_ERROR;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static _Atomic(store_sqlite_vfs_sync_fn) s_on_sync;

/* The real file starts at this offset of the allocation SQLite makes for us. */
#define S_REAL_OFFSET ((sizeof(s_wal_t) + 15) & ~(size_t)15)

/* The default VFS writes at most 0x1ffff bytes a call (it masks the count; more is a
   short write, reported as SQLITE_FULL), so the gathered bytes go out in pieces of this
   many: a commit of 64 new alerts in two calls. */
#define S_PIECE_SIZE (120 * 1024)

/* Writes what is gathered; the gathered bytes are dropped either way (SQLite treats a
   failed write as an I/O error of the transaction, which it rolls back). */
static int s_flush(s_wal_t *self)
{
    int rc = SQLITE_OK;
    for (size_t done = 0; done < self->used && rc == SQLITE_OK; done += S_PIECE_SIZE) {
        size_t piece = self->used - done < S_PIECE_SIZE ? self->used - done : S_PIECE_SIZE;
        rc = self->real->pMethods->xWrite(self->real, self->buffer + done, (int)piece,
                                          self->offset + (sqlite3_int64)done);
    }
    self->used = 0;
    return rc;
}

static int s_close(sqlite3_file *file)
{
    s_wal_t *self = (s_wal_t *)file;
    int rc = s_flush(self);
    int closed = self->real->pMethods->xClose(self->real);
    free(self->buffer);
    self->buffer = NULL;
    return rc != SQLITE_OK ? rc : closed;
}

static int s_read(sqlite3_file *file, void *data, int amount, sqlite3_int64 offset)
{
    s_wal_t *self = (s_wal_t *)file;
    int rc = s_flush(self);
    return rc != SQLITE_OK ? rc : self->real->pMethods->xRead(self->real, data, amount, offset);
}

/* Gathers a write that continues the gathered ones, else writes those out and starts over.
   The page write that follows the header of a commit frame ends the commit: what is
   gathered goes out then, before SQLite publishes the commit to the other connections in
   the shared memory (whether or not it syncs). */
static int s_write(sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset)
{
    s_wal_t *self = (s_wal_t *)file;
    size_t size = (size_t)amount;
    bool ends_commit = self->commit_frame && size != S_FRAME_HEADER;
    const unsigned char *bytes = data;
    self->commit_frame = size == S_FRAME_HEADER && (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0;
    int rc = SQLITE_OK;
    if (self->used > 0 && offset == self->offset + (sqlite3_int64)self->used &&
        self->used + size <= S_BUFFER_SIZE) {
        memcpy(self->buffer + self->used, data, size);
        self->used += size;
    } else if ((rc = s_flush(self)) != SQLITE_OK) {
        return rc;
    } else if (size >= S_PIECE_SIZE || (!self->buffer && !(self->buffer = malloc(S_BUFFER_SIZE)))) {
        return self->real->pMethods->xWrite(self->real, data, amount, offset);
    } else {
        memcpy(self->buffer, data, size);
        self->offset = offset;
        self->used = size;
    }
    return ends_commit ? s_flush(self) : SQLITE_OK;
}

static int s_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    s_wal_t *self = (s_wal_t *)file;
    int rc = s_flush(self);
    return rc != SQLITE_OK ? rc : self->real->pMethods->xTruncate(self->real, size);
}

/* The gathered frames go out, then the log is synced; the observer learns how long the
   sync alone took. */
static int s_sync(sqlite3_file *file, int flags)
{
    s_wal_t *self = (s_wal_t *)file;
    int rc = s_flush(self);
    if (rc != SQLITE_OK)
        return rc;
    store_sqlite_vfs_sync_fn on_sync = atomic_load_explicit(&s_on_sync, memory_order_acquire);
    if (!on_sync)
        return self->real->pMethods->xSync(self->real, flags);
    double started = lk_mono_seconds();
    rc = self->real->pMethods->xSync(self->real, flags);
    on_sync(lk_mono_seconds() - started);
    return rc;
}

static int s_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
    s_wal_t *self = (s_wal_t *)file;
    int rc = s_flush(self);
    return rc != SQLITE_OK ? rc : self->real->pMethods->xFileSize(self->real, size);
}

static int s_lock(sqlite3_file *file, int level)
{
    s_wal_t *self = (s_wal_t *)file;
    return self->real->pMethods->xLock(self->real, level);
}

static int s_unlock(sqlite3_file *file, int level)
{
    s_wal_t *self = (s_wal_t *)file;
    int rc = s_flush(self);
    int unlocked = self->real->pMethods->xUnlock(self->real, level);
    return rc != SQLITE_OK ? rc : unlocked;
}

static int s_check_reserved_lock(sqlite3_file *file, int *out)
{
    s_wal_t *self = (s_wal_t *)file;
    return self->real->pMethods->xCheckReservedLock(self->real, out);
}

static int s_file_control(sqlite3_file *file, int op, void *arg)
{
    s_wal_t *self = (s_wal_t *)file;
    int rc = s_flush(self);
    if (rc != SQLITE_OK)
        return rc;
    return self->real->pMethods->xFileControl(self->real, op, arg);
}

static int s_sector_size(sqlite3_file *file)
{
    s_wal_t *self = (s_wal_t *)file;
    return self->real->pMethods->xSectorSize(self->real);
}

static int s_device_characteristics(sqlite3_file *file)
{
    s_wal_t *self = (s_wal_t *)file;
    return self->real->pMethods->xDeviceCharacteristics(self->real);
}

/* SQLite keeps a WAL's shared memory on the database file and never maps a WAL, so these
   are not called on one; a methods table of version 3 must have them, and they forward. */
static int s_shm_map(sqlite3_file *file, int region, int size, int extend, void volatile **out)
{
    s_wal_t *self = (s_wal_t *)file;
    if (self->real->pMethods->iVersion < 2) {
        *out = NULL;
        return SQLITE_IOERR_SHMMAP;
    }
    return self->real->pMethods->xShmMap(self->real, region, size, extend, out);
}

static int s_shm_lock(sqlite3_file *file, int offset, int count, int flags)
{
    s_wal_t *self = (s_wal_t *)file;
    if (self->real->pMethods->iVersion < 2)
        return SQLITE_IOERR_SHMLOCK;
    return self->real->pMethods->xShmLock(self->real, offset, count, flags);
}

static void s_shm_barrier(sqlite3_file *file)
{
    s_wal_t *self = (s_wal_t *)file;
    if (self->real->pMethods->iVersion >= 2)
        self->real->pMethods->xShmBarrier(self->real);
}

static int s_shm_unmap(sqlite3_file *file, int delete_flag)
{
    s_wal_t *self = (s_wal_t *)file;
    if (self->real->pMethods->iVersion < 2)
        return SQLITE_OK;
    return self->real->pMethods->xShmUnmap(self->real, delete_flag);
}

static int s_fetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **out)
{
    s_wal_t *self = (s_wal_t *)file;
    *out = NULL;
    int rc = s_flush(self);
    if (rc != SQLITE_OK || self->real->pMethods->iVersion < 3)
        return rc;
    return self->real->pMethods->xFetch(self->real, offset, amount, out);
}

static int s_unfetch(sqlite3_file *file, sqlite3_int64 offset, void *page)
{
    s_wal_t *self = (s_wal_t *)file;
    if (self->real->pMethods->iVersion < 3)
        return SQLITE_OK;
    return self->real->pMethods->xUnfetch(self->real, offset, page);
}

static const sqlite3_io_methods s_wal_methods = {
    .iVersion = 3,
    .xClose = s_close,
    .xRead = s_read,
    .xWrite = s_write,
    .xTruncate = s_truncate,
    .xSync = s_sync,
    .xFileSize = s_file_size,
    .xLock = s_lock,
    .xUnlock = s_unlock,
    .xCheckReservedLock = s_check_reserved_lock,
    .xFileControl = s_file_control,
    .xSectorSize = s_sector_size,
    .xDeviceCharacteristics = s_device_characteristics,
    .xShmMap = s_shm_map,
    .xShmLock = s_shm_lock,
    .xShmBarrier = s_shm_barrier,
    .xShmUnmap = s_shm_unmap,
    .xFetch = s_fetch,
    .xUnfetch = s_unfetch,
};

/* A WAL is wrapped; anything else is opened as the default VFS opens it, in place (our
   allocation is larger than its file needs). */
static int s_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
    (void)vfs;
    if (!(flags & SQLITE_OPEN_WAL))
        return s_default->xOpen(s_default, name, file, flags, out_flags);
    s_wal_t *self = (s_wal_t *)file;
    memset(self, 0, sizeof *self);
    self->real = (sqlite3_file *)((char *)file + S_REAL_OFFSET);
    int rc = s_default->xOpen(s_default, name, self->real, flags, out_flags);
    if (rc != SQLITE_OK || !self->real->pMethods) {
        /* SQLite calls xClose only when pMethods is set; the default VFS closed its file */
        self->base.pMethods = NULL;
        return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
    }
    self->base.pMethods = &s_wal_methods;
    return SQLITE_OK;
}

static int s_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    return s_default->xDelete(s_default, name, sync_dir);
}

static int s_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return s_default->xAccess(s_default, name, flags, out);
}

static int s_full_pathname(sqlite3_vfs *vfs, const char *name, int size, char *out)
{
    (void)vfs;
    return s_default->xFullPathname(s_default, name, size, out);
}

static void *s_dl_open(sqlite3_vfs *vfs, const char *name)
{
    (void)vfs;
    return s_default->xDlOpen(s_default, name);
}

static void s_dl_error(sqlite3_vfs *vfs, int size, char *out)
{
    (void)vfs;
    s_default->xDlError(s_default, size, out);
}

static void (*s_dl_sym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void)
{
    (void)vfs;
    return s_default->xDlSym(s_default, handle, symbol);
}

static void s_dl_close(sqlite3_vfs *vfs, void *handle)
{
    (void)vfs;
    s_default->xDlClose(s_default, handle);
}

static int s_randomness(sqlite3_vfs *vfs, int size, char *out)
{
    (void)vfs;
    return s_default->xRandomness(s_default, size, out);
}

static int s_sleep(sqlite3_vfs *vfs, int microseconds)
{
    (void)vfs;
    return s_default->xSleep(s_default, microseconds);
}

static int s_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return s_default->xCurrentTime(s_default, out);
}

static int s_get_last_error(sqlite3_vfs *vfs, int size, char *out)
{
    (void)vfs;
    return s_default->xGetLastError(s_default, size, out);
}

static int s_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    return s_default->xCurrentTimeInt64(s_default, out);
}

static void s_register(void)
{
    s_default = sqlite3_vfs_find(NULL);
    if (!s_default || s_default->iVersion < 2) {
        s_registered = SQLITE_ERROR;
        return;
    }
    s_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)(S_REAL_OFFSET + (size_t)s_default->szOsFile),
        .mxPathname = s_default->mxPathname,
        .zName = STORE_SQLITE_VFS_NAME,
        .xOpen = s_open,
        .xDelete = s_delete,
        .xAccess = s_access,
        .xFullPathname = s_full_pathname,
        .xDlOpen = s_dl_open,
        .xDlError = s_dl_error,
        .xDlSym = s_dl_sym,
        .xDlClose = s_dl_close,
        .xRandomness = s_randomness,
        .xSleep = s_sleep,
        .xCurrentTime = s_current_time,
        .xGetLastError = s_get_last_error,
        .xCurrentTimeInt64 = s_current_time_int64,
    };
    s_registered = sqlite3_vfs_register(&s_vfs, 0);
}

int store_sqlite_vfs_register(void)
{
    pthread_once(&s_once, s_register);
    return s_registered;
}

void store_sqlite_vfs_on_sync(store_sqlite_vfs_sync_fn fn)
{
    atomic_store_explicit(&s_on_sync, fn, memory_order_release);
}
