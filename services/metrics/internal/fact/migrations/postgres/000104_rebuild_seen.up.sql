-- The seen facts as `attest replay metrics` rebuilds them from the topics before
-- swapping them in: the same shape as encounter_facts and seen_facts.
CREATE TABLE rebuild_encounter_facts (
    encounter_id TEXT NOT NULL,
    patient_id   TEXT NOT NULL,
    entity_kind  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    day          TEXT NOT NULL,
    PRIMARY KEY (encounter_id, entity_kind, entity_id, day)
);
CREATE TABLE rebuild_seen_facts (
    entity_kind TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    patient_id  TEXT NOT NULL,
    day         TEXT NOT NULL,
    support     INTEGER NOT NULL,
    PRIMARY KEY (entity_kind, entity_id, patient_id, day)
);
