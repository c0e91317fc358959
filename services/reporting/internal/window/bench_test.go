package window_test

import (
	"context"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
	"github.com/attest-ehr/attest/services/reporting/internal/window"
)

// BenchmarkBest is one clinician's best-window search over a year of facts: 8,000
// synthetic patients across 4 clinicians of one group (each clinician the main
// provider of about 2,000, the 1M-patients / 500-clinicians ratio), every measure of
// the book swept over every window (MIPS 2025: 186 windows of 180 days; MIPS 2023:
// 276 of 90), then ranked with the rule book. Facts are in memory.
func BenchmarkBest(b *testing.B) {
	w := newWorld(b, 11, 2025, 8000, 4, false)
	w23 := newWorld(b, 11, 2023, 8000, 4, false)
	for _, bc := range []struct {
		name string
		w    *world
		year int
		e    contract.Entity
	}{
		{"clinician-2025-180d", w, 2025, contract.Entity{Kind: contract.EntityTINNPI, ID: w.clin[0].TIN + "/" + w.clin[0].NPI}},
		{"clinician-2023-90d", w23, 2023, contract.Entity{Kind: contract.EntityTINNPI, ID: w23.clin[0].TIN + "/" + w23.clin[0].NPI}},
		{"group-2025-180d", w, 2025, contract.Entity{Kind: contract.EntityTIN, ID: w.clin[0].TIN}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := &window.Finder{Catalog: bc.w.cat, Calendar: bc.w.cal, Facts: bc.w.source}
			req := window.Request{Program: rulebook.MIPS, Year: bc.year, Entity: bc.e, AsOf: time.Date(bc.year+1, 2, 1, 0, 0, 0, 0, time.UTC)}
			var patients int
			for b.Loop() {
				res, err := f.Best(context.Background(), req)
				if err != nil {
					b.Fatal(err)
				}
				patients = res.Best.Measures[len(res.Best.Measures)-1].Denominator
			}
			b.ReportMetric(float64(patients), "pea-denominator")
		})
	}
}

// BenchmarkCountEveryWindow is the naive way the sweep replaces: membership.Count for
// each of the 186 windows of one measure (PI_PEA_1), for the same clinician.
func BenchmarkCountEveryWindow(b *testing.B) {
	w := newWorld(b, 11, 2025, 8000, 4, false)
	e := contract.Entity{Kind: contract.EntityTINNPI, ID: w.clin[0].TIN + "/" + w.clin[0].NPI}
	m, _ := w.cat.Measure(measure.MIPS, "PI_PEA_1", 2025, measure.TINNPI)
	facts, _ := w.source.Series(context.Background(), e, string(measure.MIPS), "PI_PEA_1", 2025)
	o := measure.Options{Calendar: w.cal}
	var ps []measure.Period
	for d := range 186 {
		first := time.Date(2025, 1, 1+d, 0, 0, 0, 0, time.UTC)
		ps = append(ps, measure.Period{Year: 2025, First: first, Last: first.AddDate(0, 0, 179)})
	}
	b.Run("count", func(b *testing.B) {
		for b.Loop() {
			for _, p := range ps {
				if _, err := membership.Count(m, e, p, o, facts); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("sweep", func(b *testing.B) {
		for b.Loop() {
			if _, err := window.Sweep(m, e, ps, o, facts); err != nil {
				b.Fatal(err)
			}
		}
	})
}
