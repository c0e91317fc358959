package provision_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/patientdir"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/education/internal/catalog"
	"github.com/attest-ehr/attest/services/education/internal/chart"
	"github.com/attest-ehr/attest/services/education/internal/match"
	"github.com/attest-ehr/attest/services/education/internal/provision"
	"github.com/attest-ehr/attest/services/education/internal/schema"
)

const patientID = "p1"

var (
	service   = principal.Principal{Kind: principal.Service, ID: "ehr-bridge"}
	past      = time.Date(2020, 3, 2, 10, 0, 0, 0, time.UTC)
	clinician = principal.Principal{Kind: principal.Clinician, ID: "1234567893"}
	patient   = principal.Principal{Kind: principal.Patient, ID: patientID}
	proxy     = principal.Principal{Kind: principal.Proxy, ID: "u9", For: patientID}
)

// world is the service wired over one database, with a small catalog and patient p1.
type world struct {
	db   *store.DB
	cat  *catalog.Catalog
	svc  *provision.Service
	proj *chart.Projection
}

func newWorld(t *testing.T, db *store.DB, mode provision.Mode) *world {
	t.Helper()
	ctx := context.Background()
	if err := db.Migrate(ctx, schema.Migrations()); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	cat := catalog.New(db)
	for _, m := range []catalog.Material{
		mat("t2d", "t2d", "en", contract.Code{System: "icd10cm", Code: "E11"}),
		mat("t2d.es", "t2d", "es", contract.Code{System: "icd10cm", Code: "E11"}),
		mat("asthma", "asthma", "en", contract.Code{System: "icd10cm", Code: "J45"}),
		mat("metformin", "metformin", "en", contract.Code{System: "rxnorm", Code: "6809"}),
		mat("a1c", "a1c", "en", contract.Code{System: "loinc", Code: "4548-4"}),
		mat("old-asthma", "old-asthma", "en", contract.Code{System: "icd10cm", Code: "J45"}),
	} {
		if _, _, err := cat.Add(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cat.Retire(ctx, "old-asthma"); err != nil {
		t.Fatal(err)
	}
	dir := patientdir.New(db, "education.patients", log)
	if err := dir.Handle(ctx, ev(t, contract.PatientRegistered, contract.Patient{PatientID: patientID})); err != nil {
		t.Fatal(err)
	}
	svc := provision.New(db, cat, match.NewMatcher(cat, time.Nanosecond), dir, provision.Config{Mode: mode}, func() {})
	return &world{db: db, cat: cat, svc: svc, proj: chart.New(db, 30*24*time.Hour, svc, nil, log)}
}

func mat(id, topic, lang string, code contract.Code) catalog.Material {
	return catalog.Material{ID: id, Topic: topic, Language: lang, Title: "About " + id, Summary: "Summary.",
		ReadingLevel: 6, Format: catalog.FormatWeb, Content: "Plain text.", Codes: []contract.Code{code}}
}

func ev(t *testing.T, typ string, payload any) event.Event {
	t.Helper()
	e, err := event.New(typ, "records", patientID, time.Now(), time.Now(), payload)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (w *world) handle(t *testing.T, es ...event.Event) {
	t.Helper()
	for _, e := range es {
		if err := w.proj.Handle(context.Background(), e); err != nil {
			t.Fatalf("%s: %v", e.Type, err)
		}
	}
}

func problem(id, code, status string) contract.Problem {
	return contract.Problem{ProblemID: id, PatientID: patientID, Code: contract.Code{System: contract.SystemICD10CM, Code: code},
		Status: status, Recorded: time.Now()}
}

// published returns the education events in the outbox since the last call.
func published(t *testing.T, db *store.DB, seen *int) []event.Event {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT topic, type, key, data, time, recorded_at FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var all []event.Event
	for rows.Next() {
		var e event.Event
		var data, at, recorded string // the outbox keeps times as RFC 3339 text
		if err := rows.Scan(&e.Topic, &e.Type, &e.Subject, &data, &at, &recorded); err != nil {
			t.Fatal(err)
		}
		e.Time, _ = time.Parse(time.RFC3339Nano, at)
		e.RecordedAt, _ = time.Parse(time.RFC3339Nano, recorded)
		if e.Topic != contract.TopicMaterial || e.Subject != patientID {
			t.Errorf("%s published on %s keyed %q", e.Type, e.Topic, e.Subject)
		}
		e.Data = []byte(data)
		all = append(all, e)
	}
	out := all[*seen:]
	*seen = len(all)
	return out
}

func types(es []event.Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Type)
	}
	return out
}

func TestSuggestionsOnNewFacts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db, provision.ModeSuggest)
		var cursor int

		diabetes := ev(t, contract.ProblemRecorded, problem("pr1", "E1165", "active"))
		w.handle(t, diabetes, diabetes) // redelivered: applied once
		got := published(t, db, &cursor)
		if !slices.Equal(types(got), []string{contract.MaterialMatched}) {
			t.Fatalf("after an active diabetes problem: %v, want one match", types(got))
		}
		var m contract.MaterialMatch
		if err := json.Unmarshal(got[0].Data, &m); err != nil {
			t.Fatal(err)
		}
		if m.MaterialID != "t2d" || m.Match != contract.MatchPrefix || m.Code.Code != "E11.65" || m.MaterialCode.Code != "E11" {
			t.Errorf("match = %+v; want t2d by prefix from the normalized E11.65", m)
		}

		steps := []struct {
			name string
			ev   event.Event
			want []string
		}{
			{"the same problem corrected, still active: nothing new", ev(t, contract.ProblemCorrected, problem("pr1", "E11.65", "active")), nil},
			{"an inactive problem suggests nothing", ev(t, contract.ProblemRecorded, problem("pr2", "J45.20", "inactive")), nil},
			{"it becomes active: asthma, not the retired material", ev(t, contract.ProblemCorrected, problem("pr2", "J45.20", "active")),
				[]string{contract.MaterialMatched}},
			{"a medication", ev(t, contract.MedicationRecorded, contract.Medication{MedicationID: "m1", PatientID: patientID,
				Code: contract.Code{System: contract.SystemRxNorm, Code: "6809"}, Status: "active"}), []string{contract.MaterialMatched}},
			{"an old result is not recent", ev(t, contract.ResultRecorded, contract.Result{ResultID: "r0", PatientID: patientID,
				Code: contract.Code{System: contract.SystemLOINC, Code: "4548-4"}, Status: "final",
				Effective: time.Now().AddDate(0, -3, 0)}), nil},
			{"a recent result", ev(t, contract.ResultRecorded, contract.Result{ResultID: "r1", PatientID: patientID,
				Code: contract.Code{System: contract.SystemLOINC, Code: "4548-4"}, Status: "final", Interpretation: "H",
				Effective: time.Now().Add(-time.Hour)}), []string{contract.MaterialMatched}},
			{"the same topic from another problem is not suggested twice", ev(t, contract.ProblemRecorded, problem("pr3", "E11.9", "active")), nil},
		}
		for _, st := range steps {
			w.handle(t, st.ev)
			if got := types(published(t, db, &cursor)); !slices.Equal(got, st.want) {
				t.Errorf("%s: published %v, want %v", st.name, got, st.want)
			}
		}
		sgs, err := w.svc.Suggestions(ctx, patientID)
		if err != nil || len(sgs) != 4 {
			t.Fatalf("Suggestions = %+v, %v; want 4", sgs, err)
		}

		facts, err := w.svc.Facts(ctx, patientID)
		if err != nil || len(facts) != 5 {
			t.Fatalf("Facts = %+v, %v; want 3 problems, 1 medication, 1 recent result", facts, err)
		}
		w.handle(t,
			ev(t, contract.ProblemDeleted, contract.ProblemRef{ProblemID: "pr3", PatientID: patientID}),
			ev(t, contract.MedicationCorrected, contract.Medication{MedicationID: "m1", PatientID: patientID,
				Code: contract.Code{System: contract.SystemRxNorm, Code: "6809"}, Status: "stopped"}))
		if facts, _ := w.svc.Facts(ctx, patientID); len(facts) != 3 {
			t.Fatalf("Facts after a deletion and a stop = %+v; want 3", facts)
		}

		w.handle(t, ev(t, contract.PatientDeleted, contract.PatientRef{PatientID: patientID}))
		facts, _ = w.svc.Facts(ctx, patientID)
		sgs, _ = w.svc.Suggestions(ctx, patientID)
		if len(facts) != 0 || len(sgs) != 0 {
			t.Fatalf("after the patient was deleted: %d facts, %d suggestions; want none", len(facts), len(sgs))
		}
	})
}

