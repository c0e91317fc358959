package audit

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/store"
)

// Defaults for Options.
const (
	DefaultCheckpointEvery    = 1000
	DefaultCheckpointInterval = 5 * time.Minute
)

// lockKey is the PostgreSQL advisory lock that serialises appends across gateway
// replicas ("audit" in ASCII): the chain has exactly one tail.
const lockKey = 0x6175646974

// Options tune a Log. Zero values take the defaults.
type Options struct {
	// CheckpointEvery signs a checkpoint once this many records have been appended
	// since the last one. Default: 1000.
	CheckpointEvery int64
	// CheckpointInterval signs a checkpoint this often when records were appended
	// since the last one, so a quiet log is still covered. Default: 5m.
	CheckpointInterval time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Log appends records to the chain. Append waits until its record is committed;
// appends arriving together are committed in one transaction (group commit) by Run.
type Log struct {
	db   *store.DB
	key  ed25519.PrivateKey
	opts Options
	log  *slog.Logger
	ch   chan pending
}

type pending struct {
	e    Entry
	done chan error
}

// New returns a Log on db that signs checkpoints with key. Run must be running for
// Append to return.
func New(db *store.DB, key ed25519.PrivateKey, log *slog.Logger, opts Options) *Log {
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = DefaultCheckpointEvery
	}
	if opts.CheckpointInterval <= 0 {
		opts.CheckpointInterval = DefaultCheckpointInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Log{db: db, key: key, opts: opts, log: log, ch: make(chan pending, 1024)}
}

// Append records e and returns once it is committed, or with ctx's error. An error
// means the record may not have been written; the caller decides whether to go on.
func (l *Log) Append(ctx context.Context, e Entry) error {
	if err := check(e); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	p := pending{e: e, done: make(chan error, 1)}
	select {
	case l.ch <- p:
	case <-ctx.Done():
		return fmt.Errorf("audit: queue record: %w", ctx.Err())
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("audit: wait for commit: %w", ctx.Err())
	}
}

// Run commits queued records until ctx is done, in batches of what has queued up, and
// signs checkpoints. It writes what is still queued before it returns.
func (l *Log) Run(ctx context.Context) error {
	tick := time.NewTicker(l.opts.CheckpointInterval)
	defer tick.Stop()
	wctx := context.WithoutCancel(ctx)
	for {
		select {
		case p := <-l.ch:
			l.commit(wctx, l.drain(p))
		case <-tick.C:
			if err := l.Checkpoint(wctx); err != nil {
				l.log.ErrorContext(ctx, "audit checkpoint", "err", err)
			}
		case <-ctx.Done():
			for {
				select {
				case p := <-l.ch:
					l.commit(wctx, l.drain(p))
				default:
					return nil
				}
			}
		}
	}
}

// drain collects first and whatever else is queued, up to a batch.
func (l *Log) drain(first pending) []pending {
	batch := []pending{first}
	for len(batch) < 256 {
		select {
		case p := <-l.ch:
			batch = append(batch, p)
		default:
			return batch
		}
	}
	return batch
}

func (l *Log) commit(ctx context.Context, batch []pending) {
	entries := make([]Entry, len(batch))
	for i, p := range batch {
		entries[i] = p.e
	}
	err := l.Write(ctx, entries...)
	if err != nil {
		l.log.ErrorContext(ctx, "audit append failed", "err", err, "records", len(batch))
	}
	for _, p := range batch {
		p.done <- err
	}
}

// Write appends entries in one transaction, now, without the queue; it signs a
// checkpoint in the same transaction when CheckpointEvery records have accumulated.
func (l *Log) Write(ctx context.Context, entries ...Entry) error {
	for i, e := range entries {
		if err := check(e); err != nil {
			return fmt.Errorf("audit: record %d: %w", i, err)
		}
	}
	return l.db.InTx(ctx, func(tx *store.Tx) error {
		seq, hash, err := lockTail(ctx, tx)
		if err != nil {
			return err
		}
		at := formatTime(l.opts.Now())
		for _, e := range entries {
			r := Record{Seq: seq + 1, At: at, Entry: e, PrevHash: hash}
			r.Hash = Sum(r)
			if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log
				(seq, at, actor, action, patient_id, remote, outcome, detail, prev_hash, hash)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.Seq, r.At, r.Actor, r.Action, r.PatientID, r.Remote,
				string(r.Outcome), r.Detail, r.PrevHash, r.Hash); err != nil {
				return fmt.Errorf("audit: insert record %d: %w", r.Seq, err)
			}
			seq, hash = r.Seq, r.Hash
		}
		last, err := lastCheckpoint(ctx, tx)
		if err != nil {
			return err
		}
		if seq-last >= l.opts.CheckpointEvery {
			return l.sign(ctx, tx, seq, hash)
		}
		return nil
	})
}

// Checkpoint signs the tail of the chain now, unless it is signed already.
func (l *Log) Checkpoint(ctx context.Context) error {
	return l.db.InTx(ctx, func(tx *store.Tx) error {
		seq, hash, err := lockTail(ctx, tx)
		if err != nil || seq == 0 {
			return err
		}
		last, err := lastCheckpoint(ctx, tx)
		if err != nil || last >= seq {
			return err
		}
		return l.sign(ctx, tx, seq, hash)
	})
}

func (l *Log) sign(ctx context.Context, tx *store.Tx, seq int64, hash string) error {
	c := Checkpoint{Seq: seq, Hash: hash, At: formatTime(l.opts.Now()), KeyID: KeyID(l.key.Public().(ed25519.PublicKey))}
	c.Signature = sign(l.key, c)
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature)
		VALUES (?, ?, ?, ?, ?)`, c.Seq, c.Hash, c.At, c.KeyID, c.Signature); err != nil {
		return fmt.Errorf("audit: insert checkpoint %d: %w", seq, err)
	}
	return nil
}

// lockTail takes the append lock (PostgreSQL: an advisory lock held to the end of the
// transaction; SQLite: the transaction already holds the write lock) and returns the
// last record's seq and hash, or 0 and Genesis for an empty log.
func lockTail(ctx context.Context, tx *store.Tx) (int64, string, error) {
	if tx.Dialect() == store.Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(lockKey)); err != nil {
			return 0, "", fmt.Errorf("audit: lock the chain: %w", err)
		}
	}
	var seq int64
	var hash string
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, Genesis, nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("audit: read the tail: %w", err)
	}
	return seq, hash, nil
}

func lastCheckpoint(ctx context.Context, tx *store.Tx) (int64, error) {
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("audit: read the last checkpoint: %w", err)
	}
	return seq, nil
}

// maxField bounds every text field: records are small, and an unbounded field would
// let one caller bloat the log.
const maxField = 512

func check(e Entry) error {
	switch {
	case e.Actor == "":
		return errs.Field(errs.Invalid, "actor", "required")
	case e.Action == "":
		return errs.Field(errs.Invalid, "action", "required")
	case e.Outcome != Success && e.Outcome != Denied && e.Outcome != Failure:
		return errs.Field(errs.Invalid, "outcome", "want success, denied or failure")
	}
	for name, v := range map[string]string{"actor": e.Actor, "action": e.Action, "patient_id": e.PatientID,
		"remote": e.Remote, "detail": e.Detail} {
		if len(v) > maxField {
			return errs.Field(errs.Invalid, name, "longer than %d bytes", maxField)
		}
	}
	return nil
}
