package store_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
)

func TestOpenRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  store.Config
		want []string // substrings of the error
	}{
		{"empty service", store.Config{URL: "sqlite:x.db"}, []string{"Service", "lower-case identifier"}},
		{"upper-case service", store.Config{URL: "sqlite:x.db", Service: "Records"}, []string{"Service", `"Records"`}},
		{"service with dash", store.Config{URL: "sqlite:x.db", Service: "my-svc"}, []string{"Service"}},
		{"pg_ service", store.Config{URL: "sqlite:x.db", Service: "pg_records"}, []string{"pg_"}},
		{"too long service", store.Config{URL: "sqlite:x.db", Service: strings.Repeat("a", 64)}, []string{"63"}},
		{"unknown scheme", store.Config{URL: "mysql://localhost/x", Service: "records"}, []string{"URL", `"mysql"`, "postgres://"}},
		{"no scheme", store.Config{URL: "/tmp/x.db", Service: "records"}, []string{"unsupported scheme"}},
		{"sqlite with host", store.Config{URL: "sqlite://data/x.db", Service: "records"}, []string{"sqlite:///absolute/path.db"}},
		{"sqlite with query", store.Config{URL: "sqlite:x.db?_pragma=foo", Service: "records"}, []string{"no host or query"}},
		{"both wrong at once", store.Config{URL: "mysql://x", Service: "Bad"}, []string{"Service", "URL"}},
		{"password not echoed", store.Config{URL: "postgres://u:secret@%zz/x", Service: "records"}, []string{"cannot parse"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := store.Open(t.Context(), tt.cfg)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%+v) succeeded, want an error", tt.cfg)
			}
			if k := errs.KindOf(err); k != errs.Invalid {
				t.Errorf("kind = %v, want %v (err: %v)", k, errs.Invalid, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q leaks the password", err)
			}
		})
	}
}

func TestOpenSQLiteFiles(t *testing.T) {
	tests := []struct {
		name     string
		cfg      func(dir string) store.Config
		wantFile string // relative to dir
	}{
		{
			name: "default in DataDir, created",
			cfg: func(dir string) store.Config {
				return store.Config{Service: "records", DataDir: filepath.Join(dir, "a", "b")}
			},
			wantFile: "a/b/records.db",
		},
		{
			name: "absolute URL",
			cfg: func(dir string) store.Config {
				return store.Config{URL: "sqlite://" + filepath.Join(dir, "abs.db"), Service: "records"}
			},
			wantFile: "abs.db",
		},
		{
			name:     "relative URL",
			cfg:      func(string) store.Config { return store.Config{URL: "sqlite:rel.db", Service: "records"} },
			wantFile: "rel.db",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			db, err := store.Open(t.Context(), tt.cfg(dir))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if db.Dialect() != store.SQLite {
				t.Errorf("Dialect() = %q, want sqlite", db.Dialect())
			}
			if err := db.Ping(t.Context()); err != nil {
				t.Error(err)
			}
			if _, err := os.Stat(filepath.Join(dir, tt.wantFile)); err != nil {
				t.Errorf("database file: %v", err)
			}
		})
	}
}

func TestSQLitePragmasOnEveryConnection(t *testing.T) {
	db := storetest.Open(t, store.SQLite, "records")
	want := map[string]string{
		"journal_mode":       "wal",
		"busy_timeout":       "5000",
		"foreign_keys":       "1",
		"synchronous":        "1", // NORMAL
		"wal_autocheckpoint": "0", // the checkpointer's job
	}
	// Two connections held at once must be two distinct pooled connections.
	var conns []*sql.Conn
	for range 2 {
		c, err := db.SQL().Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for i, c := range conns {
		for pragma, w := range want {
			var got string
			if err := c.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("conn %d: PRAGMA %s: %v", i, pragma, err)
			}
			if got != w {
				t.Errorf("conn %d: PRAGMA %s = %s, want %s", i, pragma, got, w)
			}
		}
	}
}

