package outbox

import (
	"context"
	"fmt"
	"strings"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/store"
)

// processedSizes are the row counts of ProcessedAll's multi-row INSERTs, largest first:
// a batch is cut into pieces of these sizes so that only four statement texts exist,
// each parsed once per pooled connection (store.Tx.Prepare), rather than a text of a
// new size for every batch, parsed each time. Two parameters a row stay far below both
// engines' limits on bound parameters.
var processedSizes = [...]int{128, 32, 8, 1}

// ProcessedAll is Processed for a batch of events, in one statement per 500: it records,
// in the caller's transaction, that consumer has applied each of eventIDs, and reports
// for each whether this is the first time (first[i] for eventIDs[i]). An ID listed twice
// is first at most once, at its first place. A consumer that applies a whole batch in
// one transaction (event.BatchHandler) uses it to save a statement per event.
func ProcessedAll(ctx context.Context, tx *store.Tx, consumer string, eventIDs []string) (first []bool, err error) {
	if consumer == "" {
		return nil, errs.E(errs.Invalid, "outbox: ProcessedAll needs a consumer")
	}
	for i, id := range eventIDs {
		if id == "" {
			return nil, errs.E(errs.Invalid, "outbox: ProcessedAll: event %d has no ID", i)
		}
	}
	inserted := make(map[string]bool, len(eventIDs))
	for start := 0; start < len(eventIDs); {
		size := piece(len(eventIDs)-start, processedSizes[:])
		chunk := eventIDs[start : start+size]
		start += size
		args := make([]any, 0, 2*len(chunk))
		for _, id := range chunk {
			args = append(args, consumer, id)
		}
		// RETURNING names the rows actually inserted: those not processed before.
		q := `INSERT INTO processed_events (consumer, event_id) VALUES (?, ?)` + strings.Repeat(`, (?, ?)`, len(chunk)-1) +
			` ON CONFLICT DO NOTHING RETURNING event_id`
		if err := func() error {
			st, err := tx.Prepare(ctx, q)
			if err != nil {
				return err
			}
			rows, err := st.QueryContext(ctx, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					return err
				}
				inserted[id] = true
			}
			return rows.Err()
		}(); err != nil {
			return nil, fmt.Errorf("outbox: record %d events as processed by %s: %w", len(chunk), consumer, err)
		}
	}
	first = make([]bool, len(eventIDs))
	for i, id := range eventIDs {
		// The first place an inserted ID appears is the one that inserted it.
		if inserted[id] {
			first[i] = true
			delete(inserted, id)
		}
	}
	return first, nil
}
