package membership

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/attest-ehr/attest/libs/measure"
)

// Columns is one series' facts held in columns rather than as Fact structs: every
// string of the series interned once into one text (a fact holds offsets into it),
// instants as Unix nanoseconds, roles as bytes, facts sorted by member and members
// numbered in order. It holds a handful of pointers whatever its size, so a cache of
// millions of facts costs the garbage collector nothing to mark and a few dozen bytes a
// fact; CountColumns counts it without building per-call maps or []*Fact.
//
// A Columns is immutable once built, and safe for concurrent use. It remembers the
// members it decided for the last few (rule, bounds, as-of) it was counted with, so a
// group over unchanged clinicians is a merge of their decided members, not a recount.
type Columns struct {
	series Series
	text   string // every string of the series, each once

	// Members, sorted by patient then object; member i's facts are
	// [first[i], first[i+1]).
	patient, object []span
	first           []int32

	// Facts, sorted by member, then time and input (order).
	role                       []uint8 // roleDen…roleGate
	channel, ref, forRef, out  []span
	because                    []span
	at, until, start, deadline []int64 // Unix nanoseconds; none for a zero time, far+k for far[k]
	zone                       []uint8 // index into zones; nil when the series has one zone
	flags                      []uint8 // flagControlled | flagAnytime
	zones                      []*time.Location
	far                        []time.Time // instants Unix nanoseconds cannot hold (before 1678, after 2261)

	memo struct {
		sync.Mutex
		entries []memoEntry // most recent last
	}
}

// span is a string of Columns.text.
type span struct{ off, n uint32 }

// Instants are Unix nanoseconds from 1678 to 2261; outside those years (zero and
// sentinel times) they are a code below every instant held.
const (
	none = math.MinInt64     // a zero time.Time
	far  = math.MinInt64 + 1 // far+k: Columns.far[k]
)

var (
	nanosFrom = time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC)
	nanosTo   = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

const (
	roleDen uint8 = iota
	roleNum
	roleAccess
	roleGate
)

var roles = [...]Role{roleDen: Denominator, roleNum: Numerator, roleAccess: Access, roleGate: Gate}

const (
	flagControlled uint8 = 1 << iota
	flagAnytime
)

// memoSize is how many decided member lists a series keeps: a report's period (the
// drill-down counts the same) and one other (another period or as-of being looked
// at); each is as large as the series' members.
const memoSize = 2

type memoEntry struct {
	key     memoKey
	members []measure.Member // without Via; shared: never modified
}

// memoKey is everything a series' decided members depend on besides its facts.
type memoKey struct {
	rule   string // the measure's rule, printed (%T%v): rules are small values
	bounds measure.Bounds
	asOf   time.Time
	zone   *time.Location // the calendar notes are dated in
}

// NewColumns builds the columns of facts, which must all be of one series (the first's;
// others are an error). Facts of a role Count does not know are not held; Because is.
// A fact's instants are held in the zone of its At (facts are derived and stored in
// one zone).
func NewColumns(facts []Fact) (*Columns, error) {
	ptrs := make([]*Fact, len(facts))
	for i := range facts {
		ptrs[i] = &facts[i]
	}
	return newColumns(ptrs, true)
}

