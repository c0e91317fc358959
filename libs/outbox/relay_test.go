package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
)

// runRelay starts r.Run and returns a function that stops it and checks it returned
// nil.
func runRelay(t *testing.T, r *outbox.Relay) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestPublishFailureIsRetriedWithoutLossOrReorder(t *testing.T) {
	migrated(t, func(t *testing.T, db *store.DB) {
		es := newEvents("e", 5)
		add(t, db, "a.v1", es[:3]...)
		add(t, db, "b.v1", es[3:]...)

		// Every failing call must find all events still in the outbox.
		pub := &fakePublisher{failNext: 3}
		var mu sync.Mutex
		var pendingDuringFailures []int
		pub.before = func(string, []event.Event) {
			pub.mu.Lock()
			failing := pub.failNext > 0
			pub.mu.Unlock()
			if failing {
				n, err := outbox.Pending(context.Background(), db)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				pendingDuringFailures = append(pendingDuringFailures, n)
				mu.Unlock()
			}
		}
		r := outbox.NewRelay(db, pub, outbox.RelayConfig{Interval: 10 * time.Millisecond})

		t.Run("Flush reports the failure and keeps the events", func(t *testing.T) {
			n, err := r.Flush(t.Context())
			if n != 0 || !errors.Is(err, errBroker) {
				t.Fatalf("Flush = %d, %v; want 0 and %v", n, err, errBroker)
			}
			if n := pending(t, db); n != 5 {
				t.Errorf("Pending = %d, want 5", n)
			}
		})

		t.Run("Run retries until it succeeds", func(t *testing.T) {
			stop := runRelay(t, r)
			waitFor(t, "all events delivered", func() bool { return len(pub.delivered()) == len(es) })
			stop()

			calls := pub.snapshot()
			for i, c := range calls {
				if c.err != nil && c.events[0].ID != es[0].ID {
					t.Errorf("failed call %d started at %s: the relay skipped ahead of %s", i, c.events[0].ID, es[0].ID)
				}
			}
			if diff := cmp.Diff(ids(es), ids(pub.delivered())); diff != "" {
				t.Errorf("delivered (-want +got):\n%s", diff)
			}
			mu.Lock()
			defer mu.Unlock()
			if diff := cmp.Diff([]int{5, 5, 5}, pendingDuringFailures); diff != "" {
				t.Errorf("outbox size during failed publishes (-want +got):\n%s", diff)
			}
			if n := pending(t, db); n != 0 {
				t.Errorf("Pending = %d, want 0", n)
			}
		})
	})
}

// The relay deletes a read's rows once for all its topic groups; a failure on a later
// group must still delete the groups published before it, or they would be
// published twice.
func TestFailureAfterAPublishedGroupPublishesItOnce(t *testing.T) {
	migrated(t, func(t *testing.T, db *store.DB) {
		es := newEvents("e", 6)
		add(t, db, "a.v1", es[:2]...)
		add(t, db, "b.v1", es[2:4]...)
		add(t, db, "c.v1", es[4:]...)
		pub := &fakePublisher{}
		pub.before = func(topic string, _ []event.Event) {
			if topic == "b.v1" {
				pub.mu.Lock()
				pub.failNext = 1
				pub.before = nil // once
				pub.mu.Unlock()
			}
		}
		r := outbox.NewRelay(db, pub, outbox.RelayConfig{})
		n, err := r.Flush(t.Context())
		if n != 2 || !errors.Is(err, errBroker) {
			t.Fatalf("Flush = %d, %v; want 2 and %v", n, err, errBroker)
		}
		if n := pending(t, db); n != 4 {
			t.Fatalf("Pending = %d, want 4 (the published group deleted)", n)
		}
		if n, err := r.Flush(t.Context()); n != 4 || err != nil {
			t.Fatalf("second Flush = %d, %v; want 4 and nil", n, err)
		}
		if diff := cmp.Diff(ids(es), ids(pub.delivered())); diff != "" {
			t.Errorf("delivered (-want +got):\n%s", diff)
		}
	})
}

// Interleaved topics are published one request per topic of a read, each topic's
// events in the order they were written.
func TestInterleavedTopicsOneRequestPerTopic(t *testing.T) {
	migrated(t, func(t *testing.T, db *store.DB) {
		es := newEvents("e", 6)
		add(t, db, "a.v1", es[0])
		add(t, db, "b.v1", es[1])
		add(t, db, "a.v1", es[2], es[3])
		add(t, db, "b.v1", es[4])
		add(t, db, "a.v1", es[5])
		pub := &fakePublisher{}
		if n, err := outbox.NewRelay(db, pub, outbox.RelayConfig{}).Flush(t.Context()); n != 6 || err != nil {
			t.Fatalf("Flush = %d, %v; want 6 and nil", n, err)
		}
		calls := pub.snapshot()
		if len(calls) != 2 {
			t.Fatalf("%d Publish calls, want 2 (one per topic)", len(calls))
		}
		want := map[string][]event.Event{"a.v1": {es[0], es[2], es[3], es[5]}, "b.v1": {es[1], es[4]}}
		for _, c := range calls {
			if diff := cmp.Diff(ids(want[c.topic]), ids(c.events)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", c.topic, diff)
			}
		}
		if n := pending(t, db); n != 0 {
			t.Errorf("Pending = %d, want 0", n)
		}
	})
}

