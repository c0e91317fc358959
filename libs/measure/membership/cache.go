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
	cols    *Columns // instead of facts, for a reader that counts columns
}

func (e *cacheEntry) size() int {
	if e.cols != nil {
		return e.cols.Len()
	}
	return len(e.facts)
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
	if !ok || el.Value.(*cacheEntry).version != v || el.Value.(*cacheEntry).cols != nil {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*cacheEntry).facts, true
}

// GetColumns returns the columns of s if they are held at version v.
func (c *Cache) GetColumns(s Series, v int64) (*Columns, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[s]
	if !ok || el.Value.(*cacheEntry).version != v || el.Value.(*cacheEntry).cols == nil {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*cacheEntry).cols, true
}

// PutColumns holds the columns of s read at version v, as Put holds facts (a series
// is held either way, not both; its size is its facts).
func (c *Cache) PutColumns(s Series, v int64, cols *Columns) {
	c.put(&cacheEntry{series: s, version: v, cols: cols})
}

// Put holds the facts of s read at version v, evicting others to stay within max. A
// series larger than max is not held.
func (c *Cache) Put(s Series, v int64, facts []Fact) {
	c.put(&cacheEntry{series: s, version: v, facts: facts})
}

func (c *Cache) put(e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[e.series]; ok {
		c.held -= el.Value.(*cacheEntry).size()
		c.lru.Remove(el)
		delete(c.entries, e.series)
	}
	if e.size() > c.max {
		return
	}
	c.entries[e.series] = c.lru.PushFront(e)
	c.held += e.size()
	for c.held > c.max {
		last := c.lru.Back()
		old := last.Value.(*cacheEntry)
		c.held -= old.size()
		c.lru.Remove(last)
		delete(c.entries, old.series)
	}
}
