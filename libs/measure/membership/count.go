package membership

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/measure"
)

// Count computes ratio measure m for entity e over period p from membership facts, as
// measure.Evaluate does from the timelines the facts were derived from: the same
// numerator, denominator, threshold decisions and denominator members, each with the
// input that put it there (Ref and At) and, in the numerator, the action that did.
// facts, in one slice or several, are those of e for m's program, ID and p's year —
// for a group (TIN), those of its clinicians (tin_npi entities "TIN/…"); others are
// ignored. Members the facts
// place in no denominator are left out, except those a rule keeps out whatever the
// period (not eligible); Evaluate also lists patients whose inputs all fall outside
// the period. Bad arguments are Evaluate's errs.Invalid errors.
func Count(m measure.Measure, e contract.Entity, p measure.Period, o measure.Options, facts ...[]Fact) (measure.Result, error) {
	if m.Kind != measure.Ratio || m.Rule == nil {
		return measure.Result{}, errs.Field(errs.Invalid, "measure", "%s is not a ratio measure", m.ID)
	}
	b, err := measure.Resolve(m, e, p, o)
	if err != nil {
		return measure.Result{}, err
	}
	c := counter{m: m, b: b, asOf: o.AsOf, loc: o.Calendar.Location()}
	// Facts are large: they are handled by pointer from here on.
	// Facts come in runs of one entity (a series each, as stored): the map is touched
	// once a run, not once a fact.
	byEntity := map[contract.Entity][]*Fact{}
	for _, list := range facts {
		for i := 0; i < len(list); {
			ent := list[i].Entity
			j := i
			for j < len(list) && list[j].Entity == ent {
				j++
			}
			if e.Kind == measure.TIN && ent.Kind == measure.TINNPI && strings.HasPrefix(ent.ID, e.ID+"/") || ent == e {
				run := byEntity[ent]
				if run == nil {
					run = make([]*Fact, 0, j-i)
				}
				for k := i; k < j; k++ {
					if f := &list[k]; f.Program == m.Program && f.Measure == m.ID && f.Year == p.Year {
						run = append(run, f)
					}
				}
				byEntity[ent] = run
			}
			i = j
		}
	}
	var members []measure.Member
	if e.Kind == measure.TIN {
		members = c.group(byEntity)
	} else {
		members = c.members(byEntity[e])
	}
	return measure.Tally(m, e, p, b.Variant, members), nil
}

// counter evaluates one measure and period from facts.
type counter struct {
	m    measure.Measure
	b    measure.Bounds
	asOf time.Time
	loc  *time.Location
}

// group evaluates a TIN as Evaluate does: each clinician (TIN/NPI) on its own, in NPI
// order, a member counted in the group's denominator (numerator) when it is in any
// clinician's, reported through the first clinician that has it in the numerator,
// else in the denominator. Each clinician's members come sorted by member, so they are
// merged in one pass each rather than through a map: the group's list comes out
// sorted too, which Tally's sort then only checks.
func (c counter) group(byClinician map[contract.Entity][]*Fact) []measure.Member {
	clinicians := make([]contract.Entity, 0, len(byClinician))
	for e := range byClinician {
		clinicians = append(clinicians, e)
	}
	slices.SortFunc(clinicians, func(a, b contract.Entity) int { return cmp.Compare(clinician(a.ID), clinician(b.ID)) })
	var out []measure.Member
	for _, e := range clinicians {
		ms := c.members(byClinician[e])
		via := e.String()
		for i := range ms {
			ms[i].Via = via
		}
		out = merge(out, ms)
	}
	return out
}

