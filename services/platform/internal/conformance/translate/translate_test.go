package translate

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/attest-ehr/attest/services/platform/internal/conformance/deck"
)

func TestUnderstandReadsMeaningNotExactTitles(t *testing.T) {
	tests := []struct {
		title string
		want  meaning
	}{
		{"Patient Seen During EHR Reporting Period", meaning{fact: factSeen}},
		{"Patient  seen within the performance period", meaning{fact: factSeen}}, // reworded
		{"Patient Discharged During Reporting / Performance Period", meaning{fact: factDischarged}},
		{"Patient or Authorized Representative Provided Access to View, Download, and Transmit Their Health Information within 48 hours (Medicaid) or 4 business days (MIPS)", meaning{fact: factAccessVDT}},
		{"Patient Health Information is Available to Access via API within 36 hours", meaning{fact: factAccessAPI}},
		{"Number of Controlled Prescriptions Written During Reporting / Performance Period", meaning{fact: factRxWritten, controlled: rxControlled}},
		{"Number of Prescriptions Written During Reporting / Performance Period (not controlled)", meaning{fact: factRxWritten, controlled: rxNotControlled}},
		{"Number of Prescriptions Written", meaning{fact: factRxWritten}},
		{"Number of Controlled Substances Generated and Transmitted Electronically", meaning{fact: factRxSent, controlled: rxControlled}},
		{"Number of Prescriptions (not controlled) Generated and Transmitted Electronically", meaning{fact: factRxSent, controlled: rxNotControlled}},
		{"Prescriptions (New, Changed) Written Within the Reporting Period", meaning{fact: factRxKind}},
		{"Prescription(s) Queried for Drug Formulary", meaning{fact: factFormulary}},
		{"Transition of Care or Referral Within Reporting/Performance Period", meaning{fact: factTransitionOut}},
		{"Summary of Care Record (including all CMS required information or indication of none) Created and Transmitted / Exchanged Electronically During Calendar Year", meaning{fact: factSummarySent}},
		{"Receipt of Summary of Care Record Confirmed During Calendar Year", meaning{fact: factReceiptConfirmed}},
		{"Transitioned, Referred, New, or Existing Patient Within the Reporting Period", meaning{fact: factTransitionIn}},
		{"Number of Electronic Summary of Care Records Received", meaning{fact: factRecordsReceived}},
		{"Number of Electronic Summary of Care Records Where Medication Allergy Reconciliation Occurred During the Performance Period", meaning{fact: factReconciled, list: listAllergies}},
		{"Number of Electronic Summary of Care Records Where Medication Reconciliation Occurred During the Performance Period", meaning{fact: factReconciled, list: listMedications}},
		{"Current Problem List Reconciliation Performed During the Calendar Year", meaning{fact: factListReconciled, list: listProblems}},
		{"Summary of Care Record Requested and Available or Unavailable During Calendar Year", meaning{fact: factRequested}},
		{"Summary of Care Record Received through Request or Retrieval During Calendar Year", meaning{fact: factReceived}},
		{"Summary of Care Record Incorporated During Calendar Year", meaning{fact: factIncorporated}},
		{"Number of Diagnostic Imaging Orders Recorded Using CPOE", meaning{fact: factOrdersCPOE, category: "imaging"}},
		{"Laboratory Orders Created", meaning{fact: factOrdersCreated, category: "laboratory"}},
		{"Patient Accessed Health Information Through API During the Calendar Year", meaning{fact: factAccessedAPI}},
		{"Patient or Authorized Representative Viewed (Downloaded or Transmitted) their Information During the Calendar Year", meaning{fact: factViewed}},
		{"Patient Data From Non-Clinical Settings Captured During Reporting Period", meaning{fact: factPGHD}},
		{"CEHRT Identifies Patient-Specific Education Resources  During  Calendar Year", meaning{fact: factEduIdentified}},
		{"EP/EC Provides Electronic Access to Patient-Specific Educational Resources Identified by CEHRT During the  Calendar Year", meaning{fact: factEduProvided}},
		{"EH Provides Electronic Access to Patient-Specific Educational Resources Identified by CEHRT During Calendar Year", meaning{fact: factEduProvided}},
		{"Patient or Patient Representative Sends Secure Electronic Message to EP/EC During the Calendar Year", meaning{fact: factMsgFromPatient}},
		{"Patient or Patient Representative Sends Secure Electronic Message to EH During Calendar Year", meaning{fact: factMsgFromPatient}},
		{"EP/EC Replies to Secure Electronic Message from Patient or Patient Representative During the Calendar Year", meaning{fact: factMsgReply}},
		{"EH Sends Secure Electronic Message to Patient or Patient Representative During Calendar Year", meaning{fact: factMsgToPatient}},
		{"EP/EC Sends Secure Message to Provider Including Patient or Patient Representative During the Calendar Year", meaning{fact: factMsgCopying}},
	}
	for _, tt := range tests {
		got, err := understand(tt.title)
		if err != nil || got != tt.want {
			t.Errorf("understand(%q) = %+v, %v; want %+v", tt.title, got, err, tt.want)
		}
	}
	if _, err := understand("Patient Received a Postcard"); err == nil || !strings.Contains(err.Error(), "Postcard") {
		t.Errorf("an unknown entry: %v, want an error naming it", err)
	}
}

