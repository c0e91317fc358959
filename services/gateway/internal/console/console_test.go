package console

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/services/gateway/internal/audit"
	"github.com/attest-ehr/attest/services/gateway/internal/guard"
	"github.com/attest-ehr/attest/services/gateway/internal/session"
	"github.com/attest-ehr/attest/services/gateway/internal/signin"
)

// fakeAPI answers the console's calls from a table of path → JSON body (status 200),
// and 404 for anything else, as a deployment without that route would.
type fakeAPI map[string]any

func (f fakeAPI) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	body, ok := f[r.URL.Host+r.URL.Path]
	if h, isHandler := body.(http.HandlerFunc); isHandler { // an answer that depends on the query
		rec := httptest.NewRecorder()
		h(rec, r)
		return rec.Result(), nil
	}
	if !ok {
		rec.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(rec, `{"error":{"code":"not_found","message":"no such route"}}`)
		return rec.Result(), nil
	}
	if code, isCode := body.(int); isCode {
		rec.WriteHeader(code)
		_, _ = io.WriteString(rec, `{"error":{"code":"forbidden","message":"outside your scope"}}`)
		return rec.Result(), nil
	}
	_ = json.NewEncoder(rec).Encode(body)
	return rec.Result(), nil
}

func newConsole(t *testing.T, f fakeAPI) *Console {
	t.Helper()
	return New(Options{Services: []string{"metrics"}, Client: &http.Client{Transport: f},
		Log:   slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Audit: func(context.Context, audit.Query) ([]audit.Record, error) { return nil, nil },
		EntityClinics: func(_ context.Context, e string) ([]string, error) {
			if e == "tin:111111111" {
				return []string{"north"}, nil
			}
			return []string{"south"}, nil
		},
		Now: func() time.Time { return time.Date(2025, 11, 20, 12, 0, 0, 0, time.UTC) }})
}

// as serves h as the principal p (what the guard does for a signed-in user).
func as(p principal.Principal, h http.HandlerFunc, target string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", target, nil)
	ctx := guard.WithCaller(req.Context(), &signin.Caller{Principal: p, Session: &session.Session{CSRF: "tok"}})
	rec := httptest.NewRecorder()
	h(rec, req.WithContext(ctx))
	return rec
}

var officer = principal.Principal{Kind: principal.Officer, ID: "u-1"}

func TestCompliancePage(t *testing.T) {
	f := fakeAPI{
		"metrics/readyz": map[string]string{"status": "ok"},
		"metrics/v1/measures": map[string]any{"measures": []map[string]any{
			{"id": "PI_EP_1", "title": "e-Prescribing", "kind": "proportion", "threshold": "> 0%", "computed": true},
			{"id": "PI_PEA_1", "title": "Provide Patients Electronic Access", "kind": "proportion", "threshold": "> 50%", "computed": true},
			{"id": "PI_YN", "title": "Security risk analysis", "kind": "yes-no", "computed": false},
		}},
		"metrics/v1/numbers": map[string]any{"numerator": 52, "denominator": 100, "threshold": "> 50%", "met": true},
	}
	c := newConsole(t, f)
	for _, tc := range []struct {
		name, target string
		status       int
		want, reject []string
	}{
		{"no entity", "/compliance", 200, []string{"Measures</h1>", `<th scope="row">metrics</th><td><span class="ok">ready`}, []string{"tile"}},
		{"tiles from metrics", "/compliance?entity=tin:111111111&year=2025", 200,
			[]string{"Measures for tin:111111111", "52.0%", "= 52 / 100", "⚠", "At risk", "data current as of",
				"Score, points and payment: not available", "/panels/spark?", "/members?", `name="csrf" value="tok"`},
			[]string{"Security risk analysis"}},
		{"90 days", "/compliance?entity=tin:111111111&year=2025&period=90&start=2025-03-01", 200,
			[]string{"Period 2025-03-01 to 2025-05-29"}, nil},
		{"bad entity", "/compliance?entity=bob", 400, []string{"Field <code>entity</code>"}, nil},
		{"bad period", "/compliance?entity=tin:111111111&year=2025&period=90&start=2025-12-01", 400, []string{"<code>start</code>", "within 2025"}, nil},
		{"custom backwards", "/compliance?entity=tin:111111111&year=2025&period=custom&from=2025-05-01&to=2025-04-01", 400, []string{"<code>to</code>"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := as(officer, c.Compliance, tc.target)
			body := rec.Body.String()
			if rec.Code != tc.status || rec.Header().Get("Cache-Control") != "no-store" {
				t.Fatalf("status %d (want %d), Cache-Control %q\n%s", rec.Code, tc.status, rec.Header().Get("Cache-Control"), body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tc.reject {
				if strings.Contains(body, w) {
					t.Errorf("page has %q", w)
				}
			}
		})
	}
}

// testWriter sends the console's log to the test's.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// asPath is as with the {name} path value set, as the mux would.
func asPath(p principal.Principal, h http.HandlerFunc, target, name string) *httptest.ResponseRecorder {
	return as(p, func(w http.ResponseWriter, r *http.Request) {
		r.SetPathValue("name", name)
		h(w, r)
	}, target)
}
