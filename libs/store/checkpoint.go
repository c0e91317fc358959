package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// SQLite's WAL checkpoints. With SQLite's default (wal_autocheckpoint=1000), the commit
// that takes the WAL past 1,000 pages copies the WAL back into the database file and
// fsyncs it before it returns: every few hundred writes one request pays milliseconds
// (more on a busy disk) inside its commit, while holding the write lock every other
// writer queues behind. Instead the DSN turns automatic checkpoints off and a
// goroutine per DB checkpoints from its own connection:
//
//   - every checkpointInterval, a PASSIVE checkpoint: it copies what it can without
//     waiting for readers or writers and without the write lock, so commits go on
//     meanwhile (the WAL restarts from its beginning at the next write once all of it
//     was copied);
//   - when the WAL is longer than checkpointLimit pages (steady writes kept a PASSIVE
//     checkpoint from ever finding the WAL all copied, so it never restarted, or a
//     reader held an old snapshot), a TRUNCATE checkpoint in the process's write turn (see writeTurn):
//     writers of this process wait for it once, and the WAL file is emptied. The WAL
//     therefore cannot grow without bound while the process runs.
//
// Close stops the goroutine before it closes the pool; closing the last connection
// checkpoints what is left, as SQLite always does.
const (
	checkpointInterval = 200 * time.Millisecond
	checkpointLimit    = 4096 // pages (16 MiB of 4 KiB pages): four times SQLite's default trigger
)

// checkpointer runs a DB's checkpoints; see above.
type checkpointer struct {
	db      *sql.DB // one connection of its own, so it never waits for the pool
	stop    chan struct{}
	done    chan struct{}
	stopped sync.Once
}

// startCheckpointer opens the checkpointer's connection to dsn and starts its goroutine.
func (db *DB) startCheckpointer(ctx context.Context, dsn string) error {
	c, err := sql.Open(string(SQLite), dsn)
	if err != nil {
		return fmt.Errorf("store: open SQLite checkpoint connection: %w", err)
	}
	c.SetMaxOpenConns(1)
	c.SetMaxIdleConns(1)
	if err := c.PingContext(ctx); err != nil {
		_ = c.Close()
		return fmt.Errorf("store: open SQLite checkpoint connection: %w", err)
	}
	db.ckpt = &checkpointer{db: c, stop: make(chan struct{}), done: make(chan struct{})}
	go db.runCheckpoints()
	return nil
}

func (db *DB) runCheckpoints() {
	defer close(db.ckpt.done)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-db.ckpt.stop:
			return
		case <-t.C:
		}
		if err := db.checkpoint(context.Background(), checkpointLimit); err != nil {
			// The next tick tries again; nothing is lost meanwhile (the WAL holds it).
			slog.Warn("store: SQLite checkpoint failed", "service", db.service, "error", err)
		}
	}
}

// checkpoint runs one PASSIVE checkpoint and, when the WAL is longer than the limit, a
// TRUNCATE checkpoint in the write turn. The WAL's length, not what is left to copy,
// decides: under steady writes a PASSIVE checkpoint may copy nearly all of it every
// time while a commit lands during each one, so the WAL never restarts and grows.
func (db *DB) checkpoint(ctx context.Context, limit int) error {
	length, copied, err := db.ckpt.run(ctx, "PASSIVE")
	if err != nil || length <= limit || copied == length {
		// All copied: the next write starts the WAL over (no reader being on it).
		return err
	}
	release, ok := db.writeTurn(ctx)
	if ok {
		defer release()
	}
	// TRUNCATE waits (busy_timeout) for readers still on the WAL and for a writer of
	// another process; this process's writers wait for the turn.
	_, _, err = db.ckpt.run(ctx, "TRUNCATE")
	return err
}

// run runs PRAGMA wal_checkpoint(mode) and returns the WAL's length in pages and how
// many of them are now in the database file.
func (c *checkpointer) run(ctx context.Context, mode string) (length, copied int, err error) {
	var busy int
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &length, &copied); err != nil {
		return 0, 0, fmt.Errorf("store: wal_checkpoint(%s): %w", mode, err)
	}
	if length < 0 { // not in WAL mode
		return 0, 0, nil
	}
	return length, copied, nil
}

// close stops the goroutine and closes the connection; a second call does nothing.
func (c *checkpointer) close() error {
	first := false
	c.stopped.Do(func() { first = true; close(c.stop) })
	if !first {
		return nil
	}
	<-c.done
	if err := c.db.Close(); err != nil {
		return fmt.Errorf("store: close SQLite checkpoint connection: %w", err)
	}
	return nil
}
