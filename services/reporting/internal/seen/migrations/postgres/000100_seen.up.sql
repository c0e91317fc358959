-- The "seen" facts metrics holds now: patient seen by an entity on a day.
CREATE TABLE seen (
    entity_kind TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    day         TEXT NOT NULL,
    patient_id  TEXT NOT NULL,
    because     TEXT NOT NULL, -- the domain event that made the fact true
    PRIMARY KEY (entity_kind, entity_id, day, patient_id)
);
