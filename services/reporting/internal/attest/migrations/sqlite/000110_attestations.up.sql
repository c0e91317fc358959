-- Frozen reports: evidence. A row is written once and never changed: the triggers
-- refuse UPDATE and DELETE, so the application cannot alter or remove an attestation.
CREATE TABLE attestations (
    id            TEXT PRIMARY KEY,  -- UUIDv7, so ids sort by freeze time
    program       TEXT NOT NULL,
    year          INTEGER NOT NULL,
    entity        TEXT NOT NULL,     -- kind:id
    period_from   TEXT NOT NULL,
    period_to     TEXT NOT NULL,
    logic_version TEXT NOT NULL,
    frozen_by     TEXT NOT NULL,
    frozen_at     TEXT NOT NULL,     -- RFC 3339 UTC
    payload_sha256 TEXT NOT NULL,
    key_id        TEXT NOT NULL,
    envelope      BLOB NOT NULL      -- the signed attestation file, byte for byte
);
CREATE INDEX attestations_entity ON attestations (entity, id);

CREATE TRIGGER attestations_no_update BEFORE UPDATE ON attestations
BEGIN
    SELECT RAISE(ABORT, 'attestations are immutable');
END;

CREATE TRIGGER attestations_no_delete BEFORE DELETE ON attestations
BEGIN
    SELECT RAISE(ABORT, 'attestations are immutable');
END;
