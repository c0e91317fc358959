package fhir_test

import (
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
)

const (
	npiOK  = "1234567893"
	npiBad = "1234567890" // fails the Luhn check
)

func patientJSON(mrn string) string {
	return `{"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.840.1.113883.19.5","value":"` + mrn + `"}],` +
		`"name":[{"family":"Example"}],"birthDate":"1980-02-03","gender":"male"}`
}

func encounterJSON(subject, npi, start, end string) string {
	return `{"resourceType":"Encounter","status":"finished",` +
		`"class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},` +
		`"subject":{"reference":"` + subject + `"},"period":{"start":"` + start + `","end":"` + end + `"},` +
		`"participant":[{"individual":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"` + npi + `"}}}]}`
}

func conditionJSON(subject, encounter, code string) string {
	enc := ""
	if encounter != "" {
		enc = `"encounter":{"reference":"` + encounter + `"},`
	}
	return `{"resourceType":"Condition","subject":{"reference":"` + subject + `"},` + enc +
		`"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"` + code + `"}]},` +
		`"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},` +
		`"recordedDate":"2025-03-04T14:40:00Z"}`
}

func bundle(typ string, entries ...string) string {
	return `{"resourceType":"Bundle","type":"` + typ + `","entry":[` + strings.Join(entries, ",") + `]}`
}

func postEntry(fullURL, typ, resource string) string {
	return `{"fullUrl":"` + fullURL + `","resource":` + resource + `,"request":{"method":"POST","url":"` + typ + `"}}`
}

const (
	urnPatient   = "urn:uuid:8c1f3a0e-0000-4000-8000-000000000001"
	urnEncounter = "urn:uuid:8c1f3a0e-0000-4000-8000-000000000002"
)

// TestTransaction stores a Bundle whose entries refer to each other by urn:uuid: the
// references become the IDs the server assigned, and each entry publishes one event.
func TestTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		b := bundle("transaction",
			postEntry(urnPatient, "Patient", patientJSON("MRN-T1")),
			postEntry(urnEncounter, "Encounter", encounterJSON(urnPatient, npiOK, "2025-03-04T14:30:00Z", "2025-03-04T15:00:00Z")),
			postEntry("urn:uuid:8c1f3a0e-0000-4000-8000-000000000003", "Condition", conditionJSON(urnPatient, urnEncounter, "E11.9")))
		r := e.do(http.MethodPost, "/fhir", b)
		if r.code != http.StatusOK || r.body["type"] != "transaction-response" {
			t.Fatalf("transaction: %d %s", r.code, r.raw)
		}
		entries := r.body["entry"].([]any)
		res := func(i int) map[string]any { return entries[i].(map[string]any)["resource"].(map[string]any) }
		pid := res(0)["id"].(string)
		eid := res(1)["id"].(string)
		if got := res(1)["subject"].(map[string]any)["reference"]; got != "Patient/"+pid {
			t.Errorf("encounter subject %v, want Patient/%s", got, pid)
		}
		if got := res(2)["encounter"].(map[string]any)["reference"]; got != "Encounter/"+eid {
			t.Errorf("condition encounter %v, want Encounter/%s", got, eid)
		}
		for i := range entries {
			if st := entries[i].(map[string]any)["response"].(map[string]any)["status"]; st != "201 Created" {
				t.Errorf("entry %d: %v", i, st)
			}
		}
		want := []string{"records.patient.registered", "records.encounter.recorded", "records.problem.recorded"}
		if got := e.events(); !reflect.DeepEqual(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
		// PUT and DELETE entries: a correction and a deletion, one event each.
		cid := res(2)["id"].(string)
		changed := strings.Replace(encounterJSON("Patient/"+pid, npiOK, "2025-03-04T14:30:00Z", "2025-03-04T15:30:00Z"),
			`{"resourceType":"Encounter",`, `{"resourceType":"Encounter","id":"`+eid+`",`, 1)
		r = e.do(http.MethodPost, "/fhir", bundle("transaction",
			`{"resource":`+changed+`,"request":{"method":"PUT","url":"Encounter/`+eid+`"}}`,
			`{"request":{"method":"DELETE","url":"Condition/`+cid+`"}}`))
		if r.code != http.StatusOK {
			t.Fatalf("PUT and DELETE: %d %s", r.code, r.raw)
		}
		if got := e.events()[3:]; !reflect.DeepEqual(got, []string{"records.encounter.corrected", "records.problem.deleted"}) {
			t.Errorf("PUT and DELETE published %v", got)
		}
		// The same Bundle with the same Idempotency-Key: the same answer, no event.
		b = strings.ReplaceAll(b, "MRN-T1", "MRN-T2")
		k1 := e.do(http.MethodPost, "/fhir", b, "Idempotency-Key", "tx-1")
		k2 := e.do(http.MethodPost, "/fhir", b, "Idempotency-Key", "tx-1")
		if k1.code != http.StatusOK || k2.raw != k1.raw {
			t.Errorf("replayed key: %d then %d, same body %v", k1.code, k2.code, k1.raw == k2.raw)
		}
		if n := len(e.events()); n != 8 {
			t.Errorf("%d events after a keyed Bundle and its replay, want 8", n)
		}
	})
}

