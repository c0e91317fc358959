package gateway

import (
	"crypto/ed25519"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/services/gateway/internal/account"
	"github.com/attest-ehr/attest/services/gateway/internal/audit"
)

// api is the gateway's own JSON API under /gateway/v1. The policy table has already
// decided who may call each route; handlers check what the table cannot see (a
// clinic administrator's new account must be in their clinics).
type api struct {
	accounts *account.Store
	audit    *audit.Log
	db       *store.DB
	key      ed25519.PrivateKey
	log      *slog.Logger
}

// auditEvents answers GET /v1/AuditEvent?from=&to=&actor=&patient=&action=&after=&_count=
// with a FHIR searchset Bundle of AuditEvents, oldest first.
func (a *api) auditEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var query audit.Query
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"from", &query.From}, {"to", &query.To}} {
		if s := q.Get(f.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				if t, err = time.Parse(time.DateOnly, s); err != nil {
					httpapi.WriteError(w, r, a.log, errs.Field(errs.Invalid, f.name, "a date (YYYY-MM-DD) or RFC 3339 time"))
					return
				}
			}
			*f.t = t
		}
	}
	query.Actor, query.PatientID, query.Action = q.Get("actor"), q.Get("patient"), q.Get("action")
	for _, f := range []struct {
		name string
		n    *int64
	}{{"after", &query.AfterSeq}, {"_count", nil}} {
		s := q.Get(f.name)
		if s == "" {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			httpapi.WriteError(w, r, a.log, errs.Field(errs.Invalid, f.name, "a whole number ≥ 0"))
			return
		}
		if f.n != nil {
			*f.n = n
		} else {
			query.Limit = int(min(n, audit.MaxList))
		}
	}
	rs, err := audit.List(r.Context(), a.db, query)
	if err != nil {
		httpapi.WriteError(w, r, a.log, err)
		return
	}
	w.Header().Set("Content-Type", "application/fhir+json")
	httpapi.WriteJSON(w, http.StatusOK, audit.NewBundle(rs))
}

// verify answers GET /v1/audit/verify with the verifier's report.
func (a *api) verify(w http.ResponseWriter, r *http.Request) {
	rep, err := audit.Verify(r.Context(), a.db, a.key.Public().(ed25519.PublicKey))
	if err != nil {
		httpapi.WriteError(w, r, a.log, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"ok": rep.OK(), "records": rep.Records,
		"checkpoints": rep.Checkpoints, "signed_through": rep.SignedThrough, "first_bad": rep.FirstBad,
		"reason": rep.Reason, "key_id": audit.KeyID(a.key.Public().(ed25519.PublicKey))})
}

// createAccount answers POST /v1/accounts. An officer may create any kind; a clinic
// administrator only clinicians and staff in clinics they administer.
func (a *api) createAccount(w http.ResponseWriter, r *http.Request) {
	caller, _ := principal.FromContext(r.Context()) // the guard let only signed-in callers through
	var n account.New
	if err := httpapi.DecodeJSON(r, &n); err != nil {
		httpapi.WriteError(w, r, a.log, err)
		return
	}
	if caller.Kind == principal.ClinicAdmin {
		if n.Kind != principal.Clinician && n.Kind != principal.Staff {
			httpapi.WriteError(w, r, a.log, errs.Field(errs.Forbidden, "kind", "a clinic administrator creates clinicians and staff only"))
			return
		}
		if len(n.Clinics) == 0 || !account.Subset(n.Clinics, caller.Clinics) {
			httpapi.WriteError(w, r, a.log, errs.Field(errs.Forbidden, "clinics", "must be clinics you administer"))
			return
		}
	}
	c, err := createAccount(r.Context(), a.accounts, a.audit, caller.String(), n)
	if err != nil {
		httpapi.WriteError(w, r, a.log, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"id": c.Account.ID, "username": c.Account.Username,
		"kind": c.Account.Kind, "principal": c.Account.Principal().String(), "totp_url": c.TOTPURL, "api_token": c.APIToken})
}

// grant answers POST /v1/grants {"account_id", "until"}: a time-boxed PHI grant for
// an auditor, audited as a privilege change.
func (a *api) grant(w http.ResponseWriter, r *http.Request) {
	caller, _ := principal.FromContext(r.Context())
	var body struct {
		AccountID string    `json:"account_id"`
		Until     time.Time `json:"until"`
	}
	if err := httpapi.DecodeJSON(r, &body); err != nil {
		httpapi.WriteError(w, r, a.log, err)
		return
	}
	err := a.accounts.Grant(r.Context(), body.AccountID, caller.String(), body.Until)
	e := audit.Entry{Actor: caller.String(), Action: "gateway.grant.create", Outcome: audit.Success,
		Detail: "auditor=" + body.AccountID + "; until=" + body.Until.UTC().Format(time.RFC3339)}
	if err != nil {
		e.Outcome = audit.Denied
	}
	if aerr := a.audit.Append(r.Context(), e); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		httpapi.WriteError(w, r, a.log, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]string{"account_id": body.AccountID, "until": body.Until.UTC().Format(time.RFC3339)})
}

// addClinicEntity answers POST /v1/clinics/{clinic}/entities {"entity": "npi:…"}.
func (a *api) addClinicEntity(w http.ResponseWriter, r *http.Request) {
	caller, _ := principal.FromContext(r.Context())
	var body struct {
		Entity string `json:"entity"`
	}
	if err := httpapi.DecodeJSON(r, &body); err != nil {
		httpapi.WriteError(w, r, a.log, err)
		return
	}
	clinic := r.PathValue("clinic")
	if err := a.accounts.AddClinicEntity(r.Context(), clinic, body.Entity); err != nil {
		httpapi.WriteError(w, r, a.log, err)
		return
	}
	if err := a.audit.Append(r.Context(), audit.Entry{Actor: caller.String(), Action: "gateway.clinic.entity.add",
		Outcome: audit.Success, Detail: "clinic=" + clinic + "; entity=" + body.Entity}); err != nil {
		httpapi.WriteError(w, r, a.log, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]string{"clinic": clinic, "entity": body.Entity})
}
