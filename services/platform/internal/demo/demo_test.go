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
	"strings"
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
	for found := false; !found; time.Sleep(200 * time.Millisecond) {
		for _, tin := range tins {
			url := fmt.Sprintf("%s/metrics/v1/numbers?entity=tin:%s&program=mips-pi&year=2025&measure=PI_PEA_1&as_of=final", base, tin)
			if d := denominator(t, url); d > 0 {
				found = true
				break
			}
		}
		if !found && time.Now().After(deadline) {
			t.Fatalf("no group of %d has a PI_PEA_1 denominator a minute after the load", len(tins))
		}
	}

	// The demo administrator administers the demo's first clinic: from records'
	// directory alone, their engagement page lists that clinic's clinicians, each at
	// that clinic.
	tin := clinicTIN(t, dir, gateway.DemoClinic)
	admin := signInDemo(t, base, "demo-admin")
	var rows []string
	for deadline := time.Now().Add(60 * time.Second); len(rows) == 0; time.Sleep(200 * time.Millisecond) {
		rows = clinicianRows(t, base+"/engagement?from=2025-01-01&to=2025-12-31", admin)
		if len(rows) == 0 && time.Now().After(deadline) {
			t.Fatal("the demo administrator's clinician table is empty a minute after the load")
		}
	}
	t.Logf("the demo administrator's clinician table: %d rows", len(rows))
	for _, r := range rows {
		// At the clinic's group (TIN), or at its messaging pool, named by the clinic itself.
		if !strings.HasSuffix(r, " tin:"+tin) && !strings.HasSuffix(r, " "+gateway.DemoClinic) {
			t.Errorf("clinician row %q is not at the demo clinic (tin:%s)", r, tin)
		}
	}
}

// clinicianRows reads the clinician table of the engagement page at u: "NPI clinic"
// for each row.
func clinicianRows(t *testing.T, u, cookie string) []string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	page := string(raw)
	i := strings.Index(page, "<caption>By clinician")
	if i < 0 {
		return nil
	}
	table := page[i:]
	table = table[:strings.Index(table, "</table>")]
	var rows []string
	for _, tr := range strings.Split(table, `<tr><th scope="row">`)[1:] {
		npi, rest, _ := strings.Cut(tr, "</th><td>")
		clinic, _, _ := strings.Cut(rest, "</td>")
		rows = append(rows, npi+" "+clinic)
	}
	return rows
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
		"GATEWAY_DEMO": "true", "GATEWAY_INSECURE_COOKIE": "true"}
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
