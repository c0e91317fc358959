package window

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
)

// Tally is one period's numerator and denominator.
type Tally struct{ Numerator, Denominator int }

// Sweep counts ratio measure m for entity e over every period of ps at once, from
// membership facts, giving for each period exactly membership.Count's numerator and
// denominator (a property test holds it to that).
//
// Why it is equal: Count decides each member (a patient or an object; for a group,
// one per clinician, then OR-ed) from comparisons of its facts' instants with the
// period's bounds alone — t ≥ From, t < To, t ≥ WindowFrom, t < WindowTo, and for the
// Stage 2 look-back t ≥ From − 2 years — each of the form "bound > t". The periods
// must be given so that every bound is non-decreasing from one period to the next
// (periods of one length, sorted by start: the windows of a period rule). Then, for
// one instant t and one bound, "bound > t" switches at most once along the list, at
// the first period whose bound exceeds t (a binary search). Between two consecutive
// switch points of a member's instants every comparison, and so the member's state,
// is constant: Sweep decides the member once per such segment, with Count's rules,
// and adds it to the segment's periods with a difference array. The cost is
// O(members × facts × log periods), not O(periods × all facts).
//
// Bad arguments are membership.Count's errors (measure.Resolve's, per period), and
// errs.Invalid naming "periods" when the bounds are not non-decreasing.
func Sweep(m measure.Measure, e contract.Entity, ps []measure.Period, o measure.Options, facts []membership.Fact) ([]Tally, error) {
	s, err := newSweeper(m, e, ps, o)
	if err != nil || s == nil {
		return nil, err
	}
	for _, mb := range s.group(e, ps[0].Year, facts) {
		s.add(mb)
	}
	return s.tallies(), nil
}

// newSweeper resolves every period's bounds (nil without periods).
func newSweeper(m measure.Measure, e contract.Entity, ps []measure.Period, o measure.Options) (*sweeper, error) {
	if m.Kind != measure.Ratio || m.Rule == nil {
		return nil, errs.Field(errs.Invalid, "measure", "%s is not a ratio measure", m.ID)
	}
	if len(ps) == 0 {
		return nil, nil
	}
	s := &sweeper{m: m, n: len(ps), prior: population(m.Rule) == measure.PriorVisits}
	s.from, s.to, s.winFrom, s.winTo, s.priorFrom = make([]int64, s.n), make([]int64, s.n), make([]int64, s.n), make([]int64, s.n), make([]int64, s.n)
	for i, p := range ps {
		b, err := measure.Resolve(m, e, p, o)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			s.variant = b.Variant
		}
		s.from[i], s.to[i] = b.From.UnixNano(), b.To.UnixNano()
		s.winFrom[i], s.winTo[i] = nanos(b.WindowFrom), nanos(b.WindowTo)
		s.priorFrom[i] = b.From.AddDate(-2, 0, 0).UnixNano()
		if i > 0 && (s.from[i] < s.from[i-1] || s.to[i] < s.to[i-1] || s.winFrom[i] < s.winFrom[i-1] || s.winTo[i] < s.winTo[i-1]) {
			return nil, errs.Field(errs.Invalid, "periods", "period %d starts or ends before period %d: the bounds must not decrease", i, i-1)
		}
	}
	s.asOf = nanos(o.AsOf)
	if r, ok := m.Rule.(measure.TimelyAccess); ok {
		s.channels = r.Channels
	}
	s.bounds = [][]int64{s.from, s.to, s.winFrom, s.winTo}
	if s.prior {
		s.bounds = append(s.bounds, s.priorFrom)
	}
	s.den, s.num = make([]int, s.n+1), make([]int, s.n+1)
	return s, nil
}

// add decides member mb once per segment of periods over which its state is
// constant and adds it to those periods' difference arrays.
func (s *sweeper) add(mb *member) {
	s.cut = s.cuts(mb, s.cut[:0])
	for i, lo := range s.cut {
		hi := s.n
		if i+1 < len(s.cut) {
			hi = s.cut[i+1]
		}
		inDen, inNum := false, false
		for _, c := range mb.clinicians {
			d, n := s.decide(c, lo)
			inDen, inNum = inDen || d, inNum || n
			if inNum {
				break // OR-ed: nothing later changes it
			}
		}
		if inDen {
			s.den[lo]++
			s.den[hi]--
			if inNum {
				s.num[lo]++
				s.num[hi]--
			}
		}
	}
}

// tallies sums the difference arrays.
func (s *sweeper) tallies() []Tally {
	out := make([]Tally, s.n)
	var d, n int
	for i := range out {
		d += s.den[i]
		n += s.num[i]
		out[i] = Tally{Numerator: n, Denominator: d}
	}
	return out
}

// nanos is t in Unix nanoseconds; the zero time (no bound) is the smallest value.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixNano()
}

