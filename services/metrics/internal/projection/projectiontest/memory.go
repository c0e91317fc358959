// Package projectiontest gives tests of the metrics projection an in-memory Store,
// fast enough to run a property over tens of thousands of event sequences; the
// database Store runs the same property on SQLite and PostgreSQL with fewer.
package projectiontest

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/libs/measure/timeline"
	"github.com/attest-ehr/attest/services/metrics/internal/projection"
)

// Memory is a projection.Store held in maps. A transaction works on copies that
// replace the maps only when it succeeds, so a failed one leaves nothing behind.
type Memory struct {
	mu        sync.Mutex
	processed map[string]bool
	items     map[itemKey]timeline.Item
	facts     map[string]membership.Fact // by Key
	published []event.Event
}

type itemKey struct {
	kind timeline.Kind
	id   string
}

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{processed: map[string]bool{}, items: map[itemKey]timeline.Item{}, facts: map[string]membership.Fact{}}
}

// InTx runs fn on a copy of the state and keeps the copy if fn succeeds.
func (m *Memory) InTx(ctx context.Context, fn func(projection.State) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	tx := &memTx{processed: maps.Clone(m.processed), items: maps.Clone(m.items), facts: maps.Clone(m.facts)}
	if err := fn(tx); err != nil {
		return err
	}
	m.processed, m.items, m.facts = tx.processed, tx.items, tx.facts
	m.published = append(m.published, tx.published...)
	return nil
}

// Items lists every item held, by kind and ID.
func (m *Memory) Items() []timeline.Item {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Collect(maps.Values(m.items))
	slices.SortFunc(out, func(a, b timeline.Item) int { return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ID, b.ID)) })
	return out
}

// Facts lists the keys of every fact held, sorted.
func (m *Memory) Facts() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.facts))
}

// Published lists the events published by committed transactions, in order.
func (m *Memory) Published() []event.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.published)
}

// memTx is one transaction's copy of the state.
type memTx struct {
	processed map[string]bool
	items     map[itemKey]timeline.Item
	facts     map[string]membership.Fact
	published []event.Event
}

func (t *memTx) Processed(_ context.Context, ids []string) ([]bool, error) {
	first := make([]bool, len(ids))
	for i, id := range ids {
		if !t.processed[id] {
			t.processed[id] = true
			first[i] = true
		}
	}
	return first, nil
}

func (t *memTx) Put(_ context.Context, it timeline.Item) error {
	t.items[itemKey{it.Kind, it.ID}] = it
	return nil
}

func (t *memTx) Delete(_ context.Context, it timeline.Item) error {
	delete(t.items, itemKey{it.Kind, it.ID})
	return nil
}

func (t *memTx) Items(_ context.Context, patientID string) ([]timeline.Item, error) {
	var out []timeline.Item
	for _, it := range t.items {
		if it.Patient == patientID {
			out = append(out, it)
		}
	}
	return out, nil
}

func (t *memTx) Facts(_ context.Context, patientID string) ([]membership.Fact, error) {
	var out []membership.Fact
	for _, f := range t.facts {
		if f.Patient == patientID {
			out = append(out, f)
		}
	}
	return out, nil
}

func (t *memTx) Assert(_ context.Context, fs []membership.Fact) error {
	for _, f := range fs {
		t.facts[f.Key()] = f
	}
	return nil
}

func (t *memTx) Retract(_ context.Context, fs []membership.Fact) error {
	for _, f := range fs {
		delete(t.facts, f.Key())
	}
	return nil
}

func (t *memTx) Bump(context.Context, []membership.Series) error { return nil }

// Alongside: the in-memory state keeps nothing beside the projection.
func (t *memTx) Alongside(context.Context, []event.Event) error { return nil }

func (t *memTx) Publish(_ context.Context, es []event.Event) error {
	t.published = append(t.published, es...)
	return nil
}
