-- SQLite lets a TEXT PRIMARY KEY hold NULL unless it says NOT NULL (unlike PostgreSQL, and
-- unlike INTEGER PRIMARY KEY): rebuild `blobs` so a stored file always has its hash.
-- Runs before any evidence exists (this ships with the evidence feature), so no
-- evidence_versions row references the old table when it is dropped.
CREATE TABLE blobs_new (
    sha256      TEXT NOT NULL PRIMARY KEY,
    size_bytes  INTEGER NOT NULL,
    media_type  TEXT NOT NULL,
    stored_at   TEXT NOT NULL
);
INSERT INTO blobs_new (sha256, size_bytes, media_type, stored_at)
    SELECT sha256, size_bytes, media_type, stored_at FROM blobs;
DROP TABLE blobs;
ALTER TABLE blobs_new RENAME TO blobs;
