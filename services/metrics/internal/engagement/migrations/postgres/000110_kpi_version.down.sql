DROP TABLE kpi_version;
