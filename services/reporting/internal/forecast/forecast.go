// Package forecast projects each measure of a reporting period to its end: from the
// numbers of the period so far and the activity of its recent weeks, the projected
// numerator, denominator and rate with a 95% range, whether the threshold will be
// met (likely, at risk, unlikely), and how many more patients must get the numerator
// action — exactly, with the rule book's strict "more than" and portal rounding.
//
// Method (docs/reports.md, "Forecast"): the period so far is counted with
// membership.Count at as_of, and so is the period up to `recent` days earlier; the
// difference is the recent activity. New denominator members keep arriving at the
// recent daily rate (a point projection); each converts to the numerator with the
// recent conversion rate p = Δnumerator / Δdenominator, whose 95% Wilson score
// interval gives the range. With no recent denominator growth the year-so-far rate
// is used. The projection is a planning aid; the numbers so far are exact.
package forecast

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
	"github.com/attest-ehr/attest/services/reporting/internal/window"
)

// z is the normal quantile of a two-sided 95% interval.
const z = 1.959964

// Request asks for a forecast.
type Request struct {
	Program  rulebook.Program
	Year     int
	Entity   contract.Entity
	CAH      bool
	From, To time.Time // the period's days (both included); zero: the rule's whole window
	AsOf     time.Time // the moment the year so far ends
	Recent   int       // days of recent activity; 0: 28
}

// Result is the forecast of every measure.
type Result struct {
	Program       rulebook.Program `json:"program"`
	Year          int              `json:"year"`
	Entity        string           `json:"entity"`
	From          string           `json:"from"`
	To            string           `json:"to"`
	AsOf          time.Time        `json:"as_of"`
	DaysElapsed   int              `json:"days_elapsed"`
	DaysRemaining int              `json:"days_remaining"`
	RecentDays    int              `json:"recent_days"`
	Method        string           `json:"method"`
	Measures      []Measure        `json:"measures"`
	Uncounted     []string         `json:"uncounted,omitempty"`
}

// Status is the outlook of one measure.
type Status string

// The outlooks.
const (
	Likely      Status = "likely"   // even the low end of the range meets the threshold
	AtRisk      Status = "at_risk"  // the range straddles it
	Unlikely    Status = "unlikely" // even the high end misses it
	Met         Status = "met"      // the period is over and it is met
	NotMet      Status = "not_met"  // the period is over and it is not
	NoThreshold Status = "no_threshold"
)

// Measure is one measure's forecast.
type Measure struct {
	ID        string `json:"id"`
	Threshold string `json:"threshold"`
	Variant   string `json:"variant,omitempty"`
	Now       Count  `json:"now"`
	// Recent is what the recent days added.
	Recent    Count      `json:"recent"`
	Projected Projection `json:"projected"`
	Status    Status     `json:"status"`
	// NeededNow is how many more numerator patients today's denominator needs to meet
	// the threshold; NeededByEnd the same against the projected numbers. -1: it
	// cannot be met with that denominator.
	NeededNow   int64 `json:"needed_now"`
	NeededByEnd int64 `json:"needed_by_end"`
}

// Count is a numerator and denominator with the portal percentage.
type Count struct {
	Numerator   int64  `json:"numerator"`
	Denominator int64  `json:"denominator"`
	Percent     string `json:"percent,omitempty"`
}

// Projection is the projected end of the period.
type Projection struct {
	Numerator     int64  `json:"numerator"`
	NumeratorLow  int64  `json:"numerator_low"`
	NumeratorHigh int64  `json:"numerator_high"`
	Denominator   int64  `json:"denominator"`
	Percent       string `json:"percent,omitempty"`
	PercentLow    string `json:"percent_low,omitempty"`
	PercentHigh   string `json:"percent_high,omitempty"`
}

// Forecaster forecasts from membership facts.
type Forecaster struct {
	Catalog  *measure.Catalog
	Calendar *calendar.Calendar
	Facts    window.Facts
}

