// Package reporting is the reporting service: it consumes metrics' facts, holds the
// rule book, answers for any entity and period, and freezes reports into signed
// attestations. It exports one small API — Config, Deps, App — used by its own
// binary (cmd/reporting) and by the all-in-one platform, and VerifyAttestation for
// `attest verify`.
package reporting

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/services/reporting/internal/attest"
	"github.com/attest-ehr/attest/services/reporting/internal/facts"
	"github.com/attest-ehr/attest/services/reporting/internal/forecast"
	"github.com/attest-ehr/attest/services/reporting/internal/freeze"
	"github.com/attest-ehr/attest/services/reporting/internal/reports"
	"github.com/attest-ehr/attest/services/reporting/internal/seen"
	"github.com/attest-ehr/attest/services/reporting/internal/window"
	"github.com/attest-ehr/attest/services/reporting/internal/worklist"
)

// Name is the service's name: its URL prefix, database schema and key prefix.
const Name = "reporting"

// Config is the service's own configuration.
type Config struct {
	// SigningKey is the base64 Ed25519 seed attestations are signed with
	// (REPORTING_SIGNING_KEY; a secret, never logged). Default: a development key
	// generated into DataDir, announced in the log at start.
	SigningKey string
	// DataDir is where the development key is kept (ATTEST_DATA_DIR). Default: data.
	DataDir string
	// TrustedKeys are the public keys of former signing keys, whose attestations
	// the service still serves (REPORTING_TRUSTED_KEYS: base64 keys, comma-separated).
	TrustedKeys []ed25519.PublicKey
	// TimeZone is the calendar metrics dates facts in (METRICS_TIME_ZONE, default
	// UTC): reports count business days and periods in the same zone.
	TimeZone *time.Location
	// CacheFacts is how many membership facts the read side keeps in memory
	// (REPORTING_CACHE_FACTS, default facts.DefaultCacheFacts).
	CacheFacts int
}

// ConfigFromEnv reads Config through getenv.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{SigningKey: getenv("REPORTING_SIGNING_KEY"), DataDir: getenv("ATTEST_DATA_DIR")}
	if cfg.DataDir == "" {
		cfg.DataDir = "data"
	}
	var seedErr error
	if cfg.SigningKey != "" {
		_, seedErr = attest.ParseSeed("REPORTING_SIGNING_KEY", cfg.SigningKey)
	}
	trusted, trustErr := attest.ParsePublicKeys("REPORTING_TRUSTED_KEYS", getenv("REPORTING_TRUSTED_KEYS"))
	if err := errors.Join(seedErr, trustErr); err != nil {
		return Config{}, err
	}
	cfg.TrustedKeys = trusted
	cfg.TimeZone = time.UTC
	if z := getenv("METRICS_TIME_ZONE"); z != "" {
		loc, err := time.LoadLocation(z)
		if err != nil {
			return Config{}, errs.Field(errs.Invalid, "METRICS_TIME_ZONE", "not an IANA time zone name")
		}
		cfg.TimeZone = loc
	}
	if n := getenv("REPORTING_CACHE_FACTS"); n != "" {
		v, err := strconv.Atoi(n)
		if err != nil || v < 1 {
			return Config{}, errs.Field(errs.Invalid, "REPORTING_CACHE_FACTS", "a positive number of facts")
		}
		cfg.CacheFacts = v
	}
	return cfg, nil
}

// Deps are the infrastructure handles the service is given.
type Deps = app.Deps

// App is a running reporting service.
type App struct {
	deps      Deps
	projector *seen.Projector
	facts     *facts.Handler
	handler   http.Handler
}

