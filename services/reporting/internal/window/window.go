// Package window finds an entity's best reporting window: of every continuous 90-
// (or 180-) day period the program's period rule allows in a year, the one that
// meets the most required measures, then scores highest, then has the widest margin
// over the thresholds; with the runners-up. Every window is counted from membership
// facts by Sweep (equal to membership.Count, period by period) and scored by the rule
// book. Scope, which resolves a program, year and entity into the rule book's book and
// the catalog's measures, is shared with the forecast and worklist packages.
package window

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/big"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
)

// Facts is where the packages read membership facts: reporting's own copy of what
// metrics publishes. program is the catalog's program (measure.Program), as facts
// carry it. A group (TIN) entity returns its clinicians' TIN/NPI facts, as
// membership.Count expects for groups.
type Facts interface {
	Series(ctx context.Context, entity contract.Entity, program, measure string, year int) ([]membership.Fact, error)
}

// ColumnFacts is a Facts that also holds series as columns (the fact store and its
// cache): the series of an entity — a group's: its clinicians' — one Columns each,
// with a version token (unused here). Finder sweeps columns when its Facts has them.
type ColumnFacts interface {
	Columns(ctx context.Context, e contract.Entity, p measure.Program, measureID string, year int) ([]*membership.Columns, string, error)
}

// Program is the catalog's program for a rule book program.
func Program(p rulebook.Program) (measure.Program, error) {
	switch p {
	case rulebook.ModifiedStage2:
		return measure.ModifiedStage2, nil
	case rulebook.Stage3:
		return measure.Stage3, nil
	case rulebook.HospitalPI:
		return measure.HospitalPI, nil
	case rulebook.MIPS:
		return measure.MIPS, nil
	}
	return "", errs.Field(errs.Invalid, "program", "unknown program %q; known: %v", p, rulebook.Programs())
}

// EntityType is who an entity attests as: an NPI or TIN/NPI as a professional, a
// TIN as a group, a CCN as an eligible hospital unless cah says a critical access one.
func EntityType(e contract.Entity, cah bool) rulebook.EntityType {
	switch e.Kind {
	case contract.EntityTIN:
		return rulebook.Group
	case contract.EntityCCN:
		if cah {
			return rulebook.CAH
		}
		return rulebook.EH
	}
	return rulebook.EP
}

// Scope is one program, year and entity resolved: the book, and each proportion
// measure of the book with its catalog measure (those the catalog cannot count from
// facts are listed in Uncounted).
type Scope struct {
	Program   rulebook.Program
	Catalog   measure.Program
	Year      int
	Entity    contract.Entity
	Book      *rulebook.Book
	Measures  []Measure
	Uncounted []string // proportion measures of the book with no ratio rule in the catalog
}

// Measure is a proportion measure of a book with its catalog entry.
type Measure struct {
	Book    rulebook.Measure
	Catalog measure.Measure
}

// Resolve looks up the book for program, year and entity (errs.Invalid naming the
// field when there is none) and pairs its proportion measures with the catalog's.
func Resolve(c *measure.Catalog, p rulebook.Program, year int, e contract.Entity, cah bool) (Scope, error) {
	mp, err := Program(p)
	if err != nil {
		return Scope{}, err
	}
	book, err := rulebook.Lookup(p, year, EntityType(e, cah))
	if err != nil {
		return Scope{}, err
	}
	s := Scope{Program: p, Catalog: mp, Year: year, Entity: e, Book: book}
	for _, bm := range book.Measures {
		if bm.Kind != rulebook.Proportion {
			continue
		}
		cm, ok := c.Measure(mp, rulebook.CatalogID(p, EntityType(e, cah), bm.ID), year, e.Kind)
		if !ok || cm.Kind != measure.Ratio || cm.Rule == nil {
			s.Uncounted = append(s.Uncounted, bm.ID)
			continue
		}
		s.Measures = append(s.Measures, Measure{Book: bm, Catalog: cm})
	}
	return s, nil
}

