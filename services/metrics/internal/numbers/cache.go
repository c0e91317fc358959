package numbers

import (
	"context"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/services/metrics/internal/projection"
)

// DefaultCacheFacts is how many membership facts a Reader keeps in memory by default:
// some 250 MB, the facts of a few hundred thousand patient-measures.
const DefaultCacheFacts = 500_000

// facts returns the facts of entity e (a group's: its clinicians') for a measure and
// year: from memory for the series whose version is unchanged, from the database
// otherwise.
func (r *Reader) facts(ctx context.Context, e contract.Entity, p measure.Program, id string, year int) ([][]membership.Fact, error) {
	versions, err := projection.Versions(ctx, r.db, e, p, id, year)
	if err != nil {
		return nil, err
	}
	var out [][]membership.Fact
	for ent, v := range versions {
		s := membership.Series{Entity: ent, Program: p, Measure: id, Year: year}
		fs, ok := r.cache.Get(s, v)
		if !ok {
			if fs, err = projection.EntityFacts(ctx, r.db, projection.Live, ent, p, id, year, time.Time{}, time.Time{}); err != nil {
				return nil, err
			}
			r.cache.Put(s, v, fs)
		}
		out = append(out, fs)
	}
	return out, nil
}
