// Package gateway is the gateway service: it serves the web console, signs people in
// (argon2id passwords with TOTP, optional OIDC, API tokens for service accounts),
// decides every request with one policy table, routes /<service>/… to the services'
// HTTP APIs (in-process in the platform, upstream URLs when split) with the caller's
// principal, and keeps the tamper-evident audit log. It exports one small API —
// Config, Deps, App — used by its own binary (cmd/gateway) and by the all-in-one
// platform, and VerifyAudit and CreateOfficer for the command line.
package gateway

import (
	"context"
	"crypto/ed25519"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/patientdir"
	"github.com/attest-ehr/attest/services/gateway/internal/access"
	"github.com/attest-ehr/attest/services/gateway/internal/account"
	"github.com/attest-ehr/attest/services/gateway/internal/audit"
	"github.com/attest-ehr/attest/services/gateway/internal/clinicdir"
	"github.com/attest-ehr/attest/services/gateway/internal/console"
	"github.com/attest-ehr/attest/services/gateway/internal/guard"
	"github.com/attest-ehr/attest/services/gateway/internal/policy"
	"github.com/attest-ehr/attest/services/gateway/internal/session"
	"github.com/attest-ehr/attest/services/gateway/internal/signin"
)

// Name is the service's name: its database schema and key prefix.
const Name = "gateway"

//go:embed migrations
var migrations embed.FS

// Services are the services the gateway can route to, in the order the console lists them.
var Services = []string{"records", "messaging", "education", "metrics", "reporting"}

// OIDCConfig configures OIDC sign-in; see Config.OIDC.
type OIDCConfig = signin.OIDCConfig

// Config is the gateway's configuration.
type Config struct {
	// Upstreams maps a service to the base URL of its API when it runs as its own
	// process. GATEWAY_UPSTREAMS: "records=http://records:8080,metrics=http://…".
	Upstreams map[string]*url.URL
	// Local maps a service to its in-process handler; set by the platform, not the
	// environment. Local wins over Upstreams.
	Local map[string]http.Handler

	// DataDir holds the generated development audit key. ATTEST_DATA_DIR; default ./data.
	DataDir string
	// AuditKey signs the audit log's checkpoints. GATEWAY_AUDIT_KEY: the base64 of an
	// Ed25519 seed (32 bytes). Default: a key generated once into DataDir, for
	// development only; production sets it from a secret store.
	AuditKey ed25519.PrivateKey
	// SealKey seals the TOTP keys stored in the database (AES-256-GCM).
	// GATEWAY_SEAL_KEY: the base64 of 32 random bytes. Default: a key generated once
	// into DataDir, for development only.
	SealKey []byte
	// AuditCheckpointEvery signs a checkpoint after this many records.
	// GATEWAY_AUDIT_CHECKPOINT_EVERY; default 1000.
	AuditCheckpointEvery int64
	// AuditCheckpointInterval signs the tail this often when it moved.
	// GATEWAY_AUDIT_CHECKPOINT_INTERVAL; default 5m.
	AuditCheckpointInterval time.Duration

	// SessionIdle ends a session unused this long. GATEWAY_SESSION_IDLE; default 15m.
	SessionIdle time.Duration
	// SessionLifetime ends any session this long after sign-in. GATEWAY_SESSION_LIFETIME; default 12h.
	SessionLifetime time.Duration
	// InsecureCookie drops Secure from the session cookie, for plain HTTP on a host
	// other than localhost. GATEWAY_INSECURE_COOKIE=true; default false.
	InsecureCookie bool
	// TrustedOrigins may post to the gateway across origins (e.g. a separate console
	// host). GATEWAY_TRUSTED_ORIGINS, comma-separated "https://host[:port]".
	TrustedOrigins []string
	// OIDC turns on sign-in through an OpenID Connect provider when set:
	// GATEWAY_OIDC_ISSUER, GATEWAY_OIDC_CLIENT_ID, GATEWAY_OIDC_CLIENT_SECRET,
	// GATEWAY_OIDC_REDIRECT_URL (all four, or none).
	OIDC *OIDCConfig

	// Admin creates the first compliance officer at start when no account has its
	// username: ATTEST_ADMIN_USERNAME, ATTEST_ADMIN_PASSWORD and optionally
	// ATTEST_ADMIN_TOTP_SECRET (base32; else one is generated and its otpauth:// URL
	// written to DataDir/gateway-admin-totp.txt, mode 0600).
	Admin AdminConfig
	// Demo creates the published demo accounts (docs/security.md) and marks the
	// sign-in page. GATEWAY_DEMO=true; default false. Never with real data.
	Demo bool
}

