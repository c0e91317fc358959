// Package numbers is the read side of the metrics projection: the numerator and
// denominator of any ratio measure for any entity and period, from the stored
// membership facts; the members behind them, paged, with the inputs that put each
// there; a patient's explanation, evaluated from their timeline with every rule
// spelled out; and the measure catalog. The API is served under /v1 (docs/metrics.md).
package numbers

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/libs/measure/timeline"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/services/metrics/internal/projection"
)

// Reader answers questions about measures from the projection's tables.
type Reader struct {
	db      *store.DB
	catalog *measure.Catalog
	cal     *calendar.Calendar
	cache   *membership.Cache
	now     func() time.Time
}

// NewReader returns a Reader of db's live projection, for catalog c, with the
// calendar the facts were derived with, keeping up to cacheFacts facts in memory.
func NewReader(db *store.DB, c *measure.Catalog, cal *calendar.Calendar, cacheFacts int) *Reader {
	return &Reader{db: db, catalog: c, cal: cal, cache: membership.NewCache(cacheFacts), now: time.Now}
}

// Query is one question: a measure of a program and performance year, for an entity
// and a period of that year, counted one way (variant) as of a moment.
type Query struct {
	Entity  contract.Entity
	Program measure.Program
	Year    int
	Measure string
	Period  measure.Period
	Variant measure.Variant
	// AsOf is the moment deadlines are judged at: one still ahead is pending. Zero
	// means the record is final.
	AsOf time.Time
}

// Numbers is a measure counted for an entity and period.
type Numbers struct {
	Measure     string          `json:"measure"`
	Title       string          `json:"title"`
	Program     measure.Program `json:"program"`
	Year        int             `json:"year"`
	Entity      contract.Entity `json:"entity"`
	From        string          `json:"from"` // the period's first day
	To          string          `json:"to"`   // its last day
	Variant     measure.Variant `json:"variant,omitempty"`
	AsOf        *time.Time      `json:"as_of,omitempty"` // absent: counted as final
	Numerator   int             `json:"numerator"`
	Denominator int             `json:"denominator"`
	Threshold   string          `json:"threshold"`
	Met         bool            `json:"met"`
	// Borderline: met exactly, but CMS's two-decimal portal would have shown the
	// threshold itself and failed it; review before attesting.
	Borderline bool   `json:"borderline"`
	Window     string `json:"window"` // where numerator actions may fall
}

// measureOf finds the query's measure, or says which field is wrong.
func (r *Reader) measureOf(q Query) (measure.Measure, error) {
	m, ok := r.catalog.Measure(q.Program, q.Measure, q.Year, q.Entity.Kind)
	if !ok {
		return measure.Measure{}, errs.Field(errs.NotFound, "measure",
			"no measure %s in program %s for %d reported by a %q entity", q.Measure, q.Program, q.Year, q.Entity.Kind)
	}
	if m.Kind != measure.Ratio || m.Rule == nil {
		return measure.Measure{}, errs.Field(errs.Unprocessable, "measure", "%s is not computed from patient data", m.ID)
	}
	return m, nil
}

// Count counts a measure, with every member the facts place in a denominator.
func (r *Reader) Count(ctx context.Context, q Query) (Numbers, measure.Result, error) {
	m, err := r.measureOf(q)
	if err != nil {
		return Numbers{}, measure.Result{}, err
	}
	if _, err := measure.Resolve(m, q.Entity, q.Period, r.options(q)); err != nil {
		return Numbers{}, measure.Result{}, err
	}
	facts, err := r.facts(ctx, q.Entity, q.Program, q.Measure, q.Year)
	if err != nil {
		return Numbers{}, measure.Result{}, err
	}
	res, err := membership.Count(m, q.Entity, q.Period, r.options(q), facts...)
	if err != nil {
		return Numbers{}, measure.Result{}, err
	}
	n := Numbers{Measure: m.ID, Title: m.Title, Program: m.Program, Year: q.Year, Entity: q.Entity,
		From: q.Period.First.Format(time.DateOnly), To: q.Period.Last.Format(time.DateOnly), Variant: res.Variant,
		Numerator: res.Numerator, Denominator: res.Denominator, Threshold: m.Threshold.String(), Met: res.Met,
		Borderline: res.Borderline, Window: string(m.Window)}
	if !q.AsOf.IsZero() {
		at := q.AsOf.UTC()
		n.AsOf = &at
	}
	return n, res, nil
}

