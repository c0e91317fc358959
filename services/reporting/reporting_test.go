package reporting_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/reporting"
)

// TestMain checks that no pool or driver goroutine outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestServiceServesSeenCountsAndAttestations wires the service on both engines: one
// migration source for every package, the existing count API, and a freeze of a
// report the service computes, exported and verified offline.
func TestServiceServesSeenCountsAndAttestations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		dir := t.TempDir()
		cfg, err := reporting.ConfigFromEnv(func(k string) string { return map[string]string{"ATTEST_DATA_DIR": dir}[k] })
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		app, err := reporting.New(ctx, cfg, reporting.Deps{Log: slog.New(slog.NewJSONHandler(&logs, nil)), DB: db})
		if err != nil {
			t.Fatal(err)
		}
		defer app.Close()
		if !strings.Contains(logs.String(), "first freeze will generate a development key") {
			t.Errorf("the dev key is not announced: %s", logs.String())
		}
		keyFile := filepath.Join(dir, "reporting-signing-key")
		if _, err := os.Stat(keyFile); err == nil {
			t.Error("a dev key was written before any freeze")
		}
		h := app.Handler()

		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/patients-seen?entity=npi:1234567893&from=2025-01-01&to=2025-12-31", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("patients-seen: %d %s", rec.Code, rec.Body)
		}

		// A freeze names the report; the service computes it from its own facts.
		body := []byte(`{"program":"mips-pi","year":2025,"entity":"tin_npi:000456789/1234567893","from":"2025-01-01","to":"2025-12-31"}`)
		req := httptest.NewRequest("POST", "/v1/attestations", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(principal.Header, "officer:u-17")
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			t.Fatalf("freeze: %d %.300s", rec.Code, rec.Body)
		}
		if _, err := os.Stat(keyFile); err != nil || !strings.Contains(logs.String(), "generated a development signing key") {
			t.Errorf("the first freeze made no announced dev key: %v", err)
		}
		var sum struct{ ID string }
		if err := json.Unmarshal(rec.Body.Bytes(), &sum); err != nil {
			t.Fatal(err)
		}
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/attestations/"+sum.ID+"/export?format=json", nil))
		v, err := reporting.VerifyAttestation(rec.Body.Bytes(), "")
		if err != nil || !v.OK() {
			t.Fatalf("exported attestation: %v %v", err, v.Err())
		}
		// Every route keeps the default body limit.
		large := bytes.Repeat([]byte(" "), 2<<20)
		big := httptest.NewRequest("POST", "/v1/attestations", bytes.NewReader(large))
		big.ContentLength = int64(len(large))
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, big)
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("a large body on another route: %d", rec.Code)
		}
	})
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		ok   bool
	}{
		{"defaults", map[string]string{}, true},
		{"seed and trusted keys", map[string]string{"REPORTING_SIGNING_KEY": "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
			"REPORTING_TRUSTED_KEYS": "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=,AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM="}, true},
		{"short seed", map[string]string{"REPORTING_SIGNING_KEY": "c2VjcmV0"}, false},
		{"bad trusted key", map[string]string{"REPORTING_TRUSTED_KEYS": "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=,nope"}, false},
		{"zone and cache", map[string]string{"METRICS_TIME_ZONE": "America/Chicago", "REPORTING_CACHE_FACTS": "1000"}, true},
		{"bad zone", map[string]string{"METRICS_TIME_ZONE": "Mars/Olympus"}, false},
		{"bad cache size", map[string]string{"REPORTING_CACHE_FACTS": "-1"}, false},
	}
	for _, tt := range tests {
		cfg, err := reporting.ConfigFromEnv(func(k string) string { return tt.env[k] })
		switch {
		case tt.ok && (err != nil || cfg.DataDir != "data"):
			t.Errorf("%s: %+v, %v", tt.name, cfg, err)
		case !tt.ok && (err == nil || strings.Contains(err.Error(), "c2VjcmV0")):
			t.Errorf("%s: err %v: want an error that does not repeat the value", tt.name, err)
		}
	}
}

// TestFreezeRefusesBadRequests checks the freeze, recompute and diff routes' refusals
// on both engines: who froze it is required, the body is strict, every report
// parameter is checked and named, and nothing is stored by a refused freeze.
func TestFreezeRefusesBadRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		cfg, err := reporting.ConfigFromEnv(func(k string) string { return map[string]string{"ATTEST_DATA_DIR": t.TempDir()}[k] })
		if err != nil {
			t.Fatal(err)
		}
		app, err := reporting.New(ctx, cfg, reporting.Deps{Log: slog.New(slog.DiscardHandler), DB: db})
		if err != nil {
			t.Fatal(err)
		}
		defer app.Close()
		h := app.Handler()
		good := `{"program":"mips-pi","year":2025,"entity":"npi:1234567893","from":"2025-01-01","to":"2025-12-31"}`
		tests := []struct {
			name, method, target, body, who string
			status                          int
			field                           string
		}{
			{"no principal", "POST", "/v1/attestations", good, "", 401, ""},
			{"bad principal", "POST", "/v1/attestations", good, "nobody", 401, principal.Header},
			{"not JSON", "POST", "/v1/attestations", "{", "officer:u-17", 400, ""},
			{"unknown field", "POST", "/v1/attestations", `{"program":"mips-pi","surprise":1}`, "officer:u-17", 400, "surprise"},
			{"bad entity", "POST", "/v1/attestations", strings.Replace(good, "1234567893", "1234567890", 1), "officer:u-17", 400, "entity"},
			{"no period", "POST", "/v1/attestations", `{"program":"mips-pi","year":2025,"entity":"npi:1234567893"}`, "officer:u-17", 400, "from"},
			{"bad program", "POST", "/v1/attestations", strings.Replace(good, "mips-pi", "mips", 1), "officer:u-17", 400, "program"},
			{"unknown id recompute", "GET", "/v1/attestations/nope/recompute", "", "officer:u-17", 404, "id"},
			{"unknown id diff", "GET", "/v1/attestations/nope/diff", "", "officer:u-17", 404, "id"},
		}
		for _, tt := range tests {
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			if tt.who != "" {
				req.Header.Set(principal.Header, tt.who)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status || (tt.field != "" && !strings.Contains(rec.Body.String(), `"field":"`+tt.field+`"`)) {
				t.Errorf("%s: %d %s, want %d naming %q", tt.name, rec.Code, rec.Body, tt.status, tt.field)
			}
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM attestations`).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d attestations stored by refused requests (%v)", n, err)
		}
	})
}