// sweeper holds one Sweep's bounds, per period, as Unix nanoseconds.
type sweeper struct {
	m                                   measure.Measure
	n                                   int
	from, to, winFrom, winTo, priorFrom []int64
	asOf                                int64 // math.MinInt64: final
	variant                             measure.Variant
	prior                               bool // the Stage 2 reminders' look-back population
	channels                            []measure.Channel
	bounds                              [][]int64 // the bounds a member's instants are compared with
	den, num                            []int     // difference arrays over the periods
	cut                                 []int     // scratch: one member's segment starts
}

// fact is the part of a membership fact a decision reads, with instants in nanoseconds.
type fact struct {
	at, until  int64 // until: math.MinInt64 when none
	ref, of    string
	channel    measure.Channel
	deadline   int64 // math.MinInt64 when none
	out        bool
	controlled bool
	anytime    bool
}

// clinicianFacts are one member's facts for one entity (a clinician of a group, or
// the entity itself), by role, each sorted as Count sorts them (time, then input).
type clinicianFacts struct {
	object                 bool // a counted object, not a unique patient (as Count tells them apart)
	den, num, access, gate []fact
	// shares: per denominator fact i, per channel k of the rule, the first share, at
	// i*len(channels)+k.
	shares []share
}

// share is how one denominator encounter's information was shared through one channel.
type share struct {
	found, timely bool
	at            int64
}

// member is one patient or object with its facts per clinician.
type member struct {
	clinicians []*clinicianFacts
	times      []int64 // every instant its decisions compare with a bound
}

// group gathers the facts Count reads for entity e — its own, or a group's
// clinicians' — by member, then by clinician.
func (s *sweeper) group(e contract.Entity, year int, facts []membership.Fact) []*member {
	type key struct{ patient, object, entity string }
	idx := map[key]int{}
	var lists [][]*membership.Fact
	var keys []key
	for i := range facts {
		f := &facts[i]
		if string(f.Program) != string(s.m.Program) || f.Measure != s.m.ID || f.Year != year {
			continue
		}
		if !(e.Kind == measure.TIN && f.Entity.Kind == measure.TINNPI && strings.HasPrefix(f.Entity.ID, e.ID+"/") || f.Entity == e) {
			continue
		}
		k := key{f.Patient, f.Object, f.Entity.ID}
		j, ok := idx[k]
		if !ok {
			j = len(lists)
			idx[k] = j
			lists = append(lists, nil)
			keys = append(keys, k)
		}
		lists[j] = append(lists[j], f)
	}
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(keys[a].patient, keys[b].patient), cmp.Compare(keys[a].object, keys[b].object))
	})
	var out []*member
	for i, j := range order {
		if i == 0 || keys[j].patient != keys[order[i-1]].patient || keys[j].object != keys[order[i-1]].object {
			out = append(out, &member{})
		}
		mb := out[len(out)-1]
		c := s.clinician(lists[j])
		c.object = keys[j].object != ""
		mb.clinicians = append(mb.clinicians, c)
		mb.times = appendTimes(mb.times, c)
	}
	return out
}

// clinician sorts one member's facts for one entity as Count does and splits them
// by role.
func (s *sweeper) clinician(fs []*membership.Fact) *clinicianFacts {
	slices.SortStableFunc(fs, func(a, b *membership.Fact) int { return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Ref, b.Ref)) })
	c := &clinicianFacts{}
	for _, f := range fs {
		x := fact{at: f.At.UnixNano(), until: nanos(f.Until), ref: f.Ref, of: f.For, channel: f.Channel,
			deadline: nanos(f.Deadline), out: f.Out != "", controlled: f.Controlled, anytime: f.Anytime}
		c.add(f.Role, x)
	}
	s.share(c)
	return c
}

// add files a fact under its role (others are not counted).
func (c *clinicianFacts) add(r membership.Role, x fact) {
	switch r {
	case membership.Denominator:
		c.den = append(c.den, x)
	case membership.Numerator:
		c.num = append(c.num, x)
	case membership.Access:
		c.access = append(c.access, x)
	case membership.Gate:
		c.gate = append(c.gate, x)
	}
}

// share finds, for each denominator fact and channel of the rule, the first access
// fact sharing it.
func (s *sweeper) share(c *clinicianFacts) {
	if len(s.channels) == 0 {
		return
	}
	c.shares = slices.Grow(c.shares[:0], len(c.den)*len(s.channels))[:len(c.den)*len(s.channels)]
	for i, d := range c.den {
		for k, ch := range s.channels {
			sh := share{}
			j := slices.IndexFunc(c.access, func(a fact) bool { return a.of == d.ref && a.channel == ch })
			if j >= 0 {
				// timely: no deadline, or done no later than it.
				at := c.access[j].at
				sh = share{found: true, at: at, timely: d.deadline == math.MinInt64 || at <= d.deadline}
			}
			c.shares[i*len(s.channels)+k] = sh
		}
	}
}

