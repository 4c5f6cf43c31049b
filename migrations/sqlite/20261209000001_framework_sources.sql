-- Frameworks from the ecosystem (CISO Assistant libraries, OSCAL profiles), requirement
-- hierarchy and applicability, crosswalks between frameworks, remembered column mappings.
-- Same tables and columns as migrations/postgres (a test compares them).
--
-- SQLite cannot alter a CHECK constraint, so `frameworks` is rebuilt (foreign keys are off
-- while `Db::migrate` runs SQLite migrations; see 20261201000001_budgets.sql).
CREATE TABLE frameworks_new (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    key            TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    version        TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    source_format  TEXT NOT NULL
                   CHECK (source_format IN ('oscal', 'csv', 'ciso-yaml', 'oscal-profile')),
    source_name    TEXT NOT NULL,
    source_sha256  TEXT NOT NULL,
    imported_at    TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    -- The language the text was imported in ('' when the source does not say), and every
    -- language the source offered (comma-separated), so a re-import can pick another.
    locale         TEXT NOT NULL DEFAULT '',
    locales        TEXT NOT NULL DEFAULT '',
    -- Where the source is published (never fetched: shown as a link).
    source_url     TEXT NOT NULL DEFAULT ''
);
INSERT INTO frameworks_new (id, key, name, version, description, source_format, source_name,
                            source_sha256, imported_at, updated_at)
SELECT id, key, name, version, description, source_format, source_name, source_sha256,
       imported_at, updated_at
FROM frameworks;
DROP TABLE frameworks;
ALTER TABLE frameworks_new RENAME TO frameworks;

-- The hierarchy as the source gives it, and whether a node is a requirement at all.
ALTER TABLE requirements ADD COLUMN urn TEXT;
ALTER TABLE requirements ADD COLUMN depth INTEGER NOT NULL DEFAULT 1;
-- Headings (0) are shown, never counted in coverage.
ALTER TABLE requirements ADD COLUMN assessable INTEGER NOT NULL DEFAULT 1
    CHECK (assessable IN (0, 1));
-- Reference controls the source lists with the requirement, comma-separated ids.
ALTER TABLE requirements ADD COLUMN reference_controls TEXT NOT NULL DEFAULT '';
-- The Statement of Applicability: excluded requirements say why.
ALTER TABLE requirements ADD COLUMN applicable INTEGER NOT NULL DEFAULT 1
    CHECK (applicable IN (0, 1));
ALTER TABLE requirements ADD COLUMN justification TEXT NOT NULL DEFAULT ''
    CHECK (applicable = 1 OR justification <> '');

-- An OSCAL catalog's source, kept so a profile imported later can select from it.
CREATE TABLE framework_sources (
    framework_id  INTEGER NOT NULL PRIMARY KEY REFERENCES frameworks (id),
    uuid          TEXT NOT NULL DEFAULT '',
    title         TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    content       TEXT NOT NULL
);

-- A crosswalk between two frameworks (a CISO Assistant requirement mapping set or a CSV).
CREATE TABLE requirement_mapping_sets (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Stable identity across re-imports: the set's URN, or 'csv:<source>:<target>'.
    key                  TEXT NOT NULL UNIQUE,
    name                 TEXT NOT NULL,
    source_format        TEXT NOT NULL CHECK (source_format IN ('ciso-yaml', 'csv')),
    source_name          TEXT NOT NULL,
    source_sha256        TEXT NOT NULL,
    source_framework_id  INTEGER NOT NULL REFERENCES frameworks (id),
    target_framework_id  INTEGER NOT NULL REFERENCES frameworks (id),
    imported_at          TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);

-- One requirement related to another: `relationship` says what the source requirement is to
-- the target (NIST OLIR words: a subset covers part of the target).
CREATE TABLE requirement_links (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    set_id                 INTEGER NOT NULL REFERENCES requirement_mapping_sets (id),
    source_requirement_id  INTEGER NOT NULL REFERENCES requirements (id),
    target_requirement_id  INTEGER NOT NULL REFERENCES requirements (id),
    relationship           TEXT NOT NULL
                           CHECK (relationship IN ('equal', 'subset', 'superset', 'intersect',
                                                   'not_related')),
    rationale              TEXT NOT NULL DEFAULT '',
    strength               INTEGER,
    annotation             TEXT NOT NULL DEFAULT '',
    UNIQUE (set_id, source_requirement_id, target_requirement_id)
);
CREATE INDEX requirement_links_source ON requirement_links (source_requirement_id);
CREATE INDEX requirement_links_target ON requirement_links (target_requirement_id);

-- A column mapping chosen for a file, remembered by the file's headers, per kind of import.
CREATE TABLE column_mappings (
    kind        TEXT NOT NULL,
    header_key  TEXT NOT NULL,
    mapping     TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (kind, header_key)
);
