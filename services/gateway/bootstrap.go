package gateway

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/services/gateway/internal/account"
	"github.com/attest-ehr/attest/services/gateway/internal/audit"
)

// The generated development keys in the data directory.
const (
	devAuditKey = "gateway-audit-ed25519.key"
	devSealKey  = "gateway-seal.key"
)

// auditKey returns the configured audit key, or the development key in the data
// directory, generating it on first use.
func auditKey(cfg Config, d Deps) (ed25519.PrivateKey, error) {
	if cfg.AuditKey != nil {
		return cfg.AuditKey, nil
	}
	seed, err := devSecret(cfg.DataDir, devAuditKey, d, "GATEWAY_AUDIT_KEY")
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// sealBox returns the Box for TOTP keys: GATEWAY_SEAL_KEY's, or the development key.
func sealBox(cfg Config, d Deps) (*account.Box, error) {
	key := cfg.SealKey
	if key == nil {
		var err error
		if key, err = devSecret(cfg.DataDir, devSealKey, d, "GATEWAY_SEAL_KEY"); err != nil {
			return nil, err
		}
	}
	return account.NewBox(key)
}

// devSecret reads 32 random bytes kept base64 in dir/name, generating the file
// (mode 0600) on first use, and warns that production must set variable instead.
func devSecret(dir, name string, d Deps, variable string) ([]byte, error) {
	path := filepath.Join(dir, name)
	d.Log.Warn("using a development key from the data directory; set "+variable+" in production", "file", path)
	b, err := os.ReadFile(path)
	if err == nil {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("gateway: %s does not hold the base64 of 32 bytes", path)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("gateway: read %s: %w", path, err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("gateway: generate %s: %w", name, err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("gateway: data directory: %w", err)
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("gateway: write %s: %w", path, err)
	}
	return key, nil
}

// AuditPublicKey returns the public key that verifies the checkpoints signed under
// cfg: GATEWAY_AUDIT_KEY's, or the development key's in the data directory (which
// must exist: verifying never generates one).
func AuditPublicKey(cfg Config, log *slog.Logger) (ed25519.PublicKey, error) {
	if cfg.AuditKey == nil {
		path := filepath.Join(cfg.DataDir, devAuditKey)
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("gateway: no GATEWAY_AUDIT_KEY and no development key at %s: %w", path, err)
		}
	}
	key, err := auditKey(cfg, Deps{Log: log})
	if err != nil {
		return nil, err
	}
	return key.Public().(ed25519.PublicKey), nil
}

// AuditReport is what VerifyAudit found; FirstBad names the first bad record.
type AuditReport = audit.Report

// VerifyAudit checks the gateway's audit log in db — the hash chain and every signed
// checkpoint — against the public key, and reports the first record that was
// altered, deleted, inserted or moved (`attest audit verify`). The error is for a
// failure to read the log, not for a bad one: check Report.OK.
func VerifyAudit(ctx context.Context, db *store.DB, pub ed25519.PublicKey) (AuditReport, error) {
	return audit.Verify(ctx, db, pub)
}

// CreateOfficer creates a compliance officer account in the gateway's database db
// (migrating it first), records the privilege change in the audit log, and returns
// the otpauth:// URL that enrols the officer's authenticator. totpSecret (base32)
// may be "" to generate one. For the command line and the ATTEST_ADMIN_* bootstrap.
func CreateOfficer(ctx context.Context, cfg Config, db *store.DB, log *slog.Logger, username, password, totpSecret string) (string, error) {
	d := Deps{DB: db, Log: log}
	if err := migrate(ctx, d); err != nil {
		return "", err
	}
	key, err := auditKey(cfg, d)
	if err != nil {
		return "", err
	}
	box, err := sealBox(cfg, d)
	if err != nil {
		return "", err
	}
	c, err := createAccount(ctx, account.NewStore(db, account.OWASP(), box), audit.New(db, key, log, audit.Options{}),
		"system:bootstrap", account.New{Username: username, Kind: principal.Officer, Password: password, TOTPSecret: totpSecret})
	return c.TOTPURL, err
}

// createAccount creates an account and audits the privilege change, whoever asked.
func createAccount(ctx context.Context, accounts *account.Store, l *audit.Log, actor string, n account.New) (account.Created, error) {
	c, err := accounts.Create(ctx, n)
	e := audit.Entry{Actor: actor, Action: "gateway.account.create", Outcome: audit.Success,
		Detail: "kind=" + string(n.Kind)}
	if err != nil {
		e.Outcome, e.Detail = audit.Denied, e.Detail+"; reason="+errs.KindOf(err).String()
	} else {
		e.Detail += "; account=" + c.Account.ID
	}
	if aerr := l.Write(ctx, e); aerr != nil {
		return account.Created{}, errors.Join(err, aerr)
	}
	return c, err
}

// bootstrap creates the ATTEST_ADMIN_* officer and the demo accounts when configured
// and missing.
func bootstrap(ctx context.Context, cfg Config, d Deps, accounts *account.Store, l *audit.Log) error {
	if cfg.Admin.Username != "" {
		if _, err := accounts.ByUsername(ctx, cfg.Admin.Username); errs.Is(errs.NotFound, err) {
			c, err := createAccount(ctx, accounts, l, "system:bootstrap", account.New{Username: cfg.Admin.Username,
				Kind: principal.Officer, Password: cfg.Admin.Password, TOTPSecret: cfg.Admin.TOTPSecret})
			if err != nil {
				return fmt.Errorf("gateway: bootstrap officer: %w", err)
			}
			if cfg.Admin.TOTPSecret == "" {
				path := filepath.Join(cfg.DataDir, "gateway-admin-totp.txt")
				if err := os.WriteFile(path, []byte(c.TOTPURL+"\n"), 0o600); err != nil {
					return fmt.Errorf("gateway: write the officer's TOTP enrolment: %w", err)
				}
				d.Log.Warn("bootstrap officer created; enrol the authenticator from the file, then delete it", "file", path)
			}
		} else if err != nil {
			return err
		}
	}
	if cfg.Demo {
		d.Log.Warn("DEMO SIGN-IN ENABLED: the published demo accounts can sign in; never use with real patient data")
		return demo(ctx, accounts, l)
	}
	return nil
}

// The demo accounts, published in docs/security.md: for `make run` and the browser
// tests only, enabled by GATEWAY_DEMO=true.
const (
	DemoPassword     = "attest-demo-password"
	DemoTOTPSecret   = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	DemoServiceToken = "atk_demo-service-account-token-not-a-secret"
	// DemoClinic is the demo administrator's clinic: the first clinic of the demo
	// health system, whose organization internal/generate names "clinic1" (its IDs are
	// stable for every seed). Clinics are organizations, as records gives them to
	// patients, so the administrator's scope covers that clinic's patients and — from
	// records' directory (internal/clinicdir) — its group's TIN and the clinicians who
	// bill under it, as soon as the demo is loaded.
	DemoClinic = "clinic1"
	DemoNPI    = "1234567893"
)

func demo(ctx context.Context, accounts *account.Store, l *audit.Log) error {
	for _, n := range []account.New{
		{Username: "demo-officer", Kind: principal.Officer},
		{Username: "demo-admin", Kind: principal.ClinicAdmin, Clinics: []string{DemoClinic}},
		{Username: "demo-auditor", Kind: principal.Auditor},
		{Username: "demo-clinician", Kind: principal.Clinician, PrincipalID: DemoNPI, Clinics: []string{DemoClinic}},
		{Username: "demo-service", Kind: principal.Service},
	} {
		if n.Kind != principal.Service {
			n.Password, n.TOTPSecret = DemoPassword, DemoTOTPSecret
		}
		if _, err := accounts.ByUsername(ctx, n.Username); err == nil {
			continue
		}
		c, err := createAccount(ctx, accounts, l, "system:demo", n)
		if err != nil {
			return fmt.Errorf("gateway: demo account %s: %w", n.Username, err)
		}
		if n.Kind == principal.Service {
			if err := accounts.AddToken(ctx, c.Account.ID, DemoServiceToken); err != nil {
				return err
			}
		}
	}
	return accounts.AddClinicEntity(ctx, DemoClinic, "npi:"+DemoNPI)
}