func TestBadEventsAreDeadLettered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, provision.ModeSuggest)
		for _, e := range []event.Event{
			ev(t, contract.ProblemRecorded, map[string]any{"problem_id": 7}),
			ev(t, contract.ProblemRecorded, contract.Problem{ProblemID: "x", PatientID: patientID}),
			ev(t, contract.ResultDeleted, contract.ResultRef{PatientID: patientID}),
		} {
			if err := w.proj.Handle(context.Background(), e); !event.IsPermanent(err) {
				t.Errorf("%s %s: %v, want a permanent error", e.Type, e.Data, err)
			}
		}
		// A type added to a topic later is skipped.
		if err := w.proj.Handle(context.Background(), ev(t, "records.problem.reviewed", map[string]any{})); err != nil {
			t.Errorf("unknown type: %v", err)
		}
	})
}

func TestAutomaticProvision(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, provision.ModeProvide)
		var cursor int
		w.handle(t, ev(t, contract.ProblemRecorded, problem("pr1", "J45.909", "active")))
		got := published(t, db, &cursor)
		if !slices.Equal(types(got), []string{contract.MaterialMatched, contract.MaterialProvided}) {
			t.Fatalf("published %v", types(got))
		}
		var p contract.MaterialProvision
		if err := json.Unmarshal(got[1].Data, &p); err != nil {
			t.Fatal(err)
		}
		if !p.IdentifiedBySystem || p.ProvidedBy != contract.ProvidedBySystem || p.Channel != contract.ChannelPortal ||
			p.Reason == nil || p.Reason.Code != "J45.909" || p.NPI != "" {
			t.Errorf("automatic provision = %+v", p)
		}
		sgs, _ := w.svc.Suggestions(context.Background(), patientID)
		if len(sgs) != 1 || sgs[0].Status != provision.SuggestionProvided {
			t.Errorf("suggestions = %+v; want one, provided", sgs)
		}
	})
}

