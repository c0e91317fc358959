package provision_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/patientdir"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/education/internal/catalog"
	"github.com/attest-ehr/attest/services/education/internal/chart"
	"github.com/attest-ehr/attest/services/education/internal/match"
	"github.com/attest-ehr/attest/services/education/internal/provision"
	"github.com/attest-ehr/attest/services/education/internal/schema"
)

// TestBatchEqualsOneByOne applies the same stream of records events to three worlds —
// one event per transaction, the whole stream as one batch, and batches of four (the
// projection's BatchHandler path, with provision's BatchFacts) — and checks that they
// end the same: the chart, the suggestions and the events published, in order. The
// stream has what batching must get right: a fact made irrelevant and relevant again,
// a topic matched twice within the batch, a patient with another language, a
// redelivered event, and a patient deleted mid-batch and then seen again.
func TestBatchEqualsOneByOne(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		one := newWorld(t, db, provision.ModeSuggest)
		batched := newWorld(t, storetest.Open(t, db.Dialect(), "education_batch"), provision.ModeSuggest)
		inFours := newWorld(t, storetest.Open(t, db.Dialect(), "education_fours"), provision.ModeSuggest)
		for _, w := range []*world{one, batched, inFours} {
			if _, err := w.db.ExecContext(ctx, `INSERT INTO patient_preferences (patient_id, language) VALUES ('p2', 'es')`); err != nil {
				t.Fatal(err)
			}
		}
		at := func(patient string, typ string, payload any) event.Event {
			e, err := event.New(typ, "records", patient, time.Now(), time.Now(), payload)
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		prob := func(patient, id, code, status string) event.Event {
			return at(patient, contract.ProblemRecorded, contract.Problem{ProblemID: id, PatientID: patient,
				Code: contract.Code{System: contract.SystemICD10CM, Code: code}, Status: status})
		}
		metformin := at("p2", contract.MedicationRecorded, contract.Medication{MedicationID: "m1", PatientID: "p2",
			Code: contract.Code{System: contract.SystemRxNorm, Code: "6809"}, Status: "active"})
		stream := []event.Event{
			prob("p1", "pr1", "E1165", "active"),
			prob("p1", "pr2", "J45.20", "inactive"),
			prob("p1", "pr2", "J45.20", "active"),
			metformin,
			at("p1", contract.ResultRecorded, contract.Result{ResultID: "r1", PatientID: "p1",
				Code: contract.Code{System: contract.SystemLOINC, Code: "4548-4"}, Status: "final", Interpretation: "H",
				Effective: time.Now().Add(-time.Hour)}),
			prob("p1", "pr3", "E11.9", "active"), // t2d again: not suggested twice
			prob("p2", "pr4", "E11.9", "active"), // in Spanish
			at("p2", contract.MedicationCorrected, contract.Medication{MedicationID: "m1", PatientID: "p2",
				Code: contract.Code{System: contract.SystemRxNorm, Code: "6809"}, Status: "stopped"}),
			at("p2", contract.MedicationCorrected, contract.Medication{MedicationID: "m1", PatientID: "p2",
				Code: contract.Code{System: contract.SystemRxNorm, Code: "6809"}, Status: "active"}),
			at("p1", contract.ProblemDeleted, contract.ProblemRef{ProblemID: "pr3", PatientID: "p1"}),
			at("p1", contract.PatientDeleted, contract.PatientRef{PatientID: "p1"}),
			prob("p1", "pr5", "J45.909", "active"), // after the deletion: suggested anew
			metformin,                              // redelivered within the batch
		}
		for _, e := range stream {
			if err := one.proj.Handle(ctx, e); err != nil {
				t.Fatalf("%s: %v", e.Type, err)
			}
		}
		if err := batched.proj.HandleBatch(ctx, stream); err != nil {
			t.Fatal(err)
		}
		// Batches of four: later batches find the earlier ones' entries in every table.
		for start := 0; start < len(stream); start += 4 {
			if err := inFours.proj.HandleBatch(ctx, stream[start:min(start+4, len(stream))]); err != nil {
				t.Fatal(err)
			}
		}
		want := outcome(t, one)
		for name, w := range map[string]*world{"one batch": batched, "batches of four": inFours} {
			if got := outcome(t, w); !slices.Equal(got, want) {
				t.Errorf("%s:\n%s\none by one:\n%s", name, got, want)
			}
		}
		if !slices.Contains(want, "suggestion p2 t2d.es E11.9 prefix") || !slices.Contains(want, "suggestion p1 asthma J45.909 prefix") {
			t.Errorf("the stream did not exercise what it should:\n%s", want)
		}
	})
}

