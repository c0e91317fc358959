-- The transactional outbox (package outbox). A service writes its events here in the
-- transaction that changes its state; the relay publishes them in id order and deletes
-- each row once the broker has acknowledged it.
--
-- AUTOINCREMENT so that ids are never reused after rows are deleted: the relay's order
-- is id order. Times are RFC 3339 text in UTC: time and recorded_at with nanoseconds
-- as the producer recorded them, created_at from SQLite's clock with milliseconds.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    topic       TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    event_id    TEXT    NOT NULL UNIQUE,
    type        TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    time        TEXT    NOT NULL,
    recorded_at TEXT    NOT NULL,
    data        BLOB,
    traceparent TEXT    NOT NULL DEFAULT '',
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
