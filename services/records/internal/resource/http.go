package resource

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
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

// Routes registers the kind's JSON API on mux under /v1/<Path>:
//
//	POST   /v1/<path>            create: 201, or 200 for an idempotent retry
//	GET    /v1/<path>/{id}       read
//	GET    /v1/<path>?<subject>= list one subject's (or, for entities, all), by ID: ?after=&limit=
//	PUT    /v1/<path>/{id}       correct: the whole new content; 200
//	DELETE /v1/<path>/{id}       delete: 204
//
// Writes honour Idempotency-Key.
func (k *Kind[T, P]) Routes(mux *http.ServeMux, log *slog.Logger) {
	mux.Handle("POST /v1/"+k.Path, Idempotent(Handler(log, Body[T], k.createReply), log))
	k.ItemRoutes(mux, log)
}

// ItemRoutes registers Routes' routes but the create, for a kind created by a flow of
// its own.
func (k *Kind[T, P]) ItemRoutes(mux *http.ServeMux, log *slog.Logger) {
	base := "/v1/" + k.Path
	mux.Handle("GET "+base+"/{id}", Handler(log, PathID, k.getReply))
	mux.Handle("GET "+base, Handler(log, k.decodeList, k.listReply))
	mux.Handle("PUT "+base+"/{id}", Idempotent(Handler(log, k.decodePut, k.correctReply), log))
	mux.Handle("DELETE "+base+"/{id}", Idempotent(Handler(log, PathID, k.deleteReply), log))
}

// Action registers POST /v1/<path>/{id}/<name> on mux: the body, decoded strictly into
// an A, is applied by apply to the stored resource, which becomes its next version;
// apply returns the event type to publish and its clinical time. An action that
// changes nothing publishes nothing. It honours Idempotency-Key.
func Action[T any, P Ptr[T], A any](mux *http.ServeMux, log *slog.Logger, k *Kind[T, P], name string,
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
	mux.Handle("POST /v1/"+k.Path+"/{id}/"+name, Idempotent(Handler(log, decode,
		func(ctx context.Context, req request) (Reply, error) {
			return k.actReply(ctx, req.id, 0, func(ctx context.Context, tx *Tx, v *T) (string, time.Time, error) {
				return apply(ctx, tx, v, req.in)
			})
		}), log))
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

// listing is a list request.
type listing struct {
	subject, after string
	limit          int
}

// Listing limits.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

func (k *Kind[T, P]) decodeList(r *http.Request) (listing, error) {
	q := r.URL.Query()
	l := listing{after: q.Get("after"), limit: defaultLimit}
	if k.SubjectField != "" {
		l.subject = q.Get(k.SubjectField)
		if l.subject == "" {
			return listing{}, errs.Field(errs.Invalid, k.SubjectField, "required to list %s", k.Path)
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return listing{}, errs.Field(errs.Invalid, "limit", "a number from 1 to %d", maxLimit)
		}
		l.limit = n
	}
	if err := CheckID("after", l.after); err != nil {
		return listing{}, err
	}
	return l, nil
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

func (k *Kind[T, P]) listReply(ctx context.Context, l listing) (Reply, error) {
	p, err := k.List(ctx, l.subject, l.after, l.limit)
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
	q := `SELECT ` + columns + ` FROM ` + k.Table + ` WHERE id > ?`
	args := []any{after}
	if k.SubjectField != "" {
		q += ` AND subject = ?`
		args = append(args, subject)
	}
	q += ` ORDER BY id LIMIT ?`
	vs, err := k.query(ctx, k.st.db, q, append(args, limit)...)
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
	if len(vs) == limit {
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
