package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The environment variables New reads; see the package doc.
const (
	envLogLevel        = "LOG_LEVEL"
	envServiceName     = "OTEL_SERVICE_NAME"
	envResourceAttrs   = "OTEL_RESOURCE_ATTRIBUTES"
	envTracesExporter  = "OTEL_TRACES_EXPORTER"
	envMetricsExporter = "OTEL_METRICS_EXPORTER"
	envProtocol        = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol  = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envMetricsProtocol = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"
	envSampler         = "OTEL_TRACES_SAMPLER"
	envSamplerArg      = "OTEL_TRACES_SAMPLER_ARG"
)

// settings is everything New needs from Config and the environment, parsed and
// validated before anything is started.
type settings struct {
	service  string
	level    slog.Level
	resource *resource.Resource
	sampler  sdktrace.Sampler

	traces       []string // exporter names, without "none"
	metrics      []string // periodic reader names: otlp, console
	tracesProto  protocol
	metricsProto protocol
}

// protocol is an OTLP protocol and the variable that chose it, for error messages.
type protocol struct{ name, from string }

// readSettings parses cfg and the environment, reporting every problem at once.
func readSettings(cfg Config) (settings, error) {
	var s settings
	var problems []error
	get := func(key string) string { return strings.TrimSpace(cfg.Getenv(key)) }

	switch lvl := strings.ToLower(get(envLogLevel)); lvl {
	case "", "info":
		s.level = slog.LevelInfo
	case "debug":
		s.level = slog.LevelDebug
	case "warn":
		s.level = slog.LevelWarn
	case "error":
		s.level = slog.LevelError
	default:
		problems = append(problems, fmt.Errorf("%s: %q is not one of debug, info, warn, error", envLogLevel, lvl))
	}

	attrs, err := parseResourceAttributes(get(envResourceAttrs))
	if err != nil {
		problems = append(problems, err)
	}
	// Precedence follows the OpenTelemetry specification for the environment
	// (OTEL_SERVICE_NAME over OTEL_RESOURCE_ATTRIBUTES), and the environment over
	// the code's default, so an operator can rename a deployment (e.g. a canary).
	s.service = cfg.Service
	for _, a := range attrs {
		if a.Key == "service.name" && a.Value.AsString() != "" {
			s.service = a.Value.AsString()
		}
	}
	if name := get(envServiceName); name != "" {
		s.service = name
	}
	if s.service == "" {
		problems = append(problems, fmt.Errorf("service name: Config.Service and %s are both empty", envServiceName))
	}
	s.resource = resource.NewSchemaless(append(attrs, attribute.String("service.name", s.service))...)

	if s.sampler, err = parseSampler(get(envSampler), get(envSamplerArg)); err != nil {
		problems = append(problems, err)
	}

	if s.traces, err = parseExporters(envTracesExporter, get(envTracesExporter), "otlp", "console"); err != nil {
		problems = append(problems, err)
	}
	metrics, err := parseExporters(envMetricsExporter, get(envMetricsExporter), "otlp", "console", "prometheus")
	if err != nil {
		problems = append(problems, err)
	}
	// The Prometheus reader is always there; the name only says so.
	s.metrics = slices.DeleteFunc(metrics, func(n string) bool { return n == "prometheus" })

	var perr error
	if s.tracesProto, perr = parseProtocol(get, envTracesProtocol); perr != nil && slices.Contains(s.traces, "otlp") {
		problems = append(problems, perr)
	}
	if s.metricsProto, perr = parseProtocol(get, envMetricsProtocol); perr != nil && slices.Contains(s.metrics, "otlp") {
		problems = append(problems, perr)
	}
	return s, errors.Join(problems...)
}

