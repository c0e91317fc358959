package projection

import (
	"container/list"
	"sync"

	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/libs/measure/timeline"
)

// DefaultCachePatients is how many patients' timelines a SQL state keeps in memory by
// default: at about 20 items and 30 facts a patient, some 20–40 KB each.
const DefaultCachePatients = 5000

// timeline is one patient's items (decoded) and facts as of a stored version token.
type cached struct {
	patient string
	version int64
	items   []timeline.Item // sorted by kind and ID, Value set
	facts   []membership.Fact
}

// timelineCache keeps the timelines of the patients touched most recently, least
// recently used first out. An entry is only used while its version is the one stored
// with the patient (see SQL), so whatever another process or a replay changed is read
// again from the database. Safe for concurrent use; entries are never modified, only
// replaced.
type timelineCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *cached, most recent first
	byID  map[string]*list.Element
}

func newTimelineCache(max int) *timelineCache {
	if max <= 0 {
		return nil
	}
	return &timelineCache{max: max, order: list.New(), byID: map[string]*list.Element{}}
}

// get returns the patient's entry if it is at version.
func (c *timelineCache) get(patient string, version int64) (*cached, bool) {
	if c == nil || version == 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[patient]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cached)
	if e.version != version {
		c.order.Remove(el)
		delete(c.byID, patient)
		return nil, false
	}
	c.order.MoveToFront(el)
	return e, true
}

// put installs entries, evicting the least recently used beyond the bound.
func (c *timelineCache) put(es []*cached) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range es {
		if el, ok := c.byID[e.patient]; ok {
			el.Value = e
			c.order.MoveToFront(el)
			continue
		}
		c.byID[e.patient] = c.order.PushFront(e)
	}
	for c.order.Len() > c.max {
		el := c.order.Back()
		c.order.Remove(el)
		delete(c.byID, el.Value.(*cached).patient)
	}
}

// drop forgets patients (a transaction that touched them failed).
func (c *timelineCache) drop(patients []string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range patients {
		if el, ok := c.byID[p]; ok {
			c.order.Remove(el)
			delete(c.byID, p)
		}
	}
}

// len is how many patients are held.
func (c *timelineCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
