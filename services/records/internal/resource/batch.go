package resource

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/store"
)

// Write is one new resource awaiting a transaction, its kind erased: a line of a bulk
// import, an entry of a Bundle. Kind.Write makes one; other packages may wrap their
// own (a FHIR resource stored through its mapping). Store.Batch stores many.
type Write interface {
	// Kind is the kind's Path, e.g. "encounters".
	Kind() string
	// ID is the client-chosen ID, "" for one the server chooses.
	ID() string
	// Validate checks the resource as submitted, naming the first field at fault. It
	// reads no stored state, so callers may run it in parallel, before the transaction.
	Validate() error
	// Create stores the resource in tx with its Recorded event, as Kind.Insert does
	// (created is false for an idempotent repeat), and returns its ID.
	Create(ctx context.Context, tx *Tx) (id string, created bool, err error)
}

// Ahead is a Write whose table and natural key Batch may look up before the writes, in
// one query per table, rather than one per write. Kind.Write's writes are.
type Ahead interface {
	Table() string // the kind's table
	Key() string   // the natural key, "" for none
}

// AheadAlso is an Ahead whose ID must also be free in other tables (a FHIR resource's
// ID, in the tables of the other kinds of its type): Batch looks it up there too,
// in the same queries, so that the check costs no query per write.
type AheadAlso interface {
	AlsoTables() []string
}

// AheadRefs is a Write whose resource refers to stored resources by ID (Def.Refs):
// Batch looks them up with its other look-ups ahead.
type AheadRefs interface {
	Refs(ref func(table, id string))
}

// Write wraps v as a Write of this kind.
func (k *Kind[T, P]) Write(v T) Write { return &write[T, P]{k: k, v: v} }

// DecodeWrite decodes raw, one resource of this kind as JSON, strictly (as the JSON API
// decodes a request body), into a Write.
func (k *Kind[T, P]) DecodeWrite(raw []byte) (Write, error) {
	var v T
	if err := DecodeStrict(raw, &v); err != nil {
		return nil, err
	}
	return k.Write(v), nil
}

// DecodeWriteChecked is DecodeWrite for raw that jsonpass.Check accepted with
// httpapi.MaxJSONDepth (valid JSON, one value, no key repeated even ignoring case,
// not too deep) and that is within httpapi.DefaultBodyLimit: what DecodeWrite's token
// scan would find is known, so only the decode is left. ok is false when the decode
// fails (an unknown field, a wrong type): DecodeWrite then says why.
func (k *Kind[T, P]) DecodeWriteChecked(raw []byte) (w Write, ok bool) {
	var v T
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	return k.Write(v), true
}

// KeyOf is the natural key of v, a *T of this kind ("" for none): for an Ahead of a
// value held as any.
func (k *Kind[T, P]) KeyOf(v any) string {
	t, ok := v.(*T)
	if !ok || t == nil {
		return ""
	}
	return k.key(t)
}

// RefsOf calls ref with the references of v, a *T of this kind (Def.Refs): for an
// AheadRefs of a value held as any.
func (k *Kind[T, P]) RefsOf(v any, ref func(table, id string)) {
	if t, ok := v.(*T); ok && t != nil && k.Def.Refs != nil {
		k.Def.Refs(t, ref)
	}
}

type write[T any, P Ptr[T]] struct {
	k         *Kind[T, P]
	v         T
	validated bool
}

func (w *write[T, P]) Kind() string  { return w.k.Path }
func (w *write[T, P]) ID() string    { return P(&w.v).meta().ID }
func (w *write[T, P]) Table() string { return w.k.Table }
func (w *write[T, P]) Key() string   { return w.k.key(&w.v) }

func (w *write[T, P]) Refs(ref func(table, id string)) {
	if w.k.Def.Refs != nil {
		w.k.Def.Refs(&w.v, ref)
	}
}

func (w *write[T, P]) Validate() error {
	err := w.k.validate(&w.v)
	w.validated = err == nil
	return err
}

func (w *write[T, P]) Create(ctx context.Context, tx *Tx) (string, bool, error) {
	v := w.v // a retry of the batch starts from the resource as submitted
	created, err := w.k.insertChecked(ctx, tx, &v, w.validated)
	return P(&v).meta().ID, created, err
}

// Outcome is what became of one Write of a Batch.
type Outcome struct {
	ID      string // the stored resource's ID
	Created bool   // false for an idempotent repeat (same ID, same content): no event
	// Err is why the write was refused (an errs kind naming the field); it wrote
	// nothing and published nothing.
	Err error
}

