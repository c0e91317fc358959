package audit_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/gateway/internal/audit"
)

// BenchmarkAppend measures Append from many goroutines at once, as requests do:
// each waits for its record's commit, and Run commits what queued up together.
func BenchmarkAppend(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			db := storetest.Open(b, d, "gateway")
			migrated(b, db)
			l := audit.New(db, newKey(b), slog.New(slog.DiscardHandler), audit.Options{})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- l.Run(ctx) }()
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					if err := l.Append(context.Background(), entry(i)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkVerify measures verifying a 10,000-record log with a checkpoint every
// 1,000 records; ns/op is per log, records/s is reported.
func BenchmarkVerify(b *testing.B) {
	const n = 10000
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			db := storetest.Open(b, d, "gateway")
			migrated(b, db)
			key := newKey(b)
			l := audit.New(db, key, slog.New(slog.DiscardHandler), audit.Options{CheckpointEvery: 1000})
			batch := make([]audit.Entry, 500)
			for i := 0; i < n; i += len(batch) {
				for j := range batch {
					batch[j] = entry(i + j)
				}
				if err := l.Write(context.Background(), batch...); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				rep, err := audit.Verify(context.Background(), db, pub(key))
				if err != nil || !rep.OK() || rep.Records != n {
					b.Fatalf("%+v %v", rep, err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