// merge merges b into a, both sorted by member, as a later clinician's members join
// the earlier ones': a member in both keeps a's entry unless b's has it in the
// numerator (or the denominator) where a's does not.
func merge(a, b []measure.Member) []measure.Member {
	if len(a) == 0 {
		return b
	}
	out := make([]measure.Member, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch d := cmp.Or(cmp.Compare(a[i].PatientID, b[j].PatientID), cmp.Compare(a[i].Object, b[j].Object)); {
		case d < 0:
			out = append(out, a[i])
			i++
		case d > 0:
			out = append(out, b[j])
			j++
		default:
			mb := a[i]
			if b[j].InNumerator && !mb.InNumerator || b[j].InDenominator && !mb.InDenominator {
				mb = b[j]
			}
			out = append(out, mb)
			i++
			j++
		}
	}
	return append(append(out, a[i:]...), b[j:]...)
}

// memberFacts are one member's facts, by role, and scratch space for evaluating them:
// the slices are reused from member to member, so that a count allocates little
// besides its result (its garbage is what costs a large count most).
type memberFacts struct {
	den, num, access, gate []*Fact
	in                     []*Fact // the denominator inputs a period counts
}

// order sorts one entity's facts by member, then time and input: the order members
// are evaluated in, and within a member the order the rules read inputs in.
func order(a, b *Fact) int {
	// strings.Compare, not cmp.Compare: one pass over equal strings instead of two, and
	// a member's facts share their patient and object.
	if d := strings.Compare(a.Patient, b.Patient); d != 0 {
		return d
	}
	if d := strings.Compare(a.Object, b.Object); d != 0 {
		return d
	}
	return cmp.Or(a.At.Compare(b.At), strings.Compare(a.Ref, b.Ref))
}

// members evaluates the members of one entity's facts, in one pass over them sorted
// by member (facts read in that order sort at once).
func (c counter) members(facts []*Fact) []measure.Member {
	if !slices.IsSortedFunc(facts, order) { // facts read back from storage come sorted
		slices.SortFunc(facts, order)
	}
	var (
		out = make([]measure.Member, 0, len(facts)/4) // a member has a few facts
		mf  memberFacts
	)
	for i := 0; i < len(facts); {
		j := i + 1
		for j < len(facts) && facts[j].Patient == facts[i].Patient && facts[j].Object == facts[i].Object {
			j++
		}
		mf.den, mf.num, mf.access, mf.gate = mf.den[:0], mf.num[:0], mf.access[:0], mf.gate[:0]
		for _, f := range facts[i:j] {
			switch f.Role {
			case Denominator:
				mf.den = append(mf.den, f)
			case Numerator:
				mf.num = append(mf.num, f)
			case Access:
				mf.access = append(mf.access, f)
			case Gate:
				mf.gate = append(mf.gate, f)
			}
		}
		var mb measure.Member
		var ok bool
		if k := facts[i].member(); k.object == "" {
			mb, ok = c.patient(k.patient, &mf)
		} else {
			mb, ok = c.object(k, &mf)
		}
		if ok {
			out = append(out, mb)
		}
		i = j
	}
	return out
}

func (c counter) inPeriod(t time.Time) bool { return !t.Before(c.b.From) && t.Before(c.b.To) }

func (c counter) inWindow(t time.Time) bool {
	return !t.IsZero() && !t.Before(c.b.WindowFrom) && t.Before(c.b.WindowTo)
}

func (c counter) pending(deadline time.Time) bool {
	return !c.asOf.IsZero() && !deadline.IsZero() && c.asOf.Before(deadline)
}

func (c counter) stamp(t time.Time) string { return t.In(c.loc).Format("2006-01-02 15:04 MST") }

