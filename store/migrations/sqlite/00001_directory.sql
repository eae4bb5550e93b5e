-- The directory: users, numbers, leads, routing rules, settings, API tokens.
-- Keep in step with ../mysql/00001_directory.sql: same tables, columns, keys
-- and limits. The CHECK (length(...)) constraints mirror MySQL's VARCHAR
-- sizes so both backends refuse the same values. Times are UTC text
-- "YYYY-MM-DD HH:MM:SS.ffffff" written by the store.

-- +goose Up
CREATE TABLE users (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    username          TEXT    NOT NULL CONSTRAINT username CHECK (length(username) <= 255),
    name              TEXT    NOT NULL,
    email             TEXT    NOT NULL,
    role              TEXT    NOT NULL CONSTRAINT role CHECK (length(role) <= 64),
    cell_phone        TEXT    NOT NULL CONSTRAINT cell_phone CHECK (length(cell_phone) <= 32),
    cell_verified     BOOLEAN NOT NULL,
    dialer_access     BOOLEAN NOT NULL,
    default_number_id INTEGER REFERENCES numbers (id) ON DELETE SET NULL,
    sip_realm         TEXT    CONSTRAINT sip_realm CHECK (length(sip_realm) <= 255),
    sip_ha1_md5       TEXT    CONSTRAINT sip_ha1_md5 CHECK (length(sip_ha1_md5) <= 128),
    sip_ha1_sha256    TEXT    CONSTRAINT sip_ha1_sha256 CHECK (length(sip_ha1_sha256) <= 128),
    created_at        DATETIME NOT NULL,
    updated_at        DATETIME NOT NULL,
    -- 1 for the primary manager, NULL otherwise: the unique index below keeps
    -- the account to one primary manager even under concurrent writes.
    primary_guard     INTEGER GENERATED ALWAYS AS (CASE WHEN role = 'primary_manager' THEN 1 END) STORED
);
CREATE UNIQUE INDEX users_username ON users (username);
CREATE UNIQUE INDEX users_one_primary ON users (primary_guard);
CREATE INDEX users_default_number ON users (default_number_id);

CREATE TABLE numbers (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    e164       TEXT    NOT NULL CONSTRAINT e164 CHECK (length(e164) <= 32),
    kind       TEXT    NOT NULL CONSTRAINT kind CHECK (length(kind) <= 32),
    role       TEXT    NOT NULL CONSTRAINT role CHECK (length(role) <= 64),
    owner_id   INTEGER REFERENCES users (id) ON DELETE RESTRICT,
    label      TEXT    NOT NULL,
    trunk      TEXT    NOT NULL CONSTRAINT trunk CHECK (length(trunk) <= 255),
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    catch_all_guard INTEGER GENERATED ALWAYS AS (CASE WHEN kind = 'catch_all' THEN 1 END) STORED
);
CREATE UNIQUE INDEX numbers_e164 ON numbers (e164);
CREATE UNIQUE INDEX numbers_one_catch_all ON numbers (catch_all_guard);
CREATE INDEX numbers_owner ON numbers (owner_id);
CREATE INDEX numbers_kind_role ON numbers (kind, role);

CREATE TABLE leads (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    name_fold     TEXT    NOT NULL,
    email         TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    type          TEXT    NOT NULL CONSTRAINT type CHECK (length(type) <= 32),
    price_min     BIGINT  NOT NULL,
    price_max     BIGINT  NOT NULL,
    city          TEXT    NOT NULL,
    county        TEXT    NOT NULL,
    neighborhood  TEXT    NOT NULL,
    postal_code   TEXT    NOT NULL,
    property_type TEXT    NOT NULL,
    site          TEXT    NOT NULL,
    region        TEXT    NOT NULL,
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL
);

CREATE TABLE lead_phones (
    lead_id  INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    e164     TEXT    NOT NULL CONSTRAINT e164 CHECK (length(e164) <= 32),
    PRIMARY KEY (lead_id, position)
);
CREATE UNIQUE INDEX lead_phones_e164 ON lead_phones (e164);

CREATE TABLE lead_tags (
    lead_id  INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    tag      TEXT    NOT NULL,
    PRIMARY KEY (lead_id, position)
);

CREATE TABLE lead_agents (
    lead_id INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    role    TEXT    NOT NULL CONSTRAINT role CHECK (length(role) <= 64),
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (lead_id, role)
);
-- (user_id, lead_id): the leads of an agent, in ID order, from the index alone.
CREATE INDEX lead_agents_user ON lead_agents (user_id, lead_id);

CREATE TABLE rules (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL CONSTRAINT name CHECK (length(name) <= 255),
    position      INTEGER NOT NULL,
    active        BOOLEAN NOT NULL,
    catch_all     BOOLEAN NOT NULL,
    distribution  TEXT    NOT NULL CONSTRAINT distribution CHECK (length(distribution) <= 32),
    claim_timeout INTEGER NOT NULL,
    price_min     BIGINT,
    price_max     BIGINT,
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL,
    catch_all_guard INTEGER GENERATED ALWAYS AS (CASE WHEN catch_all THEN 1 END) STORED
);
CREATE UNIQUE INDEX rules_name ON rules (name);
CREATE UNIQUE INDEX rules_one_catch_all ON rules (catch_all_guard);
CREATE INDEX rules_position ON rules (position, id);

CREATE TABLE rule_criteria (
    rule_id  INTEGER NOT NULL REFERENCES rules (id) ON DELETE CASCADE,
    type     TEXT    NOT NULL CONSTRAINT type CHECK (length(type) <= 32),
    position INTEGER NOT NULL,
    value    TEXT    NOT NULL,
    PRIMARY KEY (rule_id, type, position)
);

CREATE TABLE rule_windows (
    rule_id    INTEGER NOT NULL REFERENCES rules (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    days       TEXT    NOT NULL,
    start_hhmm TEXT    NOT NULL CONSTRAINT start_hhmm CHECK (length(start_hhmm) <= 16),
    end_hhmm   TEXT    NOT NULL CONSTRAINT end_hhmm CHECK (length(end_hhmm) <= 16),
    PRIMARY KEY (rule_id, position)
);

CREATE TABLE rule_agents (
    rule_id         INTEGER NOT NULL REFERENCES rules (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL CONSTRAINT kind CHECK (length(kind) <= 16),
    position        INTEGER NOT NULL,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    leads_per_round INTEGER NOT NULL,
    PRIMARY KEY (rule_id, kind, position)
);
CREATE UNIQUE INDEX rule_agents_user_once ON rule_agents (rule_id, kind, user_id);
CREATE INDEX rule_agents_user ON rule_agents (user_id);

CREATE TABLE account_settings (
    id         INTEGER PRIMARY KEY,
    doc        TEXT    NOT NULL,
    updated_at DATETIME NOT NULL
);
-- The one settings row exists from the start, so that writers only ever
-- update it: two first writers that both insert it would deadlock on MySQL.
-- "{}" reads as the defaults.
INSERT INTO account_settings (id, doc, updated_at) VALUES (1, '{}', '2000-01-01 00:00:00.000000');

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    prefix       TEXT    NOT NULL CONSTRAINT prefix CHECK (length(prefix) <= 32),
    token_hash   TEXT    NOT NULL CONSTRAINT token_hash CHECK (length(token_hash) <= 128),
    created_at   DATETIME NOT NULL,
    last_used_at DATETIME,
    expires_at   DATETIME
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

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
UPDATE users SET default_number_id = NULL;
DROP TABLE numbers;
DROP TABLE users;
