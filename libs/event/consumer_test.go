package event_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/event"
	"github.com/segmentio/kafka-go"
)

// failingDLQ is a dead-letter target that is down.
type failingDLQ struct{}

func (failingDLQ) Publish(context.Context, string, ...event.Event) error {
	return errors.New("dlq down")
}
func (failingDLQ) WriteMessages(context.Context, string, ...kafka.Message) error {
	return errors.New("dlq down")
}

// TestConsumeLeavesUncommitted covers the two ways a message is left for
// redelivery: cancellation during a retry wait, and a failed dead-letter write.
func TestConsumeLeavesUncommitted(t *testing.T) {
	b := startBroker(t)
	cfg := event.Config{Brokers: b.Addrs()}
	tests := []struct {
		name    string
		cc      event.ConsumerConfig
		h       event.Handler
		cancel  bool   // cancel Consume after the first handler call
		wantErr string // "" when Consume must return nil
	}{
		{
			name: "cancelled while waiting to retry",
			// The backoff is far longer than the test: only cancellation ends it.
			cc:     event.ConsumerConfig{InitialBackoff: time.Hour, MaxBackoff: time.Hour},
			h:      event.HandlerFunc(func(context.Context, event.Event) error { return errors.New("transient") }),
			cancel: true,
		},
		{
			name:    "dead-letter write fails",
			cc:      event.ConsumerConfig{DLQ: failingDLQ{}},
			h:       event.HandlerFunc(func(context.Context, event.Event) error { return event.Permanent(errors.New("bad")) }),
			wantErr: "dlq down",
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			topic, group := "uncommitted.v1."+strconv.Itoa(i), "uncommitted.consumer."+strconv.Itoa(i)
			if err := event.EnsureTopics(t.Context(), cfg, 1, topic); err != nil {
				t.Fatalf("ensure topic: %v", err)
			}
			w := event.NewWriter(cfg)
			defer closeWriter(t, w)
			if err := w.Publish(t.Context(), topic, mustEvent(t, "test.thing.happened", "s", 1)); err != nil {
				t.Fatalf("publish: %v", err)
			}
			called := make(chan struct{}, 1)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			tc.cc.Group, tc.cc.Topics = group, []string{topic}
			done := make(chan error, 1)
			go func() {
				done <- event.Consume(ctx, cfg, tc.cc, event.HandlerFunc(func(ctx context.Context, e event.Event) error {
					select {
					case called <- struct{}{}:
					default:
					}
					return tc.h.Handle(ctx, e)
				}))
			}()
			select {
			case <-called:
			case <-time.After(30 * time.Second):
				t.Fatal("handler not called")
			}
			if tc.cancel {
				cancel()
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Consume did not return")
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Consume = %v, want error containing %q", err, tc.wantErr)
			}
			if off := committedOffset(t, cfg.Brokers, group, topic); off >= 0 {
				t.Errorf("committed offset = %d, want none", off)
			}
		})
	}
}

func committedOffset(t *testing.T, brokers []string, group, topic string) int64 {
	t.Helper()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Transport: tr}
	res, err := c.OffsetFetch(t.Context(), &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {0}}})
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	if ps := res.Topics[topic]; len(ps) > 0 {
		return ps[0].CommittedOffset
	}
	return -1
}
