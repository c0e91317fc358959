package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/telemetry"
)

// patientID is an ID in request paths; it must never become a label.
const patientID = "p-7Q4Z9"

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type instrumented struct {
	tel  *telemetry.Telemetry
	logs *lockedBuffer
}

func newTelemetry(t *testing.T) instrumented {
	t.Helper()
	logs := &lockedBuffer{}
	tel, err := telemetry.New(context.Background(), telemetry.Config{
		Service: "records", Getenv: func(k string) string { return map[string]string{"LOG_LEVEL": "debug"}[k] }, LogOut: logs,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return instrumented{tel: tel, logs: logs}
}

func (in instrumented) wrap(service string, h http.Handler) http.Handler {
	return httpapi.Instrument(service, h, in.tel.Tracing, in.tel.Metrics, in.tel.Log)
}

// scrape returns the Prometheus text exposition.
func (in instrumented) scrape(t *testing.T) string {
	t.Helper()
	rec := httptest.NewRecorder()
	in.tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d", rec.Code)
	}
	return rec.Body.String()
}

// sample finds the value of the series name{labels…} in a Prometheus text
// exposition; other labels may be present.
func sample(body, name string, labels map[string]string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
next:
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		end := strings.LastIndexByte(line, '}')
		for k, v := range labels {
			if !strings.Contains(line[:end], k+`="`+v+`"`) {
				continue next
			}
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
		return f, err == nil
	}
	return 0, false
}

func serve(h http.Handler, method, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

func TestInstrumentREDMetrics(t *testing.T) {
	in := newTelemetry(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/patients/{id}", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id")})
	})
	mux.HandleFunc("POST /v1/patients", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusCreated) })
	mux.HandleFunc("GET /v1/fail/{id}", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, r, nil, context.DeadlineExceeded)
	})
	h := in.wrap("records", mux)

	serve(h, "GET", "/v1/patients/"+patientID)
	serve(h, "GET", "/v1/patients/"+patientID+"x")
	serve(h, "POST", "/v1/patients")
	serve(h, "GET", "/v1/fail/"+patientID)
	serve(h, "GET", "/no/such/"+patientID)
	serve(h, "BREW", "/v1/patients")

	body := in.scrape(t)
	if strings.Contains(body, patientID) {
		t.Errorf("a raw path reached the metrics:\n%s", body)
	}
	tests := []struct {
		name   string
		metric string
		labels map[string]string
		want   float64
	}{
		{"requests by route", "http_server_requests_total", map[string]string{
			"service": "records", "http_request_method": "GET", "http_route": "/v1/patients/{id}", "http_response_status_code": "200",
		}, 2},
		{"POST", "http_server_requests_total", map[string]string{
			"http_request_method": "POST", "http_route": "/v1/patients", "http_response_status_code": "201",
		}, 1},
		{"unmatched", "http_server_requests_total", map[string]string{
			"http_route": "unmatched", "http_response_status_code": "404",
		}, 1},
		{"odd method", "http_server_requests_total", map[string]string{
			"http_request_method": "_OTHER", "http_response_status_code": "405",
		}, 1},
		{"errors are 5xx", "http_server_errors_total", map[string]string{
			"http_route": "/v1/fail/{id}", "http_response_status_code": "503",
		}, 1},
		{"duration count", "http_server_request_duration_seconds_count", map[string]string{
			"service": "records", "http_route": "/v1/patients/{id}",
		}, 2},
		{"duration buckets", "http_server_request_duration_seconds_bucket", map[string]string{
			"http_route": "/v1/patients/{id}", "le": "+Inf",
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := sample(body, tt.metric, tt.labels)
			if !ok || got != tt.want {
				t.Errorf("%s%v = %v (found %v), want %v\n%s", tt.metric, tt.labels, got, ok, tt.want, grep(body, "http_server"))
			}
		})
	}
	if _, ok := sample(body, "http_server_errors_total", map[string]string{"http_response_status_code": "200"}); ok {
		t.Errorf("a 200 was counted as an error")
	}
}

// grep keeps body's lines containing s, for failure messages.
func grep(body, s string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, s) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestInstrumentNestedRoutes(t *testing.T) {
	in := newTelemetry(t)
	ok := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }

	records := http.NewServeMux()
	records.HandleFunc("GET /v1/patients/{id}", ok)
	education := http.NewServeMux()
	education.HandleFunc("GET /v1/topics/{code}", ok)
	reporting := http.NewServeMux()
	reporting.HandleFunc("GET /v1/seen/{id}", ok)
	plain := http.NewServeMux()
	plain.HandleFunc("GET /v1/plain/{id}", ok)

	root := http.NewServeMux()
	// Behind StripPrefix, with a Route wrapper.
	root.Handle("/records/", http.StripPrefix("/records", httpapi.Route(httpapi.LimitBody(100, records))))
	// Behind StripPrefix, with its own Instrument: route and service come from it.
	root.Handle("/education/", http.StripPrefix("/education", in.wrap("education", education)))
	// Under LimitBody, which passes the same request down: no wrapper needed.
	root.Handle("/v1/seen/", httpapi.LimitBody(100, reporting))
	// Behind StripPrefix without any wrapper: only the parent's pattern is known.
	root.Handle("/plain/", http.StripPrefix("/plain", plain))
	h := in.wrap("platform", root)

	for _, p := range []string{"/records/v1/patients/", "/education/v1/topics/", "/v1/seen/", "/plain/v1/plain/"} {
		if rec := serve(h, "GET", p+patientID); rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", p, rec.Code)
		}
	}
	body := in.scrape(t)
	tests := []struct{ service, route string }{
		{"platform", "/v1/patients/{id}"},
		{"education", "/v1/topics/{code}"},
		{"platform", "/v1/seen/{id}"},
		{"platform", "/plain/"},
	}
	for _, tt := range tests {
		labels := map[string]string{"service": tt.service, "http_route": tt.route}
		if got, ok := sample(body, "http_server_requests_total", labels); !ok || got != 1 {
			t.Errorf("requests%v = %v, %v; want 1\n%s", labels, got, ok, grep(body, "http_server_requests_total"))
		}
	}
	if strings.Contains(body, patientID) {
		t.Errorf("a raw path reached the metrics")
	}
}

