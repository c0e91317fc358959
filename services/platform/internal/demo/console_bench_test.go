package demo_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/attest-ehr/attest/services/gateway"
	"github.com/attest-ehr/attest/services/platform"
	"github.com/attest-ehr/attest/services/platform/internal/demo"
	"github.com/attest-ehr/attest/services/platform/internal/generate"
)

// BenchmarkConsoleDemo measures the console against the real services with the demo
// health system loaded: the whole platform in this process (platform.Start: records,
// messaging, education, metrics, reporting and the gateway on the embedded broker,
// SQLite and Redis), ATTEST_DEMO_PATIENTS patients (default 20,000) loaded through
// records' import API exactly as `attest run` does, and the pipeline settled. Then it
// signs in the demo personas and times every page each of them opens, one request at
// a time (p50, p99 of the server's answer on loopback, and the process's CPU time per
// page from getrusage, which the machine's load does not inflate; it includes the idle
// platform's background, a few ms a page — -cpuprofile and pprof -focus give a page's
// own), and finally 200
// signed-in users (officers, clinic administrators and auditors) opening their main
// page at the same moment, which must all succeed.
//
// ATTEST_BENCH_DIR keeps the data directory (and the loaded demo) between runs; the
// first run loads, the next ones start on it at once.
//
//	ATTEST_DEMO_PATIENTS=20000 ATTEST_BENCH_DIR=/tmp/attest-demo \
//	  go test -run '^$' -bench BenchmarkConsoleDemo -benchtime 200x -timeout 2h ./services/platform/internal/demo
func BenchmarkConsoleDemo(b *testing.B) {
	ctx, began := context.Background(), time.Now()
	patients := 20000
	if v := os.Getenv("ATTEST_DEMO_PATIENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("ATTEST_DEMO_PATIENTS: want a positive number, got %q", v)
		}
		patients = n
	}
	dataDir := os.Getenv("ATTEST_BENCH_DIR")
	if dataDir == "" {
		dataDir = b.TempDir()
	}
	env := map[string]string{"ATTEST_DATA_DIR": dataDir, "ATTEST_HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "error",
		"GATEWAY_DEMO": "true", "GATEWAY_INSECURE_COOKIE": "true", "GATEWAY_SESSION_IDLE": "2h"}
	p, err := platform.Start(ctx, func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := p.Stop(context.WithoutCancel(ctx)); err != nil {
			b.Errorf("Stop: %v", err)
		}
	})
	year := 2025
	demoDir := filepath.Join(dataDir, "demo")
	if !demo.Loaded(demoDir) {
		s, err := demo.Load(ctx, demo.Config{URL: p.URL, Token: gateway.DemoServiceToken, Seed: 1, Patients: patients,
			Year: year, Dir: demoDir, Progress: os.Stderr})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("loaded %d resources for %d patients in %s", s.Imported+s.Unchanged, patients, s.Elapsed.Round(time.Second))
	}
	settle(b, p)
	b.Logf("platform started, demo loaded and every consumer caught up %s after the start", time.Since(began).Round(time.Second))
	tin := clinicTIN(b, demoDir, gateway.DemoClinic)

	officer := signInDemo(b, p.URL, "demo-officer")
	admin := signInDemo(b, p.URL, "demo-admin")
	auditor := signInDemo(b, p.URL, "demo-auditor")
	choice := url.Values{"program": {"mips-pi"}, "year": {strconv.Itoa(year)}, "entity": {"tin:" + tin}}.Encode()
	period := fmt.Sprintf("from=%d-01-01&to=%d-12-31", year, year)
	pages := []struct{ name, cookie, path string }{
		{"officer/compliance", officer, "/compliance?" + choice},
		{"officer/spark", officer, "/panels/spark?" + choice + "&measure=PI_PEA_1"},
		{"officer/best-window", officer, "/panels/best-window?" + choice},
		{"officer/forecast", officer, "/panels/forecast?" + choice},
		{"officer/worklist", officer, "/panels/worklist?" + choice},
		{"officer/members", officer, "/members?" + choice + "&measure=PI_PEA_1"},
		{"officer/engagement", officer, "/engagement?" + period},
		{"officer/attestations", officer, "/attestations"},
		{"officer/audit", officer, "/audit"},
		{"admin/engagement", admin, "/engagement?" + period},
		{"admin/kpis", admin, "/engagement/kpis?" + period},
		{"admin/members", admin, "/members?" + choice + "&measure=PI_PEA_1&in=not-numerator"},
		{"auditor/attestations", auditor, "/attestations"},
		{"auditor/audit", auditor, "/audit?sort=at&dir=desc"},
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	b.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: time.Minute, CheckRedirect: noRedirect}
	for _, pg := range pages {
		b.Run("page="+pg.name, func(b *testing.B) {
			var ds []time.Duration
			cpu0 := cpuTime()
			for b.Loop() {
				d, err := get(hc, p.URL+pg.path, pg.cookie)
				if err != nil {
					b.Fatal(err)
				}
				ds = append(ds, d)
			}
			b.ReportMetric(ms(quantile(ds, 0.5)), "p50-ms")
			b.ReportMetric(ms(quantile(ds, 0.99)), "p99-ms")
			b.ReportMetric(ms(cpuTime()-cpu0)/float64(len(ds)), "cpu-ms/page")
		})
	}

	users := benchUsers(b, p.URL, officer, tin, year, 200)
	b.Run("users=200", func(b *testing.B) {
		// Each iteration: every user opens their main page at the same moment.
		var mu sync.Mutex
		var ds []time.Duration
		var failures []error
		cpu0 := cpuTime()
		for b.Loop() {
			var wg sync.WaitGroup
			for _, u := range users {
				wg.Go(func() {
					d, err := get(hc, p.URL+u.page, u.cookie)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						failures = append(failures, err)
					}
					ds = append(ds, d)
				})
			}
			wg.Wait()
		}
		if len(failures) > 0 {
			b.Fatalf("%d of %d requests failed, first: %v", len(failures), len(ds), failures[0])
		}
		b.ReportMetric(ms(quantile(ds, 0.5)), "p50-ms")
		b.ReportMetric(ms(quantile(ds, 0.99)), "p99-ms")
		b.ReportMetric(float64(len(ds))/b.Elapsed().Seconds(), "pages/s")
		b.ReportMetric(ms(cpuTime()-cpu0)/float64(len(ds)), "cpu-ms/page")
	})
}

