package record_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/records/internal/record"
)

// kindCase is one kind of resource exercised through its whole JSON API.
type kindCase struct {
	name    string
	path    string
	body    func(fixture) map[string]any
	change  func(map[string]any) // a correction
	topic   string
	types   [3]string // recorded, corrected, deleted
	key     string    // the event key: "patient", "id", or an entity "kind:id"
	list    string    // the list query parameter, when the kind lists by subject
	actions []actionCase
}

type actionCase struct {
	name string
	body map[string]any
	typ  string
}

func code(system, c string) map[string]any { return map[string]any{"system": system, "code": c} }

func kindCases() []kindCase {
	loinc, snomed, rxnorm := contract.SystemLOINC, contract.SystemSNOMED, contract.SystemRxNorm
	patient := func(f fixture, m map[string]any) map[string]any { m["patient_id"] = f.patient; return m }
	return []kindCase{
		{name: "organization", path: "organizations", topic: contract.TopicOrganization, key: "id",
			types: [3]string{contract.OrganizationRecorded, contract.OrganizationCorrected, contract.OrganizationDeleted},
			body: func(fixture) map[string]any {
				return map[string]any{"name": "Far Clinic", "kind": "practice", "part_of": "org-main"}
			},
			change: func(m map[string]any) { m["kind"] = "other" }},
		{name: "hospital", path: "hospitals", topic: contract.TopicHospital, key: "id",
			types: [3]string{contract.HospitalRecorded, contract.HospitalCorrected, contract.HospitalDeleted},
			body: func(fixture) map[string]any {
				return map[string]any{"organization_id": "org-main", "name": "Rural", "ccn": "65C321", "critical_access": true}
			},
			change: func(m map[string]any) { m["critical_access"] = false }},
		{name: "group", path: "groups", topic: contract.TopicGroup, key: "id",
			types: [3]string{contract.GroupRecorded, contract.GroupCorrected, contract.GroupDeleted},
			body: func(fixture) map[string]any {
				return map[string]any{"organization_id": "org-main", "name": "B", "tin": "987654321"}
			},
			change: func(m map[string]any) { m["name"] = "Group B" }},
		{name: "clinician", path: "clinicians", topic: contract.TopicClinician, key: "id",
			types: [3]string{contract.ClinicianRecorded, contract.ClinicianCorrected, contract.ClinicianDeleted},
			body: func(fixture) map[string]any {
				return map[string]any{"npi": npi2, "credential": "NP", "name": map[string]any{"family": "Nightingale"},
					"tins": []string{"123456789"}}
			},
			change: func(m map[string]any) { m["credential"] = "PA" }},
		{name: "location", path: "locations", topic: contract.TopicLocation, key: "id",
			types: [3]string{contract.LocationRecorded, contract.LocationCorrected, contract.LocationDeleted},
			body: func(fixture) map[string]any {
				return map[string]any{"organization_id": "org-main", "name": "ED", "pos": "23", "cehrt": true, "hospital_id": "hosp-1"}
			},
			change: func(m map[string]any) { m["cehrt"] = false }},
		{name: "device", path: "devices", topic: contract.TopicDevice, key: "id",
			types: [3]string{contract.DeviceRecorded, contract.DeviceCorrected, contract.DeviceDeleted},
			body: func(f fixture) map[string]any {
				return map[string]any{"organization_id": "org-main", "kind": "kiosk", "public_key": pubKey(f)}
			},
			change: func(m map[string]any) { m["name"] = "Lobby kiosk" }},
		{name: "patient", path: "patients", topic: contract.TopicPatient, key: "id",
			types: [3]string{contract.PatientRegistered, contract.PatientUpdated, contract.PatientDeleted},
			body:  func(fixture) map[string]any { return patientBody("MRN-2") },
			change: func(m map[string]any) {
				m["opt_outs"] = []map[string]any{{"kind": "api", "since": day("05", "09:00")}}
			}},
		{name: "encounter", path: "encounters", topic: contract.TopicEncounter, key: "patient", list: "patient_id",
			types: [3]string{contract.EncounterRecorded, contract.EncounterCorrected, contract.EncounterDeleted},
			body: func(f fixture) map[string]any {
				return patient(f, map[string]any{"class": "inpatient", "start": day("06", "08:00"), "ccn": "123456", "new_patient": true})
			},
			change: func(m map[string]any) { m["end"] = day("08", "11:00") }},
		{name: "problem", path: "problems", topic: contract.TopicProblem, key: "patient", list: "patient_id",
			types: [3]string{contract.ProblemRecorded, contract.ProblemCorrected, contract.ProblemDeleted},
			body: func(f fixture) map[string]any {
				return patient(f, map[string]any{"code": code(contract.SystemICD10CM, "E11.9"), "status": "active",
					"recorded": day("04", "14:40"), "encounter_id": f.encounter, "npi": npi1, "note": "note " + canary})
			},
			change: func(m map[string]any) { m["status"] = "resolved"; m["abatement"] = day("20", "00:00") }},
		{name: "allergy", path: "allergies", topic: contract.TopicAllergy, key: "patient", list: "patient_id",
			types: [3]string{contract.AllergyRecorded, contract.AllergyCorrected, contract.AllergyDeleted},
			body: func(f fixture) map[string]any {
				return patient(f, map[string]any{"code": code(rxnorm, "7980"), "category": "medication", "status": "active",
					"recorded": day("04", "14:41"), "reaction": "hives " + canary})
			},
			change: func(m map[string]any) { m["status"] = "inactive" }},
		{name: "medication", path: "medications", topic: contract.TopicMed, key: "patient", list: "patient_id",
			types: [3]string{contract.MedicationRecorded, contract.MedicationCorrected, contract.MedicationDeleted},
			body: func(f fixture) map[string]any {
				return patient(f, map[string]any{"code": code(rxnorm, "860975"), "status": "active",
					"start": day("01", "00:00"), "recorded": day("04", "14:42")})
			},
			change: func(m map[string]any) { m["status"] = "stopped"; m["end"] = day("10", "00:00") }},
		{name: "result", path: "results", topic: contract.TopicResult, key: "patient", list: "patient_id",
			types: [3]string{contract.ResultRecorded, contract.ResultCorrected, contract.ResultDeleted},
			body: func(f fixture) map[string]any {
				return patient(f, map[string]any{"code": code(loinc, "4548-4"), "status": "final", "category": "laboratory",
					"effective": day("04", "15:00"), "issued": day("05", "08:00"), "value": map[string]any{"value": 7.1, "unit": "%"},
					"interpretation": "H", "order_id": f.order})
			},
			change: func(m map[string]any) { m["status"] = "amended" }},
		{name: "vital sign", path: "vital-signs", topic: contract.TopicVitalSign, key: "patient", list: "patient_id",
			types: [3]string{contract.VitalSignRecorded, contract.VitalSignCorrected, contract.VitalSignDeleted},
			body: func(f fixture) map[string]any {
				return patient(f, map[string]any{"code": code(loinc, "85354-9"), "effective": day("04", "14:35"),
					"performer": "practitioner", "npi": npi1, "components": bp(120, 80)})
			},
			change: func(m map[string]any) { m["components"] = bp(118, 79) }},
		{name: "smoking status", path: "smoking-statuses", topic: contract.TopicSmokingStatus, key: "patient", list: "patient_id",
			types: [3]string{contract.SmokingStatusRecorded, contract.SmokingStatusCorrected, contract.SmokingStatusDeleted},
			body: func(f fixture) map[string]any {
				return patient(f, map[string]any{"code": code(snomed, "8517006"), "effective": day("04", "14:36")})
			},
			change: func(m map[string]any) { m["code"] = code(snomed, "266919005") }},
		{name: "prescription", path: "prescriptions", topic: contract.TopicPrescription, key: "patient", list: "patient_id",
			types: [3]string{contract.PrescriptionRecorded, contract.PrescriptionCorrected, contract.PrescriptionDeleted},
			body: func(f fixture) map[string]any {
				return patient(f, map[string]any{"code": code(rxnorm, "860975"), "kind": "new", "permissible": true,
					"schedule": "II", "written": day("04", "14:45"), "npi": npi1, "tin": "123456789", "instructions": "take " + canary})
			},
			change: func(m map[string]any) { m["permissible"] = false },
			actions: []actionCase{
				{"query-formulary", map[string]any{"queried": day("04", "14:44"), "result": "covered"}, contract.PrescriptionQueried},
				{"transmit", map[string]any{"transmitted": day("04", "14:46"), "method": "electronic", "outcome": "succeeded",
					"pharmacy_id": "org-pharm"}, contract.PrescriptionTransmitted},
			}},
		{name: "PDMP query", path: "pdmp-queries", topic: contract.TopicPDMPQuery, key: "patient", list: "patient_id",
			types: [3]string{contract.PDMPQueryRecorded, contract.PDMPQueryCorrected, contract.PDMPQueryDeleted},
			body: func(f fixture) map[string]any {
				return patient(f, map[string]any{"schedule": "II", "queried": day("04", "14:43"), "outcome": "succeeded", "npi": npi1})
			},
			change: func(m map[string]any) { m["outcome"] = "unavailable" }},
		{name: "order", path: "orders", topic: contract.TopicOrder, key: "patient", list: "patient_id",
			types: [3]string{contract.OrderRecorded, contract.OrderCorrected, contract.OrderDeleted},
			body: func(f fixture) map[string]any {
				return patient(f, map[string]any{"category": "medication", "code": code(rxnorm, "860975"), "ordered": day("04", "14:47"),
					"npi": npi1, "entry_method": "cpoe", "entered_by": npi1, "entered_by_credential": "MD"})
			},
			change: func(m map[string]any) { m["entry_method"] = "verbal" }},
		{name: "clinical summary", path: "clinical-summaries", topic: contract.TopicClinicalSummary, key: "patient", list: "patient_id",
			types: [3]string{contract.ClinicalSummaryRecorded, contract.ClinicalSummaryCorrected, contract.ClinicalSummaryDeleted},
			body: func(f fixture) map[string]any {
				return patient(f, map[string]any{"encounter_id": f.encounter, "provided": day("05", "09:00"), "method": "portal"})
			},
			change: func(m map[string]any) { m["method"] = "paper" }},
		{name: "transition out", path: "transitions", topic: contract.TopicTransition, key: "patient", list: "patient_id",
			types: [3]string{contract.TransitionRecorded, contract.TransitionCorrected, contract.TransitionDeleted},
			body: func(f fixture) map[string]any {
				return patient(f, map[string]any{"direction": "out", "kind": "referral", "occurred": day("04", "15:00"),
					"encounter_id": f.encounter, "sender": map[string]any{"npi": npi1, "tin": "123456789"},
					"receiver": map[string]any{"npi": npi2, "organization_id": "org-other"}})
			},
			change: func(m map[string]any) { m["kind"] = "transition" },
			actions: []actionCase{
				{"summarize", map[string]any{"created": day("04", "15:05"),
					"contents": map[string]any{"problems": "present", "medications": "present", "allergies": "none"}}, contract.TransitionSummarized},
				{"transmit", map[string]any{"sent": day("04", "15:06"), "transport": "direct"}, contract.TransitionTransmitted},
				{"confirm-receipt", map[string]any{"confirmed": day("04", "15:07")}, contract.TransitionConfirmed},
			}},
		{name: "transition in", path: "transitions", topic: contract.TopicTransition, key: "patient", list: "patient_id",
			types: [3]string{contract.TransitionRecorded, contract.TransitionCorrected, contract.TransitionDeleted},
			body: func(f fixture) map[string]any {
				return patient(f, map[string]any{"direction": "in", "kind": "referral", "occurred": day("06", "10:00"),
					"sender": map[string]any{"npi": npi2}, "receiver": map[string]any{"npi": npi1}})
			},
			change: func(m map[string]any) { m["occurred"] = day("06", "10:30") },
			actions: []actionCase{
				{"request", map[string]any{"requested": day("06", "10:40")}, contract.TransitionRequested},
				{"receive", map[string]any{"received": day("06", "11:00")}, contract.TransitionReceived},
				{"incorporate", map[string]any{"incorporated": day("06", "11:30")}, contract.TransitionIncorporated},
			}},
		{name: "reconciliation", path: "reconciliations", topic: contract.TopicReconciliation, key: "patient", list: "patient_id",
			types: [3]string{contract.ReconciliationRecorded, contract.ReconciliationCorrected, contract.ReconciliationDeleted},
			body: func(f fixture) map[string]any {
				return patient(f, map[string]any{"transition_id": f.transitionIn, "medications": day("04", "10:00"),
					"allergies": day("04", "10:01"), "npi": npi1})
			},
			change: func(m map[string]any) { m["problems"] = day("04", "10:02") }},
		{name: "availability", path: "availabilities", topic: contract.TopicAvailability, key: "patient", list: "patient_id",
			types: [3]string{contract.AvailabilityRecorded, contract.AvailabilityCorrected, contract.AvailabilityDeleted},
			body: func(f fixture) map[string]any {
				return patient(f, map[string]any{"kind": "encounter", "available": day("04", "16:00"), "encounter_id": f.encounter, "npi": npi1})
			},
			change: func(m map[string]any) { m["available"] = day("04", "17:00") }},
		{name: "access grant", path: "access-grants", topic: contract.TopicAccessGrant, key: "patient", list: "patient_id",
			types: [3]string{contract.AccessGrantRecorded, contract.AccessGrantCorrected, contract.AccessGrantDeleted},
			body: func(f fixture) map[string]any {
				return patient(f, map[string]any{"kind": "api", "granted": day("05", "09:00"), "npi": npi1, "tin": "123456789"})
			},
			change: func(m map[string]any) { m["revoked"] = day("20", "09:00") }},
		{name: "VDT action", path: "vdt", topic: contract.TopicVDT, key: "patient", list: "patient_id",
			types: [3]string{contract.VDTRecorded, contract.VDTCorrected, contract.VDTDeleted},
			body: func(f fixture) map[string]any {
				return patient(f, map[string]any{"action": "view", "actor": "proxy", "representative_id": "rep-1", "occurred": day("06", "20:00")})
			},
			change: func(m map[string]any) { m["action"] = "download" }},
		{name: "PGHD", path: "pghd", topic: contract.TopicPGHD, key: "patient", list: "patient_id",
			types: [3]string{contract.PGHDRecorded, contract.PGHDCorrected, contract.PGHDDeleted},
			body: func(f fixture) map[string]any {
				return patient(f, map[string]any{"source": "patient", "incorporated": day("06", "10:00"), "code": code(loinc, "29463-7")})
			},
			change: func(m map[string]any) { m["source"] = "non-clinical" }},
		{name: "registry submission", path: "registry-submissions", topic: contract.TopicRegistrySubmission, key: "patient", list: "patient_id",
			types: [3]string{contract.RegistrySubmissionRecorded, contract.RegistrySubmissionCorrected, contract.RegistrySubmissionDeleted},
			body: func(f fixture) map[string]any {
				return patient(f, map[string]any{"measure": "immunization", "registry_id": "org-iis", "submitted": day("04", "17:00"),
					"outcome": "pending", "code": code(contract.SystemCVX, "140")})
			},
			change: func(m map[string]any) { m["outcome"] = "accepted" }},
		{name: "consent", path: "consents", topic: contract.TopicConsent, key: "patient", list: "patient_id",
			types: [3]string{contract.ConsentRecorded, contract.ConsentCorrected, contract.ConsentDeleted},
			body: func(f fixture) map[string]any {
				return patient(f, map[string]any{"scope": "shared-records", "decision": "deny", "from": "2025-06-01T00:00:00Z"})
			},
			change: func(m map[string]any) { m["to"] = "2025-07-01T00:00:00Z" }},
		{name: "shared record", path: "shared-records", topic: contract.TopicSharedRecord, key: "patient", list: "patient_id",
			types: [3]string{contract.SharedRecordRecorded, contract.SharedRecordCorrected, contract.SharedRecordDeleted},
			body: func(f fixture) map[string]any {
				return patient(f, map[string]any{"kind": "document", "source_id": "org-other", "code": code(loinc, "24627-2"),
					"performed": day("01", "10:00"), "received": day("02", "10:00"), "endpoint": "https://other.example/docs/1",
					"title": "CT report " + canary})
			},
			change: func(m map[string]any) { m["received"] = day("02", "11:00") }},
		{name: "registry engagement", path: "registry-engagements", topic: contract.TopicRegistryEngagement,
			key: "tin:123456789", list: "entity",
			types: [3]string{contract.RegistryEngagementRecorded, contract.RegistryEngagementCorrected, contract.RegistryEngagementDeleted},
			body: func(fixture) map[string]any {
				return map[string]any{"entity": map[string]any{"kind": "tin", "id": "123456789"}, "measure": "immunization",
					"registry_id": "org-iis", "status": "testing", "registered": "2025-01-15T00:00:00Z", "since": "2025-02-01T00:00:00Z"}
			},
			change: func(m map[string]any) { m["status"] = "production"; m["since"] = "2025-03-01T00:00:00Z" }},
		{name: "attestation", path: "attestations", topic: contract.TopicAttestation, key: "ccn:123456", list: "entity",
			types: [3]string{contract.AttestationRecorded, contract.AttestationCorrected, contract.AttestationDeleted},
			body: func(fixture) map[string]any {
				return map[string]any{"entity": map[string]any{"kind": "ccn", "id": "123456"}, "kind": "cds-interventions",
					"answer": true, "performed": "2025-01-02T00:00:00Z", "from": "2025-01-01T00:00:00Z"}
			},
			change: func(m map[string]any) { m["to"] = "2025-06-30T00:00:00Z" }},
		{name: "payment inputs", path: "payment-inputs", topic: contract.TopicPaymentInputs, key: "ccn:123456", list: "entity",
			types: [3]string{contract.PaymentInputsRecorded, contract.PaymentInputsCorrected, contract.PaymentInputsDeleted},
			body: func(fixture) map[string]any {
				return map[string]any{"entity": map[string]any{"kind": "ccn", "id": "123456"}, "year": 2015, "program": "medicare",
					"first_payment_year": 2013, "discharges": 10000, "medicare_part_a_days": 30000, "medicare_part_c_days": 5000,
					"total_inpatient_days": 100000, "total_charges_cents": 50000000000, "charity_charges_cents": 5000000000}
			},
			change: func(m map[string]any) { m["discharges"] = 10500 }},
	}
}

