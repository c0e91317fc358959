package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/services/metrics"
	"github.com/attest-ehr/attest/services/metrics/internal/numbers"
	"github.com/attest-ehr/attest/services/metrics/internal/projection/projectiontest"
)

// scalePatients is BenchmarkScale's size: METRICS_SCALE_PATIENTS, or 0 to skip it.
func scalePatients(b *testing.B) int {
	s := os.Getenv("METRICS_SCALE_PATIENTS")
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 2000 {
		b.Fatalf("METRICS_SCALE_PATIENTS=%q: want a number of patients, at least 2,000", s)
	}
	return n
}

// peakRSS is the process's peak resident memory (VmHWM), in bytes.
func peakRSS(b *testing.B) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb * 1024
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// BenchmarkScale is a year of METRICS_SCALE_PATIENTS patients (20 events each; the
// issue's tier is 1,000,000: make bench-1m) in groups of two clinicians with 2,000
// patients each, applied by the service's consumers (App.Apply) in batches of 500 events as
// they come off the broker (without the broker: BenchmarkBrokerConsume bounds that
// side), the outbox emptied as the relay would. Then it counts PI_PEA_1 over 90 days
// for one clinician and one group, warm (facts in memory) and cold. It reports the
// apply rate, the process's peak resident memory, the database's size and the query
// times. Skipped without METRICS_SCALE_PATIENTS.
func BenchmarkScale(b *testing.B) {
	patients := scalePatients(b)
	if patients == 0 {
		b.Skip("METRICS_SCALE_PATIENTS not set (make bench-1m)")
	}
	ctx := context.Background()
	dir := b.TempDir()
	db, err := store.Open(ctx, store.Config{URL: "sqlite:" + filepath.Join(dir, "metrics.db"), Service: "metrics"})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	a, err := metrics.New(ctx, metrics.Config{}, metrics.Deps{Log: slog.New(slog.DiscardHandler), DB: db})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	clinic := func(g int) projectiontest.Clinic {
		return projectiontest.Clinic{NPIs: [2]string{fmt.Sprintf("1%09d", 2*g), fmt.Sprintf("1%09d", 2*g+1)}, TIN: fmt.Sprintf("9%08d", g)}
	}
	b.ResetTimer()
	cpu := startCPU()
	start := time.Now()
	events, batch := 0, make([]event.Event, 0, 1000)
	for i := range patients {
		batch = append(batch, projectiontest.YearAt(fmt.Sprintf("s%07d", i), i, 2025, clinic(i/4000))...)
		if len(batch) >= 500 || i == patients-1 {
			if err := a.Apply(ctx, batch...); err != nil {
				b.Fatal(err)
			}
			events += len(batch)
			batch = batch[:0]
		}
		if (i+1)%5000 == 0 || i == patients-1 {
			if _, err := db.ExecContext(ctx, `DELETE FROM outbox`); err != nil { // what the relay does once published
				b.Fatal(err)
			}
		}
		if (i+1)%100_000 == 0 {
			b.Logf("%d patients, %d events, %.0f events/s, peak RSS %d MiB", i+1, events,
				float64(events)/time.Since(start).Seconds(), peakRSS(b)>>20)
		}
	}
	applied := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(events)/applied.Seconds(), "events/s")
	cpu.report(b, events)
	b.ReportMetric(float64(peakRSS(b))/(1<<20), "peak-RSS-MiB")
	var size int64
	matches, _ := filepath.Glob(filepath.Join(dir, "metrics.db*"))
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil {
			size += fi.Size()
		}
	}
	b.ReportMetric(float64(size)/(1<<20), "db-MiB")

	c, err := measure.New()
	if err != nil {
		b.Fatal(err)
	}
	cal := calendar.New(nil)
	mid := clinic(patients / 4000 / 2)
	for _, e := range []contract.Entity{{Kind: contract.EntityTINNPI, ID: mid.TIN + "/" + mid.NPIs[0]}, {Kind: contract.EntityTIN, ID: mid.TIN}} {
		q := numbers.Query{Entity: e, Program: measure.MIPS, Year: 2025, Measure: "PI_PEA_1",
			Period: measure.Period{Year: 2025, First: time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC), Last: time.Date(2025, 6, 29, 0, 0, 0, 0, time.UTC)}}
		for _, warm := range []bool{false, true} {
			size, name := 0, "cold"
			if warm {
				size, name = numbers.DefaultCacheFacts, "warm"
			}
			r := numbers.NewReader(db, c, cal, size)
			if _, _, err := r.Count(ctx, q); err != nil {
				b.Fatal(err)
			}
			const runs = 20
			t0, c0 := time.Now(), cpuTime()
			var n numbers.Numbers
			for range runs {
				if n, _, err = r.Count(ctx, q); err != nil || n.Denominator == 0 {
					b.Fatalf("%+v, %v", n, err)
				}
			}
			b.ReportMetric(float64(time.Since(t0).Microseconds())/runs/1000, e.Kind+"-"+name+"-ms")
			b.ReportMetric(float64((cpuTime()-c0).Microseconds())/runs/1000, e.Kind+"-"+name+"-cpu-ms")
		}
	}
	b.ReportMetric(float64(peakRSS(b))/(1<<20), "peak-RSS-after-queries-MiB")
}
