-- records.payment-inputs.v1: the current version of each entity's payment inputs for
-- a payment year (the money of a report is computed from them).
CREATE TABLE report_payment_inputs (
    payment_inputs_id TEXT NOT NULL PRIMARY KEY,
    entity_kind       TEXT NOT NULL,
    entity_id         TEXT NOT NULL,
    year              INTEGER NOT NULL,
    data              TEXT NOT NULL, -- the contract.PaymentInputs payload as published
    event_id          TEXT NOT NULL
);
CREATE INDEX report_payment_inputs_entity ON report_payment_inputs (entity_kind, entity_id, year);
