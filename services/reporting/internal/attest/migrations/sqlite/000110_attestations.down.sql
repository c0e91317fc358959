DROP TRIGGER attestations_no_delete;
DROP TRIGGER attestations_no_update;
DROP TABLE attestations;
