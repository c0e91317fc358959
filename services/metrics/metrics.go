// Package metrics is the metrics service, the measure engine: it consumes every fact
// the other services publish, keeps a per-patient timeline of what the measures read,
// derives the dated membership facts that decide every ratio measure for every entity
// and any period, counts and explains them on its API, keeps the engagement KPIs clinic
// administrators watch, and publishes its facts for reporting. It exports one small
// API — Config, Deps, App, Replay — used by its own binary (cmd/metrics) and by the
// all-in-one platform.
package metrics

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/services/metrics/internal/engagement"
	"github.com/attest-ehr/attest/services/metrics/internal/fact"
	"github.com/attest-ehr/attest/services/metrics/internal/numbers"
	"github.com/attest-ehr/attest/services/metrics/internal/projection"
)

// Name is the service's name: its URL prefix, database schema and key prefix.
const Name = "metrics"

// Config is the service's configuration.
type Config struct {
	// TimeZone dates facts and counts business days: an encounter at 23:30 local time
	// counts on that local day. METRICS_TIME_ZONE, an IANA name. Default: UTC.
	TimeZone *time.Location
	// ClinicHours are the opening hours message response times are counted in, on
	// business days. METRICS_CLINIC_HOURS, "HH:MM-HH:MM". Default: 08:00-17:00.
	ClinicHours calendar.Hours
}

// ConfigFromEnv reads Config through getenv, reporting every problem at once.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{TimeZone: time.UTC, ClinicHours: engagement.DefaultHours}
	var problems []error
	if tz := getenv("METRICS_TIME_ZONE"); tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			problems = append(problems, errs.Field(errs.Invalid, "METRICS_TIME_ZONE", "not an IANA time zone name"))
		}
		cfg.TimeZone = loc
	}
	if s := getenv("METRICS_CLINIC_HOURS"); s != "" {
		h, err := engagement.ParseHours(s)
		if err != nil {
			problems = append(problems, errs.Field(errs.Invalid, "METRICS_CLINIC_HOURS", "opening hours written HH:MM-HH:MM"))
		}
		cfg.ClinicHours = h
	}
	if err := errors.Join(problems...); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Deps are the infrastructure handles the service is given.
type Deps = app.Deps

//go:embed openapi.json
var openapi []byte

// migrations are every package's migrations, migrated as one sequence.
func migrations() fs.FS {
	return layered{fact.Migrations(), projection.Migrations(), engagement.Migrations()}
}

// App is a running metrics service.
type App struct {
	deps      Deps
	writer    *event.Writer
	relay     *outbox.Relay
	projector *projection.Projector
	kpis      *engagement.Keeper
	handler   http.Handler
}

// New migrates the service's database and wires it. It starts nothing.
func New(ctx context.Context, cfg Config, d Deps) (*App, error) {
	if cfg.TimeZone == nil {
		cfg.TimeZone = time.UTC
	}
	if cfg.ClinicHours == (calendar.Hours{}) {
		cfg.ClinicHours = engagement.DefaultHours
	}
	if err := d.DB.Migrate(ctx, migrations()); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	catalog, err := measure.New()
	if err != nil {
		return nil, err
	}
	cal := calendar.New(cfg.TimeZone)
	w := event.NewWriter(d.Events())
	relay := outbox.NewRelay(d.DB, w, outbox.RelayConfig{Log: d.Log, Metrics: d.Metrics})
	live := engagement.NewBroadcaster()
	kpis := engagement.NewKeeper(d.DB, cal, cfg.ClinicHours, live.Publish, d.Log)
	// The seen facts are kept in the projection's transactions (it reads the encounter
	// topic too): no consumer group of their own (docs/architecture.md, decision 14).
	seen := fact.NewDeriver(d.DB, cfg.TimeZone, relay.Notify, d.Log)
	projector := projection.NewProjector(
		projection.NewSQL(d.DB, projection.Live, projection.Group, true).WithAlongside(seen.Alongside),
		membership.NewDeriver(catalog, cal), func(patients []string) {
			relay.Notify()
			live.Publish(engagement.Change{Measures: len(patients)})
		}, d.Log)

	mux := http.NewServeMux()
	httpapi.Health(mux, d.Checks()...)
	fact.Routes(mux, d.DB, d.Log)
	numbers.Routes(mux, numbers.NewReader(d.DB, catalog, cal, numbers.DefaultCacheFacts), d.Log)
	engagement.Routes(mux, kpis, live, d.Log)
	mux.HandleFunc("GET /v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi)
	})
	return &App{
		deps: d, writer: w, relay: relay, projector: projector, kpis: kpis,
		handler: httpapi.LimitBody(httpapi.DefaultBodyLimit, mux),
	}, nil
}

// Handler returns the HTTP API under /v1 (GET /v1/openapi.json describes it),
// /healthz and /readyz.
func (a *App) Handler() http.Handler { return a.handler }

// Run consumes records', messaging's and education's events and relays derived facts
// until ctx is done: two consumer groups, the measure projection (which keeps the seen
// facts in its transactions) and the KPIs.
func (a *App) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.relay.Run(ctx) })
	consume := func(group string, topics []string, h event.Handler) {
		g.Go(func() error {
			return event.Consume(ctx, a.deps.Events(), event.ConsumerConfig{Group: group, Topics: topics}, h)
		})
	}
	consume(projection.Group, projection.Topics(), a.projector)
	consume(engagement.Group, engagement.Topics(), a.kpis)
	return g.Wait()
}

// Close releases the Kafka writer.
func (a *App) Close() error { return a.writer.Close() }
