DROP TABLE attestations;
DROP FUNCTION attestations_immutable();