func (r *Reader) options(q Query) measure.Options {
	return measure.Options{Calendar: r.cal, AsOf: q.AsOf, Variant: q.Variant}
}

// Member is one member of a measure's denominator (or one a rule keeps out), with the
// input that decided each side.
type Member struct {
	PatientID     string `json:"patient_id"`
	Object        string `json:"object,omitempty"`
	InDenominator bool   `json:"in_denominator"`
	InNumerator   bool   `json:"in_numerator"`
	Denominator   Reason `json:"denominator"`
	Numerator     Reason `json:"numerator,omitzero"`
	Via           string `json:"via,omitempty"` // for a group: the clinician whose facts decided it
}

// Reason explains one decision: the rule's code, the input that decided it and when.
type Reason struct {
	Code measure.Code `json:"code"`
	Ref  string       `json:"ref,omitempty"`
	At   *time.Time   `json:"at,omitempty"`
	Note string       `json:"note,omitempty"`
}

func reason(r measure.Reason) Reason {
	out := Reason{Code: r.Code, Ref: r.Ref, Note: r.Note}
	if !r.At.IsZero() {
		at := r.At.UTC()
		out.At = &at
	}
	return out
}

// Which members a listing returns.
const (
	InDenominator = "denominator"   // in the denominator
	InNumerator   = "numerator"     // in the numerator
	NotNumerator  = "not-numerator" // in the denominator, not the numerator: the worklist
	NotEligible   = "not-eligible"  // kept out of the denominator by a rule
)

// Page is one page of members.
type Page struct {
	Numbers   Numbers  `json:"numbers"`
	Members   []Member `json:"members"`
	Total     int      `json:"total"`                // members matching, over all pages
	NextToken string   `json:"next_token,omitempty"` // absent on the last page
}

// Members lists the members of a count that match which, by patient and object,
// size at a time from token ("" for the first page).
func (r *Reader) Members(ctx context.Context, q Query, which string, size int, token string) (Page, error) {
	if !slices.Contains([]string{InDenominator, InNumerator, NotNumerator, NotEligible}, which) {
		return Page{}, errs.Field(errs.Invalid, "in", "one of denominator, numerator, not-numerator, not-eligible")
	}
	start := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 {
			return Page{}, errs.Field(errs.Invalid, "page_token", "not a token this API returned")
		}
		start = n
	}
	n, res, err := r.Count(ctx, q)
	if err != nil {
		return Page{}, err
	}
	var all []Member
	for _, mb := range res.Members {
		keep := map[string]bool{
			InDenominator: mb.InDenominator,
			InNumerator:   mb.InNumerator,
			NotNumerator:  mb.InDenominator && !mb.InNumerator,
			NotEligible:   !mb.InDenominator,
		}[which]
		if keep {
			all = append(all, Member{PatientID: mb.PatientID, Object: mb.Object, InDenominator: mb.InDenominator,
				InNumerator: mb.InNumerator, Denominator: reason(mb.Denominator), Numerator: reason(mb.Numerator), Via: mb.Via})
		}
	}
	p := Page{Numbers: n, Total: len(all), Members: []Member{}}
	if start < len(all) {
		end := min(start+size, len(all))
		p.Members = all[start:end]
		if end < len(all) {
			p.NextToken = strconv.Itoa(end)
		}
	}
	return p, nil
}

// Explanation is why one patient is, or is not, in a measure for an entity and period:
// the measure evaluated from their timeline with every rule spelled out, the
// membership facts behind it, and the event that recorded each input.
type Explanation struct {
	Numbers Numbers                `json:"numbers"` // the patient's own contribution
	Members []Member               `json:"members"`
	Facts   []contract.MeasureFact `json:"facts"`
	Inputs  []Input                `json:"inputs"`
}

// Input is one input of the patient's timeline and the event that recorded it.
type Input struct {
	Kind  timeline.Kind `json:"kind"`
	ID    string        `json:"id"`
	Event string        `json:"event"`
}

