package bulk_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/broker"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/records/internal/bulk"
)

// benchPatients is the size of the synthetic year: 2,000 patients, 22,004 resources.
const benchPatients = 2000

// BenchmarkImport is a Bulk NDJSON import of a synthetic year (the directory, then
// patients, office visits, prescriptions, laboratory orders and results, grouped by
// type as an export writes them) in embedded mode: the upload, decoding, the writes
// with their events, and the outbox relay publishing every event to the embedded
// broker (with its data directory, fsynced) over TCP. An operation ends when the job
// has completed and the outbox is empty. Reported: resources/s by the wall clock, and
// the process's CPU per resource (what other load on the machine does not inflate).
func BenchmarkImport(b *testing.B) {
	fhirBody, fhirN := fhirYear(b, benchPatients)
	jsonBody, jsonN := jsonYear(benchPatients)
	for _, f := range []struct {
		name, path, ctype string
		body              []byte
		n                 int
	}{
		{"fhir", "/fhir/$import", "application/fhir+ndjson", fhirBody, fhirN},
		{"json", "/v1/import", "application/x-ndjson", jsonBody, jsonN},
	} {
		for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
			b.Run(f.name+"/"+string(d), func(b *testing.B) {
				brk, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", DataDir: b.TempDir()})
				if err != nil {
					b.Fatal(err)
				}
				defer brk.Close()
				w := event.NewWriter(event.Config{Brokers: brk.Addrs()})
				defer w.Close()
				var busy, cpu time.Duration
				for b.Loop() {
					b.StopTimer()
					db := storetest.Open(b, d, storetest.Service)
					relay := outbox.NewRelay(db, w, outbox.RelayConfig{})
					e := newEnvNotify(b, db, bulk.Config{}, relay.Notify)
					ctx, cancel := context.WithCancel(context.Background())
					relayDone := make(chan error, 1)
					go func() { relayDone <- relay.Run(ctx) }()
					e.codec.Warm(ctx) // as records.App.Run does: the R4 schema is compiled once per process
					b.StartTimer()
					start, cpu0 := time.Now(), processCPU()
					status := e.upload(f.path, f.ctype, f.body)
					uploaded := time.Since(start)
					if err := e.im.Drain(ctx); err != nil {
						b.Fatal(err)
					}
					written := time.Since(start)
					for {
						n, err := outbox.Pending(ctx, db)
						if err != nil {
							b.Fatal(err)
						}
						if n == 0 {
							break
						}
						time.Sleep(5 * time.Millisecond)
					}
					busy += time.Since(start)
					b.Logf("uploaded in %v, written in %v, published in %v", uploaded, written, time.Since(start))
					cpu += processCPU() - cpu0
					b.StopTimer()
					cancel()
					<-relayDone
					if rec := e.do(http.MethodGet, status, "", nil); rec.Code != http.StatusOK {
						b.Fatalf("status: %d", rec.Code)
					}
					if s := e.finished(status); len(s.Error) > 0 {
						b.Fatalf("refused lines: %+v", s.Error)
					}
					b.StartTimer()
				}
				total := float64(b.N * f.n)
				b.ReportMetric(total/busy.Seconds(), "resources/s")
				b.ReportMetric(float64(cpu.Microseconds())/total, "cpu-µs/resource")
			})
		}
	}
}