// Forecast projects every proportion measure of the entity's book.
func (f *Forecaster) Forecast(ctx context.Context, req Request) (Result, error) {
	s, err := window.Resolve(f.Catalog, req.Program, req.Year, req.Entity, req.CAH)
	if err != nil {
		return Result{}, err
	}
	rule := s.Book.Period
	from, to := req.From, req.To
	if from.IsZero() {
		from = rule.Start
	}
	if to.IsZero() {
		to = rule.End
	}
	if err := rule.Check(from, to); err != nil {
		return Result{}, err
	}
	loc := f.Calendar.Location()
	y, mo, d := req.AsOf.In(loc).Date()
	today := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
	if today.Before(from) {
		return Result{}, errs.Field(errs.Invalid, "as_of", "is before the period starts (%s)", from.Format(time.DateOnly))
	}
	last := minTime(today, to) // the last day counted so far
	elapsed := days(from, last)
	remaining := days(last, to) - 1
	recent := req.Recent
	if recent <= 0 {
		recent = 28
	}
	recent = min(recent, elapsed-1)
	out := Result{Program: req.Program, Year: req.Year, Entity: req.Entity.String(), From: from.Format(time.DateOnly),
		To: to.Format(time.DateOnly), AsOf: req.AsOf, DaysElapsed: elapsed, DaysRemaining: remaining, RecentDays: recent,
		Uncounted: s.Uncounted, Method: "numbers so far counted exactly at as_of; denominator grows at the recent daily rate; " +
			"new members convert at the recent rate, 95% Wilson score interval for the range; thresholds as the rule book applies them"}
	now := measure.Period{Year: req.Year, First: from, Last: last}
	before := measure.Period{Year: req.Year, First: from, Last: last.AddDate(0, 0, -recent)}
	for _, m := range s.Measures {
		held, err := window.Hold(ctx, f.Facts, req.Entity, s.Catalog, m.Catalog.ID, req.Year)
		if err != nil {
			return Result{}, fmt.Errorf("facts of %s: %w", m.Catalog.ID, err)
		}
		var best Measure
		vs := m.Catalog.Variants
		if len(vs) == 0 {
			vs = []measure.Variant{measure.NoVariant}
		}
		for i, v := range vs {
			o := measure.Options{Calendar: f.Calendar, AsOf: req.AsOf, Variant: v}
			n, err := held.Count(m.Catalog, req.Entity, now, o)
			if err != nil {
				return Result{}, err
			}
			var b measure.Result
			if recent > 0 {
				if b, err = held.Count(m.Catalog, req.Entity, before, o); err != nil {
					return Result{}, err
				}
			}
			fm := project(s.Book, m.Book, n, b, recent, remaining)
			fm.Variant = string(v)
			if i == 0 || window.Margin(s.Book, m.Book, tally(fm.Now)).Cmp(window.Margin(s.Book, m.Book, tally(best.Now))) > 0 {
				best = fm
			}
		}
		out.Measures = append(out.Measures, best)
	}
	return out, nil
}

func tally(c Count) window.Tally {
	return window.Tally{Numerator: int(c.Numerator), Denominator: int(c.Denominator)}
}