// patient evaluates a unique-patient member.
func (c counter) patient(id string, mf *memberFacts) (measure.Member, bool) {
	pop := population(c.m.Rule)
	in := mf.in[:0]
	defer func() { mf.in = in[:0] }()
	for _, f := range mf.den {
		if pop == measure.PriorVisits {
			if !f.At.Before(c.b.From.AddDate(-2, 0, 0)) && f.At.Before(c.b.From) {
				in = append(in, f)
			}
		} else if c.inPeriod(f.At) {
			in = append(in, f)
		}
	}
	if len(in) == 0 || pop == measure.PriorVisits && len(in) < 2 {
		return measure.Member{}, false
	}
	m := measure.Member{PatientID: id}
	if in[0].Out != "" {
		m.Denominator = measure.Reason{Code: measure.NotEligible, Ref: in[0].Ref, At: started(in[0]), Note: in[0].Out}
		return m, true
	}
	counted := in[0]
	if pop == measure.PriorVisits {
		counted = in[len(in)-1]
	}
	m.InDenominator = true
	m.Denominator = measure.Reason{Code: measure.Counted, Ref: counted.Ref, At: counted.At, Note: string(pop)}
	switch r := c.m.Rule.(type) {
	case measure.TimelyAccess:
		c.timelyAccess(&m, r, in, mf.access)
	case measure.PatientActed:
		c.acted(&m, mf.num, "numerator action")
	case measure.PatientOrdered:
		if !slices.ContainsFunc(mf.gate, func(g *Fact) bool { return g.At.Before(c.b.To) }) {
			m.InDenominator = false
			m.Denominator = measure.Reason{Code: measure.NotEligible, Ref: counted.Ref, At: counted.At,
				Note: "no medication on the medication list before the end of the period"}
			return m, true
		}
		c.acted(&m, mf.num, "medication order entered with CPOE")
	}
	return m, true
}

// started is when a denominator input began: Start when it is dated by its discharge.
func started(f *Fact) time.Time {
	if !f.Start.IsZero() {
		return f.Start
	}
	return f.At
}

// population is a unique-patient rule's population.
func population(r measure.Rule) measure.Population {
	switch r := r.(type) {
	case measure.TimelyAccess:
		return r.Population
	case measure.PatientActed:
		return r.Population
	case measure.PatientOrdered:
		return r.Population
	}
	return ""
}

// acted puts the member in the numerator with the earliest action in the window.
func (c counter) acted(m *measure.Member, num []*Fact, what string) {
	for _, f := range num { // sorted by time, then ID
		if c.inWindow(f.At) {
			m.InNumerator = true
			m.Numerator = measure.Reason{Code: measure.Met, Ref: f.Ref, At: f.At, Note: what}
			return
		}
	}
	if len(num) > 0 {
		m.Numerator = measure.Reason{Code: measure.OutOfWindow, Ref: num[0].Ref, At: num[0].At,
			Note: what + " outside the numerator window"}
		return
	}
	m.Numerator = measure.Reason{Code: measure.Missing, Note: "no " + what + " credited to the entity"}
}

// timelyAccess decides timely access over the member's encounters in the period (in),
// as the measure's rule does: the first sets the numerator, a later untimely one takes
// the patient out, a pending one keeps them in.
func (c counter) timelyAccess(m *measure.Member, r measure.TimelyAccess, in, access []*Fact) {
	for i, e := range in {
		why := c.access(r, e, access)
		switch {
		case i == 0 && why.Code != measure.Met:
			m.Numerator = why
			return
		case i == 0:
			m.InNumerator, m.Numerator = true, why
		case why.Code == measure.Pending:
		case why.Code != measure.Met:
			m.InNumerator = false
			m.Numerator = measure.Reason{Code: measure.Decremented, Ref: e.Ref, At: started(e),
				Note: fmt.Sprintf("later encounter %s: %s", e.Ref, why.Note)}
			return
		}
	}
}

