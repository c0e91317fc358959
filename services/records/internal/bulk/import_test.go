package bulk_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/records/internal/bulk"
)

// TestImportJSON imports the JSON format: good lines are stored with one event each,
// bad lines are refused with their line number, and nothing stops the others.
func TestImportJSON(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, bulk.Config{BatchLines: 4})
		lines := append(directory(), // lines 1-4
			line("patients", patientBody("pa", "MRN-A")), // 5
			line("encounters", map[string]any{"id": "ea", "patient_id": "pa", "class": "office", // 6
				"start": "2025-03-04T14:30:00Z", "rendering_npi": npi1}),
			line("encounters", map[string]any{"id": "eb", "patient_id": "nobody", "class": "office", // 7: dangling
				"start": "2025-03-04T14:30:00Z", "rendering_npi": npi1}),
			`{"kind": "patients", "body": {"id": "pb"`, // 8: truncated
			line("secrets", map[string]any{}),          // 9: unknown kind
			"",                                         // 10: blank, skipped
			line("patients", patientBody("pc", "MRN-A")), // 11: MRN taken
			line("patients", patientBody("pa", "MRN-A")), // 12: the same again: unchanged
			line("encounters", map[string]any{"id": "ec", "patient_id": "pa", "class": "office", // 13: bad NPI
				"start": "2025-03-04T14:30:00Z", "rendering_npi": "1234567890"}),
			line("patients", map[string]any{"id": "pd", "mrn": map[string]any{"system": "s", "value": "v"}}), // 14: missing name
		)
		body := ndjson(lines...)
		status := e.upload("/v1/import", "application/x-ndjson", body)
		if !strings.HasPrefix(status, "/v1/import/") {
			t.Fatalf("status at %q", status)
		}
		if rec := e.do(http.MethodGet, status, "", nil); rec.Code != http.StatusAccepted || rec.Header().Get("X-Progress") == "" {
			t.Errorf("before the run: %d, X-Progress %q; want 202 with progress", rec.Code, rec.Header().Get("X-Progress"))
		}
		s := e.finished(status)
		if s.Status != bulk.StatusCompleted || s.Lines != 14 || s.Processed != 14 {
			t.Errorf("summary %+v, want completed, 14 lines processed", s)
		}
		want := map[string]bulk.Count{"organizations": {Created: 1}, "groups": {Created: 1}, "clinicians": {Created: 1},
			"locations": {Created: 1}, "patients": {Created: 1, Unchanged: 1}, "encounters": {Created: 1}}
		got := map[string]bulk.Count{}
		for _, o := range s.Output {
			got[o.Type] = bulk.Count{Created: o.Count, Unchanged: o.Unchanged}
		}
		if len(got) != len(want) {
			t.Errorf("output %+v, want %+v", got, want)
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("output %s = %+v, want %+v", k, got[k], w)
			}
		}
		if len(s.Error) != 1 || s.Error[0].Count != 6 || !strings.HasSuffix(s.Error[0].URL, status+"/errors") {
			t.Errorf("error %+v, want 6 refused lines at %s/errors", s.Error, status)
		}
		refused := e.refused(status)
		for n, w := range map[int][2]string{
			7:  {"not-found", "body.patient_id"},
			8:  {"structure", ""},
			9:  {"not-supported", "kind"},
			11: {"conflict", "body.mrn"},
			13: {"value", "body.rendering_npi"},
			14: {"value", "body.name.family"},
		} {
			c, x := refused[n].first()
			if c != w[0] || x != w[1] {
				t.Errorf("line %d: issue %q at %q, want %q at %q", n, c, x, w[0], w[1])
			}
		}
		if len(refused) != 6 {
			t.Errorf("%d refused lines, want 6", len(refused))
		}
		if n := e.count("outbox"); n != 6 {
			t.Errorf("%d events, want 6: one per created resource", n)
		}
		if n := e.count("import_chunks"); n != 0 {
			t.Errorf("%d chunks left after the import", n)
		}
	})
}

// TestImportRefusesUploads checks what is refused before any job exists.
func TestImportRefusesUploads(t *testing.T) {
	e := scratch(t)
	tests := []struct {
		name, path, ctype string
		body              string
		want              int
	}{
		{"JSON content type", "/v1/import", "application/json", `{"kind":"patients"}`, http.StatusUnsupportedMediaType},
		{"no content type", "/fhir/$import", "", `{}`, http.StatusUnsupportedMediaType},
		{"empty body", "/v1/import", "application/x-ndjson", "", http.StatusBadRequest},
		{"only blank lines", "/fhir/$import", "application/fhir+ndjson", "\n \n\r\n", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(http.MethodPost, tt.path, tt.ctype, []byte(tt.body))
			if rec.Code != tt.want {
				t.Errorf("POST: %d %s, want %d", rec.Code, rec.Body, tt.want)
			}
		})
	}
	if n := e.count("import_jobs"); n != 0 {
		t.Errorf("%d jobs left by refused uploads", n)
	}
}

// TestImportStatusUnknown checks unknown jobs and a job asked for on the other
// format's route.
func TestImportStatusUnknown(t *testing.T) {
	e := scratch(t)
	status := e.upload("/v1/import", "application/x-ndjson", ndjson(directory()...))
	id := strings.TrimPrefix(status, "/v1/import/")
	for _, path := range []string{"/v1/import/nope", "/fhir/$import-status/nope", "/fhir/$import-status/" + id,
		"/v1/import/" + id + "x/errors", "/v1/import/bad%20id"} {
		if rec := e.do(http.MethodGet, path, "", nil); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, rec.Code)
		}
	}
}

