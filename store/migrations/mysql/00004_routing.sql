-- What routing keeps beyond the directory: rotation positions (R-RULE-5,
-- R-RULE-7), the admin inbox of missed callers (R-IN-3b), and pending cell
-- phone verifications (R-ACC-3). Keep in step with ../sqlite/00004_routing.sql:
-- same tables, columns, keys and limits (see 00001 for the conventions).

-- +goose Up
-- One row per rule and pool (agents, lenders): the position the next
-- routing decision takes, counted since the rule's agents or shares last
-- changed (round_key, computed by the router). The store reads and writes a
-- row under its row lock, so gateways sharing the database never take the
-- same position.
CREATE TABLE rule_rotations (
    rule_id    BIGINT      NOT NULL,
    pool       VARCHAR(16) NOT NULL,
    round_key  VARCHAR(64) NOT NULL,
    position   BIGINT      NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    PRIMARY KEY (rule_id, pool),
    CONSTRAINT rule_rotations_rule_fk FOREIGN KEY (rule_id) REFERENCES rules (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The admin inbox. from_number, to_number, call_id and reason come partly
-- from outside and are cut by the store like a call record's texts;
-- done_by is a username kept as a value (the entry outlives the user).
CREATE TABLE inbox (
    id          BIGINT        NOT NULL AUTO_INCREMENT,
    at          DATETIME(6)   NOT NULL,
    kind        VARCHAR(16)   NOT NULL,
    from_number VARCHAR(1024) NOT NULL,
    to_number   VARCHAR(1024) NOT NULL,
    call_id     VARCHAR(1024) NOT NULL,
    reason      VARCHAR(1024) NOT NULL,
    forward_to  VARCHAR(1024) NOT NULL,
    done        BOOLEAN       NOT NULL,
    done_by     VARCHAR(255)  NOT NULL,
    done_at     DATETIME(6)   NULL,
    PRIMARY KEY (id),
    KEY inbox_open (done, id) -- the open entries, newest first, and their count
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- At most one pending code per user; code_hash is hex, like api_tokens'.
CREATE TABLE cell_codes (
    user_id    BIGINT       NOT NULL,
    phone      VARCHAR(32)  NOT NULL,
    code_hash  VARCHAR(128) NOT NULL,
    expires_at DATETIME(6)  NOT NULL,
    attempts   BIGINT       NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (user_id),
    CONSTRAINT cell_codes_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE cell_codes;
DROP TABLE inbox;
DROP TABLE rule_rotations;
