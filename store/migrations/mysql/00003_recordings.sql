-- Recordings and voicemail (R-REC-1..5, R-IN-4), and what call records say
-- about them. Keep in step with ../sqlite/00003_recordings.sql: same tables,
-- columns, keys and limits (see 00001 for the conventions).

-- +goose Up
-- The index of the audio files. Like call records, a recording keeps the
-- call record, username and lead it belongs to as values (0 or '' for
-- none), not references: it outlives the user and the lead, and the call
-- record outlives it. call_id, from_number and to_number come partly from
-- outside and are cut by the store like the call record's.
CREATE TABLE recordings (
    id             BIGINT        NOT NULL AUTO_INCREMENT,
    call_record_id BIGINT        NOT NULL,
    call_id        VARCHAR(1024) NOT NULL,
    kind           VARCHAR(32)   NOT NULL,
    username       VARCHAR(255)  NOT NULL,
    lead_id        BIGINT        NOT NULL,
    from_number    VARCHAR(1024) NOT NULL,
    to_number      VARCHAR(1024) NOT NULL,
    path           VARCHAR(1024) NOT NULL,
    started_at     DATETIME(6)   NOT NULL,
    duration_ms    BIGINT        NOT NULL,
    size_bytes     BIGINT        NOT NULL,
    sha256         VARCHAR(64)   NOT NULL,
    complete       BOOLEAN       NOT NULL,
    saved          BOOLEAN       NOT NULL,
    save_by        DATETIME(6)   NULL,
    expires_at     DATETIME(6)   NULL,
    heard          BOOLEAN       NOT NULL,
    created_at     DATETIME(6)   NOT NULL,
    PRIMARY KEY (id),
    KEY recordings_start (started_at),
    KEY recordings_user_kind (username, kind, id), -- an agent's recordings, a box's voicemail, in ID order
    KEY recordings_lead (lead_id, id),
    KEY recordings_expires (expires_at),           -- the retention sweep: expired recordings,
    KEY recordings_unsaved (saved, save_by),       -- and unsaved ones past save_by
    KEY recordings_call (call_record_id)           -- a call record's recording
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- consent: how the caller was told of the recording ("played",
-- "skipped:one-party:TX", "" when no recording was made); consent_at: when.
-- A call's recording is the one whose call_record_id names it.
ALTER TABLE call_records
    ADD COLUMN consent      VARCHAR(255) NOT NULL DEFAULT '',
    ADD COLUMN consent_at   DATETIME(6)  NULL;

-- +goose Down
ALTER TABLE call_records
    DROP COLUMN consent_at,
    DROP COLUMN consent;
DROP TABLE recordings;