func TestProvideAndOpen(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db, provision.ModeOff)
		var cursor int
		w.handle(t, ev(t, contract.ProblemRecorded, problem("pr1", "E11.9", "active")))
		if got := published(t, db, &cursor); len(got) != 0 {
			t.Fatalf("mode off published %v", types(got))
		}
		if err := w.svc.SetLanguage(ctx, patientID, "es"); err != nil {
			t.Fatal(err)
		}
		ms, err := w.svc.Matches(ctx, patientID, "", 0)
		if err != nil || len(ms) != 1 || ms[0].Material.ID != "t2d.es" {
			t.Fatalf("Matches in the patient's language = %+v, %v", ms, err)
		}

		req := provision.Request{ID: "prov-1", PatientID: patientID, MaterialID: "t2d.es", Channel: contract.ChannelPortal}
		p, created, err := w.svc.Provide(ctx, clinician, req)
		if err != nil || !created {
			t.Fatalf("Provide: %v", err)
		}
		if !p.IdentifiedBySystem || p.NPI != "1234567893" || p.ProvidedBy != contract.ProvidedByClinician ||
			p.Reason == nil || p.Reason.Code != "E11.9" || p.Version != 1 || p.Language != "es" {
			t.Errorf("provision = %+v", p)
		}
		if _, created, err := w.svc.Provide(ctx, clinician, req); err != nil || created {
			t.Fatalf("retry: created=%v err=%v; want an idempotent success", created, err)
		}
		if got := types(published(t, db, &cursor)); !slices.Equal(got, []string{contract.MaterialProvided}) {
			t.Fatalf("after provide and its retry: %v", got)
		}

		// A material the record does not call for: provided, but not identified by the system.
		other, _, err := w.svc.Provide(ctx, principal.Principal{Kind: principal.Staff, ID: "s1"},
			provision.Request{PatientID: patientID, MaterialID: "asthma", Channel: contract.ChannelPrint})
		if err != nil || other.IdentifiedBySystem || other.Reason != nil || other.ProvidedBy != contract.ProvidedByStaff {
			t.Fatalf("unmatched provision = %+v, %v", other, err)
		}
		published(t, db, &cursor)

		if _, _, err := w.svc.Open(ctx, clinician, p.ID); errs.KindOf(err) != errs.Forbidden {
			t.Fatalf("a clinician opening: %v, want Forbidden", err)
		}
		if _, _, err := w.svc.Open(ctx, principal.Principal{Kind: principal.Patient, ID: "p2"}, p.ID); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("another patient opening: %v, want NotFound", err)
		}
		opened, m, err := w.svc.Open(ctx, patient, p.ID)
		if err != nil || opened.Views != 1 || opened.FirstViewed == nil || m.ID != "t2d.es" || m.Content == "" {
			t.Fatalf("Open = %+v, %+v, %v", opened, m, err)
		}
		if again, _, err := w.svc.Open(ctx, proxy, p.ID); err != nil || again.Views != 2 || !again.FirstViewed.Equal(*opened.FirstViewed) {
			t.Fatalf("second Open = %+v, %v", again, err)
		}
		got := published(t, db, &cursor)
		if !slices.Equal(types(got), []string{contract.MaterialViewed}) {
			t.Fatalf("after two openings: %v, want one viewed", types(got))
		}
		var v contract.MaterialView
		if err := json.Unmarshal(got[0].Data, &v); err != nil || v.ProvisionID != p.ID || v.ByProxy {
			t.Errorf("viewed = %+v, %v", v, err)
		}

		// The catalog moves on; the provision keeps pointing at what was given.
		upd := mat("t2d.es", "t2d", "es", contract.Code{System: "icd10cm", Code: "E11"})
		upd.Title = "Nuevo título"
		if _, err := w.cat.Update(ctx, upd); err != nil {
			t.Fatal(err)
		}
		if _, m, _ := w.svc.Open(ctx, patient, p.ID); m.Version != 1 || m.Title != "About t2d.es" {
			t.Errorf("opened version %d %q, want version 1 as provided", m.Version, m.Title)
		}
		list, err := w.svc.List(ctx, patientID)
		if err != nil || len(list) != 2 {
			t.Fatalf("List = %+v, %v", list, err)
		}
	})
}