// project is one measure's forecast from the numbers now and `recent` days ago.
func project(b *rulebook.Book, m rulebook.Measure, now, before measure.Result, recent, remaining int) Measure {
	rule, pct := window.Rule(b, m), m.Threshold.Percent
	n, d := int64(now.Numerator), int64(now.Denominator)
	dn, dd := max(0, n-int64(before.Numerator)), max(0, d-int64(before.Denominator))
	dn = min(dn, dd)
	out := Measure{ID: m.ID, Threshold: threshold(rule, pct), Now: count(n, d), Recent: Count{Numerator: dn, Denominator: dd}}
	// The conversion rate and its sample: the recent days, else the year so far.
	pn, pd := dn, dd
	if pd == 0 {
		pn, pd = n, d
	}
	added := int64(0)
	if recent > 0 {
		added = roundHalfUp(new(big.Rat).Mul(big.NewRat(dd, int64(recent)), big.NewRat(int64(remaining), 1)))
	}
	endD := d + added
	mid, lo, hi := n, n, n
	if pd > 0 && added > 0 {
		wl, wh := wilson(pn, pd)
		mid = n + roundHalfUp(new(big.Rat).Mul(big.NewRat(pn, pd), big.NewRat(added, 1)))
		lo = n + int64(math.Floor(wl*float64(added)+1e-9))
		hi = n + int64(math.Ceil(wh*float64(added)-1e-9))
	} else if added > 0 {
		hi = n + added // nothing to learn a rate from: anything from none to all
	}
	out.Projected = Projection{Numerator: mid, NumeratorLow: lo, NumeratorHigh: hi, Denominator: endD}
	if endD > 0 {
		out.Projected.Percent = rulebook.FormatHundredths(rulebook.PortalPercent(mid, endD))
		out.Projected.PercentLow = rulebook.FormatHundredths(rulebook.PortalPercent(lo, endD))
		out.Projected.PercentHigh = rulebook.FormatHundredths(rulebook.PortalPercent(hi, endD))
	}
	passes := func(num, den int64) bool {
		if rule == rulebook.MoreThan {
			return rulebook.MoreThanPercent(num, den, pct)
		}
		return num >= 1
	}
	switch {
	case rule != rulebook.MoreThan && rule != rulebook.AtLeastOne:
		out.Status = NoThreshold
	case remaining == 0 && passes(n, d):
		out.Status = Met
	case remaining == 0:
		out.Status = NotMet
	case passes(lo, endD):
		out.Status = Likely
	case !passes(hi, endD):
		out.Status = Unlikely
	default:
		out.Status = AtRisk
	}
	out.NeededNow = Needed(rule, pct, n, d)
	out.NeededByEnd = Needed(rule, pct, mid, endD)
	return out
}

func count(n, d int64) Count {
	c := Count{Numerator: n, Denominator: d}
	if d > 0 {
		c.Percent = rulebook.FormatHundredths(rulebook.PortalPercent(n, d))
	}
	return c
}

func threshold(r rulebook.Rule, pct int) string {
	return rulebook.Threshold{Rule: r, Percent: pct}.String()
}

// Needed is how many more of the denominator's members must enter the numerator for
// num/den to pass the rule: for "more than P%" the smallest n with the portal
// percentage (hundredths, half up) above P, less num; for "at least one" 1 less num;
// 0 when it passes already or the rule has no threshold; -1 when no numerator up to
// den passes (a denominator of 0, or P = 100).
func Needed(r rulebook.Rule, pct int, num, den int64) int64 {
	switch r {
	case rulebook.AtLeastOne:
		return max(0, 1-num)
	case rulebook.MoreThan:
	default:
		return 0
	}
	if rulebook.MoreThanPercent(num, den, pct) {
		return 0
	}
	// PortalPercent(n, den) > 100P ⇔ n × 10000 / den ≥ 100P + ½ ⇔ n ≥ (200P + 1) × den / 20000.
	n := (int64(200*pct+1)*den + 19999) / 20000
	for n > 0 && rulebook.MoreThanPercent(n-1, den, pct) { // guard the algebra with the rule itself
		n--
	}
	for n <= den && !rulebook.MoreThanPercent(n, den, pct) {
		n++
	}
	if n > den {
		return -1
	}
	return max(0, n-num)
}

// wilson is the 95% Wilson score interval of a proportion k/n, n > 0.
func wilson(k, n int64) (float64, float64) {
	p, nf := float64(k)/float64(n), float64(n)
	den := 1 + z*z/nf
	center := (p + z*z/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / den
	return math.Max(0, center-half), math.Min(1, center+half)
}

func roundHalfUp(x *big.Rat) int64 { return rulebook.RoundHalfUp(x) }

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// days counts the civil days from..to, both included.
func days(from, to time.Time) int { return int(to.Sub(from).Hours()/24+0.5) + 1 }
