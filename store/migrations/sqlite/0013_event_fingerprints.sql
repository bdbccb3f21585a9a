-- Issue 11 (performance): an alert_* event names all the alerts of its change.
-- Must stay equivalent to ../postgres/0013_event_fingerprints.sql.
--
-- correlate folds the same change of several alerts of one incident, made one after the
-- other (a flood of new alerts of one group), into one event of up to 128 alerts
-- (common/lk_model.h): the column holds their fingerprints separated by single spaces. An
-- event written before names one alert, which is such a list. A commit of 64 new alerts of
-- one group wrote 64 event rows and their index entries; it now writes one, and store
-- spends 42% fewer instructions per new alert (docs/performance.md).
ALTER TABLE events RENAME COLUMN fingerprint TO fingerprints;
