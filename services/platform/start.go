package platform

import (
	"context"
	"errors"
	"fmt"
)

// Running is a platform serving in the background, started by Start.
type Running struct {
	*Platform
	URL    string // http://host:port of the listener
	cancel context.CancelFunc
	done   chan error
}

// Start builds the platform from getenv (OptionsFromEnv, New) and serves it in the
// background; it returns once the listener is open. Stop ends it. The tools that run a
// platform in-process (conformance, the three-way bench, tests) start it this way.
func Start(ctx context.Context, getenv func(string) string) (*Running, error) {
	opts, err := OptionsFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	p, err := New(ctx, getenv, opts)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- p.Serve(sctx, func(a string) { addr <- a }) }()
	select {
	case a := <-addr:
		return &Running{Platform: p, URL: "http://" + a, cancel: cancel, done: done}, nil
	case err := <-done:
		cancel()
		return nil, errors.Join(fmt.Errorf("platform stopped before serving: %w", err), p.Close(context.WithoutCancel(ctx)))
	}
}

// Stop stops serving, waits for Serve to return and closes the platform.
func (r *Running) Stop(ctx context.Context) error {
	r.cancel()
	err := <-r.done
	return errors.Join(err, r.Close(ctx))
}
