// Package storetest gives tests a fresh, empty database on each engine package store
// supports, so that every repository test runs against SQLite and PostgreSQL alike
// (the wild-workouts repository suite, ardanlabs' dbtest).
//
// PostgreSQL is the machine's or CI's server at TEST_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable); each test gets its own
// database, dropped when the test ends. A server that is not running fails the test:
// database tests never skip silently.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/attest-ehr/attest/libs/store"
)

// DefaultPostgresURL is the server used when TEST_DATABASE_URL is unset.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Service is the service name Each opens its databases for.
const Service = "test"

// adminTimeout bounds each CREATE/DROP DATABASE round trip.
const adminTimeout = 30 * time.Second

// Each runs fn as the subtests "sqlite" and "postgres", each with a fresh, empty,
// unmigrated database opened for Service.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			fn(t, Open(t, d, Service))
		})
	}
}

// Open returns a fresh, empty, unmigrated database of dialect d opened for service,
// closed (and on PostgreSQL dropped) when the test ends.
func Open(t testing.TB, d store.Dialect, service string) *store.DB {
	t.Helper()
	u := URL(t, d)
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	db, err := store.Open(ctx, store.Config{URL: u, Service: service})
	if err != nil {
		t.Fatalf("storetest: open %s database: %v", d, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("storetest: %v", err)
		}
	})
	return db
}

// URL creates a fresh, empty database of dialect d and returns its URL for
// store.Config, for tests that open it themselves (several services on one database,
// or a service's own New). The database is dropped when the test ends; close every
// store.DB on it before that, e.g. with an earlier-registered t.Cleanup.
func URL(t testing.TB, d store.Dialect) string {
	t.Helper()
	switch d {
	case store.SQLite:
		return "sqlite://" + filepath.ToSlash(filepath.Join(t.TempDir(), "test.db"))
	case store.Postgres:
		return postgresURL(t)
	default:
		t.Fatalf("storetest: unknown dialect %q", d)
		return ""
	}
}

func postgresURL(t testing.TB) string {
	t.Helper()
	adminURL := os.Getenv("TEST_DATABASE_URL")
	if adminURL == "" {
		adminURL = DefaultPostgresURL
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatalf("storetest: TEST_DATABASE_URL is not a URL: %v", err)
	}

	name := "attest_test_" + randomHex(t, 8)
	admin(t, adminURL, "CREATE DATABASE "+name)
	// Registered before the caller's cleanups, so it runs after them: the database is
	// dropped once the test has closed its pools. FORCE ends any straggler.
	t.Cleanup(func() { admin(t, adminURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })

	u.Path = "/" + name
	return u.String()
}

// admin runs one statement on the administrative database.
func admin(t testing.TB, adminURL, stmt string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	db, err := sql.Open("pgx", adminURL)
	if err != nil {
		t.Fatalf("storetest: open PostgreSQL: %v", err)
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("storetest: PostgreSQL at %s is unreachable: %v\n"+
			"Database tests need a running PostgreSQL (CI starts one). Start it with e.g.\n"+
			"  docker run -d --name attest-pg -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15\n"+
			"or point TEST_DATABASE_URL at a server where the user may CREATE DATABASE.",
			redacted(adminURL), err)
	}
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		t.Fatalf("storetest: %s: %v", stmt, err)
	}
}

func redacted(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("storetest: random name: %v", err)
	}
	return hex.EncodeToString(b)
}