// TestTransactionRollback: one bad entry refuses the whole Bundle with every problem
// located by FHIRPath; nothing is stored and nothing published — for problems found
// when decoding and for those found only against stored state.
func TestTransactionRollback(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		cases := []struct {
			name   string
			bundle string
			code   int
			want   []string
		}{
			{"decoding", bundle("transaction",
				postEntry(urnPatient, "Patient", patientJSON("MRN-R1")),
				postEntry(urnEncounter, "Encounter", encounterJSON(urnPatient, npiBad, "2025-03-04T15:00:00Z", "2025-03-04T14:00:00Z")),
				postEntry("urn:uuid:x3", "Condition", conditionJSON("urn:uuid:nowhere", "", "E11.9"))),
				http.StatusUnprocessableEntity, []string{
					"invariant@Bundle.entry[1].resource.period.end",
					"value@Bundle.entry[1].resource.participant[0].individual.identifier.value",
					"not-found@Bundle.entry[2].resource.subject.reference",
				}},
			{"stored state", bundle("transaction",
				postEntry(urnPatient, "Patient", patientJSON("MRN-R2")),
				postEntry("urn:uuid:x2", "Condition", conditionJSON("Patient/nobody", "", "E11.9"))),
				http.StatusUnprocessableEntity, []string{"not-found@Bundle.entry[1].resource.subject"}},
			{"the record's rule", bundle("transaction",
				postEntry(urnPatient, "Patient", patientJSON("MRN-R3")),
				postEntry("urn:uuid:x2", "Condition", conditionJSON(urnPatient, "", "not-icd"))),
				http.StatusUnprocessableEntity, []string{"value@Bundle.entry[1].resource.code.coding[0].code"}},
			{"schema", bundle("transaction",
				postEntry(urnPatient, "Patient", `{"resourceType":"Patient","gender":"robot","birthDate":7,"surprise":1}`)),
				http.StatusBadRequest, []string{
					"structure@Bundle.entry[0].resource.birthDate",
					"structure@Bundle.entry[0].resource.gender",
					"structure@Bundle.entry[0].resource.surprise",
				}},
			{"bundle shape", `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST"}}]}`,
				http.StatusBadRequest, []string{"structure@Bundle.entry[0].request.url"}},
		}
		for _, c := range cases {
			r := e.do(http.MethodPost, "/fhir", c.bundle)
			if r.code != c.code {
				t.Errorf("%s: %d %s", c.name, r.code, r.raw)
				continue
			}
			got := issues(r.body)
			slices.Sort(got)
			slices.Sort(c.want)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s: issues %v, want %v", c.name, got, c.want)
			}
		}
		if ev := e.events(); len(ev) != 0 {
			t.Errorf("refused Bundles published %v", ev)
		}
		var n int
		if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM patients`).Scan(&n); err != nil || n != 0 {
			t.Errorf("refused Bundles stored %d patients (%v)", n, err)
		}
	})
}

// TestBatch: each entry on its own; the bad one answers its OperationOutcome, the
// others are stored, one event each.
func TestBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.put("Patient", "pat-b", strings.Replace(patientJSON("MRN-B1"), `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"pat-b",`, 1))
		b := bundle("batch",
			postEntry("urn:uuid:b1", "Condition", conditionJSON("Patient/pat-b", "", "E11.9")),
			postEntry("urn:uuid:b2", "Condition", conditionJSON("Patient/nobody", "", "E11.9")),
			postEntry("urn:uuid:b3", "Encounter", encounterJSON("Patient/pat-b", npiBad, "2025-03-04T14:30:00Z", "2025-03-04T15:00:00Z")),
			`{"request":{"method":"DELETE","url":"Condition/nothing"}}`,
			postEntry("urn:uuid:b5", "Encounter", encounterJSON("Patient/pat-b", npiOK, "2025-03-04T14:30:00Z", "2025-03-04T15:00:00Z")))
		before := len(e.events())
		r := e.do(http.MethodPost, "/fhir", b)
		if r.code != http.StatusOK || r.body["type"] != "batch-response" {
			t.Fatalf("batch: %d %s", r.code, r.raw)
		}
		var statuses []string
		for _, en := range r.body["entry"].([]any) {
			statuses = append(statuses, en.(map[string]any)["response"].(map[string]any)["status"].(string))
		}
		want := []string{"201 Created", "422 Unprocessable Entity", "422 Unprocessable Entity", "404 Not Found", "201 Created"}
		if !reflect.DeepEqual(statuses, want) {
			t.Errorf("statuses %v, want %v", statuses, want)
		}
		bad := r.body["entry"].([]any)[1].(map[string]any)["response"].(map[string]any)["outcome"].(map[string]any)
		if got := issues(bad); !reflect.DeepEqual(got, []string{"not-found@Bundle.entry[1].resource.subject"}) {
			t.Errorf("entry 1 outcome %v", got)
		}
		if got := e.events()[before:]; !reflect.DeepEqual(got, []string{"records.problem.recorded", "records.encounter.recorded"}) {
			t.Errorf("events %v", got)
		}
	})
}

// TestSearch finds a patient's resources by clinical day, pages them, and refuses
// searches it cannot answer, naming the parameter.
func TestSearch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.setUp()
		for _, f := range facts {
			e.put(f.typ, f.id, f.body)
		}
		ids := func(r reply) []string {
			var out []string
			list, _ := r.body["entry"].([]any)
			for _, en := range list {
				out = append(out, en.(map[string]any)["resource"].(map[string]any)["id"].(string))
			}
			slices.Sort(out)
			return out
		}
		cases := []struct {
			query string
			want  []string
		}{
			{"Observation?patient=pat-1", []string{"bp-1", "res-1", "smk-1", "wt-1"}},
			{"Observation?patient=Patient/pat-1&date=ge2025-03-05", []string{"res-1"}},
			{"Observation?patient=pat-1&date=ge2025-03-04&date=le2025-03-04", []string{"bp-1", "smk-1", "wt-1"}},
			{"Observation?patient=pat-1&date=lt2025-03-04", nil},
			{"Encounter?subject=pat-1&date=2025-03-06", []string{"enc-ed"}},
			{"DocumentReference?patient=pat-1", []string{"cs-1", "doc-1"}},
			{"ImagingStudy?patient=pat-1", []string{"img-1"}},
			{"Organization", []string{"grp-a", "hosp-1", "org-iis", "org-main", "org-other", "org-pharm"}},
		}
		for _, c := range cases {
			r := e.do(http.MethodGet, "/fhir/"+c.query, "")
			if r.code != http.StatusOK || r.body["type"] != "searchset" {
				t.Errorf("%s: %d %s", c.query, r.code, r.raw)
				continue
			}
			if got := ids(r); !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s: %v, want %v", c.query, got, c.want)
			}
		}
		// Pages of two, following next.
		var all []string
		url := "/fhir/Observation?patient=pat-1&_count=2"
		for range 5 {
			r := e.do(http.MethodGet, url, "")
			all = append(all, ids(r)...)
			url = ""
			for _, l := range r.body["link"].([]any) {
				if l.(map[string]any)["relation"] == "next" {
					url = l.(map[string]any)["url"].(string)
				}
			}
			if url == "" {
				break
			}
		}
		slices.Sort(all)
		if want := []string{"bp-1", "res-1", "smk-1", "wt-1"}; !reflect.DeepEqual(all, want) {
			t.Errorf("paged: %v, want %v", all, want)
		}
		for _, c := range []struct{ query, want string }{
			{"Observation", "required@patient"},
			{"Observation?patient=pat-1&date=2025-3-4", "value@date"},
			{"Observation?patient=pat-1&code=x", "not-supported@code"},
			{"Patient?date=ge2025-01-01", "value@date"},
			{"Organization?patient=pat-1", "value@patient"},
			{"Observation?patient=pat-1&_count=0", "value@_count"},
		} {
			r := e.do(http.MethodGet, "/fhir/"+c.query, "")
			if got := issues(r.body); r.code != http.StatusUnprocessableEntity && r.code != http.StatusBadRequest || !slices.Contains(got, c.want) {
				t.Errorf("%s: %d %v, want %s", c.query, r.code, got, c.want)
			}
		}
	})
}

// TestErrors: each refusal answers its status and an OperationOutcome locating every
// problem, and writes nothing.
func TestErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.setUp()
		before := len(e.events())
		cases := []struct {
			name, method, path, body string
			headers                  []string
			code                     int
			want                     []string
		}{
			{"not JSON", "POST", "/fhir/Patient", `{"resourceType":`, nil, 400, []string{"structure@"}},
			{"duplicate key", "POST", "/fhir/Patient", `{"resourceType":"Patient","gender":"male","gender":"female"}`, nil, 400, []string{"structure@"}},
			{"invalid UTF-8", "POST", "/fhir/Patient", "{\"resourceType\":\"Patient\",\"gender\":\"\xff\"}", nil, 400, []string{"structure@"}},
			{"deep", "POST", "/fhir/Patient", strings.Repeat("[", 100) + strings.Repeat("]", 100), nil, 400, []string{"structure@"}},
			{"unknown type in path", "POST", "/fhir/Spaceship", patientJSON("X"), nil, 404, []string{"not-supported@"}},
			{"type not stored", "POST", "/fhir/Medication", `{"resourceType":"Medication"}`, nil, 404, []string{"not-supported@"}},
			{"type mismatch", "POST", "/fhir/Encounter", patientJSON("MRN-X"), nil, 422, []string{"value@Patient.resourceType"}},
			{"required primitives", "POST", "/fhir/Encounter", strings.Replace(strings.Replace(
				encounterJSON("Patient/pat-1", npiOK, "2025-03-04T14:30:00Z", "2025-03-04T15:00:00Z"), `"status":"finished",`, ``, 1),
				`"period"`, `"extension":[{"valueBoolean":true}],"period"`, 1), nil, 400,
				[]string{"structure@Encounter.extension[0].url", "structure@Encounter.status"}},
			{"missing elements", "POST", "/fhir/Patient", `{"resourceType":"Patient","gender":"female"}`, nil, 422,
				[]string{"required@Patient.birthDate", "required@Patient.identifier[0]", "required@Patient.name[0]"}},
			{"codes and dates", "POST", "/fhir/Encounter",
				encounterJSON("Patient/pat-1", npiBad, "2025-03-04T15:00:00Z", "2025-03-04"), nil, 422,
				[]string{"invariant@Encounter.period.end", "value@Encounter.participant[0].individual.identifier.value"}},
			{"wrong code system", "POST", "/fhir/Condition", strings.Replace(conditionJSON("Patient/pat-1", "", "E11.9"),
				"http://hl7.org/fhir/sid/icd-10-cm", "http://loinc.org", 1), nil, 422, []string{"value@Condition.code.coding"}},
			{"every bad code", "POST", "/fhir/Observation", `{"resourceType":"Observation","status":"final",
				"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
				"code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"subject":{"reference":"Patient/pat-1"},
				"effectiveDateTime":"2025-03-04T14:35:00Z","performer":[{"reference":"Patient/pat-1"}],
				"component":[
				{"code":{"coding":[{"system":"http://loinc.org","code":"8480-5"}]},"valueQuantity":{"value":120,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
				{"code":{"coding":[{"system":"http://loinc.org","code":"8462-3"}]},"valueQuantity":{"value":80,"unit":"mm[Hg]","system":"urn:other","code":"mm[Hg]"}}]}`,
				nil, 422, []string{"value@Observation.component[0].code.coding[0].code", "value@Observation.component[1].code.coding[0].code",
					"value@Observation.component[1].valueQuantity.system"}},
			{"dangling reference", "POST", "/fhir/Condition", conditionJSON("Patient/nobody", "", "E11.9"), nil, 422,
				[]string{"not-found@Condition.subject"}},
			{"another patient's encounter", "POST", "/fhir/Condition", conditionJSON("Patient/pat-1", "Encounter/nope", "E11.9"), nil, 422,
				[]string{"not-found@Condition.encounter"}},
			{"urn outside a Bundle", "POST", "/fhir/Condition", conditionJSON("urn:uuid:abc", "", "E11.9"), nil, 422,
				[]string{"not-found@Condition.subject.reference"}},
			{"natural key taken", "POST", "/fhir/Patient", strings.Replace(patientJSON("MRN-1"), "1980", "1981", 1), nil, 409,
				[]string{"conflict@Patient.identifier[0]"}},
			{"If-Match stale", "PUT", "/fhir/Organization/org-iis", directory[3].body, []string{"If-Match", `W/"7"`}, 412,
				[]string{"conflict@Organization"}},
			{"id differs", "PUT", "/fhir/Organization/org-x", directory[3].body, nil, 422, []string{"value@Organization.id"}},
			{"read unknown", "GET", "/fhir/Patient/nobody", "", nil, 404, []string{"not-found@"}},
			{"delete unknown", "DELETE", "/fhir/Patient/nobody", "", nil, 404, []string{"not-found@Patient"}},
			{"not a Bundle", "POST", "/fhir", patientJSON("MRN-Y"), nil, 400, []string{"structure@Bundle.resourceType"}},
			{"Bundle type", "POST", "/fhir", `{"resourceType":"Bundle","type":"collection"}`, nil, 422, []string{"value@Bundle.type"}},
			{"bad Idempotency-Key", "POST", "/fhir/Patient", patientJSON("MRN-K"), []string{"Idempotency-Key", "a b"}, 400, []string{"value@"}},
			{"media type", "POST", "/fhir/Patient", patientJSON("MRN-Z"), []string{"Content-Type", "text/plain"}, 415, []string{"not-supported@"}},
		}
		for _, c := range cases {
			r := e.do(c.method, c.path, c.body, c.headers...)
			got := issues(r.body)
			slices.Sort(got)
			if r.code != c.code || !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s: %d %v, want %d %v (%s)", c.name, r.code, got, c.code, c.want, r.raw)
			}
			if r.body["resourceType"] != "OperationOutcome" {
				t.Errorf("%s: not an OperationOutcome: %s", c.name, r.raw)
			}
		}
		if got := e.events()[before:]; len(got) != 0 {
			t.Errorf("refusals published %v", got)
		}
	})
}

// TestWrites: update with If-Match, delete, the CapabilityStatement, and an imaging
// order a shared study duplicates.
func TestWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.setUp()
		for _, f := range facts {
			e.put(f.typ, f.id, f.body)
		}
		before := len(e.events())
		cond := strings.Replace(facts[0].body, `"diet controlled"`, `"insulin"`, 1)
		if r := e.do("PUT", "/fhir/Condition/cond-1", cond, "If-Match", `W/"1"`); r.code != 200 || r.header.Get("ETag") != `W/"2"` {
			t.Errorf("update: %d %s %s", r.code, r.header.Get("ETag"), r.raw)
		}
		if r := e.do("DELETE", "/fhir/Condition/cond-1", ""); r.code != http.StatusNoContent {
			t.Errorf("delete: %d %s", r.code, r.raw)
		}
		if r := e.do("GET", "/fhir/Condition/cond-1", ""); r.code != http.StatusNotFound {
			t.Errorf("read after delete: %d", r.code)
		}
		if got, want := e.events()[before:], []string{"records.problem.corrected", "records.problem.deleted"}; !reflect.DeepEqual(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}

		// An imaging order for the modality and body site of img-1, shared 3 days before.
		order := `{"resourceType":"ServiceRequest","status":"active","intent":"order","subject":{"reference":"Patient/pat-1"},
			"category":[{"coding":[{"system":"https://attest.example/fhir/CodeSystem/order-category","code":"imaging"}]}],
			"code":{"coding":[{"system":"http://www.ama-assn.org/go/cpt","code":"71250"}]},"authoredOn":"2025-03-04T16:00:00Z",
			"requester":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}},
			"bodySite":[{"coding":[{"system":"http://snomed.info/sct","code":"51185008"}]}],
			"extension":[{"url":"https://attest.example/fhir/StructureDefinition/entry-method","valueCode":"cpoe"},
				{"url":"https://attest.example/fhir/StructureDefinition/entered-by","valueString":"user-7"},
				{"url":"https://attest.example/fhir/StructureDefinition/entered-by-credential","valueCode":"MD"},
				{"url":"https://attest.example/fhir/StructureDefinition/modality","valueCode":"CT"}%s]}`
		before = len(e.events())
		r := e.do("POST", "/fhir/ServiceRequest", strings.Replace(order, "%s", "", 1))
		if got := issues(r.body); r.code != 200 || !reflect.DeepEqual(got, []string{"duplicate@ServiceRequest"}) {
			t.Errorf("duplicate order: %d %v", r.code, got)
		}
		r = e.do("POST", "/fhir/ServiceRequest", strings.Replace(order, "%s",
			`,{"url":"https://attest.example/fhir/StructureDefinition/allow-duplicate","valueBoolean":true}`, 1))
		if r.code != 201 || !strings.Contains(r.raw, `"valueReference":{"reference":"ImagingStudy/img-1"}`) {
			t.Errorf("allowed duplicate: %d %s", r.code, r.raw)
		}
		if got, want := e.events()[before:], []string{"records.duplicate-study.avoided", "records.order.recorded"}; !reflect.DeepEqual(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}

		// An id one kind of a shared type holds cannot be taken by another.
		smoking := strings.Replace(facts[5].body, `"id":"smk-1"`, `"id":"bp-1"`, 1)
		if r := e.do("PUT", "/fhir/Observation/bp-1", smoking); r.code != http.StatusConflict ||
			!reflect.DeepEqual(issues(r.body), []string{"conflict@Observation.id"}) {
			t.Errorf("an id of another kind: %d %s", r.code, r.raw)
		}

		// Once no consent permits it, a shared study may not be read, nor found.
		var consent string
		for _, d := range directory {
			if d.id == "consent-1" {
				consent = strings.Replace(d.body, `"type":"permit"`, `"type":"deny"`, 1)
			}
		}
		if r := e.do("PUT", "/fhir/Consent/consent-1", consent); r.code != 200 {
			t.Fatalf("consent to deny: %d %s", r.code, r.raw)
		}
		if r := e.do("GET", "/fhir/ImagingStudy/img-1", ""); r.code != http.StatusForbidden || r.body["resourceType"] != "OperationOutcome" {
			t.Errorf("a study without consent: %d %s", r.code, r.raw)
		}
		if r := e.do("GET", "/fhir/ImagingStudy?patient=pat-1", ""); r.code != 200 || len(r.body["entry"].([]any)) != 0 {
			t.Errorf("a search finds a study without consent: %d %s", r.code, r.raw)
		}

		m := e.do("GET", "/fhir/metadata", "")
		if m.code != 200 || m.body["resourceType"] != "CapabilityStatement" {
			t.Fatalf("metadata: %d %s", m.code, m.raw)
		}
		validR4(t, "CapabilityStatement", m.raw)
		if n := len(m.body["rest"].([]any)[0].(map[string]any)["resource"].([]any)); n != 19 {
			t.Errorf("CapabilityStatement lists %d types", n)
		}
	})
}
