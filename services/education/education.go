// Package education is the education service: a catalog of patient-education
// materials, matched to each patient's record (kept from records' problem, medication
// and result events), suggestions when a relevant fact arrives, and the provision of
// materials to patients with the patient opening them — the events the
// patient-specific education measures count. It exports one small API — Config,
// ConfigFromEnv, Deps, App — used by its own binary (cmd/education) and by the
// all-in-one platform.
package education

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/patientdir"
	"github.com/attest-ehr/attest/services/education/internal/api"
	"github.com/attest-ehr/attest/services/education/internal/catalog"
	"github.com/attest-ehr/attest/services/education/internal/chart"
	"github.com/attest-ehr/attest/services/education/internal/match"
	"github.com/attest-ehr/attest/services/education/internal/medlineplus"
	"github.com/attest-ehr/attest/services/education/internal/provision"
	"github.com/attest-ehr/attest/services/education/internal/schema"
)

// Name is the service's name: its URL prefix, database schema and key prefix.
const Name = "education"

// Config is the service's configuration, from EDUCATION_* variables.
type Config struct {
	// Auto is what happens when a relevant fact arrives: off, suggest (the best
	// matches become suggestions for the care team) or provide (and are provided to
	// the patient's portal). EDUCATION_AUTO. Default: suggest.
	Auto provision.Mode
	// AutoLimit is how many suggestions one new fact makes at most.
	// EDUCATION_AUTO_LIMIT. Default: 3.
	AutoLimit int
	// Recent is how long a result counts for matching after it was taken.
	// EDUCATION_RECENT_RESULTS, a Go duration or a number of days ("90d"). Default: 90d.
	Recent time.Duration
	// Starter loads the starter catalog at start when the catalog is empty.
	// EDUCATION_STARTER_CATALOG (true/false). Default: true.
	Starter bool
	// MedlinePlus turns the MedlinePlus Connect connector on. EDUCATION_MEDLINEPLUS
	// (true/false). Default: false: this network cannot reach NLM.
	MedlinePlus bool
	// MedlinePlusConfig tunes the connector: EDUCATION_MEDLINEPLUS_URL,
	// EDUCATION_MEDLINEPLUS_PER_MINUTE (default 80), EDUCATION_MEDLINEPLUS_BURST
	// (default 10), EDUCATION_MEDLINEPLUS_CACHE_TTL (default 24h).
	MedlinePlusConfig medlineplus.Config
	// CatalogRefresh is how often a replica checks for catalog changes made by others.
	// EDUCATION_CATALOG_REFRESH. Default: 2s.
	CatalogRefresh time.Duration
}

// ConfigFromEnv reads Config through getenv, reporting every problem at once.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{Auto: provision.ModeSuggest, AutoLimit: 3, Recent: chart.DefaultRecent, Starter: true,
		CatalogRefresh: match.DefaultRefresh}
	var problems []error
	bad := func(name, format string, args ...any) {
		problems = append(problems, errs.Field(errs.Invalid, name, format, args...))
	}
	if v := getenv("EDUCATION_AUTO"); v != "" {
		switch m := provision.Mode(v); m {
		case provision.ModeOff, provision.ModeSuggest, provision.ModeProvide:
			cfg.Auto = m
		default:
			bad("EDUCATION_AUTO", "off, suggest or provide")
		}
	}
	intVar := func(name string, dst *int, lo, hi int) {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				bad(name, "a whole number from %d to %d", lo, hi)
				return
			}
			*dst = n
		}
	}
	durVar := func(name string, dst *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := parseDuration(v)
			if err != nil || d <= 0 {
				bad(name, "a positive duration such as 90d, 72h or 30m")
				return
			}
			*dst = d
		}
	}
	boolVar := func(name string, dst *bool) {
		if v := getenv(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				bad(name, "true or false")
				return
			}
			*dst = b
		}
	}
	intVar("EDUCATION_AUTO_LIMIT", &cfg.AutoLimit, 1, 20)
	durVar("EDUCATION_RECENT_RESULTS", &cfg.Recent)
	boolVar("EDUCATION_STARTER_CATALOG", &cfg.Starter)
	boolVar("EDUCATION_MEDLINEPLUS", &cfg.MedlinePlus)
	durVar("EDUCATION_CATALOG_REFRESH", &cfg.CatalogRefresh)
	cfg.MedlinePlusConfig.URL = getenv("EDUCATION_MEDLINEPLUS_URL")
	intVar("EDUCATION_MEDLINEPLUS_PER_MINUTE", &cfg.MedlinePlusConfig.PerMinute, 1, medlineplus.NLMLimit-1)
	intVar("EDUCATION_MEDLINEPLUS_BURST", &cfg.MedlinePlusConfig.Burst, 1, medlineplus.NLMLimit-1)
	durVar("EDUCATION_MEDLINEPLUS_CACHE_TTL", &cfg.MedlinePlusConfig.CacheTTL)
	if len(problems) == 0 {
		if err := cfg.MedlinePlusConfig.Validate(); err != nil {
			problems = append(problems, err)
		}
	}
	if len(problems) > 0 {
		return Config{}, fmt.Errorf("education config: %w", errors.Join(problems...))
	}
	return cfg, nil
}

