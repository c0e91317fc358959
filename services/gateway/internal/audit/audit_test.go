package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/gateway/internal/audit"
	"log/slog"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// migrated opens the gateway's migrations (read from the source tree, since the
// embed lives in the root package) on db.
func migrated(t testing.TB, db *store.DB) {
	t.Helper()
	if err := db.Migrate(context.Background(), os.DirFS("../../migrations")); err != nil {
		t.Fatal(err)
	}
}

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func pub(key ed25519.PrivateKey) ed25519.PublicKey { return key.Public().(ed25519.PublicKey) }

func entry(i int) audit.Entry {
	return audit.Entry{Actor: "officer:u-" + strconv.Itoa(i%3), Action: "records.patients.read",
		PatientID: "p-" + strconv.Itoa(i), Remote: "127.0.0.1", Outcome: audit.Success, Detail: "GET /v1/patients/{id}"}
}

// fill appends n records one write at a time, so checkpoints land every `every`.
func fill(t testing.TB, l *audit.Log, n int) {
	t.Helper()
	for i := range n {
		if err := l.Write(context.Background(), entry(i)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestVerifyIntact(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		migrated(t, db)
		ctx := context.Background()
		key := newKey(t)
		l := audit.New(db, key, slog.New(slog.DiscardHandler), audit.Options{CheckpointEvery: 10})

		rep, err := audit.Verify(ctx, db, pub(key))
		if err != nil || !rep.OK() || rep.Records != 0 {
			t.Fatalf("empty log: %+v, %v", rep, err)
		}
		fill(t, l, 25)
		rep, err = audit.Verify(ctx, db, pub(key))
		if err != nil || !rep.OK() || rep.Records != 25 || rep.Checkpoints != 2 || rep.SignedThrough != 20 {
			t.Fatalf("25 records, checkpoints every 10: %+v, %v", rep, err)
		}
		if err := l.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		if rep, _ = audit.Verify(ctx, db, pub(key)); !rep.OK() || rep.SignedThrough != 25 {
			t.Fatalf("after Checkpoint: %+v", rep)
		}
		// Another key does not verify the checkpoints.
		if rep, _ = audit.Verify(ctx, db, pub(newKey(t))); rep.OK() || rep.FirstBad != 10 {
			t.Fatalf("with the wrong key: %+v", rep)
		}
	})
}

// TestAppendOnly: the application's own connection cannot change or remove history.
func TestAppendOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		migrated(t, db)
		key := newKey(t)
		fill(t, audit.New(db, key, slog.New(slog.DiscardHandler), audit.Options{CheckpointEvery: 2}), 4)
		for _, stmt := range []string{
			`UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2`,
			`DELETE FROM audit_log WHERE seq = 4`,
			`DELETE FROM audit_log`,
			`UPDATE audit_checkpoints SET hash = 'x'`,
			`DELETE FROM audit_checkpoints`,
		} {
			if _, err := db.ExecContext(context.Background(), stmt); err == nil {
				t.Errorf("%s: succeeded, want refused", stmt)
			}
		}
		if db.Dialect() == store.Postgres {
			if _, err := db.ExecContext(context.Background(), `TRUNCATE audit_log`); err == nil {
				t.Error("TRUNCATE audit_log succeeded, want refused")
			}
		}
		if rep, err := audit.Verify(context.Background(), db, pub(key)); err != nil || !rep.OK() || rep.Records != 4 {
			t.Fatalf("after refused tampering: %+v, %v", rep, err)
		}
	})
}

func TestAppendConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		migrated(t, db)
		key := newKey(t)
		l := audit.New(db, key, slog.New(slog.DiscardHandler), audit.Options{CheckpointEvery: 50})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- l.Run(ctx) }()
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 25 {
					if err := l.Append(context.Background(), entry(g*100+i)); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		rep, err := audit.Verify(context.Background(), db, pub(key))
		if err != nil || !rep.OK() || rep.Records != 200 {
			t.Fatalf("%+v, %v", rep, err)
		}
		if err := l.Append(context.Background(), audit.Entry{Actor: "x", Action: "y", Outcome: "maybe"}); err == nil {
			t.Error("a bad outcome was accepted")
		}
	})
}

// errRollback ends a tamper's transaction without committing it.
var errRollback = errors.New("roll back")

