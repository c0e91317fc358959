package metrics_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/metrics"
	"github.com/attest-ehr/attest/services/metrics/internal/engagement"
	"github.com/attest-ehr/attest/services/metrics/internal/projection"
	"github.com/attest-ehr/attest/services/metrics/internal/projection/projectiontest"
)

// published starts an embedded broker and a SQLite database and publishes b.N events
// of patients' years of care (patient IDs starting with prefix), a topic at a time.
func published(b *testing.B, prefix string) ([]string, *store.DB, []event.Event) {
	brokers := startBroker(b)
	db := storetest.Open(b, store.SQLite, storetest.Service)
	var es []event.Event
	for i := 0; len(es) < b.N; i++ {
		es = append(es, projectiontest.Year(fmt.Sprintf("%s%d-%07d", prefix, b.N, i), i, 2025)...)
	}
	w := event.NewWriter(event.Config{Brokers: brokers})
	defer w.Close()
	byTopic := map[string][]event.Event{}
	for _, e := range es {
		byTopic[e.Topic] = append(byTopic[e.Topic], e)
	}
	for topic, list := range byTopic {
		for chunk := range slices.Chunk(list, 1000) {
			if err := w.Publish(context.Background(), topic, chunk...); err != nil {
				b.Fatal(err)
			}
		}
	}
	return brokers, db, es
}

