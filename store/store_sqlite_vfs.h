/*  store_sqlite_vfs — a SQLite VFS that hands each commit's WAL frames to the kernel in one
    write.

    SQLite writes a WAL frame as two writes, its 24-byte header and its page, so a commit of
    50 pages costs 100 pwrite calls, each paying a system call and the file system's per-call
    work, on pages the 4,120-byte frames leave unaligned. This VFS wraps the default one;
    for write-ahead logs it gathers writes that continue one another in a buffer and writes
    them out (in pieces of up to 120 KiB) when the commit's last frame is complete (its header
   carries the commit mark), which is before SQLite syncs the log or publishes the commit in the
   shared memory the other connections read; and before anything else that could need them in the
   file: a read, a truncate, a size query, a file control, an unlock, a close, a write elsewhere. So
   the file holds at every commit what it held before, and a process crash or a power loss keeps
   what it kept: only the number of write calls changed (about 110 to 2 for a commit of 64 new
   alerts). Every other file (the database, its shared memory, temporary files) is the default VFS's
   own. */
#ifndef STORE_SQLITE_VFS_H
#define STORE_SQLITE_VFS_H

#define STORE_SQLITE_VFS_NAME "lookout-wal"

/* Registers the VFS (not as the default) once per process; safe to call from any thread.
   Returns SQLITE_OK, or an SQLite error code (the caller then opens with the default). */
int store_sqlite_vfs_register(void);

/* Called after every sync of a write-ahead log opened through this VFS (the writer's: one
   per durable commit) with the seconds the sync took, from whichever thread synced; NULL
   (the default) times nothing. The disk's latency as the commits meet it, apart from the
   work of the commit itself. */
typedef void (*store_sqlite_vfs_sync_fn)(double seconds);
void store_sqlite_vfs_on_sync(store_sqlite_vfs_sync_fn fn);

#endif
