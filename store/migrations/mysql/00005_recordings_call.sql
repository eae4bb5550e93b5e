-- Databases migrated with the first version of 00003 (before the call
-- record's recording became "the recording that names the call") lack the
-- index that lookup uses, and keep call_records.recording_id, which nothing
-- reads or writes any more (it defaults to 0, so inserts need not name it).
-- 00003 as it is now makes the index itself; here it is made where it is
-- missing (MySQL has no CREATE INDEX IF NOT EXISTS). Keep in step with
-- ../sqlite/00005_recordings_call.sql.

-- +goose Up
SET @teamline_ddl := IF(
    (SELECT COUNT(*) FROM information_schema.statistics
     WHERE table_schema = DATABASE() AND table_name = 'recordings' AND index_name = 'recordings_call') = 0,
    'CREATE INDEX recordings_call ON recordings (call_record_id)',
    'DO 0');
PREPARE teamline_ensure_index FROM @teamline_ddl;
EXECUTE teamline_ensure_index;
DEALLOCATE PREPARE teamline_ensure_index;

-- +goose Down
-- The index stays: on newer databases it belongs to 00003.
SELECT 1;
