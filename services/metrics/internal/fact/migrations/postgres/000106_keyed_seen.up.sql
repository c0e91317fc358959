-- SQLite only (WITHOUT ROWID tables); nothing to change on PostgreSQL.
SELECT 1;
