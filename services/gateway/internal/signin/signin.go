// Package signin signs people in and out of the console and tells the gateway who
// is calling: local accounts (argon2id password plus a TOTP code, required for
// compliance officers, clinic administrators and auditors), optional OIDC sign-in,
// and service accounts' API tokens. Sign-in is rate-limited per client address and
// locks an account after repeated failures; every attempt is audited.
package signin

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/cache"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/services/gateway/internal/account"
	"github.com/attest-ehr/attest/services/gateway/internal/audit"
	"github.com/attest-ehr/attest/services/gateway/internal/session"
)

//go:embed templates/*.html
var templates embed.FS

// Limits on sign-in attempts.
type Limits struct {
	PerAddress     int           // attempts per client address per minute. Default: 30.
	FailuresToLock int           // failed attempts on one username that lock it. Default: 5.
	LockFor        time.Duration // how long a lock lasts, and the window failures count in. Default: 15m.
}

func (l *Limits) defaults() {
	if l.PerAddress <= 0 {
		l.PerAddress = 30
	}
	if l.FailuresToLock <= 0 {
		l.FailuresToLock = 5
	}
	if l.LockFor <= 0 {
		l.LockFor = 15 * time.Minute
	}
}

// Auditor records audit entries; *audit.Log is one.
type Auditor interface {
	Append(ctx context.Context, e audit.Entry) error
}

// Config configures the sign-in flows.
type Config struct {
	// InsecureCookie drops the Secure attribute and the __Host- prefix from the session
	// cookie, for plain-HTTP development on a host other than localhost. Default: off.
	InsecureCookie bool
	Limits         Limits
	OIDC           *OIDCConfig // nil: OIDC sign-in off
	// Demo marks the sign-in page: the published demo accounts are enabled.
	Demo bool
}

// SignIn is the sign-in service.
type SignIn struct {
	cfg      Config
	accounts *account.Store
	sessions *session.Store
	cache    *cache.Cache
	audit    Auditor
	log      *slog.Logger
	page     *template.Template
	oidc     *oidcFlow // nil when off
	dummy    string    // a password hash to check against for unknown usernames
	now      func() time.Time
}

// New returns the sign-in service. With cfg.OIDC set it discovers the issuer now, so
// a wrong issuer fails at start rather than at the first sign-in.
func New(ctx context.Context, cfg Config, accounts *account.Store, sessions *session.Store, c *cache.Cache,
	a Auditor, log *slog.Logger, params account.Params) (*SignIn, error) {
	cfg.Limits.defaults()
	dummy, err := account.HashPassword("not-a-password-of-anyone", params)
	if err != nil {
		return nil, err
	}
	s := &SignIn{cfg: cfg, accounts: accounts, sessions: sessions, cache: c, audit: a, log: log, dummy: dummy,
		page: template.Must(template.ParseFS(templates, "templates/*.html")), now: time.Now}
	if cfg.OIDC != nil {
		if s.oidc, err = newOIDC(ctx, *cfg.OIDC); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// CookieName is the session cookie's name.
func (s *SignIn) CookieName() string {
	if s.cfg.InsecureCookie {
		return "attest_session"
	}
	// __Host-: the browser accepts it only Secure, from this host, for path /.
	return "__Host-attest_session"
}

// ClearCookie tells the browser to drop its session cookie.
func (s *SignIn) ClearCookie(w http.ResponseWriter) { s.setCookie(w, s.CookieName(), "", -1) }

func (s *SignIn) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: !s.cfg.InsecureCookie, SameSite: http.SameSiteLaxMode})
}

// Caller is who is calling, as Authenticate found.
type Caller struct {
	Principal principal.Principal
	AccountID string
	Session   *session.Session // nil for API tokens
}

// Authenticate finds the caller: an API token (Authorization: Bearer) or the session
// cookie. It returns nil and no error when the request carries neither, and
// session.ErrExpired when it carries a session that is gone (timed out).
func (s *SignIn) Authenticate(r *http.Request) (*Caller, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return nil, errs.Field(errs.Unauthenticated, "Authorization", "want Bearer <API token>")
		}
		a, err := s.accounts.ByToken(ctx, token)
		if err != nil {
			return nil, err
		}
		return &Caller{Principal: a.Principal(), AccountID: a.ID}, nil
	}
	c, err := r.Cookie(s.CookieName())
	if err != nil {
		return nil, nil
	}
	sess, err := s.sessions.Get(ctx, c.Value)
	if err != nil {
		return nil, err
	}
	p, err := principal.Parse(sess.Principal)
	if err != nil {
		return nil, fmt.Errorf("signin: stored principal: %w", err)
	}
	return &Caller{Principal: p, AccountID: sess.AccountID, Session: &sess}, nil
}

