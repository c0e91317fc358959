// Package telemetry sets up a process's logs, traces and metrics: a JSON slog.Logger
// with trace correlation and a PHI guard, an OpenTelemetry TracerProvider and
// MeterProvider configured from the standard OTEL_* variables, and a Prometheus
// /metrics handler. Every service's main (through package app) calls New once and
// Shutdown last, and hands the providers to the code that needs them.
//
// Nothing here sets or reads the global otel providers: code that records spans or
// metrics is given a provider explicitly, so two Telemetry values can live in one
// process (as in tests).
//
// Environment. New reads, through Config.Getenv only:
//
//   - LOG_LEVEL: debug, info, warn or error. Default: info.
//   - OTEL_SERVICE_NAME: overrides Config.Service.
//   - OTEL_RESOURCE_ATTRIBUTES: key=value,… added to the resource.
//   - OTEL_TRACES_EXPORTER: a comma-separated list of otlp, console, none. Default:
//     none — unlike the OpenTelemetry default (otlp), so a process started without
//     configuration sends nothing anywhere. Spans still get IDs, so logs carry
//     trace_id either way.
//   - OTEL_METRICS_EXPORTER: otlp, console, prometheus, none. The Prometheus reader
//     behind MetricsHandler is always present ("prometheus" names it); otlp and
//     console add a periodic reader.
//   - OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
//     OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: http/protobuf (default) or grpc.
//   - OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG: the SDK's sampler names and
//     argument. Default: parentbased_always_on.
//
// The exporters' own settings — OTEL_EXPORTER_OTLP_ENDPOINT, _HEADERS, _TIMEOUT,
// certificates, OTEL_BSP_*, OTEL_METRIC_EXPORT_INTERVAL — are read by the OTLP
// exporter packages and the SDK themselves from the process environment; they have
// no hook for another source, and re-implementing their parsing would drift from
// the specification.
//
// Why not contrib's autoexport, which does the exporter selection: it reads
// os.Getenv itself (so tests could not pass a map), defaults to otlp when the
// variable is unset, writes console output only to os.Stdout, and its "prometheus"
// reader opens its own listener on :9464 outside our lifecycle. The selection
// below mirrors its names and protocol handling on top of Config.Getenv.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Config configures New.
type Config struct {
	// Service names the process in logs (the "service" attribute) and in the
	// resource (service.name). OTEL_SERVICE_NAME overrides it. Required unless
	// OTEL_SERVICE_NAME is set.
	Service string

	// Getenv reads the environment. Default: os.Getenv. Tests pass a map's lookup.
	Getenv func(string) string

	// LogOut receives the JSON log lines. Default: os.Stdout.
	LogOut io.Writer

	// ConsoleOut receives the console exporters' output when OTEL_TRACES_EXPORTER or
	// OTEL_METRICS_EXPORTER asks for console. It is separate from LogOut so that
	// span dumps never mix into the log stream. Default: os.Stdout.
	ConsoleOut io.Writer
}

// Telemetry is a process's logger and OpenTelemetry providers. Build it with New and
// call Shutdown once, after everything that records spans or metrics has stopped.
type Telemetry struct {
	// Service is the effective service name: OTEL_SERVICE_NAME or Config.Service.
	Service string
	// Log writes JSON lines with service, trace_id and span_id, through the PHI guard.
	Log *slog.Logger
	// Tracing creates tracers. Its spans always carry IDs; they are exported only
	// when OTEL_TRACES_EXPORTER asks.
	Tracing trace.TracerProvider
	// Metrics creates meters. Everything recorded appears on MetricsHandler.
	Metrics metric.MeterProvider

	tp       *sdktrace.TracerProvider
	mp       *sdkmetric.MeterProvider
	handler  http.Handler
	shutOnce sync.Once
	shutErr  error
}

// New builds the logger and providers from cfg and the environment. A bad variable
// is an error that names it; nothing is left running when New fails.
func New(ctx context.Context, cfg Config) (*Telemetry, error) {
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.LogOut == nil {
		cfg.LogOut = os.Stdout
	}
	if cfg.ConsoleOut == nil {
		cfg.ConsoleOut = os.Stdout
	}
	// Parse every setting before creating anything, so a configuration error
	// leaves no exporter connection or goroutine behind.
	set, err := readSettings(cfg)
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}

	t := &Telemetry{Service: set.service}
	t.Log = slog.New(NewPHIGuard(newTraceHandler(
		slog.NewJSONHandler(cfg.LogOut, &slog.HandlerOptions{Level: set.level}), set.service)))

	spanExporters, err := set.spanExporters(ctx, cfg.ConsoleOut)
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(set.resource), sdktrace.WithSampler(set.sampler)}
	for _, e := range spanExporters {
		tpOpts = append(tpOpts, sdktrace.WithBatcher(e))
	}
	t.tp = sdktrace.NewTracerProvider(tpOpts...)
	t.Tracing = t.tp

	// The registry is private: the process-wide prometheus.DefaultRegisterer is a
	// global, and two Telemetry values (tests, the all-in-one binary) must not
	// collide on it.
	reg := prometheus.NewRegistry()
	if err := errors.Join(
		reg.Register(collectors.NewGoCollector()),
		reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})),
	); err != nil {
		return nil, errors.Join(fmt.Errorf("telemetry: register runtime collectors: %w", err), t.tp.Shutdown(ctx))
	}
	promReader, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("telemetry: prometheus exporter: %w", err), t.tp.Shutdown(ctx))
	}
	readers, err := set.metricReaders(ctx, cfg.ConsoleOut)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("telemetry: %w", err), promReader.Shutdown(ctx), t.tp.Shutdown(ctx))
	}
	mpOpts := []sdkmetric.Option{sdkmetric.WithResource(set.resource), sdkmetric.WithReader(promReader)}
	for _, r := range readers {
		mpOpts = append(mpOpts, sdkmetric.WithReader(r))
	}
	t.mp = sdkmetric.NewMeterProvider(mpOpts...)
	t.Metrics = t.mp
	t.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:          reg, // counts its own scrape errors
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: false, // plain text exposition; scrapers that want more negotiate
	})
	return t, nil
}

// MetricsHandler serves every metric recorded through Metrics, plus the Go runtime
// and process collectors, in the Prometheus text exposition format. Mount it on an
// internal port or behind authentication: metric labels carry routes, never IDs, but
// the endpoint is still operational data.
func (t *Telemetry) MetricsHandler() http.Handler { return t.handler }

// Shutdown flushes buffered spans and metrics to the exporters and stops them. Call
// it once, at the very end, after the servers and consumers have stopped; later
// calls return the first call's result. ctx bounds the flush.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	t.shutOnce.Do(func() {
		// Traces first: ending the last spans may still record metrics.
		var err error
		if e := t.tp.Shutdown(ctx); e != nil {
			err = errors.Join(err, fmt.Errorf("telemetry: shut down tracing: %w", e))
		}
		if e := t.mp.Shutdown(ctx); e != nil {
			err = errors.Join(err, fmt.Errorf("telemetry: shut down metrics: %w", e))
		}
		t.shutErr = err
	})
	return t.shutErr
}
