package resource

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
)

// Handler is the go-kit server of one route: decode turns the request into an A (or a
// 4xx naming the field), fn answers it. Errors of either are written by httpapi's one
// error mapping.
func Handler[A any](log *slog.Logger, decode func(*http.Request) (A, error), fn func(context.Context, A) (Reply, error)) http.Handler {
	return httpapi.NewServer(
		func(ctx context.Context, req any) (any, error) { return fn(ctx, req.(A)) },
		func(_ context.Context, r *http.Request) (any, error) { return decode(r) },
		log)
}

// Body decodes the request's JSON body into an A, strictly (httpapi.DecodeJSON).
func Body[A any](r *http.Request) (A, error) {
	var v A
	err := httpapi.DecodeJSON(r, &v)
	return v, err
}

// PathID is the {id} of the request's path, checked.
func PathID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if id == "" {
		return "", errs.Field(errs.Invalid, "id", "required")
	}
	return id, CheckID("id", id)
}

// Routes registers the kind's JSON API on m under /v1/<Path>:
//
//	POST   /v1/<path>            create: 201, or 200 for an idempotent retry
//	GET    /v1/<path>/{id}       read
//	GET    /v1/<path>?<subject>= list one subject's (or, for entities, all), by ID: ?after=&limit=,
//	                             and by clinical day for a kind with one: ?from=&to=
//	PUT    /v1/<path>/{id}       correct: the whole new content; 200
//	DELETE /v1/<path>/{id}       delete: 204
//
// Writes honour Idempotency-Key.
func (k *Kind[T, P]) Routes(m *Mux) {
	m.Handle("POST /v1/"+k.Path, Document(Op{ID: k.Path + ".create", Summary: "Record a new " + k.Name,
		Request: TypeOf[T](), Responses: map[int]reflect.Type{http.StatusCreated: TypeOf[T](), http.StatusOK: TypeOf[T]()},
		Idempotent: true},
		Idempotent(Handler(m.Log(), Body[T], k.createReply), m.Log())))
	k.ItemRoutes(m)
}

// ItemRoutes registers Routes' routes but the create, for a kind created by a flow of
// its own.
func (k *Kind[T, P]) ItemRoutes(m *Mux) {
	base := "/v1/" + k.Path
	log := m.Log()
	m.Handle("GET "+base+"/{id}", Document(Op{ID: k.Path + ".read", Summary: "Read a " + k.Name,
		Responses: map[int]reflect.Type{http.StatusOK: TypeOf[T]()}},
		Handler(log, PathID, k.getReply)))
	m.Handle("GET "+base, Document(Op{ID: k.Path + ".list", Summary: "List " + k.Path, Query: k.listParams(),
		Responses: map[int]reflect.Type{http.StatusOK: TypeOf[Page[T]]()}},
		Handler(log, k.decodeList, k.listReply)))
	m.Handle("PUT "+base+"/{id}", Document(Op{ID: k.Path + ".correct", Summary: "Correct a " + k.Name,
		Request: TypeOf[T](), Responses: map[int]reflect.Type{http.StatusOK: TypeOf[T]()}, Idempotent: true},
		Idempotent(Handler(log, k.decodePut, k.correctReply), log)))
	m.Handle("DELETE "+base+"/{id}", Document(Op{ID: k.Path + ".delete", Summary: "Delete a " + k.Name + " entered in error",
		Responses: map[int]reflect.Type{http.StatusNoContent: nil}, Idempotent: true},
		Idempotent(Handler(log, PathID, k.deleteReply), log)))
}

// Action registers POST /v1/<path>/{id}/<name> on m: the body, decoded strictly into
// an A, is applied by apply to the stored resource, which becomes its next version;
// apply returns the event type to publish and its clinical time. An action that
// changes nothing publishes nothing. It honours Idempotency-Key.
func Action[T any, P Ptr[T], A any](m *Mux, k *Kind[T, P], name string,
	apply func(ctx context.Context, tx *Tx, v *T, in A) (typ string, at time.Time, err error)) {
	type request struct {
		id string
		in A
	}
	decode := func(r *http.Request) (request, error) {
		id, err := PathID(r)
		if err != nil {
			return request{}, err
		}
		in, err := Body[A](r)
		return request{id, in}, err
	}
	log := m.Log()
	m.Handle("POST /v1/"+k.Path+"/{id}/"+name, Document(Op{ID: k.Path + "." + name, Summary: "Apply " + name + " to a " + k.Name,
		Request: TypeOf[A](), Responses: map[int]reflect.Type{http.StatusOK: TypeOf[T]()}, Idempotent: true},
		Idempotent(Handler(log, decode,
			func(ctx context.Context, req request) (Reply, error) {
				return k.actReply(ctx, req.id, 0, func(ctx context.Context, tx *Tx, v *T) (string, time.Time, error) {
					return apply(ctx, tx, v, req.in)
				})
			}), log)))
}

// correction is a PUT: the resource in the path, with its new content.
type correction[T any] struct {
	id string
	v  T
}

