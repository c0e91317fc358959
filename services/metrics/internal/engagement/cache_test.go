package engagement_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/metrics/internal/engagement"
)

// TestKeptReportsEqualTheScan feeds random event sequences — recordings, corrections,
// deletions and redeliveries of every KPI's events, in batches — and after every batch
// checks that the reports Report answers (kept by data version) are exactly the ones
// computed afresh from the rows, for every breakdown and two periods.
func TestKeptReportsEqualTheScan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var changes []engagement.Change
		k := keeper(t, db, &changes)
		for seed := range uint64(4) {
			g := gen{t: t, rnd: rand.New(rand.NewPCG(seed, 9)), seed: seed}
			for step := range 40 {
				batch := g.batch()
				if err := k.HandleBatch(ctx, batch); err != nil {
					t.Fatalf("seed %d step %d: %v", seed, step, err)
				}
				compare(t, ctx, k, fmt.Sprintf("seed %d step %d", seed, step))
			}
		}
		if len(changes) == 0 {
			t.Fatal("no change was notified")
		}
		// The sequences reach the KPIs that join rows (portal use to grants, answers to
		// questions), not only the plain counts.
		r, err := k.ScanReport(ctx, at("2025-03-03T00:00:00Z"), at("2025-03-30T00:00:00Z"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Rows) != 1 || r.Rows[0].PortalUsers == 0 || r.Rows[0].MessagesAnswered == 0 ||
			r.Rows[0].RequestsAnswered == 0 || r.Rows[0].EducationViewed == 0 || r.Rows[0].TabletsWiped == 0 {
			t.Fatalf("the random events reached too few KPIs: %+v", r.Rows)
		}
	})
}

var breakdowns = [][]string{nil, {engagement.ByWeek}, {engagement.ByClinic}, {engagement.ByClinician},
	{engagement.ByClinic, engagement.ByClinician}, {engagement.ByWeek, engagement.ByClinic},
	{engagement.ByWeek, engagement.ByClinic, engagement.ByClinician}}

func compare(t *testing.T, ctx context.Context, k *engagement.Keeper, where string) {
	t.Helper()
	periods := [][2]time.Time{
		{at("2025-03-03T00:00:00Z"), at("2025-03-30T00:00:00Z")},
		{at("2025-03-10T00:00:00Z"), at("2025-03-16T00:00:00Z")},
	}
	for _, p := range periods {
		for _, by := range breakdowns {
			kept, err := k.Report(ctx, p[0], p[1], by)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			scanned, err := k.ScanReport(ctx, p[0], p[1], by)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			if !reflect.DeepEqual(kept, scanned) {
				t.Fatalf("%s, %v by %v: kept report\n%+v\nthe rows add up to\n%+v", where, p, by, kept.Rows, scanned.Rows)
			}
		}
	}
}

// gen makes random KPI events about a few patients, clinics and clinicians, reusing
// IDs so that later events correct, delete or repeat earlier ones.
type gen struct {
	t    *testing.T
	rnd  *rand.Rand
	seed uint64
	sent []event.Event // for redelivery
}

func (g *gen) pick(vs ...string) string { return vs[g.rnd.IntN(len(vs))] }

func (g *gen) id(prefix string) string { return fmt.Sprintf("%s%d-%d", prefix, g.seed, g.rnd.IntN(6)) }

// when is a random instant in the four weeks from Monday 2025-03-03, some outside
// clinic hours.
func (g *gen) when() time.Time {
	return at("2025-03-03T00:00:00Z").Add(time.Duration(g.rnd.IntN(28*24*4)) * 15 * time.Minute)
}

func (g *gen) batch() []event.Event {
	var es []event.Event
	for range 1 + g.rnd.IntN(4) {
		if len(g.sent) > 0 && g.rnd.IntN(6) == 0 {
			es = append(es, g.sent[g.rnd.IntN(len(g.sent))]) // redelivered
			continue
		}
		e := g.event()
		g.sent = append(g.sent, e)
		es = append(es, e)
	}
	return es
}

