-- Sums per UTC day for one dimension at a time (service, account, region, provider, category),
-- recomputed from cost_daily whenever data for those days lands or is replaced. The cost
-- explorer's unfiltered reports and the filter choices read this small table instead of the
-- full daily rollup. Same tables and columns as migrations/postgres (a test compares them).
CREATE TABLE cost_daily_dims (
    day             TEXT NOT NULL,
    dim             TEXT NOT NULL,
    value           TEXT NOT NULL,
    -- A display name where the dimension has one (account names).
    label           TEXT NOT NULL DEFAULT '',
    currency        TEXT NOT NULL,
    billed_cost     TEXT NOT NULL,
    effective_cost  TEXT NOT NULL,
    list_cost       TEXT NOT NULL,
    row_count       INTEGER NOT NULL,
    PRIMARY KEY (dim, day, value, currency)
);
