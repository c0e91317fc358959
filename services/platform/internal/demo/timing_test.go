package demo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/attest-ehr/attest/services/gateway"
	"github.com/attest-ehr/attest/services/platform"
	"github.com/attest-ehr/attest/services/platform/internal/demo"
	"github.com/attest-ehr/attest/services/platform/internal/generate"
)

// BenchmarkTimeToReports measures what `make run` promises: from the platform's start
// with an empty data directory (embedded defaults: SQLite, in-process broker) to the
// demo health system generated and imported through the public API, the pipeline
// caught up, and a group's report in reporting non-empty. DEMO_BENCH_PATIENTS sets the
// size (make bench-demo: 20,000, the demo's; unset, it is skipped); DEMO_BENCH_BY_KIND=1 imports kind by kind (the
// former order) instead of one import with each chunk of patients' facts together.
// Run it once:
//
//	make bench-demo
func BenchmarkTimeToReports(b *testing.B) {
	v := os.Getenv("DEMO_BENCH_PATIENTS")
	if v == "" {
		b.Skip("minutes long: set DEMO_BENCH_PATIENTS (make bench-demo sets 20000)")
	}
	patients, err := strconv.Atoi(v)
	if err != nil || patients < 1 {
		b.Fatalf("DEMO_BENCH_PATIENTS: want a positive number, got %q", v)
	}
	for b.Loop() {
		timeToReports(b, patients)
	}
}

func timeToReports(b *testing.B, patients int) {
	ctx := context.Background()
	data := b.TempDir()
	env := map[string]string{"ATTEST_DATA_DIR": data, "ATTEST_HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "error",
		"GATEWAY_DEMO": "true"}
	start, cpu0 := time.Now(), cpuTime()
	p, err := platform.Start(ctx, func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := p.Stop(context.WithoutCancel(ctx)); err != nil {
			b.Errorf("Stop: %v", err)
		}
	}()
	serving := time.Since(start)
	year := time.Now().Year() - 1
	dir := filepath.Join(data, "demo")
	// What someone opening the console sees first: the first moment a group's report
	// is non-empty, while the load goes on.
	firstReport, stop := make(chan time.Duration, 1), make(chan struct{})
	go func() {
		defer close(firstReport)
		for {
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
			}
			tins, err := readTINs(dir)
			if err != nil || len(tins) == 0 {
				continue
			}
			if ok, err := nonEmpty(p.URL, tins[0], year); err == nil && ok {
				firstReport <- time.Since(start)
				return
			}
		}
	}()
	defer close(stop)
	s, err := demo.Load(ctx, demo.Config{URL: p.URL, Token: gateway.DemoServiceToken, Seed: 1, Patients: patients,
		Year: year, Dir: dir, Progress: os.Stderr, Timings: os.Stderr, ByKind: os.Getenv("DEMO_BENCH_BY_KIND") != ""})
	if err != nil {
		b.Fatal(err)
	}
	imported, cpuImported := time.Since(start), cpuTime()-cpu0
	for {
		ok, err := p.Settled(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if ok {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	settled, cpuSettled := time.Since(start), cpuTime()-cpu0
	tins, err := readTINs(dir)
	if err != nil || len(tins) == 0 {
		b.Fatalf("the generated groups: %v", err)
	}
	for {
		if reportNonEmpty(b, p.URL, tins[0], year) {
			break
		}
		if time.Since(start) > time.Hour {
			b.Fatal("no non-empty report an hour after the start")
		}
		time.Sleep(100 * time.Millisecond)
	}
	report, cpuReport := time.Since(start), cpuTime()-cpu0
	first := <-firstReport
	b.ReportMetric(serving.Seconds(), "s-serving")
	b.ReportMetric(imported.Seconds(), "s-imported")
	b.ReportMetric(settled.Seconds(), "s-settled")
	b.ReportMetric(report.Seconds(), "s-report")
	b.ReportMetric(cpuReport.Seconds(), "cpu-s-report")
	b.ReportMetric(first.Seconds(), "s-first-report")
	b.ReportMetric(float64(s.Imported+s.Unchanged), "resources")
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(os.Stderr, "time to reports, %d patients: serving %.1fs, first non-empty report %.1fs, imported %.1fs (CPU %.1fs; %d resources), "+
		"settled %.1fs (CPU %.1fs), report %.1fs (CPU %.1fs); load %s",
		patients, serving.Seconds(), first.Seconds(), imported.Seconds(), cpuImported.Seconds(), s.Imported+s.Unchanged,
		settled.Seconds(), cpuSettled.Seconds(), report.Seconds(), cpuReport.Seconds(), load)
}

// cpuTime is the CPU time this process (the whole platform and the loader) used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportNonEmpty reports whether reporting's MIPS PI report of group tin for the year
// counts anyone in PI_PEA_1's denominator: what an officer opening the console sees.
func reportNonEmpty(t testing.TB, base, tin string, year int) bool {
	t.Helper()
	ok, err := nonEmpty(base, tin, year)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func nonEmpty(base, tin string, year int) (bool, error) {
	url := fmt.Sprintf("%s/reporting/v1/reports?entity=tin:%s&program=mips-pi&year=%d&from=%d-01-01&to=%d-12-31&as_of=final",
		base, tin, year, year, year)
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+gateway.DemoServiceToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("GET %s: %s %s", url, resp.Status, raw)
	}
	var r struct {
		Measures []struct {
			ID          string `json:"id"`
			Denominator int    `json:"denominator"`
		} `json:"measures"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return false, err
	}
	for _, m := range r.Measures {
		if m.ID == "PI_PEA_1" && m.Denominator > 0 {
			return true, nil
		}
	}
	return false, nil
}

// readTINs reads the generated groups' TINs, none before the directory is written.
func readTINs(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, generate.FileName("groups")))
	if err != nil {
		return nil, err
	}
	var tins []string
	for line := range strings.Lines(string(b)) {
		var g struct {
			TIN string `json:"tin"`
		}
		if err := json.Unmarshal([]byte(line), &g); err != nil {
			return nil, err
		}
		tins = append(tins, g.TIN)
	}
	return tins, nil
}