func TestProvideRefusals(t *testing.T) {
	good := provision.Request{PatientID: patientID, MaterialID: "t2d", Channel: contract.ChannelPortal}
	tests := []struct {
		name   string
		who    principal.Principal
		modify func(*provision.Request)
		kind   errs.Kind
		field  string
	}{
		{"a patient cannot provide", patient, nil, errs.Forbidden, ""},
		{"a clinician without a valid NPI", principal.Principal{Kind: principal.Clinician, ID: "1234567890"}, nil, errs.Forbidden, principal.Header},
		{"no patient", clinician, func(r *provision.Request) { r.PatientID = "" }, errs.Invalid, "patient_id"},
		{"unknown patient", clinician, func(r *provision.Request) { r.PatientID = "p404" }, errs.Unprocessable, "patient_id"},
		{"no material", clinician, func(r *provision.Request) { r.MaterialID = "" }, errs.Invalid, "material_id"},
		{"unknown material", clinician, func(r *provision.Request) { r.MaterialID = "nope" }, errs.Unprocessable, "material_id"},
		{"retired material", clinician, func(r *provision.Request) { r.MaterialID = "old-asthma" }, errs.Unprocessable, "material_id"},
		{"bad channel", clinician, func(r *provision.Request) { r.Channel = "fax" }, errs.Invalid, "channel"},
		{"bad reason", clinician, func(r *provision.Request) { r.Reason = &contract.Code{System: "loinc", Code: "1-1"} }, errs.Invalid, "reason.code"},
		{"bad id", clinician, func(r *provision.Request) { r.ID = "a/b" }, errs.Invalid, "id"},
		{"a clinician cannot date a provision", clinician, func(r *provision.Request) { r.Provided = ptr(past) }, errs.Forbidden, "provided"},
		{"staff cannot name the credit", principal.Principal{Kind: principal.Staff, ID: "s1"}, func(r *provision.Request) { r.CCN = "140001" }, errs.Forbidden, "provided"},
		{"recorded without a date", service, func(r *provision.Request) { r.NPI = "1234567893" }, errs.Invalid, "provided"},
		{"recorded in the future", service, func(r *provision.Request) { r.Provided = ptr(time.Now().Add(time.Hour)) }, errs.Invalid, "provided"},
		{"recorded with a bad NPI", service, func(r *provision.Request) { r.Provided, r.NPI = ptr(past), "1234567890" }, errs.Invalid, "npi"},
		{"recorded with a bad TIN", service, func(r *provision.Request) { r.Provided, r.NPI, r.TIN = ptr(past), "1234567893", "12-3456789" }, errs.Invalid, "tin"},
		{"recorded with a bad CCN", service, func(r *provision.Request) { r.Provided, r.CCN = ptr(past), "14" }, errs.Invalid, "ccn"},
		{"recorded for a group and a hospital", service, func(r *provision.Request) {
			r.Provided, r.NPI, r.TIN, r.CCN = ptr(past), "1234567893", "123456789", "140001"
		}, errs.Invalid, "ccn"},
		{"recorded for a group without its clinician", service, func(r *provision.Request) { r.Provided, r.TIN = ptr(past), "123456789" }, errs.Invalid, "npi"},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, provision.ModeSuggest)
		var cursor int
		published(t, db, &cursor)
		for _, tt := range tests {
			req := good
			if tt.modify != nil {
				tt.modify(&req)
			}
			_, _, err := w.svc.Provide(context.Background(), tt.who, req)
			if errs.KindOf(err) != tt.kind || errs.FieldOf(err) != tt.field {
				t.Errorf("%s: %v, want kind %v on %q", tt.name, err, tt.kind, tt.field)
			}
		}
		if got := published(t, db, &cursor); len(got) != 0 {
			t.Errorf("refused provisions published %v", types(got))
		}
		if list, _ := w.svc.List(context.Background(), patientID); len(list) != 0 {
			t.Errorf("refused provisions stored %d rows", len(list))
		}
	})
}