// Batch creates ws in one transaction, each as Create would — validated, checked
// against stored state (and against the writes before it), stored with exactly one
// Recorded event, or refused — and answers one Outcome per write, in order. A refused
// write does not stop the others. after, if not nil, runs in the same transaction once
// the writes are done, with their outcomes: a bulk import records its progress there,
// so progress and resources commit together.
//
// It is Create made fast for many resources: the IDs, natural keys and references
// (Def.Refs) of ws are looked up in one query per table, references found once are not
// looked up again, and rows
// and events are written with multi-row INSERTs. A database failure (not a refusal)
// fails the whole batch: nothing is written, and the caller may retry the writes one
// per batch to find the one at fault.
func (s *Store) Batch(ctx context.Context, ws []Write, after func(tx *Tx, outs []Outcome) error) ([]Outcome, error) {
	outs := make([]Outcome, len(ws))
	published := false
	err := s.db.InTx(ctx, func(stx *store.Tx) error {
		tx := &Tx{Tx: stx, Now: s.now().UTC().Truncate(time.Microsecond), st: s, batch: newBatch()}
		if err := tx.batch.prefetch(ctx, stx, ws); err != nil {
			return err
		}
		for i, w := range ws {
			id, created, err := w.Create(ctx, tx)
			if tx.batch.err != nil {
				return tx.batch.err
			}
			switch {
			case err == nil:
				outs[i] = Outcome{ID: id, Created: created}
			case errs.KindOf(err) == errs.Other:
				return err
			default:
				outs[i] = Outcome{ID: w.ID(), Err: err}
			}
		}
		if err := tx.flush(ctx); err != nil {
			return err
		}
		if after != nil {
			if err := after(tx, outs); err != nil {
				return err
			}
		}
		published = tx.published > 0
		return tx.flush(ctx)
	})
	if err != nil {
		return nil, err
	}
	if published {
		s.notify()
	}
	return outs, nil
}

// batch is the state of a Batch's transaction.
type batch struct {
	// known maps a table's ID to the subject of a row known to exist in the
	// transaction: looked up, prefetched or inserted by it.
	known map[tableKey]string
	// keys maps a table's natural key to the ID holding it ("" when it was looked up
	// and is free), for every key of the batch.
	keys map[tableKey]string
	// looked holds the tables' IDs looked up ahead: one not in known is not stored.
	looked map[tableKey]bool
	// loaded keeps the resources loaded through the transaction (by the same key as
	// known): a batch only creates, so they cannot change under it.
	loaded map[tableKey]any

	rows    []row           // rows not yet written, in order
	pending map[string]bool // the tables of rows
	events  []outbox.Message
	err     error // a failed flush, reported by Batch
}

type row struct {
	table string
	args  [8]any
}

func newBatch() *batch {
	return &batch{known: map[tableKey]string{}, keys: map[tableKey]string{}, looked: map[tableKey]bool{},
		loaded: map[tableKey]any{}, pending: map[string]bool{}}
}

// tableKey is an ID or natural key of a table: a map key that costs no allocation
// (a concatenated string did, for every look-up of a batch).
type tableKey struct{ table, key string }

func cacheKey(table, id string) tableKey { return tableKey{table, id} }

// prefetch looks up, one query per table and chunk, which of ws's IDs and natural
// keys are already stored.
func (b *batch) prefetch(ctx context.Context, tx *store.Tx, ws []Write) error {
	ids, keys := map[string][]string{}, map[string][]string{}
	lookUp := func(table, id string) {
		if id != "" && !b.looked[cacheKey(table, id)] {
			ids[table] = append(ids[table], id)
			b.looked[cacheKey(table, id)] = true
		}
	}
	for _, w := range ws {
		if r, ok := w.(AheadRefs); ok {
			// A reference to a resource the batch creates is looked up too (not
			// stored yet); its insert then records it as known, as for any ID.
			r.Refs(lookUp)
		}
		a, ok := w.(Ahead)
		if !ok {
			continue
		}
		table := a.Table()
		lookUp(table, w.ID())
		if also, ok := w.(AheadAlso); ok && w.ID() != "" {
			for _, t := range also.AlsoTables() {
				lookUp(t, w.ID())
			}
		}
		if k := a.Key(); k != "" {
			if _, ok := b.keys[cacheKey(table, k)]; !ok {
				keys[table] = append(keys[table], k)
				b.keys[cacheKey(table, k)] = ""
			}
		}
	}
	for table, list := range ids {
		err := inChunks(ctx, tx, `SELECT id, subject FROM `+table+` WHERE id IN `, list, func(id, subject string) {
			b.known[cacheKey(table, id)] = subject
		})
		if err != nil {
			return fmt.Errorf("look up %s: %w", table, err)
		}
	}
	for table, list := range keys {
		err := inChunks(ctx, tx, `SELECT unique_key, id FROM `+table+` WHERE unique_key IN `, list, func(key, id string) {
			b.keys[cacheKey(table, key)] = id
		})
		if err != nil {
			return fmt.Errorf("look up %s keys: %w", table, err)
		}
	}
	return nil
}

