package deck_test

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/attest-ehr/attest/services/platform/internal/conformance/deck"
)

// The published decks, as copied into the project.
var published = os.DirFS("../decks")

func TestLoadAllPublishedDecks(t *testing.T) {
	decks, err := deck.LoadAll(published, ".")
	if err != nil {
		t.Fatal(err)
	}
	var values, stale, entries int
	for _, d := range decks {
		if d.Kind != "EP" && d.Kind != "EH" || d.Edition != "2023" && d.Edition != "2025" {
			t.Errorf("%s: kind %q edition %q", d.File, d.Kind, d.Edition)
		}
		for _, sc := range d.Scenarios {
			for _, g := range sc.Segments {
				for _, e := range g.Entries {
					entries++
					if e.Title == "" || len(e.Values) == 0 {
						t.Errorf("%s scenario %d: an entry without title or values", d.File, sc.Index)
					}
				}
				for _, e := range g.Expected {
					values++
					if d.Stale(sc.Index, g.Index, e) {
						stale++
					}
				}
			}
		}
	}
	// ONC publishes 2,230 expected values across the two editions (the count);
	// a change here means the copied decks changed.
	if len(decks) != 92 || values != 2230 {
		t.Errorf("%d decks with %d expected values, want 92 and 2230", len(decks), values)
	}
	t.Logf("%d decks, %d entries, %d expected values, %d stale by the generic rule", len(decks), entries, values, stale)
}

func TestStaleRule(t *testing.T) {
	const file = `{"test_short_name":"RT 9 test","scenarios":[
	 {"scenario_title":"Scenario 1","segments":[{"segment_total":{"numerator_value":2,"denominator_value":3},
	   "segment_entries":[{"entry_title":"Patient  Seen","denom":true,"entry_values":[{"patient_id":"A","entry_value":"Yes"}]}]}]},
	 {"scenario_title":"Scenario 2","segments":[{"segment_total":{"numerator_value":2,"denominator_value":4},"segment_entries":[]}]},
	 {"scenario_title":"Scenario 3","segments":[{"segment_total":{"numerator_value":5,"denominator_value":4},
	   "segment_entries":[{"entry_title":"x","numer":true,"entry_values":[{"patient_id":"A","entry_value":3}]}]}]}]}`
	fsys := fstest.MapFS{"2025/RT9/EH_RT9_G1.json": {Data: []byte(file)}}
	d, err := deck.Load(fsys, "2025/RT9/EH_RT9_G1.json")
	if err != nil {
		t.Fatal(err)
	}
	if d.Scenarios[0].Segments[0].Entries[0].Title != "Patient Seen" {
		t.Errorf("title not normalized: %q", d.Scenarios[0].Segments[0].Entries[0].Title)
	}
	stale := map[string]bool{}
	for _, sc := range d.Scenarios {
		for _, e := range sc.Segments[0].Expected {
			if d.Stale(sc.Index, 1, e) {
				stale[sc.Title+" "+e.Metric] = true
			}
		}
	}
	// Scenario 2 adds nothing, so its denominator 4 contradicts scenario 1's 3; its
	// numerator agrees. Scenario 3 has entries: never stale.
	if len(stale) != 1 || !stale["Scenario 2 denominator"] {
		t.Errorf("stale = %v, want only scenario 2's denominator", stale)
	}
}

func TestLoadRefusesWhatItDoesNotKnow(t *testing.T) {
	tests := map[string]string{
		"EP_RT1_G1.json": `{"scenarios":[{"segments":[{"segment_entries":[]}]}]}`, // no total
		"EP_RT2_G1.json": `{"scenarios":[]}`,                                      // no scenarios
		"EP_RT3_G1.json": `{"scenarios":[{"segments":[{"segment_total":{}}]}]}`,   // empty total
		"EP_RT4_G1.json": `{"scenarios":[{"segments":[{"segment_total":{"numerator_value":1},"segment_entries":[` + // object value
			`{"entry_title":"t","entry_values":[{"patient_id":"A","entry_value":{"x":1}}]}]}]}]}`,
		"notes.json": `{}`,
	}
	for name, body := range tests {
		fsys := fstest.MapFS{"2025/RT/" + name: {Data: []byte(body)}}
		if _, err := deck.Load(fsys, "2025/RT/"+name); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v, want one naming the file", name, err)
		}
	}
}
