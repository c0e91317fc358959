-- Events each consumer has applied (package outbox, Processed): the consumer inserts
-- the event ID in the transaction that applies the event, so a redelivered event is
-- recognised and skipped.
CREATE TABLE processed_events (
    consumer     text        NOT NULL,
    event_id     text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
