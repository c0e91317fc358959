package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
)

// Writers of one process take turns at SQLite's write lock: each commits, none waits
// past a cancelled context, and a transaction waiting for its turn is not started.
func TestWriteTurns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if err := db.Migrate(ctx, itemsMigrations); err != nil {
			t.Fatal(err)
		}
		holding, release := make(chan struct{}), make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			err := db.InTx(ctx, func(tx *store.Tx) error {
				close(holding)
				<-release
				_, err := tx.ExecContext(ctx, "UPDATE counter SET n = n + 1")
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
		<-holding
		if db.Dialect() == store.SQLite {
			// The lock is held: a writer whose context ends while it waits gives up.
			short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			ran := false
			err := db.InTx(short, func(*store.Tx) error { ran = true; return nil })
			cancel()
			if err == nil || ran || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("InTx while the lock is held, context ending: ran=%v err=%v; want the deadline, not run", ran, err)
			}
		}
		for range 8 {
			wg.Go(func() {
				if err := db.InTx(ctx, func(tx *store.Tx) error {
					_, err := tx.ExecContext(ctx, "UPDATE counter SET n = n + 1")
					return err
				}); err != nil {
					t.Error(err)
				}
			})
		}
		close(release)
		wg.Wait()
		var n int
		if err := db.QueryRowContext(ctx, "SELECT n FROM counter").Scan(&n); err != nil || n != 9 {
			t.Errorf("counter = %d, %v; want 9", n, err)
		}
	})
}
