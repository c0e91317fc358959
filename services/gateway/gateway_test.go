package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"go.uber.org/goleak"

	"github.com/attest-ehr/attest/libs/broker"
	"github.com/attest-ehr/attest/libs/cache/cachetest"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/gateway"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeService answers every request with the principal header it received, so tests
// see exactly what the gateway forwarded.
func fakeService(seen *[]string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*seen = append(*seen, r.Header.Get(principal.Header))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"entity": r.URL.Query().Get("entity"), "patients": 3})
	})
}

// gw is a gateway serving on a loopback port with the demo accounts.
type gw struct {
	url  string
	seen *[]string // principals the fake services were called with
	cfg  gateway.Config
	db   *store.DB
	// events reaches the gateway's broker, for tests that publish records' events.
	events event.Config
}

func start(t *testing.T, db *store.DB, env map[string]string) gw {
	t.Helper()
	seen := &[]string{}
	return startWith(t, db, env, seen, map[string]http.Handler{"records": fakeService(seen), "reporting": fakeService(seen)})
}

// startWith is start with the given in-process services.
func startWith(t testing.TB, db *store.DB, env map[string]string, seen *[]string, local map[string]http.Handler) gw {
	t.Helper()
	ctx := context.Background()
	b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", Partitions: 1,
		Topics: []string{contract.TopicPatient, contract.TopicGroup, contract.TopicClinician, contract.TopicHospital}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	all := map[string]string{"ATTEST_DATA_DIR": t.TempDir(), "GATEWAY_DEMO": "true", "GATEWAY_INSECURE_COOKIE": "true",
		"GATEWAY_AUDIT_CHECKPOINT_EVERY": "5"}
	for k, v := range env {
		all[k] = v
	}
	cfg, err := gateway.ConfigFromEnv(func(k string) string { return all[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Local = local
	d := gateway.Deps{Log: slog.New(slog.DiscardHandler), DB: db, Cache: cachetest.New(t), Brokers: b.Addrs()}
	app, err := gateway.New(ctx, cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- app.Run(runCtx) }()
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(func() {
		srv.Close()
		stop()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return gw{url: srv.URL, seen: seen, cfg: cfg, db: db, events: d.Events()}
}

// client follows no redirects, so tests see each answer.
var client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout: 30 * time.Second}

func do(t testing.TB, method, u string, body io.Reader, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readAll(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func code(t testing.TB) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(gateway.DemoTOTPSecret, time.Now(),
		totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// signIn posts the form and returns the response.
func signIn(t testing.TB, g gw, username, password, totpCode string) *http.Response {
	t.Helper()
	form := url.Values{"username": {username}, "password": {password}, "code": {totpCode}}
	return do(t, "POST", g.url+"/signin", strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
}

func sessionCookie(t testing.TB, resp *http.Response) string {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "attest_session" && c.Value != "" {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatalf("no session cookie in %d answer", resp.StatusCode)
	return ""
}

var csrfField = `name="csrf" value="`

func csrfOf(t testing.TB, page string) string {
	t.Helper()
	i := strings.Index(page, csrfField)
	if i < 0 {
		t.Fatal("no CSRF field on the page")
	}
	rest := page[i+len(csrfField):]
	return rest[:strings.IndexByte(rest, '"')]
}

// TestSignInFlow: the console needs a session; a wrong password, a missing code and
// a replayed code fail; the right ones sign in; every page is no-store; sign-out
// needs the form token and clears the browser's site data.
func TestSignInFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		g := start(t, db, nil)
		resp := do(t, "GET", g.url+"/", nil, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin" {
			t.Fatalf("console without a session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp := do(t, "GET", g.url+"/signin", nil, nil); resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" ||
			!strings.Contains(readAll(t, resp), "Demo mode") {
			t.Fatalf("sign-in page: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
		for name, resp := range map[string]*http.Response{
			"wrong password": signIn(t, g, "demo-officer", "wrong-password-1234", code(t)),
			"no code":        signIn(t, g, "demo-officer", gateway.DemoPassword, ""),
			"unknown user":   signIn(t, g, "nobody-here", gateway.DemoPassword, code(t)),
		} {
			if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
				t.Errorf("%s: %d, cookies %v", name, resp.StatusCode, resp.Cookies())
			}
		}
		c := code(t)
		resp = signIn(t, g, "demo-officer", gateway.DemoPassword, c)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
			t.Fatalf("sign-in: %d", resp.StatusCode)
		}
		cookie := sessionCookie(t, resp)
		if resp := signIn(t, g, "demo-officer", gateway.DemoPassword, c); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("a replayed TOTP code signed in: %d", resp.StatusCode)
		}

		resp = do(t, "GET", g.url+"/", nil, map[string]string{"Cookie": cookie})
		page := readAll(t, resp)
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(page, "Signed in as officer:") {
			t.Fatalf("console: %d %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
		if !strings.Contains(page, `<th scope="row">records</th><td><span class="ok">ready`) {
			t.Error("the officer's console does not show the services' readiness")
		}
		// The console's own calls go through the policy as the signed-in user.
		q := "/?entity=npi:" + gateway.DemoNPI + "&from=2025-01-01&to=2025-12-31"
		if page := readAll(t, do(t, "GET", g.url+q, nil, map[string]string{"Cookie": cookie})); !strings.Contains(page, "Measures for npi:"+gateway.DemoNPI) {
			t.Error("the officer cannot see an entity's measures on the console")
		}
		clinician := map[string]string{"Cookie": sessionCookie(t, signIn(t, g, "demo-clinician", gateway.DemoPassword, code(t)))}
		if page := readAll(t, do(t, "GET", g.url+q, nil, clinician)); !strings.Contains(page, "unique patients seen by") {
			t.Error("a clinician cannot count their own NPI's patients")
		}
		other := "/?entity=npi:1245319599&from=2025-01-01&to=2025-12-31"
		if page := readAll(t, do(t, "GET", g.url+other, nil, clinician)); !strings.Contains(page, "outside your scope") {
			t.Error("a clinician counted another clinician's patients")
		}
		// A form posted from another site is refused before it reaches a handler.
		if resp := do(t, "POST", g.url+"/signout", strings.NewReader("csrf="+csrfOf(t, page)), map[string]string{
			"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site sign-out: %d", resp.StatusCode)
		}
		form := map[string]string{"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
		if resp := do(t, "POST", g.url+"/signout", strings.NewReader("csrf=wrong"), form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("sign-out with a wrong form token: %d", resp.StatusCode)
		}
		resp = do(t, "POST", g.url+"/signout", strings.NewReader("csrf="+csrfOf(t, page)), form)
		if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Clear-Site-Data"), `"storage"`) {
			t.Fatalf("sign-out: %d, Clear-Site-Data %q", resp.StatusCode, resp.Header.Get("Clear-Site-Data"))
		}
		resp = do(t, "GET", g.url+"/", nil, map[string]string{"Cookie": cookie})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Clear-Site-Data") == "" {
			t.Errorf("the signed-out session still works: %d", resp.StatusCode)
		}
	})
}

// TestPrincipalForwarding: the gateway strips a client's X-Attest-Principal, forwards
// the authenticated one, and refuses API calls without credentials.
func TestPrincipalForwarding(t *testing.T) {
	g := start(t, storetest.Open(t, store.SQLite, gateway.Name), nil)
	forged := map[string]string{principal.Header: "officer:root"}
	if resp := do(t, "GET", g.url+"/records/v1/patients/p-1", nil, forged); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a forged principal without credentials: %d", resp.StatusCode)
	}
	if len(*g.seen) != 0 {
		t.Fatalf("the service was called without credentials: %v", *g.seen)
	}
	forged["Authorization"] = "Bearer " + gateway.DemoServiceToken
	if resp := do(t, "GET", g.url+"/records/v1/patients/p-1", nil, forged); resp.StatusCode != 200 {
		t.Fatalf("service account: %d %s", resp.StatusCode, readAll(t, resp))
	}
	if got := (*g.seen)[0]; !strings.HasPrefix(got, "service:u-") {
		t.Errorf("the service saw principal %q, want the service account's", got)
	}
	if resp := do(t, "GET", g.url+"/records/v1/patients/p-1", nil, map[string]string{"Authorization": "Bearer atk_stolen"}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown token: %d", resp.StatusCode)
	}
	if resp := do(t, "GET", g.url+"/records/v1/no-such-route", nil, forged); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a route the policy does not name: %d", resp.StatusCode)
	}
}

// TestLockout: repeated failures lock the username, even for the right password.
func TestLockout(t *testing.T) {
	g := start(t, storetest.Open(t, store.SQLite, gateway.Name), nil)
	var last int
	for range 5 {
		last = signIn(t, g, "demo-auditor", "wrong-password-1234", "000000").StatusCode
	}
	if last != http.StatusTooManyRequests {
		t.Errorf("5th failure: %d, want 429", last)
	}
	if resp := signIn(t, g, "demo-auditor", gateway.DemoPassword, code(t)); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("locked account signed in: %d", resp.StatusCode)
	}
	if resp := signIn(t, g, "demo-officer", gateway.DemoPassword, code(t)); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("another account is not locked: %d", resp.StatusCode)
	}
}

// TestIdleTimeout: an unused session ends after the idle timeout, and the browser is
// told to clear its site data.
func TestIdleTimeout(t *testing.T) {
	g := start(t, storetest.Open(t, store.SQLite, gateway.Name), map[string]string{"GATEWAY_SESSION_IDLE": "1s"})
	cookie := sessionCookie(t, signIn(t, g, "demo-admin", gateway.DemoPassword, code(t)))
	if resp := do(t, "GET", g.url+"/", nil, map[string]string{"Cookie": cookie}); resp.StatusCode != 200 {
		t.Fatalf("fresh session: %d", resp.StatusCode)
	}
	time.Sleep(1500 * time.Millisecond)
	resp := do(t, "GET", g.url+"/", nil, map[string]string{"Cookie": cookie})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin?why=timeout" ||
		resp.Header.Get("Clear-Site-Data") == "" {
		t.Fatalf("after the idle timeout: %d %q %q", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Clear-Site-Data"))
	}
}

// TestAuditTrail: sign-ins, PHI access and denials are in the audit log, readable as
// FHIR AuditEvents by an officer, and the chain verifies; a clinician may not read it.
func TestAuditTrail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		g := start(t, db, nil)
		token := map[string]string{"Authorization": "Bearer " + gateway.DemoServiceToken}
		do(t, "GET", g.url+"/records/v1/patients/p-42", nil, token)
		cookie := sessionCookie(t, signIn(t, g, "demo-officer", gateway.DemoPassword, code(t)))
		officer := map[string]string{"Cookie": cookie}

		resp := do(t, "GET", g.url+"/gateway/v1/AuditEvent?patient=p-42", nil, officer)
		var bundle struct {
			Total int `json:"total"`
			Entry []struct {
				Resource struct {
					Subtype []struct{ Code string } `json:"subtype"`
					Outcome string                  `json:"outcome"`
					Entity  []struct {
						What struct{ Reference string } `json:"what"`
					} `json:"entity"`
				} `json:"resource"`
			} `json:"entry"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&bundle); err != nil || resp.StatusCode != 200 {
			t.Fatalf("AuditEvent: %d %v", resp.StatusCode, err)
		}
		if bundle.Total != 1 || bundle.Entry[0].Resource.Subtype[0].Code != "records.patients.read" ||
			bundle.Entry[0].Resource.Entity[0].What.Reference != "Patient/p-42" || bundle.Entry[0].Resource.Outcome != "0" {
			t.Fatalf("bundle: %+v", bundle)
		}
		resp = do(t, "GET", g.url+"/gateway/v1/AuditEvent?action=signin", nil, officer)
		if err := json.NewDecoder(resp.Body).Decode(&bundle); err != nil || bundle.Total != 1 {
			t.Fatalf("sign-in records: %+v %v", bundle, err)
		}
		resp = do(t, "GET", g.url+"/gateway/v1/audit/verify", nil, officer)
		var rep struct {
			OK      bool  `json:"ok"`
			Records int64 `json:"records"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil || !rep.OK || rep.Records < 3 {
			t.Fatalf("verify: %+v %v", rep, err)
		}
		pub, err := gateway.AuditPublicKey(g.cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if r, err := gateway.VerifyAudit(context.Background(), g.db, pub); err != nil || !r.OK() {
			t.Fatalf("VerifyAudit: %+v %v", r, err)
		}

		clinician := map[string]string{"Cookie": sessionCookie(t, signIn(t, g, "demo-clinician", gateway.DemoPassword, code(t)))}
		if resp := do(t, "GET", g.url+"/gateway/v1/AuditEvent", nil, clinician); resp.StatusCode != http.StatusForbidden {
			t.Errorf("clinician reading the audit log: %d", resp.StatusCode)
		}
		resp = do(t, "GET", g.url+"/gateway/v1/AuditEvent?action=audit.export", nil, officer)
		if err := json.NewDecoder(resp.Body).Decode(&bundle); err != nil || bundle.Total < 2 {
			t.Fatalf("the denied read and the officer's reads are audited: %+v %v", bundle, err)
		}
	})
}

// TestAccountsAndGrants: an officer creates an auditor; the auditor sees no patient
// data until an officer grants it, and a clinic administrator may create clinicians
// only in their own clinics.
func TestAccountsAndGrants(t *testing.T) {
	g := start(t, storetest.Open(t, store.SQLite, gateway.Name), nil)
	officerCookie := sessionCookie(t, signIn(t, g, "demo-officer", gateway.DemoPassword, code(t)))
	page := readAll(t, do(t, "GET", g.url+"/", nil, map[string]string{"Cookie": officerCookie}))
	officer := map[string]string{"Cookie": officerCookie, "Content-Type": "application/json", "X-CSRF-Token": csrfOf(t, page)}

	resp := do(t, "POST", g.url+"/gateway/v1/accounts", strings.NewReader(`{"username":"ann-auditor","kind":"auditor","password":"a-long-enough-password"}`), officer)
	var created struct {
		ID      string `json:"id"`
		TOTPURL string `json:"totp_url"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil || resp.StatusCode != http.StatusCreated || !strings.HasPrefix(created.TOTPURL, "otpauth://totp/") {
		t.Fatalf("create auditor: %d %+v %v", resp.StatusCode, created, err)
	}
	noCSRF := map[string]string{"Cookie": officerCookie, "Content-Type": "application/json"}
	if resp := do(t, "POST", g.url+"/gateway/v1/grants", strings.NewReader(`{}`), noCSRF); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a session's API write without the CSRF token: %d", resp.StatusCode)
	}
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if resp := do(t, "POST", g.url+"/gateway/v1/grants", strings.NewReader(`{"account_id":"`+created.ID+`","until":"`+until+`"}`), officer); resp.StatusCode != http.StatusCreated {
		t.Fatalf("grant: %d %s", resp.StatusCode, readAll(t, resp))
	}
	if resp := do(t, "POST", g.url+"/gateway/v1/grants", strings.NewReader(`{"account_id":"`+created.ID+`","until":"2001-01-01T00:00:00Z"}`), officer); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a grant in the past: %d", resp.StatusCode)
	}

	adminCookie := sessionCookie(t, signIn(t, g, "demo-admin", gateway.DemoPassword, code(t)))
	page = readAll(t, do(t, "GET", g.url+"/", nil, map[string]string{"Cookie": adminCookie}))
	admin := map[string]string{"Cookie": adminCookie, "Content-Type": "application/json", "X-CSRF-Token": csrfOf(t, page)}
	for body, want := range map[string]int{
		`{"username":"cl-1","kind":"clinician","principal_id":"1245319599","clinics":["` + gateway.DemoClinic + `"],"password":"a-long-enough-password"}`: http.StatusCreated,
		`{"username":"cl-2","kind":"clinician","principal_id":"1245319599","clinics":["elsewhere"],"password":"a-long-enough-password"}`:                  http.StatusForbidden,
		`{"username":"co-2","kind":"officer","password":"a-long-enough-password"}`:                                                                        http.StatusForbidden,
		`{"username":"cl-3","kind":"clinician","principal_id":"12","clinics":["` + gateway.DemoClinic + `"],"password":"a-long-enough-password"}`:         http.StatusBadRequest,
	} {
		if resp := do(t, "POST", g.url+"/gateway/v1/accounts", strings.NewReader(body), admin); resp.StatusCode != want {
			t.Errorf("clinic admin creates %s: %d, want %d", body, resp.StatusCode, want)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name   string
		env    map[string]string
		fields []string // named in the error; none when valid
	}{
		{"defaults", map[string]string{}, nil},
		{"everything set", map[string]string{"GATEWAY_UPSTREAMS": "records=http://records:8080",
			"GATEWAY_AUDIT_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "GATEWAY_SESSION_IDLE": "5m",
			"GATEWAY_OIDC_ISSUER": "https://idp", "GATEWAY_OIDC_CLIENT_ID": "c", "GATEWAY_OIDC_CLIENT_SECRET": "s",
			"GATEWAY_OIDC_REDIRECT_URL": "https://x/signin/oidc/callback"}, nil},
		{"everything wrong at once", map[string]string{"GATEWAY_UPSTREAMS": "billing=http://x", "GATEWAY_AUDIT_KEY": "short",
			"GATEWAY_SESSION_IDLE": "soon", "GATEWAY_OIDC_ISSUER": "https://idp", "ATTEST_ADMIN_USERNAME": "root",
			"GATEWAY_SEAL_KEY": "c2hvcnQ=", "GATEWAY_AUDIT_CHECKPOINT_EVERY": "0"},
			[]string{"GATEWAY_UPSTREAMS", "GATEWAY_AUDIT_KEY", "GATEWAY_SESSION_IDLE", "GATEWAY_OIDC_ISSUER", "ATTEST_ADMIN_PASSWORD",
				"GATEWAY_SEAL_KEY", "GATEWAY_AUDIT_CHECKPOINT_EVERY"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gateway.ConfigFromEnv(func(k string) string { return tc.env[k] })
			if len(tc.fields) == 0 && err != nil {
				t.Fatal(err)
			}
			for _, f := range tc.fields {
				if err == nil || !strings.Contains(err.Error(), f) {
					t.Errorf("error %v does not name %s", err, f)
				}
			}
		})
	}
}

// TestBootstrap: ATTEST_ADMIN_* creates the first officer, whose authenticator is
// enrolled from a private file; CreateOfficer does the same from code; both are
// audited as privilege changes.
func TestBootstrap(t *testing.T) {
	dir := t.TempDir()
	db := storetest.Open(t, store.SQLite, gateway.Name)
	g := start(t, db, map[string]string{"ATTEST_DATA_DIR": dir, "GATEWAY_DEMO": "", "ATTEST_ADMIN_USERNAME": "first-officer",
		"ATTEST_ADMIN_PASSWORD": "a-long-enough-password"})
	path := dir + "/gateway-admin-totp.txt"
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("enrolment file: %v %v", fi, err)
	}
	b, _ := os.ReadFile(path)
	key, err := otp.NewKeyFromURL(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := totp.GenerateCode(key.Secret(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if resp := signIn(t, g, "first-officer", "a-long-enough-password", c); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("bootstrap officer sign-in: %d", resp.StatusCode)
	}
	if resp := signIn(t, g, "demo-officer", gateway.DemoPassword, code(t)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("demo accounts exist without GATEWAY_DEMO: %d", resp.StatusCode)
	}

	u, err := gateway.CreateOfficer(context.Background(), g.cfg, db, slog.New(slog.DiscardHandler), "second-officer", "a-long-enough-password", "")
	if err != nil || !strings.HasPrefix(u, "otpauth://totp/Attest:second-officer") {
		t.Fatalf("CreateOfficer: %q %v", u, err)
	}
	if _, err := gateway.CreateOfficer(context.Background(), g.cfg, db, slog.New(slog.DiscardHandler), "second-officer", "a-long-enough-password", ""); err == nil {
		t.Error("CreateOfficer made a second account with one username")
	}
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action = 'gateway.account.create'`).Scan(&n); err != nil || n != 3 {
		t.Errorf("account creations audited: %d %v, want 3 (two created, one refused)", n, err)
	}
}

// TestFHIRAlias: /fhir is records' FHIR API as /records/fhir is, under the same rules:
// records sees the same path either way.
func TestFHIRAlias(t *testing.T) {
	var seen []string
	var paths []string
	records := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.Method+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = w.Write([]byte(`{"resourceType":"CapabilityStatement"}`))
	})
	g := startWith(t, storetest.Open(t, store.SQLite, gateway.Name), nil, &seen, map[string]http.Handler{"records": records})
	token := map[string]string{"Authorization": "Bearer " + gateway.DemoServiceToken}
	for _, u := range []string{"/fhir/metadata", "/records/fhir/metadata", "/fhir/Patient/p-1", "/records/fhir/Patient/p-1"} {
		if resp := do(t, "GET", g.url+u, nil, token); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d %s", u, resp.StatusCode, readAll(t, resp))
		}
	}
	if resp := do(t, "POST", g.url+"/fhir", strings.NewReader(`{}`), token); resp.StatusCode != http.StatusOK {
		t.Errorf("POST /fhir: %d %s", resp.StatusCode, readAll(t, resp))
	}
	want := []string{"GET /fhir/metadata", "GET /fhir/metadata", "GET /fhir/Patient/p-1", "GET /fhir/Patient/p-1", "POST /fhir"}
	if !slices.Equal(paths, want) {
		t.Errorf("records saw %v, want %v", paths, want)
	}
	if resp := do(t, "GET", g.url+"/fhir/Patient/p-1", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without credentials: %d", resp.StatusCode)
	}
}
