package measure

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/phi"
)

// Rule computes a ratio measure's members from one patient's timeline. The rules are
// the package's own types: the catalog chooses and parametrises them, and a new way
// of counting is a new small type.
type Rule interface {
	// count returns the members patient p brings to the scope's entity: at most one
	// for a unique-patient rule, one per counted object otherwise; none when nothing
	// of the patient's concerns the entity.
	count(s *scope, p *Patient) []Member
}

// Population is which of an entity's patients a unique-patient denominator counts.
type Population string

// The populations (§2.1: "seen by" and "with office visits" differ; hospital
// denominators count inpatient and ED (POS 21/23) stays).
const (
	Seen            Population = "seen by the provider during the period"
	WithOfficeVisit Population = "with an office visit during the period"
	Discharged      Population = "discharged from the inpatient or emergency department (POS 21/23) during the period"
	Admitted        Population = "admitted to the inpatient or emergency department (POS 21/23) during the period"
	// PriorVisits: Stage 2 reminders: two or more office visits in the 24 months
	// before the period starts.
	PriorVisits Population = "with two or more office visits in the 24 months before the period"
)

// Ages limits a denominator by age in whole years on the patient's first qualifying
// encounter in the period: the patient qualifies when any range holds. Max < 0 means
// no upper bound.
type Ages []AgeRange

// AgeRange is an inclusive range of ages.
type AgeRange struct{ Min, Max int }

func (as Ages) String() string {
	var parts []string
	for _, a := range as {
		switch {
		case a.Max < 0:
			parts = append(parts, fmt.Sprintf("aged %d or older", a.Min))
		case a.Min == 0:
			parts = append(parts, fmt.Sprintf("aged %d or younger", a.Max))
		default:
			parts = append(parts, fmt.Sprintf("aged %d to %d", a.Min, a.Max))
		}
	}
	return strings.Join(parts, " or ")
}

// admits decides the age condition for a patient born on born, on day on.
func (as Ages) admits(born phi.Date, on time.Time) (bool, string) {
	if len(as) == 0 {
		return true, ""
	}
	b, err := time.Parse(time.DateOnly, born.Reveal())
	if err != nil {
		return false, "birth date unknown; the denominator is limited to patients " + as.String()
	}
	age := on.Year() - b.Year()
	if on.Month() < b.Month() || on.Month() == b.Month() && on.Day() < b.Day() {
		age--
	}
	for _, a := range as {
		if age >= a.Min && (a.Max < 0 || age <= a.Max) {
			return true, ""
		}
	}
	return false, "the denominator is limited to patients " + as.String()
}

// qualifying returns the patient's encounters with the entity that put them in the
// population, oldest first, or a reason why none does.
func (pop Population) qualifying(s *scope, p *Patient) ([]Encounter, Reason, bool) {
	var owned, in []Encounter
	for _, e := range p.Encounters {
		if !s.owns(e.Provider) {
			continue
		}
		owned = append(owned, e)
		if pop.admits(s, e) {
			in = append(in, e)
		}
	}
	if len(owned) == 0 {
		return nil, Reason{}, false
	}
	if pop == PriorVisits {
		return pop.prior(s, owned)
	}
	if len(in) == 0 {
		return nil, Reason{Code: OutOfPeriod, Ref: owned[0].ID, At: owned[0].Start,
			Note: "no encounter " + string(pop)}, true
	}
	slices.SortFunc(in, func(a, b Encounter) int {
		return cmp.Or(pop.at(a).Compare(pop.at(b)), cmp.Compare(a.ID, b.ID))
	})
	return in, Reason{Code: Counted, Ref: in[0].ID, At: pop.at(in[0]), Note: string(pop)}, true
}

// at is the moment that places an encounter in the period for the population.
func (pop Population) at(e Encounter) time.Time {
	if pop == Discharged {
		return e.End
	}
	return e.Start
}

// admits reports whether one of the entity's encounters is in the population.
func (pop Population) admits(s *scope, e Encounter) bool {
	switch pop {
	case Seen:
		return s.inPeriod(e.Start)
	case WithOfficeVisit:
		return e.Setting == Office && s.inPeriod(e.Start)
	case Discharged:
		return e.Setting.hospital() && !e.End.IsZero() && s.inPeriod(e.End)
	case Admitted:
		return e.Setting.hospital() && s.inPeriod(e.Start)
	}
	return false
}

