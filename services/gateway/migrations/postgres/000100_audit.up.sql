-- Every request the gateway routed: who, what, when, from where, outcome. The audit
-- log proper (hash chain, signed checkpoints, PHI access) builds on this table.
CREATE TABLE access_log (
    id       BIGSERIAL PRIMARY KEY,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    method   TEXT NOT NULL,
    service  TEXT NOT NULL,
    status   INTEGER NOT NULL,
    remote   TEXT NOT NULL
);
