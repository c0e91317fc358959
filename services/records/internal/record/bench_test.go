package record_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/records/internal/record"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// benchAPI is the record on a fresh database of dialect d with the test fixture.
func benchAPI(b *testing.B, d store.Dialect) (*api, fixture) {
	b.Helper()
	db := storetest.Open(b, d, storetest.Service)
	if err := db.Migrate(context.Background(), record.Migrations()); err != nil {
		b.Fatal(err)
	}
	svc := record.NewService(db, func() {}, record.Config{})
	mux := http.NewServeMux()
	svc.Routes(resource.NewMux(mux, slog.New(slog.DiscardHandler)))
	t := &testing.T{} // the fixture's helpers report through a T; failures are checked below
	a := &api{t: t, db: db, svc: svc, h: mux}
	f := a.setUp()
	if t.Failed() {
		b.Fatal("fixture failed")
	}
	return a, f
}

func send(b *testing.B, h http.Handler, method, path string, body []byte, key string) int {
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if key != "" {
		r.Header.Set("Idempotency-Key", key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Code
}

// BenchmarkCreate is one POST /v1/problems end to end: decode, validate, resolve the
// patient and encounter, insert, add the event to the outbox, commit.
func BenchmarkCreate(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			a, f := benchAPI(b, d)
			body, _ := json.Marshal(map[string]any{"patient_id": f.patient, "code": code(contract.SystemICD10CM, "E11.9"),
				"status": "active", "recorded": day("04", "14:40"), "encounter_id": f.encounter, "npi": npi1})
			b.ReportAllocs()
			for b.Loop() {
				if c := send(b, a.h, http.MethodPost, "/v1/problems", body, ""); c != http.StatusCreated {
					b.Fatalf("POST: %d", c)
				}
			}
		})
	}
}

// BenchmarkCreateParallel is BenchmarkCreate from GOMAXPROCS clients at once: what the
// database's write path sustains.
func BenchmarkCreateParallel(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			a, f := benchAPI(b, d)
			body, _ := json.Marshal(map[string]any{"patient_id": f.patient, "code": code(contract.SystemICD10CM, "E11.9"),
				"status": "active", "recorded": day("04", "14:40"), "npi": npi1})
			b.ReportAllocs()
			b.ResetTimer() // the database and fixture above are not what is measured
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if c := send(b, a.h, http.MethodPost, "/v1/problems", body, ""); c != http.StatusCreated {
						b.Errorf("POST: %d", c)
						return
					}
				}
			})
		})
	}
}

// BenchmarkGet is one GET /v1/encounters/{id}.
func BenchmarkGet(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			a, f := benchAPI(b, d)
			b.ReportAllocs()
			for b.Loop() {
				if c := send(b, a.h, http.MethodGet, "/v1/encounters/"+f.encounter, nil, ""); c != http.StatusOK {
					b.Fatalf("GET: %d", c)
				}
			}
		})
	}
}

// BenchmarkIdempotentReplay is a retry answered from the stored Idempotency-Key.
func BenchmarkIdempotentReplay(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			a, f := benchAPI(b, d)
			body, _ := json.Marshal(map[string]any{"patient_id": f.patient, "code": code(contract.SystemICD10CM, "E11.9"),
				"status": "active", "recorded": day("04", "14:40")})
			if c := send(b, a.h, http.MethodPost, "/v1/problems", body, "bench-key"); c != http.StatusCreated {
				b.Fatalf("first POST: %d", c)
			}
			b.ReportAllocs()
			for b.Loop() {
				if c := send(b, a.h, http.MethodPost, "/v1/problems", body, "bench-key"); c != http.StatusCreated {
					b.Fatalf("replay: %d", c)
				}
			}
		})
	}
}

// BenchmarkPatientDeletion deletes a patient with 50 facts: 51 events in one transaction.
func BenchmarkPatientDeletion(b *testing.B) {
	a, _ := benchAPI(b, store.SQLite)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		body := patientBody(fmt.Sprintf("MRN-B%d", i))
		p := a.post("/v1/patients", body)["id"].(string)
		for j := range 50 {
			a.post("/v1/problems", map[string]any{"patient_id": p, "code": code(contract.SystemICD10CM, "E11.9"),
				"status": "active", "recorded": fmt.Sprintf("2025-03-04T14:%02d:00Z", j)})
		}
		b.StartTimer()
		if c := send(b, a.h, http.MethodDelete, "/v1/patients/"+p, nil, ""); c != http.StatusNoContent {
			b.Fatalf("DELETE: %d", c)
		}
	}
}

// BenchmarkSearchByDay is GET /v1/problems?patient_id=…&from=…&to=… for one month of a
// patient with 1,000 problems over a year (about 85 in the month, one page).
func BenchmarkSearchByDay(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			a, f := benchAPI(b, d)
			ctx := context.Background()
			start, step := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC), 365*24*time.Hour/1000
			_, err := a.svc.Store().Write(ctx, func(tx *resource.Tx) (resource.Reply, error) {
				for i := range 1000 {
					_, _, err := a.svc.Problems.Insert(ctx, tx, record.Problem{PatientID: f.patient,
						Code: contract.Code{System: contract.SystemICD10CM, Code: "E11.9"}, Status: "active",
						Recorded: start.Add(time.Duration(i) * step)})
					if err != nil {
						return resource.Reply{}, err
					}
				}
				return resource.Reply{}, nil
			})
			if err != nil {
				b.Fatal(err)
			}
			path := "/v1/problems?patient_id=" + f.patient + "&from=2025-06-01&to=2025-06-30"
			if r := a.do(http.MethodGet, path, nil); r.code != http.StatusOK || len(r.body["items"].([]any)) < 80 {
				b.Fatalf("GET: %d, %d items", r.code, len(r.body["items"].([]any)))
			}
			b.ReportAllocs()
			for b.Loop() {
				if c := send(b, a.h, http.MethodGet, path, nil, ""); c != http.StatusOK {
					b.Fatalf("GET: %d", c)
				}
			}
		})
	}
}
