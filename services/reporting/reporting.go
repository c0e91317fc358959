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
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/services/reporting/internal/attest"
	"github.com/attest-ehr/attest/services/reporting/internal/seen"
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
	return cfg, nil
}

// Deps are the infrastructure handles the service is given.
type Deps = app.Deps

// App is a running reporting service.
type App struct {
	deps      Deps
	projector *seen.Projector
	handler   http.Handler
}

// New migrates the service's database, loads the signing key and wires it. It
// starts nothing.
func New(ctx context.Context, cfg Config, d Deps) (*App, error) {
	if err := d.DB.Migrate(ctx, migrations{seen.Migrations(), attest.Migrations()}); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "data"
	}
	keys, err := attest.NewKeys(cfg.SigningKey, cfg.DataDir, cfg.TrustedKeys, func(k attest.Key) {
		d.Log.Warn("generated a development signing key for attestations; set REPORTING_SIGNING_KEY in production",
			"key_id", k.ID(), "public_key", k.PublicBase64(), "path", k.Path)
	})
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	keys.Announce(ctx, d.Log)
	mux := http.NewServeMux()
	httpapi.Health(mux, d.Checks()...)
	seen.Routes(mux, d.DB, d.Log)
	// Freezing takes a whole report with its patient lists, far above the default
	// body limit; every other route keeps the default.
	attestations := http.NewServeMux()
	attest.Routes(attestations, attest.NewStore(d.DB, keys, time.Now), d.Log)
	top := http.NewServeMux()
	top.Handle("/v1/attestations", httpapi.LimitBody(attest.MaxBody, attestations))
	top.Handle("/v1/attestations/", httpapi.LimitBody(attest.MaxBody, attestations))
	top.Handle("/", httpapi.LimitBody(httpapi.DefaultBodyLimit, mux))
	return &App{deps: d, projector: seen.NewProjector(d.DB, d.Log), handler: top}, nil
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

// Handler returns the HTTP API: /v1/patients-seen, /v1/attestations…, /healthz, /readyz.
func (a *App) Handler() http.Handler { return a.handler }

// Run consumes metrics' facts until ctx is done.
func (a *App) Run(ctx context.Context) error {
	return event.Consume(ctx, a.deps.Events(), event.ConsumerConfig{Group: seen.Group, Topics: seen.Topics}, a.projector)
}

// Close releases nothing yet; it exists so the platform treats every service alike.
func (a *App) Close() error { return nil }