func ptr[T any](v T) *T { return &v }

// TestRecordedProvision: a service account records provisions made in the source EHR,
// dated then and credited as it says; the event carries the clinical time, and a
// retry with a different date is a conflict.
func TestRecordedProvision(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db, provision.ModeOff)
		var cursor int
		tests := []struct {
			name          string
			req           provision.Request
			identified    bool
			by            string
			npi, tin, ccn string
		}{
			{"a clinician in a group, identified by the source EHR (not by this record)",
				provision.Request{ID: "rec-1", MaterialID: "asthma", Provided: ptr(past), NPI: "1234567893", TIN: "123456789", IdentifiedBySystem: ptr(true)},
				true, contract.ProvidedByClinician, "1234567893", "123456789", ""},
			{"hospital staff, not identified",
				provision.Request{ID: "rec-2", MaterialID: "a1c", Provided: ptr(past.Add(time.Hour)), CCN: "140001", IdentifiedBySystem: ptr(false)},
				false, contract.ProvidedByStaff, "", "", "140001"},
			{"identification left to this record: none matches",
				provision.Request{ID: "rec-3", MaterialID: "metformin", Provided: ptr(past.Add(2 * time.Hour)), CCN: "140001"},
				false, contract.ProvidedByStaff, "", "", "140001"},
		}
		for _, tt := range tests {
			req := tt.req
			req.PatientID, req.Channel = patientID, contract.ChannelPortal
			p, created, err := w.svc.Provide(ctx, service, req)
			if err != nil || !created {
				t.Fatalf("%s: Provide: %v", tt.name, err)
			}
			if p.IdentifiedBySystem != tt.identified || p.ProvidedBy != tt.by || p.NPI != tt.npi || p.TIN != tt.tin || p.CCN != tt.ccn ||
				!p.Provided.Equal(*req.Provided) {
				t.Errorf("%s: provision %+v", tt.name, p)
			}
			if got, err := w.svc.Get(ctx, p.ID); err != nil || got.TIN != tt.tin || got.CCN != tt.ccn || !got.Provided.Equal(*req.Provided) {
				t.Errorf("%s: stored %+v, %v", tt.name, got, err)
			}
			evs := published(t, db, &cursor)
			if len(evs) != 1 {
				t.Fatalf("%s: published %v", tt.name, types(evs))
			}
			var mp contract.MaterialProvision
			if err := json.Unmarshal(evs[0].Data, &mp); err != nil {
				t.Fatal(err)
			}
			if mp.NPI != tt.npi || mp.TIN != tt.tin || mp.CCN != tt.ccn || mp.IdentifiedBySystem != tt.identified || !mp.Provided.Equal(*req.Provided) {
				t.Errorf("%s: event %+v", tt.name, mp)
			}
			if !evs[0].Time.Equal(*req.Provided) || time.Since(evs[0].RecordedAt) > time.Minute {
				t.Errorf("%s: event dated %v, recorded %v: want the clinical time and now", tt.name, evs[0].Time, evs[0].RecordedAt)
			}
			// A retry is absorbed; the same ID with another date is a conflict.
			if _, created, err := w.svc.Provide(ctx, service, req); err != nil || created {
				t.Errorf("%s: retry created=%v err=%v", tt.name, created, err)
			}
			moved := req
			moved.Provided = ptr(req.Provided.Add(24 * time.Hour))
			if _, _, err := w.svc.Provide(ctx, service, moved); errs.KindOf(err) != errs.Conflict {
				t.Errorf("%s: same id, another date: %v, want Conflict", tt.name, err)
			}
		}
		if got := published(t, db, &cursor); len(got) != 0 {
			t.Errorf("retries published %v", types(got))
		}
	})
}
