-- On SQLite, the tables keyed by their primary key alone are WITHOUT ROWID: a row lives
-- in its key's B-tree instead of a rowid table plus a key index, so an insert, update or
-- delete writes one B-tree fewer (docs/metrics.md, "Fewer B-trees a row"). Same columns
-- and keys; PostgreSQL has nothing to change (its version is a no-op).
CREATE TABLE kpi_items_new (
    kpi        TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    at         TEXT NOT NULL,
    week       TEXT NOT NULL,
    clinic     TEXT NOT NULL,
    clinician  TEXT NOT NULL,
    value      BIGINT NOT NULL,
    PRIMARY KEY (kpi, item_id)
) WITHOUT ROWID;
INSERT INTO kpi_items_new (kpi, item_id, patient_id, at, week, clinic, clinician, value) SELECT kpi, item_id, patient_id, at, week, clinic, clinician, value FROM kpi_items;
DROP TABLE kpi_items;
ALTER TABLE kpi_items_new RENAME TO kpi_items;
CREATE INDEX kpi_items_week ON kpi_items (week, kpi);
CREATE INDEX kpi_items_patient ON kpi_items (patient_id, kpi);
CREATE TABLE rebuild_kpi_items_new (
    kpi        TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    at         TEXT NOT NULL,
    week       TEXT NOT NULL,
    clinic     TEXT NOT NULL,
    clinician  TEXT NOT NULL,
    value      BIGINT NOT NULL,
    PRIMARY KEY (kpi, item_id)
) WITHOUT ROWID;
INSERT INTO rebuild_kpi_items_new (kpi, item_id, patient_id, at, week, clinic, clinician, value) SELECT kpi, item_id, patient_id, at, week, clinic, clinician, value FROM rebuild_kpi_items;
DROP TABLE rebuild_kpi_items;
ALTER TABLE rebuild_kpi_items_new RENAME TO rebuild_kpi_items;