// itemsMigrations is a service's migrations: the same table on both engines.
var itemsMigrations = fstest.MapFS{
	"sqlite/000100_items.up.sql":       {Data: []byte(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, note TEXT NOT NULL DEFAULT '');`)},
	"sqlite/000100_items.down.sql":     {Data: []byte(`DROP TABLE items;`)},
	"postgres/000100_items.up.sql":     {Data: []byte(`CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, note text NOT NULL DEFAULT '');`)},
	"postgres/000100_items.down.sql":   {Data: []byte(`DROP TABLE items;`)},
	"sqlite/000101_counter.up.sql":     {Data: []byte(`CREATE TABLE counter (n INTEGER NOT NULL); INSERT INTO counter VALUES (0);`)},
	"sqlite/000101_counter.down.sql":   {Data: []byte(`DROP TABLE counter;`)},
	"postgres/000101_counter.up.sql":   {Data: []byte(`CREATE TABLE counter (n bigint NOT NULL); INSERT INTO counter VALUES (0);`)},
	"postgres/000101_counter.down.sql": {Data: []byte(`DROP TABLE counter;`)},
	"sqlite/README.md":                 {Data: []byte("not a migration")},
}

func TestQueriesAndTransactions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if err := db.Migrate(ctx, itemsMigrations); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO items (name, note) VALUES (?, ?)", "a", "why?"); err != nil {
			t.Fatal(err)
		}

		t.Run("question mark in a literal is not a placeholder", func(t *testing.T) {
			var n int
			err := db.QueryRowContext(ctx, "SELECT count(*) FROM items WHERE note = 'why?' AND name = ?", "a").Scan(&n)
			if err != nil || n != 1 {
				t.Fatalf("count = %d, %v; want 1", n, err)
			}
		})

		t.Run("unique violation", func(t *testing.T) {
			_, err := db.ExecContext(ctx, "INSERT INTO items (name) VALUES (?)", "a")
			if !store.IsUniqueViolation(err) {
				t.Fatalf("IsUniqueViolation(%v) = false", err)
			}
			if !store.IsUniqueViolation(errors.Join(errors.New("context"), err)) {
				t.Error("IsUniqueViolation does not see through wrapping")
			}
			if store.IsUniqueViolation(errors.New("UNIQUE constraint failed")) || store.IsUniqueViolation(nil) {
				t.Error("IsUniqueViolation true for an unrelated error")
			}
		})

		errBoom := errors.New("boom")
		tests := []struct {
			name    string
			fn      func(tx *store.Tx) error
			wantErr error
			wantRow bool
		}{
			{
				name: "nil commits",
				fn: func(tx *store.Tx) error {
					_, err := tx.ExecContext(ctx, "INSERT INTO items (name) VALUES (?)", "committed")
					return err
				},
				wantRow: true,
			},
			{
				name: "error rolls back and is returned as is",
				fn: func(tx *store.Tx) error {
					if _, err := tx.ExecContext(ctx, "INSERT INTO items (name) VALUES (?)", "rolled-back"); err != nil {
						return err
					}
					return errBoom
				},
				wantErr: errBoom,
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := db.InTx(ctx, tt.fn)
				if err != tt.wantErr {
					t.Fatalf("InTx error = %v, want %v", err, tt.wantErr)
				}
			})
		}
		for name, want := range map[string]int{"committed": 1, "rolled-back": 0} {
			var n int
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM items WHERE name = ?", name).Scan(&n); err != nil || n != want {
				t.Errorf("rows named %s = %d, %v; want %d", name, n, err, want)
			}
		}

		t.Run("panic rolls back", func(t *testing.T) {
			func() {
				defer func() {
					if recover() == nil {
						t.Error("panic did not propagate")
					}
				}()
				_ = db.InTx(ctx, func(tx *store.Tx) error {
					if tx.Dialect() != db.Dialect() {
						t.Errorf("tx dialect %q, db dialect %q", tx.Dialect(), db.Dialect())
					}
					if _, err := tx.ExecContext(ctx, "INSERT INTO items (name) VALUES (?)", "panicked"); err != nil {
						t.Error(err)
					}
					panic("boom")
				})
			}()
			var n int
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM items WHERE name = ?", "panicked").Scan(&n); err != nil || n != 0 {
				t.Errorf("rows after panic = %d, %v; want 0", n, err)
			}
		})

		t.Run("dedicated connection", func(t *testing.T) {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var n int
			if err := c.QueryRowContext(ctx, "SELECT count(*) FROM items WHERE name = ?", "a").Scan(&n); err != nil || n != 1 {
				t.Errorf("count = %d, %v; want 1", n, err)
			}
			if err := c.Discard(); err != nil {
				t.Error(err)
			}
			if err := c.Close(); err != nil {
				t.Errorf("Close after Discard: %v", err)
			}
		})
	})
}

// TestConcurrentWriters runs read-then-write transactions from many goroutines: on
// SQLite with deferred transactions this is the pattern that fails with SQLITE_BUSY.
func TestConcurrentWriters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if err := db.Migrate(ctx, itemsMigrations); err != nil {
			t.Fatal(err)
		}
		const workers, perWorker = 8, 20
		var wg sync.WaitGroup
		errc := make(chan error, workers*perWorker)
		for range workers {
			wg.Go(func() {
				for range perWorker {
					errc <- db.InTx(ctx, func(tx *store.Tx) error {
						var n int
						if err := tx.QueryRowContext(ctx, "SELECT n FROM counter").Scan(&n); err != nil {
							return err
						}
						_, err := tx.ExecContext(ctx, "UPDATE counter SET n = n + 1")
						return err
					})
				}
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT n FROM counter").Scan(&n); err != nil || n != workers*perWorker {
			t.Fatalf("counter = %d, %v; want %d", n, err, workers*perWorker)
		}
	})
}

// TestSchemaPerService opens two services on one PostgreSQL database: each sees only
// its own tables and keeps its own migration history.
func TestSchemaPerService(t *testing.T) {
	u := storetest.URL(t, store.Postgres)
	ctx := t.Context()
	dbs := map[string]*store.DB{}
	for _, svc := range []string{"alpha", "beta"} {
		db, err := store.Open(ctx, store.Config{URL: u, Service: svc})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(ctx, nil); err != nil {
			t.Fatal(err)
		}
		dbs[svc] = db
	}
	if _, err := dbs["alpha"].ExecContext(ctx, "INSERT INTO processed_events (consumer, event_id) VALUES (?, ?)", "c", "e1"); err != nil {
		t.Fatal(err)
	}
	for svc, want := range map[string]int{"alpha": 1, "beta": 0} {
		var n int
		if err := dbs[svc].QueryRowContext(ctx, "SELECT count(*) FROM processed_events").Scan(&n); err != nil || n != want {
			t.Errorf("%s: processed_events rows = %d, %v; want %d", svc, n, err, want)
		}
	}
	var schemas []string
	rows, err := dbs["alpha"].QueryContext(ctx,
		"SELECT table_schema FROM information_schema.tables WHERE table_name = ? ORDER BY 1", "schema_migrations")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		schemas = append(schemas, s)
	}
	if got := strings.Join(schemas, ","); got != "alpha,beta" {
		t.Errorf("schema_migrations tables in schemas %q, want alpha,beta", got)
	}
}

// TestOpenConcurrently: replicas of a service start together on a fresh PostgreSQL
// database; every one must open it (CREATE SCHEMA IF NOT EXISTS races) and migrate it.
func TestOpenConcurrently(t *testing.T) {
	url := storetest.URL(t, store.Postgres)
	const replicas = 6
	errc := make(chan error, replicas)
	for range replicas {
		go func() {
			db, err := store.Open(context.Background(), store.Config{URL: url, Service: "race"})
			if err == nil {
				err = errors.Join(db.Migrate(context.Background(), nil), db.Close())
			}
			errc <- err
		}()
	}
	for range replicas {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
}
