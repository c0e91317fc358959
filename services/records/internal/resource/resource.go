// Package resource is the one way records keeps a resource and publishes its facts. A
// Kind describes a kind of resource — its table, topic, event types, validation, the
// checks against stored state and the event payloads — and gets, from this package,
// create, read, correct and delete (and any actions the kind defines), each in one
// transaction with exactly one event through the outbox, and the JSON API routes that
// expose them.
//
// Every kind is stored in a table of the same shape:
//
//	id         TEXT PRIMARY KEY  -- the resource ID, client-chosen or a UUIDv7
//	subject    TEXT NOT NULL     -- the event key: the patient ID, or the entity's own ID
//	at         TIMESTAMP         -- the fact's clinical time
//	unique_key TEXT UNIQUE       -- a natural key (MRN, NPI, CCN, TIN), when the kind has one
//	body       TEXT NOT NULL     -- the resource as JSON, server fields aside
//	version, created, updated
//
// Writes are idempotent twice over: a create repeating a stored resource's ID and
// content answers the stored resource and publishes nothing, and a request repeating
// an Idempotency-Key answers what the first one did (see Idempotent).
package resource

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/store"
)

// Meta are the fields the server keeps on every resource. Embed it in a resource type.
type Meta struct {
	ID      string    `json:"id,omitempty"`
	Version int       `json:"version,omitempty"` // on a correction: the version corrected, or 0 not to check
	Created time.Time `json:"created,omitzero"`
	Updated time.Time `json:"updated,omitzero"`
}

func (m *Meta) meta() *Meta { return m }

// Ptr is the constraint on a kind's second type parameter: a pointer to a resource
// type that embeds Meta. It is inferred: New[Allergy] is a *Kind[Allergy, *Allergy].
type Ptr[T any] interface {
	*T
	meta() *Meta
}

// Def describes a kind of resource. Functions receive the resource by pointer; Check
// may fill fields derived from stored state (a location's place-of-service code).
type Def[T any] struct {
	Name  string // singular, for messages: "allergy"
	Path  string // the URL segment under /v1: "allergies"
	Table string // its table, of the shape in the package doc
	Topic string // the topic of its events

	// Event types: the first recording, a correction (whole new content), a deletion.
	Recorded, Corrected, Deleted string

	// Subject is the event key and the resource's owner: a patient fact's patient ID,
	// an entity-level fact's entity. It cannot change by correction.
	Subject func(*T) string
	// SubjectField is the JSON field (and list query parameter) that holds the
	// subject, e.g. "patient_id"; "" when the subject is the resource's own ID.
	SubjectField string

	// At is the fact's clinical time; a zero time means when it was recorded.
	At func(*T) time.Time

	// Key is the resource's natural key, unique among the kind ("" for none), and
	// KeyField the JSON field a clash is reported on.
	Key      func(*T) string
	KeyField string

	// Validate checks the resource as submitted, naming the first field at fault.
	Validate func(*T) error
	// Check checks the resource against stored state (references resolve, belong to
	// the same patient) and may fill derived fields. Optional.
	Check func(ctx context.Context, tx *Tx, v *T) error
	// Refs calls ref with the table and ID of each stored resource Check looks up by ID
	// (Require, Load), so that a Batch looks them all up ahead, one query per table,
	// instead of one query per reference. Optional, and only a cost: a reference it
	// leaves out is looked up by Check as before. Empty IDs are ignored.
	Refs func(v *T, ref func(table, id string))
	// Visible refuses to show a stored resource that may no longer be shown (a shared
	// record whose consent ended). Optional.
	Visible func(ctx context.Context, q Querier, v *T) error
	// OnDelete runs before the resource is deleted, in the same transaction: cascades,
	// or a refusal. Optional.
	OnDelete func(ctx context.Context, tx *Tx, v *T) error

	// Payload is the event payload of the resource; Ref that of its deletion.
	Payload func(*T) any
	Ref     func(*T) any
}

// Kind is a kind of resource with its operations.
type Kind[T any, P Ptr[T]] struct {
	Def[T]
	st *Store
}

