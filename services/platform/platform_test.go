package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/attest-ehr/attest/services/gateway"
	"github.com/attest-ehr/attest/services/platform"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// started is a platform serving on a free port.
type started struct {
	base string
	stop func() time.Duration // cancels, waits for the platform to stop, returns how long it took
}

func start(t testing.TB, dataDir string) started {
	t.Helper()
	// The demo accounts let the tests call the APIs through the gateway as a service account.
	env := map[string]string{"ATTEST_DATA_DIR": dataDir, "ATTEST_HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn", "GATEWAY_DEMO": "true"}
	getenv := func(k string) string { return env[k] }
	opts, err := platform.OptionsFromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p, err := platform.New(ctx, getenv, opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, func(a string) { addr <- a }) }()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("platform stopped before serving: %v", err)
	}
	stopped := false
	stop := func() time.Duration {
		if stopped {
			return 0
		}
		stopped = true
		begin := time.Now()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if err := p.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
		return time.Since(begin)
	}
	t.Cleanup(func() { stop() })
	return started{base: base, stop: stop}
}

func call(t testing.TB, method, url string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+gateway.DemoServiceToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func waitReady(t testing.TB, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Not listening yet is "not ready yet", not a failure.
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("%d %s", resp.StatusCode, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 30 s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const npi = "1234567893"

func seenCount(t testing.TB, reporting string) int {
	t.Helper()
	code, body := call(t, http.MethodGet, reporting+"/v1/patients-seen?entity=npi:"+npi+"&from=2025-01-01&to=2025-12-31", nil)
	if code != http.StatusOK {
		t.Fatalf("patients-seen answered %d %v", code, body)
	}
	return int(body["patients"].(float64))
}

// waitCount polls until the count is want, and returns how long it took. The bound is
// generous on purpose: this test proves the flow, docs/benchmarks.md measures latency.
func waitCount(t testing.TB, reporting string, want int) time.Duration {
	t.Helper()
	begin := time.Now()
	for seenCount(t, reporting) != want {
		if time.Since(begin) > 30*time.Second {
			t.Fatalf("count did not reach %d within 30 s (now %d)", want, seenCount(t, reporting))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(begin)
}

func admit(t testing.TB, records, mrn, day string) {
	t.Helper()
	code, p := call(t, http.MethodPost, records+"/v1/patients", map[string]any{
		"mrn":  map[string]string{"system": "urn:oid:2.16.840.1.113883.19.5", "value": mrn},
		"name": map[string]any{"given": []string{"Ann"}, "family": "Example"}, "birth_date": "1970-01-02", "sex": "female",
	})
	if code != http.StatusCreated {
		t.Fatalf("register patient: %d %v", code, p)
	}
	code, e := call(t, http.MethodPost, records+"/v1/encounters", map[string]any{
		"patient_id": p["id"], "class": "office", "start": day + "T14:30:00Z", "rendering_npi": npi, "billing_tin": "123456789",
	})
	if code != http.StatusCreated {
		t.Fatalf("record encounter: %d %v", code, e)
	}
}

// TestEndToEnd: a patient and an encounter posted to records make reporting's count for
// the NPI go from 0 to 1, through records' outbox, the broker, metrics and reporting;
// after a restart on the same data directory the count is still there and the
// pipeline carries on from where it stopped.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir)
	waitReady(t, p.base)
	if n := seenCount(t, p.base+"/reporting"); n != 0 {
		t.Fatalf("count before any encounter = %d", n)
	}
	admit(t, p.base+"/records", "MRN-1", "2025-03-04")
	t.Logf("encounter → reporting count changed in %v", waitCount(t, p.base+"/reporting", 1))

	// The console is for people: an anonymous browser is sent to sign in.
	resp, err := http.Get(p.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(strings.ToLower(string(page)), "sign in") {
		t.Errorf("console without a session: %d, want the sign-in page", resp.StatusCode)
	}
	if took := p.stop(); took > 10*time.Second {
		t.Errorf("shutdown took %v; SIGTERM must stop the platform within 10 s", took)
	}

	p = start(t, dir)
	waitReady(t, p.base)
	if n := seenCount(t, p.base+"/reporting"); n != 1 {
		t.Fatalf("count after restart = %d, want 1", n)
	}
	admit(t, p.base+"/records", "MRN-2", "2025-04-05")
	waitCount(t, p.base+"/reporting", 2)
	// Give any wrongly redelivered event time to be (wrongly) counted, then check again.
	time.Sleep(500 * time.Millisecond)
	if n := seenCount(t, p.base+"/reporting"); n != 2 {
		t.Fatalf("count settled at %d, want 2", n)
	}
}

func TestBadInputIsRefusedWithTheField(t *testing.T) {
	p := start(t, t.TempDir())
	waitReady(t, p.base)
	tests := []struct {
		path  string
		body  any
		code  int
		field string
	}{
		{"/records/v1/patients", map[string]any{"mrn": map[string]string{"system": "s", "value": "v"}}, 400, "name.family"},
		{"/records/v1/encounters", map[string]any{"patient_id": "nobody", "class": "office", "start": "2025-01-01T00:00:00Z",
			"rendering_npi": npi}, 422, "patient_id"},
		{"/records/v1/encounters", map[string]any{"patient_id": "p", "class": "office", "start": "yesterday"}, 400, "start"},
	}
	for _, tt := range tests {
		code, body := call(t, http.MethodPost, p.base+tt.path, tt.body)
		e, _ := body["error"].(map[string]any)
		if code != tt.code || e == nil || e["field"] != tt.field {
			t.Errorf("POST %s %v: %d %v, want %d naming %q", tt.path, tt.body, code, body, tt.code, tt.field)
		}
	}
	code, _ := call(t, http.MethodGet, p.base+"/records/v1/patients/unknown", nil)
	if code != http.StatusNotFound {
		t.Errorf("unknown patient: %d, want 404", code)
	}
	if code, _ := call(t, http.MethodGet, p.base+"/metrics", nil); code != http.StatusOK {
		t.Errorf("/metrics: %d", code)
	}
}