func bp(sys, dia float64) []map[string]any {
	return []map[string]any{
		{"code": code(contract.SystemLOINC, "8480-6"), "value": map[string]any{"value": sys, "unit": "mm[Hg]"}},
		{"code": code(contract.SystemLOINC, "8462-4"), "value": map[string]any{"value": dia, "unit": "mm[Hg]"}},
	}
}

func pubKey(f fixture) string {
	return base64.StdEncoding.EncodeToString(f.deviceKey.Public().(ed25519.PublicKey))
}

// exercise runs one kind through create, retry, read, list, correct, its actions and
// delete, checking the answers and that each write published exactly its event.
func (a *api) exercise(t *testing.T, f fixture, k kindCase) {
	before := len(a.outbox())
	body := k.body(f)
	created := a.post("/v1/"+k.path, body)
	id := created["id"].(string)
	item := "/v1/" + k.path + "/" + id
	key := k.key
	switch k.key {
	case "patient":
		key = f.patient
	case "id":
		key = id
	}

	// A retry with the assigned ID and the same content is absorbed.
	body["id"] = id
	if r := a.do(http.MethodPost, "/v1/"+k.path, body); r.code != http.StatusOK {
		t.Errorf("retry: %d %s", r.code, r.raw)
	}
	if r := a.do(http.MethodGet, item, nil); r.code != http.StatusOK || r.raw != a.do(http.MethodGet, item, nil).raw ||
		r.body["version"] != 1.0 {
		t.Errorf("GET: %d %s", r.code, r.raw)
	}
	if k.list != "" {
		q := "/v1/" + k.path + "?" + k.list + "=" + key
		if r := a.do(http.MethodGet, q, nil); r.code != http.StatusOK || !strings.Contains(r.raw, `"id":"`+id+`"`) {
			t.Errorf("list %s: %d %s", q, r.code, r.raw)
		}
	} else if r := a.do(http.MethodGet, "/v1/"+k.path+"?limit=1000", nil); r.code != http.StatusOK || !strings.Contains(r.raw, `"id":"`+id+`"`) {
		t.Errorf("list: %d %s", r.code, r.raw)
	}
	a.searchByDay(t, k, key, id, a.since(before)[0])
	// A correction with the same content changes nothing; a real one is version 2.
	if r := a.do(http.MethodPut, item, body); r.code != http.StatusOK || r.body["version"] != 1.0 {
		t.Errorf("no-op PUT: %d %s", r.code, r.raw)
	}
	k.change(body)
	if r := a.do(http.MethodPut, item, body); r.code != http.StatusOK || r.body["version"] != 2.0 {
		t.Errorf("PUT: %d %s", r.code, r.raw)
	}
	want := []string{k.types[0], k.types[1]}
	for _, act := range k.actions {
		if r := a.do(http.MethodPost, item+"/"+act.name, act.body); r.code != http.StatusOK {
			t.Errorf("action %s: %d %s", act.name, r.code, r.raw)
		}
		want = append(want, act.typ)
	}
	if r := a.do(http.MethodDelete, item, nil); r.code != http.StatusNoContent {
		t.Errorf("DELETE: %d %s", r.code, r.raw)
	}
	if r := a.do(http.MethodGet, item, nil); r.code != http.StatusNotFound {
		t.Errorf("GET after DELETE: %d", r.code)
	}
	want = append(want, k.types[2])

	evs := a.since(before)
	if got := types(evs); got != strings.Join(want, " ") {
		t.Fatalf("events %q, want %q", got, strings.Join(want, " "))
	}
	for _, e := range evs {
		if e.Topic != k.topic || e.Key != key {
			t.Errorf("%s on %s keyed %q, want %s keyed %q", e.Type, e.Topic, e.Key, k.topic, key)
		}
		if e.Time.IsZero() || e.Recorded.IsZero() {
			t.Errorf("%s: clinical time %v, recorded %v", e.Type, e.Time, e.Recorded)
		}
		if !slices.Contains(mapValues(e.Data), any(id)) {
			t.Errorf("%s payload %s does not name the resource %s", e.Type, e.Raw, id)
		}
	}
}

