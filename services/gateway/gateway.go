// Package gateway is the gateway service: it serves the web console, routes
// /<service>/… to the services' HTTP APIs (in-process in the platform, upstream URLs
// when split), and records every routed request. Sign-in, roles and the audit log
// build on it. It exports one small API — Config, Deps, App — used by its own binary
// (cmd/gateway) and by the all-in-one platform.
package gateway

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/services/gateway/internal/access"
	"github.com/attest-ehr/attest/services/gateway/internal/console"
)

// Name is the service's name: its database schema and key prefix.
const Name = "gateway"

//go:embed migrations
var migrations embed.FS

// Services are the services the gateway can route to, in the order the console lists them.
var Services = []string{"records", "messaging", "education", "metrics", "reporting"}

// Config is the gateway's configuration.
type Config struct {
	// Upstreams maps a service to the base URL of its API when it runs as its own
	// process. GATEWAY_UPSTREAMS: "records=http://records:8080,metrics=http://…".
	Upstreams map[string]*url.URL
	// Local maps a service to its in-process handler; set by the platform, not the
	// environment. Local wins over Upstreams.
	Local map[string]http.Handler
}

// ConfigFromEnv reads Config through getenv.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{Upstreams: map[string]*url.URL{}}
	for _, pair := range strings.Split(getenv("GATEWAY_UPSTREAMS"), ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		name, raw, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || !slices.Contains(Services, name) {
			return Config{}, errs.Field(errs.Invalid, "GATEWAY_UPSTREAMS", "want service=url pairs for %s", strings.Join(Services, ", "))
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Config{}, errs.Field(errs.Invalid, "GATEWAY_UPSTREAMS", "%s: not an http(s) URL", name)
		}
		cfg.Upstreams[name] = u
	}
	return cfg, nil
}

// Deps are the infrastructure handles the service is given.
type Deps = app.Deps

// App is a running gateway.
type App struct {
	access  *access.Log
	handler http.Handler
}

// New migrates the gateway's database and wires the console and the routes.
func New(ctx context.Context, cfg Config, d Deps) (*App, error) {
	sub, _ := fs.Sub(migrations, "migrations") // cannot fail: the folder is embedded
	if err := d.DB.Migrate(ctx, sub); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	log := access.New(d.DB, d.Log)
	mux := http.NewServeMux()
	httpapi.Health(mux, d.Checks()...)

	var routed []string
	for _, name := range Services {
		var h http.Handler
		if local, ok := cfg.Local[name]; ok {
			h = local
		} else if u, ok := cfg.Upstreams[name]; ok {
			h = console.Proxy(u)
		} else {
			continue
		}
		routed = append(routed, name)
		mux.Handle("/"+name+"/", http.StripPrefix("/"+name, log.Middleware(name, httpapi.Instrument(name, h, d.Tracing, d.Metrics, d.Log))))
	}
	client := &http.Client{Transport: &console.Transport{Local: cfg.Local, Upstream: cfg.Upstreams}}
	console.New(routed, client, d.Log).Routes(mux)
	return &App{access: log, handler: mux}, nil
}

// Handler returns the console at /, the routes /<service>/…, /healthz and /readyz.
func (a *App) Handler() http.Handler { return a.handler }

// Run writes the access log until ctx is done.
func (a *App) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.access.Run(ctx) })
	return g.Wait()
}

// Close releases nothing yet; it exists so the platform treats every service alike.
func (a *App) Close() error { return nil }
