-- Secure messaging. Times are microseconds since the Unix epoch, UTC, on both engines:
-- exact, sortable and compared alike everywhere. Sealed columns hold AES-256-GCM
-- ciphertext (nonce || ciphertext || tag) under the key named by the row's key_id;
-- PHI (subjects, bodies, slots, reasons, attachment names and data) is only ever
-- stored sealed. Opaque IDs, kinds and roles are stored in clear: they are what the
-- service queries on.

-- A thread between a patient and a care team: a clinic's pool, one clinician, or
-- clinicians consulting each other with the patient included.
CREATE TABLE threads (
    id              TEXT    PRIMARY KEY,
    kind            TEXT    NOT NULL, -- pool, clinician, consult
    patient_id      TEXT    NOT NULL,
    clinic_id       TEXT    NOT NULL, -- the owning clinic pool
    key_id          TEXT    NOT NULL,
    subject         BYTEA   NOT NULL, -- sealed
    status          TEXT    NOT NULL, -- open, closed
    created_by_role TEXT    NOT NULL,
    created_by_id   TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    last_message_at BIGINT  NOT NULL,
    message_count   BIGINT  NOT NULL,
    closed_by_role  TEXT    NOT NULL DEFAULT '',
    closed_by_id    TEXT    NOT NULL DEFAULT '',
    closed_at       BIGINT
);
CREATE INDEX threads_patient ON threads (patient_id, last_message_at, id);
CREATE INDEX threads_clinic ON threads (clinic_id, last_message_at, id);

-- The clinicians (NPIs) a thread names.
CREATE TABLE thread_clinicians (
    thread_id TEXT NOT NULL REFERENCES threads (id),
    npi       TEXT NOT NULL,
    PRIMARY KEY (thread_id, npi)
);
CREATE INDEX thread_clinicians_npi ON thread_clinicians (npi, thread_id);

CREATE TABLE messages (
    id            TEXT    PRIMARY KEY,
    thread_id     TEXT    NOT NULL REFERENCES threads (id),
    seq           BIGINT  NOT NULL, -- 1, 2, … within the thread
    kind          TEXT    NOT NULL,
    side          TEXT    NOT NULL, -- patient or care_team
    sender_role   TEXT    NOT NULL,
    sender_id     TEXT    NOT NULL,
    in_reply_to   TEXT    NOT NULL DEFAULT '',
    medication_id TEXT    NOT NULL DEFAULT '',
    key_id        TEXT    NOT NULL,
    content       BYTEA   NOT NULL, -- sealed JSON: body, preferred slots, answer details
    attachments   BIGINT  NOT NULL DEFAULT 0,
    sent_at       BIGINT  NOT NULL,
    UNIQUE (thread_id, seq)
);
-- Counts a reader's own messages in a thread, for unread counts, from the index alone.
CREATE INDEX messages_thread_sender ON messages (thread_id, sender_role, sender_id);

CREATE TABLE attachments (
    id           TEXT    PRIMARY KEY,
    message_id   TEXT    NOT NULL REFERENCES messages (id),
    position     BIGINT  NOT NULL,
    content_type TEXT    NOT NULL,
    size         BIGINT  NOT NULL,
    key_id       TEXT    NOT NULL,
    name         BYTEA   NOT NULL, -- sealed
    data         BYTEA   NOT NULL, -- sealed
    UNIQUE (message_id, position)
);

-- Read receipts: who other than the sender read a message, first time only. A
-- reader's unread count in a thread is its messages, less the reader's own, less the
-- reader's receipts there: two index range counts, whatever the thread's length.
CREATE TABLE receipts (
    message_id  TEXT    NOT NULL REFERENCES messages (id),
    thread_id   TEXT    NOT NULL,
    reader_role TEXT    NOT NULL,
    reader_id   TEXT    NOT NULL,
    read_at     BIGINT  NOT NULL,
    PRIMARY KEY (message_id, reader_role, reader_id)
);
CREATE INDEX receipts_thread_reader ON receipts (thread_id, reader_role, reader_id);

-- Refill and appointment requests and how they were answered.
CREATE TABLE requests (
    message_id        TEXT    PRIMARY KEY REFERENCES messages (id),
    thread_id         TEXT    NOT NULL,
    clinic_id         TEXT    NOT NULL,
    patient_id        TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    status            TEXT    NOT NULL, -- open, approved, denied, booked
    requested_at      BIGINT  NOT NULL,
    answer_message_id TEXT    NOT NULL DEFAULT '',
    answered_at       BIGINT
);
CREATE INDEX requests_clinic ON requests (clinic_id, status, requested_at);

-- Every patient-side message and its first care-team response: the response-time
-- ledger. outcome is open until a care-team message follows it in the thread
-- (responded) or the thread is closed first (closed).
CREATE TABLE responses (
    message_id          TEXT    PRIMARY KEY REFERENCES messages (id),
    thread_id           TEXT    NOT NULL,
    clinic_id           TEXT    NOT NULL,
    patient_id          TEXT    NOT NULL,
    sent_at             BIGINT  NOT NULL,
    outcome             TEXT    NOT NULL,
    response_message_id TEXT    NOT NULL DEFAULT '',
    resolved_at         BIGINT,
    business_seconds    BIGINT
);
CREATE INDEX responses_clinic ON responses (clinic_id, outcome, sent_at);
CREATE INDEX responses_thread ON responses (thread_id, outcome);

-- What an authorized representative (proxy) may do for a patient, and when. Records'
-- authorized representatives are meant to feed this table later; until then staff or
-- a service account set grants through the API.
CREATE TABLE proxy_grants (
    proxy_id        TEXT    NOT NULL,
    patient_id      TEXT    NOT NULL,
    scopes          TEXT    NOT NULL, -- space-separated: read, send, request
    valid_from      BIGINT  NOT NULL,
    valid_until     BIGINT,
    granted_by_role TEXT    NOT NULL,
    granted_by_id   TEXT    NOT NULL,
    updated_at      BIGINT  NOT NULL,
    PRIMARY KEY (proxy_id, patient_id)
);
CREATE INDEX proxy_grants_patient ON proxy_grants (patient_id);

-- Idempotency-Key of create requests: the request's keyed fingerprint (never the
-- request) and what it created, kept for a day.
CREATE TABLE idempotency_keys (
    caller        TEXT    NOT NULL, -- role:id
    key           TEXT    NOT NULL,
    route         TEXT    NOT NULL,
    key_id        TEXT    NOT NULL,
    fingerprint   BYTEA   NOT NULL,
    resource_id   TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    PRIMARY KEY (caller, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
