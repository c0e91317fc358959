package gateway_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/gateway"
)

// issuer is a minimal OpenID provider for tests: discovery, keys, and a token
// endpoint that checks PKCE and signs ID tokens with ES256 through go-jose.
type issuer struct {
	srv  *httptest.Server
	key  *ecdsa.PrivateKey
	mu   sync.Mutex
	auth map[string]grant // code → what the user "approved"
}

type grant struct {
	subject, nonce, challenge string
	amr                       []string
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	is := &issuer{key: key, auth: map[string]grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": is.srv.URL, "authorization_endpoint": is.srv.URL + "/authorize",
			"token_endpoint": is.srv.URL + "/token", "jwks_uri": is.srv.URL + "/jwks",
			"id_token_signing_alg_values_supported": []string{"ES256"}, "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		is.mu.Lock()
		g, ok := is.auth[r.PostFormValue("code")]
		delete(is.auth, r.PostFormValue("code"))
		is.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
			return
		}
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
			(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		now := time.Now()
		tok, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: is.srv.URL, Subject: g.subject, Audience: jwt.Audience{"attest"},
			IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute))}).
			Claims(map[string]any{"nonce": g.nonce, "amr": g.amr}).Serialize()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": tok})
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

// approve plays the user at the provider: it reads the authorization request the
// gateway redirected to and issues a code for subject.
func (is *issuer) approve(t *testing.T, location, subject string, amr []string) (code, state string) {
	t.Helper()
	u, err := url.Parse(location)
	if err != nil || !strings.HasPrefix(location, is.srv.URL+"/authorize") {
		t.Fatalf("redirect to %q, want the issuer's authorization endpoint", location)
	}
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("client_id") != "attest" {
		t.Fatalf("authorization request without PKCE or client: %v", q)
	}
	code = "code-" + q.Get("state")[:8]
	is.mu.Lock()
	is.auth[code] = grant{subject: subject, nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), amr: amr}
	is.mu.Unlock()
	return code, q.Get("state")
}

// TestOIDCSignIn: an account linked to an OIDC subject signs in through a local
// issuer; a wrong state, a replayed state and a privileged sign-in without a second
// factor are refused.
func TestOIDCSignIn(t *testing.T) {
	is := newIssuer(t)
	g := start(t, storetest.Open(t, store.SQLite, "gateway"), map[string]string{"GATEWAY_OIDC_ISSUER": is.srv.URL,
		"GATEWAY_OIDC_CLIENT_ID": "attest", "GATEWAY_OIDC_CLIENT_SECRET": "secret",
		"GATEWAY_OIDC_REDIRECT_URL": "http://console.test/signin/oidc/callback"})

	officerCookie := sessionCookie(t, signIn(t, g, "demo-officer", gateway.DemoPassword, code(t)))
	page := readAll(t, do(t, "GET", g.url+"/", nil, map[string]string{"Cookie": officerCookie}))
	officer := map[string]string{"Cookie": officerCookie, "Content-Type": "application/json", "X-CSRF-Token": csrfOf(t, page)}
	for _, body := range []string{
		`{"username":"olivia","kind":"officer","oidc_subject":"` + is.srv.URL + ` olivia"}`,
		`{"username":"carl","kind":"staff","oidc_subject":"` + is.srv.URL + ` carl"}`,
	} {
		if resp := do(t, "POST", g.url+"/gateway/v1/accounts", strings.NewReader(body), officer); resp.StatusCode != http.StatusCreated {
			t.Fatalf("link account: %d %s", resp.StatusCode, readAll(t, resp))
		}
	}

	// begin returns the state cookie and the provider's code for subject.
	begin := func(subject string, amr []string) (stateCookie, code, state string) {
		resp := do(t, "GET", g.url+"/signin/oidc", nil, nil)
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("start: %d", resp.StatusCode)
		}
		for _, c := range resp.Cookies() {
			if c.Name == "attest_oidc_state" {
				stateCookie = c.Name + "=" + c.Value
			}
		}
		code, state = is.approve(t, resp.Header.Get("Location"), subject, amr)
		return stateCookie, code, state
	}
	callback := func(cookie, code, state string) *http.Response {
		return do(t, "GET", g.url+"/signin/oidc/callback?"+url.Values{"code": {code}, "state": {state}}.Encode(), nil,
			map[string]string{"Cookie": cookie})
	}

	cookie, c, state := begin("olivia", []string{"pwd", "otp"})
	if resp := callback("attest_oidc_state=someone-elses", c, state); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("callback with another browser's state: %d", resp.StatusCode)
	}
	resp := callback(cookie, c, state)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("OIDC sign-in: %d %s", resp.StatusCode, readAll(t, resp))
	}
	session := sessionCookie(t, resp)
	if resp := do(t, "GET", g.url+"/", nil, map[string]string{"Cookie": session}); resp.StatusCode != 200 ||
		!strings.Contains(readAll(t, resp), "Signed in as officer:") {
		t.Errorf("console after OIDC sign-in: %d", resp.StatusCode)
	}
	if resp := callback(cookie, c, state); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("replayed callback: %d", resp.StatusCode)
	}

	cookie, c, state = begin("olivia", []string{"pwd"})
	if resp := callback(cookie, c, state); resp.StatusCode != http.StatusForbidden {
		t.Errorf("officer without a second factor: %d", resp.StatusCode)
	}
	cookie, c, state = begin("carl", []string{"pwd"})
	if resp := callback(cookie, c, state); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("staff with a password only: %d", resp.StatusCode)
	}
	cookie, c, state = begin("mallory", []string{"pwd", "otp"})
	if resp := callback(cookie, c, state); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an unlinked identity: %d", resp.StatusCode)
	}
}