// New migrates the service's database, loads the signing key and wires it. It
// starts nothing.
func New(ctx context.Context, cfg Config, d Deps) (*App, error) {
	if err := d.DB.Migrate(ctx, migrations{seen.Migrations(), attest.Migrations(), facts.Migrations()}); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "data"
	}
	if cfg.TimeZone == nil {
		cfg.TimeZone = time.UTC
	}
	keys, err := attest.NewKeys(cfg.SigningKey, cfg.DataDir, cfg.TrustedKeys, func(k attest.Key) {
		d.Log.Warn("generated a development signing key for attestations; set REPORTING_SIGNING_KEY in production",
			"key_id", k.ID(), "public_key", k.PublicBase64(), "path", k.Path)
	})
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	keys.Announce(ctx, d.Log)
	catalog, err := measure.New()
	if err != nil {
		return nil, err
	}
	cal := calendar.New(cfg.TimeZone)
	factStore := facts.NewStore(d.DB, cfg.CacheFacts)
	reportService := reports.NewService(reports.NewComputer(catalog, cal, time.Now), factStore)
	attestations := attest.NewStore(d.DB, keys, time.Now)
	mux := http.NewServeMux()
	httpapi.Health(mux, d.Checks()...)
	seen.Routes(mux, d.DB, d.Log)
	reports.Routes(mux, reportService, d.Log)
	attest.Routes(mux, attestations, d.Log)
	freeze.Routes(mux, freeze.New(reportService, factStore, attestations, d.Events(), d.Log), d.Log)
	// Best window, forecast and worklists (H5: internal/window, forecast, worklist),
	// counted from the same fact store.
	window.Routes(mux, &window.Finder{Catalog: catalog, Calendar: cal, Facts: factStore}, time.Now, d.Log)
	forecast.Routes(mux, &forecast.Forecaster{Catalog: catalog, Calendar: cal, Facts: factStore}, time.Now, d.Log)
	worklist.Routes(mux, &worklist.Lister{Catalog: catalog, Calendar: cal, Facts: factStore}, time.Now, d.Log)
	top := http.NewServeMux()
	top.Handle("/", httpapi.LimitBody(httpapi.DefaultBodyLimit, mux))
	return &App{deps: d, projector: seen.NewProjector(d.DB, d.Log), facts: facts.NewHandler(factStore, d.Log), handler: top}, nil
}

// VerifyAttestation checks an exported attestation file offline (see attest.Verify).
// publicKey, when not "", is the base64 Ed25519 key the file must be signed with.
func VerifyAttestation(file []byte, publicKey string) (attest.Verification, error) {
	var pinned []byte
	if publicKey != "" {
		k, err := attest.ParsePublicKey("public key", publicKey)
		if err != nil {
			return attest.Verification{}, err
		}
		pinned = k
	}
	return attest.Verify(file, pinned), nil
}

// migrations merges the dialect folders of the service's packages into the one
// migration source store.Migrate takes.
type migrations []fs.FS

// Open opens name from the first package that has it.
func (m migrations) Open(name string) (fs.File, error) {
	for _, f := range m {
		file, err := f.Open(name)
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			return file, err
		}
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// ReadDir lists a folder's entries over every package.
func (m migrations) ReadDir(name string) ([]fs.DirEntry, error) {
	var all []fs.DirEntry
	for _, f := range m {
		es, err := fs.ReadDir(f, name)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		all = append(all, es...)
	}
	slices.SortFunc(all, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return all, nil
}

// Handler returns the HTTP API: /v1/patients-seen, /v1/reports…, /v1/attestations…,
// /healthz, /readyz.
func (a *App) Handler() http.Handler { return a.handler }

// Run consumes metrics' facts (the foundation's seen facts and the membership facts)
// and records' yes/no inputs until ctx is done.
func (a *App) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return event.Consume(ctx, a.deps.Events(), event.ConsumerConfig{Group: seen.Group, Topics: seen.Topics}, a.projector)
	})
	g.Go(func() error {
		return event.Consume(ctx, a.deps.Events(), event.ConsumerConfig{Group: facts.Group, Topics: facts.Topics}, a.facts)
	})
	return g.Wait()
}

// Close releases nothing yet; it exists so the platform treats every service alike.
func (a *App) Close() error { return nil }
