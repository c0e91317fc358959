-- The patients records knows, by opaque ID (see libs/patientdir).
CREATE TABLE patients (
    patient_id      TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL DEFAULT ''
);
