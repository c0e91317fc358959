package window_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
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
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
	"github.com/attest-ehr/attest/services/reporting/internal/window"
	"github.com/attest-ehr/attest/services/reporting/internal/window/windowtest"
)

// world is a year of synthetic activity for a few clinicians of one group, with the
// facts derived from it.
type world struct {
	cat    *measure.Catalog
	cal    *calendar.Calendar
	facts  []membership.Fact
	clin   []measure.Provider
	source *windowtest.Memory
}

func newWorld(t testing.TB, seed uint64, year, patients, clinicians int, ramp bool) *world {
	t.Helper()
	c := catalog(t)
	cal := calendar.New(time.UTC)
	clin := windowtest.Clinicians(clinicians, 1)
	g := &windowtest.Gen{R: rand.New(rand.NewPCG(seed, 1)), Year: year, Loc: time.UTC, Providers: clin, Spread: 5, Ramp: ramp}
	facts := windowtest.Derive(c, cal, g.Patients(patients))
	return &world{cat: c, cal: cal, facts: facts, clin: clin, source: windowtest.NewMemory(facts)}
}

// TestBestIsTheBest checks the ranking against a recount: every window's numbers
// are membership.Count's, scored by the rule book, and none ranks above the best.
func TestBestIsTheBest(t *testing.T) {
	w := newWorld(t, 3, 2025, 300, 2, false)
	for _, e := range []contract.Entity{
		{Kind: contract.EntityTINNPI, ID: w.clin[0].TIN + "/" + w.clin[0].NPI},
		{Kind: contract.EntityTIN, ID: w.clin[0].TIN},
	} {
		t.Run(e.Kind, func(t *testing.T) {
			f := &window.Finder{Catalog: w.cat, Calendar: w.cal, Facts: w.source}
			asOf := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
			res, err := f.Best(context.Background(), window.Request{Program: rulebook.MIPS, Year: 2025, Entity: e, AsOf: asOf})
			if err != nil {
				t.Fatal(err)
			}
			if res.Days != 180 || res.Windows != 186 || len(res.RunnersUp) != 3 {
				t.Fatalf("days %d, %d windows, %d runners-up; want 180, 186 (Jan 1 to Jul 5), 3", res.Days, res.Windows, len(res.RunnersUp))
			}
			s, err := window.Resolve(w.cat, rulebook.MIPS, 2025, e, false)
			if err != nil {
				t.Fatal(err)
			}
			best := recount(t, w, s, e, res.Best.From, asOf)
			if best.RequiredMet != res.Best.RequiredMet || score(best.Score) != score(res.Best.Score) || best.Margin != res.Best.Margin {
				t.Errorf("best window %s: recounted %d met, score %d, margin %s; Best says %d, %d, %s", res.Best.From,
					best.RequiredMet, score(best.Score), best.Margin, res.Best.RequiredMet, score(res.Best.Score), res.Best.Margin)
			}
			for _, m := range res.Best.Measures {
				if m.Denominator == 0 {
					t.Errorf("%s has an empty denominator: the data is too sparse to test the ranking", m.ID)
				}
			}
			// No window ranks above the best (every 5th window, and the runners-up).
			for d := 0; d < 186; d += 5 {
				from := time.Date(2025, 1, 1+d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
				other := recount(t, w, s, e, from, asOf)
				if above(other, res.Best) {
					t.Errorf("window %s (%d met, score %d, margin %s) ranks above the best %s (%d, %d, %s)", from,
						other.RequiredMet, score(other.Score), other.Margin, res.Best.From, res.Best.RequiredMet, score(res.Best.Score), res.Best.Margin)
				}
			}
			prev := res.Best
			for _, r := range res.RunnersUp {
				if above(r, prev) {
					t.Errorf("runner-up %s ranks above %s", r.From, prev.From)
				}
				prev = r
			}
			for _, d := range res.Distinct {
				if d.From == res.Best.From || !(d.From > res.Best.To || d.To < res.Best.From) {
					t.Errorf("distinct window %s–%s overlaps the best %s–%s", d.From, d.To, res.Best.From, res.Best.To)
				}
			}
		})
	}
}

func score(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// above reports whether a ranks strictly above b (margins compared as decimals of
// equal precision are enough here: the margin ties are broken by start).
func above(a, b window.Window) bool {
	if a.RequiredMet != b.RequiredMet {
		return a.RequiredMet > b.RequiredMet
	}
	if score(a.Score) != score(b.Score) {
		return score(a.Score) > score(b.Score)
	}
	return margin(a.Margin) > margin(b.Margin)+1e-9
}

func margin(s string) float64 {
	var f float64
	_ = json.Unmarshal([]byte(s), &f)
	return f
}

// recount counts one window with membership.Count (the better variant) and scores it.
func recount(t *testing.T, w *world, s window.Scope, e contract.Entity, from string, asOf time.Time) window.Window {
	t.Helper()
	first, _ := time.Parse(time.DateOnly, from)
	p := measure.Period{Year: s.Year, First: first, Last: first.AddDate(0, 0, 179)}
	tallies := map[string]window.Tally{}
	var met, total int
	mg := new(big.Rat)
	for _, m := range s.Measures {
		vs := m.Catalog.Variants
		if len(vs) == 0 {
			vs = []measure.Variant{measure.NoVariant}
		}
		var best window.Tally
		for i, v := range vs {
			r, err := membership.Count(m.Catalog, e, p, measure.Options{Calendar: w.cal, AsOf: asOf, Variant: v}, w.facts)
			if err != nil {
				t.Fatal(err)
			}
			tl := window.Tally{Numerator: r.Numerator, Denominator: r.Denominator}
			if i == 0 || tl.Denominator > 0 && (best.Denominator == 0 || tl.Numerator*best.Denominator > best.Numerator*tl.Denominator) {
				best = tl
			}
		}
		tallies[m.Book.ID] = best
		mg.Add(mg, window.Margin(s.Book, m.Book, best))
	}
	in, _ := s.Input(tallies, nil)
	res, err := rulebook.Evaluate(s.Book, in)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range s.Measures {
		if m.Book.Role == rulebook.Required {
			total++
			if r, _ := res.Measure(m.Book.ID); r.Status == rulebook.Met {
				met++
			}
		}
	}
	out := window.Window{From: from, RequiredMet: met, RequiredTotal: total, Margin: mg.FloatString(2)}
	if res.Score != nil {
		total := res.Score.Total
		out.Score = &total
	}
	return out
}

// TestBestPrefersTheActiveMonths builds facts by hand: patient access given only in
// the autumn, so the best 90-day window of 2023 (MIPS: a minimum of 90 days) must lie
// there, and meets more than the spring.
func TestBestPrefersTheActiveMonths(t *testing.T) {
	c := catalog(t)
	e := contract.Entity{Kind: contract.EntityTINNPI, ID: "123456789/1234567893"}
	var facts []membership.Fact
	at := func(m time.Month, d int) time.Time { return time.Date(2023, m, d, 15, 0, 0, 0, time.UTC) }
	for i := range 60 {
		p := "p" + string(rune('A'+i%26)) + string(rune('a'+i/26))
		seen := at(time.Month(1+i%12), 1+i%28)
		f := membership.Fact{Entity: e, Program: measure.MIPS, Measure: "PI_PEA_1", Year: 2023, Patient: p, Role: membership.Denominator,
			Ref: "e-" + p, At: seen, Deadline: seen.Add(96 * time.Hour)}
		facts = append(facts, f)
		if seen.Month() >= time.September && seen.Month() <= time.November {
			for _, ch := range []measure.Channel{measure.VDT, measure.API} {
				facts = append(facts, membership.Fact{Entity: e, Program: measure.MIPS, Measure: "PI_PEA_1", Year: 2023, Patient: p,
					Role: membership.Access, Ref: "s-" + p + string(ch), For: "e-" + p, Channel: ch, At: seen.Add(time.Hour)})
			}
		}
	}
	f := &window.Finder{Catalog: c, Calendar: calendar.New(time.UTC), Facts: windowtest.NewMemory(facts)}
	res, err := f.Best(context.Background(), window.Request{Program: rulebook.MIPS, Year: 2023, Entity: e, Days: 90})
	if err != nil {
		t.Fatal(err)
	}
	if res.Windows != 276 || res.Best.From < "2023-08-03" || res.Best.From > "2023-09-01" {
		t.Fatalf("%d windows, best %s–%s; want 276 windows and a best window covering September to November", res.Windows, res.Best.From, res.Best.To)
	}
	var pea window.MeasureResult
	for _, m := range res.Best.Measures {
		if m.ID == "PI_PEA_1" {
			pea = m
		}
	}
	if pea.Numerator != 15 || pea.Denominator != 15 {
		t.Errorf("PI_PEA_1 in the best window: %d/%d, want 15/15 (Sep–Nov, five a month)", pea.Numerator, pea.Denominator)
	}
}

func TestBestWindowHTTP(t *testing.T) {
	w := newWorld(t, 5, 2025, 60, 2, false)
	f := &window.Finder{Catalog: w.cat, Calendar: w.cal, Facts: w.source}
	mux := http.NewServeMux()
	window.Routes(mux, f, func() time.Time { return time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC) }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ent := "tin_npi:" + w.clin[0].TIN + "/" + w.clin[0].NPI
	tests := []struct {
		query string
		code  int
		field string
	}{
		{"program=mips-pi&year=2025&entity=" + ent, 200, ""},
		{"program=mips-pi&year=2025&entity=" + ent + "&days=180", 200, ""},
		{"program=mips-pi&year=2025&entity=" + ent + "&days=90", 400, "days"},
		{"program=mips-pi&year=2025&entity=" + ent + "&days=45", 400, "days"},
		{"program=nope&year=2025&entity=" + ent, 400, "program"},
		{"year=2025&entity=" + ent, 400, "program"},
		{"program=mips-pi&year=x&entity=" + ent, 400, "year"},
		{"program=mips-pi&year=2030&entity=" + ent, 400, "year"},
		{"program=mips-pi&year=2025", 400, "entity"},
		{"program=mips-pi&year=2025&entity=npi:1", 400, "entity"},
		{"program=mips-pi&year=2025&entity=" + ent + "&as_of=yesterday", 400, "as_of"},
		{"program=mu-modified-stage-2&year=2015&entity=tin:123456789", 400, "year"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/best-window?"+tt.query, nil))
		if rec.Code != tt.code {
			t.Errorf("%s: %d %s, want %d", tt.query, rec.Code, rec.Body, tt.code)
			continue
		}
		if tt.field != "" && !strings.Contains(rec.Body.String(), `"`+tt.field+`"`) {
			t.Errorf("%s: %s does not name %q", tt.query, rec.Body, tt.field)
		}
		if tt.code == 200 {
			var res window.Result
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || res.Best.From != "2025-01-01" && res.Best.From == "" {
				t.Errorf("%s: %v %s", tt.query, err, rec.Body)
			}
		}
	}
}

// TestResolveCountsStage3: the rule book names Stage 3 measures without the entity type
// (S3-05.1) where the catalog names it (S3-EP-05.1); every Stage 3 proportion measure
// of an eligible professional and of a hospital must still be counted.
func TestResolveCountsStage3(t *testing.T) {
	c := catalog(t)
	for _, e := range []contract.Entity{{Kind: contract.EntityNPI, ID: "1234567893"}, {Kind: contract.EntityCCN, ID: "123456"}} {
		s, err := window.Resolve(c, rulebook.Stage3, 2020, e, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Uncounted) > 0 || len(s.Measures) == 0 {
			t.Errorf("%s: %d measures counted, uncounted %v", e, len(s.Measures), s.Uncounted)
		}
	}
}
