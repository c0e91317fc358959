// Package store is the one database API every service uses, over PostgreSQL (through
// the pgx stdlib driver) and SQLite (through modernc.org/sqlite, pure Go). Services
// write SQL once with ? placeholders; store rebinds them for PostgreSQL.
//
// PostgreSQL is the production engine: services share one server with a schema each.
// SQLite is the zero-setup engine for the all-in-one binary, development and tests: a
// file per service. Both run the same golang-migrate migrations (a folder per dialect)
// merged with store's own base tables, the outbox and processed_events tables that
// package outbox owns.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/attest-ehr/attest/libs/errs"
)

// Dialect names a database engine. It is also the name of the folder that holds the
// engine's migrations.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Config says which database a service uses.
type Config struct {
	// URL is the DATABASE_URL: postgres://… or postgresql://… (any URL pgx accepts),
	// sqlite:///abs/file.db or sqlite:rel/file.db (relative to the working directory),
	// or "" for a SQLite file named "<Service>.db" in DataDir.
	URL string

	// Service is the owning service, a lower-case identifier such as "records". It is
	// the PostgreSQL schema the service's tables live in and, when URL is "", the
	// SQLite file name.
	Service string

	// DataDir is where "<Service>.db" goes when URL is "". It is created if missing.
	// Default: the working directory.
	DataDir string
}

// serviceName is a PostgreSQL identifier that needs no quoting and is a safe file name.
var serviceName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Pool sizes. PostgreSQL's are per service, and up to six services share one server
// (max_connections defaults to 100), so each service gets a modest pool.
const (
	pgMaxOpen     = 10
	pgMaxIdle     = 5
	pgMaxIdleTime = 5 * time.Minute

	// SQLite: see sqliteDSN for why a bounded pool is enough to avoid SQLITE_BUSY.
	sqliteMaxOpen = 4

	// sqliteBusyTimeout is how long a connection waits for SQLite's write lock before
	// failing with SQLITE_BUSY.
	sqliteBusyTimeout = 5 * time.Second
)

// DB is a service's database: a connection pool plus the dialect its queries are
// rebound for. It is safe for concurrent use.
type DB struct {
	db       *sql.DB
	dialect  Dialect
	service  string
	migrated atomic.Bool
	prepared preparedStmts // Tx.Prepare's statements, one per query
	turn     chan struct{} // SQLite: the process's turn at the write lock (see writeTurn)
	ckpt     *checkpointer // SQLite: the WAL's checkpoints (see checkpoint.go)

	// How to open a second, private pool for golang-migrate (see Migrate).
	pgConfig  *pgx.ConnConfig
	sqliteDSN string
}

// Open validates cfg, connects, and pings. For PostgreSQL it creates the service's
// schema if missing and pins every pooled connection's search_path to it. For SQLite
// it creates DataDir when URL is "" and sets WAL, busy_timeout, foreign_keys and
// synchronous=NORMAL on every connection. Open runs no migrations; see Migrate.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	d, target, err := parseConfig(cfg)
	if err != nil {
		return nil, err
	}
	switch d {
	case Postgres:
		return openPostgres(ctx, cfg.Service, target)
	default:
		return openSQLite(ctx, cfg, target)
	}
}

// parseConfig validates cfg, reporting every problem at once, and returns the dialect
// and the PostgreSQL URL or SQLite file path.
func parseConfig(cfg Config) (Dialect, string, error) {
	var problems []error
	if !serviceName.MatchString(cfg.Service) || len(cfg.Service) > 63 || strings.HasPrefix(cfg.Service, "pg_") {
		problems = append(problems, errs.Field(errs.Invalid, "Service",
			"must be a lower-case identifier ([a-z_][a-z0-9_]*, at most 63 bytes, not starting with pg_), got %q", cfg.Service))
	}
	d, target, err := parseURL(cfg)
	if err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return "", "", fmt.Errorf("store: invalid config: %w", errors.Join(problems...))
	}
	return d, target, nil
}

func parseURL(cfg Config) (Dialect, string, error) {
	if cfg.URL == "" {
		dir := cfg.DataDir
		if dir == "" {
			dir = "."
		}
		return SQLite, filepath.Join(dir, cfg.Service+".db"), nil
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		// url.Error repeats the URL, which may hold a password: report only the cause.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return "", "", errs.Field(errs.Invalid, "URL", "cannot parse database URL: %v", err)
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		return Postgres, cfg.URL, nil
	case "sqlite":
		p := u.Opaque // sqlite:rel/file.db
		if p == "" {
			p = u.Path // sqlite:///abs/file.db
		}
		if u.Host != "" || p == "" || u.RawQuery != "" || u.Fragment != "" {
			return "", "", errs.Field(errs.Invalid, "URL",
				"SQLite URL must be sqlite:///absolute/path.db or sqlite:relative/path.db, with no host or query, got %q", cfg.URL)
		}
		return SQLite, p, nil
	default:
		return "", "", errs.Field(errs.Invalid, "URL",
			"unsupported scheme %q: want postgres://, postgresql://, sqlite:///abs/file.db, sqlite:rel/file.db, or empty for SQLite in DataDir",
			u.Scheme)
	}
}

