package resource

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/store"
)

// Store runs every write of the service: one transaction each, the Idempotency-Key
// bookkeeping, and a wake-up of the outbox relay after a commit that published.
type Store struct {
	db     *store.DB
	source string           // the ce_source of every event
	notify func()           // wakes the outbox relay
	now    func() time.Time // the recording clock
}

// NewStore returns a Store over db publishing events from source. notify is called
// after every commit that wrote events; pass the relay's Notify.
func NewStore(db *store.DB, source string, notify func()) *Store {
	return &Store{db: db, source: source, notify: notify, now: time.Now}
}

// DB is the database the store writes.
func (s *Store) DB() *store.DB { return s.db }

// Tx is a write transaction: queries with ? placeholders, the time the write is
// recorded at, and Publish.
type Tx struct {
	*store.Tx
	// Now is when the write is recorded: the recorded time of every event it publishes
	// and the created/updated time of what it stores.
	Now time.Time

	st        *Store
	published int
	batch     *batch // set in a Batch's transaction
}

// Publish adds one event to the outbox in tx, keyed by subject, with clinical time at.
func (tx *Tx) Publish(ctx context.Context, topic, typ, subject string, at time.Time, payload any) error {
	ev, err := event.New(typ, tx.st.source, subject, at, tx.Now, payload)
	if err != nil {
		return err
	}
	if err := tx.publish(ctx, topic, ev); err != nil {
		return err
	}
	tx.published++
	return nil
}

// Reply is the answer to a write or a read: an HTTP status and a JSON body (nil for
// 204). A replayed Idempotency-Key answers the stored Reply byte for byte.
type Reply struct {
	Status int
	Body   []byte
}

// StatusCode is the HTTP status to answer with.
func (r Reply) StatusCode() int { return r.Status }

// MarshalJSON returns the body as it is.
func (r Reply) MarshalJSON() ([]byte, error) {
	if len(r.Body) == 0 {
		return []byte("null"), nil
	}
	return r.Body, nil
}

// JSON builds a Reply with v as its body.
func JSON(status int, v any) (Reply, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Reply{}, fmt.Errorf("encode reply: %w", err)
	}
	return Reply{Status: status, Body: b}, nil
}

// Created is 201 with v for a new resource, 200 with v for an idempotent retry.
func Created(created bool, v any) (Reply, error) {
	if created {
		return JSON(http.StatusCreated, v)
	}
	return JSON(http.StatusOK, v)
}

// noContent is the Reply of a deletion.
var noContent = Reply{Status: http.StatusNoContent}

// Write runs fn in one transaction and answers what it returns. With an
// Idempotency-Key in ctx (see Idempotent): a key already used with the same request
// answers the stored reply without running fn; with another request it is a Conflict;
// a new key is stored with fn's reply in fn's transaction, so the reply and the
// events it stands for commit together. A failed fn stores nothing, so a retry runs
// it again.
func (s *Store) Write(ctx context.Context, fn func(tx *Tx) (Reply, error)) (Reply, error) {
	idem, keyed := idempotencyFrom(ctx)
	var (
		reply     Reply
		published bool
	)
	err := s.db.InTx(ctx, func(stx *store.Tx) error {
		if keyed {
			stored, found, err := loadKey(ctx, stx, idem.key)
			if err != nil {
				return err
			}
			if found {
				reply, err = stored.answer(idem)
				return err
			}
		}
		// Microseconds: what PostgreSQL keeps, so what a write answers is what a read returns.
		tx := &Tx{Tx: stx, Now: s.now().UTC().Truncate(time.Microsecond), st: s}
		r, err := fn(tx)
		if err != nil {
			return err
		}
		if keyed {
			if err := saveKey(ctx, stx, idem, r, tx.Now); err != nil {
				return err
			}
		}
		reply, published = r, tx.published > 0
		return nil
	})
	if err != nil && keyed && errs.FieldOf(err) != idempotencyHeader {
		// A concurrent request with the same key may have committed first; answer as it did.
		if stored, found, lerr := loadKey(ctx, s.db, idem.key); lerr == nil && found {
			return stored.answer(idem)
		}
	}
	if err != nil {
		return Reply{}, err
	}
	if published {
		s.notify()
	}
	return reply, nil
}

// Querier runs reads: the *store.DB outside a transaction (reads then run in
// parallel, even on SQLite), or a Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
