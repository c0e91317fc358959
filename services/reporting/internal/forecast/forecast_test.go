package forecast_test

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/services/reporting/internal/forecast"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
	"github.com/attest-ehr/attest/services/reporting/internal/window/windowtest"
)

// TestNeededIsTheSmallestThatPasses checks Needed against a search with the rule
// book's own comparison, over random numbers and thresholds, and on the edges.
func TestNeededIsTheSmallestThatPasses(t *testing.T) {
	brute := func(pct int, num, den int64) int64 {
		for n := num; n <= den; n++ {
			if rulebook.MoreThanPercent(n, den, pct) {
				return n - num
			}
		}
		return -1
	}
	tests := []struct {
		pct      int
		num, den int64
		want     int64
	}{
		{50, 50, 100, 1}, // 50.00% is not more than 50%
		{50, 51, 100, 0},
		{40, 0, 3, 2},          // 2/3 = 66.67%
		{40, 40004, 100001, 1}, // 40.0036% shows as 40.00%: one more gives 40.0046%, still 40.00%? the search decides
		{5, 0, 0, -1},          // nothing passes an empty denominator
		{100, 3, 4, -1},
	}
	for _, tt := range tests {
		got := forecast.Needed(rulebook.MoreThan, tt.pct, tt.num, tt.den)
		if want := brute(tt.pct, tt.num, tt.den); got != want {
			t.Errorf("Needed(> %d%%, %d/%d) = %d, the smallest passing needs %d", tt.pct, tt.num, tt.den, got, want)
		}
		if tt.pct != 40 && got != tt.want {
			t.Errorf("Needed(> %d%%, %d/%d) = %d, want %d", tt.pct, tt.num, tt.den, got, tt.want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		pct := []int{5, 10, 30, 40, 50, 60, 80}[r.IntN(7)]
		den := int64(r.IntN(3000))
		num := int64(0)
		if den > 0 {
			num = r.Int64N(den + 1)
		}
		if got, want := forecast.Needed(rulebook.MoreThan, pct, num, den), brute(pct, num, den); got != want {
			t.Fatalf("Needed(> %d%%, %d/%d) = %d, want %d", pct, num, den, got, want)
		}
	}
	if forecast.Needed(rulebook.AtLeastOne, 0, 0, 10) != 1 || forecast.Needed(rulebook.AtLeastOne, 0, 2, 10) != 0 {
		t.Error("at least one: wrong count")
	}
}

// TestForecastFromFacts checks the forecast's inputs against membership.Count and its
// projection against hand-made steady activity.
func TestForecastFromFacts(t *testing.T) {
	c, err := measure.New()
	if err != nil {
		t.Fatal(err)
	}
	cal := calendar.New(time.UTC)
	e := contract.Entity{Kind: contract.EntityTINNPI, ID: "123456789/1234567893"}
	// One new patient seen every day of 2025; every other one gets electronic access
	// in time (PI_PEA_1, a required measure: at least one).
	var facts []membership.Fact
	for d := range 365 {
		p := "p" + time.Date(2025, 1, 1+d, 0, 0, 0, 0, time.UTC).Format("0102")
		seen := time.Date(2025, 1, 1+d, 10, 0, 0, 0, time.UTC)
		facts = append(facts, membership.Fact{Entity: e, Program: measure.MIPS, Measure: "PI_PEA_1", Year: 2025, Patient: p,
			Role: membership.Denominator, Ref: "e-" + p, At: seen, Deadline: seen.Add(96 * time.Hour)})
		if d%2 == 0 {
			for _, ch := range []measure.Channel{measure.VDT, measure.API} {
				facts = append(facts, membership.Fact{Entity: e, Program: measure.MIPS, Measure: "PI_PEA_1", Year: 2025, Patient: p,
					Role: membership.Access, Ref: "s-" + p + string(ch), For: "e-" + p, Channel: ch, At: seen.Add(time.Hour)})
			}
		}
	}
	f := &forecast.Forecaster{Catalog: c, Calendar: cal, Facts: windowtest.NewMemory(facts)}
	asOf := time.Date(2025, 6, 30, 23, 0, 0, 0, time.UTC) // after 181 days
	res, err := f.Forecast(context.Background(), forecast.Request{Program: rulebook.MIPS, Year: 2025, Entity: e, AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	if res.DaysElapsed != 181 || res.DaysRemaining != 184 || res.RecentDays != 28 {
		t.Fatalf("elapsed %d, remaining %d, recent %d; want 181, 184, 28", res.DaysElapsed, res.DaysRemaining, res.RecentDays)
	}
	var pea forecast.Measure
	for _, m := range res.Measures {
		if m.ID == "PI_PEA_1" {
			pea = m
		}
	}
	// 181 seen, 91 shared (the even days); recent 28 days: 28 seen, 14 shared.
	if pea.Now.Numerator != 91 || pea.Now.Denominator != 181 || pea.Recent.Denominator != 28 || pea.Recent.Numerator != 14 {
		t.Fatalf("now %+v, recent %+v; want 91/181 and 14/28", pea.Now, pea.Recent)
	}
	// 184 more days at one a day, half converting: 365 seen, 91 + 92 = 183 shared.
	p := pea.Projected
	if p.Denominator != 365 || p.Numerator != 183 || p.NumeratorLow >= 183 || p.NumeratorHigh <= 183 || p.NumeratorLow < 91 {
		t.Errorf("projected %+v; want 183 of 365 within a range around it", p)
	}
	if pea.Status != forecast.Likely || pea.NeededNow != 0 || pea.Threshold != "≥ 1" {
		t.Errorf("status %s, needed %d, threshold %q; want likely, 0, ≥ 1", pea.Status, pea.NeededNow, pea.Threshold)
	}

	// After the period: the numbers are final, met or not.
	res, err = f.Forecast(context.Background(), forecast.Request{Program: rulebook.MIPS, Year: 2025, Entity: e,
		From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 6, 29, 0, 0, 0, 0, time.UTC), AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range res.Measures {
		if m.ID == "PI_PEA_1" && (m.Status != forecast.Met || m.Projected.Numerator != m.Now.Numerator || res.DaysRemaining != 0) {
			t.Errorf("a finished period: %+v, %d days remaining", m, res.DaysRemaining)
		}
	}
}

// TestForecastMatchesCountOnSyntheticData checks "now" and "recent" against
// membership.Count on derived facts (a ramp: activity grows in the autumn).
func TestForecastMatchesCountOnSyntheticData(t *testing.T) {
	c, _ := measure.New()
	cal := calendar.New(time.UTC)
	clin := windowtest.Clinicians(2, 1)
	g := &windowtest.Gen{R: rand.New(rand.NewPCG(9, 9)), Year: 2025, Loc: time.UTC, Providers: clin, Spread: 5, Ramp: true}
	facts := windowtest.Derive(c, cal, g.Patients(400))
	e := contract.Entity{Kind: contract.EntityTIN, ID: clin[0].TIN}
	f := &forecast.Forecaster{Catalog: c, Calendar: cal, Facts: windowtest.NewMemory(facts)}
	asOf := time.Date(2025, 10, 15, 12, 0, 0, 0, time.UTC)
	res, err := f.Forecast(context.Background(), forecast.Request{Program: rulebook.MIPS, Year: 2025, Entity: e, AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Measures) < 4 {
		t.Fatalf("%d measures", len(res.Measures))
	}
	for _, m := range res.Measures {
		cm, _ := c.Measure(measure.MIPS, m.ID, 2025, measure.TIN)
		o := measure.Options{Calendar: cal, AsOf: asOf, Variant: measure.Variant(m.Variant)}
		now, err := membership.Count(cm, e, measure.Period{Year: 2025, First: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Last: time.Date(2025, 10, 15, 0, 0, 0, 0, time.UTC)}, o, facts)
		if err != nil {
			t.Fatal(err)
		}
		if int64(now.Numerator) != m.Now.Numerator || int64(now.Denominator) != m.Now.Denominator || m.Now.Denominator == 0 {
			t.Errorf("%s now %+v, Count %d/%d", m.ID, m.Now, now.Numerator, now.Denominator)
		}
		p := m.Projected
		if p.Denominator < m.Now.Denominator || p.NumeratorLow > p.Numerator || p.Numerator > p.NumeratorHigh || p.NumeratorHigh > p.Denominator+m.Now.Numerator {
			t.Errorf("%s: projection out of order: %+v", m.ID, p)
		}
	}
}

func TestForecastHTTP(t *testing.T) {
	c, _ := measure.New()
	f := &forecast.Forecaster{Catalog: c, Calendar: calendar.New(time.UTC), Facts: windowtest.NewMemory(nil)}
	mux := http.NewServeMux()
	forecast.Routes(mux, f, func() time.Time { return time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC) }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ent := "entity=tin_npi:123456789/1234567893"
	tests := []struct {
		query string
		code  int
		field string
	}{
		{"program=mips-pi&year=2025&" + ent, 200, ""},
		{"program=mips-pi&year=2025&" + ent + "&from=2025-01-01&to=2025-06-29", 200, ""},
		{"program=mips-pi&year=2025&" + ent + "&from=2025-01-01&to=2025-03-01", 422, "period.to"},
		{"program=mips-pi&year=2025&" + ent + "&from=01/01/2025", 400, "from"},
		{"program=mips-pi&year=2025&" + ent + "&from=2025-06-01&to=2025-01-01", 400, "to"},
		{"program=mips-pi&year=2025&" + ent + "&as_of=2024-12-01", 400, "as_of"},
		{"program=mips-pi&year=2025&" + ent + "&as_of=soon", 400, "as_of"},
		{"program=mips-pi&year=2025", 400, "entity"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/forecast?"+tt.query, nil))
		if rec.Code != tt.code || tt.field != "" && !strings.Contains(rec.Body.String(), `"`+tt.field+`"`) {
			t.Errorf("%s: %d %s, want %d naming %q", tt.query, rec.Code, rec.Body, tt.code, tt.field)
		}
	}
}
