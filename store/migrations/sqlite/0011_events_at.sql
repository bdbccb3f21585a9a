-- Issue 11 (performance): no index on events.at.
-- Must stay equivalent to ../postgres/0011_events_at.sql.
--
-- Only the outbox's retention used it, and events are numbered in the order they happen:
-- retention now removes the oldest events by sequence (store_outbox.c), which needs no
-- index of its own. The index cost every event an insert into one more B-tree; on SQLite
-- its pages were about 3.4 of the ~54 WAL frames a commit of 64 new alerts wrote.
DROP INDEX IF EXISTS events_at;