// ClearSiteData tells the browser to drop everything it holds for the site (ONC
// d(7)): sent on sign-out and when a session has timed out.
func ClearSiteData(w http.ResponseWriter) {
	w.Header().Set("Clear-Site-Data", `"cache", "cookies", "storage"`)
}

// Remote is the client's address without the port, as audited.
func Remote(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type formPage struct {
	Username string
	Error    string
	Notice   string
	OIDC     bool
	Demo     bool
}

func (s *SignIn) render(w http.ResponseWriter, r *http.Request, status int, p formPage) {
	p.OIDC, p.Demo = s.oidc != nil, s.cfg.Demo
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := s.page.ExecuteTemplate(w, "signin.html", p); err != nil {
		s.log.ErrorContext(r.Context(), "render sign-in", "err", err)
	}
}

// Form shows the sign-in form.
func (s *SignIn) Form(w http.ResponseWriter, r *http.Request) {
	p := formPage{}
	switch r.URL.Query().Get("why") {
	case "timeout":
		p.Notice = "Your session ended after a period of inactivity. Sign in again to continue."
	case "signedout":
		p.Notice = "You have signed out."
	}
	s.render(w, r, http.StatusOK, p)
}

// errBadCredentials is the one answer for a wrong username, password or code, so the
// form does not tell which one was wrong.
var errBadCredentials = errs.E(errs.Unauthenticated, "the username, password or code is wrong")

// SignIn checks a username, password and TOTP code posted from the form and starts a
// session.
func (s *SignIn) SignIn(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.render(w, r, http.StatusBadRequest, formPage{Error: "The form could not be read."})
		return
	}
	username := strings.ToLower(strings.TrimSpace(r.PostForm.Get("username")))
	entry := audit.Entry{Actor: "anonymous", Action: "signin", Remote: Remote(r), Outcome: audit.Denied}
	a, err := s.check(ctx, r, username, r.PostForm.Get("password"), strings.TrimSpace(r.PostForm.Get("code")))
	if err != nil {
		entry.Detail = "method=password; reason=" + errs.KindOf(err).String()
		if a.ID != "" {
			entry.Actor = a.Principal().String()
		}
		s.record(ctx, entry)
		status, msg := httpapi.StatusOf(err), "The username, password or code is wrong."
		var e *errs.Error
		if errs.KindOf(err) == errs.RateLimited && errors.As(err, &e) {
			msg = e.Message
		}
		if status >= 500 {
			s.log.ErrorContext(ctx, "sign-in failed", "err", err)
			msg = "Sign-in is not available right now."
		}
		s.render(w, r, status, formPage{Username: username, Error: msg})
		return
	}
	method := "password"
	if a.TOTPSecret != "" {
		method = "password+totp"
	}
	s.start(w, r, a, method)
}

// check runs the sign-in checks in order: the address's rate, the username's lock,
// the password (against a dummy hash for unknown usernames, so timing does not tell
// which exist), the account's state, and the TOTP code. It returns the account when
// one was found, even with an error, for the audit record.
func (s *SignIn) check(ctx context.Context, r *http.Request, username, password, code string) (account.Account, error) {
	ok, retry, err := s.cache.Allow(ctx, "signin-addr:"+Remote(r), s.cfg.Limits.PerAddress, time.Minute)
	if err != nil {
		return account.Account{}, err
	}
	if !ok {
		return account.Account{}, errs.E(errs.RateLimited, "Too many sign-in attempts from your address; try again in %s.", roundUp(retry))
	}
	if username == "" {
		return account.Account{}, errBadCredentials
	}
	if left, err := s.cache.Client().PTTL(ctx, s.cache.Key("lock", username)).Result(); err != nil {
		return account.Account{}, fmt.Errorf("signin: read lock: %w", err)
	} else if left > 0 {
		return account.Account{}, errs.E(errs.RateLimited, "This account is locked after repeated failures; try again in %s.", roundUp(left))
	}
	a, err := s.accounts.ByUsername(ctx, username)
	if err != nil && !errs.Is(errs.NotFound, err) {
		return account.Account{}, err
	}
	hash := a.PasswordHash
	if hash == "" {
		hash = s.dummy
	}
	match, err := account.CheckPassword(hash, password)
	if err != nil {
		return a, err
	}
	switch {
	case !match || a.ID == "" || a.PasswordHash == "":
		return a, s.failed(ctx, username)
	case a.Disabled:
		return a, errs.E(errs.Forbidden, "account disabled")
	case account.NeedsSecondFactor(a.Kind) && a.TOTPSecret == "":
		return a, errs.E(errs.Forbidden, "a second factor is required and none is enrolled")
	case a.TOTPSecret != "":
		step, ok := account.CheckCode(a.TOTPSecret, code, s.now())
		if !ok {
			return a, s.failed(ctx, username)
		}
		// A code is good for one sign-in: replaying an observed code fails.
		first, err := s.cache.Once(ctx, fmt.Sprintf("totp:%s:%d", a.ID, step), 2*time.Minute)
		if err != nil {
			return a, err
		}
		if !first {
			return a, s.failed(ctx, username)
		}
	}
	return a, nil
}

