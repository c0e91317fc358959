package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/metric"
	"go.uber.org/goleak"

	"github.com/attest-ehr/attest/libs/telemetry"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// syncBuffer is a bytes.Buffer safe for the exporters' goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is a Getenv over a map.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

type fixture struct {
	tel     *telemetry.Telemetry
	logs    *syncBuffer
	console *syncBuffer
}

// newTelemetry builds a Telemetry over vars and shuts it down at cleanup.
func newTelemetry(t *testing.T, vars map[string]string) fixture {
	t.Helper()
	f := fixture{logs: &syncBuffer{}, console: &syncBuffer{}}
	tel, err := telemetry.New(context.Background(), telemetry.Config{
		Service: "records", Getenv: env(vars), LogOut: f.logs, ConsoleOut: f.console,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.tel = tel
	t.Cleanup(func() {
		if err := tel.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return f
}

// lines decodes the JSON log lines in s.
func lines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestTracesOffByDefaultButLogsCarryIDs(t *testing.T) {
	for _, sampler := range []string{"", "always_off", "parentbased_traceidratio"} {
		t.Run("sampler="+sampler, func(t *testing.T) {
			f := newTelemetry(t, map[string]string{"OTEL_TRACES_SAMPLER": sampler, "OTEL_TRACES_SAMPLER_ARG": "0.5"})
			ctx, span := f.tel.Tracing.Tracer("test").Start(context.Background(), "work")
			f.tel.Log.InfoContext(ctx, "inside")
			span.End()
			if err := f.tel.Shutdown(context.Background()); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}

			got := lines(t, f.logs.String())
			if len(got) != 1 {
				t.Fatalf("got %d log lines, want 1: %s", len(got), f.logs.String())
			}
			sc := span.SpanContext()
			if got[0]["trace_id"] != sc.TraceID().String() || got[0]["span_id"] != sc.SpanID().String() {
				t.Errorf("log line %v lacks the span's IDs %s/%s", got[0], sc.TraceID(), sc.SpanID())
			}
			if got[0]["service"] != "records" {
				t.Errorf("service = %v, want records", got[0]["service"])
			}
			if f.console.String() != "" {
				t.Errorf("console output without OTEL_TRACES_EXPORTER: %s", f.console.String())
			}
		})
	}
}

func TestConsoleExportersOnRequest(t *testing.T) {
	f := newTelemetry(t, map[string]string{"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "console,prometheus"})
	_, span := f.tel.Tracing.Tracer("test").Start(context.Background(), "console-span")
	span.End()
	c, err := f.tel.Metrics.Meter("test").Int64Counter("console.counter")
	if err != nil {
		t.Fatal(err)
	}
	c.Add(context.Background(), 1)
	if err := f.tel.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	out := f.console.String()
	for _, want := range []string{`"Name":"console-span"`, `"Name":"console.counter"`, `"Value":"records"`} {
		if !strings.Contains(out, want) {
			t.Errorf("console output lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(f.logs.String(), "console-span") {
		t.Errorf("span went to the log stream")
	}
}

// TestOTLP sends spans to a fake collector. The endpoint comes from the process
// environment: the OTLP exporter reads its connection settings itself.
func TestOTLP(t *testing.T) {
	var got atomic.Int32
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/traces" {
			got.Add(1)
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)

	f := newTelemetry(t, map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"})
	_, span := f.tel.Tracing.Tracer("test").Start(context.Background(), "exported")
	span.End()
	if err := f.tel.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if got.Load() == 0 {
		t.Errorf("the collector received no spans")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name    string
		service string
		vars    map[string]string
		want    []string // substrings of the error: the variables at fault
	}{
		{"log level", "svc", map[string]string{"LOG_LEVEL": "loud"}, []string{"LOG_LEVEL"}},
		{"traces exporter", "svc", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, []string{"OTEL_TRACES_EXPORTER", "zipkin"}},
		{"metrics exporter", "svc", map[string]string{"OTEL_METRICS_EXPORTER": "otlp,statsd"}, []string{"OTEL_METRICS_EXPORTER", "statsd"}},
		{"protocol", "svc", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, []string{"OTEL_EXPORTER_OTLP_PROTOCOL"}},
		{"signal protocol", "svc", map[string]string{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "udp"}, []string{"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"}},
		{"sampler", "svc", map[string]string{"OTEL_TRACES_SAMPLER": "xray"}, []string{"OTEL_TRACES_SAMPLER", "xray"}},
		{"sampler arg", "svc", map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}, []string{"OTEL_TRACES_SAMPLER_ARG"}},
		{"resource attributes", "svc", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "a=1,broken"}, []string{"OTEL_RESOURCE_ATTRIBUTES", "entry 2"}},
		{"no service", "", nil, []string{"OTEL_SERVICE_NAME", "Config.Service"}},
		{"all at once", "svc", map[string]string{"LOG_LEVEL": "x", "OTEL_TRACES_EXPORTER": "y"}, []string{"LOG_LEVEL", "OTEL_TRACES_EXPORTER"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel, err := telemetry.New(context.Background(), telemetry.Config{Service: tt.service, Getenv: env(tt.vars), LogOut: io.Discard})
			if err == nil {
				_ = tel.Shutdown(context.Background())
				t.Fatal("New succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
}

func TestProtocolIgnoredWithoutOTLP(t *testing.T) {
	// Another SDK in the same environment may use http/json; it matters only when
	// this process exports OTLP.
	newTelemetry(t, map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_TRACES_EXPORTER": "none"})
}

func TestServiceName(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"config", nil, "records"},
		{"resource attributes", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=rec%20a,team=x"}, "rec a"},
		{"OTEL_SERVICE_NAME wins", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=a", "OTEL_SERVICE_NAME": "records-canary"}, "records-canary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTelemetry(t, tt.vars)
			if f.tel.Service != tt.want {
				t.Errorf("Service = %q, want %q", f.tel.Service, tt.want)
			}
			f.tel.Log.Info("hello")
			if got := lines(t, f.logs.String())[0]["service"]; got != tt.want {
				t.Errorf("log service = %v, want %q", got, tt.want)
			}
			rec := httptest.NewRecorder()
			f.tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			if want := `service_name="` + tt.want + `"`; !strings.Contains(rec.Body.String(), want) {
				t.Errorf("target_info lacks %s", want)
			}
		})
	}
}

func TestLogLevel(t *testing.T) {
	tests := []struct {
		level string
		want  []string // messages that get through, of debug, info, warn, error
	}{
		{"", []string{"info", "warn", "error"}},
		{"debug", []string{"debug", "info", "warn", "error"}},
		{"INFO", []string{"info", "warn", "error"}},
		{"warn", []string{"warn", "error"}},
		{"error", []string{"error"}},
	}
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			f := newTelemetry(t, map[string]string{"LOG_LEVEL": tt.level})
			f.tel.Log.Debug("debug")
			f.tel.Log.Info("info")
			f.tel.Log.Warn("warn")
			f.tel.Log.Error("error")
			var got []string
			for _, l := range lines(t, f.logs.String()) {
				got = append(got, l["msg"].(string))
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("logged %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMetricsHandler(t *testing.T) {
	f := newTelemetry(t, nil)
	c, err := f.tel.Metrics.Meter("test").Int64Counter("widgets.made", metric.WithUnit("{widget}"))
	if err != nil {
		t.Fatal(err)
	}
	c.Add(context.Background(), 3)

	rec := httptest.NewRecorder()
	f.tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	body := rec.Body.String()
	for _, want := range []string{"widgets_made_total{", "} 3\n", "go_goroutines ", "process_cpu_seconds_total", "target_info{"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestTwoInstancesDoNotShareMetrics(t *testing.T) {
	a, b := newTelemetry(t, nil), newTelemetry(t, nil)
	c, _ := a.tel.Metrics.Meter("test").Int64Counter("only.in.a")
	c.Add(context.Background(), 1)
	rec := httptest.NewRecorder()
	b.tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if strings.Contains(rec.Body.String(), "only_in_a") {
		t.Errorf("a's metric shows on b's handler: the registry is shared")
	}
}

func TestShutdownTwice(t *testing.T) {
	f := newTelemetry(t, map[string]string{"OTEL_TRACES_EXPORTER": "console"})
	for i := range 2 {
		if err := f.tel.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown #%d: %v", i+1, err)
		}
	}
}
