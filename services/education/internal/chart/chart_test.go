package chart_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/education/internal/chart"
	"github.com/attest-ehr/attest/services/education/internal/match"
	"github.com/attest-ehr/attest/services/education/internal/schema"
)

// recorder is a Hook that remembers what it was told.
type recorder struct{ facts []match.Fact }

func (r *recorder) Fact(_ context.Context, _ *store.Tx, _ string, f match.Fact) error {
	r.facts = append(r.facts, f)
	return nil
}

func (r *recorder) Forget(context.Context, *store.Tx, string) error { return nil }

func newProjection(t testing.TB, db *store.DB, hook chart.Hook) *chart.Projection {
	t.Helper()
	if err := db.Migrate(context.Background(), schema.Migrations()); err != nil {
		t.Fatal(err)
	}
	return chart.New(db, 7*24*time.Hour, hook, nil, slog.New(slog.DiscardHandler))
}

func result(t testing.TB, id, status string, effective time.Time) event.Event {
	t.Helper()
	e, err := event.New(contract.ResultRecorded, "records", "p1", effective, effective, contract.Result{ResultID: id,
		PatientID: "p1", Code: contract.Code{System: contract.SystemLOINC, Code: "4548-4"}, Status: status,
		Interpretation: "N", Effective: effective})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestRecentResults: the recent window decides which results count and are told.
func TestRecentResults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rec := &recorder{}
		p := newProjection(t, db, rec)
		now := time.Now()
		for _, e := range []event.Event{
			result(t, "r1", "final", now.Add(-24*time.Hour)),
			result(t, "r2", "final", now.Add(-30*24*time.Hour)), // older than the window
			result(t, "r3", "entered-in-error", now),
		} {
			if err := p.Handle(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if len(rec.facts) != 1 || rec.facts[0].Abnormal {
			t.Fatalf("hook told %+v; want one normal result", rec.facts)
		}
		facts, err := chart.Facts(ctx, db, "p1", now.Add(-7*24*time.Hour))
		if err != nil || len(facts) != 1 || facts[0].Source != match.SourceResult {
			t.Fatalf("Facts = %+v, %v", facts, err)
		}
		if facts, _ := chart.Facts(ctx, db, "p1", now.Add(-60*24*time.Hour)); len(facts) != 2 {
			t.Errorf("a wider window: %d facts, want 2", len(facts))
		}
	})
}

// BenchmarkProjection applies records events — problems, medications and results
// for 1,000 patients — each with its processed-event mark, the hook off: one event
// per transaction ("one"), and 500 per transaction ("batch500"), as event.Consume
// hands a BatchHandler what the broker has ready (MaxBatch 500). Reported: events/s
// (wall clock, making the events included) and cpu-µs/event (this process's CPU, not
// PostgreSQL's).
func BenchmarkProjection(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		for _, batch := range []int{1, 500} {
			b.Run(string(d)+"/"+batchName(batch), func(b *testing.B) {
				db := storetest.Open(b, d, "bench")
				runProjection(b, newProjection(b, db, nil), batch)
			})
		}
	}
}

func batchName(batch int) string {
	if batch == 1 {
		return "one"
	}
	return fmt.Sprintf("batch%d", batch)
}

// runProjection feeds p the stream of recordEvent in batches of batch events until
// the benchmark has enough, and reports events/s and CPU per event.
func runProjection(b *testing.B, p *chart.Projection, batch int) {
	ctx := context.Background()
	i := 0
	start, cpu := time.Now(), processCPU()
	n := 0
	for b.Loop() {
		es := make([]event.Event, batch)
		for j := range es {
			i++
			es[j] = recordEvent(b, i)
		}
		if err := p.HandleBatch(ctx, es); err != nil {
			b.Fatal(err)
		}
		n += batch
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(processCPU()-cpu)/float64(time.Microsecond)/float64(n), "cpu-µs/event")
}

// recordEvent is the i-th event of a stream of problems, medications and results for
// 1,000 patients, each entry new.
func recordEvent(tb testing.TB, i int) event.Event {
	now := time.Now()
	pid := fmt.Sprintf("p%d", i%1000)
	var payload any
	typ := contract.ProblemRecorded
	switch i % 3 {
	case 0:
		payload = contract.Problem{ProblemID: fmt.Sprint("pr", i), PatientID: pid, Status: "active",
			Code: contract.Code{System: contract.SystemICD10CM, Code: "E11.9"}}
	case 1:
		typ = contract.MedicationRecorded
		payload = contract.Medication{MedicationID: fmt.Sprint("m", i), PatientID: pid, Status: "active",
			Code: contract.Code{System: contract.SystemRxNorm, Code: "6809"}}
	default:
		typ = contract.ResultRecorded
		payload = contract.Result{ResultID: fmt.Sprint("r", i), PatientID: pid, Status: "final", Effective: now,
			Code: contract.Code{System: contract.SystemLOINC, Code: "4548-4"}}
	}
	e, err := event.New(typ, "records", pid, now, now, payload)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// TestHandleBatch: a batch applies each event once, and one bad event rolls back all.
func TestHandleBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rec := &recorder{}
		p := newProjection(t, db, rec)
		now := time.Now()
		r1, r2 := result(t, "r1", "final", now), result(t, "r2", "final", now)
		if err := p.HandleBatch(ctx, []event.Event{r1, r2, r1}); err != nil {
			t.Fatal(err)
		}
		if len(rec.facts) != 2 {
			t.Fatalf("hook told %d facts, want 2: the repeated event is applied once", len(rec.facts))
		}
		bad, err := event.New(contract.ResultRecorded, "records", "p1", now, now, map[string]any{"result_id": 1})
		if err != nil {
			t.Fatal(err)
		}
		r3 := result(t, "r3", "final", now)
		if err := p.HandleBatch(ctx, []event.Event{r3, bad}); !event.IsPermanent(err) {
			t.Fatalf("batch with a bad event: %v, want permanent", err)
		}
		if facts, _ := chart.Facts(ctx, db, "p1", now.Add(-time.Hour)); len(facts) != 2 {
			t.Errorf("after a failed batch: %d facts, want 2 (nothing of the batch kept)", len(facts))
		}
	})
}
