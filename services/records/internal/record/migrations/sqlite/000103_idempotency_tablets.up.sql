-- Idempotency-Key: the reply to the first request with a key, stored in the same
-- transaction as the write it answers, and replayed to a retry with the same request.
CREATE TABLE idempotency_keys (
    key         TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL, -- SHA-256 of method, path and body
    status      INTEGER NOT NULL,
    body        TEXT NOT NULL,
    created     TIMESTAMP NOT NULL
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created);

-- Shared tablets: a session is a device checked out to a patient until it is wiped.
-- The partial unique index is the rule itself: at most one session per device is not
-- wiped, so a device cannot go to a new patient before its last session was wiped.
CREATE TABLE tablet_sessions (
    id         TEXT PRIMARY KEY,
    device_id  TEXT NOT NULL REFERENCES devices (id),
    patient_id TEXT NOT NULL REFERENCES patients (id),
    started    TIMESTAMP NOT NULL,
    wiped      TIMESTAMP,
    cleared    TEXT NOT NULL DEFAULT '[]', -- JSON array: what the device says it cleared
    statement  TEXT NOT NULL DEFAULT '',   -- the signed wipe statement, base64, kept as evidence
    signature  TEXT NOT NULL DEFAULT '',   -- its Ed25519 signature, base64
    uploads    INTEGER NOT NULL DEFAULT 0,
    version    INTEGER NOT NULL
);
CREATE UNIQUE INDEX tablet_sessions_open ON tablet_sessions (device_id) WHERE wiped IS NULL;
CREATE INDEX tablet_sessions_patient ON tablet_sessions (patient_id);

-- The device audit trail: who used a device and when, never what was shown. It
-- outlives the patient's record, so it does not reference it.
CREATE TABLE tablet_audit (
    id         TEXT PRIMARY KEY,
    device_id  TEXT NOT NULL,
    session_id TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    action     TEXT NOT NULL,
    at         TIMESTAMP NOT NULL
);
CREATE INDEX tablet_audit_device ON tablet_audit (device_id, at, id);
