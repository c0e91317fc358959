package measure

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
)

// Period is an EHR reporting period or MIPS performance period: the days First to Last
// inclusive, in the calendar's time zone, within performance year Year.
type Period struct {
	Year  int
	First time.Time // the first day: its date as written (its own location), taken as a day in the calendar's zone
	Last  time.Time // the last day, included; likewise
	// Attested is when the attestation was submitted. Stage 1 and 2 numerator actions
	// may fall up to it (§2.2); zero means not yet, and the window then ends at
	// Options.AsOf, or at the end of the reporting year when that is zero too.
	Attested time.Time
}

// Options are what an evaluation needs besides the data.
type Options struct {
	// Calendar counts business days and decides which day a moment falls on. Required.
	Calendar *calendar.Calendar
	// AsOf is the moment the evaluation stands at: a deadline after it is pending, not
	// missed. Zero means the record is final and every deadline has passed.
	AsOf time.Time
	// Variant is how to count a measure that has variants (controlled substances
	// included or excluded). Required for such measures; a measure with a single
	// variant uses it, and a measure without variants ignores it.
	Variant Variant
}

// Code classifies a Reason.
type Code string

// The reason codes.
const (
	Counted     Code = "counted"       // Ref is the input that put the member in the denominator
	OutOfPeriod Code = "out-of-period" // the member's inputs for the entity fall outside the period
	NotEligible Code = "not-eligible"  // an input exists but the measure's rule leaves it out; Note says which rule
	Met         Code = "met"           // Ref is the numerator action
	Missing     Code = "missing"       // no qualifying numerator action
	Late        Code = "late"          // the action came after its deadline
	OutOfWindow Code = "out-of-window" // the action falls outside the numerator window (§2.2)
	Decremented Code = "decremented"   // a later encounter without timely access took the patient out (§2.1)
	Pending     Code = "pending"       // not yet in the numerator: a deadline is still ahead of AsOf
)

// Reason explains one decision about a member: which input (Ref, At) and which rule.
// Notes carry IDs, dates and rule names only, never PHI.
type Reason struct {
	Code Code
	Ref  string    // the ID of the input that decided it, if any
	At   time.Time // when that input happened
	Note string    // the rule applied, in words
}

// Member is one patient (or counted object) the entity's measure considered.
type Member struct {
	PatientID     string
	Object        string // the counted object's ID (prescription, order, transition…); "" for unique patients
	InDenominator bool
	InNumerator   bool
	Denominator   Reason // why it is, or is not, in the denominator
	Numerator     Reason // why it is, or is not, in the numerator (zero when not in the denominator)
	Via           string // for a group: the clinician (tin_npi entity) whose evaluation decided it
}

// Result is a measure evaluated for one entity and period.
type Result struct {
	MeasureID   string
	Entity      contract.Entity
	Period      Period
	Variant     Variant
	Numerator   int
	Denominator int
	Met         bool // the threshold is met (exactly; see Threshold.Met)
	Borderline  bool // see Threshold.Borderline
	Members     []Member
}

// Evaluate computes ratio measure m for entity e over period p from the patients'
// timelines. A MIPS group (TIN) is its clinicians' TIN/NPI results added together,
// de-duplicating patients (ONC general notes, §2.4). Bad arguments are errs.Invalid
// naming the field; nothing is partially computed.
func Evaluate(m Measure, e contract.Entity, p Period, patients []Patient, o Options) (Result, error) {
	if m.Kind != Ratio || m.Rule == nil {
		return Result{}, errs.Field(errs.Invalid, "measure", "%s is not a ratio measure", m.ID)
	}
	s, err := newScope(m, e, p, o)
	if err != nil {
		return Result{}, err
	}
	var members []Member
	if e.Kind == TIN {
		members = group(s, patients)
	} else {
		for i := range patients {
			members = append(members, m.Rule.count(s, &patients[i])...)
		}
	}
	return Tally(m, e, p, s.variant, members), nil
}

// Tally is the result of measure m for entity e, period p and variant v with the
// given members: sorted by patient and object, counted, and checked against the
// threshold.
func Tally(m Measure, e contract.Entity, p Period, v Variant, members []Member) Result {
	slices.SortFunc(members, func(a, b Member) int {
		return cmp.Or(cmp.Compare(a.PatientID, b.PatientID), cmp.Compare(a.Object, b.Object))
	})
	r := Result{MeasureID: m.ID, Entity: e, Period: p, Variant: v, Members: members}
	r.Numerator, r.Denominator = Counts(members)
	r.Judge(m)
	return r
}

// Counts is the numerator and denominator of members: those in the denominator, and
// of them those in the numerator.
func Counts(members []Member) (numerator, denominator int) {
	for _, mb := range members {
		if mb.InDenominator {
			denominator++
			if mb.InNumerator {
				numerator++
			}
		}
	}
	return numerator, denominator
}

