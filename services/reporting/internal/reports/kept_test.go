package reports_test

import (
	"context"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/reporting/internal/facts"
	"github.com/attest-ehr/attest/services/reporting/internal/reports"
)

// TestKeptReports checks that a report whose inputs did not move is served from the
// inputs kept, and that any change — a fact of one clinician of a group, an
// attestation — gives the report a computer keeping nothing gives, on both engines.
func TestKeptReports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.Migrate(ctx, facts.Migrations()); err != nil {
			t.Fatal(err)
		}
		st := facts.NewStore(db, 10_000)
		a, b := ent("111111111/"+npi1), ent("111111111/"+npi2)
		tin := contract.Entity{Kind: contract.EntityTIN, ID: "111111111"}
		if err := st.InsertFacts(ctx, append(prescriptions(a, "a", 30, 20), prescriptions(b, "b", 20, 5)...)); err != nil {
			t.Fatal(err)
		}
		kept := reports.NewService(computer(t), st)
		noneKept := computer(t)
		noneKept.KeepResults(0)
		fresh := reports.NewService(noneKept, st)
		check := func(step string, e contract.Entity, wantNum, wantDen int64, wantSRA bool) {
			t.Helper()
			got, err := kept.Report(ctx, query(e))
			if err != nil {
				t.Fatal(err)
			}
			want, err := fresh.Report(ctx, query(e))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s, %s: the kept report differs from the one computed afresh", step, e)
			}
			// The JSON report (numbers only, no member list built) has the very numbers,
			// kept or afresh.
			for _, svc := range []*reports.Service{kept, fresh} {
				q := query(e)
				q.WithoutLists, q.NumbersOnly = true, true
				numbers, err := svc.Report(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if a, b := reports.WithoutMembers(numbers.Report), reports.WithoutMembers(want.Report); !reflect.DeepEqual(a, b) {
					t.Fatalf("%s, %s: the numbers-only report differs:\n%+v\nwant\n%+v", step, e, a, b)
				}
			}
			m := measureOf(t, got.Report, "PI_EP_1")
			sra := measureOf(t, got.Report, "PI_PPHI_1").Answer
			if m.Numerator != wantNum || m.Denominator != wantDen || len(m.Members) != int(wantDen) || sra == nil || *sra != wantSRA {
				t.Fatalf("%s, %s: PI_EP_1 %d/%d with %d members, security risk analysis %v; want %d/%d, %v", step, e,
					m.Numerator, m.Denominator, len(m.Members), sra, wantNum, wantDen, wantSRA)
			}
		}
		check("first", tin, 25, 50, false)
		check("first", a, 20, 30, false)
		first, _ := kept.Report(ctx, query(tin))
		again, _ := kept.Report(ctx, query(tin))
		if &first.Results["PI_EP_1"].Members[0] != &again.Results["PI_EP_1"].Members[0] {
			t.Error("an unchanged group was counted again")
		}

		// One more prescription of b, sent: the group and b move, a does not.
		more := prescriptions(b, "b2", 1, 1)
		if err := st.InsertFacts(ctx, more); err != nil {
			t.Fatal(err)
		}
		check("a fact of b", tin, 26, 51, false)
		check("a fact of b", b, 6, 21, false)
		check("a fact of b", a, 20, 30, false)

		// A security risk analysis attested for the group answers its clinicians' too.
		e, err := event.New(contract.AttestationRecorded, "test", "k", time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
			time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC), contract.Attestation{AttestationID: "sra", Entity: tin,
				Kind: contract.AttestSecurityRiskAnalysis, Answer: true, Performed: time.Date(2025, 2, 3, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		e.Topic, e.Offset = contract.TopicAttestation, 1
		if err := facts.NewHandler(st, slog.New(slog.DiscardHandler)).HandleBatch(ctx, []event.Event{e}); err != nil {
			t.Fatal(err)
		}
		check("an attestation", tin, 26, 51, true)
		check("an attestation", a, 20, 30, true)
	})
}
