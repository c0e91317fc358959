package run

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/attest-ehr/attest/services/gateway"
	"github.com/attest-ehr/attest/services/platform"
)

// Platform is a fresh platform started in-process for a conformance run: the embedded
// broker, SQLite files under its data directory (unless the environment names other
// infrastructure), the demo service account, listening on a free local port.
type Platform struct {
	p   *platform.Running
	API *Client
}

// Start starts the platform on dataDir. getenv supplies anything else (DATABASE_URL,
// REDIS_URL, LOG_LEVEL); the data directory, address and demo accounts are set here.
func Start(ctx context.Context, dataDir string, getenv func(string) string) (*Platform, error) {
	env := func(k string) string {
		switch k {
		case "ATTEST_DATA_DIR":
			return dataDir
		case "ATTEST_HTTP_ADDR":
			return "127.0.0.1:0"
		case "GATEWAY_DEMO":
			// The demo service account calls the APIs; the data are the decks' test patients.
			return "true"
		case "LOG_LEVEL":
			if v := getenv(k); v != "" {
				return v
			}
			return "warn"
		case "KAFKA_BROKERS":
			return "" // always the embedded broker: a fresh platform
		}
		return getenv(k)
	}
	p, err := platform.Start(ctx, env)
	if err != nil {
		return nil, err
	}
	pl := &Platform{p: p,
		API: &Client{Base: p.URL, Token: gateway.DemoServiceToken, HTTP: &http.Client{Timeout: 30 * time.Second}}}
	if err := pl.ready(ctx); err != nil {
		return nil, errors.Join(err, pl.Close())
	}
	return pl, nil
}

// ready waits for /readyz.
func (pl *Platform) ready(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := pl.API.Do(ctx, http.MethodGet, "/readyz", "", nil, nil)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("platform not ready after 60 s: %w", err)
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Settled reports whether the pipeline has consumed everything written.
func (pl *Platform) Settled(ctx context.Context) (bool, error) { return pl.p.Settled(ctx) }

// DataDir is the platform's data directory.
func (pl *Platform) DataDir() string { return pl.p.DataDir() }

// Close stops the platform and releases everything it holds.
func (pl *Platform) Close() error { return pl.p.Stop(context.Background()) }
