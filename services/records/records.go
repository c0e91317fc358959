// Package records is the records service: the clinical record and the source of every
// fact the measures count. It exports one small API — Config, Deps, App — used by its
// own binary (cmd/records) and by the all-in-one platform.
package records

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/services/records/internal/bulk"
	"github.com/attest-ehr/attest/services/records/internal/fhir"
	"github.com/attest-ehr/attest/services/records/internal/record"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// Name is the service's name: its URL prefix, database schema and key prefix.
const Name = "records"

// Config is the service's own configuration.
type Config struct {
	// DuplicateWindow is how recent a study shared by another institution must be for
	// a new imaging order of the same modality and body site to count as a duplicate.
	// RECORDS_DUPLICATE_STUDY_WINDOW, a Go duration such as "720h". Default: 30 days.
	DuplicateWindow time.Duration
}

// ConfigFromEnv reads Config through getenv, reporting every problem at once.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{DuplicateWindow: record.DefaultDuplicateWindow}
	if s := getenv("RECORDS_DUPLICATE_STUDY_WINDOW"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return Config{}, errs.Field(errs.Invalid, "RECORDS_DUPLICATE_STUDY_WINDOW", "a positive Go duration, e.g. 720h")
		}
		cfg.DuplicateWindow = d
	}
	return cfg, nil
}

// Deps are the infrastructure handles the service is given.
type Deps = app.Deps

// purgeEvery is how often forgotten Idempotency-Keys are removed.
const purgeEvery = time.Hour

// App is a running records service.
type App struct {
	deps    Deps
	svc     *record.Service
	fhir    *fhir.Codec
	writer  *event.Writer
	relay   *outbox.Relay
	imports *bulk.Importer
	handler http.Handler
}

// New migrates the service's database and wires it. It starts nothing.
func New(ctx context.Context, cfg Config, d Deps) (*App, error) {
	if err := d.DB.Migrate(ctx, record.Migrations()); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	w := event.NewWriter(d.Events())
	relay := outbox.NewRelay(d.DB, w, outbox.RelayConfig{Log: d.Log, Metrics: d.Metrics})
	svc := record.NewService(d.DB, relay.Notify, record.Config{DuplicateWindow: cfg.DuplicateWindow})

	mux := http.NewServeMux()
	httpapi.Health(mux, d.Checks()...)
	api := resource.NewMux(mux, d.Log)
	describeHealth(api)
	svc.Routes(api)
	codec, err := fhir.New(svc)
	if err != nil {
		return nil, fmt.Errorf("fhir: %w", err)
	}
	codec.Routes(api)
	imports := bulk.New(svc, codec, d.Log, bulk.Config{}) // Bulk NDJSON import (docs/import.md)
	imports.Routes(api)
	if err := api.ServeOpenAPI("Attest records", apiVersion); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return &App{deps: d, svc: svc, fhir: codec, writer: w, relay: relay, imports: imports,
		handler: bulkLimit(httpapi.LimitBody(httpapi.DefaultBodyLimit, mux), httpapi.LimitBody(bulk.MaxUpload, mux))}, nil
}

// bulkLimit serves import uploads (up to bulk.MaxUpload) through bulk and every other
// request through normal.
func bulkLimit(normal, bulkUploads http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if bulk.IsUpload(r) {
			bulkUploads.ServeHTTP(w, r)
			return
		}
		normal.ServeHTTP(w, r)
	})
}

// apiVersion is the version of the JSON API in its OpenAPI document.
const apiVersion = "1"

// describeHealth puts httpapi.Health's routes in the OpenAPI document: they are served
// on the same mux, for the platform's probes.
func describeHealth(api *resource.Mux) {
	api.Describe("GET /healthz", resource.Op{ID: "healthz", Summary: "Liveness",
		Responses: map[int]reflect.Type{http.StatusOK: resource.TypeOf[map[string]string]()}})
	api.Describe("GET /readyz", resource.Op{ID: "readyz", Summary: "Readiness: the database and the broker answer",
		Responses: map[int]reflect.Type{http.StatusOK: resource.TypeOf[map[string]any](),
			http.StatusServiceUnavailable: resource.TypeOf[map[string]any]()}})
}

// Handler returns the HTTP API: /v1/... for every kind of record (docs/records.md),
// the FHIR R4 API at /fhir (docs/fhir.md), /v1/openapi.json (the OpenAPI 3.0 document
// of both), /healthz, /readyz.
func (a *App) Handler() http.Handler { return a.handler }

// Run relays the outbox to Kafka and forgets expired Idempotency-Keys until ctx is done.
// It first compiles the FHIR schema in the background, so that the first FHIR request
// does not wait for it.
func (a *App) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { a.fhir.Warm(ctx); return nil })
	g.Go(func() error { return a.relay.Run(ctx) })
	g.Go(func() error { return a.imports.Run(ctx) })
	g.Go(func() error {
		t := time.NewTicker(purgeEvery)
		defer t.Stop()
		for {
			if _, err := a.svc.Store().PurgeKeys(ctx); err != nil && ctx.Err() == nil {
				a.deps.Log.WarnContext(ctx, "purging idempotency keys failed; retrying later", "error", err.Error())
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
	return g.Wait()
}

// Close releases the Kafka writer.
func (a *App) Close() error { return errors.Join(a.writer.Close()) }
