package clinicdir_test

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/gateway/internal/clinicdir"
)

func ev(t *testing.T, typ, subject string, payload any) event.Event {
	t.Helper()
	e, err := event.New(typ, "records", subject, time.Now(), time.Now(), payload)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const (
	tinNorth, tinSouth = "111111111", "222222222"
	npiA, npiB, npiC   = "1234567893", "1245319599", "1679576722"
)

// TestEntityClinics follows the directory as records writes it: groups put TINs in
// organizations (clinics), clinicians bill under TINs, hospitals have CCNs; an explicit
// mapping adds to it. Every answer is checked after each step, so a step that is not
// applied (or applied twice, or out of order) shows.
func TestEntityClinics(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.Migrate(ctx, os.DirFS("../../migrations")); err != nil {
			t.Fatal(err)
		}
		d := clinicdir.New(db, "test.clinics", slog.New(slog.DiscardHandler))
		check := func(step string, want map[string][]string) {
			t.Helper()
			for entity, w := range want {
				got, err := d.EntityClinics(ctx, entity)
				if err != nil {
					t.Fatalf("%s: EntityClinics(%s): %v", step, entity, err)
				}
				if !slices.Equal(got, w) {
					t.Errorf("%s: EntityClinics(%s) = %q, want %q", step, entity, got, w)
				}
			}
		}
		apply := func(es ...event.Event) {
			t.Helper()
			if err := d.HandleBatch(ctx, es); err != nil {
				t.Fatal(err)
			}
		}
		// A clinician may arrive before the groups they bill under (separate topics).
		drA := ev(t, contract.ClinicianRecorded, "dr-a", contract.Clinician{ClinicianID: "dr-a", NPI: npiA, TINs: []string{tinNorth, tinSouth}})
		apply(drA)
		check("clinician before groups", map[string][]string{"npi:" + npiA: nil})

		north := ev(t, contract.GroupRecorded, "g-north", contract.Group{GroupID: "g-north", OrganizationID: "clinic1", TIN: tinNorth})
		apply(north,
			ev(t, contract.GroupRecorded, "g-south", contract.Group{GroupID: "g-south", OrganizationID: "clinic2", TIN: tinSouth}),
			ev(t, contract.ClinicianRecorded, "dr-b", contract.Clinician{ClinicianID: "dr-b", NPI: npiB, TINs: []string{tinSouth}}),
			ev(t, contract.ClinicianRecorded, "dr-c", contract.Clinician{ClinicianID: "dr-c", NPI: npiC}), // bills under no group
			ev(t, contract.HospitalRecorded, "h1", contract.Hospital{HospitalID: "h1", OrganizationID: "hs", CCN: "100001"}))
		check("directory", map[string][]string{
			"tin:" + tinNorth:                  {"clinic1"},
			"tin:" + tinSouth:                  {"clinic2"},
			"npi:" + npiA:                      {"clinic1", "clinic2"},
			"npi:" + npiB:                      {"clinic2"},
			"npi:" + npiC:                      nil,
			"tin_npi:" + tinNorth + "/" + npiA: {"clinic1"},
			"ccn:100001":                       {"hs"},
			"tin:999999999":                    nil,
			"not an entity":                    nil,
		})

		// An officer's explicit mapping of a TIN covers its clinicians too.
		if _, err := db.ExecContext(ctx, `INSERT INTO clinic_entities (clinic, entity) VALUES (?, ?), (?, ?)`,
			"demo-clinic", "tin:"+tinSouth, "solo", "npi:"+npiC); err != nil {
			t.Fatal(err)
		}
		check("explicit mappings", map[string][]string{
			"tin:" + tinSouth:                  {"clinic2", "demo-clinic"},
			"npi:" + npiA:                      {"clinic1", "clinic2", "demo-clinic"},
			"npi:" + npiB:                      {"clinic2", "demo-clinic"},
			"npi:" + npiC:                      {"solo"},
			"tin_npi:" + tinSouth + "/" + npiB: {"clinic2", "demo-clinic"},
		})

		// A correction replaces the clinician's TINs; a redelivered event changes nothing.
		apply(ev(t, contract.ClinicianCorrected, "dr-a", contract.Clinician{ClinicianID: "dr-a", NPI: npiA, TINs: []string{tinNorth}}), drA)
		check("correction", map[string][]string{"npi:" + npiA: {"clinic1"}})

		// A group moved to another organization, a group and a hospital deleted.
		apply(ev(t, contract.GroupCorrected, "g-north", contract.Group{GroupID: "g-north", OrganizationID: "clinic3", TIN: tinNorth}),
			ev(t, contract.GroupDeleted, "g-south", contract.GroupRef{GroupID: "g-south"}),
			ev(t, contract.HospitalDeleted, "h1", contract.HospitalRef{HospitalID: "h1"}),
			ev(t, contract.ClinicianDeleted, "dr-b", contract.ClinicianRef{ClinicianID: "dr-b"}))
		check("moves and deletions", map[string][]string{
			"npi:" + npiA:     {"clinic3"},
			"tin:" + tinSouth: {"demo-clinic"},
			"npi:" + npiB:     nil, // removed: no longer bills under the mapped TIN
			"ccn:100001":      nil,
		})

		// An event without its ID can never apply: dead-lettered, not retried.
		err := d.Handle(ctx, ev(t, contract.GroupRecorded, "x", contract.Group{TIN: tinNorth}))
		if err == nil || !event.IsPermanent(err) {
			t.Errorf("a group without an ID: %v, want a permanent error", err)
		}
	})
}
