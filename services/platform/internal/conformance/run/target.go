package run

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/attest-ehr/attest/services/platform/internal/conformance/deck"
)

// programYear is a program and performance year a deck's values may be counted in.
type programYear struct {
	program string
	year    int
}

// edition is where the values of a deck edition are counted, by kind of deck and kind
// of entity. The 2025 edition tests MIPS ("TIN A/Provider 1", "Group/TIN A") and the
// Medicare hospital program. The January 2023 edition was written for 2020 (its
// programs are "mips_2020" and "medicaid_2020"): MIPS for the TIN entities, Medicaid
// Stage 3 for a clinician alone ("Provider 1") and for hospitals, whose RT15 is the
// Medicare PI measure Stage 3 does not have.
type edition struct {
	year  int
	kinds map[string]map[string][]programYear // deck kind → entity kind → where, in order
}

var editions = map[string]edition{
	"2025": {year: 2025, kinds: map[string]map[string][]programYear{
		"EP": {"tin_npi": {{"mips-pi", 2025}}, "tin": {{"mips-pi", 2025}}},
		"EH": {"ccn": {{"medicare-pi-hospital", 2025}}},
	}},
	"2023": {year: 2020, kinds: map[string]map[string][]programYear{
		"EP": {"tin_npi": {{"mips-pi", 2020}}, "tin": {{"mips-pi", 2020}}, "npi": {{"mu-stage3", 2020}}},
		"EH": {"ccn": {{"mu-stage3", 2020}, {"medicare-pi-hospital", 2020}}},
	}},
}

// byTest names the measure a required test checks where the deck's measure name is not
// a catalog title: the 2023 decks name Stage 3 measures by number ("Measure 2"), and
// their RT15 title ("Receiving and Reconciling") is the 2021 one. ONC's required test
// numbers are stable across editions; the first ID the program has is taken.
var byTest = map[string][]string{
	"RT1":  {"S3-EP-02", "S3-EH-02"},
	"RT2":  {"S3-EP-05.1", "S3-EH-05.1"},
	"RT3":  {"S3-EP-05.2", "S3-EH-05.2"},
	"RT4":  {"S3-EP-06.1", "S3-EH-06.1"},
	"RT5":  {"S3-EP-06.2", "S3-EH-06.2"},
	"RT6":  {"S3-EP-06.3", "S3-EH-06.3"},
	"RT7":  {"S3-EP-07.1", "S3-EH-07.1"},
	"RT8":  {"S3-EP-07.2", "S3-EH-07.2"},
	"RT9":  {"S3-EP-07.3", "S3-EH-07.3"},
	"RT10": {"S3-EP-04.1", "S3-EH-04.1"},
	"RT11": {"S3-EP-04.2", "S3-EH-04.2"},
	"RT12": {"S3-EP-04.3", "S3-EH-04.3"},
	"RT15": {"PI_HIE_4", "EHPI_HIE_4"},
}

// target is where one expected value is asked.
type target struct {
	programYear
	entityKind string
	measure    Measure
}

// resolver finds and remembers a deck's targets per entity kind.
type resolver struct {
	src   Source
	d     deck.Deck
	cache map[string]*target // entity kind → target; nil when the deck has none for it
}

var testRE = regexp.MustCompile(`^(RT[0-9]+)`)

// target is where a value for entity kind k is counted: the first program (in the
// edition's order) with a ratio measure whose title is the deck's measure name, or
// else the measure its required test checks.
func (r *resolver) target(ctx context.Context, k string) (*target, error) {
	if t, ok := r.cache[k]; ok {
		return t, nil
	}
	ed, ok := editions[r.d.Edition]
	if !ok {
		return nil, fmt.Errorf("edition %q is not mapped to a program", r.d.Edition)
	}
	var found *target
	for _, py := range ed.kinds[r.d.Kind][k] {
		ms, err := r.src.Measures(ctx, py.program, py.year, k)
		if err != nil {
			return nil, err
		}
		for _, p := range r.d.Programs {
			for _, m := range ms {
				if found == nil && m.Kind == "ratio" && sameTitle(m.Title, p.Measure) {
					found = &target{programYear: py, entityKind: k, measure: m}
				}
			}
		}
		ids := byTest[testRE.FindString(r.d.Test)]
		for _, m := range ms {
			if found == nil && m.Kind == "ratio" && slices.Contains(ids, m.ID) {
				found = &target{programYear: py, entityKind: k, measure: m}
			}
		}
		if found != nil {
			break
		}
	}
	r.cache[k] = found
	return found, nil
}

// where maps one of the deck's entity names to the entity the replay asks for and the
// target: the entity's kind decides the program. A clinicians' deck without providers
// ((g)(1)) names no entity; its sole clinician is counted where the deck's measure is,
// as a clinician in a group when the group program has it, else alone.
func (r *resolver) where(ctx context.Context, name string) (string, *target, error) {
	var names []string
	switch {
	case name != "":
		names = []string{name}
	case r.d.Kind == "EH":
		names = []string{""}
	default:
		names = []string{"TIN A/Provider 1", "Provider 1"}
	}
	for _, n := range names {
		t, err := r.target(ctx, entityKind(n))
		if err != nil {
			return "", nil, err
		}
		if t != nil {
			return n, t, nil
		}
	}
	var titles []string
	for _, p := range r.d.Programs {
		titles = append(titles, p.Measure)
	}
	return "", nil, fmt.Errorf("%w: %q (%s, entity %q)", errNoMeasure, titles, r.d.Test, name)
}

// entityKind is the kind of one of the decks' entity names.
func entityKind(name string) string {
	switch {
	case name == "":
		return "ccn"
	case strings.HasPrefix(name, "Group"):
		return "tin"
	case strings.HasPrefix(name, "TIN"):
		return "tin_npi"
	}
	return "npi"
}