// searchByDay checks the search by clinical day: the day of the resource's recorded
// event finds it, the next day does not. A kind whose clinical time is when it was
// recorded has no day to search by: from is refused, naming it.
func (a *api) searchByDay(t *testing.T, k kindCase, key, id string, recorded published) {
	t.Helper()
	q := "/v1/" + k.path + "?limit=1000"
	if k.list != "" {
		q = "/v1/" + k.path + "?" + k.list + "=" + key
	}
	day := recorded.Time.UTC().Format(time.DateOnly)
	next := recorded.Time.UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	r := a.do(http.MethodGet, q+"&from="+day+"&to="+day, nil)
	if recorded.Time.Equal(recorded.Recorded) {
		if r.code != http.StatusBadRequest || r.field() != "from" {
			t.Errorf("search of an undated kind: %d %s, want 400 naming from", r.code, r.raw)
		}
		return
	}
	if r.code != http.StatusOK || !strings.Contains(r.raw, `"id":"`+id+`"`) {
		t.Errorf("search on %s: %d %s", day, r.code, r.raw)
	}
	if r := a.do(http.MethodGet, q+"&from="+next, nil); r.code != http.StatusOK || strings.Contains(r.raw, `"id":"`+id+`"`) {
		t.Errorf("search from %s: %d %s, want it left out", next, r.code, r.raw)
	}
}

