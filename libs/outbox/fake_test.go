package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/store"
)

// call is one Publish call the fake saw.
type call struct {
	topic  string
	events []event.Event
	err    error // what the fake returned
}

// fakePublisher is an in-memory event.Publisher that records every call and can be
// told to fail.
type fakePublisher struct {
	mu       sync.Mutex
	calls    []call
	failNext int                                  // fail this many more calls
	failAll  bool                                 // fail every call
	before   func(topic string, es []event.Event) // runs inside Publish, before it answers
}

var errBroker = errors.New("broker unavailable")

func (f *fakePublisher) Publish(_ context.Context, topic string, es ...event.Event) error {
	f.mu.Lock()
	before := f.before
	f.mu.Unlock()
	if before != nil {
		before(topic, es)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var err error
	if f.failAll || f.failNext > 0 {
		f.failNext--
		err = errBroker
	}
	f.calls = append(f.calls, call{topic: topic, events: append([]event.Event(nil), es...), err: err})
	return err
}

// delivered returns the events of successful calls, in order.
func (f *fakePublisher) delivered() []event.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	var es []event.Event
	for _, c := range f.calls {
		if c.err == nil {
			es = append(es, c.events...)
		}
	}
	return es
}

func (f *fakePublisher) snapshot() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// newEvents makes n events with distinct IDs over a few subjects; times carry
// nanoseconds to check they survive the outbox.
func newEvents(prefix string, n int) []event.Event {
	base := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	es := make([]event.Event, n)
	for i := range es {
		data, _ := json.Marshal(map[string]int{"seq": i})
		es[i] = event.Event{
			ID:          fmt.Sprintf("%s-%04d", prefix, i),
			Type:        "test.thing.happened",
			Source:      "test",
			Subject:     fmt.Sprintf("subject-%d", i%3),
			Time:        base.Add(time.Duration(i) * time.Second),
			RecordedAt:  base.Add(time.Duration(i)*time.Second + time.Nanosecond),
			Data:        data,
			Traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		}
	}
	return es
}

// add commits es to topic in one transaction.
func add(t testing.TB, db *store.DB, topic string, es ...event.Event) {
	t.Helper()
	err := db.InTx(t.Context(), func(tx *store.Tx) error { return outbox.Add(t.Context(), tx, topic, es...) })
	if err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds; the deadline only guards against a hang.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pending returns the outbox size, failing the test on error.
func pending(t testing.TB, db *store.DB) int {
	t.Helper()
	n, err := outbox.Pending(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
