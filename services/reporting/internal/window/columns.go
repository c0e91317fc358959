package window

import (
	"container/heap"
	"strings"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
)

// SweepColumns is Sweep over series held as columns (the fact store's cache): the
// series of entity e — its own, or a group's clinicians' — for m and the periods'
// year; other series are ignored. It gives Sweep's tallies (a property test holds it
// to that), but reads each member's facts straight from the columns, merging a
// group's clinicians' members (each series sorted by member) in one k-way pass and
// reusing one member's buffers for the next, instead of grouping Fact structs through
// a map.
func SweepColumns(m measure.Measure, e contract.Entity, ps []measure.Period, o measure.Options, cols []*membership.Columns) ([]Tally, error) {
	s, err := newSweeper(m, e, ps, o)
	if err != nil || s == nil {
		return nil, err
	}
	var held []*membership.Columns
	for _, c := range cols {
		x := c.Series()
		if x.Program == m.Program && x.Measure == m.ID && x.Year == ps[0].Year &&
			(x.Entity == e || e.Kind == measure.TIN && x.Entity.Kind == measure.TINNPI && strings.HasPrefix(x.Entity.ID, e.ID+"/")) {
			if !c.Nanos() {
				// Instants outside Unix nanoseconds: read as facts, which Sweep orders itself.
				var facts []membership.Fact
				for _, c := range cols {
					facts = append(facts, c.Facts()...)
				}
				return Sweep(m, e, ps, o, facts)
			}
			held = append(held, c)
		}
	}
	h := &memberHeap{cols: held}
	for i, c := range held {
		if c.Members() > 0 {
			h.heads = append(h.heads, h.head(i, 0))
		}
	}
	heap.Init(h)
	var (
		mb   member
		pool []*clinicianFacts // one per clinician a member has, reused member after member
	)
	for h.Len() > 0 {
		top := h.heads[0]
		mb.clinicians, mb.times = mb.clinicians[:0], mb.times[:0]
		for h.Len() > 0 && h.heads[0].patient == top.patient && h.heads[0].object == top.object {
			x := h.heads[0]
			if len(mb.clinicians) == len(pool) {
				pool = append(pool, &clinicianFacts{})
			}
			c := pool[len(mb.clinicians)]
			s.read(c, held[x.col], x.first, x.end)
			c.object = x.object != ""
			mb.clinicians = append(mb.clinicians, c)
			mb.times = appendTimes(mb.times, c)
			if next := x.member + 1; next < held[x.col].Members() {
				h.heads[0] = h.head(x.col, next)
				heap.Fix(h, 0)
			} else {
				heap.Pop(h)
			}
		}
		s.add(&mb)
	}
	return s.tallies(), nil
}

// read fills c with one member's facts of one series, rows [first, end) (already in
// Count's order), split by role, reusing c's slices.
func (s *sweeper) read(c *clinicianFacts, cols *membership.Columns, first, end int) {
	c.den, c.num, c.access, c.gate = c.den[:0], c.num[:0], c.access[:0], c.gate[:0]
	for i := first; i < end; i++ {
		r := cols.Row(i)
		x := fact{at: r.At, until: r.Until, ref: r.Ref, of: r.For, channel: r.Channel, deadline: r.Deadline,
			out: r.Out != "", controlled: r.Controlled, anytime: r.Anytime}
		c.add(r.Role, x)
	}
	s.share(c)
}

// memberHeap merges the members of several series, least (patient, object) first.
type memberHeap struct {
	cols  []*membership.Columns
	heads []memberHead
}

type memberHead struct {
	patient, object string
	col, member     int
	first, end      int
}

func (h *memberHeap) head(col, m int) memberHead {
	p, o, first, end := h.cols[col].Member(m)
	return memberHead{patient: p, object: o, col: col, member: m, first: first, end: end}
}

func (h *memberHeap) Len() int { return len(h.heads) }
func (h *memberHeap) Less(i, j int) bool {
	a, b := &h.heads[i], &h.heads[j]
	if a.patient != b.patient {
		return a.patient < b.patient
	}
	if a.object != b.object {
		return a.object < b.object
	}
	return a.col < b.col
}
func (h *memberHeap) Swap(i, j int) { h.heads[i], h.heads[j] = h.heads[j], h.heads[i] }
func (h *memberHeap) Push(x any)    { h.heads = append(h.heads, x.(memberHead)) }
func (h *memberHeap) Pop() any {
	x := h.heads[len(h.heads)-1]
	h.heads = h.heads[:len(h.heads)-1]
	return x
}