// failed counts a failure against username and locks it when there were too many.
func (s *SignIn) failed(ctx context.Context, username string) error {
	lim := s.cfg.Limits
	ok, _, err := s.cache.Allow(ctx, "signin-fail:"+username, lim.FailuresToLock-1, lim.LockFor)
	if err != nil {
		return err
	}
	if !ok {
		if err := s.cache.Client().Set(ctx, s.cache.Key("lock", username), "1", lim.LockFor).Err(); err != nil {
			return fmt.Errorf("signin: lock: %w", err)
		}
		return errs.E(errs.RateLimited, "This account is locked after repeated failures; try again in %s.", roundUp(lim.LockFor))
	}
	return errBadCredentials
}

func roundUp(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d seconds", int(d.Seconds())+1)
	}
	return fmt.Sprintf("%d minutes", int(d.Minutes())+1)
}

// start begins a session for a, replacing any the browser had, audits the sign-in
// and sends the browser to the console.
func (s *SignIn) start(w http.ResponseWriter, r *http.Request, a account.Account, method string) {
	ctx := r.Context()
	if old, err := r.Cookie(s.CookieName()); err == nil {
		_ = s.sessions.Delete(ctx, old.Value) // a fresh token on every sign-in: no fixation
	}
	token, _, err := s.sessions.Create(ctx, session.Session{AccountID: a.ID, Principal: a.Principal().String(), Method: method})
	if err != nil {
		s.log.ErrorContext(ctx, "start session", "err", err)
		s.render(w, r, http.StatusServiceUnavailable, formPage{Error: "Sign-in is not available right now."})
		return
	}
	s.record(ctx, audit.Entry{Actor: a.Principal().String(), Action: "signin", Remote: Remote(r),
		Outcome: audit.Success, Detail: "method=" + method})
	s.setCookie(w, s.CookieName(), token, 0)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// SignOut ends the session; the form must carry the session's CSRF token.
func (s *SignIn) SignOut(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	caller, err := s.Authenticate(r)
	if err == nil && caller != nil && caller.Session != nil {
		if !CheckCSRF(r, caller.Session) {
			httpapi.WriteError(w, r, s.log, errs.Field(errs.Forbidden, "csrf", "missing or wrong form token"))
			return
		}
		if c, err := r.Cookie(s.CookieName()); err == nil {
			if err := s.sessions.Delete(ctx, c.Value); err != nil {
				httpapi.WriteError(w, r, s.log, err)
				return
			}
		}
		s.record(ctx, audit.Entry{Actor: caller.Principal.String(), Action: "signout", Remote: Remote(r), Outcome: audit.Success})
	}
	s.ClearCookie(w)
	ClearSiteData(w)
	http.Redirect(w, r, "/signin?why=signedout", http.StatusSeeOther)
}

// CheckCSRF reports whether a form posted in sess carries its token. (Cross-origin
// posts are refused before this by http.CrossOriginProtection; the token also stops
// a same-site page from posting on the user's behalf.)
func CheckCSRF(r *http.Request, sess *session.Session) bool {
	got := r.PostFormValue("csrf")
	return sess != nil && got != "" && got == sess.CSRF
}

// record appends an audit entry; a failure is logged, never shown to the user, and
// does not undo what happened (the entry says what did).
func (s *SignIn) record(ctx context.Context, e audit.Entry) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	if err := s.audit.Append(ctx, e); err != nil {
		s.log.ErrorContext(ctx, "audit sign-in", "err", err)
	}
}

// auditTimeout bounds the wait for an audit record's commit.
const auditTimeout = 5 * time.Second
