-- Bulk imports (internal/bulk): a job per uploaded NDJSON body. The body is kept in
-- chunks of whole lines until the job ends, so that an import interrupted by a restart
-- resumes at its cursor (done: the lines processed so far, committed in the same
-- transaction as the resources of those lines and their events).
CREATE TABLE import_jobs (
    id       TEXT PRIMARY KEY,
    format   TEXT NOT NULL,              -- fhir (FHIR resources) or json ({"kind","body"} lines)
    status   TEXT NOT NULL,              -- uploading, queued, running, completed, failed, cancelled
    lines    INTEGER NOT NULL DEFAULT 0, -- lines uploaded
    done     INTEGER NOT NULL DEFAULT 0, -- lines processed: the cursor
    refused  INTEGER NOT NULL DEFAULT 0, -- lines refused, each with an outcome in import_issues
    counts   TEXT NOT NULL DEFAULT '{}', -- JSON: per resource type, created and unchanged
    message  TEXT NOT NULL DEFAULT '',   -- why a job failed; never PHI
    request  TEXT NOT NULL DEFAULT '',   -- the URL the job was posted to
    owner    TEXT NOT NULL DEFAULT '',   -- the runner holding the job; its lease is renewed with updated
    created  TIMESTAMP NOT NULL,
    updated  TIMESTAMP NOT NULL
);
CREATE INDEX import_jobs_status ON import_jobs (status, created);

CREATE TABLE import_chunks (
    job_id     TEXT NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    first_line INTEGER NOT NULL, -- the number of the chunk's first line (from 1)
    lines      INTEGER NOT NULL,
    data       BLOB NOT NULL,
    PRIMARY KEY (job_id, seq)
);

-- One OperationOutcome per refused line.
CREATE TABLE import_issues (
    job_id  TEXT NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
    line    INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    PRIMARY KEY (job_id, line)
);
