package bulk_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// A synthetic year as FHIR NDJSON. The FHIR form of each kind is taken from the FHIR
// API itself: one resource of each is stored through the JSON API on a scratch
// database and read back as FHIR, then copied with its IDs replaced. So the input is
// what the FHIR API writes, whatever the mapping becomes.

// template is a FHIR resource whose IDs are placeholders.
type template struct {
	typ  string
	json string
}

// Placeholders, replaced per copy.
const (
	tplPatient = "tplpatient"
	tplMRN     = "TPLMRN"
	tplOwn     = "tplown" // the resource's own ID
	tplEnc     = "tplenc"
	tplOrder   = "tplorder"
)

// fhirTemplates returns the templates of a patient, an office visit, a prescription,
// a laboratory order and its result, and the directory as FHIR.
func fhirTemplates(t testing.TB) (dir [][]byte, patient, encounter, prescription, order, result template) {
	t.Helper()
	e := scratch(t)
	for _, l := range directory() {
		m := l.(map[string]any)
		e.post("/v1/"+m["kind"].(string), m["body"])
	}
	for _, d := range []struct{ typ, id string }{{"Organization", "org-1"}, {"Organization", "grp-1"},
		{"Practitioner", "clin-1"}, {"Location", "loc-1"}} {
		b, _ := json.Marshal(e.fhirOf(d.typ, d.id))
		dir = append(dir, b)
	}
	e.post("/v1/patients", patientBody(tplPatient, tplMRN))
	e.post("/v1/encounters", map[string]any{"id": tplEnc, "patient_id": tplPatient, "class": "office",
		"start": "2025-03-04T14:30:00Z", "rendering_npi": npi1, "billing_tin": "123456789", "location_id": "loc-1"})
	own := func(kind, typ string, body map[string]any) template {
		body["id"], body["patient_id"] = tplOwn+kind, tplPatient
		e.post("/v1/"+kind, body)
		m := e.fhirOf(typ, tplOwn+kind)
		b, _ := json.Marshal(m)
		return template{typ: typ, json: strings.ReplaceAll(string(b), tplOwn+kind, tplOwn)}
	}
	prescription = own("prescriptions", "MedicationRequest", map[string]any{"encounter_id": tplEnc,
		"code": code("http://www.nlm.nih.gov/research/umls/rxnorm", "860975"), "kind": "new", "permissible": true,
		"written": "2025-03-04T14:45:00Z", "npi": npi1, "tin": "123456789"})
	o := map[string]any{"id": tplOrder, "patient_id": tplPatient, "category": "laboratory",
		"code": code("http://loinc.org", "4548-4"), "ordered": "2025-03-04T14:50:00Z", "npi": npi1,
		"entry_method": "cpoe", "entered_by": "user-7", "entered_by_credential": "CMA"}
	e.post("/v1/orders", o)
	b, _ := json.Marshal(e.fhirOf("ServiceRequest", tplOrder))
	order = template{typ: "ServiceRequest", json: strings.ReplaceAll(string(b), tplOrder, tplOwn)}
	result = own("results", "Observation", map[string]any{"order_id": tplOrder, "code": code("http://loinc.org", "4548-4"),
		"status": "final", "category": "laboratory", "effective": "2025-03-04T15:00:00Z", "issued": "2025-03-05T08:00:00Z",
		"value": map[string]any{"value": 7.1, "unit": "%"}})
	b, _ = json.Marshal(e.fhirOf("Patient", tplPatient))
	patient = template{typ: "Patient", json: string(b)}
	b, _ = json.Marshal(e.fhirOf("Encounter", tplEnc))
	encounter = template{typ: "Encounter", json: strings.ReplaceAll(string(b), tplEnc, tplOwn)}
	return dir, patient, encounter, prescription, order, result
}

// fhirYear is the directory and n patients' year as FHIR NDJSON, grouped by type as a
// Bulk Data export writes it (all patients, then all encounters, …), and the number
// of resources: 11 per patient.
func fhirYear(t testing.TB, n int) ([]byte, int) {
	t.Helper()
	dir, patient, encounter, prescription, order, result := fhirTemplates(t)
	var b bytes.Buffer
	for _, d := range dir {
		b.Write(d)
		b.WriteByte('\n')
	}
	put := func(tpl template, p int, own, enc, ord string) {
		r := strings.NewReplacer(tplPatient, fmt.Sprintf("p%d", p), tplMRN, fmt.Sprintf("MRN-%d", p),
			tplOwn, own, tplEnc, enc, tplOrder, ord)
		r.WriteString(&b, tpl.json)
		b.WriteByte('\n')
	}
	for p := range n {
		put(patient, p, "", "", "")
	}
	for p := range n {
		for v := range 4 {
			put(encounter, p, fmt.Sprintf("p%d-e%d", p, v), "", "")
		}
	}
	for p := range n {
		for v := range 2 {
			put(prescription, p, fmt.Sprintf("p%d-rx%d", p, v), fmt.Sprintf("p%d-e%d", p, v), "")
		}
	}
	for p := range n {
		for v := range 2 {
			put(order, p, fmt.Sprintf("p%d-o%d", p, v), "", "")
		}
	}
	for p := range n {
		for v := range 2 {
			put(result, p, fmt.Sprintf("p%d-r%d", p, v), "", fmt.Sprintf("p%d-o%d", p, v))
		}
	}
	return b.Bytes(), len(dir) + 11*n
}

// jsonYear is the same year in the JSON format, patient by patient.
func jsonYear(n int) ([]byte, int) {
	lines := directory()
	for p := range n {
		lines = append(lines, facts(p)...)
	}
	return ndjson(lines...), len(lines)
}