// Input is the rule book input for the scope's measures with the given tallies (by
// measure ID), and every required or prerequisite yes/no measure taken as attested
// "yes": those answers do not depend on the period, so they cannot rank windows or
// change a forecast, and without them a MIPS score would be 0 whatever the numbers.
// Optional and bonus yes/no measures are left unreported.
func (s Scope) Input(tallies map[string]Tally, period *rulebook.Period) (rulebook.Input, []string) {
	in := rulebook.Input{Period: period, Measures: map[string]rulebook.MeasureInput{}}
	for id, t := range tallies {
		in.Measures[id] = rulebook.MeasureInput{Numerator: int64(t.Numerator), Denominator: int64(t.Denominator)}
	}
	yes := true
	var assumed []string
	for _, m := range s.Book.Measures {
		if m.Kind == rulebook.YesNo && (m.Role == rulebook.Required || m.Role == rulebook.Prerequisite) {
			in.Measures[m.ID] = rulebook.MeasureInput{Answer: &yes}
			assumed = append(assumed, m.ID)
		}
	}
	return in, assumed
}

// Rule is the pass rule the rule book applies to a proportion measure of book b:
// points books (PI, ACI) need "at least one" of their required and base measures.
func Rule(b *rulebook.Book, m rulebook.Measure) rulebook.Rule {
	if b.Scoring != rulebook.MeetAll && (m.Role == rulebook.Required || m.Base) {
		return rulebook.AtLeastOne
	}
	return m.Threshold.Rule
}

// Request asks for the best windows of an entity.
type Request struct {
	Program rulebook.Program
	Year    int
	Entity  contract.Entity
	CAH     bool
	Days    int       // the window length; 0: the rule's
	AsOf    time.Time // what is pending is judged at this moment; zero: the record is final
	Top     int       // how many runners-up; 0: 3
}

// Result is the ranked windows.
type Result struct {
	Program   rulebook.Program `json:"program"`
	Year      int              `json:"year"`
	Entity    string           `json:"entity"`
	Days      int              `json:"days"`
	Rule      string           `json:"rule"`
	Windows   int              `json:"windows_evaluated"`
	Best      Window           `json:"best"`
	RunnersUp []Window         `json:"runners_up"`
	// Distinct are the best windows that overlap neither the best nor each other.
	Distinct  []Window `json:"distinct"`
	Assumed   []string `json:"assumed_yes,omitempty"`
	Uncounted []string `json:"uncounted,omitempty"`
	Ranking   string   `json:"ranking"`
}

// Window is one candidate period with its numbers.
type Window struct {
	From          string          `json:"from"`
	To            string          `json:"to"`
	RequiredMet   int             `json:"required_met"`
	RequiredTotal int             `json:"required_total"`
	Score         *int64          `json:"score,omitempty"`
	Pass          bool            `json:"pass"`
	Margin        string          `json:"margin"` // percentage points, 2 decimals
	Measures      []MeasureResult `json:"measures"`

	margin *big.Rat
	start  int
}

// MeasureResult is one measure in one window.
type MeasureResult struct {
	ID          string `json:"id"`
	Numerator   int    `json:"numerator"`
	Denominator int    `json:"denominator"`
	Percent     string `json:"percent,omitempty"`
	Threshold   string `json:"threshold"`
	Status      string `json:"status"`
	Points      int64  `json:"points"`
	Margin      string `json:"margin"`
	Variant     string `json:"variant,omitempty"`
}

// Finder finds best windows.
type Finder struct {
	Catalog  *measure.Catalog
	Calendar *calendar.Calendar
	Facts    Facts
}