// access decides one encounter: Met when every channel shared its information by
// the deadline and within the numerator window.
func (c counter) access(r measure.TimelyAccess, e *Fact, access []*Fact) measure.Reason {
	var last *Fact
	for _, ch := range r.Channels {
		i := slices.IndexFunc(access, func(a *Fact) bool { return a.For == e.Ref && a.Channel == ch })
		switch {
		case i < 0 && c.pending(e.Deadline):
			return measure.Reason{Code: measure.Pending, Ref: e.Ref, At: started(e),
				Note: fmt.Sprintf("%s access not yet given; due by %s", ch, c.stamp(e.Deadline))}
		case i < 0:
			return measure.Reason{Code: measure.Missing, Ref: e.Ref, At: started(e),
				Note: fmt.Sprintf("no %s access for encounter %s (due by %s)", ch, e.Ref, c.stamp(e.Deadline))}
		case !timely(e.Deadline, access[i].At):
			return measure.Reason{Code: measure.Late, Ref: access[i].Ref, At: access[i].At,
				Note: fmt.Sprintf("%s access at %s, after the deadline %s", ch, c.stamp(access[i].At), c.stamp(e.Deadline))}
		case !c.inWindow(access[i].At):
			return measure.Reason{Code: measure.OutOfWindow, Ref: access[i].Ref, At: access[i].At,
				Note: fmt.Sprintf("%s access at %s, outside the numerator window", ch, c.stamp(access[i].At))}
		}
		if last == nil || access[i].At.After(last.At) {
			last = access[i]
		}
	}
	return measure.Reason{Code: measure.Met, Ref: last.Ref, At: last.At, Note: "shared in time through every channel"}
}

// object evaluates a counted object.
func (c counter) object(k member, mf *memberFacts) (measure.Member, bool) {
	if len(mf.den) == 0 || !c.inPeriod(mf.den[0].At) {
		return measure.Member{}, false
	}
	den := mf.den[0]
	m := measure.Member{PatientID: k.patient, Object: k.object}
	switch {
	case den.Out != "":
		m.Denominator = measure.Reason{Code: measure.NotEligible, Ref: den.Ref, At: den.At, Note: den.Out}
		return m, true
	case den.Controlled && c.b.Variant == measure.ControlledExcluded:
		m.Denominator = measure.Reason{Code: measure.NotEligible, Ref: den.Ref, At: den.At,
			Note: "a controlled substance, excluded in this variant"}
		return m, true
	}
	m.InDenominator = true
	m.Denominator = measure.Reason{Code: measure.Counted, Ref: den.Ref, At: den.At, Note: "counted in the period"}
	if len(mf.num) == 0 {
		m.Numerator = measure.Reason{Code: measure.Missing, Ref: den.Ref, Note: "no qualifying numerator action"}
		return m, true
	}
	n := mf.num[0]
	switch {
	case n.Anytime || c.inWindow(n.At) && (n.Until.IsZero() || c.inWindow(n.Until)):
		m.InNumerator = true
		at := n.At
		if !n.Until.IsZero() && c.lastIsAt(c.m.Rule) {
			at = n.Until
		}
		m.Numerator = measure.Reason{Code: measure.Met, Ref: n.Ref, At: at, Note: "numerator action"}
	default:
		out := n.At
		if c.inWindow(n.At) {
			out = n.Until
		}
		m.Numerator = measure.Reason{Code: measure.OutOfWindow, Ref: n.Ref, At: out,
			Note: fmt.Sprintf("numerator action at %s, outside the numerator window", c.stamp(out))}
	}
	return m, true
}

// lastIsAt reports whether a rule dates its numerator by the last of several actions
// (a three-part reconciliation) rather than the first (a summary sent, then confirmed).
func (c counter) lastIsAt(r measure.Rule) bool {
	switch r.(type) {
	case measure.ReceivedRecords, measure.ReceivedSummary:
		return true
	}
	return false
}

// Window is where the denominator facts of the members a period can count lie, as
// bounds b of measure m resolve it: the period itself, or for the Stage 2 reminders'
// look-back the 24 months before it. Facts of other members may be left out of Count.
func Window(m measure.Measure, b measure.Bounds) (from, to time.Time) {
	if population(m.Rule) == measure.PriorVisits {
		return b.From.AddDate(-2, 0, 0), b.From
	}
	return b.From, b.To
}