// TestImportCancel cancels a queued job: nothing of it is written; a finished job is
// forgotten by DELETE.
func TestImportCancel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, bulk.Config{})
		status := e.upload("/v1/import", "application/x-ndjson", ndjson(directory()...))
		if rec := e.do(http.MethodDelete, status, "", nil); rec.Code != http.StatusAccepted {
			t.Fatalf("DELETE: %d %s", rec.Code, rec.Body)
		}
		s := e.finished(status)
		if s.Status != bulk.StatusCancelled || s.Processed != 0 || e.count("organizations") != 0 || e.count("outbox") != 0 {
			t.Errorf("after cancel: %+v, %d organizations, %d events; want cancelled, nothing written",
				s, e.count("organizations"), e.count("outbox"))
		}
		if rec := e.do(http.MethodDelete, status, "", nil); rec.Code != http.StatusAccepted {
			t.Fatalf("DELETE of a finished job: %d", rec.Code)
		}
		if rec := e.do(http.MethodGet, status, "", nil); rec.Code != http.StatusNotFound {
			t.Errorf("GET after forgetting: %d, want 404", rec.Code)
		}
	})
}

// TestImportFHIRYear imports a small synthetic year as FHIR NDJSON: every resource is
// stored with exactly one event, counted under its FHIR type; importing it again
// changes nothing and publishes nothing.
func TestImportFHIRYear(t *testing.T) {
	body, n := fhirYear(t, 20)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, bulk.Config{BatchLines: 64})
		s := e.finished(e.upload("/fhir/$import", "application/fhir+ndjson", body))
		got := map[string]int{}
		created := 0
		for _, o := range s.Output {
			got[o.Type] = o.Count
			created += o.Count
		}
		if s.Status != bulk.StatusCompleted || created != n || len(s.Error) != 0 {
			t.Fatalf("summary %+v, want %d created, none refused", s, n)
		}
		for typ, want := range map[string]int{"Patient": 20, "Encounter": 80, "MedicationRequest": 40, "ServiceRequest": 40,
			"Observation": 40, "Organization": 2, "Practitioner": 1, "Location": 1} {
			if got[typ] != want {
				t.Errorf("%s: %d created, want %d", typ, got[typ], want)
			}
		}
		if ev := e.count("outbox"); ev != n {
			t.Errorf("%d events, want %d", ev, n)
		}
		for table, want := range map[string]int{"patients": 20, "encounters": 80, "prescriptions": 40, "orders": 40, "results": 40} {
			if got := e.count(table); got != want {
				t.Errorf("%s: %d rows, want %d", table, got, want)
			}
		}
		again := e.finished(e.upload("/fhir/$import", "application/fhir+ndjson", body))
		unchanged := 0
		for _, o := range again.Output {
			unchanged += o.Unchanged
			if o.Count != 0 {
				t.Errorf("again: %s created %d", o.Type, o.Count)
			}
		}
		if unchanged != n || e.count("outbox") != n {
			t.Errorf("again: %d unchanged, %d events; want %d and no new event", unchanged, e.count("outbox"), n)
		}
	})
}

// TestImportResumes stands for a restart: a job whose runner stopped after line 7 is
// taken over once its lease ran out and resumed after line 7, not from the start.
func TestImportResumes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, bulk.Config{BatchLines: 3, Lease: time.Millisecond})
		var lines []any
		for i := range 12 {
			lines = append(lines, line("organizations", map[string]any{"id": fmt.Sprintf("org-%d", i+1), "name": "O", "kind": "practice"}))
		}
		status := e.upload("/v1/import", "application/x-ndjson", ndjson(lines...))
		id := strings.TrimPrefix(status, "/v1/import/")
		_, err := db.ExecContext(t.Context(), `UPDATE import_jobs SET status = 'running', owner = 'gone', done = 7,
			counts = '{"organizations":{"created":7,"unchanged":0}}', updated = ? WHERE id = ?`,
			time.Now().UTC().Add(-time.Hour), id)
		if err != nil {
			t.Fatal(err)
		}
		s := e.finished(status)
		if s.Status != bulk.StatusCompleted || s.Processed != 12 || len(s.Output) != 1 || s.Output[0].Count != 12 {
			t.Errorf("summary %+v, want completed, 12 processed, 12 organizations counted", s)
		}
		if n := e.count("organizations"); n != 5 {
			t.Errorf("%d organizations stored, want 5: lines 8 to 12 only", n)
		}
		var first string
		if err := db.QueryRowContext(t.Context(), `SELECT min(id) FROM organizations`).Scan(&first); err != nil || first != "org-10" {
			t.Errorf("first organization stored %q, %v; want org-10 (8 to 12 sort as org-10, org-11, org-12, org-8, org-9)", first, err)
		}
	})
}

// TestImportInterruptedUpload fails an upload its client abandoned, clearly.
func TestImportInterruptedUpload(t *testing.T) {
	e := newEnv(t, storetest.Open(t, store.SQLite, storetest.Service), bulk.Config{Lease: time.Millisecond})
	status := e.upload("/v1/import", "application/x-ndjson", ndjson(directory()...))
	id := strings.TrimPrefix(status, "/v1/import/")
	if _, err := e.db.ExecContext(t.Context(), `UPDATE import_jobs SET status = 'uploading', updated = ? WHERE id = ?`,
		time.Now().UTC().Add(-time.Hour), id); err != nil {
		t.Fatal(err)
	}
	s := e.finished(status)
	if s.Status != bulk.StatusFailed || !strings.Contains(s.Message, "upload was interrupted") || e.count("organizations") != 0 {
		t.Errorf("summary %+v, want failed as an interrupted upload, nothing stored", s)
	}
}
