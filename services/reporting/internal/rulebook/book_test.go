package rulebook_test

import (
	"fmt"
	"testing"

	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
)

// books returns every book the rule book has.
func books(t *testing.T) []*rulebook.Book {
	t.Helper()
	var bs []*rulebook.Book
	for _, p := range rulebook.Programs() {
		for year := 2010; year <= 2028; year++ {
			for _, e := range []rulebook.EntityType{rulebook.EP, rulebook.Group, rulebook.EH, rulebook.CAH} {
				if b, err := rulebook.Lookup(p, year, e); err == nil {
					bs = append(bs, b)
				}
			}
		}
	}
	return bs
}

func TestBooksAreConsistent(t *testing.T) {
	bs := books(t)
	// MS2 2015–18 and Stage 3 2017–21 for EP, EH, CAH; hospital PI 2019–26 for EH,
	// CAH; MIPS 2017–26 for individuals and groups.
	if want := 4*3 + 5*3 + 8*2 + 10*2; len(bs) != want {
		t.Errorf("%d books, want %d", len(bs), want)
	}
	for _, b := range bs {
		name := fmt.Sprintf("%s/%d/%s", b.Program, b.Year, b.Entity)
		t.Run(name, func(t *testing.T) {
			seen := map[string]bool{}
			for _, m := range b.Measures {
				if seen[m.ID] {
					t.Errorf("measure %s twice", m.ID)
				}
				seen[m.ID] = true
				if _, ok := b.Objective(m.Objective); !ok {
					t.Errorf("measure %s: no objective %q", m.ID, m.Objective)
				}
				for _, s := range m.Substitutes {
					if _, ok := b.Measure(s); !ok {
						t.Errorf("measure %s substitutes unknown %s", m.ID, s)
					}
				}
				if b.Scoring == rulebook.MeetAll && m.Points != 0 {
					t.Errorf("measure %s has points in a pass/fail book", m.ID)
				}
			}
			for _, r := range b.Redistributions {
				_, isMeasure := b.Measure(r.From)
				_, isObjective := b.Objective(r.From)
				if !isMeasure && !isObjective {
					t.Errorf("redistribution from unknown %s", r.From)
				}
				n := 0
				for _, to := range r.To {
					if _, ok := b.Measure(to); ok {
						n++
					}
				}
				if n == 0 {
					t.Errorf("redistribution from %s has no target in this book", r.From)
				}
			}
			if b.Period.Kind == 0 {
				t.Error("no reporting period rule")
			}
			if b.Scoring != rulebook.MeetAll && b.MaxScore != 100 {
				t.Errorf("cap = %d, want 100", b.MaxScore)
			}
		})
	}
}

// TestMaxPoints checks each points book's maximum before the cap against the spec's
// tables (§3.6, §3.7.3): base measures, plus bonus measures and bonus registries.
func TestMaxPoints(t *testing.T) {
	tests := []struct {
		program rulebook.Program
		year    int
		entity  rulebook.EntityType
		want    int
	}{
		{rulebook.MIPS, 2019, rulebook.EP, 110}, // 10 + 5 + 5 + 20 + 20 + 40 + 10
		{rulebook.MIPS, 2020, rulebook.EP, 105}, // PDMP bonus 5, no opioid measure
		{rulebook.MIPS, 2021, rulebook.EP, 110}, // PDMP bonus 10
		{rulebook.MIPS, 2022, rulebook.EP, 115}, // + public health bonus 5
		{rulebook.MIPS, 2023, rulebook.EP, 105}, // 10 + 10 + 15 + 15 + 25 + 25 + 5
		{rulebook.MIPS, 2025, rulebook.Group, 105},
		{rulebook.HospitalPI, 2019, rulebook.EH, 110},
		{rulebook.HospitalPI, 2021, rulebook.EH, 105},
		{rulebook.HospitalPI, 2022, rulebook.CAH, 115},
		{rulebook.HospitalPI, 2023, rulebook.EH, 105},
		{rulebook.HospitalPI, 2026, rulebook.EH, 105},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.program, tt.year), func(t *testing.T) {
			b, err := rulebook.Lookup(tt.program, tt.year, tt.entity)
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, m := range b.Measures {
				if m.Role != rulebook.Alternative {
					total += m.Points
				}
			}
			for _, o := range b.Objectives {
				total += o.Points + o.BonusPoints
			}
			if total != tt.want {
				t.Errorf("max points = %d, want %d", total, tt.want)
			}
		})
	}
}
