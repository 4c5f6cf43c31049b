-- Audits (engagements): frameworks, a period [period_start, period_end), the auditors assigned,
-- a status; their request lists (PBC) with comment threads and the evidence versions that
-- answer them; and the samples auditors draw (seed and population recorded, so a sample can
-- be drawn again and checked). Same tables and columns as migrations/postgres.

CREATE TABLE audits (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL,
    period_start  TEXT NOT NULL,
    period_end    TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'planned'
                  CHECK (status IN ('planned', 'fieldwork', 'reporting', 'closed')),
    created_by    INTEGER NOT NULL REFERENCES users (id),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CHECK (period_start < period_end)
);

CREATE TABLE audit_frameworks (
    audit_id      INTEGER NOT NULL REFERENCES audits (id),
    framework_id  INTEGER NOT NULL REFERENCES frameworks (id),
    PRIMARY KEY (audit_id, framework_id)
);

CREATE TABLE audit_auditors (
    audit_id  INTEGER NOT NULL REFERENCES audits (id),
    user_id   INTEGER NOT NULL REFERENCES users (id),
    PRIMARY KEY (audit_id, user_id)
);
CREATE INDEX audit_auditors_user ON audit_auditors (user_id);

CREATE TABLE audit_samples (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    audit_id           INTEGER NOT NULL REFERENCES audits (id),
    population         TEXT NOT NULL CHECK (population IN ('evidence_versions', 'budget_attestations')),
    population_size    INTEGER NOT NULL,
    -- SHA-256 of the population's keys, sorted, one per line: the same population again.
    population_sha256  TEXT NOT NULL,
    size               INTEGER NOT NULL,
    seed               TEXT NOT NULL,
    -- The drawn keys in draw order, one per line.
    items              TEXT NOT NULL,
    drawn_by           INTEGER NOT NULL REFERENCES users (id),
    drawn_at           TEXT NOT NULL
);

CREATE TABLE audit_requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    audit_id        INTEGER NOT NULL REFERENCES audits (id),
    -- Shown as PBC-001: numbered per audit.
    number          INTEGER NOT NULL,
    text            TEXT NOT NULL,
    requirement_id  INTEGER REFERENCES requirements (id),
    control_id      INTEGER REFERENCES controls (id),
    population      TEXT NOT NULL DEFAULT '',
    sample_id       INTEGER REFERENCES audit_samples (id),
    sample_item     TEXT,
    period_start    TEXT NOT NULL,
    period_end      TEXT NOT NULL,
    due_date        TEXT NOT NULL,
    assignee_id     INTEGER REFERENCES users (id),
    status          TEXT NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'submitted', 'accepted', 'returned')),
    created_by      INTEGER NOT NULL REFERENCES users (id),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (audit_id, number),
    CHECK (period_start < period_end)
);
CREATE INDEX audit_requests_assignee ON audit_requests (assignee_id, status);

CREATE TABLE audit_request_comments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id  INTEGER NOT NULL REFERENCES audit_requests (id),
    author_id   INTEGER NOT NULL REFERENCES users (id),
    action      TEXT NOT NULL CHECK (action IN ('comment', 'submitted', 'accepted', 'returned')),
    body        TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX audit_request_comments_request ON audit_request_comments (request_id, id);

CREATE TABLE audit_request_evidence (
    request_id   INTEGER NOT NULL REFERENCES audit_requests (id),
    evidence_id  INTEGER NOT NULL REFERENCES evidence (id),
    version      INTEGER NOT NULL,
    added_by     INTEGER NOT NULL REFERENCES users (id),
    added_at     TEXT NOT NULL,
    PRIMARY KEY (request_id, evidence_id, version)
);