// Explain explains one patient's membership.
func (r *Reader) Explain(ctx context.Context, patientID string, q Query) (Explanation, error) {
	m, err := r.measureOf(q)
	if err != nil {
		return Explanation{}, err
	}
	items, err := projection.Items(ctx, r.db, projection.Live, patientID)
	if err != nil {
		return Explanation{}, err
	}
	if len(items) == 0 {
		return Explanation{}, errs.Field(errs.NotFound, "id", "no inputs about this patient")
	}
	t, err := timeline.Build(patientID, items)
	if err != nil {
		return Explanation{}, err
	}
	var pts []measure.Patient
	if !t.Deleted {
		pts = []measure.Patient{t.For(q.Entity.Kind)}
	}
	res, err := measure.Evaluate(m, q.Entity, q.Period, pts, r.options(q))
	if err != nil {
		return Explanation{}, err
	}
	out := Explanation{Numbers: Numbers{Measure: m.ID, Title: m.Title, Program: m.Program, Year: q.Year, Entity: q.Entity,
		From: q.Period.First.Format(time.DateOnly), To: q.Period.Last.Format(time.DateOnly), Variant: res.Variant,
		Numerator: res.Numerator, Denominator: res.Denominator, Threshold: m.Threshold.String(), Window: string(m.Window)},
		Members: []Member{}, Facts: []contract.MeasureFact{}, Inputs: []Input{}}
	for _, mb := range res.Members {
		out.Members = append(out.Members, Member{PatientID: mb.PatientID, Object: mb.Object, InDenominator: mb.InDenominator,
			InNumerator: mb.InNumerator, Denominator: reason(mb.Denominator), Numerator: reason(mb.Numerator), Via: mb.Via})
	}
	facts, err := projection.PatientFacts(ctx, r.db, projection.Live, patientID)
	if err != nil {
		return Explanation{}, err
	}
	for _, f := range facts {
		if f.Program == q.Program && f.Measure == q.Measure && f.Year == q.Year && belongs(f.Entity, q.Entity) {
			out.Facts = append(out.Facts, projection.Contract(f))
		}
	}
	for _, it := range items {
		out.Inputs = append(out.Inputs, Input{Kind: it.Kind, ID: it.ID, Event: it.Event})
	}
	return out, nil
}

// belongs reports whether a fact's entity is e, or for a group one of its clinicians.
func belongs(fe, e contract.Entity) bool {
	if e.Kind == contract.EntityTIN {
		return fe.Kind == contract.EntityTINNPI && strings.HasPrefix(fe.ID, e.ID+"/")
	}
	return fe == e
}

// Catalog lists the measures of a program and year for an entity kind.
func (r *Reader) Catalog(p measure.Program, year int, kind measure.EntityKind) []CatalogEntry {
	out := []CatalogEntry{}
	for _, m := range r.catalog.Measures(p, year, kind) {
		out = append(out, CatalogEntry{ID: m.ID, Title: m.Title, Kind: m.Kind, Unit: m.Unit, Denominator: m.Denominator,
			Numerator: m.Numerator, Window: m.Window, Threshold: m.Threshold.String(), Variants: m.Variants,
			Required: m.Required, Bonus: m.Bonus, Computed: m.Kind == measure.Ratio && m.Rule != nil, Caveat: m.Caveat})
	}
	return out
}

// CatalogEntry is one measure as the API lists it.
type CatalogEntry struct {
	ID          string            `json:"id"`
	Title       string            `json:"title"`
	Kind        measure.Kind      `json:"kind"`
	Unit        measure.Unit      `json:"unit,omitempty"`
	Denominator string            `json:"denominator,omitempty"`
	Numerator   string            `json:"numerator,omitempty"`
	Window      measure.Window    `json:"window,omitempty"`
	Threshold   string            `json:"threshold"`
	Variants    []measure.Variant `json:"variants,omitempty"`
	Required    bool              `json:"required"`
	Bonus       bool              `json:"bonus"`
	// Computed: a ratio measure this service counts from patient data (yes/no
	// measures and the few ratios without a rule are answered elsewhere).
	Computed bool   `json:"computed"`
	Caveat   string `json:"caveat,omitempty"`
}
