-- The part of records' directory that says which reporting entities belong to which
-- clinic (organization), kept by internal/clinicdir from records' group, clinician and
-- hospital events: a group's TIN reports for its organization, a clinician for the
-- organizations of the groups they bill under, a hospital's CCN for its organization.
CREATE TABLE dir_groups (
    group_id        TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    tin             TEXT NOT NULL
);
CREATE INDEX dir_groups_tin ON dir_groups (tin);
CREATE INDEX dir_groups_organization ON dir_groups (organization_id);

CREATE TABLE dir_clinician_tins (
    clinician_id TEXT NOT NULL,
    npi          TEXT NOT NULL,
    tin          TEXT NOT NULL,
    PRIMARY KEY (clinician_id, tin)
);
CREATE INDEX dir_clinician_tins_npi ON dir_clinician_tins (npi);
CREATE INDEX dir_clinician_tins_tin ON dir_clinician_tins (tin);

CREATE TABLE dir_hospitals (
    hospital_id     TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    ccn             TEXT NOT NULL
);
CREATE INDEX dir_hospitals_ccn ON dir_hospitals (ccn);
