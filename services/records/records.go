// Package records is the records service: the clinical record and the source of every
// fact the measures count. It exports one small API — Config, Deps, App — used by its
// own binary (cmd/records) and by the all-in-one platform.
package records

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/sync/errgroup"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/services/records/internal/record"
)

// Name is the service's name: its URL prefix, database schema and key prefix.
const Name = "records"

// Config is the service's own configuration. It has none yet beyond the shared
// infrastructure in Deps; later settings get a RECORDS_ prefix.
type Config struct{}

// ConfigFromEnv reads Config through getenv.
func ConfigFromEnv(getenv func(string) string) (Config, error) { return Config{}, nil }

// Deps are the infrastructure handles the service is given.
type Deps = app.Deps

// App is a running records service.
type App struct {
	deps    Deps
	writer  *event.Writer
	relay   *outbox.Relay
	handler http.Handler
}

// New migrates the service's database and wires it. It starts nothing.
func New(ctx context.Context, cfg Config, d Deps) (*App, error) {
	if err := d.DB.Migrate(ctx, record.Migrations()); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	w := event.NewWriter(d.Events())
	relay := outbox.NewRelay(d.DB, w, outbox.RelayConfig{Log: d.Log, Metrics: d.Metrics})
	svc := record.NewService(d.DB, relay.Notify)

	mux := http.NewServeMux()
	httpapi.Health(mux, d.Checks()...)
	record.Routes(mux, record.MakeEndpoints(svc), d.Log)
	return &App{deps: d, writer: w, relay: relay, handler: httpapi.LimitBody(httpapi.DefaultBodyLimit, mux)}, nil
}

// Handler returns the HTTP API: /v1/patients, /v1/encounters, /healthz, /readyz.
func (a *App) Handler() http.Handler { return a.handler }

// Run relays the outbox to Kafka until ctx is done.
func (a *App) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.relay.Run(ctx) })
	return g.Wait()
}

// Close releases the Kafka writer.
func (a *App) Close() error { return errors.Join(a.writer.Close()) }
