-- The facts each encounter supports, so a correction or deletion knows what to retract.
CREATE TABLE encounter_facts (
    encounter_id TEXT NOT NULL,
    patient_id   TEXT NOT NULL,
    entity_kind  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    day          TEXT NOT NULL,
    PRIMARY KEY (encounter_id, entity_kind, entity_id, day)
);

-- Held "seen" facts with the number of encounters that support each; a fact is
-- asserted when its support goes from 0 to 1 and retracted when it returns to 0.
CREATE TABLE seen_facts (
    entity_kind TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    patient_id  TEXT NOT NULL,
    day         TEXT NOT NULL,
    support     INTEGER NOT NULL,
    PRIMARY KEY (entity_kind, entity_id, patient_id, day)
);
