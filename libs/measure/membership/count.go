package membership

import (
	"cmp"
	"container/heap"
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
//
// Count builds the columns of each entity's facts and counts them with CountColumns; a
// caller counting the same facts often keeps the columns instead.
func Count(m measure.Measure, e contract.Entity, p measure.Period, o measure.Options, facts ...[]Fact) (measure.Result, error) {
	if err := countable(m); err != nil {
		return measure.Result{}, err
	}
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
			if belongs(ent, e) {
				run := byEntity[ent]
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
	cols := make([]*Columns, 0, len(byEntity))
	for _, fs := range byEntity {
		c, err := newColumns(fs, false)
		if err != nil {
			return measure.Result{}, err
		}
		cols = append(cols, c)
	}
	return CountColumns(m, e, p, o, cols...)
}

func countable(m measure.Measure) error {
	if m.Kind != measure.Ratio || m.Rule == nil {
		return errs.Field(errs.Invalid, "measure", "%s is not a ratio measure", m.ID)
	}
	return nil
}

// belongs reports whether facts of entity fe count for e: e's own, or for a group
// (TIN) its clinicians' (tin_npi "TIN/…").
func belongs(fe, e contract.Entity) bool {
	return e.Kind == measure.TIN && fe.Kind == measure.TINNPI && strings.HasPrefix(fe.ID, e.ID+"/") || fe == e
}

// CountColumns is Count over series held in columns: those of e for m's program, ID
// and p's year (a group's: its clinicians'), one each; others are ignored. The members
// each series decides are remembered by it (see Columns), so counting a group again
// after one clinician's series changed recounts that clinician only.
func CountColumns(m measure.Measure, e contract.Entity, p measure.Period, o measure.Options, cols ...*Columns) (measure.Result, error) {
	return countColumns(m, e, p, o, true, cols)
}

// CountColumnsNumbers is CountColumns's numbers without its member list (Members is
// nil): what a report of numbers only needs. A group's clinicians' decided members
// (remembered, as CountColumns's) are merged as counts, with merge's rule, without
// building the group's list of members — a list as long as the group's patients.
func CountColumnsNumbers(m measure.Measure, e contract.Entity, p measure.Period, o measure.Options, cols ...*Columns) (measure.Result, error) {
	if err := countable(m); err != nil {
		return measure.Result{}, err
	}
	b, err := measure.Resolve(m, e, p, o)
	if err != nil {
		return measure.Result{}, err
	}
	c := newCounter(m, b, o, true)
	held := c.held(e, p, cols)
	r := measure.Result{MeasureID: m.ID, Entity: e, Period: p, Variant: b.Variant}
	switch {
	case e.Kind == measure.TIN:
		lists, _ := c.decideAll(held)
		r.Numerator, r.Denominator = mergeCount(lists)
	case len(held) > 0:
		r.Numerator, r.Denominator = measure.Counts(c.decide(held[0]))
	}
	r.Judge(m)
	return r, nil
}

// CountColumnsOnce is CountColumns for a one-off count (a forecast's as-of, a
// worklist): it uses the members a series remembers for the same count but does not
// remember its own, which would push out those of the reports counted again and again.
func CountColumnsOnce(m measure.Measure, e contract.Entity, p measure.Period, o measure.Options, cols ...*Columns) (measure.Result, error) {
	return countColumns(m, e, p, o, false, cols)
}

func countColumns(m measure.Measure, e contract.Entity, p measure.Period, o measure.Options, keep bool, cols []*Columns) (measure.Result, error) {
	if err := countable(m); err != nil {
		return measure.Result{}, err
	}
	b, err := measure.Resolve(m, e, p, o)
	if err != nil {
		return measure.Result{}, err
	}
	c := newCounter(m, b, o, keep)
	held := c.held(e, p, cols)
	var members []measure.Member
	switch {
	case e.Kind == measure.TIN:
		members = c.group(held)
	case len(held) > 0:
		// The series' list is shared with its memo, and Tally sorts the list it is given.
		members = slices.Clone(c.decide(held[0]))
	}
	if members == nil {
		members = []measure.Member{} // none, as an empty list whatever the facts held
	}
	return measure.Tally(m, e, p, b.Variant, members), nil
}

func newCounter(m measure.Measure, b measure.Bounds, o measure.Options, keep bool) counter {
	c := counter{m: m, b: b, asOf: o.AsOf, loc: o.Calendar.Location(), keep: keep}
	c.key = memoKey{rule: fmt.Sprintf("%T%v", m.Rule, m.Rule), bounds: b, asOf: o.AsOf, zone: c.loc}
	return c
}

// held are the series of cols that are e's (a group's: its clinicians') for the count.
func (c counter) held(e contract.Entity, p measure.Period, cols []*Columns) []*Columns {
	var held []*Columns
	for _, s := range cols {
		if x := s.series; belongs(x.Entity, e) && x.Program == c.m.Program && x.Measure == c.m.ID && x.Year == p.Year {
			held = append(held, s)
		}
	}
	return held
}

// counter evaluates one measure and period from facts.
type counter struct {
	m    measure.Measure
	b    measure.Bounds
	asOf time.Time
	loc  *time.Location
	key  memoKey
	keep bool // remember the members decided
}

// decide returns the members of one series, remembered or evaluated (and then
// remembered).
func (c counter) decide(s *Columns) []measure.Member {
	if ms, ok := s.decided(c.key); ok {
		return ms
	}
	ms := c.members(s)
	if c.keep {
		s.remember(c.key, ms)
	}
	return ms
}

// group evaluates a TIN as Evaluate does: each clinician (TIN/NPI) on its own, in NPI
// order, a member counted in the group's denominator (numerator) when it is in any
// clinician's, reported through the first clinician that has it in the numerator,
// else in the denominator. Each clinician's members come sorted by member, so they are
// merged in one k-way pass rather than through a map (or clinician by clinician, which
// copies the earlier clinicians' members again at each): the group's list comes out
// sorted too, which Tally's sort then only checks.
func (c counter) group(clinicians []*Columns) []measure.Member {
	return merge(c.decideAll(clinicians))
}

// decideAll decides each clinician's members (remembered or evaluated), in NPI order,
// with the entity each comes through.
func (c counter) decideAll(clinicians []*Columns) (lists [][]measure.Member, via []string) {
	clinicians = slices.Clone(clinicians)
	slices.SortFunc(clinicians, func(a, b *Columns) int {
		return cmp.Compare(clinician(a.series.Entity.ID), clinician(b.series.Entity.ID))
	})
	lists = make([][]measure.Member, len(clinicians))
	via = make([]string, len(clinicians))
	for i, s := range clinicians {
		lists[i], via[i] = c.decide(s), s.series.Entity.String()
	}
	return lists, via
}

// mergeCount is merge's numerator and denominator, as measure.Tally counts the merged
// list, without building it: per member, the in/out of the entry merge would keep.
func mergeCount(lists [][]measure.Member) (num, den int) {
	h := mergeHeap{lists: lists}
	for i, l := range lists {
		if len(l) > 0 {
			h.heads = append(h.heads, head{list: i})
		}
	}
	heap.Init(&h)
	for h.Len() > 0 {
		top := &lists[h.heads[0].list][h.heads[0].at]
		inDen, inNum := top.InDenominator, top.InNumerator
		h.advance()
		for h.Len() > 0 {
			b := &lists[h.heads[0].list][h.heads[0].at]
			if b.PatientID != top.PatientID || b.Object != top.Object {
				break
			}
			if b.InNumerator && !inNum || b.InDenominator && !inDen {
				inDen, inNum = b.InDenominator, b.InNumerator
			}
			h.advance()
		}
		if inDen {
			den++
			if inNum {
				num++
			}
		}
	}
	return num, den
}

// merge merges the members each clinician decided (lists[i], through via[i], in NPI
// order; each sorted by member) as the clinicians join one after another: a member
// several have keeps the first one's entry unless a later one has it in the numerator
// (or the denominator) where the entry kept does not. The lists are not modified (they
// are series' memos).
func merge(lists [][]measure.Member, via []string) []measure.Member {
	n := 0
	h := mergeHeap{lists: lists}
	for i, l := range lists {
		n += len(l)
		if len(l) > 0 {
			h.heads = append(h.heads, head{list: i})
		}
	}
	heap.Init(&h)
	out := make([]measure.Member, 0, n)
	for h.Len() > 0 {
		// The entries of one member pop in clinician order (the heap breaks ties by it).
		top := h.heads[0]
		mb := lists[top.list][top.at]
		mb.Via = via[top.list]
		h.advance()
		for h.Len() > 0 {
			next := h.heads[0]
			b := &lists[next.list][next.at]
			if b.PatientID != mb.PatientID || b.Object != mb.Object {
				break
			}
			if b.InNumerator && !mb.InNumerator || b.InDenominator && !mb.InDenominator {
				mb = *b
				mb.Via = via[next.list]
			}
			h.advance()
		}
		out = append(out, mb)
	}
	return out
}

// head is the next member of one clinician's list in a merge.
type head struct{ list, at int }

// mergeHeap orders the clinicians' next members by member, then clinician.
type mergeHeap struct {
	lists [][]measure.Member
	heads []head
}

func (h *mergeHeap) Len() int { return len(h.heads) }
func (h *mergeHeap) Less(i, j int) bool {
	a, b := &h.lists[h.heads[i].list][h.heads[i].at], &h.lists[h.heads[j].list][h.heads[j].at]
	if d := cmp.Or(cmp.Compare(a.PatientID, b.PatientID), cmp.Compare(a.Object, b.Object)); d != 0 {
		return d < 0
	}
	return h.heads[i].list < h.heads[j].list
}
func (h *mergeHeap) Swap(i, j int) { h.heads[i], h.heads[j] = h.heads[j], h.heads[i] }
func (h *mergeHeap) Push(x any)    { h.heads = append(h.heads, x.(head)) }
func (h *mergeHeap) Pop() any {
	x := h.heads[len(h.heads)-1]
	h.heads = h.heads[:len(h.heads)-1]
	return x
}

// advance moves the smallest head on, dropping its list when done.
func (h *mergeHeap) advance() {
	if h.heads[0].at++; h.heads[0].at < len(h.lists[h.heads[0].list]) {
		heap.Fix(h, 0)
	} else {
		heap.Pop(h)
	}
}

// memberFacts are one member's facts (indices into the columns), by role.
type memberFacts struct {
	den, num, access, gate []int32
}

// order sorts one entity's facts by member, then time and input: the order members
// are evaluated in, and within a member the order the rules read inputs in.
func order(a, b *Fact) int {
	return cmp.Or(cmp.Compare(a.Patient, b.Patient), cmp.Compare(a.Object, b.Object), a.At.Compare(b.At), cmp.Compare(a.Ref, b.Ref))
}

// fact is one fact of a series being counted: its columns and index.
type fact struct {
	s *Columns
	i int32
}

func (f fact) at() time.Time       { return f.s.time(f.i, f.s.at) }
func (f fact) until() time.Time    { return f.s.time(f.i, f.s.until) }
func (f fact) deadline() time.Time { return f.s.time(f.i, f.s.deadline) }
func (f fact) ref() string         { return f.s.str(f.s.ref[f.i]) }
func (f fact) out() string         { return f.s.str(f.s.out[f.i]) }

// started is when a denominator input began: Start when it is dated by its discharge.
func (f fact) started() time.Time {
	if f.s.start[f.i] != none {
		return f.s.time(f.i, f.s.start)
	}
	return f.at()
}

// members evaluates the members of one series, in member order.
func (c counter) members(s *Columns) []measure.Member {
	var (
		out = make([]measure.Member, 0, len(s.patient))
		mf  memberFacts
	)
	for k := range s.patient {
		mf.den, mf.num, mf.access, mf.gate = mf.den[:0], mf.num[:0], mf.access[:0], mf.gate[:0]
		for i := s.first[k]; i < s.first[k+1]; i++ {
			switch s.role[i] {
			case roleDen:
				mf.den = append(mf.den, i)
			case roleNum:
				mf.num = append(mf.num, i)
			case roleAccess:
				mf.access = append(mf.access, i)
			case roleGate:
				mf.gate = append(mf.gate, i)
			}
		}
		var mb measure.Member
		var ok bool
		if s.object[k].n == 0 {
			mb, ok = c.patient(s, s.str(s.patient[k]), &mf)
		} else {
			mb, ok = c.object(s, s.str(s.patient[k]), s.str(s.object[k]), &mf)
		}
		if ok {
			out = append(out, mb)
		}
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
func (c counter) patient(s *Columns, id string, mf *memberFacts) (measure.Member, bool) {
	pop := population(c.m.Rule)
	in := mf.den[:0:0]
	for _, i := range mf.den {
		at := fact{s, i}.at()
		if pop == measure.PriorVisits {
			if !at.Before(c.b.From.AddDate(-2, 0, 0)) && at.Before(c.b.From) {
				in = append(in, i)
			}
		} else if c.inPeriod(at) {
			in = append(in, i)
		}
	}
	if len(in) == 0 || pop == measure.PriorVisits && len(in) < 2 {
		return measure.Member{}, false
	}
	m := measure.Member{PatientID: id}
	if first := (fact{s, in[0]}); first.out() != "" {
		m.Denominator = measure.Reason{Code: measure.NotEligible, Ref: first.ref(), At: first.started(), Note: first.out()}
		return m, true
	}
	counted := fact{s, in[0]}
	if pop == measure.PriorVisits {
		counted = fact{s, in[len(in)-1]}
	}
	m.InDenominator = true
	m.Denominator = measure.Reason{Code: measure.Counted, Ref: counted.ref(), At: counted.at(), Note: string(pop)}
	switch r := c.m.Rule.(type) {
	case measure.TimelyAccess:
		c.timelyAccess(&m, r, s, in, mf.access)
	case measure.PatientActed:
		c.acted(&m, s, mf.num, "numerator action")
	case measure.PatientOrdered:
		if !slices.ContainsFunc(mf.gate, func(g int32) bool { return fact{s, g}.at().Before(c.b.To) }) {
			m.InDenominator = false
			m.Denominator = measure.Reason{Code: measure.NotEligible, Ref: counted.ref(), At: counted.at(),
				Note: "no medication on the medication list before the end of the period"}
			return m, true
		}
		c.acted(&m, s, mf.num, "medication order entered with CPOE")
	}
	return m, true
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
func (c counter) acted(m *measure.Member, s *Columns, num []int32, what string) {
	for _, i := range num { // sorted by time, then ID
		if f := (fact{s, i}); c.inWindow(f.at()) {
			m.InNumerator = true
			m.Numerator = measure.Reason{Code: measure.Met, Ref: f.ref(), At: f.at(), Note: what}
			return
		}
	}
	if len(num) > 0 {
		f := fact{s, num[0]}
		m.Numerator = measure.Reason{Code: measure.OutOfWindow, Ref: f.ref(), At: f.at(),
			Note: what + " outside the numerator window"}
		return
	}
	m.Numerator = measure.Reason{Code: measure.Missing, Note: "no " + what + " credited to the entity"}
}

// timelyAccess decides timely access over the member's encounters in the period (in),
// as the measure's rule does: the first sets the numerator, a later untimely one takes
// the patient out, a pending one keeps them in.
func (c counter) timelyAccess(m *measure.Member, r measure.TimelyAccess, s *Columns, in, access []int32) {
	for i, x := range in {
		e := fact{s, x}
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
			m.Numerator = measure.Reason{Code: measure.Decremented, Ref: e.ref(), At: e.started(),
				Note: fmt.Sprintf("later encounter %s: %s", e.ref(), why.Note)}
			return
		}
	}
}

// access decides one encounter: Met when every channel shared its information by
// the deadline and within the numerator window.
func (c counter) access(r measure.TimelyAccess, e fact, access []int32) measure.Reason {
	s, ref := e.s, e.ref()
	var last fact
	found := false
	for _, ch := range r.Channels {
		k := slices.IndexFunc(access, func(a int32) bool {
			return s.str(s.forRef[a]) == ref && s.str(s.channel[a]) == string(ch)
		})
		switch {
		case k < 0 && c.pending(e.deadline()):
			return measure.Reason{Code: measure.Pending, Ref: e.ref(), At: e.started(),
				Note: fmt.Sprintf("%s access not yet given; due by %s", ch, c.stamp(e.deadline()))}
		case k < 0:
			return measure.Reason{Code: measure.Missing, Ref: e.ref(), At: e.started(),
				Note: fmt.Sprintf("no %s access for encounter %s (due by %s)", ch, e.ref(), c.stamp(e.deadline()))}
		}
		a := fact{s, access[k]}
		switch {
		case !timely(e.deadline(), a.at()):
			return measure.Reason{Code: measure.Late, Ref: a.ref(), At: a.at(),
				Note: fmt.Sprintf("%s access at %s, after the deadline %s", ch, c.stamp(a.at()), c.stamp(e.deadline()))}
		case !c.inWindow(a.at()):
			return measure.Reason{Code: measure.OutOfWindow, Ref: a.ref(), At: a.at(),
				Note: fmt.Sprintf("%s access at %s, outside the numerator window", ch, c.stamp(a.at()))}
		}
		if !found || a.at().After(last.at()) {
			last, found = a, true
		}
	}
	return measure.Reason{Code: measure.Met, Ref: last.ref(), At: last.at(), Note: "shared in time through every channel"}
}

// object evaluates a counted object.
func (c counter) object(s *Columns, patient, object string, mf *memberFacts) (measure.Member, bool) {
	if len(mf.den) == 0 || !c.inPeriod(fact{s, mf.den[0]}.at()) {
		return measure.Member{}, false
	}
	den := fact{s, mf.den[0]}
	m := measure.Member{PatientID: patient, Object: object}
	switch {
	case den.out() != "":
		m.Denominator = measure.Reason{Code: measure.NotEligible, Ref: den.ref(), At: den.at(), Note: den.out()}
		return m, true
	case s.flags[den.i]&flagControlled != 0 && c.b.Variant == measure.ControlledExcluded:
		m.Denominator = measure.Reason{Code: measure.NotEligible, Ref: den.ref(), At: den.at(),
			Note: "a controlled substance, excluded in this variant"}
		return m, true
	}
	m.InDenominator = true
	m.Denominator = measure.Reason{Code: measure.Counted, Ref: den.ref(), At: den.at(), Note: "counted in the period"}
	if len(mf.num) == 0 {
		m.Numerator = measure.Reason{Code: measure.Missing, Ref: den.ref(), Note: "no qualifying numerator action"}
		return m, true
	}
	n := fact{s, mf.num[0]}
	until := n.until()
	switch {
	case s.flags[n.i]&flagAnytime != 0 || c.inWindow(n.at()) && (until.IsZero() || c.inWindow(until)):
		m.InNumerator = true
		at := n.at()
		if !until.IsZero() && c.lastIsAt(c.m.Rule) {
			at = until
		}
		m.Numerator = measure.Reason{Code: measure.Met, Ref: n.ref(), At: at, Note: "numerator action"}
	default:
		out := n.at()
		if c.inWindow(n.at()) {
			out = until
		}
		m.Numerator = measure.Reason{Code: measure.OutOfWindow, Ref: n.ref(), At: out,
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
