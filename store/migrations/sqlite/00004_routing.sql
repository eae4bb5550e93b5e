-- What routing keeps beyond the directory: rotation positions (R-RULE-5,
-- R-RULE-7), the admin inbox of missed callers (R-IN-3b), and pending cell
-- phone verifications (R-ACC-3). Keep in step with ../mysql/00004_routing.sql:
-- same tables, columns, keys and limits (see 00001 for the conventions).

-- +goose Up
-- One row per rule and pool (agents, lenders): the position the next
-- routing decision takes, counted since the rule's agents or shares last
-- changed (round_key, computed by the router). SQLite runs one write
-- transaction at a time (the store begins them IMMEDIATE), so gateways
-- sharing the file never take the same position.
CREATE TABLE rule_rotations (
    rule_id    INTEGER NOT NULL REFERENCES rules (id) ON DELETE CASCADE,
    pool       TEXT    NOT NULL CONSTRAINT pool CHECK (length(pool) <= 16),
    round_key  TEXT    NOT NULL CONSTRAINT round_key CHECK (length(round_key) <= 64),
    position   BIGINT  NOT NULL,
    updated_at DATETIME NOT NULL,
    PRIMARY KEY (rule_id, pool)
);

-- The admin inbox. from_number, to_number, call_id and reason come partly
-- from outside and are cut by the store like a call record's texts;
-- done_by is a username kept as a value (the entry outlives the user).
CREATE TABLE inbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          DATETIME NOT NULL,
    kind        TEXT    NOT NULL CONSTRAINT kind CHECK (length(kind) <= 16),
    from_number TEXT    NOT NULL CONSTRAINT from_number CHECK (length(from_number) <= 1024),
    to_number   TEXT    NOT NULL CONSTRAINT to_number CHECK (length(to_number) <= 1024),
    call_id     TEXT    NOT NULL CONSTRAINT call_id CHECK (length(call_id) <= 1024),
    reason      TEXT    NOT NULL CONSTRAINT reason CHECK (length(reason) <= 1024),
    forward_to  TEXT    NOT NULL CONSTRAINT forward_to CHECK (length(forward_to) <= 1024),
    done        BOOLEAN NOT NULL,
    done_by     TEXT    NOT NULL CONSTRAINT done_by CHECK (length(done_by) <= 255),
    done_at     DATETIME
);
-- The open entries, newest first, and their count.
CREATE INDEX inbox_open ON inbox (done, id);

-- At most one pending code per user; code_hash is hex, like api_tokens'.
CREATE TABLE cell_codes (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    phone      TEXT    NOT NULL CONSTRAINT phone CHECK (length(phone) <= 32),
    code_hash  TEXT    NOT NULL CONSTRAINT code_hash CHECK (length(code_hash) <= 128),
    expires_at DATETIME NOT NULL,
    attempts   BIGINT  NOT NULL,
    created_at DATETIME NOT NULL
);

-- +goose Down
DROP TABLE cell_codes;
DROP TABLE inbox;
DROP TABLE rule_rotations;
