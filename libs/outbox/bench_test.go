package outbox_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/attest-ehr/attest/libs/broker"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
)

// BenchmarkAdd measures writing one event in its own transaction — what a producer
// pays per accepted fact on top of its own rows.
func BenchmarkAdd(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			db := storetest.Open(b, d, storetest.Service)
			if err := db.Migrate(context.Background(), nil); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				add(b, db, "bench.thing.v1", newEvents(fmt.Sprint("e", i), 1)...)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkRelay measures draining a backlog of 10,000 outbox rows to the embedded
// broker over TCP: read in batches, publish with RequireAll acks, delete.
func BenchmarkRelay(b *testing.B) {
	const n = 10000
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			brk, err := broker.Start(broker.Config{Addr: "127.0.0.1:0"})
			if err != nil {
				b.Fatal(err)
			}
			defer brk.Close()
			w := event.NewWriter(event.Config{Brokers: brk.Addrs()})
			defer w.Close()
			db := storetest.Open(b, d, storetest.Service)
			if err := db.Migrate(context.Background(), nil); err != nil {
				b.Fatal(err)
			}
			relay := outbox.NewRelay(db, w, outbox.RelayConfig{})
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				es := newEvents("e", n)
				for i := 0; i < n; i += 500 {
					add(b, db, "bench.relay.v1", es[i:i+500]...)
				}
				b.StartTimer()
				if got, err := relay.Flush(context.Background()); err != nil || got != n {
					b.Fatalf("Flush = %d, %v", got, err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
