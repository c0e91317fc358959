package account_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/gateway/internal/account"
)

// cheap keeps the store tests fast; the OWASP parameters are checked in
// TestPasswordHash and measured in BenchmarkHashPassword.
var cheap = account.Params{Memory: 64, Time: 1, Threads: 1}

func TestPasswordHash(t *testing.T) {
	h, err := account.HashPassword("correct horse battery", account.OWASP())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not carry the OWASP parameters", h)
	}
	h2, _ := account.HashPassword("correct horse battery", account.OWASP())
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, tc := range []struct {
		password string
		want     bool
	}{{"correct horse battery", true}, {"correct horse batterY", false}, {"", false}, {strings.Repeat("x", 300), false}} {
		if ok, err := account.CheckPassword(h, tc.password); err != nil || ok != tc.want {
			t.Errorf("CheckPassword(%q) = %v, %v", tc.password, ok, err)
		}
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=16$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=x$AA$AA"} {
		if _, err := account.CheckPassword(bad, "x"); err == nil {
			t.Errorf("CheckPassword accepted the hash %q", bad)
		}
	}
	if _, err := account.HashPassword("short", cheap); errs.KindOf(err) != errs.Invalid {
		t.Errorf("a short password: %v", err)
	}
}

func TestCheckCode(t *testing.T) {
	secret := "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	opts := totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	for _, tc := range []struct {
		name string
		at   time.Time
		ok   bool
	}{{"now", now, true}, {"one step late", now.Add(-30 * time.Second), true}, {"one step early", now.Add(30 * time.Second), true},
		{"two steps late", now.Add(-61 * time.Second), false}} {
		c, err := totp.GenerateCodeCustom(secret, tc.at, opts)
		if err != nil {
			t.Fatal(err)
		}
		if step, ok := account.CheckCode(secret, c, now); ok != tc.ok || ok && step != tc.at.Unix()/30 {
			t.Errorf("%s: step %d ok %v", tc.name, step, ok)
		}
	}
	if _, ok := account.CheckCode(secret, "12345", now); ok {
		t.Error("a five-digit code passed")
	}
}

