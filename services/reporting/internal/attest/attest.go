// Package attest turns reports into evidence. Freezing a report stores it, once and
// for good, in reporting's own database (triggers refuse UPDATE and DELETE), with
// the measure-logic version, the log positions, the patient lists, who froze it and
// when, as an attestation file: the payload in RFC 8785 canonical JSON, its SHA-256
// and an Ed25519 signature over that digest (seal.go). Verify checks such a file
// offline and names every step that failed; `attest verify FILE` runs it.
//
// The signing key comes from REPORTING_SIGNING_KEY (a base64 seed); without it a
// development key is generated into the data directory and the service says so in
// its log at start (key.go). The HTTP API lists, reads and exports attestations in
// every format of package export (http.go). The format is documented in
// docs/attestation.md.
package attest

import (
	"context"
	"database/sql"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/google/uuid"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/services/reporting/internal/report"
)

//go:embed migrations
var migrations embed.FS

// Migrations are the package's schema migrations, one folder per dialect.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations") // cannot fail: the folder is embedded
	return sub
}

// Summary describes one attestation without its report.
type Summary struct {
	ID            string    `json:"id"`
	Program       string    `json:"program"`
	Year          int       `json:"year"`
	Entity        string    `json:"entity"`
	PeriodFrom    string    `json:"period_from"`
	PeriodTo      string    `json:"period_to"`
	LogicVersion  string    `json:"logic_version"`
	FrozenBy      string    `json:"frozen_by"`
	FrozenAt      time.Time `json:"frozen_at"`
	PayloadSHA256 string    `json:"payload_sha256"`
	KeyID         string    `json:"key_id"`
}

// Attestation is a stored attestation: its summary and its signed file.
type Attestation struct {
	Summary
	File []byte // the attestation file, as signed
}

// Store freezes and reads attestations.
type Store struct {
	db   *store.DB
	keys *Keys
	now  func() time.Time
}

// NewStore returns a Store signing with keys. now is the clock (time.Now in
// production).
func NewStore(db *store.DB, keys *Keys, now func() time.Time) *Store {
	return &Store{db: db, keys: keys, now: now}
}

// Freeze checks r (report.Check), seals it as frozen now by frozenBy, and stores it.
// It returns the stored attestation. Nothing is stored when r does not check.
func (s *Store) Freeze(ctx context.Context, r report.Report, frozenBy string) (Attestation, error) {
	return s.FreezeComputed(ctx, r, nil, frozenBy)
}

