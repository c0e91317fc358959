// Package app is the composition root every service shares: the Deps a service is
// given, the opening of the process-wide infrastructure (telemetry, Redis, databases,
// brokers) from the environment, and Main, which runs one service as its own binary.
// The all-in-one platform uses the same pieces, so a service's code path is identical
// whether it runs alone or beside the others.
package app

import (
	"context"
	"log/slog"
	"net/http"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/attest-ehr/attest/libs/cache"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/store"
)

// Deps are the infrastructure handles a service is given. Its caller opens them — the
// service's own binary or the platform — and closes them after the service is closed.
type Deps struct {
	Log     *slog.Logger
	Tracing trace.TracerProvider
	Metrics metric.MeterProvider
	DB      *store.DB    // the service's own database: its SQLite file or PostgreSQL schema
	Cache   *cache.Cache // the service's key-prefixed view of Redis
	Brokers []string     // Kafka bootstrap brokers
}

// Events is the event backbone configuration for this service's writers and consumers.
func (d Deps) Events() event.Config {
	return event.Config{Brokers: d.Brokers, Log: d.Log, Tracing: d.Tracing, Metrics: d.Metrics}
}

// Checks are the readiness checks every service answers /readyz with: its database is
// reachable and migrated, the broker answers, Redis answers.
func (d Deps) Checks() []httpapi.Check {
	return []httpapi.Check{
		{Name: "database", Fn: func(ctx context.Context) error {
			if !d.DB.Migrated() {
				return errNotMigrated
			}
			return d.DB.Ping(ctx)
		}},
		{Name: "broker", Fn: func(ctx context.Context) error { return event.Ping(ctx, d.Events()) }},
		{Name: "redis", Fn: d.Cache.Ping},
	}
}

// Service is what every service's App provides; the platform runs a list of them.
type Service interface {
	// Handler returns the service's HTTP API, including /healthz and /readyz, with
	// paths relative to the service's mount point.
	Handler() http.Handler
	// Run consumes events and relays the outbox until ctx is done; it returns nil then.
	Run(ctx context.Context) error
	// Close releases what New acquired (writers, caches). It does not close Deps.
	Close() error
}

type constError string

func (e constError) Error() string { return string(e) }

const errNotMigrated = constError("migrations not applied")
