-- The catalog: one row per material (its current version), its codes for matching and
-- listing, and every version as it was, so that a provision names exactly what the
-- patient was given. generation changes with every catalog write, so replicas know
-- when to rebuild their matching index.
CREATE TABLE materials (
    id            TEXT PRIMARY KEY,
    topic         TEXT NOT NULL,          -- translations of one material share a topic
    language      TEXT NOT NULL,
    version       INTEGER NOT NULL,
    status        TEXT NOT NULL,          -- active or retired
    title         TEXT NOT NULL,
    summary       TEXT NOT NULL,
    reading_level INTEGER NOT NULL,
    format        TEXT NOT NULL,
    url           TEXT NOT NULL DEFAULT '',
    content       TEXT NOT NULL DEFAULT '',
    codes         TEXT NOT NULL,          -- JSON array of {system, code}
    created       TIMESTAMPTZ NOT NULL,
    updated       TIMESTAMPTZ NOT NULL
);

CREATE TABLE material_codes (
    material_id TEXT NOT NULL REFERENCES materials (id),
    system      TEXT NOT NULL,
    code        TEXT NOT NULL,
    PRIMARY KEY (material_id, system, code)
);
CREATE INDEX material_codes_code ON material_codes (system, code);

CREATE TABLE material_versions (
    material_id TEXT NOT NULL REFERENCES materials (id),
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL,            -- the material as JSON
    PRIMARY KEY (material_id, version)
);

CREATE TABLE catalog_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO catalog_state (id, generation) VALUES (1, 0);

-- The projection of records' problem, medication and result events: what matching
-- reads. Codes only; no values, no free text.
CREATE TABLE chart_problems (
    problem_id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL,
    system     TEXT NOT NULL,
    code       TEXT NOT NULL,
    status     TEXT NOT NULL
);
CREATE INDEX chart_problems_patient ON chart_problems (patient_id);

CREATE TABLE chart_medications (
    medication_id TEXT PRIMARY KEY,
    patient_id    TEXT NOT NULL,
    system        TEXT NOT NULL,
    code          TEXT NOT NULL,
    status        TEXT NOT NULL
);
CREATE INDEX chart_medications_patient ON chart_medications (patient_id);

CREATE TABLE chart_results (
    result_id      TEXT PRIMARY KEY,
    patient_id     TEXT NOT NULL,
    system         TEXT NOT NULL,
    code           TEXT NOT NULL,
    status         TEXT NOT NULL,
    interpretation TEXT NOT NULL DEFAULT '',
    effective      TIMESTAMPTZ NOT NULL
);
CREATE INDEX chart_results_patient ON chart_results (patient_id, effective);

CREATE TABLE patient_preferences (
    patient_id TEXT PRIMARY KEY,
    language   TEXT NOT NULL
);

-- Suggestions: materials matched automatically when a fact arrived, one per patient
-- and topic (a material and its translations).
CREATE TABLE suggestions (
    id              TEXT PRIMARY KEY,
    patient_id      TEXT NOT NULL,
    material_id     TEXT NOT NULL,
    topic           TEXT NOT NULL,
    version         INTEGER NOT NULL,
    language        TEXT NOT NULL,
    code_system     TEXT NOT NULL,
    code            TEXT NOT NULL,
    material_system TEXT NOT NULL,
    material_code   TEXT NOT NULL,
    match_kind      TEXT NOT NULL,
    status          TEXT NOT NULL,        -- open or provided
    created         TIMESTAMPTZ NOT NULL,
    UNIQUE (patient_id, topic)
);

-- Provisions: who gave which version of which material to whom, why, how; and when the
-- patient first opened it.
CREATE TABLE provisions (
    id                   TEXT PRIMARY KEY,
    patient_id           TEXT NOT NULL,
    material_id          TEXT NOT NULL,
    topic                TEXT NOT NULL,
    version              INTEGER NOT NULL,
    language             TEXT NOT NULL,
    channel              TEXT NOT NULL,
    identified_by_system BOOLEAN NOT NULL,
    reason_system        TEXT NOT NULL DEFAULT '',
    reason_code          TEXT NOT NULL DEFAULT '',
    provided_by          TEXT NOT NULL,
    actor                TEXT NOT NULL,   -- the principal, "kind:id"
    npi                  TEXT NOT NULL DEFAULT '',
    provided             TIMESTAMPTZ NOT NULL,
    views                INTEGER NOT NULL DEFAULT 0,
    first_viewed         TIMESTAMPTZ,
    last_viewed          TIMESTAMPTZ
);
CREATE INDEX provisions_patient ON provisions (patient_id, provided);
CREATE INDEX provisions_topic ON provisions (patient_id, topic);
