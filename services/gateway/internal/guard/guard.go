// Package guard puts the policy table in front of everything the gateway serves and
// every call the console makes: it removes any principal header a client sent,
// authenticates the caller, asks the table, forwards the signed-in principal to the
// service in the X-Attest-Principal header, and audits every access to PHI, every
// export and every denial of a known route.
package guard

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/services/gateway/internal/access"
	"github.com/attest-ehr/attest/services/gateway/internal/audit"
	"github.com/attest-ehr/attest/services/gateway/internal/policy"
	"github.com/attest-ehr/attest/services/gateway/internal/session"
	"github.com/attest-ehr/attest/services/gateway/internal/signin"
)

// Auditor records audit entries; *audit.Log is one.
type Auditor interface {
	Append(ctx context.Context, e audit.Entry) error
}

// Guard applies the policy.
type Guard struct {
	table  *policy.Table
	signin *signin.SignIn
	audit  Auditor
	log    *slog.Logger
}

// New returns a Guard.
func New(table *policy.Table, s *signin.SignIn, a Auditor, log *slog.Logger) *Guard {
	return &Guard{table: table, signin: s, audit: a, log: log}
}

type callerKey struct{}

// CallerFrom returns the signed-in caller of a request the guard let through.
func CallerFrom(ctx context.Context) (*signin.Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(*signin.Caller)
	return c, ok && c != nil
}

// WithCaller returns ctx carrying c as the signed-in caller, as Wrap passes it to the
// handlers it lets through (tests of those handlers use it too).
func WithCaller(ctx context.Context, c *signin.Caller) context.Context {
	return principal.NewContext(context.WithValue(ctx, callerKey{}, c), c.Principal)
}

// Wrap guards h, which serves service's routes (paths relative to its mount point).
func (g *Guard) Wrap(service string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Whatever a client claims to be is never passed on.
		r.Header.Del(principal.Header)
		ctx := r.Context()
		caller, authErr := g.signin.Authenticate(r)
		var p *principal.Principal
		if caller != nil {
			p = &caller.Principal
		}
		m, err := g.table.Decide(ctx, p, service, r)
		if err == nil && authErr != nil && !m.Rule.Public {
			err = authErr
		}
		if err == nil {
			err = checkCSRF(r, caller, m.Rule)
		}
		if err != nil {
			g.deny(w, r, service, m, p, err, errors.Is(authErr, session.ErrExpired))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if p != nil {
			r.Header.Set(principal.Header, p.String())
			ctx = principal.NewContext(context.WithValue(ctx, callerKey{}, caller), *p)
			r = r.WithContext(ctx)
		}
		sw := access.NewStatusWriter(w)
		h.ServeHTTP(sw, r)
		if m.Rule.PHI || m.Rule.Export {
			g.record(ctx, entry(r, service, m, p, outcomeOf(sw.Status)))
		}
	})
}

// deny answers a refused request: console pages send the browser to sign in, APIs
// get the error as JSON. A timed-out session also clears the browser's site data.
func (g *Guard) deny(w http.ResponseWriter, r *http.Request, service string, m policy.Match, p *principal.Principal,
	err error, expired bool) {
	if expired {
		signin.ClearSiteData(w)
		g.signin.ClearCookie(w)
	}
	if m.Rule != nil {
		e := entry(r, service, m, p, audit.Denied)
		e.Detail += "; reason=" + errs.KindOf(err).String()
		if expired {
			e.Action, e.Detail = "signout.timeout", "session idle or over its lifetime; reason=unauthenticated"
		}
		g.record(r.Context(), e)
	}
	if service == "console" && r.Method == http.MethodGet && errs.KindOf(err) == errs.Unauthenticated {
		to := "/signin"
		if expired {
			to += "?why=timeout"
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	httpapi.WriteError(w, r, g.log, err)
}

// checkCSRF requires the session's token on state-changing requests made with a
// session cookie (a form field "csrf" or the X-CSRF-Token header). Cross-origin
// requests are refused earlier by http.CrossOriginProtection; the token also covers
// same-site pages and old browsers. API tokens are not sent by browsers on their
// own, so requests carrying one need no CSRF token.
func checkCSRF(r *http.Request, c *signin.Caller, rule *policy.Rule) error {
	if c == nil || c.Session == nil || rule.Public {
		return nil
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	token := r.Header.Get("X-CSRF-Token")
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); token == "" && mt == "application/x-www-form-urlencoded" {
		token = r.PostFormValue("csrf")
	}
	if token == "" || token != c.Session.CSRF {
		return errs.Field(errs.Forbidden, "csrf", "missing or wrong form token")
	}
	return nil
}

func entry(r *http.Request, service string, m policy.Match, p *principal.Principal, o audit.Outcome) audit.Entry {
	e := audit.Entry{Actor: "anonymous", Action: m.Rule.Action, Remote: signin.Remote(r), Outcome: o,
		Detail: service + " " + m.Rule.Pattern}
	if p != nil {
		e.Actor = p.String()
	}
	if m.Rule.Target.Kind == policy.Patient {
		e.PatientID = m.Target
	}
	return e
}

func outcomeOf(status int) audit.Outcome {
	switch {
	case status < 400:
		return audit.Success
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return audit.Denied
	}
	return audit.Failure
}

// auditTimeout bounds the wait for an audit record's commit.
const auditTimeout = 5 * time.Second

func (g *Guard) record(ctx context.Context, e audit.Entry) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	if err := g.audit.Append(ctx, e); err != nil {
		g.log.ErrorContext(ctx, "audit", "err", err, "action", e.Action)
	}
}

// Transport applies the policy to the console's own calls to the services, as the
// principal in the request's context, and forwards that principal.
type Transport struct {
	Guard *Guard
	Base  http.RoundTripper // routes http://<service>/path
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	var p *principal.Principal
	if pp, ok := principal.FromContext(r.Context()); ok {
		p = &pp
	}
	service := r.URL.Host
	m, err := t.Guard.table.Decide(r.Context(), p, service, r)
	if err != nil {
		if m.Rule != nil {
			t.Guard.record(r.Context(), entry(r, service, m, p, audit.Denied))
		}
		return nil, err
	}
	out := r.Clone(r.Context())
	out.Header.Del(principal.Header)
	if p != nil {
		out.Header.Set(principal.Header, p.String())
	}
	resp, err := t.Base.RoundTrip(out)
	if m.Rule.PHI || m.Rule.Export {
		o := audit.Failure
		if err == nil {
			o = outcomeOf(resp.StatusCode)
		}
		t.Guard.record(r.Context(), entry(r, service, m, p, o))
	}
	return resp, err
}
