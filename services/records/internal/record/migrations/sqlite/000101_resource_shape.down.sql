CREATE TABLE patients_v1 (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL DEFAULT '',
    mrn_system      TEXT NOT NULL,
    mrn_value       TEXT NOT NULL,
    given           TEXT NOT NULL,
    family          TEXT NOT NULL,
    birth_date      TEXT NOT NULL,
    sex             TEXT NOT NULL,
    version         INTEGER NOT NULL,
    created         TIMESTAMP NOT NULL,
    updated         TIMESTAMP NOT NULL,
    UNIQUE (mrn_system, mrn_value)
);
INSERT INTO patients_v1
SELECT id, coalesce(json_extract(body, '$.organization_id'), ''), json_extract(body, '$.mrn.system'),
       json_extract(body, '$.mrn.value'), json_extract(body, '$.name.given'), json_extract(body, '$.name.family'),
       json_extract(body, '$.birth_date'), json_extract(body, '$.sex'), version, created, updated
FROM patients;

CREATE TABLE encounters_v1 (
    id            TEXT PRIMARY KEY,
    patient_id    TEXT NOT NULL REFERENCES patients_v1 (id),
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
INSERT INTO encounters_v1
SELECT id, subject, json_extract(body, '$.class'), at, json_extract(body, '$.end'),
       coalesce(json_extract(body, '$.rendering_npi'), ''), coalesce(json_extract(body, '$.billing_tin'), ''),
       coalesce(json_extract(body, '$.ccn'), ''), coalesce(json_extract(body, '$.location_id'), ''),
       coalesce(json_extract(body, '$.pos'), ''), version, created, updated
FROM encounters;

DROP TABLE encounters;
DROP TABLE patients;
ALTER TABLE patients_v1 RENAME TO patients;
ALTER TABLE encounters_v1 RENAME TO encounters;
CREATE INDEX encounters_patient ON encounters (patient_id, start_at);
