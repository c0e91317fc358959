package store_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
)

// sqlitePaths returns the database file and its WAL of a storetest SQLite DB.
func sqlitePaths(t *testing.T, db *store.DB) (file, wal string) {
	t.Helper()
	var seq int
	var name string
	if err := db.QueryRowContext(t.Context(), "PRAGMA database_list").Scan(&seq, &name, &file); err != nil {
		t.Fatal(err)
	}
	return file, file + "-wal"
}

func size(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func insertItems(t *testing.T, db *store.DB, prefix string, n int) {
	t.Helper()
	for i := range n {
		err := db.InTx(t.Context(), func(tx *store.Tx) error {
			_, err := tx.ExecContext(t.Context(), "INSERT INTO items (name, note) VALUES (?, ?)",
				prefix+strings.Repeat("x", i%7)+string(rune('a'+i%26))+time.Now().String(), strings.Repeat("n", 2000))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// Commits do not checkpoint (wal_autocheckpoint=0); the DB's own goroutine does, so
// the database file receives the writes without any caller asking.
func TestCheckpointInBackground(t *testing.T) {
	db := storetest.Open(t, store.SQLite, "records")
	if err := db.Migrate(t.Context(), itemsMigrations); err != nil {
		t.Fatal(err)
	}
	file, _ := sqlitePaths(t, db)
	before := size(t, file)
	insertItems(t, db, "a", 200) // ~100 pages of notes
	deadline := time.Now().Add(10 * time.Second)
	for size(t, file) <= before {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes 10 s after 200 commits: no checkpoint ran", before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The WAL stays bounded: a checkpoint that finds it all copied lets the next write
// start it over, and one that cannot copy it all (a reader on an old snapshot) while
// it is over the limit empties it in the write turn once the reader is done.
func TestCheckpointBoundsWAL(t *testing.T) {
	db := storetest.Open(t, store.SQLite, "records")
	ctx := t.Context()
	if err := db.Migrate(ctx, itemsMigrations); err != nil {
		t.Fatal(err)
	}
	_, wal := sqlitePaths(t, db)

	// Rounds of writes, each followed by a checkpoint: the WAL's file does not grow
	// past what one round needs.
	var first int64
	for round := range 20 {
		insertItems(t, db, "r"+string(rune('a'+round)), 20)
		if err := store.Checkpoint(ctx, db, 1<<20); err != nil {
			t.Fatal(err)
		}
		if round == 1 {
			first = size(t, wal)
		}
	}
	if got := size(t, wal); got > first {
		t.Errorf("WAL grew from %d to %d bytes over 18 checkpointed rounds", first, got)
	}

	// A reader holding an old snapshot keeps the checkpoint from copying the newer
	// pages; over the limit, the checkpoint waits for it and truncates the WAL.
	reader, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if _, err := reader.ExecContext(ctx, "BEGIN DEFERRED"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := reader.QueryRowContext(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil {
		t.Fatal(err)
	}
	insertItems(t, db, "late", 50)
	go func() {
		time.Sleep(200 * time.Millisecond)
		_, _ = reader.ExecContext(ctx, "COMMIT")
	}()
	if err := store.Checkpoint(ctx, db, 10); err != nil {
		t.Fatal(err)
	}
	if got := size(t, wal); got != 0 {
		t.Errorf("WAL is %d bytes after a checkpoint over the limit, want 0 (truncated)", got)
	}
	var total int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM items").Scan(&total); err != nil || total != 20*20+50 {
		t.Errorf("items = %d, %v; want %d", total, err, 20*20+50)
	}
}
