-- Vendors: the register (owner, data shared, sub-processor chains, tier from a rubric with an
-- override and its reason, review status), contracts (terms, auto-renewal, notice periods as
-- ISO-8601 durations, exact annual value), assurance reports with their expiry, and documents
-- kept as evidence. Same tables and columns as migrations/postgres.

CREATE TABLE vendors (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    name               TEXT NOT NULL UNIQUE,
    legal_name         TEXT NOT NULL DEFAULT '',
    website            TEXT NOT NULL DEFAULT '',
    category           TEXT NOT NULL DEFAULT '',
    owner_id           INTEGER REFERENCES users (id),
    services           TEXT NOT NULL DEFAULT '',
    -- ISO 3166 alpha-2 codes, comma-separated.
    countries          TEXT NOT NULL DEFAULT '',
    -- Comma-separated, lower-case (personal, financial, health…).
    data_categories    TEXT NOT NULL DEFAULT '',
    subprocessor_of    INTEGER REFERENCES vendors (id),
    data_sensitivity   TEXT NOT NULL DEFAULT 'internal'
                       CHECK (data_sensitivity IN ('none', 'internal', 'confidential', 'restricted')),
    business_impact    TEXT NOT NULL DEFAULT 'medium'
                       CHECK (business_impact IN ('low', 'medium', 'high', 'critical')),
    tier_override      INTEGER CHECK (tier_override IN (1, 2, 3)),
    override_reason    TEXT NOT NULL DEFAULT '',
    review_status      TEXT NOT NULL DEFAULT 'not_started'
                       CHECK (review_status IN ('not_started', 'in_progress', 'approved', 'rejected')),
    last_review_date   TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);

CREATE TABLE vendor_contracts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    vendor_id      INTEGER NOT NULL REFERENCES vendors (id),
    title          TEXT NOT NULL,
    start_date     TEXT NOT NULL,
    -- Exclusive, as every period here; NULL for an open-ended contract.
    end_date       TEXT,
    auto_renew     INTEGER NOT NULL CHECK (auto_renew IN (0, 1)),
    renewal_term   TEXT NOT NULL DEFAULT 'P1Y',
    notice_period  TEXT NOT NULL DEFAULT 'P0D',
    -- Exact decimal text, never a float.
    annual_value   TEXT,
    currency       TEXT NOT NULL DEFAULT 'USD',
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX vendor_contracts_vendor ON vendor_contracts (vendor_id);

CREATE TABLE vendor_assurance (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    vendor_id     INTEGER NOT NULL REFERENCES vendors (id),
    kind          TEXT NOT NULL,
    period_start  TEXT,
    period_end    TEXT,
    issued        TEXT NOT NULL,
    -- Exclusive: the report is current on days before it.
    valid_until   TEXT NOT NULL,
    note          TEXT NOT NULL DEFAULT '',
    evidence_id   INTEGER REFERENCES evidence (id),
    created_by    INTEGER NOT NULL REFERENCES users (id),
    created_at    TEXT NOT NULL
);
CREATE INDEX vendor_assurance_vendor ON vendor_assurance (vendor_id, kind);

CREATE TABLE vendor_documents (
    vendor_id    INTEGER NOT NULL REFERENCES vendors (id),
    evidence_id  INTEGER NOT NULL REFERENCES evidence (id),
    kind         TEXT NOT NULL CHECK (kind IN ('contract', 'dpa', 'baa', 'other')),
    contract_id  INTEGER REFERENCES vendor_contracts (id),
    added_by     INTEGER NOT NULL REFERENCES users (id),
    added_at     TEXT NOT NULL,
    PRIMARY KEY (vendor_id, evidence_id)
);

-- Where a vendor's spend is in the cost data: any of provider, billing account, service and
-- one tag (key and value); empty means any. A vendor's spend is the sum over its scopes.
CREATE TABLE vendor_scopes (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    vendor_id        INTEGER NOT NULL REFERENCES vendors (id),
    provider         TEXT NOT NULL DEFAULT '',
    billing_account  TEXT NOT NULL DEFAULT '',
    service          TEXT NOT NULL DEFAULT '',
    tag_key          TEXT NOT NULL DEFAULT '',
    tag_value        TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL
);
CREATE INDEX vendor_scopes_vendor ON vendor_scopes (vendor_id);
