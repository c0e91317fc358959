-- Engagement KPI items: one row per counted thing (an access grant, a VDT action, a
-- message answered, a tablet session wiped, …), dated and attributed to a clinic and
-- a clinician where its event names them; reports add them up. Instants are
-- fixed-width UTC text; week is the Monday of the item's week in the service's zone.
CREATE TABLE kpi_items (
    kpi        TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    at         TEXT NOT NULL,
    week       TEXT NOT NULL,
    clinic     TEXT NOT NULL,
    clinician  TEXT NOT NULL,
    value      BIGINT NOT NULL, -- a duration in seconds, where the KPI has one
    PRIMARY KEY (kpi, item_id)
);
CREATE INDEX kpi_items_week ON kpi_items (week, kpi);
CREATE INDEX kpi_items_patient ON kpi_items (patient_id, kpi);

CREATE TABLE rebuild_kpi_items (
    kpi        TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    at         TEXT NOT NULL,
    week       TEXT NOT NULL,
    clinic     TEXT NOT NULL,
    clinician  TEXT NOT NULL,
    value      BIGINT NOT NULL,
    PRIMARY KEY (kpi, item_id)
);
