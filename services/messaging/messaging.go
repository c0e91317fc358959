// Package messaging is the messaging service: secure patient–care team threads,
// refill and appointment requests, read receipts and response times. It exports one
// small API — Config, Deps, App — used by its own binary (cmd/messaging) and by the
// all-in-one platform.
package messaging

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"net/http"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/patientdir"
)

// Name is the service's name: its URL prefix, database schema and key prefix.
const Name = "messaging"

//go:embed migrations
var migrations embed.FS

// Config is the service's own configuration; none yet beyond Deps.
type Config struct{}

// ConfigFromEnv reads Config through getenv.
func ConfigFromEnv(getenv func(string) string) (Config, error) { return Config{}, nil }

// Deps are the infrastructure handles the service is given.
type Deps = app.Deps

// App is a running messaging service.
type App struct {
	deps    Deps
	dir     *patientdir.Directory
	handler http.Handler
}

// New migrates the service's database and wires it. It starts nothing.
func New(ctx context.Context, cfg Config, d Deps) (*App, error) {
	sub, _ := fs.Sub(migrations, "migrations") // cannot fail: the folder is embedded
	if err := d.DB.Migrate(ctx, sub); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	dir := patientdir.New(d.DB, "messaging.patients", d.Log)
	mux := http.NewServeMux()
	httpapi.Health(mux, d.Checks()...)
	dir.Routes(mux, d.Log)
	return &App{deps: d, dir: dir, handler: httpapi.LimitBody(httpapi.DefaultBodyLimit, mux)}, nil
}

// Handler returns the HTTP API: /v1/patients/{id}, /healthz, /readyz.
func (a *App) Handler() http.Handler { return a.handler }

// Run keeps the patient directory current until ctx is done.
func (a *App) Run(ctx context.Context) error {
	return event.Consume(ctx, a.deps.Events(),
		event.ConsumerConfig{Group: a.dir.Group(), Topics: patientdir.Topics}, a.dir)
}

// Close releases nothing yet; it exists so the platform treats every service alike.
func (a *App) Close() error { return nil }