// parseExporters reads a comma-separated exporter list. Unset and "none" select
// nothing; names repeat at most once.
func parseExporters(key, value string, known ...string) ([]string, error) {
	var names []string
	for n := range strings.SplitSeq(value, ",") {
		n = strings.ToLower(strings.TrimSpace(n))
		switch {
		case n == "" || n == "none" || slices.Contains(names, n):
		case slices.Contains(known, n):
			names = append(names, n)
		default:
			return nil, fmt.Errorf("%s: unsupported exporter %q (want %s or none)", key, n, strings.Join(known, ", "))
		}
	}
	return names, nil
}

// parseProtocol returns the OTLP protocol for one signal: its own variable, else
// OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf — autoexport's rule.
func parseProtocol(get func(string) string, signalKey string) (protocol, error) {
	p := protocol{name: get(signalKey), from: signalKey}
	if p.name == "" {
		p = protocol{name: get(envProtocol), from: envProtocol}
	}
	switch p.name {
	case "":
		return protocol{name: "http/protobuf", from: "default"}, nil
	case "http/protobuf", "grpc":
		return p, nil
	default:
		return p, fmt.Errorf("%s: unsupported OTLP protocol %q (want http/protobuf or grpc)", p.from, p.name)
	}
}

// parseSampler mirrors the SDK's handling of OTEL_TRACES_SAMPLER and its argument,
// except that a bad value is an error rather than a silent fallback.
func parseSampler(name, arg string) (sdktrace.Sampler, error) {
	name = strings.ToLower(name)
	ratio := 1.0 // the SDK's default when the argument is unset
	if arg != "" && strings.HasSuffix(name, "traceidratio") {
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return nil, fmt.Errorf("%s: %q is not a ratio between 0 and 1", envSamplerArg, arg)
		}
		ratio = r
	}
	switch name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio), nil
	default:
		return nil, fmt.Errorf("%s: unsupported sampler %q", envSampler, name)
	}
}

// parseResourceAttributes parses OTEL_RESOURCE_ATTRIBUTES: key=value pairs separated
// by commas, values percent-encoded.
func parseResourceAttributes(s string) ([]attribute.KeyValue, error) {
	if s == "" {
		return nil, nil
	}
	var attrs []attribute.KeyValue
	for i, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%s: entry %d is not key=value", envResourceAttrs, i+1)
		}
		val, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%s: entry %d (%s): %w", envResourceAttrs, i+1, k, err)
		}
		attrs = append(attrs, attribute.String(k, val))
	}
	return attrs, nil
}

// spanExporters creates the selected span exporters. On error it shuts down those
// already created.
func (s settings) spanExporters(ctx context.Context, console io.Writer) ([]sdktrace.SpanExporter, error) {
	var out []sdktrace.SpanExporter
	for _, name := range s.traces {
		var e sdktrace.SpanExporter
		var err error
		switch {
		case name == "console":
			e, err = stdouttrace.New(stdouttrace.WithWriter(console))
		case s.tracesProto.name == "grpc":
			e, err = otlptracegrpc.New(ctx)
		default:
			e, err = otlptracehttp.New(ctx)
		}
		if err != nil {
			for _, prev := range out {
				err = errors.Join(err, prev.Shutdown(ctx))
			}
			return nil, fmt.Errorf("%s=%s: %w", envTracesExporter, name, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// metricReaders creates the periodic readers for the selected metric exporters. On
// error it shuts down those already created.
func (s settings) metricReaders(ctx context.Context, console io.Writer) ([]sdkmetric.Reader, error) {
	var out []sdkmetric.Reader
	for _, name := range s.metrics {
		var e sdkmetric.Exporter
		var err error
		switch {
		case name == "console":
			e, err = stdoutmetric.New(stdoutmetric.WithWriter(console))
		case s.metricsProto.name == "grpc":
			e, err = otlpmetricgrpc.New(ctx)
		default:
			e, err = otlpmetrichttp.New(ctx)
		}
		if err != nil {
			for _, prev := range out {
				err = errors.Join(err, prev.Shutdown(ctx))
			}
			return nil, fmt.Errorf("%s=%s: %w", envMetricsExporter, name, err)
		}
		out = append(out, sdkmetric.NewPeriodicReader(e))
	}
	return out, nil
}