// parseDuration reads a Go duration or a whole number of days, "90d".
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > 36500 {
			return 0, errs.E(errs.Invalid, "not a number of days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// Deps are the infrastructure handles the service is given.
type Deps = app.Deps

// App is a running education service.
type App struct {
	deps    Deps
	writer  *event.Writer
	relay   *outbox.Relay
	dir     *patientdir.Directory
	chart   *chart.Projection
	handler http.Handler
}

// New migrates the service's database, loads the starter catalog into an empty one,
// and wires the service. It starts nothing.
func New(ctx context.Context, cfg Config, d Deps) (*App, error) {
	if err := d.DB.Migrate(ctx, schema.Migrations()); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	cat := catalog.New(d.DB)
	if cfg.Starter {
		n, err := cat.LoadStarter(ctx)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			d.Log.InfoContext(ctx, "loaded the starter catalog", "materials", n)
		}
	}
	var mp *medlineplus.Client
	if cfg.MedlinePlus {
		var err error
		if mp, err = medlineplus.New(cfg.MedlinePlusConfig, d.Cache); err != nil {
			return nil, err
		}
	}
	w := event.NewWriter(d.Events())
	relay := outbox.NewRelay(d.DB, w, outbox.RelayConfig{Log: d.Log, Metrics: d.Metrics})
	dir := patientdir.New(d.DB, "education.patients", d.Log)
	matcher := match.NewMatcher(cat, cfg.CatalogRefresh)
	prov := provision.New(d.DB, cat, matcher, dir,
		provision.Config{Mode: cfg.Auto, Limit: cfg.AutoLimit, Recent: cfg.Recent}, relay.Notify)
	proj := chart.New(d.DB, cfg.Recent, prov, relay.Notify, d.Log)

	mux := http.NewServeMux()
	httpapi.Health(mux, d.Checks()...)
	(&api.API{Catalog: cat, Matcher: matcher, Provisions: prov, Directory: dir, MedlinePlus: mp, Log: d.Log}).Routes(mux)
	return &App{deps: d, writer: w, relay: relay, dir: dir, chart: proj, handler: mux}, nil
}

// Handler returns the HTTP API: /v1/... (with /v1/openapi.json), /fhir/Communication,
// /healthz, /readyz. Each route sets its own body limit.
func (a *App) Handler() http.Handler { return a.handler }

// Run keeps the patient directory and the chart projection current and relays the
// outbox until ctx is done.
func (a *App) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.relay.Run(ctx) })
	g.Go(func() error {
		return event.Consume(ctx, a.deps.Events(),
			event.ConsumerConfig{Group: a.dir.Group(), Topics: patientdir.Topics}, a.dir)
	})
	g.Go(func() error {
		return event.Consume(ctx, a.deps.Events(), event.ConsumerConfig{Group: chart.Group, Topics: chart.Topics}, a.chart)
	})
	return g.Wait()
}

// Close releases the Kafka writer.
func (a *App) Close() error { return a.writer.Close() }
