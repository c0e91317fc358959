package outbox_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/trace"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
)

// migrated is storetest.Each with store's base tables in place.
func migrated(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if err := db.Migrate(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		fn(t, db)
	})
}

func TestAddCommittedIsRelayedInOrder(t *testing.T) {
	migrated(t, func(t *testing.T, db *store.DB) {
		es := newEvents("e", 6)
		es[5].Data = nil // no payload survives as none
		add(t, db, "a.v1", es[0], es[1])
		add(t, db, "b.v1", es[2])
		add(t, db, "a.v1", es[3])
		add(t, db, "b.v1", es[4], es[5])
		if n := pending(t, db); n != 6 {
			t.Fatalf("Pending = %d, want 6", n)
		}

		pub := &fakePublisher{}
		r := outbox.NewRelay(db, pub, outbox.RelayConfig{Batch: 2})
		n, err := r.Flush(t.Context())
		if err != nil || n != 6 {
			t.Fatalf("Flush = %d, %v; want 6, nil", n, err)
		}
		if diff := cmp.Diff(es, pub.delivered()); diff != "" {
			t.Errorf("delivered events (-want +got):\n%s", diff)
		}
		// Consecutive events of a topic share a call, within a batch of 2 rows.
		var got []string
		for _, c := range pub.snapshot() {
			got = append(got, c.topic+":"+c.events[0].ID+".."+c.events[len(c.events)-1].ID)
		}
		want := []string{"a.v1:e-0000..e-0001", "b.v1:e-0002..e-0002", "a.v1:e-0003..e-0003", "b.v1:e-0004..e-0005"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Publish calls (-want +got):\n%s", diff)
		}
		if n := pending(t, db); n != 0 {
			t.Errorf("Pending after Flush = %d, want 0", n)
		}
		if n, err := r.Flush(t.Context()); n != 0 || err != nil {
			t.Errorf("second Flush = %d, %v; want 0, nil", n, err)
		}
	})
}

func TestAddRolledBackIsNeverPublished(t *testing.T) {
	migrated(t, func(t *testing.T, db *store.DB) {
		errAbort := errors.New("abort")
		err := db.InTx(t.Context(), func(tx *store.Tx) error {
			if err := outbox.Add(t.Context(), tx, "a.v1", newEvents("e", 3)...); err != nil {
				return err
			}
			return errAbort
		})
		if !errors.Is(err, errAbort) {
			t.Fatalf("InTx = %v, want %v", err, errAbort)
		}
		pub := &fakePublisher{}
		if n, err := outbox.NewRelay(db, pub, outbox.RelayConfig{}).Flush(t.Context()); n != 0 || err != nil {
			t.Errorf("Flush = %d, %v; want 0, nil", n, err)
		}
		if calls := pub.snapshot(); len(calls) != 0 {
			t.Errorf("published %d calls, want none", len(calls))
		}
	})
}

func TestAddTraceparent(t *testing.T) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	const fromSpan = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	const explicit = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	tests := []struct {
		name     string
		ctx      func(context.Context) context.Context
		given    string
		wantLink string
	}{
		{"filled from the span in ctx", func(ctx context.Context) context.Context { return trace.ContextWithSpanContext(ctx, sc) }, "", fromSpan},
		{"kept when set", func(ctx context.Context) context.Context { return trace.ContextWithSpanContext(ctx, sc) }, explicit, explicit},
		{"empty without a span", func(ctx context.Context) context.Context { return ctx }, "", ""},
	}
	migrated(t, func(t *testing.T, db *store.DB) {
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newEvents("trace"+string(rune('a'+i)), 1)[0]
				e.Traceparent = tt.given
				ctx := tt.ctx(t.Context())
				err := db.InTx(ctx, func(tx *store.Tx) error { return outbox.Add(ctx, tx, "a.v1", e) })
				if err != nil {
					t.Fatal(err)
				}
				pub := &fakePublisher{}
				if _, err := outbox.NewRelay(db, pub, outbox.RelayConfig{}).Flush(t.Context()); err != nil {
					t.Fatal(err)
				}
				got := pub.delivered()
				if len(got) != 1 || got[0].Traceparent != tt.wantLink {
					t.Errorf("published %+v, want one event with traceparent %q", got, tt.wantLink)
				}
			})
		}
	})
}

func TestAddRejects(t *testing.T) {
	tests := []struct {
		name     string
		topic    string
		events   func(dup event.Event) []event.Event
		wantKind errs.Kind
	}{
		{"empty topic", " ", func(event.Event) []event.Event { return newEvents("x", 1) }, errs.Invalid},
		{"event without ID", "a.v1", func(event.Event) []event.Event { return []event.Event{{Type: "t"}} }, errs.Invalid},
		{"event ID already added", "a.v1", func(dup event.Event) []event.Event { return []event.Event{dup} }, errs.Conflict},
	}
	migrated(t, func(t *testing.T, db *store.DB) {
		dup := newEvents("dup", 1)[0]
		add(t, db, "a.v1", dup)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := db.InTx(t.Context(), func(tx *store.Tx) error {
					return outbox.Add(t.Context(), tx, tt.topic, tt.events(dup)...)
				})
				if errs.KindOf(err) != tt.wantKind {
					t.Errorf("Add error = %v (kind %v), want kind %v", err, errs.KindOf(err), tt.wantKind)
				}
			})
		}
		if n := pending(t, db); n != 1 {
			t.Errorf("Pending = %d, want 1", n)
		}
	})
}

func TestProcessed(t *testing.T) {
	errAbort := errors.New("abort")
	steps := []struct {
		name      string
		consumer  string
		eventID   string
		rollback  bool
		wantFirst bool
		wantKind  errs.Kind // errs.Other: no error
	}{
		{"first time", "c1", "e1", false, true, errs.Other},
		{"again", "c1", "e1", false, false, errs.Other},
		{"another consumer", "c2", "e1", false, true, errs.Other},
		{"rolled back", "c1", "e2", true, true, errs.Other},
		{"after rollback it is still new", "c1", "e2", false, true, errs.Other},
		{"and then it is not", "c1", "e2", false, false, errs.Other},
		{"empty consumer", "", "e3", false, false, errs.Invalid},
		{"empty event ID", "c1", "", false, false, errs.Invalid},
	}
	migrated(t, func(t *testing.T, db *store.DB) {
		for _, st := range steps { // in order: each step sees the previous ones
			t.Run(st.name, func(t *testing.T) {
				var first bool
				err := db.InTx(t.Context(), func(tx *store.Tx) error {
					var err error
					if first, err = outbox.Processed(t.Context(), tx, st.consumer, st.eventID); err != nil {
						return err
					}
					if st.rollback {
						return errAbort
					}
					return nil
				})
				if st.wantKind != errs.Other {
					if errs.KindOf(err) != st.wantKind {
						t.Fatalf("error = %v, want kind %v", err, st.wantKind)
					}
					return
				}
				if err != nil && !(st.rollback && errors.Is(err, errAbort)) {
					t.Fatal(err)
				}
				if first != st.wantFirst {
					t.Errorf("first = %v, want %v", first, st.wantFirst)
				}
			})
		}
	})
}

// ids lists event IDs, for compact diffs.
func ids(es []event.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}