func TestNotifyWakesTheRelay(t *testing.T) {
	migrated(t, func(t *testing.T, db *store.DB) {
		pub := &fakePublisher{}
		// With an hour between polls, only Notify can explain a prompt publish.
		r := outbox.NewRelay(db, pub, outbox.RelayConfig{Interval: time.Hour})
		es := newEvents("e", 2)

		add(t, db, "a.v1", es[0])
		runRelay(t, r)
		waitFor(t, "the first event, published at start", func() bool { return len(pub.delivered()) == 1 })

		add(t, db, "a.v1", es[1])
		r.Notify()
		r.Notify() // never blocks, even with a wake-up pending
		waitFor(t, "the notified event", func() bool { return len(pub.delivered()) == 2 })
	})
}

// TestConcurrentRelaysPublishOnce runs three relays on one PostgreSQL schema, as three
// replicas would: the lock lets one publish, and when it stops a standby takes over.
func TestConcurrentRelaysPublishOnce(t *testing.T) {
	db := storetest.Open(t, store.Postgres, storetest.Service)
	if err := db.Migrate(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	pub := &fakePublisher{}
	var relays []*outbox.Relay
	var stops []func()
	for range 3 {
		r := outbox.NewRelay(db, pub, outbox.RelayConfig{Interval: 10 * time.Millisecond, Batch: 7})
		relays = append(relays, r)
		stops = append(stops, runRelay(t, r))
	}
	notifyAll := func() {
		for _, r := range relays {
			r.Notify()
		}
	}

	var want []event.Event
	for i := range 10 {
		es := newEvents(fmt.Sprintf("round1-%d", i), 20)
		add(t, db, "a.v1", es...)
		notifyAll()
		want = append(want, es...)
	}
	waitFor(t, "round 1 delivered", func() bool { return len(pub.delivered()) >= len(want) })

	// Stop every relay but the last; if the leader was among them, the last takes over.
	for _, stop := range stops[:2] {
		stop()
	}
	es := newEvents("round2", 30)
	add(t, db, "b.v1", es...)
	notifyAll()
	want = append(want, es...)
	waitFor(t, "round 2 delivered", func() bool { return len(pub.delivered()) >= len(want) })
	stops[2]()

	if diff := cmp.Diff(ids(want), ids(pub.delivered())); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
}

// TestConcurrentFlushPublishesOnce flushes from several relays at once while events
// are being added: Flush waits for the lock, so each event goes out once, in order.
func TestConcurrentFlushPublishesOnce(t *testing.T) {
	db := storetest.Open(t, store.Postgres, storetest.Service)
	if err := db.Migrate(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	pub := &fakePublisher{}
	var want []event.Event
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	producing := make(chan struct{})
	for range 4 {
		r := outbox.NewRelay(db, pub, outbox.RelayConfig{Batch: 5})
		wg.Go(func() {
			for {
				// A flush that starts after producing closed sees every event.
				last := isClosed(producing)
				n, err := r.Flush(t.Context())
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				total += n
				mu.Unlock()
				if last {
					return
				}
			}
		})
	}
	for i := range 10 {
		es := newEvents(fmt.Sprintf("flush-%d", i), 10)
		add(t, db, "a.v1", es...)
		want = append(want, es...)
	}
	close(producing)
	wg.Wait()
	if n, err := outbox.NewRelay(db, pub, outbox.RelayConfig{}).Flush(t.Context()); err != nil || n != 0 {
		t.Errorf("final Flush = %d, %v; want 0, nil", n, err)
	}
	if total != len(want) {
		t.Errorf("Flush counts sum to %d, want %d", total, len(want))
	}
	if diff := cmp.Diff(ids(want), ids(pub.delivered())); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
}

func TestRelayMetrics(t *testing.T) {
	migrated(t, func(t *testing.T, db *store.DB) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })

		add(t, db, "a.v1", newEvents("e", 3)...)
		pub := &fakePublisher{failAll: true}
		r := outbox.NewRelay(db, pub, outbox.RelayConfig{Interval: 10 * time.Millisecond, Metrics: mp})
		stop := runRelay(t, r)
		waitFor(t, "a failed publish", func() bool { return len(pub.snapshot()) > 0 })
		if got := collect(t, reader)["attest.outbox.pending"]; got != 3 {
			t.Errorf("attest.outbox.pending = %d, want 3", got)
		}
		stop()

		pub.mu.Lock()
		pub.failAll = false
		pub.mu.Unlock()
		if _, err := r.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := collect(t, reader)["attest.outbox.published"]; got != 3 {
			t.Errorf("attest.outbox.published = %d, want 3", got)
		}
	})
}

// collect reads the relay's instruments: name → value (summed over attributes).
func collect(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out[m.Name] += p.Value
				}
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[m.Name] += p.Value
				}
			}
		}
	}
	return out
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
