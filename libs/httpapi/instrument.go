package httpapi

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/attest-ehr/attest/libs/errs"
)

// meterName is the instrumentation scope of the RED metrics.
const meterName = "github.com/attest-ehr/attest/libs/httpapi"

// durationBuckets are OpenTelemetry's recommended boundaries for
// http.server.request.duration, in seconds.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// Instrument wraps a service's whole handler (usually its root ServeMux) with:
//
//   - an OpenTelemetry server span per request (otelhttp, with tp and the W3C
//     TraceContext propagator, never the globals), named "METHOD /route". The span
//     records url.path but not the query: keep PHI out of paths;
//   - RED metrics on mp: http.server.requests and http.server.errors (5xx
//     answers: the server's failures, not the client's) counters and the
//     http.server.request.duration histogram (seconds), with the attributes
//     service, http.request.method (unknown methods as _OTHER),
//     http.response.status_code and http.route;
//   - an X-Request-ID: a sane incoming one (1 to 128 of A-Z a-z 0-9 . _ : -) is
//     kept, anything else replaced by a fresh random one; it is echoed in the
//     response, available as RequestID(ctx), and logged with failures;
//   - panic recovery: the panic and its stack are logged and the client gets a JSON
//     500. If the response had already started, the connection is aborted instead
//     (by re-panicking with http.ErrAbortHandler, which net/http handles quietly),
//     so the client cannot take a truncated body for a whole one;
//   - a debug-level access log line per request, with the route, not the path.
//
// http.route is the path of the ServeMux pattern that matched ("GET
// /v1/patients/{id}" gives "/v1/patients/{id}"; the method is its own attribute),
// read after the handler ran — never the raw path, which holds IDs. A request no
// pattern matched is reported as "unmatched".
//
// Nested muxes: a ServeMux records its pattern on the *http.Request it is given,
// and http.StripPrefix (like anything that calls r.WithContext) passes a copy down,
// so the outer layer would see only the parent's prefix pattern. Instrument
// therefore puts a small holder in the request context, and the innermost mux's
// pattern is written into it — first writer wins, and the innermost returns first —
// by a Route wrapper around that mux, or by an Instrument around it (which, when it
// finds an outer Instrument's holder, only records its route and service name and
// leaves spans, metrics and recovery to the outer one; that is how the all-in-one
// binary labels each mounted service). LimitBody does not copy the request, so a
// service mux under LimitBody under the process mux needs no wrapper.
func Instrument(service string, h http.Handler, tp trace.TracerProvider, mp metric.MeterProvider, log *slog.Logger) http.Handler {
	if tp == nil {
		tp = tracenoop.NewTracerProvider()
	}
	if mp == nil {
		mp = metricnoop.NewMeterProvider()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	in := &instrumented{service: service, next: h, log: log, red: newRED(mp, log)}
	in.traced = otelhttp.NewHandler(http.HandlerFunc(in.serveTraced), "http.server",
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		// otelhttp's own metrics are switched off: the RED metrics below are ours,
		// with the service attribute and the innermost route, and one
		// http.server.request.duration per request is enough.
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return spanName(r) }),
	)
	return in
}

// Route wraps a ServeMux mounted below Instrument behind something that copies the
// request (http.StripPrefix, a middleware calling r.WithContext), so that its
// matched pattern, not the parent's, labels the request. See Instrument.
func Route(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info := infoFrom(r.Context()); info != nil {
			defer func() { info.setRoute(r.Pattern) }()
		}
		h.ServeHTTP(w, r)
	})
}

// RequestID returns the request's X-Request-ID, as set by Instrument, or "".
func RequestID(ctx context.Context) string {
	if info := infoFrom(ctx); info != nil {
		return info.id
	}
	return ""
}

// requestInfo is the per-request holder that Instrument puts in the context. It is
// written only by the goroutine serving the request.
type requestInfo struct {
	id       string
	route    string // the innermost matched pattern
	service  string // the innermost Instrument's service
	w        *statusWriter
	panicked bool
	abort    bool // the response was cut short; abort the connection
}

func (i *requestInfo) setRoute(pattern string) {
	if i.route == "" {
		i.route = pattern
	}
}

type infoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	i, _ := ctx.Value(infoKey{}).(*requestInfo)
	return i
}

type instrumented struct {
	service string
	next    http.Handler
	traced  http.Handler // otelhttp around serveTraced
	log     *slog.Logger
	red     red
}

func (in *instrumented) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if outer := infoFrom(r.Context()); outer != nil {
		defer func() {
			outer.setRoute(r.Pattern)
			if outer.service == "" {
				outer.service = in.service
			}
		}()
		in.next.ServeHTTP(w, r)
		return
	}

	start := time.Now()
	info := &requestInfo{id: requestID(r.Header.Get("X-Request-ID"))}
	info.w = &statusWriter{ResponseWriter: w}
	w.Header().Set("X-Request-ID", info.id)
	in.traced.ServeHTTP(info.w, r.WithContext(context.WithValue(r.Context(), infoKey{}, info)))

	status := info.w.status()
	if info.panicked {
		status = http.StatusInternalServerError
	}
	service := info.service
	if service == "" {
		service = in.service
	}
	in.red.record(r.Context(), service, r.Method, routeOf(info.route), status, time.Since(start))
	if info.abort {
		panic(http.ErrAbortHandler) // see Instrument: the one deliberate panic
	}
}

