package membership

import (
	"container/list"
	"sync"
)

// Cache keeps the facts of the series read most recently, each with the version it was
// read at, up to a number of facts, least recently used out first. A reader that keeps
// a version per series in its database (bumped in the transaction that changes the
// series) reads one version row for a warm series instead of every fact; several
// replicas stay correct because the version is in the database, not in a process.
// metrics' numbers and reporting's facts both read through one.
type Cache struct {
	mu      sync.Mutex
	max     int
	held    int
	entries map[Series]*list.Element
	lru     *list.List // of *cacheEntry, most recent first
}

type cacheEntry struct {
	series  Series
	version int64
	facts   []Fact
}

// NewCache returns a cache holding up to max facts.
func NewCache(max int) *Cache {
	return &Cache{max: max, entries: map[Series]*list.Element{}, lru: list.New()}
}

// Get returns the facts of s if they are held at version v.
func (c *Cache) Get(s Series, v int64) ([]Fact, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[s]
	if !ok || el.Value.(*cacheEntry).version != v {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*cacheEntry).facts, true
}

// Put holds the facts of s read at version v, evicting others to stay within max. A
// series larger than max is not held.
func (c *Cache) Put(s Series, v int64, facts []Fact) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[s]; ok {
		c.held -= len(el.Value.(*cacheEntry).facts)
		c.lru.Remove(el)
		delete(c.entries, s)
	}
	if len(facts) > c.max {
		return
	}
	c.entries[s] = c.lru.PushFront(&cacheEntry{series: s, version: v, facts: facts})
	c.held += len(facts)
	for c.held > c.max {
		last := c.lru.Back()
		e := last.Value.(*cacheEntry)
		c.held -= len(e.facts)
		c.lru.Remove(last)
		delete(c.entries, e.series)
	}
}
