package event

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// instrumentationName names the tracer and meter of this package.
const instrumentationName = "github.com/attest-ehr/attest/libs/event"

// Config is what the writer, the consumer and the admin functions share: where
// the cluster is and where telemetry goes. Providers are passed in, never read
// from the otel globals, so that several services can run in one process.
type Config struct {
	// Brokers are the bootstrap addresses, host:port. Required.
	Brokers []string

	// Log receives dead-letter reports and client errors. Default: nil, which
	// discards everything.
	Log *slog.Logger

	// Tracing makes the PRODUCER and CONSUMER spans. Default: nil, a no-op
	// provider (trace context is still propagated).
	Tracing trace.TracerProvider

	// Metrics makes the consumer's counters and lag gauge. Default: nil, a
	// no-op provider.
	Metrics metric.MeterProvider
}

// errNoBrokers is returned by everything that needs a cluster address.
var errNoBrokers = errors.New("no brokers configured")

func (c Config) logger() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}

func (c Config) tracer() trace.Tracer {
	if c.Tracing == nil {
		return tracenoop.NewTracerProvider().Tracer(instrumentationName)
	}
	return c.Tracing.Tracer(instrumentationName)
}

func (c Config) meter() metric.Meter {
	if c.Metrics == nil {
		return metricnoop.NewMeterProvider().Meter(instrumentationName)
	}
	return c.Metrics.Meter(instrumentationName)
}

// propagator is W3C trace context only, deliberately not otel.GetTextMapPropagator:
// the wire format of our events must not change with process-wide settings.
func propagator() propagation.TextMapPropagator { return propagation.TraceContext{} }

// kafkaLogger adapts slog to kafka-go's Logger for the client's error log.
type kafkaLogger struct {
	log   *slog.Logger
	level slog.Level
}

// Printf logs one kafka-go message; kafka-go's texts carry topics and offsets,
// never message contents.
func (l kafkaLogger) Printf(format string, args ...any) {
	if !l.log.Enabled(context.Background(), l.level) {
		return
	}
	l.log.Log(context.Background(), l.level, "kafka client", "msg", fmt.Sprintf(format, args...))
}
