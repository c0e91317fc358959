-- Events each consumer has applied (package outbox, Processed): the consumer inserts
-- the event ID in the transaction that applies the event, so a redelivered event is
-- recognised and skipped. WITHOUT ROWID: the table is only ever looked up by its key.
CREATE TABLE processed_events (
    consumer     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    processed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (consumer, event_id)
) WITHOUT ROWID;
