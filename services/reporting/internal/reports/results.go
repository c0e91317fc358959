package reports

import (
	"container/list"
	"sync"
)

// DefaultResultMembers is how many members (entries of the kept reports' lists, a
// couple of hundred bytes each, their strings shared with the series) a Computer keeps
// by default, up to some 2.4 GB: every report of a 1,000,000-patient system of 500
// clinicians and 20 groups with its lists (7.2 M entries; 5.4 M without lists). A
// working set larger than this is served from the series' remembered members (a
// merge) instead — with an LRU, a cycle over more reports than fit keeps none.
const DefaultResultMembers = 12_000_000

// results keeps the inputs of computed reports by key (the query and the versions of
// everything it read), least recently used out first, up to a number of members.
type results struct {
	mu      sync.Mutex
	max     int
	held    int
	entries map[string]*list.Element
	lru     *list.List // of *resultEntry, most recent first
}

type resultEntry struct {
	key string
	in  computedInputs
}

func newResults(maxMembers int) *results {
	return &results{max: maxMembers, entries: map[string]*list.Element{}, lru: list.New()}
}

// get returns the inputs kept under key ("" is never kept).
func (r *results) get(key string) (computedInputs, bool) {
	if key == "" {
		return computedInputs{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	el, ok := r.entries[key]
	if !ok {
		return computedInputs{}, false
	}
	r.lru.MoveToFront(el)
	return el.Value.(*resultEntry).in, true
}

// put keeps in under key, forgetting the least recently used beyond max members. An
// entry larger than max is not kept.
func (r *results) put(key string, in computedInputs) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.entries[key]; ok {
		r.held -= el.Value.(*resultEntry).in.members + 1
		r.lru.Remove(el)
		delete(r.entries, key)
	}
	if in.members+1 > r.max {
		return
	}
	r.entries[key] = r.lru.PushFront(&resultEntry{key: key, in: in})
	r.held += in.members + 1 // a report without members still counts
	for r.held > r.max {
		last := r.lru.Back()
		e := last.Value.(*resultEntry)
		r.held -= e.in.members + 1
		r.lru.Remove(last)
		delete(r.entries, e.key)
	}
}
