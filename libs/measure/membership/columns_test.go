package membership_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/measuretest"
	"github.com/attest-ehr/attest/libs/measure/membership"
)

// TestColumnsEqualReference checks the columnar counting against the counting over
// []*Fact it replaced (CountReference), for random patients, any ratio measure,
// entity, period, evaluation moment and variant: the whole result — numbers, every
// member with its reasons (codes, inputs, instants with their zone, notes) and the
// clinician a group reports it through — must be identical, whether the facts come
// in order or shuffled, as Facts or as columns, counted once or again from the
// series' remembered members, and for a group after some of its clinicians were
// counted on their own.
func TestColumnsEqualReference(t *testing.T) {
	c := catalog(t)
	var ratios []measure.Measure
	for _, m := range c.All() {
		if m.Kind == measure.Ratio && m.Rule != nil {
			ratios = append(ratios, m)
		}
	}
	measuretest.Checks(t, 1000)
	var runs, withDen, withNum, groups int
	rapid.Check(t, func(rt *rapid.T) {
		x := drawCase(rt, c, ratios, 8)
		m, e, p, o, facts := x.m, x.e, x.p, x.o, x.facts
		if rapid.Bool().Draw(rt, "spread") {
			// Spread each group's facts over more clinicians (a member's facts too), so
			// that a group merges several clinicians' members with ties between them.
			for i := range facts {
				if x := &facts[i].Entity; x.Kind == measure.TINNPI {
					tin, _, _ := strings.Cut(x.ID, "/")
					x.ID = tin + "/" + rapid.SampledFrom(spreadNPIs).Draw(rt, "clinician")
				}
			}
		}
		if rapid.Bool().Draw(rt, "shuffle") {
			perm := rapid.Permutation(facts).Draw(rt, "order")
			facts = perm
		}
		want, err := membership.CountReference(m, e, p, o, facts)
		if err != nil {
			rt.Fatalf("reference %s: %v", m.ID, err)
		}
		got, err := membership.Count(m, e, p, o, facts)
		if err != nil {
			rt.Fatalf("count %s: %v", m.ID, err)
		}
		same(rt, "Count", want, got)

		// The series as a store holds them: one Columns each, every series of the
		// facts (others are ignored by the count).
		cols, bySeries := seriesColumns(rt, facts)
		for _, col := range cols {
			fs := bySeries[col.Series()]
			if back := col.Facts(); len(back) != len(fs) {
				rt.Fatalf("columns hold %d facts of %d", len(back), len(fs))
			} else if _, retract := membership.Diff(fs, back); len(retract) > 0 {
				rt.Fatalf("columns give back facts they were not built from: %v", retract)
			}
		}
		// A one-off count over columns (forecast, worklist) is the same count.
		fresh, _ := seriesColumns(rt, facts)
		once, err := membership.CountColumnsOnce(m, e, p, o, fresh...)
		if err != nil {
			rt.Fatalf("CountColumnsOnce %s: %v", m.ID, err)
		}
		same(rt, "CountColumnsOnce", want, once)
		// Numbers only: the same numbers and judgement, no list (from nothing remembered,
		// and below, from remembered members).
		numbers := func(what string, cols []*membership.Columns) {
			got, err := membership.CountColumnsNumbers(m, e, p, o, cols...)
			if err != nil {
				rt.Fatalf("%s %s: %v", what, m.ID, err)
			}
			w := want
			w.Members = nil
			if !reflect.DeepEqual(got, w) {
				rt.Fatalf("%s: %+v, want %+v", what, got, w)
			}
		}
		numbers("CountColumnsNumbers", fresh)
		if e.Kind == measure.TIN && rapid.Bool().Draw(rt, "clinicians-first") {
			// Some clinicians counted on their own first: the group then merges their
			// remembered members.
			groups++
			for _, col := range cols {
				if x := col.Series().Entity; x.Kind == measure.TINNPI && rapid.Bool().Draw(rt, "clinician") {
					if _, err := membership.CountColumns(m, x, p, o, cols...); err != nil {
						rt.Fatal(err)
					}
				}
			}
		}
		for _, pass := range []string{"CountColumns", "CountColumns again"} {
			got, err := membership.CountColumns(m, e, p, o, cols...)
			if err != nil {
				rt.Fatalf("%s %s: %v", pass, m.ID, err)
			}
			same(rt, pass, want, got)
		}
		numbers("CountColumnsNumbers after CountColumns", cols)
		runs++
		if want.Denominator > 0 {
			withDen++
		}
		if want.Numerator > 0 {
			withNum++
		}
	})
	if withDen*100 < runs*15 || withNum*100 < runs*5 {
		t.Errorf("of %d runs, %d had a denominator and %d a numerator: the generator is too sparse", runs, withDen, withNum)
	}
	t.Logf("%d runs, %d with a denominator, %d with a numerator, %d groups after their clinicians", runs, withDen, withNum, groups)
}

// seriesColumns holds facts as a store does: one Columns a series.
func seriesColumns(t interface{ Fatal(...any) }, facts []membership.Fact) ([]*membership.Columns, map[membership.Series][]membership.Fact) {
	bySeries := map[membership.Series][]membership.Fact{}
	for _, f := range facts {
		bySeries[f.Series()] = append(bySeries[f.Series()], f)
	}
	var cols []*membership.Columns
	for _, fs := range bySeries {
		c, err := membership.NewColumns(fs)
		if err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	return cols, bySeries
}

var spreadNPIs = []string{"1000000001", "1000000002", "1111111111", "1999999999", "2222222222", "3000000003"}

func same(t *rapid.T, what string, want, got measure.Result) {
	t.Helper()
	// The reference gave a nil or an empty list for no members depending on the facts
	// of other measures it was handed; the columns always give an empty one.
	if len(want.Members) == 0 && got.Members != nil {
		want.Members = got.Members
	}
	if !reflect.DeepEqual(want, got) {
		for i := range min(len(want.Members), len(got.Members)) {
			if !reflect.DeepEqual(want.Members[i], got.Members[i]) {
				t.Fatalf("%s: member %d is\n%+v\nwant\n%+v", what, i, got.Members[i], want.Members[i])
			}
		}
		t.Fatalf("%s: %d/%d with %d members, want %d/%d with %d members", what, got.Numerator, got.Denominator,
			len(got.Members), want.Numerator, want.Denominator, len(want.Members))
	}
}

// TestColumnsRefuseMixedSeries: a Columns holds one series.
func TestColumnsRefuseMixedSeries(t *testing.T) {
	a := membership.Fact{Entity: contract.Entity{Kind: contract.EntityNPI, ID: "1111111111"}, Measure: "X", Year: 2025,
		Patient: "p", Role: membership.Denominator, At: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)}
	b := a
	b.Measure = "Y"
	if _, err := membership.NewColumns([]membership.Fact{a, b}); err == nil {
		t.Fatal("columns of two series were built")
	}
}
