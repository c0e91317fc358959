-- Every kind of resource is kept in a table of one shape (see package resource):
-- subject is the event key (the patient ID of a patient's fact, the entity's own ID
-- otherwise), at the clinical time, body the resource as JSON. A patient's facts
-- reference the patient, so none outlives them.

-- Entities: the subject is the resource itself.

CREATE TABLE organizations (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX organizations_subject ON organizations (subject, id);

CREATE TABLE hospitals (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX hospitals_subject ON hospitals (subject, id);

CREATE TABLE practice_groups (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX practice_groups_subject ON practice_groups (subject, id);

CREATE TABLE clinicians (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX clinicians_subject ON clinicians (subject, id);

CREATE TABLE locations (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX locations_subject ON locations (subject, id);

CREATE TABLE devices (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX devices_subject ON devices (subject, id);

CREATE TABLE registry_engagements (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX registry_engagements_subject ON registry_engagements (subject, id);

CREATE TABLE attestations (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX attestations_subject ON attestations (subject, id);

-- A patient's facts.

CREATE TABLE problems (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL REFERENCES patients (id),
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX problems_subject ON problems (subject, id);

CREATE TABLE allergies (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL REFERENCES patients (id),
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX allergies_subject ON allergies (subject, id);

CREATE TABLE medications (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL REFERENCES patients (id),
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX medications_subject ON medications (subject, id);

CREATE TABLE results (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL REFERENCES patients (id),
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX results_subject ON results (subject, id);

CREATE TABLE vital_signs (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL REFERENCES patients (id),
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX vital_signs_subject ON vital_signs (subject, id);

CREATE TABLE smoking_statuses (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL REFERENCES patients (id),
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX smoking_statuses_subject ON smoking_statuses (subject, id);

CREATE TABLE prescriptions (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL REFERENCES patients (id),
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX prescriptions_subject ON prescriptions (subject, id);

CREATE TABLE pdmp_queries (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL REFERENCES patients (id),
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX pdmp_queries_subject ON pdmp_queries (subject, id);

CREATE TABLE orders (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL REFERENCES patients (id),
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX orders_subject ON orders (subject, id);

CREATE TABLE clinical_summaries (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL REFERENCES patients (id),
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX clinical_summaries_subject ON clinical_summaries (subject, id);

CREATE TABLE transitions (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL REFERENCES patients (id),
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX transitions_subject ON transitions (subject, id);

CREATE TABLE reconciliations (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL REFERENCES patients (id),
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX reconciliations_subject ON reconciliations (subject, id);

CREATE TABLE availabilities (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL REFERENCES patients (id),
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX availabilities_subject ON availabilities (subject, id);

CREATE TABLE access_grants (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL REFERENCES patients (id),
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX access_grants_subject ON access_grants (subject, id);

CREATE TABLE vdt_actions (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL REFERENCES patients (id),
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX vdt_actions_subject ON vdt_actions (subject, id);

CREATE TABLE pghd (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL REFERENCES patients (id),
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX pghd_subject ON pghd (subject, id);

CREATE TABLE registry_submissions (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL REFERENCES patients (id),
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX registry_submissions_subject ON registry_submissions (subject, id);

CREATE TABLE consents (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL REFERENCES patients (id),
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX consents_subject ON consents (subject, id);

CREATE TABLE shared_records (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL REFERENCES patients (id),
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX shared_records_subject ON shared_records (subject, id);
