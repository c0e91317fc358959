// Package bulk imports NDJSON in bulk into the record: FHIR R4 resources (POST
// /fhir/$import, the FHIR Bulk Data import) or the JSON API's resources (POST
// /v1/import). An upload becomes a job, kept with its body in the record's database;
// a runner writes the lines in batches — many resources and their events per
// transaction (resource.Store.Batch), decoding in parallel with writing — and records
// its progress in the same transactions, so an import interrupted by a restart
// resumes where it stopped. Each line is stored with exactly one event or refused with
// an OperationOutcome naming its line; a refused line does not stop the others.
// docs/import.md describes the API.
package bulk

// The generated part of the bad-input corpus (testdata/badinput/gen-*, generated.json).
//go:generate go run gen_badinput.go
