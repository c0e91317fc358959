-- On SQLite, the tables keyed by their primary key alone are WITHOUT ROWID: a row lives
-- in its key's B-tree instead of a rowid table plus a key index, so an insert, update or
-- delete writes one B-tree fewer (docs/metrics.md, "Fewer B-trees a row"). Same columns
-- and keys; PostgreSQL has nothing to change (its version is a no-op).
CREATE TABLE encounter_facts_new (
    encounter_id TEXT NOT NULL,
    patient_id   TEXT NOT NULL,
    entity_kind  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    day          TEXT NOT NULL,
    PRIMARY KEY (encounter_id, entity_kind, entity_id, day)
) WITHOUT ROWID;
INSERT INTO encounter_facts_new (encounter_id, patient_id, entity_kind, entity_id, day) SELECT encounter_id, patient_id, entity_kind, entity_id, day FROM encounter_facts;
DROP TABLE encounter_facts;
ALTER TABLE encounter_facts_new RENAME TO encounter_facts;
CREATE TABLE rebuild_encounter_facts_new (
    encounter_id TEXT NOT NULL,
    patient_id   TEXT NOT NULL,
    entity_kind  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    day          TEXT NOT NULL,
    PRIMARY KEY (encounter_id, entity_kind, entity_id, day)
) WITHOUT ROWID;
INSERT INTO rebuild_encounter_facts_new (encounter_id, patient_id, entity_kind, entity_id, day) SELECT encounter_id, patient_id, entity_kind, entity_id, day FROM rebuild_encounter_facts;
DROP TABLE rebuild_encounter_facts;
ALTER TABLE rebuild_encounter_facts_new RENAME TO rebuild_encounter_facts;
CREATE TABLE seen_facts_new (
    entity_kind TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    patient_id  TEXT NOT NULL,
    day         TEXT NOT NULL,
    support     INTEGER NOT NULL,
    PRIMARY KEY (entity_kind, entity_id, patient_id, day)
) WITHOUT ROWID;
INSERT INTO seen_facts_new (entity_kind, entity_id, patient_id, day, support) SELECT entity_kind, entity_id, patient_id, day, support FROM seen_facts;
DROP TABLE seen_facts;
ALTER TABLE seen_facts_new RENAME TO seen_facts;
CREATE TABLE rebuild_seen_facts_new (
    entity_kind TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    patient_id  TEXT NOT NULL,
    day         TEXT NOT NULL,
    support     INTEGER NOT NULL,
    PRIMARY KEY (entity_kind, entity_id, patient_id, day)
) WITHOUT ROWID;
INSERT INTO rebuild_seen_facts_new (entity_kind, entity_id, patient_id, day, support) SELECT entity_kind, entity_id, patient_id, day, support FROM rebuild_seen_facts;
DROP TABLE rebuild_seen_facts;
ALTER TABLE rebuild_seen_facts_new RENAME TO rebuild_seen_facts;
