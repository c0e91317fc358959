DROP TABLE rebuild_seen_facts;
DROP TABLE rebuild_encounter_facts;
