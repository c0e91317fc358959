-- A version per patient's timeline (items and facts): a random token, written anew by
-- every transaction that changes them. A process that keeps a patient's decoded
-- timeline in memory uses it only while the token it saw is still the stored one, so
-- several replicas (and a replay's swap) never leave it stale. Random rather than a
-- counter so that a swapped-in rebuild cannot repeat a token a process has cached.
CREATE TABLE timeline_versions (
    patient_id TEXT NOT NULL PRIMARY KEY,
    version    BIGINT NOT NULL
);
CREATE TABLE rebuild_timeline_versions (
    patient_id TEXT NOT NULL PRIMARY KEY,
    version    BIGINT NOT NULL
);
