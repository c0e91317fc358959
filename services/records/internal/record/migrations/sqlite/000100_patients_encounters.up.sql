CREATE TABLE patients (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL DEFAULT '',
    mrn_system      TEXT NOT NULL,
    mrn_value       TEXT NOT NULL,
    given           TEXT NOT NULL, -- JSON array of given names
    family          TEXT NOT NULL,
    birth_date      TEXT NOT NULL,
    sex             TEXT NOT NULL,
    version         INTEGER NOT NULL,
    created         TIMESTAMP NOT NULL,
    updated         TIMESTAMP NOT NULL,
    UNIQUE (mrn_system, mrn_value)
);

CREATE TABLE encounters (
    id            TEXT PRIMARY KEY,
    patient_id    TEXT NOT NULL REFERENCES patients (id),
    class         TEXT NOT NULL,
    start_at      TIMESTAMP NOT NULL,
    end_at        TIMESTAMP,
    rendering_npi TEXT NOT NULL DEFAULT '',
    billing_tin   TEXT NOT NULL DEFAULT '',
    ccn           TEXT NOT NULL DEFAULT '',
    location_id   TEXT NOT NULL DEFAULT '',
    pos           TEXT NOT NULL DEFAULT '',
    version       INTEGER NOT NULL,
    created       TIMESTAMP NOT NULL,
    updated       TIMESTAMP NOT NULL
);

CREATE INDEX encounters_patient ON encounters (patient_id, start_at);
