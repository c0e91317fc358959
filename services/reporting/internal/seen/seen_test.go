package seen_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/reporting/internal/seen"
)

var npi = contract.Entity{Kind: contract.EntityNPI, ID: "1234567893"}

func factEvent(t *testing.T, typ, patient, day string) event.Event {
	t.Helper()
	e, err := event.New(typ, "metrics", patient, time.Now(), time.Now(),
		contract.Fact{Kind: contract.FactSeen, Entity: npi, PatientID: patient, Day: day, Because: "ev-1"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func setup(t *testing.T, db *store.DB) *seen.Projector {
	t.Helper()
	if err := db.Migrate(context.Background(), seen.Migrations()); err != nil {
		t.Fatal(err)
	}
	return seen.NewProjector(db, slog.New(slog.DiscardHandler))
}

func TestUniquePatients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := setup(t, db)
		for _, ev := range []event.Event{
			factEvent(t, contract.FactAsserted, "p1", "2025-01-01"),
			factEvent(t, contract.FactAsserted, "p1", "2025-02-10"), // same patient again: counted once
			factEvent(t, contract.FactAsserted, "p2", "2025-03-31"),
			factEvent(t, contract.FactAsserted, "p3", "2025-04-01"),
			factEvent(t, contract.FactAsserted, "p4", "2025-06-01"),
			factEvent(t, contract.FactRetracted, "p4", "2025-06-01"),
		} {
			if err := p.Handle(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			from, to string
			want     int
		}{
			{"2025-01-01", "2025-12-31", 3},
			{"2025-01-01", "2025-03-31", 2}, // both edges inclusive
			{"2025-01-02", "2025-03-30", 1},
			{"2025-04-01", "2025-04-01", 1},
			{"2025-06-01", "2025-06-30", 0}, // retracted
			{"2024-01-01", "2024-12-31", 0},
		}
		for _, tt := range tests {
			c, err := seen.UniquePatients(ctx, db, npi, seen.Period{From: tt.from, To: tt.to})
			if err != nil || c.Patients != tt.want {
				t.Errorf("%s..%s: %+v, %v, want %d", tt.from, tt.to, c, err, tt.want)
			}
		}
	})
}

func TestProjectorIsIdempotentAndRefusesBadFacts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := setup(t, db)
		ev := factEvent(t, contract.FactAsserted, "p1", "2025-01-01")
		retract := factEvent(t, contract.FactRetracted, "p1", "2025-01-01")
		// Assert, retract, then the assert redelivered: the retraction stands.
		for _, e := range []event.Event{ev, retract, ev} {
			if err := p.Handle(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if c, _ := seen.UniquePatients(ctx, db, npi, seen.Period{From: "2025-01-01", To: "2025-01-01"}); c.Patients != 0 {
			t.Errorf("redelivered assert resurrected a retracted fact: %d", c.Patients)
		}
		bad, err := event.New(contract.FactAsserted, "metrics", "p1", time.Now(), time.Now(),
			contract.Fact{Kind: contract.FactSeen, Entity: contract.Entity{Kind: "npi", ID: "123"}, PatientID: "p1", Day: "2025-01-01"})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Handle(ctx, bad); !event.IsPermanent(err) {
			t.Errorf("fact with an invalid NPI: %v, want permanent", err)
		}
	})
}

func TestCountAPIRefusesBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		setup(t, db)
		mux := http.NewServeMux()
		seen.Routes(mux, db, slog.New(slog.DiscardHandler))
		tests := []struct {
			query, field string
			status       int
		}{
			{"entity=npi:1234567893&from=2025-01-01&to=2025-12-31", "", 200},
			{"from=2025-01-01&to=2025-12-31", "entity", 400},
			{"entity=npi:1234567890&from=2025-01-01&to=2025-12-31", "entity", 400},
			{"entity=npi:1234567893&to=2025-12-31", "from", 400},
			{"entity=npi:1234567893&from=2025-13-01&to=2025-12-31", "from", 400},
			{"entity=npi:1234567893&from=2025-02-01&to=2025-01-31", "to", 400},
		}
		for _, tt := range tests {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/patients-seen?"+tt.query, nil))
			if rec.Code != tt.status || (tt.field != "" && !strings.Contains(rec.Body.String(), `"field":"`+tt.field+`"`)) {
				t.Errorf("%s: %d %s, want %d naming %q", tt.query, rec.Code, rec.Body, tt.status, tt.field)
			}
		}
	})
}
