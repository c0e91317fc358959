package record_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/records/internal/record"
)

// tables are every table the record writes.
var tables = []string{"patients", "encounters", "organizations", "hospitals", "practice_groups", "clinicians",
	"locations", "devices", "registry_engagements", "attestations", "payment_inputs", "problems", "allergies", "medications", "results",
	"vital_signs", "smoking_statuses", "prescriptions", "pdmp_queries", "orders", "clinical_summaries", "transitions",
	"reconciliations", "availabilities", "access_grants", "vdt_actions", "pghd", "registry_submissions", "consents",
	"shared_records", "tablet_sessions", "tablet_audit", "idempotency_keys", "outbox"}

// rows counts the rows of every table.
func (a *api) rows() map[string]int {
	a.t.Helper()
	out := map[string]int{}
	for _, t := range tables {
		var n int
		if err := a.db.QueryRowContext(context.Background(), `SELECT count(*) FROM `+t).Scan(&n); err != nil {
			a.t.Fatal(err)
		}
		out[t] = n
	}
	return out
}

// with returns a copy of m with the changes applied; a nil value deletes the key.
func with(m map[string]any, changes map[string]any) map[string]any {
	c := maps.Clone(m)
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

type badCase struct {
	name   string
	method string
	path   string
	body   any
	code   int
	field  string
}

// badCases is the corpus; otherPatient and otherEncounter belong to a second patient.
func badCases(f fixture, otherPatient, otherEncounter string) []badCase {
	cases := kindCases()
	base := map[string]map[string]any{}
	for _, k := range cases {
		if _, ok := base[k.path]; !ok {
			base[k.path] = k.body(f)
		}
	}
	post := func(path string, changes map[string]any, code int, field string) badCase {
		return badCase{name: path + " " + field, method: http.MethodPost, path: "/v1/" + path,
			body: with(base[path], changes), code: code, field: field}
	}
	patient := base["patients"]
	name := patient["name"].(map[string]any)
	rep := patient["representatives"].([]map[string]any)[0]
	lab := func(changes map[string]any) map[string]any {
		return with(map[string]any{"patient_id": f.patient, "category": "laboratory", "code": code(contract.SystemLOINC, "4548-4"),
			"ordered": day("04", "14:50"), "npi": npi1, "entry_method": "cpoe", "entered_by": "user-7",
			"entered_by_credential": "CMA"}, changes)
	}
	vital := base["vital-signs"]
	// A Medicaid professional's payment inputs (the kind's base is a hospital's): post
	// replaces the hospital's fields with these, the nil ones removed.
	clinicianPay := map[string]any{"entity": map[string]any{"kind": "npi", "id": npi1}, "program": "medicaid",
		"participation_year": 2, "medicaid_encounters": 300, "total_encounters": 1000, "discharges": nil,
		"medicare_part_a_days": nil, "medicare_part_c_days": nil, "total_inpatient_days": nil, "total_charges_cents": nil,
		"charity_charges_cents": nil}
	weightBody := with(vital, map[string]any{"code": code(contract.SystemLOINC, "29463-7"), "components": nil,
		"value": map[string]any{"value": 70, "unit": "kg"}})
	out := []badCase{
		// Patients.
		post("patients", map[string]any{"mrn": map[string]any{"value": "X"}}, 400, "mrn.system"),
		post("patients", map[string]any{"mrn": map[string]any{"system": "s", "value": " "}}, 400, "mrn.value"),
		post("patients", map[string]any{"name": with(name, map[string]any{"family": ""})}, 400, "name.family"),
		post("patients", map[string]any{"name": with(name, map[string]any{"given": []string{""}})}, 400, "name.given[0]"),
		post("patients", map[string]any{"birth_date": "02/01/1970"}, 400, "birth_date"),
		post("patients", map[string]any{"birth_date": "2999-01-01"}, 400, "birth_date"),
		post("patients", map[string]any{"sex": "F"}, 400, "sex"),
		post("patients", map[string]any{"representatives": []any{with(rep, map[string]any{"relationship": "friend"})}}, 400, "representatives[0].relationship"),
		post("patients", map[string]any{"representatives": []any{rep, rep}}, 400, "representatives[1].id"),
		post("patients", map[string]any{"representatives": []any{with(rep, map[string]any{"from": day("05", "00:00"), "to": day("04", "00:00")})}}, 400, "representatives[0].to"),
		post("patients", map[string]any{"opt_outs": []any{map[string]any{"kind": "email", "since": day("01", "00:00")}}}, 400, "opt_outs[0].kind"),
		post("patients", map[string]any{"opt_outs": []any{map[string]any{"kind": "api"}}}, 400, "opt_outs[0].since"),
		post("patients", map[string]any{"organization_id": "org-nowhere"}, 422, "organization_id"),
		post("patients", map[string]any{"id": "p/1"}, 400, "id"),
		post("patients", map[string]any{"mrn": map[string]any{"system": "urn:oid:2.16.840.1.113883.19.5", "value": "MRN-1" + canary}}, 409, "mrn"),
		// The directory.
		post("organizations", map[string]any{"kind": "bank"}, 400, "kind"),
		post("organizations", map[string]any{"name": " "}, 400, "name"),
		post("organizations", map[string]any{"part_of": "org-nowhere"}, 422, "part_of"),
		post("hospitals", map[string]any{"ccn": "12345"}, 400, "ccn"),
		post("hospitals", map[string]any{"ccn": "123456"}, 409, "ccn"),
		post("hospitals", map[string]any{"organization_id": "org-nowhere"}, 422, "organization_id"),
		post("groups", map[string]any{"tin": "12-3456789"}, 400, "tin"),
		post("groups", map[string]any{"tin": "123456789"}, 409, "tin"),
		post("clinicians", map[string]any{"npi": "1234567890"}, 400, "npi"),
		post("clinicians", map[string]any{"npi": npi1}, 409, "npi"),
		post("clinicians", map[string]any{"tins": []string{"111111111"}}, 422, "tins[0]"),
		post("clinicians", map[string]any{"tins": []string{"123456789", "123456789"}}, 400, "tins[1]"),
		post("clinicians", map[string]any{"credential": "Dr"}, 400, "credential"),
		post("locations", map[string]any{"pos": "2A"}, 400, "pos"),
		post("locations", map[string]any{"hospital_id": "hosp-nowhere"}, 422, "hospital_id"),
		post("devices", map[string]any{"public_key": "AAEC"}, 400, "public_key"),
		post("devices", map[string]any{"kind": "phone"}, 400, "kind"),
		// Encounters.
		post("encounters", map[string]any{"patient_id": "nobody"}, 422, "patient_id"),
		post("encounters", map[string]any{"patient_id": nil}, 400, "patient_id"),
		post("encounters", map[string]any{"class": "spa"}, 400, "class"),
		post("encounters", map[string]any{"start": "yesterday"}, 400, "start"),
		post("encounters", map[string]any{"end": day("05", "00:00")}, 400, "end"),
		post("encounters", map[string]any{"ccn": nil}, 400, "ccn"),
		post("encounters", map[string]any{"class": "office", "ccn": nil}, 400, "rendering_npi"),
		post("encounters", map[string]any{"class": "office", "rendering_npi": "1234567890"}, 400, "rendering_npi"),
		post("encounters", map[string]any{"location_id": "loc-nowhere"}, 422, "location_id"),
		post("encounters", map[string]any{"pos": "1"}, 400, "pos"),
		// Lists, results, vital signs.
		post("problems", map[string]any{"code": code(contract.SystemLOINC, "4548-4")}, 400, "code.system"),
		post("problems", map[string]any{"code": code(contract.SystemICD10CM, "e11.9")}, 400, "code.code"),
		post("problems", map[string]any{"code": nil}, 400, "code"),
		post("problems", map[string]any{"status": "cured"}, 400, "status"),
		post("problems", map[string]any{"recorded": nil}, 400, "recorded"),
		post("problems", map[string]any{"encounter_id": otherEncounter}, 422, "encounter_id"),
		post("problems", map[string]any{"onset": day("10", "00:00"), "abatement": day("09", "00:00")}, 400, "abatement"),
		post("allergies", map[string]any{"category": "pollen"}, 400, "category"),
		post("allergies", map[string]any{"code": code(contract.SystemSNOMED, "716186004")}, 400, "code.code"),
		post("medications", map[string]any{"code": code(contract.SystemRxNorm, "abc")}, 400, "code.code"),
		post("medications", map[string]any{"end": "2024-12-31T00:00:00Z"}, 400, "end"),
		post("results", map[string]any{"code": code(contract.SystemLOINC, "4548-3")}, 400, "code.code"),
		post("results", map[string]any{"issued": day("04", "14:00")}, 400, "issued"),
		post("results", map[string]any{"value_text": "high"}, 400, "value_text"),
		post("results", map[string]any{"value": map[string]any{"value": 7.1}}, 400, "value.unit"),
		post("results", map[string]any{"order_id": "ord-nowhere"}, 422, "order_id"),
		post("results", map[string]any{"interpretation": "bad"}, 400, "interpretation"),
		post("vital-signs", map[string]any{"components": bp(120, 80)[:1]}, 400, "components"),
		post("vital-signs", map[string]any{"value": map[string]any{"value": 1, "unit": "mm[Hg]"}}, 400, "value"),
		post("vital-signs", map[string]any{"code": code(contract.SystemLOINC, "4548-4")}, 400, "code.code"),
		post("vital-signs", map[string]any{"performer": "nurse"}, 400, "performer"),
		{name: "weight in stones", method: http.MethodPost, path: "/v1/vital-signs",
			body: with(weightBody, map[string]any{"value": map[string]any{"value": 11, "unit": "[stone_av]"}}), code: 400, field: "value.unit"},
		{name: "negative weight", method: http.MethodPost, path: "/v1/vital-signs",
			body: with(weightBody, map[string]any{"value": map[string]any{"value": -1, "unit": "kg"}}), code: 400, field: "value.value"},
		{name: "weight with components", method: http.MethodPost, path: "/v1/vital-signs",
			body: with(weightBody, map[string]any{"components": bp(1, 1)}), code: 400, field: "components"},
		post("smoking-statuses", map[string]any{"code": code(contract.SystemSNOMED, "38341003")}, 400, "code.code"),
		// Prescribing and orders.
		post("prescriptions", map[string]any{"kind": "renewal"}, 400, "kind"),
		post("prescriptions", map[string]any{"schedule": "VI"}, 400, "schedule"),
		post("prescriptions", map[string]any{"npi": nil}, 400, "npi"),
		post("prescriptions", map[string]any{"discharge": true}, 400, "ccn"),
		post("prescriptions", map[string]any{"replaces_id": "rx-0"}, 400, "replaces_id"),
		post("prescriptions", map[string]any{"kind": "refill", "replaces_id": "rx-nowhere"}, 422, "replaces_id"),
		post("prescriptions", map[string]any{"transmission": map[string]any{"transmitted": day("01", "00:00"),
			"method": "electronic", "outcome": "succeeded"}}, 400, "transmission.transmitted"),
		post("prescriptions", map[string]any{"formulary": map[string]any{"queried": day("04", "00:00"), "result": "maybe"}}, 400, "formulary.result"),
		post("pdmp-queries", map[string]any{"schedule": nil}, 400, "schedule"),
		post("pdmp-queries", map[string]any{"outcome": "ok"}, 400, "outcome"),
		post("pdmp-queries", map[string]any{"prescription_id": "rx-nowhere"}, 422, "prescription_id"),
		{name: "order category", method: http.MethodPost, path: "/v1/orders", body: lab(map[string]any{"category": "diet"}), code: 400, field: "category"},
		{name: "medication order coded LOINC", method: http.MethodPost, path: "/v1/orders",
			body: lab(map[string]any{"category": "medication"}), code: 400, field: "code.system"},
		{name: "imaging without modality", method: http.MethodPost, path: "/v1/orders",
			body: lab(map[string]any{"category": "imaging", "code": code(contract.SystemCPT, "71250"), "body_site": "51185008"}), code: 400, field: "modality"},
		{name: "lab with modality", method: http.MethodPost, path: "/v1/orders", body: lab(map[string]any{"modality": "CT"}), code: 400, field: "modality"},
		{name: "imaging with a bad body site", method: http.MethodPost, path: "/v1/orders",
			body: lab(map[string]any{"category": "imaging", "code": code(contract.SystemCPT, "71250"), "modality": "CT", "body_site": "51185009"}), code: 400, field: "body_site"},
		{name: "entry method", method: http.MethodPost, path: "/v1/orders", body: lab(map[string]any{"entry_method": "fax"}), code: 400, field: "entry_method"},
		{name: "credential", method: http.MethodPost, path: "/v1/orders", body: lab(map[string]any{"entered_by_credential": "intern"}), code: 400, field: "entered_by_credential"},
		{name: "entered by", method: http.MethodPost, path: "/v1/orders", body: lab(map[string]any{"entered_by": nil}), code: 400, field: "entered_by"},
		{name: "order unknown field", method: http.MethodPost, path: "/v1/orders", body: lab(map[string]any{"priority": "stat"}), code: 400, field: "priority"},
		// Exchange.
		post("clinical-summaries", map[string]any{"provided": day("04", "08:00")}, 422, "provided"),
		post("clinical-summaries", map[string]any{"encounter_id": nil}, 400, "encounter_id"),
		post("clinical-summaries", map[string]any{"method": "fax"}, 400, "method"),
		post("transitions", map[string]any{"direction": "sideways"}, 400, "direction"),
		post("transitions", map[string]any{"sender": map[string]any{}}, 400, "sender"),
		post("transitions", map[string]any{"receiver": map[string]any{"npi": npi1, "tin": "123456789"}}, 400, "receiver"),
		post("transitions", map[string]any{"receiver": map[string]any{"npi": "1234567890"}}, 400, "receiver.npi"),
		post("transitions", map[string]any{"received": day("04", "16:00")}, 400, "received"),
		post("transitions", map[string]any{"sent": day("04", "16:00"), "transport": "direct"}, 400, "sent"),
		post("transitions", map[string]any{"summary_created": day("04", "16:00")}, 400, "contents"),
		post("transitions", map[string]any{"receiver": map[string]any{"organization_id": "org-nowhere"}}, 422, "receiver.organization_id"),
		{name: "summarize a transition in", method: http.MethodPost, path: "/v1/transitions/" + f.transitionIn + "/summarize",
			body: map[string]any{"created": day("04", "16:00"), "contents": map[string]any{"problems": "none", "medications": "none", "allergies": "none"}},
			code: 422, field: "direction"},
		{name: "incorporate before receipt", method: http.MethodPost, path: "/v1/transitions/" + f.transitionIn + "/incorporate",
			body: map[string]any{"incorporated": day("04", "16:00")}, code: 422, field: "incorporated"},
		{name: "request without a time", method: http.MethodPost, path: "/v1/transitions/" + f.transitionIn + "/request",
			body: map[string]any{"unavailable": true}, code: 400, field: "requested"},
		post("reconciliations", map[string]any{"medications": nil, "allergies": nil}, 400, "medications"),
		post("reconciliations", map[string]any{"transition_id": nil}, 400, "transition_id"),
		post("reconciliations", map[string]any{"transition_id": "toc-nowhere"}, 422, "transition_id"),
		// Access.
		post("availabilities", map[string]any{"kind": "lunch"}, 400, "kind"),
		post("availabilities", map[string]any{"result_id": "res-nowhere"}, 422, "result_id"),
		post("access-grants", map[string]any{"revoked": day("01", "00:00")}, 400, "revoked"),
		post("access-grants", map[string]any{"kind": "fax"}, 400, "kind"),
		post("vdt", map[string]any{"representative_id": nil}, 400, "representative_id"),
		post("vdt", map[string]any{"representative_id": "rep-nowhere"}, 422, "representative_id"),
		post("vdt", map[string]any{"actor": "patient"}, 400, "representative_id"),
		post("vdt", map[string]any{"app_id": "app-1"}, 400, "app_id"),
		post("pghd", map[string]any{"source": "rumour"}, 400, "source"),
		post("pghd", map[string]any{"vital_sign_id": "vit-nowhere"}, 422, "vital_sign_id"),
		// Program facts.
		post("registry-submissions", map[string]any{"registry_id": "org-nowhere"}, 422, "registry_id"),
		post("registry-submissions", map[string]any{"outcome": "lost"}, 400, "outcome"),
		post("registry-submissions", map[string]any{"code": code(contract.SystemCVX, "14000")}, 400, "code.code"),
		post("registry-engagements", map[string]any{"entity": map[string]any{"kind": "tin", "id": "12345"}}, 400, "entity"),
		post("registry-engagements", map[string]any{"since": "2025-01-01T00:00:00Z"}, 400, "since"),
		post("registry-engagements", map[string]any{"status": "hoping"}, 400, "status"),
		post("registry-engagements", map[string]any{"measure": "gossip"}, 400, "measure"),
		post("attestations", map[string]any{"kind": "vibes"}, 400, "kind"),
		post("attestations", map[string]any{"to": "2024-12-01T00:00:00Z"}, 400, "to"),
		post("attestations", map[string]any{"from": nil, "to": "2025-12-01T00:00:00Z"}, 400, "from"),
		post("attestations", map[string]any{"entity": map[string]any{"kind": "npi", "id": "1234567890"}}, 400, "entity"),
		post("payment-inputs", map[string]any{"entity": map[string]any{"kind": "tin", "id": "123456789"}}, 400, "entity"),
		post("payment-inputs", map[string]any{"year": 2010}, 400, "year"),
		post("payment-inputs", map[string]any{"program": "lottery"}, 400, "program"),
		post("payment-inputs", map[string]any{"program": "medicaid"}, 400, "program"),
		post("payment-inputs", map[string]any{"first_payment_year": 2016}, 400, "first_payment_year"),
		post("payment-inputs", map[string]any{"discharges": -1}, 400, "discharges"),
		post("payment-inputs", map[string]any{"medicare_part_a_days": 96000}, 400, "medicare_part_a_days"),
		post("payment-inputs", map[string]any{"charity_charges_cents": 50000000000}, 400, "charity_charges_cents"),
		post("payment-inputs", map[string]any{"hpsa": true}, 400, "hpsa"),
		post("payment-inputs", with(clinicianPay, map[string]any{"participation_year": 7}), 400, "participation_year"),
		post("payment-inputs", with(clinicianPay, map[string]any{"medicaid_encounters": 1001}), 400, "medicaid_encounters"),
		post("payment-inputs", with(clinicianPay, map[string]any{"discharges": 5000}), 400, "discharges"),
		// Sharing.
		post("consents", map[string]any{"decision": "maybe"}, 400, "decision"),
		post("consents", map[string]any{"organization_ids": []string{"org-nowhere"}}, 422, "organization_ids[0]"),
		post("shared-records", map[string]any{"endpoint": "ftp://other.example/x"}, 400, "endpoint"),
		post("shared-records", map[string]any{"kind": "imaging-study"}, 400, "modality"),
		post("shared-records", map[string]any{"kind": "imaging-study", "modality": "XX", "body_site": "51185008"}, 400, "modality"),
		post("shared-records", map[string]any{"received": day("01", "09:00")}, 400, "received"),
		post("shared-records", map[string]any{"consent_id": "a/b"}, 400, "consent_id"),
		// Shared tablets.
		{name: "check out an unknown device", method: http.MethodPost, path: "/v1/tablet-sessions",
			body: map[string]any{"device_id": "tab-nowhere", "patient_id": f.patient}, code: 422, field: "device_id"},
		{name: "check out to nobody", method: http.MethodPost, path: "/v1/tablet-sessions",
			body: map[string]any{"device_id": "tab-1", "patient_id": "nobody"}, code: 422, field: "patient_id"},
		{name: "check out without a device", method: http.MethodPost, path: "/v1/tablet-sessions",
			body: map[string]any{"patient_id": f.patient}, code: 400, field: "device_id"},
		{name: "upload to no session", method: http.MethodPost, path: "/v1/tablet-sessions/ses-nowhere/uploads",
			body: map[string]any{"code": code(contract.SystemLOINC, "29463-7")}, code: 404},
		{name: "wipe with a signature not base64", method: http.MethodPost, path: "/v1/tablet-sessions/ses-nowhere/wipe",
			body: `{"statement":"e30=","signature":"%%%"}`, code: 400, field: "signature"},
		// Corrections.
		{name: "move an encounter to another patient", method: http.MethodPut, path: "/v1/encounters/" + f.encounter,
			body: with(base["encounters"], map[string]any{"patient_id": otherPatient}), code: 422, field: "patient_id"},
		{name: "correct a stale version", method: http.MethodPut, path: "/v1/encounters/" + f.encounter,
			body: with(base["encounters"], map[string]any{"version": 7, "class": "inpatient"}), code: 409, field: "version"},
		{name: "correct with another ID in the body", method: http.MethodPut, path: "/v1/encounters/" + f.encounter,
			body: with(base["encounters"], map[string]any{"id": "enc-other"}), code: 400, field: "id"},
		{name: "correct nothing", method: http.MethodPut, path: "/v1/problems/prob-nowhere", body: base["problems"], code: 404},
		{name: "delete nothing", method: http.MethodDelete, path: "/v1/problems/prob-nowhere", code: 404},
		// Malformed requests.
		{name: "malformed JSON", method: http.MethodPost, path: "/v1/problems", body: `{"patient_id":`, code: 400},
		{name: "duplicate key", method: http.MethodPost, path: "/v1/problems", body: `{"status":"active","status":"resolved"}`, code: 400, field: "status"},
		{name: "wrong type", method: http.MethodPost, path: "/v1/problems", body: `{"status":7}`, code: 400, field: "status"},
		{name: "null body", method: http.MethodPost, path: "/v1/problems", body: `null`, code: 400},
		{name: "list without a patient", method: http.MethodGet, path: "/v1/problems", code: 400, field: "patient_id"},
		{name: "list by a bad entity", method: http.MethodGet, path: "/v1/attestations?limit=0&entity=ccn:123456", code: 400, field: "limit"},
	}
	return out
}

// TestBadInput sends every bad request of the corpus: each is answered 4xx naming the
// field at fault, and writes nothing — no row, no event, no idempotency key.
func TestBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db, record.Config{})
		f := a.setUp()
		a.post("/v1/devices", map[string]any{"id": "tab-1", "organization_id": "org-main", "kind": "tablet", "public_key": pubKey(f)})
		other := a.post("/v1/patients", patientBody("MRN-O"))["id"].(string)
		otherEnc := a.post("/v1/encounters", map[string]any{"patient_id": other, "class": "office", "start": day("04", "10:00"),
			"rendering_npi": npi1})["id"].(string)
		cases := badCases(f, other, otherEnc)
		before := a.rows()
		for i, c := range cases {
			r := a.do(c.method, c.path, c.body, "Idempotency-Key", fmt.Sprintf("bad-%d", i))
			if r.code != c.code || r.field() != c.field {
				t.Errorf("%s %s (%s): %d %s, want %d naming %q", c.method, c.path, c.name, r.code, r.raw, c.code, c.field)
			}
			if strings.Contains(r.raw, canary) {
				t.Errorf("%s: the error repeats the input: %s", c.name, r.raw)
			}
		}
		if after := a.rows(); !maps.Equal(before, after) {
			t.Errorf("refused requests wrote rows:\nbefore %v\nafter  %v", before, after)
		}
		if len(cases) < 140 { // a floor, so the corpus does not shrink unnoticed
			t.Errorf("the corpus has %d cases", len(cases))
		}
	})
}