func appendTimes(ts []int64, c *clinicianFacts) []int64 {
	for _, list := range [][]fact{c.den, c.num, c.access, c.gate} {
		for _, f := range list {
			ts = append(ts, f.at)
			if f.until != math.MinInt64 {
				ts = append(ts, f.until)
			}
		}
	}
	return ts
}

// cuts returns the starts of the segments of periods over which the member's state
// is constant: 0 and, for every instant and bound, the first period whose bound
// exceeds the instant.
func (s *sweeper) cuts(mb *member, out []int) []int {
	out = append(out, 0)
	for _, t := range mb.times {
		for _, b := range s.bounds {
			if i := firstAbove(b, t); i < s.n {
				out = append(out, i)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// firstAbove is the first index whose bound exceeds t (len(b) when none), b being
// non-decreasing. The bounds of consecutive windows step about evenly (a day), so the
// index is guessed by interpolation and checked, a few steps at most; a binary search
// otherwise. It is most of a sweep's work: one per instant and bound.
func firstAbove(b []int64, t int64) int {
	n := len(b)
	switch {
	case t < b[0]:
		return 0
	case t >= b[n-1]:
		return n
	}
	// Now b[0] ≤ t < b[n-1]: the answer is in [1, n-1]. Floats: b[0] may be far below.
	g := int((float64(t) - float64(b[0])) / (float64(b[n-1]) - float64(b[0])) * float64(n-1))
	for range 4 {
		g = min(max(g, 1), n-1)
		switch {
		case b[g] <= t:
			g++
		case b[g-1] > t:
			g--
		default:
			return g
		}
	}
	i, _ := slices.BinarySearch(b, t+1) // t < b[n-1]: no overflow
	return i
}

func (s *sweeper) inPeriod(t int64, w int) bool { return t >= s.from[w] && t < s.to[w] }

func (s *sweeper) inWindow(t int64, w int) bool {
	return t != math.MinInt64 && t >= s.winFrom[w] && t < s.winTo[w]
}

// decide is Count's decision for one member of one entity in period w: in the
// denominator, and in the numerator. It follows membership's counter rule by rule.
func (s *sweeper) decide(c *clinicianFacts, w int) (den, num bool) {
	if len(c.den) == 0 {
		return false, false
	}
	if c.object {
		return s.object(c, w)
	}
	return s.patient(c, w)
}

func (s *sweeper) patient(c *clinicianFacts, w int) (bool, bool) {
	// The denominator facts in the period (or the look-back), in order.
	first, n := -1, 0
	for i, f := range c.den {
		var in bool
		if s.prior {
			in = f.at >= s.priorFrom[w] && f.at < s.from[w]
		} else {
			in = s.inPeriod(f.at, w)
		}
		if in {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	if n == 0 || s.prior && n < 2 || c.den[first].out {
		return false, false
	}
	switch s.m.Rule.(type) {
	case measure.TimelyAccess:
		return true, s.timely(c, w)
	case measure.PatientActed:
		return true, s.acted(c, w)
	case measure.PatientOrdered:
		if !slices.ContainsFunc(c.gate, func(g fact) bool { return g.at < s.to[w] }) {
			return false, false
		}
		return true, s.acted(c, w)
	}
	return true, false
}

func (s *sweeper) acted(c *clinicianFacts, w int) bool {
	return slices.ContainsFunc(c.num, func(f fact) bool { return s.inWindow(f.at, w) })
}

// access states of one encounter.
const (
	met = iota
	pending
	notMet
)

// timely walks the member's encounters in the period: the first decides the
// numerator, a later one not met (and not pending) takes the patient out.
func (s *sweeper) timely(c *clinicianFacts, w int) bool {
	first := true
	for i, e := range c.den {
		if !s.inPeriod(e.at, w) {
			continue
		}
		st := s.access(c, i, w)
		switch {
		case first && st != met:
			return false
		case first:
			first = false
		case st == notMet:
			return false
		}
	}
	return !first
}

// access is one encounter's state: every channel shared in time and in the window.
func (s *sweeper) access(c *clinicianFacts, i, w int) int {
	d := c.den[i]
	k := len(s.channels)
	for _, sh := range c.shares[i*k : (i+1)*k] {
		switch {
		case !sh.found && s.asOf != math.MinInt64 && d.deadline != math.MinInt64 && s.asOf < d.deadline:
			return pending
		case !sh.found, !sh.timely, !s.inWindow(sh.at, w):
			return notMet
		}
	}
	return met
}

func (s *sweeper) object(c *clinicianFacts, w int) (bool, bool) {
	d := c.den[0]
	if !s.inPeriod(d.at, w) || d.out || d.controlled && s.variant == measure.ControlledExcluded {
		return false, false
	}
	if len(c.num) == 0 {
		return true, false
	}
	n := c.num[0]
	return true, n.anytime || s.inWindow(n.at, w) && (n.until == math.MinInt64 || s.inWindow(n.until, w))
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

// String describes a tally, for test failures.
func (t Tally) String() string { return fmt.Sprintf("%d/%d", t.Numerator, t.Denominator) }
