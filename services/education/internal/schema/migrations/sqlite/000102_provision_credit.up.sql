-- The group (TIN) and hospital (CCN) a provision is credited to: named by a service
-- account recording a provision made in the source EHR.
ALTER TABLE provisions ADD COLUMN tin TEXT NOT NULL DEFAULT '';
ALTER TABLE provisions ADD COLUMN ccn TEXT NOT NULL DEFAULT '';