func mapValues(m map[string]any) []any {
	var out []any
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestEveryKind runs every kind of resource through its JSON API on both engines, and
// then checks that the events published cover every event type records owns and that
// none carries PHI.
func TestEveryKind(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db, record.Config{})
		f := a.setUp()
		for _, k := range kindCases() {
			t.Run(k.name, func(t *testing.T) { a.exercise(t, f, k) })
		}
		a.tabletFlow(t, f)
		a.avoidDuplicate(t, f)
		if r := a.do(http.MethodDelete, "/v1/patients/"+f.patient, nil); r.code != http.StatusNoContent {
			t.Fatalf("delete patient: %d %s", r.code, r.raw)
		}

		evs := a.outbox()
		seen := map[string]bool{}
		for _, e := range evs {
			seen[e.Type] = true
			if strings.Contains(e.Raw, canary) || strings.Contains(e.Raw, "1970-01-02") {
				t.Errorf("%s carries PHI: %s", e.Type, e.Raw)
			}
			spec, ok := contract.Lookup(e.Type)
			if !ok || spec.Topic != e.Topic || spec.Owner != "records" {
				t.Errorf("%s on %s is not in records' contract", e.Type, e.Topic)
			}
		}
		for _, s := range contract.Catalog {
			if s.Owner == "records" && !seen[s.Type] {
				t.Errorf("no test published %s", s.Type)
			}
		}
	})
}
