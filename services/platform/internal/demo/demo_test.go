package demo_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/attest-ehr/attest/services/gateway"
	"github.com/attest-ehr/attest/services/platform"
	"github.com/attest-ehr/attest/services/platform/internal/demo"
	"github.com/attest-ehr/attest/services/platform/internal/generate"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestLoadGoesThroughThePipeline loads a small health system into a fresh platform
// and checks that every generated line was created (none refused, none skipped), that
// the measures computed from it are not empty, and that a finished load is marked.
func TestLoadGoesThroughThePipeline(t *testing.T) {
	base := startPlatform(t)
	dir := filepath.Join(t.TempDir(), "demo")
	if demo.Loaded(dir) {
		t.Fatal("Loaded before any load")
	}
	s, err := demo.Load(context.Background(), demo.Config{URL: base, Token: gateway.DemoServiceToken,
		Seed: 7, Patients: 60, Year: 2025, Dir: dir, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if s.Generated == 0 || s.Imported != s.Generated || s.Unchanged != 0 {
		t.Fatalf("generated %d lines, imported %d, unchanged %d: want every line created once", s.Generated, s.Imported, s.Unchanged)
	}
	if !demo.Loaded(dir) {
		t.Fatal("a finished load is not marked")
	}

	// The measures are computed from the imported facts by the real pipeline:
	// some group's patients enter PI_PEA_1's denominator.
	tins := groupTINs(t, dir)
	deadline := time.Now().Add(60 * time.Second)
	for {
		for _, tin := range tins {
			url := fmt.Sprintf("%s/metrics/v1/numbers?entity=tin:%s&program=mips-pi&year=2025&measure=PI_PEA_1&as_of=final", base, tin)
			if d := denominator(t, url); d > 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no group of %d has a PI_PEA_1 denominator a minute after the load", len(tins))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func groupTINs(t testing.TB, dir string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, generate.FileName("groups")))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var tins []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var g struct {
			TIN string `json:"tin"`
		}
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		tins = append(tins, g.TIN)
	}
	return tins
}

func denominator(t *testing.T, url string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+gateway.DemoServiceToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", url, resp.Status, raw)
	}
	var n struct {
		Denominator int `json:"denominator"`
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		t.Fatal(err)
	}
	return n.Denominator
}

// startPlatform runs the whole platform with embedded defaults on a free port.
func startPlatform(t *testing.T) string {
	t.Helper()
	env := map[string]string{"ATTEST_DATA_DIR": t.TempDir(), "ATTEST_HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn",
		"GATEWAY_DEMO": "true"}
	p, err := platform.Start(context.Background(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return p.URL
}
