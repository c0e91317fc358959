-- The metrics projection: the current version of every input the measures read, per
-- patient (timeline_items), and the membership facts derived from them
-- (measure_facts). The rebuild_* tables have the same shape: `attest replay metrics`
-- fills them from the topics, then swaps them in (docs/metrics.md).
CREATE TABLE timeline_items (
    patient_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    event_id   TEXT NOT NULL, -- the event that recorded this version
    data       TEXT NOT NULL, -- the owner's JSON payload
    PRIMARY KEY (patient_id, kind, item_id)
);

-- Instants are nanoseconds since 1970-01-01 UTC, NULL for none.
CREATE TABLE measure_facts (
    fact_key    TEXT NOT NULL PRIMARY KEY, -- SHA-256 of the fact's identity (every field but because)
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
CREATE INDEX measure_facts_patient ON measure_facts (patient_id);
CREATE INDEX measure_facts_entity ON measure_facts (entity_kind, entity_id, program, measure, year, patient_id, object, at);

-- A version per entity, measure and year, bumped in the transaction that changes any
-- of its facts: readers that keep facts in memory check it to know theirs are current.
CREATE TABLE fact_versions (
    entity_kind TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    program     TEXT NOT NULL,
    measure     TEXT NOT NULL,
    year        INTEGER NOT NULL,
    version     BIGINT NOT NULL,
    PRIMARY KEY (entity_kind, entity_id, program, measure, year)
);

CREATE TABLE rebuild_timeline_items (
    patient_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    data       TEXT NOT NULL,
    PRIMARY KEY (patient_id, kind, item_id)
);

CREATE TABLE rebuild_measure_facts (
    fact_key    TEXT NOT NULL PRIMARY KEY,
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
CREATE INDEX rebuild_measure_facts_patient ON rebuild_measure_facts (patient_id);
