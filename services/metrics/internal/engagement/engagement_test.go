package engagement_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/metrics/internal/engagement"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ev(t testing.TB, typ, patient string, payload any) event.Event {
	t.Helper()
	e, err := event.New(typ, "test", patient, time.Now(), time.Now(), payload)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func keeper(t *testing.T, db *store.DB, changes *[]engagement.Change) *engagement.Keeper {
	t.Helper()
	if err := db.Migrate(context.Background(), engagement.Migrations()); err != nil {
		t.Fatal(err)
	}
	return engagement.NewKeeper(db, calendar.New(time.UTC), engagement.DefaultHours,
		func(c engagement.Change) { *changes = append(*changes, c) }, slog.New(slog.DiscardHandler))
}

// TestKPIs feeds a week of a clinic's events, with corrections, deletions and
// redeliveries, and checks every KPI of the report by clinic and clinician.
func TestKPIs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var changes []engagement.Change
		k := keeper(t, db, &changes)
		grant := contract.AccessGrant{AccessGrantID: "g1", PatientID: "p1", Kind: contract.AccessVDT,
			Granted: at("2025-03-03T10:00:00Z"), NPI: "1234567893", TIN: "123456789"}
		declined := contract.AccessGrant{AccessGrantID: "g2", PatientID: "p2", Kind: contract.AccessVDT,
			Granted: at("2025-03-04T10:00:00Z"), OptedOut: true, NPI: "1234567893", TIN: "123456789"}
		// Asked Friday 16:00, answered Monday 09:00: 1 + 1 clinic hours, 2 h.
		asked := contract.SecureMessage{MessageID: "m1", ThreadID: "t1", PatientID: "p1", ClinicID: "c1",
			Kind: contract.KindGeneral, Direction: contract.DirectionPatientToProvider, SenderRole: contract.RolePatient,
			SenderID: "p1", Sent: at("2025-03-07T16:00:00Z")}
		reply := contract.SecureMessage{MessageID: "m2", ThreadID: "t1", PatientID: "p1", ClinicID: "c1",
			Kind: contract.KindGeneral, Direction: contract.DirectionReply, SenderRole: contract.RoleClinician,
			SenderID: "1234567893", NPI: "1234567893", InReplyTo: "m1", Sent: at("2025-03-10T09:00:00Z")}
		second := reply
		second.MessageID, second.Sent = "m3", at("2025-03-10T12:00:00Z") // a second reply: not the answer
		wiped := at("2025-03-05T11:00:00Z")
		session := contract.TabletSession{SessionID: "s1", PatientID: "p1", DeviceID: "d1", Started: at("2025-03-05T10:00:00Z")}
		done := session
		done.Wiped, done.Cleared = &wiped, []string{"cache", "cookies", "storage", "executionContexts"}
		partial := contract.TabletSession{SessionID: "s2", PatientID: "p2", DeviceID: "d1", Started: at("2025-03-05T12:00:00Z"),
			Wiped: &wiped, Cleared: []string{"cache"}}
		vdt := ev(t, contract.VDTRecorded, "p1", contract.VDT{VDTID: "v1", PatientID: "p1", Action: contract.VDTView,
			Actor: contract.ActorPatient, Occurred: at("2025-03-06T08:00:00Z")})
		steps := []event.Event{
			ev(t, contract.AccessGrantRecorded, "p1", grant),
			ev(t, contract.AccessGrantRecorded, "p2", declined),
			vdt, vdt, // redelivered
			ev(t, contract.VDTRecorded, "p2", contract.VDT{VDTID: "v2", PatientID: "p2", Action: contract.VDTView,
				Actor: contract.ActorPatient, Occurred: at("2025-03-06T09:00:00Z")}), // no access here: not counted
			ev(t, contract.MessageSent, "p1", asked),
			ev(t, contract.MessageSent, "p1", reply),
			ev(t, contract.MessageSent, "p1", second),
			ev(t, contract.RequestAnswered, "p1", contract.RequestAnswer{RequestID: "m1", ThreadID: "t1", PatientID: "p1",
				ClinicID: "c1", Kind: contract.KindRefillRequest, Outcome: contract.OutcomeApproved, AnswerMessageID: "m2",
				AnsweredByRole: contract.RoleClinician, AnsweredByID: "1234567893", NPI: "1234567893", Answered: at("2025-03-07T17:00:00Z")}),
			ev(t, contract.MaterialProvided, "p1", contract.MaterialProvision{ProvisionID: "e1", PatientID: "p1", MaterialID: "x",
				Version: 1, Language: "en", Channel: contract.ChannelPortal, IdentifiedBySystem: true,
				ProvidedBy: contract.ProvidedByClinician, NPI: "1234567893", Provided: at("2025-03-04T09:00:00Z")}),
			ev(t, contract.MaterialViewed, "p1", contract.MaterialView{ProvisionID: "e1", PatientID: "p1", MaterialID: "x",
				Version: 1, Viewed: at("2025-03-05T09:00:00Z")}),
			ev(t, contract.VitalSignRecorded, "p1", contract.VitalSign{VitalSignID: "vs1", PatientID: "p1",
				Code: contract.Code{System: contract.SystemLOINC, Code: "29463-7"}, Effective: at("2025-03-05T10:30:00Z"),
				Performer: contract.PerformerPatient, DeviceID: "d1", SessionID: "s1"}),
			ev(t, contract.VitalSignRecorded, "p1", contract.VitalSign{VitalSignID: "vs2", PatientID: "p1",
				Code: contract.Code{System: contract.SystemLOINC, Code: "8302-2"}, Effective: at("2025-03-05T10:31:00Z"),
				Performer: contract.PerformerPatient, DeviceID: "d1", SessionID: "s1"}),
			ev(t, contract.VitalSignDeleted, "p1", contract.VitalSignRef{VitalSignID: "vs2", PatientID: "p1"}),
			ev(t, contract.TabletSessionStarted, "p1", session),
			ev(t, contract.TabletSessionWiped, "p1", done),
			ev(t, contract.TabletSessionWiped, "p2", partial),
			ev(t, contract.PGHDRecorded, "p1", contract.PGHD{PGHDID: "d1", PatientID: "p1", Source: contract.PGHDPatient,
				Incorporated: at("2025-03-05T10:40:00Z"), NPI: "1234567893", TIN: "123456789"}),
		}
		for _, e := range steps {
			if err := k.Handle(ctx, e); err != nil {
				t.Fatalf("%s: %v", e.Type, err)
			}
		}
		r, err := k.Report(ctx, at("2025-03-03T00:00:00Z"), at("2025-03-16T00:00:00Z"), []string{engagement.ByWeek})
		if err != nil {
			t.Fatal(err)
		}
		if r.From != "2025-03-03" || r.To != "2025-03-17" || len(r.Rows) != 2 {
			t.Fatalf("report %+v", r)
		}
		w1, w2 := r.Rows[0], r.Rows[1]
		checks := []struct {
			name      string
			got, want int
		}{
			{"access provisioned", w1.AccessProvisioned, 1},
			{"access declined", w1.AccessDeclined, 1},
			{"patients with access", w1.PatientsWithAccess, 1},
			{"portal users", w1.PortalUsers, 1},
			{"portal actions", w1.PortalActions, 1},
			{"messages received", w1.MessagesReceived, 1},
			{"requests answered", w1.RequestsAnswered, 1},
			{"education provided", w1.EducationProvided, 1},
			{"education viewed", w1.EducationViewed, 1},
			{"self-reported", w1.SelfReported, 1},
			{"data incorporated", w1.DataIncorporated, 1},
			{"tablet sessions", w1.TabletSessions, 2},
			{"tablets wiped", w1.TabletsWiped, 1},
			{"messages sent, week 2", w2.MessagesSent, 2},
			{"messages answered, week 2", w2.MessagesAnswered, 1},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
			}
		}
		if w2.ResponseMedian == nil || *w2.ResponseMedian != 2*3600 {
			t.Errorf("response time: %v, want 2 clinic hours", w2.ResponseMedian)
		}
		if w1.RequestResponseMedian == nil || *w1.RequestResponseMedian != 3600 {
			t.Errorf("request response time: %v, want 1 clinic hour", w1.RequestResponseMedian)
		}
		if w1.WipeCompliance == nil || *w1.WipeCompliance != 0.5 {
			t.Errorf("wipe compliance: %v, want 0.5", w1.WipeCompliance)
		}

		// By clinician: the view counts for whoever provided the material.
		r, err = k.Report(ctx, at("2025-03-03T00:00:00Z"), at("2025-03-09T00:00:00Z"), []string{engagement.ByClinician})
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range r.Rows {
			if row.Clinician == "1234567893" && (row.EducationViewed != 1 || row.AccessProvisioned != 1 || row.PortalUsers != 1) {
				t.Errorf("the clinician's row: %+v", row)
			}
		}

		// Deleting the grant takes the access and the portal use it explained away.
		if err := k.Handle(ctx, ev(t, contract.AccessGrantDeleted, "p1", contract.AccessGrantRef{AccessGrantID: "g1", PatientID: "p1"})); err != nil {
			t.Fatal(err)
		}
		r, err = k.Report(ctx, at("2025-03-03T00:00:00Z"), at("2025-03-09T00:00:00Z"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Rows) != 1 || r.Rows[0].AccessProvisioned != 0 || r.Rows[0].PortalUsers != 0 {
			t.Errorf("after deleting the grant: %+v", r.Rows)
		}
		if len(changes) == 0 || changes[len(changes)-1].KPIs[0] != engagement.AccessProvisioned {
			t.Errorf("changes: %+v", changes)
		}
	})
}

func TestParseHours(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		open time.Duration
	}{
		{"08:00-17:00", true, 8 * time.Hour},
		{"07:30-19:15", true, 7*time.Hour + 30*time.Minute},
		{"17:00-08:00", false, 0},
		{"08:00-24:30", false, 0},
		{"8 to 5", false, 0},
	}
	for _, tt := range tests {
		h, err := engagement.ParseHours(tt.in)
		if (err == nil) != tt.ok || tt.ok && h.Open != tt.open {
			t.Errorf("%q: %+v, %v", tt.in, h, err)
		}
	}
}
