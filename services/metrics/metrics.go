// Package metrics is the metrics service, the measure engine: it consumes every fact
// the other services publish, attributes it to reporting entities, derives per-patient
// facts and publishes them for reporting. It exports one small API — Config, Deps,
// App — used by its own binary (cmd/metrics) and by the all-in-one platform.
package metrics

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/services/metrics/internal/fact"
)

// Name is the service's name: its URL prefix, database schema and key prefix.
const Name = "metrics"

// Config is the service's configuration.
type Config struct {
	// TimeZone dates facts: an encounter at 23:30 local time counts on that local day.
	// METRICS_TIME_ZONE, an IANA name. Default: UTC.
	TimeZone *time.Location
}

// ConfigFromEnv reads Config through getenv.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{TimeZone: time.UTC}
	if tz := getenv("METRICS_TIME_ZONE"); tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return Config{}, errs.Field(errs.Invalid, "METRICS_TIME_ZONE", "not an IANA time zone name")
		}
		cfg.TimeZone = loc
	}
	return cfg, nil
}

// Deps are the infrastructure handles the service is given.
type Deps = app.Deps

// App is a running metrics service.
type App struct {
	deps    Deps
	writer  *event.Writer
	relay   *outbox.Relay
	deriver *fact.Deriver
	handler http.Handler
}

// New migrates the service's database and wires it. It starts nothing.
func New(ctx context.Context, cfg Config, d Deps) (*App, error) {
	if cfg.TimeZone == nil {
		cfg.TimeZone = time.UTC
	}
	if err := d.DB.Migrate(ctx, fact.Migrations()); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	w := event.NewWriter(d.Events())
	relay := outbox.NewRelay(d.DB, w, outbox.RelayConfig{Log: d.Log, Metrics: d.Metrics})
	mux := http.NewServeMux()
	httpapi.Health(mux, d.Checks()...)
	fact.Routes(mux, d.DB, d.Log)
	return &App{
		deps: d, writer: w, relay: relay,
		deriver: fact.NewDeriver(d.DB, cfg.TimeZone, relay.Notify, d.Log),
		handler: httpapi.LimitBody(httpapi.DefaultBodyLimit, mux),
	}, nil
}

// Handler returns the HTTP API: /v1/patients/{id}/facts, /healthz, /readyz.
func (a *App) Handler() http.Handler { return a.handler }

// Run consumes records' events and relays derived facts until ctx is done.
func (a *App) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.relay.Run(ctx) })
	g.Go(func() error {
		return event.Consume(ctx, a.deps.Events(), event.ConsumerConfig{Group: fact.Group, Topics: fact.Topics}, a.deriver)
	})
	return g.Wait()
}

// Close releases the Kafka writer.
func (a *App) Close() error { return a.writer.Close() }