func TestSplitResolvesQualifiedAndTotalCounts(t *testing.T) {
	n := func(v int) *int { return &v }
	tests := []struct {
		in     [3]*int
		nc, c  int
		errors bool
	}{
		{[3]*int{rxNotControlled: n(2), rxControlled: n(1)}, 2, 1, false},
		{[3]*int{rxAll: n(3), rxControlled: n(1)}, 2, 1, false},
		{[3]*int{rxAll: n(3), rxNotControlled: n(3)}, 3, 0, false},
		{[3]*int{rxAll: n(2), rxNotControlled: n(2), rxControlled: n(1)}, 0, 0, true},
		{[3]*int{rxAll: n(1), rxControlled: n(2)}, 0, 0, true},
		{[3]*int{}, 0, 0, false},
	}
	for i, tt := range tests {
		nc, c, err := split(tt.in)
		if (err != nil) != tt.errors || !tt.errors && (nc != tt.nc || c != tt.c) {
			t.Errorf("%d: split = %d, %d, %v; want %d, %d, error %v", i, nc, c, err, tt.nc, tt.c, tt.errors)
		}
	}
}

func TestNPIsHaveTheirCheckDigit(t *testing.T) {
	// 1234567893 is CMS's published example of a valid NPI.
	if got := npi("123456789"); got != "1234567893" {
		t.Errorf("npi(123456789) = %s, want 1234567893", got)
	}
	a, b := NewEntities(1), NewEntities(2)
	if a.NPI["1"] == b.NPI["1"] || a.TIN["A"] == b.TIN["A"] || a.CCN == b.CCN || a.NPI["1"] == a.NPI["2"] {
		t.Errorf("replays share entities: %+v %+v", a, b)
	}
}

func TestTranslateADeck(t *testing.T) {
	const file = `{"test_short_name":"RT 2a","scenarios":[
	 {"scenario_title":"Scenario 1","segments":[{"segment_total":{"providers":[{"provider":"TIN A/Provider 1","numerator_value":1,"denominator_value":1}]},
	   "segment_entries":[
	    {"entry_title":"Patient Seen During EHR Reporting Period","denom":true,"entry_values":[{"patient_id":"Ann Lee","providers":[{"provider":"TIN A/Provider 1","entry_value":"First encounter"}]}]},
	    {"entry_title":"Patient Provided Access to View, Download, and Transmit within 4 business days","numer":true,"automatable_step":{"title":"Auto"},
	     "entry_values":[{"patient_id":"Ann Lee","providers":[{"provider":"TIN A/Provider 1","entry_value":"No"}]}]}]}]}]}`
	d, err := deck.Load(fstest.MapFS{"2025/RT2/EP_RT2b_G2.json": {Data: []byte(file)}}, "2025/RT2/EP_RT2b_G2.json")
	if err != nil {
		t.Fatal(err)
	}
	paths := func(r Replay) string {
		var p []string
		for _, q := range r.Scenarios[0] {
			p = append(p, strings.TrimPrefix(q.Path, "/records/v1/"))
		}
		return strings.Join(p, " ")
	}
	r, err := Translate(d, "", 0, 2025)
	if err != nil {
		t.Fatal(err)
	}
	// The deck tests view/download/transmit only: each visit gets the API in time.
	if got, want := paths(r), "patients encounters availabilities access-grants"; got != want {
		t.Errorf("as written: %s, want %s", got, want)
	}
	auto, err := Translate(d, "Auto", 1, 2025)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := paths(auto), "patients encounters availabilities access-grants access-grants"; got != want {
		t.Errorf("automated: %s, want %s", got, want)
	}
	if r.Entities.NPI["1"] == auto.Entities.NPI["1"] {
		t.Error("the automated replay shares the clinician of the one as written")
	}
}