// Best evaluates every window the period rule allows and ranks them.
func (f *Finder) Best(ctx context.Context, req Request) (Result, error) {
	s, err := Resolve(f.Catalog, req.Program, req.Year, req.Entity, req.CAH)
	if err != nil {
		return Result{}, err
	}
	rule := s.Book.Period
	if rule.Kind != rulebook.ContinuousDays {
		return Result{}, errs.Field(errs.Invalid, "program", "the %d period rule is %s: there is no window to choose", req.Year, rule)
	}
	days := req.Days
	switch {
	case days == 0:
		days = rule.Days
	case days < rule.Days || !rule.Minimum && days != rule.Days:
		return Result{}, errs.Field(errs.Invalid, "days", "%d days breaks the rule: %s", days, rule)
	}
	top := cmp.Or(req.Top, 3)
	rule.Days = days
	last := rule.LastStart()
	if last.Before(rule.Start) {
		return Result{}, errs.Field(errs.Invalid, "days", "%d days do not fit in the window %s", days, rule)
	}
	var periods []measure.Period
	for d := rule.Start; !d.After(last); d = d.AddDate(0, 0, 1) {
		periods = append(periods, measure.Period{Year: req.Year, First: d, Last: d.AddDate(0, 0, days-1)})
	}
	tallies := make([]map[string]Tally, len(periods))
	variants := make([]map[string]measure.Variant, len(periods))
	for i := range tallies {
		tallies[i], variants[i] = map[string]Tally{}, map[string]measure.Variant{}
	}
	// Every measure and variant is swept on its own (concurrently: they are independent
	// and a group's take a while each), then folded in book order, the first variant
	// winning a tie as before.
	type sweep struct {
		m      Measure
		v      measure.Variant
		facts  []membership.Fact
		cols   []*membership.Columns // instead of facts, when the source holds columns
		ts     []Tally
		failed error
	}
	var sweeps []*sweep
	for _, m := range s.Measures {
		var (
			facts []membership.Fact
			cols  []*membership.Columns
			err   error
		)
		if cs, ok := f.Facts.(ColumnFacts); ok {
			cols, _, err = cs.Columns(ctx, req.Entity, s.Catalog, m.Catalog.ID, req.Year)
		} else {
			facts, err = f.Facts.Series(ctx, req.Entity, string(s.Catalog), m.Catalog.ID, req.Year)
		}
		if err != nil {
			return Result{}, fmt.Errorf("facts of %s: %w", m.Catalog.ID, err)
		}
		vs := m.Catalog.Variants
		if len(vs) == 0 {
			vs = []measure.Variant{measure.NoVariant}
		}
		// A provider picks the variant; per window we keep the better rate.
		for _, v := range vs {
			sweeps = append(sweeps, &sweep{m: m, v: v, facts: facts, cols: cols})
		}
	}
	var wg sync.WaitGroup
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	for _, sw := range sweeps {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			o := measure.Options{Calendar: f.Calendar, AsOf: req.AsOf, Variant: sw.v}
			if sw.cols != nil {
				sw.ts, sw.failed = SweepColumns(sw.m.Catalog, req.Entity, periods, o, sw.cols)
			} else {
				sw.ts, sw.failed = Sweep(sw.m.Catalog, req.Entity, periods, o, sw.facts)
			}
		}()
	}
	wg.Wait()
	for _, sw := range sweeps {
		if sw.failed != nil {
			return Result{}, sw.failed
		}
		for i, t := range sw.ts {
			old, seen := tallies[i][sw.m.Book.ID]
			if !seen || better(t, old) {
				tallies[i][sw.m.Book.ID], variants[i][sw.m.Book.ID] = t, sw.v
			}
		}
	}
	ws := make([]Window, len(periods))
	var assumed []string
	for i, p := range periods {
		in, yes := s.Input(tallies[i], &rulebook.Period{From: p.First, To: p.Last})
		assumed = yes
		res, err := rulebook.Evaluate(s.Book, in)
		if err != nil {
			return Result{}, err
		}
		ws[i] = s.window(res, tallies[i], variants[i], p, i)
	}
	slices.SortStableFunc(ws, rank)
	out := Result{Program: req.Program, Year: req.Year, Entity: req.Entity.String(), Days: days, Rule: s.Book.Period.String(),
		Windows: len(ws), Best: ws[0], Assumed: assumed, Uncounted: s.Uncounted,
		Ranking: "most required measures met, then the highest score, then the widest margin (sum over measures of rate − threshold), then the earliest"}
	out.RunnersUp = ws[1:min(len(ws), 1+top)]
	out.Distinct = distinct(ws, days, top)
	return out, nil
}

// better reports whether a has the higher rate than b (a denominator of 0 is the lowest).
func better(a, b Tally) bool {
	if b.Denominator == 0 {
		return a.Denominator > 0
	}
	return a.Denominator > 0 && int64(a.Numerator)*int64(b.Denominator) > int64(b.Numerator)*int64(a.Denominator)
}