// tamper is one way to falsify the log inside tx; it returns the range the verifier's
// FirstBad must fall in.
type tamper struct {
	name string
	do   func(ctx context.Context, tx *store.Tx, rnd *mrand.Rand) (lo, hi int64, err error)
}

const (
	chainLen = 100
	cpEvery  = 10 // checkpoints at 10, 20, …, 100: the tail is signed
)

var columns = []string{"at", "actor", "action", "patient_id", "remote", "outcome", "detail", "prev_hash", "hash"}

func recomputeFrom(ctx context.Context, tx *store.Tx, from int64) error {
	rs, err := audit.List(ctx, tx, audit.Query{AfterSeq: from - 2})
	if err != nil {
		return err
	}
	prev := rs[0].Hash
	for _, r := range rs[1:] {
		r.PrevHash = prev
		r.Hash = audit.Sum(r)
		if _, err := tx.ExecContext(ctx, `UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?`, r.PrevHash, r.Hash, r.Seq); err != nil {
			return err
		}
		prev = r.Hash
	}
	return nil
}

var tampers = []tamper{
	{"edit a field", func(ctx context.Context, tx *store.Tx, rnd *mrand.Rand) (int64, int64, error) {
		s := 1 + rnd.Int64N(chainLen)
		col := columns[rnd.IntN(len(columns))]
		_, err := tx.ExecContext(ctx, `UPDATE audit_log SET `+col+` = `+col+` || 'X' WHERE seq = ?`, s)
		return s, s, err
	}},
	{"edit a field and its hash", func(ctx context.Context, tx *store.Tx, rnd *mrand.Rand) (int64, int64, error) {
		s := 1 + rnd.Int64N(chainLen)
		rs, err := audit.List(ctx, tx, audit.Query{AfterSeq: s - 1, Limit: 1})
		if err != nil {
			return 0, 0, err
		}
		r := rs[0]
		r.Actor = "officer:forged"
		r.Hash = audit.Sum(r)
		_, err = tx.ExecContext(ctx, `UPDATE audit_log SET actor = ?, hash = ? WHERE seq = ?`, r.Actor, r.Hash, s)
		if s == chainLen {
			// Nothing follows the last record: only its checkpoint catches it, and a
			// rewrite of the records since the one before looks the same.
			return s - cpEvery + 1, s, err
		}
		return s, s + 1, err // the next record no longer follows
	}},
	{"edit and rewrite the chain after it", func(ctx context.Context, tx *store.Tx, rnd *mrand.Rand) (int64, int64, error) {
		s := 1 + rnd.Int64N(chainLen)
		if _, err := tx.ExecContext(ctx, `UPDATE audit_log SET patient_id = 'p-forged' WHERE seq = ?`, s); err != nil {
			return 0, 0, err
		}
		return (s-1)/cpEvery*cpEvery + 1, s, recomputeFrom(ctx, tx, s)
	}},
	{"delete", func(ctx context.Context, tx *store.Tx, rnd *mrand.Rand) (int64, int64, error) {
		s := 1 + rnd.Int64N(chainLen)
		_, err := tx.ExecContext(ctx, `DELETE FROM audit_log WHERE seq = ?`, s)
		return s, s, err
	}},
	{"insert", func(ctx context.Context, tx *store.Tx, rnd *mrand.Rand) (int64, int64, error) {
		s := 2 + rnd.Int64N(chainLen-1)
		// Make room at s (through negative seqs: PostgreSQL checks the key per row),
		// then insert a record that follows s-1 correctly.
		if _, err := tx.ExecContext(ctx, `UPDATE audit_log SET seq = -(seq + 1) WHERE seq >= ?`, s); err != nil {
			return 0, 0, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE audit_log SET seq = -seq WHERE seq < 0`); err != nil {
			return 0, 0, err
		}
		rs, err := audit.List(ctx, tx, audit.Query{AfterSeq: s - 2, Limit: 1})
		if err != nil {
			return 0, 0, err
		}
		f := audit.Record{Seq: s, At: rs[0].At, Entry: entry(999), PrevHash: rs[0].Hash}
		f.Hash = audit.Sum(f)
		_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (seq, at, actor, action, patient_id, remote, outcome, detail, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, f.Seq, f.At, f.Actor, f.Action, f.PatientID, f.Remote, string(f.Outcome), f.Detail, f.PrevHash, f.Hash)
		return s, s + 1, err
	}},
	{"reorder", func(ctx context.Context, tx *store.Tx, rnd *mrand.Rand) (int64, int64, error) {
		a := 1 + rnd.Int64N(chainLen-1)
		b := a + 1 + rnd.Int64N(chainLen-a)
		// Swap every column but seq between a and b, through a parking seq.
		for _, step := range [][2]int64{{a, -1}, {b, a}, {-1, b}} {
			if _, err := tx.ExecContext(ctx, `UPDATE audit_log SET seq = ? WHERE seq = ?`, step[1], step[0]); err != nil {
				return 0, 0, err
			}
		}
		return a, a, nil
	}},
	{"truncate after a checkpoint", func(ctx context.Context, tx *store.Tx, rnd *mrand.Rand) (int64, int64, error) {
		c := cpEvery * (1 + rnd.Int64N(chainLen/cpEvery-1))
		_, err := tx.ExecContext(ctx, `DELETE FROM audit_log WHERE seq > ?`, c)
		return c + 1, c + 1, err
	}},
	{"forge a checkpoint", func(ctx context.Context, tx *store.Tx, rnd *mrand.Rand) (int64, int64, error) {
		c := cpEvery * (1 + rnd.Int64N(chainLen/cpEvery))
		_, err := tx.ExecContext(ctx, `UPDATE audit_checkpoints SET hash = ? WHERE seq = ?`, audit.Genesis, c)
		return c - cpEvery + 1, c, err
	}},
}

// TestTamper: 1,000 random single-record tampers on each engine are all detected, and
// the verifier names the first bad record. Each tamper runs in a transaction with the
// append-only triggers switched off (as a database superuser could), is verified
// inside it, and is rolled back.
func TestTamper(t *testing.T) {
	const n = 1000
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		migrated(t, db)
		ctx := context.Background()
		key := newKey(t)
		fill(t, audit.New(db, key, slog.New(slog.DiscardHandler), audit.Options{CheckpointEvery: cpEvery}), chainLen)
		seed := uint64(time.Now().UnixNano())
		rnd := mrand.New(mrand.NewPCG(seed, 0))
		counts := map[string]int{}
		for i := range n {
			tp := tampers[i%len(tampers)]
			var rep audit.Report
			var lo, hi int64
			err := db.InTx(ctx, func(tx *store.Tx) error {
				if err := bypassTriggers(ctx, tx); err != nil {
					return err
				}
				var err error
				if lo, hi, err = tp.do(ctx, tx, rnd); err != nil {
					return fmt.Errorf("tamper: %w", err)
				}
				if rep, err = audit.Verify(ctx, tx, pub(key)); err != nil {
					return err
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				t.Fatalf("%s: %v", tp.name, err)
			}
			if rep.OK() || rep.FirstBad < lo || rep.FirstBad > hi {
				t.Fatalf("tamper %d (%s, seed %d): report %+v, want first bad in [%d, %d]", i, tp.name, seed, rep, lo, hi)
			}
			counts[tp.name]++
		}
		if rep, err := audit.Verify(ctx, db, pub(key)); err != nil || !rep.OK() {
			t.Fatalf("after the rollbacks the log must verify again: %+v, %v", rep, err)
		}
		t.Logf("%d tampers detected: %v", n, counts)
	})
}

// bypassTriggers switches the append-only triggers off for this transaction only.
func bypassTriggers(ctx context.Context, tx *store.Tx) error {
	stmts := []string{`SET LOCAL session_replication_role = replica`}
	if tx.Dialect() == store.SQLite {
		stmts = []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`,
			`DROP TRIGGER audit_checkpoints_no_update`, `DROP TRIGGER audit_checkpoints_no_delete`}
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

func TestFHIR(t *testing.T) {
	r := audit.Record{Seq: 7, At: "2026-01-02T03:04:05Z", Entry: entry(1), PrevHash: audit.Genesis}
	r.Hash = audit.Sum(r)
	ev := audit.FHIR(r)
	if ev.ResourceType != "AuditEvent" || ev.ID != "7" || ev.Type.Code != "110110" || ev.Outcome != "0" ||
		ev.Entity[0].What.Reference != "Patient/p-1" || ev.Agent[0].Network.Address != "127.0.0.1" {
		t.Fatalf("%+v", ev)
	}
	r.Action, r.Outcome = "signin", audit.Denied
	if ev := audit.FHIR(r); ev.Type.Code != "110114" || ev.Outcome != "4" {
		t.Fatalf("sign-in: %+v", ev)
	}
}
