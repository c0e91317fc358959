package event_test

import (
	"context"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/event"
)

// TestGroupLag: a group that has not handled what was published is behind (or still
// forming); once its handler has run and the offsets are committed it has caught up.
func TestGroupLag(t *testing.T) {
	b := startBroker(t)
	cfg := event.Config{Brokers: b.Addrs()}
	const topic, group = "lag.v1", "lag.consumer"
	if err := event.EnsureTopics(t.Context(), cfg, 2, topic); err != nil {
		t.Fatal(err)
	}
	if lag, err := event.GroupLag(t.Context(), cfg); err != nil || !lag.CaughtUp() {
		t.Fatalf("no group yet: %+v, %v; want caught up", lag, err)
	}
	w := event.NewWriter(cfg)
	defer closeWriter(t, w)
	for i := range 3 {
		if err := w.Publish(t.Context(), topic, mustEvent(t, "test.thing.happened", "s"+string(rune('a'+i)), i)); err != nil {
			t.Fatal(err)
		}
	}
	release := make(chan struct{})
	handled := make(chan struct{}, 3)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- event.Consume(ctx, cfg, event.ConsumerConfig{Group: group, Topics: []string{topic}},
			event.HandlerFunc(func(ctx context.Context, _ event.Event) error {
				select {
				case <-release:
				case <-ctx.Done():
					return ctx.Err()
				}
				handled <- struct{}{}
				return nil
			}))
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Consume: %v", err)
		}
	}()
	// The consumer joins its group asynchronously; until it has, there is no group and
	// so nothing behind. With the handler blocked, it must then be seen behind.
	var lag event.Lag
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if lag, err = event.GroupLag(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
		if !lag.CaughtUp() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("handler blocked, lag %+v: want behind", lag)
		}
	}
	close(release)
	deadline := time.Now().Add(30 * time.Second)
	for {
		lag, err = event.GroupLag(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if lag.CaughtUp() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not caught up after the handler ran: %+v", lag)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(handled) != 3 {
		t.Errorf("caught up with %d of 3 events handled", len(handled))
	}
}