// newColumns is NewColumns over the facts by pointer (reordered in place). Without
// keep — columns built for one count and dropped — strings are not interned (each
// copied as it comes, cheaper than looking it up) and Because is not held.
func newColumns(facts []*Fact, keep bool) (*Columns, error) {
	c := &Columns{}
	if len(facts) > 0 {
		c.series = facts[0].Series()
	}
	sorted := facts[:0]
	for _, f := range facts {
		if f.Series() != c.series {
			return nil, fmt.Errorf("columns of %v: fact of series %v", c.series, f.Series())
		}
		if roleCode(f.Role) < 0 {
			continue
		}
		sorted = append(sorted, f)
	}
	if !slices.IsSortedFunc(sorted, totalOrder) { // facts read back from storage come sorted
		slices.SortFunc(sorted, totalOrder)
	}
	var (
		text   strings.Builder
		intern map[string]span
	)
	if keep {
		intern = make(map[string]span, len(sorted))
	}
	text.Grow(16 * len(sorted)) // a reference a fact, give or take
	str := func(s string) span {
		if s == "" {
			return span{}
		}
		if !keep {
			sp := span{uint32(text.Len()), uint32(len(s))}
			text.WriteString(s)
			return sp
		}
		if sp, ok := intern[s]; ok {
			return sp
		}
		sp := span{uint32(text.Len()), uint32(len(s))}
		text.WriteString(s)
		intern[s] = sp
		return sp
	}
	n := len(sorted)
	c.role, c.flags = make([]uint8, n), make([]uint8, n)
	c.channel, c.ref, c.forRef, c.out, c.because = make([]span, n), make([]span, n), make([]span, n), make([]span, n), make([]span, n)
	c.at, c.until, c.start, c.deadline = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	zoneOf := map[*time.Location]uint8{}
	var zones []uint8
	for i, f := range sorted {
		if i == 0 || f.Patient != sorted[i-1].Patient || f.Object != sorted[i-1].Object {
			c.patient = append(c.patient, str(f.Patient))
			c.object = append(c.object, str(f.Object))
			c.first = append(c.first, int32(i))
		}
		c.role[i] = uint8(roleCode(f.Role))
		c.channel[i], c.ref[i], c.forRef[i], c.out[i] = str(string(f.Channel)), str(f.Ref), str(f.For), str(f.Out)
		if keep {
			c.because[i] = str(f.Because)
		}
		c.at[i], c.until[i], c.start[i], c.deadline[i] = c.nanos(f.At), c.nanos(f.Until), c.nanos(f.Start), c.nanos(f.Deadline)
		if f.Controlled {
			c.flags[i] |= flagControlled
		}
		if f.Anytime {
			c.flags[i] |= flagAnytime
		}
		// The instants keep the zone they came in (their reasons report them as given).
		loc := f.At.Location()
		z, ok := zoneOf[loc]
		if !ok {
			if len(c.zones) == math.MaxUint8 {
				return nil, fmt.Errorf("columns of %v: more than %d time zones", c.series, math.MaxUint8)
			}
			z = uint8(len(c.zones))
			zoneOf[loc] = z
			c.zones = append(c.zones, loc)
		}
		zones = append(zones, z)
	}
	if len(c.zones) > 1 {
		c.zone = zones
	}
	c.first = append(c.first, int32(n))
	c.text = text.String()
	return c, nil
}

// totalOrder is order, then every other field, so that building is deterministic
// whatever order the facts come in.
func totalOrder(a, b *Fact) int {
	return cmp.Or(order(a, b), cmp.Compare(a.Role, b.Role), cmp.Compare(a.For, b.For), cmp.Compare(a.Channel, b.Channel),
		a.Until.Compare(b.Until), a.Start.Compare(b.Start), a.Deadline.Compare(b.Deadline), cmp.Compare(a.Out, b.Out),
		cmpBool(a.Controlled, b.Controlled), cmpBool(a.Anytime, b.Anytime), cmp.Compare(a.Because, b.Because))
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func roleCode(r Role) int {
	for i, x := range roles {
		if x == r {
			return i
		}
	}
	return -1
}

// nanos is how instant t is held.
func (c *Columns) nanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return none
	case t.Before(nanosFrom) || !t.Before(nanosTo):
		c.far = append(c.far, t)
		return far + int64(len(c.far)-1)
	}
	return t.UnixNano()
}

// Series is the series the columns hold.
func (c *Columns) Series() Series { return c.series }

// Len is how many facts the columns hold.
func (c *Columns) Len() int { return len(c.role) }

// Members is how many members (patients, or counted objects) the facts are about.
func (c *Columns) Members() int { return len(c.patient) }

// Bytes is about how much memory the columns hold.
func (c *Columns) Bytes() int {
	return len(c.text) + len(c.patient)*20 + c.Len()*(2+5*8+4*8+len(c.zone)/max(1, c.Len())) + len(c.far)*24
}

