package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/patientdir"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/education/internal/api"
	"github.com/attest-ehr/attest/services/education/internal/catalog"
	"github.com/attest-ehr/attest/services/education/internal/chart"
	"github.com/attest-ehr/attest/services/education/internal/match"
	"github.com/attest-ehr/attest/services/education/internal/provision"
	"github.com/attest-ehr/attest/services/education/internal/schema"
)

const (
	admin     = "clinic_admin:a1"
	clinician = "clinician:1234567893"
	patient   = "patient:p1"
	stranger  = "patient:p2"
)

type server struct {
	t    *testing.T
	db   *store.DB
	h    http.Handler
	proj *chart.Projection
}

func newServer(t *testing.T, db *store.DB) *server {
	t.Helper()
	ctx := context.Background()
	if err := db.Migrate(ctx, schema.Migrations()); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	cat := catalog.New(db)
	dir := patientdir.New(db, "education.patients", log)
	e, err := event.New(contract.PatientRegistered, "records", "p1", time.Now(), time.Now(), contract.Patient{PatientID: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := dir.Handle(ctx, e); err != nil {
		t.Fatal(err)
	}
	matcher := match.NewMatcher(cat, time.Hour)
	prov := provision.New(db, cat, matcher, dir, provision.Config{}, func() {})
	mux := http.NewServeMux()
	(&api.API{Catalog: cat, Matcher: matcher, Provisions: prov, Directory: dir, Log: log}).Routes(mux)
	return &server{t: t, db: db, h: mux, proj: chart.New(db, 0, prov, nil, log)}
}

// do sends a request as who ("" for nobody) and decodes a JSON answer.
func (s *server) do(method, path, who, contentType, body string) (int, map[string]any) {
	s.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if who != "" {
		r.Header.Set(principal.Header, who)
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, r)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

func (s *server) count(table string) int {
	s.t.Helper()
	var n int
	if err := s.db.QueryRowContext(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

const diabetes = `{"id":"t2d","language":"en","title":"Type 2 diabetes","summary":"Everyday care.","reading_level":6,
	"format":"web","content":"Eat well and move.","codes":[{"system":"icd10cm","code":"E11"}]}`

func field(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	f, _ := e["field"].(string)
	return f
}

func TestProvisionOverHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newServer(t, db)
		if code, body := s.do("POST", "/v1/materials", admin, "application/json", diabetes); code != 201 {
			t.Fatalf("add material = %d %v", code, body)
		}
		e, _ := event.New(contract.ProblemRecorded, "records", "p1", time.Now(), time.Now(), contract.Problem{
			ProblemID: "pr1", PatientID: "p1", Code: contract.Code{System: contract.SystemICD10CM, Code: "E11.9"}, Status: "active"})
		if err := s.proj.Handle(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		code, body := s.do("GET", "/v1/patients/p1/matches?language=es", clinician, "", "")
		ms, _ := body["matches"].([]any)
		if code != 200 || len(ms) != 1 || !ms[0].(map[string]any)["language_fallback"].(bool) {
			t.Fatalf("matches = %d %v; want t2d in English as a fallback", code, body)
		}
		code, body = s.do("GET", "/v1/patients/p1/suggestions", clinician, "", "")
		if sg, _ := body["suggestions"].([]any); code != 200 || len(sg) != 1 {
			t.Fatalf("suggestions = %d %v", code, body)
		}
		code, body = s.do("POST", "/v1/provisions", clinician, "application/json",
			`{"patient_id":"p1","material_id":"t2d","channel":"email_link"}`)
		if code != 201 || body["npi"] != "1234567893" || body["identified_by_system"] != true {
			t.Fatalf("provide = %d %v", code, body)
		}
		id := body["id"].(string)
		if code, _ := s.do("GET", "/v1/provisions/"+id, stranger, "", ""); code != 404 {
			t.Errorf("another patient reading the provision = %d, want 404", code)
		}
		if code, body := s.do("GET", "/v1/patients/p1/provisions", patient, "", ""); code != 200 || len(body["provisions"].([]any)) != 1 {
			t.Errorf("the patient's provisions = %d %v", code, body)
		}
		code, body = s.do("POST", "/v1/provisions/"+id+"/open", patient, "", "")
		if code != 200 || body["material"].(map[string]any)["content"] != "Eat well and move." {
			t.Fatalf("open = %d %v", code, body)
		}

		code, body = s.do("GET", "/fhir/Communication/"+id, patient, "", "")
		if code != 200 || body["resourceType"] != "Communication" || body["status"] != "completed" ||
			body["subject"].(map[string]any)["reference"] != "Patient/p1" || body["received"] == nil {
			t.Fatalf("FHIR read = %d %v", code, body)
		}
		reason := body["reasonCode"].([]any)[0].(map[string]any)["coding"].([]any)[0].(map[string]any)
		medium := body["medium"].([]any)[0].(map[string]any)["coding"].([]any)[0].(map[string]any)
		if reason["code"] != "E11.9" || medium["code"] != "EMAILWRIT" {
			t.Errorf("reasonCode %v, medium %v", reason, medium)
		}
		code, body = s.do("GET", "/fhir/Communication?patient=p1", clinician, "", "")
		if code != 200 || body["resourceType"] != "Bundle" || body["total"] != 1.0 {
			t.Fatalf("FHIR search = %d %v", code, body)
		}
		if code, _ := s.do("GET", "/fhir/Communication?patient=p1", stranger, "", ""); code != 404 {
			t.Errorf("another patient searching = %d, want 404", code)
		}
	})
}

// TestBadInputWritesNothing sends refused requests; each names its field, and the
// database is as it was.
func TestBadInputWritesNothing(t *testing.T) {
	badCSV := "id,language,title,summary,reading_level,format,content,codes\n" +
		"ok,en,Fine,Fine.,6,web,Text.,icd10cm|E11\n" +
		"bad,en,Title,Summary.,6,web,Text.,snomed|44054007\n"
	tests := []struct {
		name, method, path, who, ct, body string
		status                            int
		field                             string
	}{
		{"no principal", "POST", "/v1/materials", "", "application/json", diabetes, 401, ""},
		{"malformed principal", "POST", "/v1/materials", "wizard:x", "application/json", diabetes, 401, principal.Header},
		{"a clinician cannot edit the catalog", "POST", "/v1/materials", clinician, "application/json", diabetes, 403, ""},
		{"not JSON", "POST", "/v1/materials", admin, "text/plain", diabetes, 415, "Content-Type"},
		{"unknown field", "POST", "/v1/materials", admin, "application/json", `{"id":"x","colour":"red"}`, 400, "colour"},
		{"bad language", "POST", "/v1/materials", admin, "application/json", strings.Replace(diabetes, `"en"`, `"english"`, 1), 400, "language"},
		{"bad code", "POST", "/v1/materials", admin, "application/json", strings.Replace(diabetes, `"E11"`, `"11E"`, 1), 400, "codes[0].code"},
		{"retire unknown", "POST", "/v1/materials/nope/retire", admin, "", "", 404, ""},
		{"update with another id", "PUT", "/v1/materials/other", admin, "application/json", diabetes, 400, "id"},
		{"bad material id", "GET", "/v1/materials/a%20b", "", "", "", 400, "id"},
		{"bad version", "GET", "/v1/materials/t2d/versions/zero", "", "", "", 400, "version"},
		{"import as text", "POST", "/v1/materials/import", admin, "text/plain", badCSV, 415, "Content-Type"},
		{"import bad mode", "POST", "/v1/materials/import?mode=some", admin, "text/csv", badCSV, 400, "mode"},
		{"import with a bad row", "POST", "/v1/materials/import", admin, "text/csv", badCSV, 400, ""},
		{"provide without a principal", "POST", "/v1/provisions", "", "application/json", `{"patient_id":"p1","material_id":"t2d","channel":"portal"}`, 401, ""},
		{"provide by a patient", "POST", "/v1/provisions", patient, "application/json", `{"patient_id":"p1","material_id":"t2d","channel":"portal"}`, 403, ""},
		{"provide a material that does not exist", "POST", "/v1/provisions", clinician, "application/json", `{"patient_id":"p1","material_id":"zzz","channel":"portal"}`, 422, "material_id"},
		{"provide to an unknown patient", "POST", "/v1/provisions", clinician, "application/json", `{"patient_id":"p9","material_id":"t2d","channel":"portal"}`, 422, "patient_id"},
		{"provide by fax", "POST", "/v1/provisions", clinician, "application/json", `{"patient_id":"p1","material_id":"t2d","channel":"fax"}`, 400, "channel"},
		{"matches with a bad language", "GET", "/v1/patients/p1/matches?language=spanish", clinician, "", "", 400, "language"},
		{"matches for a patient", "GET", "/v1/patients/p1/matches", patient, "", "", 403, ""},
		{"bad preference", "PUT", "/v1/patients/p1/preferences", patient, "application/json", `{"language":"ES1"}`, 400, "language"},
		{"preference of another patient", "PUT", "/v1/patients/p1/preferences", stranger, "application/json", `{"language":"es"}`, 404, ""},
		{"open someone else's", "POST", "/v1/provisions/nope/open", patient, "", "", 404, ""},
		{"FHIR search without a patient", "GET", "/fhir/Communication", clinician, "", "", 400, "patient"},
		{"MedlinePlus is off", "GET", "/v1/medlineplus?system=icd10cm&code=E11", clinician, "", "", 404, ""},
		{"list with a bad code", "GET", "/v1/materials?system=loinc&code=4548-5", "", "", "", 400, "code.code"},
		{"list with a bad limit", "GET", "/v1/materials?limit=0", "", "", "", 400, "limit"},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newServer(t, db)
		if code, _ := s.do("POST", "/v1/materials", admin, "application/json", diabetes); code != 201 {
			t.Fatal("setup: add material")
		}
		before := []int{s.count("materials"), s.count("material_versions"), s.count("provisions"), s.count("outbox"), s.count("patient_preferences")}
		for _, tt := range tests {
			code, body := s.do(tt.method, tt.path, tt.who, tt.ct, tt.body)
			if code != tt.status || field(body) != tt.field {
				t.Errorf("%s: %d field %q (%v), want %d field %q", tt.name, code, field(body), body, tt.status, tt.field)
			}
			if _, ok := body["error"]; !ok {
				t.Errorf("%s: no error body: %v", tt.name, body)
			}
		}
		after := []int{s.count("materials"), s.count("material_versions"), s.count("provisions"), s.count("outbox"), s.count("patient_preferences")}
		if !slices.Equal(before, after) {
			t.Errorf("refused requests wrote: rows %v → %v", before, after)
		}
	})
}

func TestImportOverHTTP(t *testing.T) {
	csv := "id,language,title,summary,reading_level,format,content,codes\n" +
		"a,en,A,A.,6,web,Text.,icd10cm|E11\n" +
		"b,en,B,B.,6,web,Text.,loinc|4548-5\n" +
		"c,en,C,C.,6,web,Text.,rxnorm|6809\n"
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newServer(t, db)
		code, body := s.do("POST", "/v1/materials/import", admin, "text/csv; charset=utf-8", csv)
		errsList, _ := body["errors"].([]any)
		if code != 400 || body["imported"] != false || len(errsList) != 1 || errsList[0].(map[string]any)["line"] != 3.0 {
			t.Fatalf("import = %d %v; want line 3 refused", code, body)
		}
		if n := s.count("materials"); n != 0 {
			t.Fatalf("refused import wrote %d materials", n)
		}
		code, body = s.do("POST", "/v1/materials/import?mode=partial", admin, "text/csv", csv)
		if code != 200 || body["added"] != 2.0 || len(body["errors"].([]any)) != 1 {
			t.Fatalf("partial import = %d %v", code, body)
		}
		code, body = s.do("POST", "/v1/materials/import", admin, "application/json",
			`[{"id":"d","language":"es","title":"D","summary":"D.","reading_level":5,"format":"video","url":"https://example.org/d.mp4","codes":[{"system":"loinc","code":"2345-7"}]}]`)
		if code != 200 || body["added"] != 1.0 {
			t.Fatalf("JSON import = %d %v", code, body)
		}
	})
}

