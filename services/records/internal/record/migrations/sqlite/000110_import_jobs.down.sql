DROP TABLE import_issues;
DROP TABLE import_chunks;
DROP TABLE import_jobs;