func TestInstrumentRecoversPanics(t *testing.T) {
	in := newTelemetry(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/boom/{id}", func(http.ResponseWriter, *http.Request) {
		panic("boom") // a handler bug
	})
	mux.HandleFunc("GET /v1/ok", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := in.wrap("records", mux)

	rec := serve(h, "GET", "/v1/boom/"+patientID)
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", rec.Code)
	}
	if got := strings.TrimSpace(rec.Body.String()); got != `{"error":{"code":"internal","message":"internal error"}}` {
		t.Errorf("body %s", got)
	}
	if rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type %q", rec.Header().Get("Content-Type"))
	}
	logs := in.logs.String()
	for _, want := range []string{`"msg":"panic serving request"`, "boom", `"stack":"goroutine`, `"route":"/v1/boom/{id}"`, `"trace_id":`} {
		if !strings.Contains(logs, want) {
			t.Errorf("panic log lacks %s:\n%s", want, logs)
		}
	}
	if rec := serve(h, "GET", "/v1/ok"); rec.Code != http.StatusNoContent {
		t.Errorf("after a panic: %d", rec.Code)
	}
	if got, ok := sample(in.scrape(t), "http_server_errors_total", map[string]string{"http_route": "/v1/boom/{id}", "http_response_status_code": "500"}); !ok || got != 1 {
		t.Errorf("panic not counted as a 500: %v %v", got, ok)
	}
}

// TestInstrumentAbortsStartedResponse checks that a panic after the response began
// cuts the connection, so the client cannot mistake the partial body for a whole.
func TestInstrumentAbortsStartedResponse(t *testing.T) {
	in := newTelemetry(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/export", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		_, _ = io.WriteString(w, "{\"n\":1}\n")
		http.NewResponseController(w).Flush()
		panic("export broke")
	})
	srv := httptest.NewServer(in.wrap("records", mux))
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL + "/v1/export")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Errorf("the client read a complete body; want the connection aborted")
	}
	if !strings.Contains(in.logs.String(), "export broke") {
		t.Errorf("panic not logged")
	}
	if got, ok := sample(in.scrape(t), "http_server_errors_total", map[string]string{"http_route": "/v1/export"}); !ok || got != 1 {
		t.Errorf("aborted response not counted as an error")
	}
}

func TestInstrumentRequestID(t *testing.T) {
	in := newTelemetry(t)
	var seen string
	h := in.wrap("records", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = httpapi.RequestID(r.Context())
	}))
	tests := []struct {
		name, in string
		kept     bool
	}{
		{"sane", "req-1.2_3:4", true},
		{"uuid", "0191e5a4-5b1c-7c3e-9f00-123456789abc", true},
		{"absent", "", false},
		{"spaces", "a b", false},
		{"injection", "x\r\nSet-Cookie: a=b", false},
		{"too long", strings.Repeat("a", 129), false},
		{"PHI-ish", "name=Ada%20King", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.in != "" {
				r.Header["X-Request-Id"] = []string{tt.in}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			got := rec.Header().Get("X-Request-ID")
			if got != seen {
				t.Errorf("header %q, RequestID %q", got, seen)
			}
			if tt.kept && got != tt.in || !tt.kept && (got == tt.in || len(got) < 16) {
				t.Errorf("X-Request-ID %q for incoming %q (kept: %v)", got, tt.in, tt.kept)
			}
		})
	}
}

func TestInstrumentSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	child := http.NewServeMux()
	child.HandleFunc("GET /v1/patients/{id}", func(http.ResponseWriter, *http.Request) {})
	root := http.NewServeMux()
	root.Handle("/records/", http.StripPrefix("/records", httpapi.Route(child)))
	h := httpapi.Instrument("records", root, tp, nil, slog.New(slog.DiscardHandler))

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	r := httptest.NewRequest(http.MethodGet, "/records/v1/patients/"+patientID, nil)
	r.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	h.ServeHTTP(httptest.NewRecorder(), r)

	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	s := spans[0]
	if s.Name() != "GET /v1/patients/{id}" {
		t.Errorf("span name %q", s.Name())
	}
	if s.SpanContext().TraceID().String() != traceID {
		t.Errorf("trace %s: the incoming traceparent was not continued", s.SpanContext().TraceID())
	}
	var route string
	for _, a := range s.Attributes() {
		if a.Key == "http.route" {
			route = a.Value.AsString()
		}
	}
	if route != "/v1/patients/{id}" {
		t.Errorf("http.route = %q", route)
	}
}

func TestInstrumentNilProviders(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) })
	if rec := serve(httpapi.Instrument("s", mux, nil, nil, nil), "GET", "/x"); rec.Code != http.StatusAccepted {
		t.Errorf("status %d", rec.Code)
	}
}
