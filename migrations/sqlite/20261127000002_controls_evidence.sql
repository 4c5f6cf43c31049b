-- Frameworks, requirements, the organisation's controls, their mappings, and evidence.
-- Same tables and columns as migrations/postgres (a test compares them). Instants are TEXT
-- 'YYYY-MM-DDTHH:MM:SS.ffffffZ'; calendar dates are TEXT 'YYYY-MM-DD'; flags INTEGER 0/1.

-- Days before a due date at which a control counts as "due soon".
ALTER TABLE organisation ADD COLUMN due_soon_days INTEGER NOT NULL DEFAULT 14;

CREATE TABLE frameworks (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Stable identity across versions: a re-import with the same key updates this framework.
    key            TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    version        TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    source_format  TEXT NOT NULL CHECK (source_format IN ('oscal', 'csv')),
    source_name    TEXT NOT NULL,
    source_sha256  TEXT NOT NULL,
    imported_at    TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE requirements (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    framework_id  INTEGER NOT NULL REFERENCES frameworks (id),
    -- The identifier as the source gives it (OSCAL id such as 'ac-2.1'), unique per framework.
    ref           TEXT NOT NULL,
    -- The human label ('AC-2(1)'); equals ref when the source has none.
    label         TEXT NOT NULL,
    parent_ref    TEXT,
    group_ref     TEXT NOT NULL DEFAULT '',
    group_title   TEXT NOT NULL DEFAULT '',
    title         TEXT NOT NULL,
    statement     TEXT NOT NULL DEFAULT '',
    sort_order    INTEGER NOT NULL,
    -- Set when a re-import no longer contains this requirement; its mappings are kept for the
    -- record but it no longer counts towards coverage.
    retired_at    TEXT,
    UNIQUE (framework_id, ref)
);
CREATE INDEX requirements_framework ON requirements (framework_id, sort_order);

CREATE TABLE controls (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    ref            TEXT NOT NULL UNIQUE,
    title          TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    owner_id       INTEGER REFERENCES users (id),
    cadence        TEXT NOT NULL DEFAULT 'none'
                   CHECK (cadence IN ('none', 'monthly', 'quarterly', 'semiannual', 'annual')),
    applicable     INTEGER NOT NULL DEFAULT 1 CHECK (applicable IN (0, 1)),
    justification  TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    CHECK (applicable = 1 OR justification <> '')
);
CREATE INDEX controls_owner ON controls (owner_id);

CREATE TABLE control_requirements (
    control_id      INTEGER NOT NULL REFERENCES controls (id),
    requirement_id  INTEGER NOT NULL REFERENCES requirements (id),
    created_at      TEXT NOT NULL,
    PRIMARY KEY (control_id, requirement_id)
);
CREATE INDEX control_requirements_requirement ON control_requirements (requirement_id);

-- Stored file contents, addressed by SHA-256 (one row and one file per distinct content).
CREATE TABLE blobs (
    sha256      TEXT NOT NULL PRIMARY KEY,
    size_bytes  INTEGER NOT NULL,
    media_type  TEXT NOT NULL,
    stored_at   TEXT NOT NULL
);

-- An evidence item; what it says lives in its immutable versions.
CREATE TABLE evidence (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL CHECK (kind IN ('file', 'link')),
    created_by  INTEGER NOT NULL REFERENCES users (id),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE evidence_versions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    evidence_id     INTEGER NOT NULL REFERENCES evidence (id),
    version         INTEGER NOT NULL,
    -- The date the evidence speaks for (not the upload time), and optionally the period
    -- [period_start, period_end) it covers.
    effective_date  TEXT NOT NULL,
    period_start    TEXT,
    period_end      TEXT,
    -- A file version: content hash (blobs), display name (sanitized, never a path), type.
    sha256          TEXT REFERENCES blobs (sha256),
    filename        TEXT,
    media_type      TEXT,
    size_bytes      INTEGER,
    -- A link version.
    url             TEXT,
    note            TEXT NOT NULL DEFAULT '',
    uploaded_by     INTEGER NOT NULL REFERENCES users (id),
    uploaded_at     TEXT NOT NULL,
    -- A test of the linked controls recorded with this version (all NULL when none).
    test_procedure  TEXT,
    test_sample     TEXT,
    test_result     TEXT CHECK (test_result IN ('pass', 'fail')),
    tester          TEXT,
    tested_on       TEXT,
    UNIQUE (evidence_id, version),
    CHECK ((sha256 IS NOT NULL AND url IS NULL) OR (sha256 IS NULL AND url IS NOT NULL)),
    CHECK ((test_result IS NULL AND tested_on IS NULL) OR (test_result IS NOT NULL AND tested_on IS NOT NULL))
);

CREATE TABLE evidence_controls (
    evidence_id  INTEGER NOT NULL REFERENCES evidence (id),
    control_id   INTEGER NOT NULL REFERENCES controls (id),
    created_at   TEXT NOT NULL,
    PRIMARY KEY (evidence_id, control_id)
);
CREATE INDEX evidence_controls_control ON evidence_controls (control_id);
