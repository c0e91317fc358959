package store_test

import (
	"errors"
	"testing"

	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
)

// A prepared statement is rebound for the engine, reused within a transaction and
// across transactions (on whichever pooled connection they run), sees the
// transaction's own writes, and rolls back with it.
func TestPrepare(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if err := db.Migrate(ctx, itemsMigrations); err != nil {
			t.Fatal(err)
		}
		const insert = "INSERT INTO items (name, note) VALUES (?, ?)"
		const count = "SELECT count(*) FROM items WHERE note = ?"
		for round := range 3 {
			err := db.InTx(ctx, func(tx *store.Tx) error {
				ins, err := tx.Prepare(ctx, insert)
				if err != nil {
					return err
				}
				again, err := tx.Prepare(ctx, insert)
				if err != nil {
					return err
				}
				if again != ins {
					t.Error("Prepare of the same query in one transaction gave a second statement")
				}
				for i := range 2 {
					if _, err := ins.ExecContext(ctx, string(rune('a'+round*2+i)), "p"); err != nil {
						return err
					}
				}
				cnt, err := tx.Prepare(ctx, count)
				if err != nil {
					return err
				}
				var n int
				if err := cnt.QueryRowContext(ctx, "p").Scan(&n); err != nil {
					return err
				}
				if want := 2 * (round + 1); n != want {
					t.Errorf("round %d: count in the transaction = %d, want %d", round, n, want)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		rollback := errors.New("roll back")
		err := db.InTx(ctx, func(tx *store.Tx) error {
			ins, err := tx.Prepare(ctx, insert)
			if err != nil {
				return err
			}
			if _, err := ins.ExecContext(ctx, "z", "p"); err != nil {
				return err
			}
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatalf("InTx = %v, want the rollback", err)
		}
		var n int
		if err := db.QueryRowContext(ctx, count, "p").Scan(&n); err != nil || n != 6 {
			t.Errorf("committed rows = %d, %v; want 6 (the rolled-back one gone)", n, err)
		}
		err = db.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.Prepare(ctx, "SELECT nothing FROM nowhere WHERE x = ?")
			return err
		})
		if err == nil {
			t.Error("Prepare of a query on a missing table succeeded")
		}
	})
}
