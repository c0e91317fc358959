-- Back to hex keys and the patient indexes of 000101 (items and versions stay keyed: the same columns).
CREATE TABLE measure_facts_new (
    fact_key    TEXT NOT NULL,
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
    PRIMARY KEY (fact_key)
);
INSERT INTO measure_facts_new (fact_key, patient_id, entity_kind, entity_id, program, measure, year, object, role, ref, for_ref, channel, at, until, start, deadline, controlled, anytime, out, because)
    SELECT encode(fact_key, 'hex'), patient_id, entity_kind, entity_id, program, measure, year, object, role, ref, for_ref, channel, at, until, start, deadline, controlled, anytime, out, because FROM measure_facts;
DROP TABLE measure_facts;
ALTER TABLE measure_facts_new RENAME TO measure_facts;
CREATE TABLE rebuild_measure_facts_new (
    fact_key    TEXT NOT NULL,
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
    PRIMARY KEY (fact_key)
);
INSERT INTO rebuild_measure_facts_new (fact_key, patient_id, entity_kind, entity_id, program, measure, year, object, role, ref, for_ref, channel, at, until, start, deadline, controlled, anytime, out, because)
    SELECT encode(fact_key, 'hex'), patient_id, entity_kind, entity_id, program, measure, year, object, role, ref, for_ref, channel, at, until, start, deadline, controlled, anytime, out, because FROM rebuild_measure_facts;
DROP TABLE rebuild_measure_facts;
ALTER TABLE rebuild_measure_facts_new RENAME TO rebuild_measure_facts;
CREATE INDEX measure_facts_patient ON measure_facts (patient_id);
CREATE INDEX rebuild_measure_facts_patient ON rebuild_measure_facts (patient_id);
CREATE INDEX measure_facts_entity ON measure_facts (entity_kind, entity_id, program, measure, year, patient_id, object, at);