// AdminConfig is the bootstrap officer; empty Username means none.
type AdminConfig struct {
	Username, Password, TOTPSecret string
}

// ConfigFromEnv reads Config through getenv, reporting every problem at once.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{Upstreams: map[string]*url.URL{}, DataDir: getenv("ATTEST_DATA_DIR")}
	if cfg.DataDir == "" {
		cfg.DataDir = "data"
	}
	var problems []error
	bad := func(err error) { problems = append(problems, err) }
	for _, pair := range strings.Split(getenv("GATEWAY_UPSTREAMS"), ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		name, raw, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || !slices.Contains(Services, name) {
			bad(errs.Field(errs.Invalid, "GATEWAY_UPSTREAMS", "want service=url pairs for %s", strings.Join(Services, ", ")))
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(errs.Field(errs.Invalid, "GATEWAY_UPSTREAMS", "%s: not an http(s) URL", name))
			continue
		}
		cfg.Upstreams[name] = u
	}
	if s := getenv("GATEWAY_AUDIT_KEY"); s != "" {
		seed, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(seed) != ed25519.SeedSize {
			bad(errs.Field(errs.Invalid, "GATEWAY_AUDIT_KEY", "want the base64 of a 32-byte Ed25519 seed"))
		} else {
			cfg.AuditKey = ed25519.NewKeyFromSeed(seed)
		}
	}
	if s := getenv("GATEWAY_SEAL_KEY"); s != "" {
		key, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(key) != account.KeySize {
			bad(errs.Field(errs.Invalid, "GATEWAY_SEAL_KEY", "want the base64 of 32 random bytes"))
		}
		cfg.SealKey = key
	}
	if s := getenv("GATEWAY_AUDIT_CHECKPOINT_EVERY"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			bad(errs.Field(errs.Invalid, "GATEWAY_AUDIT_CHECKPOINT_EVERY", "a positive whole number"))
		}
		cfg.AuditCheckpointEvery = n
	}
	for name, d := range map[string]*time.Duration{"GATEWAY_AUDIT_CHECKPOINT_INTERVAL": &cfg.AuditCheckpointInterval,
		"GATEWAY_SESSION_IDLE": &cfg.SessionIdle, "GATEWAY_SESSION_LIFETIME": &cfg.SessionLifetime} {
		if s := getenv(name); s != "" {
			v, err := time.ParseDuration(s)
			if err != nil || v <= 0 {
				bad(errs.Field(errs.Invalid, name, "a positive duration such as 15m"))
			}
			*d = v
		}
	}
	cfg.InsecureCookie = getenv("GATEWAY_INSECURE_COOKIE") == "true"
	cfg.Demo = getenv("GATEWAY_DEMO") == "true"
	for _, o := range strings.Split(getenv("GATEWAY_TRUSTED_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			cfg.TrustedOrigins = append(cfg.TrustedOrigins, o)
		}
	}
	oidcVars := []string{getenv("GATEWAY_OIDC_ISSUER"), getenv("GATEWAY_OIDC_CLIENT_ID"),
		getenv("GATEWAY_OIDC_CLIENT_SECRET"), getenv("GATEWAY_OIDC_REDIRECT_URL")}
	set := 0
	for _, v := range oidcVars {
		if v != "" {
			set++
		}
	}
	switch set {
	case 0:
	case len(oidcVars):
		cfg.OIDC = &OIDCConfig{Issuer: oidcVars[0], ClientID: oidcVars[1], ClientSecret: oidcVars[2], RedirectURL: oidcVars[3]}
	default:
		bad(errs.Field(errs.Invalid, "GATEWAY_OIDC_ISSUER", "set all of GATEWAY_OIDC_ISSUER, _CLIENT_ID, _CLIENT_SECRET, _REDIRECT_URL, or none"))
	}
	cfg.Admin = AdminConfig{Username: getenv("ATTEST_ADMIN_USERNAME"), Password: getenv("ATTEST_ADMIN_PASSWORD"),
		TOTPSecret: getenv("ATTEST_ADMIN_TOTP_SECRET")}
	if (cfg.Admin.Username == "") != (cfg.Admin.Password == "") {
		bad(errs.Field(errs.Invalid, "ATTEST_ADMIN_PASSWORD", "set ATTEST_ADMIN_USERNAME and ATTEST_ADMIN_PASSWORD together"))
	}
	if len(problems) > 0 {
		return Config{}, errors.Join(problems...)
	}
	return cfg, nil
}

