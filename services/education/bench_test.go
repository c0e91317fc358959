package education_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/broker"
	"github.com/attest-ehr/attest/libs/cache"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/education"
	"github.com/attest-ehr/attest/services/education/internal/chart"
)

// BenchmarkConsume is the projection as the service runs it: records' events
// published to the embedded broker (3 partitions, over TCP), consumed by the
// service's education.chart group (event.Consume handing batches to the projection,
// a BatchHandler), with the starter catalog and automatic suggestions on (the
// default), on SQLite and PostgreSQL. Each op publishes 60,000 new problems,
// medications and results for 1,000 patients before the service starts, then times
// the projection from its first applied event to its last, so the consumer group's
// join is not counted. Reported: events/s, and this process's CPU per event
// (broker and relay included; PostgreSQL's not).
func BenchmarkConsume(b *testing.B) {
	const n = 60000
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			for b.Loop() {
				rate, cpu := consumeOnce(b, d, n)
				b.ReportMetric(rate, "events/s")
				b.ReportMetric(cpu, "cpu-µs/event")
			}
		})
	}
}

func consumeOnce(b *testing.B, d store.Dialect, n int) (rate, cpuPerEvent float64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	db := storetest.Open(b, d, "education")
	br, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", Topics: contract.Topics()})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	redis, err := cache.Open(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	defer redis.Close()
	deps := education.Deps{Log: slog.New(slog.DiscardHandler), DB: db, Cache: redis.For("education"), Brokers: br.Addrs()}

	w := event.NewWriter(deps.Events())
	byTopic := map[string][]event.Event{}
	for i := 1; i <= n; i++ {
		topic, e := recordEvent(b, i)
		byTopic[topic] = append(byTopic[topic], e)
	}
	for topic, es := range byTopic {
		for start := 0; start < len(es); start += 1000 {
			if err := w.Publish(ctx, topic, es[start:min(start+1000, len(es))]...); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}

	cfg, err := education.ConfigFromEnv(func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	a, err := education.New(ctx, cfg, deps)
	if err != nil {
		b.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			b.Errorf("Run: %v", err)
		}
		_ = a.Close()
	}()

	// Each partition is consumed in order, so the projection is done when the last
	// events published to every partition are applied: the last 30 of each topic
	// cover its 3 partitions. Polling those (index lookups) rather than counting
	// every processed event keeps the measurement out of what it measures.
	var tail []any
	for _, es := range byTopic {
		for _, e := range es[len(es)-30:] {
			tail = append(tail, e.ID)
		}
	}
	applied := func(query string, args ...any) int {
		var k int
		if err := db.QueryRowContext(ctx, query, append([]any{chart.Group}, args...)...).Scan(&k); err != nil {
			b.Fatal(err)
		}
		return k
	}
	tailApplied := `SELECT count(*) FROM processed_events WHERE consumer = ? AND event_id IN (?` +
		strings.Repeat(", ?", len(tail)-1) + `)`
	for applied(`SELECT count(*) FROM (SELECT 1 FROM processed_events WHERE consumer = ? LIMIT 1) x`) == 0 {
		if ctx.Err() != nil {
			b.Fatal("the projection applied nothing before the time ran out")
		}
		time.Sleep(5 * time.Millisecond)
	}
	first, cpu := time.Now(), processCPU()
	firstCount := applied(`SELECT count(*) FROM processed_events WHERE consumer = ?`)
	for applied(tailApplied, tail...) < len(tail) {
		if ctx.Err() != nil {
			b.Fatal("the projection did not finish before the time ran out")
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed, used := time.Since(first), processCPU()-cpu
	if k := applied(`SELECT count(*) FROM processed_events WHERE consumer = ?`); k != n {
		b.Fatalf("%d of %d events applied", k, n)
	}
	return float64(n-firstCount) / elapsed.Seconds(), float64(used) / float64(time.Microsecond) / float64(n-firstCount)
}

// recordEvent is the i-th event of a stream of new problems, medications and results
// for 1,000 patients, and its topic.
func recordEvent(tb testing.TB, i int) (string, event.Event) {
	now := time.Now()
	pid := fmt.Sprintf("p%d", i%1000)
	var payload any
	typ, topic := contract.ProblemRecorded, contract.TopicProblem
	switch i % 3 {
	case 0:
		payload = contract.Problem{ProblemID: fmt.Sprint("pr", i), PatientID: pid, Status: "active",
			Code: contract.Code{System: contract.SystemICD10CM, Code: "E11.9"}}
	case 1:
		typ, topic = contract.MedicationRecorded, contract.TopicMed
		payload = contract.Medication{MedicationID: fmt.Sprint("m", i), PatientID: pid, Status: "active",
			Code: contract.Code{System: contract.SystemRxNorm, Code: "6809"}}
	default:
		typ, topic = contract.ResultRecorded, contract.TopicResult
		payload = contract.Result{ResultID: fmt.Sprint("r", i), PatientID: pid, Status: "final", Effective: now,
			Code: contract.Code{System: contract.SystemLOINC, Code: "4548-4"}}
	}
	e, err := event.New(typ, "records", pid, now, now, payload)
	if err != nil {
		tb.Fatal(err)
	}
	return topic, e
}
