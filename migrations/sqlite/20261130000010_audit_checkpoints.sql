-- Signed checkpoints of the audit chain (app/src/audit/checkpoint.rs). Each row is written in
-- the same transaction as its own `audit.checkpoint` event and signs the chain head AFTER that
-- event: `seq` is that event's number and `hash` its hash. The signature comes from a key kept
-- outside this database. `event_hashes` holds the raw 32-byte hashes of events
-- (prev_seq, seq], concatenated; `digest` (signed) is their SHA-256, so a verifier can name
-- the first event that differs after a rewrite. Append-only, like audit_events.

CREATE TABLE audit_checkpoints (
    seq              INTEGER NOT NULL PRIMARY KEY,
    prev_seq         INTEGER NOT NULL,
    hash             TEXT NOT NULL,
    at               TEXT NOT NULL,
    digest           TEXT NOT NULL,
    event_hashes     BLOB NOT NULL,
    signature        TEXT NOT NULL,
    key_fingerprint  TEXT NOT NULL,
    CHECK (prev_seq >= 0 AND prev_seq < seq)
);

CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;
