-- Frozen reports: evidence. A row is written once and never changed: the triggers
-- refuse UPDATE, DELETE and TRUNCATE, so the application cannot alter or remove an
-- attestation.
CREATE TABLE attestations (
    id             TEXT PRIMARY KEY,  -- UUIDv7, so ids sort by freeze time
    program        TEXT NOT NULL,
    year           INTEGER NOT NULL,
    entity         TEXT NOT NULL,     -- kind:id
    period_from    TEXT NOT NULL,
    period_to      TEXT NOT NULL,
    logic_version  TEXT NOT NULL,
    frozen_by      TEXT NOT NULL,
    frozen_at      TEXT NOT NULL,     -- RFC 3339 UTC
    payload_sha256 TEXT NOT NULL,
    key_id         TEXT NOT NULL,
    envelope       BYTEA NOT NULL     -- the signed attestation file, byte for byte
);
CREATE INDEX attestations_entity ON attestations (entity, id);

CREATE FUNCTION attestations_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'attestations are immutable' USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER attestations_no_change BEFORE UPDATE OR DELETE ON attestations
    FOR EACH ROW EXECUTE FUNCTION attestations_immutable();
CREATE TRIGGER attestations_no_truncate BEFORE TRUNCATE ON attestations
    FOR EACH STATEMENT EXECUTE FUNCTION attestations_immutable();
