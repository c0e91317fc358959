package engagement

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sync/singleflight"

	"github.com/attest-ehr/attest/libs/store"
)

// Reading the KPI rows is what a report costs (a year of them at the demo's size is
// hundreds of milliseconds of CPU), and the console asks for the same period several
// times a page, broken down three ways, while the rows change only when events
// arrive. So reads are keyed by the table's data version (kpi_version, bumped in the
// transaction that changes the rows): a report computed at a version is the answer
// for as long as the version stays; the loaded rows are shared by the breakdowns asked
// for at once; and nothing older than the current version is kept.

// bumpVersion moves a KPI table's data version.
const bumpVersion = `UPDATE kpi_version SET version = version + 1 WHERE name = ?`

// bump moves the data version of the Keeper's table, in the transaction that changed
// its rows.
func (k *Keeper) bump(ctx context.Context, tx *store.Tx) error {
	if err := exec(ctx, tx, bumpVersion, k.table); err != nil {
		return fmt.Errorf("bump the KPI version: %w", err)
	}
	return nil
}

// Swapped moves the live KPI rows' data version, in the transaction of a replay that
// replaced them wholesale: no cached report of the old rows is used afterwards.
func Swapped(ctx context.Context, tx *store.Tx) error {
	if _, err := tx.ExecContext(ctx, bumpVersion, "kpi_items"); err != nil {
		return fmt.Errorf("bump the KPI version: %w", err)
	}
	return nil
}

// version reads the data version of the Keeper's table.
func (k *Keeper) version(ctx context.Context) (int64, error) {
	var v int64
	if err := k.db.QueryRowContext(ctx, `SELECT version FROM kpi_version WHERE name = ?`, k.table).Scan(&v); err != nil {
		return 0, fmt.Errorf("read the KPI version: %w", err)
	}
	return v, nil
}

// inputs are a period's rows as a report reads them.
type inputs struct {
	rows, use []item
	answers   []answer
}

// reports keeps the reports computed at the newest data version seen, and shares the
// loading of a period's rows among the reports asked for at the same time.
type reports struct {
	mu      sync.Mutex
	version int64
	done    map[string]Report // by period and dimensions, at version
	loads   singleflight.Group
}

// maxReports bounds the reports kept for one version: the console asks for a few
// periods and breakdowns; an API client asking for many just computes them.
const maxReports = 64

func newReports() *reports { return &reports{version: -1, done: map[string]Report{}} }

func reportKey(from, to string, by []string) string {
	return from + "\x00" + to + "\x00" + strings.Join(by, ",")
}

// get returns the report kept for key at version v.
func (c *reports) get(v int64, key string) (Report, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v != c.version {
		return Report{}, false
	}
	r, ok := c.done[key]
	return r, ok
}

// put keeps r as key's report at version v, forgetting every older version's.
func (c *reports) put(v int64, key string, r Report) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case v < c.version:
		return // a slower reader of an older version: its answer is already stale
	case v > c.version:
		c.version, c.done = v, map[string]Report{}
	}
	if len(c.done) >= maxReports {
		return
	}
	c.done[key] = r
}

// load loads a period's rows once for all the callers asking at version v at the same
// time; nothing is kept once they have it.
func (c *reports) load(v int64, from, to string, read func() (inputs, error)) (inputs, error) {
	res, err, _ := c.loads.Do(fmt.Sprintf("%d\x00%s\x00%s", v, from, to), func() (any, error) { return read() })
	if err != nil {
		return inputs{}, err
	}
	return res.(inputs), nil
}

// clone copies r's rows, so a caller changing the answer it got does not change the
// one kept.
func (r Report) clone() Report {
	r.Rows = append([]Row{}, r.Rows...)
	r.By = append([]string(nil), r.By...)
	return r
}
