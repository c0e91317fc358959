DROP TABLE report_engagements;
DROP TABLE report_attestations;
DROP TABLE report_positions;
DROP TABLE report_fact_versions;
DROP TABLE report_facts;
