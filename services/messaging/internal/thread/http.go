package thread

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"time"

	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/principal"
)

// OpenAPI is the OpenAPI 3 description of the API, served at GET /v1/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte

// route is one endpoint of the API.
type route struct {
	pattern string
	limit   int64 // request body limit
	handler http.Handler
}

// Patterns lists the ServeMux patterns Routes registers, for checking the OpenAPI
// document against them.
func Patterns() []string {
	var out []string
	for _, r := range routes(nil, nil) {
		out = append(out, r.pattern)
	}
	return out
}

// Routes registers the API on mux. Callers identify themselves with the
// X-Attest-Principal header the gateway sets (see Authenticate).
func Routes(mux *http.ServeMux, s *Service, log *slog.Logger) {
	for _, r := range routes(s, log) {
		mux.Handle(r.pattern, httpapi.LimitBody(r.limit, r.handler))
	}
}

// Authenticate reads the caller from the X-Attest-Principal header into the request
// context; a malformed header is answered 401. Routes that need a caller answer 401
// when there is none. h should be wrapped in httpapi.Route, since the request passed
// down is a copy.
func Authenticate(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok, err := principal.FromRequest(r)
		if err != nil {
			httpapi.WriteError(w, r, log, err)
			return
		}
		if ok {
			r = r.WithContext(principal.NewContext(r.Context(), p))
		}
		h.ServeHTTP(w, r)
	})
}

// attachmentBodyLimit is the body limit of routes that carry attachments: their
// content base64-encoded, plus room for the rest of the message.
func attachmentBodyLimit(l Limits) int64 {
	return int64(l.MaxAttachments)*int64(math.Ceil(float64(l.MaxAttachmentBytes)/3)*4) + httpapi.DefaultBodyLimit
}

func routes(s *Service, log *slog.Logger) []route {
	limits := DefaultLimits
	if s != nil {
		limits = s.limits
	}
	big := attachmentBodyLimit(limits)
	small := int64(httpapi.DefaultBodyLimit)
	return []route{
		{"GET /v1/openapi.json", small, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(OpenAPI)
		})},
		{"POST /v1/threads", big, handle(log, decodeJSON[NewThread], func(ctx context.Context, p principal.Principal, n NewThread) (any, error) {
			st, replayed, err := s.Start(ctx, p, n, idempotencyKey(ctx))
			return created(st, replayed), err
		})},
		{"POST /v1/threads/import", big, handle(log, decodeJSON[ImportThread], func(ctx context.Context, p principal.Principal, n ImportThread) (any, error) {
			im, replayed, err := s.Import(ctx, p, n, idempotencyKey(ctx))
			return created(im, replayed), err
		})},
		{"GET /v1/threads", small, handle(log, decodeFilter, func(ctx context.Context, p principal.Principal, f Filter) (any, error) {
			return s.Threads(ctx, p, f)
		})},
		{"GET /v1/threads/{id}", small, handle(log, pathID("id"), func(ctx context.Context, p principal.Principal, id string) (any, error) {
			return s.Thread(ctx, p, id)
		})},
		{"POST /v1/threads/{id}/close", small, handle(log, pathID("id"), func(ctx context.Context, p principal.Principal, id string) (any, error) {
			return s.Close(ctx, p, id)
		})},
		{"GET /v1/threads/{id}/messages", small, handle(log, decodeMessagesQuery, func(ctx context.Context, p principal.Principal, q messagesQuery) (any, error) {
			ms, err := s.Messages(ctx, p, q.threadID, q.after, q.limit)
			return map[string]any{"messages": ms}, err
		})},
		{"POST /v1/threads/{id}/messages", big, handle(log, decodeIdentified[NewMessage], func(ctx context.Context, p principal.Principal, req identified[NewMessage]) (any, error) {
			m, replayed, err := s.Send(ctx, p, req.id, req.body, idempotencyKey(ctx))
			return created(m, replayed), err
		})},
		{"GET /v1/threads/{id}/messages/{mid}", small, handle(log, decodeMessageRef, func(ctx context.Context, p principal.Principal, ref messageRef) (any, error) {
			return s.Message(ctx, p, ref.threadID, ref.messageID)
		})},
		{"POST /v1/threads/{id}/messages/{mid}/read", small, handle(log, decodeMessageRef, func(ctx context.Context, p principal.Principal, ref messageRef) (any, error) {
			return nil, s.MarkRead(ctx, p, ref.threadID, ref.messageID)
		})},
		{"GET /v1/threads/{id}/messages/{mid}/attachments/{aid}", small, serveAttachment(s, log)},
		{"GET /v1/requests", small, handle(log, decodeRequestFilter, func(ctx context.Context, p principal.Principal, f RequestFilter) (any, error) {
			rs, err := s.Requests(ctx, p, f)
			return map[string]any{"requests": rs}, err
		})},
		{"POST /v1/requests/{id}/answer", small, handle(log, decodeIdentified[NewAnswer], func(ctx context.Context, p principal.Principal, req identified[NewAnswer]) (any, error) {
			m, replayed, err := s.Answer(ctx, p, req.id, req.body, idempotencyKey(ctx))
			return created(m, replayed), err
		})},
		{"GET /v1/proxy-grants", small, handle(log, decodeGrantRef, func(ctx context.Context, p principal.Principal, ref grantRef) (any, error) {
			gs, err := s.Grants(ctx, p, ref.proxyID, ref.patientID)
			return map[string]any{"grants": gs}, err
		})},
		{"PUT /v1/proxy-grants", small, handle(log, decodeJSON[Grant], func(ctx context.Context, p principal.Principal, g Grant) (any, error) {
			return s.PutGrant(ctx, p, g)
		})},
		{"DELETE /v1/proxy-grants", small, handle(log, decodeGrantRef, func(ctx context.Context, p principal.Principal, ref grantRef) (any, error) {
			return nil, s.RevokeGrant(ctx, p, ref.proxyID, ref.patientID)
		})},
		{"GET /v1/clinics/{id}/response-times", small, handle(log, decodeReportQuery, func(ctx context.Context, p principal.Principal, q reportQuery) (any, error) {
			return s.ResponseTimes(ctx, p, q.clinicID, q.from, q.to)
		})},
		{"GET /v1/clinics/{id}/overdue", small, handle(log, pathID("id"), func(ctx context.Context, p principal.Principal, clinicID string) (any, error) {
			rs, err := s.Overdue(ctx, p, clinicID)
			return map[string]any{"clinic_id": clinicID, "messages": rs}, err
		})},
		{"POST /v1/keys/reencrypt", small, handle(log, none, func(ctx context.Context, p principal.Principal, _ struct{}) (any, error) {
			return s.Reencrypt(ctx, p)
		})},
	}
}

