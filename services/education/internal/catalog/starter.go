package catalog

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/attest-ehr/attest/libs/store"
)

// starterCSV is the starter catalog shipped with the product: original plain-language
// text written for Attest, coded with ICD-10-CM categories, SNOMED CT concepts, LOINC
// tests and RxNorm ingredients. It is an import file like any other (see ParseCSV).
//
//go:embed starter.csv
var starterCSV []byte

// Starter returns the rows of the starter catalog.
func Starter() ([]Row, error) { return ParseCSV(bytes.NewReader(starterCSV)) }

// LoadStarter imports the starter catalog when the catalog is empty, and reports how
// many materials it added: none when the catalog already has materials, retired ones
// included, so an administrator's retirements are never undone.
func (c *Catalog) LoadStarter(ctx context.Context) (int, error) {
	rows, err := Starter()
	if err != nil {
		return 0, fmt.Errorf("starter catalog: %w", err)
	}
	good, bad := validRows(rows)
	if len(bad) > 0 {
		return 0, fmt.Errorf("starter catalog: line %d: %s: %s", bad[0].Line, bad[0].Field, bad[0].Message)
	}
	var rep Report
	err = c.write(ctx, func(tx *store.Tx, now time.Time) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM materials`).Scan(&n); err != nil {
			return fmt.Errorf("count materials: %w", err)
		}
		if n > 0 {
			return nil
		}
		return apply(ctx, tx, good, now, &rep)
	})
	return rep.Added, err
}
