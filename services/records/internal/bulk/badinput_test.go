package bulk_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/records/internal/bulk"
)

// corpus is the bad-input corpus: every file under testdata/badinput but the
// expectation files, generated ones (gen-*, generated.json, by gen_badinput.go) and
// hand-written ones (hand.json).
const corpus = "testdata/badinput"

// want is one file's expectation (gen_badinput.go's Want).
type want struct {
	File   string            `json:"file"`
	Status int               `json:"status"`
	Lines  map[string]expect `json:"lines"`
	Expect *expect           `json:"expect"`
}

type expect struct {
	Codes  []string `json:"codes"`
	Expr   string   `json:"expr"`
	Prefix bool     `json:"prefix"`
}

// matches reports whether one of issues is of one of e's codes at e's expression.
func (e expect) matches(issues []issue) bool {
	for _, is := range issues {
		expr := ""
		if len(is.Expression) > 0 {
			expr = is.Expression[0]
		}
		at := expr == e.Expr || e.Prefix && (strings.HasPrefix(expr, e.Expr+".") || strings.HasPrefix(expr, e.Expr+"["))
		if at && slices.Contains(e.Codes, is.Code) {
			return true
		}
	}
	return false
}

type issue = struct {
	Severity    string   `json:"severity"`
	Code        string   `json:"code"`
	Expression  []string `json:"expression"`
	Diagnostics string   `json:"diagnostics"`
}

func loadCorpus(t *testing.T) []want {
	t.Helper()
	var wants []want
	for _, f := range []string{"generated.json", "hand.json"} {
		b, err := os.ReadFile(filepath.Join(corpus, f))
		if err != nil {
			t.Fatal(err)
		}
		var ws []want
		if err := json.Unmarshal(b, &ws); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		wants = append(wants, ws...)
	}
	// Every file has one expectation, and every expectation its file: nothing is
	// skipped silently.
	entries, err := os.ReadDir(corpus)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{}
	for _, e := range entries {
		if e.Name() != "generated.json" && e.Name() != "hand.json" {
			files[e.Name()] = true
		}
	}
	seen := map[string]bool{}
	for _, w := range wants {
		if !files[w.File] || seen[w.File] {
			t.Errorf("expectation for %s: no such file, or a second one", w.File)
		}
		seen[w.File] = true
		if route(w.File) == "" {
			t.Errorf("%s: the name says no route (bundle-*, *ndjson-*, *json-*)", w.File)
		}
	}
	for f := range files {
		if !seen[f] {
			t.Errorf("%s has no expectation", f)
		}
	}
	if len(wants) < 300 {
		t.Errorf("the corpus holds %d files, want at least 300", len(wants))
	}
	return wants
}

// route is where a corpus file is posted, by its name.
func route(name string) string {
	name = strings.TrimPrefix(name, "gen-")
	switch {
	case strings.HasPrefix(name, "bundle-"):
		return "/fhir"
	case strings.HasPrefix(name, "ndjson-"):
		return "/fhir/$import"
	case strings.HasPrefix(name, "json-"):
		return "/v1/import"
	}
	return ""
}

// TestBadInput posts every file of the bad-input corpus where its name says: a Bundle
// to POST /fhir, FHIR NDJSON to $import, JSON-format NDJSON to /v1/import. Each is
// refused — a 4xx with an OperationOutcome, or every line refused with its own — with
// an issue of the expected code at the expected FHIRPath (or JSON path), and nothing
// is written: no resource, no event.
func TestBadInput(t *testing.T) {
	wants := loadCorpus(t)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, bulk.Config{BatchLines: 50})
		e.fixture()
		for _, w := range wants {
			t.Run(w.File, func(t *testing.T) {
				rows := e.rows()
				body, err := os.ReadFile(filepath.Join(corpus, w.File))
				if err != nil {
					t.Fatal(err)
				}
				if route(w.File) == "/fhir" {
					e.badBundle(t, w, body)
				} else {
					e.badNDJSON(t, w, body)
				}
				if now := e.rows(); now != rows {
					t.Fatalf("rows and events went from %d to %d", rows, now)
				}
			})
		}
	})
}

