// Package platform runs every Attest service in one process: the all-in-one used by
// `attest run` and `make run`. It builds each service from the same root package its
// own binary uses, so behaviour matches a split deployment; with no KAFKA_BROKERS it
// starts the embedded Kafka-protocol broker, with no REDIS_URL an in-process
// Redis-protocol server, and with no DATABASE_URL a SQLite file per service.
package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/libs/broker"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/serve"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/services/education"
	"github.com/attest-ehr/attest/services/gateway"
	"github.com/attest-ehr/attest/services/messaging"
	"github.com/attest-ehr/attest/services/metrics"
	"github.com/attest-ehr/attest/services/records"
	"github.com/attest-ehr/attest/services/reporting"
)

// Services are every service the platform can run, in start order; the gateway comes
// last because it routes to the others.
var Services = []string{records.Name, messaging.Name, education.Name, metrics.Name, reporting.Name, gateway.Name}

// Options choose what Start runs. Zero values take the defaults.
type Options struct {
	Addr       string   // HTTP listen address. ATTEST_HTTP_ADDR; default ":8080".
	Services   []string // the services to run; default all
	BrokerAddr string   // the embedded broker's address. ATTEST_BROKER_ADDR; default 127.0.0.1 with a free port.
}

// OptionsFromEnv reads Options through getenv.
func OptionsFromEnv(getenv func(string) string) (Options, error) {
	return Options{Addr: getenv("ATTEST_HTTP_ADDR"), BrokerAddr: getenv("ATTEST_BROKER_ADDR")}, nil
}

func (o *Options) defaults() error {
	if o.Addr == "" {
		o.Addr = ":8080"
	}
	if o.BrokerAddr == "" {
		o.BrokerAddr = "127.0.0.1:0"
	}
	if len(o.Services) == 0 {
		o.Services = Services
	}
	for _, s := range o.Services {
		if !slices.Contains(Services, s) {
			return errs.Field(errs.Invalid, "services", "unknown service %q (want some of %s)", s, strings.Join(Services, ","))
		}
	}
	return nil
}

// Topics are the topics the platform creates at start: every topic of the contract.
func Topics() []string { return contract.Topics() }

type running struct {
	name string
	svc  app.Service
	db   *store.DB // the service's database, for Settled
}

// Platform is the running all-in-one process.
type Platform struct {
	opts    Options
	infra   *app.Infra
	broker  *broker.Broker // nil when KAFKA_BROKERS is set
	apps    []running
	handler http.Handler
	closeMu sync.Once
}

// New opens the infrastructure and builds the chosen services. It starts nothing but
// the embedded broker (which the services' migrations do not need, but topic creation
// does). Close releases everything New acquired.
func New(ctx context.Context, getenv func(string) string, opts Options) (_ *Platform, err error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	env, err := app.EnvFrom(getenv)
	if err != nil {
		return nil, err
	}
	p := &Platform{opts: opts}
	defer func() {
		if err != nil {
			err = errors.Join(err, p.Close(context.WithoutCancel(ctx)))
		}
	}()
	if len(env.Brokers) == 0 {
		p.broker, err = broker.Start(broker.Config{
			Addr: opts.BrokerAddr, DataDir: filepath.Join(env.DataDir, "broker"),
			Partitions: env.Partitions, Topics: Topics(),
		})
		if err != nil {
			return nil, fmt.Errorf("embedded broker: %w", err)
		}
		env.Brokers = p.broker.Addrs()
	}
	if p.infra, err = app.OpenInfra(ctx, "attest", getenv, env); err != nil {
		return nil, err
	}
	if err := event.EnsureTopics(ctx, event.Config{Brokers: env.Brokers}, env.Partitions, Topics()...); err != nil {
		return nil, fmt.Errorf("create topics: %w", err)
	}
	local := map[string]http.Handler{}
	for _, name := range opts.Services {
		d, err := p.infra.Deps(ctx, name)
		if err != nil {
			return nil, err
		}
		svc, err := build(ctx, name, getenv, d, local)
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
		p.apps = append(p.apps, running{name, svc, d.DB})
		local[name] = svc.Handler()
	}
	p.handler = p.routes(local)
	return p, nil
}