// New returns the kind d describes, stored through st.
func New[T any, P Ptr[T]](st *Store, d Def[T]) *Kind[T, P] {
	return &Kind[T, P]{Def: d, st: st}
}

// maxID bounds client-chosen IDs: they become Kafka keys and URL segments.
const maxID = 64

// CheckID checks an ID: at most 64 letters, digits, '-' and '.'. The empty ID passes;
// callers decide whether one is required.
func CheckID(field, id string) error {
	if len(id) > maxID {
		return errs.Field(errs.Invalid, field, "longer than %d characters", maxID)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return errs.Field(errs.Invalid, field, "may hold only letters, digits, '-' and '.'")
		}
	}
	return nil
}

// NewID returns a fresh ID: a UUIDv7, so that IDs sort by creation time.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// validate runs the kind's checks of the submitted resource.
func (k *Kind[T, P]) validate(v P) error {
	if err := CheckID("id", v.meta().ID); err != nil {
		return err
	}
	return k.Validate((*T)(v))
}

// Verify validates v and checks it against stored state, as writing it would, without
// writing: for flows that decide something before they write.
func (k *Kind[T, P]) Verify(ctx context.Context, tx *Tx, v *T) error {
	if err := k.validate(v); err != nil {
		return err
	}
	if k.Check == nil {
		return nil
	}
	return k.Check(ctx, tx, v)
}

// Exists reports whether a resource with the given ID is stored; "" never is.
func (k *Kind[T, P]) Exists(ctx context.Context, q Querier, id string) (bool, error) {
	if id == "" {
		return false, nil
	}
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM `+k.Table+` WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find %s: %w", k.Name, err)
	}
	return true, nil
}

// at is the clinical time of v's events.
func (k *Kind[T, P]) at(tx *Tx, v P) time.Time {
	if k.At != nil {
		if t := k.At((*T)(v)); !t.IsZero() {
			return t.UTC()
		}
	}
	return tx.Now
}

// key is v's natural key, or "" without one.
func (k *Kind[T, P]) key(v P) string {
	if k.Key == nil {
		return ""
	}
	return k.Key((*T)(v))
}

// body is v as stored: its JSON without the server fields.
func body[T any, P Ptr[T]](v P) ([]byte, error) {
	c := *v
	*P(&c).meta() = Meta{}
	b, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", c, err)
	}
	return b, nil
}

