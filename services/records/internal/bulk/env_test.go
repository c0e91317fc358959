package bulk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/records/internal/bulk"
	"github.com/attest-ehr/attest/services/records/internal/fhir"
	"github.com/attest-ehr/attest/services/records/internal/record"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// npi1 is a valid NPI (Luhn check digit with the 80840 prefix).
const npi1 = "1234567893"

// env is the record with its JSON, FHIR and import APIs on one database.
type env struct {
	t     testing.TB
	db    *store.DB
	svc   *record.Service
	im    *bulk.Importer
	codec *fhir.Codec
	h     http.Handler
}

func newEnv(t testing.TB, db *store.DB, cfg bulk.Config) *env {
	t.Helper()
	return newEnvNotify(t, db, cfg, func() {})
}

// newEnvNotify is newEnv with the record waking notify after commits that publish.
func newEnvNotify(t testing.TB, db *store.DB, cfg bulk.Config, notify func()) *env {
	t.Helper()
	if err := db.Migrate(context.Background(), record.Migrations()); err != nil {
		t.Fatal(err)
	}
	svc := record.NewService(db, notify, record.Config{})
	codec, err := fhir.New(svc)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	im := bulk.New(svc, codec, log, cfg)
	mux := http.NewServeMux()
	m := resource.NewMux(mux, log)
	svc.Routes(m)
	codec.Routes(m)
	im.Routes(m)
	return &env{t: t, db: db, svc: svc, im: im, codec: codec, h: mux}
}

// scratch is an env on a fresh SQLite database, for building inputs.
func scratch(t testing.TB) *env {
	t.Helper()
	return newEnv(t, storetest.Open(t, store.SQLite, storetest.Service), bulk.Config{})
}

func (e *env) do(method, path, ctype string, body []byte) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	return rec
}

// post creates a resource through the JSON API and returns its ID.
func (e *env) post(path string, body any) string {
	e.t.Helper()
	b, _ := json.Marshal(body)
	rec := e.do(http.MethodPost, path, "application/json", b)
	if rec.Code != http.StatusCreated {
		e.t.Fatalf("POST %s: %d %s", path, rec.Code, rec.Body)
	}
	var out struct{ ID string }
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return out.ID
}

