package run

import (
	"os"
	"strings"
	"testing"
)

// TestDeckErrorsAreDocumented: the runner reports as DECK-ERROR exactly the values
// docs/conformance.md lists with their reasoning.
func TestDeckErrorsAreDocumented(t *testing.T) {
	b, err := os.ReadFile("../../../../../docs/conformance.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "## DECK-ERROR")
	if !ok {
		t.Fatal("docs/conformance.md has no DECK-ERROR section")
	}
	documented := map[string]bool{}
	for _, line := range strings.Split(table, "\n") {
		f := strings.Split(line, "|")
		if len(f) < 8 || !strings.Contains(f[1], "/") {
			continue
		}
		cell := func(i int) string { return strings.TrimSpace(f[i]) }
		documented[cell(1)+" "+cell(2)+" "+cell(3)+" "+cell(4)+" "+cell(5)] = true
	}
	for k := range deckErrors {
		if !documented[k] {
			t.Errorf("deck error %q is not in docs/conformance.md", k)
		}
	}
	for k := range documented {
		if _, ok := deckErrors[k]; !ok {
			t.Errorf("docs/conformance.md lists %q, which the runner does not", k)
		}
	}
	if len(deckErrors) == 0 {
		t.Error("no deck errors: the test would not catch a divergence")
	}
}

func TestDeckErrorKeyIgnoresTheMeasureID(t *testing.T) {
	l := Line{Deck: "2023/EP_RT1_G2", Scenario: 3, Segment: 2, Entity: "TIN A/Provider 1",
		Measure: "PI_EP_1[controlled-substances-excluded]:automated:_Automated_Transmissions"}
	if !IsDeckError(l) {
		t.Errorf("%s is documented", deckErrorKey(l))
	}
	l.Scenario = 1
	if IsDeckError(l) {
		t.Errorf("%s is not documented", deckErrorKey(l))
	}
}
