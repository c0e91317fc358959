DROP TABLE audit_checkpoints;
DROP TABLE audit_log;
DROP FUNCTION audit_append_only();