// handle builds the go-kit server of one JSON route: decode reads the request (its
// errors are the caller's: 4xx), serve runs with the authenticated caller.
func handle[T any](log *slog.Logger, decode func(*http.Request) (T, error),
	serve func(ctx context.Context, p principal.Principal, req T) (any, error)) http.Handler {
	return httpapi.NewServer(
		func(ctx context.Context, req any) (any, error) {
			p, err := principal.Require(ctx)
			if err != nil {
				return nil, err
			}
			return serve(ctx, p, req.(T))
		},
		func(_ context.Context, r *http.Request) (any, error) { return decode(r) },
		log,
		kithttp.ServerErrorEncoder(errorEncoder(log)),
		kithttp.ServerBefore(func(ctx context.Context, r *http.Request) context.Context {
			return context.WithValue(ctx, idempotencyHeader{}, r.Header.Get("Idempotency-Key"))
		}),
	)
}

// errorEncoder is httpapi's, plus Retry-After on a rate-limited answer.
func errorEncoder(log *slog.Logger) kithttp.ErrorEncoder {
	enc := httpapi.ErrorEncoder(log)
	return func(ctx context.Context, err error, w http.ResponseWriter) {
		var rl *RateLimitedError
		if errors.As(err, &rl) {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(rl.RetryAfter.Seconds()))))
		}
		enc(ctx, err, w)
	}
}

type idempotencyHeader struct{}

// idempotencyKey is the request's Idempotency-Key, checked by the decoders.
func idempotencyKey(ctx context.Context) string {
	h, _ := ctx.Value(idempotencyHeader{}).(string)
	k, _ := ParseIdempotencyKey(h)
	return k
}

// response is a created resource: 201, and on a replayed retry the header
// Idempotent-Replayed: true.
type response struct {
	body     any
	replayed bool
}

func created(body any, replayed bool) response { return response{body: body, replayed: replayed} }

// StatusCode is 201 Created.
func (response) StatusCode() int { return http.StatusCreated }

// Headers marks a replayed answer.
func (r response) Headers() http.Header {
	if !r.replayed {
		return nil
	}
	return http.Header{"Idempotent-Replayed": {"true"}}
}

// MarshalJSON encodes the body alone.
func (r response) MarshalJSON() ([]byte, error) { return json.Marshal(r.body) }

