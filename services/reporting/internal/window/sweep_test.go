package window_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/services/reporting/internal/window"
	"github.com/attest-ehr/attest/services/reporting/internal/window/windowtest"
)

func catalog(t testing.TB) *measure.Catalog {
	t.Helper()
	c, err := measure.New()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSweepEqualsCount is the property the sweep is built on: for random patients
// (every input kind, instants on day boundaries and around the year, two zones),
// every ratio measure of the catalog, random entities of every kind, random runs of
// equal-length periods, as-of moments, attestation instants and variants, the
// sweep's numerator and denominator for each period equal membership.Count's.
func TestSweepEqualsCount(t *testing.T) {
	c := catalog(t)
	var ratios, timely, prior []measure.Measure
	for _, m := range c.All() {
		if m.Kind == measure.Ratio && m.Rule != nil {
			ratios = append(ratios, m)
			if _, ok := m.Rule.(measure.TimelyAccess); ok {
				timely = append(timely, m)
			}
			if r, ok := m.Rule.(measure.PatientActed); ok && r.Population == measure.PriorVisits {
				prior = append(prior, m)
			}
		}
	}
	if len(timely) == 0 || len(prior) == 0 {
		t.Fatal("the catalog has no timely-access or look-back measure to test")
	}
	cases := 1500
	if testing.Short() {
		cases = 200
	}
	var compared, withDen, withNum int
	for seed := range cases {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		pool := ratios
		switch seed % 10 {
		case 0, 5: // timely access's decrements need many encounters
			pool = timely
		case 1: // the Stage 2 reminders look back from the period's start
			pool = prior
		}
		m := pool[r.IntN(len(pool))]
		year := m.Years.From + r.IntN(m.Years.To-m.Years.From+1)
		loc := []*time.Location{time.UTC, time.FixedZone("UTC-5", -5*3600)}[r.IntN(2)]
		cal := calendar.New(loc)
		providers := windowtest.Clinicians(3, 2)
		g := &windowtest.Gen{R: r, Year: year, Loc: loc, Providers: providers, Spread: 40}
		patients := g.Patients(1 + r.IntN(8))
		facts := windowtest.Derive(c, cal, patients)

		kind := m.Entities[r.IntN(len(m.Entities))]
		p := providers[r.IntN(len(providers))]
		e := contract.Entity{Kind: kind, ID: map[string]string{measure.NPI: p.NPI, measure.TIN: p.TIN, measure.CCN: p.CCN,
			measure.TINNPI: p.TIN + "/" + p.NPI}[kind]}

		from, to := measure.ReportingYear(kind, year, loc)
		days := int(to.Sub(from).Hours()/24 + 0.5)
		length := []int{90, 180, 1 + r.IntN(days), days}[r.IntN(4)]
		first := r.IntN(days - length + 1)
		n := 1 + r.IntN(days-length-first+1)
		var attested time.Time
		if m.Window == measure.YearToAttestation && r.IntN(2) == 0 {
			attested = to.Add(time.Duration(r.IntN(24*120)-24*30) * time.Hour)
		}
		ps := make([]measure.Period, n)
		for i := range ps {
			d := from.AddDate(0, 0, first+i)
			ps[i] = measure.Period{Year: year, First: d, Last: d.AddDate(0, 0, length-1), Attested: attested}
		}
		o := measure.Options{Calendar: cal}
		if r.IntN(2) == 0 {
			o.AsOf = g.At()
		}
		if len(m.Variants) > 0 {
			o.Variant = m.Variants[r.IntN(len(m.Variants))]
		}
		got, err := window.Sweep(m, e, ps, o, facts)
		if err != nil {
			t.Fatalf("seed %d: sweep %s: %v", seed, m.ID, err)
		}
		// The sweep over columns (every series of the facts, as the fact store's cache
		// holds them) gives the same tallies for every period.
		fromCols, err := window.SweepColumns(m, e, ps, o, seriesColumns(t, facts))
		if err != nil {
			t.Fatalf("seed %d: sweep columns %s: %v", seed, m.ID, err)
		}
		if !slices.Equal(fromCols, got) {
			t.Fatalf("seed %d: %s %s %d: sweep over columns %v, over facts %v", seed, m.ID, e, year, fromCols, got)
		}
		for _, i := range []int{0, n - 1, r.IntN(n), r.IntN(n)} {
			want, err := membership.Count(m, e, ps[i], o, facts)
			if err != nil {
				t.Fatalf("seed %d: count %s: %v", seed, m.ID, err)
			}
			if got[i].Numerator != want.Numerator || got[i].Denominator != want.Denominator {
				t.Fatalf("seed %d: %s %s %d, period %d (%s–%s) as of %v: sweep %v, Count %d/%d", seed, m.ID, e, year, i,
					ps[i].First.Format(time.DateOnly), ps[i].Last.Format(time.DateOnly), o.AsOf, got[i], want.Numerator, want.Denominator)
			}
			compared++
			if want.Denominator > 0 {
				withDen++
			}
			if want.Numerator > 0 {
				withNum++
			}
		}
	}
	// The data must exercise the rules, not agree on empty results.
	if withDen*100 < compared*25 || withNum*100 < compared*8 {
		t.Errorf("of %d comparisons, %d had a denominator and %d a numerator: the generator is too sparse", compared, withDen, withNum)
	}
	t.Logf("%d comparisons, %d with a denominator, %d with a numerator", compared, withDen, withNum)
}

func TestSweepRefusesBadArguments(t *testing.T) {
	c := catalog(t)
	cal := calendar.New(time.UTC)
	pea, _ := c.Measure(measure.MIPS, "PI_PEA_1", 2025, measure.TINNPI)
	sra, _ := c.Measure(measure.MIPS, "PI_PPHI_1", 2025, measure.TINNPI)
	e := contract.Entity{Kind: contract.EntityTINNPI, ID: "123456789/1234567893"}
	day := func(m time.Month, d int) time.Time { return time.Date(2025, m, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name  string
		m     measure.Measure
		ps    []measure.Period
		field string
	}{
		{"a yes/no measure", sra, []measure.Period{{Year: 2025, First: day(1, 1), Last: day(3, 31)}}, "measure"},
		{"periods going back", pea, []measure.Period{{Year: 2025, First: day(2, 1), Last: day(4, 30)}, {Year: 2025, First: day(1, 1), Last: day(3, 31)}}, "periods"},
		{"outside the year", pea, []measure.Period{{Year: 2025, First: day(12, 1), Last: day(12, 1).AddDate(0, 0, 89)}}, "period"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := window.Sweep(tt.m, e, tt.ps, measure.Options{Calendar: cal}, nil)
			if !errs.Is(errs.Invalid, err) || errs.FieldOf(err) != tt.field {
				t.Errorf("err %v (field %q), want Invalid naming %q", err, errs.FieldOf(err), tt.field)
			}
		})
	}
}

// seriesColumns holds facts as the fact store's cache does: one Columns per series.
func seriesColumns(t testing.TB, facts []membership.Fact) []*membership.Columns {
	bySeries := map[membership.Series][]membership.Fact{}
	var order []membership.Series
	for _, f := range facts {
		x := f.Series()
		if _, ok := bySeries[x]; !ok {
			order = append(order, x)
		}
		bySeries[x] = append(bySeries[x], f)
	}
	out := make([]*membership.Columns, 0, len(order))
	for _, x := range order {
		c, err := membership.NewColumns(bySeries[x])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}
