package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/gateway"
)

// demoServices answers the console's reads with what the demo health system
// (`attest generate --patients 200`, three clinics) gives: the measure catalog,
// numbers, a 50-member page, a year of weekly KPIs by clinic and by clinician, the
// directory. Reporting's report routes are not served (as on the day this was
// written), so the officer's page takes its metrics path, the costlier one (a
// numbers call per measure).
func demoServices() map[string]http.Handler {
	js := func(v any) http.HandlerFunc {
		body, _ := json.Marshal(v)
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}
	}
	ready := js(map[string]string{"status": "ready"})
	clinics := []string{"tin:111111111", "tin:222222222", "ccn:100001"}
	var byClinic, byWeek, byClinician []map[string]any
	for i, c := range clinics {
		byClinic = append(byClinic, map[string]any{"clinic": c, "access_provisioned": 70 + i, "portal_users": 35,
			"portal_actions": 40, "messages_received": 12, "messages_answered": 10, "response_median_seconds": 5400})
		for wk := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC); wk.Year() == 2025; wk = wk.AddDate(0, 0, 7) {
			byWeek = append(byWeek, map[string]any{"week": wk.Format(time.DateOnly), "clinic": c, "portal_users": 1 + i, "messages_received": i})
		}
		for n := 0; n < 5; n++ {
			byClinician = append(byClinician, map[string]any{"clinician": fmt.Sprintf("%d%09d", 1+i, n), "access_provisioned": 14})
		}
	}
	kpis := func(w http.ResponseWriter, r *http.Request) {
		rows := byClinic
		switch r.URL.Query().Get("by") {
		case "week,clinic":
			rows = byWeek
		case "clinician":
			rows = byClinician
		}
		js(map[string]any{"from": "2025-01-06", "to": "2026-01-05", "rows": rows})(w, r)
	}
	var members []map[string]any
	for i := range 50 {
		members = append(members, map[string]any{"patient_id": fmt.Sprintf("pt-%06d", i+1), "in_denominator": true,
			"in_numerator": i%3 == 0, "denominator": map[string]any{"code": "counted", "note": "seen by the provider during the period", "at": "2025-05-08T00:00:00Z"},
			"numerator": map[string]any{"code": "late", "note": "vdt access after the deadline", "at": "2025-06-18T20:09:00Z"}})
	}
	metrics := http.NewServeMux()
	metrics.HandleFunc("GET /readyz", ready)
	metrics.HandleFunc("GET /v1/measures", js(map[string]any{"measures": []map[string]any{
		{"id": "PI_EP_1", "title": "e-Prescribing", "kind": "proportion", "threshold": "at least one", "computed": true, "variants": []string{"controlled-substances-included"}},
		{"id": "PI_PEA_1", "title": "Provide Patients Electronic Access", "kind": "proportion", "threshold": "at least one", "computed": true},
		{"id": "PI_HIE_1", "title": "Support Electronic Referral Loops By Sending", "kind": "proportion", "threshold": "at least one", "computed": true},
		{"id": "PI_HIE_4", "title": "Support Electronic Referral Loops By Receiving", "kind": "proportion", "threshold": "at least one", "computed": true},
	}}))
	metrics.HandleFunc("GET /v1/numbers", js(map[string]any{"numerator": 209, "denominator": 380, "threshold": "at least one", "met": true}))
	metrics.HandleFunc("GET /v1/members", js(map[string]any{"total": 133, "next_token": "p2", "members": members}))
	metrics.HandleFunc("GET /v1/kpis", kpis)
	records := http.NewServeMux()
	records.HandleFunc("GET /readyz", ready)
	records.HandleFunc("GET /v1/groups", js(map[string]any{"items": []map[string]any{{"tin": "111111111", "name": "Clinic 1 Group"}, {"tin": "222222222", "name": "Clinic 2 Group"}}}))
	records.HandleFunc("GET /v1/hospitals", js(map[string]any{"items": []map[string]any{{"ccn": "100001", "name": "Hospital 1"}}}))
	records.HandleFunc("GET /v1/clinicians", js(map[string]any{"items": byClinician}))
	reporting := http.NewServeMux()
	reporting.HandleFunc("GET /readyz", ready)
	var atts []map[string]any
	for i := range 5 {
		atts = append(atts, map[string]any{"id": fmt.Sprintf("att-%d", i), "program": "mips-pi", "year": 2025, "entity": clinics[i%3],
			"period_from": "2025-01-01", "period_to": "2025-12-31", "frozen_by": "officer:u-1", "frozen_at": "2026-01-10T10:00:00Z"})
	}
	reporting.HandleFunc("GET /v1/attestations", js(map[string]any{"attestations": atts}))
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	return map[string]http.Handler{"metrics": metrics, "records": records, "reporting": reporting, "messaging": ok, "education": ok}
}

// user is a signed-in benchmark user and the page they open.
type user struct {
	cookie string
	page   string
}