// Deps are the infrastructure handles the service is given.
type Deps = app.Deps

// App is a running gateway.
type App struct {
	deps    Deps
	access  *access.Log
	audit   *audit.Log
	dir     *patientdir.Directory
	clinics *clinicdir.Directory
	handler http.Handler
}

// New migrates the gateway's database, creates the bootstrap and demo accounts when
// configured, and wires sign-in, the policy, the console and the routes. It starts
// nothing; the audit log is written by Run.
func New(ctx context.Context, cfg Config, d Deps) (*App, error) {
	if err := migrate(ctx, d); err != nil {
		return nil, err
	}
	key, err := auditKey(cfg, d)
	if err != nil {
		return nil, err
	}
	auditLog := audit.New(d.DB, key, d.Log, audit.Options{CheckpointEvery: cfg.AuditCheckpointEvery,
		CheckpointInterval: cfg.AuditCheckpointInterval})
	box, err := sealBox(cfg, d)
	if err != nil {
		return nil, err
	}
	accounts := account.NewStore(d.DB, account.OWASP(), box)
	if err := bootstrap(ctx, cfg, d, accounts, auditLog); err != nil {
		return nil, err
	}
	sessions := session.New(d.Cache, cfg.SessionIdle, cfg.SessionLifetime)
	si, err := signin.New(ctx, signin.Config{InsecureCookie: cfg.InsecureCookie, OIDC: cfg.OIDC, Demo: cfg.Demo},
		accounts, sessions, d.Cache, auditLog, d.Log, account.OWASP())
	if err != nil {
		return nil, err
	}
	clinics := clinicdir.New(d.DB, "gateway.clinics", d.Log)
	table, err := policy.New(policy.Rules(), scopeDirectory{Store: accounts, clinics: clinics})
	if err != nil {
		return nil, err
	}
	g := guard.New(table, si, auditLog, d.Log)
	a := &App{deps: d, access: access.New(d.DB, d.Log), audit: auditLog,
		dir: patientdir.New(d.DB, "gateway.patients", d.Log), clinics: clinics}

	mux := http.NewServeMux()
	var routed []string
	for _, name := range Services {
		var h http.Handler
		if local, ok := cfg.Local[name]; ok {
			h = local
		} else if u, ok := cfg.Upstreams[name]; ok {
			h = console.Proxy(u)
		} else {
			continue
		}
		routed = append(routed, name)
		chain := g.Wrap(name, a.access.Middleware(name, httpapi.Instrument(name, h, d.Tracing, d.Metrics, d.Log)))
		mux.Handle("/"+name+"/", http.StripPrefix("/"+name, chain))
		if name == "records" {
			// FHIR clients expect the API at the server's base: /fhir is records' /fhir
			// (docs/fhir.md), under the same policy rules as /records/fhir.
			mux.Handle("/fhir", chain)
			mux.Handle("/fhir/", chain)
		}
	}
	client := &http.Client{Transport: &guard.Transport{Guard: g,
		Base: &console.Transport{Local: cfg.Local, Upstream: cfg.Upstreams}}}
	health := http.NewServeMux()
	httpapi.Health(health, d.Checks()...)
	api := &api{accounts: accounts, audit: auditLog, db: d.DB, key: key, log: d.Log}
	c := console.New(console.Options{Services: routed, Client: client, Log: d.Log,
		Audit:         func(ctx context.Context, q audit.Query) ([]audit.Record, error) { return audit.List(ctx, d.DB, q) },
		EntityClinics: clinics.EntityClinics})
	handlers := map[string]http.Handler{
		"signin.form":               http.HandlerFunc(si.Form),
		"signin":                    http.HandlerFunc(si.SignIn),
		"signin.oidc":               http.HandlerFunc(si.OIDCStart),
		"signin.oidc.callback":      http.HandlerFunc(si.OIDCCallback),
		"signout":                   http.HandlerFunc(si.SignOut),
		"gateway.health":            health,
		"gateway.ready":             health,
		"audit.export":              http.HandlerFunc(api.auditEvents),
		"audit.verify":              http.HandlerFunc(api.verify),
		"gateway.account.create":    http.HandlerFunc(api.createAccount),
		"gateway.grant.create":      http.HandlerFunc(api.grant),
		"gateway.clinic.entity.add": http.HandlerFunc(api.addClinicEntity),
	}
	for action, h := range c.Handlers() {
		handlers[action] = h
	}
	own, err := ownRoutes(table, g, handlers)
	if err != nil {
		return nil, err
	}
	mux.Handle("/", own["console"])
	mux.Handle("/gateway/", http.StripPrefix("/gateway", own["gateway"]))

	cop := http.NewCrossOriginProtection()
	for _, o := range cfg.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, errs.Field(errs.Invalid, "GATEWAY_TRUSTED_ORIGINS", "%v", err)
		}
	}
	// No body limit here: each service sets its own (attachments, imports), and the
	// gateway's own handlers bound what they read.
	a.handler = cop.Handler(securityHeaders(mux))
	return a, nil
}