// inChunks runs query + "(?, ?, …)" over values, 500 at a time, calling fn per row
// of two text columns.
func inChunks(ctx context.Context, tx *store.Tx, query string, values []string, fn func(a, b string)) error {
	const chunk = 500
	for start := 0; start < len(values); start += chunk {
		part := values[start:min(start+chunk, len(values))]
		args := make([]any, len(part))
		for i, v := range part {
			args[i] = v
		}
		rows, err := tx.QueryContext(ctx, query+"("+strings.TrimSuffix(strings.Repeat("?, ", len(part)), ", ")+")", args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var a, b string
			if err := rows.Scan(&a, &b); err != nil {
				rows.Close()
				return err
			}
			fn(a, b)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// keyFree is Kind.keyFree within a batch: the prefetched keys and those the batch
// took answer without a query.
func (b *batch) keyFree(table, key, id string, otherwise func() error) (bool, error) {
	holder, ok := b.keys[cacheKey(table, key)]
	if !ok {
		if err := otherwise(); err != nil {
			return false, err
		}
		return true, nil
	}
	return holder == "" || holder == id, nil
}

// insertRow buffers a new row of table.
func (b *batch) insertRow(table string, args [8]any) {
	b.rows = append(b.rows, row{table: table, args: args})
	b.pending[table] = true
}

// rowsPerInsert bounds a multi-row INSERT: 8 parameters a row.
const rowsPerInsert = 200

// flush writes the buffered rows, a multi-row INSERT per run of one table (so that a
// row is written after the rows it refers to), then the buffered events.
func (tx *Tx) flush(ctx context.Context) error {
	b := tx.batch
	if b == nil || b.err != nil {
		return b.errOrNil()
	}
	for start := 0; start < len(b.rows); {
		end := start + 1
		for end < len(b.rows) && end-start < rowsPerInsert && b.rows[end].table == b.rows[start].table {
			end++
		}
		run := b.rows[start:end]
		var q strings.Builder
		q.WriteString(`INSERT INTO ` + run[0].table + ` (id, subject, at, unique_key, body, version, created, updated) VALUES `)
		args := make([]any, 0, 8*len(run))
		for i, r := range run {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, r.args[:]...)
		}
		if _, err := tx.Tx.ExecContext(ctx, q.String(), args...); err != nil {
			b.err = fmt.Errorf("insert %d rows into %s: %w", len(run), run[0].table, err)
			return b.err
		}
		start = end
	}
	b.rows = b.rows[:0]
	clear(b.pending)
	if len(b.events) > 0 {
		// Grouped by topic, each topic's events in the order they were written: the
		// relay publishes a run of one topic's events in one request, and Kafka orders
		// events within a topic partition only, so no order a consumer can see changes.
		slices.SortStableFunc(b.events, func(x, y outbox.Message) int { return strings.Compare(x.Topic, y.Topic) })
		if err := outbox.AddAll(ctx, tx.Tx, b.events); err != nil {
			b.err = err
			return err
		}
		b.events = b.events[:0]
	}
	return nil
}

func (b *batch) errOrNil() error {
	if b == nil {
		return nil
	}
	return b.err
}

// flushFor writes the buffered rows before a statement that may read one of their
// tables: what the transaction reads must include what it wrote.
func (tx *Tx) flushFor(ctx context.Context, query string) {
	b := tx.batch
	if b == nil || len(b.rows) == 0 {
		return
	}
	for table := range b.pending {
		if strings.Contains(query, table) {
			_ = tx.flush(ctx) // a failure is kept in b.err and fails the batch
			return
		}
	}
}

// ExecContext runs a statement in the transaction, after the rows a batch buffered.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := tx.flush(ctx); err != nil {
		return nil, err
	}
	return tx.Tx.ExecContext(ctx, query, args...)
}

// QueryContext runs a query in the transaction; it sees the rows a batch buffered.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	tx.flushFor(ctx, query)
	if err := tx.batch.errOrNil(); err != nil {
		return nil, err
	}
	return tx.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a single-row query in the transaction; it sees the rows a batch
// buffered. A failed flush fails the batch (see Batch).
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	tx.flushFor(ctx, query)
	return tx.Tx.QueryRowContext(ctx, query, args...)
}

// publish adds an event to the outbox: at once, or buffered in a batch.
func (tx *Tx) publish(ctx context.Context, topic string, ev event.Event) error {
	if tx.batch != nil {
		tx.batch.events = append(tx.batch.events, outbox.Message{Topic: topic, Event: ev})
		return nil
	}
	return outbox.Add(ctx, tx.Tx, topic, ev)
}

// DecodeStrict decodes raw, one JSON value, into v exactly as the JSON API decodes a
// request body (httpapi.DecodeJSON): valid UTF-8, no duplicate keys, no unknown fields,
// errors naming the field at fault.
func DecodeStrict(raw []byte, v any) error {
	r, err := http.NewRequest(http.MethodPost, "/", bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	r.Header.Set("Content-Type", "application/json")
	return httpapi.DecodeJSON(r, v)
}
