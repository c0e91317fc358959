package membership_test

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/libs/measure/timeline"
)

// population is n patients of one group's two clinicians, each seen three times in
// 2025 with access shared in time for six encounters in seven, as in measure's
// benchmark.
func population(n int) []measure.Patient {
	pts := make([]measure.Patient, n)
	provs := []measure.Provider{{NPI: npis[0], TIN: tins[0]}, {NPI: npis[1], TIN: tins[0]}}
	for i := range pts {
		p := measure.Patient{ID: fmt.Sprintf("p%07d", i)}
		for j := range 3 {
			start := time.Date(2025, time.Month(1+(i+4*j)%12), 1+i%27, 9, 0, 0, 0, time.UTC)
			id := fmt.Sprintf("%s-e%d", p.ID, j)
			prov := provs[(i+j)%2]
			p.Encounters = append(p.Encounters, measure.Encounter{ID: id, Provider: prov, Setting: measure.Office, Start: start})
			if (i+j)%7 != 0 {
				p.Shares = append(p.Shares,
					measure.Share{ID: id + "v", EncounterID: id, Channel: measure.VDT, At: start.Add(time.Hour)},
					measure.Share{ID: id + "a", EncounterID: id, Channel: measure.API, At: start.Add(time.Hour)})
			}
		}
		timeline.Sort(&p)
		pts[i] = p
	}
	return pts
}

// BenchmarkDerive is the cost of deriving one patient's facts (every measure, every
// entity) after an event.
func BenchmarkDerive(b *testing.B) {
	d := membership.NewDeriver(catalog(b), calendar.New(nil))
	pts := population(1000)
	i := 0
	for b.Loop() {
		d.Derive(timeline.Timeline{Patient: pts[i%len(pts)]})
		i++
	}
}

// BenchmarkCount counts PI_PEA_1 for a group and one clinician over a 90-day window
// from facts already loaded, against Evaluate over the same timelines.
func BenchmarkCount(b *testing.B) {
	c := catalog(b)
	cal := calendar.New(nil)
	m, _ := c.Measure(measure.MIPS, "PI_PEA_1", 2025, measure.TIN)
	d := membership.NewDeriver(c, cal)
	p := measure.Period{Year: 2025, First: time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC), Last: time.Date(2025, 6, 29, 0, 0, 0, 0, time.UTC)}
	o := measure.Options{Calendar: cal}
	for _, n := range []int{2_000, 10_000} {
		pts := population(n)
		var facts []membership.Fact
		for _, pt := range pts {
			for _, f := range d.Derive(timeline.Timeline{Patient: pt}) {
				if f.Measure == m.ID && f.Program == m.Program {
					facts = append(facts, f)
				}
			}
		}
		// As the database returns them: by entity, member, time and input.
		slices.SortFunc(facts, func(a, b membership.Fact) int {
			return cmp.Or(cmp.Compare(a.Entity.ID, b.Entity.ID), cmp.Compare(a.Patient, b.Patient), cmp.Compare(a.Object, b.Object),
				a.At.Compare(b.At), cmp.Compare(a.Ref, b.Ref))
		})
		group := contract.Entity{Kind: contract.EntityTIN, ID: tins[0]}
		clinician := contract.Entity{Kind: contract.EntityTINNPI, ID: tins[0] + "/" + npis[0]}
		cols, _ := seriesColumns(b, facts)
		for _, e := range []contract.Entity{group, clinician} {
			// facts: Count over Fact slices (it builds the columns each call);
			// reference: the counting over []*Fact that columns replaced; recount:
			// CountColumns over cached columns with nothing remembered (a new as-of each
			// time); remembered: CountColumns again for the same period.
			b.Run(fmt.Sprintf("facts/%s/%d-patients", e.Kind, n), func(b *testing.B) {
				for b.Loop() {
					if _, err := membership.Count(m, e, p, o, facts); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("reference/%s/%d-patients", e.Kind, n), func(b *testing.B) {
				for b.Loop() {
					if _, err := membership.CountReference(m, e, p, o, facts); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("recount/%s/%d-patients", e.Kind, n), func(b *testing.B) {
				x := o
				x.AsOf = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
				for b.Loop() {
					x.AsOf = x.AsOf.Add(time.Nanosecond)
					if _, err := membership.CountColumns(m, e, p, x, cols...); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("remembered/%s/%d-patients", e.Kind, n), func(b *testing.B) {
				for b.Loop() {
					if _, err := membership.CountColumns(m, e, p, o, cols...); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		held := 0
		for _, c := range cols {
			held += c.Bytes()
		}
		b.Logf("%d patients: %d facts held in %d bytes of columns (%.0f a fact)", n, len(facts), held, float64(held)/float64(len(facts)))
		b.Run(fmt.Sprintf("evaluate/tin/%d-patients", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := measure.Evaluate(m, group, p, pts, o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