// outcome is what a world ended with, as comparable lines: the chart of each
// patient, their suggestions, and the events published in order.
func outcome(t *testing.T, w *world) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	for _, p := range []string{"p1", "p2"} {
		facts, err := w.svc.Facts(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range facts {
			out = append(out, fmt.Sprintf("fact %s %s %s %s %v", p, f.Source, f.Code.System, f.Code.Code, f.Abnormal))
		}
		sgs, err := w.svc.Suggestions(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, sg := range sgs {
			lines = append(lines, fmt.Sprintf("suggestion %s %s %s %s", p, sg.MaterialID, sg.Code.Code, sg.Match))
		}
		slices.Sort(lines)
		out = append(out, lines...)
	}
	rows, err := w.db.QueryContext(ctx, `SELECT type, key, data FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var typ, key, data string
		if err := rows.Scan(&typ, &key, &data); err != nil {
			t.Fatal(err)
		}
		var m contract.MaterialMatch
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("event %s %s %s %s", typ, key, m.MaterialID, m.Code.Code))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// BenchmarkProjectionSuggest is chart's BenchmarkProjection with what production
// runs: the starter catalog and automatic suggestions (ModeSuggest, 3 per fact), so
// every new active problem or medication and every recent result is matched and its
// topics suggested once per patient. The stream is the same (1,000 patients,
// diabetes, metformin, HbA1c): the first fact of each kind for a patient makes
// suggestions, the rest are already suggested.
func BenchmarkProjectionSuggest(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		for _, batch := range []int{1, 500} {
			name := "one"
			if batch > 1 {
				name = fmt.Sprintf("batch%d", batch)
			}
			b.Run(string(d)+"/"+name, func(b *testing.B) {
				ctx := context.Background()
				db := storetest.Open(b, d, "bench")
				if err := db.Migrate(ctx, schema.Migrations()); err != nil {
					b.Fatal(err)
				}
				log := slog.New(slog.DiscardHandler)
				cat := catalog.New(db)
				if _, err := cat.LoadStarter(ctx); err != nil {
					b.Fatal(err)
				}
				svc := provision.New(db, cat, match.NewMatcher(cat, time.Hour), patientdir.New(db, "education.patients", log),
					provision.Config{Mode: provision.ModeSuggest}, func() {})
				proj := chart.New(db, chart.DefaultRecent, svc, nil, log)
				i := 0
				start, cpu := time.Now(), processCPU()
				n := 0
				for b.Loop() {
					es := make([]event.Event, batch)
					for j := range es {
						i++
						es[j] = benchEvent(b, i)
					}
					if err := proj.HandleBatch(ctx, es); err != nil {
						b.Fatal(err)
					}
					n += batch
				}
				b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
				b.ReportMetric(float64(processCPU()-cpu)/float64(time.Microsecond)/float64(n), "cpu-µs/event")
				var suggested int
				if err := db.QueryRowContext(ctx, `SELECT count(*) FROM suggestions`).Scan(&suggested); err != nil || suggested == 0 {
					b.Fatalf("%d suggestions, %v; the benchmark should make some", suggested, err)
				}
			})
		}
	}
}

// benchEvent is the i-th event of a stream of new problems, medications and results
// for 1,000 patients (chart's recordEvent).
func benchEvent(tb testing.TB, i int) event.Event {
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