// TestOpenAPIListsEveryRoute calls every operation the document lists and checks the
// service has a route for it, and that the document is OpenAPI 3.
func TestOpenAPIListsEveryRoute(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newServer(t, db)
		r := httptest.NewRequest("GET", "/v1/openapi.json", nil)
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, r)
		var doc struct {
			OpenAPI string                    `json:"openapi"`
			Paths   map[string]map[string]any `json:"paths"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
			t.Fatalf("GET /v1/openapi.json = %d, %v (openapi %q)", rec.Code, err, doc.OpenAPI)
		}
		param := regexp.MustCompile(`\{[a-z]+\}`)
		n := 0
		for path, ops := range doc.Paths {
			for method := range ops {
				if method == "parameters" {
					continue
				}
				n++
				r := httptest.NewRequest(strings.ToUpper(method), param.ReplaceAllString(path, "1"), nil)
				rec := httptest.NewRecorder()
				s.h.ServeHTTP(rec, r)
				body, _ := io.ReadAll(rec.Body)
				if rec.Code == 405 || rec.Code == 404 && strings.HasPrefix(string(body), "404 page not found") {
					t.Errorf("%s %s is documented but not routed (%d)", method, path, rec.Code)
				}
			}
		}
		if n < 20 {
			t.Errorf("the document lists %d operations", n)
		}
	})
}
