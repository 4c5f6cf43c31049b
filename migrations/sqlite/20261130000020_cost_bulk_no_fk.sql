-- PostgreSQL's bulk cost tables lose their foreign keys to cost_batches in this version (there
-- a foreign key is a per-row trigger running a query: a seventh of a million-row import). SQLite
-- keeps them: its check is one rowid lookup in a small table, too cheap to measure, and dropping
-- one would mean copying the tables. Nothing to change here; the version keeps both dialects'
-- migration lists the same.
SELECT 1;