func (g *gen) event() event.Event {
	p := g.pick("p1", "p2", "p3", "p4")
	npi := g.pick("1234567893", "1245319599", "")
	tin := g.pick("123456789", "987654321", "")
	clinic := g.pick("c1", "c2", "")
	switch g.rnd.IntN(11) {
	case 0:
		typ := g.pick(contract.AccessGrantRecorded, contract.AccessGrantCorrected)
		return ev(g.t, typ, p, contract.AccessGrant{AccessGrantID: g.id("g"), PatientID: p, Kind: contract.AccessVDT,
			Granted: g.when(), OptedOut: g.rnd.IntN(4) == 0, NPI: npi, TIN: tin})
	case 1:
		return ev(g.t, contract.AccessGrantDeleted, p, contract.AccessGrantRef{AccessGrantID: g.id("g"), PatientID: p})
	case 2:
		typ := g.pick(contract.VDTRecorded, contract.VDTCorrected, contract.VDTRecorded)
		return ev(g.t, typ, p, contract.VDT{VDTID: g.id("v"), PatientID: p, Action: contract.VDTView,
			Actor: contract.ActorPatient, Occurred: g.when()})
	case 3:
		if g.rnd.IntN(2) == 0 {
			return ev(g.t, contract.VDTDeleted, p, contract.VDTRef{VDTID: g.id("v"), PatientID: p})
		}
		return ev(g.t, contract.AccessGrantDeleted, p, contract.AccessGrantRef{AccessGrantID: g.id("g"), PatientID: p})
	case 4:
		return ev(g.t, contract.MessageSent, p, contract.SecureMessage{MessageID: g.id("m"), ThreadID: "t", PatientID: p,
			ClinicID: clinic, Kind: contract.KindGeneral, Direction: contract.DirectionPatientToProvider,
			SenderRole: contract.RolePatient, SenderID: p, Sent: g.when()})
	case 5:
		return ev(g.t, contract.MessageSent, p, contract.SecureMessage{MessageID: g.id("r"), ThreadID: "t", PatientID: p,
			ClinicID: clinic, Kind: contract.KindGeneral, Direction: contract.DirectionReply, SenderRole: contract.RoleClinician,
			SenderID: npi, NPI: npi, InReplyTo: g.id("m"), Sent: g.when()})
	case 6:
		return ev(g.t, contract.RequestAnswered, p, contract.RequestAnswer{RequestID: g.id("m"), ThreadID: "t", PatientID: p,
			ClinicID: clinic, Kind: contract.KindRefillRequest, Outcome: contract.OutcomeApproved, AnswerMessageID: g.id("r"),
			AnsweredByRole: contract.RoleClinician, AnsweredByID: npi, NPI: npi, Answered: g.when()})
	case 7:
		if g.rnd.IntN(2) == 0 {
			return ev(g.t, contract.MaterialProvided, p, contract.MaterialProvision{ProvisionID: g.id("e"), PatientID: p,
				MaterialID: "x", Version: 1, Language: "en", Channel: contract.ChannelPortal, IdentifiedBySystem: true,
				ProvidedBy: contract.ProvidedByClinician, NPI: npi, Provided: g.when()})
		}
		return ev(g.t, contract.MaterialViewed, p, contract.MaterialView{ProvisionID: g.id("e"), PatientID: p, MaterialID: "x",
			Version: 1, Viewed: g.when()})
	case 8:
		if g.rnd.IntN(3) == 0 {
			return ev(g.t, contract.VitalSignDeleted, p, contract.VitalSignRef{VitalSignID: g.id("s"), PatientID: p})
		}
		performer := g.pick(contract.PerformerPatient, contract.PerformerPatient, "")
		return ev(g.t, g.pick(contract.VitalSignRecorded, contract.VitalSignCorrected), p, contract.VitalSign{VitalSignID: g.id("s"),
			PatientID: p, Code: contract.Code{System: contract.SystemLOINC, Code: "29463-7"}, Effective: g.when(),
			Performer: performer, DeviceID: "d1"})
	case 9:
		if g.rnd.IntN(3) == 0 {
			return ev(g.t, contract.PGHDDeleted, p, contract.PGHDRef{PGHDID: g.id("d"), PatientID: p})
		}
		return ev(g.t, g.pick(contract.PGHDRecorded, contract.PGHDCorrected), p, contract.PGHD{PGHDID: g.id("d"), PatientID: p,
			Source: contract.PGHDPatient, Incorporated: g.when(), NPI: npi, TIN: tin})
	default:
		if g.rnd.IntN(4) == 0 {
			return ev(g.t, contract.TabletSessionDeleted, p, contract.TabletSessionRef{SessionID: g.id("t"), PatientID: p})
		}
		started := g.when()
		s := contract.TabletSession{SessionID: g.id("t"), PatientID: p, DeviceID: "d1", Started: started}
		typ := contract.TabletSessionStarted
		if g.rnd.IntN(2) == 0 {
			wiped := started.Add(time.Duration(1+g.rnd.IntN(120)) * time.Minute)
			s.Wiped, s.Cleared, typ = &wiped, []string{"cache", "cookies", "storage", "executionContexts"}, contract.TabletSessionWiped
			if g.rnd.IntN(3) == 0 {
				s.Cleared = []string{"cache"}
			}
		}
		return ev(g.t, typ, p, s)
	}
}

// TestSwappedDropsKeptReports: a replay replaces the rows wholesale, outside the
// Keeper; Swapped in its transaction makes the next report read the new rows.
func TestSwappedDropsKeptReports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var changes []engagement.Change
		k := keeper(t, db, &changes)
		grant := contract.AccessGrant{AccessGrantID: "g1", PatientID: "p1", Kind: contract.AccessVDT,
			Granted: at("2025-03-03T10:00:00Z"), NPI: "1234567893", TIN: "123456789"}
		if err := k.Handle(ctx, ev(t, contract.AccessGrantRecorded, "p1", grant)); err != nil {
			t.Fatal(err)
		}
		from, to := at("2025-03-03T00:00:00Z"), at("2025-03-09T00:00:00Z")
		before, err := k.Report(ctx, from, to, nil)
		if err != nil || len(before.Rows) != 1 || before.Rows[0].AccessProvisioned != 1 {
			t.Fatalf("before: %+v, %v", before, err)
		}
		err = db.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.ExecContext(ctx, `DELETE FROM kpi_items`); err != nil {
				return err
			}
			return engagement.Swapped(ctx, tx)
		})
		if err != nil {
			t.Fatal(err)
		}
		after, err := k.Report(ctx, from, to, nil)
		if err != nil || len(after.Rows) != 0 {
			t.Fatalf("after the swap: %+v, %v", after, err)
		}
	})
}
