package fact_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/metrics/internal/fact"
)

func newDeriver(t *testing.T, db *store.DB, loc *time.Location) *fact.Deriver {
	t.Helper()
	if err := db.Migrate(context.Background(), fact.Migrations()); err != nil {
		t.Fatal(err)
	}
	return fact.NewDeriver(db, loc, func() {}, slog.New(slog.DiscardHandler))
}

func encounterEvent(t *testing.T, typ string, enc contract.Encounter) event.Event {
	t.Helper()
	e, err := event.New(typ, "records", enc.PatientID, enc.Start, enc.Start, enc)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func deletedEvent(t *testing.T, enc contract.Encounter) event.Event {
	t.Helper()
	e, err := event.New(contract.EncounterDeleted, "records", enc.PatientID, enc.Start, enc.Start,
		contract.EncounterRef{EncounterID: enc.EncounterID, PatientID: enc.PatientID})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// published returns the fact events queued since the last call, as "type entity day".
func published(t *testing.T, db *store.DB, seen *int) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT type, data FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var all []string
	for rows.Next() {
		var typ, data string
		if err := rows.Scan(&typ, &data); err != nil {
			t.Fatal(err)
		}
		var f contract.Fact
		if err := json.Unmarshal([]byte(data), &f); err != nil {
			t.Fatal(err)
		}
		all = append(all, typ[len("metrics.fact."):]+" "+f.Entity.String()+" "+f.Day)
	}
	out := all[*seen:]
	*seen = len(all)
	slices.Sort(out)
	return out
}

func TestDeriveSeen(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		d := newDeriver(t, db, time.UTC)
		var cursor int
		morning := contract.Encounter{EncounterID: "e1", PatientID: "p1", Class: contract.ClassOffice,
			Start: time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC), RenderingNPI: "1234567893", BillingTIN: "123456789"}
		afternoon := morning
		afternoon.EncounterID, afternoon.Start = "e2", morning.Start.Add(6*time.Hour)

		steps := []struct {
			name string
			ev   event.Event
			want []string
		}{
			{"first visit asserts for the NPI, the TIN/NPI and the TIN", encounterEvent(t, contract.EncounterRecorded, morning),
				[]string{"asserted npi:1234567893 2025-03-04", "asserted tin:123456789 2025-03-04",
					"asserted tin_npi:123456789/1234567893 2025-03-04"}},
			{"a second visit the same day changes no fact", encounterEvent(t, contract.EncounterRecorded, afternoon), nil},
			{"deleting one of two visits retracts nothing", deletedEvent(t, morning), nil},
			{"moving the remaining visit to another clinician retracts and asserts", encounterEvent(t, contract.EncounterCorrected,
				func() contract.Encounter { e := afternoon; e.RenderingNPI = "1245319599"; return e }()),
				// The group (TIN) still saw the patient that day: its fact is untouched.
				[]string{"asserted npi:1245319599 2025-03-04", "asserted tin_npi:123456789/1245319599 2025-03-04",
					"retracted npi:1234567893 2025-03-04", "retracted tin_npi:123456789/1234567893 2025-03-04"}},
			{"deleting the last visit retracts everything", deletedEvent(t, afternoon),
				[]string{"retracted npi:1245319599 2025-03-04", "retracted tin:123456789 2025-03-04",
					"retracted tin_npi:123456789/1245319599 2025-03-04"}},
		}
		for _, st := range steps {
			if err := d.Handle(ctx, st.ev); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if got := published(t, db, &cursor); !slices.Equal(got, st.want) {
				t.Errorf("%s:\n got %q\nwant %q", st.name, got, st.want)
			}
		}
		facts, err := fact.PatientFacts(ctx, db, "p1")
		if err != nil || len(facts) != 0 {
			t.Fatalf("facts held after deleting every encounter: %+v, %v", facts, err)
		}
	})
}

func TestDeriveIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		d := newDeriver(t, db, time.UTC)
		var cursor int
		ev := encounterEvent(t, contract.EncounterRecorded, contract.Encounter{EncounterID: "e1", PatientID: "p1",
			Class: contract.ClassInpatient, Start: time.Date(2025, 5, 1, 23, 0, 0, 0, time.UTC), CCN: "123456"})
		for range 3 { // redelivered twice
			if err := d.Handle(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		if got := published(t, db, &cursor); !slices.Equal(got, []string{"asserted ccn:123456 2025-05-01"}) {
			t.Errorf("after redelivery: %q", got)
		}
	})
}

func TestDaysFollowTheConfiguredZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newDeriver(t, db, ny)
		var cursor int
		// 02:30 UTC on 5 March is 21:30 on 4 March in New York.
		ev := encounterEvent(t, contract.EncounterRecorded, contract.Encounter{EncounterID: "e1", PatientID: "p1",
			Class: contract.ClassTelehealth, Start: time.Date(2025, 3, 5, 2, 30, 0, 0, time.UTC), RenderingNPI: "1234567893"})
		if err := d.Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		if got := published(t, db, &cursor); !slices.Equal(got, []string{"asserted npi:1234567893 2025-03-04"}) {
			t.Errorf("got %q", got)
		}
	})
}

func TestBadPayloadIsPermanent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newDeriver(t, db, time.UTC)
		bad := event.Event{ID: "01900000-0000-7000-8000-000000000001", Type: contract.EncounterRecorded,
			Source: "records", Subject: "p1", Data: []byte(`{"encounter_id": 7}`)}
		if err := d.Handle(context.Background(), bad); !event.IsPermanent(err) {
			t.Fatalf("undecodable payload: %v, want a permanent error", err)
		}
		missing := bad
		missing.ID, missing.Data = "01900000-0000-7000-8000-000000000002", []byte(`{"class":"office"}`)
		if err := d.Handle(context.Background(), missing); !event.IsPermanent(err) {
			t.Fatalf("payload without IDs: %v, want a permanent error", err)
		}
		// A failed event leaves no processed mark, so a fixed redelivery is not skipped.
		var n int
		if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM processed_events`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("processed marks after failures: %d, %v", n, err)
		}
	})
}

// TestAlongside: the seen facts kept in another consumer's transaction (the measure
// projection's) count each encounter event once whoever delivers it and however often:
// redelivered in a later batch, listed twice in one batch, applied earlier by the seen
// facts' own group (a service upgraded from three groups to two), or re-published by
// records under a new event ID. Events of other topics leave no mark.
func TestAlongside(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		notified := 0
		if err := db.Migrate(ctx, fact.Migrations()); err != nil {
			t.Fatal(err)
		}
		d := fact.NewDeriver(db, time.UTC, func() { notified++ }, slog.New(slog.DiscardHandler))
		var cursor int
		onTopic := func(e event.Event) event.Event { e.Topic = contract.TopicEncounter; return e }
		enc := contract.Encounter{EncounterID: "e1", PatientID: "p1", Class: contract.ClassInpatient,
			Start: time.Date(2025, 5, 1, 9, 0, 0, 0, time.UTC), CCN: "123456"}
		other := contract.Encounter{EncounterID: "e2", PatientID: "p2", Class: contract.ClassInpatient,
			Start: time.Date(2025, 5, 2, 9, 0, 0, 0, time.UTC), CCN: "123456"}
		recorded := onTopic(encounterEvent(t, contract.EncounterRecorded, enc))
		earlier := onTopic(encounterEvent(t, contract.EncounterRecorded, other))
		republished := onTopic(encounterEvent(t, contract.EncounterRecorded, enc)) // same encounter, new ID
		message := encounterEvent(t, contract.EncounterRecorded, enc)
		message.Topic = contract.TopicMessage // not a topic the seen facts read, whatever its type

		// The seen facts' own group applied earlier before the service was upgraded.
		if err := d.HandleBatch(ctx, []event.Event{earlier}); err != nil {
			t.Fatal(err)
		}
		published(t, db, &cursor)
		notified = 0

		alongside := func(es ...event.Event) {
			t.Helper()
			var after func()
			if err := db.InTx(ctx, func(tx *store.Tx) error {
				var err error
				after, err = d.Alongside(ctx, tx, es)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if after != nil {
				after()
			}
		}
		alongside(message, recorded, recorded, earlier)
		if got := published(t, db, &cursor); !slices.Equal(got, []string{"asserted ccn:123456 2025-05-01"}) {
			t.Errorf("first batch published %q, want the one new fact once", got)
		}
		if notified != 1 {
			t.Errorf("after a batch that published, the relay was notified %d times, want 1", notified)
		}
		alongside(recorded, republished, earlier) // redelivered, re-published, applied by the old group
		if got := published(t, db, &cursor); len(got) != 0 {
			t.Errorf("redelivered and re-published events published %q, want nothing", got)
		}
		if notified != 1 {
			t.Errorf("a batch that published nothing notified the relay (%d notifications)", notified)
		}
		var marks int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM processed_events WHERE event_id = ?`, message.ID).Scan(&marks); err != nil || marks != 0 {
			t.Errorf("an event of another topic left %d processed marks (%v), want none", marks, err)
		}
		// Had any of them counted twice, the fact's support would be above one and one
		// deletion would not retract it.
		alongside(onTopic(deletedEvent(t, enc)))
		if got := published(t, db, &cursor); !slices.Equal(got, []string{"retracted ccn:123456 2025-05-01"}) {
			t.Errorf("deleting the encounter published %q, want its fact retracted", got)
		}
	})
}