// decodePut takes the ID from the path; a body naming another ID is refused rather than
// silently overridden.
func (k *Kind[T, P]) decodePut(r *http.Request) (correction[T], error) {
	id, err := PathID(r)
	if err != nil {
		return correction[T]{}, err
	}
	v, err := Body[T](r)
	if err != nil {
		return correction[T]{}, err
	}
	m := P(&v).meta()
	if m.ID != "" && m.ID != id {
		return correction[T]{}, errs.Field(errs.Invalid, "id", "differs from the %s in the path", k.Name)
	}
	m.ID = id
	return correction[T]{id, v}, nil
}

// Listing limits.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// dateLayout is the form of the from and to query parameters: a calendar day.
const dateLayout = "2006-01-02"

// decodeList reads a list request: the subject (required when the kind has one), the
// page (after, limit) and, for a kind with a clinical time, the days (from, to), each
// checked, naming the parameter at fault.
func (k *Kind[T, P]) decodeList(r *http.Request) (Query, error) {
	q := r.URL.Query()
	l := Query{After: q.Get("after"), Limit: defaultLimit}
	if k.SubjectField != "" {
		l.Subject = q.Get(k.SubjectField)
		if l.Subject == "" {
			return Query{}, errs.Field(errs.Invalid, k.SubjectField, "required to list %s", k.Path)
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return Query{}, errs.Field(errs.Invalid, "limit", "a number from 1 to %d", maxLimit)
		}
		l.Limit = n
	}
	if err := CheckID("after", l.After); err != nil {
		return Query{}, err
	}
	var err error
	if l.From, err = k.day(q, "from"); err != nil {
		return Query{}, err
	}
	to, err := k.day(q, "to")
	if err != nil {
		return Query{}, err
	}
	if !to.IsZero() {
		if to.Before(l.From) {
			return Query{}, errs.Field(errs.Invalid, "to", "before from")
		}
		l.Until = to.AddDate(0, 0, 1) // the whole of the last day
	}
	return l, nil
}

// day reads the query parameter name as a calendar day (UTC midnight); zero when it
// is absent.
func (k *Kind[T, P]) day(q url.Values, name string) (time.Time, error) {
	s := q.Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	if k.At == nil {
		return time.Time{}, errs.Field(errs.Invalid, name, "%s have no clinical time to search by", k.Path)
	}
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, errs.Field(errs.Invalid, name, "a date as YYYY-MM-DD")
	}
	return d, nil
}

// listParams describes decodeList's parameters.
func (k *Kind[T, P]) listParams() []Param {
	str := map[string]any{"type": "string"}
	var ps []Param
	if k.SubjectField != "" {
		ps = append(ps, Param{Name: k.SubjectField, Required: true, Schema: str,
			Description: "whose " + k.Path + " to list"})
	}
	ps = append(ps,
		Param{Name: "after", Schema: str, Description: "the next of the previous page: list IDs after it"},
		Param{Name: "limit", Schema: map[string]any{"type": "integer", "minimum": 1, "maximum": maxLimit, "default": defaultLimit},
			Description: "at most this many items"})
	if k.At != nil {
		date := map[string]any{"type": "string", "format": "date"}
		ps = append(ps,
			Param{Name: "from", Schema: date, Description: "only facts whose clinical time is on or after this day (UTC)"},
			Param{Name: "to", Schema: date, Description: "only facts whose clinical time is on or before this day (UTC)"})
	}
	return ps
}

// Page is one page of a list: the items by ID and, when there may be more, the ID to
// pass as ?after= for the next page.
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

func (k *Kind[T, P]) createReply(ctx context.Context, v T) (Reply, error) {
	return k.st.Write(ctx, func(tx *Tx) (Reply, error) {
		created, err := k.insert(ctx, tx, &v)
		if err != nil {
			return Reply{}, err
		}
		return Created(created, &v)
	})
}

func (k *Kind[T, P]) getReply(ctx context.Context, id string) (Reply, error) {
	v, err := k.Get(ctx, id)
	if err != nil {
		return Reply{}, err
	}
	return JSON(http.StatusOK, &v)
}

func (k *Kind[T, P]) listReply(ctx context.Context, q Query) (Reply, error) {
	p, err := k.Search(ctx, q)
	if err != nil {
		return Reply{}, err
	}
	return JSON(http.StatusOK, p)
}

func (k *Kind[T, P]) correctReply(ctx context.Context, c correction[T]) (Reply, error) {
	return k.actReply(ctx, c.id, P(&c.v).meta().Version, k.replace(&c.v))
}

// actReply applies change to the stored resource id; expect, when not 0, is the version
// the caller changed.
func (k *Kind[T, P]) actReply(ctx context.Context, id string, expect int, change Change[T]) (Reply, error) {
	return k.st.Write(ctx, func(tx *Tx) (Reply, error) {
		v, err := k.update(ctx, tx, id, expect, change)
		if err != nil {
			return Reply{}, err
		}
		return JSON(http.StatusOK, v)
	})
}

