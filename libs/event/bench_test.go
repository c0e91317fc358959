package event_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/event"
)

// BenchmarkPublish measures publishing to the embedded broker over TCP with
// RequireAll acks, in batches as the outbox relay sends them.
func BenchmarkPublish(b *testing.B) {
	for _, batch := range []int{1, 100, 500} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			brk := startBroker(b)
			cfg := event.Config{Brokers: brk.Addrs()}
			w := event.NewWriter(cfg)
			defer w.Close()
			topic := "bench.publish.v1"
			if err := event.EnsureTopics(context.Background(), cfg, 3, topic); err != nil {
				b.Fatal(err)
			}
			es := make([]event.Event, batch)
			for i := range es {
				es[i] = mustEvent(b, "bench.thing.happened", fmt.Sprintf("p%d", i), map[string]int{"i": i})
			}
			b.ResetTimer()
			for b.Loop() {
				if err := w.Publish(context.Background(), topic, es...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkConsume measures the consumer loop (fetch, decode, handle, commit) on a
// pre-filled topic, with a handler that does nothing: the backbone's own ceiling for
// one consumer over one partition set.
func BenchmarkConsume(b *testing.B) {
	const n = 20000
	brk := startBroker(b)
	cfg := event.Config{Brokers: brk.Addrs()}
	topic := "bench.consume.v1"
	ctx := context.Background()
	if err := event.EnsureTopics(ctx, cfg, 3, topic); err != nil {
		b.Fatal(err)
	}
	w := event.NewWriter(cfg)
	defer w.Close()
	es := make([]event.Event, 500)
	for sent := 0; sent < n; sent += len(es) {
		for i := range es {
			es[i] = mustEvent(b, "bench.thing.happened", fmt.Sprintf("p%d", sent+i), map[string]int{"i": i})
		}
		if err := w.Publish(ctx, topic, es...); err != nil {
			b.Fatal(err)
		}
	}
	for _, batch := range []bool{false, true} {
		b.Run(fmt.Sprintf("batch=%v", batch), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				var got atomic.Int64
				cctx, cancel := context.WithCancel(ctx)
				count := func(k int) {
					if got.Add(int64(k)) == n {
						cancel()
					}
				}
				var h event.Handler = event.HandlerFunc(func(context.Context, event.Event) error { count(1); return nil })
				if batch {
					h = batchCounter{count}
				}
				done := make(chan error, 1)
				begin := time.Now()
				go func() {
					done <- event.Consume(cctx, cfg, event.ConsumerConfig{Group: fmt.Sprintf("bench-%v-%d", batch, i), Topics: []string{topic}}, h)
				}()
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(n)/time.Since(begin).Seconds(), "events/s")
			}
		})
	}
}

// batchCounter counts what it is handed, one event or a batch at a time.
type batchCounter struct{ count func(int) }

func (c batchCounter) Handle(context.Context, event.Event) error { c.count(1); return nil }

func (c batchCounter) HandleBatch(_ context.Context, es []event.Event) error {
	c.count(len(es))
	return nil
}
