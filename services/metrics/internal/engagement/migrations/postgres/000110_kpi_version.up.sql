-- The data version of each KPI table: bumped in the same transaction as any change to
-- its rows (and by a replay's swap), so a report computed at a version stays exact for
-- as long as the version does; readers key their cached answers by it.
CREATE TABLE kpi_version (
    name    TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO kpi_version (name, version) VALUES ('kpi_items', 0), ('rebuild_kpi_items', 0);