// prior decides the PriorVisits population from the entity's encounters.
func (pop Population) prior(s *scope, owned []Encounter) ([]Encounter, Reason, bool) {
	since := s.from.AddDate(-2, 0, 0)
	var visits []Encounter
	for _, e := range owned {
		if e.Setting == Office && !e.Start.Before(since) && e.Start.Before(s.from) {
			visits = append(visits, e)
		}
	}
	if len(visits) < 2 {
		return nil, Reason{Code: NotEligible, Ref: owned[0].ID, At: owned[0].Start,
			Note: fmt.Sprintf("%d office visits in the 24 months before the period; 2 are needed", len(visits))}, true
	}
	// Ties broken by ID, so the visit reported is the same whatever the input order.
	slices.SortFunc(visits, func(a, b Encounter) int { return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.ID, b.ID)) })
	last := visits[len(visits)-1]
	return visits, Reason{Code: Counted, Ref: last.ID, At: last.Start, Note: string(pop)}, true
}

// patientDenominator decides the denominator side of a unique-patient rule: the
// member and its qualifying encounters, or ok=false when the patient has nothing to
// do with the entity.
func patientDenominator(s *scope, p *Patient, pop Population, ages Ages) (Member, []Encounter, bool) {
	encs, why, ok := pop.qualifying(s, p)
	if !ok {
		return Member{}, nil, false
	}
	m := Member{PatientID: p.ID, Denominator: why}
	if len(encs) == 0 {
		return m, nil, true
	}
	if fit, note := ages.admits(p.Born, encs[0].Start.In(s.cal.Location())); !fit {
		m.Denominator = Reason{Code: NotEligible, Ref: encs[0].ID, At: encs[0].Start, Note: note}
		return m, nil, true
	}
	m.InDenominator = true
	return m, encs, true
}

// TimelyAccess is the "provide patients electronic access" rule (§2.1, ONC RT2): a
// unique patient is in the numerator when the information from every one of their
// qualifying encounters was made available through every channel in time. So the
// first encounter sets the numerator, a later untimely one takes the patient out
// (decrements), and access given only at a later encounter never counts.
type TimelyAccess struct {
	Population Population
	Channels   []Channel
	Timely     Timely
}

func (r TimelyAccess) count(s *scope, p *Patient) []Member {
	m, encs, ok := patientDenominator(s, p, r.Population, nil)
	if !ok {
		return nil
	}
	if !m.InDenominator {
		return []Member{m}
	}
	for i, e := range encs {
		why := r.access(s, p, e)
		switch {
		case i == 0 && why.Code != Met:
			if why.Code != Pending {
				why.Note += "; access given only at a later encounter does not count"
			}
			m.Numerator = why
			return []Member{m}
		case i == 0:
			m.InNumerator, m.Numerator = true, why
		case why.Code == Pending:
			// Still timely so far: the patient stays in until the deadline passes.
		case why.Code != Met:
			m.InNumerator = false
			m.Numerator = Reason{Code: Decremented, Ref: e.ID, At: e.Start,
				Note: fmt.Sprintf("later encounter %s: %s", e.ID, why.Note)}
			return []Member{m}
		}
	}
	return []Member{m}
}

// access decides one encounter: Met when every channel shared its information in
// time and within the numerator window.
func (r TimelyAccess) access(s *scope, p *Patient, e Encounter) Reason {
	start := e.infoAt()
	if r.Timely.From == FromDischarge {
		start = e.End
	}
	deadline := r.Timely.Deadline(s.cal, start)
	var last Share
	for _, ch := range r.Channels {
		sh, found := firstShare(p, e.ID, ch)
		switch {
		case !found && s.pending(deadline):
			return Reason{Code: Pending, Ref: e.ID, At: e.Start,
				Note: fmt.Sprintf("%s access not yet given; due by %s", ch, s.stamp(deadline))}
		case !found:
			return Reason{Code: Missing, Ref: e.ID, At: e.Start,
				Note: fmt.Sprintf("no %s access for encounter %s (due by %s, %s)", ch, e.ID, s.stamp(deadline), r.Timely)}
		case !r.Timely.on(s.cal, start, sh.At):
			return Reason{Code: Late, Ref: sh.ID, At: sh.At,
				Note: fmt.Sprintf("%s access at %s, after the deadline %s (%s)", ch, s.stamp(sh.At), s.stamp(deadline), r.Timely)}
		case !s.inWindow(sh.At):
			return Reason{Code: OutOfWindow, Ref: sh.ID, At: sh.At,
				Note: fmt.Sprintf("%s access at %s, outside %s", ch, s.stamp(sh.At), s.windowNote())}
		}
		if sh.At.After(last.At) || last.ID == "" {
			last = sh
		}
	}
	return Reason{Code: Met, Ref: last.ID, At: last.At,
		Note: fmt.Sprintf("encounter %s shared via %s by %s (%s)", e.ID, channels(r.Channels), s.stamp(deadline), r.Timely)}
}

