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
    created         TIMESTAMPTZ NOT NULL,
    updated         TIMESTAMPTZ NOT NULL,
    UNIQUE (mrn_system, mrn_value)
);
INSERT INTO patients_v1
SELECT id, coalesce(body::json->>'organization_id', ''), body::json->'mrn'->>'system', body::json->'mrn'->>'value',
       (body::json->'name'->'given')::text, body::json->'name'->>'family', body::json->>'birth_date',
       body::json->>'sex', version, created, updated
FROM patients;

CREATE TABLE encounters_v1 (
    id            TEXT PRIMARY KEY,
    patient_id    TEXT NOT NULL REFERENCES patients_v1 (id),
    class         TEXT NOT NULL,
    start_at      TIMESTAMPTZ NOT NULL,
    end_at        TIMESTAMPTZ,
    rendering_npi TEXT NOT NULL DEFAULT '',
    billing_tin   TEXT NOT NULL DEFAULT '',
    ccn           TEXT NOT NULL DEFAULT '',
    location_id   TEXT NOT NULL DEFAULT '',
    pos           TEXT NOT NULL DEFAULT '',
    version       INTEGER NOT NULL,
    created       TIMESTAMPTZ NOT NULL,
    updated       TIMESTAMPTZ NOT NULL
);
INSERT INTO encounters_v1
SELECT id, subject, body::json->>'class', at, (body::json->>'end')::timestamptz,
       coalesce(body::json->>'rendering_npi', ''), coalesce(body::json->>'billing_tin', ''),
       coalesce(body::json->>'ccn', ''), coalesce(body::json->>'location_id', ''), coalesce(body::json->>'pos', ''),
       version, created, updated
FROM encounters;

DROP TABLE encounters;
DROP TABLE patients;
ALTER TABLE patients_v1 RENAME TO patients;
ALTER TABLE encounters_v1 RENAME TO encounters;
CREATE INDEX encounters_patient ON encounters (patient_id, start_at);
