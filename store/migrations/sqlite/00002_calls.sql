-- SIP registrations (the location service) and call records.
-- Keep in step with ../mysql/00002_calls.sql: same tables, columns, keys and
-- limits (see 00001 for the conventions). uri_hash is the hex SHA-256 of
-- uri, written by the store: MySQL cannot put a unique key on 1024
-- characters, so both backends key the binding on the hash.

-- +goose Up
CREATE TABLE sip_contacts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    uri        TEXT    NOT NULL CONSTRAINT uri CHECK (length(uri) <= 1024),
    uri_hash   TEXT    NOT NULL CONSTRAINT uri_hash CHECK (length(uri_hash) <= 64),
    source     TEXT    NOT NULL CONSTRAINT source CHECK (length(source) <= 1024),
    instance   TEXT    NOT NULL CONSTRAINT instance CHECK (length(instance) <= 255),
    call_id    TEXT    NOT NULL CONSTRAINT call_id CHECK (length(call_id) <= 1024),
    cseq       BIGINT  NOT NULL,
    user_agent TEXT    NOT NULL CONSTRAINT user_agent CHECK (length(user_agent) <= 255),
    node       TEXT    NOT NULL CONSTRAINT node CHECK (length(node) <= 255),
    expires_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX sip_contacts_binding ON sip_contacts (user_id, uri_hash);
CREATE INDEX sip_contacts_expires ON sip_contacts (expires_at);
CREATE INDEX sip_contacts_node ON sip_contacts (node, expires_at);

-- Call records keep usernames and lead IDs as values, not references: a
-- record outlives the user and the lead it names.
CREATE TABLE call_records (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id     TEXT    NOT NULL CONSTRAINT call_id CHECK (length(call_id) <= 1024),
    node        TEXT    NOT NULL CONSTRAINT node CHECK (length(node) <= 255),
    direction   TEXT    NOT NULL CONSTRAINT direction CHECK (length(direction) <= 32),
    from_party  TEXT    NOT NULL CONSTRAINT from_party CHECK (length(from_party) <= 1024),
    to_party    TEXT    NOT NULL CONSTRAINT to_party CHECK (length(to_party) <= 1024),
    dialed      TEXT    NOT NULL CONSTRAINT dialed CHECK (length(dialed) <= 32),
    number_kind TEXT    NOT NULL CONSTRAINT number_kind CHECK (length(number_kind) <= 32),
    role        TEXT    NOT NULL CONSTRAINT role CHECK (length(role) <= 64),
    username    TEXT    NOT NULL CONSTRAINT username CHECK (length(username) <= 255),
    lead_id     BIGINT  NOT NULL,
    trunk       TEXT    NOT NULL CONSTRAINT trunk CHECK (length(trunk) <= 255),
    route       TEXT    NOT NULL CONSTRAINT route CHECK (length(route) <= 1024),
    start_at    DATETIME NOT NULL,
    answer_at   DATETIME,
    end_at      DATETIME,
    result      TEXT    NOT NULL CONSTRAINT result CHECK (length(result) <= 32),
    sip_code    INTEGER NOT NULL,
    sip_reason  TEXT    NOT NULL CONSTRAINT sip_reason CHECK (length(sip_reason) <= 255)
);
CREATE INDEX call_records_start ON call_records (start_at);
-- (username, id): an agent's calls in ID order, from the index alone.
CREATE INDEX call_records_username ON call_records (username, id);
-- A node's open records (end_at IS NULL), closed at its restart.
CREATE INDEX call_records_node_open ON call_records (node, end_at);

-- +goose Down
DROP TABLE call_records;
DROP TABLE sip_contacts;