// BenchmarkPipeline is the service end to end in embedded mode: events already on the
// embedded broker are consumed (two consumer groups: the measure projection with
// the seen facts in its transactions, the KPIs), derived, persisted in SQLite, and the derived facts relayed
// to the broker. One op is one domain event; the clock runs from Run to the last
// event applied by every group and the outbox drained.
func BenchmarkPipeline(b *testing.B) {
	ctx := context.Background()
	brokers, db, es := published(b, "b")
	kpiEvents := 0
	for _, e := range es {
		if slices.Contains(engagement.Topics(), e.Topic) {
			kpiEvents++
		}
	}
	a, err := metrics.New(ctx, metrics.Config{}, metrics.Deps{Log: slog.New(slog.DiscardHandler), DB: db, Brokers: brokers})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	count := func(q string, args ...any) int {
		var n int
		if err := db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	b.ResetTimer()
	cpu := startCPU()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	for count(`SELECT count(*) FROM processed_events WHERE consumer = ?`, projection.Group) < len(es) ||
		count(`SELECT count(*) FROM processed_events WHERE consumer = ?`, engagement.Group) < kpiEvents ||
		count(`SELECT count(*) FROM outbox`) > 0 {
		time.Sleep(100 * time.Millisecond) // counting costs CPU the pipeline would use
	}
	b.StopTimer()
	b.ReportMetric(float64(len(es))/b.Elapsed().Seconds(), "events/s")
	cpu.report(b, len(es))
	stop()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkReplay rebuilds the derived state from events on the embedded broker into
// a SQLite database already holding it, and swaps it in. One op is one event.
func BenchmarkReplay(b *testing.B) {
	ctx := context.Background()
	brokers, db, es := published(b, "r")
	d := metrics.Deps{Log: slog.New(slog.DiscardHandler), DB: db, Brokers: brokers}
	b.ResetTimer()
	cpu := startCPU()
	st, err := metrics.Replay(ctx, metrics.Config{}, d)
	if err != nil || st.Events != len(es) {
		b.Fatalf("%+v, %v", st, err)
	}
	b.ReportMetric(float64(st.Events)/b.Elapsed().Seconds(), "events/s")
	cpu.report(b, st.Events)
}

// cpuClock reads the process's CPU time (user and system, every thread), which a
// machine shared with other work changes far less than wall time.
type cpuClock time.Duration

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuClock { return cpuClock(cpuTime()) }

// report adds the CPU time spent since start per op, and the rate one core would
// sustain at that cost.
func (c cpuClock) report(b *testing.B, ops int) { c.reportAs(b, ops, "event") }

func (c cpuClock) reportAs(b *testing.B, ops int, unit string) {
	used := cpuTime() - time.Duration(c)
	b.ReportMetric(float64(used.Microseconds())/float64(ops), "cpu-µs/"+unit)
	b.ReportMetric(float64(ops)/used.Seconds(), unit+"s/cpu-s")
}

// BenchmarkBrokerConsume is the upper bound the broker puts on the pipeline: events
// already on the embedded broker consumed by one consumer group over TCP, decoded and
// handed to a batch handler that does nothing. One op is one event.
func BenchmarkBrokerConsume(b *testing.B) {
	brokers, _, es := published(b, "c")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var n atomic.Int64
	done := make(chan struct{})
	h := batchFunc(func(_ context.Context, batch []event.Event) error {
		if n.Add(int64(len(batch))) >= int64(len(es)) {
			select {
			case <-done:
			default:
				close(done)
			}
		}
		return nil
	})
	b.ResetTimer()
	cpu := startCPU()
	errc := make(chan error, 1)
	go func() {
		errc <- event.Consume(ctx, event.Config{Brokers: brokers}, event.ConsumerConfig{Group: "bench.consume", Topics: projection.Topics()}, h)
	}()
	<-done
	b.StopTimer()
	b.ReportMetric(float64(len(es))/b.Elapsed().Seconds(), "events/s")
	cpu.report(b, len(es))
	stop()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
}

// batchFunc is a BatchHandler from a function.
type batchFunc func(ctx context.Context, es []event.Event) error

func (f batchFunc) Handle(ctx context.Context, e event.Event) error         { return f(ctx, []event.Event{e}) }
func (f batchFunc) HandleBatch(ctx context.Context, es []event.Event) error { return f(ctx, es) }

// BenchmarkSQLiteInsert is the upper bound SQLite (modernc, pure Go, WAL) puts on the
// pipeline on this machine: rows inserted by one prepared statement, 500 a
// transaction — a processed-event mark (two short text columns, the primary key) and
// a membership fact (20 columns, the primary key and two indexes). One op is one row.
func BenchmarkSQLiteInsert(b *testing.B) {
	db := storetest.Open(b, store.SQLite, storetest.Service)
	ctx := context.Background()
	if err := db.Migrate(ctx, projection.Migrations()); err != nil {
		b.Fatal(err)
	}
	for _, tt := range []struct {
		name, query string
		args        func(i int) []any
	}{
		{"mark", `INSERT INTO processed_events (consumer, event_id) VALUES (?, ?)`,
			func(i int) []any { return []any{"bench", fmt.Sprintf("%016x", i*7919)} }},
		{"fact", `INSERT INTO measure_facts (fact_key, patient_id, entity_kind, entity_id, program, measure, year, object,
			role, ref, for_ref, channel, at, until, start, deadline, controlled, anytime, out, because)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			func(i int) []any {
				return []any{fmt.Sprintf("%064x", i*7919), fmt.Sprintf("patient-%07d", i/30), "tin_npi",
					"123456789/1234567893", "mips", "PI_PEA_1", 2025, "", "denominator", fmt.Sprintf("enc-%d", i), "", "",
					int64(i) * 1e9, nil, nil, nil, 0, 0, "", fmt.Sprintf("event-%d", i)}
			}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			// Each run starts on an empty table, as the first rows of a fresh database.
			for _, table := range []string{"processed_events", "measure_facts"} {
				if _, err := db.ExecContext(ctx, "DELETE FROM "+table); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			cpu := startCPU()
			for from := 0; from < b.N; from += 500 {
				err := db.InTx(ctx, func(tx *store.Tx) error {
					st, err := tx.Prepare(ctx, tt.query)
					if err != nil {
						return err
					}
					for i := from; i < min(from+500, b.N); i++ {
						if _, err := st.ExecContext(ctx, tt.args(i)...); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			cpu.reportAs(b, b.N, "row")
		})
	}
}

// freshnessRate is the background load of BenchmarkFreshness, in events a second:
// METRICS_BENCH_RATE, default the 5,000.
func freshnessRate(b *testing.B) int {
	if s := os.Getenv("METRICS_BENCH_RATE"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("METRICS_BENCH_RATE=%q: want a positive number of events a second", s)
		}
		return n
	}
	return 5000
}

// BenchmarkFreshness is the time from an access grant published on the broker (as
// records' relay publishes it once records committed it) to the engagement KPI
// counting it (its row committed, which /v1/kpis and the stream's next change show),
// while patients' years of care are published beside it at METRICS_BENCH_RATE events
// a second (default 5,000) in embedded mode. One op is one probe; probes go out every
// 20 ms. It reports the median and 99th percentile, the background rate achieved,
// and how far behind the measure projection was when the last probe landed. A
// service that does not keep up with the load never catches up: after a probe waits
// 20 s, it and every later probe count as 20 s (probes-over-20s says how many).
func BenchmarkFreshness(b *testing.B) {
	ctx := context.Background()
	brokers := startBroker(b)
	db := storetest.Open(b, store.SQLite, storetest.Service)
	a, err := metrics.New(ctx, metrics.Config{}, metrics.Deps{Log: slog.New(slog.DiscardHandler), DB: db, Brokers: brokers})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	w := event.NewWriter(event.Config{Brokers: brokers})
	defer w.Close()

	// The background load: years of care, in each patient's order, at rate.
	rate := freshnessRate(b)
	loadCtx, stopLoad := context.WithCancel(ctx)
	var sent, sentProjected atomic.Int64
	projected := projection.Topics()
	loadDone := make(chan error, 1)
	go func() {
		// Each tick's events go out a topic at a time in parallel: a synchronous
		// Publish waits out the writer's batch timeout.
		const tick = 50 * time.Millisecond
		per := max(1, rate*int(tick)/int(time.Second))
		var pending []event.Event
		next := time.Now()
		for i := 0; ; {
			for len(pending) < per {
				pending = append(pending, projectiontest.Year(fmt.Sprintf("load%d-%07d", b.N, i), i, 2025)...)
				i++
			}
			chunk := pending[:per]
			byTopic := map[string][]event.Event{}
			for _, e := range chunk {
				byTopic[e.Topic] = append(byTopic[e.Topic], e)
			}
			var g errgroup.Group
			for topic, es := range byTopic {
				g.Go(func() error { return w.Publish(loadCtx, topic, es...) })
				if slices.Contains(projected, topic) {
					sentProjected.Add(int64(len(es)))
				}
			}
			if err := g.Wait(); err != nil {
				loadDone <- nil // stopped
				return
			}
			sent.Add(int64(len(chunk)))
			pending = pending[per:]
			next = next.Add(tick)
			select {
			case <-loadCtx.Done():
				loadDone <- nil
				return
			case <-time.After(time.Until(next)):
			}
		}
	}()

	lookup, err := db.SQL().PrepareContext(ctx, `SELECT count(*) FROM kpi_items WHERE kpi = 'access-provisioned' AND item_id = ?`)
	if err != nil {
		b.Fatal(err)
	}
	defer lookup.Close()
	time.Sleep(2 * time.Second) // let the load reach its rate and the groups form
	start, sentAtStart := time.Now(), sent.Load()
	lat := make([]time.Duration, 0, b.N)
	const giveUp = 20 * time.Second // the service is not keeping up with the load
	late := 0
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("probe%d-%d", b.N, i)
		grant := contract.AccessGrant{AccessGrantID: id, PatientID: "probe-" + id, Kind: contract.AccessVDT,
			Granted: time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC), NPI: projectiontest.NPIs[0], TIN: projectiontest.TINs[0]}
		e, err := event.New(contract.AccessGrantRecorded, "records", grant.PatientID, grant.Granted, time.Now(), grant)
		if err != nil {
			b.Fatal(err)
		}
		begin := time.Now()
		if err := w.Publish(ctx, contract.TopicAccessGrant, e); err != nil {
			b.Fatal(err)
		}
		counted := false
		for !counted && time.Since(begin) < giveUp {
			var n int
			if err := lookup.QueryRowContext(ctx, id).Scan(&n); err != nil {
				b.Fatal(err)
			}
			if counted = n > 0; !counted {
				time.Sleep(2 * time.Millisecond)
			}
		}
		lat = append(lat, time.Since(begin))
		if !counted {
			late = b.N - i // this probe and every later one: counted as late
			break
		}
		time.Sleep(time.Until(begin.Add(20 * time.Millisecond)))
	}
	for range late - 1 {
		lat = append(lat, giveUp)
	}
	b.StopTimer()
	achieved := float64(sent.Load()-sentAtStart) / time.Since(start).Seconds()
	stopLoad()
	<-loadDone
	var applied int // the load's events the projection applied (not the probes)
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM processed_events WHERE consumer = ?`, projection.Group).Scan(&applied); err != nil {
		b.Fatal(err)
	}
	applied -= b.N - late
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
	b.ReportMetric(achieved, "load-events/s")
	b.ReportMetric(float64(sentProjected.Load()-int64(applied)), "projection-backlog-events")
	b.ReportMetric(float64(late), "probes-over-20s")
}
