-- Evidence exports built in the background: who asked, the scope (a framework and a period
-- [period_start, period_end), or an audit's), the state (building → ready | failed, and a
-- ready one expires when its file is deleted), the file kept under <data dir>/exports with its
-- size and SHA-256. Same tables and columns as migrations/postgres.

CREATE TABLE evidence_exports (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    requested_by  INTEGER NOT NULL REFERENCES users (id),
    requested_at  TEXT NOT NULL,
    framework     TEXT NOT NULL,
    period_start  TEXT NOT NULL,
    period_end    TEXT NOT NULL,
    audit_id      INTEGER REFERENCES audits (id),
    status        TEXT NOT NULL DEFAULT 'building'
                  CHECK (status IN ('building', 'ready', 'failed', 'expired')),
    -- The name the download is given, and the stored file's name in <data dir>/exports.
    file_name     TEXT NOT NULL,
    stored        TEXT NOT NULL,
    size_bytes    INTEGER,
    sha256        TEXT,
    error         TEXT,
    finished_at   TEXT,
    expires_at    TEXT,
    CHECK (period_start < period_end)
);
CREATE INDEX evidence_exports_status ON evidence_exports (status, expires_at);
CREATE INDEX evidence_exports_audit ON evidence_exports (audit_id);
