DROP TABLE rebuild_measure_facts;
DROP TABLE rebuild_timeline_items;
DROP TABLE fact_versions;
DROP TABLE measure_facts;
DROP TABLE timeline_items;
