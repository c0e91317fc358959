// Package account keeps who may sign in to Attest: local accounts with argon2id
// password hashes and TOTP keys, accounts signed in by OIDC, service accounts with
// API tokens, auditors' time-boxed PHI grants, and the directory the policy's scope
// checks read (a patient's clinic, a reporting entity's clinics).
package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/ident"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
)

// Account is one sign-in identity.
type Account struct {
	ID           string
	Username     string
	Kind         principal.Kind
	PrincipalID  string   // what services see as the principal's ID
	For          string   // a proxy's patient
	Clinics      []string // clinics the account belongs to or administers
	PasswordHash string   // argon2id PHC string, "" when the account has no password
	TOTPSecret   string   // base32, "" when the account has no second factor; sealed in the database
	OIDCSubject  string   // "<issuer> <sub>", "" when not linked
	Disabled     bool
}

// Principal is the account as the services see it.
func (a Account) Principal() principal.Principal {
	return principal.Principal{Kind: a.Kind, ID: a.PrincipalID, For: a.For, Clinics: a.Clinics}
}

// NeedsSecondFactor reports whether the account's kind must sign in with a second
// factor: compliance officers, clinic administrators and auditors (ONC d(13)).
func NeedsSecondFactor(k principal.Kind) bool {
	return k == principal.Officer || k == principal.ClinicAdmin || k == principal.Auditor
}

// New is what Create needs to make an account.
type New struct {
	Username    string         `json:"username"`
	Kind        principal.Kind `json:"kind"`
	PrincipalID string         `json:"principal_id,omitempty"` // clinician: NPI; patient: patient ID
	For         string         `json:"for,omitempty"`          // proxy: the patient
	Clinics     []string       `json:"clinics,omitempty"`
	Password    string         `json:"password,omitempty"` // "" for OIDC-only and service accounts
	OIDCSubject string         `json:"oidc_subject,omitempty"`
	// TOTPSecret, base32, enrols a key the user already has (the bootstrap's
	// ATTEST_ADMIN_TOTP_SECRET, the demo accounts); "" generates one. Never from JSON.
	TOTPSecret string `json:"-"`
}

// Store reads and writes accounts in the gateway's database.
type Store struct {
	db     *store.DB
	params Params
	box    *Box
	now    func() time.Time
}

