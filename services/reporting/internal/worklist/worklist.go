// Package worklist lists, for a clinic (a group TIN, or a hospital CCN), the patients
// who can still enter a measure's numerator: denominator members not in the numerator
// whose action is still possible — a timely-access deadline still ahead, or an action
// the numerator window can still take. It orders them by their effect on the score:
// those who would carry a measure over its threshold first, then the points each
// patient is worth, then the soonest deadline. Patients are opaque IDs only.
package worklist

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/services/reporting/internal/forecast"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
	"github.com/attest-ehr/attest/services/reporting/internal/window"
)

// Request asks for one clinic's worklist.
type Request struct {
	Program   rulebook.Program
	Year      int
	Entity    contract.Entity // tin or ccn
	CAH       bool
	Measure   string // one measure; "": every proportion measure
	From, To  time.Time
	AsOf      time.Time
	PageSize  int
	PageToken string
}

// Result is one page of the worklist.
type Result struct {
	Entity        string    `json:"entity"`
	From          string    `json:"from"`
	To            string    `json:"to"`
	AsOf          time.Time `json:"as_of"`
	Measures      []Summary `json:"measures"`
	Total         int       `json:"total"`
	Items         []Item    `json:"items"`
	NextPageToken string    `json:"next_page_token,omitempty"`
	Order         string    `json:"order"`
}

// Summary is one measure's standing.
type Summary struct {
	ID          string `json:"id"`
	Numerator   int    `json:"numerator"`
	Denominator int    `json:"denominator"`
	Threshold   string `json:"threshold"`
	// Needed is how many more numerator patients meet the threshold now (-1: cannot).
	Needed     int64 `json:"needed"`
	Candidates int   `json:"candidates"`
}

// Item is one patient (or object) who can still enter one measure's numerator.
type Item struct {
	PatientID string    `json:"patient_id"`
	Object    string    `json:"object,omitempty"`
	Measure   string    `json:"measure"`
	Clinician string    `json:"clinician,omitempty"` // for a group: the TIN/NPI through which it counts
	Reason    string    `json:"reason"`              // pending, missing, out-of-window
	Ref       string    `json:"ref,omitempty"`       // the input that put it in the denominator (an encounter ID)
	Deadline  time.Time `json:"deadline"`
	// CrossesThreshold: among the fewest patients, soonest deadline first, who carry
	// the measure over its threshold.
	CrossesThreshold bool `json:"crosses_threshold"`
	// PointsPerPatient is the measure's points after redistribution divided by its
	// denominator: what one more numerator patient is worth (points books only).
	PointsPerPatient string `json:"points_per_patient"`

	points *big.Rat
}

// Lister builds worklists from membership facts.
type Lister struct {
	Catalog  *measure.Catalog
	Calendar *calendar.Calendar
	Facts    window.Facts
}

const maxPage = 500

// List returns one page of the clinic's worklist.
func (l *Lister) List(ctx context.Context, req Request) (Result, error) {
	if req.Entity.Kind != contract.EntityTIN && req.Entity.Kind != contract.EntityCCN {
		return Result{}, errs.Field(errs.Invalid, "entity", "a worklist is for a clinic: tin:… or ccn:…")
	}
	size := cmp.Or(req.PageSize, 50)
	if size < 1 || size > maxPage {
		return Result{}, errs.Field(errs.Invalid, "page_size", "must be 1 to %d", maxPage)
	}
	offset, err := decodeToken(req.PageToken)
	if err != nil {
		return Result{}, err
	}
	s, err := window.Resolve(l.Catalog, req.Program, req.Year, req.Entity, req.CAH)
	if err != nil {
		return Result{}, err
	}
	from, to := cmp.Or(req.From, s.Book.Period.Start), cmp.Or(req.To, s.Book.Period.End)
	if to.Before(from) {
		return Result{}, errs.Field(errs.Invalid, "to", "is before from")
	}
	if req.Measure != "" && !slices.ContainsFunc(s.Measures, func(m window.Measure) bool { return m.Book.ID == req.Measure }) {
		return Result{}, errs.Field(errs.Invalid, "measure", "%s is not a proportion measure counted for %s %d and this entity", req.Measure, req.Program, req.Year)
	}
	period := measure.Period{Year: req.Year, First: from, Last: to}
	out := Result{Entity: req.Entity.String(), From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), AsOf: req.AsOf,
		Order: "carries a measure over its threshold, then points per patient, then the soonest deadline"}
	results := map[string]measure.Result{}
	tallies := map[string]window.Tally{}
	var items []Item
	for _, m := range s.Measures {
		held, err := window.Hold(ctx, l.Facts, req.Entity, s.Catalog, m.Catalog.ID, req.Year)
		if err != nil {
			return Result{}, fmt.Errorf("facts of %s: %w", m.Catalog.ID, err)
		}
		r, err := l.count(m.Catalog, req.Entity, period, req.AsOf, held)
		if err != nil {
			return Result{}, err
		}
		results[m.Book.ID] = r
		tallies[m.Book.ID] = window.Tally{Numerator: r.Numerator, Denominator: r.Denominator}
		if req.Measure != "" && m.Book.ID != req.Measure {
			continue
		}
		b, err := measure.Resolve(m.Catalog, req.Entity, period, measure.Options{Calendar: l.Calendar, AsOf: req.AsOf, Variant: r.Variant})
		if err != nil {
			return Result{}, err
		}
		items = append(items, candidates(m, r, b, held, req.AsOf)...)
	}
	// Points per patient from the rule book's points after redistribution.
	in, _ := s.Input(tallies, nil)
	scored, err := rulebook.Evaluate(s.Book, in)
	if err != nil {
		return Result{}, err
	}
	for _, m := range s.Measures {
		if req.Measure != "" && m.Book.ID != req.Measure {
			continue
		}
		r := results[m.Book.ID]
		rule := window.Rule(s.Book, m.Book)
		sum := Summary{ID: m.Book.ID, Numerator: r.Numerator, Denominator: r.Denominator,
			Threshold: rulebook.Threshold{Rule: rule, Percent: m.Book.Threshold.Percent}.String(),
			Needed:    forecast.Needed(rule, m.Book.Threshold.Percent, int64(r.Numerator), int64(r.Denominator))}
		per := new(big.Rat)
		if mr, ok := scored.Measure(m.Book.ID); ok && mr.MaxPoints != "" && r.Denominator > 0 {
			if max, ok := new(big.Rat).SetString(mr.MaxPoints); ok {
				per.Quo(max, big.NewRat(int64(r.Denominator), 1))
			}
		}
		var mine []int
		for i := range items {
			if items[i].Measure == m.Book.ID {
				items[i].points, items[i].PointsPerPatient = per, per.FloatString(4)
				mine = append(mine, i)
			}
		}
		sum.Candidates = len(mine)
		// The fewest who carry it over: the soonest deadlines first.
		if sum.Needed > 0 && int(sum.Needed) <= len(mine) {
			slices.SortFunc(mine, func(a, b int) int { return byDeadline(items[a], items[b]) })
			for _, i := range mine[:sum.Needed] {
				items[i].CrossesThreshold = true
			}
		}
		out.Measures = append(out.Measures, sum)
	}
	slices.SortFunc(items, func(a, b Item) int {
		return cmp.Or(boolFirst(a.CrossesThreshold, b.CrossesThreshold), b.points.Cmp(a.points), byDeadline(a, b))
	})
	out.Total = len(items)
	if offset > len(items) {
		return Result{}, errs.Field(errs.Invalid, "page_token", "beyond the end of the list")
	}
	end := min(len(items), offset+size)
	out.Items = items[offset:end]
	if end < len(items) {
		out.NextPageToken = encodeToken(end)
	}
	return out, nil
}