// serveTraced runs inside the server span: recovery, route recording, access log.
func (in *instrumented) serveTraced(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	info := infoFrom(ctx)
	start := time.Now()
	defer func() {
		in.log.LogAttrs(ctx, slog.LevelDebug, "request",
			slog.String("method", r.Method), slog.String("route", routeOf(info.route)),
			slog.Int("status", info.w.status()), slog.Duration("duration", time.Since(start)),
			slog.String("request_id", info.id))
	}()
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		info.panicked = true
		if v == http.ErrAbortHandler { //nolint:errorlint // net/http compares it the same way
			info.abort = true
			return
		}
		in.log.LogAttrs(ctx, slog.LevelError, "panic serving request",
			panicAttr(v), slog.String("stack", string(debug.Stack())),
			slog.String("method", r.Method), slog.String("route", routeOf(info.route)),
			slog.String("request_id", info.id))
		if info.w.wroteHeader {
			info.abort = true
			return
		}
		writeError(ctx, w, nil, errs.E(errs.Other, "panic"))
	}()
	defer func() {
		// Deferred so that it also runs when the handler panics; r.Pattern was set
		// by the mux before it called the handler.
		info.setRoute(r.Pattern)
		span := trace.SpanFromContext(ctx)
		span.SetName(spanName(r))
		if info.route != "" {
			span.SetAttributes(attribute.String("http.route", routeOf(info.route)))
		}
	}()
	in.next.ServeHTTP(w, r)
}

// panicAttr describes a panic value for the log. Errors and strings are logged
// (their text is written by programmers, under the no-PHI rule); other values only
// by type, since they could hold anything.
func panicAttr(v any) slog.Attr {
	switch p := v.(type) {
	case error:
		return slog.Any("panic", p)
	case string:
		return slog.String("panic", p)
	}
	return slog.String("panic", fmt.Sprintf("value of type %T", v))
}

// routeOf turns a matched pattern into the http.route attribute: its path part.
func routeOf(pattern string) string {
	i := strings.IndexByte(pattern, '/')
	if i < 0 {
		return "unmatched"
	}
	return pattern[i:]
}

// spanName is "METHOD /route", or the method alone before a route is known, as
// the HTTP semantic conventions name server spans.
func spanName(r *http.Request) string {
	m := method(r.Method)
	if m == "_OTHER" {
		m = "HTTP"
	}
	pattern := r.Pattern
	if info := infoFrom(r.Context()); info != nil && info.route != "" {
		pattern = info.route
	}
	if strings.IndexByte(pattern, '/') < 0 {
		return m
	}
	return m + " " + routeOf(pattern)
}

// method bounds the method attribute's values: a client can send any token.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

// requestID returns in if it is a sane request ID, else a new random one.
func requestID(in string) string {
	if len(in) >= 1 && len(in) <= 128 && strings.Trim(in, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") == "" {
		return in
	}
	return rand.Text()
}

// red holds the RED instruments.
type red struct {
	requests metric.Int64Counter
	errors   metric.Int64Counter
	duration metric.Float64Histogram
}

func newRED(mp metric.MeterProvider, log *slog.Logger) red {
	m := mp.Meter(meterName)
	requests, err1 := m.Int64Counter("http.server.requests",
		metric.WithUnit("{request}"), metric.WithDescription("HTTP requests served."))
	failures, err2 := m.Int64Counter("http.server.errors",
		metric.WithUnit("{request}"), metric.WithDescription("HTTP requests answered with a 5xx status."))
	duration, err3 := m.Float64Histogram("http.server.request.duration",
		metric.WithUnit("s"), metric.WithDescription("Duration of HTTP server requests."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err := errors.Join(err1, err2, err3); err != nil {
		// Only a conflicting registration can cause this; serving matters more
		// than the metrics, so carry on with whatever instruments there are.
		log.Error("httpapi: create HTTP metrics", "error", err)
	}
	r := red{requests: requests, errors: failures, duration: duration}
	if r.requests == nil {
		r.requests = metricnoop.Int64Counter{}
	}
	if r.errors == nil {
		r.errors = metricnoop.Int64Counter{}
	}
	if r.duration == nil {
		r.duration = metricnoop.Float64Histogram{}
	}
	return r
}

func (m red) record(ctx context.Context, service, meth, route string, status int, d time.Duration) {
	attrs := metric.WithAttributeSet(attribute.NewSet(
		attribute.String("service", service),
		attribute.String("http.request.method", method(meth)),
		attribute.String("http.route", route),
		attribute.Int("http.response.status_code", status),
	))
	m.requests.Add(ctx, 1, attrs)
	if status >= 500 {
		m.errors.Add(ctx, 1, attrs)
	}
	m.duration.Record(ctx, d.Seconds(), attrs)
}

// statusWriter remembers the status the handler answered with.
type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader && code >= 200 {
		w.code, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Flush keeps streaming responses (server-sent events) working through the wrapper.
func (w *statusWriter) Flush() {
	if !w.wroteHeader {
		w.code, w.wroteHeader = http.StatusOK, true
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection (deadlines, hijacking).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	if !w.wroteHeader {
		return http.StatusOK
	}
	return w.code
}
