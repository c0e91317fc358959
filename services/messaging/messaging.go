// Package messaging is the messaging service: secure patient–care team threads with
// encrypted bodies and attachments, refill and appointment requests, read receipts,
// proxy grants, business-hour response times, notifications, and a FHIR export. It
// exports one small API — Config, Deps, App — used by its own binary (cmd/messaging)
// and by the all-in-one platform.
package messaging

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
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
	"github.com/attest-ehr/attest/services/messaging/internal/clinic"
	"github.com/attest-ehr/attest/services/messaging/internal/fhir"
	"github.com/attest-ehr/attest/services/messaging/internal/keyring"
	"github.com/attest-ehr/attest/services/messaging/internal/thread"
)

// Name is the service's name: its URL prefix, database schema and key prefix.
const Name = "messaging"

// Defaults of Config.
var (
	DefaultPatientRate  = thread.Rate{N: 10, Per: time.Minute}
	DefaultCareTeamRate = thread.Rate{N: 60, Per: time.Minute}
)

// purgeEvery is how often expired idempotency keys are forgotten.
const purgeEvery = time.Hour

// Config is the service's configuration.
type Config struct {
	// Keys seal message bodies, subjects and attachments at rest. MESSAGING_KEYS,
	// "kid1:base64key,kid2:base64key" (32-byte AES-256 keys), and MESSAGING_ACTIVE_KEY,
	// the key ID that seals new data (optional with one key). Old keys stay listed
	// until POST /v1/keys/reencrypt has moved their data to the active key.
	//
	// Default, for the zero-setup all-in-one only: a key generated once into KeyFile.
	// Production sets MESSAGING_KEYS from a secret store; New logs a warning otherwise.
	Keys *keyring.Keyring
	// KeyFile is where the generated key is kept when MESSAGING_KEYS is unset:
	// MESSAGING_KEY_FILE, default $ATTEST_DATA_DIR/messaging.keys. Empty when
	// MESSAGING_KEYS is set.
	KeyFile string

	// Clinics are the clinics' hours, time zones, targets and TINs: MESSAGING_CLINICS
	// (a JSON object of clinic ID → settings) and MESSAGING_CLINIC_DEFAULTS (settings for
	// clinics not listed). See package clinic. Default: Monday to Friday 08:00–17:00 UTC,
	// federal holidays closed, a target of one business day.
	Clinics *clinic.Directory

	// PatientRate and CareTeamRate limit what one sender sends (threads, messages,
	// answers): MESSAGING_PATIENT_RATE and MESSAGING_CARE_TEAM_RATE as "N/duration",
	// e.g. "10/1m". Defaults: 10 per minute and 60 per minute.
	PatientRate, CareTeamRate thread.Rate

	// Limits bound attachments: MESSAGING_MAX_ATTACHMENTS per message (default 3) and
	// MESSAGING_MAX_ATTACHMENT_BYTES each (default 2 MiB).
	Limits thread.Limits

	// Notifier tells recipients something awaits them. Default: thread.OutboxNotifier,
	// which publishes messaging.notification.requested.
	Notifier thread.Notifier

	// Now is the clock. Default: time.Now. Tests set it.
	Now func() time.Time
}

// ConfigFromEnv reads Config through getenv. Every problem is reported at once.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var problems []error
	cfg := Config{Limits: thread.DefaultLimits}
	var err error
	if keys := getenv("MESSAGING_KEYS"); keys != "" {
		cfg.Keys, err = keyring.Parse(keys, getenv("MESSAGING_ACTIVE_KEY"))
	} else {
		cfg.KeyFile = getenv("MESSAGING_KEY_FILE")
		if cfg.KeyFile == "" {
			dir := getenv("ATTEST_DATA_DIR") // the shared data directory; "data" when unset, as for the SQLite files
			if dir == "" {
				dir = "data"
			}
			cfg.KeyFile = filepath.Join(dir, "messaging.keys")
		}
		cfg.Keys, err = keyFile(cfg.KeyFile)
	}
	problems = append(problems, err)
	cfg.Clinics, err = clinic.Parse(getenv("MESSAGING_CLINICS"), getenv("MESSAGING_CLINIC_DEFAULTS"))
	problems = append(problems, err)
	cfg.PatientRate, err = parseRate("MESSAGING_PATIENT_RATE", getenv("MESSAGING_PATIENT_RATE"), DefaultPatientRate)
	problems = append(problems, err)
	cfg.CareTeamRate, err = parseRate("MESSAGING_CARE_TEAM_RATE", getenv("MESSAGING_CARE_TEAM_RATE"), DefaultCareTeamRate)
	problems = append(problems, err)
	cfg.Limits.MaxAttachments, err = parseInt("MESSAGING_MAX_ATTACHMENTS", getenv("MESSAGING_MAX_ATTACHMENTS"), cfg.Limits.MaxAttachments, 0, 20)
	problems = append(problems, err)
	cfg.Limits.MaxAttachmentBytes, err = parseInt("MESSAGING_MAX_ATTACHMENT_BYTES", getenv("MESSAGING_MAX_ATTACHMENT_BYTES"), cfg.Limits.MaxAttachmentBytes, 1, 20<<20)
	problems = append(problems, err)
	if err := errors.Join(problems...); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// keyFile loads the generated key in path, creating it (owner-only) on first use.
