-- Access reviews, closing the loop: remediation items (each revoke or modify decision, with an
-- assignee, verified only by a later snapshot or accepted as a documented exception), the
-- accounts a snapshot no longer holds since the system's last completed campaign, and the
-- campaign's report evidence and next draft. Same tables and columns as migrations/postgres.

CREATE TABLE access_remediations (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id          INTEGER NOT NULL REFERENCES access_campaigns (id),
    entry_id             INTEGER NOT NULL UNIQUE REFERENCES access_entries (id),
    system_id            INTEGER NOT NULL REFERENCES systems (id),
    account_key          TEXT NOT NULL,
    action               TEXT NOT NULL CHECK (action IN ('revoke', 'modify')),
    -- The entitlement under review: a modify is verified when a later snapshot shows another.
    entitlement          TEXT NOT NULL,
    assignee_id          INTEGER NOT NULL REFERENCES users (id),
    status               TEXT NOT NULL DEFAULT 'open'
                         CHECK (status IN ('open', 'verified', 'exception')),
    -- The latest snapshot checked against (still present there while open).
    checked_snapshot_id  INTEGER REFERENCES account_snapshots (id),
    -- What verified it, or the exception's justification.
    resolution           TEXT NOT NULL DEFAULT '',
    resolved_by          INTEGER REFERENCES users (id),
    resolved_at          TEXT,
    created_at           TEXT NOT NULL
);
CREATE INDEX access_remediations_system ON access_remediations (system_id, status);
CREATE INDEX access_remediations_campaign ON access_remediations (campaign_id, status);

CREATE TABLE snapshot_removed (
    snapshot_id  INTEGER NOT NULL REFERENCES account_snapshots (id),
    key          TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    entitlement  TEXT NOT NULL,
    -- The snapshot of the last completed campaign it was compared with.
    since_snapshot_id  INTEGER NOT NULL REFERENCES account_snapshots (id),
    PRIMARY KEY (snapshot_id, key)
);

ALTER TABLE access_campaigns ADD COLUMN report_evidence_id INTEGER REFERENCES evidence (id);
ALTER TABLE access_campaigns ADD COLUMN report_sha256 TEXT;
ALTER TABLE access_campaigns ADD COLUMN next_campaign_id INTEGER REFERENCES access_campaigns (id);
ALTER TABLE access_campaigns ADD COLUMN closed_note TEXT NOT NULL DEFAULT '';

CREATE INDEX access_entries_campaign ON access_entries (campaign_id, decision);
