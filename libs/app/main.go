package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sync/errgroup"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/serve"
)

// NewFunc builds a service from its environment and Deps: the service's
// ConfigFromEnv followed by its New.
type NewFunc func(ctx context.Context, getenv func(string) string, d Deps) (Service, error)

// Main runs one service as its own process: it reads the environment, opens the
// infrastructure, builds the service, serves its API on <NAME>_HTTP_ADDR (default
// :8080) and runs it until SIGINT or SIGTERM. It exits 1 on error.
func Main(name string, build NewFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := Run(ctx, name, os.Getenv, build)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Run is Main without the process: it returns when ctx is done or on error.
func Run(ctx context.Context, name string, getenv func(string) string, build NewFunc) error {
	env, err := EnvFrom(getenv)
	if err != nil {
		return err
	}
	if len(env.Brokers) == 0 {
		env.Brokers = []string{DefaultBroker}
	}
	in, err := OpenInfra(ctx, name, getenv, env)
	if err != nil {
		return err
	}
	defer in.Close(context.WithoutCancel(ctx))
	d, err := in.Deps(ctx, name)
	if err != nil {
		return err
	}
	// Consumers joining a group before their topics exist get no partitions, so a
	// service alone makes sure every contract topic exists; existing ones are kept.
	if err := event.EnsureTopics(ctx, d.Events(), env.Partitions, contract.Topics()...); err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	svc, err := build(ctx, getenv, d)
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	addr := getenv(envName(name) + "_HTTP_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	ln, err := serve.Listen(addr)
	if err != nil {
		return errors.Join(err, svc.Close())
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", in.Tel.MetricsHandler())
	mux.Handle("/", svc.Handler())
	srv := serve.NewServer(addr, httpapi.Instrument(name, mux, in.Tel.Tracing, in.Tel.Metrics, d.Log))
	d.Log.InfoContext(ctx, "serving", "addr", ln.Addr().String())

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serve.HTTP(gctx, srv, ln) })
	g.Go(func() error { return svc.Run(gctx) })
	err = g.Wait()
	return errors.Join(err, svc.Close())
}

func envName(service string) string {
	b := []byte(service)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		case c == '-':
			b[i] = '_'
		}
	}
	return string(b)
}
