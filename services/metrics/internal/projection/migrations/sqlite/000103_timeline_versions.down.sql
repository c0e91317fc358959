DROP TABLE rebuild_timeline_versions;
DROP TABLE timeline_versions;
