-- Recordings and voicemail (R-REC-1..5, R-IN-4), and what call records say
-- about them. Keep in step with ../mysql/00003_recordings.sql: same tables,
-- columns, keys and limits (see 00001 for the conventions).

-- +goose Up
-- The index of the audio files. Like call records, a recording keeps the
-- call record, username and lead it belongs to as values (0 or '' for
-- none), not references: it outlives the user and the lead, and the call
-- record outlives it. call_id, from_number and to_number come partly from
-- outside and are cut by the store like the call record's.
CREATE TABLE recordings (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    call_record_id BIGINT  NOT NULL,
    call_id        TEXT    NOT NULL CONSTRAINT call_id CHECK (length(call_id) <= 1024),
    kind           TEXT    NOT NULL CONSTRAINT kind CHECK (length(kind) <= 32),
    username       TEXT    NOT NULL CONSTRAINT username CHECK (length(username) <= 255),
    lead_id        BIGINT  NOT NULL,
    from_number    TEXT    NOT NULL CONSTRAINT from_number CHECK (length(from_number) <= 1024),
    to_number      TEXT    NOT NULL CONSTRAINT to_number CHECK (length(to_number) <= 1024),
    path           TEXT    NOT NULL CONSTRAINT path CHECK (length(path) <= 1024),
    started_at     DATETIME NOT NULL,
    duration_ms    BIGINT  NOT NULL,
    size_bytes     BIGINT  NOT NULL,
    sha256         TEXT    NOT NULL CONSTRAINT sha256 CHECK (length(sha256) <= 64),
    complete       BOOLEAN NOT NULL,
    saved          BOOLEAN NOT NULL,
    save_by        DATETIME,
    expires_at     DATETIME,
    heard          BOOLEAN NOT NULL,
    created_at     DATETIME NOT NULL
);
CREATE INDEX recordings_start ON recordings (started_at);
-- (username, kind, id): an agent's recordings, a box's voicemail, in ID order.
CREATE INDEX recordings_user_kind ON recordings (username, kind, id);
CREATE INDEX recordings_lead ON recordings (lead_id, id);
-- The retention sweep: expired recordings, and unsaved ones past save_by.
CREATE INDEX recordings_expires ON recordings (expires_at);
CREATE INDEX recordings_unsaved ON recordings (saved, save_by);
-- A call record's recording.
CREATE INDEX recordings_call ON recordings (call_record_id);

-- consent: how the caller was told of the recording ("played",
-- "skipped:one-party:TX", "" when no recording was made); consent_at: when.
-- A call's recording is the one whose call_record_id names it.
ALTER TABLE call_records ADD COLUMN consent TEXT NOT NULL DEFAULT '' CONSTRAINT consent CHECK (length(consent) <= 255);
ALTER TABLE call_records ADD COLUMN consent_at DATETIME;

-- +goose Down
ALTER TABLE call_records DROP COLUMN consent_at;
ALTER TABLE call_records DROP COLUMN consent;
DROP TABLE recordings;
