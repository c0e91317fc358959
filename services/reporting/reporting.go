// Package reporting is the reporting service: it consumes metrics' facts, holds the
// rule book and answers for any entity and period. It exports one small API —
// Config, Deps, App — used by its own binary (cmd/reporting) and by the all-in-one
// platform.
package reporting

import (
	"context"
	"fmt"
	"net/http"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/services/reporting/internal/seen"
)

// Name is the service's name: its URL prefix, database schema and key prefix.
const Name = "reporting"

// Config is the service's own configuration; none yet beyond Deps.
type Config struct{}

// ConfigFromEnv reads Config through getenv.
func ConfigFromEnv(getenv func(string) string) (Config, error) { return Config{}, nil }

// Deps are the infrastructure handles the service is given.
type Deps = app.Deps

// App is a running reporting service.
type App struct {
	deps      Deps
	projector *seen.Projector
	handler   http.Handler
}

// New migrates the service's database and wires it. It starts nothing.
func New(ctx context.Context, cfg Config, d Deps) (*App, error) {
	if err := d.DB.Migrate(ctx, seen.Migrations()); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	mux := http.NewServeMux()
	httpapi.Health(mux, d.Checks()...)
	seen.Routes(mux, d.DB, d.Log)
	return &App{deps: d, projector: seen.NewProjector(d.DB, d.Log), handler: httpapi.LimitBody(httpapi.DefaultBodyLimit, mux)}, nil
}

// Handler returns the HTTP API: /v1/patients-seen, /healthz, /readyz.
func (a *App) Handler() http.Handler { return a.handler }

// Run consumes metrics' facts until ctx is done.
func (a *App) Run(ctx context.Context) error {
	return event.Consume(ctx, a.deps.Events(), event.ConsumerConfig{Group: seen.Group, Topics: seen.Topics}, a.projector)
}

// Close releases nothing yet; it exists so the platform treats every service alike.
func (a *App) Close() error { return nil }
