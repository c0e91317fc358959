package patientdir_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/patientdir"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
)

// migrations is the table the owning service creates, as its package doc says.
const ddl = `CREATE TABLE patients (patient_id TEXT PRIMARY KEY, organization_id TEXT NOT NULL DEFAULT '')`

var migrations = fstest.MapFS{
	"sqlite/000100_patients.up.sql":   {Data: []byte(ddl)},
	"postgres/000100_patients.up.sql": {Data: []byte(ddl)},
}

func ev(t *testing.T, typ string, payload any) event.Event {
	t.Helper()
	e, err := event.New(typ, "records", "p1", time.Now(), time.Now(), payload)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestDirectory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.Migrate(ctx, migrations); err != nil {
			t.Fatal(err)
		}
		d := patientdir.New(db, "test.patients", slog.New(slog.DiscardHandler))
		if _, err := d.Lookup(ctx, "p1"); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("unknown patient: %v", err)
		}
		registered := ev(t, contract.PatientRegistered, contract.Patient{PatientID: "p1", OrganizationID: "org-1"})
		moved := ev(t, contract.PatientUpdated, contract.Patient{PatientID: "p1", OrganizationID: "org-2"})
		for _, e := range []event.Event{registered, moved, registered} { // the registration redelivered last
			if err := d.Handle(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		p, err := d.Lookup(ctx, "p1")
		if err != nil || p.OrganizationID != "org-2" {
			t.Fatalf("Lookup = %+v, %v; a redelivered registration must not undo the update", p, err)
		}

		mux := http.NewServeMux()
		d.Routes(mux, slog.New(slog.DiscardHandler))
		for path, want := range map[string]int{"/v1/patients/p1": 200, "/v1/patients/p2": 404} {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != want {
				t.Errorf("GET %s = %d %s, want %d", path, rec.Code, rec.Body, want)
			}
		}

		if err := d.Handle(ctx, ev(t, contract.PatientDeleted, contract.PatientRef{PatientID: "p1"})); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Lookup(ctx, "p1"); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("deleted patient: %v", err)
		}
		bad := ev(t, contract.PatientRegistered, map[string]any{"patient_id": 12})
		if err := d.Handle(ctx, bad); !event.IsPermanent(err) {
			t.Fatalf("bad payload: %v, want permanent", err)
		}
		empty := ev(t, contract.PatientRegistered, contract.Patient{})
		if err := d.Handle(ctx, empty); !event.IsPermanent(err) {
			t.Fatalf("payload without an ID: %v, want permanent", err)
		}
	})
}
