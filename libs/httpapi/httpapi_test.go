package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
)

func TestStatusOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, 200},
		{"Invalid", errs.E(errs.Invalid, "x"), 400},
		{"Unprocessable", errs.E(errs.Unprocessable, "x"), 422},
		{"NotFound", errs.E(errs.NotFound, "x"), 404},
		{"Conflict", errs.E(errs.Conflict, "x"), 409},
		{"Unauthenticated", errs.E(errs.Unauthenticated, "x"), 401},
		{"Forbidden", errs.E(errs.Forbidden, "x"), 403},
		{"TooLarge", errs.E(errs.TooLarge, "x"), 413},
		{"UnsupportedMediaType", errs.E(errs.UnsupportedMediaType, "x"), 415},
		{"RateLimited", errs.E(errs.RateLimited, "x"), 429},
		{"Unavailable", errs.E(errs.Unavailable, "x"), 503},
		{"Other", errs.E(errs.Other, "x"), 500},
		{"plain error", errors.New("x"), 500},
		{"wrapped kind", fmt.Errorf("load: %w", errs.Field(errs.NotFound, "id", "x")), 404},
		{"kind wins over context", errs.Wrap(errs.Unavailable, context.Canceled, "db"), 503},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), 503},
		{"canceled", fmt.Errorf("query: %w", context.Canceled), 408},
		{"Other wrapping canceled", errs.Wrap(errs.Other, context.Canceled, "db"), 408},
		{"max bytes", &http.MaxBytesError{Limit: 10}, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := httpapi.StatusOf(tt.err); got != tt.want {
				t.Errorf("StatusOf(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestWriteError(t *testing.T) {
	secret := "dial postgres://app:s3cret@db:5432 for patient ZZCANARY"
	tests := []struct {
		name     string
		err      error
		status   int
		body     string
		logged   bool // the real error is in the log
		notInLog string
	}{
		{
			name:   "field error",
			err:    fmt.Errorf("register: %w", errs.Field(errs.Invalid, "names[0].family", "required")),
			status: 400, body: `{"error":{"code":"invalid","message":"required","field":"names[0].family"}}`,
		},
		{
			name:   "no field",
			err:    errs.E(errs.NotFound, "no such patient"),
			status: 404, body: `{"error":{"code":"not_found","message":"no such patient"}}`,
		},
		{
			name:   "4xx hides wrapped text",
			err:    errs.Wrap(errs.Conflict, errors.New(secret), "already registered"),
			status: 409, body: `{"error":{"code":"conflict","message":"already registered"}}`,
			notInLog: secret,
		},
		{
			name:   "4xx without message",
			err:    errs.Wrap(errs.Forbidden, errors.New(secret), ""),
			status: 403, body: `{"error":{"code":"forbidden","message":"Forbidden"}}`,
		},
		{
			name:   "internal",
			err:    fmt.Errorf("save: %w", errors.New(secret)),
			status: 500, body: `{"error":{"code":"internal","message":"internal error"}}`, logged: true,
		},
		{
			name:   "internal with kind and field",
			err:    errs.Field(errs.Other, "id", "%s", secret),
			status: 500, body: `{"error":{"code":"internal","message":"internal error"}}`, logged: true,
		},
		{
			name:   "unavailable",
			err:    errs.Wrap(errs.Unavailable, errors.New(secret), "database down"),
			status: 503, body: `{"error":{"code":"unavailable","message":"service unavailable"}}`, logged: true,
		},
		{
			name:   "deadline",
			err:    fmt.Errorf("%s: %w", secret, context.DeadlineExceeded),
			status: 503, body: `{"error":{"code":"unavailable","message":"service unavailable"}}`, logged: true,
		},
		{
			name:   "canceled",
			err:    context.Canceled,
			status: 408, body: `{"error":{"code":"canceled","message":"request canceled"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, via := range []string{"WriteError", "ErrorEncoder"} {
				var logs bytes.Buffer
				log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				rec := httptest.NewRecorder()
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				if via == "WriteError" {
					httpapi.WriteError(rec, r, log, tt.err)
				} else {
					httpapi.ErrorEncoder(log)(r.Context(), tt.err, rec)
				}
				if rec.Code != tt.status {
					t.Errorf("%s: status %d, want %d", via, rec.Code, tt.status)
				}
				if got := strings.TrimSpace(rec.Body.String()); got != tt.body {
					t.Errorf("%s: body %s, want %s", via, got, tt.body)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("%s: Content-Type %q", via, ct)
				}
				if rec.Header().Get("Cache-Control") != "no-store" {
					t.Errorf("%s: Cache-Control %q, want no-store", via, rec.Header().Get("Cache-Control"))
				}
				if tt.logged != strings.Contains(logs.String(), secret) {
					t.Errorf("%s: real error logged = %v, want %v: %s", via, !tt.logged, tt.logged, logs.String())
				}
				if tt.notInLog != "" && strings.Contains(logs.String(), tt.notInLog) {
					t.Errorf("%s: log holds the wrapped text: %s", via, logs.String())
				}
			}
		})
	}
}

func TestWriteErrorNilLogger(t *testing.T) {
	rec := httptest.NewRecorder()
	httpapi.WriteError(rec, httptest.NewRequest(http.MethodGet, "/", nil), nil, errors.New("boom"))
	if rec.Code != 500 {
		t.Errorf("status %d", rec.Code)
	}
}

func TestWriteJSON(t *testing.T) {
	tests := []struct {
		name   string
		preset string // Cache-Control set by the handler
		v      any
		status int
		body   string
		cache  string
	}{
		{"object", "", map[string]int{"n": 1}, 200, `{"n":1}`, "no-store"},
		{"handler's cache header kept", "public, max-age=60", []string{"a"}, 200, `["a"]`, "public, max-age=60"},
		{"HTML escaped", "", "<script>", 200, `"\u003cscript\u003e"`, "no-store"},
		{"unencodable", "", map[string]any{"f": func() {}}, 500, `{"error":{"code":"internal","message":"internal error"}}`, "no-store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if tt.preset != "" {
				rec.Header().Set("Cache-Control", tt.preset)
			}
			httpapi.WriteJSON(rec, 200, tt.v)
			if rec.Code != tt.status || strings.TrimSpace(rec.Body.String()) != tt.body {
				t.Errorf("got %d %s, want %d %s", rec.Code, rec.Body.String(), tt.status, tt.body)
			}
			if rec.Header().Get("Cache-Control") != tt.cache || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers %v", rec.Header())
			}
		})
	}
}

type created struct {
	ID string `json:"id"`
}

func (created) StatusCode() int { return http.StatusCreated }
func (c created) Headers() http.Header {
	return http.Header{"Location": {"/v1/things/" + c.ID}}
}

type failing struct {
	Err error `json:"-"`
}

func (f failing) Failed() error { return f.Err }

type thingRequest struct {
	ID   string
	Name string `json:"name"`
}

// TestNewServer runs go-kit servers built by NewServer on a ServeMux, as services do.
func TestNewServer(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	decode := func(_ context.Context, r *http.Request) (any, error) {
		var req thingRequest
		if err := httpapi.DecodeJSON(r, &req); err != nil {
			return nil, err
		}
		req.ID = r.PathValue("id")
		return req, nil
	}
	noBody := func(context.Context, *http.Request) (any, error) { return nil, nil }
	mux := http.NewServeMux()
	mux.Handle("PUT /v1/things/{id}", httpapi.NewServer(func(_ context.Context, req any) (any, error) {
		r := req.(thingRequest)
		if r.Name == "taken" {
			return failing{Err: errs.Field(errs.Conflict, "name", "already in use")}, nil
		}
		return created{ID: r.ID}, nil
	}, decode, log))
	mux.Handle("DELETE /v1/things/{id}", httpapi.NewServer(func(context.Context, any) (any, error) { return nil, nil }, noBody, log))
	mux.Handle("GET /v1/broken", httpapi.NewServer(func(context.Context, any) (any, error) {
		return map[string]any{"c": make(chan int)}, nil
	}, noBody, log))
	mux.Handle("GET /v1/down", httpapi.NewServer(func(context.Context, any) (any, error) {
		return nil, errs.Wrap(errs.Unavailable, errors.New("redis refused"), "cache")
	}, noBody, log))

	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
		location                 string
	}{
		{"created", "PUT", "/v1/things/t1", `{"name":"a"}`, 201, `{"id":"t1"}`, "/v1/things/t1"},
		{"decode error", "PUT", "/v1/things/t1", `{"name":"a","extra":1}`, 400, `{"error":{"code":"invalid","message":"unknown field","field":"extra"}}`, ""},
		{"Failer", "PUT", "/v1/things/t1", `{"name":"taken"}`, 409, `{"error":{"code":"conflict","message":"already in use","field":"name"}}`, ""},
		{"nil response", "DELETE", "/v1/things/t1", ``, 204, ``, ""},
		{"unencodable response", "GET", "/v1/broken", ``, 500, `{"error":{"code":"internal","message":"internal error"}}`, ""},
		{"endpoint error", "GET", "/v1/down", ``, 503, `{"error":{"code":"unavailable","message":"service unavailable"}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, r)
			if rec.Code != tt.status || strings.TrimSpace(rec.Body.String()) != tt.want {
				t.Errorf("got %d %s, want %d %s", rec.Code, rec.Body.String(), tt.status, tt.want)
			}
			if got := rec.Header().Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
		})
	}
	for _, want := range []string{"redis refused", "chan int"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the 5xx cause %q was not logged: %s", want, logs.String())
		}
	}
}

func TestErrorBodyShape(t *testing.T) {
	rec := httptest.NewRecorder()
	httpapi.WriteError(rec, httptest.NewRequest(http.MethodGet, "/", nil), nil, errs.Field(errs.Invalid, "a.b", "bad"))
	var got httpapi.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := httpapi.ErrorBody{Error: httpapi.ErrorDetail{Code: "invalid", Message: "bad", Field: "a.b"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}
