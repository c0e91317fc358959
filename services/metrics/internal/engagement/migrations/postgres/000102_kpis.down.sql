DROP TABLE rebuild_kpi_items;
DROP TABLE kpi_items;