func openPostgres(ctx context.Context, service, rawURL string) (*DB, error) {
	pc, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("store: parse PostgreSQL URL: %w", err)
	}
	// Every connection starts with search_path set to the service's schema, and only to
	// it: unqualified names resolve to the service's own tables, never to another
	// service's or to public, which is how several services share one server.
	if pc.RuntimeParams == nil {
		pc.RuntimeParams = map[string]string{}
	}
	pc.RuntimeParams["search_path"] = service

	sqlDB := stdlib.OpenDB(*pc.Copy())
	sqlDB.SetMaxOpenConns(pgMaxOpen)
	sqlDB.SetMaxIdleConns(pgMaxIdle)
	sqlDB.SetConnMaxIdleTime(pgMaxIdleTime)

	if err := sqlDB.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("store: connect to PostgreSQL %s: %w", redact(rawURL), err), sqlDB.Close())
	}
	schema := pgx.Identifier{service}.Sanitize()
	// IF NOT EXISTS is not safe against a concurrent CREATE: two replicas starting
	// together can both miss the schema and one then fails on the catalogue's unique
	// index. That failure means the schema now exists, which is all we want.
	if _, err := sqlDB.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema); err != nil && !IsUniqueViolation(err) {
		return nil, errors.Join(fmt.Errorf("store: create schema %s: %w", schema, err), sqlDB.Close())
	}
	return &DB{db: sqlDB, dialect: Postgres, service: service, pgConfig: pc}, nil
}

// sqliteDSN builds the modernc DSN for path. The _pragma parameters run on every new
// connection, so every pooled connection has the same settings:
//
//   - busy_timeout first, so that even switching to WAL waits for a lock instead of
//     failing;
//   - journal_mode=WAL: readers never block the writer nor the writer readers;
//   - synchronous=NORMAL: in WAL mode it is still corruption-safe, and a power loss
//     can lose only the last commits, in exchange for no fsync per commit;
//   - foreign_keys on, which SQLite leaves off by default;
//   - wal_autocheckpoint=0: no checkpoint inside a commit; the DB's checkpointer runs
//     them (checkpoint.go).
//
// _txlock=immediate makes BEGIN take the write lock at once. With the default deferred
// BEGIN, a transaction that reads and then writes must upgrade its lock, and when
// another connection wrote in between, SQLite fails the upgrade with SQLITE_BUSY at
// once — busy_timeout cannot help, because waiting could never succeed. Taking the
// lock up front turns every concurrent writer into a queue waiting on busy_timeout.
// The cost: transactions (InTx) serialise even when they only read; reads outside a
// transaction still run in parallel.
func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "wal_autocheckpoint(0)")
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode()
}

func openSQLite(ctx context.Context, cfg Config, path string) (*DB, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, errs.Field(errs.Invalid, "URL", "SQLite file path %q must not contain ? or #", path)
	}
	if cfg.URL == "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("store: create data directory: %w", err)
		}
	}
	dsn := sqliteDSN(path)
	sqlDB, err := sql.Open(string(SQLite), dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
	}
	// A bounded pool: with _txlock=immediate writers queue on busy_timeout, and at most
	// sqliteMaxOpen-1 of them wait at once, each well within the timeout for the short
	// transactions services run. The pool also caps file handles and page caches.
	sqlDB.SetMaxOpenConns(sqliteMaxOpen)
	sqlDB.SetMaxIdleConns(sqliteMaxOpen)
	if err := sqlDB.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("store: open SQLite %s: %w", path, err), sqlDB.Close())
	}
	db := &DB{db: sqlDB, dialect: SQLite, service: cfg.Service, sqliteDSN: dsn, turn: make(chan struct{}, 1)}
	if err := db.startCheckpointer(ctx, dsn); err != nil {
		return nil, errors.Join(err, sqlDB.Close())
	}
	return db, nil
}

// redact hides the password in a PostgreSQL URL for error messages.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Dialect reports the engine behind db.
func (db *DB) Dialect() Dialect { return db.dialect }

// ExecContext runs a statement written with ? placeholders. Errors are the driver's,
// unwrapped, so that callers can test them (IsUniqueViolation) and add their context.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.db.ExecContext(ctx, bind(db.dialect, query), args...)
}

// QueryContext runs a query written with ? placeholders.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.db.QueryContext(ctx, bind(db.dialect, query), args...)
}

// QueryRowContext runs a query written with ? placeholders that returns at most one
// row; errors are deferred to Scan, as with database/sql.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return db.db.QueryRowContext(ctx, bind(db.dialect, query), args...)
}

// Ping checks that the database is reachable.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", db.dialect, err)
	}
	return nil
}

// Migrated reports whether Migrate has succeeded on db; readiness checks use it.
func (db *DB) Migrated() bool { return db.migrated.Load() }

// SQL returns the underlying pool, for code that needs database/sql directly. Queries
// sent through it are not rebound.
func (db *DB) SQL() *sql.DB { return db.db }

// Close closes the pool (and on SQLite stops the checkpointer first). Pending queries
// finish first.
func (db *DB) Close() error {
	var ckptErr error
	if db.ckpt != nil {
		ckptErr = db.ckpt.close()
	}
	db.prepared.close()
	if err := db.db.Close(); err != nil {
		return errors.Join(ckptErr, fmt.Errorf("store: close %s: %w", db.dialect, err))
	}
	return ckptErr
}
