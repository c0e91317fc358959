package numbers_test

import (
	"context"
	"fmt"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/metrics/internal/numbers"
	"github.com/attest-ehr/attest/services/metrics/internal/projection"
	"github.com/attest-ehr/attest/services/metrics/internal/projection/projectiontest"
)

// BenchmarkCount is GET /v1/numbers for PI_PEA_1 over a 90-day window, for a clinician
// and for their group of 2,000 patients (20 events each): warm (the facts in memory,
// one version row read) and cold (every fact read from the database).
func BenchmarkCount(b *testing.B) {
	c, err := measure.New()
	if err != nil {
		b.Fatal(err)
	}
	cal := calendar.New(nil)
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			ctx := context.Background()
			db := storetest.Open(b, d, storetest.Service)
			if err := db.Migrate(ctx, projection.Migrations()); err != nil {
				b.Fatal(err)
			}
			pr := projection.NewProjector(projection.NewSQL(db, projection.Live, projection.Group, false),
				membership.NewDeriver(c, cal), nil, slog.New(slog.DiscardHandler))
			for i := range 2_000 {
				if err := pr.HandleBatch(ctx, projectiontest.Year(fmt.Sprintf("q%05d", i), i, 2025)); err != nil {
					b.Fatal(err)
				}
			}
			if d == store.Postgres { // as autovacuum would have
				if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
					b.Fatal(err)
				}
			}
			for _, e := range []contract.Entity{{Kind: contract.EntityTINNPI, ID: projectiontest.TINs[0] + "/" + projectiontest.NPIs[0]},
				{Kind: contract.EntityTIN, ID: projectiontest.TINs[0]}} {
				q := numbers.Query{Entity: e, Program: measure.MIPS, Year: 2025, Measure: "PI_PEA_1",
					Period: measure.Period{Year: 2025, First: time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC),
						Last: time.Date(2025, 6, 29, 0, 0, 0, 0, time.UTC)}}
				for _, warm := range []bool{true, false} {
					size, name := numbers.DefaultCacheFacts, "warm"
					if !warm {
						size, name = 0, "cold"
					}
					r := numbers.NewReader(db, c, cal, size)
					b.Run(e.Kind+"/"+name, func(b *testing.B) {
						if _, _, err := r.Count(ctx, q); err != nil { // warms the cache
							b.Fatal(err)
						}
						c0 := cpuTime()
						for b.Loop() {
							n, _, err := r.Count(ctx, q)
							if err != nil || n.Denominator == 0 {
								b.Fatalf("%+v, %v", n, err)
							}
						}
						// CPU time a query: what a machine shared with other work changes least.
						b.ReportMetric(float64((cpuTime()-c0).Microseconds())/float64(b.N)/1000, "cpu-ms/op")
					})
				}
			}
		})
	}
}

// cpuTime is the process's CPU time (user and system, every thread).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
