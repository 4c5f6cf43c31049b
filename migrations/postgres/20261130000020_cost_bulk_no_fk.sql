-- The bulk cost tables lose their foreign keys to cost_batches. On PostgreSQL a foreign key is
-- a trigger that runs a query for every inserted row: it was a seventh of a million-row
-- import. Only the cost writer (app/src/costs/store) inserts into these tables, always for
-- the batch it created in the same transaction, and batches are never deleted; the import
-- tests check that every row names its batch. SQLite keeps its foreign keys (see its file of
-- the same version). Columns stay the same on both: only constraints differ.
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT conrelid::regclass AS tbl, conname FROM pg_constraint
             WHERE contype = 'f'
               AND confrelid = 'cost_batches'::regclass
               AND conrelid IN ('cost_line_items'::regclass, 'cost_daily'::regclass,
                                'cost_daily_tags'::regclass)
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.tbl, c.conname);
    END LOOP;
END $$;