func migrated(t *testing.T, db *store.DB) *account.Store {
	t.Helper()
	if err := db.Migrate(context.Background(), os.DirFS("../../migrations")); err != nil {
		t.Fatal(err)
	}
	box, err := account.NewBox(make([]byte, account.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return account.NewStore(db, cheap, box)
}

func TestStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := migrated(t, db)
		c, err := s.Create(ctx, account.New{Username: " Ann@Example.org ", Kind: principal.Officer, Password: "a-long-enough-password"})
		if err != nil {
			t.Fatal(err)
		}
		if c.Account.Username != "ann@example.org" || c.TOTPURL == "" || c.Account.TOTPSecret == "" {
			t.Fatalf("officer: %+v", c)
		}
		got, err := s.ByUsername(ctx, "ANN@example.org")
		if err != nil || got.ID != c.Account.ID || got.Kind != principal.Officer || got.PasswordHash == "" ||
			got.TOTPSecret != c.Account.TOTPSecret {
			t.Fatalf("ByUsername: %+v %v", got, err)
		}
		var stored string
		if err := db.QueryRowContext(ctx, `SELECT totp_secret FROM accounts WHERE id = ?`, got.ID).Scan(&stored); err != nil ||
			!strings.HasPrefix(stored, "v1:") || strings.Contains(stored, got.TOTPSecret) {
			t.Errorf("the TOTP key is stored as %q, want it sealed", stored)
		}
		if _, err := s.Create(ctx, account.New{Username: "ann@example.org", Kind: principal.Staff, Password: "a-long-enough-password"}); errs.KindOf(err) != errs.Conflict {
			t.Errorf("duplicate username: %v", err)
		}

		svc, err := s.Create(ctx, account.New{Username: "ehr-feed", Kind: principal.Service})
		if err != nil || !strings.HasPrefix(svc.APIToken, "atk_") {
			t.Fatalf("service account: %+v %v", svc, err)
		}
		if a, err := s.ByToken(ctx, svc.APIToken); err != nil || a.ID != svc.Account.ID {
			t.Errorf("ByToken: %+v %v", a, err)
		}
		if _, err := s.ByToken(ctx, svc.APIToken+"x"); errs.KindOf(err) != errs.Unauthenticated {
			t.Errorf("a wrong token: %v", err)
		}

		for _, tc := range []struct {
			name  string
			n     account.New
			field string
		}{
			{"bad username", account.New{Username: "a", Kind: principal.Staff, Password: "a-long-enough-password"}, "username"},
			{"unknown kind", account.New{Username: "bob", Kind: "king", Password: "a-long-enough-password"}, "kind"},
			{"clinician without NPI", account.New{Username: "cl1", Kind: principal.Clinician, Password: "a-long-enough-password"}, "principal_id"},
			{"proxy without patient", account.New{Username: "px1", Kind: principal.Proxy, Password: "a-long-enough-password"}, "for"},
			{"admin without clinics", account.New{Username: "ca1", Kind: principal.ClinicAdmin, Password: "a-long-enough-password"}, "clinics"},
			{"no password", account.New{Username: "st1", Kind: principal.Staff}, "password"},
			{"service with password", account.New{Username: "sv1", Kind: principal.Service, Password: "a-long-enough-password"}, "password"},
			{"bad clinic", account.New{Username: "st2", Kind: principal.Staff, Clinics: []string{"a b"}, Password: "a-long-enough-password"}, "principal_id"},
		} {
			if _, err := s.Create(ctx, tc.n); errs.KindOf(err) != errs.Invalid || errs.FieldOf(err) != tc.field {
				t.Errorf("%s: %v, want invalid %s", tc.name, err, tc.field)
			}
		}

		aud, err := s.Create(ctx, account.New{Username: "audra", Kind: principal.Auditor, Password: "a-long-enough-password"})
		if err != nil {
			t.Fatal(err)
		}
		p := aud.Account.Principal()
		if ok, err := s.Granted(ctx, p); err != nil || ok {
			t.Fatalf("granted before any grant: %v %v", ok, err)
		}
		if err := s.Grant(ctx, c.Account.ID, "officer:x", time.Now().Add(time.Hour)); errs.KindOf(err) != errs.Invalid {
			t.Errorf("granting an officer: %v", err)
		}
		if err := s.Grant(ctx, aud.Account.ID, "officer:x", time.Now().Add(30*24*time.Hour)); errs.KindOf(err) != errs.Invalid {
			t.Errorf("a month-long grant: %v", err)
		}
		if err := s.Grant(ctx, aud.Account.ID, "officer:x", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.Granted(ctx, p); err != nil || !ok {
			t.Errorf("granted: %v %v", ok, err)
		}

		if err := s.AddClinicEntity(ctx, "north", "npi:1234567893"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddClinicEntity(ctx, "north", "npi:1234567890"); errs.KindOf(err) != errs.Invalid {
			t.Errorf("an invalid NPI: %v", err)
		}
		if _, err := s.PatientClinic(ctx, "p-unknown"); errs.KindOf(err) != errs.NotFound {
			t.Errorf("unknown patient: %v", err)
		}
	})
}

func TestBox(t *testing.T) {
	key := make([]byte, account.KeySize)
	key[0] = 1
	box, err := account.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := box.Seal("u-1", "JBSWY3DPEHPK3PXP")
	if err != nil || !strings.HasPrefix(sealed, "v1:") || strings.Contains(sealed, "JBSWY3DPEHPK3PXP") {
		t.Fatalf("Seal: %q %v", sealed, err)
	}
	if got, err := box.Open("u-1", sealed); err != nil || got != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Open: %q %v", got, err)
	}
	other, _ := account.NewBox(make([]byte, account.KeySize))
	tampered := sealed[:len(sealed)-2] + "AA"
	for name, open := range map[string]func() (string, error){
		"another account": func() (string, error) { return box.Open("u-2", sealed) },
		"another key":     func() (string, error) { return other.Open("u-1", sealed) },
		"altered":         func() (string, error) { return box.Open("u-1", tampered) },
		"not sealed":      func() (string, error) { return box.Open("u-1", "JBSWY3DPEHPK3PXP") },
	} {
		if _, err := open(); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
	if _, err := account.NewBox([]byte("short")); err == nil {
		t.Error("a short key was accepted")
	}
}
