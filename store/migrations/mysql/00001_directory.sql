-- The directory: users, numbers, leads, routing rules, settings, API tokens.
-- Keep in step with ../sqlite/00001_directory.sql: same tables, columns, keys
-- and limits. utf8mb4_bin makes comparisons and unique keys byte-exact like
-- SQLite's BINARY collation (except that it pads trailing spaces; the store
-- re-checks key lookups in Go). Times are UTC DATETIME(6) written by the store.
-- Integers are BIGINT, the 64 bits of SQLite's INTEGER and of Go's int.

-- +goose Up
CREATE TABLE users (
    id                BIGINT       NOT NULL AUTO_INCREMENT,
    username          VARCHAR(255) NOT NULL,
    name              TEXT         NOT NULL,
    email             TEXT         NOT NULL,
    role              VARCHAR(64)  NOT NULL,
    cell_phone        VARCHAR(32)  NOT NULL,
    cell_verified     BOOLEAN      NOT NULL,
    dialer_access     BOOLEAN      NOT NULL,
    default_number_id BIGINT       NULL,
    sip_realm         VARCHAR(255) NULL,
    sip_ha1_md5       VARCHAR(128) NULL,
    sip_ha1_sha256    VARCHAR(128) NULL,
    created_at        DATETIME(6)  NOT NULL,
    updated_at        DATETIME(6)  NOT NULL,
    -- 1 for the primary manager, NULL otherwise: the unique key below keeps
    -- the account to one primary manager even under concurrent writes.
    primary_guard     TINYINT AS (CASE WHEN role = 'primary_manager' THEN 1 END) STORED,
    PRIMARY KEY (id),
    UNIQUE KEY users_username (username),
    UNIQUE KEY users_one_primary (primary_guard),
    KEY users_default_number (default_number_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE numbers (
    id         BIGINT       NOT NULL AUTO_INCREMENT,
    e164       VARCHAR(32)  NOT NULL,
    kind       VARCHAR(32)  NOT NULL,
    role       VARCHAR(64)  NOT NULL,
    owner_id   BIGINT       NULL,
    label      TEXT         NOT NULL,
    trunk      VARCHAR(255) NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    updated_at DATETIME(6)  NOT NULL,
    catch_all_guard TINYINT AS (CASE WHEN kind = 'catch_all' THEN 1 END) STORED,
    PRIMARY KEY (id),
    UNIQUE KEY numbers_e164 (e164),
    UNIQUE KEY numbers_one_catch_all (catch_all_guard),
    KEY numbers_owner (owner_id),
    KEY numbers_kind_role (kind, role),
    CONSTRAINT numbers_owner_fk FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

ALTER TABLE users ADD CONSTRAINT users_default_number_fk
    FOREIGN KEY (default_number_id) REFERENCES numbers (id) ON DELETE SET NULL;

CREATE TABLE leads (
    id            BIGINT      NOT NULL AUTO_INCREMENT,
    name          TEXT        NOT NULL,
    name_fold     TEXT        NOT NULL,
    email         TEXT        NOT NULL,
    source        TEXT        NOT NULL,
    type          VARCHAR(32) NOT NULL,
    price_min     BIGINT      NOT NULL,
    price_max     BIGINT      NOT NULL,
    city          TEXT        NOT NULL,
    county        TEXT        NOT NULL,
    neighborhood  TEXT        NOT NULL,
    postal_code   TEXT        NOT NULL,
    property_type TEXT        NOT NULL,
    site          TEXT        NOT NULL,
    region        TEXT        NOT NULL,
    created_at    DATETIME(6) NOT NULL,
    updated_at    DATETIME(6) NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE lead_phones (
    lead_id  BIGINT      NOT NULL,
    position BIGINT      NOT NULL,
    e164     VARCHAR(32) NOT NULL,
    PRIMARY KEY (lead_id, position),
    UNIQUE KEY lead_phones_e164 (e164),
    CONSTRAINT lead_phones_lead_fk FOREIGN KEY (lead_id) REFERENCES leads (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE lead_tags (
    lead_id  BIGINT NOT NULL,
    position BIGINT NOT NULL,
    tag      TEXT   NOT NULL,
    PRIMARY KEY (lead_id, position),
    CONSTRAINT lead_tags_lead_fk FOREIGN KEY (lead_id) REFERENCES leads (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE lead_agents (
    lead_id BIGINT      NOT NULL,
    role    VARCHAR(64) NOT NULL,
    user_id BIGINT      NOT NULL,
    PRIMARY KEY (lead_id, role),
    KEY lead_agents_user (user_id, lead_id), -- the leads of an agent, in ID order
    CONSTRAINT lead_agents_lead_fk FOREIGN KEY (lead_id) REFERENCES leads (id) ON DELETE CASCADE,
    CONSTRAINT lead_agents_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE rules (
    id            BIGINT       NOT NULL AUTO_INCREMENT,
    name          VARCHAR(255) NOT NULL,
    position      BIGINT       NOT NULL,
    active        BOOLEAN      NOT NULL,
    catch_all     BOOLEAN      NOT NULL,
    distribution  VARCHAR(32)  NOT NULL,
    claim_timeout BIGINT       NOT NULL,
    price_min     BIGINT       NULL,
    price_max     BIGINT       NULL,
    created_at    DATETIME(6)  NOT NULL,
    updated_at    DATETIME(6)  NOT NULL,
    catch_all_guard TINYINT AS (CASE WHEN catch_all THEN 1 END) STORED,
    PRIMARY KEY (id),
    UNIQUE KEY rules_name (name),
    UNIQUE KEY rules_one_catch_all (catch_all_guard),
    KEY rules_position (position, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE rule_criteria (
    rule_id  BIGINT      NOT NULL,
    type     VARCHAR(32) NOT NULL,
    position BIGINT      NOT NULL,
    value    TEXT        NOT NULL,
    PRIMARY KEY (rule_id, type, position),
    CONSTRAINT rule_criteria_rule_fk FOREIGN KEY (rule_id) REFERENCES rules (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE rule_windows (
    rule_id    BIGINT      NOT NULL,
    position   BIGINT      NOT NULL,
    days       TEXT        NOT NULL,
    start_hhmm VARCHAR(16) NOT NULL,
    end_hhmm   VARCHAR(16) NOT NULL,
    PRIMARY KEY (rule_id, position),
    CONSTRAINT rule_windows_rule_fk FOREIGN KEY (rule_id) REFERENCES rules (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE rule_agents (
    rule_id         BIGINT      NOT NULL,
    kind            VARCHAR(16) NOT NULL,
    position        BIGINT      NOT NULL,
    user_id         BIGINT      NOT NULL,
    leads_per_round BIGINT      NOT NULL,
    PRIMARY KEY (rule_id, kind, position),
    UNIQUE KEY rule_agents_user_once (rule_id, kind, user_id),
    KEY rule_agents_user (user_id),
    CONSTRAINT rule_agents_rule_fk FOREIGN KEY (rule_id) REFERENCES rules (id) ON DELETE CASCADE,
    CONSTRAINT rule_agents_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE account_settings (
    id         INT         NOT NULL,
    doc        MEDIUMTEXT  NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- The one settings row exists from the start, so that writers only ever
-- update it: two first writers that both insert it would deadlock on MySQL.
-- "{}" reads as the defaults.
INSERT INTO account_settings (id, doc, updated_at) VALUES (1, '{}', '2000-01-01 00:00:00.000000');

CREATE TABLE api_tokens (
    id           BIGINT       NOT NULL AUTO_INCREMENT,
    name         TEXT         NOT NULL,
    user_id      BIGINT       NOT NULL,
    prefix       VARCHAR(32)  NOT NULL,
    token_hash   VARCHAR(128) NOT NULL,
    created_at   DATETIME(6)  NOT NULL,
    last_used_at DATETIME(6)  NULL,
    expires_at   DATETIME(6)  NULL,
    PRIMARY KEY (id),
    UNIQUE KEY api_tokens_hash (token_hash),
    KEY api_tokens_user (user_id),
    CONSTRAINT api_tokens_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE api_tokens;
DROP TABLE account_settings;
DROP TABLE rule_agents;
DROP TABLE rule_windows;
DROP TABLE rule_criteria;
DROP TABLE rules;
DROP TABLE lead_agents;
DROP TABLE lead_tags;
DROP TABLE lead_phones;
DROP TABLE leads;
ALTER TABLE users DROP FOREIGN KEY users_default_number_fk;
DROP TABLE numbers;
DROP TABLE users;