// benchUsers signs in n users (officers, clinic administrators and auditors in turn)
// on the gateway at g. Sign-ins come from distinct loopback addresses, because the
// gateway allows 30 sign-in attempts per address per minute.
func benchUsers(b *testing.B, g gw, n int) []user {
	b.Helper()
	officer := sessionCookie(b, signIn(b, g, "demo-officer", gateway.DemoPassword, code(b)))
	token := csrfOf(b, readAll(b, do(b, "GET", g.url+"/attestations", nil, map[string]string{"Cookie": officer})))
	hdr := map[string]string{"Cookie": officer, "Content-Type": "application/json", "X-CSRF-Token": token}
	if resp := do(b, "POST", g.url+"/gateway/v1/clinics/"+gateway.DemoClinic+"/entities", strings.NewReader(`{"entity":"tin:111111111"}`), hdr); resp.StatusCode != http.StatusCreated {
		b.Fatalf("clinic entity: %d", resp.StatusCode)
	}
	pages := map[string]string{
		"officer":      "/compliance?program=mips-pi&year=2025&entity=tin:111111111",
		"clinic_admin": "/engagement?from=2025-01-01&to=2025-12-31",
		"auditor":      "/attestations",
	}
	kinds := []string{"officer", "clinic_admin", "auditor"}
	users := make([]user, n)
	errc := make(chan error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4) // argon2id is memory-hard: a few at a time
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			kind := kinds[i%len(kinds)]
			body := fmt.Sprintf(`{"username":"bench-%d","kind":%q,"password":"bench-password-%d"`, i, kind, i)
			if kind == "clinic_admin" {
				body += `,"clinics":["` + gateway.DemoClinic + `"]`
			}
			req, _ := http.NewRequest("POST", g.url+"/gateway/v1/accounts", strings.NewReader(body+"}"))
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				errc <- err
				return
			}
			var created struct {
				TOTPURL string `json:"totp_url"`
			}
			err = json.NewDecoder(resp.Body).Decode(&created)
			resp.Body.Close()
			u, perr := url.Parse(created.TOTPURL)
			if err != nil || perr != nil || resp.StatusCode != http.StatusCreated {
				errc <- fmt.Errorf("create %d: %d %v %v", i, resp.StatusCode, err, perr)
				return
			}
			c, _ := totp.GenerateCodeCustom(u.Query().Get("secret"), time.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
			from := &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(1+i/20))}
			signer := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: from}).DialContext},
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			form := url.Values{"username": {fmt.Sprintf("bench-%d", i)}, "password": {fmt.Sprintf("bench-password-%d", i)}, "code": {c}}
			resp, err = signer.Post(g.url+"/signin", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
			if err != nil {
				errc <- err
				return
			}
			resp.Body.Close()
			for _, ck := range resp.Cookies() {
				if ck.Name == "attest_session" && ck.Value != "" {
					users[i] = user{cookie: ck.Name + "=" + ck.Value, page: pages[kind]}
				}
			}
			signer.CloseIdleConnections()
			if users[i].cookie == "" {
				errc <- fmt.Errorf("sign-in %d (%s): %d", i, kind, resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		b.Fatal(err)
	}
	return users
}

// quantile returns the q-quantile of the durations (sorted in place).
func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(q*float64(len(d))))]
}

// BenchmarkConsole measures the console's pages as rendered by the gateway (session,
// policy, audit, the services' reads in process, the template): one user at a time
// per page, then 200 signed-in users at once. The services answer demo-sized data
// instantly, so the numbers are the gateway's own cost.
//
//	go test -run '^$' -bench BenchmarkConsole -benchtime 400x ./services/gateway
func BenchmarkConsole(b *testing.B) {
	db := storetest.Open(b, store.SQLite, gateway.Name)
	g := startWith(b, db, map[string]string{"GATEWAY_SESSION_IDLE": "1h"}, &[]string{}, demoServices())
	users := benchUsers(b, g, 200)
	officer := users[0] // users[0] is an officer
	pages := map[string]string{
		"compliance":  "/compliance?program=mips-pi&year=2025&entity=tin:111111111",
		"spark":       "/panels/spark?program=mips-pi&year=2025&entity=tin:111111111&measure=PI_PEA_1",
		"members":     "/members?program=mips-pi&year=2025&entity=tin:111111111&measure=PI_PEA_1",
		"engagement":  "/engagement?from=2025-01-01&to=2025-12-31",
		"attestation": "/attestations",
		"audit":       "/audit",
	}
	names := []string{"compliance", "spark", "members", "engagement", "attestation", "audit"}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u user, path string) (time.Duration, error) {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", g.url+path, nil)
		req.Header.Set("Cookie", u.cookie)
		t0 := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		err = drain(resp)
		d := time.Since(t0)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s: %d", path, resp.StatusCode)
		}
		return d, err
	}
	for _, name := range names {
		b.Run("page="+name, func(b *testing.B) {
			var ds []time.Duration
			for b.Loop() {
				d, err := get(officer, pages[name])
				if err != nil {
					b.Fatal(err)
				}
				ds = append(ds, d)
			}
			b.ReportMetric(float64(quantile(ds, 0.5).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(quantile(ds, 0.99).Microseconds())/1000, "p99-ms")
		})
	}
	b.Run("users=200", func(b *testing.B) {
		// Each iteration: every user opens their main page at the same time.
		var mu sync.Mutex
		var ds []time.Duration
		var failures []error
		for b.Loop() {
			var wg sync.WaitGroup
			for _, u := range users {
				wg.Add(1)
				go func() {
					defer wg.Done()
					d, err := get(u, u.page)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						failures = append(failures, err)
					}
					ds = append(ds, d)
				}()
			}
			wg.Wait()
		}
		if len(failures) > 0 {
			b.Fatalf("%d of %d requests failed, first: %v", len(failures), len(ds), failures[0])
		}
		b.ReportMetric(float64(quantile(ds, 0.5).Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(quantile(ds, 0.99).Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(len(ds))/b.Elapsed().Seconds(), "req/s")
	})
}

// drain reads and closes a response body, so the connection is reused.
func drain(resp *http.Response) error {
	defer resp.Body.Close()
	_, err := io.Copy(io.Discard, resp.Body)
	return err
}