// count is Count with the variant whose rate is higher (the provider picks one).
func (l *Lister) count(m measure.Measure, e contract.Entity, p measure.Period, asOf time.Time, held window.Held) (measure.Result, error) {
	vs := m.Variants
	if len(vs) == 0 {
		vs = []measure.Variant{measure.NoVariant}
	}
	var best measure.Result
	for i, v := range vs {
		r, err := held.Count(m, e, p, measure.Options{Calendar: l.Calendar, AsOf: asOf, Variant: v})
		if err != nil {
			return measure.Result{}, err
		}
		if i == 0 || r.Denominator > 0 && (best.Denominator == 0 || int64(r.Numerator)*int64(best.Denominator) > int64(best.Numerator)*int64(r.Denominator)) {
			best = r
		}
	}
	return best, nil
}

// candidates are the members of r that can still enter the numerator, with the
// deadline of their action: a pending timely-access encounter's deadline; otherwise,
// for a member with no action in the window yet, the input's own deadline when it
// has one, else the end of the numerator window — as long as it is after asOf.
// Timely access missed, late or decremented cannot be mended.
func candidates(m window.Measure, r measure.Result, b measure.Bounds, held window.Held, asOf time.Time) []Item {
	type key struct{ patient, object, ref string }
	deadlines := map[key]time.Time{}
	held.Deadlines(func(patient, object, ref string, deadline time.Time) {
		deadlines[key{patient, object, ref}] = deadline
	})
	_, timely := m.Catalog.Rule.(measure.TimelyAccess)
	var out []Item
	for _, mb := range r.Members {
		if !mb.InDenominator || mb.InNumerator {
			continue
		}
		var deadline time.Time
		ref := mb.Denominator.Ref
		switch code := mb.Numerator.Code; {
		case code == measure.Pending:
			ref = mb.Numerator.Ref
			deadline = deadlines[key{mb.PatientID, mb.Object, ref}]
		case timely:
			continue
		case code == measure.Missing || code == measure.OutOfWindow:
			deadline = b.WindowTo
			if d, ok := deadlines[key{mb.PatientID, mb.Object, ref}]; ok {
				deadline = d
			}
		default:
			continue
		}
		if deadline.IsZero() || !asOf.Before(deadline) {
			continue
		}
		out = append(out, Item{PatientID: mb.PatientID, Object: mb.Object, Measure: m.Book.ID, Clinician: mb.Via,
			Reason: string(mb.Numerator.Code), Ref: ref, Deadline: deadline.UTC()})
	}
	return out
}

func byDeadline(a, b Item) int {
	return cmp.Or(a.Deadline.Compare(b.Deadline), cmp.Compare(a.PatientID, b.PatientID), cmp.Compare(a.Measure, b.Measure), cmp.Compare(a.Object, b.Object))
}

func boolFirst(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

// A page token is the offset of the next item, opaque to clients.
func encodeToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(offset)))
}

func decodeToken(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil && len(b) > 2 && string(b[:2]) == "o:" {
		if n, err := strconv.Atoi(string(b[2:])); err == nil && n >= 0 {
			return n, nil
		}
	}
	return 0, errs.Field(errs.Invalid, "page_token", "not a token this API returned")
}
