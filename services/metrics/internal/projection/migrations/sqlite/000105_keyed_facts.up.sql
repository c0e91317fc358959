-- Fewer B-trees written per fact and per item (docs/architecture.md, "metrics storage
-- keyed by patient"): a fact's key is its 32-byte SHA-256 instead of 64 hex
-- characters, and the fact tables are keyed by (patient_id, fact_key), which also
-- serves "a patient's facts" — the separate patient index goes.
-- On SQLite the keyed tables are WITHOUT ROWID: a row lives in its primary key's
-- B-tree instead of a rowid table plus a key index, so an insert writes one B-tree
-- (plus the entity index for facts) instead of three or four.
CREATE TABLE measure_facts_new (
    fact_key    BLOB NOT NULL,
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
    because     TEXT NOT NULL,
    PRIMARY KEY (patient_id, fact_key)
) WITHOUT ROWID;
INSERT INTO measure_facts_new (fact_key, patient_id, entity_kind, entity_id, program, measure, year, object, role, ref, for_ref, channel, at, until, start, deadline, controlled, anytime, out, because)
    SELECT unhex(fact_key), patient_id, entity_kind, entity_id, program, measure, year, object, role, ref, for_ref, channel, at, until, start, deadline, controlled, anytime, out, because FROM measure_facts;
DROP TABLE measure_facts;
ALTER TABLE measure_facts_new RENAME TO measure_facts;
CREATE TABLE rebuild_measure_facts_new (
    fact_key    BLOB NOT NULL,
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
    because     TEXT NOT NULL,
    PRIMARY KEY (patient_id, fact_key)
) WITHOUT ROWID;
INSERT INTO rebuild_measure_facts_new (fact_key, patient_id, entity_kind, entity_id, program, measure, year, object, role, ref, for_ref, channel, at, until, start, deadline, controlled, anytime, out, because)
    SELECT unhex(fact_key), patient_id, entity_kind, entity_id, program, measure, year, object, role, ref, for_ref, channel, at, until, start, deadline, controlled, anytime, out, because FROM rebuild_measure_facts;
DROP TABLE rebuild_measure_facts;
ALTER TABLE rebuild_measure_facts_new RENAME TO rebuild_measure_facts;
CREATE INDEX measure_facts_entity ON measure_facts (entity_kind, entity_id, program, measure, year, patient_id, object, at);
CREATE TABLE timeline_items_new (
    patient_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    event_id   TEXT NOT NULL, -- the event that recorded this version
    data       TEXT NOT NULL, -- the owner's JSON payload
    PRIMARY KEY (patient_id, kind, item_id)
) WITHOUT ROWID;
INSERT INTO timeline_items_new SELECT patient_id, kind, item_id, event_id, data FROM timeline_items;
DROP TABLE timeline_items;
ALTER TABLE timeline_items_new RENAME TO timeline_items;
CREATE TABLE rebuild_timeline_items_new (
    patient_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    event_id   TEXT NOT NULL, -- the event that recorded this version
    data       TEXT NOT NULL, -- the owner's JSON payload
    PRIMARY KEY (patient_id, kind, item_id)
) WITHOUT ROWID;
INSERT INTO rebuild_timeline_items_new SELECT patient_id, kind, item_id, event_id, data FROM rebuild_timeline_items;
DROP TABLE rebuild_timeline_items;
ALTER TABLE rebuild_timeline_items_new RENAME TO rebuild_timeline_items;
CREATE TABLE timeline_versions_new (
    patient_id TEXT NOT NULL PRIMARY KEY,
    version    BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO timeline_versions_new SELECT patient_id, version FROM timeline_versions;
DROP TABLE timeline_versions;
ALTER TABLE timeline_versions_new RENAME TO timeline_versions;
CREATE TABLE rebuild_timeline_versions_new (
    patient_id TEXT NOT NULL PRIMARY KEY,
    version    BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO rebuild_timeline_versions_new SELECT patient_id, version FROM rebuild_timeline_versions;
DROP TABLE rebuild_timeline_versions;
ALTER TABLE rebuild_timeline_versions_new RENAME TO rebuild_timeline_versions;
