package metrics_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/broker"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/metrics"
)

func startBroker(t testing.TB) []string {
	t.Helper()
	b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", Partitions: 3, Topics: contract.Topics()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close broker: %v", err)
		}
	})
	return b.Addrs()
}

// column lists one column of a table, sorted.
func column(t *testing.T, db *store.DB, q string) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// state is what a replay must rebuild: the items, facts, KPI rows and seen facts.
func state(t *testing.T, db *store.DB) [][]string {
	return [][]string{
		column(t, db, `SELECT patient_id || ' ' || kind || ' ' || item_id || ' ' || event_id FROM timeline_items`),
		column(t, db, `SELECT fact_key FROM measure_facts`),
		column(t, db, `SELECT kpi || ' ' || item_id || ' ' || week || ' ' || clinic || ' ' || clinician FROM kpi_items`),
		column(t, db, `SELECT entity_kind || ' ' || entity_id || ' ' || patient_id || ' ' || day || ' ' || support FROM seen_facts`),
		column(t, db, `SELECT encounter_id || ' ' || entity_kind || ' ' || entity_id || ' ' || day FROM encounter_facts`),
	}
}

// TestReplayRebuildsFromTheTopics: a service whose state missed some events and holds
// some the topics never had is rebuilt to exactly what applying the topics gives,
// publishing only the fact differences; replaying again changes nothing.
func TestReplayRebuildsFromTheTopics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		brokers := startBroker(t) // the topics hold this engine's history only
		var es []event.Event
		for i, p := range []string{"r1", "r2", "r3"} {
			es = append(es, visit(t, t.Name()+p, npiA, "2025-0"+string(rune('3'+i))+"-03", 2*i)...)
		}
		es = append(es, ev(t, contract.MessageSent, t.Name()+"r1", contract.SecureMessage{MessageID: t.Name() + "m1",
			ThreadID: "th", PatientID: t.Name() + "r1", ClinicID: "c1", Kind: contract.KindGeneral,
			Direction: contract.DirectionPatientToProvider, SenderRole: contract.RolePatient, SenderID: "r1", Sent: at("2025-03-03T15:00:00Z")}))
		w := event.NewWriter(event.Config{Brokers: brokers})
		defer w.Close()
		for _, e := range es {
			if err := w.Publish(ctx, e.Topic, e); err != nil {
				t.Fatal(err)
			}
		}

		// What the topics make: every event applied once.
		want := state(t, func() *store.DB {
			fresh := storetest.Open(t, db.Dialect(), storetest.Service)
			if err := newApp(t, fresh).Apply(ctx, es...); err != nil {
				t.Fatal(err)
			}
			return fresh
		}())

		// The stale service: half the events, plus a patient the topics never had.
		a := newApp(t, db)
		stray := visit(t, t.Name()+"stray", npiA, "2025-05-05", 1)
		if err := a.Apply(ctx, append(slices.Clone(es[:len(es)/2]), stray...)...); err != nil {
			t.Fatal(err)
		}
		if slices.Equal(state(t, db)[1], want[1]) {
			t.Fatal("the stale state already has the right facts: the test proves nothing")
		}
		before := column(t, db, `SELECT event_id FROM outbox`)

		d := metrics.Deps{Log: slog.New(slog.DiscardHandler), DB: db, Brokers: brokers}
		st, err := metrics.Replay(ctx, metrics.Config{}, d)
		if err != nil {
			t.Fatal(err)
		}
		if st.Asserted == 0 || st.Retracted == 0 || st.SeenAsserted == 0 || st.SeenRetracted == 0 || st.Events < len(es) {
			t.Errorf("stats %+v: want measure and seen facts asserted and retracted, and at least %d events", st, len(es))
		}
		got := state(t, db)
		for i, name := range []string{"items", "facts", "KPI rows", "seen facts", "encounters' seen facts"} {
			if !slices.Equal(got[i], want[i]) {
				t.Errorf("%s after replay:\n got %q\nwant %q", name, got[i], want[i])
			}
		}
		if n := len(column(t, db, `SELECT event_id FROM outbox`)) - len(before); n != st.Asserted+st.Retracted+st.SeenAsserted+st.SeenRetracted {
			t.Errorf("the swap published %d fact events, want %d", n, st.Asserted+st.Retracted+st.SeenAsserted+st.SeenRetracted)
		}
		if n := len(column(t, db, `SELECT event_id FROM outbox WHERE topic = '`+contract.TopicFact+`'`)) -
			len(column(t, db, `SELECT event_id FROM outbox WHERE topic = '`+contract.TopicFact+`' AND event_id IN ('`+strings.Join(before, "','")+`')`)); n != st.SeenAsserted+st.SeenRetracted {
			t.Errorf("the swap published %d seen-fact events, want %d", n, st.SeenAsserted+st.SeenRetracted)
		}
		// Replayed events are recognised as applied by the live consumer group.
		if err := a.Apply(ctx, es...); err != nil {
			t.Fatal(err)
		}
		if again := state(t, db); !slices.Equal(again[1], want[1]) || !slices.Equal(again[3], want[3]) {
			t.Error("redelivering replayed events changed the facts")
		}

		st, err = metrics.Replay(ctx, metrics.Config{}, d)
		if err != nil || st.Asserted != 0 || st.Retracted != 0 || st.SeenAsserted != 0 || st.SeenRetracted != 0 {
			t.Errorf("a second replay: %+v, %v; want no change", st, err)
		}
	})
}
