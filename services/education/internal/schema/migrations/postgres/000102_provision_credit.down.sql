ALTER TABLE provisions DROP COLUMN ccn;
ALTER TABLE provisions DROP COLUMN tin;