// window is one period's result: required measures met, score, margin.
func (s Scope) window(res rulebook.Result, ts map[string]Tally, vs map[string]measure.Variant, p measure.Period, i int) Window {
	w := Window{From: p.First.Format(time.DateOnly), To: p.Last.Format(time.DateOnly), Pass: res.Pass, margin: new(big.Rat), start: i}
	if res.Score != nil {
		total := res.Score.Total
		w.Score = &total
	}
	for _, m := range s.Measures {
		mr, _ := res.Measure(m.Book.ID)
		t := ts[m.Book.ID]
		margin := Margin(s.Book, m.Book, t)
		w.margin.Add(w.margin, margin)
		if m.Book.Role == rulebook.Required {
			w.RequiredTotal++
			if mr.Status == rulebook.Met {
				w.RequiredMet++
			}
		}
		w.Measures = append(w.Measures, MeasureResult{ID: m.Book.ID, Numerator: t.Numerator, Denominator: t.Denominator,
			Percent: mr.Percent, Threshold: mr.Threshold, Status: string(mr.Status), Points: mr.Points,
			Margin: margin.FloatString(2), Variant: string(vs[m.Book.ID])})
	}
	w.Margin = w.margin.FloatString(2)
	return w
}

// Margin is how far a measure's rate is above its threshold, in percentage points:
// 100 × numerator / denominator − the "more than" percent (0 for measures without
// one). A denominator of 0 has a rate of 0.
func Margin(b *rulebook.Book, m rulebook.Measure, t Tally) *big.Rat {
	r := new(big.Rat)
	if t.Denominator > 0 {
		r.SetFrac64(100*int64(t.Numerator), int64(t.Denominator))
	}
	if Rule(b, m) == rulebook.MoreThan {
		r.Sub(r, big.NewRat(int64(m.Threshold.Percent), 1))
	}
	return r
}

// rank orders windows best first.
func rank(a, b Window) int {
	return cmp.Or(
		cmp.Compare(b.RequiredMet, a.RequiredMet),
		cmp.Compare(score(b), score(a)),
		b.margin.Cmp(a.margin),
		cmp.Compare(a.start, b.start),
	)
}

func score(w Window) int64 {
	if w.Score == nil {
		return 0
	}
	return *w.Score
}

// distinct picks, in rank order, up to n windows after the best that overlap
// neither it nor each other.
func distinct(ranked []Window, days, n int) []Window {
	chosen := []Window{ranked[0]}
	for _, w := range ranked[1:] {
		if len(chosen) > n {
			break
		}
		if !slices.ContainsFunc(chosen, func(c Window) bool { return abs(c.start-w.start) < days }) {
			chosen = append(chosen, w)
		}
	}
	return chosen[1:]
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Held is one measure's series of an entity as a source gives them, for one-off
// counts (a forecast, a worklist): columns when the source holds them (counted without
// building anything), facts otherwise.
type Held struct {
	facts []membership.Fact
	cols  []*membership.Columns
}

// Hold reads the series of entity e (a group's: its clinicians') for one measure.
func Hold(ctx context.Context, src Facts, e contract.Entity, program measure.Program, measureID string, year int) (Held, error) {
	if cs, ok := src.(ColumnFacts); ok {
		cols, _, err := cs.Columns(ctx, e, program, measureID, year)
		return Held{cols: cols}, err
	}
	facts, err := src.Series(ctx, e, string(program), measureID, year)
	return Held{facts: facts}, err
}

// Count is membership.Count over the series held (membership.CountColumnsOnce over
// columns: the same result, and the series' remembered members are left to reports).
func (h Held) Count(m measure.Measure, e contract.Entity, p measure.Period, o measure.Options) (measure.Result, error) {
	if h.cols != nil {
		return membership.CountColumnsOnce(m, e, p, o, h.cols...)
	}
	return membership.Count(m, e, p, o, h.facts)
}

// Deadlines calls fn with every denominator fact's deadline (those that have one), in
// the order the series hold them.
func (h Held) Deadlines(fn func(patient, object, ref string, deadline time.Time)) {
	each := func(facts []membership.Fact) {
		for _, f := range facts {
			if f.Role == membership.Denominator && !f.Deadline.IsZero() {
				fn(f.Patient, f.Object, f.Ref, f.Deadline)
			}
		}
	}
	each(h.facts)
	for _, c := range h.cols {
		if !c.Nanos() {
			each(c.Facts())
			continue
		}
		for m := range c.Members() {
			patient, object, first, end := c.Member(m)
			for i := first; i < end; i++ {
				if r := c.Row(i); r.Role == membership.Denominator && r.Deadline != math.MinInt64 {
					fn(patient, object, r.Ref, time.Unix(0, r.Deadline).UTC())
				}
			}
		}
	}
}