// fhirOf reads a stored resource through the FHIR API, without its meta.
func (e *env) fhirOf(typ, id string) map[string]any {
	e.t.Helper()
	rec := e.do(http.MethodGet, "/fhir/"+typ+"/"+id, "", nil)
	if rec.Code != http.StatusOK {
		e.t.Fatalf("GET /fhir/%s/%s: %d %s", typ, id, rec.Code, rec.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		e.t.Fatal(err)
	}
	delete(m, "meta")
	return m
}

// count is the number of rows in table.
func (e *env) count(table string) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRowContext(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// upload posts an import body and returns the status path (Content-Location without
// scheme and host).
func (e *env) upload(path, ctype string, body []byte) string {
	e.t.Helper()
	rec := e.do(http.MethodPost, path, ctype, body)
	if rec.Code != http.StatusAccepted {
		e.t.Fatalf("POST %s: %d %s", path, rec.Code, rec.Body)
	}
	loc := rec.Header().Get("Content-Location")
	const host = "http://example.com"
	if !strings.HasPrefix(loc, host+"/") {
		e.t.Fatalf("Content-Location %q, want an absolute URL on %s", loc, host)
	}
	return strings.TrimPrefix(loc, host)
}

// finished drains the importer and returns the import's summary.
func (e *env) finished(statusPath string) bulk.Summary {
	e.t.Helper()
	if err := e.im.Drain(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	rec := e.do(http.MethodGet, statusPath, "", nil)
	if rec.Code != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", statusPath, rec.Code, rec.Body)
	}
	var s bulk.Summary
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// refused reads an import's errors file: each line's OperationOutcome, by line number.
func (e *env) refused(statusPath string) map[int]outcome {
	e.t.Helper()
	rec := e.do(http.MethodGet, statusPath+"/errors", "", nil)
	if rec.Code != http.StatusOK {
		e.t.Fatalf("GET errors: %d %s", rec.Code, rec.Body)
	}
	out := map[int]outcome{}
	for l := range strings.SplitSeq(strings.TrimSpace(rec.Body.String()), "\n") {
		if l == "" {
			continue
		}
		var o outcome
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			e.t.Fatalf("errors line %q: %v", l, err)
		}
		if len(o.Extension) != 1 || o.Extension[0].URL != bulk.LineExtension || o.ResourceType != "OperationOutcome" {
			e.t.Fatalf("errors line %q: not a numbered OperationOutcome", l)
		}
		out[o.Extension[0].ValueInteger] = o
	}
	return out
}

// outcome is an OperationOutcome of the errors file.
type outcome struct {
	ResourceType string `json:"resourceType"`
	Extension    []struct {
		URL          string `json:"url"`
		ValueInteger int    `json:"valueInteger"`
	} `json:"extension"`
	Issue []struct {
		Severity    string   `json:"severity"`
		Code        string   `json:"code"`
		Expression  []string `json:"expression"`
		Diagnostics string   `json:"diagnostics"`
	} `json:"issue"`
}

// first is the code and expression of the outcome's first issue.
func (o outcome) first() (code, expr string) {
	if len(o.Issue) == 0 {
		return "", ""
	}
	if len(o.Issue[0].Expression) > 0 {
		expr = o.Issue[0].Expression[0]
	}
	return o.Issue[0].Code, expr
}

// ndjson joins values, each marshalled unless it is a string, as NDJSON.
func ndjson(lines ...any) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		switch l := l.(type) {
		case string:
			b.WriteString(l)
		default:
			j, err := json.Marshal(l)
			if err != nil {
				panic(err)
			}
			b.Write(j)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func line(kind string, body any) map[string]any { return map[string]any{"kind": kind, "body": body} }

func code(system, c string) map[string]any { return map[string]any{"system": system, "code": c} }

func patientBody(id, mrn string) map[string]any {
	return map[string]any{"id": id, "organization_id": "org-1",
		"mrn":  map[string]any{"system": "urn:oid:2.16.840.1.113883.19.5", "value": mrn},
		"name": map[string]any{"given": []string{"Ann"}, "family": "Example"}, "birth_date": "1970-01-02", "sex": "female"}
}

// directory is the JSON lines of the organization, group, clinician and location the
// synthetic patients' facts name.
func directory() []any {
	return []any{
		line("organizations", map[string]any{"id": "org-1", "name": "Main Street Clinic", "kind": "practice"}),
		line("groups", map[string]any{"id": "grp-1", "organization_id": "org-1", "name": "Group A", "tin": "123456789"}),
		line("clinicians", map[string]any{"id": "clin-1", "npi": npi1, "credential": "MD",
			"name": map[string]any{"family": "Osler"}, "tins": []string{"123456789"}}),
		line("locations", map[string]any{"id": "loc-1", "organization_id": "org-1", "name": "Suite 1", "pos": "11", "cehrt": true}),
	}
}

// facts is one patient's year as JSON lines: the patient, four office visits, two
// prescriptions, two laboratory orders and their results (11 resources).
func facts(i int) []any {
	p := fmt.Sprintf("p%d", i)
	out := []any{line("patients", patientBody(p, "MRN-"+p))}
	for v := range 4 {
		out = append(out, line("encounters", map[string]any{"id": fmt.Sprintf("%s-e%d", p, v), "patient_id": p, "class": "office",
			"start": fmt.Sprintf("2025-%02d-04T14:30:00Z", 1+3*v), "rendering_npi": npi1, "billing_tin": "123456789",
			"location_id": "loc-1"}))
	}
	for v := range 2 {
		out = append(out, line("prescriptions", map[string]any{"id": fmt.Sprintf("%s-rx%d", p, v), "patient_id": p,
			"encounter_id": fmt.Sprintf("%s-e%d", p, v), "code": code("http://www.nlm.nih.gov/research/umls/rxnorm", "860975"),
			"kind": "new", "permissible": true, "written": fmt.Sprintf("2025-%02d-04T14:45:00Z", 1+3*v), "npi": npi1, "tin": "123456789"}))
	}
	for v := range 2 {
		o := fmt.Sprintf("%s-o%d", p, v)
		out = append(out, line("orders", map[string]any{"id": o, "patient_id": p, "category": "laboratory",
			"code": code("http://loinc.org", "4548-4"), "ordered": fmt.Sprintf("2025-%02d-04T14:50:00Z", 1+3*v), "npi": npi1,
			"entry_method": "cpoe", "entered_by": "user-7", "entered_by_credential": "CMA"}))
		out = append(out, line("results", map[string]any{"id": fmt.Sprintf("%s-r%d", p, v), "patient_id": p, "order_id": o,
			"code": code("http://loinc.org", "4548-4"), "status": "final", "category": "laboratory",
			"effective": fmt.Sprintf("2025-%02d-04T15:00:00Z", 1+3*v), "issued": fmt.Sprintf("2025-%02d-05T08:00:00Z", 1+3*v),
			"value": map[string]any{"value": 7.1, "unit": "%"}}))
	}
	return out
}
