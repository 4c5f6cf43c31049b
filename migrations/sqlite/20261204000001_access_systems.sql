-- Access reviews, first part: the systems whose accounts are reviewed, their account
-- snapshots (each account with the flags it got at import and their explanations), the
-- people list (orphans, manager routing) and the flag rules. Same tables and columns as
-- migrations/postgres.

CREATE TABLE systems (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL
                     CHECK (kind IN ('application', 'cloud_account', 'database', 'steward')),
    owner_id         INTEGER REFERENCES users (id),
    criticality      TEXT NOT NULL DEFAULT 'medium'
                     CHECK (criticality IN ('low', 'medium', 'high', 'critical')),
    -- Comma-separated, lower-case (personal, financial, health…): retention reads them.
    data_categories  TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL DEFAULT '',
    -- The column mapping of the last CSV import (JSON: field → header), offered next time.
    mapping          TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);

CREATE TABLE account_snapshots (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    system_id    INTEGER NOT NULL REFERENCES systems (id),
    taken_at     TEXT NOT NULL,
    source       TEXT NOT NULL CHECK (source IN ('csv', 'iam_credential_report', 'steward')),
    file_name    TEXT NOT NULL DEFAULT '',
    file_sha256  TEXT NOT NULL,
    encoding     TEXT NOT NULL DEFAULT '',
    accounts     INTEGER NOT NULL,
    imported_by  INTEGER REFERENCES users (id)
);
CREATE INDEX account_snapshots_system ON account_snapshots (system_id, id);

CREATE TABLE snapshot_accounts (
    snapshot_id    INTEGER NOT NULL REFERENCES account_snapshots (id),
    key            TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    email          TEXT,
    name           TEXT NOT NULL,
    entitlement    TEXT NOT NULL DEFAULT '',
    account_type   TEXT NOT NULL
                   CHECK (account_type IN ('human', 'service', 'shared', 'root', 'access_key')),
    active         INTEGER NOT NULL CHECK (active IN (0, 1)),
    last_used      TEXT,
    created        TEXT,
    -- NULL where the source does not say.
    mfa            INTEGER CHECK (mfa IN (0, 1)),
    manager_email  TEXT,
    rotated        TEXT,
    -- Flag codes, comma-separated, and their explanations, one line each in the same order.
    flags          TEXT NOT NULL DEFAULT '',
    flag_notes     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (snapshot_id, key)
);

CREATE TABLE people (
    email          TEXT NOT NULL PRIMARY KEY,
    name           TEXT NOT NULL,
    manager_email  TEXT,
    active         INTEGER NOT NULL CHECK (active IN (0, 1)),
    department     TEXT NOT NULL DEFAULT '',
    imported_at    TEXT NOT NULL
);

CREATE TABLE access_review_rules (
    id                     INTEGER PRIMARY KEY CHECK (id = 1),
    dormant_days           INTEGER NOT NULL,
    stale_credential_days  INTEGER NOT NULL,
    -- One pattern a line, matched case-insensitively within the entitlement.
    privileged_patterns    TEXT NOT NULL
);
