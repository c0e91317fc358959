-- The transactional outbox (package outbox). A service writes its events here in the
-- transaction that changes its state; the relay publishes them in id order and deletes
-- each row once the broker has acknowledged it.
--
-- time and recorded_at are RFC 3339 text with nanoseconds (UTC), so the relay
-- republishes exactly the instants the producer recorded on both engines; timestamptz
-- would keep only microseconds. created_at is the database's own clock, for
-- monitoring how long rows wait.
CREATE TABLE outbox (
    id          bigserial   PRIMARY KEY,
    topic       text        NOT NULL,
    key         text        NOT NULL,
    event_id    text        NOT NULL UNIQUE,
    type        text        NOT NULL,
    source      text        NOT NULL,
    subject     text        NOT NULL,
    time        text        NOT NULL,
    recorded_at text        NOT NULL,
    data        bytea,
    traceparent text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