// Judge sets whether r's numbers meet m's threshold, and whether they are borderline.
func (r *Result) Judge(m Measure) {
	r.Met = m.Threshold.Met(r.Numerator, r.Denominator)
	r.Borderline = m.Threshold.Borderline(r.Numerator, r.Denominator)
}

// group evaluates a TIN as the union of its clinicians (every NPI with an item
// billed under it), each as a TIN/NPI with the measure's own transitive rule. A
// patient or object is in the group's denominator (numerator) when it is in any
// clinician's.
func group(s *scope, patients []Patient) []Member {
	byKey := map[[2]string]int{}
	var out []Member
	for _, npi := range clinicians(s.tin, patients) {
		c := *s
		c.kind, c.npi = TINNPI, npi
		via := contract.Entity{Kind: TINNPI, ID: s.tin + "/" + npi}.String()
		for i := range patients {
			for _, mb := range s.m.Rule.count(&c, &patients[i]) {
				mb.Via = via
				k := [2]string{mb.PatientID, mb.Object}
				j, seen := byKey[k]
				switch {
				case !seen:
					byKey[k] = len(out)
					out = append(out, mb)
				case mb.InNumerator && !out[j].InNumerator, mb.InDenominator && !out[j].InDenominator:
					out[j] = mb
				}
			}
		}
	}
	return out
}

// clinicians lists the NPIs that have anything attributed to them under tin.
func clinicians(tin string, patients []Patient) []string {
	set := map[string]bool{}
	add := func(p Provider) {
		if p.TIN == tin && p.NPI != "" {
			set[p.NPI] = true
		}
	}
	for i := range patients {
		pt := &patients[i]
		for _, x := range pt.Encounters {
			add(x.Provider)
		}
		for _, x := range pt.Actions {
			add(x.Provider)
		}
		for _, x := range pt.Prescriptions {
			add(x.Provider)
		}
		for _, x := range pt.Orders {
			add(x.Provider)
		}
		for _, x := range pt.TransitionsOut {
			add(x.Provider)
		}
		for _, x := range pt.TransitionsIn {
			add(x.Provider)
		}
		for _, x := range pt.Requests {
			add(x.Provider)
		}
	}
	npis := make([]string, 0, len(set))
	for n := range set {
		npis = append(npis, n)
	}
	slices.Sort(npis)
	return npis
}

// scope is one evaluation's fixed context: the measure, the entity, the period and
// numerator window as instants, and the options.
type scope struct {
	m             Measure
	kind          EntityKind
	npi, tin, ccn string
	from, to      time.Time // the period, [from, to)
	winFrom       time.Time // the numerator window, [winFrom, winTo)
	winTo         time.Time
	year          int // the performance year
	cal           *calendar.Calendar
	asOf          time.Time // zero: final
	variant       Variant
}

func newScope(m Measure, e contract.Entity, p Period, o Options) (*scope, error) {
	if o.Calendar == nil {
		return nil, errs.Field(errs.Invalid, "options.calendar", "a business-day calendar is required")
	}
	if !m.For(e.Kind) {
		return nil, errs.Field(errs.Invalid, "entity.kind", "%s is not reported by a %q entity", m.ID, e.Kind)
	}
	if !m.Years.Has(p.Year) {
		return nil, errs.Field(errs.Invalid, "period.year", "%s applies to %s, not %d", m.ID, m.Years, p.Year)
	}
	s := &scope{m: m, kind: e.Kind, year: p.Year, cal: o.Calendar, asOf: o.AsOf, variant: o.Variant}
	if err := s.setEntity(e); err != nil {
		return nil, err
	}
	switch len(m.Variants) {
	case 0:
		s.variant = NoVariant // a variant chosen for the program's other measures does not apply here
	case 1:
		if s.variant == NoVariant {
			s.variant = m.Variants[0]
		}
	}
	if !m.HasVariant(s.variant) {
		return nil, errs.Field(errs.Invalid, "variant", "%s is counted as one of %v", m.ID, m.Variants)
	}
	loc := o.Calendar.Location()
	s.from, s.to = dayStart(p.First, loc), dayStart(p.Last, loc).AddDate(0, 0, 1)
	if !s.from.Before(s.to) {
		return nil, errs.Field(errs.Invalid, "period.last", "the period ends before it starts")
	}
	yFrom, yTo := reportingYear(m.Program, e.Kind, p.Year, loc)
	if s.from.Before(yFrom) || s.to.After(yTo) {
		return nil, errs.Field(errs.Invalid, "period", "the period must lie within the %d reporting year (%s to %s)",
			p.Year, yFrom.Format(time.DateOnly), yTo.AddDate(0, 0, -1).Format(time.DateOnly))
	}
	s.winFrom, s.winTo = s.window(p, yFrom, yTo)
	return s, nil
}