// FreezeComputed is Freeze of a report the server computed, recording how (c).
func (s *Store) FreezeComputed(ctx context.Context, r report.Report, c *Computation, frozenBy string) (Attestation, error) {
	if err := report.Check(r); err != nil {
		return Attestation{}, err
	}
	if frozenBy == "" {
		return Attestation{}, errs.Field(errs.Invalid, "frozen_by", "required")
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Attestation{}, fmt.Errorf("freeze: new id: %w", err)
	}
	key, err := s.keys.Current()
	if err != nil {
		return Attestation{}, fmt.Errorf("freeze: signing key: %w", err)
	}
	p := Payload{ID: id.String(), FrozenAt: s.now().UTC().Truncate(time.Millisecond), FrozenBy: frozenBy, Report: r, Computation: c}
	file, digest, err := Seal(p, key.Private)
	if err != nil {
		return Attestation{}, err
	}
	a := Attestation{Summary: summaryOf(p, digest, key.ID()), File: file}
	_, err = s.db.ExecContext(ctx, `INSERT INTO attestations (id, program, year, entity, period_from, period_to,
		logic_version, frozen_by, frozen_at, payload_sha256, key_id, envelope) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Program, a.Year, a.Entity, a.PeriodFrom, a.PeriodTo, a.LogicVersion, a.FrozenBy,
		a.FrozenAt.Format(time.RFC3339Nano), a.PayloadSHA256, a.KeyID, a.File)
	if err != nil {
		return Attestation{}, fmt.Errorf("freeze %s: %w", a.ID, err)
	}
	return a, nil
}

func summaryOf(p Payload, digest, keyID string) Summary {
	r := p.Report
	return Summary{
		ID: p.ID, Program: string(r.Program), Year: r.Year, Entity: r.Entity.String(),
		PeriodFrom: r.Period.From, PeriodTo: r.Period.To, LogicVersion: r.LogicVersion,
		FrozenBy: p.FrozenBy, FrozenAt: p.FrozenAt, PayloadSHA256: digest, KeyID: keyID,
	}
}

const summaryColumns = `id, program, year, entity, period_from, period_to, logic_version, frozen_by, frozen_at, payload_sha256, key_id`

func scanSummary(sc interface{ Scan(...any) error }, extra ...any) (Summary, error) {
	var (
		s  Summary
		at string
	)
	dest := append([]any{&s.ID, &s.Program, &s.Year, &s.Entity, &s.PeriodFrom, &s.PeriodTo, &s.LogicVersion,
		&s.FrozenBy, &at, &s.PayloadSHA256, &s.KeyID}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return Summary{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return Summary{}, fmt.Errorf("attestation %s: frozen_at: %w", s.ID, err)
	}
	s.FrozenAt = t
	return s, nil
}

// Get returns the attestation with the given ID; errs.NotFound when there is none.
func (s *Store) Get(ctx context.Context, id string) (Attestation, error) {
	var a Attestation
	sum, err := scanSummary(s.db.QueryRowContext(ctx, `SELECT `+summaryColumns+`, envelope FROM attestations WHERE id = ?`, id), &a.File)
	if errors.Is(err, sql.ErrNoRows) {
		return Attestation{}, errs.Field(errs.NotFound, "id", "no such attestation")
	}
	if err != nil {
		return Attestation{}, fmt.Errorf("get attestation: %w", err)
	}
	a.Summary = sum
	return a, nil
}

// Open verifies a stored attestation's file and returns its payload. The file must
// verify, be signed by a key the service trusts (its signing key or a former one)
// and match its row's digest and key ID; anything else is an error naming what
// failed: the database was changed behind the application's back.
func (s *Store) Open(a Attestation) (Payload, error) {
	v := Verify(a.File, nil)
	if err := v.Err(); err != nil {
		return Payload{}, fmt.Errorf("attestation %s: %w", a.ID, err)
	}
	pub, _ := base64.StdEncoding.DecodeString(v.publicKey) // Verify checked it
	switch {
	case !s.keys.Trusts(pub):
		return Payload{}, fmt.Errorf("attestation %s: signed by key %s, which this service does not trust", a.ID, v.KeyID)
	case v.KeyID != a.KeyID || v.digest != a.PayloadSHA256 || v.Payload.ID != a.ID:
		return Payload{}, fmt.Errorf("attestation %s: the file does not match its row (key, digest or ID)", a.ID)
	}
	return *v.Payload, nil
}

// Query selects attestations: by entity ("npi:…") when set, after the ID After
// (paging), at most Limit.
type Query struct {
	Entity string
	After  string
	Limit  int
}

// MaxLimit is the most attestations one List returns.
const MaxLimit = 500

// List returns attestation summaries in ID (freeze) order.
func (s *Store) List(ctx context.Context, q Query) ([]Summary, error) {
	if q.Limit <= 0 || q.Limit > MaxLimit {
		return nil, errs.Field(errs.Invalid, "limit", "must be 1–%d", MaxLimit)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+summaryColumns+` FROM attestations
		WHERE (CAST(? AS TEXT) = '' OR entity = ?) AND id > ? ORDER BY id LIMIT ?`, q.Entity, q.Entity, q.After, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("list attestations: %w", err)
	}
	defer rows.Close()
	out := []Summary{}
	for rows.Next() {
		sum, err := scanSummary(rows)
		if err != nil {
			return nil, fmt.Errorf("list attestations: %w", err)
		}
		out = append(out, sum)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list attestations: %w", err)
	}
	return out, nil
}