// build runs one service's ConfigFromEnv and New.
func build(ctx context.Context, name string, getenv func(string) string, d app.Deps, local map[string]http.Handler) (app.Service, error) {
	switch name {
	case records.Name:
		cfg, err := records.ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		return records.New(ctx, cfg, d)
	case messaging.Name:
		cfg, err := messaging.ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		return messaging.New(ctx, cfg, d)
	case education.Name:
		cfg, err := education.ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		return education.New(ctx, cfg, d)
	case metrics.Name:
		cfg, err := metrics.ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		return metrics.New(ctx, cfg, d)
	case reporting.Name:
		cfg, err := reporting.ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		return reporting.New(ctx, cfg, d)
	case gateway.Name:
		cfg, err := gateway.ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		cfg.Local = local
		return gateway.New(ctx, cfg, d)
	}
	return nil, errs.E(errs.Invalid, "unknown service %q", name)
}

// routes is the process's top-level handler: Prometheus metrics, liveness and
// readiness of the whole process, then the gateway (console at /, /<service>/…) — or,
// when the gateway is not among the services, each service under /<name>/.
func (p *Platform) routes(local map[string]http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", p.infra.Tel.MetricsHandler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", p.readyz)
	if gw, ok := local[gateway.Name]; ok {
		mux.Handle("/", gw)
	} else {
		for name, h := range local {
			mux.Handle("/"+name+"/", http.StripPrefix("/"+name, httpapi.Route(h)))
		}
	}
	return httpapi.Instrument("attest", mux, p.infra.Tel.Tracing, p.infra.Tel.Metrics, p.infra.Tel.Log)
}

// readyz is ready when every service's own /readyz is.
func (p *Platform) readyz(w http.ResponseWriter, r *http.Request) {
	checks := map[string]string{}
	ready := true
	for _, a := range p.apps {
		rec := httptest.NewRecorder()
		a.svc.Handler().ServeHTTP(rec, httptest.NewRequestWithContext(r.Context(), http.MethodGet, "/readyz", nil))
		if rec.Code == http.StatusOK {
			checks[a.name] = "ok"
		} else {
			ready = false
			checks[a.name] = "not ready"
		}
	}
	status, code := "ready", http.StatusOK
	if !ready {
		status, code = "not ready", http.StatusServiceUnavailable
	}
	httpapi.WriteJSON(w, code, map[string]any{"status": status, "checks": checks})
}

// Handler is the process's HTTP handler (for tests that serve it themselves).
func (p *Platform) Handler() http.Handler { return p.handler }

// Brokers are the Kafka bootstrap addresses in use.
func (p *Platform) Brokers() []string { return p.infra.Brokers }

// DataDir is the absolute data directory.
func (p *Platform) DataDir() string { return p.infra.DataDir() }

// Serve listens on the configured address and runs every service until ctx is done
// or one fails. ready, if not nil, is called with the bound address once listening.
func (p *Platform) Serve(ctx context.Context, ready func(addr string)) error {
	ln, err := serve.Listen(p.opts.Addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	g, gctx := errgroup.WithContext(ctx)
	srv := serve.NewServer(p.opts.Addr, p.handler)
	g.Go(func() error { return serve.HTTP(gctx, srv, ln) })
	for _, a := range p.apps {
		g.Go(func() error {
			if err := a.svc.Run(gctx); err != nil {
				return fmt.Errorf("%s: %w", a.name, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// Close closes the services in reverse order, then the databases, Redis, telemetry
// and the embedded broker.
func (p *Platform) Close(ctx context.Context) error {
	var err error
	p.closeMu.Do(func() {
		for i := len(p.apps) - 1; i >= 0; i-- {
			err = errors.Join(err, p.apps[i].svc.Close())
		}
		if p.infra != nil {
			err = errors.Join(err, p.infra.Close(ctx))
		}
		if p.broker != nil {
			err = errors.Join(err, p.broker.Close())
		}
	})
	return err
}

// Banner is what `attest run` prints once serving.
func Banner(w io.Writer, addr string, brokers []string, dataDir string) {
	host := addr
	if strings.HasPrefix(host, "[::]:") || strings.HasPrefix(host, "0.0.0.0:") || strings.HasPrefix(host, ":") {
		host = "localhost" + host[strings.LastIndexByte(host, ':'):]
	}
	fmt.Fprintf(w, "Attest is running.\n  console:  http://%s/\n  brokers:  %s\n  data dir: %s\n  started:  %s\n",
		host, strings.Join(brokers, ","), dataDir, time.Now().Format(time.RFC3339))
}
