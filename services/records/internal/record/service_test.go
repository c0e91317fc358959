package record_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/phi"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/records/internal/record"
)

func newService(t *testing.T, db *store.DB) *record.Service {
	t.Helper()
	if err := db.Migrate(context.Background(), record.Migrations()); err != nil {
		t.Fatal(err)
	}
	return record.NewService(db, func() {})
}

func patient(mrn string) record.Patient {
	return record.Patient{
		OrganizationID: "org-1",
		MRN:            record.MRN{System: "urn:oid:1.2.3", Value: phi.Identifier(mrn)},
		Name:           record.HumanName{Given: []phi.Name{"Ann"}, Family: "Example"},
		BirthDate:      "1970-01-02",
		Sex:            "female",
	}
}

func officeVisit(patientID string) record.Encounter {
	return record.Encounter{
		PatientID: patientID, Class: contract.ClassOffice,
		Start:        time.Date(2025, 3, 4, 14, 30, 0, 0, time.UTC),
		RenderingNPI: "1234567893", BillingTIN: "123456789", POS: "11",
	}
}

type published struct {
	Topic, Type, Key string
	Data             json.RawMessage
}

// outboxEvents lists what the service has queued for Kafka, oldest first.
func outboxEvents(t *testing.T, db *store.DB) []published {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT topic, type, key, data FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []published
	for rows.Next() {
		var p published
		var data string
		if err := rows.Scan(&p.Topic, &p.Type, &p.Key, &data); err != nil {
			t.Fatal(err)
		}
		p.Data = json.RawMessage(data)
		out = append(out, p)
	}
	return out
}

func types(ps []published) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Type)
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPatientLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)

		p, created, err := s.RegisterPatient(ctx, patient("MRN-1"))
		if err != nil || !created || p.ID == "" || p.Version != 1 {
			t.Fatalf("RegisterPatient = %+v, %v, %v", p, created, err)
		}
		// An identical retry with the assigned ID is absorbed: no second event.
		again := patient("MRN-1")
		again.ID = p.ID
		if _, created, err := s.RegisterPatient(ctx, again); err != nil || created {
			t.Fatalf("retry: created=%v err=%v, want an idempotent success", created, err)
		}
		// The same ID with different content is a conflict.
		other := patient("MRN-2")
		other.ID = p.ID
		if _, _, err := s.RegisterPatient(ctx, other); errs.KindOf(err) != errs.Conflict {
			t.Fatalf("same id, different content: %v, want Conflict", err)
		}
		// Another patient with the same MRN is a conflict naming the field.
		if _, _, err := s.RegisterPatient(ctx, patient("MRN-1")); errs.KindOf(err) != errs.Conflict || errs.FieldOf(err) != "mrn" {
			t.Fatalf("duplicate MRN: %v, want Conflict on mrn", err)
		}
		got, err := s.Patient(ctx, p.ID)
		if err != nil || got.Name.Family.Reveal() != "Example" || got.BirthDate.Reveal() != "1970-01-02" ||
			len(got.Name.Given) != 1 || got.Name.Given[0].Reveal() != "Ann" {
			t.Fatalf("Patient = %+v, %v", got, err)
		}
		evs := outboxEvents(t, db)
		if !equal(types(evs), []string{contract.PatientRegistered}) || evs[0].Key != p.ID || evs[0].Topic != contract.TopicPatient {
			t.Fatalf("events = %+v", evs)
		}
		// The event carries no PHI.
		var payload map[string]any
		if err := json.Unmarshal(evs[0].Data, &payload); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"name", "birth_date", "mrn"} {
			if _, ok := payload[k]; ok {
				t.Errorf("patient event carries %q", k)
			}
		}
	})
}

func TestEncounterLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		p, _, err := s.RegisterPatient(ctx, patient("MRN-1"))
		if err != nil {
			t.Fatal(err)
		}
		e, created, err := s.RecordEncounter(ctx, officeVisit(p.ID))
		if err != nil || !created {
			t.Fatalf("RecordEncounter: %v", err)
		}
		retry := officeVisit(p.ID)
		retry.ID = e.ID
		if _, created, err := s.RecordEncounter(ctx, retry); err != nil || created {
			t.Fatalf("retry: created=%v err=%v", created, err)
		}
		// A correction that changes nothing publishes nothing.
		if _, err := s.CorrectEncounter(ctx, retry); err != nil {
			t.Fatal(err)
		}
		fixed := retry
		fixed.RenderingNPI = "1245319599"
		c, err := s.CorrectEncounter(ctx, fixed)
		if err != nil || c.Version != 2 || c.RenderingNPI != "1245319599" {
			t.Fatalf("CorrectEncounter = %+v, %v", c, err)
		}
		moved := fixed
		moved.PatientID = "someone-else"
		if _, err := s.CorrectEncounter(ctx, moved); errs.KindOf(err) != errs.Unprocessable {
			t.Fatalf("moving an encounter: %v, want Unprocessable", err)
		}
		if err := s.DeletePatient(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Encounter(ctx, e.ID); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("encounter after patient deletion: %v, want NotFound", err)
		}
		want := []string{contract.PatientRegistered, contract.EncounterRecorded, contract.EncounterCorrected,
			contract.EncounterDeleted, contract.PatientDeleted}
		evs := outboxEvents(t, db)
		if !equal(types(evs), want) {
			t.Fatalf("events = %v, want %v", types(evs), want)
		}
		for _, ev := range evs {
			if ev.Key != p.ID {
				t.Errorf("%s keyed %q, want the patient ID", ev.Type, ev.Key)
			}
		}
		var enc contract.Encounter
		if err := json.Unmarshal(evs[2].Data, &enc); err != nil || enc.RenderingNPI != "1245319599" || !enc.Start.Equal(e.Start) {
			t.Fatalf("corrected payload = %+v, %v", enc, err)
		}
	})
}

func TestRecordEncounterRefusals(t *testing.T) {
	end := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		modify func(*record.Encounter)
		kind   errs.Kind
		field  string
	}{
		{"unknown patient", func(e *record.Encounter) { e.PatientID = "nobody" }, errs.Unprocessable, "patient_id"},
		{"no patient", func(e *record.Encounter) { e.PatientID = "" }, errs.Invalid, "patient_id"},
		{"bad class", func(e *record.Encounter) { e.Class = "spa" }, errs.Invalid, "class"},
		{"no start", func(e *record.Encounter) { e.Start = time.Time{} }, errs.Invalid, "start"},
		{"end before start", func(e *record.Encounter) { e.End = &end }, errs.Invalid, "end"},
		{"bad NPI", func(e *record.Encounter) { e.RenderingNPI = "1234567890" }, errs.Invalid, "rendering_npi"},
		{"bad TIN", func(e *record.Encounter) { e.BillingTIN = "12-345" }, errs.Invalid, "billing_tin"},
		{"office without NPI", func(e *record.Encounter) { e.RenderingNPI, e.BillingTIN = "", "" }, errs.Invalid, "rendering_npi"},
		{"inpatient without CCN", func(e *record.Encounter) { e.Class = contract.ClassInpatient }, errs.Invalid, "ccn"},
		{"bad CCN", func(e *record.Encounter) { e.CCN = "12345" }, errs.Invalid, "ccn"},
		{"bad POS", func(e *record.Encounter) { e.POS = "2A" }, errs.Invalid, "pos"},
		{"bad id", func(e *record.Encounter) { e.ID = "a/b" }, errs.Invalid, "id"},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		p, _, err := s.RegisterPatient(ctx, patient("MRN-1"))
		if err != nil {
			t.Fatal(err)
		}
		before := len(outboxEvents(t, db))
		for _, tt := range tests {
			e := officeVisit(p.ID)
			tt.modify(&e)
			_, _, err := s.RecordEncounter(ctx, e)
			if errs.KindOf(err) != tt.kind || errs.FieldOf(err) != tt.field {
				t.Errorf("%s: error %v, want kind %v on field %q", tt.name, err, tt.kind, tt.field)
			}
		}
		if after := len(outboxEvents(t, db)); after != before {
			t.Errorf("refused encounters wrote %d events", after-before)
		}
	})
}

func TestPatientValidation(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*record.Patient)
		field  string
	}{
		{"no MRN system", func(p *record.Patient) { p.MRN.System = "" }, "mrn.system"},
		{"no MRN value", func(p *record.Patient) { p.MRN.Value = " " }, "mrn.value"},
		{"no family name", func(p *record.Patient) { p.Name.Family = "" }, "name.family"},
		{"no birth date", func(p *record.Patient) { p.BirthDate = "" }, "birth_date"},
		{"bad birth date", func(p *record.Patient) { p.BirthDate = "02/01/1970" }, "birth_date"},
		{"future birth date", func(p *record.Patient) { p.BirthDate = "2999-01-01" }, "birth_date"},
		{"bad sex", func(p *record.Patient) { p.Sex = "F" }, "sex"},
		{"long id", func(p *record.Patient) { p.ID = string(make([]byte, 65)) }, "id"},
	}
	for _, tt := range tests {
		p := patient("MRN-1")
		tt.modify(&p)
		err := p.Validate()
		if errs.KindOf(err) != errs.Invalid || errs.FieldOf(err) != tt.field {
			t.Errorf("%s: %v, want Invalid on %q", tt.name, err, tt.field)
		}
	}
	if err := patient("MRN-1").Validate(); err != nil {
		t.Errorf("valid patient: %v", err)
	}
}
