package match

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/attest-ehr/attest/services/education/internal/catalog"
)

// DefaultRefresh is how often a Matcher checks the catalog's generation by default.
const DefaultRefresh = 2 * time.Second

// Matcher keeps an Index of the current catalog. Writes through this process call
// Invalidate, so they are matched at once; writes by other replicas are seen within
// the refresh interval, when the next match finds the generation moved.
type Matcher struct {
	cat     *catalog.Catalog
	refresh time.Duration
	now     func() time.Time

	mu      sync.Mutex // serialises rebuilds
	ix      *Index
	checked time.Time
}

// NewMatcher returns a Matcher over cat that checks for changes at most every
// refresh (default DefaultRefresh).
func NewMatcher(cat *catalog.Catalog, refresh time.Duration) *Matcher {
	if refresh <= 0 {
		refresh = DefaultRefresh
	}
	return &Matcher{cat: cat, refresh: refresh, now: time.Now}
}

// Invalidate makes the next Index call check the catalog.
func (m *Matcher) Invalidate() {
	m.mu.Lock()
	m.checked = time.Time{}
	m.mu.Unlock()
}

// Index returns an index of the active catalog, rebuilt when the catalog has changed.
// It reads through the database pool, never a transaction, so it may be called while
// the caller holds one.
func (m *Matcher) Index(ctx context.Context) (*Index, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if m.ix != nil && now.Sub(m.checked) < m.refresh {
		return m.ix, nil
	}
	gen, err := m.cat.Generation(ctx)
	if err != nil {
		return nil, err
	}
	if m.ix == nil || gen != m.ix.Generation() {
		// The generation is read before the materials: a write in between leaves the
		// index newer than its generation says, and the next check rebuilds it again.
		ms, err := m.cat.ActiveMaterials(ctx)
		if err != nil {
			return nil, fmt.Errorf("load catalog for matching: %w", err)
		}
		m.ix = NewIndex(gen, ms)
	}
	m.checked = now
	return m.ix, nil
}
