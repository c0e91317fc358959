package event_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/broker"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/segmentio/kafka-go"
)

func TestEnsureTopics(t *testing.T) {
	b := startBroker(t)
	cfg := event.Config{Brokers: b.Addrs()}
	ctx := t.Context()
	if err := event.EnsureTopics(ctx, cfg, 4, "admin.a.v1", "admin.b.v1"); err != nil {
		t.Fatalf("create: %v", err)
	}
	// Existing topics are fine, whatever their partition count.
	if err := event.EnsureTopics(ctx, cfg, 2, "admin.a.v1", "admin.c.v1"); err != nil {
		t.Fatalf("create again: %v", err)
	}
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(b.Addrs()...), Transport: tr}
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{"admin.a.v1", "admin.b.v1", "admin.c.v1"}})
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	want := map[string]int{"admin.a.v1": 4, "admin.b.v1": 4, "admin.c.v1": 2}
	for _, tp := range md.Topics {
		if tp.Error != nil || len(tp.Partitions) != want[tp.Name] {
			t.Errorf("topic %s: %d partitions, error %v; want %d", tp.Name, len(tp.Partitions), tp.Error, want[tp.Name])
		}
		delete(want, tp.Name)
	}
	if len(want) > 0 {
		t.Errorf("topics missing: %v", want)
	}
}

// TestEnsureTopicsReplication: the replication factor is min(3, brokers).
func TestEnsureTopicsReplication(t *testing.T) {
	tests := []struct {
		name  string
		nodes int
		want  int
	}{
		{"one node", 1, 1},
		{"four nodes", 4, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", Nodes: tc.nodes})
			if err != nil {
				t.Fatalf("start broker: %v", err)
			}
			defer func() {
				if err := b.Close(); err != nil {
					t.Errorf("close broker: %v", err)
				}
			}()
			cfg := event.Config{Brokers: b.Addrs()[:1]} // the cluster size comes from metadata
			if err := event.EnsureTopics(t.Context(), cfg, 2, "replicated.v1"); err != nil {
				t.Fatalf("ensure: %v", err)
			}
			tr := &kafka.Transport{}
			defer tr.CloseIdleConnections()
			c := &kafka.Client{Addr: kafka.TCP(b.Addrs()...), Transport: tr}
			md, err := c.Metadata(t.Context(), &kafka.MetadataRequest{Topics: []string{"replicated.v1"}})
			if err != nil {
				t.Fatalf("metadata: %v", err)
			}
			for _, p := range md.Topics[0].Partitions {
				if len(p.Replicas) != tc.want {
					t.Errorf("partition %d has %d replicas, want %d", p.ID, len(p.Replicas), tc.want)
				}
			}
		})
	}
}

func TestPing(t *testing.T) {
	b := startBroker(t)
	// An address nothing listens on: a listener we close at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	dead := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("close listener: %v", err)
	}
	tests := []struct {
		name    string
		brokers []string
		wantErr bool
	}{
		{"reachable", b.Addrs(), false},
		{"nothing listening", []string{dead}, true},
		{"no brokers", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			err := event.Ping(ctx, event.Config{Brokers: tc.brokers})
			if (err != nil) != tc.wantErr {
				t.Errorf("Ping = %v, want error: %v", err, tc.wantErr)
			}
		})
	}
}

// notMessageWriter is a Publisher that cannot write raw messages.
type notMessageWriter struct{}

func (notMessageWriter) Publish(context.Context, string, ...event.Event) error { return nil }

func TestConsumeConfigErrors(t *testing.T) {
	ok := event.HandlerFunc(func(context.Context, event.Event) error { return nil })
	tests := []struct {
		name  string
		cfg   event.Config
		cc    event.ConsumerConfig
		h     event.Handler
		wants []string
	}{
		{"everything missing", event.Config{}, event.ConsumerConfig{}, nil,
			[]string{"no brokers", "no consumer group", "no topics", "nil handler"}},
		{"DLQ cannot write raw messages", event.Config{Brokers: []string{"127.0.0.1:1"}},
			event.ConsumerConfig{Group: "g", Topics: []string{"t"}, DLQ: notMessageWriter{}}, ok,
			[]string{"MessageWriter"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := event.Consume(t.Context(), tc.cfg, tc.cc, tc.h)
			if err == nil {
				t.Fatal("Consume succeeded")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestPublishRejectsIncompleteEvents(t *testing.T) {
	w := event.NewWriter(event.Config{Brokers: []string{"127.0.0.1:1"}}) // never dialled
	defer closeWriter(t, w)
	tests := []struct {
		name string
		e    event.Event
		want string
	}{
		{"no ID", event.Event{Type: "t", Source: "s"}, "ID"},
		{"no type", event.Event{ID: "i", Source: "s"}, "Type"},
		{"no source", event.Event{ID: "i", Type: "t"}, "Source"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := w.Publish(t.Context(), "topic", tc.e)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Publish = %v, want an error about %s", err, tc.want)
			}
		})
	}
	if err := w.Publish(t.Context(), "topic"); err != nil {
		t.Errorf("Publish of nothing = %v", err)
	}
	nobody := event.NewWriter(event.Config{})
	defer closeWriter(t, nobody)
	if err := nobody.Publish(t.Context(), "topic", event.Event{ID: "i", Type: "t", Source: "s"}); err == nil {
		t.Errorf("Publish without brokers succeeded")
	}
}
