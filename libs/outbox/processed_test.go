package outbox_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/store"
)

func TestProcessedAll(t *testing.T) {
	migrated(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		mark := func(consumer string, ids ...string) ([]bool, error) {
			var first []bool
			err := db.InTx(ctx, func(tx *store.Tx) error {
				var err error
				first, err = outbox.ProcessedAll(ctx, tx, consumer, ids)
				return err
			})
			return first, err
		}
		// Marked one at a time before: recognised in a batch.
		if err := db.InTx(ctx, func(tx *store.Tx) error {
			_, err := outbox.Processed(ctx, tx, "c", "b")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name     string
			consumer string
			ids      []string
			want     []bool
		}{
			{"new, old and repeated", "c", []string{"a", "b", "a", "c"}, []bool{true, false, false, true}},
			{"all seen now", "c", []string{"c", "a", "b"}, []bool{false, false, false}},
			{"another consumer's marks are its own", "d", []string{"a", "b"}, []bool{true, true}},
			{"nothing", "c", nil, []bool{}},
		}
		for _, tt := range tests {
			got, err := mark(tt.consumer, tt.ids...)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("%s: ProcessedAll(%q, %q) = %v, %v; want %v", tt.name, tt.consumer, tt.ids, got, err, tt.want)
			}
		}
		// More than one statement's worth, half of it seen already.
		var ids []string
		for i := range 1203 {
			ids = append(ids, fmt.Sprintf("big-%d", i))
		}
		if _, err := mark("c", ids[:600]...); err != nil {
			t.Fatal(err)
		}
		got, err := mark("c", ids...)
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range got {
			if f != (i >= 600) {
				t.Fatalf("big batch: first[%d] = %v, want %v", i, f, i >= 600)
			}
		}
		// An ID listed twice in pieces of different statements is first once, at its first place.
		twice := []string{"dup"}
		for i := range 200 {
			twice = append(twice, fmt.Sprintf("fill-%d", i))
		}
		twice = append(twice, "dup")
		got, err = mark("c", twice...)
		if err != nil {
			t.Fatal(err)
		}
		if !got[0] || got[len(got)-1] || !got[1] || !got[len(got)-2] {
			t.Fatalf("an ID twice across statements: first = %v at 0, %v at the end; want true, false", got[0], got[len(got)-1])
		}
		// Processed agrees with what ProcessedAll recorded.
		err = db.InTx(ctx, func(tx *store.Tx) error {
			first, err := outbox.Processed(ctx, tx, "c", "big-1202")
			if err == nil && first {
				t.Error("Processed after ProcessedAll: first = true")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []struct {
			consumer string
			ids      []string
		}{{"", []string{"x"}}, {"c", []string{"x", ""}}} {
			if _, err := mark(bad.consumer, bad.ids...); errs.KindOf(err) != errs.Invalid {
				t.Errorf("ProcessedAll(%q, %q) = %v, want Invalid", bad.consumer, bad.ids, err)
			}
		}
		// A rolled-back batch leaves no marks.
		_ = db.InTx(ctx, func(tx *store.Tx) error {
			_, _ = outbox.ProcessedAll(ctx, tx, "c", []string{"rolled"})
			return fmt.Errorf("roll back")
		})
		if got, err := mark("c", "rolled"); err != nil || !got[0] {
			t.Errorf("after a rollback: %v, %v; want first", got, err)
		}
	})
}
