package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
)

func TestHealthz(t *testing.T) {
	mux := http.NewServeMux()
	httpapi.Health(mux, httpapi.Check{Name: "db", Fn: func(context.Context) error { return errors.New("down") }})
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(method, "/healthz", nil))
		if rec.Code != http.StatusOK {
			t.Errorf("%s /healthz: %d, want 200 even with a failing readiness check", method, rec.Code)
		}
		if method == http.MethodGet && strings.TrimSpace(rec.Body.String()) != `{"status":"ok"}` {
			t.Errorf("body %s", rec.Body.String())
		}
	}
}

// refused is an address nothing listens on.
func refused(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestReadyz(t *testing.T) {
	addr := refused(t)
	dial := func(ctx context.Context) error {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	}
	ok := func(context.Context) error { return nil }

	// Each of these two checks waits for the other to start: they pass only if
	// they run concurrently.
	var both sync.WaitGroup
	both.Add(2)
	together := func(ctx context.Context) error {
		both.Done()
		done := make(chan struct{})
		go func() { both.Wait(); close(done) }()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	tests := []struct {
		name   string
		checks []httpapi.Check
		status int
		body   map[string]any
	}{
		{
			name:   "no checks",
			status: 200, body: map[string]any{"status": "ready", "checks": map[string]any{}},
		},
		{
			name:   "all ok, run concurrently",
			checks: []httpapi.Check{{Name: "db", Fn: ok}, {Name: "a", Fn: together}, {Name: "b", Fn: together}},
			status: 200, body: map[string]any{"status": "ready", "checks": map[string]any{"db": "ok", "a": "ok", "b": "ok"}},
		},
		{
			name: "failures, scrubbed",
			checks: []httpapi.Check{
				{Name: "db", Fn: ok},
				{Name: "broker", Fn: dial},
				{Name: "redis", Fn: func(context.Context) error {
					return fmt.Errorf("ping redis://default:hunter2@cache:6379: %w", context.DeadlineExceeded)
				}},
				{Name: "store", Fn: func(context.Context) error {
					return errors.New("open postgres://app:hunter2@db/x?sslmode=disable password=hunter2: refused")
				}},
				{Name: "kind", Fn: func(context.Context) error { return errs.E(errs.Unavailable, "migrations not applied") }},
				{Name: "panics", Fn: func(context.Context) error { panic("oops") }},
				{Name: "nil", Fn: nil},
			},
			status: 503,
			body: map[string]any{"status": "not ready", "checks": map[string]any{
				"db":     "ok",
				"broker": "failed: connection refused",
				"redis":  "failed: timeout",
				"store":  "failed: open postgres://***@db/x?sslmode=disable password=*** refused",
				"kind":   "failed: migrations not applied",
				"panics": "failed: panic",
				"nil":    "failed: no check function",
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			httpapi.Health(mux, tt.checks...)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			var got map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", rec.Body.String(), err)
			}
			if diff := cmp.Diff(tt.body, got); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if strings.Contains(rec.Body.String(), "hunter2") {
				t.Errorf("a secret reached the body: %s", rec.Body.String())
			}
		})
	}
}

func TestReadyzCheckGetsDeadline(t *testing.T) {
	var got time.Duration
	mux := http.NewServeMux()
	httpapi.Health(mux, httpapi.Check{Name: "db", Fn: func(ctx context.Context) error {
		d, ok := ctx.Deadline()
		if !ok {
			return errors.New("no deadline")
		}
		got = time.Until(d)
		return nil
	}})
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != 200 || got <= 0 || got > httpapi.CheckTimeout {
		t.Errorf("status %d, deadline in %v; want 200 and at most %v", rec.Code, got, httpapi.CheckTimeout)
	}
}
