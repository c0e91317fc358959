package numbers

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/services/metrics/internal/projection"
)

// DefaultCacheFacts is how many membership facts a Reader keeps in memory by default:
// some 250 MB, the facts of a few hundred thousand patient-measures.
const DefaultCacheFacts = 500_000

// cache keeps the facts of the series read most recently, each with the version it
// was read at, up to a number of facts: a count of a warm series reads one version row
// from the database instead of every fact. Series are evicted least recently used
// first.
type cache struct {
	mu      sync.Mutex
	max     int
	held    int
	entries map[membership.Series]*list.Element
	lru     *list.List // of *entry, most recent first
}

type entry struct {
	series  membership.Series
	version int64
	facts   []membership.Fact
}

func newCache(max int) *cache {
	return &cache{max: max, entries: map[membership.Series]*list.Element{}, lru: list.New()}
}

// get returns the facts of s if they are held at version v.
func (c *cache) get(s membership.Series, v int64) ([]membership.Fact, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[s]
	if !ok || el.Value.(*entry).version != v {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*entry).facts, true
}

// put holds the facts of s read at version v, evicting others to stay within max.
func (c *cache) put(s membership.Series, v int64, facts []membership.Fact) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[s]; ok {
		c.held -= len(el.Value.(*entry).facts)
		c.lru.Remove(el)
		delete(c.entries, s)
	}
	if len(facts) > c.max {
		return
	}
	c.entries[s] = c.lru.PushFront(&entry{series: s, version: v, facts: facts})
	c.held += len(facts)
	for c.held > c.max {
		last := c.lru.Back()
		e := last.Value.(*entry)
		c.held -= len(e.facts)
		c.lru.Remove(last)
		delete(c.entries, e.series)
	}
}

// facts returns the facts of entity e (a group's: its clinicians') for a measure and
// year: from memory for the series whose version is unchanged, from the database
// otherwise.
func (r *Reader) facts(ctx context.Context, e contract.Entity, p measure.Program, id string, year int) ([][]membership.Fact, error) {
	versions, err := projection.Versions(ctx, r.db, e, p, id, year)
	if err != nil {
		return nil, err
	}
	var out [][]membership.Fact
	for ent, v := range versions {
		s := membership.Series{Entity: ent, Program: p, Measure: id, Year: year}
		fs, ok := r.cache.get(s, v)
		if !ok {
			if fs, err = projection.EntityFacts(ctx, r.db, projection.Live, ent, p, id, year, time.Time{}, time.Time{}); err != nil {
				return nil, err
			}
			r.cache.put(s, v, fs)
		}
		out = append(out, fs)
	}
	return out, nil
}
