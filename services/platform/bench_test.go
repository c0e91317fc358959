package platform_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
)

// BenchmarkFreshness measures, through the whole platform in embedded mode, the time
// from an encounter accepted by records (201) to reporting's count changing: outbox,
// relay, broker, metrics (derive, outbox, relay), broker, reporting. It reports the
// median and the 99th percentile over the iterations.
func BenchmarkFreshness(b *testing.B) {
	p := start(b, b.TempDir())
	defer p.stop()
	waitReady(b, p.base)
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		code, pt := call(b, http.MethodPost, p.base+"/records/v1/patients", map[string]any{
			"mrn":  map[string]string{"system": "urn:oid:2.16.840.1.113883.19.5", "value": fmt.Sprint("B-", i)},
			"name": map[string]any{"given": []string{"Ann"}, "family": "Example"}, "birth_date": "1970-01-02", "sex": "female",
		})
		if code != http.StatusCreated {
			b.Fatalf("register patient: %d", code)
		}
		begin := time.Now()
		code, _ = call(b, http.MethodPost, p.base+"/records/v1/encounters", map[string]any{
			"patient_id": pt["id"], "class": "office", "start": "2025-06-01T14:30:00Z", "rendering_npi": npi,
		})
		if code != http.StatusCreated {
			b.Fatalf("record encounter: %d", code)
		}
		for seenCount(b, p.base+"/reporting") != i {
			time.Sleep(time.Millisecond)
		}
		lat = append(lat, time.Since(begin))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
