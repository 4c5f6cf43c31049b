-- Foundation: organisation, users, sessions, login throttling, the audit chain.
-- Instants are TEXT 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (UTC, fixed width: text order = time order).
-- Flags are INTEGER 0/1. Both choices keep one set of queries working through sqlx's Any driver.

CREATE TABLE organisation (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    username             TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    email                TEXT,
    role                 TEXT NOT NULL CHECK (role IN ('admin', 'compliance', 'finance', 'auditor')),
    password_hash        TEXT NOT NULL,
    active               INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    access_expires_at    TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    password_changed_at  TEXT NOT NULL
);

CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash    TEXT NOT NULL UNIQUE,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    client_addr   TEXT,
    user_agent    TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_failures (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account      TEXT NOT NULL,
    client_addr  TEXT NOT NULL,
    at           TEXT NOT NULL
);
CREATE INDEX login_failures_account ON login_failures (account, at);
CREATE INDEX login_failures_addr ON login_failures (client_addr, at);

CREATE TABLE trusted_devices (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash  TEXT NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);

CREATE TABLE audit_events (
    seq          INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    actor_id     INTEGER,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    object_type  TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    summary      TEXT NOT NULL,
    request_id   TEXT,
    client_addr  TEXT,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_action ON audit_events (action);
CREATE INDEX audit_events_actor ON audit_events (actor);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

-- The chain head: locked first by every write transaction, so writers queue and the chain
-- cannot fork.
CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