// settle waits until everything loaded has gone through the pipeline, with a line a
// minute so a long wait shows progress.
func settle(b *testing.B, p *platform.Running) {
	b.Helper()
	start, last := time.Now(), time.Now()
	for {
		ok, err := p.Settled(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if ok {
			return
		}
		if time.Since(last) > time.Minute {
			fmt.Fprintf(os.Stderr, "waiting for the pipeline to settle (%s)\n", time.Since(start).Round(time.Second))
			last = time.Now()
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// clinicTIN is the TIN of organization org's group, from the generated groups file.
func clinicTIN(b testing.TB, dir, org string) string {
	b.Helper()
	f, err := os.Open(filepath.Join(dir, generate.FileName("groups")))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var g struct {
			OrganizationID string `json:"organization_id"`
			TIN            string `json:"tin"`
		}
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			b.Fatal(err)
		}
		if g.OrganizationID == org {
			return g.TIN
		}
	}
	b.Fatalf("no group of organization %s in the demo", org)
	return ""
}

var noRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// signIn posts the sign-in form from a loopback address of its own (the gateway
// limits sign-in attempts per address) and returns the session cookie.
func signIn(b testing.TB, base, username, password, secret string, from net.IP) string {
	b.Helper()
	c, err := totp.GenerateCodeCustom(secret, time.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		b.Fatal(err)
	}
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: from}}).DialContext}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, CheckRedirect: noRedirect, Timeout: time.Minute}
	form := url.Values{"username": {username}, "password": {password}, "code": {c}}
	resp, err := hc.Post(base+"/signin", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "attest_session" && ck.Value != "" {
			return ck.Name + "=" + ck.Value
		}
	}
	b.Fatalf("sign-in %s: %s", username, resp.Status)
	return ""
}

func signInDemo(b testing.TB, base, username string) string {
	return signIn(b, base, username, gateway.DemoPassword, gateway.DemoTOTPSecret, net.IPv4(127, 0, 2, 1))
}

// user is a signed-in benchmark user and the main page they open.
type user struct{ cookie, page string }

// benchUsers creates n accounts (officers, clinic administrators of the demo clinic
// and auditors in turn) through the gateway's API as the demo officer, and signs each
// in with their own TOTP secret.
func benchUsers(b *testing.B, base, officer, tin string, year, n int) []user {
	b.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, CheckRedirect: noRedirect, Timeout: time.Minute}
	page := func(path string) string {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Cookie", officer)
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	csrf := page("/attestations")
	const field = `name="csrf" value="`
	i := strings.Index(csrf, field)
	if i < 0 {
		b.Fatal("no CSRF token on the officer's page")
	}
	csrf = csrf[i+len(field):]
	csrf = csrf[:strings.IndexByte(csrf, '"')]
	mains := map[string]string{
		"officer":      fmt.Sprintf("/compliance?program=mips-pi&year=%d&entity=tin:%s", year, tin),
		"clinic_admin": fmt.Sprintf("/engagement?from=%d-01-01&to=%d-12-31", year, year),
		"auditor":      "/attestations",
	}
	kinds := []string{"officer", "clinic_admin", "auditor"}
	run := time.Now().Unix()
	users := make([]user, n)
	for i := range n {
		kind := kinds[i%len(kinds)]
		// Named by the run, so that a kept data directory takes another run's users.
		name, password := fmt.Sprintf("bench-%d-%d", run, i), fmt.Sprintf("bench-password-%d", i)
		body := map[string]any{"username": name, "kind": kind, "password": password}
		if kind == "clinic_admin" {
			body["clinics"] = []string{gateway.DemoClinic}
		}
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+"/gateway/v1/accounts", strings.NewReader(string(raw)))
		req.Header.Set("Cookie", officer)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", csrf)
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var created struct {
			TOTPURL string `json:"totp_url"`
		}
		err = json.NewDecoder(resp.Body).Decode(&created)
		resp.Body.Close()
		u, perr := url.Parse(created.TOTPURL)
		if err != nil || perr != nil || resp.StatusCode != http.StatusCreated {
			b.Fatalf("create %s: %s %v %v", name, resp.Status, err, perr)
		}
		// 20 sign-ins per loopback address, under the per-address limit.
		users[i] = user{cookie: signIn(b, base, name, password, u.Query().Get("secret"), net.IPv4(127, 0, 3, byte(1+i/20))),
			page: mains[kind]}
	}
	return users
}

func get(hc *http.Client, u, cookie string) (time.Duration, error) {
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Cookie", cookie)
	t0 := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return d, err
}

// cpuTime is the process's user + system CPU time so far.
func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	d = slices.Clone(d)
	slices.Sort(d)
	return d[min(len(d)-1, int(q*float64(len(d))))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
