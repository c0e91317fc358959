package event_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/event"
)

// batchRecorder applies batches all-or-nothing, like a handler that writes a batch in
// one database transaction.
type batchRecorder struct {
	mu       sync.Mutex
	applied  map[string]int      // event ID → times applied
	order    map[string][]string // key → event IDs in applied order
	batches  []int               // sizes of the batches applied whole
	poison   string              // an event ID that always fails
	panicked bool                // panic once on a batch, to prove recovery
}

func (r *batchRecorder) apply(es []event.Event) error {
	for _, e := range es {
		if e.ID == r.poison {
			return event.Permanent(errors.New("poison"))
		}
	}
	for _, e := range es {
		r.applied[e.ID]++
		r.order[e.Subject] = append(r.order[e.Subject], e.ID)
	}
	return nil
}

func (r *batchRecorder) Handle(_ context.Context, e event.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.apply([]event.Event{e})
}

func (r *batchRecorder) HandleBatch(_ context.Context, es []event.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.panicked && len(es) > 1 {
		r.panicked = true
		panic("batch handler bug")
	}
	if err := r.apply(es); err != nil {
		return err
	}
	r.batches = append(r.batches, len(es))
	return nil
}

func TestBatchHandler(t *testing.T) {
	b := startBroker(t)
	cfg := event.Config{Brokers: b.Addrs()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const topic, group = "batch-test.thing.v1", "batch-test.consumer"
	if err := event.EnsureTopics(ctx, cfg, 3, topic); err != nil {
		t.Fatal(err)
	}
	w := event.NewWriter(cfg)
	defer closeWriter(t, w)
	// A backlog before the consumer starts, so that batches form.
	const n = 600
	var es []event.Event
	for i := range n {
		es = append(es, mustEvent(t, "batch-test.thing.happened", fmt.Sprintf("k%d", i%7), i))
	}
	if err := w.Publish(ctx, topic, es...); err != nil {
		t.Fatal(err)
	}
	r := &batchRecorder{applied: map[string]int{}, order: map[string][]string{}, poison: es[321].ID}
	cctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- event.Consume(cctx, cfg, event.ConsumerConfig{Group: group, Topics: []string{topic}, MaxBatch: 100}, r)
	}()
	for {
		r.mu.Lock()
		got := len(r.applied)
		r.mu.Unlock()
		if got == n-1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("applied %d of %d", got, n-1)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		want := 1
		if e.ID == r.poison {
			want = 0
		}
		if r.applied[e.ID] != want {
			t.Errorf("event %s applied %d times, want %d", e.ID, r.applied[e.ID], want)
		}
	}
	// Per key, events were applied in publish order.
	for key, ids := range r.order {
		var want []string
		for _, e := range es {
			if e.Subject == key && e.ID != r.poison {
				want = append(want, e.ID)
			}
		}
		if fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Errorf("key %s applied out of order", key)
		}
	}
	big := 0
	for _, s := range r.batches {
		if s > 1 {
			big++
		}
		if s > 100 {
			t.Errorf("a batch of %d events, over MaxBatch", s)
		}
	}
	if big == 0 {
		t.Errorf("no batch of more than one event formed on a backlog: %v", r.batches)
	}
	dls, err := event.ReadDeadLetters(ctx, cfg, group)
	if err != nil || len(dls) != 1 || dls[0].EventID != r.poison {
		t.Fatalf("dead letters = %+v, %v; want exactly the poison event", dls, err)
	}
}