// Facts returns the facts the columns hold, in their order (a new slice).
func (c *Columns) Facts() []Fact {
	out := make([]Fact, 0, c.Len())
	for m := range c.patient {
		patient, object := c.str(c.patient[m]), c.str(c.object[m])
		for i := c.first[m]; i < c.first[m+1]; i++ {
			out = append(out, Fact{Entity: c.series.Entity, Program: c.series.Program, Measure: c.series.Measure,
				Year: c.series.Year, Patient: patient, Object: object, Role: roles[c.role[i]], Ref: c.str(c.ref[i]),
				For: c.str(c.forRef[i]), Channel: measure.Channel(c.str(c.channel[i])), At: c.time(i, c.at),
				Until: c.time(i, c.until), Start: c.time(i, c.start), Deadline: c.time(i, c.deadline),
				Controlled: c.flags[i]&flagControlled != 0, Anytime: c.flags[i]&flagAnytime != 0, Out: c.str(c.out[i]),
				Because: c.str(c.because[i])})
		}
	}
	return out
}

// str is a string of the text: a substring, shared, not copied.
func (c *Columns) str(s span) string { return c.text[s.off : s.off+s.n] }

// time is instant column col of fact i, in the zone the fact came in.
func (c *Columns) time(i int32, col []int64) time.Time {
	n := col[i]
	switch {
	case n == none:
		return time.Time{}
	case n < nanosFrom.UnixNano():
		return c.far[n-far]
	}
	z := 0
	if c.zone != nil {
		z = int(c.zone[i])
	}
	return time.Unix(0, n).In(c.zones[z])
}

// decided returns the members remembered for k, if any.
func (c *Columns) decided(k memoKey) ([]measure.Member, bool) {
	c.memo.Lock()
	defer c.memo.Unlock()
	for i, e := range c.memo.entries {
		if e.key == k {
			// Most recent last: a series counted for several periods keeps the busiest.
			c.memo.entries = append(append(c.memo.entries[:i:i], c.memo.entries[i+1:]...), e)
			return e.members, true
		}
	}
	return nil, false
}

// remember keeps the members decided for k, forgetting the least recent beyond memoSize.
func (c *Columns) remember(k memoKey, members []measure.Member) {
	c.memo.Lock()
	defer c.memo.Unlock()
	for _, e := range c.memo.entries {
		if e.key == k {
			return
		}
	}
	if len(c.memo.entries) == memoSize {
		c.memo.entries = slices.Delete(c.memo.entries, 0, 1)
	}
	c.memo.entries = append(c.memo.entries, memoEntry{key: k, members: members})
}

// Row is one fact of a Columns as a sweep over many periods reads it: its role, its
// references and its instants in Unix nanoseconds (math.MinInt64 for none). Strings
// are substrings of the columns' text, shared, not copied.
type Row struct {
	Role                Role
	Ref, For, Out       string
	Channel             measure.Channel
	At, Until, Deadline int64
	Controlled, Anytime bool
}

// Nanos reports whether every instant the columns hold is in Unix nanoseconds (from
// 1678 to 2261), so that Row's instants compare as the times do. Columns holding
// other instants (sentinel times) must be read as Facts.
func (c *Columns) Nanos() bool { return len(c.far) == 0 }

// Member is member m (0 ≤ m < Members) of the columns: its patient and object and its
// facts, rows [first, end), sorted by time and input as Count orders them.
func (c *Columns) Member(m int) (patient, object string, first, end int) {
	return c.str(c.patient[m]), c.str(c.object[m]), int(c.first[m]), int(c.first[m+1])
}

// Row is fact i of the columns. Its instants are meaningful only when Nanos is true.
func (c *Columns) Row(i int) Row {
	return Row{Role: roles[c.role[i]], Ref: c.str(c.ref[i]), For: c.str(c.forRef[i]), Out: c.str(c.out[i]),
		Channel: measure.Channel(c.str(c.channel[i])), At: c.at[i], Until: c.until[i], Deadline: c.deadline[i],
		Controlled: c.flags[i]&flagControlled != 0, Anytime: c.flags[i]&flagAnytime != 0}
}
