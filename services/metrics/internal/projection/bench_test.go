package projection_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/metrics/internal/projection"
	"github.com/attest-ehr/attest/services/metrics/internal/projection/projectiontest"
)

// engines runs a benchmark on SQLite and PostgreSQL, each on a fresh migrated database.
func engines(b *testing.B, fn func(b *testing.B, db *store.DB)) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			db := storetest.Open(b, d, storetest.Service)
			if err := db.Migrate(context.Background(), projection.Migrations()); err != nil {
				b.Fatal(err)
			}
			fn(b, db)
		})
	}
}

// BenchmarkProject applies events in batches of 500 as the consumer does: processed
// marks, items, every touched patient's facts re-derived and diffed, changes published
// to the outbox, one transaction a batch. One op is one event.
func BenchmarkProject(b *testing.B) {
	d := deriver(b)
	engines(b, func(b *testing.B, db *store.DB) {
		pr := projection.NewProjector(projection.NewSQL(db, projection.Live, projection.Group, true), d, nil, slog.New(slog.DiscardHandler))
		var es []event.Event
		for i := 0; len(es) < b.N; i++ {
			es = append(es, projectiontest.Year(fmt.Sprintf("%s-%d-%d", b.Name(), b.N, i), i, 2025)...)
		}
		es = es[:b.N]
		b.ResetTimer()
		for len(es) > 0 {
			n := min(500, len(es))
			if err := pr.HandleBatch(context.Background(), es[:n]); err != nil {
				b.Fatal(err)
			}
			es = es[n:]
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
