package record_test

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/records/internal/record"
)

// upTo100 returns the service's migrations up to and including version 000100.
func upTo100(t *testing.T) fs.FS {
	t.Helper()
	out := fstest.MapFS{}
	err := fs.WalkDir(record.Migrations(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(path, "/000100_") {
			return err
		}
		data, err := fs.ReadFile(record.Migrations(), path)
		out[path] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMigrationKeepsRecords writes a patient and an encounter in the first schema, as
// the first version of the service did, migrates, and reads them through the service.
func TestMigrationKeepsRecords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.Migrate(ctx, upTo100(t)); err != nil {
			t.Fatal(err)
		}
		created := time.Date(2025, 3, 4, 14, 0, 0, 0, time.UTC)
		start := time.Date(2025, 3, 4, 14, 30, 0, 0, time.UTC)
		end := start.Add(30 * time.Minute)
		if _, err := db.ExecContext(ctx, `INSERT INTO patients (id, organization_id, mrn_system, mrn_value, given, family,
			birth_date, sex, version, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			"p-old", "", "urn:oid:1.2.3", "MRN-OLD", `["Ann","B"]`, "Example", "1970-01-02", "female", 1, created, created); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO encounters (id, patient_id, class, start_at, end_at, rendering_npi,
			billing_tin, ccn, location_id, pos, version, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			"e-old", "p-old", "office", start, end, npi1, "123456789", "", "", "11", 2, created, created); err != nil {
			t.Fatal(err)
		}

		a := newAPI(t, db, record.Config{})
		p, err := a.svc.Patients.Get(ctx, "p-old")
		if err != nil || p.MRN.Value.Reveal() != "MRN-OLD" || len(p.Name.Given) != 2 || p.Name.Given[1].Reveal() != "B" ||
			p.Name.Family.Reveal() != "Example" || p.BirthDate.Reveal() != "1970-01-02" || p.Sex != "female" ||
			p.Version != 1 || !p.Created.Equal(created) {
			t.Fatalf("patient after migration = %+v, %v", p, err)
		}
		e, err := a.svc.Encounters.Get(ctx, "e-old")
		if err != nil || e.PatientID != "p-old" || !e.Start.Equal(start) || e.End == nil || !e.End.Equal(end) ||
			e.RenderingNPI != npi1 || e.BillingTIN != "123456789" || e.POS != "11" || e.Version != 2 {
			t.Fatalf("encounter after migration = %+v, %v", e, err)
		}
		// The MRN is still unique, and the converted rows behave like new ones: the
		// same content again changes nothing and publishes nothing.
		if _, _, err := a.svc.Patients.Create(ctx, record.Patient{MRN: p.MRN, Name: p.Name, BirthDate: p.BirthDate, Sex: "male"}); err == nil {
			t.Error("a second patient with the migrated MRN was accepted")
		}
		if _, err := a.svc.Encounters.Correct(ctx, e); err != nil {
			t.Fatal(err)
		}
		if evs := a.outbox(); len(evs) != 0 {
			t.Errorf("migrated rows published %v", types(evs))
		}
		// They are listed under their patient.
		if got, err := a.svc.Encounters.List(ctx, "p-old", "", 10); err != nil || len(got.Items) != 1 {
			t.Errorf("list = %+v, %v", got, err)
		}
	})
}

// TestDownMigrationsRestoreTheFirstSchema runs the down migrations from the latest
// version back to 000100 by hand and reads the rows in the first schema.
func TestDownMigrationsRestoreTheFirstSchema(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := newAPI(t, db, record.Config{})
		f := a.setUp()
		downs, err := fs.Glob(record.Migrations(), string(db.Dialect())+"/*.down.sql")
		if err != nil {
			t.Fatal(err)
		}
		for i := len(downs) - 1; i >= 0 && !strings.Contains(downs[i], "/000100_"); i-- {
			sql, err := fs.ReadFile(record.Migrations(), downs[i])
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, string(sql)); err != nil {
				t.Fatalf("%s: %v", downs[i], err)
			}
		}
		var family, class, npi string
		var start time.Time
		err = db.QueryRowContext(ctx, `SELECT p.family, e.class, e.rendering_npi, e.start_at FROM patients p
			JOIN encounters e ON e.patient_id = p.id WHERE p.id = ?`, f.patient).Scan(&family, &class, &npi, &start)
		if err != nil || family != "Example"+canary || class != "office" || npi != npi1 || !start.Equal(time.Date(2025, 3, 4, 14, 30, 0, 0, time.UTC)) {
			t.Errorf("after the down migrations: %q %q %q %v, %v", family, class, npi, start, err)
		}
	})
}
