package signin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/services/gateway/internal/account"
	"github.com/attest-ehr/attest/services/gateway/internal/audit"
	"github.com/attest-ehr/attest/services/gateway/internal/session"
)

// OIDCConfig configures sign-in through an OpenID Connect provider (authorization
// code flow with PKCE). Accounts are linked by "<issuer> <sub>" (account.New's
// OIDCSubject); the provider proves who signs in, Attest decides what they may do.
type OIDCConfig struct {
	Issuer       string       // GATEWAY_OIDC_ISSUER, e.g. https://login.example.org/realms/attest
	ClientID     string       // GATEWAY_OIDC_CLIENT_ID
	ClientSecret string       // GATEWAY_OIDC_CLIENT_SECRET
	RedirectURL  string       // GATEWAY_OIDC_REDIRECT_URL: https://<console>/signin/oidc/callback
	HTTPClient   *http.Client // for discovery, keys and the token exchange; nil: http.DefaultClient
}

type oidcFlow struct {
	cfg      OIDCConfig
	verifier *oidc.IDTokenVerifier
	oauth    oauth2.Config
}

func newOIDC(ctx context.Context, cfg OIDCConfig) (*oidcFlow, error) {
	if cfg.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, cfg.HTTPClient)
	}
	p, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("signin: discover OIDC issuer: %w", err)
	}
	return &oidcFlow{
		cfg:      cfg,
		verifier: p.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID}},
	}, nil
}

func (f *oidcFlow) context(ctx context.Context) context.Context {
	if f.cfg.HTTPClient != nil {
		return oidc.ClientContext(ctx, f.cfg.HTTPClient)
	}
	return ctx
}

// pendingLogin is what the gateway remembers between the redirect to the provider and
// the callback, in Redis under the state, for at most loginTTL.
type pendingLogin struct {
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
}

const (
	loginTTL    = 10 * time.Minute
	stateCookie = "attest_oidc_state"
)

// OIDCStart sends the browser to the provider.
func (s *SignIn) OIDCStart(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		httpapi.WriteError(w, r, s.log, errs.E(errs.NotFound, "OIDC sign-in is not configured"))
		return
	}
	ctx := r.Context()
	state, err := session.NewToken(24)
	if err != nil {
		httpapi.WriteError(w, r, s.log, err)
		return
	}
	nonce, err := session.NewToken(24)
	if err != nil {
		httpapi.WriteError(w, r, s.log, err)
		return
	}
	p := pendingLogin{Nonce: nonce, Verifier: oauth2.GenerateVerifier()}
	b, _ := json.Marshal(p) // two strings cannot fail to encode
	if err := s.cache.Client().Set(ctx, s.cache.Key("oidc", state), b, loginTTL).Err(); err != nil {
		httpapi.WriteError(w, r, s.log, fmt.Errorf("signin: store OIDC state: %w", err))
		return
	}
	s.setCookie(w, stateCookie, state, int(loginTTL.Seconds()))
	http.Redirect(w, r, s.oidc.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(p.Verifier)),
		http.StatusFound)
}

// mfaMethods are the RFC 8176 authentication method references that count as a
// second factor for the kinds that need one.
var mfaMethods = []string{"mfa", "otp", "hwk"}

// OIDCCallback finishes the flow: it checks the state against the browser's cookie,
// exchanges the code (with the PKCE verifier), verifies the ID token and its nonce,
// and signs in the linked account.
func (s *SignIn) OIDCCallback(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		httpapi.WriteError(w, r, s.log, errs.E(errs.NotFound, "OIDC sign-in is not configured"))
		return
	}
	ctx := r.Context()
	entry := audit.Entry{Actor: "anonymous", Action: "signin", Remote: Remote(r), Outcome: audit.Denied, Detail: "method=oidc"}
	a, err := s.oidcAccount(ctx, r)
	s.setCookie(w, stateCookie, "", -1)
	if err != nil {
		entry.Detail += "; reason=" + errs.KindOf(err).String()
		if a.ID != "" {
			entry.Actor = a.Principal().String()
		}
		s.record(ctx, entry)
		if httpapi.StatusOf(err) >= 500 {
			s.log.ErrorContext(ctx, "OIDC sign-in failed", "err", err)
		}
		s.render(w, r, httpapi.StatusOf(err), formPage{Error: "Sign-in through your organization's identity provider failed."})
		return
	}
	s.start(w, r, a, "oidc")
}

func (s *SignIn) oidcAccount(ctx context.Context, r *http.Request) (account.Account, error) {
	if e := r.URL.Query().Get("error"); e != "" {
		return account.Account{}, errs.Field(errs.Unauthenticated, "error", "the identity provider refused the sign-in")
	}
	state := r.URL.Query().Get("state")
	c, err := r.Cookie(stateCookie)
	if state == "" || err != nil || c.Value != state {
		return account.Account{}, errs.Field(errs.Unauthenticated, "state", "does not match this browser's sign-in")
	}
	b, err := s.cache.Client().GetDel(ctx, s.cache.Key("oidc", state)).Bytes()
	if errors.Is(err, redis.Nil) {
		return account.Account{}, errs.Field(errs.Unauthenticated, "state", "expired or already used")
	}
	if err != nil {
		return account.Account{}, fmt.Errorf("signin: read OIDC state: %w", err)
	}
	var p pendingLogin
	if err := json.Unmarshal(b, &p); err != nil {
		return account.Account{}, fmt.Errorf("signin: decode OIDC state: %w", err)
	}
	octx := s.oidc.context(ctx)
	tok, err := s.oidc.oauth.Exchange(octx, r.URL.Query().Get("code"), oauth2.VerifierOption(p.Verifier))
	if err != nil {
		return account.Account{}, errs.Wrap(errs.Unauthenticated, err, "code exchange failed")
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		return account.Account{}, errs.E(errs.Unauthenticated, "the provider sent no ID token")
	}
	id, err := s.oidc.verifier.Verify(octx, raw)
	if err != nil {
		return account.Account{}, errs.Wrap(errs.Unauthenticated, err, "ID token does not verify")
	}
	if id.Nonce != p.Nonce {
		return account.Account{}, errs.E(errs.Unauthenticated, "ID token nonce does not match")
	}
	var claims struct {
		AMR []string `json:"amr"`
	}
	if err := id.Claims(&claims); err != nil {
		return account.Account{}, errs.Wrap(errs.Unauthenticated, err, "ID token claims")
	}
	a, err := s.accounts.ByOIDCSubject(ctx, id.Issuer, id.Subject)
	if errs.Is(errs.NotFound, err) {
		return account.Account{}, errs.E(errs.Forbidden, "no Attest account is linked to this identity")
	}
	if err != nil {
		return account.Account{}, err
	}
	if a.Disabled {
		return a, errs.E(errs.Forbidden, "account disabled")
	}
	if account.NeedsSecondFactor(a.Kind) && !slices.ContainsFunc(claims.AMR, func(m string) bool { return slices.Contains(mfaMethods, m) }) {
		return a, errs.E(errs.Forbidden, "the identity provider did not report a second factor")
	}
	return a, nil
}