// scopeDirectory answers the policy's scope questions: patients' clinics and PHI
// grants from the accounts store, entities' clinics from the clinic directory.
type scopeDirectory struct {
	*account.Store
	clinics *clinicdir.Directory
}

func (s scopeDirectory) EntityClinics(ctx context.Context, entity string) ([]string, error) {
	return s.clinics.EntityClinics(ctx, entity)
}

// ownRoutes registers the gateway's own pages and API from the policy table: every
// console and gateway rule needs a handler and every handler a rule, so a page
// cannot be served without a policy.
func ownRoutes(table *policy.Table, g *guard.Guard, handlers map[string]http.Handler) (map[string]*http.ServeMux, error) {
	muxes := map[string]*http.ServeMux{"console": http.NewServeMux(), "gateway": http.NewServeMux()}
	used := map[string]bool{}
	for _, r := range table.Rules() {
		mux, ok := muxes[r.Service]
		if !ok {
			continue
		}
		h, ok := handlers[r.Action]
		if !ok {
			return nil, fmt.Errorf("gateway: policy rule %s (%s) has no handler", r.Action, r.Pattern)
		}
		used[r.Action] = true
		mux.Handle(r.Pattern, httpapi.Route(g.Wrap(r.Service, h)))
	}
	for action := range handlers {
		if !used[action] {
			return nil, fmt.Errorf("gateway: handler %s has no policy rule", action)
		}
	}
	return muxes, nil
}

// securityHeaders sets what every response carries: no caching anywhere (every page
// may show PHI; ONC d(7)), no framing, no sniffing, no referrer, and a content
// security policy that allows only the gateway's own resources.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'")
		h.ServeHTTP(w, r)
	})
}

func migrate(ctx context.Context, d Deps) error {
	sub, _ := fs.Sub(migrations, "migrations") // cannot fail: the folder is embedded
	if err := d.DB.Migrate(ctx, sub); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Handler returns the console at /, the routes /<service>/…, the gateway's API at
// /gateway/v1/…, /healthz and /readyz.
func (a *App) Handler() http.Handler { return a.handler }

// Run writes the access and audit logs and keeps the patient and clinic directories
// (for scope checks) current until ctx is done.
func (a *App) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.access.Run(ctx) })
	g.Go(func() error { return a.audit.Run(ctx) })
	g.Go(func() error {
		return event.Consume(ctx, a.deps.Events(), event.ConsumerConfig{Group: a.dir.Group(), Topics: patientdir.Topics}, a.dir)
	})
	g.Go(func() error {
		return event.Consume(ctx, a.deps.Events(), event.ConsumerConfig{Group: a.clinics.Group(), Topics: clinicdir.Topics}, a.clinics)
	})
	return g.Wait()
}

// Close releases nothing yet; it exists so the platform treats every service alike.
func (a *App) Close() error { return nil }
