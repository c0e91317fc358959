// Package outbox gives services at-least-once event publishing and exactly-once event
// application on top of package store.
//
// Producers call Add inside the transaction that changes their state, so an event is
// stored if and only if the change commits; a Relay, one per service, publishes the
// stored events in order and deletes them once the broker has them. Consumers call
// Processed inside the transaction that applies an event, so a redelivered event is
// recognised and skipped. The tables are store's base migrations.
package outbox

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/store"
)

// timeLayout stores event times losslessly and identically on both engines.
const timeLayout = time.RFC3339Nano

const insertEvent = `INSERT INTO outbox
	(topic, key, event_id, type, source, subject, time, recorded_at, data, traceparent)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// Add stores es for publication to topic, in the caller's transaction: they are
// published if and only if tx commits, in the order added. The Kafka key is each
// event's Subject. An event without a Traceparent gets the one of the span in ctx.
//
// Call Add after the state change's own writes: the row lock those writes take keeps
// two transactions on one entity from committing their events out of order.
// An empty topic or event ID is errs.Invalid; an event ID already in the outbox is
// errs.Conflict.
func Add(ctx context.Context, tx *store.Tx, topic string, es ...event.Event) error {
	if strings.TrimSpace(topic) == "" {
		return errs.E(errs.Invalid, "outbox: empty topic")
	}
	var traceparent *string // computed once, on first need
	for i, e := range es {
		if e.ID == "" {
			return errs.Field(errs.Invalid, "ID", "outbox: event %d (%s) for %s has no ID", i, e.Type, topic)
		}
		if e.Traceparent == "" {
			if traceparent == nil {
				tp := traceparentFrom(ctx)
				traceparent = &tp
			}
			e.Traceparent = *traceparent
		}
		_, err := tx.ExecContext(ctx, insertEvent,
			topic, e.Subject, e.ID, e.Type, e.Source, e.Subject,
			e.Time.UTC().Format(timeLayout), e.RecordedAt.UTC().Format(timeLayout),
			e.Data, e.Traceparent)
		if store.IsUniqueViolation(err) {
			return errs.Wrap(errs.Conflict, err, "outbox: event %s is already in the outbox", e.ID)
		}
		if err != nil {
			return fmt.Errorf("outbox: add event %s (%s) for %s: %w", e.ID, e.Type, topic, err)
		}
	}
	return nil
}

// traceparentFrom returns the W3C traceparent of the span in ctx, or "" without one.
// It uses the TraceContext propagator itself rather than the global one, which may be
// unset or carry other formats.
func traceparentFrom(ctx context.Context) string {
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return carrier.Get("traceparent")
}

// Processed records, in the caller's transaction, that consumer has applied the event
// eventID. first is false when it already had: the caller then returns nil without
// applying the event again. Rolling tx back forgets the record, so a failed
// application is retried. Empty arguments are errs.Invalid.
func Processed(ctx context.Context, tx *store.Tx, consumer, eventID string) (first bool, err error) {
	if consumer == "" || eventID == "" {
		return false, errs.E(errs.Invalid, "outbox: Processed needs a consumer and an event ID, got %q and %q", consumer, eventID)
	}
	res, err := tx.ExecContext(ctx,
		"INSERT INTO processed_events (consumer, event_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
		consumer, eventID)
	if err != nil {
		return false, fmt.Errorf("outbox: record event %s as processed by %s: %w", eventID, consumer, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("outbox: record event %s as processed by %s: %w", eventID, consumer, err)
	}
	return n == 1, nil
}

// Pending counts the events in db's outbox that are not yet published.
func Pending(ctx context.Context, db *store.DB) (int, error) {
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM outbox").Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox: count pending events: %w", err)
	}
	return n, nil
}

// Message is an event bound for a topic, for AddAll.
type Message struct {
	Topic string
	Event event.Event
}

// addAllSizes are the row counts of AddAll's multi-row INSERTs, largest first: a batch
// is cut into pieces of these sizes, so that only four statement texts exist, each
// parsed once per pooled connection (store.Tx.Prepare). A text of another size for every
// batch was parsed anew each time: 2–3% of the metrics pipeline's CPU. 64 rows of 10
// parameters stay far below both engines' limits on bound parameters.
var addAllSizes = [...]int{64, 16, 4, 1}

// piece is the largest of sizes (largest first, the last 1) that fits in left rows.
func piece(left int, sizes []int) int {
	for _, n := range sizes {
		if left >= n {
			return n
		}
	}
	return 1
}

// insertEvents is the INSERT of rows outbox rows.
func insertEvents(rows int) string {
	return `INSERT INTO outbox (topic, key, event_id, type, source, subject, time, recorded_at, data, traceparent) VALUES ` +
		strings.Repeat(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?), `, rows-1) + `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
}

// AddAll stores ms for publication, in order, in the caller's transaction, as Add does
// for each, but with multi-row INSERTs: what a producer that writes many facts in one
// transaction (a bulk import) uses, since one statement per event costs more than the
// event. An event ID already in the outbox is errs.Conflict, without naming which.
func AddAll(ctx context.Context, tx *store.Tx, ms []Message) error {
	traceparent := ""
	if len(ms) > 0 {
		traceparent = traceparentFrom(ctx)
	}
	for i, m := range ms {
		if strings.TrimSpace(m.Topic) == "" {
			return errs.E(errs.Invalid, "outbox: empty topic")
		}
		if m.Event.ID == "" {
			return errs.Field(errs.Invalid, "ID", "outbox: event %d (%s) for %s has no ID", i, m.Event.Type, m.Topic)
		}
	}
	for start := 0; start < len(ms); {
		size := piece(len(ms)-start, addAllSizes[:])
		chunk := ms[start : start+size]
		args := make([]any, 0, 10*len(chunk))
		for _, m := range chunk {
			e := m.Event
			if e.Traceparent == "" {
				e.Traceparent = traceparent
			}
			args = append(args, m.Topic, e.Subject, e.ID, e.Type, e.Source, e.Subject,
				e.Time.UTC().Format(timeLayout), e.RecordedAt.UTC().Format(timeLayout), e.Data, e.Traceparent)
		}
		st, err := tx.Prepare(ctx, insertEvents(size))
		if err == nil {
			_, err = st.ExecContext(ctx, args...)
		}
		if store.IsUniqueViolation(err) {
			return errs.Wrap(errs.Conflict, err, "outbox: an event of the batch is already in the outbox")
		}
		if err != nil {
			return fmt.Errorf("outbox: add %d events: %w", len(chunk), err)
		}
		start += size
	}
	return nil
}