// TestTranslateEducation: education identified and provided becomes a dated provision
// recorded through education's API, credited to the clinician in the group (or the
// hospital), after the pipeline settled (education learns the patient from records);
// identified but not provided records nothing; provided without identification is a
// provision that does not count; the automated replay provides whatever was identified.
func TestTranslateEducation(t *testing.T) {
	const file = `{"test_short_name":"RT 3","scenarios":[
	 {"scenario_title":"Scenario 1","segments":[{"segment_total":{"providers":[{"provider":"Provider 1","numerator_value":1,"denominator_value":3}]},
	   "segment_entries":[
	    {"entry_title":"Patient Seen During Reporting / Performance Period","denom":true,"entry_values":[
	     {"patient_id":"Ann Lee","providers":[{"provider":"Provider 1","entry_value":"First encounter"}]},
	     {"patient_id":"Bo Ray","providers":[{"provider":"Provider 1","entry_value":"First encounter"}]},
	     {"patient_id":"Cy Fox","providers":[{"provider":"Provider 1","entry_value":"First encounter"}]}]},
	    {"entry_title":"CEHRT Identifies Patient-Specific Education Resources During the Calendar Year","entry_values":[
	     {"patient_id":"Ann Lee","providers":[{"provider":"Provider 1","entry_value":"Yes"}]},
	     {"patient_id":"Bo Ray","providers":[{"provider":"Provider 1","entry_value":"Yes"}]},
	     {"patient_id":"Cy Fox","providers":[{"provider":"Provider 1","entry_value":"No"}]}]},
	    {"entry_title":"EP/EC Provides Electronic Access to Patient-Specific Educational Resources Identified by CEHRT During the Calendar Year",
	     "numer":true,"automatable_step":{"title":"Auto"},"entry_values":[
	     {"patient_id":"Ann Lee","providers":[{"provider":"Provider 1","entry_value":"Provided"}]},
	     {"patient_id":"Bo Ray","providers":[{"provider":"Provider 1","entry_value":"Not provided"}]},
	     {"patient_id":"Cy Fox","providers":[{"provider":"Provider 1","entry_value":"Provided"}]}]}]}]}]}`
	d, err := deck.Load(fstest.MapFS{"2023/RT3/EP_RT3_G2.json": {Data: []byte(file)}}, "2023/RT3/EP_RT3_G2.json")
	if err != nil {
		t.Fatal(err)
	}
	provisions := func(r Replay) []map[string]any {
		var out []map[string]any
		settled := false
		for _, q := range r.Scenarios[0] {
			if q.Path != "/education/v1/provisions" {
				if settled {
					t.Errorf("%s after the provisions", q.Path)
				}
				continue
			}
			if len(out) == 0 && !q.Settle {
				t.Error("the first provision does not wait for the pipeline")
			}
			settled = true
			out = append(out, q.Body.(map[string]any))
		}
		return out
	}
	r, err := Translate(d, "", 0, 2020)
	if err != nil {
		t.Fatal(err)
	}
	ps := provisions(r)
	if len(ps) != 2 || ps[0]["identified_by_system"] != true || ps[1]["identified_by_system"] != false {
		t.Fatalf("as written: %v, want Ann Lee's identified provision and Cy Fox's unidentified one", ps)
	}
	for _, p := range ps {
		at, ok := p["provided"].(time.Time)
		if !ok || at.Year() != 2020 || p["npi"] != r.Entities.NPI["1"] || p["tin"] != r.Entities.TIN["A"] || p["ccn"] != nil ||
			p["channel"] != "portal" {
			t.Errorf("provision %v: want dated in 2020, portal, credited to Provider 1 in TIN A", p)
		}
	}
	auto, err := Translate(d, "Auto", 1, 2020)
	if err != nil {
		t.Fatal(err)
	}
	ps = provisions(auto)
	identified := 0
	for _, p := range ps {
		if p["identified_by_system"] == true {
			identified++
		}
	}
	if len(ps) != 3 || identified != 2 {
		t.Errorf("automated: %v, want all three provided, the two identified as such", ps)
	}
}

// Every published deck translates.
func TestEveryPublishedDeckTranslates(t *testing.T) {
	decks, err := deck.LoadAll(os.DirFS("../decks"), ".")
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range decks {
		for _, a := range Automations(d) {
			_, err := Translate(d, a, i, 2025)
			if err != nil {
				t.Errorf("%s (%q): %v", d.File, a, err)
			}
		}
	}
}
