-- Monthly attestation: after a period closes, the budget's owner confirms the spend or explains
-- the variance; the attestation is kept as evidence (a generated document, content-addressed)
-- on the control the organisation names for it, so it counts towards that control's freshness.
ALTER TABLE organisation ADD COLUMN attestation_control_id INTEGER REFERENCES controls (id);

CREATE TABLE budget_attestations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    budget_id     INTEGER NOT NULL REFERENCES budgets (id),
    period_start  TEXT NOT NULL,
    statement     TEXT NOT NULL CHECK (statement IN ('confirmed', 'explained')),
    note          TEXT NOT NULL DEFAULT '',
    amount        TEXT NOT NULL,
    actual        TEXT NOT NULL,
    attested_by   INTEGER NOT NULL REFERENCES users (id),
    attested_at   TEXT NOT NULL,
    evidence_id   INTEGER NOT NULL REFERENCES evidence (id),
    sha256        TEXT NOT NULL,
    UNIQUE (budget_id, period_start)
);