// same reports whether a and b say the same thing, server fields aside.
func same[T any, P Ptr[T]](a, b P) (bool, error) {
	x, err := body[T, P](a)
	if err != nil {
		return false, err
	}
	y, err := body[T, P](b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(x, y), nil
}

const columns = `id, body, version, created, updated`

// scan reads one row of columns into a resource.
func (k *Kind[T, P]) scan(row interface{ Scan(...any) error }) (P, error) {
	var (
		m    Meta
		data string
	)
	if err := row.Scan(&m.ID, &data, &m.Version, &m.Created, &m.Updated); err != nil {
		return nil, err
	}
	v := P(new(T))
	if err := json.Unmarshal([]byte(data), v); err != nil {
		return nil, fmt.Errorf("decode stored %s %s: %w", k.Name, m.ID, err)
	}
	m.Created, m.Updated = m.Created.UTC(), m.Updated.UTC()
	*v.meta() = m
	return v, nil
}

// load reads the resource with the given ID; NotFound when there is none. In a
// Batch's transaction, which only creates, a resource loaded once is kept.
func (k *Kind[T, P]) load(ctx context.Context, q Querier, id string) (P, error) {
	b := batchOf(q)
	if b != nil {
		ck := cacheKey(k.Table, id)
		if v, ok := b.loaded[ck].(P); ok {
			c := *v
			return &c, nil
		}
		if _, known := b.known[ck]; b.looked[ck] && !known {
			return nil, errs.E(errs.NotFound, "no such %s", k.Name)
		}
	}
	v, err := k.scan(q.QueryRowContext(ctx, `SELECT `+columns+` FROM `+k.Table+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no such %s", k.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", k.Name, err)
	}
	if b != nil {
		c := *v
		b.loaded[cacheKey(k.Table, id)] = P(&c)
	}
	return v, nil
}

// batchOf is the Batch state of q, nil outside a Batch's transaction.
func batchOf(q Querier) *batch {
	if tx, ok := q.(*Tx); ok {
		return tx.batch
	}
	return nil
}

// Load returns the stored resource with the given ID. A missing one is NotFound.
func (k *Kind[T, P]) Load(ctx context.Context, q Querier, id string) (T, error) {
	v, err := k.load(ctx, q, id)
	if err != nil {
		var zero T
		return zero, err
	}
	return *v, nil
}

// Require checks that id names a stored resource of this kind whose subject
// is subject (any subject when subject is ""). When it does not, the error is
// Unprocessable and names field. An empty id passes: optional references are checked
// only when given.
func (k *Kind[T, P]) Require(ctx context.Context, q Querier, field, id, subject string) error {
	if id == "" {
		return nil
	}
	b := batchOf(q)
	owner, known := "", false
	var err error
	if b != nil {
		owner, known = b.known[cacheKey(k.Table, id)]
		if !known && b.looked[cacheKey(k.Table, id)] {
			known, err = true, sql.ErrNoRows // looked up ahead, and not stored since
		}
	}
	if !known {
		err = q.QueryRowContext(ctx, `SELECT subject FROM `+k.Table+` WHERE id = ?`, id).Scan(&owner)
		if err == nil && b != nil {
			b.known[cacheKey(k.Table, id)] = owner
		}
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return errs.Field(errs.Unprocessable, field, "no such %s", k.Name)
	case err != nil:
		return fmt.Errorf("find %s: %w", k.Name, err)
	case subject != "" && owner != subject:
		return errs.Field(errs.Unprocessable, field, "the %s belongs to another %s", k.Name, k.owner())
	}
	return nil
}

// ByKey returns the resource whose natural key is key, and whether there is one.
func (k *Kind[T, P]) ByKey(ctx context.Context, q Querier, key string) (T, bool, error) {
	var zero T
	v, err := k.scan(q.QueryRowContext(ctx, `SELECT `+columns+` FROM `+k.Table+` WHERE unique_key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return zero, false, nil
	}
	if err != nil {
		return zero, false, fmt.Errorf("find %s by key: %w", k.Name, err)
	}
	return *v, true, nil
}

// OfSubject returns every resource of the subject, by ID.
func (k *Kind[T, P]) OfSubject(ctx context.Context, q Querier, subject string) ([]T, error) {
	ps, err := k.query(ctx, q, `SELECT `+columns+` FROM `+k.Table+` WHERE subject = ? ORDER BY id`, subject)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out, nil
}

func (k *Kind[T, P]) query(ctx context.Context, q Querier, query string, args ...any) ([]P, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", k.Name, err)
	}
	defer rows.Close()
	var out []P
	for rows.Next() {
		v, err := k.scan(rows)
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", k.Name, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", k.Name, err)
	}
	return out, nil
}

// owner names what the subject is, for messages.
func (k *Kind[T, P]) owner() string {
	switch k.SubjectField {
	case "patient_id":
		return "patient"
	case "":
		return k.Name
	}
	return k.SubjectField
}

// nullable stores "" as NULL, so that resources without a natural key do not clash.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// insert validates and stores a new resource and publishes its Recorded event. A
// resource with the same ID and content is an idempotent retry: v becomes the stored
// one, created is false, and nothing is published. The same ID with other content is
// a Conflict, as is a natural key another resource holds.
func (k *Kind[T, P]) insert(ctx context.Context, tx *Tx, v P) (created bool, err error) {
	return k.insertChecked(ctx, tx, v, false)
}

// insertChecked is insert; validated says v passed validate already. In a Batch's
// transaction it asks the batch, not the database, whether the ID and key are taken,
// and buffers the row.
func (k *Kind[T, P]) insertChecked(ctx context.Context, tx *Tx, v P, validated bool) (created bool, err error) {
	if !validated {
		if err := k.validate(v); err != nil {
			return false, err
		}
	}
	if k.Check != nil {
		if err := k.Check(ctx, tx, (*T)(v)); err != nil {
			return false, err
		}
	}
	m := v.meta()
	b := tx.batch
	mayExist := true
	if b != nil && m.ID != "" && b.looked[cacheKey(k.Table, m.ID)] {
		// The batch looked the ID up ahead: unless it is known since, it is new.
		_, mayExist = b.known[cacheKey(k.Table, m.ID)]
	}
	if m.ID != "" && mayExist {
		old, err := k.load(ctx, tx, m.ID)
		switch {
		case err == nil:
			if ok, err := same[T, P](old, v); err != nil || !ok {
				return false, cmpErr(err, errs.Field(errs.Conflict, "id", "a different %s with this id exists", k.Name))
			}
			*v = *old
			return false, nil
		case !errs.Is(errs.NotFound, err):
			return false, err
		}
	} else if m.ID == "" {
		m.ID = NewID()
	}
	key := k.key(v)
	if b != nil && key != "" {
		free, err := b.keyFree(k.Table, key, m.ID, func() error { return k.keyFree(ctx, tx, key, m.ID) })
		if err != nil {
			return false, err
		}
		if !free {
			return false, errs.Field(errs.Conflict, k.KeyField, "another %s has this %s", k.Name, k.KeyField)
		}
	} else if err := k.keyFree(ctx, tx, key, m.ID); err != nil {
		return false, err
	}
	m.Version, m.Created, m.Updated = 1, tx.Now, tx.Now
	data, err := body[T, P](v)
	if err != nil {
		return false, err
	}
	if b != nil {
		subject := k.Subject((*T)(v))
		b.insertRow(k.Table, [8]any{m.ID, subject, k.at(tx, v), nullable(key), string(data), m.Version, m.Created, m.Updated})
		b.known[cacheKey(k.Table, m.ID)] = subject
		if key != "" {
			b.keys[cacheKey(k.Table, key)] = m.ID
		}
		return true, tx.Publish(ctx, k.Topic, k.Recorded, subject, k.at(tx, v), k.Payload((*T)(v)))
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO `+k.Table+` (id, subject, at, unique_key, body, version, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, m.ID, k.Subject((*T)(v)), k.at(tx, v), nullable(key), string(data),
		m.Version, m.Created, m.Updated)
	if store.IsUniqueViolation(err) {
		return false, errs.Field(errs.Conflict, "id", "a %s with this id was just created", k.Name)
	}
	if err != nil {
		return false, fmt.Errorf("insert %s: %w", k.Name, err)
	}
	return true, tx.Publish(ctx, k.Topic, k.Recorded, k.Subject((*T)(v)), k.at(tx, v), k.Payload((*T)(v)))
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// keyFree checks that no resource other than id holds the natural key.
func (k *Kind[T, P]) keyFree(ctx context.Context, tx *Tx, key, id string) error {
	if key == "" {
		return nil
	}
	var holder string
	err := tx.QueryRowContext(ctx, `SELECT id FROM `+k.Table+` WHERE unique_key = ?`, key).Scan(&holder)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("check %s key: %w", k.Name, err)
	case holder != id:
		return errs.Field(errs.Conflict, k.KeyField, "another %s has this %s", k.Name, k.KeyField)
	}
	return nil
}

// Change is what a correction or an action does to a stored resource: it changes v in
// place and returns the event type to publish and the event's clinical time (zero:
// the kind's At).
type Change[T any] func(ctx context.Context, tx *Tx, v *T) (typ string, at time.Time, err error)

// update applies change to the stored resource id and, when that changes anything,
// stores the result as the next version and publishes the event change names. The
// subject cannot change. expect, when not 0, is the version the caller changed.
func (k *Kind[T, P]) update(ctx context.Context, tx *Tx, id string, expect int, change Change[T]) (P, error) {
	old, err := k.load(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if expect != 0 && expect != old.meta().Version {
		return nil, errs.Field(errs.Conflict, "version", "the %s is at version %d", k.Name, old.meta().Version)
	}
	v := P(new(T))
	*v = *old
	typ, at, err := change(ctx, tx, (*T)(v))
	if err != nil {
		return nil, err
	}
	*v.meta() = *old.meta()
	if err := k.validate(v); err != nil {
		return nil, err
	}
	if k.Subject((*T)(v)) != k.Subject((*T)(old)) {
		field := k.SubjectField
		if field == "" {
			field = "id"
		}
		return nil, errs.Field(errs.Unprocessable, field, "a %s cannot move to another %s; delete it and record a new one",
			k.Name, k.owner())
	}
	if k.Check != nil {
		if err := k.Check(ctx, tx, (*T)(v)); err != nil {
			return nil, err
		}
	}
	if ok, err := same[T, P](old, v); err != nil || ok {
		return old, err
	}
	key := k.key(v)
	if err := k.keyFree(ctx, tx, key, id); err != nil {
		return nil, err
	}
	m := v.meta()
	m.Version, m.Updated = old.meta().Version+1, tx.Now
	data, err := body[T, P](v)
	if err != nil {
		return nil, err
	}
	if at.IsZero() {
		at = k.at(tx, v)
	}
	res, err := tx.ExecContext(ctx, `UPDATE `+k.Table+` SET at = ?, unique_key = ?, body = ?, version = ?, updated = ?
		WHERE id = ? AND version = ?`, k.at(tx, v), nullable(key), string(data), m.Version, m.Updated, id, old.meta().Version)
	if err != nil {
		return nil, fmt.Errorf("update %s: %w", k.Name, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return nil, cmpErr(err, errs.Field(errs.Conflict, "version", "the %s changed meanwhile; read it and try again", k.Name))
	}
	return v, tx.Publish(ctx, k.Topic, typ, k.Subject((*T)(v)), at.UTC(), k.Payload((*T)(v)))
}

// replace is the correction Change: the stored content becomes v's.
func (k *Kind[T, P]) replace(v P) Change[T] {
	return func(_ context.Context, _ *Tx, stored *T) (string, time.Time, error) {
		*stored = *v
		return k.Corrected, time.Time{}, nil
	}
}

// remove deletes a loaded resource and publishes its Deleted event, timed now.
func (k *Kind[T, P]) remove(ctx context.Context, tx *Tx, v P) error {
	if k.OnDelete != nil {
		if err := k.OnDelete(ctx, tx, (*T)(v)); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+k.Table+` WHERE id = ?`, v.meta().ID); err != nil {
		return fmt.Errorf("delete %s: %w", k.Name, err)
	}
	return tx.Publish(ctx, k.Topic, k.Deleted, k.Subject((*T)(v)), tx.Now, k.Ref((*T)(v)))
}

// RemoveAllOf deletes, in tx, every resource of the subject, each with its own
// Deleted event: how a patient's deletion retracts everything about them.
func (k *Kind[T, P]) RemoveAllOf(ctx context.Context, tx *Tx, subject string) error {
	vs, err := k.query(ctx, tx, `SELECT `+columns+` FROM `+k.Table+` WHERE subject = ? ORDER BY id`, subject)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if err := k.remove(ctx, tx, v); err != nil {
			return err
		}
	}
	return nil
}

// visible applies the kind's Visible rule.
func (k *Kind[T, P]) visible(ctx context.Context, q Querier, v P) error {
	if k.Visible == nil {
		return nil
	}
	return k.Visible(ctx, q, (*T)(v))
}

// Remove deletes the stored resource id in tx and publishes its Deleted event, as
// Delete does, for flows that write more than one thing in a transaction (a FHIR
// transaction Bundle).
func (k *Kind[T, P]) Remove(ctx context.Context, tx *Tx, id string) error {
	v, err := k.load(ctx, tx, id)
	if err != nil {
		return err
	}
	return k.remove(ctx, tx, v)
}

// MetaOf is v's server fields, for packages that handle a kind's values generically
// (the FHIR mapping).
func MetaOf[T any, P Ptr[T]](v P) *Meta { return v.meta() }
