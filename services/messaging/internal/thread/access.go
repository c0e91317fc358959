package thread

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/principal"
)

// Scopes a proxy grant may hold.
const (
	ScopeRead    = "read"    // read the patient's threads
	ScopeSend    = "send"    // post messages and close threads for the patient
	ScopeRequest = "request" // make refill and appointment requests for the patient
)

var scopes = []string{ScopeRead, ScopeSend, ScopeRequest}

// rights are what one caller may do in one thread.
type rights struct {
	read    bool // see the thread and its messages
	post    bool // send messages, close the thread
	request bool // make refill and appointment requests
	answer  bool // answer requests (the care team)
}

// errNoThread is what a caller gets for a thread they may not see, whether or not it
// exists.
func errNoThread() error { return errs.E(errs.NotFound, "no such thread") }

// roleOf is the contract role of a caller who can take part in threads, or "".
func roleOf(p principal.Principal) string {
	switch p.Kind {
	case principal.Patient:
		return contract.RolePatient
	case principal.Proxy:
		return contract.RoleProxy
	case principal.Clinician:
		return contract.RoleClinician
	case principal.Staff:
		return contract.RoleStaff
	}
	return ""
}

// sideOf is the side of the conversation a role speaks for.
func sideOf(role string) string {
	if role == contract.RolePatient || role == contract.RoleProxy {
		return patientSide
	}
	return careTeamSide
}

// partyOf is the caller as a Party.
func partyOf(p principal.Principal) Party { return Party{Role: roleOf(p), ID: p.ID} }

// queryer is a transaction or the pool: reads run on either.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// rightsIn decides what p may do in thread t at now. Only the thread's patient, an
// authorized representative within their grant, the clinicians it names, and the
// owning clinic's staff — and, for pool threads, the clinic's clinicians — take part.
func rightsIn(ctx context.Context, q queryer, p principal.Principal, t threadRow, now time.Time) (rights, error) {
	switch p.Kind {
	case principal.Patient:
		if p.ID == t.patientID {
			return rights{read: true, post: true, request: true}, nil
		}
	case principal.Proxy:
		if p.For != t.patientID {
			return rights{}, nil
		}
		g, err := activeGrant(ctx, q, p.ID, p.For, now)
		if err != nil {
			return rights{}, err
		}
		return rights{read: g.has(ScopeRead), post: g.has(ScopeSend), request: g.has(ScopeRequest)}, nil
	case principal.Clinician:
		if slices.Contains(t.clinicians, p.ID) || t.kind == PoolThread && slices.Contains(p.Clinics, t.clinicID) {
			return rights{read: true, post: true, answer: true}, nil
		}
	case principal.Staff:
		if slices.Contains(p.Clinics, t.clinicID) {
			return rights{read: true, post: true, answer: true}, nil
		}
	}
	return rights{}, nil
}

// participation reads thread threadID in q and what p may do in it at now. A thread
// p may not read is errNoThread, as if it did not exist.
func participation(ctx context.Context, q queryer, p principal.Principal, threadID string, now time.Time) (threadRow, rights, error) {
	t, err := getThread(ctx, q, threadID)
	if err != nil {
		return threadRow{}, rights{}, err
	}
	r, err := rightsIn(ctx, q, p, t, now)
	if err != nil {
		return threadRow{}, rights{}, err
	}
	if !r.read {
		return threadRow{}, rights{}, errNoThread()
	}
	return t, r, nil
}

// mayStart checks that p may start thread n (already validated) and fills in the
// patient for patients and proxies. Another patient's ID, or one a proxy has no
// grant for, is reported as not found.
func mayStart(ctx context.Context, q queryer, p principal.Principal, n *NewThread, now time.Time) error {
	switch p.Kind {
	case principal.Patient, principal.Proxy:
		self := p.ID
		if p.Kind == principal.Proxy {
			self = p.For
		}
		if n.PatientID == "" {
			n.PatientID = self
		}
		if n.PatientID != self {
			return errs.Field(errs.NotFound, "patient_id", "no such patient")
		}
		if n.Kind == ConsultThread {
			return errs.Field(errs.Forbidden, "kind", "a patient starts pool or clinician threads")
		}
		if p.Kind == principal.Proxy {
			g, err := activeGrant(ctx, q, p.ID, p.For, now)
			if err != nil {
				return err
			}
			if !g.has(ScopeRead) {
				return errs.Field(errs.NotFound, "patient_id", "no such patient")
			}
			if !g.has(ScopeSend) || isRequest(n.Message.Kind) && !g.has(ScopeRequest) {
				return errs.E(errs.Forbidden, "the representative's grant does not allow this")
			}
		}
	case principal.Clinician, principal.Staff:
		if n.PatientID == "" {
			return errs.Field(errs.Invalid, "patient_id", "required")
		}
		if !slices.Contains(p.Clinics, n.ClinicID) {
			return errs.Field(errs.Forbidden, "clinic_id", "the caller is not on this clinic's care team")
		}
		switch {
		case p.Kind == principal.Clinician && n.Kind == ClinicianThread && n.Clinicians[0] != p.ID:
			return errs.Field(errs.Forbidden, "clinicians", "a clinician starts a clinician thread with themselves named")
		case p.Kind == principal.Clinician && n.Kind == ConsultThread && !slices.Contains(n.Clinicians, p.ID):
			return errs.Field(errs.Forbidden, "clinicians", "a clinician starting a consult must be one of its clinicians")
		case p.Kind == principal.Staff && n.Kind == ConsultThread:
			return errs.Field(errs.Forbidden, "kind", "consults are between clinicians")
		}
		if patientOnly[n.Message.Kind] {
			return errs.Field(errs.Invalid, "message.kind", "only the patient's side sends a %s", n.Message.Kind)
		}
	default:
		return errs.E(errs.Forbidden, "only patients, their representatives and care teams send messages")
	}
	return nil
}

// grant is a proxy's grant, as far as access needs it.
type grant struct{ scopes []string }

func (g grant) has(scope string) bool { return slices.Contains(g.scopes, scope) }

// activeGrant returns the proxy's grant for the patient valid at now; none is an
// empty grant.
func activeGrant(ctx context.Context, q queryer, proxyID, patientID string, now time.Time) (grant, error) {
	var s string
	at := micros(now)
	err := q.QueryRowContext(ctx, `SELECT scopes FROM proxy_grants WHERE proxy_id = ? AND patient_id = ?
		AND valid_from <= ? AND (valid_until IS NULL OR valid_until > ?)`, proxyID, patientID, at, at).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return grant{}, nil
	}
	if err != nil {
		return grant{}, fmt.Errorf("read proxy grant: %w", err)
	}
	return grant{scopes: strings.Fields(s)}, nil
}

// sniff is the media type content sniffing finds in data (WHATWG MIME Sniffing, as
// net/http implements it), so a declared type is checked against the bytes.
func sniff(data []byte) string {
	mt, _, err := mime.ParseMediaType(http.DetectContentType(data))
	if err != nil {
		return ""
	}
	return mt
}