// firstShare is the earliest share of an encounter's information through ch.
func firstShare(p *Patient, encounterID string, ch Channel) (Share, bool) {
	var best Share
	found := false
	for _, sh := range p.Shares {
		if sh.EncounterID == encounterID && sh.Channel == ch && (!found || sh.At.Before(best.At)) {
			best, found = sh, true
		}
	}
	return best, found
}

func channels(cs []Channel) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = string(c)
	}
	return strings.Join(parts, " and ")
}

// PatientActed is a unique-patient rule whose numerator is any one action of the
// listed kinds credited to the entity within the numerator window: secure messages,
// education, VDT or API use, patient-generated data, reminders, and the structured
// data of Stage 1 and 2 ("at least one entry recorded").
type PatientActed struct {
	Population Population
	Ages       Ages
	Actions    []ActionKind
}

func (r PatientActed) count(s *scope, p *Patient) []Member {
	m, _, ok := patientDenominator(s, p, r.Population, r.Ages)
	if !ok || !m.InDenominator {
		if ok {
			return []Member{m}
		}
		return nil
	}
	var in, outside *Action
	for i := range p.Actions {
		a := &p.Actions[i]
		if !slices.Contains(r.Actions, a.Kind) || !s.credits(a.Provider) {
			continue
		}
		if s.inWindow(a.At) {
			in = earlier(in, a)
		} else {
			outside = earlier(outside, a)
		}
	}
	switch {
	case in != nil:
		m.InNumerator = true
		m.Numerator = Reason{Code: Met, Ref: in.ID, At: in.At, Note: s.creditNote(string(in.Kind), in.Provider)}
	case outside != nil:
		m.Numerator = Reason{Code: OutOfWindow, Ref: outside.ID, At: outside.At,
			Note: fmt.Sprintf("%s at %s, outside %s", outside.Kind, s.stamp(outside.At), s.windowNote())}
	default:
		m.Numerator = Reason{Code: Missing, Note: "no " + kinds(r.Actions) + " credited to the entity"}
	}
	return []Member{m}
}

// earlier returns whichever of best and a happened first (by time, then ID), so the
// action reported is the same whatever the input order.
func earlier(best, a *Action) *Action {
	if best == nil || a.At.Before(best.At) || a.At.Equal(best.At) && a.ID < best.ID {
		return a
	}
	return best
}

func kinds(ks []ActionKind) string {
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = string(k)
	}
	return strings.Join(parts, " or ")
}

// creditNote says what an action was and, for transitive credit, under which TIN.
func (s *scope) creditNote(what string, by Provider) string {
	if s.kind == TINNPI && by.TIN != s.tin {
		return fmt.Sprintf("%s by NPI %s under TIN %s (credit carries across TINs)", what, by.NPI, by.TIN)
	}
	return what
}

// PatientOrdered is Stage 1's CPOE measure: unique patients with at least one
// medication in their medication list, seen in the period; numerator: at least one
// medication order entered with CPOE.
type PatientOrdered struct {
	Population Population
}

func (r PatientOrdered) count(s *scope, p *Patient) []Member {
	m, _, ok := patientDenominator(s, p, r.Population, nil)
	if !ok || !m.InDenominator {
		if ok {
			return []Member{m}
		}
		return nil
	}
	listed := false
	for _, a := range p.Actions {
		if a.Kind == MedicationListRecorded && a.At.Before(s.to) {
			listed = true
			break
		}
	}
	if !listed {
		m.InDenominator = false
		m.Denominator = Reason{Code: NotEligible, Ref: m.Denominator.Ref, At: m.Denominator.At,
			Note: "no medication on the medication list before the end of the period"}
		return []Member{m}
	}
	for _, o := range p.Orders {
		if o.Kind == MedicationOrder && o.CPOE && s.credits(o.Provider) && s.inWindow(o.Created) {
			m.InNumerator = true
			m.Numerator = Reason{Code: Met, Ref: o.ID, At: o.Created, Note: "medication order entered with CPOE"}
			return []Member{m}
		}
	}
	m.Numerator = Reason{Code: Missing, Note: "no medication order entered with CPOE " + s.windowNote()}
	return []Member{m}
}
