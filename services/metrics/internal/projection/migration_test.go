package projection_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/metrics/internal/projection"
)

// before is the package's migrations older than version, as a file system.
func before(t *testing.T, version string) fs.FS {
	t.Helper()
	out := fstest.MapFS{}
	err := fs.WalkDir(projection.Migrations(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if name := d.Name(); name >= version {
			return nil
		}
		data, err := fs.ReadFile(projection.Migrations(), path)
		out[path] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestKeyedFactsMigration: facts stored under 64-character hex keys before 000105 are
// the same facts under its 32-byte keys — read back whole, and retracted by the
// projection's key — in both tables a rebuild and the live state use.
func TestKeyedFactsMigration(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if err := db.Migrate(ctx, before(t, "000105")); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2025, 3, 4, 15, 0, 0, 0, time.UTC)
		f := membership.Fact{Patient: "p-migrated", Entity: contract.Entity{Kind: contract.EntityTINNPI, ID: "123456789/1234567893"},
			Program: measure.Program("mips"), Measure: "PI_PEA_1", Year: 2025, Role: membership.Denominator,
			Ref: "enc-1", At: at, Deadline: at.Add(96 * time.Hour), Because: "event-1"}
		sum := sha256.Sum256([]byte(f.Key()))
		for _, table := range []string{projection.Live.Facts, projection.Rebuild.Facts} {
			_, err := db.ExecContext(ctx, `INSERT INTO `+table+` (fact_key, patient_id, entity_kind, entity_id, program,
				measure, year, object, role, ref, for_ref, channel, at, until, start, deadline, controlled, anytime, out,
				because) VALUES (?, ?, ?, ?, ?, ?, ?, '', ?, ?, '', '', ?, NULL, NULL, ?, 0, 0, '', ?)`,
				hex.EncodeToString(sum[:]), f.Patient, f.Entity.Kind, f.Entity.ID, string(f.Program), f.Measure, f.Year,
				string(f.Role), f.Ref, f.At.UnixNano(), f.Deadline.UnixNano(), f.Because)
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Migrate(ctx, projection.Migrations()); err != nil {
			t.Fatal(err)
		}
		for _, tables := range []projection.Tables{projection.Live, projection.Rebuild} {
			got, err := projection.PatientFacts(ctx, db, tables, f.Patient)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Key() != f.Key() || got[0].Because != f.Because {
				t.Fatalf("%s after the migration: %+v, want %+v", tables.Facts, got, f)
			}
			err = projection.NewSQL(db, tables, projection.Group, false).InTx(ctx, func(st projection.State) error {
				return st.Retract(ctx, []membership.Fact{f})
			})
			if err != nil {
				t.Fatal(err)
			}
			if got, err := projection.PatientFacts(ctx, db, tables, f.Patient); err != nil || len(got) != 0 {
				t.Fatalf("%s after retracting the migrated fact: %d facts (%v), want none", tables.Facts, len(got), err)
			}
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+projection.Live.Facts+` WHERE length(fact_key) <> 32`).
			Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d keys not of 32 bytes (%v)", n, err)
		}
	})
}
