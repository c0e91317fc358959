package fhir_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
)

// benchEnv is the FHIR API on a fresh database of dialect d with the directory and a
// patient's encounter stored.
func benchEnv(b *testing.B, d store.Dialect) *env {
	b.Helper()
	db := storetest.Open(b, d, storetest.Service)
	e := newEnv(b, db)
	e.setUp()
	return e
}

// benchCondition is a problem-list entry of pat-1 recorded in enc-1: decoded, checked
// against the R4 schema, mapped, validated (ICD-10-CM, NPI), patient and encounter
// resolved, stored with its event.
const benchCondition = `{"resourceType":"Condition","subject":{"reference":"Patient/pat-1"},
	"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"E11.9"}]},
	"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
	"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"problem-list-item"}]}],
	"recordedDate":"2025-03-04T14:40:00Z","encounter":{"reference":"Encounter/enc-1"},
	"recorder":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}}}`

// BenchmarkCreate is one POST /fhir/Condition in process (no network), one client.
func BenchmarkCreate(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			e := benchEnv(b, d)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/fhir/Condition", strings.NewReader(benchCondition))
				r.Header.Set("Content-Type", "application/fhir+json")
				w := httptest.NewRecorder()
				e.h.ServeHTTP(w, r)
				if w.Code != http.StatusCreated {
					b.Fatalf("POST: %d %s", w.Code, w.Body)
				}
			}
		})
	}
}

// BenchmarkCreateAt200 sends b.N single creates (POST /fhir/Condition) over loopback
// TCP at a fixed 200 requests/s, each on its own schedule whatever the others'
// latency (an open loop, so that a slow answer does not hide the queue behind it),
// and reports the latency percentiles. Run it with -benchtime=2000x (10 s).
func BenchmarkCreateAt200(b *testing.B) {
	const rate = 200
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			e := benchEnv(b, d)
			srv := httptest.NewServer(httpapi.LimitBody(httpapi.DefaultBodyLimit, e.h))
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			defer client.CloseIdleConnections()
			n := b.N
			lat := make([]time.Duration, n)
			failed := make([]string, 0)
			var mu sync.Mutex
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for i := range n {
				time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / rate)))
				wg.Add(1)
				go func() {
					defer wg.Done()
					t0 := time.Now()
					req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/fhir/Condition",
						strings.NewReader(benchCondition))
					req.Header.Set("Content-Type", "application/fhir+json")
					resp, err := client.Do(req)
					lat[i] = time.Since(t0)
					if err != nil || resp.StatusCode != http.StatusCreated {
						mu.Lock()
						failed = append(failed, fmt.Sprint(err, resp))
						mu.Unlock()
					}
					if resp != nil {
						resp.Body.Close()
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			if len(failed) > 0 {
				b.Fatalf("%d requests failed, e.g. %s", len(failed), failed[0])
			}
			slices.Sort(lat)
			pct := func(p float64) float64 { return float64(lat[int(p*float64(n-1))].Microseconds()) / 1000 }
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(lat[n-1].Microseconds())/1000, "max-ms")
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "req/s")
		})
	}
}
