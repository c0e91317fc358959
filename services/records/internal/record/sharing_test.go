package record_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/records/internal/record"
)

const thorax = "51185008" // SNOMED CT: thoracic structure

func study(f fixture, source, modality, site, performed string) map[string]any {
	return map[string]any{"patient_id": f.patient, "kind": "imaging-study", "source_id": source, "modality": modality,
		"body_site": site, "performed": performed, "received": performed, "endpoint": "https://pacs.other.example/dicomweb"}
}

func imagingOrder(f fixture, modality, site, ordered string) map[string]any {
	return map[string]any{"patient_id": f.patient, "category": "imaging", "code": code(contract.SystemCPT, "71250"),
		"ordered": ordered, "npi": npi1, "entry_method": "cpoe", "entered_by": npi1, "entered_by_credential": "MD",
		"modality": modality, "body_site": site}
}

// avoidDuplicate receives a CT of the chest from another institution under the
// fixture's consent; an order for the same study three days later is not placed (and
// an event records the avoided duplicate) unless the clinician insists.
func (a *api) avoidDuplicate(t *testing.T, f fixture) {
	before := len(a.outbox())
	s := a.post("/v1/shared-records", study(f, "org-other", "CT", thorax, day("01", "10:00")))
	if s["consent_id"] == nil || s["consent_id"] == "" {
		t.Errorf("shared record accepted without naming its consent: %v", s)
	}
	r := a.do(http.MethodPost, "/v1/orders", imagingOrder(f, "CT", thorax, day("04", "15:00")))
	dup, _ := r.body["duplicate"].(map[string]any)
	if r.code != http.StatusOK || r.body["placed"] != false || dup["shared_record_id"] != s["id"] {
		t.Fatalf("duplicate order: %d %s", r.code, r.raw)
	}
	insisted := imagingOrder(f, "CT", thorax, day("04", "15:01"))
	insisted["allow_duplicate"] = true
	o := a.post("/v1/orders", insisted)
	if o["duplicate_of"] != s["id"] {
		t.Errorf("order placed despite the duplicate does not name it: %v", o)
	}
	evs := a.since(before)
	if got := types(evs); got != contract.SharedRecordRecorded+" "+contract.DuplicateStudyAvoided+" "+contract.OrderRecorded {
		t.Fatalf("events %q", got)
	}
	if d := evs[1].Data; d["duplicate_id"] != dup["id"] || d["shared_record_id"] != s["id"] || d["modality"] != "CT" || evs[1].Key != f.patient {
		t.Errorf("avoided event %s", evs[1].Raw)
	}
	if evs[2].Data["duplicate_of"] != s["id"] {
		t.Errorf("order event %s", evs[2].Raw)
	}
}

func TestSharedRecordsUnderConsent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db, record.Config{DuplicateWindow: 10 * 24 * time.Hour})
		f := a.setUp()
		a.avoidDuplicate(t, f)

		// Records from an institution the consent does not cover, or for a patient
		// without one, are refused and leave no trace.
		p2 := a.post("/v1/patients", patientBody("MRN-S"))["id"].(string)
		before := len(a.outbox())
		noConsent := study(f, "org-other", "CT", thorax, day("01", "10:00"))
		noConsent["patient_id"] = p2
		for name, body := range map[string]map[string]any{
			"no consent":          noConsent,
			"institution outside": study(f, "org-iis", "CT", thorax, day("01", "10:00")),
		} {
			if r := a.do(http.MethodPost, "/v1/shared-records", body); r.code != http.StatusUnprocessableEntity || r.field() != "source_id" {
				t.Errorf("%s: %d %s", name, r.code, r.raw)
			}
		}
		if n := len(a.since(before)); n != 0 {
			t.Errorf("refused shared records published %d events", n)
		}

		// Not every imaging order is a duplicate: another site, another modality, or a
		// study older than the window.
		for name, o := range map[string]map[string]any{
			"another body site": imagingOrder(f, "CT", "12738006", day("04", "16:00")), // brain structure
			"another modality":  imagingOrder(f, "MR", thorax, day("04", "16:00")),
			"outside window":    imagingOrder(f, "CT", thorax, day("20", "16:00")),
			"before the study":  imagingOrder(f, "CT", thorax, "2025-02-20T10:00:00Z"),
		} {
			if r := a.do(http.MethodPost, "/v1/orders", o); r.code != http.StatusCreated || r.body["duplicate_of"] != nil {
				t.Errorf("%s: %d %s, want the order placed", name, r.code, r.raw)
			}
		}

		// A later deny for that institution wins: the study is no longer shown or used.
		a.post("/v1/consents", map[string]any{"patient_id": f.patient, "scope": "shared-records", "decision": "deny",
			"from": "2025-03-10T00:00:00Z", "organization_ids": []string{"org-other"}})
		list := a.do(http.MethodGet, "/v1/shared-records?patient_id="+f.patient, nil)
		if list.code != http.StatusOK || strings.Contains(list.raw, `"kind":"imaging-study"`) {
			t.Errorf("list after deny: %d %s", list.code, list.raw)
		}
		items := a.do(http.MethodGet, "/v1/orders?patient_id="+f.patient, nil)
		if items.code != http.StatusOK {
			t.Fatal(items.raw)
		}
		shared := a.outbox()
		var studyID string
		for _, e := range shared {
			if e.Type == contract.SharedRecordRecorded {
				studyID = e.Data["shared_record_id"].(string)
			}
		}
		if r := a.do(http.MethodGet, "/v1/shared-records/"+studyID, nil); r.code != http.StatusForbidden {
			t.Errorf("GET after deny: %d %s, want 403", r.code, r.raw)
		}
		if r := a.do(http.MethodPost, "/v1/orders", imagingOrder(f, "CT", thorax, day("05", "09:00"))); r.code != http.StatusCreated {
			t.Errorf("order after deny: %d %s, want it placed", r.code, r.raw)
		}
	})
}
