-- SIP registrations (the location service) and call records.
-- Keep in step with ../sqlite/00002_calls.sql: same tables, columns, keys and
-- limits (see 00001 for the conventions). uri_hash is the hex SHA-256 of
-- uri, written by the store: InnoDB cannot put a unique key on 1024
-- utf8mb4 characters (4096 bytes > 3072), so the binding is keyed on the hash.

-- +goose Up
CREATE TABLE sip_contacts (
    id         BIGINT        NOT NULL AUTO_INCREMENT,
    user_id    BIGINT        NOT NULL,
    uri        VARCHAR(1024) NOT NULL,
    uri_hash   VARCHAR(64)   NOT NULL,
    source     VARCHAR(1024) NOT NULL,
    instance   VARCHAR(255)  NOT NULL,
    call_id    VARCHAR(1024) NOT NULL,
    cseq       BIGINT        NOT NULL,
    user_agent VARCHAR(255)  NOT NULL,
    node       VARCHAR(255)  NOT NULL,
    expires_at DATETIME(6)   NOT NULL,
    updated_at DATETIME(6)   NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY sip_contacts_binding (user_id, uri_hash),
    KEY sip_contacts_expires (expires_at),
    KEY sip_contacts_node (node, expires_at),
    CONSTRAINT sip_contacts_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Call records keep usernames and lead IDs as values, not references: a
-- record outlives the user and the lead it names.
CREATE TABLE call_records (
    id          BIGINT        NOT NULL AUTO_INCREMENT,
    call_id     VARCHAR(1024) NOT NULL,
    node        VARCHAR(255)  NOT NULL,
    direction   VARCHAR(32)   NOT NULL,
    from_party  VARCHAR(1024) NOT NULL,
    to_party    VARCHAR(1024) NOT NULL,
    dialed      VARCHAR(32)   NOT NULL,
    number_kind VARCHAR(32)   NOT NULL,
    role        VARCHAR(64)   NOT NULL,
    username    VARCHAR(255)  NOT NULL,
    lead_id     BIGINT        NOT NULL,
    trunk       VARCHAR(255)  NOT NULL,
    route       VARCHAR(1024) NOT NULL,
    start_at    DATETIME(6)   NOT NULL,
    answer_at   DATETIME(6)   NULL,
    end_at      DATETIME(6)   NULL,
    result      VARCHAR(32)   NOT NULL,
    sip_code    INT           NOT NULL,
    sip_reason  VARCHAR(255)  NOT NULL,
    PRIMARY KEY (id),
    KEY call_records_start (start_at),
    KEY call_records_username (username, id), -- an agent's calls in ID order
    KEY call_records_node_open (node, end_at) -- a node's open records (end_at IS NULL), closed at its restart
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE call_records;
DROP TABLE sip_contacts;
