-- Patients and encounters move to the one table shape every resource has (see package
-- resource), their content into body as JSON. Existing rows are converted.
CREATE TABLE patients_v2 (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMPTZ NOT NULL,
    updated    TIMESTAMPTZ NOT NULL
);
INSERT INTO patients_v2 (id, subject, at, unique_key, body, version, created, updated)
SELECT id, id, created, mrn_system || '|' || mrn_value,
       json_build_object('organization_id', organization_id,
                         'mrn', json_build_object('system', mrn_system, 'value', mrn_value),
                         'name', json_build_object('given', given::json, 'family', family),
                         'birth_date', birth_date, 'sex', sex)::text,
       version, created, updated
FROM patients;

CREATE TABLE encounters_v2 (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL REFERENCES patients_v2 (id),
    at         TIMESTAMPTZ NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMPTZ NOT NULL,
    updated    TIMESTAMPTZ NOT NULL
);
INSERT INTO encounters_v2 (id, subject, at, unique_key, body, version, created, updated)
SELECT id, patient_id, start_at, NULL,
       json_build_object('patient_id', patient_id, 'class', class,
                         'start', to_char(start_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                         'end', to_char(end_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                         'rendering_npi', rendering_npi, 'billing_tin', billing_tin, 'ccn', ccn,
                         'location_id', location_id, 'pos', pos)::text,
       version, created, updated
FROM encounters;

DROP TABLE encounters;
DROP TABLE patients;
ALTER TABLE patients_v2 RENAME TO patients;
ALTER TABLE encounters_v2 RENAME TO encounters;
CREATE INDEX patients_subject ON patients (subject, id);
CREATE INDEX encounters_subject ON encounters (subject, id);