func (k *Kind[T, P]) deleteReply(ctx context.Context, id string) (Reply, error) {
	return k.st.Write(ctx, func(tx *Tx) (Reply, error) {
		v, err := k.load(ctx, tx, id)
		if err != nil {
			return Reply{}, err
		}
		return noContent, k.remove(ctx, tx, v)
	})
}

// The typed operations below are the same use cases for Go callers (the service's
// own flows, tests). They go through Store.Write, so an Idempotency-Key in ctx holds.

// Create stores a new resource and publishes its Recorded event; created is false for
// an idempotent retry (same ID, same content), which publishes nothing.
func (k *Kind[T, P]) Create(ctx context.Context, v T) (_ T, created bool, err error) {
	r, err := k.createReply(ctx, v)
	if err != nil {
		return v, false, err
	}
	out, err := decodeReply[T](r)
	return out, r.Status == http.StatusCreated, err
}

// Insert stores a new resource in tx, as Create does, for flows that write more than
// one thing in a transaction.
func (k *Kind[T, P]) Insert(ctx context.Context, tx *Tx, v T) (T, bool, error) {
	created, err := k.insert(ctx, tx, &v)
	return v, created, err
}

// Get returns the resource with the given ID: NotFound when there is none, or the
// kind's Visible refusal.
func (k *Kind[T, P]) Get(ctx context.Context, id string) (T, error) {
	var zero T
	v, err := k.load(ctx, k.st.db, id)
	if err != nil {
		return zero, err
	}
	if err := k.visible(ctx, k.st.db, v); err != nil {
		return zero, err
	}
	return *v, nil
}

// List returns up to limit resources of subject (all, for a kind whose subject is its
// own ID) with IDs after after, by ID, leaving out those the kind's Visible refuses.
func (k *Kind[T, P]) List(ctx context.Context, subject, after string, limit int) (Page[T], error) {
	return k.Search(ctx, Query{Subject: subject, After: after, Limit: limit})
}

// Query selects a page of resources.
type Query struct {
	Subject string // the subject's resources; ignored for a kind whose subject is its own ID
	After   string // only IDs after this one: the Next of the previous page
	Limit   int    // at most this many (1 or more)
	// From and Until bound the clinical time: From <= at < Until; a zero one bounds
	// nothing.
	From, Until time.Time
}

// Search returns the page of resources q selects, by ID, leaving out those the kind's
// Visible refuses. Next is set when the page is full: there may be more.
func (k *Kind[T, P]) Search(ctx context.Context, q Query) (Page[T], error) {
	query := `SELECT ` + columns + ` FROM ` + k.Table + ` WHERE id > ?`
	args := []any{q.After}
	if k.SubjectField != "" {
		query += ` AND subject = ?`
		args = append(args, q.Subject)
	}
	if !q.From.IsZero() {
		query += ` AND at >= ?`
		args = append(args, q.From.UTC())
	}
	if !q.Until.IsZero() {
		query += ` AND at < ?`
		args = append(args, q.Until.UTC())
	}
	query += ` ORDER BY id LIMIT ?`
	vs, err := k.query(ctx, k.st.db, query, append(args, q.Limit)...)
	if err != nil {
		return Page[T]{}, err
	}
	p := Page[T]{Items: make([]T, 0, len(vs))}
	for _, v := range vs {
		err := k.visible(ctx, k.st.db, v)
		switch {
		case errs.Is(errs.Forbidden, err):
			continue
		case err != nil:
			return Page[T]{}, err
		}
		p.Items = append(p.Items, *v)
	}
	if len(vs) == q.Limit {
		p.Next = vs[len(vs)-1].meta().ID
	}
	return p, nil
}

// Correct replaces a stored resource's content with v's and publishes Corrected; a
// correction that changes nothing publishes nothing. v's Version, when not 0, must be
// the stored one.
func (k *Kind[T, P]) Correct(ctx context.Context, v T) (T, error) {
	m := P(&v).meta()
	if m.ID == "" {
		return v, errs.Field(errs.Invalid, "id", "required")
	}
	r, err := k.actReply(ctx, m.ID, m.Version, k.replace(&v))
	if err != nil {
		return v, err
	}
	return decodeReply[T](r)
}

// Act applies change to the stored resource id, as an action route does.
func (k *Kind[T, P]) Act(ctx context.Context, id string, change Change[T]) (T, error) {
	r, err := k.actReply(ctx, id, 0, change)
	if err != nil {
		var zero T
		return zero, err
	}
	return decodeReply[T](r)
}

// Update applies change to the stored resource id in tx, for flows that write more
// than one thing in a transaction.
func (k *Kind[T, P]) Update(ctx context.Context, tx *Tx, id string, change Change[T]) (T, error) {
	v, err := k.update(ctx, tx, id, 0, change)
	if err != nil {
		var zero T
		return zero, err
	}
	return *v, nil
}

// Delete deletes a resource and publishes its Deleted event.
func (k *Kind[T, P]) Delete(ctx context.Context, id string) error {
	_, err := k.deleteReply(ctx, id)
	return err
}

func decodeReply[T any](r Reply) (T, error) {
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		return v, fmt.Errorf("decode reply: %w", err)
	}
	return v, nil
}
