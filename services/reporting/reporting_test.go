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
	"github.com/attest-ehr/attest/services/reporting/internal/report/reporttest"
)

// TestMain checks that no pool or driver goroutine outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestServiceServesSeenCountsAndAttestations wires the service on both engines: one
// migration source for every package, the existing count API, and a freeze of a
// report above the default body limit, exported and verified offline.
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

		body, err := json.Marshal(reporttest.Report(t, true)) // some 4,800 members: over 1 MiB
		if err != nil {
			t.Fatal(err)
		}
		if len(body) <= 1<<20 {
			t.Fatalf("the test body is %d bytes; it must exceed the default limit", len(body))
		}
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
		// Other routes keep the default limit.
		big := httptest.NewRequest("GET", "/v1/patients-seen?entity=npi:1234567893&from=2025-01-01&to=2025-12-31", bytes.NewReader(body))
		big.ContentLength = int64(len(body))
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
