-- Payment inputs (record/payment.go): an entity's owner-entered incentive-payment
-- figures, one entry per entity and payment year (unique_key "kind:id/year").
CREATE TABLE payment_inputs (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    at         TIMESTAMP NOT NULL,
    unique_key TEXT UNIQUE,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created    TIMESTAMP NOT NULL,
    updated    TIMESTAMP NOT NULL
);
CREATE INDEX payment_inputs_subject ON payment_inputs (subject, id);
