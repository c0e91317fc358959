package rulebook_test

import (
	"testing"

	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
)

// BenchmarkEvaluate is one entity's score: the rule book's share of a report.
func BenchmarkEvaluate(b *testing.B) {
	cases := []struct {
		name    string
		program rulebook.Program
		year    int
		entity  rulebook.EntityType
		ms      map[string]rulebook.MeasureInput
	}{
		{"mips-2025", rulebook.MIPS, 2025, rulebook.EP, with(mipsFull(2025), map[string]rulebook.MeasureInput{"PI_EP_2": excl("PI_EP_2_EX_1"), "PI_HIE_1": prop(1123, 1951)})},
		{"hospital-2025", rulebook.HospitalPI, 2025, rulebook.EH, hospitalFull(2025)},
		{"stage3-2019", rulebook.Stage3, 2019, rulebook.EP, s3EP()},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			book, err := rulebook.Lookup(c.program, c.year, c.entity)
			if err != nil {
				b.Fatal(err)
			}
			in := rulebook.Input{Measures: c.ms}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := rulebook.Evaluate(book, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLookup builds a book (books are built on each lookup, not cached).
func BenchmarkLookup(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rulebook.Lookup(rulebook.HospitalPI, 2025, rulebook.EH); err != nil {
			b.Fatal(err)
		}
	}
}
