-- Back to rowid tables, as 000100 made them.
CREATE TABLE encounter_facts_new (
    encounter_id TEXT NOT NULL,
    patient_id   TEXT NOT NULL,
    entity_kind  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    day          TEXT NOT NULL,
    PRIMARY KEY (encounter_id, entity_kind, entity_id, day)
);
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
);
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
);
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
);
INSERT INTO rebuild_seen_facts_new (entity_kind, entity_id, patient_id, day, support) SELECT entity_kind, entity_id, patient_id, day, support FROM rebuild_seen_facts;
DROP TABLE rebuild_seen_facts;
ALTER TABLE rebuild_seen_facts_new RENAME TO rebuild_seen_facts;
