-- Reporting's own copy of the membership facts metrics publishes on
-- metrics.measure-fact.v1 (identity: every field but because), the yes/no inputs
-- records publishes (attestations, registry engagements), and how far each topic
-- partition has been applied: a report records these positions, and recomputing it
-- from the log up to them gives the same numbers (docs/reports.md).
-- Instants are nanoseconds since 1970-01-01 UTC, NULL for none.
CREATE TABLE report_facts (
    fact_key    TEXT NOT NULL PRIMARY KEY, -- SHA-256 of membership.Fact.Key()
    patient_id  TEXT NOT NULL,
    entity_kind TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    program     TEXT NOT NULL,
    measure     TEXT NOT NULL,
    year        INTEGER NOT NULL,
    object      TEXT NOT NULL,
    role        TEXT NOT NULL,
    ref         TEXT NOT NULL,
    for_ref     TEXT NOT NULL,
    channel     TEXT NOT NULL,
    at          BIGINT NOT NULL,
    until       BIGINT,
    start       BIGINT,
    deadline    BIGINT,
    controlled  INTEGER NOT NULL,
    anytime     INTEGER NOT NULL,
    out         TEXT NOT NULL,
    because     TEXT NOT NULL
);
CREATE INDEX report_facts_series ON report_facts (entity_kind, entity_id, program, measure, year, patient_id, object, at);

-- A version per series (entity, program, measure, year), bumped in the transaction
-- that changes any of its facts: the read side's in-memory cache checks it.
CREATE TABLE report_fact_versions (
    entity_kind TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    program     TEXT NOT NULL,
    measure     TEXT NOT NULL,
    year        INTEGER NOT NULL,
    version     BIGINT NOT NULL,
    PRIMARY KEY (entity_kind, entity_id, program, measure, year)
);

-- The next offset to apply, per topic partition, updated in the same transaction as
-- the state: every event below it is in the tables.
CREATE TABLE report_positions (
    topic       TEXT NOT NULL,
    part        INTEGER NOT NULL,
    next_offset BIGINT NOT NULL,
    newest      BIGINT NOT NULL, -- the newest recorded time of the events applied (data current as of)
    PRIMARY KEY (topic, part)
);

-- records.attestation.v1: the current version of each yes/no fact about an entity.
CREATE TABLE report_attestations (
    attestation_id TEXT NOT NULL PRIMARY KEY,
    entity_kind    TEXT NOT NULL,
    entity_id      TEXT NOT NULL,
    data           TEXT NOT NULL, -- the contract.Attestation payload as published
    event_id       TEXT NOT NULL
);
CREATE INDEX report_attestations_entity ON report_attestations (entity_kind, entity_id);

-- records.registry-engagement.v1: the current version of each registry engagement.
CREATE TABLE report_engagements (
    registry_engagement_id TEXT NOT NULL PRIMARY KEY,
    entity_kind            TEXT NOT NULL,
    entity_id              TEXT NOT NULL,
    data                   TEXT NOT NULL, -- the contract.RegistryEngagement payload as published
    event_id               TEXT NOT NULL
);
CREATE INDEX report_engagements_entity ON report_engagements (entity_kind, entity_id);
