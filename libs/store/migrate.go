package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	sqlitemigrate "github.com/golang-migrate/migrate/v4/database/sqlite"
	"github.com/golang-migrate/migrate/v4/source"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/attest-ehr/attest/libs/errs"
)

// baseMigrations are store's own tables, versions 1–99, a folder per dialect.
//
//go:embed migrations
var baseMigrations embed.FS

// FirstServiceVersion is the lowest version a service migration may use; versions
// below it belong to package store.
const FirstServiceVersion = 100

// migrationsTable is golang-migrate's bookkeeping table. On PostgreSQL it lives in the
// service's schema, so services sharing a server keep separate histories.
const migrationsTable = "schema_migrations"

// Migrate brings the schema up to date. migrations holds the service's migrations
// in folders named after the dialects, sqlite/ and postgres/, as golang-migrate files
// NNNNNN_name.up.sql and NNNNNN_name.down.sql with versions of at least
// FirstServiceVersion; nil means the service has none. They run after store's base
// migrations (the outbox and processed_events tables), in one version sequence.
//
// Already being up to date is success. A database left dirty by a migration that
// failed half-way is an error naming the version: fix the schema by hand, then force
// the version with the migrate CLI.
func (db *DB) Migrate(ctx context.Context, migrations fs.FS) (err error) {
	src, err := db.migrationSource(migrations)
	if err != nil {
		return err
	}
	srcDrv, err := iofs.New(src, ".")
	if err != nil {
		return fmt.Errorf("store: read migrations: %w", err)
	}
	dbDrv, err := db.migrationDriver(ctx)
	if err != nil {
		return errors.Join(err, srcDrv.Close())
	}
	m, err := migrate.NewWithInstance("iofs", srcDrv, string(db.dialect), dbDrv)
	if err != nil {
		return errors.Join(fmt.Errorf("store: start migrations: %w", err), srcDrv.Close(), dbDrv.Close())
	}
	// Closing m closes the driver's private pool (see migrationDriver), never db's.
	defer func() {
		srcErr, dbErr := m.Close()
		if srcErr != nil || dbErr != nil {
			err = errors.Join(err, fmt.Errorf("store: close migrations: %w", errors.Join(srcErr, dbErr)))
		}
	}()

	// golang-migrate takes no context; GracefulStop makes it stop after the current
	// migration when ctx ends.
	stop := context.AfterFunc(ctx, func() {
		select {
		case m.GracefulStop <- true:
		default:
		}
	})
	defer stop()

	err = m.Up()
	var dirty migrate.ErrDirty
	switch {
	case err == nil, errors.Is(err, migrate.ErrNoChange):
	case errors.As(err, &dirty):
		return fmt.Errorf("store: migrate %s: database is dirty at version %d: a migration failed half-way; "+
			"repair the schema by hand, then run `migrate force %d` (or the previous version): %w",
			db.service, dirty.Version, dirty.Version, err)
	default:
		return fmt.Errorf("store: migrate %s: %w", db.service, err)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("store: migrate %s: stopped: %w", db.service, ctx.Err())
	}
	db.migrated.Store(true)
	return nil
}

// migrationDriver opens golang-migrate's database driver on a private pool of its
// own. The drivers close the pool they are given when the migration instance closes,
// and the PostgreSQL one also holds a connection for its advisory lock; a private
// pool lets Migrate clean up completely without touching db's pool.
func (db *DB) migrationDriver(ctx context.Context) (database.Driver, error) {
	var sqlDB *sql.DB
	switch db.dialect {
	case Postgres:
		sqlDB = stdlib.OpenDB(*db.pgConfig.Copy()) // same search_path as db
	default:
		var err error
		if sqlDB, err = sql.Open(string(SQLite), db.sqliteDSN); err != nil {
			return nil, fmt.Errorf("store: open migration connection: %w", err)
		}
	}
	sqlDB.SetMaxOpenConns(2) // the driver's own connection plus one for its checks
	if err := sqlDB.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("store: open migration connection: %w", err), sqlDB.Close())
	}

	var (
		drv database.Driver
		err error
	)
	switch db.dialect {
	case Postgres:
		drv, err = pgxmigrate.WithInstance(sqlDB, &pgxmigrate.Config{
			SchemaName:      db.service,
			MigrationsTable: migrationsTable,
		})
	default:
		drv, err = sqlitemigrate.WithInstance(sqlDB, &sqlitemigrate.Config{MigrationsTable: migrationsTable})
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("store: prepare %s migrations: %w", db.dialect, err), sqlDB.Close())
	}
	return drv, nil
}

// migrationSource merges store's base migrations for db's dialect with the service's
// into one flat directory.
func (db *DB) migrationSource(migrations fs.FS) (fs.FS, error) {
	dir := string(db.dialect)
	merged := overlayFS{}
	if err := merged.add(baseMigrations, path.Join("migrations", dir), 1, FirstServiceVersion-1); err != nil {
		return nil, fmt.Errorf("store: base migrations: %w", err)
	}
	if migrations != nil {
		if err := merged.add(migrations, dir, FirstServiceVersion, ^uint(0)); err != nil {
			return nil, fmt.Errorf("store: %s migrations of %s: %w", db.dialect, db.service, err)
		}
	}
	return merged, nil
}

// overlayFS is a read-only, flat fs.FS made of files picked from other file systems:
// file name → where it really is. It serves exactly what source/iofs needs,
// ReadDir(".") and Open(name).
type overlayFS map[string]overlayFile

type overlayFile struct {
	fsys fs.FS
	path string
}

// add adds every migration file in dir of fsys, checking that its version is within
// [minVersion, maxVersion].
func (o overlayFS) add(fsys fs.FS, dir string, minVersion, maxVersion uint) error {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return fmt.Errorf("read folder %s/: %w", dir, err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name := e.Name()
		m, err := source.DefaultParse(name)
		if err != nil {
			if strings.HasSuffix(name, ".sql") {
				return errs.E(errs.Invalid, "migration %s/%s: name must be NNNNNN_name.up.sql or NNNNNN_name.down.sql", dir, name)
			}
			continue // READMEs and the like
		}
		if m.Version < minVersion || m.Version > maxVersion {
			if minVersion == FirstServiceVersion {
				return errs.E(errs.Invalid, "migration %s/%s: version %d is reserved for package store's base tables; "+
					"service migrations start at %d", dir, name, m.Version, FirstServiceVersion)
			}
			return errs.E(errs.Invalid, "migration %s/%s: version %d outside %d–%d", dir, name, m.Version, minVersion, maxVersion)
		}
		if _, dup := o[name]; dup {
			return errs.E(errs.Conflict, "migration %s/%s: duplicate file name", dir, name)
		}
		o[name] = overlayFile{fsys: fsys, path: path.Join(dir, name)}
	}
	return nil
}

// Open opens a migration file by its name.
func (o overlayFS) Open(name string) (fs.File, error) {
	f, ok := o[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return f.fsys.Open(f.path)
}

// ReadDir lists the migration files; "." is the only directory.
func (o overlayFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if name != "." {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	entries := make([]fs.DirEntry, 0, len(o))
	for _, f := range o {
		info, err := fs.Stat(f.fsys, f.path)
		if err != nil {
			return nil, err
		}
		entries = append(entries, fs.FileInfoToDirEntry(info)) // named by its base name, the overlay's key
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	return entries, nil
}
