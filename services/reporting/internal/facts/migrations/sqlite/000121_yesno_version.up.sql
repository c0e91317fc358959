-- One version of the yes/no inputs (report_attestations, report_engagements), bumped in
-- the transaction of any change to them: a report computed at a version of these and of
-- its series is still the report while none of them moved, so it can be kept.
CREATE TABLE report_yesno_version (
    id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO report_yesno_version (id, version) VALUES (1, 0);