// setEntity parses the entity's ID into the fields its kind matches on.
func (s *scope) setEntity(e contract.Entity) error {
	id := strings.TrimSpace(e.ID)
	if id == "" {
		return errs.Field(errs.Invalid, "entity.id", "required")
	}
	switch e.Kind {
	case NPI:
		s.npi = id
	case TIN:
		s.tin = id
	case CCN:
		s.ccn = id
	case TINNPI:
		tin, npi, ok := strings.Cut(id, "/")
		if !ok || tin == "" || npi == "" {
			return errs.Field(errs.Invalid, "entity.id", "a TIN/NPI entity is written TIN/NPI")
		}
		s.tin, s.npi = tin, npi
	default:
		return errs.Field(errs.Invalid, "entity.kind", "unknown entity kind")
	}
	return nil
}

// reportingYear is the span a performance year's periods lie in, [from, to): the
// federal fiscal year for hospitals through 2014, the 15 months from October 2014 for
// hospitals in 2015 (when they moved to calendar years), else the calendar year.
func reportingYear(p Program, k EntityKind, year int, loc *time.Location) (time.Time, time.Time) {
	jan1 := time.Date(year, time.January, 1, 0, 0, 0, 0, loc)
	switch {
	case k == CCN && year <= 2014:
		return jan1.AddDate(0, -3, 0), jan1.AddDate(0, 9, 0)
	case k == CCN && year == 2015:
		return jan1.AddDate(0, -3, 0), jan1.AddDate(1, 0, 0)
	}
	return jan1, jan1.AddDate(1, 0, 0)
}

// window is the numerator window of the measure for period p in reporting year
// [yFrom, yTo).
func (s *scope) window(p Period, yFrom, yTo time.Time) (time.Time, time.Time) {
	switch s.m.Window {
	case InCalendarYear:
		jan1 := time.Date(p.Year, time.January, 1, 0, 0, 0, 0, s.cal.Location())
		return jan1, jan1.AddDate(1, 0, 0)
	case YearToAttestation:
		end := yTo
		switch {
		case !p.Attested.IsZero():
			end = p.Attested.Add(time.Nanosecond)
		case !s.asOf.IsZero():
			end = s.asOf.Add(time.Nanosecond)
		}
		return yFrom, end
	case BeforePeriodEnd:
		return time.Time{}, s.to
	}
	return s.from, s.to
}

// dayStart is the start of t's date, as written, in loc: a period given as UTC
// midnights is the same days in New York, not the evenings before.
func dayStart(t time.Time, loc *time.Location) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// owns reports whether an item attributed to p belongs to the entity: it can put a
// patient or object in the entity's denominator.
func (s *scope) owns(p Provider) bool {
	switch s.kind {
	case NPI:
		return p.NPI == s.npi
	case TINNPI:
		return p.NPI == s.npi && p.TIN == s.tin
	case CCN:
		return p.CCN == s.ccn
	}
	return false
}

// credits reports whether an action attributed to p counts toward the entity's
// numerator: the entity's own actions, and for a transitive measure evaluated for a
// MIPS clinician the same NPI's actions under any TIN (§2.4). An action attributed to
// no provider is the patient's own and counts for every entity.
func (s *scope) credits(p Provider) bool {
	if p == (Provider{}) {
		return true // the patient's own action, attributed to no provider: see Action
	}
	if s.m.Transitive && s.kind == TINNPI {
		return p.NPI == s.npi
	}
	return s.owns(p)
}

func (s *scope) inPeriod(t time.Time) bool { return !t.Before(s.from) && t.Before(s.to) }

func (s *scope) inWindow(t time.Time) bool {
	return !t.IsZero() && !t.Before(s.winFrom) && t.Before(s.winTo)
}

// pending reports whether a deadline has not passed yet at the evaluation's AsOf.
func (s *scope) pending(deadline time.Time) bool {
	return !s.asOf.IsZero() && !deadline.IsZero() && s.asOf.Before(deadline)
}

// day formats t as its date in the calendar's zone, for notes.
func (s *scope) day(t time.Time) string { return t.In(s.cal.Location()).Format(time.DateOnly) }

// stamp formats t to the minute in the calendar's zone, for notes.
func (s *scope) stamp(t time.Time) string {
	return t.In(s.cal.Location()).Format("2006-01-02 15:04 MST")
}

// windowNote describes the numerator window for notes.
func (s *scope) windowNote() string {
	if s.winFrom.IsZero() {
		return fmt.Sprintf("%s (before %s)", s.m.Window, s.day(s.winTo))
	}
	return fmt.Sprintf("%s (%s to %s)", s.m.Window, s.day(s.winFrom), s.day(s.winTo.Add(-time.Nanosecond)))
}
