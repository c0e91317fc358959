-- The facts clustered by series (SQLite): a WITHOUT ROWID table keyed by series, member
-- and time keeps a series' rows on neighbouring pages, so reading a series back after it
-- changed reads its pages rather than one page per row — scattered by the digest key
-- they were inserted by, the rows of a clinician's series at 1,000,000 patients cost a
-- page read each. The digest stays unique (the conflict target of an assertion and the
-- key of a retraction) through its own index.
CREATE TABLE report_facts_clustered (
    fact_key    TEXT NOT NULL, -- SHA-256 of membership.Fact.Key()
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
    PRIMARY KEY (entity_kind, entity_id, program, measure, year, patient_id, object, at, fact_key)
) WITHOUT ROWID;
INSERT INTO report_facts_clustered (fact_key, patient_id, entity_kind, entity_id, program, measure, year, object, role,
    ref, for_ref, channel, at, until, start, deadline, controlled, anytime, out, because)
SELECT fact_key, patient_id, entity_kind, entity_id, program, measure, year, object, role,
    ref, for_ref, channel, at, until, start, deadline, controlled, anytime, out, because FROM report_facts;
DROP TABLE report_facts;
ALTER TABLE report_facts_clustered RENAME TO report_facts;
CREATE UNIQUE INDEX report_facts_key ON report_facts (fact_key);
