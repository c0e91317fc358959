package window_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
	"github.com/attest-ehr/attest/services/reporting/internal/window"
	"github.com/attest-ehr/attest/services/reporting/internal/window/windowtest"
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
		cols, err := windowtest.NewColumnMemory(bc.w.facts)
		if err != nil {
			b.Fatal(err)
		}
		for _, src := range []struct {
			name  string
			facts window.Facts
		}{{"facts", bc.w.source}, {"columns", cols}} {
			b.Run(bc.name+"/"+src.name, func(b *testing.B) {
				searches(b, &window.Finder{Catalog: bc.w.cat, Calendar: bc.w.cal, Facts: src.facts},
					window.Request{Program: rulebook.MIPS, Year: bc.year, Entity: bc.e, AsOf: time.Date(bc.year+1, 2, 1, 0, 0, 0, 0, time.UTC)})
			})
		}
	}
}

// BenchmarkBestLargeGroup is the best-window search (MIPS PI 2025, 180 days) for a
// group the size of a 200,000-patient system's TINs (10,000 patients, 5 clinicians of
// about 2,000) and of a 1,000,000-patient system's (50,000, 25 clinicians), over
// columns as the fact store's cache holds them — and, for the smaller, over facts as
// before, to compare. The setup derives the facts (a minute or more when loaded).
func BenchmarkBestLargeGroup(b *testing.B) {
	for _, size := range []struct{ patients, clinicians int }{{10000, 5}, {50000, 25}} {
		w := newWorld(b, 11, 2025, size.patients, size.clinicians, false)
		cols, err := windowtest.NewColumnMemory(w.facts)
		if err != nil {
			b.Fatal(err)
		}
		sources := []struct {
			name  string
			facts window.Facts
		}{{"columns", cols}}
		if size.patients <= 10000 {
			sources = append(sources, struct {
				name  string
				facts window.Facts
			}{"facts", w.source})
		}
		for _, src := range sources {
			b.Run(fmt.Sprintf("%d/%s", size.patients, src.name), func(b *testing.B) {
				searches(b, &window.Finder{Catalog: w.cat, Calendar: w.cal, Facts: src.facts},
					window.Request{Program: rulebook.MIPS, Year: 2025, Entity: contract.Entity{Kind: contract.EntityTIN, ID: w.clin[0].TIN},
						AsOf: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)})
			})
		}
	}
}

// searches runs req's search b.N times, reporting its PEA denominator (the size of
// what was searched) and the CPU time a search.
func searches(b *testing.B, f *window.Finder, req window.Request) {
	var patients int
	cpu := cpuTime()
	for b.Loop() {
		res, err := f.Best(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		patients = res.Best.Measures[len(res.Best.Measures)-1].Denominator
	}
	b.ReportMetric(float64(patients), "pea-denominator")
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// cpuTime is the CPU time the process has used (user and system, every thread: the
// garbage collector's included), the load-independent cost measure.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
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
