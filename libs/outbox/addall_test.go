package outbox_test

import (
	"testing"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/store"
)

// TestAddAll stores more events than one INSERT holds, over two topics, and checks the
// relay publishes every one, in order, with its fields intact.
func TestAddAll(t *testing.T) {
	migrated(t, func(t *testing.T, db *store.DB) {
		es := newEvents("all", 450)
		ms := make([]outbox.Message, len(es))
		for i, e := range es {
			ms[i] = outbox.Message{Topic: []string{"a.v1", "b.v1"}[i%2], Event: e}
		}
		if err := db.InTx(t.Context(), func(tx *store.Tx) error { return outbox.AddAll(t.Context(), tx, ms) }); err != nil {
			t.Fatal(err)
		}
		pub := &fakePublisher{}
		if n, err := outbox.NewRelay(db, pub, outbox.RelayConfig{}).Flush(t.Context()); err != nil || n != len(es) {
			t.Fatalf("Flush = %d, %v; want %d", n, err, len(es))
		}
		byTopic := map[string][]event.Event{}
		for _, c := range pub.snapshot() {
			byTopic[c.topic] = append(byTopic[c.topic], c.events...)
		}
		for topic, want := range map[string]int{"a.v1": 225, "b.v1": 225} {
			got := byTopic[topic]
			if len(got) != want {
				t.Fatalf("%s: %d events, want %d", topic, len(got), want)
			}
			for j := 1; j < len(got); j++ {
				if got[j-1].ID >= got[j].ID {
					t.Fatalf("%s: %s published before %s", topic, got[j-1].ID, got[j].ID)
				}
			}
		}
		first := byTopic["a.v1"][0]
		if !first.Time.Equal(es[0].Time) || !first.RecordedAt.Equal(es[0].RecordedAt) || string(first.Data) != string(es[0].Data) ||
			first.Traceparent != es[0].Traceparent || first.Subject != es[0].Subject {
			t.Errorf("published %+v, want %+v", first, es[0])
		}
	})
}

func TestAddAllRejects(t *testing.T) {
	migrated(t, func(t *testing.T, db *store.DB) {
		dup := newEvents("dup", 1)[0]
		add(t, db, "a.v1", dup)
		tests := []struct {
			name string
			ms   []outbox.Message
			want errs.Kind
		}{
			{"empty topic", []outbox.Message{{Topic: " ", Event: newEvents("x", 1)[0]}}, errs.Invalid},
			{"event without ID", []outbox.Message{{Topic: "a.v1", Event: event.Event{Type: "t"}}}, errs.Invalid},
			{"event ID already added", []outbox.Message{{Topic: "a.v1", Event: newEvents("y", 1)[0]}, {Topic: "a.v1", Event: dup}}, errs.Conflict},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := db.InTx(t.Context(), func(tx *store.Tx) error { return outbox.AddAll(t.Context(), tx, tt.ms) })
				if errs.KindOf(err) != tt.want {
					t.Errorf("AddAll error = %v (kind %v), want kind %v", err, errs.KindOf(err), tt.want)
				}
			})
		}
		if n := pending(t, db); n != 1 {
			t.Errorf("Pending = %d, want 1: a refused batch writes nothing", n)
		}
	})
}