func none(*http.Request) (struct{}, error) { return struct{}{}, nil }

func decodeJSON[T any](r *http.Request) (T, error) {
	var v T
	if _, err := ParseIdempotencyKey(r.Header.Get("Idempotency-Key")); err != nil {
		return v, err
	}
	err := httpapi.DecodeJSON(r, &v)
	return v, err
}

func pathID(name string) func(*http.Request) (string, error) {
	return func(r *http.Request) (string, error) {
		id := r.PathValue(name)
		return id, checkID(name, id, true)
	}
}

func decodeFilter(r *http.Request) (Filter, error) {
	q := r.URL.Query()
	limit, err := intParam(r, "limit")
	return Filter{Status: q.Get("status"), PatientID: q.Get("patient_id"), ClinicID: q.Get("clinic_id"),
		Limit: limit, Cursor: q.Get("cursor")}, err
}

func decodeRequestFilter(r *http.Request) (RequestFilter, error) {
	q := r.URL.Query()
	limit, err := intParam(r, "limit")
	return RequestFilter{ClinicID: q.Get("clinic_id"), PatientID: q.Get("patient_id"), Status: q.Get("status"), Limit: limit}, err
}

// intParam reads an optional non-negative integer query parameter; absent is 0.
func intParam(r *http.Request, name string) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errs.Field(errs.Invalid, name, "must be a non-negative integer")
	}
	return n, nil
}

type messagesQuery struct {
	threadID     string
	after, limit int
}

func decodeMessagesQuery(r *http.Request) (messagesQuery, error) {
	id, err := pathID("id")(r)
	if err != nil {
		return messagesQuery{}, err
	}
	after, err := intParam(r, "after")
	if err != nil {
		return messagesQuery{}, err
	}
	limit, err := intParam(r, "limit")
	return messagesQuery{threadID: id, after: after, limit: limit}, err
}

// identified is a request body for the resource a path names.
type identified[T any] struct {
	id   string
	body T
}

// decodeIdentified reads the path's {id} and the JSON body.
func decodeIdentified[T any](r *http.Request) (identified[T], error) {
	id, err := pathID("id")(r)
	if err != nil {
		return identified[T]{}, err
	}
	body, err := decodeJSON[T](r)
	return identified[T]{id: id, body: body}, err
}

type messageRef struct{ threadID, messageID string }

func decodeMessageRef(r *http.Request) (messageRef, error) {
	id, err := pathID("id")(r)
	if err != nil {
		return messageRef{}, err
	}
	mid, err := pathID("mid")(r)
	return messageRef{threadID: id, messageID: mid}, err
}

type grantRef struct{ proxyID, patientID string }

func decodeGrantRef(r *http.Request) (grantRef, error) {
	q := r.URL.Query()
	return grantRef{proxyID: q.Get("proxy_id"), patientID: q.Get("patient_id")}, nil
}

type reportQuery struct {
	clinicID string
	from, to time.Time
}

// decodeReportQuery reads from and to, each a date (YYYY-MM-DD, midnight UTC) or an
// RFC 3339 time.
func decodeReportQuery(r *http.Request) (reportQuery, error) {
	id, err := pathID("id")(r)
	if err != nil {
		return reportQuery{}, err
	}
	q := reportQuery{clinicID: id}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.from}, {"to", &q.to}} {
		s := r.URL.Query().Get(p.name)
		if s == "" {
			return reportQuery{}, errs.Field(errs.Invalid, p.name, "required: a date YYYY-MM-DD or an RFC 3339 time")
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, s); err != nil {
				return reportQuery{}, errs.Field(errs.Invalid, p.name, "must be a date YYYY-MM-DD or an RFC 3339 time")
			}
		}
		*p.dst = t
	}
	return q, nil
}

// serveAttachment answers with an attachment's content, decrypted, as a download:
// never rendered by a browser in the API's origin, never cached.
func serveAttachment(s *Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := principal.Require(r.Context())
		if err != nil {
			httpapi.WriteError(w, r, log, err)
			return
		}
		ids := make([]string, 3)
		for i, name := range []string{"id", "mid", "aid"} {
			if ids[i], err = pathID(name)(r); err != nil {
				httpapi.WriteError(w, r, log, err)
				return
			}
		}
		f, err := s.AttachmentFile(r.Context(), p, ids[0], ids[1], ids[2])
		if err != nil {
			httpapi.WriteError(w, r, log, err)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.ContentType)
		h.Set("Content-Length", strconv.Itoa(len(f.Data)))
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Name.Reveal()}))
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		_, _ = w.Write(f.Data)
	})
}