// NewStore returns a Store hashing new passwords with params and sealing TOTP keys
// with box.
func NewStore(db *store.DB, params Params, box *Box) *Store {
	return &Store{db: db, params: params, box: box, now: time.Now}
}

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{2,63}$`)

// Created is what Create returns: the account and, when it has a second factor, the
// otpauth:// URL to enrol it in an authenticator app (shown once, never stored in
// clear anywhere else). A service account gets its API token instead.
type Created struct {
	Account  Account
	TOTPURL  string `json:"totp_url,omitempty"`
	APIToken string `json:"api_token,omitempty"`
}

// Create validates n and stores the account. Privileged kinds get a TOTP key; a
// service account gets an API token. A taken username is errs.Conflict.
func (s *Store) Create(ctx context.Context, n New) (Created, error) {
	a, err := s.validate(n)
	if err != nil {
		return Created{}, err
	}
	var c Created
	if n.Password != "" {
		if a.PasswordHash, err = HashPassword(n.Password, s.params); err != nil {
			return Created{}, err
		}
	}
	if NeedsSecondFactor(a.Kind) && n.Password != "" {
		opts := totp.GenerateOpts{Issuer: "Attest", AccountName: a.Username}
		if n.TOTPSecret != "" {
			if opts.Secret, err = base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(n.TOTPSecret, "=")); err != nil {
				return Created{}, errs.Field(errs.Invalid, "totp_secret", "not base32")
			}
		}
		key, err := totp.Generate(opts)
		if err != nil {
			return Created{}, fmt.Errorf("account: TOTP key: %w", err)
		}
		a.TOTPSecret, c.TOTPURL = key.Secret(), key.URL()
	}
	var subject any // NULL when unlinked, so the UNIQUE constraint allows many
	if a.OIDCSubject != "" {
		subject = a.OIDCSubject
	}
	sealed, err := s.box.Seal(a.ID, a.TOTPSecret)
	if err != nil {
		return Created{}, err
	}
	now := s.now().UTC().Format(time.RFC3339Nano)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, username, kind, principal_id, for_patient, clinics,
			password_hash, totp_secret, oidc_subject, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
			a.ID, a.Username, string(a.Kind), a.PrincipalID, a.For, strings.Join(a.Clinics, ","), a.PasswordHash,
			sealed, subject, now); err != nil {
			if store.IsUniqueViolation(err) {
				return errs.Field(errs.Conflict, "username", "already taken (or the OIDC subject is linked)")
			}
			return fmt.Errorf("account: insert: %w", err)
		}
		if a.Kind != principal.Service {
			return nil
		}
		token, err := issueToken(ctx, tx, a.ID, now)
		c.APIToken = token
		return err
	})
	if err != nil {
		return Created{}, err
	}
	c.Account = a
	return c, nil
}

func (s *Store) validate(n New) (Account, error) {
	a := Account{Username: strings.ToLower(strings.TrimSpace(n.Username)), Kind: n.Kind, For: n.For,
		Clinics: n.Clinics, OIDCSubject: n.OIDCSubject}
	if !usernameRE.MatchString(a.Username) {
		return Account{}, errs.Field(errs.Invalid, "username", "3 to 64 of a-z 0-9 . _ @ -, starting with a letter or digit")
	}
	id, err := randomID()
	if err != nil {
		return Account{}, err
	}
	a.ID, a.PrincipalID = id, id
	switch n.Kind {
	case principal.Officer, principal.ClinicAdmin, principal.Auditor, principal.Staff, principal.Service:
	case principal.Clinician:
		if !ident.ValidNPI(n.PrincipalID) {
			return Account{}, errs.Field(errs.Invalid, "principal_id", "a clinician's principal_id is their NPI")
		}
		a.PrincipalID = n.PrincipalID
	case principal.Patient:
		a.PrincipalID = n.PrincipalID
	case principal.Proxy:
		if n.For == "" {
			return Account{}, errs.Field(errs.Invalid, "for", "a proxy names the patient they act for")
		}
	default:
		return Account{}, errs.Field(errs.Invalid, "kind", "unknown kind")
	}
	// The principal must render as a valid header: IDs and clinics are tokens.
	if _, err := principal.Parse(a.Principal().String()); err != nil {
		return Account{}, errs.Field(errs.Invalid, "principal_id", "IDs and clinics are 1 to 128 of a-z A-Z 0-9 - . _ /")
	}
	if n.Kind == principal.ClinicAdmin && len(n.Clinics) == 0 {
		return Account{}, errs.Field(errs.Invalid, "clinics", "a clinic administrator administers at least one clinic")
	}
	switch {
	case n.Kind == principal.Service && (n.Password != "" || n.OIDCSubject != ""):
		return Account{}, errs.Field(errs.Invalid, "password", "a service account signs in with its API token only")
	case n.Kind != principal.Service && n.Password == "" && n.OIDCSubject == "":
		return Account{}, errs.Field(errs.Invalid, "password", "required unless the account signs in by OIDC")
	case n.Password != "":
		if err := checkPassword(n.Password); err != nil {
			return Account{}, err
		}
	}
	return a, nil
}

func randomID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("account: random ID: %w", err)
	}
	return "u-" + hex.EncodeToString(b), nil
}

// columns are the accounts columns scan reads, each prefixed by p (a table alias).
func columns(p string) string {
	return p + `id, ` + p + `username, ` + p + `kind, ` + p + `principal_id, ` + p + `for_patient, ` + p + `clinics, ` +
		p + `password_hash, ` + p + `totp_secret, COALESCE(` + p + `oidc_subject, ''), ` + p + `disabled`
}

func (s *Store) scan(row *sql.Row) (Account, error) {
	var a Account
	var kind, clinics string
	var disabled int
	err := row.Scan(&a.ID, &a.Username, &kind, &a.PrincipalID, &a.For, &clinics, &a.PasswordHash, &a.TOTPSecret,
		&a.OIDCSubject, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, errs.E(errs.NotFound, "no such account")
	}
	if err != nil {
		return Account{}, fmt.Errorf("account: read: %w", err)
	}
	a.Kind, a.Disabled = principal.Kind(kind), disabled != 0
	if clinics != "" {
		a.Clinics = strings.Split(clinics, ",")
	}
	if a.TOTPSecret, err = s.box.Open(a.ID, a.TOTPSecret); err != nil {
		return Account{}, err
	}
	return a, nil
}

// ByUsername returns the account with that username, or errs.NotFound.
func (s *Store) ByUsername(ctx context.Context, username string) (Account, error) {
	return s.scan(s.db.QueryRowContext(ctx, `SELECT `+columns("")+` FROM accounts WHERE username = ?`,
		strings.ToLower(strings.TrimSpace(username))))
}

// ByOIDCSubject returns the account linked to an OIDC issuer and subject.
func (s *Store) ByOIDCSubject(ctx context.Context, issuer, subject string) (Account, error) {
	return s.scan(s.db.QueryRowContext(ctx, `SELECT `+columns("")+` FROM accounts WHERE oidc_subject = ?`, issuer+" "+subject))
}

// ByID returns the account with that ID.
func (s *Store) ByID(ctx context.Context, id string) (Account, error) {
	return s.scan(s.db.QueryRowContext(ctx, `SELECT `+columns("")+` FROM accounts WHERE id = ?`, id))
}

// Count returns how many accounts exist (the bootstrap creates the first only).
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts`).Scan(&n); err != nil {
		return 0, fmt.Errorf("account: count: %w", err)
	}
	return n, nil
}

// tokenPrefix marks Attest API tokens, so a leaked one is recognisable in a scan.
const tokenPrefix = "atk_"

