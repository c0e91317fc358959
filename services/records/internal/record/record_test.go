package record_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/routers"

	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/services/records/internal/record"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// canary stands for PHI and free text in inputs; no event may carry it.
const canary = "ZZCANARY-7f3a"

// npi1 and npi2 are valid NPIs (Luhn check digit with the 80840 prefix).
const (
	npi1 = "1234567893"
	npi2 = "1245319599"
)

// api is the record under test with its JSON API.
type api struct {
	t   *testing.T
	db  *store.DB
	svc *record.Service
	h   http.Handler
	// router finds a request's operation in the OpenAPI document, against which every
	// answer is checked.
	router routers.Router
}

func newAPI(t *testing.T, db *store.DB, cfg record.Config) *api {
	t.Helper()
	if err := db.Migrate(context.Background(), record.Migrations()); err != nil {
		t.Fatal(err)
	}
	svc := record.NewService(db, func() {}, cfg)
	mux := http.NewServeMux()
	m := resource.NewMux(mux, slog.New(slog.DiscardHandler))
	svc.Routes(m)
	if err := m.ServeOpenAPI("records", "test"); err != nil {
		t.Fatal(err)
	}
	return &api{t: t, db: db, svc: svc, h: mux, router: newRouter(t, mux)}
}

// reply is an HTTP answer.
type reply struct {
	code int
	body map[string]any
	raw  string
}

// field is the field an error reply names.
func (r reply) field() string {
	e, _ := r.body["error"].(map[string]any)
	f, _ := e["field"].(string)
	return f
}

// do sends a request; body is JSON-encoded unless it is a string, sent as is.
func (a *api) do(method, path string, body any, headers ...string) reply {
	a.t.Helper()
	var data []byte
	switch b := body.(type) {
	case nil:
	case string:
		data = []byte(b)
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			a.t.Fatal(err)
		}
	}
	r := httptest.NewRequest(method, path, bytes.NewReader(data))
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, r)
	if a.router != nil { // benchmarks build their fixture without the document check
		checkResponse(a.t, a.router, r, rec)
	}
	out := reply{code: rec.Code, raw: rec.Body.String()}
	_ = json.Unmarshal(rec.Body.Bytes(), &out.body)
	return out
}

// post creates a resource and fails the test unless it was created.
func (a *api) post(path string, body any) map[string]any {
	a.t.Helper()
	r := a.do(http.MethodPost, path, body)
	if r.code != http.StatusCreated {
		a.t.Fatalf("POST %s: %d %s", path, r.code, r.raw)
	}
	return r.body
}

// published is an event in the outbox.
type published struct {
	Topic, Type, Key string
	Time, Recorded   time.Time
	Data             map[string]any
	Raw              string
}

func (a *api) outbox() []published {
	a.t.Helper()
	rows, err := a.db.QueryContext(context.Background(),
		`SELECT topic, type, key, time, recorded_at, data FROM outbox ORDER BY id`)
	if err != nil {
		a.t.Fatal(err)
	}
	defer rows.Close()
	var out []published
	for rows.Next() {
		var (
			p             published
			at, rec, data string
		)
		if err := rows.Scan(&p.Topic, &p.Type, &p.Key, &at, &rec, &data); err != nil {
			a.t.Fatal(err)
		}
		p.Time, _ = time.Parse(time.RFC3339Nano, at)
		p.Recorded, _ = time.Parse(time.RFC3339Nano, rec)
		p.Raw = data
		if err := json.Unmarshal([]byte(data), &p.Data); err != nil {
			a.t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// since returns the events queued after the first n.
func (a *api) since(n int) []published { return a.outbox()[n:] }

func types(ps []published) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Type)
	}
	return strings.Join(s, " ")
}

func day(d, hm string) string { return "2025-03-" + d + "T" + hm + ":00Z" }

// fixture is the directory and a patient every test builds on.
type fixture struct {
	patient, encounter, transitionIn, order string
	deviceKey                               ed25519.PrivateKey
}

// setUp registers organizations, a hospital, a group, a clinician, a location, a
// patient with a representative, an office visit, a transition in, a consent to
// records from org-other, and a laboratory order.
func (a *api) setUp() fixture {
	a.t.Helper()
	for _, o := range []map[string]any{
		{"id": "org-main", "name": "Main Street Clinic", "kind": "practice"},
		{"id": "org-other", "name": "Elsewhere Imaging", "kind": "other"},
		{"id": "org-iis", "name": "State Immunization Registry", "kind": "public-health"},
		{"id": "org-pharm", "name": "Corner Pharmacy", "kind": "pharmacy"},
	} {
		a.post("/v1/organizations", o)
	}
	a.post("/v1/hospitals", map[string]any{"id": "hosp-1", "organization_id": "org-main", "name": "General", "ccn": "123456"})
	a.post("/v1/groups", map[string]any{"id": "grp-a", "organization_id": "org-main", "name": "Group A", "tin": "123456789"})
	a.post("/v1/clinicians", map[string]any{"id": "clin-1", "npi": npi1, "credential": "MD",
		"name": map[string]any{"family": "Osler"}, "tins": []string{"123456789"}})
	a.post("/v1/locations", map[string]any{"id": "loc-1", "organization_id": "org-main", "name": "Suite 1", "pos": "11", "cehrt": true})
	p := a.post("/v1/patients", patientBody("MRN-1"))
	pid := p["id"].(string)
	e := a.post("/v1/encounters", map[string]any{"patient_id": pid, "class": "office", "start": day("04", "14:30"),
		"rendering_npi": npi1, "billing_tin": "123456789", "location_id": "loc-1"})
	tin := a.post("/v1/transitions", map[string]any{"patient_id": pid, "direction": "in", "kind": "transition",
		"occurred": day("04", "09:00"), "sender": map[string]any{"ccn": "654321"}, "receiver": map[string]any{"npi": npi1}})
	a.post("/v1/consents", map[string]any{"patient_id": pid, "scope": "shared-records", "decision": "permit",
		"from": "2025-01-01T00:00:00Z", "organization_ids": []string{"org-other"}})
	o := a.post("/v1/orders", map[string]any{"patient_id": pid, "category": "laboratory",
		"code": map[string]any{"system": "http://loinc.org", "code": "4548-4"}, "ordered": day("04", "14:50"), "npi": npi1,
		"entry_method": "cpoe", "entered_by": "user-7", "entered_by_credential": "CMA"})
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		a.t.Fatal(err)
	}
	return fixture{patient: pid, encounter: e["id"].(string), transitionIn: tin["id"].(string), order: o["id"].(string), deviceKey: key}
}

func patientBody(mrn string) map[string]any {
	return map[string]any{
		"organization_id": "org-main",
		"mrn":             map[string]any{"system": "urn:oid:2.16.840.1.113883.19.5", "value": mrn + canary},
		"name":            map[string]any{"given": []string{"Ann" + canary}, "family": "Example" + canary},
		"birth_date":      "1970-01-02", "sex": "female",
		"representatives": []map[string]any{{"id": "rep-1", "relationship": "parent",
			"name": map[string]any{"family": "Parent" + canary}, "contact": "555-0100" + canary}},
	}
}
