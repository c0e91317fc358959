package fhir_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/services/records/internal/fhir"
	"github.com/attest-ehr/attest/services/records/internal/record"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// env is the record under test with its FHIR API.
type env struct {
	t     testing.TB
	db    *store.DB
	svc   *record.Service
	codec *fhir.Codec
	h     http.Handler
}

func newEnv(t testing.TB, db *store.DB) *env {
	t.Helper()
	if err := db.Migrate(context.Background(), record.Migrations()); err != nil {
		t.Fatal(err)
	}
	svc := record.NewService(db, func() {}, record.Config{})
	codec, err := fhir.New(svc)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	m := resource.NewMux(mux, slog.New(slog.DiscardHandler))
	svc.Routes(m)
	codec.Routes(m)
	if err := m.ServeOpenAPI("records", "test"); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, db: db, svc: svc, codec: codec, h: mux}
}

// reply is an HTTP answer.
type reply struct {
	code   int
	header http.Header
	body   map[string]any
	raw    string
}

func (e *env) do(method, path, body string, headers ...string) reply {
	e.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", fhir.ContentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	out := reply{code: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	_ = json.Unmarshal(rec.Body.Bytes(), &out.body)
	if ct := rec.Header().Get("Content-Type"); rec.Code != http.StatusNoContent && ct != fhir.ContentType {
		e.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return out
}

// events is the number of events in the outbox, and their types.
func (e *env) events() []string {
	e.t.Helper()
	rows, err := e.db.QueryContext(context.Background(), `SELECT type FROM outbox ORDER BY id`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// issues are an OperationOutcome's issues as "code@expression".
func issues(body map[string]any) []string {
	var out []string
	list, _ := body["issue"].([]any)
	for _, i := range list {
		m, _ := i.(map[string]any)
		expr := ""
		if ex, _ := m["expression"].([]any); len(ex) > 0 {
			expr, _ = ex[0].(string)
		}
		out = append(out, m["code"].(string)+"@"+expr)
	}
	return out
}

// withoutServerFields is a resource without id and meta.
func withoutServerFields(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "id")
	delete(m, "meta")
	return m
}

// jsonEqual compares a resource sent with one answered, server fields aside.
func jsonEqual(t *testing.T, what string, sent string, got []byte) {
	t.Helper()
	a, b := withoutServerFields(t, []byte(sent)), withoutServerFields(t, got)
	if !reflect.DeepEqual(a, b) {
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		t.Errorf("%s does not round-trip:\n sent %s\n  got %s", what, ja, jb)
	}
}

// directory is what every test's facts refer to, created through the FHIR API.
var directory = []struct{ typ, id, body string }{
	{"Organization", "org-main", `{"resourceType":"Organization","id":"org-main","active":true,"name":"Main Street Clinic",
		"type":[{"coding":[{"system":"https://attest.example/fhir/CodeSystem/organization-kind","code":"practice"}]}]}`},
	{"Organization", "org-other", `{"resourceType":"Organization","id":"org-other","active":true,"name":"Elsewhere Imaging",
		"type":[{"coding":[{"system":"https://attest.example/fhir/CodeSystem/organization-kind","code":"other"}]}],
		"partOf":{"reference":"Organization/org-main"}}`},
	{"Organization", "org-pharm", `{"resourceType":"Organization","id":"org-pharm","active":true,"name":"Corner Pharmacy",
		"type":[{"coding":[{"system":"https://attest.example/fhir/CodeSystem/organization-kind","code":"pharmacy"}]}]}`},
	{"Organization", "org-iis", `{"resourceType":"Organization","id":"org-iis","active":true,"name":"State Registry",
		"type":[{"coding":[{"system":"https://attest.example/fhir/CodeSystem/organization-kind","code":"public-health"}]}]}`},
	{"Organization", "hosp-1", `{"resourceType":"Organization","id":"hosp-1","active":true,"name":"General",
		"identifier":[{"system":"urn:oid:2.16.840.1.113883.4.336","value":"123456"}],
		"type":[{"coding":[{"system":"https://attest.example/fhir/CodeSystem/organization-kind","code":"hospital"}]}],
		"partOf":{"reference":"Organization/org-main"},
		"extension":[{"url":"https://attest.example/fhir/StructureDefinition/critical-access","valueBoolean":true}]}`},
	{"Organization", "grp-a", `{"resourceType":"Organization","id":"grp-a","active":true,"name":"Group A",
		"identifier":[{"system":"urn:oid:2.16.840.1.113883.4.2","value":"123456789"}],
		"type":[{"coding":[{"system":"https://attest.example/fhir/CodeSystem/organization-kind","code":"group"}]}],
		"partOf":{"reference":"Organization/org-main"}}`},
	{"Practitioner", "clin-1", `{"resourceType":"Practitioner","id":"clin-1","active":true,
		"identifier":[{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}],
		"name":[{"family":"Osler","given":["William"]}],
		"qualification":[{"code":{"coding":[{"system":"https://attest.example/fhir/CodeSystem/credential","code":"MD"}]}}],
		"extension":[{"url":"https://attest.example/fhir/StructureDefinition/billing-tin","valueString":"123456789"}]}`},
	{"Location", "loc-1", `{"resourceType":"Location","id":"loc-1","status":"active","name":"Suite 1",
		"managingOrganization":{"reference":"Organization/org-main"},
		"type":[{"coding":[{"system":"https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set","code":"11"}]}],
		"identifier":[{"system":"urn:oid:2.16.840.1.113883.4.2","value":"123456789"}],
		"extension":[{"url":"https://attest.example/fhir/StructureDefinition/cehrt","valueBoolean":true},
			{"url":"https://attest.example/fhir/StructureDefinition/hospital","valueReference":{"reference":"Organization/hosp-1"}}]}`},
	{"Device", "dev-1", `{"resourceType":"Device","id":"dev-1","status":"active",
		"type":{"coding":[{"system":"https://attest.example/fhir/CodeSystem/device-kind","code":"tablet"}]},
		"owner":{"reference":"Organization/org-main"},"deviceName":[{"name":"Lobby tablet","type":"user-friendly-name"}],
		"extension":[{"url":"https://attest.example/fhir/StructureDefinition/public-key","valueBase64Binary":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}]}`},
	{"Patient", "pat-1", `{"resourceType":"Patient","id":"pat-1",
		"identifier":[{"system":"urn:oid:2.16.840.1.113883.19.5","value":"MRN-1"}],
		"name":[{"family":"Example","given":["Ann"]}],"birthDate":"1970-01-02","gender":"female",
		"managingOrganization":{"reference":"Organization/org-main"},
		"contact":[{"relationship":[{"coding":[{"system":"https://attest.example/fhir/CodeSystem/relationship","code":"parent"}]}],
			"name":{"family":"Parent"},"telecom":[{"system":"other","value":"555-0100"}],
			"period":{"start":"2024-01-01T00:00:00Z"},
			"extension":[{"url":"https://attest.example/fhir/StructureDefinition/representative-id","valueString":"rep-1"}]}],
		"extension":[{"url":"https://attest.example/fhir/StructureDefinition/opt-out","extension":[
			{"url":"kind","valueCode":"messaging"},{"url":"since","valueDateTime":"2025-01-05T10:00:00Z"}]}]}`},
	{"Encounter", "enc-1", `{"resourceType":"Encounter","id":"enc-1","status":"finished",
		"class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
		"subject":{"reference":"Patient/pat-1"},"period":{"start":"2025-03-04T14:30:00Z","end":"2025-03-04T15:00:00Z"},
		"participant":[{"individual":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}}}],
		"location":[{"location":{"reference":"Location/loc-1"}}],
		"extension":[{"url":"https://attest.example/fhir/StructureDefinition/billing-tin","valueString":"123456789"},
			{"url":"https://attest.example/fhir/StructureDefinition/place-of-service","valueCode":"11"},
			{"url":"https://attest.example/fhir/StructureDefinition/new-patient","valueBoolean":true},
			{"url":"https://attest.example/fhir/StructureDefinition/cehrt","valueBoolean":true}]}`},
	{"Encounter", "enc-ed", `{"resourceType":"Encounter","id":"enc-ed","status":"in-progress",
		"class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"EMER"},
		"subject":{"reference":"Patient/pat-1"},"period":{"start":"2025-03-06T02:00:00Z"},
		"serviceProvider":{"identifier":{"system":"urn:oid:2.16.840.1.113883.4.336","value":"123456"}}}`},
	{"Communication", "tr-in", `{"resourceType":"Communication","id":"tr-in","status":"completed",
		"category":[{"coding":[{"system":"https://attest.example/fhir/CodeSystem/communication-kind","code":"transition"}]}],
		"subject":{"reference":"Patient/pat-1"},
		"sender":{"identifier":{"system":"urn:oid:2.16.840.1.113883.4.336","value":"654321"}},
		"recipient":[{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"},
			"extension":[{"url":"https://attest.example/fhir/StructureDefinition/billing-tin","valueString":"123456789"}]}],
		"received":"2025-03-04T09:30:00Z",
		"extension":[{"url":"https://attest.example/fhir/StructureDefinition/direction","valueCode":"in"},
			{"url":"https://attest.example/fhir/StructureDefinition/occurred","valueDateTime":"2025-03-04T09:00:00Z"},
			{"url":"https://attest.example/fhir/StructureDefinition/requested","valueDateTime":"2025-03-04T09:10:00Z"},
			{"url":"https://attest.example/fhir/StructureDefinition/incorporated","valueDateTime":"2025-03-04T10:00:00Z"}]}`},
	{"Consent", "consent-1", `{"resourceType":"Consent","id":"consent-1","status":"active",
		"scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},
		"category":[{"coding":[{"system":"https://attest.example/fhir/CodeSystem/consent-scope","code":"shared-records"}]}],
		"patient":{"reference":"Patient/pat-1"},
		"provision":{"type":"permit","period":{"start":"2025-01-01T00:00:00Z"},
			"actor":[{"role":{"coding":[{"system":"https://attest.example/fhir/CodeSystem/consent-actor-role","code":"source"}]},
				"reference":{"reference":"Organization/org-other"}}]}}`},
	{"ServiceRequest", "sr-lab", `{"resourceType":"ServiceRequest","id":"sr-lab","status":"active","intent":"order",
		"subject":{"reference":"Patient/pat-1"},
		"category":[{"coding":[{"system":"https://attest.example/fhir/CodeSystem/order-category","code":"laboratory"}]}],
		"code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]},"authoredOn":"2025-03-04T14:50:00Z",
		"requester":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}},
		"encounter":{"reference":"Encounter/enc-1"},
		"extension":[{"url":"https://attest.example/fhir/StructureDefinition/entry-method","valueCode":"cpoe"},
			{"url":"https://attest.example/fhir/StructureDefinition/entered-by","valueString":"user-7"},
			{"url":"https://attest.example/fhir/StructureDefinition/entered-by-credential","valueCode":"CMA"},
			{"url":"https://attest.example/fhir/StructureDefinition/billing-tin","valueString":"123456789"}]}`},
	{"MedicationRequest", "rx-1", `{"resourceType":"MedicationRequest","id":"rx-1","status":"active","intent":"order",
		"subject":{"reference":"Patient/pat-1"},
		"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"197361"}]},
		"authoredOn":"2025-03-04T14:55:00Z",
		"requester":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}},
		"encounter":{"reference":"Encounter/enc-1"},"dosageInstruction":[{"text":"one daily"}],
		"extension":[{"url":"https://attest.example/fhir/StructureDefinition/prescription-kind","valueCode":"new"},
			{"url":"https://attest.example/fhir/StructureDefinition/controlled-schedule","valueCode":"II"},
			{"url":"https://attest.example/fhir/StructureDefinition/permissible","valueBoolean":true},
			{"url":"https://attest.example/fhir/StructureDefinition/billing-tin","valueString":"123456789"},
			{"url":"https://attest.example/fhir/StructureDefinition/formulary","extension":[
				{"url":"queried","valueDateTime":"2025-03-04T14:56:00Z"},{"url":"result","valueCode":"covered"}]},
			{"url":"https://attest.example/fhir/StructureDefinition/transmission","extension":[
				{"url":"transmitted","valueDateTime":"2025-03-04T14:58:00Z"},{"url":"method","valueCode":"electronic"},
				{"url":"outcome","valueCode":"succeeded"},{"url":"pharmacy","valueReference":{"reference":"Organization/org-pharm"}}]}]}`},
}

// facts are the patient's facts, one (at least) per mapped kind not in directory.
var facts = []struct{ typ, id, body string }{
	{"Condition", "cond-1", `{"resourceType":"Condition","id":"cond-1","subject":{"reference":"Patient/pat-1"},
		"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"E11.9"}]},
		"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"problem-list-item"}]}],
		"onsetDateTime":"2020-05-01T00:00:00Z","recordedDate":"2025-03-04T14:40:00Z",
		"recorder":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}},
		"encounter":{"reference":"Encounter/enc-1"},"note":[{"text":"diet controlled"}]}`},
	{"AllergyIntolerance", "alg-1", `{"resourceType":"AllergyIntolerance","id":"alg-1","patient":{"reference":"Patient/pat-1"},
		"code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"7980"}]},
		"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"active"}]},
		"category":["medication"],"recordedDate":"2025-03-04T14:41:00Z",
		"recorder":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}},
		"encounter":{"reference":"Encounter/enc-1"},"note":[{"text":"hives"}]}`},
	{"MedicationStatement", "med-1", `{"resourceType":"MedicationStatement","id":"med-1","subject":{"reference":"Patient/pat-1"},
		"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"197361"}]},
		"status":"active","effectivePeriod":{"start":"2024-06-01T00:00:00Z"},"dateAsserted":"2025-03-04T14:42:00Z",
		"informationSource":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}},
		"context":{"reference":"Encounter/enc-1"}}`},
	{"Observation", "bp-1", `{"resourceType":"Observation","id":"bp-1","status":"final",
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
		"code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"subject":{"reference":"Patient/pat-1"},
		"effectiveDateTime":"2025-03-04T14:35:00Z","encounter":{"reference":"Encounter/enc-1"},
		"performer":[{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}}],
		"component":[
			{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
			{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`},
	{"Observation", "wt-1", `{"resourceType":"Observation","id":"wt-1","status":"final",
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
		"code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"reference":"Patient/pat-1"},
		"effectiveDateTime":"2025-03-04T14:36:00Z","performer":[{"reference":"Patient/pat-1"}],
		"valueQuantity":{"value":72.5,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}`},
	{"Observation", "smk-1", `{"resourceType":"Observation","id":"smk-1","status":"final",
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"social-history"}]}],
		"code":{"coding":[{"system":"http://loinc.org","code":"72166-2"}]},"subject":{"reference":"Patient/pat-1"},
		"effectiveDateTime":"2025-03-04T14:37:00Z","encounter":{"reference":"Encounter/enc-1"},
		"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"266919005"}]},
		"performer":[{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}}]}`},
	{"Observation", "res-1", `{"resourceType":"Observation","id":"res-1","status":"final",
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
		"code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]},"subject":{"reference":"Patient/pat-1"},
		"effectiveDateTime":"2025-03-05T08:00:00Z","issued":"2025-03-05T12:00:00Z",
		"valueQuantity":{"value":6.1,"unit":"%","system":"http://unitsofmeasure.org","code":"%"},
		"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"H"}]}],
		"basedOn":[{"reference":"ServiceRequest/sr-lab"}],
		"performer":[{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}}],
		"encounter":{"reference":"Encounter/enc-1"}}`},
	{"Task", "pdmp-1", `{"resourceType":"Task","id":"pdmp-1","status":"completed","intent":"order",
		"code":{"coding":[{"system":"https://attest.example/fhir/CodeSystem/task-kind","code":"pdmp-query"}]},
		"for":{"reference":"Patient/pat-1"},"focus":{"reference":"MedicationRequest/rx-1"},
		"executionPeriod":{"start":"2025-03-04T14:54:00Z"},
		"businessStatus":{"coding":[{"system":"https://attest.example/fhir/CodeSystem/pdmp-outcome","code":"succeeded"}]},
		"owner":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}},
		"extension":[{"url":"https://attest.example/fhir/StructureDefinition/controlled-schedule","valueCode":"II"}]}`},
	{"DocumentReference", "cs-1", `{"resourceType":"DocumentReference","id":"cs-1","status":"current",
		"category":[{"coding":[{"system":"https://attest.example/fhir/CodeSystem/document-kind","code":"clinical-summary"}]}],
		"subject":{"reference":"Patient/pat-1"},"date":"2025-03-04T15:10:00Z",
		"context":{"encounter":[{"reference":"Encounter/enc-1"}]},"content":[{"attachment":{"title":"clinical summary"}}],
		"author":[{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}}],
		"extension":[{"url":"https://attest.example/fhir/StructureDefinition/summary-method","valueCode":"portal"}]}`},
	{"Communication", "tr-out", `{"resourceType":"Communication","id":"tr-out","status":"completed",
		"category":[{"coding":[{"system":"https://attest.example/fhir/CodeSystem/communication-kind","code":"referral"}]}],
		"subject":{"reference":"Patient/pat-1"},"encounter":{"reference":"Encounter/enc-1"},
		"sender":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"},
			"extension":[{"url":"https://attest.example/fhir/StructureDefinition/billing-tin","valueString":"123456789"}]},
		"recipient":[{"reference":"Organization/org-other"}],
		"sent":"2025-03-04T16:00:00Z",
		"extension":[{"url":"https://attest.example/fhir/StructureDefinition/direction","valueCode":"out"},
			{"url":"https://attest.example/fhir/StructureDefinition/occurred","valueDateTime":"2025-03-04T15:00:00Z"},
			{"url":"https://attest.example/fhir/StructureDefinition/summary-created","valueDateTime":"2025-03-04T15:30:00Z"},
			{"url":"https://attest.example/fhir/StructureDefinition/summary-contents","extension":[
				{"url":"problems","valueCode":"present"},{"url":"medications","valueCode":"present"},{"url":"allergies","valueCode":"none"}]},
			{"url":"https://attest.example/fhir/StructureDefinition/transport","valueCode":"direct"},
			{"url":"https://attest.example/fhir/StructureDefinition/receipt-confirmed","valueDateTime":"2025-03-04T17:00:00Z"}]}`},
	{"Task", "rec-1", `{"resourceType":"Task","id":"rec-1","status":"completed","intent":"order",
		"code":{"coding":[{"system":"https://attest.example/fhir/CodeSystem/task-kind","code":"reconciliation"}]},
		"for":{"reference":"Patient/pat-1"},"focus":{"reference":"Communication/tr-in"},
		"input":[{"type":{"coding":[{"system":"https://attest.example/fhir/CodeSystem/reconciliation","code":"medications"}]},"valueDateTime":"2025-03-04T11:00:00Z"},
			{"type":{"coding":[{"system":"https://attest.example/fhir/CodeSystem/reconciliation","code":"allergies"}]},"valueDateTime":"2025-03-04T11:05:00Z"}],
		"owner":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}}}`},
	{"Task", "acc-1", `{"resourceType":"Task","id":"acc-1","status":"completed","intent":"order",
		"code":{"coding":[{"system":"https://attest.example/fhir/CodeSystem/task-kind","code":"access-grant"}]},
		"for":{"reference":"Patient/pat-1"},"focus":{"reference":"Encounter/enc-1"},
		"businessStatus":{"coding":[{"system":"https://attest.example/fhir/CodeSystem/access-kind","code":"vdt"}]},
		"executionPeriod":{"start":"2025-03-04T15:20:00Z"},
		"owner":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}},
		"extension":[{"url":"https://attest.example/fhir/StructureDefinition/billing-tin","valueString":"123456789"}]}`},
	{"Provenance", "avail-1", `{"resourceType":"Provenance","id":"avail-1",
		"target":[{"reference":"Patient/pat-1"},{"reference":"Encounter/enc-1"}],"recorded":"2025-03-04T15:05:00Z",
		"activity":{"coding":[{"system":"https://attest.example/fhir/CodeSystem/provenance-activity","code":"available"}]},
		"agent":[{"who":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"},
			"extension":[{"url":"https://attest.example/fhir/StructureDefinition/billing-tin","valueString":"123456789"}]}}],
		"extension":[{"url":"https://attest.example/fhir/StructureDefinition/availability-kind","valueCode":"encounter"}]}`},
	{"Provenance", "pghd-1", `{"resourceType":"Provenance","id":"pghd-1",
		"target":[{"reference":"Patient/pat-1"},{"reference":"Observation/wt-1"}],"recorded":"2025-03-04T16:05:00Z",
		"activity":{"coding":[{"system":"https://attest.example/fhir/CodeSystem/provenance-activity","code":"pghd-incorporated"}]},
		"agent":[{"who":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}}}],
		"extension":[{"url":"https://attest.example/fhir/StructureDefinition/pghd-source","valueCode":"patient"}]}`},
	{"AuditEvent", "vdt-1", `{"resourceType":"AuditEvent","id":"vdt-1",
		"type":{"system":"https://attest.example/fhir/CodeSystem/vdt-action","code":"view"},"recorded":"2025-03-05T09:00:00Z",
		"agent":[{"who":{"identifier":{"system":"https://attest.example/fhir/sid/user","value":"rep-1"}},"requestor":true}],
		"source":{"observer":{"display":"Attest records"}},"entity":[{"what":{"reference":"Patient/pat-1"}}]}`},
	{"Communication", "sub-1", `{"resourceType":"Communication","id":"sub-1","status":"completed",
		"category":[{"coding":[{"system":"https://attest.example/fhir/CodeSystem/communication-kind","code":"registry-submission"}]}],
		"subject":{"reference":"Patient/pat-1"},"recipient":[{"reference":"Organization/org-iis"}],"sent":"2025-03-05T10:00:00Z",
		"reasonCode":[{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"141"}]}],
		"sender":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}},
		"encounter":{"reference":"Encounter/enc-1"},
		"extension":[{"url":"https://attest.example/fhir/StructureDefinition/registry-measure","valueCode":"immunization"},
			{"url":"https://attest.example/fhir/StructureDefinition/submission-outcome","valueCode":"accepted"}]}`},
	{"DocumentReference", "doc-1", `{"resourceType":"DocumentReference","id":"doc-1","status":"current",
		"category":[{"coding":[{"system":"https://attest.example/fhir/CodeSystem/document-kind","code":"shared-document"}]}],
		"subject":{"reference":"Patient/pat-1"},"custodian":{"reference":"Organization/org-other"},
		"type":{"coding":[{"system":"http://loinc.org","code":"34133-9"}]},"date":"2025-03-03T12:00:00Z",
		"context":{"period":{"start":"2025-03-02T10:00:00Z"}},
		"content":[{"attachment":{"url":"https://other.example/docs/1","title":"discharge summary"}}],
		"extension":[{"url":"https://attest.example/fhir/StructureDefinition/consent","valueReference":{"reference":"Consent/consent-1"}}]}`},
	{"ImagingStudy", "img-1", `{"resourceType":"ImagingStudy","id":"img-1","status":"available","subject":{"reference":"Patient/pat-1"},
		"started":"2025-03-01T10:00:00Z","modality":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"CT"}],
		"procedureCode":[{"coding":[{"system":"http://www.ama-assn.org/go/cpt","code":"71250"}]}],
		"description":"chest CT",
		"contained":[{"resourceType":"Endpoint","id":"endpoint","status":"active",
			"connectionType":{"system":"http://terminology.hl7.org/CodeSystem/endpoint-connection-type","code":"dicom-wado-rs"},
			"payloadType":[{"text":"DICOM"}],"address":"https://other.example/dicomweb"}],
		"endpoint":[{"reference":"#endpoint"}],
		"extension":[{"url":"https://attest.example/fhir/StructureDefinition/source","valueReference":{"reference":"Organization/org-other"}},
			{"url":"https://attest.example/fhir/StructureDefinition/received","valueDateTime":"2025-03-01T12:00:00Z"},
			{"url":"https://attest.example/fhir/StructureDefinition/body-site","valueCode":"51185008"},
			{"url":"https://attest.example/fhir/StructureDefinition/consent","valueReference":{"reference":"Consent/consent-1"}}]}`},
}

// put creates a resource at its id through PUT and checks the answer round-trips.
func (e *env) put(typ, id, body string) reply {
	e.t.Helper()
	r := e.do(http.MethodPut, "/fhir/"+typ+"/"+id, body)
	if r.code != http.StatusCreated {
		e.t.Fatalf("PUT %s/%s: %d %s", typ, id, r.code, r.raw)
	}
	return r
}

// setUp stores the directory and returns the number of events so far.
func (e *env) setUp() {
	e.t.Helper()
	for _, d := range directory {
		e.put(d.typ, d.id, d.body)
	}
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
