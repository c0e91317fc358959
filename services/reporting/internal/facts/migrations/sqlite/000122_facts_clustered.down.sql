CREATE TABLE report_facts_rowid (
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
INSERT INTO report_facts_rowid (fact_key, patient_id, entity_kind, entity_id, program, measure, year, object, role,
    ref, for_ref, channel, at, until, start, deadline, controlled, anytime, out, because)
SELECT fact_key, patient_id, entity_kind, entity_id, program, measure, year, object, role,
    ref, for_ref, channel, at, until, start, deadline, controlled, anytime, out, because FROM report_facts;
DROP TABLE report_facts;
ALTER TABLE report_facts_rowid RENAME TO report_facts;
CREATE INDEX report_facts_series ON report_facts (entity_kind, entity_id, program, measure, year, patient_id, object, at);
