package event_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/attest-ehr/attest/libs/event"
)

// TestReadTopicsReadsEveryEventInKeyOrder: ReadTopics hands over every event the
// topics hold when it is called, in batches, each key's events in the order published,
// skips what is not an event, and stops at the first error of its callback.
func TestReadTopicsReadsEveryEventInKeyOrder(t *testing.T) {
	b := startBroker(t)
	cfg := event.Config{Brokers: b.Addrs()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topics := []string{"read-test.a.v1", "read-test.b.v1", "read-test.empty.v1"}
	if err := event.EnsureTopics(ctx, cfg, 3, topics...); err != nil {
		t.Fatal(err)
	}
	w := event.NewWriter(cfg)
	defer closeWriter(t, w)
	var published []string
	for i := range 20 {
		e := mustEvent(t, "read-test.a.happened", []string{"k1", "k2", "k3"}[i%3], i)
		topic := topics[i%2]
		if err := w.Publish(ctx, topic, e); err != nil {
			t.Fatal(err)
		}
		published = append(published, topic+" "+e.Subject+" "+e.ID)
	}
	if err := w.WriteMessages(ctx, topics[0], kafka.Message{Key: []byte("k1"), Value: []byte("not an event")}); err != nil {
		t.Fatal(err)
	}

	var got []string
	batches := 0
	st, err := event.ReadTopics(ctx, cfg, topics, 4, func(es []event.Event) error {
		if len(es) == 0 || len(es) > 4 {
			t.Errorf("batch of %d", len(es))
		}
		batches++
		for _, e := range es {
			got = append(got, e.Topic+" "+e.Subject+" "+e.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 20 || st.Skipped != 1 || batches != 5 {
		t.Errorf("stats %+v in %d batches, want 20 events, 1 skipped, 5 batches", st, batches)
	}
	// The same events, and per topic and key in publication order.
	byKey := func(list []string) map[string][]string {
		m := map[string][]string{}
		for _, s := range list {
			f := s[:len(s)-37] // topic and key
			m[f] = append(m[f], s)
		}
		return m
	}
	want, have := byKey(published), byKey(got)
	for k, v := range want {
		if !slices.Equal(have[k], v) {
			t.Errorf("%s: read %q, published %q", k, have[k], v)
		}
	}
	if len(got) != len(published) {
		t.Errorf("read %d events, published %d", len(got), len(published))
	}

	stop := errors.New("stop")
	calls := 0
	if _, err := event.ReadTopics(ctx, cfg, topics, 1, func([]event.Event) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("a failing callback: %v after %d calls, want its error after 1", err, calls)
	}
}
