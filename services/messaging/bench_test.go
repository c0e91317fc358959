package messaging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/broker"
	"github.com/attest-ehr/attest/libs/cache"
	"github.com/attest-ehr/attest/libs/cache/cachetest"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/patientdir"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/messaging"
	"github.com/attest-ehr/attest/services/messaging/internal/thread"
)

// bench is the service as the all-in-one runs it, served over loopback HTTP: its
// database, an in-process Redis, the embedded broker with the outbox relay publishing.
type bench struct {
	srv    *httptest.Server
	client *http.Client
	stop   func()
}

// setup is where a benchmark runs: the all-in-one's defaults (SQLite, an in-process
// Redis-protocol server), or production's engines (PostgreSQL, the machine's Redis).
type setup struct {
	name     string
	dialect  store.Dialect
	embedded bool // an in-process Redis; otherwise the machine's
}

var setups = []setup{{"embedded", store.SQLite, true}, {"postgres+redis", store.Postgres, false}}

func newBench(b *testing.B, s setup, patients int) *bench {
	b.Helper()
	ctx := context.Background()
	db := storetest.Open(b, s.dialect, "messaging")
	var rc *cache.Cache
	closeRedis := func() {}
	if s.embedded {
		redis, err := cache.Open(ctx, "")
		if err != nil {
			b.Fatal(err)
		}
		rc, closeRedis = redis.For("messaging"), func() { _ = redis.Close() }
	} else {
		rc = cachetest.New(b)
	}
	br, err := broker.Start(broker.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	deps := messaging.Deps{Log: slog.New(slog.DiscardHandler), DB: db, Cache: rc, Brokers: br.Addrs()}
	cfg, err := messaging.ConfigFromEnv(func(k string) string {
		return map[string]string{"MESSAGING_KEYS": "k1:" + key1}[k]
	})
	if err != nil {
		b.Fatal(err)
	}
	unlimited := thread.Rate{N: 1 << 30, Per: time.Minute} // the benchmark measures sending, not refusing
	cfg.PatientRate, cfg.CareTeamRate = unlimited, unlimited
	app, err := messaging.New(ctx, cfg, deps)
	if err != nil {
		b.Fatal(err)
	}
	dir := patientdir.New(db, "bench.patients", deps.Log)
	for i := range patients {
		id := fmt.Sprintf("pat-%d", i)
		ev, err := event.New(contract.PatientRegistered, "records", id, time.Now(), time.Now(), contract.Patient{PatientID: id})
		if err != nil {
			b.Fatal(err)
		}
		if err := dir.Handle(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { _ = app.Run(runCtx); close(ran) }()
	srv := httptest.NewServer(app.Handler())
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	bn := &bench{srv: srv, client: &http.Client{Transport: tr}}
	bn.stop = func() {
		srv.Close()
		tr.CloseIdleConnections()
		cancel()
		<-ran
		_ = app.Close()
		_ = br.Close()
		closeRedis()
	}
	b.Cleanup(bn.stop)
	return bn
}

// post sends a JSON request as p and returns the status and body.
func (bn *bench) call(b *testing.B, p principal.Principal, method, path string, body any) (int, []byte) {
	var r io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			b.Error(err)
			return 0, nil
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, bn.srv.URL+path, r)
	if err != nil {
		b.Error(err)
		return 0, nil
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(principal.Header, p.String())
	resp, err := bn.client.Do(req)
	if err != nil {
		b.Error(err)
		return 0, nil
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func patientN(i int) principal.Principal {
	return principal.Principal{Kind: principal.Patient, ID: fmt.Sprintf("pat-%d", i)}
}

// startThreads starts one pool thread per patient and returns their IDs.
func (bn *bench) startThreads(b *testing.B, patients int) []string {
	ids := make([]string, patients)
	for i := range patients {
		code, body := bn.call(b, patientN(i), "POST", "/v1/threads", map[string]any{"kind": "pool", "clinic_id": "east",
			"subject": "Benchmark", "message": map[string]any{"kind": "general", "body": "first"}})
		if code != http.StatusCreated {
			b.Fatalf("start thread = %d %s", code, body)
		}
		var st struct{ Thread struct{ ID string } }
		if err := json.Unmarshal(body, &st); err != nil {
			b.Fatal(err)
		}
		ids[i] = st.Thread.ID
	}
	return ids
}

// report adds latency percentiles, in milliseconds, to the benchmark's output.
func report(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/float64(time.Millisecond), "max-ms")
}

// reportCPU adds the process CPU time per operation since cpu, in microseconds:
// with the machine's cores, it bounds throughput whatever else runs beside.
func reportCPU(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(processCPU()-cpu)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}

// BenchmarkSendAt500PerSecond sends b.N messages open-loop at 500 per second (a new
// request every 2 ms, whether or not earlier ones have answered) from 200 patients
// into their threads, over loopback HTTP, and reports latency percentiles. Run it
// with a fixed count, e.g. -benchtime=5000x (10 s of load).
func BenchmarkSendAt500PerSecond(b *testing.B) {
	const patients, interval = 200, 2 * time.Millisecond
	for _, s := range setups {
		b.Run(s.name, func(b *testing.B) {
			bn := newBench(b, s, patients)
			threads := bn.startThreads(b, patients)
			lat := make([]time.Duration, b.N)
			var wg sync.WaitGroup
			tick := time.NewTicker(interval)
			defer tick.Stop()
			b.ResetTimer()
			begin, cpu := time.Now(), processCPU()
			for i := range b.N {
				<-tick.C
				wg.Go(func() {
					t0 := time.Now()
					code, body := bn.call(b, patientN(i%patients), "POST", "/v1/threads/"+threads[i%patients]+"/messages",
						map[string]any{"kind": "general", "body": "How do I take this medication with food?"})
					lat[i] = time.Since(t0)
					if code != http.StatusCreated {
						b.Errorf("send = %d %s", code, body)
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(begin).Seconds(), "msg/s")
			reportCPU(b, cpu)
			report(b, lat)
		})
	}
}

// BenchmarkSendThroughput sends as fast as the service takes them, from many
// concurrent senders: the capacity ceiling behind the 500/s figure.
func BenchmarkSendThroughput(b *testing.B) {
	const patients = 200
	for _, s := range setups {
		b.Run(s.name, func(b *testing.B) {
			bn := newBench(b, s, patients)
			threads := bn.startThreads(b, patients)
			var (
				mu   sync.Mutex
				next int
			)
			b.SetParallelism(8)
			b.ResetTimer()
			cpu := processCPU()
			defer reportCPU(b, cpu)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					mu.Lock()
					i := next
					next++
					mu.Unlock()
					code, body := bn.call(b, patientN(i%patients), "POST", "/v1/threads/"+threads[i%patients]+"/messages",
						map[string]any{"kind": "general", "body": "How do I take this medication with food?"})
					if code != http.StatusCreated {
						b.Errorf("send = %d %s", code, body)
					}
				}
			})
		})
	}
}

// BenchmarkInbox lists the inbox of a patient with 1,000 messages in 20 threads
// (GET /v1/threads: 20 threads with unread counts, subjects decrypted), and reads a
// thread's 50 messages (bodies decrypted, receipts), over loopback HTTP.
func BenchmarkInbox(b *testing.B) {
	const threads, perThread = 20, 50
	for _, s := range setups {
		b.Run(s.name, func(b *testing.B) {
			bn := newBench(b, s, 1)
			p := patientN(0)
			staff := principal.Principal{Kind: principal.Staff, ID: "staff-1", Clinics: []string{"east"}}
			var ids []string
			for range threads {
				ids = append(ids, bn.startThreads(b, 1)[0])
			}
			for _, id := range ids {
				for j := 1; j < perThread; j++ {
					who := p
					if j%2 == 0 {
						who = staff // half the messages are the care team's, unread by the patient
					}
					if code, body := bn.call(b, who, "POST", "/v1/threads/"+id+"/messages",
						map[string]any{"kind": "general", "body": "A message of ordinary length about a prescription."}); code != http.StatusCreated {
						b.Fatalf("seed = %d %s", code, body)
					}
				}
			}
			for _, tc := range []struct{ name, path string }{
				{"threads", "/v1/threads"},
				{"messages", "/v1/threads/" + ids[0] + "/messages?limit=50"},
			} {
				b.Run(tc.name, func(b *testing.B) {
					var lat []time.Duration
					cpu := processCPU()
					for b.Loop() {
						t0 := time.Now()
						code, body := bn.call(b, p, "GET", tc.path, nil)
						lat = append(lat, time.Since(t0))
						if code != http.StatusOK {
							b.Fatalf("GET %s = %d %s", tc.path, code, body)
						}
					}
					reportCPU(b, cpu)
					report(b, lat)
				})
			}
		})
	}
}
