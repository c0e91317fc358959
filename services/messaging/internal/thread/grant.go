package thread

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
)

// Grant is what an authorized representative (a proxy) may do for a patient, and
// when. Records' authorized representatives are meant to feed grants later; until
// then staff or a service account set them here.
type Grant struct {
	ProxyID    string     `json:"proxy_id"`
	PatientID  string     `json:"patient_id"`
	Scopes     []string   `json:"scopes"`                // read, send, request
	ValidFrom  time.Time  `json:"valid_from"`            // default: now
	ValidUntil *time.Time `json:"valid_until,omitempty"` // none: until revoked
	GrantedBy  Party      `json:"granted_by"`
	Updated    time.Time  `json:"updated"`
}

// mayManageGrants: staff and service accounts set grants; the patient may also see
// and revoke their own representatives'.
func mayManageGrants(p principal.Principal, patientID string, revoking bool) error {
	switch {
	case p.Kind == principal.Staff || p.Kind == principal.Service:
		return nil
	case p.Kind == principal.Patient && p.ID == patientID && revoking:
		return nil
	}
	return errs.E(errs.Forbidden, "only staff or a service account manage representatives' grants")
}

func (g *Grant) validate(now time.Time) error {
	if err := checkID("proxy_id", g.ProxyID, true); err != nil {
		return err
	}
	if err := checkID("patient_id", g.PatientID, true); err != nil {
		return err
	}
	if len(g.Scopes) == 0 {
		return errs.Field(errs.Invalid, "scopes", "required: read, optionally send and request")
	}
	for i, sc := range g.Scopes {
		if !slices.Contains(scopes, sc) {
			return errs.Field(errs.Invalid, fmt.Sprintf("scopes[%d]", i), "must be read, send or request")
		}
	}
	if !slices.Contains(g.Scopes, ScopeRead) {
		return errs.Field(errs.Invalid, "scopes", "a representative who sends must be able to read: include read")
	}
	slices.Sort(g.Scopes)
	g.Scopes = slices.Compact(g.Scopes)
	if g.ValidFrom.IsZero() {
		g.ValidFrom = now
	}
	if g.ValidUntil != nil && !g.ValidUntil.After(g.ValidFrom) {
		return errs.Field(errs.Invalid, "valid_until", "must be after valid_from")
	}
	g.ValidFrom = g.ValidFrom.UTC().Truncate(time.Microsecond)
	if g.ValidUntil != nil {
		u := g.ValidUntil.UTC().Truncate(time.Microsecond)
		g.ValidUntil = &u
	}
	return nil
}

// PutGrant sets a representative's grant for a patient the directory knows, replacing
// any earlier one.
func (s *Service) PutGrant(ctx context.Context, p principal.Principal, g Grant) (Grant, error) {
	now := s.clock()
	if err := g.validate(now); err != nil {
		return Grant{}, err
	}
	if err := mayManageGrants(p, g.PatientID, false); err != nil {
		return Grant{}, err
	}
	g.GrantedBy, g.Updated = Party{Role: string(p.Kind), ID: p.ID}, now
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		known, err := patientKnown(ctx, tx, g.PatientID)
		if err != nil {
			return err
		}
		if !known {
			return errs.Field(errs.Unprocessable, "patient_id", "no such patient")
		}
		var until any
		if g.ValidUntil != nil {
			until = micros(*g.ValidUntil)
		}
		return exec(ctx, tx, "put grant", `INSERT INTO proxy_grants (proxy_id, patient_id, scopes, valid_from,
			valid_until, granted_by_role, granted_by_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (proxy_id, patient_id) DO UPDATE SET scopes = excluded.scopes, valid_from = excluded.valid_from,
			valid_until = excluded.valid_until, granted_by_role = excluded.granted_by_role,
			granted_by_id = excluded.granted_by_id, updated_at = excluded.updated_at`,
			g.ProxyID, g.PatientID, strings.Join(g.Scopes, " "), micros(g.ValidFrom), until,
			g.GrantedBy.Role, g.GrantedBy.ID, micros(now))
	})
	if err != nil {
		return Grant{}, err
	}
	return g, nil
}

// Grants lists grants by proxy or by patient (at least one is required): staff and
// service accounts see any, a patient their own representatives', a representative
// their own grants.
func (s *Service) Grants(ctx context.Context, p principal.Principal, proxyID, patientID string) ([]Grant, error) {
	if err := checkID("proxy_id", proxyID, false); err != nil {
		return nil, err
	}
	if err := checkID("patient_id", patientID, false); err != nil {
		return nil, err
	}
	switch {
	case proxyID == "" && patientID == "":
		return nil, errs.Field(errs.Invalid, "patient_id", "give patient_id or proxy_id")
	case p.Kind == principal.Staff || p.Kind == principal.Service:
	case p.Kind == principal.Patient && patientID == p.ID:
	case p.Kind == principal.Proxy && proxyID == p.ID:
	default:
		return nil, errs.E(errs.Forbidden, "the caller may not list these grants")
	}
	where, args := "1 = 1", []any{}
	if proxyID != "" {
		where, args = where+" AND proxy_id = ?", append(args, proxyID)
	}
	if patientID != "" {
		where, args = where+" AND patient_id = ?", append(args, patientID)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT proxy_id, patient_id, scopes, valid_from, valid_until,
		granted_by_role, granted_by_id, updated_at FROM proxy_grants WHERE `+where+` ORDER BY patient_id, proxy_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	defer rows.Close()
	out := []Grant{}
	for rows.Next() {
		var (
			g             Grant
			sc            string
			from, updated int64
			until         sql.NullInt64
		)
		if err := rows.Scan(&g.ProxyID, &g.PatientID, &sc, &from, &until, &g.GrantedBy.Role, &g.GrantedBy.ID, &updated); err != nil {
			return nil, fmt.Errorf("scan grant: %w", err)
		}
		g.Scopes, g.ValidFrom, g.ValidUntil, g.Updated = splitScopes(sc), fromMicros(from), fromNullMicros(until), fromMicros(updated)
		out = append(out, g)
	}
	return out, rows.Err()
}

// RevokeGrant removes a representative's grant; revoking none is not an error.
func (s *Service) RevokeGrant(ctx context.Context, p principal.Principal, proxyID, patientID string) error {
	if err := checkID("proxy_id", proxyID, true); err != nil {
		return err
	}
	if err := checkID("patient_id", patientID, true); err != nil {
		return err
	}
	if err := mayManageGrants(p, patientID, true); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM proxy_grants WHERE proxy_id = ? AND patient_id = ?`, proxyID, patientID); err != nil {
		return fmt.Errorf("revoke grant: %w", err)
	}
	return nil
}

func splitScopes(s string) []string { return strings.Fields(s) }
