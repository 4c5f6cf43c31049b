-- Access review campaigns: systems in scope (each frozen at its latest snapshot when the
-- campaign starts, with an optional named reviewer), mapped controls, one entry per account
-- routed to a reviewer, decisions with their history. Same tables and columns as
-- migrations/postgres.

CREATE TABLE access_campaigns (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL,
    owner_id      INTEGER NOT NULL REFERENCES users (id),
    status        TEXT NOT NULL DEFAULT 'draft'
                  CHECK (status IN ('draft', 'in_review', 'remediation', 'completed', 'cancelled')),
    due_date      TEXT NOT NULL,
    recurrence    TEXT NOT NULL DEFAULT 'none'
                  CHECK (recurrence IN ('none', 'quarterly', 'semiannual', 'annual')),
    created_by    INTEGER NOT NULL REFERENCES users (id),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    started_at    TEXT,
    completed_at  TEXT
);

CREATE TABLE access_campaign_systems (
    campaign_id  INTEGER NOT NULL REFERENCES access_campaigns (id),
    system_id    INTEGER NOT NULL REFERENCES systems (id),
    -- Reviews every account of the system when set (else managers, else the system's owner).
    reviewer_id  INTEGER REFERENCES users (id),
    -- The snapshot under review, frozen when the campaign starts.
    snapshot_id  INTEGER REFERENCES account_snapshots (id),
    PRIMARY KEY (campaign_id, system_id)
);

CREATE TABLE access_campaign_controls (
    campaign_id  INTEGER NOT NULL REFERENCES access_campaigns (id),
    control_id   INTEGER NOT NULL REFERENCES controls (id),
    PRIMARY KEY (campaign_id, control_id)
);

CREATE TABLE access_entries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id  INTEGER NOT NULL REFERENCES access_campaigns (id),
    system_id    INTEGER NOT NULL REFERENCES systems (id),
    snapshot_id  INTEGER NOT NULL REFERENCES account_snapshots (id),
    account_key  TEXT NOT NULL,
    reviewer_id  INTEGER NOT NULL REFERENCES users (id),
    -- Why this reviewer: named, manager, owner, or self_review (the first choice was the
    -- account's own holder).
    routed_by    TEXT NOT NULL CHECK (routed_by IN ('named', 'manager', 'owner', 'campaign_owner', 'self_review', 'reassigned')),
    decision     TEXT CHECK (decision IN ('keep', 'revoke', 'modify')),
    note         TEXT NOT NULL DEFAULT '',
    decided_by   INTEGER REFERENCES users (id),
    decided_at   TEXT,
    UNIQUE (campaign_id, system_id, account_key)
);
CREATE INDEX access_entries_reviewer ON access_entries (reviewer_id, campaign_id, decision);

CREATE TABLE access_entry_history (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id  INTEGER NOT NULL REFERENCES access_entries (id),
    action    TEXT NOT NULL CHECK (action IN ('decided', 'reassigned')),
    decision  TEXT,
    note      TEXT NOT NULL DEFAULT '',
    by_id     INTEGER NOT NULL REFERENCES users (id),
    at        TEXT NOT NULL
);
CREATE INDEX access_entry_history_entry ON access_entry_history (entry_id, id);
