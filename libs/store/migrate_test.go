package store_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
)

func TestMigrateBaseTables(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if db.Migrated() {
			t.Fatal("Migrated() true before Migrate")
		}
		for i := range 2 { // the second run has nothing to do, which is success
			if err := db.Migrate(ctx, nil); err != nil {
				t.Fatalf("run %d: %v", i+1, err)
			}
		}
		if !db.Migrated() {
			t.Error("Migrated() false after Migrate")
		}
		for _, table := range []string{"outbox", "processed_events"} {
			var n int
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
				t.Errorf("table %s: %v", table, err)
			}
		}
		var version int
		if err := db.QueryRowContext(ctx, "SELECT version FROM schema_migrations").Scan(&version); err != nil || version != 2 {
			t.Errorf("version = %d, %v; want 2", version, err)
		}
	})
}

func TestMigrateServiceMigrations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if err := db.Migrate(ctx, itemsMigrations); err != nil {
			t.Fatal(err)
		}
		var version int
		if err := db.QueryRowContext(ctx, "SELECT version FROM schema_migrations").Scan(&version); err != nil || version != 101 {
			t.Errorf("version = %d, %v; want 101", version, err)
		}
		// Adding a migration later applies only the new one.
		more := fstest.MapFS{}
		for k, v := range itemsMigrations {
			more[k] = v
		}
		more[string(db.Dialect())+"/000102_more.up.sql"] = &fstest.MapFile{Data: []byte("ALTER TABLE items ADD COLUMN extra TEXT;")}
		if err := db.Migrate(ctx, more); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO items (name, extra) VALUES (?, ?)", "x", "y"); err != nil {
			t.Error(err)
		}
	})
}

func TestMigrateRejects(t *testing.T) {
	tests := []struct {
		name       string
		migrations func(d store.Dialect) fstest.MapFS
		want       []string
		wantKind   errs.Kind
	}{
		{
			name: "version reserved for store",
			migrations: func(d store.Dialect) fstest.MapFS {
				return fstest.MapFS{string(d) + "/000099_early.up.sql": {Data: []byte("SELECT 1;")}}
			},
			want:     []string{"000099_early.up.sql", "reserved", "100"},
			wantKind: errs.Invalid,
		},
		{
			name: "badly named file",
			migrations: func(d store.Dialect) fstest.MapFS {
				return fstest.MapFS{string(d) + "/items.sql": {Data: []byte("SELECT 1;")}}
			},
			want:     []string{"items.sql", "NNNNNN_name.up.sql"},
			wantKind: errs.Invalid,
		},
		{
			name: "no folder for the dialect",
			migrations: func(store.Dialect) fstest.MapFS {
				return fstest.MapFS{"mysql/000100_x.up.sql": {Data: []byte("SELECT 1;")}}
			},
			want: []string{"folder"},
		},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := db.Migrate(t.Context(), tt.migrations(db.Dialect()))
				if err == nil {
					t.Fatal("Migrate succeeded, want an error")
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				if tt.wantKind != errs.Other && errs.KindOf(err) != tt.wantKind {
					t.Errorf("kind = %v, want %v", errs.KindOf(err), tt.wantKind)
				}
				if db.Migrated() {
					t.Error("Migrated() true after a failed Migrate")
				}
			})
		}
	})
}

// TestMigrateDirty: a migration that fails leaves the database dirty, and the next
// Migrate says so, naming the version, instead of carrying on.
func TestMigrateDirty(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		broken := fstest.MapFS{
			string(db.Dialect()) + "/000100_broken.up.sql": {Data: []byte("CREATE TABLE ok (x INTEGER); THIS IS NOT SQL;")},
		}
		err := db.Migrate(ctx, broken)
		if err == nil {
			t.Fatal("broken migration succeeded")
		}
		err = db.Migrate(ctx, broken)
		if err == nil || !strings.Contains(err.Error(), "dirty at version 100") {
			t.Fatalf("second Migrate error = %v, want one naming dirty version 100", err)
		}
	})
}
