-- Patients and encounters move to the one table shape every resource has (see package
-- resource), their content into body as JSON. Existing rows are converted: SQLite holds
-- the times as Go writes them, "2025-03-04 14:30:00 +0000 UTC", which becomes RFC 3339.
CREATE TABLE patients_v2 (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
INSERT INTO patients_v2 (id, subject, at, unique_key, body, version, created, updated)
SELECT id, id, created, mrn_system || '|' || mrn_value,
       json_object('organization_id', organization_id,
                   'mrn', json_object('system', mrn_system, 'value', mrn_value),
                   'name', json_object('given', json(given), 'family', family),
                   'birth_date', birth_date, 'sex', sex),
       version, created, updated
FROM patients;

CREATE TABLE encounters_v2 (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL REFERENCES patients_v2 (id),
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
INSERT INTO encounters_v2 (id, subject, at, unique_key, body, version, created, updated)
SELECT id, patient_id, start_at, NULL,
       json_object('patient_id', patient_id, 'class', class,
                   'start', replace(replace(start_at, ' +0000 UTC', 'Z'), ' ', 'T'),
                   'end', replace(replace(end_at, ' +0000 UTC', 'Z'), ' ', 'T'),
                   'rendering_npi', rendering_npi, 'billing_tin', billing_tin, 'ccn', ccn,
                   'location_id', location_id, 'pos', pos),
       version, created, updated
FROM encounters;

DROP TABLE encounters;
DROP TABLE patients;
ALTER TABLE patients_v2 RENAME TO patients;
ALTER TABLE encounters_v2 RENAME TO encounters;
CREATE INDEX patients_subject ON patients (subject, id);
CREATE INDEX encounters_subject ON encounters (subject, id);
