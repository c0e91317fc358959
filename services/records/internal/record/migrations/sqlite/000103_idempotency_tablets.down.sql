DROP TABLE tablet_audit;
DROP TABLE tablet_sessions;
DROP TABLE idempotency_keys;