func (e *env) badBundle(t *testing.T, w want, body []byte) {
	rec := e.do(http.MethodPost, "/fhir", "application/fhir+json", body)
	if rec.Code < 400 || rec.Code > 499 || (w.Status != 0 && rec.Code != w.Status) {
		t.Errorf("POST /fhir: %d, want %d (a 4xx)", rec.Code, w.Status)
	}
	var oo struct {
		ResourceType string  `json:"resourceType"`
		Issue        []issue `json:"issue"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &oo); err != nil || oo.ResourceType != "OperationOutcome" {
		t.Fatalf("answer %s: not an OperationOutcome", rec.Body)
	}
	if w.Expect == nil || !w.Expect.matches(oo.Issue) {
		t.Errorf("issues %+v, want one of %v at %q", oo.Issue, w.Expect.Codes, w.Expect.Expr)
	}
}

func (e *env) badNDJSON(t *testing.T, w want, body []byte) {
	ctype := "application/fhir+ndjson"
	if route(w.File) == "/v1/import" {
		ctype = "application/x-ndjson"
	}
	status := e.upload(route(w.File), ctype, body)
	s := e.finished(status)
	for _, o := range s.Output {
		if o.Count != 0 || o.Unchanged != 0 {
			t.Errorf("output %+v: a line was accepted", o)
		}
	}
	refused := e.refusedIssues(status)
	if len(refused) != len(w.Lines) {
		t.Errorf("%d lines refused, want %d", len(refused), len(w.Lines))
	}
	for l, x := range w.Lines {
		n, _ := strconv.Atoi(l)
		if !x.matches(refused[n]) {
			t.Errorf("line %d: issues %+v, want one of %v at %q", n, refused[n], x.Codes, x.Expr)
		}
	}
}

// refusedIssues is refused's outcomes as issues, by line.
func (e *env) refusedIssues(status string) map[int][]issue {
	out := map[int][]issue{}
	for n, o := range e.refused(status) {
		for _, is := range o.Issue {
			out[n] = append(out[n], issue{Severity: is.Severity, Code: is.Code, Expression: is.Expression, Diagnostics: is.Diagnostics})
		}
	}
	return out
}

// fixture stores what the corpus's resources refer to: the directory, patient p-ok
// with encounter e-ok and laboratory order o-ok.
func (e *env) fixture() {
	e.t.Helper()
	for _, l := range directory() {
		m := l.(map[string]any)
		e.post("/v1/"+m["kind"].(string), m["body"])
	}
	e.post("/v1/patients", patientBody("p-ok", "MRN-OK"))
	e.post("/v1/encounters", map[string]any{"id": "e-ok", "patient_id": "p-ok", "class": "office",
		"start": "2025-03-04T14:30:00Z", "rendering_npi": npi1})
	e.post("/v1/orders", map[string]any{"id": "o-ok", "patient_id": "p-ok", "category": "laboratory",
		"code": code("http://loinc.org", "4548-4"), "ordered": "2025-03-04T14:50:00Z", "npi": npi1,
		"entry_method": "cpoe", "entered_by": "user-7", "entered_by_credential": "CMA"})
}

// rows is the number of rows in every table of the record but the imports' own: what
// a refused input must not change.
func (e *env) rows() int {
	e.t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if e.db.Dialect() == store.Postgres {
		q = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`
	}
	r, err := e.db.QueryContext(e.t.Context(), q)
	if err != nil {
		e.t.Fatal(err)
	}
	var parts []string
	for r.Next() {
		var name string
		if err := r.Scan(&name); err != nil {
			e.t.Fatal(err)
		}
		if !strings.HasPrefix(name, "import_") && !strings.HasPrefix(name, "sqlite_") && name != "schema_migrations" {
			parts = append(parts, fmt.Sprintf("(SELECT count(*) FROM %s)", name))
		}
	}
	if err := r.Close(); err != nil {
		e.t.Fatal(err)
	}
	var n int
	if err := e.db.QueryRowContext(e.t.Context(), `SELECT `+strings.Join(parts, " + ")).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}
