DROP TABLE seen_facts;
DROP TABLE encounter_facts;
