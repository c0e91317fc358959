-- Who may sign in. kind is a principal kind (officer, clinic_admin, auditor,
-- clinician, patient, proxy, staff, service); principal_id is the ID the services see
-- (an NPI for a clinician, the opaque patient ID for a patient, else the account ID).
-- password_hash is an argon2id PHC string; totp_secret the base32 TOTP key; both are
-- empty when the account signs in another way (OIDC, API token).
CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    principal_id  TEXT NOT NULL,
    for_patient   TEXT NOT NULL DEFAULT '',
    clinics       TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL DEFAULT '',
    totp_secret   TEXT NOT NULL DEFAULT '',
    oidc_subject  TEXT UNIQUE,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);

-- Service accounts' API tokens, stored as SHA-256 of the token: a stolen table
-- cannot be replayed.
CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    created_at TEXT NOT NULL
);

-- Time-boxed grants that let an auditor see patient-level PHI.
CREATE TABLE phi_grants (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    granted_by TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (account_id, created_at)
);

-- Which reporting entities (npi:…, tin:…, ccn:…) report for which clinic, so that a
-- clinic administrator's scope covers them.
CREATE TABLE clinic_entities (
    clinic TEXT NOT NULL,
    entity TEXT NOT NULL,
    PRIMARY KEY (clinic, entity)
);

-- The patients records knows and their organization (clinic), kept by
-- libs/patientdir from records' events: what a clinician's scope is checked against.
CREATE TABLE patients (
    patient_id      TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL DEFAULT ''
);
