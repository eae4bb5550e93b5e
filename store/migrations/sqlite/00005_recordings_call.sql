-- Databases migrated with the first version of 00003 (before the call
-- record's recording became "the recording that names the call") lack the
-- index that lookup uses, and keep call_records.recording_id, which nothing
-- reads or writes any more (it defaults to 0, so inserts need not name it).
-- 00003 as it is now makes the index itself; here it is made where it is
-- missing. Keep in step with ../mysql/00005_recordings_call.sql.

-- +goose Up
CREATE INDEX IF NOT EXISTS recordings_call ON recordings (call_record_id);

-- +goose Down
-- The index stays: on newer databases it belongs to 00003.
SELECT 1;
