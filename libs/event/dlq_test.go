package event_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/attest-ehr/attest/libs/event"
)

// TestDeadLettersCanBeReadAndRedriven: a poison event is parked with its reason; after
// the cause is fixed, redriving it gets it handled, and nothing else is touched.
func TestDeadLettersCanBeReadAndRedriven(t *testing.T) {
	b := startBroker(t)
	cfg := event.Config{Brokers: b.Addrs()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const topic, group = "dlq-test.thing.v1", "dlq-test.consumer"
	if err := event.EnsureTopics(ctx, cfg, 2, topic); err != nil {
		t.Fatal(err)
	}
	if dls, err := event.ReadDeadLetters(ctx, cfg, group); err != nil || len(dls) != 0 {
		t.Fatalf("before anything failed: %v, %v", dls, err)
	}

	w := event.NewWriter(cfg)
	defer closeWriter(t, w)
	good, poison := mustEvent(t, "dlq-test.thing.happened", "p1", 1), mustEvent(t, "dlq-test.thing.happened", "p2", 2)
	if err := w.Publish(ctx, topic, good, poison); err != nil {
		t.Fatal(err)
	}
	// A raw message that is no event at all.
	if err := w.WriteMessages(ctx, topic, kafka.Message{Key: []byte("p3"), Value: []byte("garbage")}); err != nil {
		t.Fatal(err)
	}

	var (
		mu      sync.Mutex
		handled = map[string]int{}
		fixed   bool
	)
	h := event.HandlerFunc(func(_ context.Context, e event.Event) error {
		mu.Lock()
		defer mu.Unlock()
		if e.ID == poison.ID && !fixed {
			return event.Permanent(errors.New("payload refers to an unknown code system"))
		}
		handled[e.ID]++
		return nil
	})
	count := func(id string) int { mu.Lock(); defer mu.Unlock(); return handled[id] }
	cctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- event.Consume(cctx, cfg, event.ConsumerConfig{Group: group, Topics: []string{topic}}, h)
	}()
	defer func() { stop(); <-done }()

	var dls []event.DeadLetter
	for len(dls) < 2 {
		if ctx.Err() != nil {
			t.Fatalf("dead letters never arrived: %v", dls)
		}
		time.Sleep(50 * time.Millisecond)
		var err error
		if dls, err = event.ReadDeadLetters(ctx, cfg, group); err != nil {
			t.Fatal(err)
		}
	}
	byID := map[string]event.DeadLetter{}
	for _, dl := range dls {
		byID[dl.EventID] = dl
		if dl.Topic != topic || dl.Consumer != group || dl.Reason == "" {
			t.Errorf("dead letter lacks its provenance: %+v", dl)
		}
	}
	if dl, ok := byID[poison.ID]; !ok || dl.Reason != "payload refers to an unknown code system" || dl.Type != poison.Type {
		t.Fatalf("poison event's dead letter = %+v", dl)
	}
	if count(good.ID) != 1 {
		t.Fatalf("the good event was handled %d times", count(good.ID))
	}

	mu.Lock()
	fixed = true
	mu.Unlock()
	if err := event.Redrive(ctx, w, []event.DeadLetter{byID[poison.ID]}); err != nil {
		t.Fatal(err)
	}
	for count(poison.ID) != 1 {
		if ctx.Err() != nil {
			t.Fatal("the redriven event was never handled")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := event.Redrive(ctx, w, []event.DeadLetter{{Partition: 0, Offset: 9}}); err == nil {
		t.Error("a dead letter without its source topic was redriven somewhere")
	}
}