func keyFile(path string) (*keyring.Keyring, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key, gerr := keyring.Generate()
		if gerr != nil {
			return nil, gerr
		}
		b = []byte("generated:" + key + "\n")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("messaging key file: %w", err)
		}
		// O_EXCL: two processes starting at once must not each write their own key.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return keyFile(path)
		}
		if err != nil {
			return nil, fmt.Errorf("messaging key file: %w", err)
		}
		_, werr := f.Write(b)
		if err := errors.Join(werr, f.Close()); err != nil {
			return nil, fmt.Errorf("messaging key file: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("messaging key file: %w", err)
	}
	k, err := keyring.Parse(strings.TrimSpace(string(b)), "")
	if err != nil {
		return nil, fmt.Errorf("messaging key file %s: %w", path, err)
	}
	return k, nil
}

func parseRate(name, s string, def thread.Rate) (thread.Rate, error) {
	if s == "" {
		return def, nil
	}
	n, per, ok := strings.Cut(s, "/")
	r := thread.Rate{}
	var err1, err2 error
	r.N, err1 = strconv.Atoi(n)
	r.Per, err2 = time.ParseDuration(per)
	if !ok || err1 != nil || err2 != nil || r.N < 1 || r.Per < time.Second {
		return def, errs.Field(errs.Invalid, name, "must be N/duration, e.g. 10/1m, with N ≥ 1 and a duration of at least 1s")
	}
	return r, nil
}

func parseInt(name, s string, def, lo, hi int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return def, errs.Field(errs.Invalid, name, "must be a whole number from %d to %d", lo, hi)
	}
	return n, nil
}

// Deps are the infrastructure handles the service is given.
type Deps = app.Deps

// App is a running messaging service.
type App struct {
	deps    Deps
	dir     *patientdir.Directory
	svc     *thread.Service
	writer  *event.Writer
	relay   *outbox.Relay
	handler http.Handler
}

// New migrates the service's database and wires it. It starts nothing.
func New(ctx context.Context, cfg Config, d Deps) (*App, error) {
	if cfg.Keys == nil {
		return nil, errs.Field(errs.Invalid, "MESSAGING_KEYS", "no keys: build Config with ConfigFromEnv")
	}
	if cfg.Clinics == nil {
		cfg.Clinics, _ = clinic.Parse("", "") // the defaults cannot fail
	}
	if cfg.PatientRate.N == 0 {
		cfg.PatientRate = DefaultPatientRate
	}
	if cfg.CareTeamRate.N == 0 {
		cfg.CareTeamRate = DefaultCareTeamRate
	}
	if cfg.KeyFile != "" {
		d.Log.WarnContext(ctx, "MESSAGING_KEYS is unset: messages are sealed with a key generated into a local file; "+
			"set MESSAGING_KEYS from a secret store in production", "key_file", cfg.KeyFile)
	}
	if err := d.DB.Migrate(ctx, thread.Migrations()); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	w := event.NewWriter(d.Events())
	relay := outbox.NewRelay(d.DB, w, outbox.RelayConfig{Log: d.Log, Metrics: d.Metrics})
	svc, err := thread.New(thread.Config{
		DB: d.DB, Keys: cfg.Keys, Clinics: cfg.Clinics, Limits: cfg.Limits,
		Limiter: d.Cache, PatientRate: cfg.PatientRate, CareTeamRate: cfg.CareTeamRate,
		Notifier: cfg.Notifier, Notify: relay.Notify, Now: cfg.Now,
	})
	if err != nil {
		return nil, errors.Join(err, w.Close())
	}
	dir := patientdir.New(d.DB, "messaging.patients", d.Log)
	mux := http.NewServeMux()
	httpapi.Health(mux, d.Checks()...)
	dir.Routes(mux, d.Log)
	thread.Routes(mux, svc, d.Log)
	fhir.Routes(mux, svc, "/"+Name, d.Log)
	return &App{
		deps: d, dir: dir, svc: svc, writer: w, relay: relay,
		handler: thread.Authenticate(httpapi.Route(mux), d.Log),
	}, nil
}

// Handler returns the HTTP API: /v1/threads…, /v1/requests…, /v1/proxy-grants,
// /v1/clinics/{id}/…, /v1/keys/reencrypt, /v1/openapi.json, /v1/patients/{id},
// /fhir/Communication…, /fhir/CommunicationRequest…, /healthz, /readyz.
func (a *App) Handler() http.Handler { return a.handler }

// Run relays the outbox, keeps the patient directory current and forgets expired
// idempotency keys until ctx is done.
func (a *App) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.relay.Run(ctx) })
	g.Go(func() error {
		return event.Consume(ctx, a.deps.Events(),
			event.ConsumerConfig{Group: a.dir.Group(), Topics: patientdir.Topics}, a.dir)
	})
	g.Go(func() error {
		t := time.NewTicker(purgeEvery)
		defer t.Stop()
		for {
			if _, err := a.svc.PurgeIdempotencyKeys(ctx); err != nil && ctx.Err() == nil {
				a.deps.Log.WarnContext(ctx, "purging idempotency keys failed; retrying later", "err", err)
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
func (a *App) Close() error { return a.writer.Close() }
