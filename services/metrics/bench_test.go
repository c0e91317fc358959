package metrics_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/metrics"
	"github.com/attest-ehr/attest/services/metrics/internal/engagement"
	"github.com/attest-ehr/attest/services/metrics/internal/projection"
	"github.com/attest-ehr/attest/services/metrics/internal/projection/projectiontest"
)

// published starts an embedded broker and a SQLite database and publishes b.N events
// of patients' years of care (patient IDs starting with prefix), a topic at a time.
func published(b *testing.B, prefix string) ([]string, *store.DB, []event.Event) {
	brokers := startBroker(b)
	db := storetest.Open(b, store.SQLite, storetest.Service)
	var es []event.Event
	for i := 0; len(es) < b.N; i++ {
		es = append(es, projectiontest.Year(fmt.Sprintf("%s%d-%07d", prefix, b.N, i), i, 2025)...)
	}
	w := event.NewWriter(event.Config{Brokers: brokers})
	defer w.Close()
	byTopic := map[string][]event.Event{}
	for _, e := range es {
		byTopic[e.Topic] = append(byTopic[e.Topic], e)
	}
	for topic, list := range byTopic {
		for chunk := range slices.Chunk(list, 1000) {
			if err := w.Publish(context.Background(), topic, chunk...); err != nil {
				b.Fatal(err)
			}
		}
	}
	return brokers, db, es
}

// BenchmarkPipeline is the service end to end in embedded mode: events already on the
// embedded broker are consumed (three consumer groups: seen facts, the measure
// projection, the KPIs), derived, persisted in SQLite, and the derived facts relayed
// to the broker. One op is one domain event; the clock runs from Run to the last
// event applied by every group and the outbox drained.
func BenchmarkPipeline(b *testing.B) {
	ctx := context.Background()
	brokers, db, es := published(b, "b")
	kpiEvents := 0
	for _, e := range es {
		if slices.Contains(engagement.Topics(), e.Topic) {
			kpiEvents++
		}
	}
	a, err := metrics.New(ctx, metrics.Config{}, metrics.Deps{Log: slog.New(slog.DiscardHandler), DB: db, Brokers: brokers})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	count := func(q string, args ...any) int {
		var n int
		if err := db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	b.ResetTimer()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	for count(`SELECT count(*) FROM processed_events WHERE consumer = ?`, projection.Group) < len(es) ||
		count(`SELECT count(*) FROM processed_events WHERE consumer = ?`, engagement.Group) < kpiEvents ||
		count(`SELECT count(*) FROM outbox`) > 0 {
		time.Sleep(20 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(len(es))/b.Elapsed().Seconds(), "events/s")
	stop()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkReplay rebuilds the derived state from events on the embedded broker into
// a SQLite database already holding it, and swaps it in. One op is one event.
func BenchmarkReplay(b *testing.B) {
	ctx := context.Background()
	brokers, db, es := published(b, "r")
	d := metrics.Deps{Log: slog.New(slog.DiscardHandler), DB: db, Brokers: brokers}
	b.ResetTimer()
	st, err := metrics.Replay(ctx, metrics.Config{}, d)
	if err != nil || st.Events != len(es) {
		b.Fatalf("%+v, %v", st, err)
	}
	b.ReportMetric(float64(st.Events)/b.Elapsed().Seconds(), "events/s")
}