func issueToken(ctx context.Context, tx *store.Tx, accountID, now string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("account: random token: %w", err)
	}
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (token_hash, account_id, created_at) VALUES (?, ?, ?)`,
		tokenHash(token), accountID, now); err != nil {
		return "", fmt.Errorf("account: store token: %w", err)
	}
	return token, nil
}

// AddToken stores a token chosen by the caller for a service account: only for the
// clearly marked demo accounts, whose token is published. Real tokens come from Create.
func (s *Store) AddToken(ctx context.Context, accountID, token string) error {
	if !strings.HasPrefix(token, tokenPrefix) {
		return errs.Field(errs.Invalid, "token", "must start with %s", tokenPrefix)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO api_tokens (token_hash, account_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (token_hash) DO NOTHING`, tokenHash(token), accountID, s.now().UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("account: store token: %w", err)
	}
	return nil
}

func tokenHash(token string) string {
	s := sha256.Sum256([]byte(token))
	return hex.EncodeToString(s[:])
}

// ByToken returns the service account an API token belongs to; an unknown token is
// errs.Unauthenticated. Tokens are looked up by their SHA-256: they are 256 random
// bits, so a fast hash is enough, and the lookup leaks nothing about near misses.
func (s *Store) ByToken(ctx context.Context, token string) (Account, error) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > 128 {
		return Account{}, errs.E(errs.Unauthenticated, "not an Attest API token")
	}
	a, err := s.scan(s.db.QueryRowContext(ctx, `SELECT `+columns("a.")+` FROM api_tokens t JOIN accounts a ON a.id = t.account_id
		WHERE t.token_hash = ?`, tokenHash(token)))
	if errs.Is(errs.NotFound, err) || err == nil && a.Disabled {
		return Account{}, errs.E(errs.Unauthenticated, "unknown or revoked API token")
	}
	return a, err
}

// CheckCode reports whether code is the TOTP code for secret at now, allowing one
// 30-second step of clock skew either way, and returns the step it matched so the
// caller can refuse a replay of the same code.
func CheckCode(secret, code string, now time.Time) (step int64, ok bool) {
	opts := totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	if len(code) != 6 {
		return 0, false
	}
	for _, skew := range []int64{0, -1, 1} {
		at := now.Add(time.Duration(skew*30) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, at, opts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return at.Unix() / 30, true
		}
	}
	return 0, false
}

// Grant lets an auditor see patient-level PHI until until; grantedBy is the
// officer's principal. Only auditors can be granted.
func (s *Store) Grant(ctx context.Context, auditorID, grantedBy string, until time.Time) error {
	a, err := s.ByID(ctx, auditorID)
	if errs.Is(errs.NotFound, err) {
		return errs.Field(errs.Invalid, "account_id", "no such account")
	}
	if err != nil {
		return err
	}
	if a.Kind != principal.Auditor {
		return errs.Field(errs.Invalid, "account_id", "only auditors are granted PHI access")
	}
	now := s.now().UTC()
	if !until.After(now) || until.Sub(now) > MaxGrant {
		return errs.Field(errs.Invalid, "until", "must be in the future and at most %v away", MaxGrant)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO phi_grants (account_id, granted_by, expires_at, created_at)
		VALUES (?, ?, ?, ?)`, a.ID, grantedBy, until.UTC().Format(time.RFC3339Nano), now.Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("account: grant: %w", err)
	}
	return nil
}

// MaxGrant is the longest PHI grant: an audit's fieldwork, not a standing permission.
const MaxGrant = 7 * 24 * time.Hour

// Granted reports whether p (an auditor, by account ID) holds a grant that has not
// expired.
func (s *Store) Granted(ctx context.Context, p principal.Principal) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM phi_grants WHERE account_id = ? AND expires_at > ?`,
		p.ID, s.now().UTC().Format(time.RFC3339Nano)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("account: read grants: %w", err)
	}
	return n > 0, nil
}

// AddClinicEntity records that a reporting entity reports for a clinic.
func (s *Store) AddClinicEntity(ctx context.Context, clinic, entity string) error {
	if _, err := ident.ParseEntity(entity); err != nil {
		return err
	}
	if _, err := principal.Parse("staff:x;clinics=" + clinic); err != nil || strings.Contains(clinic, ",") {
		return errs.Field(errs.Invalid, "clinic", "1 to 128 of a-z A-Z 0-9 - . _ /")
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO clinic_entities (clinic, entity) VALUES (?, ?)
		ON CONFLICT (clinic, entity) DO NOTHING`, clinic, entity); err != nil {
		return fmt.Errorf("account: add clinic entity: %w", err)
	}
	return nil
}

// PatientClinic returns the organization records gave the patient, from the patient
// directory the gateway keeps (libs/patientdir); an unknown patient is errs.NotFound.
func (s *Store) PatientClinic(ctx context.Context, patientID string) (string, error) {
	var org string
	err := s.db.QueryRowContext(ctx, `SELECT organization_id FROM patients WHERE patient_id = ?`, patientID).Scan(&org)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errs.E(errs.NotFound, "no such patient")
	}
	if err != nil {
		return "", fmt.Errorf("account: patient's clinic: %w", err)
	}
	return org, nil
}

// Subset reports whether every clinic in sub is in of.
func Subset(sub, of []string) bool {
	return !slices.ContainsFunc(sub, func(c string) bool { return !slices.Contains(of, c) })
}
